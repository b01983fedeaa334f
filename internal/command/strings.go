package command

import (
	"math"
	"strconv"

	"github.com/reefkv/reef/internal/keyspace"
	"github.com/reefkv/reef/internal/rconv"
)

// stringCommands returns the handlers of the string family.
func stringCommands() map[string]Handler {
	return map[string]Handler{
		"get":         getCommand,
		"set":         setCommand,
		"setnx":       setnxCommand,
		"setex":       func(c *Ctx) { setexCommand(c, unitSeconds) },
		"psetex":      func(c *Ctx) { setexCommand(c, unitMillis) },
		"getex":       getexCommand,
		"getdel":      getdelCommand,
		"getset":      getsetCommand,
		"mget":        mgetCommand,
		"mset":        msetCommand,
		"msetnx":      msetnxCommand,
		"append":      appendCommand,
		"strlen":      strlenCommand,
		"getrange":    getrangeCommand,
		"substr":      getrangeCommand,
		"setrange":    setrangeCommand,
		"incr":        func(c *Ctx) { incrDecr(c, 1) },
		"decr":        func(c *Ctx) { incrDecr(c, -1) },
		"incrby":      incrbyCommand,
		"decrby":      decrbyCommand,
		"incrbyfloat": incrbyfloatCommand,
		"setbit":      setbitCommand,
		"getbit":      getbitCommand,
		"bitcount":    bitcountCommand,
		"bitpos":      bitposCommand,
		"bitop":       bitopCommand,
		"bitfield":    bitfieldCommand,
		"bitfield_ro": bitfieldROCommand,
		"lcs":         lcsCommand,
	}
}

const errStringTooLong = "ERR string exceeds maximum allowed size (proto-max-bulk-len)"

// checkStringLength is Redis's checkStringLength: values built by APPEND and
// SETRANGE may not exceed proto-max-bulk-len (size+add, checked for
// overflow), except from our master.
func (c *Ctx) checkStringLength(size, add int64) bool {
	if c.FromMaster {
		return true
	}
	total := int64(uint64(size) + uint64(add))
	if total > c.Cfg.ProtoMaxBulkLen || total < size || total < add {
		c.Err(errStringTooLong)
		return false
	}
	return true
}

// getString replies key's string value (null when missing) and reports
// whether the key held a string or was missing: Redis's getGenericCommand.
func getString(c *Ctx, key []byte) bool {
	v, ok := c.lookupReadType(key, keyspace.TypeString)
	if !ok {
		return false
	}
	if v == nil {
		c.Null()
		return true
	}
	c.Value(*v)
	return true
}

func getCommand(c *Ctx) { getString(c, c.Args[1]) }

// Flags of SET and GETEX (Redis's OBJ_* set flags).
const (
	setNX = 1 << iota
	setXX
	setEX
	setPX
	setKeepTTL
	setGet
	setEXAT
	setPXAT
	setPersist
)

const (
	unitSeconds = iota
	unitMillis
)

const (
	cmdSet = iota
	cmdGetex
)

// parseSetArgs is Redis's parseExtendedStringArgumentsOrReply.
func parseSetArgs(c *Ctx, from int, kind int) (flags int, expire []byte, unit int, ok bool) {
	args := c.Args
	unit = unitSeconds
	for j := from; j < len(args); j++ {
		opt := args[j]
		var next []byte
		if j+1 < len(args) {
			next = args[j+1]
		}
		expFlags := setEX | setPX | setEXAT | setPXAT
		switch {
		case eq(opt, "nx") && flags&setXX == 0 && kind == cmdSet:
			flags |= setNX
		case eq(opt, "xx") && flags&setNX == 0 && kind == cmdSet:
			flags |= setXX
		case eq(opt, "get") && kind == cmdSet:
			flags |= setGet
		case eq(opt, "keepttl") && flags&setPersist == 0 && flags&expFlags == 0 && kind == cmdSet:
			flags |= setKeepTTL
		case eq(opt, "persist") && kind == cmdGetex && flags&expFlags == 0 && flags&setKeepTTL == 0:
			flags |= setPersist
		case eq(opt, "ex") && flags&(setKeepTTL|setPersist|setPX|setEXAT|setPXAT) == 0 && next != nil:
			flags |= setEX
			expire = next
			j++
		case eq(opt, "px") && flags&(setKeepTTL|setPersist|setEX|setEXAT|setPXAT) == 0 && next != nil:
			flags |= setPX
			unit = unitMillis
			expire = next
			j++
		case eq(opt, "exat") && flags&(setKeepTTL|setPersist|setEX|setPX|setPXAT) == 0 && next != nil:
			flags |= setEXAT
			expire = next
			j++
		case eq(opt, "pxat") && flags&(setKeepTTL|setPersist|setEX|setEXAT|setPX) == 0 && next != nil:
			flags |= setPXAT
			unit = unitMillis
			expire = next
			j++
		default:
			c.Err(ErrSyntax)
			return 0, nil, 0, false
		}
	}
	return flags, expire, unit, true
}

