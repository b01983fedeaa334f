package types

import (
	"unsafe"

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
