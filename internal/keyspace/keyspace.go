package keyspace

import (
	mathbits "math/bits"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/reefkv/reef/internal/dict"
	"github.com/reefkv/reef/internal/slot"
)

// Table is one slot of one database: its keys and the expiry times of the
// volatile ones (absolute unix milliseconds). REQUIRES: the shard lock held
// for every method.
type Table struct {
	Keys    dict.Dict[Value]
	Expires dict.Dict[int64]
}

// Shard is one slot's lock and its tables, one per database.
type Shard struct {
	shardFields
	_ [shardPad]byte
}

// shardFields is a Shard without its padding.
type shardFields struct {
	// The fields every lookup touches share the shard's first cache line:
	// the lock, the volatile count and the head of database 0's key table
	// (a Shard is padded to a whole number of lines, see shardPad, and
	// TestShardLayout checks the offsets).
	mu sync.Mutex
	// volatile is the number of keys with an expiry in this slot across all
	// databases, so the active expiry cycle skips slots without any
	// without taking their locks, and lookups skip the expiry table.
	volatile atomic.Int32
	// ndead is len(dead), here so that Unlock reads no other line.
	ndead int32
	// db0 is database 0, kept inline: it is the only database in cluster
	// mode and the common one otherwise, and every indirection on the
	// lookup path is a cache miss.
	db0 Table
	// others holds databases 1.. (others[db-1]), nil until first written.
	others []*Table
	// count is the number of keys in this slot across all databases'
	// tables, by database; read without the lock by DBSIZE and INFO.
	count []atomic.Int64
	// dead lists the entries ExpireDelete removed logically during the
	// current lock hold; Unlock removes them from their tables.
	dead []deadEntry
	// cutGen is the generation of the last snapshot cut that captured this
	// slot (see cut.go). Guarded by mu.
	cutGen uint64
}

// shardPad rounds a Shard up to a whole number of 64-byte cache lines, so
// that every shard of the array starts on a line boundary.
// It is never zero: Go pads a struct that ends in a zero-size field, which
// would take the Shard off the line boundary again.
const shardPad = 64 - unsafe.Sizeof(shardFields{})%64

// deadEntry names an entry left in place by ExpireDelete.
type deadEntry struct {
	db  int
	key string
}

// SharedIntegers is Redis's OBJ_SHARED_INTEGERS: values 0..9999 set as
// integers are, in Redis, references to one shared object per value.
const SharedIntegers = 10000

// Keyspace is every slot's shard.
type Keyspace struct {
	shards [slot.Count]Shard
	// lookups counts keyspace hits and misses in stripes picked by slot:
	// a counter in the shard would push the lookup's fields past one
	// cache line, and one global counter would bounce between the cores.
	lookups [lookupStripes]lookupCounter
	// volatileSlots has bit s set while slot s has a key with an expiry.
	volatileSlots slotBitmap
	// occupied[db] has bit s set while slot s holds a key of database db,
	// so that eviction finds keys without reading 16384 counts.
	occupied  []slotBitmap
	databases int
	// sharedLRU is the LRU/LFU field of each of Redis's shared integer
	// objects: every key holding such an integer reads and updates the
	// same field, as in Redis, where they all point to one object.
	sharedLRU [SharedIntegers]atomic.Uint32
	// cut is the snapshot in progress, or nil (see cut.go).
	cut     atomic.Pointer[Cut]
	cutGens atomic.Uint64
	// allGen is the generation of the cut that was active when the current
	// LockAll holder finished locking (0: none). Guarded by every slot lock.
	allGen uint64
}

// New returns an empty keyspace with n logical databases.
func New(databases int) *Keyspace {
	ks := &Keyspace{databases: databases, occupied: make([]slotBitmap, databases)}
	for i := range ks.shards {
		ks.shards[i].others = make([]*Table, databases-1)
		ks.shards[i].count = make([]atomic.Int64, databases)
	}
	return ks
}

