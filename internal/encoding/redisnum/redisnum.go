package redisnum

import (
	"math"
	"strconv"

	"github.com/reefkv/reef/internal/rconv"
)

// MaxIntLen is the longest text ParseInt can accept: "-9223372036854775808".
const MaxIntLen = 20

// ParseInt reports whether b is the canonical decimal text of an int64 and
// returns its value. Canonical means Redis's string2ll rules: 1 to 20 bytes,
// an optional '-', digits only, no leading zero (except "0" itself), no '+',
// no spaces, no "-0", and no overflow. Only such strings are stored as
// integers by listpacks, intsets and RDB string encodings, because only they
// convert back to exactly the same bytes.
func ParseInt(b []byte) (int64, bool) { return rconv.ParseInt(b) }

// AppendScore appends a double the way Redis prints zset scores in listpack
// entries and digests: rconv.AppendDouble.
func AppendScore(dst []byte, f float64) []byte { return rconv.AppendDouble(dst, f) }

// ScoreToInt reports whether a zset score is stored as a listpack integer
// and returns that integer. It is Redis's double2ll: integral values within
// ±(2^63-1)/2 qualify (-0.0 becomes 0); every other score is stored as the
// text from AppendScore.
func ScoreToInt(f float64) (int64, bool) {
	// (double)(LLONG_MAX/2) rounds to 2^62.
	const lim = float64(math.MaxInt64 / 2)
	if !(f >= -lim && f <= lim) { // also rejects NaN
		return 0, false
	}
	v := int64(f)
	if float64(v) != f {
		return 0, false
	}
	return v, true
}

// ParseScore parses score text as Redis's strtod-based readers do when a
// listpack or legacy zset holds a score as a string: the whole text must be a
// number, "inf"/"-inf"/"+inf" (any case, also "infinity") are accepted, and
// NaN is refused.
func ParseScore(b []byte) (float64, bool) {
	if len(b) == 0 || len(b) > 128 {
		return 0, false
	}
	// Redis's strtod accepts leading spaces and hex floats; stored scores are
	// never written that way, so refusing them only rejects hand-made input.
	if b[0] == ' ' || b[0] == '\t' || b[0] == '\n' {
		return 0, false
	}
	// Go's ParseFloat also takes "1_000"; strtod does not.
	for _, c := range b {
		if c == '_' {
			return 0, false
		}
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
			return f, true // overflow gives ±Inf, underflow 0, as strtod does
		}
		return 0, false
	}
	if math.IsNaN(f) {
		return 0, false
	}
	return f, true
}
