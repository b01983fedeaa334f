package dict

import (
	"math/rand/v2"
	"strconv"
	"testing"
)

// TestAgainstMap runs a random operation stream against a Go map and checks
// every reply and the full contents along the way.
func TestAgainstMap(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var d Dict[int]
	ref := map[string]int{}
	for op := 0; op < 200000; op++ {
		k := strconv.Itoa(r.IntN(3000))
		switch r.IntN(4) {
		case 0, 1:
			_, had := ref[k]
			if ins := d.Set(k, op); ins == had {
				t.Fatalf("op %d: Set(%s) inserted=%v, map had=%v", op, k, ins, had)
			}
			ref[k] = op
		case 2:
			_, had := ref[k]
			if del := d.Delete(k); del != had {
				t.Fatalf("op %d: Delete(%s)=%v, want %v", op, k, del, had)
			}
			delete(ref, k)
		case 3:
			v, had := ref[k]
			p := d.Get(k)
			if (p != nil) != had || (had && *p != v) {
				t.Fatalf("op %d: Get(%s) mismatch", op, k)
			}
		}
		if d.Len() != len(ref) {
			t.Fatalf("op %d: len %d want %d", op, d.Len(), len(ref))
		}
	}
	for k, v := range ref {
		if p := d.Get(k); p == nil || *p != v {
			t.Fatalf("final: key %s missing or wrong", k)
		}
	}
}

// TestScanSeesStableEntries checks the SCAN guarantee under concurrent
// deletes and inserts between calls: every entry present for the whole scan
// is reported.
func TestScanSeesStableEntries(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for round := 0; round < 50; round++ {
		var d Dict[struct{}]
		stable := map[string]bool{}
		for i := 0; i < 500; i++ {
			k := "s" + strconv.Itoa(i)
			d.Set(k, struct{}{})
			stable[k] = true
		}
		for i := 0; i < 500; i++ {
			d.Set("v"+strconv.Itoa(i), struct{}{})
		}
		seen := map[string]bool{}
		cursor := uint64(0)
		for {
			cursor = d.Scan(cursor, 10, func(e *Entry[struct{}]) { seen[e.Key] = true })
			// Churn: delete some volatile keys, add new ones.
			for j := 0; j < 5; j++ {
				d.Delete("v" + strconv.Itoa(r.IntN(500)))
				d.Set("n"+strconv.Itoa(r.IntN(100000)), struct{}{})
			}
			if cursor == 0 {
				break
			}
		}
		for k := range stable {
			if !seen[k] {
				t.Fatalf("round %d: stable key %s not reported by scan", round, k)
			}
		}
	}
}

func TestRandomCoversAll(t *testing.T) {
	var d Dict[int]
	for i := 0; i < 10; i++ {
		d.Set(strconv.Itoa(i), i)
	}
	r := rand.New(rand.NewPCG(5, 6))
	seen := map[string]bool{}
	for i := 0; i < 1000; i++ {
		seen[d.Random(r).Key] = true
	}
	if len(seen) != 10 {
		t.Fatalf("random saw %d of 10 keys", len(seen))
	}
	var empty Dict[int]
	if empty.Random(r) != nil {
		t.Fatal("random on empty dict returned an entry")
	}
}

func BenchmarkGet(b *testing.B) {
	var d Dict[int]
	keys := make([][]byte, 100000)
	for i := range keys {
		keys[i] = []byte("key:" + strconv.Itoa(i))
		d.Set(string(keys[i]), i)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if d.GetBytes(keys[i%len(keys)]) == nil {
			b.Fatal("missing")
		}
	}
}

// check verifies the dict's invariants: every entry is found at its own
// position through the index, the index holds exactly Len words, and an
// index being rebuilt holds exactly the entries before its cursor.
func (d *Dict[V]) check(t *testing.T) {
	t.Helper()
	words := 0
	for _, w := range d.index {
		if w != 0 {
			words++
		}
	}
	if words != d.n {
		t.Fatalf("index holds %d words for %d entries", words, d.n)
	}
	for p := 0; p < d.n; p++ {
		key := d.At(p).Key
		b, ok := d.find(key, Hash(key))
		if !ok || int(uint32(d.index[b]))-1 != p {
			t.Fatalf("entry %d (%q) not found at its position", p, key)
		}
	}
	if d.next != nil {
		words = 0
		for _, w := range d.next {
			if w != 0 {
				words++
				if p := int(uint32(w)) - 1; p >= d.built {
					t.Fatalf("rebuilt index holds position %d beyond the cursor %d", p, d.built)
				}
			}
		}
		if words != d.built {
			t.Fatalf("rebuilt index holds %d words, cursor at %d", words, d.built)
		}
		for p := 0; p < d.built; p++ {
			d.bucketOfPos(d.next, d.nextMask(), p) // loops forever if missing: the test times out
		}
	}
}

// TestGrowAndShrinkIncrementally drives a dict through incremental index
// rebuilds (up and down) and segment growth, checking every answer against
// a map and the invariants along the way.
func TestGrowAndShrinkIncrementally(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	var d Dict[int]
	ref := map[string]int{}
	sawRebuild := false
	phase := func(ops, keys int, insertBias int) {
		for i := 0; i < ops; i++ {
			k := strconv.Itoa(r.IntN(keys))
			if r.IntN(100) < insertBias {
				d.Set(k, i)
				ref[k] = i
			} else {
				if d.Delete(k) != (ref[k] != 0 || hasKey(ref, k)) {
					t.Fatalf("delete %s disagrees with the map", k)
				}
				delete(ref, k)
			}
			if d.next != nil {
				sawRebuild = true
			}
			if i%5000 == 0 {
				d.check(t)
			}
		}
	}
	phase(120000, 60000, 90) // grow well past rebuildMin and segSize
	d.check(t)
	phase(150000, 60000, 5) // shrink
	d.check(t)
	if !sawRebuild {
		t.Fatal("no incremental rebuild happened")
	}
	if d.Len() != len(ref) {
		t.Fatalf("len %d, map %d", d.Len(), len(ref))
	}
	for k, v := range ref {
		if p := d.Get(k); p == nil || *p != v {
			t.Fatalf("key %s lost", k)
		}
	}
	n := 0
	for range d.All() {
		n++
	}
	if n != len(ref) {
		t.Fatalf("All yielded %d entries, want %d", n, len(ref))
	}
}

func hasKey(m map[string]int, k string) bool { _, ok := m[k]; return ok }
