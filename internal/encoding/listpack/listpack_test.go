package listpack

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func build(items ...string) []byte {
	lp := New()
	for _, s := range items {
		lp = Append(lp, []byte(s))
	}
	return lp
}

func elems(lp []byte) []string {
	var out []string
	Iterate(lp, func(e Entry) bool {
		out = append(out, string(e.Append(nil)))
		return true
	})
	return out
}

// Listpacks copied out of DUMP payloads written by Redis 7.0.15.
func TestRedisBytes(t *testing.T) {
	cases := []struct {
		name  string
		items []string
		hex   string
	}{
		{"list_small", []string{"a", "b", "c", "1", "2", "3", "-1", "1000000", "hello-world-this-is-a-longer-element"},
			"440000000900816102816202816302010102010301dfff02f240420f04a468656c6c6f2d776f726c642d746869732d69732d612d6c6f6e6765722d656c656d656e7425ff"},
		{"hash_listpack", []string{"name", "redis", "version", "7", "count", "-12345", "big", "1099511627776", "empty", ""},
			"420000000a00846e616d6505857265646973068776657273696f6e08070185636f756e7406f1c7cf038362696704f400000000000100000985656d707479068001ff"},
		{"legacy_list_type1 redump", []string{"a", "b", "1", "300", "hello"},
			"1900000005008161028162020101c12c028568656c6c6f06ff"},
		{"empty", nil, "070000000000ff"},
	}
	for _, c := range cases {
		lp := build(c.items...)
		if got := hex.EncodeToString(lp); got != c.hex {
			t.Errorf("%s: built\n%s\nwant\n%s", c.name, got, c.hex)
		}
		want := unhex(t, c.hex)
		if err := Validate(want); err != nil {
			t.Errorf("%s: Redis bytes rejected: %v", c.name, err)
		}
		if got := elems(want); fmt.Sprint(got) != fmt.Sprint(c.items) && len(c.items) > 0 {
			t.Errorf("%s: decoded %q", c.name, got)
		}
		if Len(want) != len(c.items) {
			t.Errorf("%s: Len %d", c.name, Len(want))
		}
	}
}

// TestEveryEncoding follows the list_encodings vector: each value lands in
// the encoding Redis chooses, with the boundary values on both sides.
func TestEveryEncoding(t *testing.T) {
	cases := []struct {
		s    string
		size int // entry size with backlen
		head byte
	}{
		{"0", 2, 0x00}, {"127", 2, 0x7f}, {"128", 3, 0xc0}, {"-1", 3, 0xdf}, {"-4096", 3, 0xd0}, {"4095", 3, 0xcf},
		{"4096", 4, 0xf1}, {"-32768", 4, 0xf1}, {"32768", 5, 0xf2}, {"8388607", 5, 0xf2},
		{"8388608", 6, 0xf3}, {"-2147483648", 6, 0xf3}, {"2147483648", 10, 0xf4},
		{"-9223372036854775808", 10, 0xf4}, {"9223372036854775807", 10, 0xf4},
		{"9223372036854775808", 21, 0x93}, {"007", 5, 0x83}, {"-0", 4, 0x82}, {"", 2, 0x80},
		{strings.Repeat("a", 63), 65, 0xbf}, {strings.Repeat("a", 64), 67, 0xe0},
		{strings.Repeat("a", 4095), 4099, 0xef}, {strings.Repeat("b", 4096), 4103, 0xf0},
	}
	for _, c := range cases {
		lp := build(c.s)
		p := First(lp)
		if lp[p] != c.head || len(lp)-HeaderSize-1 != c.size {
			t.Errorf("%.20q: head %#x size %d, want %#x %d", c.s, lp[p], len(lp)-HeaderSize-1, c.head, c.size)
		}
		e := Get(lp, p)
		if got := string(e.Append(nil)); got != c.s {
			t.Errorf("%.20q read back as %.20q", c.s, got)
		}
		if !e.Equal([]byte(c.s)) {
			t.Errorf("%.20q not Equal to itself", c.s)
		}
	}
	// AppendInt and Append of the text give the same bytes.
	for _, v := range []int64{0, 127, 128, -4096, -4097, 32767, 32768, -8388608, math.MaxInt32 + 1, math.MinInt64} {
		a := AppendInt(New(), v)
		b := Append(New(), []byte(strconv.FormatInt(v, 10)))
		if !bytes.Equal(a, b) {
			t.Errorf("AppendInt(%d) = %x, Append = %x", v, a, b)
		}
	}
}

