package types

import (
	"strconv"
	"unsafe"

	"github.com/reefkv/reef/internal/encoding/listpack"
)

// Str is an element read from a collection: an integer when IsInt (compact
// encodings store canonical integers as such), otherwise the bytes Str. Str
// aliases the collection: it is valid until the collection changes.
type Str = listpack.Entry

// StrOf returns a Str viewing b.
func StrOf(b []byte) Str { return Str{Str: b} }

// strOfString returns a Str viewing s without copying.
func strOfString(s string) Str { return Str{Str: unsafe.Slice(unsafe.StringData(s), len(s))} }

// Bytes returns the element's bytes, formatting an integer into scratch.
func Bytes(e Str, scratch []byte) []byte {
	if e.IsInt {
		return strconv.AppendInt(scratch[:0], e.Int, 10)
	}
	return e.Str
}

// Copy returns a copy of the element's bytes that the caller owns.
func Copy(e Str) []byte {
	if e.IsInt {
		return strconv.AppendInt(nil, e.Int, 10)
	}
	return append([]byte(nil), e.Str...)
}

// String returns the element as a string (a copy).
func String(e Str) string {
	if e.IsInt {
		return strconv.FormatInt(e.Int, 10)
	}
	return string(e.Str)
}

// Len returns the length of the element's string form.
func StrLen(e Str) int {
	if e.IsInt {
		var tmp [24]byte
		return len(strconv.AppendInt(tmp[:0], e.Int, 10))
	}
	return len(e.Str)
}

// bstr views b as a string without copying; the string must not outlive b
// or be stored.
func bstr(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// Limits are the encoding thresholds of Redis's configuration.
type Limits struct {
	HashMaxListpackEntries int // hash-max-listpack-entries
	HashMaxListpackValue   int // hash-max-listpack-value
	SetMaxIntsetEntries    int // set-max-intset-entries
	ZSetMaxListpackEntries int // zset-max-listpack-entries
	ZSetMaxListpackValue   int // zset-max-listpack-value
	ListMaxListpackSize    int // list-max-listpack-size (quicklist fill)
}

// DefaultLimits are Redis 7.0's defaults (as Debian's 7.0.15 reports them).
func DefaultLimits() Limits {
	return Limits{
		HashMaxListpackEntries: 512,
		HashMaxListpackValue:   64,
		SetMaxIntsetEntries:    512,
		ZSetMaxListpackEntries: 128,
		ZSetMaxListpackValue:   64,
		ListMaxListpackSize:    -2,
	}
}

// concat returns a and b joined in one new string, so that two strings cut
// from it cost one allocation.
func concat(a, b []byte) string {
	buf := make([]byte, len(a)+len(b))
	copy(buf, a)
	copy(buf[len(a):], b)
	return unsafe.String(unsafe.SliceData(buf), len(buf))
}

// unsafeBytes views s as bytes; they must not be modified.
func unsafeBytes(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }
