package sim

import (
	"strconv"
	"testing"

	"github.com/reefkv/reef/internal/cluster/state"
)

// TestNoTwoWritableOwners cuts a master away from the rest of the cluster
// (its replica stays with the majority, which promotes it) and checks every
// 2 ms of simulated time that at most one node would take a write for the
// master's slots: a master with cluster_state ok that serves the slot and
// whose write lease has not run out. It also measures, for the record, how
// long both would have taken writes under Redis's rule alone (state ok and
// serving the slot, no lease).
func TestNoTwoWritableOwners(t *testing.T) {
	seeds := 20
	if testing.Short() {
		seeds = 5
	}
	var worstOverlap int64
	for seed := uint64(1); seed <= uint64(seeds); seed++ {
		cfg := state.DefaultConfig()
		cfg.NodeTimeout = 2000
		s := New(seed, 6, cfg)
		s.MinDelay, s.MaxDelay = 1, 10
		for i, r := range [][2]int{{0, 5460}, {5461, 10922}, {10923, 16383}} {
			s.Command(s.Nodes[i], "SET-CONFIG-EPOCH", strconv.Itoa(i+1))
			s.Command(s.Nodes[i], "ADDSLOTSRANGE", strconv.Itoa(r[0]), strconv.Itoa(r[1]))
		}
		for i := 1; i < 6; i++ {
			s.Command(s.Nodes[i], "MEET", "127.0.0.1", "7000", "17000")
		}
		if !s.RunUntil(s.Now+10000, s.Converged) {
			t.Fatalf("seed %d: no convergence", seed)
		}
		for r := 3; r < 6; r++ {
			s.Command(s.Nodes[r], "REPLICATE", s.Nodes[r-3].M.MyID().String())
		}
		s.RunFor(4000)
		writable := func(nd *Node, lease bool) bool {
			m := nd.M
			if nd.Down || !m.StateOK() || !m.ServesSlot(0) {
				return false
			}
			return !lease || s.Now <= m.WritableUntil()
		}
		var overlap int64
		check := func() bool {
			if writable(s.Nodes[0], true) && writable(s.Nodes[3], true) {
				t.Fatalf("seed %d: n0 and n3 both take writes for slot 0 at %d ms", seed, s.Now-Start)
			}
			if writable(s.Nodes[0], false) && writable(s.Nodes[3], false) {
				overlap += 2
			}
			return false
		}
		// Healthy: the lease never stops a master.
		for end := s.Now + 2000; s.Now < end; {
			s.RunUntil(s.Now+2, nil)
			if !writable(s.Nodes[0], true) {
				t.Fatalf("seed %d: healthy master n0 not writable at %d ms (lease until %d)", seed, s.Now-Start, s.Nodes[0].M.WritableUntil()-Start)
			}
		}
		s.Partition([]int{0}, []int{1, 2, 3, 4, 5})
		for end := s.Now + 8000; s.Now < end; {
			s.RunUntil(s.Now+2, nil)
			check()
		}
		if !writable(s.Nodes[3], true) {
			t.Fatalf("seed %d: the replica did not take over", seed)
		}
		s.Heal()
		for end := s.Now + 8000; s.Now < end; {
			s.RunUntil(s.Now+2, nil)
			check()
		}
		if len(s.Violation) > 0 {
			t.Fatalf("seed %d: %v", seed, s.Violation)
		}
		worstOverlap = max(worstOverlap, overlap)
	}
	t.Logf("without the lease, the cut master and its promoted replica would both have taken writes for up to %d ms", worstOverlap)
}
