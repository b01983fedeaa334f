package command

import (
	"math"
	"strconv"

	"github.com/reefkv/reef/internal/keyspace"
	"github.com/reefkv/reef/internal/rconv"
	"github.com/reefkv/reef/internal/types"
)

// listCommands returns the handlers of the list family (Redis's t_list.c),
// blocking variants included.
func listCommands() map[string]Handler {
	return map[string]Handler{
		"lpush":      func(c *Ctx) { pushGeneric(c, true, false) },
		"rpush":      func(c *Ctx) { pushGeneric(c, false, false) },
		"lpushx":     func(c *Ctx) { pushGeneric(c, true, true) },
		"rpushx":     func(c *Ctx) { pushGeneric(c, false, true) },
		"lpop":       func(c *Ctx) { popGeneric(c, true) },
		"rpop":       func(c *Ctx) { popGeneric(c, false) },
		"llen":       llenCommand,
		"lrange":     lrangeCommand,
		"lindex":     lindexCommand,
		"lset":       lsetCommand,
		"linsert":    linsertCommand,
		"lrem":       lremCommand,
		"ltrim":      ltrimCommand,
		"lpos":       lposCommand,
		"lmove":      lmoveCommand,
		"rpoplpush":  func(c *Ctx) { lmoveGeneric(c, false, true) },
		"lmpop":      func(c *Ctx) { lmpopGeneric(c, 1, false) },
		"blpop":      func(c *Ctx) { blockingPop(c, c.Args[1:len(c.Args)-1], true, len(c.Args)-1, -1) },
		"brpop":      func(c *Ctx) { blockingPop(c, c.Args[1:len(c.Args)-1], false, len(c.Args)-1, -1) },
		"blmove":     blmoveCommand,
		"brpoplpush": brpoplpushCommand,
		"blmpop":     func(c *Ctx) { lmpopGeneric(c, 2, true) },
	}
}

// listRead looks key up for reading.
func (c *Ctx) listRead(key []byte) (*types.List, bool) {
	v, ok := c.lookupReadType(key, keyspace.TypeList)
	if v == nil {
		return nil, ok
	}
	return types.ListOf(v), true
}

// listWrite looks key up for writing.
func (c *Ctx) listWrite(key []byte) (*types.List, bool) {
	v, ok := c.lookupWriteType(key, keyspace.TypeList)
	if v == nil {
		return nil, ok
	}
	return types.ListOf(v), true
}

// newList creates an empty list under key (dbAdd: wakes blocked clients).
func (c *Ctx) newList(key []byte) *types.List {
	l := types.NewList(c.Cfg.ListMaxListpackSize)
	c.dbAdd(key, types.ListValue(l))
	return l
}

func pushGeneric(c *Ctx, head, xx bool) {
	key := c.Args[1]
	l, ok := c.listWrite(key)
	if !ok {
		return
	}
	if l == nil {
		if xx {
			c.Int(0)
			return
		}
		l = c.newList(key)
	}
	for _, v := range c.Args[2:] {
		l.Push(v, head)
	}
	c.Dirty += int64(len(c.Args) - 2)
	c.Int(int64(l.Len()))
	c.modified(key)
	c.keyReady(key)
	if head {
		c.notify(NotifyList, "lpush", key)
	} else {
		c.notify(NotifyList, "rpush", key)
	}
}

// keyReady tells the server that key may now serve blocked clients.
func (c *Ctx) keyReady(key []byte) { c.Env.KeyReady(c.DB, key) }

// positiveLong is getPositiveLongFromObjectOrReply.
// Like Redis, the message replaces the parse error too.
func (c *Ctx) positiveLong(arg []byte, msg string) (int64, bool) {
	if msg == "" {
		msg = "value is out of range, must be positive"
	}
	n, ok := rconv.ParseInt(arg)
	if !ok || n < 0 {
		c.Err("ERR " + msg)
		return 0, false
	}
	return n, true
}

// listElementsRemoved does the bookkeeping after pops: notification,
// deleting the emptied key, WATCH, dirty. It reports whether the key went.
func (c *Ctx) listElementsRemoved(key []byte, head bool, l *types.List, count int) bool {
	if head {
		c.notify(NotifyList, "lpop", key)
	} else {
		c.notify(NotifyList, "rpop", key)
	}
	deleted := false
	if l.Len() == 0 {
		deleted = true
		c.deleteKey(key)
		c.notify(NotifyGeneric, "del", key)
	}
	c.modified(key)
	c.Dirty += int64(count)
	return deleted
}

