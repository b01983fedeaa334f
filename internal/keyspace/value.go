package keyspace

import (
	"strconv"
	"unsafe"

	"github.com/reefkv/reef/internal/rconv"
)

// Type is a value's data type, numbered as Redis's OBJ_* constants.
type Type uint8

// Data types.
const (
	TypeString Type = 0
	TypeList   Type = 1
	TypeSet    Type = 2
	TypeZSet   Type = 3
	TypeHash   Type = 4
)

var typeNames = [...]string{"string", "list", "set", "zset", "hash"}

// String returns the name TYPE replies with.
func (t Type) String() string {
	if int(t) < len(typeNames) {
		return typeNames[t]
	}
	return "none"
}

// Encoding is a value's in-memory representation, numbered as Redis's
// OBJ_ENCODING_* constants (OBJECT ENCODING prints its name).
type Encoding uint8

// Encodings.
const (
	EncRaw        Encoding = 0
	EncInt        Encoding = 1
	EncHashtable  Encoding = 2
	EncZipmap     Encoding = 3
	EncLinkedlist Encoding = 4
	EncZiplist    Encoding = 5
	EncIntset     Encoding = 6
	EncSkiplist   Encoding = 7
	EncEmbstr     Encoding = 8
	EncQuicklist  Encoding = 9
	EncStream     Encoding = 10
	EncListpack   Encoding = 11
)

// encIntOwned is Reef's own encoding, reported as "int": an integer that
// Redis would hold in an object of its own rather than in one of its shared
// integer objects (a COPY of a small integer), so that OBJECT REFCOUNT and
// the access time of the key are the key's own.
const encIntOwned Encoding = 14

// encRawBuf is Reef's own encoding, reported as "raw": a string built by
// APPEND or SETRANGE, kept in a growable buffer so that repeated appends
// cost amortized O(1) like Redis's sds.
const encRawBuf Encoding = 15

var encNames = [...]string{"raw", "int", "hashtable", "zipmap", "linkedlist", "ziplist", "intset", "skiplist", "embstr", "quicklist", "stream", "listpack"}

// String returns the name OBJECT ENCODING replies with.
func (e Encoding) String() string {
	switch e {
	case encRawBuf:
		return "raw"
	case encIntOwned:
		return "int"
	}
	if int(e) < len(encNames) {
		return encNames[e]
	}
	return "unknown"
}

// EmbstrMaxLen is Redis's OBJ_ENCODING_EMBSTR_SIZE_LIMIT: strings up to this
// length are reported as embstr when created whole.
const EmbstrMaxLen = 44

// Value is what a key maps to: 16 bytes, so that a table entry (key string
// plus value) is 32 bytes.
//
// For strings ptr points to the bytes (n is the length) or, for the int
// encoding, to an int64 that INCR updates in place. For collections ptr
// points to the collection (see internal/types); the command layer converts
// it back by Type. meta packs the type (4 bits), the string encoding (4 bits)
// and the LRU/LFU field (24 bits).
type Value struct {
	ptr  unsafe.Pointer
	n    uint32
	meta uint32
}

const lruMask = 1<<24 - 1

func makeMeta(t Type, e Encoding) uint32 { return uint32(t)<<28 | uint32(e)<<24 }

// typeDead marks a table entry that lazy expiry removed during the current
// hold of its slot's lock (see Keyspace.ExpireDelete). Such entries are
// invisible to every Keyspace method and are reaped at unlock.
const typeDead Type = 15

// Dead reports whether v is a lazily expired entry awaiting removal. Code
// that walks a slot's table entries skips dead ones.
func (v Value) Dead() bool { return v.Type() == typeDead }

// StringValue returns a string value that takes ownership of b. enc is
// EncRaw or EncEmbstr (see StringEncodingFor).
func StringValue(b []byte, enc Encoding) Value {
	return Value{ptr: unsafe.Pointer(unsafe.SliceData(b)), n: uint32(len(b)), meta: makeMeta(TypeString, enc)}
}

// IntValue returns an int-encoded string value.
func IntValue(n int64) Value {
	p := new(int64)
	*p = n
	return Value{ptr: unsafe.Pointer(p), meta: makeMeta(TypeString, EncInt)}
}

// OwnedIntValue returns an int-encoded string value that never stands for a
// shared integer object (see encIntOwned).
func OwnedIntValue(n int64) Value {
	v := IntValue(n)
	v.meta = makeMeta(TypeString, encIntOwned)
	return v
}

