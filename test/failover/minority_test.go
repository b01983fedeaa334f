package failover

import (
	"bufio"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/reefkv/reef/internal/resp"
	"github.com/reefkv/reef/internal/testutil"
)

// TestMinorityStopsWrites: a master that cannot reach a majority of the
// masters for node-timeout refuses writes with CLUSTERDOWN (so a partition
// cannot leave two writable owners of a slot for longer than about that),
// and takes writes again once the majority is back. The other masters are
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
	if got := lone.info("cluster", "cluster_enabled"); got != "1" || !strings.Contains(lone.text("CLUSTER", "INFO"), "cluster_state:fail") {
		t.Errorf("CLUSTER INFO of the lone master: %s", lone.text("CLUSTER", "INFO"))
	}
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
