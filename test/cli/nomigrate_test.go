package cli

import (
	"strconv"
	"strings"
	"testing"
)

// TestReshardWithoutMigrate reshards a cluster whose nodes have no MIGRATE
// (renamed away): reef-cli falls back to WATCH + DUMP/RESTORE + MULTI/DEL
// and every key, TTL included, arrives.
func TestReshardWithoutMigrate(t *testing.T) {
	t.Parallel()
	ps := startNodes(t, 3, "--rename-command", "MIGRATE", "")
	create(t, redisCLI(t), ps, 0)
	seed := ps[0].Addr()
	writeKeys(t, seed, 500, "k")
	ttlKey := keyInSlot(0, 11) // slot 0 is node 0's first, so it moves
	do(t, ps[0], "SET", ttlKey, "v", "PX", "600000")
	r := runCLI(t, reefCLI(t), "", "--cluster", "reshard", seed, "--cluster-from", "all", "--cluster-to", myID(t, ps[2]), "--cluster-slots", "3000", "--cluster-yes")
	if r.code != 0 {
		t.Fatalf("reshard without MIGRATE (%d):\n%s%s", r.code, r.out, r.err)
	}
	if !strings.Contains(r.out, "Moving slot 0 from") {
		t.Fatalf("unexpected reshard output:\n%s", r.out)
	}
	waitOK(t, ps)
	mustCheck(t, seed)
	checkKeys(t, seed, 500, "k")
	if ownerIndex(t, ps, 0) != 2 {
		t.Fatalf("slot 0 did not move to node 2")
	}
	if ttl, _ := strconv.Atoi(do(t, ps[2], "PTTL", ttlKey)); ttl <= 0 || ttl > 600000 {
		t.Errorf("TTL of %s after the move: %d", ttlKey, ttl)
	}
	if v := do(t, ps[2], "GET", ttlKey); v != "v" {
		t.Errorf("%s = %q", ttlKey, v)
	}
}
