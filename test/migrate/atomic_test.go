package migrate

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/reefkv/reef/internal/testutil"
)

// errorStats sums INFO errorstats of code (e.g. "ASK") over the nodes.
func errorStats(c *cluster, code string) int {
	total := 0
	for _, p := range c.live() {
		info, ok := tryDo(p, "INFO", "errorstats")
		if !ok {
			continue
		}
		for _, l := range strings.Split(info, "\n") {
			if v, ok := strings.CutPrefix(strings.TrimSpace(l), "errorstat_"+code+":count="); ok {
				n, _ := strconv.Atoi(v)
				total += n
			}
		}
	}
	return total
}

// TestAtomicRebalanceUnderLoad: reef-cli detects atomic slot migration on
// Reef and uses it for reshard, add-node + rebalance and emptying a master;
// clients keep working without a single ASK or TRYAGAIN, no key is lost,
// and redis-cli --cluster check is clean.
func TestAtomicRebalanceUnderLoad(t *testing.T) {
	t.Parallel()
	c := startCluster(t, 3, 0)
	cli := testutil.Binary(t, "reef-cli")
	verify := fill(t, c.nodes[0], "fill", 30000)
	l := startLoad(t, c.nodes[0], 4, "load")
	ids := []string{id(t, c.nodes[0]), id(t, c.nodes[1]), id(t, c.nodes[2])}
	asks, tries := errorStats(c, "ASK"), errorStats(c, "TRYAGAIN")

	t.Logf("%s reshard", time.Now().Format("15:04:05.000"))
	r := runTool(t, cli, "--cluster", "reshard", c.nodes[0].Addr(), "--cluster-from", ids[0],
		"--cluster-to", ids[1], "--cluster-slots", "3000", "--cluster-yes")
	if r.code != 0 {
		t.Fatalf("reshard: %d\n%s\n%s", r.code, tail(r.out), r.err)
	}
	c.waitStable()
	n := c.addNode()
	t.Logf("%s add-node", time.Now().Format("15:04:05.000"))
	if r := runTool(t, cli, "--cluster", "add-node", n.Addr(), c.nodes[0].Addr()); r.code != 0 {
		t.Fatalf("add-node: %d\n%s\n%s", r.code, r.out, r.err)
	}
	c.waitStable()
	t.Logf("%s rebalance", time.Now().Format("15:04:05.000"))
	r = runTool(t, cli, "--cluster", "rebalance", c.nodes[0].Addr(), "--cluster-use-empty-masters")
	if r.code != 0 {
		t.Fatalf("rebalance: %d\n%s\n%s", r.code, tail(r.out), r.err)
	}
	c.waitStable()
	if len(c.masters(true)) != 4 {
		t.Fatal("rebalance did not give the new master slots")
	}
	t.Logf("%s rebalance weight 0", time.Now().Format("15:04:05.000"))
	r = runTool(t, cli, "--cluster", "rebalance", c.nodes[0].Addr(), "--cluster-weight", ids[2]+"=0")
	if r.code != 0 {
		t.Fatalf("rebalance weight 0: %d\n%s\n%s", r.code, tail(r.out), r.err)
	}
	c.waitStable()
	// The load stops before del-node: the deleted node gets CLUSTER RESET
	// SOFT and then answers CLUSTER SLOTS with nothing, and go-redis, which
	// keeps asking every address it knows for its map, may adopt that empty
	// map for a while and send commands to the reset node (it does so with
	// Redis 7.0 too). Forgetting a slotless node moves no data.
	l.stop()
	gone := c.nodes[2]
	t.Logf("%s del-node", time.Now().Format("15:04:05.000"))
	if r := runTool(t, cli, "--cluster", "del-node", c.nodes[0].Addr(), ids[2]); r.code != 0 {
		t.Fatalf("del-node: %d\n%s\n%s", r.code, r.out, r.err)
	}
	c.removed(gone)
	c.waitStable()
	c.check(c.nodes[0])
	if t.Failed() {
		for _, p := range append(c.live(), gone) {
			info, _ := tryDo(p, "INFO", "errorstats")
			t.Logf("%s errorstats: %s", p.Addr(), strings.ReplaceAll(info, "\r\n", " "))
		}
	}
	verify()
	if d := errorStats(c, "ASK") - asks; d != 0 {
		t.Errorf("clients got %d ASK redirects during atomic migration", d)
	}
	if d := errorStats(c, "TRYAGAIN") - tries; d != 0 {
		t.Errorf("clients got %d TRYAGAIN during atomic migration", d)
	}
	// The emptied master dropped every key of the slots it gave away.
	if v, _ := tryDo(gone, "DBSIZE"); v != "0" {
		t.Errorf("emptied master still holds %s keys", v)
	}
	t.Logf("slowest client op %v", time.Duration(l.worst.Load()))
}

