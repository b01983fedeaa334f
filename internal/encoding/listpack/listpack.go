package listpack

import (
	"encoding/binary"
	"errors"
	"strconv"

	"github.com/reefkv/reef/internal/encoding/redisnum"
)

// Layout constants of the format.
const (
	// HeaderSize is the size of total_bytes plus num_elements.
	HeaderSize = 6
	// EOF is the terminator byte, also the first byte of no valid entry.
	EOF = 0xFF
	// UnknownCount is the num_elements value meaning "walk to count".
	UnknownCount = 65535
	// MaxSafeSize is Redis's LISTPACK_MAX_SAFETY_SIZE: callers must not grow
	// a listpack beyond it (see SafeToAdd).
	MaxSafeSize = 1 << 30
)

// Entry encodings (first byte, after masking).
const (
	enc7BitUint   = 0x00 // 0xxxxxxx
	enc6BitStr    = 0x80 // 10xxxxxx
	enc13BitInt   = 0xC0 // 110xxxxx
	enc12BitStr   = 0xE0 // 1110xxxx
	enc32BitStr   = 0xF0
	enc16BitInt   = 0xF1
	enc24BitInt   = 0xF2
	enc32BitInt   = 0xF3
	enc64BitInt   = 0xF4
	maxStrLen     = 1<<32 - 1
	emptyListpack = "\x07\x00\x00\x00\x00\x00\xff"
)

// New returns an empty listpack (7 bytes).
func New() []byte { return []byte(emptyListpack) }

// NewCap returns an empty listpack with room for capacity bytes in total.
func NewCap(capacity int) []byte {
	if capacity < len(emptyListpack) {
		capacity = len(emptyListpack)
	}
	return append(make([]byte, 0, capacity), emptyListpack...)
}

// Entry is one element: an integer when IsInt, otherwise the string Str.
// Str is a view into the listpack; it is valid until the listpack changes.
type Entry struct {
	Str   []byte
	Int   int64
	IsInt bool
}

// Append appends the element's bytes to dst: Str, or the decimal text of Int.
func (e Entry) Append(dst []byte) []byte {
	if e.IsInt {
		return strconv.AppendInt(dst, e.Int, 10)
	}
	return append(dst, e.Str...)
}

// Equal reports whether the element equals s the way Redis's lpCompare and
// lpFind decide it: a string element compares bytes; an integer element
// equals s only if s is the canonical text of the same integer.
func (e Entry) Equal(s []byte) bool {
	if !e.IsInt {
		return string(e.Str) == string(s)
	}
	v, ok := redisnum.ParseInt(s)
	return ok && v == e.Int
}

// Size returns the total_bytes header field.
func Size(lp []byte) int { return int(binary.LittleEndian.Uint32(lp)) }

// Len returns the number of elements, walking the listpack when the header
// says "unknown" (65535 or more elements). Unlike Redis's lpLength it never
// rewrites the header, so reading a listpack never changes its bytes.
func Len(lp []byte) int {
	n := int(binary.LittleEndian.Uint16(lp[4:]))
	if n != UnknownCount {
		return n
	}
	n = 0
	for p := First(lp); p >= 0; p = Next(lp, p) {
		n++
	}
	return n
}

// SafeToAdd reports whether adding add bytes keeps lp within MaxSafeSize,
// Redis's lpSafeToAdd. lp may be nil (a listpack about to be created).
func SafeToAdd(lp []byte, add int) bool {
	return len(lp)+add <= MaxSafeSize
}

// First returns the position of the first element, or -1 if lp is empty.
func First(lp []byte) int {
	if lp[HeaderSize] == EOF {
		return -1
	}
	return HeaderSize
}

// Last returns the position of the last element, or -1 if lp is empty.
func Last(lp []byte) int { return Prev(lp, len(lp)-1) }

// Next returns the position of the element after p, or -1 if p is the last.
func Next(lp []byte, p int) int {
	l := encodedLen(lp, p)
	p += l + backlenSize(l)
	if lp[p] == EOF {
		return -1
	}
	return p
}

// Prev returns the position of the element before p, or -1 if p is the
// first. p may be the position of the terminator (len(lp)-1).
func Prev(lp []byte, p int) int {
	if p <= HeaderSize {
		return -1
	}
	l, n := readBacklen(lp, p-1)
	if n == 0 {
		return -1 // only on a corrupt listpack; stops a backward walk
	}
	return p - n - int(l)
}

