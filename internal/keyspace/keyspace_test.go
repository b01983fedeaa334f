package keyspace

import (
	"strconv"
	"testing"

	"github.com/reefkv/reef/internal/slot"
)

func TestPutGetDeleteAndCounts(t *testing.T) {
	ks := New(4)
	for db := 0; db < 4; db++ {
		for _, k := range []string{"a", "b", "{a}c"} {
			s := slot.OfString(k)
			ks.Lock(s)
			if !ks.Put(db, s, []byte(k), NewString([]byte("v"+k)), false) {
				t.Fatalf("db %d: %s not new", db, k)
			}
			ks.Unlock(s)
		}
	}
	if ks.Size(0) != 3 || ks.Size(3) != 3 {
		t.Fatalf("sizes %d %d", ks.Size(0), ks.Size(3))
	}
	sa := slot.OfString("a")
	ks.Lock(sa)
	if ks.Count(0, sa) != 2 { // "a" and "{a}c" share the slot
		t.Fatalf("count in slot of a = %d", ks.Count(0, sa))
	}
	ks.SetExpire(2, sa, []byte("a"), 12345)
	if ks.volatileOf(sa) != 1 || ks.ExpireAt(2, sa, []byte("a")) != 12345 {
		t.Fatal("expire not recorded")
	}
	// Overwriting without keepTTL drops the expiry.
	ks.Put(2, sa, []byte("a"), NewString([]byte("x")), false)
	if ks.volatileOf(sa) != 0 || ks.ExpireAt(2, sa, []byte("a")) != -1 {
		t.Fatal("overwrite kept the expiry")
	}
	ks.SetExpire(2, sa, []byte("a"), 1)
	if !ks.Delete(2, sa, []byte("a")) || ks.volatileOf(sa) != 0 {
		t.Fatal("delete did not drop the expiry count")
	}
	if ks.Delete(2, sa, []byte("a")) {
		t.Fatal("double delete")
	}
	ks.SetExpire(1, sa, []byte("a"), 7)
	if n := ks.FlushSlot(1, sa); n != 2 || ks.volatileOf(sa) != 0 || ks.Count(1, sa) != 0 {
		t.Fatalf("flush slot: n=%d volatile=%d", n, ks.volatileOf(sa))
	}
	ks.Unlock(sa)
}

func TestSwapDBsIncludingInlineDB0(t *testing.T) {
	ks := New(3)
	s := slot.OfString("k")
	ks.Lock(s)
	ks.Put(0, s, []byte("k"), NewString([]byte("zero")), false)
	ks.Put(2, s, []byte("k"), NewString([]byte("two")), false)
	ks.Put(2, s, []byte("k2"), NewString([]byte("two")), false)
	ks.Unlock(s)
	ks.LockAll()
	ks.SwapDBs(0, 2)
	ks.UnlockAll()
	ks.Lock(s)
	if v := ks.Get(0, s, []byte("k")); v == nil || string(v.Bytes()) != "two" {
		t.Fatal("db0 after swap")
	}
	if v := ks.Get(2, s, []byte("k")); v == nil || string(v.Bytes()) != "zero" {
		t.Fatal("db2 after swap")
	}
	if ks.Size(0) != 2 || ks.Size(2) != 1 {
		t.Fatalf("sizes after swap %d %d", ks.Size(0), ks.Size(2))
	}
	ks.Unlock(s)
	ks.LockAll()
	ks.SwapDBs(1, 2) // db1 was never written: swapping with it moves the table
	ks.UnlockAll()
	ks.Lock(s)
	defer ks.Unlock(s)
	if ks.Get(1, s, []byte("k")) == nil || ks.Table(2, s) != nil {
		t.Fatal("swap with an unwritten database")
	}
}

// TestExpireDeleteKeepsOtherPointers checks the guarantee lazy expiry relies
// on: removing an expired key during a lock hold moves no other entry, and
// the entry is reaped at unlock.
func TestExpireDeleteKeepsOtherPointers(t *testing.T) {
	ks := New(1)
	keys := []string{"{t}a", "{t}b", "{t}c", "{t}d"}
	s := slot.OfString(keys[0])
	ks.Lock(s)
	for _, k := range keys {
		ks.Put(0, s, []byte(k), NewString([]byte("v"+k)), false)
	}
	last := ks.Get(0, s, []byte("{t}d")) // the entry a physical delete would move
	if !ks.ExpireDelete(0, s, []byte("{t}a")) {
		t.Fatal("expire delete failed")
	}
	if string(last.Bytes()) != "v{t}d" {
		t.Fatalf("pointer moved: %q", last.Bytes())
	}
	if ks.Get(0, s, []byte("{t}a")) != nil || ks.Count(0, s) != 3 || ks.Delete(0, s, []byte("{t}a")) {
		t.Fatal("expired key still visible")
	}
	// Re-creating the key in the same hold revives the entry as new.
	if !ks.Put(0, s, []byte("{t}a"), NewString([]byte("new")), true) || ks.Count(0, s) != 4 {
		t.Fatal("revive")
	}
	ks.ExpireDelete(0, s, []byte("{t}b"))
	ks.Unlock(s)
	ks.Lock(s)
	defer ks.Unlock(s)
	if n := ks.Table(0, s).Keys.Len(); n != 3 {
		t.Fatalf("table holds %d entries after reap, want 3", n)
	}
	if v := ks.Get(0, s, []byte("{t}a")); v == nil || string(v.Bytes()) != "new" {
		t.Fatal("revived key lost at reap")
	}
}

