package types

import (
	"unsafe"

	"github.com/reefkv/reef/internal/encoding/listpack"
	"github.com/reefkv/reef/internal/keyspace"
)

// List is a list value: Redis 7.0's quicklist, a sequence of listpack nodes
// whose size is bounded by the fill factor (list-max-listpack-size at the
// time the list was created). Node boundaries follow Redis's rules for
// pushes, inserts and merges, so that a list's RDB form matches Redis's.
// Compression of inner nodes (list-compress-depth) is not done.
type List struct {
	nodes [][]byte
	n     int
	fill  int

	// headBase, when set, is an allocation that nodes[0] may end: the
	// bytes before nodes[0] in it are free, for LPUSH to prepend into
	// without moving the node (pushHead). nodes[0] is in it only while it
	// is the node pushHead placed there or popHead shortened: a node that
	// grows past its capacity or is replaced is a new allocation (no node
	// ever aliases another's), so headRoom finds it outside.
	headBase []byte
}

// NewList returns an empty list with fill factor fill.
func NewList(fill int) *List {
	const fillMax = 1<<15 - 1
	if fill > fillMax {
		fill = fillMax
	} else if fill < -5 {
		fill = -5
	}
	return &List{fill: fill}
}

// NewListFromNodes adopts valid listpack nodes, none empty.
func NewListFromNodes(nodes [][]byte, fill int) *List {
	l := NewList(fill)
	for _, lp := range nodes {
		l.nodes = append(l.nodes, lp)
		l.n += listpack.Len(lp)
	}
	return l
}

// Encoding returns quicklist: Redis 7.0 reports it for every list.
func (l *List) Encoding() keyspace.Encoding { return keyspace.EncQuicklist }

// Len returns the number of elements.
func (l *List) Len() int { return l.n }

// Nodes returns the listpack nodes (aliasing l), for persistence.
func (l *List) Nodes() [][]byte { return l.nodes }

// Fill returns the list's fill factor.
func (l *List) Fill() int { return l.fill }

var optimizationLevel = [...]int{4096, 8192, 16384, 32768, 65536}

const (
	sizeSafetyLimit = 8192
	// sizeEstimateOverhead is what quicklist adds to an element's length
	// to estimate its cost in a listpack (an overestimate on purpose).
	sizeEstimateOverhead = 8
)

// exceedsLimit is quicklistNodeExceedsLimit: a negative fill limits a
// node's bytes, a positive one its count (and bytes to the safety limit).
func (l *List) exceedsLimit(newSz, newCount int) bool {
	if newSz > l.nodeByteLimit() {
		return true
	}
	return l.fill >= 0 && newCount > max(l.fill, 1)
}

// allowInsert is _quicklistNodeAllowInsert.
func (l *List) allowInsert(lp []byte, sz int) bool {
	if lp == nil {
		return false
	}
	return !l.exceedsLimit(len(lp)+sz+sizeEstimateOverhead, listpack.Len(lp)+1)
}

// allowMerge is _quicklistNodeAllowMerge. Redis 7.0 still subtracts the
// 11 bytes of a ziplist's header and terminator from the merged size, not
// a listpack's 7, so a merge may exceed the limit by up to 4 bytes; we
// keep that, since node boundaries show in DUMP and RDB bytes.
func (l *List) allowMerge(a, b []byte) bool {
	if a == nil || b == nil {
		return false
	}
	return !l.exceedsLimit(len(a)+len(b)-11, listpack.Len(a)+listpack.Len(b))
}

func newNode(v []byte) []byte {
	return listpack.Append(listpack.NewCap(len(v)+listpack.HeaderSize+8), v)
}

func (l *List) insertNode(i int, lp []byte) {
	if i == 0 {
		l.headBase = nil
	}
	l.nodes = append(l.nodes, nil)
	copy(l.nodes[i+1:], l.nodes[i:])
	l.nodes[i] = lp
}

func (l *List) removeNode(i int) {
	if i == 0 {
		l.headBase = nil
	}
	copy(l.nodes[i:], l.nodes[i+1:])
	l.nodes[len(l.nodes)-1] = nil
	l.nodes = l.nodes[:len(l.nodes)-1]
}

