package intset

import (
	"encoding/binary"
	"errors"
	"math"
	"math/rand/v2"
)

// HeaderSize is the size of the encoding and length fields.
const HeaderSize = 8

// Value widths, the values of the encoding field.
const (
	Enc16 = 2
	Enc32 = 4
	Enc64 = 8
)

// New returns an empty 16-bit intset.
func New() []byte { return []byte{Enc16, 0, 0, 0, 0, 0, 0, 0} }

// Encoding returns the width in bytes of each value (2, 4 or 8).
func Encoding(is []byte) int { return int(binary.LittleEndian.Uint32(is)) }

// Len returns the number of values.
func Len(is []byte) int { return int(binary.LittleEndian.Uint32(is[4:])) }

// valueEncoding is the narrowest width that holds v, Redis's _intsetValueEncoding.
func valueEncoding(v int64) int {
	switch {
	case v < math.MinInt32 || v > math.MaxInt32:
		return Enc64
	case v < math.MinInt16 || v > math.MaxInt16:
		return Enc32
	}
	return Enc16
}

func get(is []byte, enc, i int) int64 {
	off := HeaderSize + i*enc
	switch enc {
	case Enc64:
		return int64(binary.LittleEndian.Uint64(is[off:]))
	case Enc32:
		return int64(int32(binary.LittleEndian.Uint32(is[off:])))
	}
	return int64(int16(binary.LittleEndian.Uint16(is[off:])))
}

func set(is []byte, enc, i int, v int64) {
	off := HeaderSize + i*enc
	switch enc {
	case Enc64:
		binary.LittleEndian.PutUint64(is[off:], uint64(v))
	case Enc32:
		binary.LittleEndian.PutUint32(is[off:], uint32(v))
	default:
		binary.LittleEndian.PutUint16(is[off:], uint16(v))
	}
}

// Get returns the value at index i (0 <= i < Len).
func Get(is []byte, i int) int64 { return get(is, Encoding(is), i) }

// Min returns the smallest value; the intset must not be empty.
func Min(is []byte) int64 { return Get(is, 0) }

// Max returns the largest value; the intset must not be empty.
func Max(is []byte) int64 { return Get(is, Len(is)-1) }

// Search returns the index of v and true, or the index where v would be
// inserted and false.
func Search(is []byte, v int64) (int, bool) {
	enc, n := Encoding(is), Len(is)
	if n == 0 {
		return 0, false
	}
	// The ends first, like Redis: appending in order is the common case.
	if v > get(is, enc, n-1) {
		return n, false
	}
	if v < get(is, enc, 0) {
		return 0, false
	}
	lo, hi := 0, n-1
	for lo <= hi {
		mid := int(uint(lo+hi) >> 1)
		cur := get(is, enc, mid)
		switch {
		case v > cur:
			lo = mid + 1
		case v < cur:
			hi = mid - 1
		default:
			return mid, true
		}
	}
	return lo, false
}

// Contains reports whether v is in the set.
func Contains(is []byte, v int64) bool {
	if valueEncoding(v) > Encoding(is) {
		return false
	}
	_, ok := Search(is, v)
	return ok
}

func resize(is []byte, enc, n int) []byte {
	size := HeaderSize + enc*n
	if size <= cap(is) {
		return is[:size]
	}
	nb := make([]byte, size, size+size/4+8)
	copy(nb, is)
	return nb
}

// Add inserts v and reports whether it was added (false if present).
func Add(is []byte, v int64) ([]byte, bool) {
	enc, n := Encoding(is), Len(is)
	if venc := valueEncoding(v); venc > enc {
		return upgradeAndAdd(is, venc, v), true
	}
	pos, found := Search(is, v)
	if found {
		return is, false
	}
	is = resize(is, enc, n+1)
	copy(is[HeaderSize+(pos+1)*enc:], is[HeaderSize+pos*enc:HeaderSize+n*enc])
	set(is, enc, pos, v)
	binary.LittleEndian.PutUint32(is[4:], uint32(n+1))
	return is, true
}

// upgradeAndAdd widens every value to venc and adds v, which is out of the
// old range and therefore goes first (negative) or last (positive).
func upgradeAndAdd(is []byte, venc int, v int64) []byte {
	enc, n := Encoding(is), Len(is)
	prepend := 0
	if v < 0 {
		prepend = 1
	}
	is = resize(is, venc, n+1)
	// Back to front, so nothing is overwritten before it is read.
	for i := n - 1; i >= 0; i-- {
		set(is, venc, i+prepend, get(is, enc, i))
	}
	binary.LittleEndian.PutUint32(is, uint32(venc))
	if prepend == 1 {
		set(is, venc, 0, v)
	} else {
		set(is, venc, n, v)
	}
	binary.LittleEndian.PutUint32(is[4:], uint32(n+1))
	return is
}

// Remove deletes v and reports whether it was present. The width never
// shrinks.
func Remove(is []byte, v int64) ([]byte, bool) {
	enc, n := Encoding(is), Len(is)
	if valueEncoding(v) > enc {
		return is, false
	}
	pos, found := Search(is, v)
	if !found {
		return is, false
	}
	copy(is[HeaderSize+pos*enc:], is[HeaderSize+(pos+1)*enc:HeaderSize+n*enc])
	binary.LittleEndian.PutUint32(is[4:], uint32(n-1))
	return is[:HeaderSize+(n-1)*enc], true
}

// Random returns a uniformly chosen value; the intset must not be empty.
func Random(is []byte, r *rand.Rand) int64 { return Get(is, r.IntN(Len(is))) }

// Errors returned by Validate.
var (
	ErrEncoding = errors.New("intset: bad encoding")
	ErrSize     = errors.New("intset: size does not match length")
	ErrEmpty    = errors.New("intset: empty")
	ErrOrder    = errors.New("intset: values not strictly increasing")
)

// Validate checks an intset deeply, like Redis's intsetValidateIntegrity
// with deep sanitization: a known width, a size matching the length, at
// least one value, and strictly increasing values. An empty intset is
// invalid in a payload even though New returns one for building.
func Validate(is []byte) error {
	if len(is) < HeaderSize {
		return ErrSize
	}
	enc := Encoding(is)
	if enc != Enc16 && enc != Enc32 && enc != Enc64 {
		return ErrEncoding
	}
	n := uint64(binary.LittleEndian.Uint32(is[4:]))
	if HeaderSize+n*uint64(enc) != uint64(len(is)) {
		return ErrSize
	}
	if n == 0 {
		return ErrEmpty
	}
	prev := get(is, enc, 0)
	for i := 1; i < int(n); i++ {
		cur := get(is, enc, i)
		if cur <= prev {
			return ErrOrder
		}
		prev = cur
	}
	return nil
}
