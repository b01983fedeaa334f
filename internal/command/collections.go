package command

import "github.com/reefkv/reef/internal/keyspace"

// collectionEncoding returns the encoding of a list, set, sorted set or hash
// value.
func collectionEncoding(v keyspace.Value) keyspace.Encoding {
	switch v.Type() {
	default:
		return keyspace.EncRaw
	}
}

// cloneCollection deep-copies a collection value.
func cloneCollection(v keyspace.Value) keyspace.Value {
	switch v.Type() {
	default:
		return v
	}
}

// collectionMemory estimates the bytes a collection value holds.
func collectionMemory(v keyspace.Value) int64 {
	switch v.Type() {
	default:
		return 0
	}
}

// collectionSerializedLength is the RDB length of a collection value.
func collectionSerializedLength(v keyspace.Value) int64 {
	switch v.Type() {
	default:
		return 0
	}
}