// TestAtomicDialects drives both dialects by hand: Valkey's MIGRATESLOTS on
// the source with GETSLOTMIGRATIONS, Redis 8.4's MIGRATION IMPORT on the
// target with STATUS, and their errors.
func TestAtomicDialects(t *testing.T) {
	t.Parallel()
	c := startCluster(t, 3, 0)
	verify := fill(t, c.nodes[0], "d", 5000)
	a, b := c.nodes[0], c.nodes[1]
	ida, idb := id(t, a), id(t, b)

	if got := do(t, a, "CLUSTER", "MIGRATESLOTS", "SLOTSRANGE", "0", "99", "NODE", idb); got != "OK" {
		t.Fatalf("MIGRATESLOTS: %s", got)
	}
	waitFor(t, "b to own slots 0-99", func() bool { return ownsSlot(b, 0) && ownsSlot(b, 99) })
	waitFor(t, "the export to end", func() bool {
		m := migrations(t, a)
		return len(m) > 0 && m[len(m)-1]["state"] == "success"
	})
	mig := migrations(t, a)
	if len(mig) == 0 || mig[len(mig)-1]["state"] != "success" || mig[len(mig)-1]["operation"] != "EXPORT" ||
		mig[len(mig)-1]["slot_ranges"] != "0-99" || mig[len(mig)-1]["target_node"] != idb {
		t.Fatalf("GETSLOTMIGRATIONS on the source: %v", mig)
	}
	mig = migrations(t, b)
	if len(mig) == 0 || mig[len(mig)-1]["operation"] != "IMPORT" || mig[len(mig)-1]["state"] != "success" {
		t.Fatalf("GETSLOTMIGRATIONS on the target: %v", mig)
	}
	// Redis 8.4: the target imports from whoever owns the slots.
	task := do(t, a, "CLUSTER", "MIGRATION", "IMPORT", "0", "49")
	if len(task) != 40 {
		t.Fatalf("MIGRATION IMPORT: %q", task)
	}
	waitFor(t, "a to own slots 0-49 again", func() bool { return ownsSlot(a, 0) && ownsSlot(a, 49) })
	waitFor(t, "the import to succeed", func() bool {
		st := mapsOf(t, a, "CLUSTER", "MIGRATION", "STATUS", "ID", task)
		return len(st) == 1 && st[0]["state"] == "success"
	})
	st := mapsOf(t, a, "CLUSTER", "MIGRATION", "STATUS", "ID", task)
	if st[0]["id"] != task || st[0]["operation"] != "import" || st[0]["slots"] != "0-49" || st[0]["source"] != idb || st[0]["dest"] != ida {
		t.Fatalf("MIGRATION STATUS: %v", st)
	}
	c.waitStable()
	c.check(a)
	verify()

	for _, tc := range []struct {
		node *testutil.Proc
		args []string
		want string
	}{
		{a, []string{"CLUSTER", "MIGRATESLOTS", "SLOTSRANGE", "0", "99", "NODE", idb}, "ERR I'm not the owner of hash slot 50"},
		{a, []string{"CLUSTER", "MIGRATESLOTS", "SLOTSRANGE", "0", "10", "NODE", ida}, "ERR Can not migrate slots to myself"},
		{a, []string{"CLUSTER", "MIGRATESLOTS", "SLOTSRANGE", "0", "10", "NODE", "nope"}, "ERR Unknown node nope"},
		{a, []string{"CLUSTER", "MIGRATESLOTS", "SLOTSRANGE", "10", "0", "NODE", idb}, "ERR start slot number 10 is greater than end slot number 0"},
		{a, []string{"CLUSTER", "MIGRATESLOTS", "SLOTSRANGE", "0", "16384", "NODE", idb}, "ERR Invalid or out of range slot"},
		{a, []string{"CLUSTER", "MIGRATESLOTS", "NODE", idb}, "ERR wrong number of arguments for 'cluster|migrateslots' command"},
		{a, []string{"CLUSTER", "MIGRATESLOTS", "NODE", idb, "x"}, "ERR syntax error"},
		{a, []string{"CLUSTER", "MIGRATION", "IMPORT", "0", "10"}, "ERR I'm already the owner of hash slot 0"},
		{a, []string{"CLUSTER", "MIGRATION", "IMPORT", "10000", "11000"}, "ERR Slots belong to different source nodes"},
		{a, []string{"CLUSTER", "MIGRATION", "STATUS", "BOGUS"}, "ERR syntax error"},
		{a, []string{"CLUSTER", "MIGRATION", "CANCEL", "ALL"}, "0"},
		{a, []string{"CLUSTER", "CANCELSLOTMIGRATIONS"}, "OK"},
	} {
		if got := do(t, tc.node, tc.args...); got != tc.want {
			t.Errorf("%v: %q, want %q", tc.args, got, tc.want)
		}
	}
	if info := runTool(t, testutil.RedisCliPath(t), "-p", strconv.Itoa(a.Port), "COMMAND", "INFO", "CLUSTER").out; !strings.Contains(info, "cluster|migrateslots") || !strings.Contains(info, "cluster|migration") {
		t.Errorf("COMMAND INFO CLUSTER does not list the migration subcommands")
	}
}

