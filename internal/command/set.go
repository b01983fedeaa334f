package command

import (
	"math"
	"sort"

	"github.com/reefkv/reef/internal/keyspace"
	"github.com/reefkv/reef/internal/rconv"
	"github.com/reefkv/reef/internal/resp"
	"github.com/reefkv/reef/internal/types"
)

// setCommands returns the handlers of the set family (Redis's t_set.c).
// setMemberArgs are the member arguments of set commands.
var setMemberArgs = map[string]MemberArgs{
	"sadd": {2, 1}, "srem": {2, 1}, "sismember": {2, 0}, "smismember": {2, 1},
	"smove": {3, 0},
}

func setCommands() map[string]Handler {
	return map[string]Handler{
		"sadd":        saddCommand,
		"srem":        sremCommand,
		"scard":       scardCommand,
		"sismember":   sismemberCommand,
		"smismember":  smismemberCommand,
		"smembers":    func(c *Ctx) { sinterGeneric(c, c.Args[1:], nil, false, 0) },
		"srandmember": srandmemberCommand,
		"spop":        spopCommand,
		"smove":       smoveCommand,
		"sinter":      func(c *Ctx) { sinterGeneric(c, c.Args[1:], nil, false, 0) },
		"sintercard":  sintercardCommand,
		"sinterstore": func(c *Ctx) { sinterGeneric(c, c.Args[2:], c.Args[1], false, 0) },
		"sunion":      func(c *Ctx) { sunionDiffGeneric(c, c.Args[1:], nil, false) },
		"sunionstore": func(c *Ctx) { sunionDiffGeneric(c, c.Args[2:], c.Args[1], false) },
		"sdiff":       func(c *Ctx) { sunionDiffGeneric(c, c.Args[1:], nil, true) },
		"sdiffstore":  func(c *Ctx) { sunionDiffGeneric(c, c.Args[2:], c.Args[1], true) },
		"sscan":       sscanCommand,
	}
}

func (c *Ctx) setRead(key []byte) (*types.Set, bool) {
	v, ok := c.lookupReadType(key, keyspace.TypeSet)
	if v == nil {
		return nil, ok
	}
	return types.SetOf(v), true
}

func (c *Ctx) setWrite(key []byte) (*types.Set, bool) {
	v, ok := c.lookupWriteType(key, keyspace.TypeSet)
	if v == nil {
		return nil, ok
	}
	return types.SetOf(v), true
}

// EmptySet replies an empty set ("~0" in RESP3, "*0" in RESP2).
func (c *Ctx) EmptySet() { c.SetLen(0) }

func saddCommand(c *Ctx) {
	key := c.Args[1]
	s, ok := c.setWrite(key)
	if !ok {
		return
	}
	if s == nil {
		s = types.NewSetFor(c.Args[2])
		c.dbAdd(key, types.SetValue(s))
	}
	lim := c.limits()
	added := 0
	for _, m := range c.Args[2:] {
		if s.Add(m, lim) {
			added++
		}
	}
	if added > 0 {
		c.modified(key)
		c.notify(NotifySet, "sadd", key)
	}
	c.Dirty += int64(added)
	c.Int(int64(added))
}

func sremCommand(c *Ctx) {
	key := c.Args[1]
	s, ok := c.setWrite(key)
	if !ok {
		return
	}
	if s == nil {
		c.Int(0)
		return
	}
	deleted, removed := 0, false
	for _, m := range c.Args[2:] {
		if s.Remove(m) {
			deleted++
			if s.Len() == 0 {
				c.deleteKey(key)
				removed = true
				break
			}
		}
	}
	if deleted > 0 {
		c.modified(key)
		c.notify(NotifySet, "srem", key)
		if removed {
			c.notify(NotifyGeneric, "del", key)
		}
		c.Dirty += int64(deleted)
	}
	c.Int(int64(deleted))
}

func scardCommand(c *Ctx) {
	s, ok := c.setRead(c.Args[1])
	if !ok {
		return
	}
	if s == nil {
		c.Int(0)
		return
	}
	c.Int(int64(s.Len()))
}

