package geo

import (
	"bufio"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"
)

// TestCorrectlyRounded checks sin, cos and asin against values computed at
// 200 bits and rounded once (testdata/libm.txt, made with mpmath): the
// results glibc gives in all but rare cases. Go's math package rounds a
// fifth to a third of these differently.
func TestCorrectlyRounded(t *testing.T) {
	f, err := os.Open("testdata/libm.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	bits := func(s string) float64 {
		u, err := strconv.ParseUint(s, 16, 64)
		if err != nil {
			t.Fatal(err)
		}
		return math.Float64frombits(u)
	}
	sc := bufio.NewScanner(f)
	n, goWrong := 0, 0
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "#") {
			continue
		}
		v := strings.Fields(sc.Text())
		x, sin, cos, y, asin := bits(v[0]), bits(v[1]), bits(v[2]), bits(v[3]), bits(v[4])
		if got := cSin(x); got != sin {
			t.Errorf("sin(%v) = %v, want %v", x, got, sin)
		}
		if got := cCos(x); got != cos {
			t.Errorf("cos(%v) = %v, want %v", x, got, cos)
		}
		if got := cAsin(y); got != asin {
			t.Errorf("asin(%v) = %v, want %v", y, got, asin)
		}
		if math.Sin(x) != sin || math.Cos(x) != cos || math.Asin(y) != asin {
			goWrong++
		}
		n++
	}
	if n < 1000 {
		t.Fatalf("only %d vectors", n)
	}
	t.Logf("%d vectors; Go's math differs on %d of them", n, goWrong)
}