// ownsSlot reports whether p serves slot s in its own view.
func ownsSlot(p *testutil.Proc, s int) bool {
	nodes, ok := tryDo(p, "CLUSTER", "NODES")
	if !ok {
		return false
	}
	for _, l := range strings.Split(nodes, "\n") {
		f := strings.Fields(l)
		if len(f) < 9 || !strings.Contains(f[2], "myself") {
			continue
		}
		for _, r := range f[8:] {
			if strings.HasPrefix(r, "[") {
				continue
			}
			lo, hi, _ := strings.Cut(r, "-")
			a, _ := strconv.Atoi(lo)
			z := a
			if hi != "" {
				z, _ = strconv.Atoi(hi)
			}
			if a <= s && s <= z {
				return true
			}
		}
	}
	return false
}

// migrations returns CLUSTER GETSLOTMIGRATIONS as maps.
func migrations(t *testing.T, p *testutil.Proc) []map[string]string {
	t.Helper()
	return mapsOf(t, p, "CLUSTER", "GETSLOTMIGRATIONS")
}

// mapsOf runs a command replying an array of maps (RESP2 flat arrays).
func mapsOf(t *testing.T, p *testutil.Proc, args ...string) []map[string]string {
	t.Helper()
	cc := testutil.MustDial(t, p.Addr())
	defer cc.Close()
	v, err := cc.Do(args...)
	if err != nil || v.IsError() {
		t.Fatalf("%v: %v %s", args, err, v.Text())
	}
	var out []map[string]string
	for _, e := range v.Elems {
		m := map[string]string{}
		for i := 0; i+1 < len(e.Elems); i += 2 {
			m[e.Elems[i].Text()] = e.Elems[i+1].Text()
		}
		out = append(out, m)
	}
	return out
}