func popGeneric(c *Ctx, head bool) {
	if len(c.Args) > 3 {
		c.Err(ErrArity(c.Spec.FullName()))
		return
	}
	hasCount := len(c.Args) == 3
	var count int64
	if hasCount {
		var ok bool
		if count, ok = c.positiveLong(c.Args[2], ""); !ok {
			return
		}
	}
	key := c.Args[1]
	l, ok := c.listWrite(key)
	if !ok {
		return
	}
	if l == nil {
		if hasCount {
			c.NullArray()
		} else {
			c.Null()
		}
		return
	}
	if hasCount && count == 0 {
		c.EmptyArray()
		return
	}
	if !hasCount {
		c.Bulk(l.Pop(head))
		c.listElementsRemoved(key, head, l, 1)
		return
	}
	n := c.popRangeReply(l, head, count)
	c.listElementsRemoved(key, head, l, n)
}

// popRangeReply replies up to count elements from one end as an array and
// removes them; it returns how many.
func (c *Ctx) popRangeReply(l *types.List, head bool, count int64) int {
	n := int(min(count, int64(l.Len())))
	c.ArrayLen(n)
	if head {
		l.Walk(0, false, func(i int, e types.Str) bool { c.BulkStr(e); return i+1 < n })
		l.DeleteRange(0, n)
	} else {
		l.Walk(l.Len()-1, true, func(i int, e types.Str) bool { c.BulkStr(e); return l.Len()-i < n })
		l.DeleteRange(l.Len()-n, n)
	}
	return n
}

func llenCommand(c *Ctx) {
	l, ok := c.listRead(c.Args[1])
	if !ok {
		return
	}
	if l == nil {
		c.Int(0)
		return
	}
	c.Int(int64(l.Len()))
}

// listRangeReply is addListRangeReply.
func (c *Ctx) listRangeReply(l *types.List, start, end int64) {
	n := int64(l.Len())
	if start < 0 {
		start += n
	}
	if end < 0 {
		end += n
	}
	if start < 0 {
		start = 0
	}
	if start > end || start >= n {
		c.EmptyArray()
		return
	}
	if end >= n {
		end = n - 1
	}
	c.ArrayLen(int(end - start + 1))
	l.Walk(int(start), false, func(i int, e types.Str) bool {
		c.BulkStr(e)
		return int64(i) < end
	})
}

func lrangeCommand(c *Ctx) {
	start, ok1 := rconv.ParseInt(c.Args[2])
	end, ok2 := rconv.ParseInt(c.Args[3])
	if !ok1 || !ok2 {
		c.Err(ErrNotInt)
		return
	}
	l, ok := c.listRead(c.Args[1])
	if !ok {
		return
	}
	if l == nil {
		c.EmptyArray()
		return
	}
	c.listRangeReply(l, start, end)
}

func lindexCommand(c *Ctx) {
	l, ok := c.listRead(c.Args[1])
	if !ok {
		return
	}
	if l == nil {
		c.Null()
		return
	}
	i, ok := rconv.ParseInt(c.Args[2])
	if !ok {
		c.Err(ErrNotInt)
		return
	}
	e, ok := l.Index(int(i))
	if !ok {
		c.Null()
		return
	}
	c.BulkStr(e)
}

func lsetCommand(c *Ctx) {
	key := c.Args[1]
	v, ok := c.lookupWriteType(key, keyspace.TypeList)
	if !ok {
		return
	}
	if v == nil {
		c.Err(ErrNoSuchKey)
		return
	}
	i, ok := rconv.ParseInt(c.Args[2])
	if !ok {
		c.Err(ErrNotInt)
		return
	}
	if !types.ListOf(v).Set(int(i), c.Args[3]) {
		c.Err(ErrOutOfRange)
		return
	}
	c.OK()
	c.modified(key)
	c.notify(NotifyList, "lset", key)
	c.Dirty++
}

