package migrate

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/reefkv/reef/internal/testutil"
)

// nodeArgs are the options of every cluster node in these tests.
var nodeArgs = []string{"--cluster-enabled", "yes", "--cluster-node-timeout", "2000",
	"--cluster-config-file", "nodes.conf", "--enable-debug-command", "yes"}

// cluster is a Reef cluster made by redis-cli --cluster create.
type cluster struct {
	t     *testing.T
	nodes []*testutil.Proc
}

// startCluster starts masters*(1+replicas) reef-servers and joins them
// with the real redis-cli.
func startCluster(t *testing.T, masters, replicas int, extra ...string) *cluster {
	t.Helper()
	c := &cluster{t: t}
	for i := 0; i < masters*(1+replicas); i++ {
		c.nodes = append(c.nodes, testutil.StartReef(t, append(append([]string{}, nodeArgs...), extra...)...))
	}
	args := append([]string{"--cluster", "create"}, addrs(c.nodes)...)
	args = append(args, "--cluster-replicas", strconv.Itoa(replicas), "--cluster-yes")
	if r := runTool(t, testutil.RedisCliPath(t), args...); r.code != 0 {
		t.Fatalf("redis-cli --cluster create: %d\n%s\n%s", r.code, r.out, r.err)
	}
	c.waitStable()
	return c
}

// addNode starts one more empty reef-server (not joined).
func (c *cluster) addNode(extra ...string) *testutil.Proc {
	p := testutil.StartReef(c.t, append(append([]string{}, nodeArgs...), extra...)...)
	c.nodes = append(c.nodes, p)
	return p
}

func addrs(ps []*testutil.Proc) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.Addr()
	}
	return out
}

// removed waits until p, just removed with del-node (CLUSTER RESET SOFT),
// knows only itself, and stops counting it as part of the cluster.
func (c *cluster) removed(p *testutil.Proc) {
	c.t.Helper()
	testutil.WaitFor(c.t, 30*time.Second, "the deleted node to forget the cluster", func() bool {
		nodes, ok := tryDo(p, "CLUSTER", "NODES")
		return ok && len(strings.Split(strings.TrimSpace(nodes), "\n")) == 1
	})
	for i, x := range c.nodes {
		if x == p {
			c.nodes = append(c.nodes[:i:i], c.nodes[i+1:]...)
			return
		}
	}
}

// live returns the nodes that are running.
func (c *cluster) live() []*testutil.Proc {
	var out []*testutil.Proc
	for _, p := range c.nodes {
		if !p.Exited() {
			out = append(out, p)
		}
	}
	return out
}

// tryDo runs one command, reporting transport errors as ok=false.
func tryDo(p *testutil.Proc, args ...string) (string, bool) {
	c, err := testutil.Dial(p.Addr())
	if err != nil {
		return "", false
	}
	defer c.Close()
	v, err := c.Do(args...)
	if err != nil {
		return "", false
	}
	return v.Text(), true
}