func TestBacklenBoundaries(t *testing.T) {
	// Entry sizes around every backlen width: a 12-bit string of n bytes is
	// n+2 long, a 32-bit one n+5.
	for _, n := range []int{125, 126, 127, 4095, 4096, 16377, 16378, 16379, 2097145, 2097146, 2097147} {
		lp := build("x", strings.Repeat("y", n), "z")
		if err := Validate(lp); err != nil {
			t.Fatalf("n=%d: %v", n, err)
		}
		p := Last(lp)
		if Get(lp, p).Str[0] != 'z' {
			t.Fatalf("n=%d: Last wrong", n)
		}
		p = Prev(lp, p)
		if len(Get(lp, p).Str) != n {
			t.Fatalf("n=%d: Prev over long entry wrong", n)
		}
		if p = Prev(lp, p); p != First(lp) || Prev(lp, p) != -1 {
			t.Fatalf("n=%d: Prev to first wrong", n)
		}
	}
	// Backlen byte layout from the spec: 200 is written 01 c8.
	if got := hex.EncodeToString(appendBacklen(nil, 200)); got != "01c8" {
		t.Fatalf("backlen(200) = %s", got)
	}
}

// TestAgainstModel applies random operations to a listpack and to a slice
// of strings and checks after each step that both agree and that the
// listpack is valid and canonical (equal to one built from scratch).
func TestAgainstModel(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	vals := func() string {
		switch r.IntN(6) {
		case 0:
			return strconv.FormatInt(r.Int64N(300)-150, 10)
		case 1:
			return strconv.FormatInt(int64(r.Uint64()), 10)
		case 2:
			return strings.Repeat("s", r.IntN(5000))
		case 3:
			return "0" + strconv.Itoa(r.IntN(10))
		default:
			return strconv.Itoa(r.IntN(1e6)) + "x"
		}
	}
	lp := New()
	var model []string
	for step := 0; step < 3000; step++ {
		n := len(model)
		switch op := r.IntN(7); {
		case op == 0 || n == 0:
			s := vals()
			lp = Append(lp, []byte(s))
			model = append(model, s)
		case op == 1:
			i := r.IntN(n + 1)
			s := vals()
			p := len(lp) - 1
			if i < n {
				p = Seek(lp, i)
			}
			lp = Insert(lp, p, []byte(s))
			model = append(model[:i], append([]string{s}, model[i:]...)...)
		case op == 2:
			i := r.IntN(n)
			s := vals()
			lp = Replace(lp, Seek(lp, i), []byte(s))
			model[i] = s
		case op == 3:
			i := r.IntN(n)
			lp = Delete(lp, Seek(lp, i-n)) // negative index
			model = append(model[:i], model[i+1:]...)
		case op == 4:
			i := r.IntN(n)
			c := r.IntN(4)
			var got int
			lp, got = DeleteRange(lp, Seek(lp, i), c)
			want := min(c, n-i)
			if got != want {
				t.Fatalf("DeleteRange removed %d, want %d", got, want)
			}
			model = append(model[:i], model[i+want:]...)
		case op == 5:
			i := r.IntN(n)
			v := r.Int64N(1 << 40)
			lp = ReplaceInt(lp, Seek(lp, i), v)
			model[i] = strconv.FormatInt(v, 10)
		default:
			i := r.IntN(n)
			want := -1
			for j := 0; j < n; j++ {
				if model[j] == model[i] {
					want = j
					break
				}
			}
			p := Find(lp, First(lp), []byte(model[i]), 0)
			if Seek(lp, want) != p {
				t.Fatalf("Find(%q) = %d, want index %d", model[i], p, want)
			}
		}
		if err := Validate(lp); err != nil {
			t.Fatalf("step %d: %v", step, err)
		}
		if !bytes.Equal(lp, build(model...)) {
			t.Fatalf("step %d: bytes differ from a fresh build", step)
		}
		if Len(lp) != len(model) {
			t.Fatalf("step %d: Len %d want %d", step, Len(lp), len(model))
		}
		if len(model) > 40 {
			lp, _ = DeleteRange(lp, First(lp), 20)
			model = model[20:]
		}
	}
	// Backward iteration sees the same elements.
	var back []string
	for p := Last(lp); p >= 0; p = Prev(lp, p) {
		back = append([]string{string(Get(lp, p).Append(nil))}, back...)
	}
	if fmt.Sprint(back) != fmt.Sprint(model) {
		t.Fatal("backward iteration differs")
	}
}