func linsertCommand(c *Ctx) {
	var after bool
	switch {
	case eq(c.Args[2], "after"):
		after = true
	case eq(c.Args[2], "before"):
	default:
		c.Err(ErrSyntax)
		return
	}
	key := c.Args[1]
	l, ok := c.listWrite(key)
	if !ok {
		return
	}
	if l == nil {
		c.Int(0)
		return
	}
	if !l.Insert(c.Args[3], c.Args[4], after) {
		c.Int(-1)
		return
	}
	c.modified(key)
	c.notify(NotifyList, "linsert", key)
	c.Dirty++
	c.Int(int64(l.Len()))
}

func lremCommand(c *Ctx) {
	n, ok := rconv.ParseInt(c.Args[2])
	if !ok {
		c.Err(ErrNotInt)
		return
	}
	key := c.Args[1]
	l, ok := c.listWrite(key)
	if !ok {
		return
	}
	if l == nil {
		c.Int(0)
		return
	}
	removed := l.Rem(c.Args[3], int(n))
	if removed > 0 {
		c.notify(NotifyList, "lrem", key)
	}
	if l.Len() == 0 {
		c.deleteKey(key)
		c.notify(NotifyGeneric, "del", key)
	}
	if removed > 0 {
		c.modified(key)
		c.Dirty += int64(removed)
	}
	c.Int(int64(removed))
}

func ltrimCommand(c *Ctx) {
	start, ok1 := rconv.ParseInt(c.Args[2])
	end, ok2 := rconv.ParseInt(c.Args[3])
	if !ok1 || !ok2 {
		c.Err(ErrNotInt)
		return
	}
	key := c.Args[1]
	l, ok := c.listWrite(key)
	if !ok {
		return
	}
	if l == nil {
		c.OK()
		return
	}
	n := int64(l.Len())
	if start < 0 {
		start += n
	}
	if end < 0 {
		end += n
	}
	if start < 0 {
		start = 0
	}
	var ltrim, rtrim int64
	if start > end || start >= n {
		ltrim, rtrim = n, 0
	} else {
		if end >= n {
			end = n - 1
		}
		ltrim, rtrim = start, n-end-1
	}
	l.DeleteRange(0, int(ltrim))
	l.DeleteRange(l.Len()-int(rtrim), int(rtrim))
	c.notify(NotifyList, "ltrim", key)
	if l.Len() == 0 {
		c.deleteKey(key)
		c.notify(NotifyGeneric, "del", key)
	}
	c.modified(key)
	c.Dirty += ltrim + rtrim
	c.OK()
}

func lposCommand(c *Ctx) {
	rank, count, maxlen := int64(1), int64(-1), int64(0)
	for j := 3; j < len(c.Args); j++ {
		more := len(c.Args) - 1 - j
		switch {
		case eq(c.Args[j], "rank") && more > 0:
			j++
			n, ok := rconv.ParseInt(c.Args[j])
			if !ok {
				c.Err(ErrNotInt)
				return
			}
			if n == 0 {
				c.Err("ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list")
				return
			}
			rank = n
		case eq(c.Args[j], "count") && more > 0:
			j++
			n, ok := c.positiveLong(c.Args[j], "COUNT can't be negative")
			if !ok {
				return
			}
			count = n
		case eq(c.Args[j], "maxlen") && more > 0:
			j++
			n, ok := c.positiveLong(c.Args[j], "MAXLEN can't be negative")
			if !ok {
				return
			}
			maxlen = n
		default:
			c.Err(ErrSyntax)
			return
		}
	}
	fromTail := false
	if rank < 0 {
		rank = -rank // -MinInt64 stays negative, as in C
		fromTail = true
	}
	l, ok := c.listRead(c.Args[1])
	if !ok {
		return
	}
	if l == nil {
		if count != -1 {
			c.EmptyArray()
		} else {
			c.Null()
		}
		return
	}
	elem := c.Args[2]
	n := int64(l.Len())
	var found []int64
	matchIndex := int64(-1)
	var index, matches int64
	start := 0
	if fromTail {
		start = l.Len() - 1
	}
	l.Walk(start, fromTail, func(i int, e types.Str) bool {
		if maxlen != 0 && index >= maxlen {
			return false
		}
		if e.Equal(elem) {
			matches++
			if fromTail {
				matchIndex = n - index - 1
			} else {
				matchIndex = index
			}
			if matches >= rank {
				if count == -1 {
					return false
				}
				found = append(found, matchIndex)
				if count != 0 && matches-rank+1 >= count {
					return false
				}
			}
		}
		index++
		matchIndex = -1
		return true
	})
	if count != -1 {
		c.ArrayLen(len(found))
		for _, i := range found {
			c.Int(i)
		}
		return
	}
	if matchIndex != -1 {
		c.Int(matchIndex)
	} else {
		c.Null()
	}
}