// signature is the slot assignment a node sees: "id slots" of each master
// not flagged failing with slots, sorted, open-slot markers dropped.
func signature(nodes string) string {
	var lines []string
	for id, l := range testutil.ParseNodes(nodes) {
		if !l.Has("master") || l.Has("fail") || l.Has("fail?") {
			continue
		}
		var slots []string
		for _, s := range l.Slots {
			if !strings.HasPrefix(s, "[") {
				slots = append(slots, s)
			}
		}
		if len(slots) > 0 {
			lines = append(lines, id+" "+strings.Join(slots, ","))
		}
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// waitStable waits until every live node is ok and all agree on the slots.
func (c *cluster) waitStable() {
	c.t.Helper()
	var why string
	defer func() {
		if c.t.Failed() && why != "" {
			c.t.Logf("cluster not stable: %s", why)
		}
	}()
	testutil.WaitFor(c.t, 60*time.Second, "cluster ok and agreeing", func() bool {
		first := ""
		for _, p := range c.live() {
			info, ok := tryDo(p, "CLUSTER", "INFO")
			if !ok || !strings.Contains(info, "cluster_state:ok") {
				why = p.Addr() + " not ok"
				return false
			}
			nodes, ok := tryDo(p, "CLUSTER", "NODES")
			if !ok {
				why = p.Addr() + " does not answer CLUSTER NODES"
				return false
			}
			sig := signature(nodes)
			if first == "" {
				first = sig
			} else if sig != first {
				why = p.Addr() + " disagrees"
				return false
			}
		}
		return true
	})
}

// masters returns the IDs and nodes of the live masters with slots, or
// all live masters.
func (c *cluster) masters(withSlots bool) map[string]*testutil.Proc {
	out := map[string]*testutil.Proc{}
	for _, p := range c.live() {
		nodes, ok := tryDo(p, "CLUSTER", "NODES")
		if !ok {
			continue
		}
		for _, l := range strings.Split(nodes, "\n") {
			f := strings.Fields(l)
			if len(f) >= 8 && strings.Contains(f[2], "myself") && strings.Contains(f[2], "master") {
				if !withSlots || len(f) > 8 && !strings.HasPrefix(f[8], "[") {
					out[f[0]] = p
				}
			}
		}
	}
	return out
}

// id returns a node's ID.
func id(t *testing.T, p *testutil.Proc) string {
	t.Helper()
	r, ok := tryDo(p, "CLUSTER", "MYID")
	if !ok {
		t.Fatalf("CLUSTER MYID on %s failed", p.Addr())
	}
	return r
}

// check runs redis-cli --cluster check against a live node and fails the
// test unless it exits 0 without warnings.
func (c *cluster) check(seed *testutil.Proc) {
	c.t.Helper()
	var r result
	testutil.WaitFor(c.t, 30*time.Second, "a clean redis-cli --cluster check", func() bool {
		r = runTool(c.t, testutil.RedisCliPath(c.t), "--cluster", "check", seed.Addr())
		return r.code == 0 && !strings.Contains(r.out, "[WARNING]") && !strings.Contains(r.out, "[ERR]")
	})
}

// result is one run of a command-line tool.
type result struct {
	out, err string
	code     int
}

// runTool runs bin with args (TERM=dumb: no colours) and waits for it.
func runTool(t testing.TB, bin string, args ...string) result {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "TERM=dumb", "REEFCLI_HISTFILE=/dev/null")
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run %s: %v", bin, err)
	}
	return result{o.String(), e.String(), code}
}

// startTool starts bin without waiting. The tool is killed (even when
// stopped with SIGSTOP) when the test ends or the test binary dies.
func startTool(t testing.TB, bin string, args ...string) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "TERM=dumb", "REEFCLI_HISTFILE=/dev/null")
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	return cmd, &out
}

// ---- client load ----

// load is go-redis ClusterClients writing and reading keys while the
// cluster changes. Every operation must succeed (after the client followed
// MOVED/ASK and retried TRYAGAIN); every value read must be the last one
// written.
type load struct {
	t       *testing.T
	cc      *redis.ClusterClient
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	prefix  string
	workers int

	mu     sync.Mutex
	values map[string]string // key -> last acknowledged value
	errs   []string
	ops    atomic.Int64
	worst  atomic.Int64 // longest op, ns

	srcMu   sync.Mutex
	sources []string // where loadSlots asks for the slot map: the nodes of the last one
}

// startLoad runs workers goroutines, each owning its own keys, mixing SET,
// GET (checked against the last acknowledged SET) and a two-key MULTI/EXEC.
func startLoad(t *testing.T, seed *testutil.Proc, workers int, prefix string) *load {
	l := &load{t: t, values: map[string]string{}, prefix: prefix, workers: workers, sources: []string{seed.Addr()}}
	cc := redis.NewClusterClient(&redis.ClusterOptions{
		Addrs:        []string{seed.Addr()},
		ClusterSlots: l.loadSlots,
		MaxRedirects: 16,
		MaxRetries:   20,
		DialTimeout:  2 * time.Second,
		ReadTimeout:  10 * time.Second,
		WriteTimeout: 10 * time.Second,
		// Retry backoff for TRYAGAIN / CLUSTERDOWN during failovers.
		MinRetryBackoff: 5 * time.Millisecond,
		MaxRetryBackoff: 200 * time.Millisecond,
	})
	ctx, cancel := context.WithCancel(context.Background())
	l.cc, l.cancel = cc, cancel
	for w := 0; w < workers; w++ {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			l.worker(ctx, fmt.Sprintf("%s:%d", prefix, w))
		}()
	}
	return l
}

