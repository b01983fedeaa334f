package cluster

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/reefkv/reef/internal/resp"
	"github.com/reefkv/reef/internal/testutil"
)

// routedCluster is a three-master, three-replica cluster for the routing
// comparison; ps[0..2] are the masters of slots 0-5460, 5461-10922 and
// 10923-16383, replica is a replica of ps[0].
type routedCluster struct {
	ps      []*testutil.Proc
	replica *testutil.Proc
	ids     []string
}

func newRoutedCluster(t *testing.T, start func(t *testing.T, n int, extra ...string) []*testutil.Proc) *routedCluster {
	ps := start(t, 6)
	createCluster(t, ps, 1)
	rc := &routedCluster{ps: ps}
	for _, p := range ps {
		rc.ids = append(rc.ids, myID(t, p))
	}
	for _, n := range testutil.ParseNodes(do(t, ps[0], "CLUSTER", "NODES")) {
		if n.Master == rc.ids[0] {
			for i, id := range rc.ids {
				if id == n.ID {
					rc.replica = ps[i]
				}
			}
		}
	}
	if rc.replica == nil {
		t.Fatal("no replica of the first master")
	}
	return rc
}

// node names a node of a script: m0, m1, m2 (masters) or r0 (the replica
// of m0).
func (rc *routedCluster) node(name string) *testutil.Proc {
	if name == "r0" {
		return rc.replica
	}
	i, _ := strconv.Atoi(name[1:])
	return rc.ps[i]
}

// expand replaces $ID0..$ID5 by node IDs in a command.
func (rc *routedCluster) expand(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		for j, id := range rc.ids {
			a = strings.ReplaceAll(a, "$ID"+strconv.Itoa(j), id)
		}
		out[i] = a
	}
	return out
}

// normalize replaces addresses and IDs by $N<i> and $ID<i>.
func (rc *routedCluster) normalize(s string) string {
	for j, p := range rc.ps {
		s = strings.ReplaceAll(s, p.Addr(), "$N"+strconv.Itoa(j))
		s = strings.ReplaceAll(s, rc.ids[j], "$ID"+strconv.Itoa(j))
	}
	return s
}

// step is one command of a routing script, sent on the named node's
// connection (one connection per node per script).
type step struct {
	node string
	args []string
}

func st(node string, args ...string) step { return step{node, args} }

// run plays a script and returns the normalized replies.
func (rc *routedCluster) run(t *testing.T, script []step) []string {
	conns := map[string]*testutil.Conn{}
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	var out []string
	for _, s := range script {
		if s.node == "wait-m2-fail" {
			p := rc.ps[2]
			testutil.WaitFor(t, 10*time.Second, p.Addr()+" in cluster_state:fail", func() bool {
				return testutil.InfoField(do(t, p, "CLUSTER", "INFO"), "cluster_state") == "fail"
			})
			continue
		}
		c := conns[s.node]
		if c == nil {
			c = testutil.MustDial(t, rc.node(s.node).Addr())
			conns[s.node] = c
		}
		v, err := c.Do(rc.expand(s.args)...)
		if err != nil {
			t.Fatalf("%s %v: %v", s.node, s.args, err)
		}
		out = append(out, rc.normalize(s.node+" "+strings.Join(s.args, " ")+" -> "+flat(v)))
	}
	return out
}