// Push adds v at the head or the tail.
func (l *List) Push(v []byte, head bool) {
	l.n++
	if head {
		if len(l.nodes) > 0 && l.allowInsert(l.nodes[0], len(v)) {
			l.pushHead(v)
			return
		}
		l.insertNode(0, newNode(v))
		return
	}
	if k := len(l.nodes) - 1; k >= 0 && l.allowInsert(l.nodes[k], len(v)) {
		l.nodes[k] = listpack.Append(l.nodes[k], v)
		return
	}
	l.nodes = append(l.nodes, newNode(v))
}

// headRoomFrom is the node size from which a head push prepends into free
// bytes kept before the node instead of moving the node's elements.
const headRoomFrom = 512

// pushHead inserts v as the first element of nodes[0], which has room for
// it by the fill factor, into the free bytes before the node when there
// are enough. Past headRoomFrom bytes the node is kept at the end of a
// larger allocation (headBase) with free bytes before it, doubled when
// they run out like an append's capacity: amortised O(1) per push where
// Redis moves the whole node (6% of the CPU of LPUSH -P 16).
func (l *List) pushHead(v []byte) {
	lp := l.nodes[0]
	if off := l.headRoom(); off > 0 {
		if nlp, ok := listpack.PrependInPlace(l.headBase, off, len(lp), v); ok {
			l.nodes[0] = nlp
			return
		}
	}
	if len(lp) < headRoomFrom {
		l.nodes[0] = listpack.Insert(lp, listpack.HeaderSize, v)
		return
	}
	// Room for as many bytes again as the node holds, but not past what
	// the node may grow to, and at least the entry; and the spare capacity
	// at its end.
	size := len(v) + listpack.MaxEntryOverhead
	room := max(size, min(len(lp), l.nodeByteLimit()-len(lp)+size))
	tail := cap(lp) - len(lp)
	base := make([]byte, room+len(lp)+tail)
	copy(base[room:], lp)
	l.headBase = base
	l.nodes[0], _ = listpack.PrependInPlace(base, room, len(lp), v)
}

// headRoom returns the free bytes before nodes[0] in headBase, 0 when
// nodes[0] is not in it.
func (l *List) headRoom() int {
	if l.headBase == nil || len(l.nodes) == 0 || len(l.nodes[0]) == 0 {
		return 0
	}
	base := uintptr(unsafe.Pointer(unsafe.SliceData(l.headBase)))
	p := uintptr(unsafe.Pointer(unsafe.SliceData(l.nodes[0])))
	if p < base || p >= base+uintptr(cap(l.headBase)) {
		return 0
	}
	return int(p - base)
}

// nodeByteLimit is the size a node may reach by the fill factor: the
// fill's optimisation level when it is negative, the safety limit when it
// counts elements.
func (l *List) nodeByteLimit() int {
	if l.fill >= 0 {
		return sizeSafetyLimit
	}
	return optimizationLevel[min(-l.fill-1, len(optimizationLevel)-1)]
}

// Pop removes and returns (a copy of) the head or tail element; l must not
// be empty.
func (l *List) Pop(head bool) []byte {
	k := 0
	if !head {
		k = len(l.nodes) - 1
	}
	lp := l.nodes[k]
	p := listpack.First(lp)
	if !head {
		p = listpack.Last(lp)
	}
	v := Copy(listpack.Get(lp, p))
	if head && len(lp) >= headRoomFrom && listpack.Len(lp) > 1 {
		l.popHead()
		return v
	}
	l.deleteAt(k, p)
	return v
}

// popHead removes the first element of nodes[0], which has another, by
// moving the node's header forward over it (LPOP, a queue's consumer),
// where Redis moves the whole node. The bytes left before the node are
// head room for the next LPUSH (pushHead).
func (l *List) popHead() {
	lp := l.nodes[0]
	if l.headRoom() == 0 {
		l.headBase = lp[:cap(lp)]
	}
	l.nodes[0] = listpack.DeleteFirstInPlace(lp)
	l.n--
}

// deleteAt removes the element at position p of node k, dropping the node
// when it empties.
func (l *List) deleteAt(k, p int) {
	l.nodes[k] = listpack.Delete(l.nodes[k], p)
	l.n--
	if listpack.Len(l.nodes[k]) == 0 {
		l.removeNode(k)
	}
}

// locate returns the node and the offset in it of element i (0 <= i < n).
func (l *List) locate(i int) (k, off int) {
	if i < l.n/2 {
		for k = 0; ; k++ {
			c := listpack.Len(l.nodes[k])
			if i < c {
				return k, i
			}
			i -= c
		}
	}
	j := l.n - 1 - i // index from the tail
	for k = len(l.nodes) - 1; ; k-- {
		c := listpack.Len(l.nodes[k])
		if j < c {
			return k, c - 1 - j
		}
		j -= c
	}
}

