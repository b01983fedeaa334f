package failover

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/reefkv/reef/internal/testutil"
)

// TestReplicaMigration: seven nodes, so one master has two replicas. When
// another master loses its only replica it is orphaned, and a replica of
// the master with the most replicas (the one with the smallest ID) moves to
// it after the orphan delay, but only with cluster-allow-replica-migration
// yes and when its master keeps more than cluster-migration-barrier
// working replicas.
func TestReplicaMigration(t *testing.T) {
	c := startCluster(t, clusterOpts{nodes: 7, timeout: 1000})
	var rich, poor *node
	var richReplicas, poorReplicas []*node
	for s := 0; s < 16384; s += 5461 {
		m, rs := c.shardOf(s)
		switch {
		case len(rs) == 2 && rich == nil:
			rich, richReplicas = m, rs
		case len(rs) == 1 && poor == nil:
			poor, poorReplicas = m, rs
		}
	}
	if rich == nil || poor == nil {
		t.Fatal("redis-cli did not give one master two replicas")
	}
	poorID := c.myLine(poor).ID
	richID := c.myLine(rich).ID
	// The replica that may move: the smallest ID among the rich master's.
	mover, stayer := richReplicas[0], richReplicas[1]
	if c.myLine(stayer).ID < c.myLine(mover).ID {
		mover, stayer = stayer, mover
	}
	setAll := func(args ...string) {
		for _, n := range c.live() {
			n.must(t, append([]string{"CONFIG", "SET"}, args...)...)
		}
	}
	unmoved := func(phase string) {
		t.Helper()
		for _, r := range richReplicas {
			if l := c.myLine(r); l.Master != richID {
				t.Fatalf("%s: %s migrated to %s", phase, r.addr(), l.Master)
			}
		}
	}

	setAll("cluster-allow-replica-migration", "no")
	lost := poorReplicas[0]
	lostID := c.myLine(lost).ID
	lost.kill()
	testutil.WaitFor(t, 10*time.Second, "the lost replica failing", func() bool {
		return c.nodesView(mover)[lostID].Has("fail")
	})
	// The orphan delay is 5 s: wait past it.
	time.Sleep(6 * time.Second)
	unmoved("cluster-allow-replica-migration no")

	setAll("cluster-allow-replica-migration", "yes", "cluster-migration-barrier", "2")
	time.Sleep(6 * time.Second)
	unmoved("cluster-migration-barrier 2")

	setAll("cluster-migration-barrier", "1")
	testutil.WaitFor(t, 10*time.Second, "a replica migrating to the orphaned master", func() bool {
		return c.myLine(mover).Master == poorID
	})
	if !strings.Contains(mover.p.Output(), "Migrating to orphaned master "+poorID) {
		t.Errorf("no migration log line:\n%s", mover.p.Output())
	}
	if l := c.myLine(stayer); l.Master != richID {
		t.Fatalf("both replicas moved: %s follows %s", stayer.addr(), l.Master)
	}
	testutil.WaitFor(t, 10*time.Second, "the migrated replica in sync", func() bool {
		return mover.info("replication", "master_link_status") == "up" && mover.info("replication", "master_port") == poor.port()
	})
	// The orphaned master got a working replica: its failure is covered.
	poor.kill()
	testutil.WaitFor(t, 10*time.Second, "the migrated replica taking over", func() bool {
		return c.myLine(mover).Has("master") && len(c.myLine(mover).Slots) > 0
	})
}

// TestEmptiedMaster: a master whose last slot is moved away by redis-cli
// --cluster reshard becomes a replica of the node that took it (Redis 7.0),
// unless cluster-allow-replica-migration is no, in which case it stays an
// empty master.
func TestEmptiedMaster(t *testing.T) {
	for _, allow := range []string{"yes", "no"} {
		t.Run("allow-replica-migration="+allow, func(t *testing.T) {
			// Four masters built by hand: the last one serves only ten slots,
			// so that emptying it is quick.
			ranges := [][2]int{{0, 5460}, {5461, 10922}, {10923, 16373}, {16374, 16383}}
			var ns []*node
			args := []string{"--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
				"--cluster-node-timeout", createTimeout, "--cluster-allow-replica-migration", allow}
			for i, r := range ranges {
				n := &node{kind: "reef", p: testutil.StartReef(t, args...)}
				n.must(t, "CLUSTER", "SET-CONFIG-EPOCH", strconv.Itoa(i+1))
				n.must(t, "CLUSTER", "ADDSLOTSRANGE", strconv.Itoa(r[0]), strconv.Itoa(r[1]))
				ns = append(ns, n)
			}
			for _, n := range ns[1:] {
				n.must(t, "CLUSTER", "MEET", "127.0.0.1", ns[0].port())
			}
			c := &cluster{t: t, kind: "reef", nodes: ns}
			c.waitAgree(30 * time.Second)
			small, big := ns[3], ns[0]
			smallID, bigID := c.myLine(small).ID, c.myLine(big).ID
			out, code := redisCLI(t, "", "--cluster", "reshard", big.addr(), "--cluster-from", smallID,
				"--cluster-to", bigID, "--cluster-slots", "10", "--cluster-yes")
			if code != 0 {
				t.Fatalf("reshard: exit %d\n%s", code, out)
			}
			testutil.WaitFor(t, 10*time.Second, "the emptied master's role", func() bool {
				l := c.myLine(small)
				if len(l.Slots) != 0 {
					return false
				}
				if allow == "yes" {
					return l.Has("slave") && l.Master == bigID
				}
				return l.Has("master")
			})
			if allow == "no" {
				// It stays an empty master: give it time to change its mind.
				time.Sleep(500 * time.Millisecond)
				if l := c.myLine(small); !l.Has("master") {
					t.Fatalf("emptied master became %s", l.Flags)
				}
			}
		})
	}
}

