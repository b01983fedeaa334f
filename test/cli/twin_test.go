package cli

import (
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/reefkv/reef/internal/client"
	"github.com/reefkv/reef/internal/testutil"
)

// twin is one of two identical clusters: redis-cli operates on one, reef-cli
// on the other, and the results must match.
type twin struct {
	name string
	bin  string
	ps   []*testutil.Proc
}

// ids returns the node IDs by position.
func (tw *twin) ids(t *testing.T) []string {
	t.Helper()
	out := make([]string, len(tw.ps))
	for i, p := range tw.ps {
		c, err := client.Dial(p.Addr(), client.Options{})
		if err != nil {
			t.Fatal(err)
		}
		v, err := c.Do("CLUSTER", "MYID")
		c.Close()
		if err != nil {
			t.Fatal(err)
		}
		if v.IsError() {
			t.Fatalf("CLUSTER MYID on %s: %s", p.Addr(), v.Text())
		}
		out[i] = v.Text()
	}
	return out
}

// run runs the twin's tool; args may contain "{id<i>}" and "{addr<i>}".
func (tw *twin) run(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	ids := tw.ids(t)
	var real []string
	for _, a := range args {
		for i := range tw.ps {
			a = strings.ReplaceAll(a, "{id"+string(rune('0'+i))+"}", ids[i])
			a = strings.ReplaceAll(a, "{addr"+string(rune('0'+i))+"}", tw.ps[i].Addr())
		}
		real = append(real, a)
	}
	return runCLI(t, tw.bin, stdin, real...)
}

// both runs the same operation on the two twins concurrently and returns
// (redis-cli result, reef-cli result).
func both(t *testing.T, a, b *twin, stdin string, args ...string) (result, result) {
	t.Helper()
	var ra, rb result
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); ra = a.run(t, stdin, args...) }()
	go func() { defer wg.Done(); rb = b.run(t, stdin, args...) }()
	wg.Wait()
	return ra, rb
}

// sameOutput compares normalised outputs and exit codes. Lines are compared
// in order unless sorted is set (when redis-cli's order comes from a hash
// table, as for the node list of a check).
func sameOutput(t *testing.T, what string, a, b *twin, ra, rb result, sorted bool) {
	t.Helper()
	if ra.code != rb.code {
		t.Errorf("%s: exit code redis-cli %d, reef-cli %d\nredis-cli:\n%s%s\nreef-cli:\n%s%s", what, ra.code, rb.code, ra.out, ra.err, rb.out, rb.err)
	}
	na, nb := canonical(normalize(ra.out, a.ps)), canonical(normalize(rb.out, b.ps))
	if sorted {
		la, lb := strings.Split(na, "\n"), strings.Split(nb, "\n")
		sort.Strings(la)
		sort.Strings(lb)
		na, nb = strings.Join(la, "\n"), strings.Join(lb, "\n")
	}
	if na != nb {
		t.Errorf("%s: output differs:\n%s\nredis-cli:\n%s\nreef-cli:\n%s", what, diffText(na, nb), ra.out, rb.out)
	}
	ea, eb := normalize(ra.err, a.ps), normalize(rb.err, b.ps)
	ea = strings.ReplaceAll(ea, "redis-cli", "CLI")
	eb = strings.ReplaceAll(eb, "reef-cli", "CLI")
	if ea != eb {
		t.Errorf("%s: stderr differs:\nredis-cli: %q\nreef-cli:  %q", what, ra.err, rb.err)
	}
}

// sameSlots asserts the two twins have the same slot map by node position.
func sameSlots(t *testing.T, what string, a, b *twin) {
	t.Helper()
	ma, mb := slotMap(t, a.ps), slotMap(t, b.ps)
	for i := range ma {
		if ma[i] != mb[i] {
			t.Errorf("%s: node %d owns %q after redis-cli but %q after reef-cli", what, i, ma[i], mb[i])
		}
	}
}

