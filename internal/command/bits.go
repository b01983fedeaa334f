package command

import (
	"math"
	"math/bits"
	"strconv"

	"github.com/reefkv/reef/internal/keyspace"
	"github.com/reefkv/reef/internal/rconv"
)

// The bit commands of the string family: SETBIT, GETBIT, BITCOUNT, BITPOS,
// BITOP, BITFIELD and BITFIELD_RO, with Redis 7.0's bitops.c semantics,
// argument order of checks and error texts.

const (
	errBitOffset    = "ERR bit offset is not an integer or out of range"
	errBitValue     = "ERR bit is not an integer or out of range"
	errBitfieldType = "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is."
)

// bitOffsetArg is Redis's getBitOffsetFromArgument. With hash and bits > 0
// an offset written "#N" means N*bits.
func (c *Ctx) bitOffsetArg(arg []byte, hash bool, nbits int) (uint64, bool) {
	usehash := len(arg) > 0 && arg[0] == '#' && hash && nbits > 0
	p := arg
	if usehash {
		p = arg[1:]
	}
	off, ok := rconv.ParseInt(p)
	if !ok {
		c.Err(errBitOffset)
		return 0, false
	}
	if usehash {
		off *= int64(nbits) // wraps like Redis's signed multiply
	}
	if off < 0 || (!c.FromMaster && off>>3 >= c.Cfg.ProtoMaxBulkLen) {
		c.Err(errBitOffset)
		return 0, false
	}
	return uint64(off), true
}

// bitfieldTypeArg is getBitfieldTypeFromArgument: "i1".."i64", "u1".."u63".
func (c *Ctx) bitfieldTypeArg(arg []byte) (signed bool, nbits int, ok bool) {
	if len(arg) == 0 || (arg[0] != 'i' && arg[0] != 'u') {
		c.Err(errBitfieldType)
		return false, 0, false
	}
	signed = arg[0] == 'i'
	// Redis parses with strlen, so an embedded NUL ends the number.
	p := arg[1:]
	for i, ch := range p {
		if ch == 0 {
			p = p[:i]
			break
		}
	}
	n, okn := rconv.ParseInt(p)
	if !okn || n < 1 || (signed && n > 64) || (!signed && n > 63) {
		c.Err(errBitfieldType)
		return false, 0, false
	}
	return signed, int(n), true
}

// stringForBitWrite is lookupStringForBitCommand: key's string value as a
// growable buffer at least maxbit/8+1 bytes long, creating the key when
// missing; grew reports that it created or lengthened it (Redis's dirty
// flag). It replies WRONGTYPE and returns nil for other types.
func (c *Ctx) stringForBitWrite(key []byte, maxbit uint64) (b *[]byte, grew bool) {
	need := int(maxbit>>3) + 1
	v, ok := c.lookupWriteType(key, keyspace.TypeString)
	if !ok {
		return nil, false
	}
	if v == nil {
		c.setKey(key, keyspace.GrowableValue(make([]byte, need)), false)
		return c.KS.Get(c.DB, slotOf(key), key).Growable(), true
	}
	b = c.growable(v, 0)
	if len(*b) < need {
		grew = true
		if need <= cap(*b) {
			old := len(*b)
			*b = (*b)[:need]
			clear((*b)[old:])
		} else {
			nb := make([]byte, need, growCap(len(*b), need))
			copy(nb, *b)
			*b = nb
		}
	}
	return b, grew
}

// growCap is the capacity a growing string buffer gets: at least need, and
// doubling below 1 MB like sds's greedy growth so that repeated growth is
// amortized O(1).
func growCap(old, need int) int {
	const maxPrealloc = 1 << 20
	if need < maxPrealloc {
		return max(need, 2*old)
	}
	return need + maxPrealloc
}

// readOnlyString returns the bytes of a string value, formatting int
// encodings into tmp (getObjectReadOnlyString).
func readOnlyString(v *keyspace.Value, tmp []byte) []byte {
	if v == nil {
		return nil
	}
	if v.IsInt() {
		return strconv.AppendInt(tmp[:0], v.Int(), 10)
	}
	return v.Bytes()
}

