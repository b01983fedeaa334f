package keyspace

import (
	"unsafe"

	"github.com/reefkv/reef/internal/dict"
)

// PrefetchMax is the most keys one Prefetch call walks; more would not add
// to the misses a core can have in flight.
const PrefetchMax = 32

// Prefetch brings into the cache the lines that looking up keys (each in
// the slot at the same position of slots) in database db will touch: the
// slot's shard, the index word, the entry, the key and the value. A
// pipelined batch of commands spends most of its lookup time waiting for
// these misses one after the other; walked here for every key of the
// batch at once, a step at a time, they overlap (a software form of
// Valkey's batch prefetching).
//
// It only reads, and only what it may: each slot's lock is taken with
// TryLock (a busy slot is skipped) and held until the walk ends. Keys past
// PrefetchMax are ignored. The return value only keeps the loads from
// being optimized away.
func (ks *Keyspace) Prefetch(db int, keys [][]byte, slots []int) uint64 {
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
			if len(e.Key) > 0 {
				sink += uint64(*unsafe.StringData(e.Key))
			}
			sink += uint64(e.Val.touch())
		}
	}
	for i := 0; i < n; i++ {
		if locked[i] {
			ks.shards[slots[i]].mu.Unlock()
		}
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
