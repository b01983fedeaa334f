package types

import (
	"math/rand/v2"

	"github.com/reefkv/reef/internal/dict"
	"github.com/reefkv/reef/internal/encoding/listpack"
	"github.com/reefkv/reef/internal/keyspace"
)

// Hash is a hash value: a listpack of field, value, field, value... while
// small (Redis's OBJ_ENCODING_LISTPACK), a dict once it passes
// hash-max-listpack-entries or holds a field or value longer than
// hash-max-listpack-value (OBJ_ENCODING_HT).
type Hash struct {
	lp []byte
	ht *dict.Dict[string]
}

// NewHash returns an empty listpack-encoded hash.
func NewHash() *Hash { return &Hash{lp: listpack.New()} }

// NewHashTable returns an empty hashtable-encoded hash.
func NewHashTable() *Hash { return &Hash{ht: &dict.Dict[string]{}} }

// NewHashFromListpack returns a hash that adopts lp, a valid listpack of
// field/value pairs with distinct fields.
func NewHashFromListpack(lp []byte) *Hash { return &Hash{lp: lp} }

// Encoding returns the OBJECT ENCODING of h.
func (h *Hash) Encoding() keyspace.Encoding {
	if h.ht != nil {
		return keyspace.EncHashtable
	}
	return keyspace.EncListpack
}

// Listpack returns the listpack of a listpack-encoded hash, or nil. It
// aliases h.
func (h *Hash) Listpack() []byte {
	if h.ht != nil {
		return nil
	}
	return h.lp
}

// Len returns the number of fields.
func (h *Hash) Len() int {
	if h.ht != nil {
		return h.ht.Len()
	}
	return listpack.Len(h.lp) / 2
}

// findField returns the position of field's entry in the listpack, or -1.
func (h *Hash) findField(field []byte) int {
	p := listpack.First(h.lp)
	if p < 0 {
		return -1
	}
	return listpack.Find(h.lp, p, field, 1)
}

// Get returns field's value.
func (h *Hash) Get(field []byte) (Str, bool) {
	if h.ht != nil {
		v := h.ht.Get(bstr(field))
		if v == nil {
			return Str{}, false
		}
		return strOfString(*v), true
	}
	p := h.findField(field)
	if p < 0 {
		return Str{}, false
	}
	return listpack.Get(h.lp, listpack.Next(h.lp, p)), true
}

// Exists reports whether field is present.
func (h *Hash) Exists(field []byte) bool {
	_, ok := h.Get(field)
	return ok
}

// Set stores field=value, converting to a hashtable as Redis's hashTypeSet
// does (a field or value longer than the value limit, or more fields than
// the entries limit), and reports whether the field is new.
func (h *Hash) Set(field, value []byte, lim *Limits) bool {
	if h.ht == nil {
		if len(field) > lim.HashMaxListpackValue || len(value) > lim.HashMaxListpackValue ||
			!listpack.SafeToAdd(h.lp, len(field)+len(value)) {
			h.convert()
		}
	}
	if h.ht != nil {
		if p := h.ht.Get(bstr(field)); p != nil {
			*p = string(value)
			return false
		}
		// Field and value share one allocation: half the allocator
		// overhead of a big hash.
		kv := concat(field, value)
		h.ht.Set(kv[:len(field)], kv[len(field):])
		return true
	}
	isNew := true
	if p := h.findField(field); p >= 0 {
		h.lp = listpack.Replace(h.lp, listpack.Next(h.lp, p), value)
		isNew = false
	} else {
		h.lp = listpack.Append(h.lp, field)
		h.lp = listpack.Append(h.lp, value)
	}
	// Checked on updates too, as Redis does: the limit may have been
	// lowered since the hash grew.
	if h.Len() > lim.HashMaxListpackEntries {
		h.convert()
	}
	return isNew
}

// Delete removes field and reports whether it was present.
func (h *Hash) Delete(field []byte) bool {
	if h.ht != nil {
		return h.ht.Delete(bstr(field))
	}
	p := h.findField(field)
	if p < 0 {
		return false
	}
	h.lp, _ = listpack.DeleteRange(h.lp, p, 2)
	return true
}

// convert turns a listpack hash into a hashtable.
func (h *Hash) convert() {
	d := &dict.Dict[string]{}
	var field []byte
	var scratch [24]byte
	i := 0
	listpack.Iterate(h.lp, func(e listpack.Entry) bool {
		if i%2 == 0 {
			field = e.Append(field[:0])
		} else {
			kv := concat(field, Bytes(e, scratch[:0]))
			d.Set(kv[:len(field)], kv[len(field):])
		}
		i++
		return true
	})
	h.ht, h.lp = d, nil
}

// Range calls fn for every field and value, in the hash's order, until fn
// returns false. fn must not modify h.
func (h *Hash) Range(fn func(field, value Str) bool) {
	if h.ht != nil {
		for e := range h.ht.All() {
			if !fn(strOfString(e.Key), strOfString(e.Val)) {
				return
			}
		}
		return
	}
	for p := listpack.First(h.lp); p >= 0; {
		f := listpack.Get(h.lp, p)
		p = listpack.Next(h.lp, p)
		v := listpack.Get(h.lp, p)
		if !fn(f, v) {
			return
		}
		p = listpack.Next(h.lp, p)
	}
}

// Scan is HSCAN's walk: a listpack hash is returned whole with cursor 0; a
// hashtable continues from cursor with about count entries.
func (h *Hash) Scan(cursor uint64, count int, fn func(field, value Str)) uint64 {
	if h.ht == nil {
		h.Range(func(f, v Str) bool { fn(f, v); return true })
		return 0
	}
	return h.ht.Scan(cursor, count, func(e *dict.Entry[string]) {
		fn(strOfString(e.Key), strOfString(e.Val))
	})
}

// At returns the i-th field and value in the hash's order (0 <= i < Len).
// It is O(1) for a hashtable and O(n) for a listpack.
func (h *Hash) At(i int) (field, value Str) {
	if h.ht != nil {
		e := h.ht.At(i)
		return strOfString(e.Key), strOfString(e.Val)
	}
	p := listpack.Seek(h.lp, 2*i)
	field = listpack.Get(h.lp, p)
	value = listpack.Get(h.lp, listpack.Next(h.lp, p))
	return field, value
}

// Random returns a uniformly random field and its value; h must not be
// empty.
func (h *Hash) Random(r *rand.Rand) (field, value Str) {
	return h.At(r.IntN(h.Len()))
}

// Clone returns a deep copy of h.
func (h *Hash) Clone() *Hash {
	if h.ht == nil {
		return &Hash{lp: append([]byte(nil), h.lp...)}
	}
	d := &dict.Dict[string]{}
	for e := range h.ht.All() {
		d.Set(e.Key, e.Val) // strings are immutable: sharing them is a copy
	}
	return &Hash{ht: d}
}

// MemoryUsage estimates the bytes h holds.
func (h *Hash) MemoryUsage() int64 {
	if h.ht == nil {
		return int64(cap(h.lp)) + 24
	}
	n := int64(h.ht.MemoryUsage())
	for e := range h.ht.All() {
		n += int64(len(e.Val))
	}
	return n + 24
}
