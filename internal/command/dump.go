package command

import (
	"github.com/reefkv/reef/internal/config"
	"github.com/reefkv/reef/internal/keyspace"
	"github.com/reefkv/reef/internal/rconv"
)

// DUMP, RESTORE and RESTORE-ASKING (Redis 7.0's cluster.c), and the
// keyspace access MIGRATE needs. The payload format lives in internal/rdb;
// the conversion between keyspace values and payloads is the server's
// DumpCodec (internal/migrate), so this package does not depend on the
// persistence code.

// DumpCodec converts keyspace values to DUMP payloads and back.
type DumpCodec interface {
	// Dump returns v's DUMP payload (RDB version 10, CRC-64 footer) as
	// Redis 7.0 configured like cfg would produce it. REQUIRES: v's slot
	// locked.
	Dump(v keyspace.Value, cfg *config.Config) ([]byte, error)
	// Restore verifies and decodes a payload into a new value owning its
	// memory, with the encodings cfg's thresholds give it. Its errors print
	// as Redis's RESTORE texts without the "ERR " prefix ("DUMP payload
	// version or checksum are wrong", "Bad data format").
	Restore(payload []byte, cfg *config.Config) (keyspace.Value, error)
}

// DumpCommands returns the DUMP/RESTORE family using codec.
func DumpCommands(codec DumpCodec) Family {
	restore := func(c *Ctx) { restoreCommand(c, codec) }
	return Family{Commands: map[string]Handler{
		"dump":           func(c *Ctx) { dumpCommand(c, codec) },
		"restore":        restore,
		"restore-asking": restore,
	}}
}

func dumpCommand(c *Ctx, codec DumpCodec) {
	v := c.lookupRead(c.Args[1])
	if v == nil {
		c.Null()
		return
	}
	p, err := codec.Dump(*v, c.Cfg)
	if err != nil {
		c.Err("ERR " + err.Error())
		return
	}
	c.Bulk(p)
}

// lruClockMax is Redis's LRU_CLOCK_MAX.
const lruClockMax = 1<<24 - 1

