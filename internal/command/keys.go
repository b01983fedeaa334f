package command

import (
	"bytes"
	"math"
	"strconv"
	"strings"

	"github.com/reefkv/reef/internal/dict"
	"github.com/reefkv/reef/internal/glob"
	"github.com/reefkv/reef/internal/keyspace"
	"github.com/reefkv/reef/internal/rconv"
	"github.com/reefkv/reef/internal/resp"
	"github.com/reefkv/reef/internal/slot"
)

// keyCommands returns the handlers of the generic key family.
func keyCommands() map[string]Handler {
	return map[string]Handler{
		"del":         delCommand,
		"unlink":      delCommand,
		"exists":      existsCommand,
		"type":        typeCommand,
		"ttl":         func(c *Ctx) { ttlGeneric(c, false, false) },
		"pttl":        func(c *Ctx) { ttlGeneric(c, true, false) },
		"expiretime":  func(c *Ctx) { ttlGeneric(c, false, true) },
		"pexpiretime": func(c *Ctx) { ttlGeneric(c, true, true) },
		"expire":      func(c *Ctx) { expireGeneric(c, c.Now, unitSeconds) },
		"pexpire":     func(c *Ctx) { expireGeneric(c, c.Now, unitMillis) },
		"expireat":    func(c *Ctx) { expireGeneric(c, 0, unitSeconds) },
		"pexpireat":   func(c *Ctx) { expireGeneric(c, 0, unitMillis) },
		"persist":     persistCommand,
		"touch":       touchCommand,
		"rename":      func(c *Ctx) { renameGeneric(c, false) },
		"renamenx":    func(c *Ctx) { renameGeneric(c, true) },
		"copy":        copyCommand,
		"move":        moveCommand,
		"object":      nil, // container: see objectSubcommands
		"randomkey":   randomkeyCommand,
		"keys":        keysCommand,
		"scan":        scanCommand,
		"dbsize":      dbsizeCommand,
		"flushdb":     flushdbCommand,
		"flushall":    flushallCommand,
		"swapdb":      swapdbCommand,
	}
}

// selfLockingCommands walk or change many slots and take slot locks
// themselves, one slot at a time (or all, in order).
var selfLockingCommands = map[string]bool{
	"randomkey": true, "keys": true, "scan": true, "dbsize": true,
	"flushdb": true, "flushall": true, "swapdb": true,
}

func objectSubcommands() map[string]Handler {
	return map[string]Handler{
		"encoding": objectEncoding,
		"freq":     objectFreq,
		"idletime": objectIdletime,
		"refcount": objectRefcount,
		"help":     objectHelp,
	}
}

func delCommand(c *Ctx) {
	var n int64
	for _, key := range c.Args[1:] {
		c.expireIfNeeded(slotOf(key), key)
		if c.deleteKey(key) {
			c.notify(NotifyGeneric, "del", key)
			c.Dirty++
			n++
		}
	}
	c.Int(n)
}

func existsCommand(c *Ctx) {
	var n int64
	for _, key := range c.Args[1:] {
		if c.lookupNoTouch(key) != nil {
			n++
		}
	}
	c.Int(n)
}

// lookupNoTouch is lookupKeyReadWithFlags(LOOKUP_NOTOUCH): hit/miss counted,
// LRU not touched.
func (c *Ctx) lookupNoTouch(key []byte) *keyspace.Value {
	v := c.lookup(key)
	if v == nil {
		c.KS.CountMiss(slotOf(key))
		c.notify(NotifyKeyMiss, "keymiss", key)
		return nil
	}
	c.KS.CountHit(slotOf(key))
	return v
}

func typeCommand(c *Ctx) {
	v := c.lookupNoTouch(c.Args[1])
	if v == nil {
		c.Simple("none")
		return
	}
	c.Simple(v.Type().String())
}

func ttlGeneric(c *Ctx, millis, absolute bool) {
	key := c.Args[1]
	if c.lookupNoTouch(key) == nil {
		c.Int(-2)
		return
	}
	when := c.expireAt(key)
	if when == -1 {
		c.Int(-1)
		return
	}
	if absolute {
		if millis {
			c.Int(when)
		} else {
			c.Int(when / 1000)
		}
		return
	}
	ttl := when - c.Now
	if ttl < 0 {
		ttl = 0
	}
	if millis {
		c.Int(ttl)
	} else {
		c.Int((ttl + 500) / 1000)
	}
}

