package lzf

import (
	"errors"
	"slices"
	"sync"
)

// Format limits of liblzf.
const (
	maxLit = 1 << 5          // longest literal run
	maxOff = 1 << 13         // farthest back-reference distance
	maxRef = (1 << 8) + 1<<3 // longest back-reference: 264 bytes
	hLog   = 16              // hash table size as Redis builds liblzf
	hSize  = 1 << hLog
)

// MaxExpansion is the largest ratio between decompressed and compressed
// sizes any LZF stream can reach: a 3-byte back-reference yields 264 bytes.
// Callers use it to reject declared lengths before allocating.
const MaxExpansion = maxRef / 3

// Errors returned by Decompress.
var (
	ErrCorrupt  = errors.New("lzf: corrupt input")
	ErrTooLarge = errors.New("lzf: declared length cannot come from this input")
)

// table is the compressor's hash table. Instead of clearing 256 KiB on every
// call, entries hold base+position: an entry is live only if it is above the
// table's base, and base moves past every position used by earlier calls.
// Position 0 is stored as base itself, i.e. as "empty", which reproduces
// liblzf's rule that position 0 is never the target of a back-reference.
type table struct {
	base uint32
	slot [hSize]uint32
}

var tablePool = sync.Pool{New: func() any { return new(table) }}

func hash(b []byte, p int) uint32 {
	// ((b[p]<<8 | b[p+1]) - 5*(b[p+1]<<8 | b[p+2])) mod 2^16, liblzf's
	// VERY_FAST hash with HLOG 16 once its macros are unfolded.
	v := uint32(b[p])<<8 | uint32(b[p+1])
	w := uint32(b[p+1])<<8 | uint32(b[p+2])
	return (v - 5*w) & (hSize - 1)
}

// Compress appends the LZF encoding of src to dst, as Redis's lzf_compress
// would produce it with an output buffer of limit bytes. It returns the
// extended slice and true, or dst unchanged and false when the output would
// not fit in limit bytes (Redis then stores the data uncompressed).
// Inputs shorter than 3 bytes are never compressible, as in Redis, whose
// callers only try inputs longer than 20 bytes.
func Compress(dst, src []byte, limit int) ([]byte, bool) {
	n := len(src)
	if n < 3 || limit <= 0 {
		// liblzf would emit a literal run for 1-2 bytes; Redis never asks.
		return dst, false
	}
	t := tablePool.Get().(*table)
	defer tablePool.Put(t)
	if uint64(t.base)+uint64(n)+1 >= 1<<32 {
		clear(t.slot[:])
		t.base = 0
	}
	base := t.base
	t.base += uint32(n) + 1

	start := len(dst)
	out := append(dst, 0) // header of the current literal run
	hdr := start
	lit := 0
	p := 0
	olen := func() int { return len(out) - start }
	for p < n-2 {
		h := hash(src, p)
		ref := int64(t.slot[h]) - int64(base)
		t.slot[h] = base + uint32(p)
		off := p - int(ref) - 1
		if ref > 0 && off < maxOff && src[ref] == src[p] && src[ref+1] == src[p+1] && src[ref+2] == src[p+2] {
			r := int(ref)
			o := olen()
			litAdj := 0
			if lit == 0 {
				litAdj = 1
			}
			if o+4 >= limit && o-litAdj+4 >= limit {
				return out[:start], false
			}
			if lit > 0 {
				out[hdr] = byte(lit - 1)
			} else {
				out = out[:len(out)-1] // drop the unused header byte
			}
			maxlen := n - p - 2
			if maxlen > maxRef {
				maxlen = maxRef
			}
			m := matchLen(src, r, p, maxlen)
			l := m - 2
			if l < 7 {
				out = append(out, byte(l<<5|off>>8), byte(off))
			} else {
				out = append(out, byte(0xe0|off>>8), byte(l-7), byte(off))
			}
			hdr = len(out)
			out = append(out, 0)
			lit = 0
			p += m
			if p >= n-2 {
				break
			}
			t.slot[hash(src, p-2)] = base + uint32(p-2)
			t.slot[hash(src, p-1)] = base + uint32(p-1)
			continue
		}
		if olen() >= limit {
			return out[:start], false
		}
		out = append(out, src[p])
		lit++
		p++
		if lit == maxLit {
			out[hdr] = maxLit - 1
			hdr = len(out)
			out = append(out, 0)
			lit = 0
		}
	}
	if olen()+3 > limit {
		return out[:start], false
	}
	for p < n {
		out = append(out, src[p])
		lit++
		p++
		if lit == maxLit {
			out[hdr] = maxLit - 1
			hdr = len(out)
			out = append(out, 0)
			lit = 0
		}
	}
	if lit > 0 {
		out[hdr] = byte(lit - 1)
	} else {
		out = out[:len(out)-1]
	}
	return out, true
}

// matchLen measures a match of at least 3 bytes at p against r the way
// liblzf's unrolled loop does. With maxlen > 16 the first 16 steps compare
// without checking the bound, and a full run of them adds one more byte
// unchecked; with maxlen <= 16 the third byte is taken unchecked. The result
// can therefore exceed maxlen by one or two bytes near the end of the input,
// and Redis's output depends on that. The unchecked reads stay inside src
// because maxlen leaves at least two bytes after p+maxlen.
func matchLen(src []byte, r, p, maxlen int) int {
	m := 2
	if maxlen > 16 {
		for i := 0; i < 16; i++ {
			m++
			if src[r+m] != src[p+m] {
				return m
			}
		}
		m++
	} else {
		m++
	}
	for m < maxlen && src[r+m] == src[p+m] {
		m++
	}
	return m
}

// Decompress appends to dst the decompression of src, which must expand to
// exactly outLen bytes. It returns an error, leaving dst's contents beyond
// its length unspecified, if src is not a valid LZF stream of that length.
// outLen larger than MaxExpansion*len(src) is refused up front.
func Decompress(dst, src []byte, outLen int) ([]byte, error) {
	if outLen < 0 || outLen > MaxExpansion*len(src) {
		return dst, ErrTooLarge
	}
	start := len(dst)
	out := slices.Grow(dst, outLen)
	end := start + outLen
	for i := 0; i < len(src); {
		c := int(src[i])
		i++
		if c < maxLit {
			run := c + 1
			if i+run > len(src) || len(out)+run > end {
				return dst, ErrCorrupt
			}
			out = append(out, src[i:i+run]...)
			i += run
			continue
		}
		l := c >> 5
		if l == 7 {
			if i >= len(src) {
				return dst, ErrCorrupt
			}
			l += int(src[i])
			i++
		}
		if i >= len(src) {
			return dst, ErrCorrupt
		}
		ref := len(out) - (c&0x1f)<<8 - int(src[i]) - 1
		i++
		l += 2
		if ref < start || len(out)+l > end {
			return dst, ErrCorrupt
		}
		if len(out)-ref >= l {
			out = append(out, out[ref:ref+l]...)
		} else {
			// The source overlaps what is being written, which is how LZF
			// encodes runs: copy byte by byte.
			for k := 0; k < l; k++ {
				out = append(out, out[ref+k])
			}
		}
	}
	if len(out) != end {
		return dst, ErrCorrupt
	}
	return out, nil
}
