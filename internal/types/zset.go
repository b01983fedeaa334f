package types

import (
	"math"
	"math/rand/v2"

	"github.com/reefkv/reef/internal/dict"
	"github.com/reefkv/reef/internal/encoding/listpack"
	"github.com/reefkv/reef/internal/encoding/redisnum"
	"github.com/reefkv/reef/internal/keyspace"
)

// ZSet is a sorted set: a listpack of member, score pairs in order while
// small (OBJ_ENCODING_LISTPACK); past zset-max-listpack-entries members or
// zset-max-listpack-value bytes in a member, a dict from member to score
// plus an ordered zlist (OBJ_ENCODING_SKIPLIST).
type ZSet struct {
	lp []byte
	d  *dict.Dict[float64]
	zl *zlist
}

// NewZSetListpack returns an empty listpack-encoded sorted set.
func NewZSetListpack() *ZSet { return &ZSet{lp: listpack.New()} }

// NewZSetSkiplist returns an empty skiplist-encoded sorted set.
func NewZSetSkiplist() *ZSet { return &ZSet{d: &dict.Dict[float64]{}, zl: &zlist{}} }

// NewZSetFor returns an empty sorted set with the encoding Redis 7.0's ZADD
// creates for a first member of length firstLen.
func NewZSetFor(firstLen int, lim *Limits) *ZSet {
	if lim.ZSetMaxListpackEntries == 0 || lim.ZSetMaxListpackValue < firstLen {
		return NewZSetSkiplist()
	}
	return NewZSetListpack()
}

// NewZSetFromListpack adopts lp, a valid zset listpack in order.
func NewZSetFromListpack(lp []byte) *ZSet { return &ZSet{lp: lp} }

// Encoding returns the OBJECT ENCODING of z.
func (z *ZSet) Encoding() keyspace.Encoding {
	if z.d != nil {
		return keyspace.EncSkiplist
	}
	return keyspace.EncListpack
}

// Listpack returns the listpack of a listpack-encoded zset, or nil.
func (z *ZSet) Listpack() []byte {
	if z.d != nil {
		return nil
	}
	return z.lp
}

// Len returns the number of members.
func (z *ZSet) Len() int {
	if z.d != nil {
		return z.d.Len()
	}
	return listpack.Len(z.lp) / 2
}

// lpScore decodes a listpack score entry.
func lpScore(e Str) float64 {
	if e.IsInt {
		return float64(e.Int)
	}
	f, _ := redisnum.ParseScore(e.Str)
	return f
}

// lpFind returns the position of member in the listpack and its score, or
// -1.
func (z *ZSet) lpFind(member []byte) (int, float64) {
	p := listpack.First(z.lp)
	if p < 0 {
		return -1, 0
	}
	p = listpack.Find(z.lp, p, member, 1)
	if p < 0 {
		return -1, 0
	}
	return p, lpScore(listpack.Get(z.lp, listpack.Next(z.lp, p)))
}

// Score returns member's score.
func (z *ZSet) Score(member []byte) (float64, bool) {
	if z.d != nil {
		p := z.d.GetBytes(member)
		if p == nil {
			return 0, false
		}
		return *p, true
	}
	p, s := z.lpFind(member)
	return s, p >= 0
}

// insertScore inserts a score entry before position p.
func insertScore(lp []byte, p int, score float64) []byte {
	if v, ok := redisnum.ScoreToInt(score); ok {
		return listpack.InsertInt(lp, p, v)
	}
	var buf [32]byte
	return listpack.Insert(lp, p, redisnum.AppendScore(buf[:0], score))
}

// lpInsert inserts member with score at its place in the order
// (zzlInsert).
func (z *ZSet) lpInsert(member []byte, score float64) {
	p := listpack.First(z.lp)
	for p >= 0 {
		sp := listpack.Next(z.lp, p)
		s := lpScore(listpack.Get(z.lp, sp))
		if s > score || (s == score && compareStr(listpack.Get(z.lp, p), member) > 0) {
			break
		}
		p = listpack.Next(z.lp, sp)
	}
	if p < 0 {
		p = len(z.lp) - 1
	}
	// Insert the score, then the member before it.
	z.lp = insertScore(z.lp, p, score)
	z.lp = listpack.Insert(z.lp, p, member)
}

// compareStr compares an element with b as Redis compares sds strings.
func compareStr(e Str, b []byte) int {
	if e.IsInt {
		var tmp [24]byte
		return compareBytes(Bytes(e, tmp[:0]), b)
	}
	return compareBytes(e.Str, b)
}

func compareBytes(a, b []byte) int {
	as, bs := bstr(a), bstr(b)
	switch {
	case as < bs:
		return -1
	case as > bs:
		return 1
	}
	return 0
}

// ZADD input flags.
const (
	ZAddIncr = 1 << iota
	ZAddNX
	ZAddXX
	ZAddGT
	ZAddLT
)

// ZADD output flags.
const (
	ZAddOutNop = 1 << iota
	ZAddOutNaN
	ZAddOutAdded
	ZAddOutUpdated
)

