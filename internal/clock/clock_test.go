package clock

import (
	"testing"
	"time"
)

func TestUnixMilliFollowsWallClock(t *testing.T) {
	Resync()
	before := time.Now().UnixMilli()
	got := UnixMilli(Mono())
	after := time.Now().UnixMilli()
	// The base and the reading are taken a few nanoseconds apart: allow
	// one millisecond either way.
	if got < before-1 || got > after+1 {
		t.Fatalf("UnixMilli %d outside [%d, %d]", got, before, after)
	}
}

func TestMonoAdvances(t *testing.T) {
	a := Mono()
	time.Sleep(2 * time.Millisecond)
	if d := Mono() - a; d < int64(2*time.Millisecond) {
		t.Fatalf("Mono advanced %d ns over a 2 ms sleep", d)
	}
}
