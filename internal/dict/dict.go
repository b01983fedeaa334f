package dict

import (
	"hash/maphash"
	"iter"
	"math/rand/v2"
	"unsafe"
)

var seed = maphash.MakeSeed()

// Hash returns the hash Dict uses for key.
func Hash(key string) uint64 { return maphash.String(seed, key) }

// HashBytes returns the hash Dict uses for key.
func HashBytes(key []byte) uint64 { return maphash.Bytes(seed, key) }

// Entry is one key and its value.
type Entry[V any] struct {
	Key string
	Val V
}

// Entries live in a first slice that grows by appending, up to segSize
// entries, then in fixed segments of segSize: a big dict grows without ever
// copying its entries, and a small one keeps a single slice.
const (
	segBits = 12
	segSize = 1 << segBits
)

// rebuildMin is the size from which the index is rebuilt incrementally
// (a few entries per insert or delete) instead of at once: rebuilding the
// index of a few thousand entries takes microseconds, that of ten million
// hundreds of milliseconds.
const rebuildMin = 8192

// Dict maps string keys to values of type V. The zero value is an empty dict.
//
// The two fields a lookup reads come first and take 48 bytes, so that a
// Dict embedded 16 bytes into a cache line (as in a keyspace shard, after
// its lock) serves a lookup from that one line.
type Dict[V any] struct {
	// index holds, per bucket, the entry position+1 in the low 32 bits (0 is
	// empty) and the low 32 bits of the key's hash in the high half, so that
	// probing rarely touches entries and growing never rehashes keys. Its
	// length is a power of two (or zero).
	index []uint64
	first []Entry[V] // positions [0, segSize)
	n     int

	segs [][]Entry[V] // positions segSize*(k+1) + i

	// next is the index being rebuilt (nil when none): it holds exactly the
	// entries at positions [0, built). index stays complete meanwhile and
	// serves every lookup.
	next  []uint64
	built int
}

const minIndex = 8

// Len returns the number of entries.
func (d *Dict[V]) Len() int { return d.n }

// At returns the entry at position i (0 <= i < Len). Positions are stable
// until the next Delete; entries never move on insert.
func (d *Dict[V]) At(i int) *Entry[V] {
	if i < segSize {
		return &d.first[i]
	}
	i -= segSize
	return &d.segs[i>>segBits][i&(segSize-1)]
}

// Random returns a uniformly random entry, or nil when the dict is empty.
func (d *Dict[V]) Random(r *rand.Rand) *Entry[V] {
	if d.n == 0 {
		return nil
	}
	var i int
	if r == nil {
		i = rand.IntN(d.n)
	} else {
		i = r.IntN(d.n)
	}
	return d.At(i)
}

func tagOf(h uint64) uint64 { return h << 32 }

// mask is the index's bucket mask. REQUIRES: index not nil.
func (d *Dict[V]) mask() uint64 { return uint64(len(d.index) - 1) }

// nextMask is mask for the index being rebuilt. REQUIRES: next not nil.
func (d *Dict[V]) nextMask() uint64 { return uint64(len(d.next) - 1) }

// find returns the bucket of key in index and whether it holds key.
func (d *Dict[V]) find(key string, h uint64) (uint64, bool) {
	if d.index == nil {
		return 0, false
	}
	tag := tagOf(h)
	mask := d.mask()
	b := h & mask
	for {
		slot := d.index[b]
		if slot == 0 {
			return b, false
		}
		if slot&^0xFFFFFFFF == tag && d.At(int(uint32(slot))-1).Key == key {
			return b, true
		}
		b = (b + 1) & mask
	}
}

// Get returns a pointer to the value of key, or nil. The pointer is valid
// until the key is deleted or another key's deletion moves its entry.
func (d *Dict[V]) Get(key string) *V {
	if e := d.GetEntry(key); e != nil {
		return &e.Val
	}
	return nil
}

// GetBytes is Get for a key given as bytes; it does not allocate.
func (d *Dict[V]) GetBytes(key []byte) *V {
	return d.Get(unsafe.String(unsafe.SliceData(key), len(key)))
}

