package repl

import (
	"bytes"
	"testing"
	"testing/iotest"
)

// The EOF mark of a diskless payload is found whatever the read sizes, and
// a mark-like prefix inside the payload is kept.
func TestCopyUntilMark(t *testing.T) {
	mark := []byte("0123456789012345678901234567890123456789")
	payload := append([]byte("REDIS0010 payload "), mark[:39]...)
	payload = append(payload, "more"...)
	for _, r := range []func([]byte) *bytes.Reader{bytes.NewReader} {
		for name, rd := range map[string]interface{ Read([]byte) (int, error) }{
			"whole":    r(append(append([]byte{}, payload...), mark...)),
			"one-byte": iotest.OneByteReader(r(append(append([]byte{}, payload...), mark...))),
			"half":     iotest.HalfReader(r(append(append([]byte{}, payload...), mark...))),
		} {
			var out bytes.Buffer
			if err := copyUntilMark(&out, rd, mark); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if !bytes.Equal(out.Bytes(), payload) {
				t.Fatalf("%s: got %q", name, out.Bytes())
			}
		}
	}
	var out bytes.Buffer
	if err := copyUntilMark(&out, bytes.NewReader(payload), mark); err == nil {
		t.Fatal("no error without a mark")
	}
}
