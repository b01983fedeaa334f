package keyspace

import (
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/reefkv/reef/internal/slot"
)

// BenchmarkLookup is a GET's keyspace work on a table of 1M (or 100k) keys
// spread over every slot, in random order: lock, lookup, expiry check, hit
// count, unlock. It is dominated by cache misses, which the Shard layout
// reduces. The Prefetched variants first prefetch the keys of a batch of
// 16, as an event loop does for a pipeline.
func BenchmarkLookup(b *testing.B)               { benchLookup(b, 1_000_000, 1) }
func BenchmarkLookup100k(b *testing.B)           { benchLookup(b, 100_000, 1) }
func BenchmarkLookupPrefetched(b *testing.B)     { benchLookup(b, 1_000_000, 16) }
func BenchmarkLookup100kPrefetched(b *testing.B) { benchLookup(b, 100_000, 16) }

func benchLookup(b *testing.B, n, batch int) {
	ks := New(1)
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
	bkeys := make([][]byte, batch)
	bslots := make([]int, batch)
	pf := &PrefetchBatch{Keys: bkeys, Slots: bslots}
	b.ResetTimer()
	for i := 0; i < b.N; i += batch {
		for j := range batch {
			k := order[(i+j)%n]
			bkeys[j], bslots[j] = keys[k], slots[k]
		}
		if batch > 1 {
			ks.Prefetch(0, pf)
		}
		for j := range batch {
			s := bslots[j]
			ks.Lock(s)
			if ks.Get(0, s, bkeys[j]) == nil || ks.ExpireAt(0, s, bkeys[j]) != -1 {
				b.Fatal("lookup failed")
			}
			ks.CountHit(s)
			ks.Unlock(s)
		}
	}
}