// eq compares an argument with a lower-case option name, ignoring case.
func eq(arg []byte, lower string) bool { return EqualFold(arg, lower) }

// EqualFold reports whether arg equals the lower-case option name lower,
// ignoring ASCII case, without allocating.
func EqualFold(arg []byte, lower string) bool {
	if len(arg) != len(lower) {
		return false
	}
	for i := 0; i < len(arg); i++ {
		ch := arg[i]
		if 'A' <= ch && ch <= 'Z' {
			ch += 'a' - 'A'
		}
		if ch != lower[i] {
			return false
		}
	}
	return true
}

// expireMillis is Redis's getExpireMillisecondsOrReply: it validates an
// expire argument and returns the absolute unix time in ms.
func expireMillis(c *Ctx, arg []byte, flags, unit int) (int64, bool) {
	n, ok := rconv.ParseInt(arg)
	if !ok {
		c.Err(ErrNotInt)
		return 0, false
	}
	if n <= 0 || (unit == unitSeconds && n > math.MaxInt64/1000) {
		c.Err("ERR invalid expire time in '" + c.Spec.FullName() + "' command")
		return 0, false
	}
	if unit == unitSeconds {
		n *= 1000
	}
	if flags&(setPX|setEX) != 0 {
		if n > math.MaxInt64-c.Now {
			c.Err("ERR invalid expire time in '" + c.Spec.FullName() + "' command")
			return 0, false
		}
		n += c.Now
	}
	return n, true
}

// setGeneric is Redis's setGenericCommand. okReply/abortReply are nil for
// SET's +OK / null.
func setGeneric(c *Ctx, flags int, key, val, expire []byte, unit int, okReply, abortReply func()) {
	var when int64
	if expire != nil {
		var ok bool
		if when, ok = expireMillis(c, expire, flags, unit); !ok {
			return
		}
	}
	if flags&setGet != 0 {
		if !getString(c, key) {
			return
		}
	}
	// Only NX and XX need to know whether the key exists; setKey below
	// does the lookup's expiry and access-time work anyway.
	found := false
	if flags&(setNX|setXX) != 0 {
		found = c.lookupWrite(key) != nil
	}
	if (flags&setNX != 0 && found) || (flags&setXX != 0 && !found) {
		if flags&setGet == 0 {
			if abortReply != nil {
				abortReply()
			} else {
				c.Null()
			}
		}
		return
	}
	c.setKey(key, keyspace.NewString(val), flags&setKeepTTL != 0)
	c.Dirty++
	c.notify(NotifyString, "set", key)
	if expire != nil {
		c.setExpire(key, when)
		c.notify(NotifyGeneric, "expire", key)
		// Replicas get an absolute time, so that a late replica agrees on
		// when the key dies.
		if flags&setPXAT == 0 {
			rewritten := [][]byte{[]byte("SET"), key, val, []byte("PXAT"), strconv.AppendInt(nil, when, 10)}
			if flags&setNX != 0 {
				rewritten = append(rewritten, []byte("NX"))
			}
			if flags&setXX != 0 {
				rewritten = append(rewritten, []byte("XX"))
			}
			c.Rewritten = [][][]byte{rewritten}
		}
	}
	if flags&setGet == 0 {
		if okReply != nil {
			okReply()
		} else {
			c.OK()
		}
	}
}