// loadSlots is the clients' source of the slot map: CLUSTER SLOTS from the
// nodes of the last map (the seed at first), in random order, passing over
// a node that answers with no slots. go-redis's own loader asks any node it
// has known and takes whatever map it gets, and after del-node the deleted
// node (RESET SOFT, as redis-cli leaves it, with Redis as with Reef) knows
// only itself: a reload that happened to ask it emptied the map, routed
// keys to any node, the deleted one among them, and its "CLUSTERDOWN Hash
// slot not served" failed the test once in many runs.
func (l *load) loadSlots(ctx context.Context) ([]redis.ClusterSlot, error) {
	l.srcMu.Lock()
	sources := slices.Clone(l.sources)
	l.srcMu.Unlock()
	failed := errors.New("every node answered CLUSTER SLOTS with no slots")
	for _, i := range rand.Perm(len(sources)) {
		c := redis.NewClient(&redis.Options{Addr: sources[i], DialTimeout: 2 * time.Second, MaxRetries: -1})
		slots, err := c.ClusterSlots(ctx).Result()
		c.Close()
		if err != nil {
			failed = err
			continue
		}
		if len(slots) == 0 {
			continue
		}
		var next []string
		for _, s := range slots {
			for _, n := range s.Nodes {
				if !slices.Contains(next, n.Addr) {
					next = append(next, n.Addr)
				}
			}
		}
		l.srcMu.Lock()
		l.sources = next
		l.srcMu.Unlock()
		return slots, nil
	}
	return nil, failed
}

func (l *load) fail(format string, args ...any) {
	l.mu.Lock()
	if len(l.errs) < 20 {
		l.errs = append(l.errs, time.Now().Format("15:04:05.000 ")+fmt.Sprintf(format, args...))
	}
	l.mu.Unlock()
}

func (l *load) worker(ctx context.Context, prefix string) {
	local := map[string]string{}
	for i := 0; ctx.Err() == nil; i++ {
		key := prefix + ":" + strconv.Itoa(i%500)
		val := strconv.Itoa(i)
		start := time.Now()
		var err error
		switch i % 4 {
		case 0, 1:
			err = l.cc.Set(ctx, key, val, 0).Err()
			if err == nil {
				local[key] = val
			}
		case 2:
			var got string
			got, err = l.cc.Get(ctx, key).Result()
			if errors.Is(err, redis.Nil) {
				err = nil
				if want, ok := local[key]; ok {
					l.fail("GET %s: missing, want %q", key, want)
				}
			} else if err == nil && got != local[key] {
				l.fail("GET %s = %q, want %q", key, got, local[key])
			}
		case 3:
			// A transaction on two keys of one slot.
			tag := "{" + key + "}"
			var res []redis.Cmder
			res, err = l.cc.TxPipelined(ctx, func(p redis.Pipeliner) error {
				p.Set(ctx, tag+"a", val, 0)
				p.Set(ctx, tag+"b", val, 0)
				return nil
			})
			_ = res
			if err == nil {
				local[tag+"a"], local[tag+"b"] = val, val
			}
		}
		if d := time.Since(start); d > time.Duration(l.worst.Load()) {
			l.worst.Store(int64(d))
		}
		if err != nil && ctx.Err() == nil {
			l.fail("%s: %v", key, err)
		}
		l.ops.Add(1)
	}
	l.mu.Lock()
	for k, v := range local {
		l.values[k] = v
	}
	l.mu.Unlock()
}

