package failover

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/reefkv/reef/internal/resp"
	"github.com/reefkv/reef/internal/slot"
	"github.com/reefkv/reef/internal/testutil"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// createTimeout is cluster-node-timeout while a cluster forms: a MEET
// handshake on a loaded machine can take longer than a second, and a
// handshake node lives max(node timeout, 1 s). Tests lower it with CONFIG
// SET once every node agrees.
const createTimeout = "3000"

// node is one server process of a test cluster, reef-server or
// redis-server, that can be killed and restarted on the same port, in the
// same directory (so with its nodes.conf).
type node struct {
	kind string // "reef" or "redis"
	pass string // requirepass / masterauth, "" for none
	p    *testutil.Proc
	// sets are the CONFIG SETs a restart applies again (name, value...):
	// the node timeout a cluster runs with once formed.
	sets []string
}

func (n *node) addr() string { return n.p.Addr() }
func (n *node) port() string { return strconv.Itoa(n.p.Port) }

// call sends one command on a fresh connection (authenticating first when
// the cluster has a password) and returns the reply; a server error is a
// reply of kind error, not a Go error.
func (n *node) call(args ...string) (resp.Value, error) {
	c, err := net.DialTimeout("tcp", n.addr(), time.Second)
	if err != nil {
		return resp.Value{}, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	var b []byte
	if n.pass != "" {
		b = resp.AppendCommand(b, "AUTH", n.pass)
	}
	b = resp.AppendCommand(b, args...)
	if _, err := c.Write(b); err != nil {
		return resp.Value{}, err
	}
	r := resp.NewReplyReader(c)
	if n.pass != "" {
		if v, err := r.ReadReply(); err != nil || v.IsError() {
			return v, err
		}
	}
	return r.ReadReply()
}

// text is call's reply as text, "" on a transport error.
func (n *node) text(args ...string) string {
	v, err := n.call(args...)
	if err != nil {
		return ""
	}
	return v.Text()
}

// must runs a command that must not fail and returns its reply text.
func (n *node) must(t testing.TB, args ...string) string {
	t.Helper()
	v, err := n.call(args...)
	if err != nil || v.IsError() {
		t.Fatalf("%s %v: %v %s", n.addr(), args, err, v.Text())
	}
	return v.Text()
}

// info returns field name of INFO section (sec), "" when unknown.
func (n *node) info(sec, name string) string { return testutil.InfoField(n.text("INFO", sec), name) }

func (n *node) alive() bool { return !n.p.Exited() }

// kill sends SIGKILL and waits for the exit.
func (n *node) kill() { n.p.Kill() }

// restart starts the process again with its arguments, port and directory.
func (n *node) restart(t testing.TB) {
	t.Helper()
	bin := testutil.RedisServerPath(t)
	if n.kind == "reef" {
		bin = testutil.Binary(t, "reef-server")
	}
	p := testutil.Start(t, bin, n.p.Port, n.p.Dir, n.p.Args...)
	p.WaitReady(t)
	n.p = p
	if len(n.sets) > 0 {
		n.must(t, append([]string{"CONFIG", "SET"}, n.sets...)...)
	}
}

// set runs CONFIG SET name value, which restarts apply again.
func (n *node) set(t testing.TB, name, value string) {
	t.Helper()
	n.must(t, "CONFIG", "SET", name, value)
	for i := 0; i < len(n.sets); i += 2 {
		if n.sets[i] == name {
			n.sets[i+1] = value
			return
		}
	}
	n.sets = append(n.sets, name, value)
}

// cluster is a test cluster of one kind.
type cluster struct {
	t     testing.TB
	kind  string
	pass  string
	nodes []*node
}

// clusterOpts configures startCluster.
type clusterOpts struct {
	kind     string // reef (default) or redis
	nodes    int    // default 6
	replicas int    // --cluster-replicas, default 1
	timeout  int    // cluster-node-timeout once formed (ms), default 2000
	pass     string // requirepass and masterauth on every node
	extra    []string
}

// startCluster starts the nodes, makes them a cluster with redis-cli
// --cluster create, waits until every node agrees, lowers the node timeout
// and waits until every replica is in sync.
func startCluster(t testing.TB, o clusterOpts) *cluster {
	t.Helper()
	if o.kind == "" {
		o.kind = "reef"
	}
	if o.nodes == 0 {
		o.nodes = 6
	}
	if o.replicas == 0 {
		o.replicas = 1
	}
	if o.timeout == 0 {
		o.timeout = 2000
	}
	args := []string{"--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
		"--cluster-node-timeout", createTimeout, "--repl-diskless-sync-delay", "0"}
	if o.pass != "" {
		args = append(args, "--requirepass", o.pass, "--masterauth", o.pass)
	}
	args = append(args, o.extra...)
	c := &cluster{t: t, kind: o.kind, pass: o.pass}
	for i := 0; i < o.nodes; i++ {
		var p *testutil.Proc
		if o.kind == "reef" {
			p = testutil.StartReef(t, args...)
		} else {
			p = testutil.StartRedis(t, args...)
		}
		c.nodes = append(c.nodes, &node{kind: o.kind, pass: o.pass, p: p})
	}
	cli := []string{"--cluster", "create"}
	for _, n := range c.nodes {
		cli = append(cli, n.addr())
	}
	cli = append(cli, "--cluster-replicas", strconv.Itoa(o.replicas), "--cluster-yes")
	if o.pass != "" {
		cli = append([]string{"-a", o.pass, "--no-auth-warning"}, cli...)
	}
	if out, code := redisCLI(t, "", cli...); code != 0 {
		t.Fatalf("redis-cli --cluster create: exit %d\n%s", code, out)
	}
	c.waitAgree(30 * time.Second)
	for _, n := range c.nodes {
		n.set(t, "cluster-node-timeout", strconv.Itoa(o.timeout))
	}
	c.waitSynced(30 * time.Second)
	return c
}

// redisCLI runs the real redis-cli and returns its combined output and exit
// code (a two-minute bound: --cluster create can wait forever).
func redisCLI(t testing.TB, stdin string, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, testutil.RedisCliPath(t), args...)
	cmd.Env = append(os.Environ(), "TERM=dumb")
	cmd.Stdin = strings.NewReader(stdin)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("redis-cli %v did not finish:\n%s", args, out.String())
	}
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("redis-cli: %v", err)
	}
	return out.String(), code
}