func sismemberCommand(c *Ctx) {
	s, ok := c.setRead(c.Args[1])
	if !ok {
		return
	}
	if s != nil && s.Has(c.Args[2]) {
		c.Int(1)
	} else {
		c.Int(0)
	}
}

func smismemberCommand(c *Ctx) {
	s, ok := c.setRead(c.Args[1])
	if !ok {
		return
	}
	c.ArrayLen(len(c.Args) - 2)
	for _, m := range c.Args[2:] {
		if s != nil && s.Has(m) {
			c.Int(1)
		} else {
			c.Int(0)
		}
	}
}

func smoveCommand(c *Ctx) {
	srcKey, dstKey, m := c.Args[1], c.Args[2], c.Args[3]
	sv := c.lookupWrite(srcKey)
	dv := c.lookupWrite(dstKey)
	if sv == nil {
		c.Int(0)
		return
	}
	if sv.Type() != keyspace.TypeSet || (dv != nil && dv.Type() != keyspace.TypeSet) {
		c.Err(ErrWrongType)
		return
	}
	src := types.SetOf(sv)
	if dv != nil && types.SetOf(dv) == src {
		if src.Has(m) {
			c.Int(1)
		} else {
			c.Int(0)
		}
		return
	}
	if !src.Remove(m) {
		c.Int(0)
		return
	}
	c.notify(NotifySet, "srem", srcKey)
	if src.Len() == 0 {
		c.deleteKey(srcKey)
		c.notify(NotifyGeneric, "del", srcKey)
	}
	var dst *types.Set
	if dv == nil {
		dst = types.NewSetFor(m)
		c.dbAdd(dstKey, types.SetValue(dst))
	} else {
		dst = types.SetOf(c.lookupWrite(dstKey))
	}
	c.modified(srcKey)
	c.Dirty++
	if dst.Add(m, c.limits()) {
		c.Dirty++
		c.modified(dstKey)
		c.notify(NotifySet, "sadd", dstKey)
	}
	c.Int(1)
}

func spopCommand(c *Ctx) {
	if len(c.Args) == 3 {
		spopWithCount(c)
		return
	}
	if len(c.Args) > 3 {
		c.Err(ErrSyntax)
		return
	}
	key := c.Args[1]
	s, ok := c.setWrite(key)
	if !ok {
		return
	}
	if s == nil {
		c.Null()
		return
	}
	m := s.Pop(c.rand())
	c.notify(NotifySet, "spop", key)
	c.Rewritten = [][][]byte{{[]byte("SREM"), key, m}}
	c.Bulk(m)
	if s.Len() == 0 {
		c.deleteKey(key)
		c.notify(NotifyGeneric, "del", key)
	}
	c.modified(key)
	c.Dirty++
}

func spopWithCount(c *Ctx) {
	l, ok := c.positiveLong(c.Args[2], "")
	if !ok {
		return
	}
	key := c.Args[1]
	s, ok := c.setWrite(key)
	if !ok {
		return
	}
	if s == nil || l == 0 {
		c.EmptySet()
		return
	}
	size := int64(s.Len())
	c.notify(NotifySet, "spop", key)
	if l >= size {
		c.Dirty += size
		c.SetLen(int(size))
		s.Range(func(m types.Str) bool { c.BulkStr(m); return true })
		c.deleteKey(key)
		c.notify(NotifyGeneric, "del", key)
		c.Rewritten = [][][]byte{{[]byte("DEL"), key}}
		return
	}
	c.Dirty += l
	c.SetLen(int(l))
	// Replicas get the popped members as SREMs, 1024 per command as Redis
	// batches them.
	var batch [][]byte
	for i := int64(0); i < l; i++ {
		m := s.Pop(c.rand())
		c.Bulk(m)
		if batch == nil {
			batch = [][]byte{[]byte("SREM"), key}
		}
		batch = append(batch, m)
		if len(batch) == 2+1024 {
			c.Rewritten = append(c.Rewritten, batch)
			batch = nil
		}
	}
	if batch != nil {
		c.Rewritten = append(c.Rewritten, batch)
	}
	c.modified(key)
}

