package driver

import (
	"context"
	"errors"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/reefkv/reef/internal/clock"
	"github.com/reefkv/reef/internal/cluster/nodesconf"
	"github.com/reefkv/reef/internal/cluster/state"
	"github.com/reefkv/reef/internal/testutil"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type node struct {
	d    *Driver
	port int
	path string
}

func start(t *testing.T, path string) *node {
	t.Helper()
	p := testutil.FreePort(t)
	if path == "" {
		path = filepath.Join(t.TempDir(), "nodes.conf")
	}
	cfg := state.DefaultConfig()
	cfg.NodeTimeout = 2000
	cfg.Port = uint16(p)
	d, err := Open(Config{State: cfg, ConfigFile: path, BusAddr: "127.0.0.1:" + strconv.Itoa(p+10000)}, NopServer{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); d.Run(ctx) }()
	t.Cleanup(func() { cancel(); wg.Wait() })
	return &node{d: d, port: p, path: path}
}

func (n *node) do(t *testing.T, args ...string) string {
	t.Helper()
	r, err := n.d.Do(context.Background(), args, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	switch r := r.(type) {
	case state.Status:
		return string(r)
	case state.Verbatim:
		return string(r)
	case state.Bulk:
		return string(r)
	case state.Error:
		t.Fatalf("%v: %s", args, r)
	}
	t.Fatalf("%v: unexpected reply %#v", args, r)
	return ""
}

// nodesLines returns the CLUSTER NODES lines that are not in handshake.
func nodesLines(text string) []string {
	var out []string
	for _, l := range strings.Split(strings.TrimSpace(text), "\n") {
		if l != "" && !strings.Contains(l, "handshake") {
			out = append(out, l)
		}
	}
	return out
}

func lineOf(text, id string) string {
	for _, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(l, id) {
			return l
		}
	}
	return ""
}

// TestClusterWithRealRedis: three in-process nodes meet over loopback TCP,
// then a real redis-server 7.0 joins them; its CLUSTER NODES shows our
// nodes as healthy masters with their slots, it takes cluster_state ok from
// slots only we serve, and it can replicate one of our nodes.
func TestClusterWithRealRedis(t *testing.T) {
	a, b, c := start(t, ""), start(t, ""), start(t, "")
	a.do(t, "ADDSLOTSRANGE", "0", "5460")
	b.do(t, "ADDSLOTSRANGE", "5461", "10922")
	c.do(t, "ADDSLOTSRANGE", "10923", "16383")
	b.do(t, "MEET", "127.0.0.1", strconv.Itoa(a.port))
	c.do(t, "MEET", "127.0.0.1", strconv.Itoa(a.port))
	for _, n := range []*node{a, b, c} {
		testutil.WaitFor(t, 10*time.Second, "3 nodes known", func() bool {
			return len(nodesLines(n.do(t, "NODES"))) == 3
		})
	}
	testutil.WaitFor(t, 10*time.Second, "cluster_state ok", func() bool {
		return strings.Contains(a.do(t, "INFO"), "cluster_state:ok\r\n")
	})

	r := testutil.StartRedis(t, "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "2000")
	rc := testutil.MustDial(t, r.Addr())
	rdo := func(args ...string) string {
		v, err := rc.Do(args...)
		if err != nil {
			t.Fatal(err)
		}
		if v.IsError() {
			t.Fatalf("%v: %s", args, v.Text())
		}
		return v.Text()
	}
	rid := rdo("CLUSTER", "MYID")
	rdo("CLUSTER", "MEET", "127.0.0.1", strconv.Itoa(c.port))
	ids := map[string]string{a.d.MyID(): "0-5460", b.d.MyID(): "5461-10922", c.d.MyID(): "10923-16383"}
	testutil.WaitFor(t, 15*time.Second, "redis to see our three masters", func() bool {
		text := rdo("CLUSTER", "NODES")
		if len(nodesLines(text)) != 4 {
			return false
		}
		for id, slots := range ids {
			f := strings.Fields(lineOf(text, id))
			if len(f) != 9 || f[2] != "master" || f[3] != "-" || f[7] != "connected" || f[8] != slots {
				return false
			}
		}
		return true
	})
	testutil.WaitFor(t, 10*time.Second, "redis cluster_state ok", func() bool {
		return strings.Contains(rdo("CLUSTER", "INFO"), "cluster_state:ok\r\n")
	})
	for _, n := range []*node{a, b, c} {
		testutil.WaitFor(t, 10*time.Second, "our nodes to know redis", func() bool {
			f := strings.Fields(lineOf(n.do(t, "NODES"), rid))
			return len(f) == 8 && f[2] == "master" && f[7] == "connected"
		})
	}

	// The real node becomes a replica of ours; everybody agrees.
	rdo("CLUSTER", "REPLICATE", b.d.MyID())
	for _, n := range []*node{a, b, c} {
		testutil.WaitFor(t, 10*time.Second, "redis as replica of b", func() bool {
			f := strings.Fields(lineOf(n.do(t, "NODES"), rid))
			return len(f) == 8 && f[2] == "slave" && f[3] == b.d.MyID()
		})
	}
	// The slot map the router reads agrees too.
	sm := a.d.SlotMap()
	if o := sm.Owner(6000); o == nil || o.ID.String() != b.d.MyID() || o.Port != b.port || !sm.OK || !sm.Mine(0) {
		t.Errorf("slot map: owner of 6000 %+v ok=%v", o, sm.OK)
	}
}

// TestRestartKeepsIdentity: nodes.conf keeps the ID and slots across a
// restart, and a second process cannot open a file in use.
func TestRestartKeepsIdentity(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nodes.conf")
	p := testutil.FreePort(t)
	cfg := state.DefaultConfig()
	cfg.Port = uint16(p)
	d, err := Open(Config{State: cfg, ConfigFile: path, BusAddr: "127.0.0.1:0"}, NopServer{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	if _, err := d.Do(ctx, []string{"ADDSLOTS", "1", "2", "3"}, 0, nil); err != nil {
		t.Fatal(err)
	}
	r, _ := d.Do(ctx, []string{"SAVECONFIG"}, 0, nil)
	if r != state.Status("OK") {
		t.Fatalf("SAVECONFIG: %#v", r)
	}
	if _, err := Open(Config{State: cfg, ConfigFile: path, BusAddr: "127.0.0.1:0"}, NopServer{}); !errors.Is(err, nodesconf.ErrLocked) {
		t.Fatalf("second open: %v", err)
	}
	id := d.MyID()
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, err := d.Do(context.Background(), []string{"MYID"}, 0, nil); !errors.Is(err, ErrStopped) {
		t.Fatalf("Do after stop: %v", err)
	}
	n := start(t, path)
	if n.d.MyID() != id {
		t.Fatalf("ID changed: %s -> %s", id, n.d.MyID())
	}
	if f := strings.Fields(lineOf(n.do(t, "NODES"), id)); len(f) < 9 || f[8] != "1-3" {
		t.Fatalf("slots lost: %v", f)
	}
}

// TestHold: while a driver is held, CLUSTER commands still run; bus
// messages wait for the release, and are stepped after it.
func TestHold(t *testing.T) {
	a, b := start(t, ""), start(t, "")
	release := b.d.Hold(context.Background())
	// A command runs while held (EXEC's CLUSTER commands do).
	if got := b.do(t, "MYID"); got != b.d.MyID() {
		t.Fatalf("MYID while held: %q", got)
	}
	a.do(t, "MEET", "127.0.0.1", strconv.Itoa(b.port), strconv.Itoa(b.port+10000))
	b.do(t, "ADDSLOTS", "7")
	release()
	release() // idempotent
	testutil.WaitFor(t, 10*time.Second, "b to know a after the release", func() bool {
		return len(nodesLines(b.do(t, "NODES"))) == 2 && strings.Contains(lineOf(a.do(t, "NODES"), b.d.MyID()), " 7")
	})
}

// The machine's Tick runs on the process's pulse: its period must be the
// machine's tick period.
func TestTickIsThePulse(t *testing.T) {
	if got := time.Duration(state.TickMillis) * time.Millisecond; got != clock.PulsePeriod {
		t.Fatalf("state.TickMillis is %v, the pulse's period %v", got, clock.PulsePeriod)
	}
}