func TestFindSkipAndMerge(t *testing.T) {
	lp := build("f1", "v1", "f2", "x", "12", "v9")
	// Fields only: skip one value after each field.
	if p := Find(lp, First(lp), []byte("x"), 1); p != -1 {
		t.Fatalf("found value x among fields at %d", p)
	}
	if p := Find(lp, First(lp), []byte("f2"), 1); p != Seek(lp, 2) {
		t.Fatal("field f2 not found")
	}
	if p := Find(lp, First(lp), []byte("12"), 1); p != Seek(lp, 4) {
		t.Fatal("integer field not found")
	}
	if p := Find(lp, First(lp), []byte("012"), 0); p != -1 {
		t.Fatal("012 must not match integer 12")
	}
	m := Merge(build("a", "1"), build("b", "2"))
	if !bytes.Equal(m, build("a", "1", "b", "2")) {
		t.Fatalf("Merge = %x", m)
	}
}

func TestUnknownCount(t *testing.T) {
	lp := New()
	for i := 0; i < UnknownCount+2; i++ {
		lp = AppendInt(lp, int64(i%100))
	}
	if c := int(lp[4]) | int(lp[5])<<8; c != UnknownCount {
		t.Fatalf("header count %d", c)
	}
	if Len(lp) != UnknownCount+2 {
		t.Fatalf("Len = %d", Len(lp))
	}
	if err := Validate(lp); err != nil {
		t.Fatal(err)
	}
	// Stays unknown after deletes, as in Redis.
	lp, _ = DeleteRange(lp, First(lp), 10)
	if c := int(lp[4]) | int(lp[5])<<8; c != UnknownCount || Len(lp) != UnknownCount-8 {
		t.Fatalf("after delete: header %d Len %d", c, Len(lp))
	}
}

func TestValidateRejects(t *testing.T) {
	good := build("a", "500", strings.Repeat("z", 70))
	mut := func(f func(b []byte) []byte) []byte { return f(append([]byte(nil), good...)) }
	cases := []struct {
		name string
		lp   []byte
		err  error
	}{
		{"too short", []byte{6, 0, 0, 0, 0, 0}, ErrHeader},
		{"total bytes wrong", mut(func(b []byte) []byte { b[0]++; return b }), ErrHeader},
		{"no terminator", mut(func(b []byte) []byte { b[len(b)-1] = 0; return b }), ErrHeader},
		{"count wrong", mut(func(b []byte) []byte { b[4] = 2; return b }), ErrCount},
		{"bad encoding", mut(func(b []byte) []byte { b[HeaderSize] = 0xF5; return b }), ErrEntry},
		{"backlen wrong", mut(func(b []byte) []byte { b[HeaderSize+2] = 3; return b }), ErrBacklen},
		{"string past end", func() []byte { b := build("a"); b[HeaderSize] = 0xbf; return b }(), ErrEntry},
		{"early terminator", mut(func(b []byte) []byte { b[HeaderSize+3] = 0xff; return b }), ErrTrailing},
		{"32-bit length huge", unhex(t, "0d0000000100f0ffffffff01ff"), ErrEntry},
		{"non-canonical backlen", unhex(t, "0a000000010081618"+"2ff"), ErrBacklen},
	}
	for _, c := range cases {
		err := Validate(c.lp)
		if !errors.Is(err, c.err) {
			t.Errorf("%s: err = %v, want %v", c.name, err, c.err)
		}
	}
	if err := Validate(good); err != nil {
		t.Fatal(err)
	}
}

