package hll

import (
	"encoding/binary"
	"errors"
	"math"
	"math/bits"
	"strconv"
	"strings"
)

// Layout constants of hyperloglog.c.
const (
	P            = 14     // register index bits
	Q            = 64 - P // bits left for the run of zeros
	Registers    = 1 << P // 16384
	RegisterBits = 6      // bits per dense register
	RegisterMax  = 1<<RegisterBits - 1
	HeaderSize   = 16
	DenseSize    = HeaderSize + (Registers*RegisterBits+7)/8 // 12304
	Dense        = 0                                         // encoding byte values
	Sparse       = 1

	// DefaultSparseMaxBytes is hll-sparse-max-bytes' default.
	DefaultSparseMaxBytes = 3000

	sparseValMaxValue = 32
	sparseValMaxLen   = 4
	sparseZeroMaxLen  = 64
	sparseXZeroMaxLen = 16384

	hashSeed = 0xadc83b19
)

// Errors, with the full reply texts Redis sends (without the leading '-').
var (
	ErrWrongType = errors.New("WRONGTYPE Key is not a valid HyperLogLog string value.")
	ErrInvalid   = errors.New("INVALIDOBJ Corrupted HLL object detected")
	ErrNotSparse = errors.New("ERR HLL encoding is not sparse")
)

// New returns the value PFADD creates for a new key before adding anything:
// a sparse HLL of one XZERO(16384) opcode and a zero (valid) cache. PFAdd
// marks the cache invalid right after, as Redis does.
func New() []byte {
	v := make([]byte, HeaderSize+2, HeaderSize+16)
	copy(v, "HYLL")
	v[4] = Sparse
	v[HeaderSize] = 0x40 | byte((sparseXZeroMaxLen-1)>>8)
	v[HeaderSize+1] = byte((sparseXZeroMaxLen - 1) & 0xff)
	return v
}

// Validate reports whether v is acceptable as an HLL, Redis's
// isHLLObjectOrReply: at least 16 bytes, "HYLL", encoding 0 or 1, and
// exactly DenseSize bytes when dense. It does not check the registers.
func Validate(v []byte) error {
	if len(v) < HeaderSize || string(v[:4]) != "HYLL" || v[4] > Sparse ||
		(v[4] == Dense && len(v) != DenseSize) {
		return ErrWrongType
	}
	return nil
}

// IsSparse reports whether a valid HLL uses the sparse encoding.
func IsSparse(v []byte) bool { return v[4] == Sparse }

// EncodingName returns "dense" or "sparse" (PFDEBUG ENCODING).
func EncodingName(v []byte) string {
	if IsSparse(v) {
		return "sparse"
	}
	return "dense"
}

// CacheValid reports whether the cached cardinality may be used.
func CacheValid(v []byte) bool { return v[15]&0x80 == 0 }

// Invalidate marks the cached cardinality stale by setting the top bit of
// its last byte, leaving the other bits as they were (as Redis does).
func Invalidate(v []byte) { v[15] |= 0x80 }

// CachedCount returns the cached cardinality field (meaningful when
// CacheValid).
func CachedCount(v []byte) uint64 { return binary.LittleEndian.Uint64(v[8:16]) }

// MurmurHash64A is the 64-bit MurmurHash2 variant Redis uses, on a
// little-endian host.
func MurmurHash64A(key []byte, seed uint64) uint64 {
	const m = 0xc6a4a7935bd1e995
	const r = 47
	h := seed ^ uint64(len(key))*m
	n := len(key) &^ 7
	for i := 0; i < n; i += 8 {
		k := binary.LittleEndian.Uint64(key[i:])
		k *= m
		k ^= k >> r
		k *= m
		h ^= k
		h *= m
	}
	if tail := key[n:]; len(tail) > 0 {
		for i := len(tail) - 1; i >= 0; i-- {
			h ^= uint64(tail[i]) << (8 * i)
		}
		h *= m
	}
	h ^= h >> r
	h *= m
	h ^= h >> r
	return h
}

// PatLen returns the register an element maps to and the value it would
// set there: 1 plus the number of trailing zeros of the hash above the
// index bits (1 to 51), Redis's hllPatLen.
func PatLen(ele []byte) (index int, count uint8) {
	h := MurmurHash64A(ele, hashSeed)
	index = int(h & (Registers - 1))
	h >>= P
	h |= 1 << Q // the loop in Redis stops here at the latest
	return index, uint8(bits.TrailingZeros64(h) + 1)
}