// Flags of the EXPIRE family.
const (
	expireNX = 1 << iota
	expireXX
	expireGT
	expireLT
)

func expireGeneric(c *Ctx, base int64, unit int) {
	key := c.Args[1]
	flags := 0
	for _, opt := range c.Args[3:] {
		switch {
		case eq(opt, "nx"):
			flags |= expireNX
		case eq(opt, "xx"):
			flags |= expireXX
		case eq(opt, "gt"):
			flags |= expireGT
		case eq(opt, "lt"):
			flags |= expireLT
		default:
			c.Err("ERR Unsupported option " + CStr(opt))
			return
		}
	}
	if flags&expireNX != 0 && flags&(expireXX|expireGT|expireLT) != 0 {
		c.Err("ERR NX and XX, GT or LT options at the same time are not compatible")
		return
	}
	if flags&expireGT != 0 && flags&expireLT != 0 {
		c.Err("ERR GT and LT options at the same time are not compatible")
		return
	}
	when, ok := rconv.ParseInt(c.Args[2])
	if !ok {
		c.Err(ErrNotInt)
		return
	}
	badTime := "ERR invalid expire time in '" + c.Spec.FullName() + "' command"
	if unit == unitSeconds {
		if when > math.MaxInt64/1000 || when < math.MinInt64/1000 {
			c.Err(badTime)
			return
		}
		when *= 1000
	}
	if when > math.MaxInt64-base {
		c.Err(badTime)
		return
	}
	when += base
	if c.lookupWrite(key) == nil {
		c.Int(0)
		return
	}
	if flags != 0 {
		cur := c.expireAt(key)
		if (flags&expireNX != 0 && cur != -1) ||
			(flags&expireXX != 0 && cur == -1) ||
			(flags&expireGT != 0 && (when <= cur || cur == -1)) ||
			(flags&expireLT != 0 && cur != -1 && when >= cur) {
			c.Int(0)
			return
		}
	}
	if alreadyExpired(c, when) {
		c.deleteKey(key)
		c.Dirty++
		c.Rewritten = [][][]byte{{[]byte(c.expireDelName()), key}}
		c.notify(NotifyGeneric, "del", key)
		c.Int(1)
		return
	}
	c.setExpire(key, when)
	c.Int(1)
	// Propagate as PEXPIREAT with the absolute time, keeping the options.
	rewritten := [][]byte{[]byte("PEXPIREAT"), key, strconv.AppendInt(nil, when, 10)}
	rewritten = append(rewritten, c.Args[3:]...)
	c.Rewritten = [][][]byte{rewritten}
	c.Env.KeyModified(c.DB, key)
	c.notify(NotifyGeneric, "expire", key)
	c.Dirty++
}

// expireDelName is how a deletion caused by an expiry in the past propagates:
// UNLINK when lazyfree-lazy-expire is on, else DEL.
func (c *Ctx) expireDelName() string {
	if c.Cfg.LazyfreeLazyExpire {
		return "UNLINK"
	}
	return "DEL"
}

func persistCommand(c *Ctx) {
	key := c.Args[1]
	if c.lookupWrite(key) == nil {
		c.Int(0)
		return
	}
	if !c.KS.Persist(c.DB, slotOf(key), key) {
		c.Int(0)
		return
	}
	c.Env.KeyModified(c.DB, key)
	c.notify(NotifyGeneric, "persist", key)
	c.Dirty++
	c.Int(1)
}

func touchCommand(c *Ctx) {
	var n int64
	for _, key := range c.Args[1:] {
		if c.lookupRead(key) != nil {
			n++
		}
	}
	c.Int(n)
}

func renameGeneric(c *Ctx, nx bool) {
	src, dst := c.Args[1], c.Args[2]
	same := string(src) == string(dst)
	v := c.lookupWrite(src)
	if v == nil {
		c.Err(ErrNoSuchKey)
		return
	}
	if same {
		if nx {
			c.Int(0)
		} else {
			c.OK()
		}
		return
	}
	val := *v
	expire := c.expireAt(src)
	if c.lookupWrite(dst) != nil {
		if nx {
			c.Int(0)
			return
		}
		c.KS.Delete(c.DB, slotOf(dst), dst)
	}
	c.KS.Delete(c.DB, slotOf(src), src)
	c.KS.Put(c.DB, slotOf(dst), dst, val, false)
	if expire != -1 {
		c.setExpire(dst, expire)
	}
	c.signalIfBlockable(c.DB, dst, val)
	c.Env.KeyModified(c.DB, src)
	c.Env.KeyModified(c.DB, dst)
	c.notify(NotifyGeneric, "rename_from", src)
	c.notify(NotifyGeneric, "rename_to", dst)
	c.Dirty++
	if nx {
		c.Int(1)
	} else {
		c.OK()
	}
}