// TestAtomicBigKeysUnderWrites moves a slot holding big collections of
// every type while clients change them; the chunks and the forwarded
// writes leave the target with exactly the source's values.
func TestAtomicBigKeysUnderWrites(t *testing.T) {
	t.Parallel()
	c := startCluster(t, 3, 0)
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{c.nodes[0].Addr()}, MaxRedirects: 16, ReadTimeout: 20 * time.Second})
	defer cc.Close()
	ctx := context.Background()
	const n = 60000
	tag := "{big}"
	keys := []string{tag + "h", tag + "s", tag + "z", tag + "l", tag + "str"}
	for off := 0; off < n; off += 5000 {
		_, err := cc.Pipelined(ctx, func(p redis.Pipeliner) error {
			h, s, z, l := []any{}, []any{}, []redis.Z{}, []any{}
			for i := off; i < off+5000; i++ {
				h = append(h, "f"+strconv.Itoa(i), i)
				s = append(s, "m"+strconv.Itoa(i))
				z = append(z, redis.Z{Score: float64(i), Member: "m" + strconv.Itoa(i)})
				l = append(l, "e"+strconv.Itoa(i))
			}
			p.HSet(ctx, keys[0], h...)
			p.SAdd(ctx, keys[1], s...)
			p.ZAdd(ctx, keys[2], z...)
			p.RPush(ctx, keys[3], l...)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	cc.Set(ctx, keys[4], strings.Repeat("x", 3<<20), 0)
	cc.PExpire(ctx, keys[0], time.Hour)
	sl := int(slotOfKey(t, c.nodes[0], keys[0]))
	var src *testutil.Proc
	for _, p := range c.nodes {
		if ownsSlot(p, sl) {
			src = p
		}
	}
	dst := c.nodes[0]
	if dst == src {
		dst = c.nodes[1]
	}
	// Writers: element-wise changes (forwarded to the in-flight copy) and
	// list pushes (which restart the list's copy).
	stop := make(chan struct{})
	done := make(chan struct{})
	iters := 0
	var werr error
	go func() {
		defer close(done)
		for i := 0; i < n; i++ {
			select {
			case <-stop:
				return
			default:
			}
			f := strconv.Itoa(i)
			_, err := cc.Pipelined(ctx, func(p redis.Pipeliner) error {
				p.HIncrBy(ctx, keys[0], "f"+f, 1)
				p.SRem(ctx, keys[1], "m"+f)
				p.ZIncrBy(ctx, keys[2], 0.5, "m"+f)
				if i%50 == 0 {
					p.RPush(ctx, keys[3], "new"+f)
					p.Append(ctx, keys[4], "y")
				}
				return nil
			})
			if err != nil {
				werr = err
				return
			}
			iters = i + 1
		}
	}()
	time.Sleep(100 * time.Millisecond) // let writes start before the move
	if got := do(t, src, "CLUSTER", "MIGRATESLOTS", "SLOTSRANGE", strconv.Itoa(sl), strconv.Itoa(sl), "NODE", id(t, dst)); got != "OK" {
		t.Fatalf("MIGRATESLOTS: %s", got)
	}
	waitFor(t, "the slot to move", func() bool { return ownsSlot(dst, sl) })
	time.Sleep(100 * time.Millisecond) // writes after the move too
	close(stop)
	<-done
	if werr != nil {
		t.Fatalf("writer: %v", werr)
	}
	c.waitStable()
	// The source's copy is gone; the target's must reflect every write.
	if v, _ := tryDo(src, "CLUSTER", "COUNTKEYSINSLOT", strconv.Itoa(sl)); v != "0" {
		t.Errorf("source still holds %s keys of the moved slot", v)
	}
	mig := migrations(t, dst)
	t.Logf("import: %v", mig[len(mig)-1])
	// Every value must equal what a single node would hold after the same
	// operations: check contents directly.
	checkBig(t, cc, keys, n, iters)
}

// checkBig verifies the big keys against the writes made to them.
func checkBig(t *testing.T, cc *redis.ClusterClient, keys []string, n, iters int) {
	t.Helper()
	ctx := context.Background()
	h, err := cc.HGetAll(ctx, keys[0]).Result()
	if err != nil || len(h) != n {
		t.Fatalf("hash: %d fields, %v", len(h), err)
	}
	for j := 0; j < n; j++ {
		want := j
		if j < iters {
			want++
		}
		if h["f"+strconv.Itoa(j)] != strconv.Itoa(want) {
			t.Fatalf("hash f%d = %q, want %d (iters %d)", j, h["f"+strconv.Itoa(j)], want, iters)
		}
	}
	if ttl, _ := cc.PTTL(ctx, keys[0]).Result(); ttl <= 0 {
		t.Errorf("hash lost its TTL: %v", ttl)
	}
	if sz, _ := cc.SCard(ctx, keys[1]).Result(); sz != int64(n-iters) {
		t.Errorf("set has %d members, want %d", sz, n-iters)
	}
	if ok, _ := cc.SIsMember(ctx, keys[1], "m"+strconv.Itoa(n-1)).Result(); !ok && iters < n {
		t.Errorf("set lost a member")
	}
	zs, err := cc.ZRangeWithScores(ctx, keys[2], 0, -1).Result()
	if err != nil || len(zs) != n {
		t.Fatalf("zset: %d members, %v", len(zs), err)
	}
	for _, z := range zs {
		j, _ := strconv.Atoi(strings.TrimPrefix(z.Member.(string), "m"))
		want := float64(j)
		if j < iters {
			want += 0.5
		}
		if z.Score != want {
			t.Fatalf("zset %v score %v, want %v", z.Member, z.Score, want)
		}
	}
	l, err := cc.LRange(ctx, keys[3], 0, -1).Result()
	var want []string
	for j := 0; j < n; j++ {
		want = append(want, "e"+strconv.Itoa(j))
	}
	for i := 0; i < iters; i += 50 {
		want = append(want, "new"+strconv.Itoa(i))
	}
	if err != nil || strings.Join(l, ",") != strings.Join(want, ",") {
		t.Errorf("list: %d elements, want %d (%v)", len(l), len(want), err)
	}
	str, _ := cc.Get(ctx, keys[4]).Result()
	if wantLen := 3<<20 + (iters+49)/50; len(str) != wantLen || strings.Trim(str[3<<20:], "y") != "" {
		t.Errorf("string: %d bytes, want %d", len(str), wantLen)
	}
	_ = fmt.Sprint
}

func slotOfKey(t *testing.T, p *testutil.Proc, key string) int64 {
	v, ok := tryDo(p, "CLUSTER", "KEYSLOT", key)
	if !ok {
		t.Fatal("KEYSLOT")
	}
	n, _ := strconv.ParseInt(v, 10, 64)
	return n
}
