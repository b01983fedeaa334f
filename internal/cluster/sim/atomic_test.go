package sim

import (
	"strconv"
	"strings"
	"testing"

	"github.com/reefkv/reef/internal/cluster/state"
)

// threeMasters builds n0..n2 owning a third of the slots each, converged.
func threeMasters(t *testing.T, seed uint64, extra int) *Sim {
	t.Helper()
	cfg := state.DefaultConfig()
	cfg.NodeTimeout = 2000
	s := New(seed, 3+extra, cfg)
	ranges := [][2]int{{0, 5460}, {5461, 10922}, {10923, 16383}}
	for i, r := range ranges {
		if got := s.Command(s.Nodes[i], "ADDSLOTSRANGE", strconv.Itoa(r[0]), strconv.Itoa(r[1])); got != "OK" {
			t.Fatalf("addslots: %s", got)
		}
		s.Command(s.Nodes[i], "SET-CONFIG-EPOCH", strconv.Itoa(i+1))
	}
	for _, nd := range s.Nodes[1:] {
		s.Command(nd, "MEET", "127.0.0.1", "7000")
	}
	if !s.RunUntil(s.Now+10000, s.Converged) {
		t.Fatal("did not converge")
	}
	return s
}

func owners(s *Sim, j int) []state.NodeID {
	var out []state.NodeID
	for _, nd := range s.Nodes {
		if nd.Down {
			continue
		}
		id, _ := nd.M.SlotOwner(j)
		out = append(out, id)
	}
	return out
}

func allOwn(s *Sim, slots []int, want state.NodeID) bool {
	for _, j := range slots {
		for _, id := range owners(s, j) {
			if id != want {
				return false
			}
		}
	}
	return true
}

// TestTakeGiveSlots: the target takes slots with a bumped epoch (fsynced
// before it answers), the source gives them and deletes their keys, and
// the whole cluster agrees at once from the target's PONG.
func TestTakeGiveSlots(t *testing.T) {
	s := threeMasters(t, 21, 0)
	// src (epoch 3) moves slots to dst (epoch 1): dst needs a new epoch.
	src, dst := s.Nodes[2], s.Nodes[0]
	slots := []int{10923, 10924, 11000, 16383}
	fs := dst.Fsyncs
	epochBefore := src.M.CurrentEpoch()
	r := dst.M.TakeSlots(s.Now, src.M.MyID(), slots)
	s.apply(dst)
	if !strings.HasPrefix(FormatReply(r), "OK ") {
		t.Fatalf("TakeSlots: %s", FormatReply(r))
	}
	if dst.Fsyncs == fs {
		t.Fatal("TakeSlots did not fsync nodes.conf")
	}
	if dst.M.CurrentEpoch() <= epochBefore {
		t.Fatalf("epoch not bumped: %d", dst.M.CurrentEpoch())
	}
	if id, _ := dst.M.SlotOwner(11000); id != dst.M.MyID() {
		t.Fatal("target does not own the slot")
	}
	// The source gives them before gossip arrives: keys deleted once.
	r = src.M.GiveSlots(s.Now, dst.M.MyID(), slots, 0)
	s.apply(src)
	if FormatReply(r) != "OK" {
		t.Fatalf("GiveSlots: %s", FormatReply(r))
	}
	deleted := 0
	for _, e := range src.Events {
		if d, ok := e.(state.DeleteKeysInSlots); ok {
			deleted += len(d.Slots)
		}
	}
	if deleted != len(slots) {
		t.Fatalf("source deleted keys of %d slots, want %d", deleted, len(slots))
	}
	if !s.RunUntil(s.Now+1000, func() bool { return allOwn(s, slots, dst.M.MyID()) }) {
		t.Fatalf("cluster did not learn the new owner: %v", owners(s, 11000))
	}
	if !s.RunUntil(s.Now+5000, s.Converged) {
		t.Fatal("not converged after the handoff")
	}
	// Errors: a slot of a third node, an unknown node.
	if r := dst.M.TakeSlots(s.Now, src.M.MyID(), []int{6000}); !strings.Contains(FormatReply(r), "is served by") {
		t.Fatalf("TakeSlots of n1's slot: %s", FormatReply(r))
	}
	var bogus state.NodeID
	if r := dst.M.TakeSlots(s.Now, bogus, []int{6000}); !strings.Contains(FormatReply(r), "I don't know about node") {
		t.Fatalf("TakeSlots from unknown: %s", FormatReply(r))
	}
}

// TestTakeSlotsGossipOnly: when the source never hears from the target
// directly (it died right after the handoff), the target's PONG alone moves
// the slots and makes the source delete their keys.
func TestTakeSlotsGossipOnly(t *testing.T) {
	s := threeMasters(t, 22, 0)
	n0, n2 := s.Nodes[0], s.Nodes[2]
	slots := []int{7, 8}
	n2.M.TakeSlots(s.Now, n0.M.MyID(), slots)
	s.apply(n2)
	if !s.RunUntil(s.Now+2000, func() bool { return allOwn(s, slots, n2.M.MyID()) }) {
		t.Fatalf("slots did not move by gossip: %v", owners(s, 7))
	}
	found := false
	for _, e := range n0.Events {
		if d, ok := e.(state.DeleteKeysInSlots); ok && len(d.Slots) == 2 {
			found = true
		}
	}
	if !found {
		t.Fatal("source did not delete the keys of the slots it lost")
	}
}