// The slots with expiries are found without visiting the others, in
// order from any start, wrapping around, and leave the set when their
// last expiry goes.
func TestNextVolatile(t *testing.T) {
	ks := New(2)
	if got := ks.NextVolatile(0); got != -1 {
		t.Fatalf("empty keyspace: %d", got)
	}
	keys := map[int][]byte{}
	for _, s := range []int{5, 63, 64, 200, 16383} {
		for i := 0; ; i++ {
			k := []byte("k" + strconv.Itoa(i))
			if slot.Of(k) == s {
				keys[s] = k
				break
			}
		}
		ks.Lock(s)
		ks.Put(1, s, keys[s], NewString([]byte("v")), false)
		ks.SetExpire(1, s, keys[s], 1e15)
		ks.Unlock(s)
	}
	for _, c := range [][2]int{{0, 5}, {5, 5}, {6, 63}, {64, 64}, {65, 200}, {201, 16383}, {16383, 16383}, {16384, 5}} {
		if got := ks.NextVolatile(c[0]); got != c[1] {
			t.Errorf("NextVolatile(%d) = %d, want %d", c[0], got, c[1])
		}
	}
	for _, s := range []int{5, 63} {
		ks.Lock(s)
		ks.Persist(1, s, keys[s])
		ks.Unlock(s)
	}
	ks.Lock(16383)
	ks.Delete(1, 16383, keys[16383])
	ks.Unlock(16383)
	if got := ks.NextVolatile(201); got != 64 {
		t.Errorf("after removals, NextVolatile(201) = %d, want 64 (wrapped)", got)
	}
	ks.Lock(200)
	ks.FlushSlot(1, 200)
	ks.Unlock(200)
	ks.Lock(64)
	ks.Put(1, 64, keys[64], NewString([]byte("w")), false) // drops the TTL
	ks.Unlock(64)
	if got := ks.NextVolatile(0); got != -1 {
		t.Errorf("all expiries gone, NextVolatile = %d", got)
	}
}

func TestNextOccupied(t *testing.T) {
	ks := New(3)
	keyIn := func(s int) []byte {
		for i := 0; ; i++ {
			if k := []byte("k" + strconv.Itoa(i)); slot.Of(k) == s {
				return k
			}
		}
	}
	put := func(db, s int) {
		ks.Lock(s)
		ks.Put(db, s, keyIn(s), NewString([]byte("v")), false)
		ks.Unlock(s)
	}
	for _, s := range []int{5, 63, 64, 200, 16383} {
		put(1, s)
	}
	put(1, 200) // the same key again: no second bit flip
	if got := ks.NextOccupied(0, 0); got != -1 {
		t.Fatalf("empty database 0: %d", got)
	}
	for _, c := range [][2]int{{0, 5}, {6, 63}, {64, 64}, {65, 200}, {201, 16383}, {16384, 5}} {
		if got := ks.NextOccupied(1, c[0]); got != c[1] {
			t.Errorf("NextOccupied(1, %d) = %d, want %d", c[0], got, c[1])
		}
	}
	// Delete, lazy expiry (ExpireDelete) and FlushSlot clear a slot's bit
	// once it holds no key of the database.
	ks.Lock(16383)
	ks.Delete(1, 16383, keyIn(16383))
	ks.Unlock(16383)
	ks.Lock(200)
	ks.ExpireDelete(1, 200, keyIn(200))
	ks.Unlock(200)
	ks.Lock(64)
	ks.FlushSlot(1, 64)
	ks.Unlock(64)
	if got := ks.NextOccupied(1, 64); got != 5 {
		t.Errorf("after removals, NextOccupied(1, 64) = %d, want 5 (wrapped)", got)
	}
	// A lazily expired entry still in the table when the slot is flushed
	// in the same lock hold is not subtracted twice.
	ks.Lock(300)
	ks.Put(1, 300, keyIn(300), NewString([]byte("v")), false)
	ks.Put(1, 300, []byte("{"+string(keyIn(300))+"}2"), NewString([]byte("v")), false)
	ks.ExpireDelete(1, 300, keyIn(300))
	if n := ks.FlushSlot(1, 300); n != 1 {
		t.Errorf("FlushSlot counted %d keys, want 1", n)
	}
	ks.Put(1, 300, keyIn(300), NewString([]byte("v")), false)
	ks.Unlock(300)
	if got := ks.Count(1, 300); got != 1 {
		t.Errorf("count after flush and put: %d", got)
	}
	if got := ks.NextOccupied(1, 300); got != 300 {
		t.Errorf("NextOccupied(1, 300) = %d after a put into a flushed slot", got)
	}
	ks.Lock(300)
	ks.FlushSlot(1, 300)
	ks.Unlock(300)

	// SWAPDB swaps the bitmaps with the data.
	put(2, 7)
	ks.LockAll()
	ks.SwapDBs(1, 2)
	ks.UnlockAll()
	if got, want := ks.NextOccupied(1, 0), 7; got != want {
		t.Errorf("after SWAPDB, NextOccupied(1, 0) = %d, want %d", got, want)
	}
	if got, want := ks.NextOccupied(2, 6), 63; got != want {
		t.Errorf("after SWAPDB, NextOccupied(2, 6) = %d, want %d", got, want)
	}
}
