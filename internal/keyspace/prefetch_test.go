package keyspace

import (
	"strconv"
	"testing"
	"time"
	"unsafe"

	"github.com/reefkv/reef/internal/dict"
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
	// A collection whose member table the prefetch walks: a set stand-in.
	members := &dict.Dict[struct{}]{}
	for i := 0; i < 100; i++ {
		members.Set("m"+strconv.Itoa(i), struct{}{})
	}
	put("coll", CollectionValue(TypeSet, unsafe.Pointer(members)))
	for i := 0; i < 2*PrefetchMax; i++ {
		put("k"+strconv.Itoa(i), NewString([]byte(strconv.Itoa(i))))
	}
	keys = append(keys, []byte("missing"), []byte("{t}missing"))
	slots := make([]int, len(keys))
	coll := 0
	for i, k := range keys {
		slots[i] = slot.Of(k)
		if string(k) == "coll" {
			coll = i
		}
	}
	memberDict := func(v Value) dict.Prefetcher {
		if v.Type() != TypeSet {
			return nil
		}
		return (*dict.Dict[struct{}])(v.Ptr())
	}
	batch := func(n int) *PrefetchBatch {
		b := &PrefetchBatch{Keys: keys[:n], Slots: slots[:n], MemberDict: memberDict}
		for _, m := range []string{"m1", "m99", "nope", ""} {
			b.Members = append(b.Members, []byte(m))
			b.Owners = append(b.Owners, coll)
		}
		b.Members = append(b.Members, []byte("m2"))
		b.Owners = append(b.Owners, 0) // a string: no member table
		return b
	}

	busy := slot.OfString("k3")
	ks.Lock(busy) // held by "another command" for the whole prefetch
	done := make(chan struct{})
	go func() {
		defer close(done)
		for db := 0; db < 3; db++ { // databases 1 and 2 have no tables
			ks.Prefetch(db, batch(len(keys)))
			ks.Prefetch(db, batch(1)) // members of keys not in the batch
			ks.Prefetch(db, &PrefetchBatch{})
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
		case name == "coll":
			if v == nil || v.Type() != TypeSet || members.Len() != 100 {
				t.Errorf("collection changed")
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