// ---- dense registers ----

func denseGet(regs []byte, i int) uint8 {
	byt := i * RegisterBits / 8
	fb := uint(i * RegisterBits & 7)
	b0 := uint(regs[byt])
	var b1 uint
	if byt+1 < len(regs) {
		b1 = uint(regs[byt+1])
	}
	return uint8((b0>>fb | b1<<(8-fb)) & RegisterMax)
}

func denseSetRaw(regs []byte, i int, val uint8) {
	byt := i * RegisterBits / 8
	fb := uint(i * RegisterBits & 7)
	v := uint(val)
	regs[byt] &^= byte(RegisterMax << fb)
	regs[byt] |= byte(v << fb)
	if byt+1 < len(regs) {
		regs[byt+1] &^= byte(RegisterMax >> (8 - fb))
		regs[byt+1] |= byte(v >> (8 - fb))
	}
}

// denseSet raises register i to count if that is higher; it reports whether
// the register changed.
func denseSet(regs []byte, i int, count uint8) bool {
	if count > denseGet(regs, i) {
		denseSetRaw(regs, i, count)
		return true
	}
	return false
}

// ---- sparse opcodes ----

func isZero(b byte) bool  { return b&0xc0 == 0x00 }
func isXZero(b byte) bool { return b&0xc0 == 0x40 }
func isVal(b byte) bool   { return b&0x80 != 0 }
func zeroLen(b byte) int  { return int(b&0x3f) + 1 }
func valLen(b byte) int   { return int(b&0x3) + 1 }
func valValue(b byte) int { return int(b>>2&0x1f) + 1 }

func xzeroLen(b0, b1 byte) int { return (int(b0&0x3f)<<8 | int(b1)) + 1 }

func valOp(val, n int) byte { return byte((val-1)<<2|(n-1)) | 0x80 }

// appendZeroRun appends a run of n zero registers, as XZERO when longer
// than a ZERO can say.
func appendZeroRun(dst []byte, n int) []byte {
	if n > sparseZeroMaxLen {
		return append(dst, 0x40|byte((n-1)>>8), byte(n-1))
	}
	return append(dst, byte(n-1))
}

// xzeroAt returns the run length of the XZERO opcode at body[p]. An XZERO
// cut short by the end of the value takes 0 for its second byte: Redis
// reads the string's terminator there.
func xzeroAt(body []byte, p int) int {
	var b1 byte
	if p+1 < len(body) {
		b1 = body[p+1]
	}
	return xzeroLen(body[p], b1)
}

// walkSparse calls fn(first, runLength, value) for each opcode of a sparse
// body and returns the number of registers covered. fn returning false
// stops the walk (the result is then -1).
func walkSparse(body []byte, fn func(first, n, val int) bool) int {
	idx := 0
	for p := 0; p < len(body); {
		b := body[p]
		var n, val int
		switch {
		case isZero(b):
			n = zeroLen(b)
			p++
		case isXZero(b):
			n = xzeroAt(body, p)
			p += 2
		default:
			n, val = valLen(b), valValue(b)
			p++
		}
		if fn != nil && !fn(idx, n, val) {
			return -1
		}
		idx += n
	}
	return idx
}

// toDense converts a sparse HLL to dense, keeping the header (cached
// cardinality included) as Redis's hllSparseToDense does. A dense v is
// returned as is.
func toDense(v []byte) ([]byte, error) {
	if !IsSparse(v) {
		return v, nil
	}
	d := make([]byte, DenseSize)
	copy(d, v[:HeaderSize])
	d[4] = Dense
	regs := d[HeaderSize:]
	n := walkSparse(v[HeaderSize:], func(first, n, val int) bool {
		if val == 0 {
			return true
		}
		if first+n > Registers {
			return false // overflow
		}
		for i := first; i < first+n; i++ {
			denseSetRaw(regs, i, uint8(val))
		}
		return true
	})
	if n != Registers {
		return v, ErrInvalid
	}
	return d, nil
}