// OwnedInt reports whether v was made by OwnedIntValue.
func (v Value) OwnedInt() bool {
	return v.Type() == TypeString && Encoding(v.meta>>24&0xF) == encIntOwned
}

// NewString builds a string value from bytes the way Redis's
// tryObjectEncoding does for a value set whole (SET, MSET, ...): canonical
// integers up to 20 characters become int, short strings embstr, others raw.
// The bytes are copied.
func NewString(b []byte) Value {
	if len(b) <= 20 {
		if n, ok := rconv.ParseInt(b); ok {
			return IntValue(n)
		}
	}
	cp := make([]byte, len(b))
	copy(cp, b)
	return StringValue(cp, StringEncodingFor(len(b)))
}

// StringEncodingFor returns embstr or raw for a string of length n created
// whole.
func StringEncodingFor(n int) Encoding {
	if n <= EmbstrMaxLen {
		return EncEmbstr
	}
	return EncRaw
}

// CollectionValue wraps a collection of type t. p must point to the
// collection type internal/types defines for t.
func CollectionValue(t Type, p unsafe.Pointer) Value {
	return Value{ptr: p, meta: makeMeta(t, 0)}
}

// Type returns the value's data type.
func (v Value) Type() Type { return Type(v.meta >> 28) }

// StrEncoding returns the encoding of a string value.
func (v Value) StrEncoding() Encoding {
	switch e := Encoding(v.meta >> 24 & 0xF); e {
	case encRawBuf:
		return EncRaw
	case encIntOwned:
		return EncInt
	default:
		return e
	}
}

// GrowableValue returns a raw string value backed by buf, whose spare
// capacity later appends may use. It takes ownership of buf.
func GrowableValue(buf []byte) Value {
	p := new([]byte)
	*p = buf
	return Value{ptr: unsafe.Pointer(p), meta: makeMeta(TypeString, encRawBuf)}
}

// Growable returns the buffer of a value made by GrowableValue, or nil. The
// caller may append to it and store it back with SetGrowable.
func (v Value) Growable() *[]byte {
	if Encoding(v.meta>>24&0xF) != encRawBuf {
		return nil
	}
	return (*[]byte)(v.ptr)
}

// IsInt reports whether v is an int-encoded string.
func (v Value) IsInt() bool { return v.Type() == TypeString && v.StrEncoding() == EncInt }

// Bytes returns the bytes of a non-int string value. The slice aliases the
// stored value: it is valid while the shard lock is held and the key is not
// modified, and may be modified in place only by the key's writer.
func (v Value) Bytes() []byte {
	if v.ptr == nil {
		return nil
	}
	if b := v.Growable(); b != nil {
		return *b
	}
	return unsafe.Slice((*byte)(v.ptr), v.n)
}

// Int returns the integer of an int-encoded string.
func (v Value) Int() int64 { return *(*int64)(v.ptr) }

// SetInt changes an int-encoded string in place.
func (v Value) SetInt(n int64) { *(*int64)(v.ptr) = n }

// AppendString appends the string form of a string value.
func (v Value) AppendString(dst []byte) []byte {
	if v.IsInt() {
		return strconv.AppendInt(dst, v.Int(), 10)
	}
	return append(dst, v.Bytes()...)
}

// StrLen returns the length of a string value in bytes.
func (v Value) StrLen() int {
	if v.IsInt() {
		var tmp [24]byte
		return len(strconv.AppendInt(tmp[:0], v.Int(), 10))
	}
	return len(v.Bytes())
}

// Ptr returns the collection pointer of a collection value.
func (v Value) Ptr() unsafe.Pointer { return v.ptr }

// LRU returns the 24-bit LRU clock or LFU field.
func (v Value) LRU() uint32 { return v.meta & lruMask }

// WithLRU returns v with its LRU/LFU field set.
func (v Value) WithLRU(lru uint32) Value {
	v.meta = v.meta&^lruMask | lru&lruMask
	return v
}

// touch loads the first byte v refers to, when it refers to any, for
// Keyspace.Prefetch.
func (v Value) touch() byte {
	if v.ptr == nil {
		return 0
	}
	if v.Type() == TypeString && v.n == 0 {
		if e := v.StrEncoding(); e == EncRaw || e == EncEmbstr {
			return 0 // an empty string's pointer need not point into it
		}
	}
	return *(*byte)(v.ptr)
}