// GetEntry returns the entry of key, or nil.
func (d *Dict[V]) GetEntry(key string) *Entry[V] {
	b, ok := d.find(key, Hash(key))
	if !ok {
		return nil
	}
	return d.At(int(uint32(d.index[b])) - 1)
}

// GetEntryBytes is GetEntry for a key given as bytes; it does not allocate.
func (d *Dict[V]) GetEntryBytes(key []byte) *Entry[V] {
	return d.GetEntry(unsafe.String(unsafe.SliceData(key), len(key)))
}

// Set stores val under key and reports whether key was new. On insert the
// dict keeps key itself, so the caller must pass a string it will not mutate.
func (d *Dict[V]) Set(key string, val V) (inserted bool) {
	p, inserted := d.Upsert(key)
	*p = val
	return inserted
}

// Upsert returns a pointer to key's value, inserting the zero value first if
// key is absent. The pointer is valid as Get's.
func (d *Dict[V]) Upsert(key string) (val *V, inserted bool) {
	return d.upsert(key, false)
}

// UpsertBytes is Upsert for a key given as bytes: it looks the key up once
// and copies it into a string only when it inserts.
func (d *Dict[V]) UpsertBytes(key []byte) (val *V, inserted bool) {
	return d.upsert(unsafe.String(unsafe.SliceData(key), len(key)), true)
}

// upsert finds or inserts key. copyKey asks for a copy of key on insert
// (key is a view of the caller's bytes).
func (d *Dict[V]) upsert(key string, copyKey bool) (*V, bool) {
	h := Hash(key)
	b, ok := d.find(key, h)
	if ok {
		return &d.At(int(uint32(d.index[b])) - 1).Val, false
	}
	if d.grow() {
		b, _ = d.find(key, h)
	}
	if copyKey {
		key = string([]byte(key))
	}
	e := d.push(Entry[V]{Key: key})
	d.index[b] = tagOf(h) | uint64(d.n)
	d.step()
	return &e.Val, true
}

// grow makes room for one more entry in the index, reporting whether the
// index was replaced (so a bucket found before is stale).
func (d *Dict[V]) grow() bool {
	n := d.n + 1
	size := len(d.index)
	switch {
	case d.next != nil:
		// An incremental rebuild is under way; it finishes long before the
		// index fills (it starts at 3/5 and moves several entries per
		// insert). Should it still be running at 9/10, finish it now.
		if n*10 > size*9 {
			d.finishRebuild()
			return true
		}
		return false
	case n < rebuildMin && n*4 > size*3:
		d.resize(max(minIndex, size*2))
		return true
	case n >= rebuildMin && n*5 > size*3:
		d.startRebuild(size * 2)
	}
	return false
}

// push appends an entry and returns it.
func (d *Dict[V]) push(e Entry[V]) *Entry[V] {
	if d.n < segSize {
		d.first = append(d.first, e)
		d.n++
		return &d.first[d.n-1]
	}
	k := (d.n - segSize) >> segBits
	if k == len(d.segs) {
		d.segs = append(d.segs, make([]Entry[V], 0, segSize))
	}
	d.segs[k] = append(d.segs[k], e)
	d.n++
	return &d.segs[k][len(d.segs[k])-1]
}

// pop removes the last entry.
func (d *Dict[V]) pop() {
	var zero Entry[V]
	last := d.n - 1
	if last < segSize {
		d.first[last] = zero
		d.first = d.first[:last]
	} else {
		k := (last - segSize) >> segBits
		d.segs[k][len(d.segs[k])-1] = zero
		d.segs[k] = d.segs[k][:len(d.segs[k])-1]
		if len(d.segs[k]) == 0 {
			d.segs[k] = nil
			d.segs = d.segs[:k]
		}
	}
	d.n--
}

// Delete removes key and reports whether it was present. The last entry
// moves into the freed position.
func (d *Dict[V]) Delete(key string) bool {
	b, ok := d.find(key, Hash(key))
	if !ok {
		return false
	}
	d.deleteBucket(b)
	return true
}

// DeleteBytes is Delete for a key given as bytes.
func (d *Dict[V]) DeleteBytes(key []byte) bool {
	return d.Delete(unsafe.String(unsafe.SliceData(key), len(key)))
}

