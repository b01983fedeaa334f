package clock

import (
	"testing"
	"time"
)

// Every subscriber receives the same beat, and one that does not read
// does not hold the others back.
func TestPulseReachesEverySubscriber(t *testing.T) {
	a, cancelA := Pulse()
	defer cancelA()
	b, cancelB := Pulse()
	defer cancelB()
	_, cancelIdle := Pulse() // never read
	defer cancelIdle()
	deadline := time.After(10 * time.Second) // against a hang only
	for range 3 {
		var ta, tb time.Time
		select {
		case ta = <-a:
		case <-deadline:
			t.Fatal("no beat on a")
		}
		select {
		case tb = <-b:
		case <-deadline:
			t.Fatal("no beat on b")
		}
		// A receiver that falls behind gets a later beat, never an
		// earlier one: at most one beat apart.
		if d := ta.Sub(tb); d > PulsePeriod || d < -PulsePeriod {
			t.Fatalf("beats %v apart", d)
		}
	}
}

// The pulse's ticker runs only while it has subscribers, and a new
// subscriber after that starts it again.
func TestPulseStopsWithoutSubscribers(t *testing.T) {
	for range 2 {
		c, cancel := Pulse()
		select {
		case <-c:
		case <-time.After(10 * time.Second):
			t.Fatal("no beat")
		}
		cancel()
		cancel() // a second cancel is harmless
		pulse.mu.Lock()
		running := pulse.ticker != nil
		pulse.mu.Unlock()
		if running {
			t.Fatal("ticker still running without subscribers")
		}
	}
}
