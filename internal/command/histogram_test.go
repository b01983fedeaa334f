package command

import "testing"

func TestHistIndex(t *testing.T) {
	prev := -1
	for v := uint64(0); v < 1<<20; v++ {
		i := histIndex(v)
		if i < prev || i > prev+1 {
			t.Fatalf("v=%d i=%d prev=%d", v, i, prev)
		}
		if histHighest(i) < v {
			t.Fatalf("v=%d highest %d", v, histHighest(i))
		}
		prev = i
	}
	if histHighest(histIndex(1000)) != 1003 {
		t.Fatal(histHighest(histIndex(1000)))
	}
	if histIndex(1<<63) >= histBuckets {
		t.Fatal("overflow")
	}
}