// listSide parses LEFT or RIGHT (getListPositionFromObjectOrReply); true
// is LEFT (the head).
func (c *Ctx) listSide(arg []byte) (head, ok bool) {
	switch {
	case eq(arg, "left"):
		return true, true
	case eq(arg, "right"):
		return false, true
	}
	c.Err(ErrSyntax)
	return false, false
}

func lmoveCommand(c *Ctx) {
	from, ok := c.listSide(c.Args[3])
	if !ok {
		return
	}
	to, ok := c.listSide(c.Args[4])
	if !ok {
		return
	}
	lmoveGeneric(c, from, to)
}

// lmoveGeneric is lmoveGenericCommand: pop from the source's from end,
// push to the destination's to end.
func lmoveGeneric(c *Ctx, fromHead, toHead bool) {
	src, dst := c.Args[1], c.Args[2]
	l, ok := c.listWrite(src)
	if !ok {
		return
	}
	if l == nil {
		c.Null()
		return
	}
	lmoveServe(c, l, src, dst, fromHead, toHead)
}

// lmoveServe moves one element from list l at src to dst and replies it.
// It is also how a client blocked in BLMOVE is served.
func lmoveServe(c *Ctx, l *types.List, src, dst []byte, fromHead, toHead bool) {
	dl, ok := c.listWrite(dst)
	if !ok {
		return
	}
	v := l.Pop(fromHead)
	if dl == nil {
		dl = c.newList(dst)
	}
	c.modified(dst)
	dl.Push(v, toHead)
	c.keyReady(dst)
	if toHead {
		c.notify(NotifyList, "lpush", dst)
	} else {
		c.notify(NotifyList, "rpush", dst)
	}
	c.Bulk(v)
	if fromHead {
		c.notify(NotifyList, "lpop", src)
	} else {
		c.notify(NotifyList, "rpop", src)
	}
	if l.Len() == 0 {
		c.deleteKey(src)
		c.notify(NotifyGeneric, "del", src)
	}
	c.modified(src)
	c.Dirty++
}

// sideName is the LEFT/RIGHT argument of a propagated LMOVE.
func sideName(head bool) []byte {
	if head {
		return []byte("LEFT")
	}
	return []byte("RIGHT")
}

func blmoveCommand(c *Ctx) {
	from, ok := c.listSide(c.Args[3])
	if !ok {
		return
	}
	to, ok := c.listSide(c.Args[4])
	if !ok {
		return
	}
	deadline, ok := c.parseTimeout(c.Args[5])
	if !ok {
		return
	}
	blmoveGeneric(c, from, to, deadline)
}

func brpoplpushCommand(c *Ctx) {
	deadline, ok := c.parseTimeout(c.Args[3])
	if !ok {
		return
	}
	blmoveGeneric(c, false, true, deadline)
}

func blmoveGeneric(c *Ctx, fromHead, toHead bool, deadline int64) {
	src, dst := c.Args[1], c.Args[2]
	l, ok := c.listWrite(src)
	if !ok {
		return
	}
	if l != nil {
		lmoveServe(c, l, src, dst, fromHead, toHead)
		if !c.Failed {
			c.Rewritten = [][][]byte{{[]byte("LMOVE"), src, dst, sideName(fromHead), sideName(toHead)}}
		}
		return
	}
	req := &BlockRequest{Keys: [][]byte{src}, Type: keyspace.TypeList, Deadline: deadline, Dst: dst}
	req.Serve = func(c *Ctx, key []byte) {
		d := req.Dst // the copy block made
		lmoveServe(c, types.ListOf(c.lookupWrite(key)), key, d, fromHead, toHead)
		if !c.Failed {
			c.Rewritten = [][][]byte{{[]byte("LMOVE"), key, d, sideName(fromHead), sideName(toHead)}}
		}
	}
	c.block(req, c.Null)
}