// TestGiveLastSlots: a source that gives away its last slots becomes a
// replica of the target, as SETSLOT NODE makes it.
func TestGiveLastSlots(t *testing.T) {
	s := threeMasters(t, 23, 0)
	n0, n1 := s.Nodes[0], s.Nodes[1]
	var slots []int
	for j := 0; j <= 5460; j++ {
		slots = append(slots, j)
	}
	n1.M.TakeSlots(s.Now, n0.M.MyID(), slots)
	s.apply(n1)
	n0.M.GiveSlots(s.Now, n1.M.MyID(), slots, 0)
	s.apply(n0)
	if !s.RunUntil(s.Now+3000, func() bool {
		v, ok := n0.M.SlotOwner(0)
		return ok && v == n1.M.MyID() && s.Converged()
	}) {
		t.Fatal("no convergence")
	}
	became := false
	for _, e := range n0.Events {
		if b, ok := e.(state.BecomeReplica); ok && b.Master == n1.M.MyID() {
			became = true
		}
	}
	if !became {
		t.Fatal("emptied source did not become a replica of the target")
	}
}

// TestOpenSlotsSurviveFailover: a replica learns its master's open slot
// from the propagated SETSLOT (hidden while it is a replica); when it takes
// over, it shows the slot migrating, and the importing node follows it as
// the new source, so redis-cli --cluster fix can finish the move.
func TestOpenSlotsSurviveFailover(t *testing.T) {
	s := threeMasters(t, 24, 1)
	n0, n1, r := s.Nodes[0], s.Nodes[1], s.Nodes[3]
	if got := s.Command(r, "REPLICATE", n0.M.MyID().String()); got != "OK" {
		t.Fatalf("REPLICATE: %s", got)
	}
	if !s.RunUntil(s.Now+5000, s.Converged) {
		t.Fatal("no convergence")
	}
	mig := []string{"SETSLOT", "100", "MIGRATING", n1.M.MyID().String()}
	if got := s.Command(n1, "SETSLOT", "100", "IMPORTING", n0.M.MyID().String()); got != "OK" {
		t.Fatalf("IMPORTING: %s", got)
	}
	if got := s.Command(n0, mig...); got != "OK" {
		t.Fatalf("MIGRATING: %s", got)
	}
	// Without FromMaster a replica refuses, with it the replica records.
	if got := s.Command(r, mig...); !strings.Contains(got, "only with masters") {
		t.Fatalf("replica SETSLOT: %s", got)
	}
	rep := r.M.Handle(s.Now, state.Command{Args: mig, FromMaster: true})
	s.apply(r)
	if FormatReply(rep) != "OK" {
		t.Fatalf("replicated SETSLOT: %s", FormatReply(rep))
	}
	if strings.Contains(r.M.Nodes(), "[100->-") {
		t.Fatal("a replica shows its master's open slot")
	}
	s.Kill(n0)
	if !s.RunUntil(s.Now+20000, func() bool {
		id, _ := n1.M.SlotOwner(100)
		return id == r.M.MyID()
	}) {
		t.Fatal("the replica did not take over")
	}
	if !strings.Contains(r.M.Nodes(), "[100->-"+n1.M.MyID().String()+"]") {
		t.Fatalf("promoted replica lost the migrating slot:\n%s", r.M.Nodes())
	}
	if !strings.Contains(n1.M.Nodes(), "[100-<-"+r.M.MyID().String()+"]") {
		t.Fatalf("importing node does not follow the new source:\n%s", n1.M.Nodes())
	}
}

// TestGiveLastSlotsUpdatesOthers: a third node that has not heard the
// target's PONG when the emptied source turns replica learns the new owner
// from the source's UPDATE, instead of leaving the slots unserved.
func TestGiveLastSlotsUpdatesOthers(t *testing.T) {
	s := threeMasters(t, 25, 0)
	n0, n1, n2 := s.Nodes[0], s.Nodes[1], s.Nodes[2]
	var slots []int
	for j := 0; j <= 5460; j++ {
		slots = append(slots, j)
	}
	s.Partition([]int{0, 2}, []int{1}) // n1's PONG reaches nobody
	r := n1.M.TakeSlots(s.Now, n0.M.MyID(), slots)
	s.apply(n1)
	ep, _ := strconv.ParseUint(strings.TrimPrefix(FormatReply(r), "OK "), 10, 64)
	n0.M.GiveSlots(s.Now, n1.M.MyID(), slots, ep)
	s.apply(n0)
	if !s.RunUntil(s.Now+200, func() bool { id, _ := n2.M.SlotOwner(0); return id == n1.M.MyID() }) {
		id, ok := n2.M.SlotOwner(0)
		t.Fatalf("third node: slot 0 owned by %v (%v), want the target", id, ok)
	}
	s.Heal()
	if !s.RunUntil(s.Now+10000, s.Converged) {
		t.Fatal("no convergence")
	}
}