func (d *Dict[V]) deleteBucket(b uint64) {
	pos := int(uint32(d.index[b])) - 1
	last := d.n - 1
	if d.next != nil && pos < d.built {
		removeWord(d.next, d.nextMask(), d.bucketOfPos(d.next, d.nextMask(), pos))
	}
	removeWord(d.index, d.mask(), b)
	if pos != last {
		if d.next != nil && last < d.built {
			// The moved entry is in the rebuilt index: repoint it there too.
			nb := d.bucketOfPos(d.next, d.nextMask(), last)
			d.next[nb] = d.next[nb]&^0xFFFFFFFF | uint64(pos+1)
		}
		lb := d.bucketOfPos(d.index, d.mask(), last)
		d.index[lb] = d.index[lb]&^0xFFFFFFFF | uint64(pos+1)
		*d.At(pos) = *d.At(last)
		if d.next != nil && last >= d.built && pos < d.built {
			// It moved into the rebuilt range: it must be in next now.
			insertWord(d.next, d.nextMask(), tagOf(Hash(d.At(pos).Key))|uint64(pos+1))
		}
	}
	d.pop()
	if d.next != nil && d.built > d.n {
		d.built = d.n
	}
	switch {
	case d.n == 0:
		d.Clear()
	case d.next == nil && len(d.index) > minIndex && d.n*8 < len(d.index):
		size := max(minIndex, nextPow2(d.n*2))
		if len(d.index) < 4*rebuildMin {
			d.resize(size)
		} else {
			// Shrinking a big index at once would walk all its buckets.
			d.startRebuild(size)
		}
	default:
		d.step()
	}
}

// nextPow2 returns the smallest power of two >= n.
func nextPow2(n int) int {
	p := 1
	for p < n {
		p <<= 1
	}
	return p
}

// removeWord clears bucket b with backward-shift deletion, which keeps
// linear probe chains intact without tombstones.
func removeWord(index []uint64, mask uint64, b uint64) {
	index[b] = 0
	for i := (b + 1) & mask; index[i] != 0; i = (i + 1) & mask {
		home := (index[i] >> 32) & mask
		// Move the word at i into the hole when its home is not in (b, i]:
		// its probe distance reaches back to the hole or beyond.
		if (i-home)&mask >= (i-b)&mask {
			index[b] = index[i]
			index[i] = 0
			b = i
		}
	}
}

// insertWord adds a word at its home bucket or the next free one.
func insertWord(index []uint64, mask uint64, word uint64) {
	b := (word >> 32) & mask
	for index[b] != 0 {
		b = (b + 1) & mask
	}
	index[b] = word
}

// bucketOfPos finds the bucket of the entry at pos in the given index.
func (d *Dict[V]) bucketOfPos(index []uint64, mask uint64, pos int) uint64 {
	h := Hash(d.At(pos).Key)
	for b := h & mask; ; b = (b + 1) & mask {
		if int(uint32(index[b]))-1 == pos {
			return b
		}
	}
}

// resize replaces the index at once with one of size buckets, moving the
// words without rehashing keys.
func (d *Dict[V]) resize(size int) {
	old := d.index
	d.index = make([]uint64, size)
	for _, word := range old {
		if word != 0 {
			insertWord(d.index, d.mask(), word)
		}
	}
	if d.n < segSize && cap(d.first) > 2*d.n+16 {
		d.first = append([]Entry[V](nil), d.first...)
	}
}

// startRebuild begins an incremental rebuild of the index at size buckets.
// Each later insert or delete moves a few entries into it (step).
func (d *Dict[V]) startRebuild(size int) {
	d.next = make([]uint64, size)
	d.built = 0
	d.step()
}

// rebuildStep is how many entries each insert or delete moves into the
// rebuilt index: enough to finish before the old index gets crowded.
const rebuildStep = 16

// step moves rebuildStep entries into the index being rebuilt, switching to
// it when every entry is in.
func (d *Dict[V]) step() {
	if d.next == nil {
		return
	}
	end := min(d.built+rebuildStep, d.n)
	for ; d.built < end; d.built++ {
		insertWord(d.next, d.nextMask(), tagOf(Hash(d.At(d.built).Key))|uint64(d.built+1))
	}
	if d.built == d.n {
		d.index = d.next
		d.next, d.built = nil, 0
	}
}

