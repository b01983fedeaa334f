package keyspace

import (
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/reefkv/reef/internal/slot"
)

// BenchmarkLookup is a GET's keyspace work on a table of 1M keys spread
// over every slot, in random order: lock, lookup, expiry check, hit count,
// unlock. It is dominated by cache misses, which the Shard layout reduces.
func BenchmarkLookup(b *testing.B) {
	ks := New(1)
	const n = 1_000_000
	keys := make([][]byte, n)
	slots := make([]int, n)
	for i := range keys {
		keys[i] = []byte("key:" + strconv.Itoa(i))
		slots[i] = slot.Of(keys[i])
		ks.Lock(slots[i])
		ks.Put(0, slots[i], keys[i], NewString([]byte("value-0123456789")), false)
		ks.Unlock(slots[i])
	}
	order := rand.Perm(n)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		j := order[i%n]
		s := slots[j]
		ks.Lock(s)
		if ks.Get(0, s, keys[j]) == nil || ks.ExpireAt(0, s, keys[j]) != -1 {
			b.Fatal("lookup failed")
		}
		ks.CountHit(s)
		ks.Unlock(s)
	}
}