// Seek returns the position of the element at index, or -1 if out of range.
// A negative index counts from the end (-1 is the last element). It walks
// from whichever end is closer when the count is known.
func Seek(lp []byte, index int) int {
	n := Len(lp)
	if index < 0 {
		index += n
	}
	if index < 0 || index >= n {
		return -1
	}
	if index > n/2 {
		p := Last(lp)
		for i := n - 1; i > index; i-- {
			p = Prev(lp, p)
		}
		return p
	}
	p := HeaderSize
	for i := 0; i < index; i++ {
		p = Next(lp, p)
	}
	return p
}

// Get returns the element at position p.
func Get(lp []byte, p int) Entry {
	b := lp[p]
	switch {
	case b&0x80 == 0:
		return Entry{Int: int64(b), IsInt: true}
	case b&0xC0 == enc6BitStr:
		n := int(b & 0x3f)
		return Entry{Str: lp[p+1 : p+1+n]}
	case b&0xE0 == enc13BitInt:
		u := int64(b&0x1f)<<8 | int64(lp[p+1])
		if u >= 1<<12 {
			u -= 1 << 13
		}
		return Entry{Int: u, IsInt: true}
	case b&0xF0 == enc12BitStr:
		n := int(b&0x0f)<<8 | int(lp[p+1])
		return Entry{Str: lp[p+2 : p+2+n]}
	}
	switch b {
	case enc16BitInt:
		return Entry{Int: int64(int16(binary.LittleEndian.Uint16(lp[p+1:]))), IsInt: true}
	case enc24BitInt:
		u := uint32(lp[p+1]) | uint32(lp[p+2])<<8 | uint32(lp[p+3])<<16
		return Entry{Int: int64(int32(u<<8) >> 8), IsInt: true}
	case enc32BitInt:
		return Entry{Int: int64(int32(binary.LittleEndian.Uint32(lp[p+1:]))), IsInt: true}
	case enc64BitInt:
		return Entry{Int: int64(binary.LittleEndian.Uint64(lp[p+1:])), IsInt: true}
	case enc32BitStr:
		n := int(binary.LittleEndian.Uint32(lp[p+1:]))
		return Entry{Str: lp[p+5 : p+5+n]}
	}
	return Entry{} // unreachable on a valid listpack
}

// encodedLen returns the size of the encoding byte(s) plus data of the entry
// at p, not counting its backlen. The entry is assumed valid.
func encodedLen(lp []byte, p int) int {
	b := lp[p]
	switch {
	case b&0x80 == 0:
		return 1
	case b&0xC0 == enc6BitStr:
		return 1 + int(b&0x3f)
	case b&0xE0 == enc13BitInt:
		return 2
	case b&0xF0 == enc12BitStr:
		return 2 + (int(b&0x0f)<<8 | int(lp[p+1]))
	}
	switch b {
	case enc16BitInt:
		return 3
	case enc24BitInt:
		return 4
	case enc32BitInt:
		return 5
	case enc64BitInt:
		return 9
	case enc32BitStr:
		return 5 + int(binary.LittleEndian.Uint32(lp[p+1:]))
	}
	return 1
}

// backlenSize returns how many bytes the backlen of an l-byte entry takes.
func backlenSize(l int) int {
	switch {
	case l <= 127:
		return 1
	case l < 16383:
		return 2
	case l < 2097151:
		return 3
	case l < 268435455:
		return 4
	}
	return 5
}

// appendBacklen writes l so that it can be read backwards from its last
// byte: the first byte holds the top bits with bit 7 clear, every later byte
// has bit 7 set.
func appendBacklen(dst []byte, l int) []byte {
	n := backlenSize(l)
	for i := n - 1; i >= 0; i-- {
		b := byte(l>>(7*i)) & 127
		if i != n-1 {
			b |= 128
		}
		dst = append(dst, b)
	}
	return dst
}

// readBacklen decodes the backlen whose last byte is at q, reading
// backwards. It returns the value and the number of bytes it used; n is 0
// when the bytes run out or the value needs more than 5 bytes.
func readBacklen(lp []byte, q int) (v uint64, n int) {
	var shift uint
	for q >= 0 {
		b := lp[q]
		v |= uint64(b&127) << shift
		n++
		if b&128 == 0 {
			return v, n
		}
		shift += 7
		q--
		if shift > 28 {
			return 0, 0
		}
	}
	return 0, 0
}

