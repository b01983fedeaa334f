package server

import "testing"

func TestProcAdapterDecide(t *testing.T) {
	a := &procAdapter{max: 4}
	steps := []struct {
		cur  int
		used float64
		want int
	}{
		{4, 0.3, 4},  // one quiet window is not enough
		{4, 0.9, 4},  // busy again: the spell restarts
		{4, 0.3, 4},  //
		{4, 0.2, 1},  // two quiet windows in a row
		{1, 0.6, 1},  // between the thresholds: stay
		{1, 0.84, 1}, //
		{1, 0.95, 4}, // one P nearly full: every P back
		{4, 1.5, 4},  //
		{4, 0.49, 4}, //
		{4, 0.7, 4},  // the middle band stays put at any size
		{4, 0.1, 4},  //
		{4, 0.1, 1},  //
	}
	for i, s := range steps {
		if got := a.decide(s.cur, s.used); got != s.want {
			t.Fatalf("step %d: decide(%d, %.2f) = %d, want %d", i, s.cur, s.used, got, s.want)
		}
	}
}

func TestProcAdapterHold(t *testing.T) {
	a := &procAdapter{max: 4}
	release := a.hold()
	for i := 0; i < 3; i++ {
		if got := a.decide(4, 0.1); got != 4 {
			t.Fatalf("held: decide(4, 0.1) = %d", got)
		}
	}
	if got := a.decide(1, 0.2); got != 4 {
		t.Fatalf("held at one P: decide(1, 0.2) = %d", got)
	}
	release()
	release() // idempotent
	if a.holds.Load() != 0 {
		t.Fatalf("holds = %d after release", a.holds.Load())
	}
	a.decide(4, 0.1)
	if got := a.decide(4, 0.1); got != 1 {
		t.Fatalf("released: decide(4, 0.1) = %d", got)
	}
}
