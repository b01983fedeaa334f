package cli

import (
	"strings"
	"testing"

	"github.com/reefkv/reef/internal/client"
	"github.com/reefkv/reef/internal/testutil"
)

// plantOrphan writes key=val on n although n does not own the key's slot
// (as a half-finished migration leaves it), using a brief IMPORTING state.
func plantOrphan(t *testing.T, n, owner *testutil.Proc, s int, key, val string) {
	t.Helper()
	do(t, n, "CLUSTER", "SETSLOT", itoa(s), "IMPORTING", myID(t, owner))
	c, err := client.Dial(n.Addr(), client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rs, err := c.Pipeline([][]string{{"ASKING"}, {"SET", key, val}})
	c.Close()
	if err != nil || rs[1].IsError() {
		t.Fatalf("plant %s: %v %s", key, err, rs[1].Text())
	}
	do(t, n, "CLUSTER", "SETSLOT", itoa(s), "STABLE")
}

// TestReshardBusyKey moves a slot whose key already exists on the target:
// with equal values the key is replaced, with different values reshard
// stops and names the key (redis-cli's DEBUG DIGEST-VALUE comparison), and
// --cluster-replace overwrites it.
func TestReshardBusyKey(t *testing.T) {
	t.Parallel()
	ps := startNodes(t, 3)
	create(t, redisCLI(t), ps, 0)
	seed := ps[0].Addr()
	// Slot 0 belongs to node 0; it is the first slot a reshard from node 0
	// moves.
	same, diff := keyInSlot(0, 7), keyInSlot(0, 8)
	do(t, ps[0], "SET", same, "v")
	do(t, ps[0], "SET", diff, "source")
	plantOrphan(t, ps[1], ps[0], 0, same, "v")
	plantOrphan(t, ps[1], ps[0], 0, diff, "target")
	args := []string{"--cluster", "reshard", seed, "--cluster-from", myID(t, ps[0]), "--cluster-to", myID(t, ps[1]), "--cluster-slots", "1", "--cluster-yes"}
	r := runCLI(t, reefCLI(t), "", args...)
	if r.code != 1 || !strings.Contains(r.out, "*** Found 1 key(s) in both source node and target node having different values.") || !strings.Contains(r.out, "    - "+diff) {
		t.Fatalf("reshard over a different busy key (%d):\n%s%s", r.code, r.out, r.err)
	}
	// The slot is left open with keys on both sides, as redis-cli leaves
	// it; fix closes it (case 2, keys moved to the node it picks as owner).
	r = runCLI(t, reefCLI(t), "", "--cluster", "fix", seed, "--cluster-replace")
	if r.code != 0 {
		t.Fatalf("fix --cluster-replace (%d):\n%s%s", r.code, r.out, r.err)
	}
	waitOK(t, ps)
	mustCheck(t, seed)
	if v := getKey(t, seed, diff); v != "source" && v != "target" {
		t.Errorf("%s = %q after fix", diff, v)
	}
	if v := getKey(t, seed, same); v != "v" {
		t.Errorf("%s = %q", same, v)
	}

	// With --cluster-replace the reshard itself overwrites the target's
	// copy with the source's value.
	s2 := 5461 // first slot of node 1
	k := keyInSlot(s2, 9)
	do(t, ps[1], "SET", k, "source")
	plantOrphan(t, ps[2], ps[1], s2, k, "target")
	r = runCLI(t, reefCLI(t), "", "--cluster", "reshard", seed, "--cluster-from", myID(t, ps[1]), "--cluster-to", myID(t, ps[2]), "--cluster-slots", "1", "--cluster-yes", "--cluster-replace")
	if r.code != 0 {
		t.Fatalf("reshard --cluster-replace (%d):\n%s%s", r.code, r.out, r.err)
	}
	waitOK(t, ps)
	mustCheck(t, seed)
	if v := getKey(t, seed, k); v != "source" {
		t.Errorf("%s = %q after --cluster-replace, want the source's value", k, v)
	}
}
