package cluster

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/reefkv/reef/internal/testutil"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// nodeTimeout is cluster-node-timeout in these tests (ms): short, so that
// failure detection takes a few seconds, but not shorter: a handshake node
// lives max(node timeout, 1 s), and on a loaded machine (go test runs
// packages in parallel) a MEET handshake can take longer than a second;
// the node that sent the MEET then knows its peer while the peer does not
// know it, and nothing repairs that (Redis behaves the same).
const nodeTimeout = "3000"

// clusterArgs are the options of every cluster node, reef or redis.
var clusterArgs = []string{"--cluster-enabled", "yes", "--cluster-node-timeout", nodeTimeout,
	"--cluster-config-file", "nodes.conf"}

// startReefNodes starts n empty cluster-enabled reef-servers.
func startReefNodes(t *testing.T, n int, extra ...string) []*testutil.Proc {
	t.Helper()
	return testutil.StartMany(t, testutil.StartReef, n, append(append([]string{}, clusterArgs...), extra...)...)
}

// startRedisNodes starts n empty cluster-enabled redis-servers 7.0.
func startRedisNodes(t *testing.T, n int, extra ...string) []*testutil.Proc {
	t.Helper()
	return testutil.StartMany(t, testutil.StartRedis, n, append(append([]string{}, clusterArgs...), extra...)...)
}

func addrs(ps []*testutil.Proc) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.Addr()
	}
	return out
}

// do sends one command to p on a fresh connection and returns the reply
// text; a transport error fails the test, a server error is returned as
// its text.
func do(t *testing.T, p *testutil.Proc, args ...string) string {
	t.Helper()
	c, err := testutil.Dial(p.Addr())
	if err != nil {
		t.Fatalf("dial %s: %v", p.Addr(), err)
	}
	defer c.Close()
	v, err := c.Do(args...)
	if err != nil {
		t.Fatalf("%s %v: %v", p.Addr(), args, err)
	}
	return v.Text()
}

// tryDo is do that reports a transport error as ok=false (a node that is
// starting or was killed).
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

// mustOK runs a command that must reply +OK.
func mustOK(t *testing.T, p *testutil.Proc, args ...string) {
	t.Helper()
	if r := do(t, p, args...); r != "OK" {
		t.Fatalf("%s %v: %s", p.Addr(), args, r)
	}
}

// result is one run of a command-line tool.
type result struct {
	out, err string
	code     int
}

// run runs bin with args (TERM=dumb: no colours) and waits for it, at
// most two minutes (redis-cli --cluster create waits forever for nodes
// that never agree).
func run(t *testing.T, stdin, bin string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), "TERM=dumb")
	cmd.Stdin = strings.NewReader(stdin)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("%s %v did not finish in time:\n%s\n%s", bin, args, o.String(), e.String())
	}
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run %s: %v", bin, err)
	}
	return result{o.String(), e.String(), code}
}

// redisCLI runs the real redis-cli.
func redisCLI(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	return run(t, stdin, testutil.RedisCliPath(t), args...)
}

// waitAgree waits until every node of ps reports cluster_state:ok and the
// same view of the cluster (ids, flags, masters, epochs, slots), with
// want nodes in it.
func waitAgree(t *testing.T, ps []*testutil.Proc, want int) {
	t.Helper()
	var last []string
	testutil.WaitFor(t, 30*time.Second, "every node ok and agreeing on CLUSTER NODES", func() bool {
		last = last[:0]
		first := ""
		for _, p := range ps {
			info, ok := tryDo(p, "CLUSTER", "INFO")
			if !ok || testutil.InfoField(info, "cluster_state") != "ok" {
				last = append(last, p.Addr()+": "+testutil.InfoField(info, "cluster_state"))
				return false
			}
			nodes, ok := tryDo(p, "CLUSTER", "NODES")
			if !ok {
				return false
			}
			v := testutil.NodesView(nodes)
			last = append(last, p.Addr()+":\n"+v)
			if len(testutil.ParseNodes(nodes)) != want || strings.Contains(nodes, "fail") {
				return false
			}
			if first == "" {
				first = v
			} else if v != first {
				return false
			}
		}
		return true
	})
	_ = last
}

// createCluster runs redis-cli --cluster create on ps and waits until
// every node is ok and agrees.
func createCluster(t *testing.T, ps []*testutil.Proc, replicas int) result {
	t.Helper()
	args := append([]string{"--cluster", "create"}, addrs(ps)...)
	args = append(args, "--cluster-replicas", strconv.Itoa(replicas), "--cluster-yes")
	r := redisCLI(t, "", args...)
	if r.code != 0 {
		t.Fatalf("redis-cli --cluster create failed (%d):\n%s\n%s", r.code, r.out, r.err)
	}
	waitAgree(t, ps, len(ps))
	return r
}

// myID returns the node's ID. A replica loading its master's snapshot
// answers LOADING, as Redis does (CLUSTER MYID is not a loading-time
// command): wait for the load to end rather than take the error for an ID.
func myID(t *testing.T, p *testutil.Proc) string {
	t.Helper()
	var id string
	testutil.WaitFor(t, 20*time.Second, "CLUSTER MYID of "+p.Addr()+" (not LOADING)", func() bool {
		id = do(t, p, "CLUSTER", "MYID")
		return !strings.HasPrefix(id, "LOADING ")
	})
	if len(id) != 40 {
		t.Fatalf("CLUSTER MYID of %s: %q", p.Addr(), id)
	}
	return id
}

// busPort returns the bus port of a node started by the helpers.
func busPort(p *testutil.Proc) int { return p.Port + 10000 }
