package types

import (
	"math/rand/v2"
	"strconv"

	"github.com/reefkv/reef/internal/dict"
	"github.com/reefkv/reef/internal/encoding/intset"
	"github.com/reefkv/reef/internal/encoding/redisnum"
	"github.com/reefkv/reef/internal/keyspace"
)

// Set is a set value: an intset while every member is a canonical integer
// and there are at most set-max-intset-entries of them (Redis's
// OBJ_ENCODING_INTSET), a dict otherwise (OBJ_ENCODING_HT).
type Set struct {
	is []byte
	ht *dict.Dict[struct{}]
}

// NewSetFor returns an empty set with the encoding Redis's setTypeCreate
// picks for a set whose first member is first: intset when first is an
// integer, hashtable otherwise.
func NewSetFor(first []byte) *Set {
	if _, ok := redisnum.ParseInt(first); ok {
		return &Set{is: intset.New()}
	}
	return NewSetTable()
}

// NewIntset returns an empty intset-encoded set.
func NewIntset() *Set { return &Set{is: intset.New()} }

// NewSetTable returns an empty hashtable-encoded set.
func NewSetTable() *Set { return &Set{ht: &dict.Dict[struct{}]{}} }

// NewSetFromIntset returns a set that adopts is, a valid intset.
func NewSetFromIntset(is []byte) *Set { return &Set{is: is} }

// Encoding returns the OBJECT ENCODING of s.
func (s *Set) Encoding() keyspace.Encoding {
	if s.ht != nil {
		return keyspace.EncHashtable
	}
	return keyspace.EncIntset
}

// Intset returns the intset of an intset-encoded set, or nil. It aliases s.
func (s *Set) Intset() []byte {
	if s.ht != nil {
		return nil
	}
	return s.is
}

// Len returns the number of members.
func (s *Set) Len() int {
	if s.ht != nil {
		return s.ht.Len()
	}
	return intset.Len(s.is)
}

// Add inserts member, converting as Redis's setTypeAdd does, and reports
// whether it was new.
func (s *Set) Add(member []byte, lim *Limits) bool {
	if s.ht == nil {
		if v, ok := redisnum.ParseInt(member); ok {
			var added bool
			s.is, added = intset.Add(s.is, v)
			if added && intset.Len(s.is) > lim.SetMaxIntsetEntries {
				s.convert(intset.Len(s.is))
			}
			return added
		}
		s.convert(intset.Len(s.is) + 1)
	}
	if s.ht.GetBytes(member) != nil {
		return false
	}
	s.ht.Set(string(member), struct{}{})
	return true
}

// convert turns an intset into a hashtable.
func (s *Set) convert(sizeHint int) {
	d := &dict.Dict[struct{}]{}
	_ = sizeHint
	n := intset.Len(s.is)
	for i := 0; i < n; i++ {
		d.Set(strconv.FormatInt(intset.Get(s.is, i), 10), struct{}{})
	}
	s.ht, s.is = d, nil
}

// Remove deletes member and reports whether it was present.
func (s *Set) Remove(member []byte) bool {
	if s.ht != nil {
		return s.ht.DeleteBytes(member)
	}
	v, ok := redisnum.ParseInt(member)
	if !ok {
		return false
	}
	var removed bool
	s.is, removed = intset.Remove(s.is, v)
	return removed
}

// Has reports whether member is in s.
func (s *Set) Has(member []byte) bool {
	if s.ht != nil {
		return s.ht.GetBytes(member) != nil
	}
	v, ok := redisnum.ParseInt(member)
	return ok && intset.Contains(s.is, v)
}

// HasStr is Has for an element read from another collection.
func (s *Set) HasStr(e Str) bool {
	if e.IsInt {
		if s.ht == nil {
			return intset.Contains(s.is, e.Int)
		}
		var tmp [24]byte
		return s.ht.GetBytes(strconv.AppendInt(tmp[:0], e.Int, 10)) != nil
	}
	return s.Has(e.Str)
}

// At returns the i-th member in the set's order (0 <= i < Len).
func (s *Set) At(i int) Str {
	if s.ht != nil {
		return strOfString(s.ht.At(i).Key)
	}
	return Str{Int: intset.Get(s.is, i), IsInt: true}
}

// Range calls fn for each member until fn returns false. fn must not modify
// s.
func (s *Set) Range(fn func(m Str) bool) {
	if s.ht != nil {
		for e := range s.ht.All() {
			if !fn(strOfString(e.Key)) {
				return
			}
		}
		return
	}
	n := intset.Len(s.is)
	for i := 0; i < n; i++ {
		if !fn(Str{Int: intset.Get(s.is, i), IsInt: true}) {
			return
		}
	}
}

// Random returns a uniformly random member; s must not be empty.
func (s *Set) Random(r *rand.Rand) Str { return s.At(r.IntN(s.Len())) }

// Pop removes and returns a random member (a copy); s must not be empty.
func (s *Set) Pop(r *rand.Rand) []byte {
	m := Copy(s.Random(r))
	s.Remove(m)
	return m
}

// Scan is SSCAN's walk: an intset is returned whole with cursor 0.
func (s *Set) Scan(cursor uint64, count int, fn func(m Str)) uint64 {
	if s.ht == nil {
		s.Range(func(m Str) bool { fn(m); return true })
		return 0
	}
	return s.ht.Scan(cursor, count, func(e *dict.Entry[struct{}]) { fn(strOfString(e.Key)) })
}

// Clone returns a deep copy of s.
func (s *Set) Clone() *Set {
	if s.ht == nil {
		return &Set{is: append([]byte(nil), s.is...)}
	}
	d := &dict.Dict[struct{}]{}
	for e := range s.ht.All() {
		d.Set(e.Key, struct{}{})
	}
	return &Set{ht: d}
}

// MemoryUsage estimates the bytes s holds.
func (s *Set) MemoryUsage() int64 {
	if s.ht == nil {
		return int64(cap(s.is)) + 24
	}
	return int64(s.ht.MemoryUsage()) + 24
}
