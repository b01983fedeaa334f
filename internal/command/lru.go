package command

import (
	"math/rand/v2"
	"strings"
	"time"

	"github.com/reefkv/reef/internal/config"
	"github.com/reefkv/reef/internal/keyspace"
)

// Access tracking: each value's 24-bit field holds the LRU clock of its last
// access, or in LFU mode the minute of the last decrement (16 bits) and a
// logarithmic access counter (8 bits), exactly as Redis's robj->lru. Small
// integers that Redis keeps as shared objects share one field per value
// (keyspace.SharedLRU), as they share one object in Redis: touching any key
// holding 5 touches them all.

// lfuInitVal is Redis's LFU_INIT_VAL, the counter of a new object.
const lfuInitVal = 5

// noSharedIntegers is Redis's MAXMEMORY_FLAG_NO_SHARED_INTEGERS test: LRU
// and LFU policies need per-key access data.
func noSharedIntegers(policy string) bool {
	return strings.Contains(policy, "lru") || strings.Contains(policy, "lfu")
}

// isLFU reports an LFU maxmemory policy.
func isLFU(policy string) bool { return strings.Contains(policy, "lfu") }

// isShared reports whether Redis would hold v as one of its shared integer
// objects (tryObjectEncoding and createStringObjectFromLongLongForValue).
func (c *Ctx) isShared(v keyspace.Value) bool { return IsShared(c.Cfg, v) }

// IsShared reports whether Redis would hold v as one of its shared integer
// objects, whose refcount is INT_MAX and whose access field is shared.
func IsShared(cfg *config.Config, v keyspace.Value) bool {
	if !v.IsInt() || v.OwnedInt() {
		return false
	}
	n := v.Int()
	if n < 0 || n >= keyspace.SharedIntegers {
		return false
	}
	return cfg.MaxMemory == 0 || !noSharedIntegers(cfg.MaxMemoryPolicy)
}

// accessField returns v's LRU/LFU field.
func (c *Ctx) accessField(v keyspace.Value) uint32 { return AccessField(c.KS, c.Cfg, v) }

// AccessField returns v's LRU/LFU field, the shared one for shared
// integers (DEBUG OBJECT's lru).
func AccessField(ks *keyspace.Keyspace, cfg *config.Config, v keyspace.Value) uint32 {
	if IsShared(cfg, v) {
		return ks.SharedLRU(v.Int())
	}
	return v.LRU()
}

// newAccessField is the field of a freshly created object (createObject).
func (c *Ctx) newAccessField() uint32 {
	if isLFU(c.Cfg.MaxMemoryPolicy) {
		return lfuMinutes()<<8 | lfuInitVal
	}
	return c.Env.LRUClock()
}

// touch is lookupKey's access update (without LOOKUP_NOTOUCH): the LRU
// clock, or in LFU mode a decayed and logarithmically incremented counter.
func (c *Ctx) touch(v *keyspace.Value) {
	var f uint32
	if isLFU(c.Cfg.MaxMemoryPolicy) {
		counter := c.lfuDecr(c.accessField(*v))
		counter = c.lfuLogIncr(counter)
		f = lfuMinutes()<<8 | counter
	} else {
		f = c.Env.LRUClock()
	}
	if c.isShared(*v) {
		c.KS.SetSharedLRU(v.Int(), f)
		return
	}
	*v = v.WithLRU(f)
}

// lfuMinutes is LFUGetTimeInMinutes: unix minutes modulo 2^16.
func lfuMinutes() uint32 { return uint32(time.Now().Unix()/60) & 0xFFFF }

// lfuDecr is LFUDecrAndReturn: the counter decremented by one per elapsed
// lfu-decay-time minutes.
func (c *Ctx) lfuDecr(field uint32) uint32 {
	ldt := field >> 8
	counter := field & 0xFF
	if c.Cfg.LFUDecayTime <= 0 {
		return counter
	}
	now := lfuMinutes()
	var elapsed uint32
	if now >= ldt {
		elapsed = now - ldt
	} else {
		elapsed = 65535 - ldt + now
	}
	periods := elapsed / uint32(c.Cfg.LFUDecayTime)
	if periods > counter {
		return 0
	}
	return counter - periods
}

// lfuLogIncr is LFULogIncr: increment with probability 1/((c-5)*factor+1).
func (c *Ctx) lfuLogIncr(counter uint32) uint32 {
	if counter == 255 {
		return 255
	}
	base := float64(counter) - lfuInitVal
	if base < 0 {
		base = 0
	}
	p := 1.0 / (base*float64(c.Cfg.LFULogFactor) + 1)
	r := rand.Float64
	if c.Rand != nil {
		r = c.Rand.Float64
	}
	if r() < p {
		counter++
	}
	return counter
}
