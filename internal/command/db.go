package command

import (
	"github.com/reefkv/reef/internal/keyspace"
	"github.com/reefkv/reef/internal/slot"
)

// This file is the keyspace access every handler goes through: Redis's
// lookupKeyRead/lookupKeyWrite/setKey/dbDelete, with lazy expiry, LRU
// touches, hit/miss counting and WATCH invalidation. Every function requires
// the key's slot locked (the server locks the slots of a command's keys
// before running it).

// expireIfNeeded removes key if it has expired and reports whether it is
// (logically) expired. On a replica an expired key is hidden but kept: only
// the master's DEL removes it, so the replica stays consistent with it.
func (c *Ctx) expireIfNeeded(s int, key []byte) bool {
	when := c.KS.ExpireAt(c.DB, s, key)
	if when < 0 || when >= c.Now { // Redis: expired only when now > when
		return false
	}
	if c.FromMaster {
		return false
	}
	if c.Env.IsReplica() {
		return true
	}
	// ExpireDelete leaves the entry in place until the slot is unlocked:
	// pointers the command already holds into this slot stay valid.
	c.KS.ExpireDelete(c.DB, s, key)
	c.Env.KeyExpired(c.DB, key)
	c.Env.KeyModified(c.DB, key)
	return true
}

// lookup returns key's value or nil, after lazy expiry.
//
// The pointer is into the slot table. Lookups of other keys never move it
// (lazy expiry only marks entries; they are reaped at unlock), but an
// explicit delete or an insert in the same table may (the dense table moves
// its last entry into a hole and grows by reallocation): a handler that
// deletes or creates another key of the same slot (hash tags) copies the
// value it needs first.
func (c *Ctx) lookup(key []byte) *keyspace.Value {
	s := c.slotOf(key)
	v := c.KS.Get(c.DB, s, key)
	if v == nil {
		return nil
	}
	if c.expireIfNeeded(s, key) {
		return nil
	}
	return v
}

// lookupRead is lookupKeyRead: it counts a keyspace hit or miss and touches
// the LRU clock.
func (c *Ctx) lookupRead(key []byte) *keyspace.Value {
	v := c.lookup(key)
	if v == nil {
		c.KS.CountMiss(c.slotOf(key))
		c.Env.Notify(NotifyKeyMiss, "keymiss", c.DB, key)
		return nil
	}
	c.KS.CountHit(c.slotOf(key))
	c.touch(v)
	return v
}

// lookupWrite is lookupKeyWrite: expiry applies, no hit/miss accounting.
func (c *Ctx) lookupWrite(key []byte) *keyspace.Value {
	v := c.lookup(key)
	if v != nil {
		c.touch(v)
	}
	return v
}

// lookupReadType returns key's value for reading if it has type t. A missing
// key gives (nil, true); a key of another type replies WRONGTYPE and gives
// (nil, false).
func (c *Ctx) lookupReadType(key []byte, t keyspace.Type) (*keyspace.Value, bool) {
	v := c.lookupRead(key)
	if v != nil && v.Type() != t {
		c.Err(ErrWrongType)
		return nil, false
	}
	return v, true
}

// lookupWriteType is lookupReadType for writers.
func (c *Ctx) lookupWriteType(key []byte, t keyspace.Type) (*keyspace.Value, bool) {
	v := c.lookupWrite(key)
	if v != nil && v.Type() != t {
		c.Err(ErrWrongType)
		return nil, false
	}
	return v, true
}

// setKey stores v under key (Redis's setKey): an existing expiry is dropped
// unless keepTTL. It reports whether the key was new.
func (c *Ctx) setKey(key []byte, v keyspace.Value, keepTTL bool) bool {
	// Redis's setKey starts with lookupKeyWrite: an expired key is deleted
	// (with its "expired" event and stats) before being replaced, and the
	// old value's access time is touched.
	old := c.lookupWrite(key)
	if old == nil {
		c.dbAdd(key, v)
		return true
	}
	// Overwrite through the pointer the lookup returned: one table lookup
	// for the whole SET.
	*old = v.WithLRU(c.newAccessField())
	if !keepTTL {
		c.KS.Persist(c.DB, c.slotOf(key), key)
	}
	c.stored(key, v)
	return false
}

// dbAdd stores v under key, which the caller just found missing (Redis's
// dbAdd): unlike setKey, no second lookup. A new list or sorted set may
// serve blocked clients.
func (c *Ctx) dbAdd(key []byte, v keyspace.Value) {
	c.KS.Put(c.DB, c.slotOf(key), key, v.WithLRU(c.newAccessField()), false)
	c.stored(key, v)
}

// stored signals a value stored under key: WATCHes are invalidated, and a
// list or sorted set may serve the clients blocked on key.
func (c *Ctx) stored(key []byte, v keyspace.Value) {
	c.Env.KeyModified(c.DB, key)
	if t := v.Type(); t == keyspace.TypeList || t == keyspace.TypeZSet {
		c.Env.KeyReady(c.DB, key)
	}
}

// deleteKey removes key (Redis's dbDelete + signalModifiedKey) and reports
// whether it existed.
func (c *Ctx) deleteKey(key []byte) bool {
	if !c.KS.Delete(c.DB, c.slotOf(key), key) {
		return false
	}
	c.Env.KeyModified(c.DB, key)
	return true
}

// deleteEmptyResult removes the destination of a store command whose
// result is empty (ZUNIONSTORE, ZRANGESTORE, GEOSEARCHSTORE, BITOP...), as
// Redis's dbDelete does there: without looking the key up first, so a
// destination that has expired but is still stored is deleted ("del"), not
// expired ("expired").
func (c *Ctx) deleteEmptyResult(key []byte) {
	if c.deleteKey(key) {
		c.notify(NotifyGeneric, "del", key)
		c.Dirty++
	}
}

// expireAt returns key's expiry in unix ms, or -1.
func (c *Ctx) expireAt(key []byte) int64 {
	return c.KS.ExpireAt(c.DB, c.slotOf(key), key)
}

// setExpire sets key's expiry. The key must exist.
func (c *Ctx) setExpire(key []byte, when int64) {
	c.KS.SetExpire(c.DB, c.slotOf(key), key, when)
}

// notify fires a keyspace event for key.
func (c *Ctx) notify(class NotifyClass, event string, key []byte) {
	c.Env.Notify(class, event, c.DB, key)
}

// slotOf returns the hash slot of key.
func slotOf(key []byte) int { return slot.Of(key) }

// slotOf returns the hash slot of key, remembering the last key hashed: a
// command hashes the same key several times (lookup, hit counting, expiry,
// write), and CRC16 is a visible cost on the hot path. The cache is checked
// by content, so a key rebuilt in the same buffer is never mistaken.
func (c *Ctx) slotOf(key []byte) int {
	if c.slotKey != nil && string(key) == string(c.slotKey) {
		return c.slotVal
	}
	s := slot.Of(key)
	c.slotKey, c.slotVal = key, s
	return s
}

// SeedSlot tells the context the slot of key, which the server already
// computed while routing and locking.
func (c *Ctx) SeedSlot(key []byte, s int) { c.slotKey, c.slotVal = key, s }
