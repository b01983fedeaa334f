package cluster

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/reefkv/reef/internal/slot"
	"github.com/reefkv/reef/internal/testutil"
)

// TestCreateAndClients: six reef-servers made into a cluster by
// redis-cli --cluster create with one replica each, then judged by
// redis-cli --cluster check/info, redis-cli -c, go-redis's ClusterClient
// and redis-benchmark --cluster.
func TestCreateAndClients(t *testing.T) {
	t.Parallel()
	ps := startReefNodes(t, 6)
	r := createCluster(t, ps, 1)
	if !strings.Contains(r.out, "[OK] All 16384 slots covered.") {
		t.Fatalf("create output:\n%s", r.out)
	}

	t.Run("check", func(t *testing.T) {
		r := redisCLI(t, "", "--cluster", "check", ps[0].Addr())
		if r.code != 0 || !strings.Contains(r.out, "[OK] All nodes agree about slots configuration.") ||
			!strings.Contains(r.out, "[OK] All 16384 slots covered.") {
			t.Fatalf("check exit %d:\n%s%s", r.code, r.out, r.err)
		}
	})

	t.Run("info", func(t *testing.T) {
		r := redisCLI(t, "", "--cluster", "info", ps[1].Addr())
		masters := regexp.MustCompile(`(?m)^127\.0\.0\.1:\d+ \([0-9a-f]{8}\.\.\.\) -> \d+ keys \| \d+ slots \| 1 slaves\.$`).FindAllString(r.out, -1)
		if r.code != 0 || len(masters) != 3 || !strings.Contains(r.out, "keys in 3 masters.") {
			t.Fatalf("info exit %d, %d masters:\n%s%s", r.code, len(masters), r.out, r.err)
		}
	})

	t.Run("INFO", func(t *testing.T) {
		info := do(t, ps[0], "INFO")
		for _, want := range []string{"redis_mode:cluster", "# Cluster\r\ncluster_enabled:1\r\n", "cluster_connections:10\r\n"} {
			if !strings.Contains(info, want) {
				t.Errorf("INFO lacks %q", want)
			}
		}
		if v := testutil.InfoField(info, "mem_cluster_links"); v == "" || v == "0" {
			t.Errorf("mem_cluster_links %q", v)
		}
	})

	t.Run("redis-cli -c", func(t *testing.T) {
		// Every key goes through a node that does not own it at least once.
		var in strings.Builder
		for i := 0; i < 20; i++ {
			fmt.Fprintf(&in, "SET key:%d v%d\nGET key:%d\n", i, i, i)
		}
		for _, p := range ps[:3] {
			r := redisCLI(t, in.String(), "-c", "-p", strconv.Itoa(p.Port))
			if r.code != 0 || !strings.Contains(r.out, "-> Redirected to slot [") {
				t.Fatalf("redis-cli -c exit %d:\n%s%s", r.code, r.out, r.err)
			}
			for i := 0; i < 20; i++ {
				if !strings.Contains(r.out, fmt.Sprintf("\nv%d\n", i)) && !strings.HasPrefix(r.out, fmt.Sprintf("v%d\n", i)) {
					t.Fatalf("redis-cli -c: no value v%d:\n%s", i, r.out)
				}
			}
		}
		// Without -c the redirection is printed as is.
		owner := ""
		for _, n := range testutil.ParseNodes(do(t, ps[0], "CLUSTER", "NODES")) {
			for _, rg := range n.SlotRanges() {
				if s := slot.OfString("foo"); rg[0] <= s && s <= rg[1] {
					owner = strings.Split(n.Addr, "@")[0]
				}
			}
		}
		for _, p := range ps[:3] {
			if p.Addr() == owner {
				continue
			}
			if got, want := strings.TrimSpace(redisCLI(t, "", "-p", strconv.Itoa(p.Port), "GET", "foo").out), "MOVED 12182 "+owner; got != want {
				t.Fatalf("GET foo: %q, want %q", got, want)
			}
		}
	})

	t.Run("go-redis", func(t *testing.T) {
		cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs(ps[:1]), ReadTimeout: 10 * time.Second})
		defer cc.Close()
		ctx := context.Background()
		const n = 10000
		base, _ := masterKeys(t, ps, 0)
		_, err := cc.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i := 0; i < n; i++ {
				p.Set(ctx, "gk:"+strconv.Itoa(i), i, 0)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		gets := make([]*redis.StringCmd, n)
		_, err = cc.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i := range gets {
				gets[i] = p.Get(ctx, "gk:"+strconv.Itoa(i))
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		for i, g := range gets {
			if g.Val() != strconv.Itoa(i) {
				t.Fatalf("gk:%d = %q", i, g.Val())
			}
		}
		// One at a time too, through the redirect machinery.
		for i := 0; i < 200; i++ {
			k := fmt.Sprintf("one:{%d}", i)
			if err := cc.Set(ctx, k, i, 0).Err(); err != nil {
				t.Fatal(err)
			}
			if v, err := cc.Get(ctx, k).Result(); err != nil || v != strconv.Itoa(i) {
				t.Fatalf("%s = %q, %v", k, v, err)
			}
		}
		// The keys are spread over the three masters, which serve every
		// slot between them.
		total, slots := masterKeys(t, ps, 3000)
		if total != base+n+200 || slots != slot.Count {
			t.Fatalf("masters hold %d keys (%d before) over %d slots", total, base, slots)
		}
	})

	t.Run("READONLY replica reads", func(t *testing.T) {
		// Each replica serves its master's slots to READONLY clients once
		// replication has copied the keys, and then appears in CLUSTER SLOTS.
		ids := map[string]*testutil.Proc{}
		for _, p := range ps {
			ids[myID(t, p)] = p
		}
		nodes := do(t, ps[0], "CLUSTER", "NODES")
		view := testutil.ParseNodes(nodes)
		for _, n := range view {
			if !strings.Contains(n.Flags, "slave") {
				continue
			}
			replica := ids[n.ID]
			if replica == nil {
				t.Fatalf("replica %s is none of the six nodes (%v); CLUSTER NODES of %s:\n%s", n.ID, ids, ps[0].Addr(), nodes)
			}
			master := view[n.Master]
			if len(master.SlotRanges()) == 0 {
				t.Fatalf("replica %s's master %q serves no slots; CLUSTER NODES of %s:\n%s", n.ID, n.Master, ps[0].Addr(), nodes)
			}
			key := ""
			for i := 0; key == ""; i++ {
				k := "gk:" + strconv.Itoa(i)
				for _, rg := range master.SlotRanges() {
					if s := slot.OfString(k); rg[0] <= s && s <= rg[1] {
						key = k
					}
				}
			}
			c := testutil.MustDial(t, replica.Addr())
			if v, _ := c.Do("GET", key); !strings.HasPrefix(v.Text(), "MOVED ") {
				t.Fatalf("replica GET without READONLY: %q", v.Text())
			}
			c.Do("READONLY")
			testutil.WaitFor(t, 20*time.Second, "the replica to serve "+key, func() bool {
				v, err := c.Do("GET", key)
				return err == nil && v.Text() == strings.TrimPrefix(key, "gk:")
			})
			if v, _ := c.Do("SET", key, "x"); !strings.HasPrefix(v.Text(), "MOVED ") {
				t.Fatalf("replica SET with READONLY: %q", v.Text())
			}
		}
		testutil.WaitFor(t, 20*time.Second, "CLUSTER SLOTS to list the synced replicas", func() bool {
			c := testutil.MustDial(t, ps[0].Addr())
			v, err := c.Do("CLUSTER", "SLOTS")
			if err != nil || len(v.Elems) != 3 {
				return false
			}
			for _, rg := range v.Elems {
				if len(rg.Elems) != 4 { // start, end, master, replica
					return false
				}
			}
			return true
		})
	})

	t.Run("redis-benchmark", func(t *testing.T) {
		r := run(t, "", "redis-benchmark", "--cluster", "-p", strconv.Itoa(ps[0].Port), "-t", "set,get", "-n", "20000", "-c", "20", "-q")
		if r.code != 0 || !strings.Contains(r.out, "Cluster has 3 master nodes:") || !regexp.MustCompile(`SET: [0-9.]+ requests per second`).MatchString(r.out) ||
			!regexp.MustCompile(`GET: [0-9.]+ requests per second`).MatchString(r.out) || strings.Contains(strings.ToLower(r.out+r.err), "error") {
			t.Fatalf("redis-benchmark exit %d:\n%s\n%s", r.code, r.out, r.err)
		}
	})
}

// masterKeys returns the keys held by the masters among ps and the number
// of slots they serve; each master must hold at least min keys.
func masterKeys(t *testing.T, ps []*testutil.Proc, min int64) (total int64, slots int) {
	t.Helper()
	for _, p := range ps {
		var me testutil.NodeLine
		for _, nl := range testutil.ParseNodes(do(t, p, "CLUSTER", "NODES")) {
			if strings.Contains(nl.Flags, "myself") {
				me = nl
			}
		}
		if !strings.Contains(me.Flags, "master") {
			continue
		}
		c := testutil.MustDial(t, p.Addr())
		v, _ := c.Do("DBSIZE")
		if v.Int < min {
			t.Errorf("%s holds %d keys", p.Addr(), v.Int)
		}
		total += v.Int
		for _, rg := range me.SlotRanges() {
			slots += rg[1] - rg[0] + 1
		}
	}
	return total, slots
}
