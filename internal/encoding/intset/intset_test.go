package intset

import (
	"encoding/hex"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func build(vs ...int64) []byte {
	is := New()
	for _, v := range vs {
		is, _ = Add(is, v)
	}
	return is
}

// Bytes from DUMP payloads written by Redis 7.0.15 for the SADD commands
// in testdata/rdb/dump/set_intset*.cmd (the RDB string prefix removed).
func TestRedisVectors(t *testing.T) {
	cases := []struct {
		name string
		add  []int64
		hex  string
	}{
		{"set_intset16", []int64{1, 2, 3, -5, 100, 32767}, "0200000006000000fbff0100020003006400ff7f"},
		{"set_intset32", []int64{1, 70000, -3}, "0400000003000000fdffffff0100000070110100"},
		{"set_intset64", []int64{1, 5000000000, -3}, "0800000003000000fdffffffffffffff010000000000000000f2052a01000000"},
	}
	for _, c := range cases {
		got := hex.EncodeToString(build(c.add...))
		if got != c.hex {
			t.Errorf("%s: built %s, want %s", c.name, got, c.hex)
		}
		b, _ := hex.DecodeString(c.hex)
		if err := Validate(b); err != nil {
			t.Errorf("%s: %v", c.name, err)
		}
	}
}

func TestUpgradeNeverDowngrades(t *testing.T) {
	is := build(5, -7)
	is, _ = Add(is, math.MinInt64)
	if Encoding(is) != Enc64 || Get(is, 0) != math.MinInt64 || Get(is, 1) != -7 || Get(is, 2) != 5 {
		t.Fatalf("upgrade by prepend wrong: %x", is)
	}
	is, ok := Remove(is, math.MinInt64)
	if !ok || Encoding(is) != Enc64 || Len(is) != 2 {
		t.Fatalf("remove changed width or failed: %x", is)
	}
	is, _ = Add(is, 40000)
	if Max(is) != 40000 || Min(is) != -7 {
		t.Fatal("min/max")
	}
	if _, ok := Remove(is, 1<<40); ok {
		t.Fatal("removed an absent wide value")
	}
	if Contains(New(), 1<<40) || !Contains(is, 5) {
		t.Fatal("contains")
	}
	if _, added := Add(is, 5); added {
		t.Fatal("duplicate added")
	}
}

func TestAgainstModel(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	is := New()
	model := map[int64]bool{}
	widest := Enc16
	for step := 0; step < 4000; step++ {
		var v int64
		switch r.IntN(3) {
		case 0:
			v = r.Int64N(200) - 100
		case 1:
			v = r.Int64N(1<<20) - 1<<19
		default:
			v = int64(r.Uint64())
		}
		if step > 2000 && r.IntN(2) == 0 {
			is, _ = Remove(is, v)
			delete(model, v)
		} else {
			var added bool
			is, added = Add(is, v)
			if added == model[v] {
				t.Fatalf("Add(%d) = %v with model %v", v, added, model[v])
			}
			model[v] = true
			widest = max(widest, valueEncoding(v))
		}
		if Encoding(is) != widest {
			t.Fatalf("width %d, widest ever %d", Encoding(is), widest)
		}
	}
	want := make([]int64, 0, len(model))
	for v := range model {
		want = append(want, v)
	}
	slices.Sort(want)
	if Len(is) != len(want) {
		t.Fatalf("len %d want %d", Len(is), len(want))
	}
	for i, v := range want {
		if Get(is, i) != v {
			t.Fatalf("index %d: %d want %d", i, Get(is, i), v)
		}
	}
	if err := Validate(is); err != nil {
		t.Fatal(err)
	}
	seen := 0
	for i := 0; i < 100; i++ {
		if model[Random(is, r)] {
			seen++
		}
	}
	if seen != 100 {
		t.Fatal("Random returned a non-member")
	}
}

func TestValidateRejects(t *testing.T) {
	h := func(s string) []byte { b, _ := hex.DecodeString(s); return b }
	cases := []struct {
		name string
		b    []byte
		err  error
	}{
		{"short", h("020000"), ErrSize},
		{"bad width", h("030000000100000001"), ErrEncoding},
		{"length too big", h("0200000002000000" + "0100"), ErrSize},
		{"length huge", h("08000000ffffffff0100000000000000"), ErrSize},
		{"empty", h("0200000000000000"), ErrEmpty},
		{"duplicate", h("020000000200000001000100"), ErrOrder},
		{"descending", h("020000000200000002000100"), ErrOrder},
	}
	for _, c := range cases {
		if err := Validate(c.b); !errors.Is(err, c.err) {
			t.Errorf("%s: %v, want %v", c.name, err, c.err)
		}
	}
}

func FuzzValidate(f *testing.F) {
	f.Add(build(1, 2, 3, -5, 100, 32767))
	f.Add(build(1, 1<<40))
	f.Add([]byte{4, 0, 0, 0, 1, 0, 0, 0, 1, 2, 3, 4})
	f.Fuzz(func(t *testing.T, b []byte) {
		if Validate(b) != nil {
			return
		}
		n := Len(b)
		for i := 0; i < n; i++ {
			if _, ok := Search(b, Get(b, i)); !ok {
				t.Fatalf("value %d not found", i)
			}
		}
		c := append([]byte(nil), b...)
		c, _ = Remove(c, Get(b, 0))
		if n > 1 && Validate(c) != nil {
			t.Fatal("remove broke a valid intset")
		}
	})
}