// Add is Redis's zsetAdd: it adds or updates member under the NX/XX/GT/LT/
// INCR rules of in, converting to a skiplist at the limits. It returns the
// ZAddOut* flags and the member's score after the call. ok is false only
// when the result would be NaN.
func (z *ZSet) Add(member []byte, score float64, in int, lim *Limits) (out int, newScore float64, ok bool) {
	incr, nx, xx := in&ZAddIncr != 0, in&ZAddNX != 0, in&ZAddXX != 0
	gt, lt := in&ZAddGT != 0, in&ZAddLT != 0
	if math.IsNaN(score) {
		return ZAddOutNaN, 0, false
	}
	cur, exists := z.Score(member)
	if exists {
		if nx {
			return ZAddOutNop, cur, true
		}
		if incr {
			score += cur
			if math.IsNaN(score) {
				return ZAddOutNaN, 0, false
			}
		}
		if (lt && score >= cur) || (gt && score <= cur) {
			return ZAddOutNop, cur, true
		}
		if score != cur {
			z.update(member, cur, score)
			return ZAddOutUpdated, score, true
		}
		return 0, score, true
	}
	if xx {
		return ZAddOutNop, 0, true
	}
	if z.d == nil {
		if z.Len()+1 > lim.ZSetMaxListpackEntries || len(member) > lim.ZSetMaxListpackValue ||
			!listpack.SafeToAdd(z.lp, len(member)) {
			z.convert()
		} else {
			z.lpInsert(member, score)
			return ZAddOutAdded, score, true
		}
	}
	m := string(member)
	z.d.Set(m, score)
	z.zl.insert(zitem{m, score})
	return ZAddOutAdded, score, true
}

// update moves an existing member from score cur to score.
func (z *ZSet) update(member []byte, cur, score float64) {
	if z.d == nil {
		p, _ := z.lpFind(member)
		z.lp, _ = listpack.DeleteRange(z.lp, p, 2)
		z.lpInsert(member, score)
		return
	}
	e := z.d.GetEntry(bstr(member))
	z.zl.remove(e.Key, cur)
	e.Val = score
	z.zl.insert(zitem{e.Key, score})
}

// convert turns a listpack zset into a skiplist one.
func (z *ZSet) convert() {
	d := &dict.Dict[float64]{}
	zl := &zlist{}
	items := make([]zitem, 0, z.Len())
	for p := listpack.First(z.lp); p >= 0; {
		m := String(listpack.Get(z.lp, p))
		p = listpack.Next(z.lp, p)
		s := lpScore(listpack.Get(z.lp, p))
		p = listpack.Next(z.lp, p)
		d.Set(m, s)
		items = append(items, zitem{m, s})
	}
	zl.load(items)
	z.lp, z.d, z.zl = nil, d, zl
}

// load fills an empty zlist with items already in order.
func (l *zlist) load(items []zitem) {
	for len(items) > 0 {
		k := min(len(items), zChunkMax*3/4)
		c := make([]zitem, k, zChunkMax)
		copy(c, items[:k])
		l.chunks = append(l.chunks, c)
		items = items[k:]
		l.n += k
	}
	l.rebuild()
}

// Remove deletes member and reports whether it was present.
func (z *ZSet) Remove(member []byte) bool {
	if z.d == nil {
		p, _ := z.lpFind(member)
		if p < 0 {
			return false
		}
		z.lp, _ = listpack.DeleteRange(z.lp, p, 2)
		return true
	}
	e := z.d.GetEntry(bstr(member))
	if e == nil {
		return false
	}
	z.zl.remove(e.Key, e.Val)
	z.d.Delete(e.Key)
	return true
}

// Rank returns member's 0-based rank (from the highest score when reverse)
// and score.
func (z *ZSet) Rank(member []byte, reverse bool) (rank int, score float64, ok bool) {
	n := z.Len()
	if z.d == nil {
		r := 0
		for p := listpack.First(z.lp); p >= 0; r++ {
			e := listpack.Get(z.lp, p)
			p = listpack.Next(z.lp, p)
			if e.Equal(member) {
				score = lpScore(listpack.Get(z.lp, p))
				ok = true
				break
			}
			p = listpack.Next(z.lp, p)
		}
		rank = r
	} else {
		e := z.d.GetEntry(bstr(member))
		if e == nil {
			return 0, 0, false
		}
		t := zitem{e.Key, e.Val}
		rank = z.zl.search(func(x *zitem) bool { return !zless(x, &t) })
		score, ok = e.Val, true
	}
	if !ok {
		return 0, 0, false
	}
	if reverse {
		rank = n - 1 - rank
	}
	return rank, score, true
}

// Search returns the rank of the first element (in ascending order) for
// which ge returns true; ge must be false for a prefix of the order and true
// after it. It returns Len when there is none.
func (z *ZSet) Search(ge func(member Str, score float64) bool) int {
	if z.d != nil {
		return z.zl.search(func(x *zitem) bool { return ge(strOfString(x.member), x.score) })
	}
	r := 0
	for p := listpack.First(z.lp); p >= 0; r++ {
		m := listpack.Get(z.lp, p)
		p = listpack.Next(z.lp, p)
		if ge(m, lpScore(listpack.Get(z.lp, p))) {
			return r
		}
		p = listpack.Next(z.lp, p)
	}
	return r
}

