package ziplist

import (
	"encoding/binary"
	"errors"
	"strconv"
)

// Layout constants.
const (
	HeaderSize   = 10
	end          = 0xFF
	bigPrevLen   = 0xFE
	unknownCount = 0xFFFF
)

// Entry is one element: an integer when IsInt, otherwise the string Str, a
// view into the ziplist.
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

// Errors returned by Validate, wrapped in *ValidationError.
var (
	ErrHeader  = errors.New("ziplist: bad header")
	ErrEntry   = errors.New("ziplist: bad entry")
	ErrPrevLen = errors.New("ziplist: prevlen mismatch")
	ErrTail    = errors.New("ziplist: zltail does not point to the last entry")
	ErrCount   = errors.New("ziplist: element count mismatch")
)

// ValidationError reports where a ziplist failed validation.
type ValidationError struct {
	Offset int
	Err    error
}

func (e *ValidationError) Error() string {
	return e.Err.Error() + " at offset " + strconv.Itoa(e.Offset)
}

func (e *ValidationError) Unwrap() error { return e.Err }

// decode reads the entry at p, bounded by lim (the offset of the final
// 0xFF). It returns the entry, the prevlen field's value and the entry's
// total size, or ok=false if the entry is malformed or overruns.
func decode(zl []byte, p, lim int) (e Entry, prevLen uint64, size int, ok bool) {
	q := p
	if zl[q] < bigPrevLen {
		prevLen = uint64(zl[q])
		q++
	} else {
		if q+5 > lim {
			return e, 0, 0, false
		}
		prevLen = uint64(binary.LittleEndian.Uint32(zl[q+1:]))
		q += 5
	}
	if q >= lim {
		return e, 0, 0, false
	}
	c := zl[q]
	var n int
	switch c >> 6 {
	case 0: // 00pppppp: string up to 63 bytes
		n = int(c & 0x3f)
		q++
	case 1: // 01pppppp qqqqqqqq: 14-bit length, big endian
		if q+2 > lim {
			return e, 0, 0, false
		}
		n = int(c&0x3f)<<8 | int(zl[q+1])
		q += 2
	case 2: // 10______ + 4 bytes big endian
		if q+5 > lim {
			return e, 0, 0, false
		}
		l := uint64(binary.BigEndian.Uint32(zl[q+1:]))
		if l > uint64(lim) {
			return e, 0, 0, false
		}
		n = int(l)
		q += 5
	default:
		var w int
		switch {
		case c == 0xC0:
			w = 2
		case c == 0xD0:
			w = 4
		case c == 0xE0:
			w = 8
		case c == 0xF0:
			w = 3
		case c == 0xFE:
			w = 1
		case c >= 0xF1 && c <= 0xFD:
			return Entry{Int: int64(c&0x0f) - 1, IsInt: true}, prevLen, q + 1 - p, true
		default:
			return e, 0, 0, false
		}
		q++
		if q+w > lim {
			return e, 0, 0, false
		}
		b := zl[q : q+w]
		var v int64
		switch w {
		case 1:
			v = int64(int8(b[0]))
		case 2:
			v = int64(int16(binary.LittleEndian.Uint16(b)))
		case 3:
			v = int64(int32(uint32(b[0])<<8|uint32(b[1])<<16|uint32(b[2])<<24) >> 8)
		case 4:
			v = int64(int32(binary.LittleEndian.Uint32(b)))
		case 8:
			v = int64(binary.LittleEndian.Uint64(b))
		}
		return Entry{Int: v, IsInt: true}, prevLen, q + w - p, true
	}
	if q+n > lim {
		return e, 0, 0, false
	}
	return Entry{Str: zl[q : q+n]}, prevLen, q + n - p, true
}

// Validate checks zl deeply and returns its number of entries, calling fn
// (if not nil) for each entry in order; an error from fn stops validation
// and is returned as is. Checks: header size, zlbytes, terminator, each
// entry's encoding and bounds, each prevlen against the previous entry's
// size, zltail, and zllen unless it is 65535 ("unknown").
func Validate(zl []byte, fn func(Entry) error) (int, error) {
	bad := func(off int, err error) (int, error) { return 0, &ValidationError{off, err} }
	if len(zl) < HeaderSize+1 || int(binary.LittleEndian.Uint32(zl)) != len(zl) || zl[len(zl)-1] != end {
		return bad(0, ErrHeader)
	}
	lim := len(zl) - 1
	p, prev, prevSize, n := HeaderSize, -1, 0, 0
	for zl[p] != end {
		e, pl, size, ok := decode(zl, p, lim)
		if !ok {
			return bad(p, ErrEntry)
		}
		if pl != uint64(prevSize) {
			return bad(p, ErrPrevLen)
		}
		if fn != nil {
			if err := fn(e); err != nil {
				return 0, err
			}
		}
		prev, prevSize = p, size
		p += size
		n++
	}
	if p != lim {
		return bad(p, ErrEntry)
	}
	if prev >= 0 && int(binary.LittleEndian.Uint32(zl[4:])) != prev {
		return bad(4, ErrTail)
	}
	if c := int(binary.LittleEndian.Uint16(zl[8:])); c != unknownCount && c != n {
		return bad(8, ErrCount)
	}
	return n, nil
}

// Iterate calls fn for each entry in order until it returns false. zl must
// have passed Validate.
func Iterate(zl []byte, fn func(Entry) bool) {
	lim := len(zl) - 1
	for p := HeaderSize; zl[p] != end; {
		e, _, size, _ := decode(zl, p, lim)
		if !fn(e) {
			return
		}
		p += size
	}
}
