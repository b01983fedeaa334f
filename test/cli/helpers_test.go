package cli

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/reefkv/reef/internal/client"
	"github.com/reefkv/reef/internal/slot"
	"github.com/reefkv/reef/internal/testutil"
)

// nodeArgs are the redis-server options of every cluster node in these
// tests: a short node timeout keeps failovers and joins fast.
var nodeArgs = []string{"--cluster-enabled", "yes", "--cluster-node-timeout", "1500",
	"--cluster-config-file", "nodes.conf", "--enable-debug-command", "yes"}

// startNodes starts n empty cluster-enabled redis-servers.
func startNodes(t *testing.T, n int, extra ...string) []*testutil.Proc {
	t.Helper()
	return testutil.StartMany(t, testutil.StartRedis, n, append(append([]string{}, nodeArgs...), extra...)...)
}

// startReefNodes is startNodes with reef-servers.
func startReefNodes(t *testing.T, n int, extra ...string) []*testutil.Proc {
	t.Helper()
	return testutil.StartMany(t, testutil.StartReef, n, append(append([]string{}, nodeArgs...), extra...)...)
}

func addrs(ps []*testutil.Proc) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.Addr()
	}
	return out
}

// result is one CLI run.
type result struct {
	out, err string
	code     int
}

// runCLI runs bin (reef-cli or redis-cli) with TERM=dumb and stdin.
func runCLI(t *testing.T, bin, stdin string, args ...string) result {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "TERM=dumb", "REEFCLI_HISTFILE=/dev/null")
	cmd.Stdin = strings.NewReader(stdin)
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

func reefCLI(t *testing.T) string  { return testutil.Binary(t, "reef-cli") }
func redisCLI(t *testing.T) string { return testutil.RedisCliPath(t) }

// create makes a cluster of the nodes with redis-cli (the reference) and
// waits until every node reports cluster_state:ok.
func create(t *testing.T, bin string, ps []*testutil.Proc, replicas int) result {
	t.Helper()
	args := append([]string{"--cluster", "create"}, addrs(ps)...)
	args = append(args, "--cluster-replicas", strconv.Itoa(replicas), "--cluster-yes")
	r := runCLI(t, bin, "", args...)
	if r.code != 0 {
		t.Fatalf("%s create failed (%d):\n%s\n%s", bin, r.code, r.out, r.err)
	}
	waitOK(t, ps)
	return r
}

// waitOK waits until every node says cluster_state:ok and all agree on the
// slot map (so that the next operation's check is clean).
func waitOK(t *testing.T, ps []*testutil.Proc) {
	t.Helper()
	testutil.WaitFor(t, 30*time.Second, "cluster_state:ok, one slot map and full membership on all nodes", func() bool {
		var addrs []string
		for _, p := range ps {
			if !p.Exited() {
				addrs = append(addrs, p.Addr())
			}
		}
		return testutil.ClusterAgreed(addrs, len(ps))
	})
}

// slotMap returns, per node index in ps, the slot ranges it owns ("" for
// none), so maps of twin clusters compare by position.
func slotMap(t *testing.T, ps []*testutil.Proc) []string {
	t.Helper()
	out := make([]string, len(ps))
	for i, p := range ps {
		c, err := client.Dial(p.Addr(), client.Options{})
		if err != nil {
			t.Fatal(err)
		}
		v, err := c.Do("CLUSTER", "NODES")
		c.Close()
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range strings.Split(v.Text(), "\n") {
			f := strings.Fields(l)
			if len(f) >= 8 && strings.Contains(f[2], "myself") {
				var sl []string
				for _, s := range f[8:] {
					if !strings.HasPrefix(s, "[") {
						sl = append(sl, s)
					}
				}
				out[i] = strings.Join(sl, " ")
			}
		}
	}
	return out
}

// slotCounts turns slotMap entries into slot counts.
func slotCounts(m []string) []int {
	out := make([]int, len(m))
	for i, s := range m {
		for _, r := range strings.Fields(s) {
			a, b := r, r
			if j := strings.IndexByte(r, '-'); j >= 0 {
				a, b = r[:j], r[j+1:]
			}
			x, _ := strconv.Atoi(a)
			y, _ := strconv.Atoi(b)
			out[i] += y - x + 1
		}
	}
	return out
}

// mustCheck runs `redis-cli --cluster check` and fails unless it exits 0.
func mustCheck(t *testing.T, addr string) {
	t.Helper()
	var r result
	// Gossip may need a moment to make every node agree after a move.
	testutil.WaitFor(t, 20*time.Second, "redis-cli --cluster check to pass", func() bool {
		r = runCLI(t, redisCLI(t), "", "--cluster", "check", addr)
		return r.code == 0
	})
}

// writeKeys writes n keys "k:<i>" = "v:<i>" through the cluster client.
func writeKeys(t *testing.T, seed string, n int, prefix string) {
	t.Helper()
	cl, err := client.NewCluster([]string{seed}, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	conns := map[string]*client.Conn{}
	for i := 0; i < n; i++ {
		k := fmt.Sprintf("%s:%d", prefix, i)
		owner := cl.SlotOwner(slot.OfString(k))
		c := conns[owner]
		if c == nil {
			if c, err = client.Dial(owner, client.Options{}); err != nil {
				t.Fatal(err)
			}
			conns[owner] = c
		}
		if err := c.Send("SET", k, "v:"+k); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range conns {
		for c.Pending() > 0 {
			v, err := c.Receive()
			if err != nil || v.IsError() {
				t.Fatalf("SET: %v %s", err, v.Text())
			}
		}
		c.Close()
	}
}

// checkKeys reads every key back through the cluster client (following
// redirections) and fails on any missing or wrong value.
func checkKeys(t *testing.T, seed string, n int, prefix string) {
	t.Helper()
	cl, err := client.NewCluster([]string{seed}, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	missing := 0
	for i := 0; i < n; i++ {
		k := fmt.Sprintf("%s:%d", prefix, i)
		v, err := cl.Do("GET", k)
		if err != nil {
			t.Fatal(err)
		}
		if v.Text() != "v:"+k {
			missing++
			if missing < 5 {
				t.Errorf("key %s: got %q (%c)", k, v.Text(), v.Kind)
			}
		}
	}
	if missing > 0 {
		t.Fatalf("%d of %d keys lost", missing, n)
	}
}

var idRe = regexp.MustCompile(`[0-9a-f]{40}`)
var id8Re = regexp.MustCompile(`\([0-9a-f]{8}\.\.\.\)`)

// normalize hides what differs between two runs against twin clusters:
// node IDs, ports (mapped by position), and the timing dots of the join wait.
func normalize(s string, ps []*testutil.Proc) string {
	s = idRe.ReplaceAllString(s, "<id>")
	s = id8Re.ReplaceAllString(s, "(<id>...)")
	for i, p := range ps {
		s = strings.ReplaceAll(s, ":"+strconv.Itoa(p.Port), fmt.Sprintf(":<port%d>", i))
	}
	var out []string
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		if i > 0 && lines[i-1] == "Waiting for the cluster to join" && strings.Trim(l, ".") == "" {
			continue
		}
		out = append(out, l)
	}
	return strings.Join(out, "\n")
}

func diffText(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	var sb strings.Builder
	for i := 0; i < max(len(al), len(bl)); i++ {
		var x, y string
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if x != y {
			fmt.Fprintf(&sb, "line %d:\n  redis-cli: %q\n  reef-cli:  %q\n", i+1, x, y)
		}
	}
	return sb.String()
}

func itoa(i int) string { return strconv.Itoa(i) }