func setCommand(c *Ctx) {
	flags, expire, unit, ok := parseSetArgs(c, 3, cmdSet)
	if !ok {
		return
	}
	setGeneric(c, flags, c.Args[1], c.Args[2], expire, unit, nil, nil)
}

func setnxCommand(c *Ctx) {
	setGeneric(c, setNX, c.Args[1], c.Args[2], nil, unitSeconds, func() { c.Int(1) }, func() { c.Int(0) })
}

func setexCommand(c *Ctx, unit int) {
	flag := setEX
	if unit == unitMillis {
		flag = setPX
	}
	setGeneric(c, flag, c.Args[1], c.Args[3], c.Args[2], unit, nil, nil)
}

// alreadyExpired is Redis's checkAlreadyExpired: a time in the past deletes
// the key instead of setting an expiry, except on a replica, which waits for
// its master's DEL.
func alreadyExpired(c *Ctx, when int64) bool {
	return when <= c.Now && !c.FromMaster && !c.Env.IsReplica()
}

func getexCommand(c *Ctx) {
	flags, expire, unit, ok := parseSetArgs(c, 2, cmdGetex)
	if !ok {
		return
	}
	key := c.Args[1]
	v, ok := c.lookupReadType(key, keyspace.TypeString)
	if !ok {
		return
	}
	if v == nil {
		c.Null()
		return
	}
	var when int64
	if expire != nil {
		if when, ok = expireMillis(c, expire, flags, unit); !ok {
			return
		}
	}
	c.Value(*v)
	switch {
	case expire != nil && alreadyExpired(c, when):
		c.deleteKey(key)
		c.Rewritten = [][][]byte{{[]byte(c.delCommandName()), key}}
		c.notify(NotifyGeneric, "del", key)
		c.Dirty++
	case expire != nil:
		c.setExpire(key, when)
		c.Rewritten = [][][]byte{{[]byte("PEXPIREAT"), key, strconv.AppendInt(nil, when, 10)}}
		c.Env.KeyModified(c.DB, key)
		c.notify(NotifyGeneric, "expire", key)
		c.Dirty++
	case flags&setPersist != 0:
		if c.KS.Persist(c.DB, slotOf(key), key) {
			c.Rewritten = [][][]byte{{[]byte("PERSIST"), key}}
			c.Env.KeyModified(c.DB, key)
			c.notify(NotifyGeneric, "persist", key)
			c.Dirty++
		}
	}
}

// delCommandName is what an expiry-driven delete propagates as: UNLINK when
// lazyfree-lazy-user-del (or lazy expire) is on, DEL otherwise.
func (c *Ctx) delCommandName() string {
	if c.Cfg.LazyfreeLazyUserDel {
		return "UNLINK"
	}
	return "DEL"
}

func getdelCommand(c *Ctx) {
	key := c.Args[1]
	if !getString(c, key) {
		return
	}
	if c.lookupWrite(key) != nil {
		c.deleteKey(key)
		c.notify(NotifyGeneric, "del", key)
		c.Dirty++
	}
}

func getsetCommand(c *Ctx) {
	key := c.Args[1]
	if !getString(c, key) {
		return
	}
	c.setKey(key, keyspace.NewString(c.Args[2]), false)
	c.notify(NotifyString, "set", key)
	c.Dirty++
	// GETSET propagates as SET: the old value is not needed by replicas.
	c.Rewritten = [][][]byte{{[]byte("SET"), key, c.Args[2]}}
}

func mgetCommand(c *Ctx) {
	c.ArrayLen(len(c.Args) - 1)
	for _, key := range c.Args[1:] {
		v := c.lookupRead(key)
		if v == nil || v.Type() != keyspace.TypeString {
			c.Null()
			continue
		}
		c.Value(*v)
	}
}

