package config

import (
	"math"
	"strconv"
	"strings"
)

// This file reproduces the C library and Redis util.c parsers the
// configuration code relies on. Their quirks are part of Redis's observable
// behaviour (what CONFIG SET accepts and what it stores), so they are copied
// rather than replaced by strconv.

// cstr truncates s at its first NUL byte: Redis hands many values to C string
// functions, which stop there.
func cstr(s string) string {
	if i := strings.IndexByte(s, 0); i >= 0 {
		return s[:i]
	}
	return s
}

// cIsSpace is C isspace in the "C" locale.
func cIsSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

// cIsPrint is C isprint in the "C" locale.
func cIsPrint(c byte) bool { return c >= 0x20 && c <= 0x7e }

// string2ll is Redis's strict integer parser: no spaces, no '+', no leading
// zeros, at most 20 bytes, and within int64.
func string2ll(s string) (int64, bool) {
	if len(s) == 0 || len(s) >= 21 {
		return 0, false
	}
	if s == "0" {
		return 0, true
	}
	neg := false
	p := s
	if p[0] == '-' {
		neg = true
		p = p[1:]
		if len(p) == 0 {
			return 0, false
		}
	}
	if p[0] < '1' || p[0] > '9' {
		return 0, false
	}
	var v uint64
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		if v > math.MaxUint64/10 {
			return 0, false
		}
		v *= 10
		if v > math.MaxUint64-uint64(c-'0') {
			return 0, false
		}
		v += uint64(c - '0')
	}
	if neg {
		if v > 1<<63 {
			return 0, false
		}
		return int64(-v), true
	}
	if v > math.MaxInt64 {
		return 0, false
	}
	return int64(v), true
}

// strtoll is C strtoll(s, &end, base) for base 10 or 8 on a C string: it
// skips leading white space, takes an optional sign, saturates on overflow
// (reporting it in erange) and returns the unparsed rest. When no digit is
// found the rest is all of s, as C's endptr == nptr.
func strtoll(s string, base int) (v int64, rest string, erange bool) {
	i := 0
	for i < len(s) && cIsSpace(s[i]) {
		i++
	}
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	start := i
	var u uint64
	over := false
	for i < len(s) {
		d := int(s[i]) - '0'
		if d < 0 || d >= base {
			break
		}
		if !over {
			if u > (math.MaxUint64-uint64(d))/uint64(base) {
				over = true
			} else {
				u = u*uint64(base) + uint64(d)
			}
		}
		i++
	}
	if i == start {
		return 0, s, false
	}
	rest = s[i:]
	if neg {
		if over || u > 1<<63 {
			return math.MinInt64, rest, true
		}
		return int64(-u), rest, false
	}
	if over || u > math.MaxInt64 {
		return math.MaxInt64, rest, true
	}
	return int64(u), rest, false
}

// memtoull is Redis's memory-value parser: digits followed by an optional
// unit (b, k, kb, m, mb, g, gb; any case). It works on the C string, accepts
// an empty digit run as 0, saturates the digits at 2^64-1 and lets the unit
// multiplication wrap, as Redis does.
func memtoull(s string) (uint64, bool) {
	s = cstr(s)
	if len(s) > 0 && s[0] == '-' {
		return 0, false
	}
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	var mul uint64
	switch asciiLower(s[i:]) {
	case "", "b":
		mul = 1
	case "k":
		mul = 1000
	case "kb":
		mul = 1024
	case "m":
		mul = 1000 * 1000
	case "mb":
		mul = 1024 * 1024
	case "g":
		mul = 1000 * 1000 * 1000
	case "gb":
		mul = 1024 * 1024 * 1024
	default:
		return 0, false
	}
	if i >= 128 {
		return 0, false
	}
	var v uint64
	for _, c := range []byte(s[:i]) {
		d := uint64(c - '0')
		if v > (math.MaxUint64-d)/10 {
			v = math.MaxUint64
			break
		}
		v = v*10 + d
	}
	return v * mul, true
}

// string2d is Redis's strict float parser (strtod on the whole string, no
// leading space, no NaN, no underflow to zero, no overflow to infinity).
func string2d(s string) (float64, bool) {
	if len(s) == 0 || cIsSpace(s[0]) || strings.IndexByte(s, 0) >= 0 || strings.IndexByte(s, '_') >= 0 {
		return 0, false
	}
	t := s
	body := asciiLower(strings.TrimLeft(t, "+-"))
	hex := strings.HasPrefix(body, "0x")
	if hex && !strings.Contains(body, "p") {
		// strtod accepts hexadecimal without a binary exponent; Go does not.
		t += "p0"
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil || math.IsNaN(f) {
		return 0, false
	}
	if f == 0 {
		// Underflow: strtod returns 0 with ERANGE when a nonzero mantissa
		// rounds to zero, and Redis rejects that.
		mant, digits := body, "123456789"
		if hex {
			mant, digits = body[2:], "123456789abcdef"
			if j := strings.IndexByte(mant, 'p'); j >= 0 {
				mant = mant[:j]
			}
		} else if j := strings.IndexByte(mant, 'e'); j >= 0 {
			mant = mant[:j]
		}
		if strings.ContainsAny(mant, digits) {
			return 0, false
		}
	}
	return f, true
}

// formatPercentile renders a "%f" value trimmed the way Redis's trimDoubleString does:
// trailing zeros after the point go, then a trailing point.
func formatPercentile(f float64) string {
	s := strconv.FormatFloat(f, 'f', 6, 64)
	if strings.IndexByte(s, '.') >= 0 {
		s = strings.TrimRight(s, "0")
		s = strings.TrimSuffix(s, ".")
	}
	return s
}

// yesno is Redis's yesnotoi on the C string: 1, 0, or -1.
func yesno(s string) int {
	s = cstr(s)
	switch {
	case asciiEqualFold(s, "yes"):
		return 1
	case asciiEqualFold(s, "no"):
		return 0
	}
	return -1
}

// splitSpace is Redis's sdssplitlen(s, " "): every single space separates,
// so consecutive spaces yield empty elements; an empty string yields none.
func splitSpace(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, " ")
}

// formatMemory is rewriteConfigFormatMemory: the largest of gb, mb, kb that
// divides the value exactly, else plain bytes (signed, as Redis prints it).
func formatMemory(v int64) string {
	const kb, mb, gb = 1024, 1024 * 1024, 1024 * 1024 * 1024
	switch {
	case v != 0 && v%gb == 0:
		return strconv.FormatInt(v/gb, 10) + "gb"
	case v != 0 && v%mb == 0:
		return strconv.FormatInt(v/mb, 10) + "mb"
	case v != 0 && v%kb == 0:
		return strconv.FormatInt(v/kb, 10) + "kb"
	}
	return strconv.FormatInt(v, 10)
}
