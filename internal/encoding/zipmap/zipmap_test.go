package zipmap

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func pairs(t *testing.T, zm []byte) (string, error) {
	t.Helper()
	var out []string
	_, err := Validate(zm, func(k, v []byte) error {
		out = append(out, string(k)+"="+string(v))
		return nil
	})
	return strings.Join(out, ","), err
}

func TestVectors(t *testing.T) {
	h := func(s string) []byte { b, _ := hex.DecodeString(s); return b }
	big := strings.Repeat("v", 300)
	bigZm := append(append(h("fe01"+"6b"+"fe2c010000"+"02"), big...), 'j', 'j', 0xff)
	cases := []struct {
		name string
		zm   []byte
		want string
		err  error
	}{
		// Spec §9.2 example, also testdata/rdb/legacy/legacy_hash_zipmap.hex.
		{"spec", h("0203666f6f0300626172" + "0568656c6c6f0500776f726c64ff"), "foo=bar,hello=world", nil},
		{"free bytes and big length, unknown count", bigZm, "k=" + big, nil},
		{"empty", h("00ff"), "", ErrEmpty},
		{"count wrong", h("0303666f6f0300626172ff"), "", ErrCount},
		{"key overruns", h("0109666f6fff"), "", ErrCorrupt},
		{"free overruns", h("0103666f6f0309626172ff"), "", ErrCorrupt},
		{"missing value", h("0103666f6fff"), "", ErrCorrupt},
		{"no terminator", h("0103666f6f0300626172"), "", ErrCorrupt},
		{"one byte", h("ff"), "", ErrCorrupt},
	}
	for _, c := range cases {
		got, err := pairs(t, c.zm)
		if !errors.Is(err, c.err) || (err == nil && got != c.want) {
			t.Errorf("%s: %q, %v; want %q, %v", c.name, got, err, c.want, c.err)
		}
	}
	stop := fmt.Errorf("stop")
	if _, err := Validate(cases[0].zm, func(k, v []byte) error { return stop }); err != stop {
		t.Fatal("callback error not returned")
	}
}

func FuzzValidate(f *testing.F) {
	f.Add([]byte("\x02\x03foo\x03\x00bar\x05hello\x05\x00world\xff"))
	f.Add([]byte("\xfe\x01k\xfe\x03\x00\x00\x00\x01abcz\xff"))
	f.Fuzz(func(t *testing.T, b []byte) {
		n, err := Validate(b, nil)
		if err == nil && n == 0 {
			t.Fatal("accepted an empty zipmap")
		}
	})
}
