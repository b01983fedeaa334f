package failover

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/reefkv/reef/internal/slot"
	"github.com/reefkv/reef/internal/testutil"
)

// TestWalkthrough is the Redis Cluster tutorial's failover rehearsal on six
// reef-servers made into a cluster by redis-cli --cluster create: data is
// written with redis-cli -c; one master is killed with SIGKILL, later
// another one is stopped with SHUTDOWN. Each time another node must report
// cluster_state:ok with all 16384 slots ok and the dead node master,fail,
// the dead node's replica must own its slots with a higher configEpoch,
// every key must read back through redis-cli -c, and the restarted node
// must come back as myself,slave of its former replica.
func TestWalkthrough(t *testing.T) {
	c := startCluster(t, clusterOpts{timeout: 2000})
	const keys = 300
	var in strings.Builder
	for i := 0; i < keys; i++ {
		fmt.Fprintf(&in, "SET key:%d value:%d\n", i, i)
	}
	if out, code := redisCLI(t, in.String(), "-c", "-p", c.nodes[0].port()); code != 0 || strings.Count(out, "OK") != keys {
		t.Fatalf("redis-cli -c SET: exit %d\n%s", code, out)
	}
	// Data written before the fault is on the replicas before the fault
	// (the tutorial writes, then kills later; async replication needs a
	// moment).
	c.waitCaughtUp(10 * time.Second)
	readBack := func() {
		t.Helper()
		var in strings.Builder
		for i := 0; i < keys; i++ {
			fmt.Fprintf(&in, "GET key:%d\n", i)
		}
		out, code := redisCLI(t, in.String(), "-c", "-p", c.live()[0].port())
		for i := 0; i < keys; i++ {
			if code != 0 || !strings.Contains(out, fmt.Sprintf("value:%d\n", i)) {
				t.Fatalf("key:%d not read back (exit %d):\n%s", i, code, out)
			}
		}
	}

	// stop is one fault: kill -9 or SHUTDOWN of the master serving s.
	stop := func(name string, s int, fault func(*node)) {
		t.Helper()
		victim, replicas := c.shardOf(s)
		if len(replicas) != 1 {
			t.Fatalf("%s: master %s has %d replicas", name, victim.addr(), len(replicas))
		}
		heir := replicas[0]
		victimLine := c.myLine(victim)
		heirID := c.myLine(heir).ID
		// The observer is a node of another shard.
		var observer *node
		for _, n := range c.live() {
			if n != victim && n != heir {
				observer = n
				break
			}
		}
		start := time.Now()
		fault(victim)
		testutil.WaitFor(t, 20*time.Second, name+": failover seen by "+observer.addr(), func() bool {
			info := observer.text("CLUSTER", "INFO")
			if testutil.InfoField(info, "cluster_state") != "ok" || testutil.InfoField(info, "cluster_slots_ok") != "16384" {
				return false
			}
			view := c.nodesView(observer)
			dead, h := view[victimLine.ID], view[heirID]
			return dead.Has("master") && dead.Has("fail") && len(dead.Slots) == 0 &&
				h.Has("master") && h.OwnsSlot(s) && h.Epoch > victimLine.Epoch
		})
		t.Logf("%s: %s's slots served by %s %v after the fault", name, victim.addr(), heir.addr(), time.Since(start).Round(time.Millisecond))
		// The redis-cli view of the same facts.
		out, _ := redisCLI(t, "", "-p", observer.port(), "cluster", "nodes")
		for _, l := range strings.Split(out, "\n") {
			if strings.HasPrefix(l, victimLine.ID) && !strings.Contains(l, " master,fail ") {
				t.Fatalf("%s: redis-cli cluster nodes shows %q", name, l)
			}
		}
		h := c.myLine(heir)
		for _, r := range victimLine.Slots {
			if !strings.Contains(" "+strings.Join(h.Slots, " ")+" ", " "+r+" ") {
				t.Fatalf("%s: new master %s lacks slots %s: %v", name, heir.addr(), r, h.Slots)
			}
		}
		readBack()

		victim.restart(t)
		testutil.WaitFor(t, 15*time.Second, name+": the old master back as a replica", func() bool {
			out, _ := redisCLI(t, "", "-p", victim.port(), "cluster", "nodes")
			for _, l := range strings.Split(out, "\n") {
				f := strings.Fields(l)
				if len(f) > 3 && f[2] == "myself,slave" && f[3] == heirID {
					return victim.info("replication", "master_link_status") == "up"
				}
			}
			return false
		})
		c.waitAgree(20 * time.Second)
		readBack()
	}

	stop("kill -9", slot.OfString("key:0"), func(n *node) { n.kill() })
	// The other fault hits another shard.
	var other int
	killedOwner := c.ownerOf(c.nodes[0], slot.OfString("key:0")).ID
	for s := 0; s < slot.Count; s += 1000 {
		if c.ownerOf(c.nodes[0], s).ID != killedOwner {
			other = s
			break
		}
	}
	stop("SHUTDOWN", other, func(n *node) {
		// The connection closes without a reply when the server exits.
		n.call("SHUTDOWN")
		n.p.WaitExit(t, 20*time.Second)
	})
	if n := len(c.live()); n != 6 {
		t.Fatalf("%d nodes alive", n)
	}
	epochs := map[string]bool{}
	for _, l := range c.nodesView(c.nodes[0]) {
		if l.Has("master") {
			e := strconv.Itoa(l.Epoch)
			if epochs[e] {
				t.Fatalf("two masters with configEpoch %s", e)
			}
			epochs[e] = true
		}
	}
}