// Walk calls fn for the elements from rank (in ascending order) onwards, or
// backwards when reverse, until fn returns false. fn must not modify z.
func (z *ZSet) Walk(rank int, reverse bool, fn func(member Str, score float64) bool) {
	if rank < 0 || rank >= z.Len() {
		return
	}
	if z.d != nil {
		z.zl.walk(rank, reverse, func(x *zitem) bool { return fn(strOfString(x.member), x.score) })
		return
	}
	p := listpack.Seek(z.lp, 2*rank)
	for p >= 0 {
		m := listpack.Get(z.lp, p)
		sp := listpack.Next(z.lp, p)
		if !fn(m, lpScore(listpack.Get(z.lp, sp))) {
			return
		}
		if reverse {
			p = listpack.Prev(z.lp, p)
			if p >= 0 {
				p = listpack.Prev(z.lp, p)
			}
		} else {
			p = listpack.Next(z.lp, sp)
		}
	}
}

// At returns the element of rank i in ascending order.
func (z *ZSet) At(i int) (member Str, score float64) {
	if z.d != nil {
		x := z.zl.at(i)
		return strOfString(x.member), x.score
	}
	p := listpack.Seek(z.lp, 2*i)
	return listpack.Get(z.lp, p), lpScore(listpack.Get(z.lp, listpack.Next(z.lp, p)))
}

// Random returns a uniformly random member and its score; z must not be
// empty.
func (z *ZSet) Random(r *rand.Rand) (member Str, score float64) {
	if z.d != nil {
		e := z.d.Random(r)
		return strOfString(e.Key), e.Val
	}
	return z.At(r.IntN(z.Len()))
}

// DeleteRange removes the elements of ranks [start, end] (ascending order),
// calling fn (if not nil) for each before it goes.
func (z *ZSet) DeleteRange(start, end int, fn func(member Str, score float64)) {
	if start > end {
		return
	}
	if z.d != nil {
		z.zl.deleteRange(start, end, func(x *zitem) {
			if fn != nil {
				fn(strOfString(x.member), x.score)
			}
			z.d.Delete(x.member)
		})
		return
	}
	n := end - start + 1
	if fn != nil {
		i := 0
		z.Walk(start, false, func(m Str, s float64) bool {
			fn(m, s)
			i++
			return i < n
		})
	}
	z.lp, _ = listpack.DeleteRange(z.lp, listpack.Seek(z.lp, 2*start), 2*n)
}

// Scan is ZSCAN's walk: a listpack zset is returned whole with cursor 0.
func (z *ZSet) Scan(cursor uint64, count int, fn func(member Str, score float64)) uint64 {
	if z.d == nil {
		z.Walk(0, false, func(m Str, s float64) bool { fn(m, s); return true })
		return 0
	}
	return z.d.Scan(cursor, count, func(e *dict.Entry[float64]) { fn(strOfString(e.Key), e.Val) })
}

// ConvertToListpackIfNeeded is Redis's zsetConvertToListpackIfNeeded, used
// on the results of store commands: a skiplist zset small enough for the
// limits becomes a listpack.
func (z *ZSet) ConvertToListpackIfNeeded(lim *Limits, maxElemLen, totalElemLen int) {
	if z.d == nil || z.Len() > lim.ZSetMaxListpackEntries || maxElemLen > lim.ZSetMaxListpackValue ||
		!listpack.SafeToAdd(nil, totalElemLen) {
		return
	}
	lp := listpack.New()
	z.zl.walk(0, false, func(x *zitem) bool {
		lp = listpack.Append(lp, unsafeBytes(x.member))
		lp = insertScore(lp, len(lp)-1, x.score)
		return true
	})
	z.lp, z.d, z.zl = lp, nil, nil
}

// Clone returns a deep copy of z.
func (z *ZSet) Clone() *ZSet {
	if z.d == nil {
		return &ZSet{lp: append([]byte(nil), z.lp...)}
	}
	c := NewZSetSkiplist()
	items := make([]zitem, 0, z.Len())
	z.zl.walk(0, false, func(x *zitem) bool {
		c.d.Set(x.member, x.score)
		items = append(items, *x)
		return true
	})
	c.zl.load(items)
	return c
}

// MemoryUsage estimates the bytes z holds.
func (z *ZSet) MemoryUsage() int64 {
	if z.d == nil {
		return int64(cap(z.lp)) + 24
	}
	n := int64(z.d.MemoryUsage())
	for _, c := range z.zl.chunks {
		n += int64(cap(c)) * 24
	}
	return n + int64(len(z.zl.fen))*4 + 48
}

// ConvertToSkiplist converts a listpack zset to the skiplist encoding (SORT
// does this to the zsets it sorts, as Redis does).
func (z *ZSet) ConvertToSkiplist(lim *Limits) {
	if z.d == nil {
		z.convert()
	}
}
