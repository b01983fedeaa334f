package slot

import (
	"bytes"
	"math/bits"
	"strconv"
)

// Count is the number of hash slots in a Redis Cluster.
const Count = 16384

// crcTables[0] is the byte-at-a-time table of CRC-16/XMODEM; crcTables[j]
// gives a byte's contribution once j more zero bytes have followed it, so
// that CRC16 folds eight bytes per step (slicing-by-8). Every key's slot
// is computed on the command path, in standalone mode too (the keyspace
// is split by slot), where Redis computes none: it has to be cheap.
var crcTables [8][256]uint16

func init() {
	// CRC-16/XMODEM: polynomial 0x1021, initial value 0, no reflection.
	for i := 0; i < 256; i++ {
		crc := uint16(i) << 8
		for j := 0; j < 8; j++ {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
		crcTables[0][i] = crc
	}
	for j := 1; j < 8; j++ {
		for i := 0; i < 256; i++ {
			prev := crcTables[j-1][i]
			crcTables[j][i] = prev<<8 ^ crcTables[0][byte(prev>>8)]
		}
	}
}

// CRC16 returns the CRC-16/XMODEM checksum of b.
func CRC16(b []byte) uint16 {
	var crc uint16
	t := &crcTables
	for len(b) >= 8 {
		crc = t[7][byte(crc>>8)^b[0]] ^ t[6][byte(crc)^b[1]] ^
			t[5][b[2]] ^ t[4][b[3]] ^ t[3][b[4]] ^ t[2][b[5]] ^ t[1][b[6]] ^ t[0][b[7]]
		b = b[8:]
	}
	for _, c := range b {
		crc = crc<<8 ^ t[0][byte(crc>>8)^c]
	}
	return crc
}

// HashPart returns the part of key that is hashed: the bytes between the first
// '{' and the first '}' after it, when that is non-empty; otherwise the key.
func HashPart(key []byte) []byte {
	i := bytes.IndexByte(key, '{')
	if i < 0 {
		return key
	}
	j := bytes.IndexByte(key[i+1:], '}')
	if j <= 0 {
		return key // no '}', or "{}"
	}
	return key[i+1 : i+1+j]
}

// Of returns the hash slot of key.
func Of(key []byte) int {
	return int(CRC16(HashPart(key)) & (Count - 1))
}

// OfString returns the hash slot of key.
func OfString(key string) int {
	return Of([]byte(key))
}

// Set is a set of slots, one bit per slot. Its byte layout is the one the
// cluster bus uses (bit i of byte i/8, least significant first).
type Set [Count / 8]byte

// Add puts s in the set.
func (b *Set) Add(s int) { b[s>>3] |= 1 << (s & 7) }

// Remove takes s out of the set.
func (b *Set) Remove(s int) { b[s>>3] &^= 1 << (s & 7) }

// Has reports whether s is in the set.
func (b *Set) Has(s int) bool { return b[s>>3]&(1<<(s&7)) != 0 }

// Len returns the number of slots in the set.
func (b *Set) Len() int {
	n := 0
	for _, c := range b {
		n += bits.OnesCount8(c)
	}
	return n
}

// Empty reports whether the set has no slots.
func (b *Set) Empty() bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// Range is an inclusive slot interval.
type Range struct{ Start, End int }

// Ranges returns the set as ascending inclusive intervals.
func (b *Set) Ranges() []Range {
	var out []Range
	start := -1
	for s := 0; s <= Count; s++ {
		in := s < Count && b.Has(s)
		if in && start < 0 {
			start = s
		} else if !in && start >= 0 {
			out = append(out, Range{start, s - 1})
			start = -1
		}
	}
	return out
}

// AppendRanges appends the set in CLUSTER NODES form: "0-5460 5462", single
// slots without a dash, ranges separated by spaces.
func (b *Set) AppendRanges(dst []byte) []byte {
	for i, r := range b.Ranges() {
		if i > 0 {
			dst = append(dst, ' ')
		}
		dst = strconv.AppendInt(dst, int64(r.Start), 10)
		if r.End != r.Start {
			dst = append(dst, '-')
			dst = strconv.AppendInt(dst, int64(r.End), 10)
		}
	}
	return dst
}
