package admin

import (
	"testing"

	"github.com/reefkv/reef/internal/slot"
)

// Every slot has a scratch key, and it hashes to that slot.
func TestScratchKeys(t *testing.T) {
	for s := 0; s < slot.Count; s++ {
		k := scratchKey(s)
		if k == "" || slot.OfString(k) != s {
			t.Fatalf("slot %d: scratch key %q hashes to %d", s, k, slot.OfString(k))
		}
	}
}
