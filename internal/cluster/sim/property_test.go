package sim

import (
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/reefkv/reef/internal/cluster/state"
)

// TestDeterministic: the same seed gives the same trace, byte for byte.
func TestDeterministic(t *testing.T) {
	script, err := os.ReadFile("testdata/failover.scn")
	if err != nil {
		t.Fatal(err)
	}
	a, err := Run(strings.NewReader(string(script)))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Run(strings.NewReader(string(script)))
	if a != b {
		t.Fatal("two runs of the same seed differ")
	}
	c, _ := Run(strings.NewReader(strings.Replace(string(script), "seed 7", "seed 8", 1)))
	if a == c {
		t.Error("another seed gave the same trace")
	}
}

// TestElectionSafety runs a lossy, slow network where two replicas with the
// same offset race for their dead master's slots, over many seeds: never
// two winners of one epoch, never a vote or an election request sent
// before it was persisted, and in the end exactly one master for the slots.
func TestElectionSafety(t *testing.T) {
	seeds := 30
	if testing.Short() {
		seeds = 5
	}
	for seed := uint64(1); seed <= uint64(seeds); seed++ {
		cfg := state.DefaultConfig()
		cfg.NodeTimeout = 1000
		// A loss here resets the link and drops what it carried, so an
		// election can lose its ACKs several times running; without the
		// validity limit (20 s at this node timeout) the replicas keep
		// trying, every 2 x auth timeout, until one wins.
		cfg.ReplicaValidityFactor = 0
		s := New(seed, 7, cfg)
		s.MinDelay, s.MaxDelay = 1, 80
		slots := [][2]int{{0, 5460}, {5461, 10922}, {10923, 16383}}
		for i, r := range slots {
			s.Command(s.Nodes[i], "ADDSLOTSRANGE", strconv.Itoa(r[0]), strconv.Itoa(r[1]))
		}
		for i := 1; i < 7; i++ {
			s.Command(s.Nodes[i], "MEET", "127.0.0.1", "7000", "17000")
		}
		if !s.RunUntil(s.Now+10000, s.Converged) {
			t.Fatalf("seed %d: no convergence", seed)
		}
		for _, r := range []int{3, 4, 5, 6} {
			s.Command(s.Nodes[r], "REPLICATE", s.Nodes[[]int{0, 0, 1, 2}[r-3]].M.MyID().String())
		}
		s.RunFor(3000)
		s.Loss = 0.05
		s.Kill(s.Nodes[0])
		won := func() bool {
			for _, r := range []int{3, 4} {
				if s.Nodes[r].M.StateOK() && isMaster(s.Nodes[r]) && isMaster(s.Nodes[r]) {
					return true
				}
			}
			return false
		}
		if !s.RunUntil(s.Now+30000, won) {
			t.Errorf("seed %d: no replica won\n%s", seed, strings.Join(s.Trace, "\n"))
		}
		s.Loss = 0
		s.RunFor(5000)
		if len(s.Violation) > 0 {
			t.Errorf("seed %d: %v", seed, s.Violation)
		}
		masters := 0
		for _, r := range []int{3, 4} {
			if isMaster(s.Nodes[r]) {
				masters++
			}
		}
		if masters != 1 {
			t.Errorf("seed %d: %d masters among the two replicas", seed, masters)
		}
	}
}

func isMaster(nd *Node) bool {
	for _, v := range nd.M.NodeViews() {
		if v.ID == nd.M.MyID() {
			return v.Master.IsZero() && v.NumSlots > 0
		}
	}
	return false
}
