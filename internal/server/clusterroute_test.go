package server

import (
	"context"
	"io"
	"path/filepath"
	"testing"
	"time"

	"github.com/reefkv/reef/internal/cluster/state"
	"github.com/reefkv/reef/internal/config"
	"github.com/reefkv/reef/internal/logging"
	"github.com/reefkv/reef/internal/testutil"
)

// clusterServer returns a server in cluster mode (driver running, no
// listener) serving every slot, in cluster_state ok.
func clusterServer(t testing.TB) (*Server, *config.Config) {
	t.Helper()
	cfg := config.Default()
	cfg.ClusterEnabled = true
	cfg.Port = testutil.FreePort(t)
	cfg.ClusterConfigFile = filepath.Join(t.TempDir(), "nodes.conf")
	cfg.ClusterNodeTimeout = 1000
	s := New(cfg, logging.NewOutput(io.Discard, logging.LevelWarning))
	if err := s.startCluster(cfg); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.cancel(); s.wg.Wait() })
	r, err := s.cluster.d.Do(context.Background(), []string{"ADDSLOTSRANGE", "0", "16383"}, 0, nil)
	if err != nil || r != state.Status("OK") {
		t.Fatalf("ADDSLOTSRANGE: %v %v", r, err)
	}
	// A master that just started stays in state fail for 2 s.
	testutil.WaitFor(t, 10*time.Second, "cluster_state:ok", func() bool { return s.cluster.d.SlotMap().OK })
	return s, cfg
}

// TestClusterRouteNoAlloc: routing a keyed command costs no allocation.
func TestClusterRouteNoAlloc(t *testing.T) {
	s, cfg := clusterServer(t)
	c := &Client{srv: s}
	for _, args := range [][][]byte{
		{[]byte("GET"), []byte("foo")},
		{[]byte("MSET"), []byte("{a}1"), []byte("x"), []byte("{a}2"), []byte("y")},
		{[]byte("PING")},
	} {
		spec := s.table.Lookup(args[0])
		allocs := testing.AllocsPerRun(1000, func() {
			if !c.clusterRoute(spec, args, cfg) {
				t.Fatalf("%s rejected: %s", args[0], c.ctx.Out)
			}
		})
		if allocs != 0 {
			t.Errorf("%s: %v allocations per routing", args[0], allocs)
		}
	}
	// Cross-slot keys are refused.
	spec := s.table.Lookup([]byte("mset"))
	if c.clusterRoute(spec, [][]byte{[]byte("MSET"), []byte("a"), []byte("1"), []byte("b"), []byte("2")}, cfg) {
		t.Fatal("MSET a b accepted")
	}
	if got := string(c.ctx.Out); got != "-CROSSSLOT Keys in request don't hash to the same slot\r\n" {
		t.Fatalf("reply %q", got)
	}
}

func BenchmarkClusterRoute(b *testing.B) {
	s, cfg := clusterServer(b)
	c := &Client{srv: s}
	args := [][]byte{[]byte("GET"), []byte("key:000123")}
	spec := s.table.Lookup(args[0])
	b.ReportAllocs()
	for b.Loop() {
		c.clusterRoute(spec, args, cfg)
	}
}
