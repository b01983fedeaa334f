package admin

import (
	"bytes"
	"strings"
	"testing"

	"github.com/reefkv/reef/internal/slot"
)

func nodeWith(id string, ranges ...[2]int) *Node {
	n := &Node{ID: id, IP: "127.0.0.1", Migrating: map[int]string{}, Importing: map[int]string{}}
	for _, r := range ranges {
		for s := r[0]; s <= r[1]; s++ {
			n.Slots[s] = true
			n.SlotsCount++
		}
	}
	return n
}

// TestReshardTable pins redis-cli's rounding: the biggest source gives its
// share rounded up, the others rounded down, each from its lowest slots.
func TestReshardTable(t *testing.T) {
	a := nodeWith("a", [2]int{0, 5460})
	b := nodeWith("b", [2]int{5461, 10922})
	c := nodeWith("c", [2]int{10923, 16383})
	tbl := reshardTable([]*Node{a, b, c}, 600)
	count := map[string]int{}
	for _, m := range tbl {
		count[m.Src.ID]++
	}
	if len(tbl) != 599 || count["b"] != 201 || count["a"] != 199 || count["c"] != 199 {
		t.Fatalf("table of %d moves: %v", len(tbl), count)
	}
	if tbl[0].Slot != 5461 || tbl[201].Slot != 0 {
		t.Fatalf("slots not taken from the lowest: %d %d", tbl[0].Slot, tbl[201].Slot)
	}
}

func TestParseNodesLineAndSlots(t *testing.T) {
	p, ok := parseNodesLine("26d3e28eef24e6aba30f52f1eded26bbc80b7c47 127.0.0.1:30001@30101,host myself,master - 0 1795722422000 1 connected 0-5460 7000 [3443->-a57dd045040f378a7485438db6f8a847266d9563] [9000-<-b3bb9c8597c6fd0c4dd2821c531f212c636a6806]")
	if !ok || !p.myself || p.ip != "127.0.0.1" || p.port != 30001 || p.hostname != "host" || p.epoch != 1 || strings.Join(p.flags, ",") != "master" {
		t.Fatalf("parsed %+v", p)
	}
	n := &Node{Migrating: map[int]string{}, Importing: map[int]string{}}
	n.applySlots(p.slots)
	if n.SlotsCount != 5462 || !n.Slots[7000] || n.Migrating[3443] != "a57dd045040f378a7485438db6f8a847266d9563" || n.Importing[9000] == "" {
		t.Fatalf("slots %d mig %v imp %v", n.SlotsCount, n.Migrating, n.Importing)
	}
	if s := n.slotsString(); s != "[0-5460],[7000]" {
		t.Fatalf("slotsString %q", s)
	}
	if s := nodeWith("x", [2]int{16383, 16383}).slotsString(); s != "[16383]" {
		t.Fatalf("last slot %q", s)
	}
}

// TestAllocate checks create's plan: contiguous ranges as redis-cli prints
// them, and replicas on other hosts when hosts allow it.
func TestAllocate(t *testing.T) {
	var out bytes.Buffer
	m := New(DefaultOptions(), &out, &out, nil, false)
	var nodes []*Node
	for i, ip := range []string{"10.0.0.1", "10.0.0.1", "10.0.0.2", "10.0.0.2", "10.0.0.3", "10.0.0.3"} {
		n := m.newNode(ip, 7000+i)
		n.ID = strings.Repeat(string(rune('a'+i)), 40)
		nodes = append(nodes, n)
	}
	m.Nodes = nodes
	masters, _ := m.allocate(nodes, 3, 1)
	want := "Master[0] -> Slots 0 - 5460\nMaster[1] -> Slots 5461 - 10922\nMaster[2] -> Slots 10923 - 16383\n"
	if !strings.HasPrefix(out.String(), want) {
		t.Fatalf("plan:\n%s", out.String())
	}
	// The first assignment is already perfect, so like redis-cli the
	// optimiser says nothing.
	if strings.Contains(out.String(), "anti-affinity") {
		t.Fatalf("optimiser ran although the plan was perfect:\n%s", out.String())
	}
	// Interleaving by host makes the masters one per host.
	seen := map[string]bool{}
	for _, mm := range masters {
		seen[mm.IP] = true
	}
	if len(seen) != 3 {
		t.Fatalf("masters on hosts %v", seen)
	}
	for _, n := range nodes {
		if n.ReplicateOf == "" {
			continue
		}
		for _, mm := range masters {
			if mm.ID == n.ReplicateOf && mm.IP == n.IP {
				t.Errorf("replica %s on the host of its master", n.Name())
			}
		}
	}
	total := 0
	for _, mm := range masters {
		total += mm.SlotsCount
	}
	if total != slot.Count {
		t.Fatalf("allocated %d slots", total)
	}
}

func TestRanges(t *testing.T) {
	got := ranges([]int{1, 2, 3, 7, 9, 10})
	if len(got) != 3 || got[0] != [2]int{1, 3} || got[1] != [2]int{7, 7} || got[2] != [2]int{9, 10} {
		t.Fatalf("ranges %v", got)
	}
}
