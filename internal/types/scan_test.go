package types_test

import (
	"strconv"
	"testing"

	"github.com/reefkv/reef/internal/types"
)

// A SCAN that goes on after deletions shrank the table below its cursor
// still returns every member that was there all along (a slot migration
// sends big sets in SSCAN-sized chunks while clients delete members).
func TestSetScanAfterDeletes(t *testing.T) {
	lim := types.DefaultLimits()
	s := types.NewSetFor([]byte("m0"))
	for i := 0; i < 300; i++ {
		s.Add([]byte("m"+strconv.Itoa(i)), &lim)
	}
	seen := map[string]bool{}
	add := func(m types.Str) { seen[string(m.Append(nil))] = true }
	cursor := s.Scan(0, 20, add)
	for i := 0; i < 40; i++ {
		s.Remove([]byte("m" + strconv.Itoa(i)))
	}
	for cursor != 0 {
		cursor = s.Scan(cursor, 20, add)
	}
	for i := 40; i < 300; i++ {
		if m := "m" + strconv.Itoa(i); !seen[m] {
			t.Fatalf("member %s, never deleted, was not returned by the scan", m)
		}
	}
}
