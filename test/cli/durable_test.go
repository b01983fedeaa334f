package cli

import (
	"strings"
	"testing"
)

// TestReshardToMasterWithReplica moves slots to a master that has a
// replica, where reef-cli copies keys, waits for the replica and only then
// deletes them from the source. The keys are dense (most slots of every
// batch hold some), so each step must stay within one slot: a cluster node
// refuses WATCH, DEL and transactions whose keys span slots (CROSSSLOT).
func TestReshardToMasterWithReplica(t *testing.T) {
	t.Parallel()
	ps := startNodes(t, 6, "--repl-diskless-sync-delay", "0")
	create(t, redisCLI(t), ps, 1)
	writeKeys(t, ps[0].Addr(), 20000, "d")
	before := slotMap(t, ps)
	from, to := -1, -1
	for i, s := range before {
		if strings.HasPrefix(s, "0-") {
			from = i
		}
		if strings.HasSuffix(s, "-16383") {
			to = i
		}
	}
	if from < 0 || to < 0 || from == to {
		t.Fatalf("unexpected slot map %q", before)
	}
	r := runCLI(t, reefCLI(t), "", "--cluster", "reshard", ps[0].Addr(), "--cluster-from", myID(t, ps[from]),
		"--cluster-to", myID(t, ps[to]), "--cluster-slots", "1000", "--cluster-yes")
	if r.code != 0 {
		t.Fatalf("reshard (%d):\n%s%s", r.code, r.out, r.err)
	}
	waitOK(t, ps)
	mustCheck(t, ps[0].Addr())
	checkKeys(t, ps[0].Addr(), 20000, "d")
	if b, a := slotCounts(before)[to], slotCounts(slotMap(t, ps))[to]; a != b+1000 {
		t.Errorf("the target went from %d to %d slots, want +1000", b, a)
	}
}
