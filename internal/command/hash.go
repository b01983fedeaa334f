package command

import (
	"math"
	"math/rand/v2"
	"strconv"

	"github.com/reefkv/reef/internal/keyspace"
	"github.com/reefkv/reef/internal/rconv"
	"github.com/reefkv/reef/internal/types"
)

// hashCommands returns the handlers of the hash family (Redis's t_hash.c).
// hashMemberArgs are the field arguments of hash commands.
var hashMemberArgs = map[string]MemberArgs{
	"hset": {2, 2}, "hmset": {2, 2}, "hsetnx": {2, 0}, "hget": {2, 0},
	"hexists": {2, 0}, "hstrlen": {2, 0}, "hincrby": {2, 0},
	"hincrbyfloat": {2, 0}, "hdel": {2, 1}, "hmget": {2, 1},
}

func hashCommands() map[string]Handler {
	return map[string]Handler{
		"hset":         func(c *Ctx) { hsetCommand(c, false) },
		"hmset":        func(c *Ctx) { hsetCommand(c, true) },
		"hsetnx":       hsetnxCommand,
		"hget":         hgetCommand,
		"hmget":        hmgetCommand,
		"hdel":         hdelCommand,
		"hlen":         hlenCommand,
		"hstrlen":      hstrlenCommand,
		"hexists":      hexistsCommand,
		"hkeys":        func(c *Ctx) { hgetallGeneric(c, true, false) },
		"hvals":        func(c *Ctx) { hgetallGeneric(c, false, true) },
		"hgetall":      func(c *Ctx) { hgetallGeneric(c, true, true) },
		"hincrby":      hincrbyCommand,
		"hincrbyfloat": hincrbyfloatCommand,
		"hrandfield":   hrandfieldCommand,
		"hscan":        hscanCommand,
	}
}

// hashRead looks key up for reading: (nil, true) when missing, (nil,
// false) after a WRONGTYPE reply.
func (c *Ctx) hashRead(key []byte) (*types.Hash, bool) {
	v, ok := c.lookupReadType(key, keyspace.TypeHash)
	if v == nil {
		return nil, ok
	}
	return types.HashOf(v), true
}

// hashWriteOrCreate is hashTypeLookupWriteOrCreate.
func (c *Ctx) hashWriteOrCreate(key []byte) *types.Hash {
	v, ok := c.lookupWriteType(key, keyspace.TypeHash)
	if !ok {
		return nil
	}
	if v != nil {
		return types.HashOf(v)
	}
	h := types.NewHash()
	c.dbAdd(key, types.HashValue(h))
	return h
}

func hsetCommand(c *Ctx, hmset bool) {
	if len(c.Args)%2 == 1 {
		c.Err(ErrArity(c.Spec.FullName()))
		return
	}
	key := c.Args[1]
	h := c.hashWriteOrCreate(key)
	if h == nil {
		return
	}
	lim := c.limits()
	created := 0
	for i := 2; i < len(c.Args); i += 2 {
		if h.Set(c.Args[i], c.Args[i+1], lim) {
			created++
		}
	}
	if hmset {
		c.OK()
	} else {
		c.Int(int64(created))
	}
	c.modified(key)
	c.notify(NotifyHash, "hset", key)
	c.Dirty += int64(len(c.Args)-2) / 2
}

func hsetnxCommand(c *Ctx) {
	key := c.Args[1]
	h := c.hashWriteOrCreate(key)
	if h == nil {
		return
	}
	if h.Exists(c.Args[2]) {
		c.Int(0)
		return
	}
	h.Set(c.Args[2], c.Args[3], c.limits())
	c.Int(1)
	c.modified(key)
	c.notify(NotifyHash, "hset", key)
	c.Dirty++
}

func hgetCommand(c *Ctx) {
	h, ok := c.hashRead(c.Args[1])
	if !ok {
		return
	}
	if h == nil {
		c.Null()
		return
	}
	if v, ok := h.Get(c.Args[2]); ok {
		c.BulkStr(v)
		return
	}
	c.Null()
}

func hmgetCommand(c *Ctx) {
	h, ok := c.hashRead(c.Args[1])
	if !ok {
		return
	}
	c.ArrayLen(len(c.Args) - 2)
	for _, f := range c.Args[2:] {
		if h != nil {
			if v, ok := h.Get(f); ok {
				c.BulkStr(v)
				continue
			}
		}
		c.Null()
	}
}

