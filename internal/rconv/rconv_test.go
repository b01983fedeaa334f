package rconv

import "testing"

func TestParseInt(t *testing.T) {
	good := map[string]int64{"0": 0, "-1": -1, "9223372036854775807": 1<<63 - 1, "-9223372036854775808": -1 << 63}
	for s, want := range good {
		if n, ok := ParseInt([]byte(s)); !ok || n != want {
			t.Errorf("ParseInt(%q) = %d,%v", s, n, ok)
		}
	}
	for _, s := range []string{"", "-", "+1", "01", " 1", "1 ", "9223372036854775808", "-9223372036854775809", "-0", "1a"} {
		if _, ok := ParseInt([]byte(s)); ok {
			t.Errorf("ParseInt(%q) accepted", s)
		}
	}
}

func TestLongDoubleHuman(t *testing.T) {
	// Results of INCRBYFLOAT on Redis 7.0 (x87 long double).
	cases := []struct{ a, b, want string }{
		{"10.5", "0.1", "10.6"},
		{"0", "1.1", "1.1"},
		{"3.0e3", "200", "3200"},
		{"5", "-5", "0"},
		{"-0.0", "0", "0"},
		{"1", "0.00000000000000001", "1.00000000000000001"},
	}
	for _, c := range cases {
		a, ok1 := ParseLongDouble([]byte(c.a))
		b, ok2 := ParseLongDouble([]byte(c.b))
		if !ok1 || !ok2 {
			t.Fatalf("parse %s %s", c.a, c.b)
		}
		r, ok := a.Add(b)
		if !ok {
			t.Fatalf("add overflow")
		}
		if got := string(r.AppendHuman(nil)); got != c.want {
			t.Errorf("%s + %s = %s, want %s", c.a, c.b, got, c.want)
		}
	}
	for _, s := range []string{"", " 1", "abc", "nan", "1e99999", "1_0", "0b1"} {
		if _, ok := ParseLongDouble([]byte(s)); ok {
			t.Errorf("ParseLongDouble(%q) accepted", s)
		}
	}
}