func FuzzValidate(f *testing.F) {
	f.Add(build("a", "b", "1", "-1", "1000000", strings.Repeat("q", 100)))
	f.Add(build(strings.Repeat("q", 5000)))
	f.Add(New())
	f.Add([]byte{0x0b, 0, 0, 0, 1, 0, 0xf4, 1, 2, 3, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		n, err := ValidateCount(b)
		if err != nil {
			return
		}
		// Everything the navigation functions do must be safe now.
		var items []string
		for p := First(b); p >= 0; p = Next(b, p) {
			items = append(items, string(Get(b, p).Append(nil)))
		}
		if len(items) != n || Len(b) != n {
			t.Fatalf("count %d, walked %d, Len %d", n, len(items), Len(b))
		}
		k := n
		for p := Last(b); p >= 0; p = Prev(b, p) {
			k--
		}
		if k != 0 {
			t.Fatalf("backward walk off by %d", k)
		}
		// Rebuilding from the texts gives a valid listpack with the same
		// elements (bytes may differ: non-minimal encodings are legal).
		re := build(items...)
		if fmt.Sprint(elems(re)) != fmt.Sprint(items) {
			t.Fatal("rebuild changed elements")
		}
		if n > 0 {
			d := Delete(append([]byte(nil), b...), First(b))
			if err := Validate(d); err != nil {
				t.Fatalf("delete broke a valid listpack: %v", err)
			}
		}
	})
}

func BenchmarkIterate(b *testing.B) {
	items := make([]string, 128)
	for i := range items {
		items[i] = "member:" + strconv.Itoa(i)
		if i%2 == 1 {
			items[i] = strconv.Itoa(i * 1000)
		}
	}
	lp := build(items...)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		n := 0
		for p := First(lp); p >= 0; p = Next(lp, p) {
			e := Get(lp, p)
			n += len(e.Str) + int(e.Int&1)
		}
		_ = n
	}
}

func BenchmarkAppend(b *testing.B) {
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		lp := NewCap(2048)
		for j := 0; j < 128; j++ {
			lp = Append(lp, []byte("field-value"))
		}
	}
}

// PrependInPlace gives the bytes Insert at the head gives, when the room
// before the listpack is enough for the entry, and refuses otherwise; no
// entry takes more than MaxEntryOverhead beyond its bytes.
func TestPrependInPlaceMatchesInsert(t *testing.T) {
	vals := mixedValues()
	lp := mixedListpack(vals)
	for _, v := range append(vals, []byte(""), []byte("-9223372036854775808"), bytes.Repeat([]byte("v"), 70000)) {
		want := Insert(append([]byte(nil), lp...), HeaderSize, v)
		size := len(want) - len(lp)
		if size > len(v)+MaxEntryOverhead {
			t.Fatalf("%q takes %d bytes, more than its %d and MaxEntryOverhead", v, size, len(v))
		}
		buf := make([]byte, size+3+len(lp)+10)
		copy(buf[size-1:], lp)
		if _, ok := PrependInPlace(buf, size-1, len(lp), v); ok {
			t.Fatalf("prepend %q into %d bytes of room, it takes %d: accepted", v, size-1, size)
		}
		room := size + 3
		copy(buf[room:], lp)
		got, ok := PrependInPlace(buf, room, len(lp), v)
		if !ok || !bytes.Equal(got, want) {
			t.Fatalf("prepend %q: %x (%v), want %x", v, got, ok, want)
		}
		if cap(got) != len(buf)-3 {
			t.Fatalf("prepend %q: cap %d, want %d", v, cap(got), len(buf)-3)
		}
	}
}

// DeleteFirstInPlace gives the bytes Delete of the first element gives.
func TestDeleteFirstInPlaceMatchesDelete(t *testing.T) {
	vals := mixedValues()
	lp := mixedListpack(vals)
	for Len(lp) > 0 {
		want := Delete(append([]byte(nil), lp...), HeaderSize)
		lp = DeleteFirstInPlace(lp)
		if !bytes.Equal(lp, want) {
			t.Fatalf("%x, want %x", lp, want)
		}
	}
}

// mixedValues are elements of every encoding size class: small and wide
// integers, 6-bit, 12-bit and 32-bit lengths.
func mixedValues() [][]byte {
	return [][]byte{[]byte("1"), []byte("-5000"), []byte("123456789012"), []byte("x"),
		bytes.Repeat([]byte("y"), 63), bytes.Repeat([]byte("z"), 64), bytes.Repeat([]byte("w"), 5000)}
}

// mixedListpack holds 40 elements taken from vals in turn.
func mixedListpack(vals [][]byte) []byte {
	lp := NewCap(0)
	for i := 0; i < 40; i++ {
		lp = Append(lp, vals[i%len(vals)])
	}
	return lp
}