// SharedLRU returns the access field of shared integer n (0 <= n <
// SharedIntegers).
func (ks *Keyspace) SharedLRU(n int64) uint32 { return ks.sharedLRU[n].Load() }

// SetSharedLRU sets the access field of shared integer n.
func (ks *Keyspace) SetSharedLRU(n int64, lru uint32) { ks.sharedLRU[n].Store(lru) }

// InitSharedLRU sets every shared integer's access field, as Redis's
// createSharedObjects does once at startup.
func (ks *Keyspace) InitSharedLRU(lru uint32) {
	for i := range ks.sharedLRU {
		ks.sharedLRU[i].Store(lru)
	}
}

// Databases returns the number of logical databases.
func (ks *Keyspace) Databases() int { return ks.databases }

// Lock takes slot s's lock. While a snapshot cut is in progress, the first
// locker of a slot lets the cut capture it first (see cut.go).
func (ks *Keyspace) Lock(s int) {
	ks.shards[s].mu.Lock()
	if c := ks.cut.Load(); c != nil {
		ks.captureLocked(c, s)
	}
}

// Unlock releases slot s's lock.
func (ks *Keyspace) Unlock(s int) {
	sh := &ks.shards[s]
	if sh.ndead > 0 {
		sh.reap()
	}
	sh.mu.Unlock()
}

// reap removes the entries ExpireDelete left in place. REQUIRES: mu held.
func (sh *Shard) reap() {
	for _, d := range sh.dead {
		t := sh.table(d.db)
		if t == nil {
			continue
		}
		if p := t.Keys.Get(d.key); p != nil && p.Dead() {
			t.Keys.Delete(d.key)
		}
	}
	clear(sh.dead)
	sh.dead = sh.dead[:0]
	sh.ndead = 0
}

// TryLock takes slot s's lock if it is free and reports whether it did. It
// never waits, so it may be used out of the ascending order (serving a
// blocked BLMOVE whose destination is in another slot).
func (ks *Keyspace) TryLock(s int) bool { return ks.shards[s].mu.TryLock() }

// LockSlots locks the given slots, which must be sorted ascending and
// without duplicates: the global order that makes multi-slot commands
// deadlock-free.
func (ks *Keyspace) LockSlots(slots []int) {
	for _, s := range slots {
		ks.shards[s].mu.Lock()
	}
	// One look at the cut for the whole set, so that a command is either
	// entirely before a snapshot or entirely after it.
	if c := ks.cut.Load(); c != nil {
		for _, s := range slots {
			ks.captureLocked(c, s)
		}
	}
}

// UnlockSlots releases slots locked by LockSlots.
func (ks *Keyspace) UnlockSlots(slots []int) {
	for i := len(slots) - 1; i >= 0; i-- {
		ks.Unlock(slots[i])
	}
}

// LockAll locks every slot in ascending order, for commands that change the
// whole keyspace at once (FLUSHALL, SWAPDB, DEBUG RELOAD).
// A snapshot cut in progress does not capture slots for LockAll: the
// whole-keyspace changes made under it (flushes, SWAPDB) are accounted for by
// the cut instead (see cut.go).
func (ks *Keyspace) LockAll() {
	for i := range ks.shards {
		ks.shards[i].mu.Lock()
	}
	ks.allGen = 0
	if c := ks.cut.Load(); c != nil {
		ks.allGen = c.gen
	}
}

// UnlockAll releases LockAll.
func (ks *Keyspace) UnlockAll() {
	for i := len(ks.shards) - 1; i >= 0; i-- {
		ks.Unlock(i)
	}
}

// Table returns slot s's table in database db, or nil for a database other
// than 0 that never held a key. REQUIRES: slot s locked.
func (ks *Keyspace) Table(db, s int) *Table { return ks.shards[s].table(db) }

// hasExpiries reports whether t, one of the shard's tables, holds any
// expiry. The shard's volatile count, on the line every lookup reads,
// answers for the common case of a slot without any; t.Expires's header is
// on another line. REQUIRES: mu held.
func (sh *Shard) hasExpiries(t *Table) bool {
	return sh.volatile.Load() != 0 && t.Expires.Len() > 0
}

