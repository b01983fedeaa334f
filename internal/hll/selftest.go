package hll

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
)

// SelfTest performs PFSELFTEST's checks: (1) a thousand rounds of setting
// every dense register to a random value and reading it back, (2) adding
// ten million distinct elements to a dense and a sparse HLL, checking at
// each power of ten that small cardinalities stay sparse, that both agree,
// and that the error stays within six standard errors. The error texts are
// Redis's replies (without '-').
func SelfTest(r *rand.Rand, sparseMax int) error {
	regs := make([]byte, DenseSize-HeaderSize)
	var want [Registers]uint8
	for round := 0; round < 1000; round++ {
		for i := range want {
			want[i] = uint8(r.Uint32() & RegisterMax)
			denseSetRaw(regs, i, want[i])
		}
		for i := range want {
			if got := denseGet(regs, i); got != want[i] {
				return fmt.Errorf("ERR TESTFAILED Register %d should be %d but is %d", i, want[i], got)
			}
		}
	}
	dense := make([]byte, DenseSize)
	copy(dense, "HYLL")
	sparse := New()
	relerr := 1.04 / math.Sqrt(Registers)
	checkpoint := int64(1)
	seed := r.Uint64()
	var ele [8]byte
	for j := int64(1); j <= 10000000; j++ {
		binary.LittleEndian.PutUint64(ele[:], uint64(j)^seed)
		idx, c := PatLen(ele[:])
		denseSet(dense[HeaderSize:], idx, c)
		var err error
		if sparse, _, err = Set(sparse, idx, c, sparseMax); err != nil {
			return fmt.Errorf("ERR TESTFAILED %v", err)
		}
		if j != checkpoint {
			continue
		}
		if j < int64(sparseMax/2) && !IsSparse(sparse) {
			return fmt.Errorf("ERR TESTFAILED sparse encoding not used")
		}
		cd, _ := Count(dense)
		cs, err := Count(sparse)
		if err != nil || cd != cs {
			return fmt.Errorf("ERR TESTFAILED dense/sparse disagree")
		}
		abserr := checkpoint - int64(cd)
		maxerr := int64(math.Ceil(relerr * 6 * float64(checkpoint)))
		if j == 10 {
			maxerr = 1
		}
		if abserr < 0 {
			abserr = -abserr
		}
		if abserr > maxerr {
			return fmt.Errorf("ERR TESTFAILED Too big error. card:%d abserr:%d", checkpoint, abserr)
		}
		checkpoint *= 10
	}
	return nil
}