func hdelCommand(c *Ctx) {
	key := c.Args[1]
	v, ok := c.lookupWriteType(key, keyspace.TypeHash)
	if !ok {
		return
	}
	if v == nil {
		c.Int(0)
		return
	}
	h := types.HashOf(v)
	deleted, keyRemoved := 0, false
	for _, f := range c.Args[2:] {
		if h.Delete(f) {
			deleted++
			if h.Len() == 0 {
				c.deleteKey(key)
				keyRemoved = true
				break
			}
		}
	}
	if deleted > 0 {
		c.modified(key)
		c.notify(NotifyHash, "hdel", key)
		if keyRemoved {
			c.notify(NotifyGeneric, "del", key)
		}
		c.Dirty += int64(deleted)
	}
	c.Int(int64(deleted))
}

func hlenCommand(c *Ctx) {
	h, ok := c.hashRead(c.Args[1])
	if !ok {
		return
	}
	if h == nil {
		c.Int(0)
		return
	}
	c.Int(int64(h.Len()))
}

func hstrlenCommand(c *Ctx) {
	h, ok := c.hashRead(c.Args[1])
	if !ok {
		return
	}
	if h == nil {
		c.Int(0)
		return
	}
	v, ok := h.Get(c.Args[2])
	if !ok {
		c.Int(0)
		return
	}
	c.Int(int64(types.StrLen(v)))
}

func hexistsCommand(c *Ctx) {
	h, ok := c.hashRead(c.Args[1])
	if !ok {
		return
	}
	if h == nil {
		c.Int(0)
		return
	}
	if h.Exists(c.Args[2]) {
		c.Int(1)
	} else {
		c.Int(0)
	}
}

func hgetallGeneric(c *Ctx, fields, values bool) {
	h, ok := c.hashRead(c.Args[1])
	if !ok {
		return
	}
	if h == nil {
		if fields && values {
			c.MapLen(0)
		} else {
			c.EmptyArray()
		}
		return
	}
	if fields && values {
		c.MapLen(h.Len())
	} else {
		c.ArrayLen(h.Len())
	}
	h.Range(func(f, v types.Str) bool {
		if fields {
			c.BulkStr(f)
		}
		if values {
			c.BulkStr(v)
		}
		return true
	})
}

func hincrbyCommand(c *Ctx) {
	incr, ok := rconv.ParseInt(c.Args[3])
	if !ok {
		c.Err(ErrNotInt)
		return
	}
	key, field := c.Args[1], c.Args[2]
	h := c.hashWriteOrCreate(key)
	if h == nil {
		return
	}
	var cur int64
	if v, ok := h.Get(field); ok {
		if v.IsInt {
			cur = v.Int
		} else if cur, ok = rconv.ParseInt(v.Str); !ok {
			c.Err("ERR hash value is not an integer")
			return
		}
	}
	if (incr < 0 && cur < 0 && incr < math.MinInt64-cur) || (incr > 0 && cur > 0 && incr > math.MaxInt64-cur) {
		c.Err(ErrOverflow)
		return
	}
	n := cur + incr
	var buf [24]byte
	h.Set(field, strconv.AppendInt(buf[:0], n, 10), c.limits())
	c.Int(n)
	c.modified(key)
	c.notify(NotifyHash, "hincrby", key)
	c.Dirty++
}

func hincrbyfloatCommand(c *Ctx) {
	incr, ok := rconv.ParseLongDouble(c.Args[3])
	if !ok {
		c.Err(ErrNotFloat)
		return
	}
	zero, _ := rconv.ParseLongDouble([]byte("0"))
	if _, finite := incr.Add(zero); !finite {
		c.Err("ERR value is NaN or Infinity")
		return
	}
	key, field := c.Args[1], c.Args[2]
	h := c.hashWriteOrCreate(key)
	if h == nil {
		return
	}
	cur := zero
	if v, ok := h.Get(field); ok {
		var tmp [24]byte
		if cur, ok = rconv.ParseLongDouble(types.Bytes(v, tmp[:0])); !ok {
			c.Err("ERR hash value is not a float")
			return
		}
	}
	sum, ok := cur.Add(incr)
	if !ok {
		c.Err("ERR increment would produce NaN or Infinity")
		return
	}
	out := sum.AppendHuman(nil)
	h.Set(field, out, c.limits())
	c.Bulk(out)
	c.modified(key)
	c.notify(NotifyHash, "hincrbyfloat", key)
	c.Dirty++
	// Replicas get the result, never the float arithmetic.
	c.Rewritten = [][][]byte{{[]byte("HSET"), key, field, out}}
}

// rangeLong is getRangeLongFromObjectOrReply with Redis's default message.
func (c *Ctx) rangeLong(arg []byte, lo, hi int64) (int64, bool) {
	n, ok := rconv.ParseInt(arg)
	if !ok {
		c.Err(ErrNotInt)
		return 0, false
	}
	if n < lo || n > hi {
		c.Err("ERR value is out of range, value must between " + strconv.FormatInt(lo, 10) + " and " + strconv.FormatInt(hi, 10))
		return 0, false
	}
	return n, true
}

