package geo

import "math"

// Coordinate limits. Latitudes beyond ±85.05112878 cannot be indexed (the
// Web Mercator square).
const (
	LonMin = -180.0
	LonMax = 180.0
	LatMin = -85.05112878
	LatMax = 85.05112878

	// StepMax is the precision of a stored position: 26 bits per axis.
	StepMax = 26
)

// Hash is a geohash of Step bits per axis, interleaved in the low 2*Step
// bits of Bits. The zero Hash (no bits, step 0) marks an excluded box.
type Hash struct {
	Bits uint64
	Step uint8
}

// IsZero reports whether h is a left-out box.
func (h Hash) IsZero() bool { return h.Bits == 0 && h.Step == 0 }

// span is a closed coordinate interval.
type span struct{ min, max float64 }

var (
	mercatorLon = span{LonMin, LonMax}
	mercatorLat = span{LatMin, LatMax}
)

// spread moves the low 32 bits of v to the even bit positions.
func spread(v uint32) uint64 {
	x := uint64(v)
	x = (x | x<<16) & 0x0000FFFF0000FFFF
	x = (x | x<<8) & 0x00FF00FF00FF00FF
	x = (x | x<<4) & 0x0F0F0F0F0F0F0F0F
	x = (x | x<<2) & 0x3333333333333333
	x = (x | x<<1) & 0x5555555555555555
	return x
}

// squeeze is the inverse of spread: the even bits of v, packed.
func squeeze(v uint64) uint32 {
	x := v & 0x5555555555555555
	x = (x | x>>1) & 0x3333333333333333
	x = (x | x>>2) & 0x0F0F0F0F0F0F0F0F
	x = (x | x>>4) & 0x00FF00FF00FF00FF
	x = (x | x>>8) & 0x0000FFFF0000FFFF
	x = (x | x>>16) & 0x00000000FFFFFFFF
	return uint32(x)
}

// encode is geohashEncode: ok is false outside the indexable limits or the
// given ranges.
func encode(lonRange, latRange span, lon, lat float64, step uint8) (Hash, bool) {
	if lon > LonMax || lon < LonMin || lat > LatMax || lat < LatMin {
		return Hash{}, false
	}
	if lat < latRange.min || lat > latRange.max || lon < lonRange.min || lon > lonRange.max {
		return Hash{Step: step}, false
	}
	latOffset := (lat - latRange.min) / (latRange.max - latRange.min)
	lonOffset := (lon - lonRange.min) / (lonRange.max - lonRange.min)
	scale := float64(uint64(1) << step)
	latOffset *= scale
	lonOffset *= scale
	// C converts the offsets to uint32_t by truncation; an offset of
	// exactly 1.0 (the range's maximum) gives 2^step, one bit above the
	// hash, as in Redis.
	return Hash{Bits: spread(uint32(latOffset)) | spread(uint32(lonOffset))<<1, Step: step}, true
}

// Encode returns the full-precision hash of a position; ok is false when
// the position cannot be indexed.
func Encode(lon, lat float64) (Hash, bool) {
	return encode(mercatorLon, mercatorLat, lon, lat, StepMax)
}

// Score is the sorted-set score of a position: its hash aligned to 52 bits.
func (h Hash) Score() uint64 { return h.Bits << (52 - 2*uint(h.Step)) }

// area is the rectangle a hash covers.
type area struct{ lon, lat span }

// decode is geohashDecode.
func decode(lonRange, latRange span, h Hash) area {
	latBits := squeeze(h.Bits)
	lonBits := squeeze(h.Bits >> 1)
	cells := float64(uint64(1) << h.Step)
	latScale := latRange.max - latRange.min
	lonScale := lonRange.max - lonRange.min
	// latBits+1 wraps around in 32 bits, as it does in C.
	var a area
	a.lat.min = latRange.min + float64(float64(latBits)*1.0/cells)*latScale
	a.lat.max = latRange.min + float64(float64(latBits+1)*1.0/cells)*latScale
	a.lon.min = lonRange.min + float64(float64(lonBits)*1.0/cells)*lonScale
	a.lon.max = lonRange.min + float64(float64(lonBits+1)*1.0/cells)*lonScale
	return a
}

// centre is geohashDecodeAreaToLongLat: the middle of the area, clamped to
// the indexable limits.
func (a area) centre() (lon, lat float64) {
	lon = (a.lon.min + a.lon.max) / 2
	lon = min(max(lon, LonMin), LonMax)
	lat = (a.lat.min + a.lat.max) / 2
	lat = min(max(lat, LatMin), LatMax)
	return lon, lat
}

// Decode returns the position a sorted-set score stands for, as Redis's
// decodeGeohash does for any score: the score is converted to an integer
// the way C converts a double to uint64_t on x86-64, so that scores no
// GEOADD wrote (negative, fractional, huge) decode as they do in Redis.
func Decode(score float64) (lon, lat float64) {
	h := Hash{Bits: cDoubleToUint64(score), Step: StepMax}
	return decode(mercatorLon, mercatorLat, h).centre()
}

const two63 = 9223372036854775808.0 // 2^63, exactly

// cDoubleToUint64 is (uint64_t)d as GCC compiles it for x86-64: values
// below 2^63 (negative ones included) through the signed conversion, the
// others offset by 2^63. Out-of-range conversions give the processor's
// "integer indefinite" value, 1<<63.
func cDoubleToUint64(d float64) uint64 {
	if !(d >= two63) {
		return uint64(cvttsd2si(d))
	}
	return uint64(cvttsd2si(d-two63)) ^ 1<<63
}

// CInt64 is C's (long long) conversion of a double on x86-64 (cvttsd2si):
// what Redis's WITHHASH prints for a score.
func CInt64(d float64) int64 { return cvttsd2si(d) }

// cvttsd2si is the x86-64 truncating conversion of a double to int64.
func cvttsd2si(d float64) int64 {
	if math.IsNaN(d) || d >= two63 || d < -two63 {
		return math.MinInt64
	}
	return int64(d)
}

// move is geohash_move_x/y: the neighbouring box d (-1, 0 or +1) cells
// away along the axis whose bits axis masks (longitude: the odd bits,
// latitude: the even ones), wrapping around.
func (h *Hash) move(d int, axis uint64) {
	if d == 0 {
		return
	}
	shift := 64 - 2*uint(h.Step)
	v := h.Bits & axis
	other := h.Bits &^ axis
	zz := ^axis >> shift // the other axis's bits: a carry runs through them
	if d > 0 {
		v += zz + 1
	} else {
		v |= zz
		v -= zz + 1
	}
	v &= axis >> shift
	h.Bits = v | other
}

const (
	lonBits = 0xaaaaaaaaaaaaaaaa
	latBits = 0x5555555555555555
)

func (h Hash) moved(dx, dy int) Hash {
	h.move(dx, lonBits)
	h.move(dy, latBits)
	return h
}

// String is the standard 11-character geohash of a stored score, as
// GEOHASH prints it: the position re-encoded over latitudes ±90, 52 bits
// in ten base-32 characters and a final '0'.
func String(score float64) string {
	const alphabet = "0123456789bcdefghjkmnpqrstuvwxyz"
	lon, lat := Decode(score)
	h, _ := encode(span{-180, 180}, span{-90, 90}, lon, lat, StepMax)
	var buf [11]byte
	for i := 0; i < 10; i++ {
		buf[i] = alphabet[(h.Bits>>(52-uint(i+1)*5))&0x1f]
	}
	buf[10] = alphabet[0]
	return string(buf[:])
}
