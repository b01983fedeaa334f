package cluster

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/reefkv/reef/internal/slot"
	"github.com/reefkv/reef/internal/testutil"
)

// TestPubSub: PUBLISH reaches subscribers on every node over the bus;
// SPUBLISH reaches the shard (master and replica) of the channel's slot;
// SSUBSCRIBE elsewhere is redirected; a shard that loses the slot
// unsubscribes its subscribers with sunsubscribe. The same script runs on
// redis-server 7.0, the reference.
func TestPubSub(t *testing.T) {
	t.Parallel()
	for _, impl := range []struct {
		name  string
		start func(t *testing.T, n int, extra ...string) []*testutil.Proc
	}{{"reef", startReefNodes}, {"redis", startRedisNodes}} {
		t.Run(impl.name, func(t *testing.T) {
			t.Parallel()
			pubsub(t, impl.start)
		})
	}
}

// next reads one pushed message as text.
func next(t *testing.T, c *testutil.Conn) string {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	v, err := c.R.ReadReply()
	if err != nil {
		t.Fatalf("read push: %v", err)
	}
	parts := make([]string, len(v.Elems))
	for i, e := range v.Elems {
		parts[i] = e.Text()
	}
	return strings.Join(parts, " ")
}

func pubsub(t *testing.T, start func(t *testing.T, n int, extra ...string) []*testutil.Proc) {
	ps := start(t, 6)
	createCluster(t, ps, 1)
	// Regular channels: one subscriber per node, a PUBLISH on the first.
	var subs []*testutil.Conn
	for _, p := range ps {
		c := testutil.MustDial(t, p.Addr())
		if v, _ := c.Do("SUBSCRIBE", "news"); v.Elems[0].Text() != "subscribe" {
			t.Fatalf("SUBSCRIBE: %v", v)
		}
		subs = append(subs, c)
	}
	if got := do(t, ps[0], "PUBLISH", "news", "hello"); got != "1" {
		t.Fatalf("PUBLISH counted %s local receivers", got)
	}
	for i, c := range subs {
		if got := next(t, c); got != "message news hello" {
			t.Fatalf("subscriber on node %d got %q", i, got)
		}
	}

	// Shard channels: "{user1000}" hashes to slot 3443, served by ps[0].
	const ch = "{user1000}"
	owner, ownerID := ps[0], myID(t, ps[0])
	var replica *testutil.Proc
	for _, n := range testutil.ParseNodes(do(t, owner, "CLUSTER", "NODES")) {
		if n.Master == ownerID {
			for _, p := range ps {
				if strings.HasPrefix(n.Addr, p.Addr()+"@") {
					replica = p
				}
			}
		}
	}
	if got := do(t, ps[1], "SSUBSCRIBE", ch); got != "MOVED "+strconv.Itoa(slot.OfString(ch))+" "+owner.Addr() {
		t.Fatalf("SSUBSCRIBE elsewhere: %q", got)
	}
	var ssubs []*testutil.Conn
	for _, p := range []*testutil.Proc{owner, replica} {
		c := testutil.MustDial(t, p.Addr())
		if v, _ := c.Do("SSUBSCRIBE", ch); len(v.Elems) != 3 || v.Elems[0].Text() != "ssubscribe" {
			t.Fatalf("SSUBSCRIBE on %s: %v", p.Addr(), v.Text())
		}
		ssubs = append(ssubs, c)
	}
	if got := do(t, owner, "SPUBLISH", ch, "shard-hello"); got != "1" {
		t.Fatalf("SPUBLISH counted %s local receivers", got)
	}
	for i, c := range ssubs {
		if got := next(t, c); got != "smessage "+ch+" shard-hello" {
			t.Fatalf("shard subscriber %d got %q", i, got)
		}
	}

	// The owner gives the slot away: its subscriber is told, and so is the
	// replica's once it learns.
	mustOK(t, owner, "CLUSTER", "SETSLOT", "3443", "NODE", myID(t, ps[1]))
	if got := next(t, ssubs[0]); got != "sunsubscribe "+ch+" 0" {
		t.Fatalf("owner's subscriber got %q", got)
	}
	mustOK(t, ps[1], "CLUSTER", "SETSLOT", "3443", "NODE", myID(t, ps[1]))
	if got := next(t, ssubs[1]); got != "sunsubscribe "+ch+" 0" {
		t.Fatalf("replica's subscriber got %q", got)
	}
}