func setbitCommand(c *Ctx) {
	key := c.Args[1]
	off, ok := c.bitOffsetArg(c.Args[2], false, 0)
	if !ok {
		return
	}
	on, ok := rconv.ParseInt(c.Args[3])
	if !ok || on&^1 != 0 {
		c.Err(errBitValue)
		return
	}
	b, grew := c.stringForBitWrite(key, off)
	if b == nil {
		return
	}
	byteIdx := off >> 3
	bit := 7 - uint(off&7)
	old := (*b)[byteIdx] >> bit & 1
	// As in Redis 7.0, a bit set to the value it had, in a string that
	// did not have to grow, is no change: no event, no dirty count.
	if grew || old != byte(on) {
		(*b)[byteIdx] = (*b)[byteIdx]&^(1<<bit) | byte(on)<<bit
		c.Env.KeyModified(c.DB, key)
		c.notify(NotifyString, "setbit", key)
		c.Dirty++
	}
	c.Int(int64(old))
}

func getbitCommand(c *Ctx) {
	off, ok := c.bitOffsetArg(c.Args[2], false, 0)
	if !ok {
		return
	}
	v, ok := c.lookupReadType(c.Args[1], keyspace.TypeString)
	if !ok {
		return
	}
	var tmp [24]byte
	s := readOnlyString(v, tmp[:])
	byteIdx := off >> 3
	if byteIdx >= uint64(len(s)) {
		c.Int(0)
		return
	}
	c.Int(int64(s[byteIdx] >> (7 - off&7) & 1))
}

// bitRangeMode parses BITCOUNT/BITPOS's trailing BIT|BYTE.
func bitRangeMode(c *Ctx, arg []byte) (isBit, ok bool) {
	switch {
	case eq(arg, "bit"):
		return true, true
	case eq(arg, "byte"):
		return false, true
	}
	c.Err(ErrSyntax)
	return false, false
}

// countBits counts the set bits of s in the bit range [from, to].
func countBits(s []byte, from, to int64) int64 {
	if from > to {
		return 0
	}
	fb, tb := from>>3, to>>3
	var n int
	if fb == tb {
		mask := byte(0xFF>>uint(from&7)) & byte(0xFF<<uint(7-to&7))
		return int64(bits.OnesCount8(s[fb] & mask))
	}
	n += bits.OnesCount8(s[fb] & (0xFF >> uint(from&7)))
	n += bits.OnesCount8(s[tb] & (0xFF << uint(7-to&7)))
	mid := s[fb+1 : tb]
	for len(mid) >= 8 {
		n += bits.OnesCount64(uint64(mid[0]) | uint64(mid[1])<<8 | uint64(mid[2])<<16 | uint64(mid[3])<<24 |
			uint64(mid[4])<<32 | uint64(mid[5])<<40 | uint64(mid[6])<<48 | uint64(mid[7])<<56)
		mid = mid[8:]
	}
	for _, ch := range mid {
		n += bits.OnesCount8(ch)
	}
	return int64(n)
}

// normalizeRange converts Redis-style (possibly negative) start/end indexes
// over total units into a clamped inclusive range; start > end means empty.
func normalizeRange(start, end, total int64) (int64, int64) {
	if start < 0 {
		start += total
	}
	if end < 0 {
		end += total
	}
	if start < 0 {
		start = 0
	}
	if end < 0 {
		end = 0
	}
	if end >= total {
		end = total - 1
	}
	return start, end
}

func bitcountCommand(c *Ctx) {
	// Redis 7.0 looks the key up before parsing the range: a missing key
	// answers 0 whatever the other arguments are.
	v, ok := c.lookupReadType(c.Args[1], keyspace.TypeString)
	if !ok {
		return
	}
	if v == nil {
		c.Int(0)
		return
	}
	var tmp [24]byte
	s := readOnlyString(v, tmp[:])
	switch len(c.Args) {
	case 2:
		c.Int(countBits(s, 0, int64(len(s))*8-1))
	case 4, 5:
		start, ok1 := rconv.ParseInt(c.Args[2])
		if !ok1 {
			c.Err(ErrNotInt)
			return
		}
		end, ok2 := rconv.ParseInt(c.Args[3])
		if !ok2 {
			c.Err(ErrNotInt)
			return
		}
		if start < 0 && end < 0 && start > end {
			c.Int(0)
			return
		}
		isBit := false
		if len(c.Args) == 5 {
			if isBit, ok = bitRangeMode(c, c.Args[4]); !ok {
				return
			}
		}
		total := int64(len(s))
		if isBit {
			total <<= 3
		}
		start, end = normalizeRange(start, end, total)
		if start > end {
			c.Int(0)
			return
		}
		if !isBit {
			start, end = start*8, end*8+7
		}
		c.Int(countBits(s, start, end))
	default:
		c.Err(ErrSyntax)
	}
}