func (c *cluster) live() []*node {
	var out []*node
	for _, n := range c.nodes {
		if n.alive() {
			out = append(out, n)
		}
	}
	return out
}

// byPort returns the node listening on port.
func (c *cluster) byPort(port string) *node {
	for _, n := range c.nodes {
		if n.port() == port {
			return n
		}
	}
	c.t.Fatalf("no node on port %s", port)
	return nil
}

// nodesView returns CLUSTER NODES of n, parsed.
func (c *cluster) nodesView(n *node) map[string]testutil.NodeLine {
	return testutil.ParseNodes(n.text("CLUSTER", "NODES"))
}

// myLine returns n's own CLUSTER NODES line.
func (c *cluster) myLine(n *node) testutil.NodeLine {
	for _, l := range c.nodesView(n) {
		if l.Has("myself") {
			return l
		}
	}
	return testutil.NodeLine{}
}

// ownerOf returns the node that serves slot s according to n.
func (c *cluster) ownerOf(n *node, s int) testutil.NodeLine {
	for _, l := range c.nodesView(n) {
		if l.Has("master") && l.OwnsSlot(s) {
			return l
		}
	}
	return testutil.NodeLine{}
}

// waitAgree waits until every live node reports cluster_state:ok and the
// same view of the cluster, with no node flagged failing.
func (c *cluster) waitAgree(timeout time.Duration) {
	c.t.Helper()
	var last string
	defer func() {
		if c.t.Failed() {
			c.t.Logf("last disagreement: %s", last)
		}
	}()
	testutil.WaitFor(c.t, timeout, "every node ok and agreeing", func() bool {
		first := ""
		for _, n := range c.live() {
			info := n.text("CLUSTER", "INFO")
			if testutil.InfoField(info, "cluster_state") != "ok" {
				last = n.addr() + " state " + testutil.InfoField(info, "cluster_state")
				return false
			}
			nodes := n.text("CLUSTER", "NODES")
			v := testutil.NodesView(nodes)
			lines := testutil.ParseNodes(nodes)
			if len(lines) != len(c.nodes) {
				last = n.addr() + ":\n" + nodes
				return false
			}
			for _, l := range lines {
				if l.Has("fail") || l.Has("fail?") {
					last = n.addr() + ":\n" + nodes
					return false
				}
			}
			if first == "" {
				first = v
			} else if v != first {
				last = n.addr() + " disagrees:\n" + v + "\nwith\n" + first
				return false
			}
		}
		return true
	})
}

