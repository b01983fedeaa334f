package failover

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/reefkv/reef/internal/testutil"
)

// appender is a client that keeps appending unique values to lists in the
// slots of one shard and remembers every value it got an acknowledgement
// for: after the run, each list must hold every acknowledged value, in
// order (values written but not acknowledged may be there too).
type appender struct {
	keys   []string
	acked  map[string][]int
	errors int
	maxGap time.Duration // longest time without a successful write
}

func runAppender(ctx context.Context, c *cluster, keys []string, a *appender) {
	cl := newClient(c)
	defer cl.close()
	a.keys = keys
	a.acked = map[string][]int{}
	last := time.Now()
	for i := 0; ctx.Err() == nil; i++ {
		k := keys[i%len(keys)]
		v, err := cl.exec(k, []string{"RPUSH", k, strconv.Itoa(i)})
		if err != nil || v[0].IsError() {
			a.errors++
			time.Sleep(5 * time.Millisecond)
			continue
		}
		now := time.Now()
		if gap := now.Sub(last); gap > a.maxGap {
			a.maxGap = gap
		}
		last = now
		a.acked[k] = append(a.acked[k], i)
	}
}

// check verifies that every acknowledged value is in its list, in order,
// and returns how many were missing.
func (a *appender) check(t *testing.T, c *cluster) (missing int) {
	t.Helper()
	cl := newClient(c)
	defer cl.close()
	for _, k := range a.keys {
		var v []string
		testutil.WaitFor(t, 10*time.Second, "LRANGE "+k, func() bool {
			r, err := cl.exec(k, []string{"LRANGE", k, "0", "-1"})
			if err != nil || r[0].IsError() {
				return false
			}
			v = v[:0]
			for _, e := range r[0].Elems {
				v = append(v, e.Text())
			}
			return true
		})
		j := 0
		for _, want := range a.acked[k] {
			w := strconv.Itoa(want)
			for j < len(v) && v[j] != w {
				j++
			}
			if j == len(v) {
				missing++
				j = 0
				continue
			}
			j++
		}
	}
	return missing
}