// firstBit returns the position of the first bit equal to bit in the bit
// range [from, to] of s, or -1.
func firstBit(s []byte, from, to int64, bit byte) int64 {
	skip := byte(0)
	if bit == 0 {
		skip = 0xFF
	}
	for p := from; p <= to; {
		if p&7 == 0 && p+7 <= to && s[p>>3] == skip {
			p += 8
			continue
		}
		if s[p>>3]>>(7-uint(p&7))&1 == bit {
			return p
		}
		p++
	}
	return -1
}

func bitposCommand(c *Ctx) {
	b, ok := rconv.ParseInt(c.Args[2])
	if !ok {
		c.Err(ErrNotInt)
		return
	}
	if b != 0 && b != 1 {
		c.Err("ERR The bit argument must be 1 or 0.")
		return
	}
	bit := byte(b)
	// A missing key is an infinite run of zero bits.
	v, ok := c.lookupReadType(c.Args[1], keyspace.TypeString)
	if !ok {
		return
	}
	if v == nil {
		if bit == 1 {
			c.Int(-1)
		} else {
			c.Int(0)
		}
		return
	}
	var tmp [24]byte
	s := readOnlyString(v, tmp[:])
	total := int64(len(s))
	var start, end int64
	endGiven, isBit := false, false
	switch n := len(c.Args); n {
	case 3:
		start, end = 0, total-1
	case 4, 5, 6:
		if start, ok = rconv.ParseInt(c.Args[3]); !ok {
			c.Err(ErrNotInt)
			return
		}
		if n == 6 {
			if isBit, ok = bitRangeMode(c, c.Args[5]); !ok {
				return
			}
		}
		if n >= 5 {
			if end, ok = rconv.ParseInt(c.Args[4]); !ok {
				c.Err(ErrNotInt)
				return
			}
			endGiven = true
		} else {
			end = total - 1
		}
		if isBit {
			total <<= 3
		}
		start, end = normalizeRange(start, end, total)
	default:
		c.Err(ErrSyntax)
		return
	}
	if start > end {
		c.Int(-1)
		return
	}
	if !isBit {
		start, end = start*8, end*8+7
	}
	pos := firstBit(s, start, end, bit)
	if pos == -1 && bit == 0 && !endGiven {
		// Without an explicit end the string is taken as zero-padded on
		// the right: the first clear bit is the one past the range.
		pos = end + 1
	}
	c.Int(pos)
}

func bitopCommand(c *Ctx) {
	op := c.Args[1]
	const (
		opAnd = iota
		opOr
		opXor
		opNot
	)
	var kind int
	switch {
	case eq(op, "and"):
		kind = opAnd
	case eq(op, "or"):
		kind = opOr
	case eq(op, "xor"):
		kind = opXor
	case eq(op, "not"):
		kind = opNot
	default:
		c.Err(ErrSyntax)
		return
	}
	if kind == opNot && len(c.Args) != 4 {
		c.Err("ERR BITOP NOT must be called with a single source key.")
		return
	}
	dst := c.Args[2]
	srcKeys := c.Args[3:]
	srcs := make([][]byte, len(srcKeys))
	maxLen := 0
	for j, k := range srcKeys {
		v, ok := c.lookupReadType(k, keyspace.TypeString)
		if !ok {
			return
		}
		if v == nil {
			continue
		}
		// Copy: the destination may be one of the sources.
		srcs[j] = v.AppendString(nil)
		maxLen = max(maxLen, len(srcs[j]))
	}
	var res []byte
	if maxLen > 0 {
		res = make([]byte, maxLen)
		at := func(s []byte, i int) byte {
			if i < len(s) {
				return s[i]
			}
			return 0
		}
		for i := range res {
			out := at(srcs[0], i)
			if kind == opNot {
				out = ^out
			}
			for _, s := range srcs[1:] {
				x := at(s, i)
				switch kind {
				case opAnd:
					out &= x
				case opOr:
					out |= x
				case opXor:
					out ^= x
				}
			}
			res[i] = out
		}
		c.setKey(dst, keyspace.StringValue(res, keyspace.EncRaw), false)
		c.notify(NotifyString, "set", dst)
		c.Dirty++
	} else {
		c.deleteEmptyResult(dst)
	}
	c.Int(int64(maxLen))
}

