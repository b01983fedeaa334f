package dict

import (
	"hash/maphash"
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

// Dict maps string keys to values of type V. The zero value is an empty dict.
type Dict[V any] struct {
	entries []Entry[V]
	// index holds, per bucket, the entry position+1 in the low 32 bits (0 is
	// empty) and the low 32 bits of the key's hash in the high half, so that
	// probing rarely touches entries and growing never rehashes keys.
	index []uint64
	mask  uint64
}

const minIndex = 8

// Len returns the number of entries.
func (d *Dict[V]) Len() int { return len(d.entries) }

// At returns the entry at position i (0 <= i < Len). Positions are stable
// until the next Delete.
func (d *Dict[V]) At(i int) *Entry[V] { return &d.entries[i] }

// Random returns a uniformly random entry, or nil when the dict is empty.
func (d *Dict[V]) Random(r *rand.Rand) *Entry[V] {
	if len(d.entries) == 0 {
		return nil
	}
	var i int
	if r == nil {
		i = rand.IntN(len(d.entries))
	} else {
		i = r.IntN(len(d.entries))
	}
	return &d.entries[i]
}

func tagOf(h uint64) uint64 { return h << 32 }

// find returns the bucket of key and whether it holds key.
func (d *Dict[V]) find(key string, h uint64) (uint64, bool) {
	if d.index == nil {
		return 0, false
	}
	tag := tagOf(h)
	b := h & d.mask
	for {
		slot := d.index[b]
		if slot == 0 {
			return b, false
		}
		if slot&^0xFFFFFFFF == tag && d.entries[uint32(slot)-1].Key == key {
			return b, true
		}
		b = (b + 1) & d.mask
	}
}

// Get returns a pointer to the value of key, or nil. The pointer is valid
// until the dict is next modified.
func (d *Dict[V]) Get(key string) *V {
	b, ok := d.find(key, Hash(key))
	if !ok {
		return nil
	}
	return &d.entries[uint32(d.index[b])-1].Val
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
	return &d.entries[uint32(d.index[b])-1]
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
// key is absent. The pointer is valid until the dict is next modified.
func (d *Dict[V]) Upsert(key string) (val *V, inserted bool) {
	h := Hash(key)
	b, ok := d.find(key, h)
	if ok {
		return &d.entries[uint32(d.index[b])-1].Val, false
	}
	if (len(d.entries)+1)*4 > len(d.index)*3 { // keep the load factor <= 3/4
		d.resize(max(minIndex, len(d.index)*2))
		b, _ = d.find(key, h)
	}
	d.entries = append(d.entries, Entry[V]{Key: key})
	d.index[b] = tagOf(h) | uint64(len(d.entries))
	return &d.entries[len(d.entries)-1].Val, true
}

// UpsertBytes is Upsert for a key given as bytes: it looks the key up once
// and copies it into a string only when it inserts.
func (d *Dict[V]) UpsertBytes(key []byte) (val *V, inserted bool) {
	view := unsafe.String(unsafe.SliceData(key), len(key))
	h := Hash(view)
	b, ok := d.find(view, h)
	if ok {
		return &d.entries[uint32(d.index[b])-1].Val, false
	}
	if (len(d.entries)+1)*4 > len(d.index)*3 {
		d.resize(max(minIndex, len(d.index)*2))
		b, _ = d.find(view, h)
	}
	d.entries = append(d.entries, Entry[V]{Key: string(key)})
	d.index[b] = tagOf(h) | uint64(len(d.entries))
	return &d.entries[len(d.entries)-1].Val, true
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
	// Backward-shift deletion keeps probe chains intact without tombstones.
	d.index[b] = 0
	for i := (b + 1) & d.mask; d.index[i] != 0; i = (i + 1) & d.mask {
		home := d.homeOf(d.index[i])
		// Move the word at i into the hole when its home is not in (b, i]:
		// its probe distance reaches back to the hole or beyond.
		if (i-home)&d.mask >= (i-b)&d.mask {
			d.index[b] = d.index[i]
			d.index[i] = 0
			b = i
		}
	}
	last := len(d.entries) - 1
	if pos != last {
		d.entries[pos] = d.entries[last]
		// Repoint the index bucket of the moved entry.
		lb := d.bucketOfPos(last)
		d.index[lb] = d.index[lb]&^0xFFFFFFFF | uint64(pos+1)
	}
	var zero Entry[V]
	d.entries[last] = zero
	d.entries = d.entries[:last]
	if len(d.entries) == 0 {
		d.entries, d.index, d.mask = nil, nil, 0
	} else if len(d.index) > minIndex && len(d.entries)*8 < len(d.index) {
		d.resize(len(d.index) / 2)
	}
}

// homeOf returns the bucket a key with this index word starts probing at.
func (d *Dict[V]) homeOf(word uint64) uint64 { return (word >> 32) & d.mask }

func (d *Dict[V]) bucketOfPos(pos int) uint64 {
	h := Hash(d.entries[pos].Key)
	for b := h & d.mask; ; b = (b + 1) & d.mask {
		if int(uint32(d.index[b]))-1 == pos {
			return b
		}
	}
}

func (d *Dict[V]) resize(size int) {
	old := d.index
	d.index = make([]uint64, size)
	d.mask = uint64(size - 1)
	for _, word := range old {
		if word == 0 {
			continue
		}
		b := d.homeOf(word)
		for d.index[b] != 0 {
			b = (b + 1) & d.mask
		}
		d.index[b] = word
	}
	if cap(d.entries) > 2*len(d.entries)+16 {
		d.entries = append([]Entry[V](nil), d.entries...)
	}
}

// Clear removes every entry.
func (d *Dict[V]) Clear() { d.entries, d.index, d.mask = nil, nil, 0 }

// Scan calls fn for up to count entries starting at cursor, walking
// positions downwards, and returns the next cursor (0 when done). Cursor 0
// starts a new scan. See the package comment for the guarantees.
func (d *Dict[V]) Scan(cursor uint64, count int, fn func(e *Entry[V])) uint64 {
	pos := int(cursor)
	if cursor == 0 || pos > len(d.entries) {
		pos = len(d.entries)
	}
	for ; count > 0 && pos > 0; count-- {
		pos--
		fn(&d.entries[pos])
	}
	return uint64(pos)
}

// Range calls fn for every entry until fn returns false. fn must not modify
// the dict.
func (d *Dict[V]) Range(fn func(e *Entry[V]) bool) {
	for i := range d.entries {
		if !fn(&d.entries[i]) {
			return
		}
	}
}

// Entries exposes the dense entry slice for read-only iteration.
func (d *Dict[V]) Entries() []Entry[V] { return d.entries }

// MemoryUsage estimates the bytes the dict itself holds (not the values'
// referenced memory), for MEMORY USAGE and INFO.
func (d *Dict[V]) MemoryUsage() int {
	var e Entry[V]
	n := cap(d.entries)*int(unsafe.Sizeof(e)) + len(d.index)*8
	for i := range d.entries {
		n += len(d.entries[i].Key)
	}
	return n
}