func msetGeneric(c *Ctx, nx bool) {
	if len(c.Args)%2 == 0 {
		c.Err(ErrArity(c.Spec.FullName()))
		return
	}
	if nx {
		for j := 1; j < len(c.Args); j += 2 {
			if c.lookupWrite(c.Args[j]) != nil {
				c.Int(0)
				return
			}
		}
	}
	for j := 1; j < len(c.Args); j += 2 {
		c.setKey(c.Args[j], keyspace.NewString(c.Args[j+1]), false)
		c.notify(NotifyString, "set", c.Args[j])
	}
	c.Dirty += int64(len(c.Args) / 2)
	if nx {
		c.Int(1)
	} else {
		c.OK()
	}
}

func msetCommand(c *Ctx)   { msetGeneric(c, false) }
func msetnxCommand(c *Ctx) { msetGeneric(c, true) }

// growable returns key's value as a growable raw buffer, converting it in
// place if needed (Redis's dbUnshareStringValue).
func (c *Ctx) growable(v *keyspace.Value, extra int) *[]byte {
	if b := v.Growable(); b != nil {
		return b
	}
	old := v.AppendString(make([]byte, 0, v.StrLen()+extra))
	*v = keyspace.GrowableValue(old).WithLRU(v.LRU())
	return v.Growable()
}

func appendCommand(c *Ctx) {
	key, add := c.Args[1], c.Args[2]
	v, ok := c.lookupWriteType(key, keyspace.TypeString)
	if !ok {
		return
	}
	var n int
	if v == nil {
		c.setKey(key, keyspace.NewString(add), false)
		n = len(add)
	} else {
		if !c.checkStringLength(int64(v.StrLen()), int64(len(add))) {
			return
		}
		b := c.growable(v, len(add))
		*b = append(*b, add...)
		n = len(*b)
		c.Env.KeyModified(c.DB, key)
	}
	c.notify(NotifyString, "append", key)
	c.Dirty++
	c.Int(int64(n))
}

func strlenCommand(c *Ctx) {
	v, ok := c.lookupReadType(c.Args[1], keyspace.TypeString)
	if !ok {
		return
	}
	if v == nil {
		c.Int(0)
		return
	}
	c.Int(int64(v.StrLen()))
}

func getrangeCommand(c *Ctx) {
	start, ok1 := rconv.ParseInt(c.Args[2])
	end, ok2 := rconv.ParseInt(c.Args[3])
	if !ok1 || !ok2 {
		c.Err(ErrNotInt)
		return
	}
	v, ok := c.lookupReadType(c.Args[1], keyspace.TypeString)
	if !ok {
		return
	}
	if v == nil {
		c.Bulk(nil)
		return
	}
	var tmp [24]byte
	var s []byte
	if v.IsInt() {
		s = strconv.AppendInt(tmp[:0], v.Int(), 10)
	} else {
		s = v.Bytes()
	}
	n := int64(len(s))
	if start < 0 && end < 0 && start > end {
		c.Bulk(nil)
		return
	}
	if start < 0 {
		start += n
	}
	if end < 0 {
		end += n
	}
	if start < 0 {
		start = 0
	}
	if end < 0 {
		end = 0
	}
	if end >= n {
		end = n - 1
	}
	if start > end || n == 0 {
		c.Bulk(nil)
		return
	}
	c.Bulk(s[start : end+1])
}

func setrangeCommand(c *Ctx) {
	key, val := c.Args[1], c.Args[3]
	offset, ok := rconv.ParseInt(c.Args[2])
	if !ok {
		c.Err(ErrNotInt)
		return
	}
	if offset < 0 {
		c.Err("ERR offset is out of range")
		return
	}
	v, ok := c.lookupWriteType(key, keyspace.TypeString)
	if !ok {
		return
	}
	if v == nil {
		if len(val) == 0 {
			c.Int(0)
			return
		}
		if !c.checkStringLength(offset, int64(len(val))) {
			return
		}
		buf := make([]byte, offset+int64(len(val)))
		copy(buf[offset:], val)
		c.setKey(key, keyspace.GrowableValue(buf), false)
	} else {
		olen := int64(v.StrLen())
		if len(val) == 0 {
			c.Int(olen)
			return
		}
		if !c.checkStringLength(offset, int64(len(val))) {
			return
		}
		b := c.growable(v, 0)
		if need := int(offset) + len(val); need > len(*b) {
			*b = append(*b, make([]byte, need-len(*b))...)
		}
		copy((*b)[offset:], val)
		c.Env.KeyModified(c.DB, key)
	}
	c.notify(NotifyString, "setrange", key)
	c.Dirty++
	c.Int(int64(c.lookupWrite(key).StrLen()))
}

