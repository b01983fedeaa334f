package state

import (
	"math/rand/v2"
	"testing"
)

// The ping interval: node-timeout/20 in small clusters, growing with the
// square of the size, never above node-timeout/4, so that the write lease
// (node-timeout minus one interval) always spans several intervals.
func TestPingInterval(t *testing.T) {
	cases := []struct {
		nodes   int
		timeout int64
		want    int64
	}{
		{6, 2000, 100},
		{9, 2000, 160},
		{20, 5000, 902},
		{20, 2000, 500},
		{100, 5000, 1250},
		{100, 15000, 3750},
		{3, 15000, 750},
	}
	for _, c := range cases {
		cfg := DefaultConfig()
		cfg.NodeTimeout = c.timeout
		m, err := New(cfg, rand.New(rand.NewPCG(1, 2)), nil, 1_700_000_000_000)
		if err != nil {
			t.Fatal(err)
		}
		for len(m.nodes) < c.nodes {
			m.nodes = append(m.nodes, &node{})
		}
		if got := m.pingInterval(); got != c.want {
			t.Errorf("%d nodes, node-timeout %d: interval %d, want %d", c.nodes, c.timeout, got, c.want)
		}
		if lease := m.leaseMillis(); lease < c.timeout*3/4 {
			t.Errorf("%d nodes, node-timeout %d: lease %d ms, under 3/4 of the timeout", c.nodes, c.timeout, lease)
		}
	}
}
