package migrate

import (
	"strconv"
	"strings"
	"testing"

	"github.com/reefkv/reef/internal/testutil"
)

// TestSetSlotLikeRedis compares, reply for reply, CLUSTER SETSLOT's checks
// and errors, GETKEYSINSLOT and COUNTKEYSINSLOT, and a full manual move of
// a slot with keys (IMPORTING, MIGRATING, ASK for a missing key, MIGRATE,
// NODE on both sides) between a Reef cluster and a redis-server 7.0
// cluster. Node IDs and ports are replaced by names before comparing.
func TestSetSlotLikeRedis(t *testing.T) {
	t.Parallel()
	type side struct {
		nodes    []*testutil.Proc
		ids      []string
		replacer *strings.Replacer
	}
	mk := func(redis bool) *side {
		var ps []*testutil.Proc
		for i := 0; i < 3; i++ {
			if redis {
				ps = append(ps, testutil.StartRedis(t, nodeArgs...))
			} else {
				ps = append(ps, testutil.StartReef(t, nodeArgs...))
			}
		}
		args := append([]string{"--cluster", "create"}, addrs(ps)...)
		if r := runTool(t, testutil.RedisCliPath(t), append(args, "--cluster-yes")...); r.code != 0 {
			t.Fatalf("create: %s %s", r.out, r.err)
		}
		c := &cluster{t: t, nodes: ps}
		c.waitStable()
		s := &side{nodes: ps}
		var pairs []string
		for i, p := range ps {
			s.ids = append(s.ids, id(t, p))
			n := "N" + strconv.Itoa(i)
			pairs = append(pairs, s.ids[i], n, strconv.Itoa(p.Port), "P"+strconv.Itoa(i))
		}
		s.replacer = strings.NewReplacer(pairs...)
		return s
	}
	redis, reef := mk(true), mk(false)
	// Keys of slot 0 (owned by node 0 after create): the hash tag "{...}"
	// of a key with slot 0.
	tag := ""
	for i := 0; tag == ""; i++ {
		k := "t" + strconv.Itoa(i)
		if v, _ := tryDo(redis.nodes[0], "CLUSTER", "KEYSLOT", "{"+k+"}"); v == "0" {
			tag = "{" + k + "}"
		}
	}
	type step struct {
		node int
		args []string // "$0".."$2" stand for node IDs
	}
	unknown := strings.Repeat("f", 40)
	steps := []step{
		{0, []string{"SET", tag + "a", "1"}},
		{0, []string{"SET", tag + "b", "2"}},
		{0, []string{"CLUSTER", "COUNTKEYSINSLOT", "0"}},
		{0, []string{"CLUSTER", "COUNTKEYSINSLOT", "16384"}},
		{0, []string{"CLUSTER", "COUNTKEYSINSLOT", "x"}},
		{0, []string{"CLUSTER", "GETKEYSINSLOT", "0", "-1"}},
		{0, []string{"CLUSTER", "GETKEYSINSLOT", "16384", "1"}},
		{0, []string{"CLUSTER", "GETKEYSINSLOT", "x", "1"}},
		{0, []string{"CLUSTER", "SETSLOT", "16384", "STABLE"}},
		{0, []string{"CLUSTER", "SETSLOT", "0", "BOGUS"}},
		{0, []string{"CLUSTER", "SETSLOT", "0", "MIGRATING"}},
		{0, []string{"CLUSTER", "SETSLOT", "0", "MIGRATING", unknown}},
		{0, []string{"CLUSTER", "SETSLOT", "0", "IMPORTING", "$1"}},
		{1, []string{"CLUSTER", "SETSLOT", "0", "MIGRATING", "$0"}},
		{1, []string{"CLUSTER", "SETSLOT", "0", "IMPORTING", unknown}},
		{0, []string{"CLUSTER", "SETSLOT", "0", "NODE", unknown}},
		{0, []string{"CLUSTER", "SETSLOT", "0", "NODE", "$1"}},
		// A manual move.
		{1, []string{"CLUSTER", "SETSLOT", "0", "IMPORTING", "$0"}},
		{0, []string{"CLUSTER", "SETSLOT", "0", "MIGRATING", "$1"}},
		{0, []string{"GET", tag + "a"}},
		{0, []string{"GET", tag + "missing"}},
		{0, []string{"MGET", tag + "a", tag + "missing"}},
		{1, []string{"GET", tag + "a"}},
		{0, []string{"MIGRATE", "127.0.0.1", "P1", tag + "a", "0", "5000"}},
		{0, []string{"GET", tag + "a"}},
		{0, []string{"CLUSTER", "COUNTKEYSINSLOT", "0"}},
		{0, []string{"CLUSTER", "SETSLOT", "0", "NODE", "$1"}},
		{0, []string{"MIGRATE", "127.0.0.1", "P1", "", "0", "5000", "KEYS", tag + "b"}},
		{1, []string{"CLUSTER", "SETSLOT", "0", "NODE", "$1"}},
		{0, []string{"CLUSTER", "SETSLOT", "0", "NODE", "$1"}},
		{2, []string{"CLUSTER", "SETSLOT", "0", "NODE", "$1"}},
		{1, []string{"CLUSTER", "COUNTKEYSINSLOT", "0"}},
		{1, []string{"MGET", tag + "a", tag + "b"}},
		{0, []string{"GET", tag + "a"}},
		{1, []string{"CLUSTER", "SETSLOT", "0", "STABLE"}},
	}
	run := func(s *side, st step) string {
		args := make([]string, len(st.args))
		for i, a := range st.args {
			switch {
			case strings.HasPrefix(a, "$"):
				n, _ := strconv.Atoi(a[1:])
				a = s.ids[n]
			case strings.HasPrefix(a, "P") && len(a) == 2:
				n, _ := strconv.Atoi(a[1:])
				a = strconv.Itoa(s.nodes[n].Port)
			}
			args[i] = a
		}
		c := testutil.MustDial(t, s.nodes[st.node].Addr())
		defer c.Close()
		v, err := c.Do(args...)
		if err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		text := v.Text()
		for _, e := range v.Elems {
			text += "|" + e.Text()
		}
		return s.replacer.Replace(text)
	}
	for _, st := range steps {
		a, b := run(redis, st), run(reef, st)
		if a != b {
			t.Errorf("node %d %v:\nredis %q\nreef  %q", st.node, st.args, a, b)
		}
	}
}
