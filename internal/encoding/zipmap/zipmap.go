package zipmap

import (
	"encoding/binary"
	"errors"
)

const (
	bigLen = 254
	end    = 0xFF
)

// Errors returned by Validate.
var (
	ErrCorrupt = errors.New("zipmap: corrupt")
	ErrEmpty   = errors.New("zipmap: empty")
	ErrCount   = errors.New("zipmap: count mismatch")
)

// readLen decodes a length at p; ok is false if it would overrun lim (the
// offset of the final 0xFF). Like Redis, any first byte >= 254 selects the
// 5-byte form.
func readLen(zm []byte, p, lim int) (n uint64, size int, ok bool) {
	if zm[p] < bigLen {
		return uint64(zm[p]), 1, true
	}
	if p+5 > lim {
		return 0, 0, false
	}
	return uint64(binary.LittleEndian.Uint32(zm[p+1:])), 5, true
}

// Validate walks zm, calling fn (if not nil) for each key/value pair in
// order, and returns the number of pairs. key and value are views into zm.
// An error from fn stops the walk and is returned as is. Like Redis it
// rejects an empty zipmap, a count byte that disagrees (unless 254), and
// anything that overruns or leaves bytes after the terminator.
func Validate(zm []byte, fn func(key, value []byte) error) (int, error) {
	if len(zm) < 2 || zm[len(zm)-1] != end {
		return 0, ErrCorrupt
	}
	lim := len(zm) - 1
	p, n := 1, 0
	for zm[p] != end {
		kl, s, ok := readLen(zm, p, lim)
		if !ok || kl > uint64(lim-p-s) {
			return 0, ErrCorrupt
		}
		p += s
		key := zm[p : p+int(kl)]
		p += int(kl)
		if p >= lim {
			return 0, ErrCorrupt
		}
		vl, s, ok := readLen(zm, p, lim)
		if !ok || p+s >= lim {
			return 0, ErrCorrupt
		}
		p += s
		free := uint64(zm[p])
		p++
		if vl+free > uint64(lim-p) {
			return 0, ErrCorrupt
		}
		val := zm[p : p+int(vl)]
		p += int(vl + free)
		n++
		if fn != nil {
			if err := fn(key, val); err != nil {
				return 0, err
			}
		}
	}
	if p != lim {
		return 0, ErrCorrupt
	}
	if n == 0 {
		return 0, ErrEmpty
	}
	if zm[0] != bigLen && int(zm[0]) != n {
		return 0, ErrCount
	}
	return n, nil
}
