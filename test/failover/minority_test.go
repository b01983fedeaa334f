package failover

import (
	"bufio"
	"net"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/reefkv/reef/internal/resp"
	"github.com/reefkv/reef/internal/testutil"
)

// TestMinorityStopsWrites: a master that cannot reach a majority of the
// masters for node-timeout refuses writes with CLUSTERDOWN (the write lease
// a little before: node-timeout minus one ping interval after the last
// packet from the majority, before the majority can have replaced it), and
// takes writes again once the majority is back. The other masters are
// stopped with SIGSTOP: their sockets stay open but they answer nothing.
// The replicas cannot fail them over (no majority of masters to vote), so
// after SIGCONT the same masters serve the same slots.
func TestMinorityStopsWrites(t *testing.T) {
	const timeout = 1000
	c := startCluster(t, clusterOpts{timeout: timeout})
	lone, _ := c.shardOf(0)
	key := keyForSlot("minority", 0)
	var others []*node
	for _, s := range []int{5461, 16383} {
		m, _ := c.shardOf(s)
		others = append(others, m)
	}

	conn, err := net.Dial("tcp", lone.addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	r, w := resp.NewReplyReader(conn), bufio.NewWriter(conn)
	set := func() string {
		conn.SetDeadline(time.Now().Add(5 * time.Second))
		w.Write(resp.AppendCommand(nil, "SET", key, "v"))
		w.Flush()
		v, err := r.ReadReply()
		if err != nil {
			t.Fatal(err)
		}
		return v.Text()
	}
	if v := set(); v != "OK" {
		t.Fatalf("SET before the partition: %s", v)
	}

	stopped := true
	for _, m := range others {
		m.p.Signal(syscall.SIGSTOP)
	}
	defer func() {
		if stopped {
			for _, m := range others {
				m.p.Signal(syscall.SIGCONT)
			}
		}
	}()
	start := time.Now()
	var lastOK time.Duration
	var refused string
	testutil.WaitFor(t, 10*time.Second, "the lone master refusing writes", func() bool {
		v := set()
		if v == "OK" {
			lastOK = time.Since(start)
			return false
		}
		refused = v
		return true
	})
	downAfter := time.Since(start)
	t.Logf("the lone master took its last write %v after the other masters stopped and refused writes after %v (node timeout %d ms)",
		lastOK.Round(time.Millisecond), downAfter.Round(time.Millisecond), timeout)
	if refused != "CLUSTERDOWN The cluster is down" {
		t.Fatalf("refusal: %q", refused)
	}
	// A generous bound (a loaded machine delays ticks): the point is that
	// the minority stops on its own, about node-timeout after the cut.
	if lastOK > timeout*time.Millisecond+time.Second {
		t.Errorf("the minority master took writes for %v (node timeout %d ms)", lastOK, timeout)
	}
	// The write lease refuses writes a little before the node's own
	// PFAIL flags turn cluster_state to fail.
	testutil.WaitFor(t, 5*time.Second, "cluster_state:fail on the lone master", func() bool {
		return strings.Contains(lone.text("CLUSTER", "INFO"), "cluster_state:fail")
	})
	if v := set(); v != "CLUSTERDOWN The cluster is down" {
		t.Errorf("still refusing? %q", v)
	}

	for _, m := range others {
		m.p.Signal(syscall.SIGCONT)
	}
	stopped = false
	testutil.WaitFor(t, 15*time.Second, "writes accepted again", func() bool { return set() == "OK" })
	c.waitAgree(15 * time.Second)
	for i, s := range []int{5461, 16383} {
		if m, _ := c.shardOf(s); m != others[i] {
			t.Errorf("slot %d moved to %s while its master was stopped", s, m.addr())
		}
	}
}

// TestStalledMasterTakesNoWrites: a master stopped (SIGSTOP) for three
// node timeouts is failed over meanwhile, and its replica, now master,
// takes a new value; a client that kept its connection to the old master
// writes and reads again the moment it resumes. Redis acknowledges such
// writes until its cron notices (they are lost when it turns replica) and
// serves the old value; Reef's lease refuses both: not one write is
// acknowledged and no read answered for slots the master no longer
// serves, and it comes back as a replica of its replica.
func TestStalledMasterTakesNoWrites(t *testing.T) {
	const timeout = 1000
	c := startCluster(t, clusterOpts{timeout: timeout})
	master, rs := c.shardOf(0)
	replica := rs[0]
	mID, rID := c.myLine(master).ID, c.myLine(replica).ID
	key := keyForSlot("stall", 0)

	conn, err := net.Dial("tcp", master.addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	r, w := resp.NewReplyReader(conn), bufio.NewWriter(conn)
	do := func(args ...string) string {
		conn.SetDeadline(time.Now().Add(5 * time.Second))
		w.Write(resp.AppendCommand(nil, args...))
		w.Flush()
		rep, err := r.ReadReply()
		if err != nil {
			t.Fatal(err)
		}
		return rep.Text()
	}
	set := func(v string) string { return do("SET", key, v) }
	if v := set("before"); v != "OK" {
		t.Fatalf("SET before the stall: %s", v)
	}
	c.waitCaughtUp(10 * time.Second)

	master.p.Signal(syscall.SIGSTOP)
	stopped := true
	defer func() {
		if stopped {
			master.p.Signal(syscall.SIGCONT)
		}
	}()
	start := time.Now()
	testutil.WaitFor(t, 20*time.Second, "the replica promoted while its master is stopped", func() bool {
		return c.myLine(replica).Has("master") && c.nodesView(replica)[mID].Has("fail")
	})
	cl := newClient(c)
	defer cl.close()
	testutil.WaitFor(t, 10*time.Second, "a new value through the new master", func() bool {
		v, err := cl.exec(key, []string{"SET", key, "during"})
		return err == nil && v[0].Text() == "OK"
	})
	if d := time.Duration(3*timeout)*time.Millisecond - time.Since(start); d > 0 {
		time.Sleep(d) // stopped for three node timeouts in all
	}
	master.p.Signal(syscall.SIGCONT)
	stopped = false
	acked, stale := 0, 0
	var replies []string
	for i := 0; i < 200; i++ {
		v := set("after" + strconv.Itoa(i))
		if v == "OK" {
			acked++
		}
		g := do("GET", key)
		if g == "before" {
			stale++
		}
		for _, rep := range []string{v, g} {
			if len(replies) == 0 || replies[len(replies)-1] != rep {
				replies = append(replies, rep)
			}
		}
		if strings.HasPrefix(v, "MOVED") {
			break
		}
	}
	t.Logf("replies of the resumed master, in order: %q", replies)
	if acked != 0 {
		t.Errorf("the resumed master acknowledged %d writes for a slot its replica took over", acked)
	}
	if stale != 0 {
		t.Errorf("the resumed master served the value its replica replaced %d times", stale)
	}
	testutil.WaitFor(t, 15*time.Second, "the old master a replica of its replica", func() bool {
		l := c.myLine(master)
		return l.Has("slave") && l.Master == rID
	})
	testutil.WaitFor(t, 10*time.Second, "the key through the cluster", func() bool {
		v, err := cl.exec(key, []string{"GET", key})
		return err == nil && v[0].Text() == "during"
	})
}