// TestTwinClusters runs the same sequence of cluster operations with
// redis-cli on one cluster and reef-cli on an identical one: add-node,
// rebalance (simulate, empty masters, weights, threshold), reshard,
// add-node as replica and del-node. After every step the printed output,
// the exit code and the slot map must match, `redis-cli --cluster check`
// must pass, and every key written at the start must read back.
func TestTwinClusters(t *testing.T) {
	t.Parallel()
	a := &twin{name: "redis-cli", bin: redisCLI(t), ps: startNodes(t, 5)}
	b := &twin{name: "reef-cli", bin: reefCLI(t), ps: startNodes(t, 5)}
	// Both clusters are created by redis-cli on the first three nodes, so
	// they start identical; create itself is compared in TestCreate.
	for _, tw := range []*twin{a, b} {
		create(t, redisCLI(t), tw.ps[:3], 0)
		writeKeys(t, tw.ps[0].Addr(), 600, "k")
	}
	step := func(what string, sorted bool, args ...string) {
		t.Helper()
		ra, rb := both(t, a, b, "", args...)
		sameOutput(t, what, a, b, ra, rb, sorted)
		if ra.code == 0 {
			waitOK(t, a.ps[:4])
			waitOK(t, b.ps[:4])
			mustCheck(t, a.ps[0].Addr())
			mustCheck(t, b.ps[0].Addr())
		}
		sameSlots(t, what, a, b)
	}
	// add-node prints the check of the seed (node order from a hash
	// table), so lines are compared as sets.
	step("add-node", true, "--cluster", "add-node", "{addr3}", "{addr0}")
	step("rebalance --cluster-simulate", false, "--cluster", "rebalance", "{addr0}", "--cluster-use-empty-masters", "--cluster-simulate")
	step("rebalance --cluster-use-empty-masters", false, "--cluster", "rebalance", "{addr0}", "--cluster-use-empty-masters")
	step("rebalance within threshold", false, "--cluster", "rebalance", "{addr0}", "--cluster-threshold", "5")
	step("reshard", false, "--cluster", "reshard", "{addr0}", "--cluster-from", "{id0},{id1}", "--cluster-to", "{id3}", "--cluster-slots", "300", "--cluster-yes")
	step("rebalance with weights", false, "--cluster", "rebalance", "{addr1}", "--cluster-weight", "{id0}=2", "{id2}=0.5")
	// Sources with equal slot counts keep their given order (glibc's qsort
	// is a stable merge sort); with "all" that order is CLUSTER NODES's,
	// which differs between the twins, so the sources are listed here.
	step("reshard from several sources", false, "--cluster", "reshard", "{addr0}", "--cluster-from", "{id3},{id1},{id0}", "--cluster-to", "{id2}", "--cluster-slots", "100", "--cluster-yes")
	step("reshard target as source", false, "--cluster", "reshard", "{addr0}", "--cluster-from", "{id2}", "--cluster-to", "{id2}", "--cluster-slots", "10", "--cluster-yes")
	step("reshard unknown node", false, "--cluster", "reshard", "{addr0}", "--cluster-from", "all", "--cluster-to", "nosuchnode", "--cluster-slots", "10", "--cluster-yes")
	step("rebalance unknown weight", false, "--cluster", "rebalance", "{addr0}", "--cluster-weight", "zz=2")
	step("add-node replica", true, "--cluster", "add-node", "{addr4}", "{addr0}", "--cluster-slave", "--cluster-master-id", "{id3}")
	waitOK(t, a.ps)
	waitOK(t, b.ps)
	step("del-node non-empty", false, "--cluster", "del-node", "{addr0}", "{id3}")
	step("del-node replica", false, "--cluster", "del-node", "{addr0}", "{id4}")
	step("del-node unknown", false, "--cluster", "del-node", "{addr0}", "0123")
	for _, tw := range []*twin{a, b} {
		checkKeys(t, tw.ps[0].Addr(), 600, "k")
	}
}