// finishRebuild completes a rebuild at once.
func (d *Dict[V]) finishRebuild() {
	for d.next != nil {
		d.step()
	}
}

// Clear removes every entry.
func (d *Dict[V]) Clear() {
	d.first, d.segs, d.n = nil, nil, 0
	d.index = nil
	d.next, d.built = nil, 0
}

// Scan calls fn for up to count entries starting at cursor, walking
// positions downwards, and returns the next cursor (0 when done). Cursor 0
// starts a new scan. See the package comment for the guarantees.
func (d *Dict[V]) Scan(cursor uint64, count int, fn func(e *Entry[V])) uint64 {
	pos := int(cursor)
	if cursor == 0 || pos > d.n {
		pos = d.n
	}
	for ; count > 0 && pos > 0; count-- {
		pos--
		fn(d.At(pos))
	}
	return uint64(pos)
}

// Range calls fn for every entry until fn returns false. fn must not modify
// the dict.
func (d *Dict[V]) Range(fn func(e *Entry[V]) bool) {
	for e := range d.All() {
		if !fn(e) {
			return
		}
	}
}

// All iterates over the entries in position order. The loop body must not
// modify the dict.
func (d *Dict[V]) All() iter.Seq[*Entry[V]] {
	return func(yield func(*Entry[V]) bool) {
		for i := range d.first {
			if !yield(&d.first[i]) {
				return
			}
		}
		for _, seg := range d.segs {
			for i := range seg {
				if !yield(&seg[i]) {
					return
				}
			}
		}
	}
}

// MemoryUsage estimates the bytes the dict itself holds (not the values'
// referenced memory), for MEMORY USAGE and INFO.
func (d *Dict[V]) MemoryUsage() int {
	var e Entry[V]
	n := (cap(d.first)+len(d.segs)*segSize)*int(unsafe.Sizeof(e)) + (len(d.index)+len(d.next))*8
	for e := range d.All() {
		n += len(e.Key)
	}
	return n
}

// HotHeaderSize is how many leading bytes of a Dict a lookup reads (its
// index and first slices), for layout checks of structs that embed one.
const HotHeaderSize = unsafe.Offsetof(Dict[struct{}]{}.n)

// Prefetching. A lookup follows a chain of dependent loads (index word,
// entry, key bytes), each a likely cache miss when the table is big. A
// caller about to look up several keys can walk the chains of all of them
// step by step first: the loads of one step are independent, so the CPU
// overlaps their misses, and the real lookups then find the lines cached.

// TouchBucket loads key hash h's home index word, returning it so that the
// load is not optimized away.
func (d *Dict[V]) TouchBucket(h uint64) uint64 {
	if d.index == nil {
		return 0
	}
	return d.index[h&d.mask()]
}

// ProbeEntry returns the entry whose index word carries h's tag, probing
// from h's home bucket, or nil. It does not compare keys (which would load
// the entry and the key one after the other): a tag collision returns
// another key's entry, harmless for a prefetch.
func (d *Dict[V]) ProbeEntry(h uint64) *Entry[V] {
	if d.index == nil {
		return nil
	}
	tag := tagOf(h)
	mask := d.mask()
	for b := h & mask; ; b = (b + 1) & mask {
		word := d.index[b]
		if word == 0 {
			return nil
		}
		if word&^0xFFFFFFFF == tag {
			return d.At(int(uint32(word)) - 1)
		}
	}
}

// ProbeKey is ProbeEntry's key ("" when none), for callers that do not know
// V (see Prefetcher).
func (d *Dict[V]) ProbeKey(h uint64) string {
	if e := d.ProbeEntry(h); e != nil {
		return e.Key
	}
	return ""
}

// TouchHeader loads the dict's header, the first step of a prefetch when
// the dict is reached through a pointer.
func (d *Dict[V]) TouchHeader() uint64 { return uint64(len(d.index)) }

// Prefetcher is the prefetch side of a Dict of any value type: the hash
// table of a set, hash or sorted set, whose members a batch of commands is
// about to look up.
type Prefetcher interface {
	TouchHeader() uint64
	TouchBucket(h uint64) uint64
	ProbeKey(h uint64) string
}
