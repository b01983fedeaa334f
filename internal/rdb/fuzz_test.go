package rdb

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/reefkv/reef/internal/rdb/vectors"
)

// FuzzDecodeDump feeds payloads to the RESTORE decoder with the CRC check
// off (so mutations reach the value parser). Whatever decodes must
// re-encode, and the re-encoding must decode to the same content.
func FuzzDecodeDump(f *testing.F) {
	for _, dir := range []string{"dump", "legacy"} {
		names, _ := filepath.Glob(filepath.Join(vectors.Dir(), dir, "*.hex"))
		for _, n := range names {
			if strings.Contains(n, "after-pfcount") || strings.Contains(n, "redump") {
				continue
			}
			f.Add(vectors.Hex(f, filepath.Join(dir, filepath.Base(n))))
		}
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		o, err := DecodeDumpUnchecked(payload, &DecodeOptions{AllowStreams: true})
		if err != nil {
			if !errors.Is(err, ErrBadDataFormat) && !errors.Is(err, ErrDumpPayload) {
				t.Fatalf("error of an unexpected kind: %v", err)
			}
			return
		}
		if o.Type == TypeStream {
			return
		}
		again, err := EncodeDump(o, nil)
		if err != nil {
			t.Fatalf("decoded object does not encode: %v", err)
		}
		o2, err := DecodeDump(again, nil)
		if err != nil {
			t.Fatalf("our own payload does not decode: %v", err)
		}
		if err := sameContent(o, o2); err != nil {
			t.Fatalf("round trip changed content: %v", err)
		}
	})
}

// FuzzReader feeds whole files to the streaming reader with the checksum
// check off.
func FuzzReader(f *testing.F) {
	for _, name := range []string{"lru-idle-7.0.15.rdb", "legacy-v9-crafted.rdb"} {
		b, err := os.ReadFile(filepath.Join(vectors.Dir(), name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("REDIS0010\xff"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := NewReader(bytes.NewReader(data), &ReadOptions{SkipChecksum: true, DecodeOptions: DecodeOptions{AllowStreams: true}})
		if err != nil {
			return
		}
		for i := 0; ; i++ {
			rec, err := r.Next()
			if err != nil {
				return
			}
			if rec.Kind == RecordKey && rec.Value == nil {
				t.Fatal("key record without value")
			}
			if i > len(data) {
				t.Fatal("more records than bytes")
			}
			if r.Offset() > int64(len(data)) {
				t.Fatal("offset beyond input")
			}
			_ = io.EOF
		}
	})
}
