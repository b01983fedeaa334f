package cluster

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/reefkv/reef/internal/testutil"
)

// TestMembershipWalkthrough follows the membership part of the Redis
// Cluster tutorial on three reef masters: FORGET of oneself fails, FORGET
// of a peer removes it, MEET brings it back, redis-cli --cluster add-node
// adds an empty master and refuses a node holding a key, and forgetting a
// slot-owning master everywhere leaves the others in cluster_state:fail
// with 10923 slots assigned. The same walk-through runs against
// redis-server 7.0, the reference.
func TestMembershipWalkthrough(t *testing.T) {
	t.Parallel()
	for _, impl := range []struct {
		name  string
		start func(t *testing.T, n int, extra ...string) []*testutil.Proc
	}{{"reef", startReefNodes}, {"redis", startRedisNodes}} {
		t.Run(impl.name, func(t *testing.T) {
			t.Parallel()
			membershipWalkthrough(t, impl.start)
		})
	}
}

func membershipWalkthrough(t *testing.T, start func(t *testing.T, n int, extra ...string) []*testutil.Proc) {
	ps := start(t, 3)
	createCluster(t, ps, 0)
	a, b, c := ps[0], ps[1], ps[2]
	idA, idC := myID(t, a), myID(t, c)

	if got := do(t, a, "CLUSTER", "FORGET", idA); got != "ERR I tried hard but I can't forget myself..." {
		t.Fatalf("FORGET myself: %q", got)
	}
	if got := do(t, a, "CLUSTER", "FORGET", "0123456789012345678901234567890123456789"); got != "ERR Unknown node 0123456789012345678901234567890123456789" {
		t.Fatalf("FORGET unknown: %q", got)
	}

	// B forgets C: C is gone from B's table at once, and stays gone (the
	// 60 s ban keeps A's gossip from bringing it back).
	mustOK(t, b, "CLUSTER", "FORGET", idC)
	if nodes := do(t, b, "CLUSTER", "NODES"); strings.Contains(nodes, idC) {
		t.Fatalf("B still knows C:\n%s", nodes)
	}
	if n := testutil.InfoField(do(t, b, "CLUSTER", "INFO"), "cluster_known_nodes"); n != "2" {
		t.Fatalf("B knows %s nodes", n)
	}
	// MEET brings it back, with its slots.
	mustOK(t, b, "CLUSTER", "MEET", "127.0.0.1", strconv.Itoa(c.Port))
	waitAgree(t, ps, 3)

	// add-node of a fresh node: a master with no slots, known to everyone.
	d := start(t, 1)[0]
	r := redisCLI(t, "", "--cluster", "add-node", d.Addr(), a.Addr())
	if r.code != 0 || !strings.Contains(r.out, "[OK] New node added correctly.") {
		t.Fatalf("add-node exit %d:\n%s%s", r.code, r.out, r.err)
	}
	idD := myID(t, d)
	ps = append(ps, d)
	waitAgree(t, ps, 4)
	for _, p := range ps {
		n := testutil.ParseNodes(do(t, p, "CLUSTER", "NODES"))[idD]
		if !strings.Contains(n.Flags, "master") || len(n.Slots) != 0 {
			t.Fatalf("%s sees the new node as %+v", p.Addr(), n)
		}
	}

	// add-node of a node that holds a key is refused by redis-cli.
	e := start(t, 1, "--enable-debug-command", "yes")[0]
	mustOK(t, e, "DEBUG", "POPULATE", "1")
	r = redisCLI(t, "", "--cluster", "add-node", e.Addr(), a.Addr())
	if r.code == 0 || !strings.Contains(r.out, "[ERR] Node "+e.Addr()+" is not empty.") {
		t.Fatalf("add-node of a node with a key: exit %d:\n%s%s", r.code, r.out, r.err)
	}

	// Forget C (a master with 5461 slots) on every other node.
	for _, p := range []*testutil.Proc{a, b, d} {
		mustOK(t, p, "CLUSTER", "FORGET", idC)
	}
	for _, p := range []*testutil.Proc{a, b, d} {
		testutil.WaitFor(t, 10*time.Second, p.Addr()+" in cluster_state:fail", func() bool {
			return testutil.InfoField(do(t, p, "CLUSTER", "INFO"), "cluster_state") == "fail"
		})
		info := do(t, p, "CLUSTER", "INFO")
		if got := testutil.InfoField(info, "cluster_slots_assigned"); got != "10923" {
			t.Fatalf("%s: cluster_slots_assigned:%s", p.Addr(), got)
		}
		if got := testutil.InfoField(info, "cluster_known_nodes"); got != "3" {
			t.Fatalf("%s: cluster_known_nodes:%s", p.Addr(), got)
		}
	}
	// Keys of the forgotten master's slots now get CLUSTERDOWN.
	if got := do(t, a, "GET", "foo"); got != "CLUSTERDOWN Hash slot not served" {
		t.Fatalf("GET foo (slot 12182): %q", got)
	}
}