// ToDense converts a valid HLL to the dense encoding (PFDEBUG TODENSE and
// GETREG do it) and reports whether it converted.
func ToDense(v []byte) ([]byte, bool, error) {
	if !IsSparse(v) {
		return v, false, nil
	}
	d, err := toDense(v)
	if err != nil {
		return v, false, err
	}
	return d, true, nil
}

// sparseSet raises register index to count in a sparse HLL following
// Redis's hllSparseSet step by step (the opcode split and the merge pass
// decide the bytes), promoting to dense when needed. It returns the value,
// whether a register changed, and ErrInvalid for a corrupt body.
func sparseSet(v []byte, index int, count uint8, sparseMax int) ([]byte, bool, error) {
	if count > sparseValMaxValue {
		return promote(v, index, count)
	}
	// Step 1: find the opcode covering index.
	p, end, first, prev, span := HeaderSize, len(v), 0, -1, 0
	oplen := 1
	for p < end {
		b := v[p]
		oplen = 1
		switch {
		case isZero(b):
			span = zeroLen(b)
		case isVal(b):
			span = valLen(b)
		default:
			span = xzeroAt(v, p)
			oplen = 2
		}
		if index <= first+span-1 {
			break
		}
		prev = p
		p += oplen
		first += span
	}
	if span == 0 || p >= end {
		return v, false, ErrInvalid
	}
	b := v[p]
	runlen := span
	// Step 2: the in-place cases.
	if isVal(b) {
		if valValue(b) >= int(count) {
			return v, false, nil // case A: no change
		}
		if runlen == 1 { // case B
			v[p] = valOp(int(count), 1)
			return mergeAfterUpdate(v, prev), true, nil
		}
	}
	if isZero(b) && runlen == 1 { // case C
		v[p] = valOp(int(count), 1)
		return mergeAfterUpdate(v, prev), true, nil
	}
	// Case D: split the opcode into up to three.
	var seqBuf [5]byte
	seq := seqBuf[:0]
	last := first + span - 1
	if isZero(b) || isXZero(b) {
		if index != first {
			seq = appendZeroRun(seq, index-first)
		}
		seq = append(seq, valOp(int(count), 1))
		if index != last {
			seq = appendZeroRun(seq, last-index)
		}
	} else {
		cur := valValue(b)
		if index != first {
			seq = append(seq, valOp(cur, index-first))
		}
		seq = append(seq, valOp(int(count), 1))
		if index != last {
			seq = append(seq, valOp(cur, last-index))
		}
	}
	// Step 3: substitute the sequence for the opcode.
	delta := len(seq) - oplen
	if delta > 0 && len(v)+delta > sparseMax {
		return promote(v, index, count)
	}
	if p+oplen > end {
		// An XZERO cut short by the end of the value: Redis writes the
		// sequence over it and its terminator, then keeps the length
		// grown by delta, so the sequence's last byte falls outside.
		v = append(v[:p], seq...)[:end+delta]
		return mergeAfterUpdate(v, prev), true, nil
	}
	if delta > 0 {
		v = append(v, seq[:delta]...) // grow; contents fixed below
	}
	copy(v[p+len(seq):], v[p+oplen:end])
	copy(v[p:], seq)
	v = v[:end+delta]
	return mergeAfterUpdate(v, prev), true, nil
}

// mergeAfterUpdate is step 4 of hllSparseSet: starting at the opcode before
// the updated one, look at up to five opcodes and merge adjacent VALs with
// the same value whose lengths fit in one VAL. It then invalidates the
// cache.
func mergeAfterUpdate(v []byte, prev int) []byte {
	p := prev
	if p < 0 {
		p = HeaderSize
	}
	for scan := 5; p < len(v) && scan > 0; scan-- {
		b := v[p]
		if isXZero(b) {
			p += 2
			continue
		}
		if isZero(b) {
			p++
			continue
		}
		if p+1 < len(v) && isVal(v[p+1]) {
			v1, v2 := valValue(b), valValue(v[p+1])
			if n := valLen(b) + valLen(v[p+1]); v1 == v2 && n <= sparseValMaxLen {
				v[p+1] = valOp(v1, n)
				v = append(v[:p], v[p+1:]...)
				continue // try merging the result with its right neighbour
			}
		}
		p++
	}
	Invalidate(v)
	return v
}

