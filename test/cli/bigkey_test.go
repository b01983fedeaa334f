package cli

import (
	"strconv"
	"strings"
	"testing"

	"github.com/reefkv/reef/internal/admin"
	"github.com/reefkv/reef/internal/client"
	"github.com/reefkv/reef/internal/slot"
	"github.com/reefkv/reef/internal/testutil"
)

// TestBigKeysMoveInChunks reshards the slots holding a big hash, list, set
// and sorted set with a low big-key threshold: they must arrive whole (same
// members, same TTL) and have been written with HSET/RPUSH/SADD/ZADD
// chunks rather than one RESTORE.
func TestBigKeysMoveInChunks(t *testing.T) {
	t.Parallel()
	ps := startNodes(t, 3)
	create(t, redisCLI(t), ps, 0)
	seed := ps[0].Addr()
	cl, err := client.NewCluster([]string{seed}, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	// All four keys share the hash tag, so one slot moves.
	keys := map[string][]string{
		"{big}h": {"HSET", "{big}h"}, "{big}l": {"RPUSH", "{big}l"},
		"{big}s": {"SADD", "{big}s"}, "{big}z": {"ZADD", "{big}z"},
	}
	const n = 5000
	for k, base := range keys {
		args := append([]string{}, base...)
		for i := 0; i < n; i++ {
			f := "member-" + strconv.Itoa(i)
			switch base[0] {
			case "HSET":
				args = append(args, f, "value-"+strconv.Itoa(i))
			case "ZADD":
				args = append(args, strconv.Itoa(i), f)
			default:
				args = append(args, f)
			}
		}
		if v, err := cl.DoKey(k, args...); err != nil || v.IsError() {
			t.Fatalf("%v: %v %s", base, err, v.Text())
		}
	}
	cl.DoKey("{big}h", "PEXPIRE", "{big}h", "600000")
	s := slot.OfString("{big}h")
	src := ownerIndex(t, ps, s)
	dst := (src + 1) % 3
	// Rewrite the one-slot plan to move slot s.
	planPath := t.TempDir() + "/big.json"
	writePlan(t, planPath, myID(t, ps[src]), myID(t, ps[dst]), s, ps)
	r := runCLI(t, reefCLI(t), "", "--cluster", "apply", planPath, "--cluster-big-key-bytes", "10000")
	if r.code != 0 {
		t.Fatalf("apply (%d):\n%s%s", r.code, r.out, r.err)
	}
	waitOK(t, ps)
	mustCheck(t, seed)
	stats := do(t, ps[dst], "INFO", "commandstats")
	for _, c := range []string{"cmdstat_hset:", "cmdstat_rpush:", "cmdstat_sadd:", "cmdstat_zadd:"} {
		if !strings.Contains(stats, c) {
			t.Errorf("target never ran %s: keys were not moved in chunks\n%s", c, stats)
		}
	}
	for k, want := range map[string][]string{
		"{big}h": {"HLEN", "{big}h"}, "{big}l": {"LLEN", "{big}l"}, "{big}s": {"SCARD", "{big}s"}, "{big}z": {"ZCARD", "{big}z"},
	} {
		if v := do(t, ps[dst], want...); v != strconv.Itoa(n) {
			t.Errorf("%s has %s elements on the target, want %d", k, v, n)
		}
	}
	if v := do(t, ps[dst], "HGET", "{big}h", "member-4999"); v != "value-4999" {
		t.Errorf("HGET = %q", v)
	}
	if v := do(t, ps[dst], "LINDEX", "{big}l", "4999"); v != "member-4999" {
		t.Errorf("list order lost: %q", v)
	}
	if v := do(t, ps[dst], "ZSCORE", "{big}z", "member-77"); v != "77" {
		t.Errorf("ZSCORE = %q", v)
	}
	if ttl, _ := strconv.Atoi(do(t, ps[dst], "PTTL", "{big}h")); ttl <= 0 || ttl > 600000 {
		t.Errorf("TTL lost: %d", ttl)
	}
	if v := do(t, ps[src], "DBSIZE"); v != "0" {
		t.Errorf("source still holds %s keys", v)
	}
}

// writePlan writes a one-slot plan.
func writePlan(t *testing.T, path, from, to string, s int, ps []*testutil.Proc) {
	t.Helper()
	p := admin.Plan{Version: 1, Kind: "reshard", Jobs: []admin.PlanJob{{From: from, To: to, Slots: []int{s}}}}
	for _, pr := range ps {
		p.Nodes = append(p.Nodes, admin.PlanNode{ID: myID(t, pr), Addr: pr.Addr()})
	}
	if err := p.Write(path); err != nil {
		t.Fatal(err)
	}
}
