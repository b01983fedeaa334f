package server

import (
	"testing"
	"time"
)

// procStep is one window fed to procAdapter.decide: at size cur, the cores
// used and the commands per second served; want is the size it must pick.
type procStep struct {
	cur  int
	used float64
	rate float64
	want int
}

func runProcSteps(t *testing.T, a *procAdapter, start time.Time, steps []procStep) time.Time {
	t.Helper()
	now := start
	for i, s := range steps {
		now = now.Add(procsWindow)
		if got := a.decide(s.cur, s.used, s.rate, now); got != s.want {
			t.Fatalf("step %d: decide(%d, %.2f, %.0f) = %d, want %d", i, s.cur, s.used, s.rate, got, s.want)
		}
	}
	return now
}

func TestProcAdapterDecide(t *testing.T) {
	a := &procAdapter{max: 4, backoff: procsProbeMin}
	runProcSteps(t, a, time.Unix(1000, 0), []procStep{
		{4, 0.3, 1000, 4},  // one quiet window is not enough
		{4, 2.0, 9000, 4},  // busy again (too busy for one P): the spell restarts
		{4, 0.3, 1000, 4},  //
		{4, 0.2, 1000, 1},  // two quiet windows in a row
		{1, 0.6, 5000, 1},  // between the thresholds: stay
		{1, 0.84, 5000, 1}, //
		{1, 0.95, 5000, 4}, // one P nearly full: probe every P
		{4, 1.5, 9000, 4},  // it served more: keep them
		{4, 0.49, 5000, 4}, //
		{4, 0.1, 100, 1},   // quiet twice
	})
}

// Every P is tried and given up when it serves no more than one P did
// (a client-bound load), and the probes back off while they confirm.
func TestProcAdapterProbeUpFails(t *testing.T) {
	a := &procAdapter{max: 2, backoff: procsProbeMin}
	now := runProcSteps(t, a, time.Unix(1000, 0), []procStep{
		{1, 0.95, 1000000, 2}, // probe
		{2, 1.0, 1050000, 1},  // under procsGain more: back to one P
		{1, 0.95, 1000000, 1}, // within the backoff: no probe
	})
	if a.nextProbe.Sub(now) > procsProbeMin*2 || a.nextProbe.Before(now) {
		t.Fatalf("next probe %v after the window, want within %v", a.nextProbe.Sub(now), 2*procsProbeMin)
	}
	prevWait := 2 * procsProbeMin
	for i := 0; i < 8; i++ {
		now = a.nextProbe
		if got := a.decide(1, 0.95, 1000000, now); got != 2 {
			t.Fatalf("probe %d not taken at the backoff's end", i)
		}
		now = now.Add(procsWindow)
		if got := a.decide(2, 1.0, 1000000, now); got != 1 {
			t.Fatalf("probe %d kept every P", i)
		}
		wait := a.nextProbe.Sub(now)
		want := min(prevWait*2, procsProbeMax)
		if wait != want {
			t.Fatalf("probe %d: backoff %v, want %v", i, wait, want)
		}
		prevWait = wait
	}
	// The load goes away and comes back: the next probe is immediate.
	runProcSteps(t, a, now, []procStep{
		{1, 0.1, 10, 1},
		{1, 0.1, 10, 1},
		{1, 0.95, 1000000, 2},
	})
}

// At every P, a node whose load one core could carry tries one P, and
// goes back when one P serves procsGain less.
func TestProcAdapterProbeDown(t *testing.T) {
	a := &procAdapter{max: 2, backoff: procsProbeMin}
	runProcSteps(t, a, time.Unix(1000, 0), []procStep{
		{1, 0.95, 200000, 2}, // probe up
		{2, 1.2, 300000, 2},  // a gain: stay (next probe in procsProbeMin)
		{2, 1.2, 300000, 2},  // within it
	})
	now := runProcSteps(t, a, a.nextProbe.Add(-procsWindow), []procStep{
		{2, 1.2, 300000, 1}, // probe one P
		{1, 1.0, 200000, 2}, // it served less: back
	})
	if wait := a.nextProbe.Sub(now); wait != 2*procsProbeMin {
		t.Fatalf("backoff %v after a failed probe down, want %v", wait, 2*procsProbeMin)
	}
	runProcSteps(t, a, a.nextProbe.Add(-procsWindow), []procStep{
		{2, 2.0, 600000, 2}, // too busy for one P: no probe
		{2, 1.1, 300000, 1}, // probe
		{1, 0.9, 290000, 1}, // one P keeps up: stay
	})
}

func TestProcAdapterHold(t *testing.T) {
	a := &procAdapter{max: 4, backoff: procsProbeMin}
	now := time.Unix(1000, 0)
	release := a.hold()
	for i := 0; i < 3; i++ {
		if got := a.decide(4, 0.1, 0, now); got != 4 {
			t.Fatalf("held: decide(4, 0.1) = %d", got)
		}
	}
	if got := a.decide(1, 0.2, 0, now); got != 4 {
		t.Fatalf("held at one P: decide(1, 0.2) = %d", got)
	}
	release()
	release() // idempotent
	if a.holds.Load() != 0 {
		t.Fatalf("holds = %d after release", a.holds.Load())
	}
	a.decide(4, 0.1, 0, now)
	if got := a.decide(4, 0.1, 0, now); got != 1 {
		t.Fatalf("released: decide(4, 0.1) = %d", got)
	}
}