func hrandfieldCommand(c *Ctx) {
	if len(c.Args) >= 3 {
		l, withValues, ok := c.randomCountArgs("withvalues")
		if !ok {
			return
		}
		h, ok := c.hashRead(c.Args[1])
		if !ok {
			return
		}
		var src randomSource[types.Str]
		if h != nil {
			src = randomSource[types.Str]{h.Len(), h.Random, h.At, h.Range}
		}
		randomWithCount(c, src, l, withValues, c.BulkStr)
		return
	}
	h, ok := c.hashRead(c.Args[1])
	if !ok {
		return
	}
	if h == nil {
		c.Null()
		return
	}
	f, _ := h.Random(c.rand())
	c.BulkStr(f)
}

// randomCountArgs parses HRANDFIELD's and ZRANDMEMBER's count and their
// WITHVALUES / WITHSCORES flag (with), as Redis does: a count that would
// overflow when doubled for the pairs is out of range.
func (c *Ctx) randomCountArgs(with string) (count int64, withValues, ok bool) {
	l, ok := c.rangeLong(c.Args[2], -math.MaxInt64, math.MaxInt64)
	if !ok {
		return 0, false, false
	}
	if len(c.Args) > 4 || (len(c.Args) == 4 && !eq(c.Args[3], with)) {
		c.Err(ErrSyntax)
		return 0, false, false
	}
	if len(c.Args) == 4 {
		if l < -math.MaxInt64/2 || l > math.MaxInt64/2 {
			c.Err("ERR value is out of range")
			return 0, false, false
		}
		withValues = true
	}
	return l, withValues, true
}

// randomSource is a hash or a sorted set as HRANDFIELD and ZRANDMEMBER
// sample it: elements with their values (fields) or scores (members).
// Its zero value is a missing key.
type randomSource[V any] struct {
	size   int
	random func(r *rand.Rand) (types.Str, V)
	at     func(i int) (types.Str, V)
	all    func(fn func(types.Str, V) bool)
}

// randomWithCount is hrandfieldWithCountCommand and
// zrandmemberWithCountCommand: count l > 0 distinct elements (all of them
// when l is at least the size), or -l elements with repetitions, each
// followed by its value (through reply) when withValues.
func randomWithCount[V any](c *Ctx, src randomSource[V], l int64, withValues bool, reply func(V)) {
	if src.size == 0 || l == 0 {
		c.EmptyArray()
		return
	}
	pair := func(e types.Str, v V) {
		if withValues && c.Proto > 2 {
			c.ArrayLen(2)
		}
		c.BulkStr(e)
		if withValues {
			reply(v)
		}
	}
	header := func(n int) {
		if withValues && c.Proto == 2 {
			c.ArrayLen(n * 2)
		} else {
			c.ArrayLen(n)
		}
	}
	count, uniq := l, true
	if l < 0 {
		count, uniq = -l, false
	}
	if !uniq || count == 1 {
		header(int(count))
		for i := int64(0); i < count; i++ {
			pair(src.random(c.rand()))
		}
		return
	}
	if count >= int64(src.size) {
		header(src.size)
		src.all(func(e types.Str, v V) bool { pair(e, v); return true })
		return
	}
	header(int(count))
	for _, i := range sampleDistinct(c, src.size, int(count)) {
		pair(src.at(i))
	}
}

// sampleDistinct returns count distinct indexes in [0, size), count < size,
// in random order (partial Fisher-Yates; a map when count is small
// compared to size).
func sampleDistinct(c *Ctx, size, count int) []int {
	r := c.rand()
	out := make([]int, 0, count)
	if count*4 < size {
		seen := make(map[int]struct{}, count)
		for len(out) < count {
			i := r.IntN(size)
			if _, dup := seen[i]; dup {
				continue
			}
			seen[i] = struct{}{}
			out = append(out, i)
		}
		return out
	}
	perm := make([]int, size)
	for i := range perm {
		perm[i] = i
	}
	for i := 0; i < count; i++ {
		j := i + r.IntN(size-i)
		perm[i], perm[j] = perm[j], perm[i]
	}
	return append(out, perm[:count]...)
}

func hscanCommand(c *Ctx) {
	cursor, ok := c.scanCursor(c.Args[2])
	if !ok {
		return
	}
	v, ok := c.lookupReadType(c.Args[1], keyspace.TypeHash)
	if !ok {
		return
	}
	if v == nil {
		c.scanReply(0, nil)
		return
	}
	pattern, count, ok := c.scanOptions(3)
	if !ok {
		return
	}
	var items [][]byte
	next := types.HashOf(v).Scan(cursor, count, func(f, val types.Str) {
		if matchStr(pattern, f) {
			items = append(items, types.Copy(f), types.Copy(val))
		}
	})
	c.scanReply(next, items)
}