func srandmemberCommand(c *Ctx) {
	if len(c.Args) == 3 {
		srandmemberWithCount(c)
		return
	}
	if len(c.Args) > 3 {
		c.Err(ErrSyntax)
		return
	}
	s, ok := c.setRead(c.Args[1])
	if !ok {
		return
	}
	if s == nil {
		c.Null()
		return
	}
	c.BulkStr(s.Random(c.rand()))
}

func srandmemberWithCount(c *Ctx) {
	l, ok := c.rangeLong(c.Args[2], -math.MaxInt64, math.MaxInt64)
	if !ok {
		return
	}
	count, uniq := l, true
	if l < 0 {
		count, uniq = -l, false
	}
	s, ok := c.setRead(c.Args[1])
	if !ok {
		return
	}
	if s == nil || count == 0 {
		c.EmptyArray()
		return
	}
	size := s.Len()
	if !uniq || count == 1 {
		c.ArrayLen(int(count))
		for i := int64(0); i < count; i++ {
			c.BulkStr(s.Random(c.rand()))
		}
		return
	}
	if count >= int64(size) {
		c.ArrayLen(size)
		s.Range(func(m types.Str) bool { c.BulkStr(m); return true })
		return
	}
	c.ArrayLen(int(count))
	for _, i := range sampleDistinct(c, size, int(count)) {
		c.BulkStr(s.At(i))
	}
}

// setsOf looks keys up for a multi-set operation: nil for a missing key.
// ok is false after a WRONGTYPE reply.
func (c *Ctx) setsOf(keys [][]byte) ([]*types.Set, bool) {
	sets := make([]*types.Set, len(keys))
	for i, k := range keys {
		s, ok := c.setRead(k)
		if !ok {
			return nil, false
		}
		sets[i] = s
	}
	return sets, true
}

// storeSet stores a set operation's result under dst (or deletes dst when
// the result is empty), as Redis's *STORE commands do.
func (c *Ctx) storeSet(dst []byte, result *types.Set, event string) {
	if result.Len() > 0 {
		c.setKey(dst, types.SetValue(result), false)
		c.Int(int64(result.Len()))
		c.notify(NotifySet, event, dst)
		c.Dirty++
		return
	}
	c.Int(0)
	c.deleteEmptyResult(dst)
}

// sinterGeneric is sinterGenericCommand: SINTER, SMEMBERS, SINTERSTORE and
// SINTERCARD (cardOnly, with limit).
func sinterGeneric(c *Ctx, keys [][]byte, dst []byte, cardOnly bool, limit int64) {
	sets, ok := c.setsOf(keys)
	if !ok {
		return
	}
	for _, s := range sets {
		if s == nil {
			switch {
			case dst != nil:
				c.deleteEmptyResult(dst)
				c.Int(0)
			case cardOnly:
				c.Int(0)
			default:
				c.EmptySet()
			}
			return
		}
	}
	sort.SliceStable(sets, func(i, j int) bool { return sets[i].Len() < sets[j].Len() })
	var result *types.Set
	var body []byte
	var card int64
	if dst != nil {
		result = types.NewIntset()
	}
	lim := c.limits()
	var tmp [24]byte
	sets[0].Range(func(m types.Str) bool {
		for _, o := range sets[1:] {
			if o != sets[0] && !o.HasStr(m) {
				return true
			}
		}
		switch {
		case cardOnly:
			card++
			if limit > 0 && card >= limit {
				return false
			}
		case dst == nil:
			if m.IsInt {
				body = resp.AppendBulkInt(body, m.Int)
			} else {
				body = resp.AppendBulk(body, m.Str)
			}
			card++
		default:
			result.Add(types.Bytes(m, tmp[:0]), lim)
		}
		return true
	})
	switch {
	case cardOnly:
		c.Int(card)
	case dst != nil:
		c.storeSet(dst, result, "sinterstore")
	default:
		c.SetLen(int(card))
		c.Out = append(c.Out, body...)
	}
}