// intEncoding returns the encoding byte and size for v, Redis's
// lpEncodeIntegerGetType.
func intEncoding(v int64) (enc byte, size int) {
	switch {
	case v >= 0 && v <= 127:
		return enc7BitUint, 1
	case v >= -4096 && v <= 4095:
		return enc13BitInt, 2
	case v >= -32768 && v <= 32767:
		return enc16BitInt, 3
	case v >= -8388608 && v <= 8388607:
		return enc24BitInt, 4
	case v >= -2147483648 && v <= 2147483647:
		return enc32BitInt, 5
	}
	return enc64BitInt, 9
}

// entrySize returns the full size (with backlen) the element would take.
func entrySize(s []byte, v int64, isInt bool) int {
	var l int
	if isInt {
		_, l = intEncoding(v)
	} else {
		switch n := len(s); {
		case n < 64:
			l = 1 + n
		case n < 4096:
			l = 2 + n
		default:
			l = 5 + n
		}
	}
	return l + backlenSize(l)
}

// putEntry writes the element with its backlen at dst[0:], which must have
// room for entrySize bytes.
func putEntry(dst []byte, s []byte, v int64, isInt bool) {
	out := dst[:0]
	if isInt {
		enc, l := intEncoding(v)
		switch enc {
		case enc7BitUint:
			out = append(out, byte(v))
		case enc13BitInt:
			u := uint16(v) & 0x1fff
			out = append(out, enc13BitInt|byte(u>>8), byte(u))
		case enc16BitInt:
			out = append(out, enc, byte(v), byte(v>>8))
		case enc24BitInt:
			out = append(out, enc, byte(v), byte(v>>8), byte(v>>16))
		case enc32BitInt:
			out = binary.LittleEndian.AppendUint32(append(out, enc), uint32(v))
		default:
			out = binary.LittleEndian.AppendUint64(append(out, enc), uint64(v))
		}
		appendBacklen(out, l)
		return
	}
	n := len(s)
	switch {
	case n < 64:
		out = append(out, enc6BitStr|byte(n))
	case n < 4096:
		out = append(out, enc12BitStr|byte(n>>8), byte(n))
	default:
		out = binary.LittleEndian.AppendUint32(append(out, enc32BitStr), uint32(n))
	}
	l := len(out) + n
	out = append(out, s...)
	appendBacklen(out, l)
}

func classify(s []byte) (int64, bool) { return redisnum.ParseInt(s) }

func setHeader(lp []byte, countDelta int) {
	binary.LittleEndian.PutUint32(lp, uint32(len(lp)))
	n := int(binary.LittleEndian.Uint16(lp[4:]))
	if n != UnknownCount {
		n += countDelta
		if n > UnknownCount {
			n = UnknownCount
		}
		binary.LittleEndian.PutUint16(lp[4:], uint16(n))
	}
}

// splice replaces lp[p:p+del] by an element, or removes it when put is false.
// It is the single primitive behind every mutation.
func splice(lp []byte, p, del int, s []byte, v int64, isInt, put bool, countDelta int) []byte {
	add := 0
	if put {
		add = entrySize(s, v, isInt)
	}
	if grow := add - del; grow > 0 {
		old := len(lp)
		if cap(lp)-old < grow {
			nb := make([]byte, old+grow, (old+grow)*5/4+16)
			copy(nb, lp[:p])
			copy(nb[p+add:], lp[p+del:])
			lp = nb
		} else {
			lp = lp[:old+grow]
			copy(lp[p+add:], lp[p+del:old])
		}
	} else if grow < 0 {
		copy(lp[p+add:], lp[p+del:])
		lp = lp[:len(lp)+grow]
	}
	if put {
		putEntry(lp[p:p+add:p+add], s, v, isInt)
	}
	setHeader(lp, countDelta)
	return lp
}

// Append adds s at the end, stored as an integer if it is canonical int64
// text. It is amortised O(1) when lp has spare capacity.
func Append(lp, s []byte) []byte {
	v, isInt := classify(s)
	return splice(lp, len(lp)-1, 0, s, v, isInt, true, 1)
}

// AppendInt adds the integer v at the end.
func AppendInt(lp []byte, v int64) []byte {
	return splice(lp, len(lp)-1, 0, nil, v, true, true, 1)
}

