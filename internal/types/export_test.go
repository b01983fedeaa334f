package types_test

import (
	"unsafe"

	"github.com/reefkv/reef/internal/keyspace"
	"github.com/reefkv/reef/internal/types"
)

func hashValue(h *types.Hash) keyspace.Value {
	return keyspace.CollectionValue(keyspace.TypeHash, unsafe.Pointer(h))
}
func setValue(s *types.Set) keyspace.Value {
	return keyspace.CollectionValue(keyspace.TypeSet, unsafe.Pointer(s))
}
func zsetValue(z *types.ZSet) keyspace.Value {
	return keyspace.CollectionValue(keyspace.TypeZSet, unsafe.Pointer(z))
}
func listValue(l *types.List) keyspace.Value {
	return keyspace.CollectionValue(keyspace.TypeList, unsafe.Pointer(l))
}