// norm converts a possibly negative index to 0..n-1, or -1 when out of
// range.
func (l *List) norm(i int) int {
	if i < 0 {
		i += l.n
	}
	if i < 0 || i >= l.n {
		return -1
	}
	return i
}

// Index returns element i (negative counts from the tail).
func (l *List) Index(i int) (Str, bool) {
	if i = l.norm(i); i < 0 {
		return Str{}, false
	}
	k, off := l.locate(i)
	return listpack.Get(l.nodes[k], listpack.Seek(l.nodes[k], off)), true
}

// Set replaces element i (negative counts from the tail) and reports
// whether it exists.
func (l *List) Set(i int, v []byte) bool {
	if i = l.norm(i); i < 0 {
		return false
	}
	k, off := l.locate(i)
	l.nodes[k] = listpack.Replace(l.nodes[k], listpack.Seek(l.nodes[k], off), v)
	return true
}

// Walk calls fn with the index and value of elements from index start
// (0 <= start < Len) forwards, or backwards when reverse, until fn returns
// false. fn must not modify l.
func (l *List) Walk(start int, reverse bool, fn func(i int, e Str) bool) {
	if start < 0 || start >= l.n {
		return
	}
	k, off := l.locate(start)
	i := start
	p := listpack.Seek(l.nodes[k], off)
	for {
		lp := l.nodes[k]
		for p >= 0 {
			if !fn(i, listpack.Get(lp, p)) {
				return
			}
			if reverse {
				p = listpack.Prev(lp, p)
				i--
			} else {
				p = listpack.Next(lp, p)
				i++
			}
		}
		if reverse {
			if k--; k < 0 {
				return
			}
			p = listpack.Last(l.nodes[k])
		} else {
			if k++; k >= len(l.nodes) {
				return
			}
			p = listpack.First(l.nodes[k])
		}
	}
}

// Insert inserts v before (or after) the first element equal to pivot,
// from the head, and reports whether pivot was found (LINSERT).
func (l *List) Insert(pivot, v []byte, after bool) bool {
	for k := 0; k < len(l.nodes); k++ {
		lp := l.nodes[k]
		p := listpack.First(lp)
		if p < 0 {
			continue
		}
		if p = listpack.Find(lp, p, pivot, 0); p < 0 {
			continue
		}
		off := 0
		for q := listpack.First(lp); q != p; q = listpack.Next(lp, q) {
			off++
		}
		l.insertAt(k, off, p, v, after)
		return true
	}
	return false
}

// insertAt is _quicklistInsert: insert v before/after the element at
// offset off (position p) of node k.
func (l *List) insertAt(k, off, p int, v []byte, after bool) {
	l.n++
	lp := l.nodes[k]
	cnt := listpack.Len(lp)
	sz := len(v)
	full := !l.allowInsert(lp, sz)
	atTail, atHead, availNext, availPrev := false, false, false, false
	if after && off == cnt-1 {
		atTail = true
		if k+1 < len(l.nodes) && l.allowInsert(l.nodes[k+1], sz) {
			availNext = true
		}
	}
	if !after && off == 0 {
		atHead = true
		if k > 0 && l.allowInsert(l.nodes[k-1], sz) {
			availPrev = true
		}
	}
	switch {
	case !full && after:
		if q := listpack.Next(lp, p); q >= 0 {
			l.nodes[k] = listpack.Insert(lp, q, v)
		} else {
			l.nodes[k] = listpack.Append(lp, v)
		}
	case !full:
		l.nodes[k] = listpack.Insert(lp, p, v)
	case atTail && availNext && after:
		l.nodes[k+1] = listpack.Insert(l.nodes[k+1], listpack.HeaderSize, v)
	case atHead && availPrev && !after:
		l.nodes[k-1] = listpack.Append(l.nodes[k-1], v)
	case (atTail && !availNext && after) || (atHead && !availPrev && !after):
		// No room in the neighbour (or no neighbour): a node of its own.
		if after {
			l.insertNode(k+1, newNode(v))
		} else {
			l.insertNode(k, newNode(v))
		}
	default:
		// Split the full node at the pivot and put v in the new half.
		keep := append([]byte(nil), lp...)
		var nw []byte
		if after {
			keep, _ = listpack.DeleteRange(keep, listpack.Seek(keep, off+1), cnt-off-1)
			nw = append([]byte(nil), lp...)
			nw, _ = listpack.DeleteRange(nw, listpack.HeaderSize, off+1)
			nw = listpack.Insert(nw, listpack.HeaderSize, v)
			l.nodes[k] = keep
			l.insertNode(k+1, nw)
		} else {
			keep, _ = listpack.DeleteRange(keep, listpack.HeaderSize, off)
			nw = append([]byte(nil), lp...)
			nw, _ = listpack.DeleteRange(nw, listpack.Seek(nw, off), cnt-off)
			nw = listpack.Append(nw, v)
			l.nodes[k] = keep
			l.insertNode(k, nw)
			k++ // the original node, the merge centre, moved right
		}
		l.mergeAround(k)
	}
}