// MaxEntryOverhead bounds what an element takes beyond its bytes: an
// element s never takes more than len(s)+MaxEntryOverhead (a 5-byte
// string header and a 5-byte backlen; an integer's entry is at most 10).
const MaxEntryOverhead = 10

// PrependInPlace inserts s as the first element of the listpack
// buf[off:off+n] when the off free bytes before it are enough for the
// entry (at most len(s)+MaxEntryOverhead), and reports whether they were:
// the header moves back by the entry's size and the entry takes the
// header's old place, so no element moves. (Insert at the head moves every
// element: a memmove of the whole node, up to 8 KB, for each LPUSH.) The
// result is a suffix of buf[:off+n] with buf's capacity.
func PrependInPlace(buf []byte, off, n int, s []byte) ([]byte, bool) {
	v, isInt := classify(s)
	size := entrySize(s, v, isInt)
	if size > off {
		return nil, false
	}
	start := off - size
	copy(buf[start:start+HeaderSize], buf[off:off+HeaderSize])
	lp := buf[start : off+n : cap(buf)]
	putEntry(lp[HeaderSize:HeaderSize+size:HeaderSize+size], s, v, isInt)
	setHeader(lp, 1)
	return lp, true
}

// DeleteFirstInPlace removes the first element of lp, which must have one,
// by moving the header forward over it: no element moves. The result is a
// suffix of lp; the bytes before it stay allocated with lp.
func DeleteFirstInPlace(lp []byte) []byte {
	size := entryTotal(lp, HeaderSize)
	copy(lp[size:size+HeaderSize], lp[:HeaderSize])
	lp = lp[size:]
	setHeader(lp, -1)
	return lp
}

// Insert inserts s before the element at p; p may be len(lp)-1 (the
// terminator) to append. The new element is at position p in the result.
func Insert(lp []byte, p int, s []byte) []byte {
	v, isInt := classify(s)
	return splice(lp, p, 0, s, v, isInt, true, 1)
}

// InsertInt inserts the integer v before the element at p (see Insert).
func InsertInt(lp []byte, p int, v int64) []byte {
	return splice(lp, p, 0, nil, v, true, true, 1)
}

// Replace replaces the element at p with s; it stays at position p.
func Replace(lp []byte, p int, s []byte) []byte {
	v, isInt := classify(s)
	return splice(lp, p, entryTotal(lp, p), s, v, isInt, true, 0)
}

// ReplaceInt replaces the element at p with the integer v.
func ReplaceInt(lp []byte, p int, v int64) []byte {
	return splice(lp, p, entryTotal(lp, p), nil, v, true, true, 0)
}

// Delete removes the element at p. The element that followed it, if any, is
// now at position p (check lp[p] != EOF).
func Delete(lp []byte, p int) []byte {
	return splice(lp, p, entryTotal(lp, p), nil, 0, false, false, -1)
}

// DeleteRange removes up to count elements starting at position p and
// returns the result and how many were removed.
func DeleteRange(lp []byte, p, count int) ([]byte, int) {
	end, n := p, 0
	for n < count && lp[end] != EOF {
		end += entryTotal(lp, end)
		n++
	}
	if n == 0 {
		return lp, 0
	}
	return splice(lp, p, end-p, nil, 0, false, false, -n), n
}

// Merge returns a listpack holding the elements of a followed by those of b,
// built in a new slice (Redis's lpMerge, used when quicklist nodes merge).
func Merge(a, b []byte) []byte {
	out := make([]byte, 0, len(a)+len(b)-HeaderSize-1)
	out = append(out, a[:len(a)-1]...)
	out = append(out, b[HeaderSize:]...)
	binary.LittleEndian.PutUint32(out, uint32(len(out)))
	na := int(binary.LittleEndian.Uint16(a[4:]))
	nb := int(binary.LittleEndian.Uint16(b[4:]))
	n := na + nb
	if na == UnknownCount || nb == UnknownCount || n > UnknownCount {
		n = UnknownCount
	}
	binary.LittleEndian.PutUint16(out[4:], uint16(n))
	return out
}

// entryTotal is the full size of the entry at p, backlen included.
func entryTotal(lp []byte, p int) int {
	l := encodedLen(lp, p)
	return l + backlenSize(l)
}

