package migrate

import (
	"strings"
	"testing"

	"github.com/reefkv/reef/internal/testutil"
)

// TestRedisCliReshardUnderLoad: the real redis-cli --cluster reshard and
// rebalance move slots of a Reef cluster with the legacy protocol
// (SETSLOT IMPORTING/MIGRATING, GETKEYSINSLOT, MIGRATE, SETSLOT NODE)
// while go-redis clients keep reading and writing through MOVED/ASK.
func TestRedisCliReshardUnderLoad(t *testing.T) {
	t.Parallel()
	c := startCluster(t, 3, 0)
	cli := testutil.RedisCliPath(t)
	verify := fill(t, c.nodes[0], "fill", 20000)
	l := startLoad(t, c.nodes[0], 8, "load")
	ids := []string{id(t, c.nodes[0]), id(t, c.nodes[1]), id(t, c.nodes[2])}

	t.Log("reshard")
	r := runTool(t, cli, "--cluster", "reshard", c.nodes[0].Addr(), "--cluster-from", ids[0],
		"--cluster-to", ids[1], "--cluster-slots", "200", "--cluster-yes")
	if r.code != 0 {
		t.Fatalf("reshard: %d\n%s\n%s", r.code, tail(r.out), r.err)
	}
	t.Log("reshard done")
	c.waitStable()
	c.check(c.nodes[0])
	t.Log("add-node")

	// add-node, then rebalance onto it with --cluster-use-empty-masters.
	n := c.addNode()
	if r := runTool(t, cli, "--cluster", "add-node", n.Addr(), c.nodes[0].Addr()); r.code != 0 {
		t.Fatalf("add-node: %d\n%s\n%s", r.code, r.out, r.err)
	}
	c.waitStable()
	t.Log("rebalance")
	r = runTool(t, cli, "--cluster", "rebalance", c.nodes[0].Addr(), "--cluster-use-empty-masters")
	if r.code != 0 {
		t.Fatalf("rebalance: %d\n%s\n%s", r.code, tail(r.out), r.err)
	}
	c.waitStable()
	c.check(c.nodes[0])
	if len(c.masters(true)) != 4 {
		t.Fatalf("rebalance did not give the new master slots")
	}

	// Empty a master with --cluster-weight id=0, then del-node it.
	t.Log("rebalance weight 0")
	gone := id(t, n)
	r = runTool(t, cli, "--cluster", "rebalance", c.nodes[0].Addr(), "--cluster-weight", gone+"=0")
	if r.code != 0 {
		t.Fatalf("rebalance weight 0: %d\n%s\n%s", r.code, tail(r.out), r.err)
	}
	c.waitStable()
	if _, ok := c.masters(true)[gone]; ok {
		t.Fatalf("master %s still has slots after rebalance with weight 0", gone)
	}
	r = runTool(t, cli, "--cluster", "del-node", c.nodes[0].Addr(), gone)
	if r.code != 0 {
		t.Fatalf("del-node: %d\n%s\n%s", r.code, r.out, r.err)
	}
	testutil.WaitFor(t, 30e9, "the deleted node to shut down", n.Exited)
	c.waitStable()
	c.check(c.nodes[0])

	ops := l.stop()
	verify()
	t.Logf("%d client operations during reshard, rebalance x2, add-node, del-node; slowest %v", ops, l.worst.Load()/1e6)
}

func tail(s string) string {
	lines := strings.Split(s, "\n")
	if len(lines) > 30 {
		lines = lines[len(lines)-30:]
	}
	return strings.Join(lines, "\n")
}