// table returns database db's table, or nil for a database other than 0
// that never held a key. REQUIRES: mu held.
func (sh *Shard) table(db int) *Table {
	if db == 0 {
		return &sh.db0
	}
	return sh.others[db-1]
}

// TableForWrite returns slot s's table in database db, creating it.
// REQUIRES: slot s locked.
func (ks *Keyspace) TableForWrite(db, s int) *Table {
	sh := &ks.shards[s]
	t := sh.table(db)
	if t == nil {
		t = &Table{}
		sh.others[db-1] = t
	}
	return t
}

// Count returns the number of keys in slot s of database db (including
// logically expired keys not yet removed). Safe without the lock.
func (ks *Keyspace) Count(db, s int) int64 { return ks.shards[s].count[db].Load() }

// Size returns the number of keys in database db. Safe without locks; the
// result is a sum of per-slot counts read one by one.
func (ks *Keyspace) Size(db int) int64 {
	var n int64
	for i := range ks.shards {
		n += ks.shards[i].count[db].Load()
	}
	return n
}

// VolatileSize returns the number of keys with an expiry in database db.
// It takes each slot's lock briefly.
func (ks *Keyspace) VolatileSize(db int) int64 {
	var n int64
	for s := range ks.shards {
		sh := &ks.shards[s]
		if sh.count[db].Load() == 0 {
			continue
		}
		sh.mu.Lock()
		if t := sh.table(db); t != nil {
			n += int64(t.Expires.Len())
		}
		sh.mu.Unlock()
	}
	return n
}

// lookupStripes is the number of hit/miss counter stripes: enough that two
// cores rarely count in the same one at once, few enough (4 KiB) to stay
// in cache.
const lookupStripes = 64

// lookupCounter is one stripe, alone on its cache line.
type lookupCounter struct {
	hits, misses atomic.Int64
	_            [48]byte
}

// CountHit counts a keyspace hit in slot s.
func (ks *Keyspace) CountHit(s int) { ks.lookups[s%lookupStripes].hits.Add(1) }

// CountMiss counts a keyspace miss in slot s.
func (ks *Keyspace) CountMiss(s int) { ks.lookups[s%lookupStripes].misses.Add(1) }

// HitsMisses returns the keyspace hits and misses summed over all slots.
func (ks *Keyspace) HitsMisses() (hits, misses int64) {
	for i := range ks.lookups {
		hits += ks.lookups[i].hits.Load()
		misses += ks.lookups[i].misses.Load()
	}
	return hits, misses
}

// ResetHitsMisses zeroes the counters (CONFIG RESETSTAT).
func (ks *Keyspace) ResetHitsMisses() {
	for i := range ks.lookups {
		ks.lookups[i].hits.Store(0)
		ks.lookups[i].misses.Store(0)
	}
}

// Get returns a pointer to key's value in slot s of db, or nil, without
// looking at expiry. REQUIRES: slot s locked.
func (ks *Keyspace) Get(db, s int, key []byte) *Value {
	t := ks.shards[s].table(db)
	if t == nil {
		return nil
	}
	v := t.Keys.GetBytes(key)
	if v != nil && v.Dead() {
		return nil
	}
	return v
}

// Put stores v under key, keeping an existing expiry when keepTTL is set and
// clearing it otherwise, and reports whether the key is new. The key bytes
// are copied on insert. REQUIRES: slot s locked.
func (ks *Keyspace) Put(db, s int, key []byte, v Value, keepTTL bool) bool {
	t := ks.TableForWrite(db, s)
	p, inserted := t.Keys.UpsertBytes(key)
	switch {
	case inserted || p.Dead():
		// New, or lazily expired in this lock hold: it comes back as new
		// (a dead entry has no expiry left).
		*p = v
		ks.addCount(db, s, 1)
		return true
	default:
		*p = v
		if !keepTTL && ks.shards[s].hasExpiries(t) && t.Expires.DeleteBytes(key) {
			ks.addVolatile(s, -1)
		}
		return false
	}
}