// promote converts to dense and sets the register; a promotion always
// changes a register.
func promote(v []byte, index int, count uint8) ([]byte, bool, error) {
	d, err := toDense(v)
	if err != nil {
		return v, false, err
	}
	denseSet(d[HeaderSize:], index, count)
	return d, true, nil
}

// Set raises register index to count (Redis's hllDenseSet/hllSparseSet),
// promoting a sparse HLL to dense when needed. v must have passed Validate.
// It reports whether the register changed.
func Set(v []byte, index int, count uint8, sparseMax int) ([]byte, bool, error) {
	if index < 0 || index >= Registers {
		return v, false, ErrInvalid
	}
	if IsSparse(v) {
		return sparseSet(v, index, count, sparseMax)
	}
	return v, denseSet(v[HeaderSize:], index, count), nil
}

// Add adds one element (Redis's hllAdd). It reports whether a register
// changed. It does not invalidate the cache of a dense HLL: PFAdd does that
// once for the whole command.
func Add(v, ele []byte, sparseMax int) ([]byte, bool, error) {
	i, c := PatLen(ele)
	return Set(v, i, c, sparseMax)
}

// PFAdd performs PFADD on a key's value: v is the current value, or nil
// when the key does not exist (it is then created, and the reply is 1 even
// with no elements). It returns the new value and, as Redis counts them for
// its dirty counter, the number of updates: one for creating the key and one
// per register an element raised (the reply is 1 when there was any). On
// ErrInvalid the value may have been partly updated in place, as in Redis.
func PFAdd(v []byte, elements [][]byte, sparseMax int) ([]byte, int, error) {
	updated := 0
	if v == nil {
		v, updated = New(), 1
	} else if err := Validate(v); err != nil {
		return v, 0, err
	}
	for _, e := range elements {
		var changed bool
		var err error
		if v, changed, err = Add(v, e, sparseMax); err != nil {
			return v, updated, err
		}
		if changed {
			updated++
		}
	}
	if updated > 0 {
		Invalidate(v)
	}
	return v, updated, nil
}

// histogram counts registers by value. It returns ErrInvalid if a sparse
// body does not cover exactly 16384 registers.
func histogram(v []byte, h *[64]int) error {
	if !IsSparse(v) {
		regs := v[HeaderSize:]
		for i := 0; i < Registers; i++ {
			h[denseGet(regs, i)]++
		}
		return nil
	}
	n := walkSparse(v[HeaderSize:], func(_, n, val int) bool {
		h[val] += n
		return true
	})
	if n != Registers {
		return ErrInvalid
	}
	return nil
}

func sigma(x float64) float64 {
	if x == 1 {
		return math.Inf(1)
	}
	y, z := 1.0, x
	for {
		x *= x
		zp := z
		z += x * y
		y += y
		if zp == z {
			return z
		}
	}
}

func tau(x float64) float64 {
	if x == 0 || x == 1 {
		return 0
	}
	y, z := 1.0, 1-x
	for {
		x = math.Sqrt(x)
		zp := z
		y *= 0.5
		z -= (1 - x) * (1 - x) * y
		if zp == z {
			return z / 3
		}
	}
}

// estimate is Ertl's improved estimator as in Redis 7.0's hllCount.
func estimate(h *[64]int) uint64 {
	const m = float64(Registers)
	z := m * tau((m-float64(h[Q+1]))/m)
	for j := Q; j >= 1; j-- {
		z += float64(h[j])
		z *= 0.5
	}
	z += m * sigma(float64(h[0])/m)
	const alphaInf = 0.721347520444481703680 // 1/(2 ln 2)
	return uint64(math.Round(alphaInf * m * m / z))
}

// Count computes the cardinality of a valid HLL without touching its cache
// (Redis's hllCount).
func Count(v []byte) (uint64, error) {
	var h [64]int
	if err := histogram(v, &h); err != nil {
		return 0, err
	}
	return estimate(&h), nil
}

// PFCount performs single-key PFCOUNT on an existing key's value: it
// returns the cached cardinality when valid, else computes it and writes it
// into v's cache in place, reporting wrote=true (the key was modified and
// the change must be propagated).
func PFCount(v []byte) (card uint64, wrote bool, err error) {
	if err := Validate(v); err != nil {
		return 0, false, err
	}
	if CacheValid(v) {
		return CachedCount(v), false, nil
	}
	card, err = Count(v)
	if err != nil {
		return 0, false, err
	}
	binary.LittleEndian.PutUint64(v[8:16], card)
	return card, true, nil
}

