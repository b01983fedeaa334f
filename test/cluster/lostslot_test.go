package cluster

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/reefkv/reef/internal/testutil"
)

// TestLostSlotKeysDeleted: a master that sees another master claim one of
// its slots with a greater config epoch gives the slot up and deletes its
// keys there (Redis's dirty slots). The same script runs on a Reef cluster
// and on a Redis 7.0 one. Reef also logs each slot that held keys, and no
// other (Redis 7.0 logs nothing; later Redis versions log such a line).
func TestLostSlotKeysDeleted(t *testing.T) {
	for _, impl := range []struct {
		name  string
		start func(t *testing.T, n int, extra ...string) []*testutil.Proc
	}{{"reef", startReefNodes}, {"redis", startRedisNodes}} {
		t.Run(impl.name, func(t *testing.T) {
			ps := impl.start(t, 3)
			createCluster(t, ps, 0)

			// owner serves slot 0 and so the slots after it; full and
			// empty are two of them, one holding keys, the other none.
			var owner, claimer *testutil.Proc
			for _, p := range ps {
				nodes := testutil.ParseNodes(do(t, p, "CLUSTER", "NODES"))
				n := nodes[myID(t, p)]
				if len(n.Slots) > 0 && strings.HasPrefix(n.Slots[0], "0-") {
					owner = p
				} else if claimer == nil {
					claimer = p
				}
			}
			if owner == nil || claimer == nil {
				t.Fatal("no owner of slot 0")
			}
			// full and empty are lost, kept stays the owner's.
			const full, empty, kept = 100, 101, 200
			keys := testutil.KeysInSlot("key", full, 3)
			for _, k := range append(testutil.KeysInSlot("key", kept, 1), keys...) {
				mustOK(t, owner, "SET", k, "v")
			}

			claimerID, ownerID := myID(t, claimer), myID(t, owner)
			mustOK(t, claimer, "CLUSTER", "SETSLOT", strconv.Itoa(full), "NODE", claimerID)
			mustOK(t, claimer, "CLUSTER", "SETSLOT", strconv.Itoa(empty), "NODE", claimerID)
			if r := do(t, claimer, "CLUSTER", "BUMPEPOCH"); !strings.HasPrefix(r, "BUMPED") && !strings.HasPrefix(r, "STILL") {
				t.Fatalf("BUMPEPOCH: %s", r)
			}

			testutil.WaitFor(t, 30*time.Second, "the owner gives both slots up and deletes the keys", func() bool {
				n, ok := tryDo(owner, "CLUSTER", "COUNTKEYSINSLOT", strconv.Itoa(full))
				if !ok || n != "0" {
					return false
				}
				r, _ := tryDo(owner, "GET", keys[0])
				e, _ := tryDo(owner, "GET", testutil.KeysInSlot("key", empty, 1)[0])
				return r == "MOVED "+strconv.Itoa(full)+" "+claimer.Addr() &&
					e == "MOVED "+strconv.Itoa(empty)+" "+claimer.Addr()
			})
			if n := do(t, owner, "DBSIZE"); n != "1" {
				t.Errorf("DBSIZE after the loss = %s, want 1 (the key of slot %d)", n, kept)
			}
			if impl.name != "reef" {
				return
			}
			log := owner.Output()
			want := fmt.Sprintf("Deleting keys in dirty slot %d on node %s", full, ownerID)
			if !strings.Contains(log, want) {
				t.Errorf("owner's log lacks %q:\n%s", want, log)
			}
			if strings.Contains(log, fmt.Sprintf("dirty slot %d ", empty)) {
				t.Errorf("owner's log names slot %d, which held no key:\n%s", empty, log)
			}
		})
	}
}