// flat renders a reply on one line.
func flat(v resp.Value) string {
	if len(v.Elems) > 0 || v.Kind == resp.KindArray {
		parts := make([]string, len(v.Elems))
		for i, e := range v.Elems {
			parts[i] = flat(e)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	}
	if v.IsNull() {
		return "(nil)"
	}
	return v.Text()
}

// routingScripts exercise getNodeByQuery: MOVED, ASK, TRYAGAIN, CROSSSLOT,
// CLUSTERDOWN (both texts and "Hash slot not served"), READONLY replicas,
// ASKING, MULTI/EXEC, WATCH and the DB restrictions. Slots: foo 12182 (m2),
// {user1000}.* 3443 (m0), a 15495 (m2), b 3300 (m0), y 12222 (m2).
var routingScripts = map[string][]step{
	"basic": {
		st("m0", "GET", "foo"), st("m0", "SET", "{user1000}.a", "v1"), st("m0", "GET", "{user1000}.a"),
		st("m0", "MSET", "a", "1", "b", "2"), st("m0", "DEL", "foo{b}", "b"), st("m0", "MGET", "{user1000}.a", "{user1000}.b"),
		st("m2", "MSET", "a", "1", "y", "2"), st("m2", "MSET", "{a}1", "1", "{a}2", "2"), st("m1", "EXISTS", "b", "b"),
		st("m0", "PING"), st("m0", "DBSIZE"), st("m0", "KEYS", "*"), st("m0", "CLUSTER", "KEYSLOT", "{user1000}.a"),
		st("m0", "CLUSTER", "COUNTKEYSINSLOT", "3443"), st("m0", "CLUSTER", "GETKEYSINSLOT", "3443", "10"),
		st("m0", "SELECT", "0"), st("m0", "SELECT", "1"), st("m0", "SWAPDB", "0", "1"),
		st("m0", "MOVE", "{user1000}.a", "1"), st("m0", "MOVE", "foo", "1"), st("m0", "COPY", "{user1000}.a", "{user1000}.c", "DB", "1"),
		st("m0", "COPY", "{user1000}.a", "{user1000}.c"), st("m0", "RENAME", "{user1000}.c", "foo"),
		st("m0", "ASKING"), st("m0", "GET", "foo"), st("m0", "READONLY"), st("m0", "GET", "foo"), st("m0", "READWRITE"),
		st("m0", "OBJECT", "ENCODING", "foo"), st("m0", "GET", ""), st("m0", "WATCH", "b", "foo"),
	},
	"multi": {
		st("m0", "MULTI"), st("m0", "SET", "{user1000}.a", "1"), st("m0", "GET", "foo"), st("m0", "EXEC"),
		st("m0", "MULTI"), st("m0", "SET", "{user1000}.a", "1"), st("m0", "SET", "b", "2"), st("m0", "EXEC"),
		st("m0", "MULTI"), st("m0", "SET", "{user1000}.a", "2"), st("m0", "GET", "{user1000}.a"), st("m0", "EXEC"),
		st("m0", "EXEC"), st("m0", "MULTI"), st("m0", "PING"), st("m0", "EXEC"),
		st("m0", "WATCH", "b"), st("m0", "MULTI"), st("m0", "GET", "{user1000}.a"), st("m0", "EXEC"),
	},
	"readonly replica": {
		st("r0", "GET", "{user1000}.a"), st("r0", "READONLY"), st("r0", "GET", "{user1000}.zz"), st("r0", "SET", "{user1000}.zz", "1"),
		st("r0", "GET", "foo"), st("r0", "MULTI"), st("r0", "GET", "{user1000}.zz"), st("r0", "EXEC"),
		st("r0", "MULTI"), st("r0", "SET", "{user1000}.zz", "1"), st("r0", "EXEC"), st("r0", "READWRITE"),
		st("r0", "GET", "{user1000}.zz"), st("r0", "CLUSTER", "COUNTKEYSINSLOT", "0"),
	},
	"migration": {
		st("m0", "SET", "{user1000}.x", "1"),
		st("m1", "CLUSTER", "SETSLOT", "3443", "IMPORTING", "$ID0"), st("m0", "CLUSTER", "SETSLOT", "3443", "MIGRATING", "$ID1"),
		st("m0", "GET", "{user1000}.x"), st("m0", "GET", "{user1000}.nope"), st("m0", "MGET", "{user1000}.x", "{user1000}.nope"),
		st("m0", "MGET", "{user1000}.n1", "{user1000}.n2"), st("m0", "SET", "{user1000}.new", "1"), st("m0", "DEL", "{user1000}.x", "{user1000}.x"),
		st("m0", "MULTI"), st("m0", "GET", "{user1000}.x"), st("m0", "GET", "{user1000}.nope"), st("m0", "EXEC"),
		st("m1", "GET", "{user1000}.x"), st("m1", "ASKING"), st("m1", "GET", "{user1000}.x"), st("m1", "GET", "{user1000}.x"),
		st("m1", "ASKING"), st("m1", "SET", "{user1000}.y", "1"), st("m1", "ASKING"), st("m1", "MGET", "{user1000}.y", "{user1000}.z"),
		st("m1", "ASKING"), st("m1", "MGET", "{user1000}.y", "{user1000}.y"), st("m1", "ASKING"), st("m1", "MULTI"),
		st("m1", "GET", "{user1000}.y"), st("m1", "SET", "{user1000}.y", "2"), st("m1", "EXEC"), st("m1", "GET", "{user1000}.y"),
		st("m1", "CLUSTER", "COUNTKEYSINSLOT", "3443"),
		st("m0", "CLUSTER", "SETSLOT", "3443", "STABLE"), st("m1", "CLUSTER", "SETSLOT", "3443", "STABLE"),
		st("m1", "DEL", "{user1000}.y"), st("m0", "GET", "{user1000}.x"),
	},
	"cluster down": {
		st("m2", "CLUSTER", "DELSLOTS", "15495"),
		st("m2", "GET", "foo"), st("m2", "GET", "a"), st("m2", "SET", "foo", "1"), st("m2", "PING"), st("m2", "DBSIZE"),
		st("m2", "CONFIG", "SET", "cluster-allow-reads-when-down", "yes"), st("m2", "GET", "foo"), st("m2", "SET", "foo", "1"),
		st("m2", "MULTI"), st("m2", "GET", "foo"), st("m2", "EXEC"), st("m2", "GET", "b"), st("m2", "GET", "a"),
		st("m2", "CONFIG", "SET", "cluster-allow-reads-when-down", "no"), st("m2", "CLUSTER", "ADDSLOTS", "15495"),
	},
}

// TestRoutingLikeRedis plays the routing scripts on a reef cluster and on
// a redis-server 7.0 cluster of the same shape and compares every reply.
func TestRoutingLikeRedis(t *testing.T) {
	t.Parallel()
	reef := newRoutedCluster(t, startReefNodes)
	redis := newRoutedCluster(t, startRedisNodes)
	for _, name := range []string{"basic", "multi", "readonly replica", "migration", "cluster down"} {
		script := routingScripts[name]
		if name == "cluster down" {
			// The node with the deleted slot goes down; allow it to.
			script = append(script[:1:1], append([]step{{node: "wait-m2-fail"}}, script[1:]...)...)
		}
		got, want := reef.run(t, script), redis.run(t, script)
		for i := range want {
			if i >= len(got) || got[i] != want[i] {
				t.Errorf("%s: step %d\n reef: %s\nredis: %s", name, i, at(got, i), want[i])
			}
		}
		// Let both clusters settle before the next script.
		waitAgree(t, reef.ps, 6)
		waitAgree(t, redis.ps, 6)
	}
}

func at(s []string, i int) string {
	if i < len(s) {
		return s[i]
	}
	return "<missing>"
}

// TestClusterDisabled: the cluster commands of a server without
// cluster-enabled reply exactly as redis-server 7.0's.
func TestClusterDisabled(t *testing.T) {
	t.Parallel()
	reef, redis := testutil.StartReef(t), testutil.StartRedis(t)
	for _, args := range [][]string{
		{"CLUSTER", "INFO"}, {"CLUSTER", "HELP"}, {"CLUSTER", "FOO"}, {"CLUSTER"}, {"CLUSTER", "KEYSLOT", "x"},
		{"CLUSTER", "COUNTKEYSINSLOT", "1"}, {"CLUSTER", "GETKEYSINSLOT", "1", "1"}, {"CLUSTER", "NODES", "x"},
		{"ASKING"}, {"READONLY"}, {"READWRITE"}, {"SELECT", "1"}, {"MSET", "a", "1", "b", "2"}, {"INFO", "cluster"},
	} {
		if got, want := do(t, reef, args...), do(t, redis, args...); got != want {
			t.Errorf("%v:\n reef: %q\nredis: %q", args, got, want)
		}
	}
}