// TestCreate compares `--cluster create --cluster-replicas 1` of six nodes:
// the same plan, the same master slot ranges and one replica per master.
// (Which replica serves which master is random in redis-cli too when all
// nodes share one IP.)
func TestCreate(t *testing.T) {
	t.Parallel()
	a := &twin{name: "redis-cli", bin: redisCLI(t), ps: startNodes(t, 6)}
	b := &twin{name: "reef-cli", bin: reefCLI(t), ps: startNodes(t, 6)}
	args := []string{"--cluster", "create", "{addr0}", "{addr1}", "{addr2}", "{addr3}", "{addr4}", "{addr5}", "--cluster-replicas", "1", "--cluster-yes"}
	ra, rb := both(t, a, b, "", args...)
	// The plan printed before the prompt is deterministic except for
	// "replicates <id>", which the normalisation hides.
	cut := func(s string) (string, string) {
		i := strings.Index(s, ">>> Performing Cluster Check")
		if i < 0 {
			return s, ""
		}
		return s[:i], s[i:]
	}
	pa, ca := cut(normalize(ra.out, a.ps))
	pb, cb := cut(normalize(rb.out, b.ps))
	if pa != pb {
		t.Errorf("create plan differs:\n%s", diffText(pa, pb))
	}
	sa, sb := strings.Split(ca, "\n"), strings.Split(cb, "\n")
	sort.Strings(sa)
	sort.Strings(sb)
	if strings.Join(sa, "\n") != strings.Join(sb, "\n") {
		t.Errorf("create check part differs:\n%s", diffText(strings.Join(sa, "\n"), strings.Join(sb, "\n")))
	}
	if ra.code != 0 || rb.code != 0 {
		t.Fatalf("exit codes %d %d\n%s\n%s", ra.code, rb.code, ra.out, rb.out+rb.err)
	}
	waitOK(t, a.ps)
	waitOK(t, b.ps)
	sameSlots(t, "create", a, b)
	mustCheck(t, b.ps[0].Addr())
	// Every master has exactly one replica (once gossip has spread the
	// roles to the seed's view).
	ids := b.ids(t)
	testutil.WaitFor(t, 20*time.Second, "one replica per master in the seed's view", func() bool {
		c, err := client.Dial(b.ps[0].Addr(), client.Options{})
		if err != nil {
			return false
		}
		defer c.Close()
		v, _ := c.Do("CLUSTER", "NODES")
		replicas := map[string]int{}
		for _, l := range strings.Split(v.Text(), "\n") {
			f := strings.Fields(l)
			if len(f) > 3 && f[3] != "-" {
				replicas[f[3]]++
			}
		}
		for _, id := range ids[:3] {
			if replicas[id] != 1 {
				return false
			}
		}
		return true
	})

	// ROLE on the replicas prints their link state: wait until every link
	// is up, so that both tools see the same one.
	testutil.WaitFor(t, 20*time.Second, "every replica linked to its master", func() bool {
		for _, p := range b.ps {
			c, err := client.Dial(p.Addr(), client.Options{})
			if err != nil {
				return false
			}
			v, err := c.Do("ROLE")
			c.Close()
			if err != nil || v.IsError() {
				return false
			}
			if len(v.Elems) == 5 && v.Elems[0].Text() == "slave" && v.Elems[3].Text() != "connected" {
				return false
			}
		}
		return true
	})

	// Read-only subcommands on the same cluster print the same thing.
	for _, args := range [][]string{
		{"--cluster", "check", b.ps[0].Addr()},
		{"--cluster", "check", b.ps[1].Addr(), "--cluster-search-multiple-owners"},
		{"--cluster", "info", "127.0.0.1", itoa(b.ps[2].Port)},
		{"--cluster", "call", b.ps[0].Addr(), "CONFIG", "GET", "cluster-node-timeout"},
		{"--cluster", "call", b.ps[0].Addr(), "DBSIZE", "--cluster-only-masters"},
		{"--cluster", "call", b.ps[0].Addr(), "ROLE", "--cluster-only-replicas"},
		{"--cluster", "set-timeout", b.ps[0].Addr(), "50"},
		{"--cluster", "set-timeout", b.ps[0].Addr(), "1600"},
		{"--cluster", "check", "127.0.0.1:1"},
		{"--cluster", "check", "nohostport"},
		{"--cluster", "nosuchcommand", b.ps[0].Addr()},
		{"--cluster", "del-node", b.ps[0].Addr()},
		{"--cluster", "add-node", b.ps[0].Addr(), b.ps[1].Addr()},
		{"--cluster", "create", b.ps[0].Addr(), b.ps[1].Addr(), b.ps[2].Addr()},
		{"--cluster", "rebalance", b.ps[0].Addr()},
		{"--cluster", "help"},
	} {
		ra := runCLI(t, redisCLI(t), "", args...)
		rb := runCLI(t, reefCLI(t), "", args...)
		outB := rb.out
		if args[1] == "help" {
			// reef-cli appends its own extensions after redis-cli's text.
			outB = outB[:min(len(outB), len(ra.out))]
		}
		// Node order in check output follows CLUSTER NODES, which is the
		// same for both tools on one cluster.
		if ra.out != outB || ra.code != rb.code || strings.ReplaceAll(ra.err, "redis-cli", "X") != strings.ReplaceAll(rb.err, "reef-cli", "X") {
			t.Errorf("%v differs (exit %d vs %d):\n%s\nredis-cli stderr %q\nreef-cli stderr %q", args, ra.code, rb.code, diffText(ra.out, outB), ra.err, rb.err)
		}
	}
}

// canonical sorts each run of node blocks ("M: ..."/"S: ..." and their
// three-space-indented lines) of a check printout: redis-cli lists nodes in
// CLUSTER NODES order, which is hash-table order and differs between twins.
func canonical(s string) string {
	lines := strings.Split(s, "\n")
	var out, blocks []string
	cur := ""
	flush := func() {
		if cur != "" {
			blocks = append(blocks, cur)
			cur = ""
		}
		sort.Strings(blocks)
		out = append(out, blocks...)
		blocks = nil
	}
	for _, l := range lines {
		switch {
		case strings.HasPrefix(l, "M: ") || strings.HasPrefix(l, "S: "):
			if cur != "" {
				blocks = append(blocks, cur)
			}
			cur = l
		case cur != "" && strings.HasPrefix(l, "   ") && !strings.HasPrefix(l, "    "):
			cur += "\n" + l
		default:
			flush()
			out = append(out, l)
		}
	}
	flush()
	return strings.Join(out, "\n")
}
