package rdb

import (
	"bytes"
	"io"
	"testing"

	"github.com/reefkv/reef/internal/rdb/vectors"
)

func BenchmarkDecodeDumpListLarge(b *testing.B) {
	p := vectors.Hex(b, "dump/list_large.hex")
	b.SetBytes(int64(len(p)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := DecodeDump(p, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeDumpListLarge(b *testing.B) {
	o, _ := DecodeDump(vectors.Hex(b, "dump/list_large.hex"), nil)
	o = logicalOnly(o, EncodingQuicklist)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := EncodeDump(o, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkReadAllTypes(b *testing.B) {
	data := vectors.File(b, "all-types-7.0.15.rdb")
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		r, err := NewReader(bytes.NewReader(data), streamOK)
		if err != nil {
			b.Fatal(err)
		}
		for {
			if _, err := r.Next(); err == io.EOF {
				break
			} else if err != nil {
				b.Fatal(err)
			}
		}
	}
}
