package command

import (
	"unsafe"

	"github.com/reefkv/reef/internal/keyspace"
)

// EncodingOf returns the encoding OBJECT ENCODING reports for v.
func EncodingOf(v keyspace.Value) keyspace.Encoding { return encodingOf(v) }

func encodingOf(v keyspace.Value) keyspace.Encoding {
	if v.Type() == keyspace.TypeString {
		return v.StrEncoding()
	}
	return collectionEncoding(v)
}

// cloneValue returns a deep copy of v (COPY).
func cloneValue(v keyspace.Value) keyspace.Value {
	if v.Type() == keyspace.TypeString {
		if v.IsInt() {
			// Redis's dupStringObject gives the copy an object of its
			// own, even for a shared integer.
			return keyspace.OwnedIntValue(v.Int())
		}
		b := v.Bytes()
		cp := make([]byte, len(b))
		copy(cp, b)
		return keyspace.StringValue(cp, v.StrEncoding())
	}
	return cloneCollection(v)
}

// unsafeBytes views a string as bytes without copying. The bytes must not
// be modified or kept beyond the string's owner's lock.
func unsafeBytes(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

// MemoryUsage estimates the bytes key and its value occupy (MEMORY USAGE):
// the table entry, the key, and the value's own memory rounded to Go's
// allocation size classes.
func MemoryUsage(key []byte, v keyspace.Value) int64 {
	const entryOverhead = 32 + 11 // dense entry + its share of the index
	n := int64(entryOverhead) + allocSize(len(key))
	if v.Type() == keyspace.TypeString {
		if v.IsInt() {
			return n + 8
		}
		return n + allocSize(len(v.Bytes()))
	}
	return n + collectionMemory(v)
}

// allocSize rounds n up to the allocator's size class granularity.
func allocSize(n int) int64 {
	switch {
	case n == 0:
		return 0
	case n <= 16:
		return 16
	case n <= 128:
		return int64((n + 15) / 16 * 16)
	default:
		return int64((n + 127) / 128 * 128)
	}
}

// SerializedLength is the length of v's RDB encoding, as DEBUG OBJECT
// reports it (serializedlength).
func SerializedLength(v keyspace.Value) int64 {
	if v.Type() == keyspace.TypeString {
		if v.IsInt() {
			n := v.Int()
			switch {
			case n >= -(1<<7) && n < 1<<7:
				return 2
			case n >= -(1<<15) && n < 1<<15:
				return 3
			case n >= -(1<<31) && n < 1<<31:
				return 5
			}
			return int64(1 + v.StrLen())
		}
		l := len(v.Bytes())
		switch {
		case l < 1<<6:
			return int64(1 + l)
		case l < 1<<14:
			return int64(2 + l)
		default:
			return int64(5 + l)
		}
	}
	return collectionSerializedLength(v)
}