// restoreCommand is RESTORE key ttl payload [REPLACE] [ABSTTL] [IDLETIME s]
// [FREQ f], with Redis 7.0's order of checks.
func restoreCommand(c *Ctx, codec DumpCodec) {
	replace, absttl := false, false
	lfuFreq, lruIdle := int64(-1), int64(-1)
	for j := 4; j < len(c.Args); j++ {
		more := len(c.Args) - j - 1
		a := c.Args[j]
		switch {
		case eq(a, "replace"):
			replace = true
		case eq(a, "absttl"):
			absttl = true
		case eq(a, "idletime") && more >= 1 && lfuFreq == -1:
			n, ok := rconv.ParseInt(c.Args[j+1])
			if !ok {
				c.Err(ErrNotInt)
				return
			}
			if n < 0 {
				c.Err("ERR Invalid IDLETIME value, must be >= 0")
				return
			}
			lruIdle = n
			j++
		case eq(a, "freq") && more >= 1 && lruIdle == -1:
			n, ok := rconv.ParseInt(c.Args[j+1])
			if !ok {
				c.Err(ErrNotInt)
				return
			}
			if n < 0 || n > 255 {
				c.Err("ERR Invalid FREQ value, must be >= 0 and <= 255")
				return
			}
			lfuFreq = n
			j++
		default:
			c.Err(ErrSyntax)
			return
		}
	}
	key := c.Args[1]
	if !replace && c.lookupWrite(key) != nil {
		c.Err("BUSYKEY Target key name already exists.")
		return
	}
	ttl, ok := rconv.ParseInt(c.Args[2])
	if !ok {
		c.Err(ErrNotInt)
		return
	}
	if ttl < 0 {
		c.Err("ERR Invalid TTL value, must be >= 0")
		return
	}
	v, err := codec.Restore(c.Args[3], c.Cfg)
	if err != nil {
		c.Err("ERR " + err.Error())
		return
	}
	deleted := false
	if replace {
		deleted = c.deleteKey(key)
	}
	if ttl != 0 && !absttl {
		ttl += c.Now
	}
	// checkAlreadyExpired: never while loading or on a replica (and never
	// for our master's stream), where the master's DEL decides.
	if ttl != 0 && ttl <= c.Now && !c.FromMaster && !c.Env.IsReplica() {
		if deleted {
			c.Rewritten = [][][]byte{{[]byte("DEL"), key}}
			c.notify(NotifyGeneric, "del", key)
			c.Dirty++
		}
		c.OK()
		return
	}
	v = v.WithLRU(c.restoredAccessField(lfuFreq, lruIdle))
	s := slotOf(key)
	c.KS.Put(c.DB, s, key, v, false)
	if t := v.Type(); t == keyspace.TypeList || t == keyspace.TypeZSet {
		c.Env.KeyReady(c.DB, key)
	}
	if ttl != 0 {
		c.KS.SetExpire(c.DB, s, key, ttl)
		if !absttl {
			// Propagated with the absolute expiry, as Redis rewrites it.
			argv := make([][]byte, 0, len(c.Args)+1)
			argv = append(argv, c.Args...)
			argv[2] = rconv.AppendInt(nil, ttl)
			argv = append(argv, []byte("ABSTTL"))
			c.Rewritten = [][][]byte{argv}
		}
	}
	if c.isShared(v) && (lfuFreq >= 0 || lruIdle >= 0) {
		// A shared integer's access field is the shared one.
		c.KS.SetSharedLRU(v.Int(), v.LRU())
	}
	c.Env.KeyModified(c.DB, key)
	c.notify(NotifyGeneric, "restore", key)
	c.OK()
	c.Dirty++
}

// restoredAccessField is RestoredAccessField for this server.
func (c *Ctx) restoredAccessField(lfuFreq, lruIdle int64) uint32 {
	return RestoredAccessField(c.Cfg, c.Env.LRUClock(), lfuFreq, lruIdle)
}

// MigrateGetKeys is Redis's migrateGetKeys: the key at position 3, or the
// keys after KEYS, looking for KEYS past the options and skipping the
// arguments of AUTH (1) and AUTH2 (2), so that a password spelled "keys"
// is not taken for the keyword. KEYS with a non-empty key argument gives
// no keys at all.
func MigrateGetKeys(args [][]byte) []int {
	for i := 6; i < len(args); i++ {
		switch {
		case eq(args[i], "keys"):
			if len(args[3]) > 0 {
				return nil // "Cannot use KEYS option of MIGRATE with a key argument"
			}
			out := make([]int, 0, len(args)-i-1)
			for j := i + 1; j < len(args); j++ {
				out = append(out, j)
			}
			return out
		case eq(args[i], "auth"):
			i++
		case eq(args[i], "auth2"):
			i += 2
		}
	}
	if len(args) > 3 {
		return []int{3}
	}
	return nil
}

// The keyspace access of MIGRATE, which lives with the network code in
// internal/migrate. Each requires the key's slot locked.

// LookupRead is lookupKeyRead: lazy expiry, hit/miss accounting and an LRU
// touch. It returns nil for a missing key.
func (c *Ctx) LookupRead(key []byte) *keyspace.Value { return c.lookupRead(key) }

// ExpireAt returns key's absolute expiry in unix ms, or -1.
func (c *Ctx) ExpireAt(key []byte) int64 { return c.expireAt(key) }

// DeleteMigrated deletes a key that MIGRATE moved: dbDelete,
// signalModifiedKey, a "del" event and one dirty change.
func (c *Ctx) DeleteMigrated(key []byte) {
	if c.deleteKey(key) {
		c.notify(NotifyGeneric, "del", key)
		c.Dirty++
	}
}