// TestFailoverRestraints: cluster-replica-no-failover (the nofailover flag)
// and cluster-replica-validity-factor keep a replica from promoting itself
// when its master fails; lifting them lets it promote.
func TestFailoverRestraints(t *testing.T) {
	c := startCluster(t, clusterOpts{timeout: 1000, pass: "secret",
		extra: []string{"--repl-ping-replica-period", "1", "--cluster-replica-validity-factor", "1"}})

	// cluster-replica-no-failover yes: the replica shows nofailover to
	// every node and stays a replica when its master fails.
	master, rs := c.shardOf(0)
	replica := rs[0]
	mID, rID := c.myLine(master).ID, c.myLine(replica).ID
	replica.must(t, "CONFIG", "SET", "cluster-replica-no-failover", "yes")
	testutil.WaitFor(t, 10*time.Second, "the nofailover flag spread", func() bool {
		for _, n := range c.live() {
			if !c.nodesView(n)[rID].Has("nofailover") {
				return false
			}
		}
		return true
	})
	master.kill()
	testutil.WaitFor(t, 10*time.Second, "the master failing", func() bool {
		return c.nodesView(replica)[mID].Has("fail")
	})
	// An election would start within ~70 ms at this node timeout.
	time.Sleep(1500 * time.Millisecond)
	if c.myLine(replica).Has("master") {
		t.Fatal("a nofailover replica promoted itself")
	}
	replica.must(t, "CONFIG", "SET", "cluster-replica-no-failover", "no")
	testutil.WaitFor(t, 10*time.Second, "promotion once allowed", func() bool {
		return c.myLine(replica).Has("master")
	})
	master.restart(t)
	c.waitAgree(20 * time.Second)
	c.waitSynced(20 * time.Second)

	// cluster-replica-validity-factor 1: a replica whose link has been down
	// for longer than repl-ping-replica-period + node-timeout x factor
	// (beyond the node timeout itself) does not fail over.
	var other int
	for s := 5461; s < 16384; s += 5461 {
		if c.ownerOf(c.nodes[0], s).ID != rID {
			other = s
			break
		}
	}
	master, rs = c.shardOf(other)
	replica = rs[0]
	mID = c.myLine(master).ID
	// A wrong masterauth keeps the link down after it is cut, while the
	// master stays healthy on the bus.
	replica.must(t, "CONFIG", "SET", "masterauth", "wrong")
	replica.must(t, "CLIENT", "KILL", "TYPE", "master")
	testutil.WaitFor(t, 10*time.Second, "the replication link down for 4 s", func() bool {
		d, _ := strconv.Atoi(replica.info("replication", "master_link_down_since_seconds"))
		return replica.info("replication", "master_link_status") == "down" && d >= 4
	})
	master.kill()
	testutil.WaitFor(t, 10*time.Second, "the master failing", func() bool {
		return c.nodesView(replica)[mID].Has("fail")
	})
	time.Sleep(1500 * time.Millisecond)
	if c.myLine(replica).Has("master") {
		t.Fatal("a replica with stale data promoted itself")
	}
	replica.must(t, "CONFIG", "SET", "cluster-replica-validity-factor", "0")
	testutil.WaitFor(t, 10*time.Second, "promotion with the validity check off", func() bool {
		return c.myLine(replica).Has("master")
	})
	replica.must(t, "CONFIG", "SET", "masterauth", "secret")
	master.restart(t)
	c.waitAgree(20 * time.Second)
}
