package rconv

import (
	"math/big"
	"strconv"
	"strings"
)

// Redis computes INCRBYFLOAT and HINCRBYFLOAT in C's long double, which on
// x86-64 is the 80-bit x87 format: a 64-bit mantissa and a 15-bit exponent.
// Results are visible to users ("10.6", not "10.59999999999999964"), so we
// emulate that precision with math/big.

const (
	ldPrec   = 64
	ldMaxExp = 16384  // values >= 2^16384 overflow to infinity
	ldMinExp = -16445 // values below the smallest subnormal underflow to zero
)

// LongDouble is a value with x87 long double precision.
type LongDouble struct{ f *big.Float }

// ParseLongDouble parses b as Redis's string2ld (strtold semantics, whole
// input consumed, no leading space, NaN and out-of-range values rejected).
// Infinity is accepted, as strtold accepts it.
func ParseLongDouble(b []byte) (LongDouble, bool) {
	if len(b) == 0 || len(b) >= 5*1024 || isSpace(b[0]) {
		return LongDouble{}, false
	}
	s := string(b)
	body := strings.TrimLeft(s, "+-")
	if len(s)-len(body) > 1 {
		return LongDouble{}, false
	}
	neg := strings.HasPrefix(s, "-")
	switch strings.ToLower(body) {
	case "inf", "infinity":
		return LongDouble{new(big.Float).SetInf(neg)}, true
	}
	if strings.ContainsAny(body, "_") || strings.HasPrefix(strings.ToLower(body), "0b") || strings.HasPrefix(strings.ToLower(body), "0o") {
		return LongDouble{}, false
	}
	base := 10
	if strings.HasPrefix(strings.ToLower(body), "0x") {
		base = 0
	}
	f, _, err := new(big.Float).SetPrec(ldPrec).SetMode(big.ToNearestEven).Parse(s, base)
	if err != nil || f.IsInf() {
		return LongDouble{}, false
	}
	if f.Sign() != 0 {
		e := f.MantExp(nil)
		if e > ldMaxExp || e < ldMinExp {
			return LongDouble{}, false
		}
	} else if hasNonZeroDigit(body) {
		return LongDouble{}, false
	}
	return LongDouble{f}, true
}

func hasNonZeroDigit(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == 'e' || c == 'E' || c == 'p' || c == 'P' {
			return false
		}
		if c >= '1' && c <= '9' {
			return true
		}
	}
	return false
}

// Add returns a+b rounded to long double precision. ok is false when the
// result is infinite (or NaN: inf + -inf).
func (a LongDouble) Add(b LongDouble) (LongDouble, bool) {
	if a.f.IsInf() || b.f.IsInf() {
		return LongDouble{}, false
	}
	r := new(big.Float).SetPrec(ldPrec).SetMode(big.ToNearestEven).Add(a.f, b.f)
	if r.Sign() != 0 && r.MantExp(nil) > ldMaxExp {
		return LongDouble{}, false
	}
	return LongDouble{r}, true
}

// AppendHuman appends the value as Redis's ld2string in human-friendly mode:
// "%.17Lf" with trailing zeros (and a trailing dot) removed, "-0" as "0".
func (a LongDouble) AppendHuman(dst []byte) []byte {
	return appendTrimmedHuman(dst, a.f.Text('f', 17))
}

// AppendHumanDouble is AppendHuman of a double converted to long double
// (exactly): Redis's addReplyHumanLongDouble of a double, as GEOPOS prints.
func AppendHumanDouble(dst []byte, f float64) []byte {
	var tmp [48]byte
	return appendTrimmedHuman(dst, string(strconv.AppendFloat(tmp[:0], f, 'f', 17, 64)))
}

// appendTrimmedHuman appends s, a "%.17Lf" rendering, less its trailing
// zeros and dot, "-0" as "0".
func appendTrimmedHuman(dst []byte, s string) []byte {
	if strings.IndexByte(s, '.') >= 0 {
		s = strings.TrimRight(s, "0")
		s = strings.TrimSuffix(s, ".")
	}
	if s == "-0" {
		s = "0"
	}
	return append(dst, s...)
}
