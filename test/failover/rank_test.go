package failover

import (
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/reefkv/reef/internal/testutil"
)

// TestUpToDateReplicaWins: of a master's two replicas, the one that has
// every acknowledged write is promoted when the master dies, never the one
// that missed some (the election's rank by replication offset; scorecard
// rows T2 and T6). One replica is frozen (SIGSTOP) while 40 MB of writes
// land and the other acknowledges them (WAIT 1): far more than the socket
// buffers can hold for the frozen one, which would otherwise catch up from
// them when it resumes. The master is killed and the frozen replica resumed
// at once, so that both compete. Then the lagging one must follow the
// winner and catch up, and no acknowledged write may be missing. It is done
// once in each of the three shards.
func TestUpToDateReplicaWins(t *testing.T) {
	c := startCluster(t, clusterOpts{nodes: 9, replicas: 2, timeout: 2000})
	for _, s := range []int{100, 6000, 12000} {
		upToDateReplicaWins(t, c, s)
	}
}

func upToDateReplicaWins(t *testing.T, c *cluster, s int) {
	t.Helper()
	master, replicas := c.shardOf(s)
	if len(replicas) != 2 {
		t.Fatalf("master %s has %d replicas", master.addr(), len(replicas))
	}
	behind, ahead := replicas[0], replicas[1]
	aheadID, behindID := c.myLine(ahead).ID, c.myLine(behind).ID

	behind.p.Signal(syscall.SIGSTOP)
	stopped := true
	defer func() {
		if stopped {
			behind.p.Signal(syscall.SIGCONT)
		}
	}()
	const writes = 400
	big := strings.Repeat("x", 100<<10)
	keys := make([]string, writes)
	// One connection: WAIT waits for the connection's own last write.
	mc := testutil.MustDial(t, master.addr())
	for i := range keys {
		keys[i] = "{" + keyForSlot("rank", s) + "}" + strconv.Itoa(i)
		if v, err := mc.Do("SET", keys[i], "v"+strconv.Itoa(i)+big); err != nil || v.Text() != "OK" {
			t.Fatalf("SET %s: %q %v", keys[i], v.Text(), err)
		}
	}
	if v, err := mc.Do("WAIT", "1", "5000"); err != nil || v.Int < 1 {
		t.Fatalf("WAIT 1: %v %v", v.Text(), err)
	}
	if ahead.info("replication", "slave_repl_offset") == "" {
		t.Fatal("the running replica reports no offset")
	}
	master.kill()
	behind.p.Signal(syscall.SIGCONT)
	stopped = false

	var observer *node
	for _, n := range c.live() {
		if n != ahead && n != behind {
			observer = n
			break
		}
	}
	testutil.WaitFor(t, 30*time.Second, "a replica promoted for slot "+strconv.Itoa(s), func() bool {
		for _, l := range c.nodesView(observer) {
			if l.Has("master") && !l.Has("fail") && l.OwnsSlot(s) && (l.ID == aheadID || l.ID == behindID) {
				return true
			}
		}
		return false
	})
	if owner := c.ownerOf(observer, s); owner.ID != aheadID {
		t.Fatalf("slot %d went to %s (the replica that missed %d writes), not %s", s, owner.ID, writes, aheadID)
	}
	for i, k := range keys {
		if v, err := ahead.call("GET", k); err != nil || v.Text() != "v"+strconv.Itoa(i)+big {
			t.Fatalf("acknowledged write %s on the new master: %d bytes %.80q, %v", k, len(v.Text()), v.Text(), err)
		}
	}
	testutil.WaitFor(t, 30*time.Second, "the lagging replica to follow the new master and catch up", func() bool {
		l := c.myLine(behind)
		if l.Master != aheadID {
			return false
		}
		return behind.info("replication", "master_link_status") == "up" &&
			behind.info("replication", "slave_repl_offset") == ahead.info("replication", "master_repl_offset")
	})
	rc := testutil.MustDial(t, behind.addr())
	if v, err := rc.Do("READONLY"); err != nil || v.Text() != "OK" {
		t.Fatalf("READONLY: %q %v", v.Text(), err)
	}
	for i, k := range keys {
		if v, err := rc.Do("GET", k); err != nil || v.Text() != "v"+strconv.Itoa(i)+big {
			t.Fatalf("%s on the caught-up replica: %d bytes, %v", k, len(v.Text()), err)
		}
	}
}
