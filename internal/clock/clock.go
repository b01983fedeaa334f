package clock

import (
	"sync/atomic"
	"time"
	_ "unsafe" // for go:linkname
)

// nanotime is the runtime's monotonic clock, the one time.Since uses. The
// runtime keeps this link name for outside packages.
//
//go:linkname nanotime runtime.nanotime
func nanotime() int64

// Mono returns a monotonic reading in nanoseconds: one vDSO clock read.
func Mono() int64 { return nanotime() }

// wallBase pairs a wall time with the monotonic reading taken with it.
type wallBase struct {
	unixNano int64
	mono     int64
}

var base atomic.Pointer[wallBase]

func init() { Resync() }

// Resync takes a new wall time base, so that UnixMilli follows changes of
// the system clock.
func Resync() {
	now := time.Now()
	base.Store(&wallBase{unixNano: now.UnixNano(), mono: nanotime()})
}

// UnixMilli returns the unix time in milliseconds at monotonic reading mono.
func UnixMilli(mono int64) int64 {
	b := base.Load()
	return (b.unixNano + mono - b.mono) / int64(time.Millisecond)
}
