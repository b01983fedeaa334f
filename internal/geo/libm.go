package geo

import "math"

// Redis measures distances with the C library's sin, cos and asin, and
// prints them with up to 17 significant digits (GEOSEARCHSTORE STOREDIST,
// then ZSCORE). Go's math package is accurate to about one ulp but rounds
// a fifth to a third of its results differently from glibc, whose results
// are correctly rounded in all but rare cases. So the distance is computed
// here in double-double arithmetic (about 106 bits) and rounded once: the
// correctly rounded value, which is glibc's but for about 0.1% of
// arguments, where glibc misrounds.

// dd is an unevaluated sum hi+lo with |lo| <= ulp(hi)/2.
type dd struct{ hi, lo float64 }

func twoSum(a, b float64) dd {
	s := a + b
	bb := s - a
	return dd{s, (a - (s - bb)) + (b - bb)}
}

func fastTwoSum(a, b float64) dd {
	s := a + b
	return dd{s, b - (s - a)}
}

func twoProd(a, b float64) dd {
	p := a * b
	return dd{p, math.FMA(a, b, -p)}
}

func (x dd) add(y dd) dd {
	s := twoSum(x.hi, y.hi)
	t := twoSum(x.lo, y.lo)
	s = fastTwoSum(s.hi, s.lo+t.hi)
	return fastTwoSum(s.hi, s.lo+t.lo)
}

func (x dd) neg() dd { return dd{-x.hi, -x.lo} }

func (x dd) mul(y dd) dd {
	p := twoProd(x.hi, y.hi)
	p.lo += x.hi*y.lo + x.lo*y.hi
	return fastTwoSum(p.hi, p.lo)
}

func (x dd) mulFloat(f float64) dd {
	p := twoProd(x.hi, f)
	p.lo += x.lo * f
	return fastTwoSum(p.hi, p.lo)
}

func (x dd) div(y dd) dd {
	q1 := x.hi / y.hi
	r := x.add(y.mulFloat(q1).neg())
	q2 := r.hi / y.hi
	r = r.add(y.mulFloat(q2).neg())
	q3 := r.hi / y.hi
	return fastTwoSum(q1, q2).add(dd{q3, 0})
}

// value rounds to the nearest double.
func (x dd) value() float64 { return x.hi + x.lo }

// halfPi is π/2 in three parts (about 160 bits), for argument reduction.
const (
	halfPi1 = 1.5707963267948966192313216916397514
	halfPi2 = 6.123233995736766035868820147291818e-17
	halfPi3 = -1.4973849048591698329435709790582e-33
)

// taylor holds 1/n! for n = 0..maxTerm as double-doubles.
const maxTerm = 30

var invFact = func() (f [maxTerm + 1]dd) {
	f[0] = dd{1, 0}
	for n := 1; n <= maxTerm; n++ {
		f[n] = f[n-1].div(dd{float64(n), 0})
	}
	return f
}()

// sinSeries is r - r³/3! + r⁵/5! - ..., cosSeries 1 - r²/2! + r⁴/4! - ...,
// for |r| <= π/4, to double-double precision (r2 is r²).
func sinSeries(r, r2 dd) dd {
	acc := dd{}
	for n := maxTerm - 1; n >= 1; n -= 2 {
		term := invFact[n]
		if (n/2)%2 == 1 {
			term = term.neg()
		}
		acc = acc.mul(r2).add(term)
	}
	return acc.mul(r)
}

func cosSeries(r2 dd) dd {
	acc := dd{}
	for n := maxTerm; n >= 0; n -= 2 {
		term := invFact[n]
		if (n/2)%2 == 1 {
			term = term.neg()
		}
		acc = acc.mul(r2).add(term)
	}
	return acc
}

// reduce returns r and k with x = r + k·π/2, |r| <= π/4 (roughly).
func reduce(x float64) (dd, int) {
	k := math.Round(x / halfPi1)
	// x - k·π/2, each product exact in double-double.
	r := dd{x, 0}.add(twoProd(k, halfPi1).neg())
	r = r.add(twoProd(k, halfPi2).neg())
	r = r.add(dd{-k * halfPi3, 0})
	return r, int(k) & 3
}

// maxReducible bounds the arguments reduce handles exactly: far beyond
// the at most 2π a distance needs.
const maxReducible = 1 << 20

// sinQuadrant is sin(r + q·π/2) for a reduced argument r (r2 = r·r):
// one series, the one the quadrant needs.
func sinQuadrant(r, r2 dd, q int) dd {
	switch q & 3 {
	case 1:
		return cosSeries(r2)
	case 2:
		return sinSeries(r, r2).neg()
	case 3:
		return cosSeries(r2).neg()
	}
	return sinSeries(r, r2)
}

func sinCosDD(x float64) (sin, cos dd) {
	r, q := reduce(x)
	r2 := r.mul(r)
	return sinQuadrant(r, r2, q), sinQuadrant(r, r2, q+1)
}

// cSin and cCos stand for glibc's sin and cos. They are correctly rounded
// (libm_test.go checks them against mpmath), which glibc's results are
// too in all but about 0.1% of arguments (docs/TESTING-SERVER.md).
func cSin(x float64) float64 {
	if x == 0 || math.IsNaN(x) || math.IsInf(x, 0) || math.Abs(x) > maxReducible {
		return math.Sin(x)
	}
	r, q := reduce(x)
	return sinQuadrant(r, r.mul(r), q).value()
}

func cCos(x float64) float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) || math.Abs(x) > maxReducible {
		return math.Cos(x)
	}
	// cos x = sin(x + π/2), with the quadrant moved instead of x.
	r, q := reduce(x)
	return sinQuadrant(r, r.mul(r), q+1).value()
}

// cAsin is glibc's asin: Go's estimate refined by one Newton step on sin
// in double-double, which squares its error.
func cAsin(y float64) float64 {
	if y == 0 || math.IsNaN(y) || math.Abs(y) >= 1 {
		return math.Asin(y)
	}
	a := math.Asin(y)
	s, c := sinCosDD(a)
	// a - (sin a - y) / cos a
	corr := s.add(dd{-y, 0}).div(c)
	return dd{a, 0}.add(corr.neg()).value()
}
