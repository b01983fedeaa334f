package keyspace

// A Cut is a point-in-time snapshot of the whole keyspace taken while
// clients keep running: Reef's replacement for Redis's fork. It is the
// copy-on-write of slot tables described in docs/REPLICATION.md:
//
//   - BeginCut publishes the cut. From then on, whoever locks a slot first
//     (Lock, LockSlots) lets the cut capture that slot, still under the
//     lock and before touching it, so a capture always sees the slot as it
//     was when the cut began, plus the effects of the commands that had
//     locked it before (they finish before anyone else gets the lock).
//   - Walk captures, slot by slot, every slot nobody touched.
//
// A command that locks several slots looks at the cut once, after locking
// them all, so it is either entirely inside the snapshot or entirely after
// it. LockAll holders (FLUSHALL, FLUSHDB, SWAPDB) capture nothing: flushing a
// slot nobody captured yet changes nothing the replica would not redo, and
// SWAPDB is recorded in the cut's database permutation so that captures
// label the databases as they were when the cut began.
//
// Commands must not lock a second slot with Lock while holding another one:
// they use LockSlots, or the cut could see them half before and half after.
type Cut struct {
	gen     uint64
	capture func(s int, perm []int)
	// perm maps a database index to the index it had when the cut began.
	// Changed by SwapDBs under LockAll, read by captures under a slot lock.
	perm []int
}

// BeginCut starts a cut, or returns nil if one is already in progress.
// capture is called exactly once per slot, with that slot locked, and must
// only read that slot's tables (Table(db, s)), never lock, and label
// database db as perm[db].
func (ks *Keyspace) BeginCut(capture func(s int, perm []int)) *Cut {
	c := &Cut{gen: ks.cutGens.Add(1), capture: capture, perm: make([]int, ks.databases)}
	for i := range c.perm {
		c.perm[i] = i
	}
	if !ks.cut.CompareAndSwap(nil, c) {
		return nil
	}
	return c
}

// CutActive reports whether a cut is in progress.
func (ks *Keyspace) CutActive() bool { return ks.cut.Load() != nil }

// captureLocked captures slot s for c unless it already was.
// REQUIRES: slot s locked.
func (ks *Keyspace) captureLocked(c *Cut, s int) {
	sh := &ks.shards[s]
	if sh.cutGen != c.gen {
		sh.cutGen = c.gen
		c.capture(s, c.perm)
	}
}

// Drain returns once every command that had locked slots before the cut
// began has released them. It locks and unlocks each slot in turn, without
// capturing, so nobody waits for more than one slot.
func (ks *Keyspace) Drain() {
	for i := range ks.shards {
		ks.shards[i].mu.Lock()
		ks.shards[i].mu.Unlock() //nolint:staticcheck // an empty critical section is the point
	}
}

// Walk captures every slot that no command has captured yet, locking one
// slot at a time, then ends the cut. after, if not nil, runs after each
// slot without any lock held (the caller writes out what was captured); when
// it returns false the walk stops there and the cut ends unfinished.
func (ks *Keyspace) Walk(c *Cut, after func(s int) bool) {
	defer ks.cut.CompareAndSwap(c, nil)
	for s := range ks.shards {
		sh := &ks.shards[s]
		sh.mu.Lock()
		ks.captureLocked(c, s)
		sh.mu.Unlock()
		if after != nil && !after(s) {
			return
		}
	}
}

// Abort ends a cut without capturing the remaining slots.
func (ks *Keyspace) Abort(c *Cut) { ks.cut.CompareAndSwap(c, nil) }

// AllSlots stands for "every slot" in AfterCut: the caller holds LockAll.
const AllSlots = -1

// AfterCut reports whether the current holder of slot s's lock (of every
// lock, for AllSlots) took it after the cut in progress began, so that what
// it does is not part of the cut's snapshot. It is false when no cut is in
// progress. REQUIRES: slot s locked (LockAll for AllSlots).
func (ks *Keyspace) AfterCut(s int) bool {
	c := ks.cut.Load()
	if c == nil {
		return false
	}
	if s == AllSlots {
		return ks.allGen == c.gen
	}
	return ks.shards[s].cutGen == c.gen
}

// CaptureForWrite lets a LockAll holder that is about to change slot s
// (SORT ... STORE) have the cut in progress capture s first, as Lock would
// have. REQUIRES: LockAll held.
func (ks *Keyspace) CaptureForWrite(s int) {
	if c := ks.cut.Load(); c != nil && ks.allGen == c.gen {
		ks.captureLocked(c, s)
	}
}