// stringInt returns the integer held by a string value (Redis's
// getLongLongFromObject): int-encoded, or bytes in canonical integer form.
func stringInt(v keyspace.Value) (int64, bool) {
	if v.IsInt() {
		return v.Int(), true
	}
	return rconv.ParseInt(v.Bytes())
}

func incrDecrBy(c *Ctx, incr int64) {
	key := c.Args[1]
	v, ok := c.lookupWriteType(key, keyspace.TypeString)
	if !ok {
		return
	}
	var cur int64
	if v != nil {
		if cur, ok = stringInt(*v); !ok {
			c.Err(ErrNotInt)
			return
		}
	}
	if (incr < 0 && cur < 0 && incr < math.MinInt64-cur) || (incr > 0 && cur > 0 && incr > math.MaxInt64-cur) {
		c.Err(ErrOverflow)
		return
	}
	n := cur + incr
	if v != nil && v.IsInt() && !(v.OwnedInt() && n >= 0 && n < keyspace.SharedIntegers) {
		// Redis updates an integer object in place, but a shared integer
		// is replaced by a new object (fresh access field) when the result
		// is no longer a shared value.
		wasShared := c.isShared(*v)
		v.SetInt(n)
		if wasShared && !c.isShared(*v) {
			*v = v.WithLRU(c.newAccessField())
		}
		c.Env.KeyModified(c.DB, key)
	} else {
		// A new key, or a string that held the number as text: the result
		// is int-encoded and keeps the key's expiry.
		c.setKey(key, keyspace.IntValue(n), true)
	}
	c.notify(NotifyString, "incrby", key)
	c.Dirty++
	c.Int(n)
}

func incrDecr(c *Ctx, by int64) { incrDecrBy(c, by) }

func incrbyCommand(c *Ctx) {
	n, ok := rconv.ParseInt(c.Args[2])
	if !ok {
		c.Err(ErrNotInt)
		return
	}
	incrDecrBy(c, n)
}

func decrbyCommand(c *Ctx) {
	n, ok := rconv.ParseInt(c.Args[2])
	if !ok {
		c.Err(ErrNotInt)
		return
	}
	if n == math.MinInt64 {
		c.Err("ERR decrement would overflow")
		return
	}
	incrDecrBy(c, -n)
}

func incrbyfloatCommand(c *Ctx) {
	key := c.Args[1]
	v, ok := c.lookupWriteType(key, keyspace.TypeString)
	if !ok {
		return
	}
	cur, _ := rconv.ParseLongDouble([]byte("0"))
	if v != nil {
		var tmp [24]byte
		var s []byte
		if v.IsInt() {
			s = strconv.AppendInt(tmp[:0], v.Int(), 10)
		} else {
			s = v.Bytes()
		}
		if cur, ok = rconv.ParseLongDouble(s); !ok {
			c.Err(ErrNotFloat)
			return
		}
	}
	incr, ok := rconv.ParseLongDouble(c.Args[2])
	if !ok {
		c.Err(ErrNotFloat)
		return
	}
	sum, ok := cur.Add(incr)
	if !ok {
		c.Err("ERR increment would produce NaN or Infinity")
		return
	}
	out := sum.AppendHuman(nil)
	// Redis stores the formatted result as a plain string, never int-encoded.
	c.setKey(key, keyspace.StringValue(out, keyspace.StringEncodingFor(len(out))), true)
	c.notify(NotifyString, "incrbyfloat", key)
	c.Dirty++
	c.Bulk(out)
	// Replicas must not redo the float arithmetic: they get the result.
	c.Rewritten = [][][]byte{{[]byte("SET"), key, out, []byte("KEEPTTL")}}
}
