package crc64

import (
	"math/rand/v2"
	"testing"
)

func TestCheckValue(t *testing.T) {
	// The catalogued check value of CRC-64/Jones, also asserted by Redis's
	// own crc64 self test.
	if got := Checksum([]byte("123456789")); got != 0xe9c6d914c4b8d9ca {
		t.Fatalf("crc(123456789) = %#x, want 0xe9c6d914c4b8d9ca", got)
	}
	if Checksum(nil) != 0 {
		t.Fatal("crc of nothing must be 0")
	}
}

func TestDumpFooter(t *testing.T) {
	// DUMP of "hello world" from Redis 7.0.15 (spec §11.1): the CRC covers
	// type, value and version, and is stored little-endian.
	body := []byte("\x00\x0bhello world\x0a\x00")
	want := uint64(0x34a0c7a6b949fc0b)
	if got := Checksum(body); got != want {
		t.Fatalf("crc = %#x, want %#x", got, want)
	}
}

// bitwise is the textbook one-bit-at-a-time definition, used as the oracle.
func bitwise(crc uint64, p []byte) uint64 {
	for _, b := range p {
		crc ^= uint64(b)
		for i := 0; i < 8; i++ {
			if crc&1 == 1 {
				crc = crc>>1 ^ poly
			} else {
				crc >>= 1
			}
		}
	}
	return crc
}

func TestSlicingMatchesBitwiseAndChains(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	buf := make([]byte, 1000)
	for i := range buf {
		buf[i] = byte(r.Uint32())
	}
	for n := 0; n <= len(buf); n += 7 {
		p := buf[:n]
		want := bitwise(0, p)
		if got := Checksum(p); got != want {
			t.Fatalf("len %d: got %#x want %#x", n, got, want)
		}
		cut := n / 3
		if got := Update(Update(0, p[:cut]), p[cut:]); got != want {
			t.Fatalf("len %d chained at %d: got %#x want %#x", n, cut, got, want)
		}
	}
}

func BenchmarkChecksum64K(b *testing.B) {
	p := make([]byte, 64<<10)
	b.SetBytes(int64(len(p)))
	for i := 0; i < b.N; i++ {
		Checksum(p)
	}
}
