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