// mergeMax raises max[i] to each register of v (Redis's hllMerge).
func mergeMax(max *[Registers]uint8, v []byte) error {
	if !IsSparse(v) {
		regs := v[HeaderSize:]
		for i := 0; i < Registers; i++ {
			if r := denseGet(regs, i); r > max[i] {
				max[i] = r
			}
		}
		return nil
	}
	n := walkSparse(v[HeaderSize:], func(first, n, val int) bool {
		if val == 0 {
			return true
		}
		if first+n > Registers {
			return false
		}
		for i := first; i < first+n; i++ {
			if uint8(val) > max[i] {
				max[i] = uint8(val)
			}
		}
		return true
	})
	if n != Registers {
		return ErrInvalid
	}
	return nil
}

// CountUnion performs multi-key PFCOUNT: the cardinality of the union of
// the given values (nil entries are missing keys). Nothing is modified.
func CountUnion(values ...[]byte) (uint64, error) {
	var max [Registers]uint8
	for _, v := range values {
		if v == nil {
			continue
		}
		if err := Validate(v); err != nil {
			return 0, err
		}
		if err := mergeMax(&max, v); err != nil {
			return 0, err
		}
	}
	var h [64]int
	for _, r := range max {
		h[r]++
	}
	return estimate(&h), nil
}

// PFMerge performs PFMERGE: dest is the destination's current value (nil
// if the key does not exist; it also counts as a source) and sources are
// the other keys' values (nil entries are missing keys). The result is
// dense if any input is dense, else sparse built by raising each non-zero
// register in index order; its cache is invalid.
func PFMerge(dest []byte, sources [][]byte, sparseMax int) ([]byte, error) {
	var max [Registers]uint8
	useDense := false
	for _, v := range append([][]byte{dest}, sources...) {
		if v == nil {
			continue
		}
		if err := Validate(v); err != nil {
			return dest, err
		}
		if !IsSparse(v) {
			useDense = true
		}
		if err := mergeMax(&max, v); err != nil {
			return dest, err
		}
	}
	if dest == nil {
		dest = New()
	}
	if useDense {
		d, err := toDense(dest)
		if err != nil {
			return dest, err
		}
		dest = d
	}
	for i, r := range max {
		if r == 0 {
			continue
		}
		// Like Redis, a corrupt sparse destination is not reported here:
		// it was already validated by mergeMax above.
		dest, _, _ = Set(dest, i, r, sparseMax)
	}
	Invalidate(dest)
	return dest, nil
}

// GetRegisters returns the 16384 register values of a valid HLL (PFDEBUG
// GETREG, which Redis runs after converting to dense).
func GetRegisters(v []byte) ([]uint8, error) {
	out := make([]uint8, Registers)
	if !IsSparse(v) {
		regs := v[HeaderSize:]
		for i := range out {
			out[i] = denseGet(regs, i)
		}
		return out, nil
	}
	var max [Registers]uint8
	if err := mergeMax(&max, v); err != nil {
		return nil, err
	}
	copy(out, max[:])
	return out, nil
}

// Decode renders a sparse HLL's opcodes as PFDEBUG DECODE does:
// "Z:<n>" for XZERO, "z:<n>" for ZERO, "v:<value>,<n>" for VAL, space
// separated.
func Decode(v []byte) (string, error) {
	if !IsSparse(v) {
		return "", ErrNotSparse
	}
	var sb strings.Builder
	body := v[HeaderSize:]
	for p := 0; p < len(body); {
		b := body[p]
		if sb.Len() > 0 {
			sb.WriteByte(' ')
		}
		switch {
		case isZero(b):
			sb.WriteString("z:" + strconv.Itoa(zeroLen(b)))
			p++
		case isXZero(b):
			sb.WriteString("Z:" + strconv.Itoa(xzeroAt(body, p)))
			p += 2
		default:
			sb.WriteString("v:" + strconv.Itoa(valValue(b)) + "," + strconv.Itoa(valLen(b)))
			p++
		}
	}
	return sb.String(), nil
}
