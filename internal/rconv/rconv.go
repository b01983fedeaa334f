package rconv

import (
	"math"
	"strconv"
)

// ParseInt is Redis's string2ll: it accepts only the canonical decimal form
// of an int64 (optional '-', no '+', no leading zeros except "0", no spaces).
func ParseInt(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 20 {
		return 0, false
	}
	if len(b) == 1 && b[0] == '0' {
		return 0, true
	}
	i := 0
	neg := b[0] == '-'
	if neg {
		i = 1
		if len(b) == 1 {
			return 0, false
		}
	}
	if b[i] < '1' || b[i] > '9' {
		return 0, false
	}
	var u uint64
	for ; i < len(b); i++ {
		c := b[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		if u > (math.MaxUint64-9)/10 {
			return 0, false
		}
		u = u*10 + uint64(c-'0')
	}
	if neg {
		if u > 1<<63 {
			return 0, false
		}
		return -int64(u), true
	}
	if u > math.MaxInt64 {
		return 0, false
	}
	return int64(u), true
}

// ParseUint parses a canonical non-negative decimal integer.
func ParseUint(b []byte) (uint64, bool) {
	if len(b) == 0 || len(b) > 20 || (len(b) > 1 && b[0] == '0') {
		return 0, false
	}
	var u uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		d := uint64(c - '0')
		if u > (math.MaxUint64-d)/10 {
			return 0, false
		}
		u = u*10 + d
	}
	return u, true
}

// AppendInt appends n in decimal.
func AppendInt(dst []byte, n int64) []byte { return strconv.AppendInt(dst, n, 10) }

// isSpace reports the C isspace characters.
func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

// ParseFloat parses b as Redis's string2d / getDoubleFromObject: strtod
// semantics (decimal, exponent, hex floats, "inf"/"infinity"/"nan" in any
// case, with sign), the whole input consumed, no leading space, and NaN
// rejected. Values that overflow are rejected as strtod's ERANGE is.
func ParseFloat(b []byte) (float64, bool) {
	if len(b) == 0 || isSpace(b[0]) {
		return 0, false
	}
	s := string(b)
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
			// strtod returns ERANGE on overflow (HUGE_VAL) and on underflow;
			// Redis rejects both.
			return 0, false
		}
		return 0, false
	}
	if math.IsNaN(f) {
		return 0, false
	}
	// Go accepts "1_000" and "0x1p-2" forms strtod does not / does; reject
	// underscores, which C never takes.
	for i := 0; i < len(b); i++ {
		if b[i] == '_' {
			return 0, false
		}
	}
	return f, true
}

// AppendDouble appends f the way Redis prints doubles in replies, zset
// listpacks and digests (Redis 7.0): C's "%.17g", with "inf", "-inf" and
// "nan" spelled out. Go's 'g' format at precision 17 produces the same text
// as C for every finite value (trailing zeros dropped, at least two exponent
// digits).
func AppendDouble(dst []byte, f float64) []byte {
	switch {
	case math.IsInf(f, 1):
		return append(dst, "inf"...)
	case math.IsInf(f, -1):
		return append(dst, "-inf"...)
	case math.IsNaN(f):
		return append(dst, "nan"...)
	}
	return strconv.AppendFloat(dst, f, 'g', 17, 64)
}