func sintercardCommand(c *Ctx) {
	numkeys, ok := c.rangeLongMsg(c.Args[1], 1, math.MaxInt64, "numkeys should be greater than 0")
	if !ok {
		return
	}
	if numkeys > int64(len(c.Args)-2) {
		c.Err("ERR Number of keys can't be greater than number of args")
		return
	}
	var limit int64
	for j := 2 + int(numkeys); j < len(c.Args); j++ {
		if eq(c.Args[j], "limit") && j+1 < len(c.Args) {
			j++
			if limit, ok = c.positiveLong(c.Args[j], "LIMIT can't be negative"); !ok {
				return
			}
			continue
		}
		c.Err(ErrSyntax)
		return
	}
	sinterGeneric(c, c.Args[2:2+numkeys], nil, true, limit)
}

// rangeLongMsg is getRangeLongFromObjectOrReply with a custom message.
func (c *Ctx) rangeLongMsg(arg []byte, lo, hi int64, msg string) (int64, bool) {
	n, ok := rconv.ParseInt(arg)
	if !ok || n < lo || n > hi {
		c.Err("ERR " + msg)
		return 0, false
	}
	return n, true
}

// sunionDiffGeneric is sunionDiffGenericCommand.
func sunionDiffGeneric(c *Ctx, keys [][]byte, dst []byte, diff bool) {
	sets, ok := c.setsOf(keys)
	if !ok {
		return
	}
	sameSet := false
	for j := 1; j < len(sets); j++ {
		if sets[0] != nil && sets[j] == sets[0] {
			sameSet = true
		}
	}
	algo := 1
	if diff && sets[0] != nil && !sameSet {
		var one, two int64
		for _, s := range sets {
			if s == nil {
				continue
			}
			one += int64(sets[0].Len())
			two += int64(s.Len())
		}
		one /= 2
		if one > two {
			algo = 2
		}
		if algo == 1 && len(sets) > 1 {
			rest := sets[1:]
			sort.SliceStable(rest, func(i, j int) bool { return setLen(rest[i]) > setLen(rest[j]) })
		}
	}
	result := types.NewIntset()
	lim := c.limits()
	var tmp [24]byte
	switch {
	case !diff:
		for _, s := range sets {
			if s == nil {
				continue
			}
			s.Range(func(m types.Str) bool { result.Add(types.Bytes(m, tmp[:0]), lim); return true })
		}
	case sameSet || sets[0] == nil:
	case algo == 1:
		sets[0].Range(func(m types.Str) bool {
			for _, o := range sets[1:] {
				if o == nil {
					continue
				}
				if o == sets[0] || o.HasStr(m) {
					return true
				}
			}
			result.Add(types.Bytes(m, tmp[:0]), lim)
			return true
		})
	default:
		for j, s := range sets {
			if s == nil {
				continue
			}
			s.Range(func(m types.Str) bool {
				if j == 0 {
					result.Add(types.Bytes(m, tmp[:0]), lim)
				} else {
					result.Remove(types.Bytes(m, tmp[:0]))
				}
				return true
			})
			if result.Len() == 0 {
				break
			}
		}
	}
	if dst == nil {
		c.SetLen(result.Len())
		result.Range(func(m types.Str) bool { c.BulkStr(m); return true })
		return
	}
	event := "sunionstore"
	if diff {
		event = "sdiffstore"
	}
	c.storeSet(dst, result, event)
}

func setLen(s *types.Set) int {
	if s == nil {
		return 0
	}
	return s.Len()
}

func sscanCommand(c *Ctx) {
	cursor, ok := c.scanCursor(c.Args[2])
	if !ok {
		return
	}
	s, ok := c.setRead(c.Args[1])
	if !ok {
		return
	}
	if s == nil {
		c.scanReply(0, nil)
		return
	}
	pattern, count, ok := c.scanOptions(3)
	if !ok {
		return
	}
	var items [][]byte
	next := s.Scan(cursor, count, func(m types.Str) {
		if matchStr(pattern, m) {
			items = append(items, types.Copy(m))
		}
	})
	c.scanReply(next, items)
}