// waitSynced waits until every live replica's link to its master is up
// with no sync in progress, and every master sees all its replicas online.
func (c *cluster) waitSynced(timeout time.Duration) {
	c.t.Helper()
	testutil.WaitFor(c.t, timeout, "every replica in sync", func() bool {
		for _, n := range c.live() {
			info := n.text("INFO", "replication")
			switch testutil.InfoField(info, "role") {
			case "slave":
				if testutil.InfoField(info, "master_link_status") != "up" || testutil.InfoField(info, "master_sync_in_progress") != "0" {
					return false
				}
			case "master":
				k, _ := strconv.Atoi(testutil.InfoField(info, "connected_slaves"))
				for i := 0; i < k; i++ {
					if !strings.Contains(testutil.InfoField(info, "slave"+strconv.Itoa(i)), "state=online") {
						return false
					}
				}
			default:
				return false
			}
		}
		return true
	})
}

// waitCaughtUp waits until every live replica has processed its master's
// whole stream (offsets equal), with writes stopped.
func (c *cluster) waitCaughtUp(timeout time.Duration) {
	c.t.Helper()
	testutil.WaitFor(c.t, timeout, "replicas caught up", func() bool {
		for _, n := range c.live() {
			info := n.text("INFO", "replication")
			if testutil.InfoField(info, "role") != "master" {
				continue
			}
			off := testutil.InfoField(info, "master_repl_offset")
			k, _ := strconv.Atoi(testutil.InfoField(info, "connected_slaves"))
			for i := 0; i < k; i++ {
				if !strings.Contains(testutil.InfoField(info, "slave"+strconv.Itoa(i)), "offset="+off+",") {
					return false
				}
			}
		}
		return true
	})
}

// masterOf returns the master node serving slot s (as seen by any live
// node that answers) and its replicas.
func (c *cluster) shardOf(s int) (master *node, replicas []*node) {
	c.t.Helper()
	for _, n := range c.live() {
		view := c.nodesView(n)
		for _, l := range view {
			if !l.Has("master") || !l.OwnsSlot(s) {
				continue
			}
			master = c.byPort(l.Port())
			for _, r := range view {
				if r.Master == l.ID {
					replicas = append(replicas, c.byPort(r.Port()))
				}
			}
			return master, replicas
		}
	}
	c.t.Fatalf("nobody serves slot %d", s)
	return nil, nil
}

// keyInSlotRange returns a key (with prefix) whose slot is served by the
// same node as slot s in the initial layout of --cluster create, i.e. one
// hashing into s exactly.
func keyForSlot(prefix string, s int) string { return testutil.KeysInSlot(prefix, s, 1)[0] }

// ---- a small cluster client ----

// cclient is a minimal cluster client: it routes by a slot map read with
// CLUSTER SLOTS, follows MOVED, and on any error refreshes the map from
// the seeds on the next call. Each command has a short deadline, as a real
// application's client would (the scorecard's 250 ms).
type cclient struct {
	seeds   []string
	pass    string
	timeout time.Duration
	owner   [slot.Count]string
	conns   map[string]*cconn
	stale   bool
	// sticky clients reload the slot map only when it has no owner for a
	// slot, and learn new owners from MOVED alone: a timeout or an error
	// keeps them on the node they know, like a client with a long-lived
	// map.
	sticky bool
}

type cconn struct {
	c net.Conn
	r *resp.ReplyReader
	w *bufio.Writer
}