// Delete removes key and its expiry and reports whether it existed.
// REQUIRES: slot s locked.
func (ks *Keyspace) Delete(db, s int, key []byte) bool {
	t := ks.shards[s].table(db)
	if t == nil {
		return false
	}
	// Only an entry lazy expiry left in place during this lock hold is
	// dead, and such entries are listed in dead: look before deleting only
	// then, so that a DEL costs one lookup.
	if ks.shards[s].ndead > 0 {
		if p := t.Keys.GetBytes(key); p != nil && p.Dead() {
			return false
		}
	}
	if !t.Keys.DeleteBytes(key) {
		return false
	}
	if ks.shards[s].hasExpiries(t) && t.Expires.DeleteBytes(key) {
		ks.addVolatile(s, -1)
	}
	ks.addCount(db, s, -1)
	return true
}

// ExpireDelete removes key like Delete, but leaves its table entry in place
// (invisible, and reaped when the slot is unlocked) so that the positions of
// the slot's other entries do not change. Lazy expiry uses it: a command may
// hold pointers to values of its slot (*Value from Get) while looking up
// another key, and such a lookup must not move them. Explicit deletions use
// Delete; their callers know they invalidate pointers. REQUIRES: slot s
// locked.
func (ks *Keyspace) ExpireDelete(db, s int, key []byte) bool {
	sh := &ks.shards[s]
	t := sh.table(db)
	if t == nil {
		return false
	}
	e := t.Keys.GetEntryBytes(key)
	if e == nil || e.Val.Dead() {
		return false
	}
	e.Val = Value{meta: makeMeta(typeDead, 0)}
	if sh.hasExpiries(t) && t.Expires.DeleteBytes(key) {
		ks.addVolatile(s, -1)
	}
	ks.addCount(db, s, -1)
	sh.dead = append(sh.dead, deadEntry{db: db, key: e.Key})
	sh.ndead++
	return true
}

// ExpireAt returns key's absolute expiry in unix ms, or -1 when it has none.
// REQUIRES: slot s locked.
func (ks *Keyspace) ExpireAt(db, s int, key []byte) int64 {
	sh := &ks.shards[s]
	t := sh.table(db)
	if t == nil || !sh.hasExpiries(t) {
		return -1
	}
	if p := t.Expires.GetBytes(key); p != nil {
		return *p
	}
	return -1
}

// SetExpire sets key's absolute expiry in unix ms. The key must exist.
// REQUIRES: slot s locked.
func (ks *Keyspace) SetExpire(db, s int, key []byte, when int64) {
	t := ks.TableForWrite(db, s)
	if p := t.Expires.GetBytes(key); p != nil {
		*p = when
		return
	}
	// Share the key string the main table already holds.
	e := t.Keys.GetEntry(string(key))
	t.Expires.Set(e.Key, when)
	ks.addVolatile(s, 1)
}

// Persist removes key's expiry and reports whether it had one.
// REQUIRES: slot s locked.
func (ks *Keyspace) Persist(db, s int, key []byte) bool {
	t := ks.shards[s].table(db)
	if t == nil || !ks.shards[s].hasExpiries(t) || !t.Expires.DeleteBytes(key) {
		return false
	}
	ks.addVolatile(s, -1)
	return true
}

// addVolatile changes slot s's count of keys with an expiry by d, keeping
// volatileSlots in step. REQUIRES: slot s locked (which orders the
// transitions of one slot's bit).
func (ks *Keyspace) addVolatile(s int, d int32) {
	if d == 0 {
		return
	}
	n := ks.shards[s].volatile.Add(d)
	word, bit := &ks.volatileSlots[s/64], uint64(1)<<(s%64)
	switch {
	case n == d: // from none
		word.Or(bit)
	case n == 0:
		word.And(^bit)
	}
}