// mpopWhere parses the numkeys argument of LMPOP, ZMPOP and their blocking
// forms and returns the index of the word after the keys (LEFT|RIGHT,
// MIN|MAX), which the caller parses before mpopCount reads what follows it:
// Redis reports errors in that order.
func (c *Ctx) mpopWhere(numkeysIdx int) (int, bool) {
	numkeys, ok := c.rangeLongMsg(c.Args[numkeysIdx], 1, math.MaxInt64, "numkeys should be greater than 0")
	if !ok {
		return 0, false
	}
	whereIdx := int64(numkeysIdx) + numkeys + 1
	if whereIdx >= int64(len(c.Args)) {
		c.Err(ErrSyntax)
		return 0, false
	}
	return int(whereIdx), true
}

// mpopCount parses the optional COUNT n after the *MPOP side word at
// whereIdx (1 when absent); anything else, or COUNT twice, is a syntax error.
func (c *Ctx) mpopCount(whereIdx int) (int64, bool) {
	count := int64(-1)
	for j := whereIdx + 1; j < len(c.Args); j++ {
		if count == -1 && eq(c.Args[j], "count") && j+1 < len(c.Args) {
			j++
			n, ok := c.rangeLongMsg(c.Args[j], 1, math.MaxInt64, "count should be greater than 0")
			if !ok {
				return 0, false
			}
			count = n
			continue
		}
		c.Err(ErrSyntax)
		return 0, false
	}
	if count == -1 {
		count = 1
	}
	return count, true
}

// lmpopGeneric is lmpopGenericCommand for LMPOP (numkeys at 1) and BLMPOP
// (timeout at 1, numkeys at 2).
func lmpopGeneric(c *Ctx, numkeysIdx int, blocking bool) {
	whereIdx, ok := c.mpopWhere(numkeysIdx)
	if !ok {
		return
	}
	head, ok := c.listSide(c.Args[whereIdx])
	if !ok {
		return
	}
	count, ok := c.mpopCount(whereIdx)
	if !ok {
		return
	}
	keys := c.Args[numkeysIdx+1 : whereIdx]
	if blocking {
		deadline, ok := c.parseTimeout(c.Args[1])
		if !ok {
			return
		}
		blockingPopDeadline(c, keys, head, deadline, count)
		return
	}
	for _, key := range keys {
		l, ok := c.listWrite(key)
		if !ok {
			return
		}
		if l == nil {
			continue
		}
		c.listPopWithKey(l, key, head, count)
		return
	}
	c.NullArray()
}

// listPopWithKey is listPopRangeAndReplyWithKey: [key, [elements]].
func (c *Ctx) listPopWithKey(l *types.List, key []byte, head bool, count int64) {
	c.ArrayLen(2)
	c.Bulk(key)
	n := c.popRangeReply(l, head, count)
	c.listElementsRemoved(key, head, l, n)
	c.Rewritten = [][][]byte{{popName(head), key, strconv.AppendInt(nil, int64(n), 10)}}
}

func popName(head bool) []byte {
	if head {
		return []byte("LPOP")
	}
	return []byte("RPOP")
}

// blockingPop is BLPOP/BRPOP (count -1) with the timeout at timeoutIdx.
func blockingPop(c *Ctx, keys [][]byte, head bool, timeoutIdx int, count int64) {
	deadline, ok := c.parseTimeout(c.Args[timeoutIdx])
	if !ok {
		return
	}
	blockingPopDeadline(c, keys, head, deadline, count)
}

// blockingPopDeadline is blockingPopGenericCommand after the timeout was
// parsed.
func blockingPopDeadline(c *Ctx, keys [][]byte, head bool, deadline, count int64) {
	for _, key := range keys {
		l, ok := c.listWrite(key)
		if !ok {
			return
		}
		if l == nil {
			continue
		}
		listServe(c, l, key, head, count)
		return
	}
	c.block(&BlockRequest{
		Keys: keys, Type: keyspace.TypeList, Deadline: deadline,
		Serve: func(c *Ctx, key []byte) {
			listServe(c, types.ListOf(c.lookupWrite(key)), key, head, count)
		},
	}, nil)
}

// listServe pops for BLPOP/BRPOP (count -1) or BLMPOP from a non-empty list.
func listServe(c *Ctx, l *types.List, key []byte, head bool, count int64) {
	if count != -1 {
		c.listPopWithKey(l, key, head, count)
		return
	}
	v := l.Pop(head)
	c.ArrayLen(2)
	c.Bulk(key)
	c.Bulk(v)
	c.listElementsRemoved(key, head, l, 1)
	c.Rewritten = [][][]byte{{popName(head), key}}
}
