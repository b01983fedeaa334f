package command

import (
	"math"

	"github.com/reefkv/reef/internal/keyspace"
	"github.com/reefkv/reef/internal/rconv"
)

// lcsCommand is LCS key1 key2 [LEN] [IDX] [MINMATCHLEN len] [WITHMATCHLEN]
// with Redis 7.0's dynamic programming table, its backtracking order (which
// decides which of several equally long subsequences is returned) and its
// range emission.
func lcsCommand(c *Ctx) {
	// Take a's content before looking b up: that lookup may delete an
	// expired b from the same slot table, which moves entries.
	var a, b []byte
	wrongType := false
	if va := c.lookupRead(c.Args[1]); va != nil {
		wrongType = va.Type() != keyspace.TypeString
		if !wrongType {
			a = va.AppendString(nil)
		}
	}
	if vb := c.lookupRead(c.Args[2]); vb != nil {
		wrongType = wrongType || vb.Type() != keyspace.TypeString
		if vb.Type() == keyspace.TypeString {
			b = vb.AppendString(nil)
		}
	}
	if wrongType {
		c.Err("ERR The specified keys must contain string values")
		return
	}
	var getLen, getIdx, withMatchLen bool
	var minMatchLen int64
	for j := 3; j < len(c.Args); j++ {
		opt := c.Args[j]
		more := len(c.Args) - 1 - j
		switch {
		case eq(opt, "idx"):
			getIdx = true
		case eq(opt, "len"):
			getLen = true
		case eq(opt, "withmatchlen"):
			withMatchLen = true
		case eq(opt, "minmatchlen") && more > 0:
			n, ok := rconv.ParseInt(c.Args[j+1])
			if !ok {
				c.Err(ErrNotInt)
				return
			}
			minMatchLen = max(n, 0)
			j++
		default:
			c.Err(ErrSyntax)
			return
		}
	}
	if getIdx && getLen {
		c.Err("ERR If you want both the length and indexes, please just use IDX.")
		return
	}
	if len(a) >= math.MaxUint32-1 || len(b) >= math.MaxUint32-1 {
		c.Err("ERR String too long for LCS")
		return
	}
	alen, blen := len(a), len(b)
	// Redis 7.0.15 refuses a table (4 bytes per cell) larger than
	// proto-max-bulk-len.
	cells := uint64(alen+1) * uint64(blen+1)
	if cells*4 > uint64(c.Cfg.ProtoMaxBulkLen) {
		c.Err("ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len")
		return
	}
	w := blen + 1
	lcs := make([]uint32, cells)
	for i := 1; i <= alen; i++ {
		for j := 1; j <= blen; j++ {
			if a[i-1] == b[j-1] {
				lcs[i*w+j] = lcs[(i-1)*w+j-1] + 1
			} else {
				l1, l2 := lcs[(i-1)*w+j], lcs[i*w+j-1]
				lcs[i*w+j] = max(l1, l2)
			}
		}
	}
	total := lcs[alen*w+blen]
	idx := total
	computeLCS := getIdx || !getLen
	var result []byte
	if computeLCS {
		result = make([]byte, idx)
	}

	type match struct{ as, ae, bs, be uint32 }
	var matches []match
	aStart, aEnd := uint32(alen), uint32(0) // aStart == alen: no range open
	var bStart, bEnd uint32
	i, j := uint32(alen), uint32(blen)
	for computeLCS && i > 0 && j > 0 {
		emit := false
		if a[i-1] == b[j-1] {
			result[idx-1] = a[i-1]
			if aStart == uint32(alen) {
				aStart, aEnd = i-1, i-1
				bStart, bEnd = j-1, j-1
			} else if aStart == i && bStart == j {
				aStart--
				bStart--
			} else {
				emit = true
			}
			if aStart == 0 || bStart == 0 {
				emit = true
			}
			idx--
			i--
			j--
		} else {
			l1, l2 := lcs[int(i-1)*w+int(j)], lcs[int(i)*w+int(j-1)]
			if l1 > l2 {
				i--
			} else {
				j--
			}
			if aStart != uint32(alen) {
				emit = true
			}
		}
		if emit {
			matchLen := aEnd - aStart + 1
			if getIdx && (minMatchLen == 0 || int64(matchLen) >= minMatchLen) {
				matches = append(matches, match{aStart, aEnd, bStart, bEnd})
			}
			aStart = uint32(alen)
		}
	}
	switch {
	case getIdx:
		c.MapLen(2)
		c.BulkString("matches")
		c.ArrayLen(len(matches))
		for _, m := range matches {
			if withMatchLen {
				c.ArrayLen(3)
			} else {
				c.ArrayLen(2)
			}
			c.ArrayLen(2)
			c.Int(int64(m.as))
			c.Int(int64(m.ae))
			c.ArrayLen(2)
			c.Int(int64(m.bs))
			c.Int(int64(m.be))
			if withMatchLen {
				c.Int(int64(m.ae - m.as + 1))
			}
		}
		c.BulkString("len")
		c.Int(int64(total))
	case getLen:
		c.Int(int64(idx))
	default:
		c.Bulk(result)
	}
}
