package types

import "sort"

// zitem is one sorted-set element in the order structure. member shares
// its bytes with the key of the sorted set's dict entry.
type zitem struct {
	member string
	score  float64
}

// zless orders elements as Redis's skiplist does: by score, then by member
// bytes.
func zless(a, b *zitem) bool {
	if a.score != b.score {
		return a.score < b.score
	}
	return a.member < b.member
}

// Chunk sizes of zlist. A full chunk splits in halves; a chunk that falls
// below zChunkMin merges with a neighbour when they fit together.
const (
	zChunkMax = 256
	zChunkMin = 32
)

// zlist is the ordered part of a big sorted set: Redis uses a skiplist with
// spans; we use a list of sorted chunks with a Fenwick tree of chunk sizes,
// which gives the same O(log n) rank, search and update operations with a
// fraction of the memory (24 bytes per element in place of a skiplist node)
// and cache-friendly scans. OBJECT ENCODING still says "skiplist": that is
// the name of the encoding, not of our data structure.
type zlist struct {
	chunks [][]zitem
	fen    []int32 // Fenwick tree over chunk lengths, 1-based
	n      int
}

func (l *zlist) rebuild() {
	if cap(l.fen) < len(l.chunks)+1 {
		l.fen = make([]int32, len(l.chunks)+1, len(l.chunks)*5/4+2)
	} else {
		l.fen = l.fen[:len(l.chunks)+1]
		clear(l.fen)
	}
	for i, c := range l.chunks {
		j := i + 1
		l.fen[j] += int32(len(c))
		if k := j + j&-j; k < len(l.fen) {
			l.fen[k] += l.fen[j]
		}
	}
}

func (l *zlist) fenAdd(ci, d int) {
	for j := ci + 1; j < len(l.fen); j += j & -j {
		l.fen[j] += int32(d)
	}
}

// prefix returns the number of elements in chunks before ci.
func (l *zlist) prefix(ci int) int {
	s := 0
	for j := ci; j > 0; j -= j & -j {
		s += int(l.fen[j])
	}
	return s
}

// locate returns the chunk and position of rank r (0 <= r < n).
func (l *zlist) locate(r int) (ci, pos int) {
	j := 0
	step := 1
	for step*2 < len(l.fen) {
		step *= 2
	}
	rem := r
	for ; step > 0; step /= 2 {
		if k := j + step; k < len(l.fen) && int(l.fen[k]) <= rem {
			j = k
			rem -= int(l.fen[k])
		}
	}
	return j, rem
}

// search returns the rank of the first element for which ge is true; ge
// must be false for a prefix of the order and true after it.
func (l *zlist) search(ge func(*zitem) bool) int {
	ci := sort.Search(len(l.chunks), func(i int) bool {
		c := l.chunks[i]
		return ge(&c[len(c)-1])
	})
	if ci == len(l.chunks) {
		return l.n
	}
	c := l.chunks[ci]
	pos := sort.Search(len(c), func(i int) bool { return ge(&c[i]) })
	return l.prefix(ci) + pos
}

// searchChunk is search returning chunk and position.
func (l *zlist) searchChunk(ge func(*zitem) bool) (ci, pos int) {
	ci = sort.Search(len(l.chunks), func(i int) bool {
		c := l.chunks[i]
		return ge(&c[len(c)-1])
	})
	if ci == len(l.chunks) {
		return ci, 0
	}
	c := l.chunks[ci]
	return ci, sort.Search(len(c), func(i int) bool { return ge(&c[i]) })
}

func (l *zlist) insert(it zitem) {
	l.n++
	if len(l.chunks) == 0 {
		c := make([]zitem, 1, 8)
		c[0] = it
		l.chunks = append(l.chunks, c)
		l.rebuild()
		return
	}
	ci, pos := l.searchChunk(func(x *zitem) bool { return !zless(x, &it) })
	if ci == len(l.chunks) {
		ci = len(l.chunks) - 1
		pos = len(l.chunks[ci])
	}
	c := l.chunks[ci]
	if len(c) < zChunkMax {
		c = append(c, zitem{})
		copy(c[pos+1:], c[pos:])
		c[pos] = it
		l.chunks[ci] = c
		l.fenAdd(ci, 1)
		return
	}
	// Split the full chunk in halves, each with room to grow.
	half := len(c) / 2
	left := make([]zitem, half, zChunkMax)
	right := make([]zitem, len(c)-half, zChunkMax)
	copy(left, c[:half])
	copy(right, c[half:])
	if pos <= half {
		left = append(left, zitem{})
		copy(left[pos+1:], left[pos:])
		left[pos] = it
	} else {
		p := pos - half
		right = append(right, zitem{})
		copy(right[p+1:], right[p:])
		right[p] = it
	}
	l.chunks = append(l.chunks, nil)
	copy(l.chunks[ci+2:], l.chunks[ci+1:])
	l.chunks[ci], l.chunks[ci+1] = left, right
	l.rebuild()
}