// Find returns the position of the first element equal to s (see
// Entry.Equal) at or after p, checking only every (skip+1)-th element, or -1.
// With skip 1 starting at a hash's first field it finds a field without
// matching values, like Redis's lpFind.
func Find(lp []byte, p int, s []byte, skip int) int {
	sv, sIsInt := classify(s)
	for p >= 0 && lp[p] != EOF {
		e := Get(lp, p)
		if e.IsInt {
			if sIsInt && e.Int == sv {
				return p
			}
		} else if string(e.Str) == string(s) {
			return p
		}
		for i := 0; i <= skip; i++ {
			p += entryTotal(lp, p)
			if lp[p] == EOF {
				return -1
			}
		}
	}
	return -1
}

// Iterate calls fn for each element in order until fn returns false. It
// does not allocate.
func Iterate(lp []byte, fn func(Entry) bool) {
	for p := HeaderSize; lp[p] != EOF; p += entryTotal(lp, p) {
		if !fn(Get(lp, p)) {
			return
		}
	}
}

// Errors returned by Validate. They are wrapped with the offending offset.
var (
	ErrHeader   = errors.New("listpack: bad header")
	ErrEntry    = errors.New("listpack: bad entry")
	ErrBacklen  = errors.New("listpack: backlen mismatch")
	ErrCount    = errors.New("listpack: element count mismatch")
	ErrTrailing = errors.New("listpack: terminator not at the end")
)

// ValidationError reports where a listpack failed validation.
type ValidationError struct {
	Offset int
	Err    error
}

func (e *ValidationError) Error() string {
	return e.Err.Error() + " at offset " + strconv.Itoa(e.Offset)
}

func (e *ValidationError) Unwrap() error { return e.Err }

// Validate checks lp deeply, like Redis's lpValidateIntegrity with deep
// sanitization: header size and count, every entry's encoding and bounds,
// every backlen (decoded backwards and compared with the entry size, as
// Redis does), and that the terminator is the last byte. A listpack that passes can be used with every function here.
func Validate(lp []byte) error {
	_, err := ValidateCount(lp)
	return err
}

// ValidateCount is Validate that also returns the number of elements.
func ValidateCount(lp []byte) (int, error) {
	bad := func(off int, err error) (int, error) { return 0, &ValidationError{off, err} }
	if len(lp) < HeaderSize+1 || Size(lp) != len(lp) || lp[len(lp)-1] != EOF {
		return bad(0, ErrHeader)
	}
	end := len(lp) - 1
	p, n := HeaderSize, 0
	for p < end && lp[p] != EOF {
		l, ok := checkedLen(lp[p:end])
		if !ok {
			return bad(p, ErrEntry)
		}
		bl := backlenSize(l)
		if l+bl > end-p {
			return bad(p, ErrEntry)
		}
		// Like Redis, decode the backlen backwards from the entry's last
		// byte and compare values: that is exactly what Prev relies on.
		if v, k := readBacklen(lp, p+l+bl-1); k == 0 || v != uint64(l) {
			return bad(p+l, ErrBacklen)
		}
		p += l + bl
		n++
	}
	if p != end {
		return bad(p, ErrTrailing)
	}
	if c := int(binary.LittleEndian.Uint16(lp[4:])); c != UnknownCount && c != n {
		return bad(4, ErrCount)
	}
	return n, nil
}

// checkedLen is encodedLen with bounds checks against b (the bytes from the
// entry to the terminator, exclusive).
func checkedLen(b []byte) (int, bool) {
	c := b[0]
	var l int
	switch {
	case c&0x80 == 0:
		l = 1
	case c&0xC0 == enc6BitStr:
		l = 1 + int(c&0x3f)
	case c&0xE0 == enc13BitInt:
		l = 2
	case c&0xF0 == enc12BitStr:
		if len(b) < 2 {
			return 0, false
		}
		l = 2 + (int(c&0x0f)<<8 | int(b[1]))
	case c == enc16BitInt:
		l = 3
	case c == enc24BitInt:
		l = 4
	case c == enc32BitInt:
		l = 5
	case c == enc64BitInt:
		l = 9
	case c == enc32BitStr:
		if len(b) < 5 {
			return 0, false
		}
		n := uint64(binary.LittleEndian.Uint32(b[1:]))
		if n+5 > uint64(len(b)) {
			return 0, false
		}
		l = 5 + int(n)
	default:
		return 0, false
	}
	if l > len(b) {
		return 0, false
	}
	return l, true
}