// TestManualFailover: CLUSTER FAILOVER on a replica while clients append to
// lists of its master's slots: the master pauses writes, the replica
// catches up to the exact offset, then switches: not one acknowledged write
// is lost. Then FORCE (no handshake) and TAKEOVER (no election), the error
// replies of Redis, and a default failover whose master does not answer,
// which times out without promotion.
func TestManualFailover(t *testing.T) {
	c := startCluster(t, clusterOpts{timeout: 2000})
	master, replicas := c.shardOf(0)
	replica := replicas[0]
	mID, rID := c.myLine(master).ID, c.myLine(replica).ID

	// Keys of the shard being failed over (the first slots of slot 0's
	// owner), one list per writer.
	var lists [][]string
	for w := 0; w < 4; w++ {
		var ks []string
		for j := 0; j < 8; j++ {
			ks = append(ks, keyForSlot(fmt.Sprintf("list%d-%d", w, j), w*100+j))
		}
		lists = append(lists, ks)
	}

	// failoverUnderLoad runs the writers, calls CLUSTER FAILOVER [mode] on
	// from, waits until from is the master and to its replica, and stops.
	failoverUnderLoad := func(mode string, from, to *node, fromID, toID string) []*appender {
		t.Helper()
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		aps := make([]*appender, len(lists))
		for i := range lists {
			aps[i] = &appender{}
			wg.Add(1)
			go func() {
				defer wg.Done()
				runAppender(ctx, c, lists[i], aps[i])
			}()
		}
		time.Sleep(300 * time.Millisecond) // writes flow before the switch
		args := []string{"CLUSTER", "FAILOVER"}
		if mode != "" {
			args = append(args, mode)
		}
		start := time.Now()
		from.must(t, args...)
		testutil.WaitFor(t, 10*time.Second, "CLUSTER FAILOVER "+mode+" to complete", func() bool {
			return c.myLine(from).Has("master") && c.myLine(to).Master == fromID
		})
		took := time.Since(start)
		time.Sleep(300 * time.Millisecond) // and after it
		cancel()
		wg.Wait()
		var gap time.Duration
		for _, a := range aps {
			gap = max(gap, a.maxGap)
		}
		t.Logf("CLUSTER FAILOVER %s: switched in %v, longest write gap %v", mode, took.Round(time.Millisecond), gap.Round(time.Millisecond))
		return aps
	}

	// Default: zero lost writes.
	aps := failoverUnderLoad("", replica, master, rID, mID)
	total := 0
	for _, a := range aps {
		if miss := a.check(t, c); miss != 0 {
			t.Errorf("default manual failover lost %d acknowledged writes", miss)
		}
		for _, v := range a.acked {
			total += len(v)
		}
	}
	if total < 100 {
		t.Fatalf("only %d writes acknowledged", total)
	}
	testutil.WaitFor(t, 10*time.Second, "the old master in sync", func() bool {
		return master.info("replication", "master_link_status") == "up"
	})

	// Errors, as Redis words them.
	if v, _ := replica.call("CLUSTER", "FAILOVER"); v.Text() != "ERR You should send CLUSTER FAILOVER to a replica" {
		t.Errorf("FAILOVER on a master: %q", v.Text())
	}
	if v, _ := master.call("CLUSTER", "FAILOVER", "SOFT"); v.Text() != "ERR syntax error" {
		t.Errorf("FAILOVER SOFT: %q", v.Text())
	}

	// FORCE: back to the first master without the handshake (still by
	// election). Writes are not promised here; it must just switch.
	c.waitCaughtUp(10 * time.Second)
	failoverUnderLoad("FORCE", master, replica, mID, rID)
	testutil.WaitFor(t, 10*time.Second, "the replica in sync", func() bool {
		return replica.info("replication", "master_link_status") == "up"
	})

	// TAKEOVER: no election, a new configEpoch without agreement.
	epoch := c.myLine(master).Epoch
	failoverUnderLoad("TAKEOVER", replica, master, rID, mID)
	if e := c.myLine(replica).Epoch; e <= epoch {
		t.Errorf("TAKEOVER: configEpoch %d, not above %d", e, epoch)
	}
	c.waitAgree(10 * time.Second)
	c.waitSynced(10 * time.Second)

	// A default failover needs the master: with the master stopped (and the
	// replica not allowed to fail over by itself), it times out after 5 s
	// and nothing changes; with the master failed the replica is told to
	// use FORCE, which works.
	newMaster, newReplica := replica, master
	newReplica.must(t, "CONFIG", "SET", "cluster-replica-no-failover", "yes")
	newMaster.p.Signal(syscall.SIGSTOP)
	stopped := true
	defer func() {
		if stopped {
			newMaster.p.Signal(syscall.SIGCONT)
		}
	}()
	newReplica.must(t, "CLUSTER", "FAILOVER")
	testutil.WaitFor(t, 10*time.Second, "the manual failover to time out", func() bool {
		return strings.Contains(newReplica.p.Output(), "Manual failover timed out.")
	})
	if c.myLine(newReplica).Has("master") {
		t.Fatal("a default manual failover completed without its master")
	}
	testutil.WaitFor(t, 10*time.Second, "the stopped master failing", func() bool {
		return c.nodesView(newReplica)[rID].Has("fail")
	})
	if v, _ := newReplica.call("CLUSTER", "FAILOVER"); v.Text() != "ERR Master is down or failed, please use CLUSTER FAILOVER FORCE" {
		t.Errorf("FAILOVER with the master failed: %q", v.Text())
	}
	newReplica.must(t, "CLUSTER", "FAILOVER", "FORCE")
	testutil.WaitFor(t, 10*time.Second, "FORCE with the master down", func() bool {
		return c.myLine(newReplica).Has("master")
	})
	newMaster.p.Signal(syscall.SIGCONT)
	stopped = false
	testutil.WaitFor(t, 15*time.Second, "the stopped master back as a replica", func() bool {
		l := c.myLine(newMaster)
		return l.Has("slave") && l.Master == mID && !strings.Contains(newMaster.text("CLUSTER", "INFO"), "cluster_state:fail")
	})
	c.waitAgree(15 * time.Second)
}
