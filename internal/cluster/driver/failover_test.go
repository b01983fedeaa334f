package driver

import (
	"context"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/reefkv/reef/internal/cluster/state"
	"github.com/reefkv/reef/internal/testutil"
)

// liveServer reports a healthy replication link, as a replica in sync
// would.
type liveServer struct {
	NopServer
	mu      sync.Mutex
	masters int
}

func (s *liveServer) ReplInfo() state.ReplInfo {
	return state.ReplInfo{LinkUp: true, LastInteraction: time.Now().UnixMilli(), Offset: 100}
}

func (s *liveServer) BecomeMaster(bool) { s.mu.Lock(); s.masters++; s.mu.Unlock() }

// TestFailoverWithRealRedis: our node is the replica of a real redis
// master; the master is killed; the two other real masters mark it FAIL,
// vote for our node (their own election code judges our AUTH_REQUEST), and
// see it take the slots. When the old master restarts, it is demoted to a
// replica of our node.
func TestFailoverWithRealRedis(t *testing.T) {
	args := []string{"--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "1000"}
	var rs []*testutil.Proc
	var rcs []*testutil.Conn
	var ids []string
	for i := 0; i < 3; i++ {
		r := testutil.StartRedis(t, args...)
		c := testutil.MustDial(t, r.Addr())
		rs, rcs = append(rs, r), append(rcs, c)
		ids = append(ids, rdo(t, c, "CLUSTER", "MYID"))
		rdo(t, c, "CLUSTER", "SET-CONFIG-EPOCH", strconv.Itoa(i+1))
	}
	rdo(t, rcs[0], "CLUSTER", "ADDSLOTSRANGE", "0", "5460")
	rdo(t, rcs[1], "CLUSTER", "ADDSLOTSRANGE", "5461", "10922")
	rdo(t, rcs[2], "CLUSTER", "ADDSLOTSRANGE", "10923", "16383")
	rdo(t, rcs[1], "CLUSTER", "MEET", "127.0.0.1", strconv.Itoa(rs[0].Port))
	rdo(t, rcs[2], "CLUSTER", "MEET", "127.0.0.1", strconv.Itoa(rs[0].Port))

	srv := &liveServer{}
	p := testutil.FreePort(t)
	cfg := state.DefaultConfig()
	cfg.NodeTimeout = 1000
	cfg.Port = uint16(p)
	d, err := Open(Config{State: cfg, ConfigFile: filepath.Join(t.TempDir(), "nodes.conf"), BusAddr: "127.0.0.1:" + strconv.Itoa(p+10000)}, srv)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); d.Run(ctx) }()
	defer func() { cancel(); wg.Wait() }()
	x := &node{d: d, port: p}
	x.do(t, "MEET", "127.0.0.1", strconv.Itoa(rs[0].Port))
	testutil.WaitFor(t, 10*time.Second, "our node to know the 3 masters", func() bool {
		return len(nodesLines(x.do(t, "NODES"))) == 4
	})
	x.do(t, "REPLICATE", ids[0])
	for _, c := range rcs {
		testutil.WaitFor(t, 10*time.Second, "redis to see our node as replica of R0", func() bool {
			f := strings.Fields(lineOf(rdo(t, c, "CLUSTER", "NODES"), x.d.MyID()))
			return len(f) == 8 && f[2] == "slave" && f[3] == ids[0]
		})
	}
	testutil.WaitFor(t, 10*time.Second, "cluster ok", func() bool {
		return strings.Contains(rdo(t, rcs[1], "CLUSTER", "INFO"), "cluster_state:ok")
	})

	rs[0].Kill()
	for _, c := range rcs[1:] {
		testutil.WaitFor(t, 20*time.Second, "real masters to see our node as master of 0-5460", func() bool {
			f := strings.Fields(lineOf(rdo(t, c, "CLUSTER", "NODES"), x.d.MyID()))
			return len(f) == 9 && f[2] == "master" && f[8] == "0-5460"
		})
	}
	// The PONG announcing the promotion and the BecomeMaster event leave
	// in the same Ready; the real masters may see the first before the
	// server has run the second.
	masters := func() int {
		srv.mu.Lock()
		defer srv.mu.Unlock()
		return srv.masters
	}
	testutil.WaitFor(t, 10*time.Second, "BecomeMaster called", func() bool { return masters() > 0 })
	if n := masters(); n != 1 {
		t.Errorf("BecomeMaster called %d times", n)
	}
	testutil.WaitFor(t, 10*time.Second, "cluster ok again", func() bool {
		return strings.Contains(rdo(t, rcs[1], "CLUSTER", "INFO"), "cluster_state:ok")
	})

	// The old master comes back from its nodes.conf and is demoted.
	old := testutil.Start(t, testutil.RedisServerPath(t), rs[0].Port, rs[0].Dir, rs[0].Args...)
	old.WaitReady(t)
	oc := testutil.MustDial(t, old.Addr())
	testutil.WaitFor(t, 20*time.Second, "old master to become a replica of our node", func() bool {
		f := strings.Fields(lineOf(rdo(t, oc, "CLUSTER", "NODES"), ids[0]))
		return len(f) >= 8 && strings.Contains(f[2], "slave") && f[3] == x.d.MyID()
	})
	testutil.WaitFor(t, 20*time.Second, "our node to see it as its replica", func() bool {
		f := strings.Fields(lineOf(x.do(t, "NODES"), ids[0]))
		return len(f) == 8 && f[2] == "slave" && f[3] == x.d.MyID()
	})
}

func rdo(t *testing.T, c *testutil.Conn, args ...string) string {
	t.Helper()
	v, err := c.Do(args...)
	if err != nil {
		t.Fatal(err)
	}
	if v.IsError() {
		t.Fatalf("%v: %s", args, v.Text())
	}
	return v.Text()
}
