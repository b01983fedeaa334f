package server

import (
	"math/rand/v2"
	"testing"
	"time"
)

const (
	shortIdle = int64(10 * time.Microsecond)
	longIdle  = int64(time.Millisecond)
)

// TestSpinPolicyStartsAfterShortSpells: an idle runner does not poll until
// reprobeAfter parked spells in a row were short, and a long one restarts
// the count.
func TestSpinPolicyStartsAfterShortSpells(t *testing.T) {
	var p spinPolicy
	for i := 0; i < reprobeAfter-1; i++ {
		p.idled(shortIdle, true)
	}
	p.idled(longIdle, true)
	for i := 0; i < reprobeAfter-1; i++ {
		p.idled(shortIdle, true)
		if p.window() != 0 {
			t.Fatalf("polling after %d short spells since a long one", i+1)
		}
	}
	p.idled(shortIdle, true)
	if p.window() != int64(spinFor) {
		t.Fatalf("window %d after %d short spells, want %d", p.window(), reprobeAfter, spinFor)
	}
}

// TestSpinPolicyKeepsPollingWhilePollsPay: with four polls in five ending
// in work the runner keeps polling; with one in five it mostly parks, and
// wastes at most two polls per reprobeAfter+2 spells.
func TestSpinPolicyKeepsPollingWhilePollsPay(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	run := func(okEvery int) (polled, wasted int) {
		var p spinPolicy
		for i := 0; i < 2000; i++ {
			if p.window() == 0 {
				p.idled(shortIdle, true)
				continue
			}
			polled++
			if rng.IntN(5) < okEvery {
				p.idled(shortIdle, false)
			} else {
				wasted++
				p.idled(int64(spinFor)+shortIdle, true)
			}
		}
		return polled, wasted
	}
	if polled, _ := run(4); polled < 1900 {
		t.Errorf("four polls in five paying: polled in %d of 2000 spells, want nearly all", polled)
	}
	if _, wasted := run(0); wasted > 2*2000/(reprobeAfter+2)+2 {
		t.Errorf("no poll paying: %d wasted polls in 2000 spells, want at most %d", wasted, 2*2000/(reprobeAfter+2)+2)
	}
	if polled, _ := run(1); polled > 2000/3 {
		t.Errorf("one poll in five paying: polled in %d of 2000 spells", polled)
	}
}

// TestSpinWindowZeroAfterParkBound: a runner that has not parked for
// parkAtLeastEvery gets no polling window, even when the policy says to
// poll, so it parks and goroutines the Go poller wakes get their turn.
func TestSpinWindowZeroAfterParkBound(t *testing.T) {
	w := &loopWaiter{l: &eventLoop{}}
	for i := 0; i < reprobeAfter; i++ {
		w.l.spin.idled(shortIdle, true)
	}
	w.idleFrom = int64(time.Hour)
	w.lastPark = w.idleFrom - int64(parkAtLeastEvery)/2
	if got := w.spinWindow(); got != int64(spinFor) {
		t.Fatalf("parked %v ago: window %d, want %d", parkAtLeastEvery/2, got, spinFor)
	}
	w.lastPark = w.idleFrom - int64(parkAtLeastEvery)
	if got := w.spinWindow(); got != 0 {
		t.Fatalf("parked %v ago: window %d, want 0", parkAtLeastEvery, got)
	}
}

// A command's duration counts whole microseconds the way Redis's two
// ustime() readings do: 1 when it straddles a microsecond boundary, so that
// sub-microsecond commands still add up to their true total.
func TestElapsedMicrosSumsSubMicrosecondCommands(t *testing.T) {
	if got := elapsedMicros(999, 1001); got != 1 {
		t.Fatalf("999 -> 1001 ns: %d µs, want 1", got)
	}
	if got := elapsedMicros(1001, 1999); got != 0 {
		t.Fatalf("1001 -> 1999 ns: %d µs, want 0", got)
	}
	// 10 000 commands of 200 ns back to back: 2 ms in all.
	var sum int64
	start := int64(123)
	for i := 0; i < 10000; i++ {
		sum += elapsedMicros(start, start+200)
		start += 200
	}
	if sum != 2000 {
		t.Fatalf("10 000 commands of 200 ns sum to %d µs, want 2000", sum)
	}
}
