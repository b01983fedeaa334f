package keyspace

import (
	"unsafe"

	"github.com/reefkv/reef/internal/dict"
)

// PrefetchMax is the most keys one Prefetch call walks; more would not add
// to the misses a core can have in flight.
const PrefetchMax = 32

// PrefetchBatch is what a batch of commands is about to look up: keys, and
// members (or fields) inside the values of some of them.
type PrefetchBatch struct {
	Keys  [][]byte
	Slots []int // the slot of each of Keys
	// Members[i] is looked up in the value of Keys[Owners[i]].
	Members [][]byte
	Owners  []int
	// MemberDict returns the hash table holding a value's members, or nil
	// (a string, a list, a compact encoding). It runs with the value's slot
	// locked.
	MemberDict func(v Value) dict.Prefetcher
}

// Reset empties b, keeping its storage and MemberDict.
func (b *PrefetchBatch) Reset() {
	clear(b.Keys)
	clear(b.Members)
	b.Keys, b.Slots, b.Members, b.Owners = b.Keys[:0], b.Slots[:0], b.Members[:0], b.Owners[:0]
}

// Prefetch brings into the cache the lines that looking up b's keys in
// database db, and b's members in their values, will touch: the slot's
// shard, the index word, the entry, the key and the value; then the
// member table's header, index word, entry and member bytes. A pipelined
// batch of commands spends most of its lookup time waiting for these
// misses one after the other; walked here for every key of the batch at
// once, a step at a time, they overlap (a software form of Valkey's batch
// prefetching).
//
// It only reads, and only what it may: each slot's lock is taken with
// TryLock (a busy slot is skipped) and held until the walk ends. Keys and
// members past PrefetchMax are ignored. The return value only keeps the
// loads from being optimized away.
func (ks *Keyspace) Prefetch(db int, b *PrefetchBatch) uint64 {
	keys, slots := b.Keys, b.Slots
	n := min(len(keys), len(slots), PrefetchMax)
	var (
		sink    uint64
		locked  [PrefetchMax]bool
		hashes  [PrefetchMax]uint64
		tables  [PrefetchMax]*Table
		entries [PrefetchMax]*dict.Entry[Value]
	)
	// The shards' first lines, with plain loads: locking first would
	// serialize the misses (a locked instruction waits for earlier loads).
	for i := 0; i < n; i++ {
		sink += uint64(ks.shards[slots[i]].volatile.Load())
	}
	for i := 0; i < n; i++ {
		s := slots[i]
		held := false
		for j := 0; j < i; j++ {
			if slots[j] == s {
				held = true // locked for an earlier key, or busy
				break
			}
		}
		if !held && ks.shards[s].mu.TryLock() {
			locked[i] = true
		}
	}
	for i := 0; i < n; i++ {
		if !ks.holds(slots, locked[:n], i) {
			continue
		}
		t := ks.shards[slots[i]].table(db)
		if t == nil {
			continue
		}
		tables[i] = t
		hashes[i] = dict.HashBytes(keys[i])
		sink += t.Keys.TouchBucket(hashes[i])
	}
	for i := 0; i < n; i++ {
		if tables[i] != nil {
			if e := tables[i].Keys.ProbeEntry(hashes[i]); e != nil {
				entries[i] = e
				sink += uint64(len(e.Key))
			}
		}
	}
	for i := 0; i < n; i++ {
		if e := entries[i]; e != nil {
			sink += touchString(e.Key)
			sink += uint64(e.Val.touch())
		}
	}
	if len(b.Members) > 0 && b.MemberDict != nil {
		sink += prefetchMembers(b, entries[:n])
	}
	for i := 0; i < n; i++ {
		if locked[i] {
			ks.shards[slots[i]].mu.Unlock()
		}
	}
	return sink
}

// prefetchMembers walks the member lookups of b in the values entries
// hold, a step at a time as Prefetch does for keys. REQUIRES: the slots of
// entries locked.
func prefetchMembers(b *PrefetchBatch, entries []*dict.Entry[Value]) uint64 {
	m := min(len(b.Members), len(b.Owners), PrefetchMax)
	var (
		sink   uint64
		tables [PrefetchMax]dict.Prefetcher
		hashes [PrefetchMax]uint64
		found  [PrefetchMax]string
	)
	for j := 0; j < m; j++ {
		o := b.Owners[j]
		if o < 0 || o >= len(entries) || entries[o] == nil || entries[o].Val.Dead() {
			continue
		}
		if t := b.MemberDict(entries[o].Val); t != nil {
			tables[j] = t
			sink += t.TouchHeader()
		}
	}
	for j := 0; j < m; j++ {
		if tables[j] != nil {
			hashes[j] = dict.HashBytes(b.Members[j])
			sink += tables[j].TouchBucket(hashes[j])
		}
	}
	for j := 0; j < m; j++ {
		if tables[j] != nil {
			found[j] = tables[j].ProbeKey(hashes[j])
		}
	}
	for j := 0; j < m; j++ {
		sink += touchString(found[j])
	}
	return sink
}

// holds reports whether the slot of key i was locked by this Prefetch, for
// key i itself or an earlier key of the same slot.
func (ks *Keyspace) holds(slots []int, locked []bool, i int) bool {
	if locked[i] {
		return true
	}
	for j := 0; j < i; j++ {
		if slots[j] == slots[i] {
			return locked[j]
		}
	}
	return false
}

// touchString loads the first and the last byte of s: a short key may
// straddle two cache lines, and comparing it reads both.
func touchString(s string) uint64 {
	if len(s) == 0 {
		return 0
	}
	p := unsafe.StringData(s)
	return uint64(*p) + uint64(*(*byte)(unsafe.Add(unsafe.Pointer(p), len(s)-1)))
}