// refreshAway makes the clients reload the slot map until none of the
// load's keys is routed to addr, a master about to be deleted. After
// del-node that node knows only itself: it answers CLUSTER SLOTS with
// nothing and every command with "CLUSTERDOWN Hash slot not served", which
// go-redis retries on the same node without reloading its map. And
// ReloadState only starts a reload in the background, from any node, one
// whose view may lag: one call before del-node was not enough.
func (l *load) refreshAway(addr string) {
	ctx := context.Background()
	testutil.WaitFor(l.t, 30*time.Second, "clients routing nothing to "+addr, func() bool {
		l.cc.ReloadState(ctx)
		for w := 0; w < l.workers; w++ {
			for i := 0; i < 500; i++ {
				m, err := l.cc.MasterForKey(ctx, fmt.Sprintf("%s:%d:%d", l.prefix, w, i))
				if err != nil || m.Options().Addr == addr {
					return false
				}
			}
		}
		return true
	})
}

// stop ends the load, checks that no operation failed and that every key
// reads back its last value, and returns the number of operations.
func (l *load) stop() int64 {
	l.t.Helper()
	l.cancel()
	l.wg.Wait()
	defer l.cc.Close()
	for _, e := range l.errs {
		l.t.Errorf("client: %s", e)
	}
	ctx := context.Background()
	var lost []string
	for k, v := range l.values {
		got, err := l.cc.Get(ctx, k).Result()
		if err != nil || got != v {
			lost = append(lost, fmt.Sprintf("%s=%q (want %q, %v)", k, got, v, err))
		}
	}
	sort.Strings(lost)
	if len(lost) > 0 {
		l.t.Errorf("%d of %d keys lost or wrong, e.g. %v", len(lost), len(l.values), lost[:min(5, len(lost))])
	}
	if l.ops.Load() == 0 {
		l.t.Error("no client operation ran")
	}
	return l.ops.Load()
}

// fill writes n keys of 100 bytes with the given prefix through a cluster
// client and returns a function that verifies them.
func fill(t *testing.T, seed *testutil.Proc, prefix string, n int, more ...*testutil.Proc) func() {
	t.Helper()
	seeds := append([]*testutil.Proc{seed}, more...)
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{seed.Addr()}, MaxRedirects: 16, ReadTimeout: 10 * time.Second})
	defer cc.Close()
	ctx := context.Background()
	val := func(i int) string { return fmt.Sprintf("%s-%0100d", prefix, i)[:100] }
	for off := 0; off < n; off += 1000 {
		_, err := cc.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i := off; i < min(off+1000, n); i++ {
				p.Set(ctx, prefix+":"+strconv.Itoa(i), val(i), 0)
			}
			return nil
		})
		if err != nil {
			t.Fatalf("fill: %v", err)
		}
	}
	return func() {
		t.Helper()
		cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: liveAddrs(seeds), MaxRedirects: 16, ReadTimeout: 10 * time.Second})
		defer cc.Close()
		missing := 0
		for off := 0; off < n; off += 1000 {
			cmds, _ := cc.Pipelined(ctx, func(p redis.Pipeliner) error {
				for i := off; i < min(off+1000, n); i++ {
					p.Get(ctx, prefix+":"+strconv.Itoa(i))
				}
				return nil
			})
			for j, cmd := range cmds {
				if v, err := cmd.(*redis.StringCmd).Result(); err != nil || v != val(off+j) {
					if missing < 5 {
						t.Errorf("%s:%d = %q, %v", prefix, off+j, v, err)
					}
					missing++
				}
			}
		}
		if missing > 0 {
			t.Errorf("%d of %d filled keys lost", missing, n)
		}
	}
}

// liveAddrs returns the addresses of the running processes of ps.
func liveAddrs(ps []*testutil.Proc) []string {
	var out []string
	for _, p := range ps {
		if !p.Exited() {
			out = append(out, p.Addr())
		}
	}
	return out
}
