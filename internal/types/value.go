package types

import (
	"unsafe"

	"github.com/reefkv/reef/internal/dict"
	"github.com/reefkv/reef/internal/keyspace"
)

// Conversions between a collection and the keyspace.Value that holds it,
// the one place the unsafe pointer casts live. The ...Of functions expect
// the caller to have checked v.Type().

// HashOf returns the hash v holds.
func HashOf(v *keyspace.Value) *Hash { return (*Hash)(v.Ptr()) }

// SetOf returns the set v holds.
func SetOf(v *keyspace.Value) *Set { return (*Set)(v.Ptr()) }

// ZSetOf returns the sorted set v holds.
func ZSetOf(v *keyspace.Value) *ZSet { return (*ZSet)(v.Ptr()) }

// ListOf returns the list v holds.
func ListOf(v *keyspace.Value) *List { return (*List)(v.Ptr()) }

// HashValue wraps h in a keyspace value.
func HashValue(h *Hash) keyspace.Value {
	return keyspace.CollectionValue(keyspace.TypeHash, unsafe.Pointer(h))
}

// SetValue wraps s in a keyspace value.
func SetValue(s *Set) keyspace.Value {
	return keyspace.CollectionValue(keyspace.TypeSet, unsafe.Pointer(s))
}

// ZSetValue wraps z in a keyspace value.
func ZSetValue(z *ZSet) keyspace.Value {
	return keyspace.CollectionValue(keyspace.TypeZSet, unsafe.Pointer(z))
}

// ListValue wraps l in a keyspace value.
func ListValue(l *List) keyspace.Value {
	return keyspace.CollectionValue(keyspace.TypeList, unsafe.Pointer(l))
}

// MemberDict returns the hash table holding the members of a set, the
// fields of a hash or the members of a sorted set, or nil for other values
// and for the compact encodings, for keyspace.Prefetch. REQUIRES: v's slot
// locked.
func MemberDict(v keyspace.Value) dict.Prefetcher {
	switch v.Type() {
	case keyspace.TypeSet:
		if s := SetOf(&v); s.ht != nil {
			return s.ht
		}
	case keyspace.TypeHash:
		if h := HashOf(&v); h.ht != nil {
			return h.ht
		}
	case keyspace.TypeZSet:
		if z := ZSetOf(&v); z.d != nil {
			return z.d
		}
	}
	return nil
}