// CStr is b as Redis's printf("%s") formats it into an error message: cut
// at the first NUL byte.
func CStr(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

// IntArg is Redis's getIntFromObjectOrReply: arg must be an integer that
// fits a C int. msg, when not empty, replaces both of Redis's default error
// texts, as the msg argument of the C function does.
func (c *Ctx) IntArg(arg []byte, msg string) (int, bool) {
	n, ok := rconv.ParseInt(arg)
	switch {
	case !ok && msg == "":
		c.Err(ErrNotInt)
	case !ok:
		c.Err(msg)
	case n < math.MinInt32 || n > math.MaxInt32:
		if msg == "" {
			msg = "ERR value is out of range, value must between -2147483648 and 2147483647"
		}
		c.Err(msg)
		ok = false
	}
	return int(n), ok
}

// dbIndexArg parses a database index argument (getIntFromObjectOrReply) and
// checks its range.
func (c *Ctx) dbIndexArg(arg []byte) (int, bool) {
	n, ok := c.IntArg(arg, "")
	if !ok {
		return 0, false
	}
	if n < 0 || n >= c.KS.Databases() {
		c.Err("ERR DB index is out of range")
		return 0, false
	}
	return n, true
}

const errSameObject = "ERR source and destination objects are the same"

func copyCommand(c *Ctx) {
	src, dst := c.Args[1], c.Args[2]
	dstDB := c.DB
	replace := false
	for j := 3; j < len(c.Args); j++ {
		switch {
		case eq(c.Args[j], "replace"):
			replace = true
		case eq(c.Args[j], "db") && j+1 < len(c.Args):
			n, ok := c.dbIndexArg(c.Args[j+1])
			if !ok {
				return
			}
			dstDB = n
			j++
		default:
			c.Err(ErrSyntax)
			return
		}
	}
	if c.Cfg.ClusterEnabled && (c.DB != 0 || dstDB != 0) {
		c.Err("ERR Copying to another database is not allowed in cluster mode")
		return
	}
	if dstDB == c.DB && string(src) == string(dst) {
		c.Err(errSameObject)
		return
	}
	v := c.lookupRead(src)
	if v == nil {
		c.Int(0)
		return
	}
	// Copy the value now: the lookup of dst below may delete an expired
	// dst from the same slot table, which moves entries and invalidates v.
	val := *v
	expire := c.expireAt(src)
	srcDB := c.DB
	c.DB = dstDB
	exists := c.lookupWrite(dst) != nil
	c.DB = srcDB
	if exists && !replace {
		c.Int(0)
		return
	}
	s := slotOf(dst)
	c.KS.Put(dstDB, s, dst, cloneValue(val).WithLRU(c.newAccessField()), false)
	if expire != -1 {
		c.KS.SetExpire(dstDB, s, dst, expire)
	}
	c.Env.KeyModified(dstDB, dst)
	c.Env.Notify(NotifyGeneric, "copy_to", dstDB, dst)
	c.Dirty++
	c.Int(1)
}

func moveCommand(c *Ctx) {
	if c.Cfg.ClusterEnabled {
		c.Err("ERR MOVE is not allowed in cluster mode")
		return
	}
	key := c.Args[1]
	dstDB, ok := c.dbIndexArg(c.Args[2])
	if !ok {
		return
	}
	if dstDB == c.DB {
		c.Err(errSameObject)
		return
	}
	v := c.lookupWrite(key)
	if v == nil {
		c.Int(0)
		return
	}
	val := *v
	expire := c.expireAt(key)
	srcDB := c.DB
	c.DB = dstDB
	exists := c.lookupWrite(key) != nil
	c.DB = srcDB
	if exists {
		c.Int(0)
		return
	}
	s := slotOf(key)
	c.KS.Put(dstDB, s, key, val, false)
	if expire != -1 {
		c.KS.SetExpire(dstDB, s, key, expire)
	}
	c.signalIfBlockable(dstDB, key, val)
	c.KS.Delete(srcDB, s, key)
	c.Env.KeyModified(srcDB, key)
	c.Env.KeyModified(dstDB, key)
	c.Env.Notify(NotifyGeneric, "move_from", srcDB, key)
	c.Env.Notify(NotifyGeneric, "move_to", dstDB, key)
	c.Dirty++
	c.Int(1)
}

func objectEncoding(c *Ctx) {
	v := c.lookupObject(c.Args[2])
	if v == nil {
		c.Null()
		return
	}
	c.BulkString(encodingOf(*v).String())
}

// lookupObject is OBJECT's lookup: no LRU touch, no stats, no notification.
func (c *Ctx) lookupObject(key []byte) *keyspace.Value {
	return c.lookup(key)
}

func lfuPolicy(c *Ctx) bool { return strings.Contains(c.Cfg.MaxMemoryPolicy, "lfu") }

func objectFreq(c *Ctx) {
	v := c.lookupObject(c.Args[2])
	if v == nil {
		c.Null()
		return
	}
	if !lfuPolicy(c) {
		c.Err("ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.")
		return
	}
	c.Int(int64(c.lfuDecr(c.accessField(*v))))
}

func objectIdletime(c *Ctx) {
	v := c.lookupObject(c.Args[2])
	if v == nil {
		c.Null()
		return
	}
	if lfuPolicy(c) {
		c.Err("ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.")
		return
	}
	c.Int(IdleSeconds(c.Env.LRUClock(), c.accessField(*v)))
}

// IdleSeconds is Redis's estimateObjectIdleTime in seconds, for a 24-bit LRU
// clock with one-second resolution that wraps around.
func IdleSeconds(now, lru uint32) int64 {
	if now >= lru {
		return int64(now - lru)
	}
	return int64(now + (1<<24 - 1) - lru)
}

func objectRefcount(c *Ctx) {
	v := c.lookupObject(c.Args[2])
	if v == nil {
		c.Null()
		return
	}
	// Redis shares the objects of the integers 0..9999 (refcount INT_MAX)
	// unless an LRU/LFU maxmemory policy needs per-key access data.
	if c.isShared(*v) {
		c.Int(math.MaxInt32)
		return
	}
	c.Int(1)
}

func objectHelp(c *Ctx) {
	HelpReply(c, "OBJECT", []string{
		"ENCODING <key>",
		"    Return the kind of internal representation used in order to store the value",
		"    associated with a <key>.",
		"FREQ <key>",
		"    Return the access frequency index of the <key>. The returned integer is",
		"    proportional to the logarithm of the recent access frequency of the key.",
		"IDLETIME <key>",
		"    Return the idle time of the <key>, that is the approximated number of",
		"    seconds elapsed since the last access to the key.",
		"REFCOUNT <key>",
		"    Return the number of references of the value associated with the specified",
		"    <key>.",
	})
}

// HelpReply writes a HELP reply the way Redis's addReplyHelp does.
func HelpReply(c *Ctx, name string, lines []string) {
	c.ArrayLen(len(lines) + 3)
	c.Simple(name + " <subcommand> [<arg> [value] [opt] ...]. Subcommands are:")
	for _, l := range lines {
		c.Simple(l)
	}
	c.Simple("HELP")
	c.Simple("    Prints this help.")
}

// randomkeyCommand picks a slot with probability proportional to its key
// count, then a random key in it, retrying past expired keys as Redis does.
func randomkeyCommand(c *Ctx) {
	// As Redis's dbRandomKey: an expired key drawn is deleted and another
	// drawn, so the loop ends (each retry removes a key). A replica keeps
	// expired keys: it draws until it finds a live one, or, when every
	// key is volatile, gives the 100th expired key drawn.
	replica := c.Env.IsReplica()
	allVolatile := false
	if replica {
		allVolatile = c.KS.Size(c.DB) == c.KS.VolatileSize(c.DB)
	}
	maxTries := 100
	for {
		total := c.KS.Size(c.DB)
		if total == 0 {
			c.Null()
			return
		}
		pick := c.rand().Int64N(total)
		s := 0
		for ; s < slot.Count; s++ {
			n := c.KS.Count(c.DB, s)
			if pick < n {
				break
			}
			pick -= n
		}
		if s == slot.Count {
			continue // counts moved under us
		}
		c.KS.Lock(s)
		t := c.KS.Table(c.DB, s)
		if t == nil || t.Keys.Len() == 0 {
			c.KS.Unlock(s)
			continue
		}
		e := t.Keys.Random(c.rand())
		key := []byte(e.Key)
		volatile := t.Expires.Len() > 0 && t.Expires.Get(e.Key) != nil
		if volatile && allVolatile {
			if maxTries--; maxTries == 0 {
				c.KS.Unlock(s)
				c.Bulk(key)
				return
			}
		}
		expired := volatile && c.expireIfNeeded(s, key)
		c.KS.Unlock(s)
		if expired {
			continue
		}
		c.Bulk(key)
		return
	}
}

func keysCommand(c *Ctx) {
	pattern := c.Args[1]
	all := len(pattern) == 1 && pattern[0] == '*'
	// Replies are built in a side buffer so the count can lead the array.
	var body []byte
	n := 0
	for s := 0; s < slot.Count; s++ {
		if c.KS.Count(c.DB, s) == 0 {
			continue
		}
		c.KS.Lock(s)
		t := c.KS.Table(c.DB, s)
		if t != nil {
			for e := range t.Keys.All() {
				key := unsafeBytes(e.Key)
				if !all && !glob.Match(pattern, key, false) {
					continue
				}
				if c.keyLogicallyExpired(t, e.Key) {
					continue
				}
				body = resp.AppendBulk(body, key)
				n++
			}
		}
		c.KS.Unlock(s)
	}
	c.ArrayLen(n)
	c.Out = append(c.Out, body...)
}

// keyLogicallyExpired reports whether a key found by a walk has expired.
// Walks do not delete (KEYS and SCAN in Redis call expireIfNeeded, which on
// a master deletes; the active expiry cycle removes such keys soon anyway).
func (c *Ctx) keyLogicallyExpired(t *keyspace.Table, key string) bool {
	if t.Expires.Len() == 0 || c.FromMaster {
		return false
	}
	p := t.Expires.Get(key)
	return p != nil && *p < c.Now
}

// Scan cursors address a slot and a position inside it: cursor =
// position*16384 + slot, where position is the slot table's own cursor.
// Cursor 0 starts at slot 0.
func scanCommand(c *Ctx) {
	cursor, ok := parseScanCursor(c.Args[1])
	if !ok {
		c.Err("ERR invalid cursor")
		return
	}
	var pattern []byte
	var typeFilter string
	count := int64(10)
	for j := 2; j < len(c.Args); j += 2 {
		if j+1 >= len(c.Args) {
			c.Err(ErrSyntax)
			return
		}
		val := c.Args[j+1]
		switch {
		case eq(c.Args[j], "count"):
			n, ok := rconv.ParseInt(val)
			if !ok {
				c.Err(ErrNotInt)
				return
			}
			if n < 1 {
				c.Err(ErrSyntax)
				return
			}
			count = n
		case eq(c.Args[j], "match"):
			pattern = val
			if len(pattern) == 1 && pattern[0] == '*' {
				pattern = nil
			}
		case eq(c.Args[j], "type"):
			typeFilter = strings.ToLower(string(val))
		default:
			c.Err(ErrSyntax)
			return
		}
	}
	s := int(cursor % slot.Count)
	pos := cursor / slot.Count
	var keys, expired [][]byte
	visited := int64(0)
	for s < slot.Count && visited < count {
		if c.KS.Count(c.DB, s) == 0 {
			s, pos = s+1, 0
			continue
		}
		c.KS.Lock(s)
		t := c.KS.Table(c.DB, s)
		if t == nil {
			c.KS.Unlock(s)
			s, pos = s+1, 0
			continue
		}
		expired = expired[:0]
		pos = t.Keys.Scan(pos, int(min(count-visited, 1<<30)), func(e *dict.Entry[keyspace.Value]) {
			visited++
			if pattern != nil && !glob.Match(pattern, unsafeBytes(e.Key), false) {
				return
			}
			// Redis's SCAN calls expireIfNeeded on every key that passed
			// the pattern (the TYPE filter's lookup does it too), so an
			// expired key seen by SCAN is deleted, not just skipped.
			if c.keyLogicallyExpired(t, e.Key) {
				expired = append(expired, []byte(e.Key))
				return
			}
			if typeFilter != "" && e.Val.Type().String() != typeFilter {
				return
			}
			keys = append(keys, []byte(e.Key))
		})
		for _, k := range expired {
			c.expireIfNeeded(s, k)
		}
		c.KS.Unlock(s)
		if pos == 0 {
			s++
		}
	}
	next := uint64(0)
	if s < slot.Count {
		next = pos*slot.Count + uint64(s)
	}
	c.ArrayLen(2)
	c.BulkString(strconv.FormatUint(next, 10))
	c.ArrayLen(len(keys))
	for _, k := range keys {
		c.Bulk(k)
	}
}

// parseScanCursor is Redis's parseScanCursorOrReply, which uses strtoul:
// a leading '+' or '-' is accepted (and "-1" wraps to the largest cursor),
// an empty string is 0, parsing stops at a NUL byte, leading white space
// and anything else after the digits are refused, and so is overflow.
func parseScanCursor(arg []byte) (uint64, bool) {
	if i := bytes.IndexByte(arg, 0); i >= 0 {
		arg = arg[:i]
	}
	if len(arg) == 0 {
		return 0, true
	}
	neg := false
	switch arg[0] {
	case '-':
		neg = true
		arg = arg[1:]
	case '+':
		arg = arg[1:]
	}
	if len(arg) == 0 {
		return 0, false // a sign alone: strtoul stops before it
	}
	var n uint64
	for _, ch := range arg {
		if ch < '0' || ch > '9' {
			return 0, false
		}
		d := uint64(ch - '0')
		if n > (math.MaxUint64-d)/10 {
			return 0, false
		}
		n = n*10 + d
	}
	if neg {
		n = -n
	}
	return n, true
}

func dbsizeCommand(c *Ctx) { c.Int(c.KS.Size(c.DB)) }

// flushArgs parses FLUSHDB/FLUSHALL's optional ASYNC|SYNC.
func flushArgs(c *Ctx) bool {
	if len(c.Args) > 2 {
		c.Err(ErrSyntax)
		return false
	}
	if len(c.Args) == 2 && !eq(c.Args[1], "sync") && !eq(c.Args[1], "async") {
		c.Err(ErrSyntax)
		return false
	}
	return true
}

// flushDB empties database db and returns the number of keys removed.
// REQUIRES: LockAll held. Detaching a slot's table is O(1), so the whole
// keyspace is locked only briefly; holding every lock makes the flush one
// atomic step that the replication stream can order.
func flushDB(c *Ctx, db int) int64 {
	var n int64
	for s := 0; s < slot.Count; s++ {
		if c.KS.Count(db, s) != 0 {
			n += c.KS.FlushSlot(db, s)
		}
	}
	return n
}

func flushdbCommand(c *Ctx) {
	if !flushArgs(c) {
		return
	}
	c.KS.LockAll()
	c.Dirty += flushDB(c, c.DB)
	c.Env.Propagate(c, keyspace.AllSlots)
	c.KS.UnlockAll()
	c.Env.DBFlushed(c.DB)
	c.OK()
}

func flushallCommand(c *Ctx) {
	if !flushArgs(c) {
		return
	}
	c.KS.LockAll()
	for db := 0; db < c.KS.Databases(); db++ {
		c.Dirty += flushDB(c, db)
	}
	// FLUSHALL always counts as a change, so it propagates even when empty.
	c.Dirty++
	c.Env.Propagate(c, keyspace.AllSlots)
	c.KS.UnlockAll()
	c.Env.DBFlushed(-1)
	c.OK()
}

func swapdbCommand(c *Ctx) {
	if c.Cfg.ClusterEnabled {
		c.Err("ERR SWAPDB is not allowed in cluster mode")
		return
	}
	a, ok := c.IntArg(c.Args[1], "ERR invalid first DB index")
	if !ok {
		return
	}
	b, ok := c.IntArg(c.Args[2], "ERR invalid second DB index")
	if !ok {
		return
	}
	n := c.KS.Databases()
	if a < 0 || a >= n || b < 0 || b >= n {
		c.Err("ERR DB index is out of range")
		return
	}
	c.KS.LockAll()
	if a != b {
		c.KS.SwapDBs(a, b)
	}
	c.Dirty++
	c.Env.Propagate(c, keyspace.AllSlots)
	c.KS.UnlockAll()
	if a != b {
		c.Env.DBSwapped(a, b)
	}
	c.OK()
}

// signalIfBlockable is the ready-key signal of Redis's dbAdd for keys
// created by RENAME, COPY and MOVE.
func (c *Ctx) signalIfBlockable(db int, key []byte, v keyspace.Value) {
	if t := v.Type(); t == keyspace.TypeList || t == keyspace.TypeZSet {
		c.Env.KeyReady(db, key)
	}
}
