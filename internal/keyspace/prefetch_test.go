package keyspace

import (
	"strconv"
	"testing"
	"time"

	"github.com/reefkv/reef/internal/slot"
)

// Prefetch only reads: it leaves every value as it was, every slot lock as
// it found it, and never waits for a slot another holder has locked.
func TestPrefetchLeavesLocksAndValues(t *testing.T) {
	ks := New(3)
	var keys [][]byte
	put := func(k string, v Value) {
		s := slot.OfString(k)
		ks.Lock(s)
		ks.Put(0, s, []byte(k), v, false)
		ks.Unlock(s)
		keys = append(keys, []byte(k))
	}
	put("", NewString([]byte("empty key")))
	put("empty-value", NewString(nil))
	put("int", IntValue(42))
	put("{t}a", NewString([]byte("a")))
	put("{t}b", NewString([]byte("b"))) // same slot as {t}a
	for i := 0; i < 2*PrefetchMax; i++ {
		put("k"+strconv.Itoa(i), NewString([]byte(strconv.Itoa(i))))
	}
	keys = append(keys, []byte("missing"), []byte("{t}missing"))
	slots := make([]int, len(keys))
	for i, k := range keys {
		slots[i] = slot.Of(k)
	}

	busy := slot.OfString("k3")
	ks.Lock(busy) // held by "another command" for the whole prefetch
	done := make(chan struct{})
	go func() {
		defer close(done)
		for db := 0; db < 3; db++ { // databases 1 and 2 have no tables
			ks.Prefetch(db, keys, slots)
			ks.Prefetch(db, keys[:1], slots[:1])
			ks.Prefetch(db, nil, nil)
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Prefetch waited for a busy slot")
	}
	if ks.TryLock(busy) {
		t.Fatal("Prefetch released a lock it did not take")
	}
	ks.Unlock(busy)
	for i := range slot.Count {
		if !ks.TryLock(i) {
			t.Fatalf("slot %d left locked", i)
		}
		ks.Unlock(i)
	}
	for i, k := range keys {
		s := slots[i]
		ks.Lock(s)
		v := ks.Get(0, s, k)
		ks.Unlock(s)
		switch name := string(k); {
		case name == "missing" || name == "{t}missing":
			if v != nil {
				t.Errorf("%q appeared", name)
			}
		case name == "int":
			if v == nil || !v.IsInt() || v.Int() != 42 {
				t.Errorf("int changed")
			}
		case v == nil:
			t.Errorf("%q lost", name)
		}
	}
}
