package redisnum

import (
	"math"
	"testing"
)

func TestParseInt(t *testing.T) {
	good := map[string]int64{
		"0": 0, "1": 1, "-1": -1, "12345": 12345, "-100": -100,
		"9223372036854775807":  math.MaxInt64,
		"-9223372036854775808": math.MinInt64,
	}
	for s, want := range good {
		if v, ok := ParseInt([]byte(s)); !ok || v != want {
			t.Errorf("ParseInt(%q) = %d, %v; want %d", s, v, ok, want)
		}
	}
	bad := []string{"", "-", "007", "-0", "+1", " 1", "1 ", "1a", "00",
		"9223372036854775808", "-9223372036854775809", "18446744073709551616",
		"123456789012345678901", "0x10", "1.0", "--1"}
	for _, s := range bad {
		if v, ok := ParseInt([]byte(s)); ok {
			t.Errorf("ParseInt(%q) = %d, want rejection", s, v)
		}
	}
}

func TestScores(t *testing.T) {
	// Texts seen in the zset_listpack vector written by Redis 7.0.15.
	cases := map[float64]string{
		0.1: "0.10000000000000001", 2.5: "2.5", 1e20: "1e+20",
		math.Inf(1): "inf", math.Inf(-1): "-inf", 1e-5: "1.0000000000000001e-05",
		-3: "-3", 123456789: "123456789",
	}
	for f, want := range cases {
		if got := string(AppendScore(nil, f)); got != want {
			t.Errorf("AppendScore(%v) = %q, want %q", f, got, want)
		}
	}
	ints := []struct {
		f  float64
		v  int64
		ok bool
	}{
		{1, 1, true}, {-3, -3, true}, {math.Copysign(0, -1), 0, true}, {2.5, 0, false},
		{1e20, 0, false}, {math.Inf(1), 0, false}, {math.NaN(), 0, false},
		{4611686018427387904, 4611686018427387904, true}, {-4611686018427387904, -4611686018427387904, true},
		{4611686018427387904 * 2, 0, false},
	}
	for _, c := range ints {
		v, ok := ScoreToInt(c.f)
		if v != c.v || ok != c.ok {
			t.Errorf("ScoreToInt(%v) = %d, %v; want %d, %v", c.f, v, ok, c.v, c.ok)
		}
	}
	for s, want := range map[string]float64{"2.5": 2.5, "inf": math.Inf(1), "-inf": math.Inf(-1), "1e+20": 1e20, "1e400": math.Inf(1)} {
		if f, ok := ParseScore([]byte(s)); !ok || f != want {
			t.Errorf("ParseScore(%q) = %v, %v", s, f, ok)
		}
	}
	for _, s := range []string{"", "nan", "abc", " 1", "1x", "2_5"} {
		if _, ok := ParseScore([]byte(s)); ok {
			t.Errorf("ParseScore(%q) accepted", s)
		}
	}
}