func newClient(c *cluster) *cclient {
	cl := &cclient{pass: c.pass, timeout: 250 * time.Millisecond, conns: map[string]*cconn{}, stale: true}
	for _, n := range c.nodes {
		cl.seeds = append(cl.seeds, n.addr())
	}
	return cl
}

func (cl *cclient) close() {
	for a, cn := range cl.conns {
		cn.c.Close()
		delete(cl.conns, a)
	}
}

func (cl *cclient) conn(addr string) (*cconn, error) {
	if cn := cl.conns[addr]; cn != nil {
		return cn, nil
	}
	c, err := net.DialTimeout("tcp", addr, cl.timeout)
	if err != nil {
		return nil, err
	}
	cn := &cconn{c: c, r: resp.NewReplyReader(c), w: bufio.NewWriter(c)}
	if cl.pass != "" {
		if _, err := cl.roundTrip(cn, [][]string{{"AUTH", cl.pass}}); err != nil {
			c.Close()
			return nil, err
		}
	}
	cl.conns[addr] = cn
	return cn, nil
}

func (cl *cclient) drop(addr string) {
	if cn := cl.conns[addr]; cn != nil {
		cn.c.Close()
		delete(cl.conns, addr)
	}
}

func (cl *cclient) roundTrip(cn *cconn, cmds [][]string) ([]resp.Value, error) {
	cn.c.SetDeadline(time.Now().Add(cl.timeout + time.Duration(len(cmds))*50*time.Millisecond))
	for _, cmd := range cmds {
		cn.w.Write(resp.AppendCommand(nil, cmd...))
	}
	if err := cn.w.Flush(); err != nil {
		return nil, err
	}
	out := make([]resp.Value, len(cmds))
	for i := range cmds {
		v, err := cn.r.ReadReply()
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

// refresh reads the slot map from the first seed that answers.
func (cl *cclient) refresh() {
	for _, seed := range cl.seeds {
		cn, err := cl.conn(seed)
		if err != nil {
			continue
		}
		v, err := cl.roundTrip(cn, [][]string{{"CLUSTER", "SLOTS"}})
		if err != nil {
			cl.drop(seed)
			continue
		}
		if v[0].Kind != resp.KindArray {
			continue
		}
		cl.owner = [slot.Count]string{}
		for _, r := range v[0].Elems {
			if len(r.Elems) < 3 || len(r.Elems[2].Elems) < 2 {
				continue
			}
			addr := net.JoinHostPort(r.Elems[2].Elems[0].Text(), r.Elems[2].Elems[1].Text())
			for s := r.Elems[0].Int; s <= r.Elems[1].Int; s++ {
				cl.owner[s] = addr
			}
		}
		cl.stale = false
		return
	}
}

var errNoRoute = errors.New("no node serves the slot")

// exec sends cmds (pipelined, on one connection) to the node serving key's
// slot and returns their replies. A MOVED reply to the first command
// reroutes and retries; other error replies are returned as replies; a
// transport error marks the map stale (unless the client is sticky).
func (cl *cclient) exec(key string, cmds ...[]string) ([]resp.Value, error) {
	s := slot.OfString(key)
	for redirects := 0; redirects < 5; redirects++ {
		if cl.stale || cl.owner[s] == "" {
			cl.refresh()
		}
		addr := cl.owner[s]
		if addr == "" {
			cl.stale = true
			return nil, errNoRoute
		}
		cn, err := cl.conn(addr)
		if err != nil {
			cl.stale = !cl.sticky
			return nil, err
		}
		v, err := cl.roundTrip(cn, cmds)
		if err != nil {
			cl.drop(addr)
			cl.stale = !cl.sticky
			return nil, err
		}
		if v[0].IsError() {
			msg := v[0].Text()
			if target, ok := strings.CutPrefix(msg, "MOVED "); ok {
				f := strings.Fields(target)
				if len(f) == 2 {
					cl.owner[s] = f[1]
					continue
				}
			}
			cl.stale = !cl.sticky
		}
		return v, nil
	}
	return nil, errors.New("too many redirections")
}
