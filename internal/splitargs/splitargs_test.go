package splitargs

import (
	"fmt"
	"strings"
	"testing"
)

func TestSplit(t *testing.T) {
	cases := []struct {
		line string
		want []string // nil: unbalanced quotes
	}{
		{"set a b", []string{"set", "a", "b"}},
		{"  set   \"a b\"  \r\n", []string{"set", "a b"}},
		{`"\x41\n\r\t\b\a\\\""`, []string{"A\n\r\t\b\a\\\""}},
		{`'it\'s' 'a\nb'`, []string{"it's", `a\nb`}},
		{`a"b c" d`, []string{"ab c", "d"}},
		{`"" ''`, []string{"", ""}},
		{"a\x00b c", []string{"a"}},
		{`"\q" "\x4" "\xZZ"`, []string{"q", "x4", "xZZ"}},
		{"", []string{}},
		{"   ", []string{}},
		{"a\tb\vc", []string{"a", "b\vc"}},
		{`"a"b`, nil},
		{`'a'b`, nil},
		{`"abc`, nil},
		{`'abc`, nil},
		{`"abc\"`, nil},
	}
	for _, c := range cases {
		got, ok := Split([]byte(c.line), nil)
		if c.want == nil {
			if ok {
				t.Errorf("%q: got %q, want unbalanced quotes", c.line, got)
			}
			continue
		}
		if !ok {
			t.Errorf("%q: unbalanced quotes, want %q", c.line, c.want)
			continue
		}
		strs := make([]string, len(got))
		for i, g := range got {
			strs[i] = string(g)
		}
		if fmt.Sprintf("%q", strs) != fmt.Sprintf("%q", c.want) {
			t.Errorf("%q: got %q, want %q", c.line, strs, c.want)
		}
	}
}

// quote writes arg so that Split reads it back: every byte as \xHH.
func quote(arg []byte) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, c := range arg {
		fmt.Fprintf(&b, `\x%02x`, c)
	}
	b.WriteByte('"')
	return b.String()
}

func TestRepr(t *testing.T) {
	for in, want := range map[string]string{
		"":                     `""`,
		"plain text":           `"plain text"`,
		"q\"b\\s":              `"q\"b\\s"`,
		"\n\r\t\a\b":           `"\n\r\t\a\b"`,
		"\x00\x1f\x7f\x80\xff": `"\x00\x1f\x7f\x80\xff"`,
		"~ !":                  `"~ !"`,
	} {
		if got := Repr(in); got != want {
			t.Errorf("Repr(%q) = %s, want %s", in, got, want)
		}
		if got := string(AppendRepr([]byte("x"), []byte(in))); got != "x"+want {
			t.Errorf("AppendRepr(x, %q) = %s", in, got)
		}
	}
}

// FuzzSplit: any line splits without panicking, and the arguments of a
// balanced line, quoted again (as bytes in hex, and by Repr), split back
// to themselves.
func FuzzSplit(f *testing.F) {
	for _, s := range []string{"set a b", `"a\x00b" 'c\'d'`, `a"b c"`, `"unbalanced`, "\x00", `"\x4"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		args, ok := Split(line, nil)
		if !ok {
			return
		}
		for _, q := range []func([]byte) string{quote, Repr[[]byte]} {
			parts := make([]string, len(args))
			for i, a := range args {
				parts[i] = q(a)
			}
			again, ok := Split([]byte(strings.Join(parts, " ")), nil)
			if !ok || len(again) != len(args) {
				t.Fatalf("%q: re-split of %q failed", line, args)
			}
			for i := range args {
				if string(again[i]) != string(args[i]) {
					t.Fatalf("%q: argument %d %q came back as %q", line, i, args[i], again[i])
				}
			}
		}
	})
}