// find returns the chunk and position of the element (member, score), or
// ci == -1.
func (l *zlist) find(member string, score float64) (ci, pos int) {
	t := zitem{member, score}
	ci, pos = l.searchChunk(func(x *zitem) bool { return !zless(x, &t) })
	if ci == len(l.chunks) {
		return -1, 0
	}
	x := &l.chunks[ci][pos]
	if x.score != score || x.member != member {
		return -1, 0
	}
	return ci, pos
}

func (l *zlist) remove(member string, score float64) bool {
	ci, pos := l.find(member, score)
	if ci < 0 {
		return false
	}
	l.removeAt(ci, pos)
	return true
}

func (l *zlist) removeAt(ci, pos int) {
	c := l.chunks[ci]
	copy(c[pos:], c[pos+1:])
	c[len(c)-1] = zitem{}
	c = c[:len(c)-1]
	l.chunks[ci] = c
	l.n--
	if len(c) >= zChunkMin {
		l.fenAdd(ci, -1)
		return
	}
	l.fixSmall(ci)
}

// fixSmall removes an empty chunk or merges a small one into a neighbour,
// then rebuilds the Fenwick tree.
func (l *zlist) fixSmall(ci int) {
	c := l.chunks[ci]
	switch {
	case len(c) == 0:
		l.removeChunk(ci)
	case ci+1 < len(l.chunks) && len(c)+len(l.chunks[ci+1]) <= zChunkMax*3/4:
		l.chunks[ci] = append(c, l.chunks[ci+1]...)
		l.removeChunk(ci + 1)
	case ci > 0 && len(c)+len(l.chunks[ci-1]) <= zChunkMax*3/4:
		l.chunks[ci-1] = append(l.chunks[ci-1], c...)
		l.removeChunk(ci)
	default:
		l.fenAdd(ci, -1)
		return
	}
	l.rebuild()
}

// at returns the element of rank r.
func (l *zlist) at(r int) *zitem {
	ci, pos := l.locate(r)
	return &l.chunks[ci][pos]
}

// walk calls fn for elements from rank r onwards (reverse: backwards) until
// fn returns false or the list ends. fn must not modify l.
func (l *zlist) walk(r int, reverse bool, fn func(*zitem) bool) {
	if r < 0 || r >= l.n {
		return
	}
	ci, pos := l.locate(r)
	if !reverse {
		for ; ci < len(l.chunks); ci, pos = ci+1, 0 {
			c := l.chunks[ci]
			for ; pos < len(c); pos++ {
				if !fn(&c[pos]) {
					return
				}
			}
		}
		return
	}
	for {
		c := l.chunks[ci]
		for ; pos >= 0; pos-- {
			if !fn(&c[pos]) {
				return
			}
		}
		ci--
		if ci < 0 {
			return
		}
		pos = len(l.chunks[ci]) - 1
	}
}

// deleteRange removes the elements of ranks [start, end] and calls fn for
// each before it goes.
func (l *zlist) deleteRange(start, end int, fn func(*zitem)) {
	if start > end {
		return
	}
	ci, pos := l.locate(start)
	left := end - start + 1
	for left > 0 {
		c := l.chunks[ci]
		k := min(left, len(c)-pos)
		for i := pos; i < pos+k; i++ {
			fn(&c[i])
		}
		copy(c[pos:], c[pos+k:])
		clear(c[len(c)-k:])
		l.chunks[ci] = c[:len(c)-k]
		left -= k
		l.n -= k
		if len(l.chunks[ci]) == 0 {
			l.removeChunk(ci)
		} else {
			ci++
		}
		pos = 0
	}
	l.rebuild()
	// A range cut may leave small chunks at its edges; merge them lazily
	// by the next removal, which is enough to keep chunks bounded.
}

// removeChunk drops chunk i, clearing the vacated slot so the chunk's
// memory can be freed.
func (l *zlist) removeChunk(i int) {
	copy(l.chunks[i:], l.chunks[i+1:])
	l.chunks[len(l.chunks)-1] = nil
	l.chunks = l.chunks[:len(l.chunks)-1]
}
