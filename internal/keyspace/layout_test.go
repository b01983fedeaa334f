package keyspace

import (
	"testing"
	"unsafe"
)

// Every shard starts on a cache line boundary (given an aligned array), and
// the fields a lookup reads sit in its first two lines.
func TestShardLayout(t *testing.T) {
	var sh Shard
	if n := unsafe.Sizeof(sh); n%64 != 0 {
		t.Fatalf("Shard is %d bytes, not a whole number of cache lines", n)
	}
	hot := []uintptr{
		unsafe.Offsetof(sh.mu), unsafe.Offsetof(sh.hits), unsafe.Offsetof(sh.misses), unsafe.Offsetof(sh.volatile),
		unsafe.Offsetof(sh.db0) + unsafe.Offsetof(sh.db0.Keys),
	}
	for i, off := range hot {
		if off >= 64 {
			t.Errorf("hot field %d at offset %d, past the first cache line", i, off)
		}
	}
}
