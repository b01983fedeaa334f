package cluster

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/reefkv/reef/internal/testutil"
)

// TestBusFaultInjection drives Redis's cluster fault-injection DEBUG
// subcommands on reef-servers: a node told to drop every PONG it receives
// (DEBUG DROP-CLUSTER-PACKET-FILTER 1) leaves its PING unanswered; once the
// filter is lifted, DEBUG CLUSTERLINK KILL closes the link, which the node
// opens again with a PING that is answered. The error replies are compared
// with redis-server 7.0's.
func TestBusFaultInjection(t *testing.T) {
	ps := startReefNodes(t, 3, "--enable-debug-command", "yes")
	createCluster(t, ps, 0)
	a, b := ps[0], ps[1]
	bID := myID(t, b)

	// pingSent is the ping-sent field (unix ms, 0 when no PING awaits its
	// PONG) of b's line in a's CLUSTER NODES.
	pingSent := func() int64 {
		for _, l := range strings.Split(do(t, a, "CLUSTER", "NODES"), "\n") {
			if f := strings.Fields(l); len(f) > 4 && f[0] == bID {
				n, _ := strconv.ParseInt(f[4], 10, 64)
				return n
			}
		}
		return -1
	}
	mustOK(t, a, "DEBUG", "DROP-CLUSTER-PACKET-FILTER", "1")
	// A PONG normally answers a PING within milliseconds; dropped, the
	// PING stays unanswered.
	testutil.WaitFor(t, 20*time.Second, "a PING to b unanswered for 2 s", func() bool {
		sent := pingSent()
		return sent > 0 && time.Now().UnixMilli()-sent > 2000
	})
	// Lifting the filter does not bring the lost PONG back, and while b's
	// own PINGs keep the link busy nothing resets it (as in Redis, which
	// waits for a PONG before it pings again): killing the link does, and
	// the PING the new link carries is answered.
	mustOK(t, a, "DEBUG", "DROP-CLUSTER-PACKET-FILTER", "-1")
	// The outbound link's creation time moves on when it is killed and
	// opened again.
	created := func() string {
		c, err := testutil.Dial(a.Addr())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		v, err := c.Do("CLUSTER", "LINKS")
		if err != nil {
			t.Fatal(err)
		}
		for _, link := range v.Elems {
			var dir, node, ctime string
			for i := 0; i+1 < len(link.Elems); i += 2 {
				switch link.Elems[i].Text() {
				case "direction":
					dir = link.Elems[i+1].Text()
				case "node":
					node = link.Elems[i+1].Text()
				case "create-time":
					ctime = link.Elems[i+1].Text()
				}
			}
			if dir == "to" && node == bID {
				return ctime
			}
		}
		return ""
	}
	before := created()
	if before == "" {
		t.Fatal("no outbound link to the second node in CLUSTER LINKS")
	}
	mustOK(t, a, "DEBUG", "CLUSTERLINK", "KILL", "to", bID)
	testutil.WaitFor(t, 20*time.Second, "the killed link opened again and its PING answered", func() bool {
		now := created()
		return now != "" && now != before && pingSent() == 0
	})
	mustOK(t, a, "DEBUG", "CLUSTERLINK", "KILL", "all", bID)
	waitAgree(t, ps, len(ps))

	// Errors, as redis-server 7.0 gives them (its "unknown direction" case
	// is left out: it replies the error and then +OK as well).
	redis := testutil.StartRedis(t, "--enable-debug-command", "yes", "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf")
	plain := testutil.StartReef(t, "--enable-debug-command", "yes")
	plainRedis := testutil.StartRedis(t, "--enable-debug-command", "yes")
	for _, cmd := range [][]string{
		{"DEBUG", "DROP-CLUSTER-PACKET-FILTER", "x"},
		{"DEBUG", "DROP-CLUSTER-PACKET-FILTER", "-1"},
		{"DEBUG", "CLUSTERLINK", "KILL", "all", "0123456789012345678901234567890123456789"},
		{"DEBUG", "CLUSTERLINK", "KILL", "all"},
		{"DEBUG", "CLUSTERLINK", "SPARE", "all", "x"},
	} {
		if got, want := do(t, a, cmd...), do(t, redis, cmd...); got != want {
			t.Errorf("%q: reef %q, redis %q", cmd, got, want)
		}
	}
	cmd := []string{"DEBUG", "CLUSTERLINK", "KILL", "all", "x"}
	if got, want := do(t, plain, cmd...), do(t, plainRedis, cmd...); got != want {
		t.Errorf("%q without cluster mode: reef %q, redis %q", cmd, got, want)
	}
}