// NextVolatile returns the first slot from s on (wrapping around) with a
// key that has an expiry, or -1 when there is none: the active expiry cycle
// visits only those, without touching the other slots' shards.
func (ks *Keyspace) NextVolatile(s int) int { return ks.volatileSlots.next(s) }

// slotBitmap has one bit per slot.
type slotBitmap [slot.Count / 64]atomic.Uint64

// next returns the first slot from s on (wrapping around) whose bit is
// set, or -1.
func (b *slotBitmap) next(s int) int {
	const words = len(b)
	s %= slot.Count
	w := s / 64
	if bits := b[w].Load() >> (s % 64); bits != 0 {
		return s + mathbits.TrailingZeros64(bits)
	}
	// The following words, ending with s's own again (its slots before s).
	for i := 1; i <= words; i++ {
		ww := (w + i) % words
		if bits := b[ww].Load(); bits != 0 {
			return ww*64 + mathbits.TrailingZeros64(bits)
		}
	}
	return -1
}

// addCount changes slot s's count of keys in database db by d and keeps
// occupied in step. REQUIRES: slot s locked (which orders the transitions
// of one slot's bit).
func (ks *Keyspace) addCount(db, s int, d int64) {
	n := ks.shards[s].count[db].Add(d)
	word, bit := &ks.occupied[db][s/64], uint64(1)<<(s%64)
	switch was := n - d; {
	case n > 0 && was <= 0:
		word.Or(bit)
	case n <= 0 && was > 0:
		word.And(^bit)
	}
}

// NextOccupied returns the first slot from s on (wrapping around) holding a
// key of database db, or -1 when the database is empty.
func (ks *Keyspace) NextOccupied(db, s int) int { return ks.occupied[db].next(s) }

// volatileOf returns the number of keys with an expiry in slot s, across
// databases (for tests; NextVolatile serves the expiry cycle).
func (ks *Keyspace) volatileOf(s int) int64 { return int64(ks.shards[s].volatile.Load()) }

// FlushSlot empties slot s in database db and returns how many keys it held.
// REQUIRES: slot s locked.
func (ks *Keyspace) FlushSlot(db, s int) int64 {
	sh := &ks.shards[s]
	t := sh.table(db)
	if t == nil {
		return 0
	}
	// The count, not the table's length: entries ExpireDelete marked dead
	// in this lock hold are in the table but no longer counted.
	n := sh.count[db].Load()
	ks.addVolatile(s, -int32(t.Expires.Len()))
	if db == 0 {
		sh.db0 = Table{}
	} else {
		sh.others[db-1] = nil
	}
	ks.addCount(db, s, -n)
	return n
}

// SwapDBs swaps databases a and b in every slot. REQUIRES: LockAll held.
func (ks *Keyspace) SwapDBs(a, b int) {
	if c := ks.cut.Load(); c != nil && ks.allGen == c.gen {
		c.perm[a], c.perm[b] = c.perm[b], c.perm[a]
	}
	for i := range ks.shards {
		sh := &ks.shards[i]
		sh.swap(a, b)
		ca, cb := sh.count[a].Load(), sh.count[b].Load()
		sh.count[a].Store(cb)
		sh.count[b].Store(ca)
	}
	for w := range ks.occupied[a] {
		wa, wb := ks.occupied[a][w].Load(), ks.occupied[b][w].Load()
		ks.occupied[a][w].Store(wb)
		ks.occupied[b][w].Store(wa)
	}
}

// swap exchanges databases a and b of this slot. Database 0 lives inline,
// so it swaps by value. REQUIRES: mu held.
func (sh *Shard) swap(a, b int) {
	if a == b {
		return
	}
	if b == 0 {
		a, b = b, a
	}
	if a == 0 {
		t := sh.others[b-1]
		if t == nil {
			t = &Table{}
			sh.others[b-1] = t
		}
		sh.db0, *t = *t, sh.db0
		return
	}
	sh.others[a-1], sh.others[b-1] = sh.others[b-1], sh.others[a-1]
}
