package keyspace

import (
	"testing"
	"unsafe"

	"github.com/reefkv/reef/internal/dict"
)

// Every shard starts on a cache line boundary (given an aligned array), and
// the fields a lookup reads sit in its first two lines.
func TestShardLayout(t *testing.T) {
	var sh Shard
	if n := unsafe.Sizeof(sh); n%64 != 0 {
		t.Fatalf("Shard is %d bytes, not a whole number of cache lines", n)
	}
	keys := unsafe.Offsetof(sh.db0) + unsafe.Offsetof(sh.db0.Keys)
	// The lock, the volatile and dead counts and the two slices Dict.find reads
	// (its index and its first entries) end within the first line.
	hot := []uintptr{
		unsafe.Offsetof(sh.mu) + unsafe.Sizeof(sh.mu),
		unsafe.Offsetof(sh.volatile) + unsafe.Sizeof(sh.volatile),
		unsafe.Offsetof(sh.ndead) + unsafe.Sizeof(sh.ndead),
		keys + dict.HotHeaderSize,
	}
	for i, off := range hot {
		if off > 64 {
			t.Errorf("hot field %d ends at offset %d, past the first cache line", i, off)
		}
	}
}
