package hll

import (
	"bytes"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"

	"github.com/reefkv/reef/internal/testutil"
)

// TestDifferentialRedis runs random PFADD/PFMERGE/PFCOUNT sequences against
// a real redis-server and against this package and compares every value
// byte for byte. It runs only with REEF_DIFF_HLL=<rounds>.
func TestDifferentialRedis(t *testing.T) {
	rounds, _ := strconv.Atoi(os.Getenv("REEF_DIFF_HLL"))
	if rounds == 0 {
		t.Skip("set REEF_DIFF_HLL=<rounds> to run against redis-server")
	}
	p := testutil.StartRedis(t)
	c := testutil.MustDial(t, p.Addr())
	do := func(args ...string) string {
		v, err := c.Do(args...)
		if err != nil || v.IsError() {
			t.Fatalf("%v: %v %v", args[:2], v.Text(), err)
		}
		return v.Text()
	}
	r := rand.New(rand.NewPCG(uint64(rounds), 7))
	keys := []string{"a", "b", "c"}
	for round := 0; round < rounds; round++ {
		do("FLUSHALL")
		sparseMax := []int{0, 50, 300, 1000, 3000, 6000}[r.IntN(6)]
		do("CONFIG", "SET", "hll-sparse-max-bytes", strconv.Itoa(sparseMax))
		db := map[string][]byte{}
		for step := 0; step < 20; step++ {
			k := keys[r.IntN(len(keys))]
			switch r.IntN(5) {
			case 0, 1, 2:
				args := []string{"PFADD", k}
				var els [][]byte
				for n := r.IntN(40); n > 0; n-- {
					e := strconv.Itoa(r.IntN(1 << uint(4+r.IntN(14))))
					args = append(args, e)
					els = append(els, []byte(e))
				}
				do(args...)
				v, _, err := PFAdd(db[k], els, sparseMax)
				if err != nil {
					t.Fatal(err)
				}
				db[k] = v
			case 3:
				src := keys[r.IntN(len(keys))]
				do("PFMERGE", k, src)
				v, err := PFMerge(db[k], [][]byte{db[src]}, sparseMax)
				if err != nil {
					t.Fatal(err)
				}
				db[k] = v
			default:
				if db[k] == nil {
					continue
				}
				got := do("PFCOUNT", k)
				n, _, err := PFCount(db[k])
				if err != nil || strconv.FormatUint(n, 10) != got {
					t.Fatalf("round %d: PFCOUNT %s, ours %d %v", round, got, n, err)
				}
			}
			for _, key := range keys {
				if db[key] == nil {
					continue
				}
				if theirs := do("GET", key); !bytes.Equal([]byte(theirs), db[key]) {
					t.Fatalf("round %d step %d key %s (sparse max %d): values differ\nredis %x\nours  %x",
						round, step, key, sparseMax, head([]byte(theirs)), head(db[key]))
				}
			}
		}
	}
}