// mergeAround is _quicklistMergeNodes around node c.
func (l *List) mergeAround(c int) {
	get := func(i int) []byte {
		if i < 0 || i >= len(l.nodes) {
			return nil
		}
		return l.nodes[i]
	}
	merge := func(a int) { // merges node a+1 into node a
		l.nodes[a] = listpack.Merge(l.nodes[a], l.nodes[a+1])
		l.removeNode(a + 1)
	}
	if l.allowMerge(get(c-1), get(c-2)) {
		merge(c - 2)
		c--
	}
	if l.allowMerge(get(c+1), get(c+2)) {
		merge(c + 1)
	}
	target := c
	if l.allowMerge(get(c), get(c-1)) {
		merge(c - 1)
		target = c - 1
	}
	if l.allowMerge(get(target), get(target+1)) {
		merge(target)
	}
}

// Rem removes up to count elements equal to v (all when count is 0), from
// the head when count > 0, from the tail when count < 0 (LREM), and
// returns how many it removed.
func (l *List) Rem(v []byte, count int) int {
	removed := 0
	limit := count
	if limit < 0 {
		limit = -limit
	}
	if count >= 0 {
		for k := 0; k < len(l.nodes); {
			lp := l.nodes[k]
			p := listpack.First(lp)
			for p >= 0 && lp[p] != listpack.EOF {
				if listpack.Get(lp, p).Equal(v) {
					lp = listpack.Delete(lp, p)
					removed++
					l.n--
					if limit > 0 && removed == limit {
						break
					}
					continue
				}
				p = listpack.Next(lp, p)
			}
			l.nodes[k] = lp
			if listpack.Len(lp) == 0 {
				l.removeNode(k)
			} else {
				k++
			}
			if limit > 0 && removed == limit {
				break
			}
		}
		return removed
	}
	for k := len(l.nodes) - 1; k >= 0; k-- {
		lp := l.nodes[k]
		p := listpack.Last(lp)
		for p >= 0 {
			prev := listpack.Prev(lp, p)
			if listpack.Get(lp, p).Equal(v) {
				lp = listpack.Delete(lp, p)
				removed++
				l.n--
				if removed == limit {
					break
				}
			}
			p = prev
		}
		l.nodes[k] = lp
		if listpack.Len(lp) == 0 {
			l.removeNode(k)
		}
		if removed == limit {
			break
		}
	}
	return removed
}

// DeleteRange removes count elements from index start (0 <= start,
// start+count <= Len), like quicklistDelRange.
func (l *List) DeleteRange(start, count int) {
	for count > 0 {
		k, off := l.locate(start)
		lp := l.nodes[k]
		var n int
		lp, n = listpack.DeleteRange(lp, listpack.Seek(lp, off), count)
		count -= n
		l.n -= n
		if listpack.Len(lp) == 0 {
			l.removeNode(k)
		} else {
			l.nodes[k] = lp
		}
	}
}

// Clone returns a deep copy of l.
func (l *List) Clone() *List {
	c := &List{n: l.n, fill: l.fill, nodes: make([][]byte, len(l.nodes))}
	for i, lp := range l.nodes {
		c.nodes[i] = append([]byte(nil), lp...)
	}
	return c
}

// MemoryUsage estimates the bytes l holds.
func (l *List) MemoryUsage() int64 {
	n := int64(cap(l.nodes))*24 + 48
	for _, lp := range l.nodes {
		n += int64(cap(lp))
	}
	return n + int64(l.headRoom())
}
