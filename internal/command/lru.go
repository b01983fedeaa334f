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

// isLFU reports an LFU maxmemory policy (volatile-lfu, allkeys-lfu). It is
// asked on every key access, so it only looks at the suffix.
func isLFU(policy string) bool { return strings.HasSuffix(policy, "lfu") }

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
func (c *Ctx) newAccessField() uint32 { return NewAccessField(c.Cfg, c.Env.LRUClock()) }

// NewAccessField is the field of a freshly created object (createObject)
// under cfg's maxmemory-policy, lruClock being the server's LRU clock.
func NewAccessField(cfg *config.Config, lruClock uint32) uint32 {
	if isLFU(cfg.MaxMemoryPolicy) {
		return lfuMinutes()<<8 | lfuInitVal
	}
	return lruClock
}

// RestoredAccessField is NewAccessField adjusted by objectSetLRUOrLFU for
// an LFU frequency or an LRU idle time in seconds (-1 when not given):
// what RESTORE's FREQ / IDLETIME options and the FREQ / IDLE records of an
// RDB file give a key. The frequency counts under an LFU policy only, the
// idle time under any other.
func RestoredAccessField(cfg *config.Config, lruClock uint32, lfuFreq, lruIdle int64) uint32 {
	f := NewAccessField(cfg, lruClock)
	if isLFU(cfg.MaxMemoryPolicy) {
		if lfuFreq >= 0 {
			f = lfuMinutes()<<8 | uint32(lfuFreq)
		}
		return f
	}
	if lruIdle >= 0 {
		// Redis 7.0 scales the seconds to the clock's resolution
		// (lru_idle*1000/1000, which wraps for huge values), steps a
		// negative access time forward by LRU_CLOCK_MAX once, and stores
		// the low 24 bits: measured against redis-server 7.0.15, where a
		// huge IDLETIME gives OBJECT IDLETIME near the value modulo 2^24.
		idle := lruIdle * 1000 / 1000
		abs := int64(lruClock) - idle
		if abs < 0 {
			abs += lruClockMax
		}
		f = uint32(abs) & lruClockMax
	}
	return f
}

// SavesAccessMeta reports whether RDB files carry access data under cfg's
// maxmemory-policy (an LRU or an LFU one).
func SavesAccessMeta(cfg *config.Config) bool { return noSharedIntegers(cfg.MaxMemoryPolicy) }

// SavedAccessMeta is the access data rdbSaveKeyValuePair writes before a
// key: its idle time under an LRU policy, its decayed counter under an LFU
// one, nothing under the others (then it reports false).
func SavedAccessMeta(ks *keyspace.Keyspace, cfg *config.Config, lruClock uint32, v keyspace.Value) (idle uint64, hasIdle bool, freq uint8, hasFreq bool) {
	switch policy := cfg.MaxMemoryPolicy; {
	case isLFU(policy):
		return 0, false, uint8(lfuDecrement(AccessField(ks, cfg, v), cfg.LFUDecayTime)), true
	case strings.Contains(policy, "lru"):
		return uint64(IdleSeconds(lruClock, AccessField(ks, cfg, v))), true, 0, false
	}
	return 0, false, 0, false
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
func (c *Ctx) lfuDecr(field uint32) uint32 { return lfuDecrement(field, c.Cfg.LFUDecayTime) }

// LFUCounter is an LFU access field's counter after its decay
// (LFUDecrAndReturn).
func LFUCounter(cfg *config.Config, field uint32) uint32 {
	return lfuDecrement(field, cfg.LFUDecayTime)
}

// lfuDecrement is LFUDecrAndReturn for an lfu-decay-time of decayTime
// minutes.
func lfuDecrement(field uint32, decayTime int) uint32 {
	ldt := field >> 8
	counter := field & 0xFF
	if decayTime <= 0 {
		return counter
	}
	now := lfuMinutes()
	var elapsed uint32
	if now >= ldt {
		elapsed = now - ldt
	} else {
		elapsed = 65535 - ldt + now
	}
	periods := elapsed / uint32(decayTime)
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