// BITFIELD overflow behaviours.
const (
	bfWrap = iota
	bfSat
	bfFail
)

type bitfieldOp struct {
	offset uint64
	value  int64
	op     byte // 'g', 's', 'i'
	ow     int
	bits   int
	signed bool
}

func bitfieldCommand(c *Ctx)   { bitfieldGeneric(c, false) }
func bitfieldROCommand(c *Ctx) { bitfieldGeneric(c, true) }

func bitfieldGeneric(c *Ctx, readOnly bool) {
	var ops []bitfieldOp
	ow := bfWrap
	writes := false
	var highest uint64
	args := c.Args
	for j := 2; j < len(args); j++ {
		rem := len(args) - j - 1
		sub := args[j]
		var op byte
		switch {
		case eq(sub, "get") && rem >= 2:
			op = 'g'
		case eq(sub, "set") && rem >= 3:
			op = 's'
		case eq(sub, "incrby") && rem >= 3:
			op = 'i'
		case eq(sub, "overflow") && rem >= 1:
			j++
			switch t := args[j]; {
			case eq(t, "wrap"):
				ow = bfWrap
			case eq(t, "sat"):
				ow = bfSat
			case eq(t, "fail"):
				ow = bfFail
			default:
				c.Err("ERR Invalid OVERFLOW type specified")
				return
			}
			continue
		default:
			c.Err(ErrSyntax)
			return
		}
		signed, nbits, ok := c.bitfieldTypeArg(args[j+1])
		if !ok {
			return
		}
		off, ok := c.bitOffsetArg(args[j+2], true, nbits)
		if !ok {
			return
		}
		var val int64
		if op != 'g' {
			writes = true
			if hi := off + uint64(nbits) - 1; hi > highest {
				highest = hi
			}
			if val, ok = rconv.ParseInt(args[j+3]); !ok {
				c.Err(ErrNotInt)
				return
			}
			j += 3
		} else {
			j += 2
		}
		ops = append(ops, bitfieldOp{offset: off, value: val, op: op, ow: ow, bits: nbits, signed: signed})
	}
	key := args[1]
	var buf *[]byte
	var grew bool // the string was created or lengthened (Redis's dirty)
	var ro []byte
	var tmp [24]byte
	if !writes {
		v, ok := c.lookupReadType(key, keyspace.TypeString)
		if !ok {
			return
		}
		ro = readOnlyString(v, tmp[:])
	} else {
		if readOnly {
			c.Err("ERR BITFIELD_RO only supports the GET subcommand")
			return
		}
		if buf, grew = c.stringForBitWrite(key, highest); buf == nil {
			return
		}
	}
	c.ArrayLen(len(ops))
	changes := 0
	for _, o := range ops {
		if o.op == 'g' {
			src := ro
			if buf != nil {
				src = *buf
			}
			var w [9]byte
			byteIdx := o.offset >> 3
			for i := uint64(0); i < 9 && byteIdx+i < uint64(len(src)); i++ {
				w[i] = src[byteIdx+i]
			}
			rel := o.offset - byteIdx*8
			if o.signed {
				c.Int(getSignedBitfield(w[:], rel, o.bits))
			} else {
				c.Int(int64(getUnsignedBitfield(w[:], rel, o.bits)))
			}
			continue
		}
		p := *buf
		if o.signed {
			old := getSignedBitfield(p, o.offset, o.bits)
			var newv, ret int64
			var overflow bool
			if o.op == 'i' {
				wrapped, of := checkSignedBitfieldOverflow(old, o.value, o.bits, o.ow)
				overflow = of != 0
				if overflow {
					newv = wrapped
				} else {
					newv = old + o.value
				}
				ret = newv
			} else {
				newv = o.value
				wrapped, of := checkSignedBitfieldOverflow(newv, 0, o.bits, o.ow)
				overflow = of != 0
				if overflow {
					newv = wrapped
				}
				ret = old
			}
			if overflow && o.ow == bfFail {
				c.Null()
			} else {
				c.Int(ret)
				setUnsignedBitfield(p, o.offset, o.bits, uint64(newv))
				if grew || newv != old {
					changes++
				}
			}
		} else {
			old := getUnsignedBitfield(p, o.offset, o.bits)
			var newv, ret uint64
			var overflow bool
			if o.op == 'i' {
				newv = old + uint64(o.value)
				wrapped, of := checkUnsignedBitfieldOverflow(old, o.value, o.bits, o.ow)
				overflow = of != 0
				if overflow {
					newv = wrapped
				}
				ret = newv
			} else {
				newv = uint64(o.value)
				wrapped, of := checkUnsignedBitfieldOverflow(newv, 0, o.bits, o.ow)
				overflow = of != 0
				if overflow {
					newv = wrapped
				}
				ret = old
			}
			if overflow && o.ow == bfFail {
				c.Null()
			} else {
				c.Int(int64(ret))
				setUnsignedBitfield(p, o.offset, o.bits, newv)
				if grew || newv != old {
					changes++
				}
			}
		}
	}
	// As Redis 7.0 counts them, an operation is a change when it wrote a
	// different value or the string was created or lengthened; one that
	// failed on overflow (OVERFLOW FAIL) wrote nothing. Without a change
	// there is no event, no dirty count and no WATCH invalidation.
	if changes > 0 {
		c.Env.KeyModified(c.DB, key)
		c.notify(NotifyString, "setbit", key)
		c.Dirty += int64(changes)
	}
}

