package ziplist

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func unhex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

func items(t *testing.T, zl []byte) []string {
	t.Helper()
	var out []string
	n, err := Validate(zl, func(e Entry) error {
		out = append(out, string(e.Append(nil)))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n != len(out) {
		t.Fatalf("count %d vs %d", n, len(out))
	}
	var again []string
	Iterate(zl, func(e Entry) bool { again = append(again, string(e.Append(nil))); return true })
	if fmt.Sprint(again) != fmt.Sprint(out) {
		t.Fatal("Iterate differs from Validate")
	}
	return out
}

// enc builds a ziplist the way Redis did (used to reach encodings the
// crafted vectors do not cover).
func enc(entries ...[]byte) []byte {
	body := []byte{}
	prev, tail := 0, HeaderSize
	for _, e := range entries {
		tail = HeaderSize + len(body)
		var pl []byte
		if prev < 254 {
			pl = []byte{byte(prev)}
		} else {
			pl = binary.LittleEndian.AppendUint32([]byte{0xfe}, uint32(prev))
		}
		ent := append(pl, e...)
		body = append(body, ent...)
		prev = len(ent)
	}
	zl := binary.LittleEndian.AppendUint32(nil, uint32(HeaderSize+len(body)+1))
	zl = binary.LittleEndian.AppendUint32(zl, uint32(tail))
	zl = binary.LittleEndian.AppendUint16(zl, uint16(len(entries)))
	return append(append(zl, body...), 0xff)
}

func TestVectors(t *testing.T) {
	cases := []struct {
		name string
		zl   []byte
		want string
	}{
		// Spec §9.1 example.
		{"spec", unhex("0f0000000c0000000200" + "00f302f6ff"), "[2 5]"},
		// From testdata/rdb/legacy/legacy_list_ziplist.hex, accepted by Redis 7.0.15.
		{"legacy_list_ziplist", unhex("72000000280000000800" + "00016103016203fd02fefb03c0e80304f0a0860105e000f2052a010000000a404678787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878ff"),
			"[a b 12 -5 1000 100000 5000000000 " + strings.Repeat("x", 70) + "]"},
		{"all int widths", enc([]byte{0xfe, 0x80}, []byte{0xc0, 0x00, 0x80}, []byte{0xf0, 0xff, 0xff, 0x7f}, []byte{0xf0, 0x00, 0x00, 0x80},
			[]byte{0xd0, 0, 0, 0, 0x80}, []byte{0xe0, 0, 0, 0, 0, 0, 0, 0, 0x80}, []byte{0xf1}, []byte{0xfd}),
			"[-128 -32768 8388607 -8388608 -2147483648 -9223372036854775808 0 12]"},
		{"32-bit string and big prevlen", enc(append([]byte{0x80, 0, 0, 1, 0}, make([]byte, 256)...), []byte{0x01, 'z'}), "[" + string(make([]byte, 256)) + " z]"},
		{"empty", unhex("0b0000000a00000000" + "00ff"), "[]"},
	}
	for _, c := range cases {
		if got := fmt.Sprint(items(t, c.zl)); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
}

func TestValidateRejects(t *testing.T) {
	good := enc([]byte{0x01, 'a'}, []byte{0xc0, 1, 2}, []byte{0x02, 'b', 'c'})
	mut := func(f func(b []byte)) []byte { b := append([]byte(nil), good...); f(b); return b }
	cases := []struct {
		name string
		zl   []byte
		err  error
	}{
		{"short", []byte{1, 2, 3}, ErrHeader},
		{"zlbytes", mut(func(b []byte) { b[0]++ }), ErrHeader},
		{"no end", mut(func(b []byte) { b[len(b)-1] = 0 }), ErrHeader},
		{"bad prevlen", mut(func(b []byte) { b[HeaderSize+3] = 9 }), ErrPrevLen},
		{"bad encoding", mut(func(b []byte) { b[HeaderSize+4] = 0xc1 }), ErrEntry},
		{"string overruns", mut(func(b []byte) { b[HeaderSize+1] = 0x3f }), ErrEntry},
		{"tail wrong", mut(func(b []byte) { b[4]++ }), ErrTail},
		{"count wrong", mut(func(b []byte) { b[8] = 7 }), ErrCount},
		{"huge 32-bit length", enc([]byte{0x80, 0xff, 0xff, 0xff, 0xff}), ErrEntry},
	}
	for _, c := range cases {
		if _, err := Validate(c.zl, nil); !errors.Is(err, c.err) {
			t.Errorf("%s: %v, want %v", c.name, err, c.err)
		}
	}
	stop := errors.New("stop")
	if _, err := Validate(good, func(Entry) error { return stop }); err != stop {
		t.Fatalf("callback error not returned: %v", err)
	}
}

func FuzzValidate(f *testing.F) {
	f.Add(unhex("0f0000000c0000000200" + "00f302f6ff"))
	f.Add(enc([]byte{0x01, 'a'}, []byte{0xe0, 1, 2, 3, 4, 5, 6, 7, 8}, append([]byte{0x41, 0x00}, make([]byte, 256)...)))
	f.Fuzz(func(t *testing.T, b []byte) {
		n, err := Validate(b, nil)
		if err != nil {
			return
		}
		k := 0
		Iterate(b, func(Entry) bool { k++; return true })
		if k != n {
			t.Fatalf("Iterate saw %d, Validate %d", k, n)
		}
	})
}
