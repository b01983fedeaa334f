package cluster

import (
	"strconv"
	"testing"
	"time"

	"github.com/reefkv/reef/internal/slot"
	"github.com/reefkv/reef/internal/testutil"
)

// TestBlockedClients: a client blocked on a key is unblocked with -MOVED
// when the key's slot moves to another node, and with -CLUSTERDOWN when
// the cluster goes down (Redis checks blocked clients about once a second).
// The same script runs on redis-server 7.0.
func TestBlockedClients(t *testing.T) {
	t.Parallel()
	for _, impl := range []struct {
		name  string
		start func(t *testing.T, n int, extra ...string) []*testutil.Proc
	}{{"reef", startReefNodes}, {"redis", startRedisNodes}} {
		t.Run(impl.name, func(t *testing.T) {
			t.Parallel()
			blocked(t, impl.start)
		})
	}
}

func blocked(t *testing.T, start func(t *testing.T, n int, extra ...string) []*testutil.Proc) {
	ps := start(t, 3)
	createCluster(t, ps, 0)
	a, b := ps[0], ps[1]
	const key = "{user1000}.list" // slot 3443, served by a
	sl := strconv.Itoa(slot.OfString(key))

	reply := make(chan string, 1)
	blpop := func(p *testutil.Proc, key string) {
		c := testutil.MustDial(t, p.Addr())
		go func() {
			v, err := c.Do("BLPOP", key, "0")
			if err != nil {
				reply <- "error: " + err.Error()
				return
			}
			reply <- v.Text()
		}()
		// Blocked once INFO says so.
		testutil.WaitFor(t, 5*time.Second, "the client to block", func() bool {
			return testutil.InfoField(do(t, p, "INFO", "clients"), "blocked_clients") == "1"
		})
	}
	await := func(want string) {
		t.Helper()
		select {
		case got := <-reply:
			if got != want {
				t.Fatalf("BLPOP replied %q, want %q", got, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("BLPOP still blocked, want %q", want)
		}
	}

	// The slot moves from a to b.
	blpop(a, key)
	mustOK(t, b, "CLUSTER", "SETSLOT", sl, "NODE", myID(t, b))
	mustOK(t, a, "CLUSTER", "SETSLOT", sl, "NODE", myID(t, b))
	await("MOVED " + sl + " " + b.Addr())

	// The cluster goes down on b (an unassigned slot, full coverage). The
	// slot is deleted on every node, its owner first: deleted on b alone,
	// b would learn it again from a's next ping, and a blocked client that
	// checks only after that (on a loaded machine) would stay blocked.
	blpop(b, key)
	for _, p := range ps {
		mustOK(t, p, "CLUSTER", "DELSLOTS", "0")
	}
	await("CLUSTERDOWN The cluster is down")
}