func getUnsignedBitfield(p []byte, offset uint64, nbits int) uint64 {
	var v uint64
	for j := 0; j < nbits; j++ {
		b := p[offset>>3] >> (7 - offset&7) & 1
		v = v<<1 | uint64(b)
		offset++
	}
	return v
}

func getSignedBitfield(p []byte, offset uint64, nbits int) int64 {
	v := int64(getUnsignedBitfield(p, offset, nbits))
	if nbits < 64 && v&(1<<(nbits-1)) != 0 {
		v |= -1 << nbits
	}
	return v
}

func setUnsignedBitfield(p []byte, offset uint64, nbits int, v uint64) {
	for j := 0; j < nbits; j++ {
		bit := byte(v >> (nbits - 1 - j) & 1)
		i := offset >> 3
		shift := 7 - offset&7
		p[i] = p[i]&^(1<<shift) | bit<<shift
		offset++
	}
}

// checkUnsignedBitfieldOverflow is Redis's function of the same name: it
// returns the value to store on overflow and 1 (overflow), -1 (underflow)
// or 0.
func checkUnsignedBitfieldOverflow(value uint64, incr int64, nbits int, ow int) (uint64, int) {
	maxv := uint64(1)<<nbits - 1
	maxincr := int64(maxv - value)
	minincr := -int64(value)
	wrap := func() uint64 {
		mask := ^uint64(0) << nbits
		return (value + uint64(incr)) &^ mask
	}
	if value > maxv || (incr > 0 && incr > maxincr) {
		switch ow {
		case bfWrap:
			return wrap(), 1
		case bfSat:
			return maxv, 1
		}
		return 0, 1
	} else if incr < 0 && incr < minincr {
		switch ow {
		case bfWrap:
			return wrap(), -1 // Redis jumps to the wrap code, which returns 1
		case bfSat:
			return 0, -1
		}
		return 0, -1
	}
	return 0, 0
}

// checkSignedBitfieldOverflow is Redis's function of the same name.
func checkSignedBitfieldOverflow(value, incr int64, nbits int, ow int) (int64, int) {
	var maxv int64 = math.MaxInt64
	if nbits != 64 {
		maxv = 1<<(nbits-1) - 1
	}
	minv := -maxv - 1
	maxincr := int64(uint64(maxv) - uint64(value))
	minincr := minv - value
	wrap := func() int64 {
		msb := uint64(1) << (nbits - 1)
		cv := uint64(value) + uint64(incr)
		if nbits < 64 {
			mask := ^uint64(0) << nbits
			if cv&msb != 0 {
				cv |= mask
			} else {
				cv &^= mask
			}
		}
		return int64(cv)
	}
	if value > maxv || (nbits != 64 && incr > maxincr) || (value >= 0 && incr > 0 && incr > maxincr) {
		switch ow {
		case bfWrap:
			return wrap(), 1
		case bfSat:
			return maxv, 1
		}
		return 0, 1
	} else if value < minv || (nbits != 64 && incr < minincr) || (value < 0 && incr < 0 && incr < minincr) {
		switch ow {
		case bfWrap:
			return wrap(), -1
		case bfSat:
			return minv, -1
		}
		return 0, -1
	}
	return 0, 0
}
