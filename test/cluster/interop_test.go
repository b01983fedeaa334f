package cluster

import (
	"bytes"
	"encoding/binary"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/reefkv/reef/internal/testutil"
)

// TestMixedCluster: three reef-servers and two real redis-servers 7.0
// become one cluster through redis-cli --cluster create. Every node, Redis
// or Reef, shows the same CLUSTER NODES (ids, flags, masters, epochs, slot
// owners); a bus peer sending garbage is dropped without harm; a killed
// redis-server is marked FAIL by the reef nodes, and a killed reef-server
// by the redis-server.
func TestMixedCluster(t *testing.T) {
	t.Parallel()
	reef := startReefNodes(t, 3)
	redis := startRedisNodes(t, 2)
	// Interleaved, so that slot ranges alternate between implementations.
	ps := []*testutil.Proc{reef[0], redis[0], reef[1], redis[1], reef[2]}
	createCluster(t, ps, 0)

	t.Run("same view", func(t *testing.T) {
		nodes := testutil.ParseNodes(do(t, redis[0], "CLUSTER", "NODES"))
		if len(nodes) != 5 {
			t.Fatalf("redis knows %d nodes", len(nodes))
		}
		var slots int
		for _, n := range nodes {
			if !strings.Contains(n.Flags, "master") || n.Link != "connected" || n.Epoch == 0 {
				t.Errorf("redis sees %+v", n)
			}
			for _, rg := range n.SlotRanges() {
				slots += rg[1] - rg[0] + 1
			}
		}
		if slots != 16384 {
			t.Fatalf("%d slots", slots)
		}
		// waitAgree compared every node's view already; check the reef
		// nodes' own lines against Redis's view of them once more.
		for _, p := range reef {
			mine := testutil.ParseNodes(do(t, p, "CLUSTER", "NODES"))
			id := myID(t, p)
			if mine[id].Epoch != nodes[id].Epoch || strings.Join(mine[id].Slots, " ") != strings.Join(nodes[id].Slots, " ") ||
				mine[id].Addr != nodes[id].Addr {
				t.Fatalf("reef %s says %+v, redis says %+v", p.Addr(), mine[id], nodes[id])
			}
		}
	})

	t.Run("garbage on the bus", func(t *testing.T) {
		target := reef[0]
		bus := "127.0.0.1:" + strconv.Itoa(busPort(target))
		before := testutil.InfoField(do(t, target, "CLUSTER", "INFO"), "cluster_known_nodes")
		hdr := func(sig string, totlen uint32, ver uint16) []byte {
			b := make([]byte, 2256)
			copy(b, sig)
			binary.BigEndian.PutUint32(b[4:], totlen)
			binary.BigEndian.PutUint16(b[8:], ver)
			return b
		}
		for name, payload := range map[string][]byte{
			"garbage":         bytes.Repeat([]byte("GET / HTTP/1.1\r\n"), 200),
			"wrong signature": hdr("RCmB", 2256, 1),
			"absurd length":   hdr("RCmb", 0xFFFFFFF0, 1),
			"short length":    hdr("RCmb", 8, 1),
		} {
			c, err := net.DialTimeout("tcp", bus, 2*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			c.Write(payload)
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			buf := make([]byte, 4096)
			var rerr error
			for rerr == nil {
				_, rerr = c.Read(buf)
			}
			c.Close()
			if ne, ok := rerr.(net.Error); ok && ne.Timeout() {
				t.Errorf("%s: the node kept the link open", name)
			}
		}
		// A truncated header: the peer goes away mid-message.
		c, err := net.DialTimeout("tcp", bus, 2*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		c.Write(hdr("RCmb", 2256, 1)[:100])
		c.Close()
		if do(t, target, "PING") != "PONG" || testutil.InfoField(do(t, target, "CLUSTER", "INFO"), "cluster_known_nodes") != before {
			t.Fatal("the node was harmed")
		}
		waitAgree(t, ps, 5)
	})

	// failed reports whether p's CLUSTER NODES flags id as fail (FAIL, not
	// just PFAIL).
	failed := func(p *testutil.Proc, id string) bool {
		text, ok := tryDo(p, "CLUSTER", "NODES")
		if !ok {
			return false
		}
		for _, f := range strings.Split(testutil.ParseNodes(text)[id].Flags, ",") {
			if f == "fail" {
				return true
			}
		}
		return false
	}

	t.Run("reef marks redis FAIL", func(t *testing.T) {
		id := myID(t, redis[0])
		redis[0].Kill()
		for _, p := range append(append([]*testutil.Proc{}, reef...), redis[1]) {
			testutil.WaitFor(t, 15*time.Second, p.Addr()+" to mark the killed redis-server FAIL", func() bool { return failed(p, id) })
		}
	})

	t.Run("redis marks reef FAIL", func(t *testing.T) {
		id := myID(t, reef[0])
		reef[0].Kill()
		for _, p := range []*testutil.Proc{redis[1], reef[1], reef[2]} {
			testutil.WaitFor(t, 15*time.Second, p.Addr()+" to mark the killed reef-server FAIL", func() bool { return failed(p, id) })
		}
	})
}
