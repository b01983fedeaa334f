package cli

import (
	"strconv"
	"strings"
	"testing"

	"github.com/reefkv/reef/internal/client"
	"github.com/reefkv/reef/internal/slot"
)

// TestRebalanceByKeysAndInteractiveReshard loads one master with most of
// the keys, rebalances by key count (a Reef extension), and then runs a
// reshard that asks its questions on stdin.
func TestRebalanceByKeysAndInteractiveReshard(t *testing.T) {
	t.Parallel()
	ps := startNodes(t, 3)
	create(t, redisCLI(t), ps, 0)
	seed := ps[0].Addr()
	// 3000 keys in node 0's slots, 300 elsewhere.
	cl, err := client.NewCluster([]string{seed}, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	n0, other := 0, 0
	var all []string
	for i := 0; n0 < 3000 || other < 300; i++ {
		k := "k:" + strconv.Itoa(i)
		if cl.SlotOwner(slot.OfString(k)) == seed {
			if n0 >= 3000 {
				continue
			}
			n0++
		} else {
			if other >= 300 {
				continue
			}
			other++
		}
		if v, err := cl.Do("SET", k, "v:"+k); err != nil || v.IsError() {
			t.Fatal(err, v.Text())
		}
		all = append(all, k)
	}
	cl.Close()
	r := runCLI(t, reefCLI(t), "", "--cluster", "rebalance", seed, "--cluster-by", "keys", "--cluster-threshold", "10")
	if r.code != 0 || !strings.Contains(r.out, ">>> Rebalancing keys across 3 nodes.") {
		t.Fatalf("rebalance by keys (%d):\n%s%s", r.code, r.out, r.err)
	}
	waitOK(t, ps)
	mustCheck(t, seed)
	total := 0
	for _, p := range ps {
		n, _ := strconv.Atoi(do(t, p, "DBSIZE"))
		total += n
		if n < 1000 || n > 1200 {
			t.Errorf("%s holds %d keys, want about 1100", p.Addr(), n)
		}
	}
	if total != 3300 {
		t.Errorf("%d keys in the cluster, want 3300", total)
	}
	// Already balanced: nothing to do.
	r = runCLI(t, reefCLI(t), "", "--cluster", "rebalance", seed, "--cluster-by", "keys", "--cluster-threshold", "10")
	if r.code != 0 || !strings.Contains(r.out, "*** No rebalancing needed! All nodes are within the 10.00% threshold.") {
		t.Fatalf("second rebalance by keys (%d):\n%s", r.code, r.out)
	}

	// By memory: each node's bytes per key come from INFO (dataset size
	// over DBSIZE), which includes per-node overheads, so some slots may
	// move; the cluster must stay clean either way.
	r = runCLI(t, reefCLI(t), "", "--cluster", "rebalance", seed, "--cluster-by", "memory", "--cluster-threshold", "15")
	if r.code != 0 || !(strings.Contains(r.out, "No rebalancing needed") || strings.Contains(r.out, ">>> Rebalancing memory across 3 nodes.")) {
		t.Fatalf("rebalance by memory (%d):\n%s%s", r.code, r.out, r.err)
	}
	waitOK(t, ps)
	mustCheck(t, seed)

	// redis-trib.rb spellings print exactly what the redis-cli ones do.
	id0 := myID(t, ps[0])
	a := runCLI(t, reefCLI(t), "", "--cluster", "rebalance", seed, "--cluster-weight", id0[:8]+"=3", "--cluster-simulate", "--cluster-threshold", "1", "--cluster-use-empty-masters", "--cluster-timeout", "5000", "--cluster-pipeline", "20")
	b := runCLI(t, reefCLI(t), "", "--cluster", "rebalance", seed, "--weight", id0[:8]+"=3", "--simulate", "--threshold", "1", "--use-empty-masters", "--timeout", "5000", "--pipeline", "20")
	if a != b || a.code != 0 || !strings.Contains(a.out, "Moving ") {
		t.Fatalf("trib spellings differ:\n%s\n%s", a.out, b.out)
	}

	// Interactive reshard: number of slots, receiving node, sources, yes.
	id2 := myID(t, ps[2])
	stdin := "abc\n50\n" + id2 + "\n" + myID(t, ps[0]) + "\ndone\nyes\n"
	before := slotCounts(slotMap(t, ps))[2]
	r = runCLI(t, reefCLI(t), stdin, "--cluster", "reshard", seed)
	for _, want := range []string{"How many slots do you want to move (from 1 to 16384)? ", "What is the receiving node ID? ",
		"Source node #1: ", "Source node #2: ", "Do you want to proceed with the proposed reshard plan (yes/no)? "} {
		if !strings.Contains(r.out, want) {
			t.Errorf("interactive reshard lacks %q", want)
		}
	}
	if r.code != 0 {
		t.Fatalf("interactive reshard (%d):\n%s%s", r.code, r.out, r.err)
	}
	waitOK(t, ps)
	mustCheck(t, seed)
	if after := slotCounts(slotMap(t, ps))[2]; after != before+50 {
		t.Errorf("node 2 went from %d to %d slots, want +50", before, after)
	}
	// And the same with redis-trib.rb's reshard options.
	r = runCLI(t, reefCLI(t), "", "--cluster", "reshard", seed, "--from", myID(t, ps[1]), "--to", id2, "--slots", "20", "--yes", "--replace")
	if r.code != 0 || !strings.Contains(r.out, "Ready to move 20 slots.") {
		t.Fatalf("trib reshard (%d):\n%s%s", r.code, r.out, r.err)
	}
	waitOK(t, ps)
	mustCheck(t, seed)
	cl, err = client.NewCluster([]string{seed}, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	for _, k := range all {
		if v, err := cl.Do("GET", k); err != nil || v.Text() != "v:"+k {
			t.Fatalf("key %s lost: %v %q", k, err, v.Text())
		}
	}
}

// TestRebalanceEmptiesMaster gives a master weight 0: all its slots move
// away in parallel jobs, it turns into a replica on the way
// (cluster-allow-replica-migration), and the other jobs must not trip on
// it.
func TestRebalanceEmptiesMaster(t *testing.T) {
	t.Parallel()
	ps := startNodes(t, 4)
	create(t, redisCLI(t), ps, 0)
	writeKeys(t, ps[0].Addr(), 1000, "k")
	r := runCLI(t, reefCLI(t), "", "--cluster", "rebalance", ps[0].Addr(), "--cluster-weight", myID(t, ps[3])+"=0")
	if r.code != 0 {
		t.Fatalf("rebalance with weight 0 (%d):\n%s%s", r.code, r.out, r.err)
	}
	waitOK(t, ps)
	mustCheck(t, ps[0].Addr())
	if n := slotCounts(slotMap(t, ps))[3]; n != 0 {
		t.Errorf("emptied master still owns %d slots", n)
	}
	if !strings.Contains(do(t, ps[3], "INFO", "replication"), "role:slave") {
		t.Errorf("emptied master did not become a replica")
	}
	checkKeys(t, ps[0].Addr(), 1000, "k")
}
