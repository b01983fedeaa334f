package server

import (
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// The scheduler is sized to the load. With several Ps, every time an
// event loop goes idle and comes back (at light load, many times per
// millisecond) the Go runtime wakes another thread to look for work on an
// idle P: a futex wake-up and a context switch each, which at one request
// per wake-up cost more than the request. Under half a core of use the
// node runs on one P, where nothing is woken for nothing (its loops share
// it); at 85% of that core it takes every core back, which a busy node
// needs to run commands on all of them. Measured on a 3-master cluster on
// two cores (bench/cluster.sh, -P 1): server CPU per request from about
// 10.6 to 9 µs, context switches halved.
//
// A snapshot's walk (BGSAVE, a full sync) holds every P while it runs: at
// one P it would take turns with the loops until the next window saw the
// load. (bench/fullsync.sh, two runs each: the master's SET latency during
// a full sync, p99 2.4-2.5 ms and max 18-26 ms with the hold, p99 3.1-3.4
// ms and max 20-31 ms with GOMAXPROCS fixed.)
//
// GOMAXPROCS in the environment, or REEF_ADAPT_PROCS=0, turns this off.
const (
	procsWindow   = 100 * time.Millisecond // the shortest window measured
	procsLowUse   = 0.5                    // cores used: below, one P will do
	procsHighUse  = 0.85                   // cores used at one P: above, every P
	procsLowSpell = 2                      // windows below procsLowUse before going down
)

// procAdapter measures the process's CPU use from the cron and sets
// GOMAXPROCS from it.
type procAdapter struct {
	max      int          // GOMAXPROCS at startup
	holds    atomic.Int32 // work in progress that wants every P (hold)
	lastCPU  time.Duration
	lastWall time.Time
	lowSpell int // consecutive windows below procsLowUse
}

// newProcAdapter returns nil when the scheduler's size is fixed.
func newProcAdapter() *procAdapter {
	if _, set := os.LookupEnv("GOMAXPROCS"); set || os.Getenv("REEF_ADAPT_PROCS") == "0" {
		return nil
	}
	if n := runtime.GOMAXPROCS(0); n > 1 {
		return &procAdapter{max: n}
	}
	return nil
}

// tick ends a window at now when it is long enough, and resizes.
func (a *procAdapter) tick(now time.Time) {
	if a == nil {
		return
	}
	cpu := processCPU()
	if a.lastWall.IsZero() {
		a.lastCPU, a.lastWall = cpu, now
		return
	}
	wall := now.Sub(a.lastWall)
	if wall < procsWindow {
		return
	}
	used := float64(cpu-a.lastCPU) / float64(wall)
	a.lastCPU, a.lastWall = cpu, now
	cur := runtime.GOMAXPROCS(0)
	next := a.decide(cur, used)
	if next < cur && a.holds.Load() > 0 {
		return // a hold began since decide looked
	}
	if next != cur {
		runtime.GOMAXPROCS(next)
	}
}

// hold gives the process every P until the returned function is called:
// for CPU-bound work beside the clients (a snapshot's walk), which at one
// P would take turns with the event loops and add to their latency.
func (a *procAdapter) hold() (release func()) {
	if a == nil {
		return func() {}
	}
	a.holds.Add(1)
	if runtime.GOMAXPROCS(0) < a.max {
		runtime.GOMAXPROCS(a.max)
	}
	var once sync.Once
	return func() { once.Do(func() { a.holds.Add(-1) }) }
}

// decide returns the GOMAXPROCS for the next window after a window with
// cur Ps that used the given cores.
func (a *procAdapter) decide(cur int, used float64) int {
	switch {
	case a.holds.Load() > 0:
		a.lowSpell = 0
		return a.max
	case cur > 1 && used < procsLowUse:
		if a.lowSpell++; a.lowSpell >= procsLowSpell {
			a.lowSpell = 0
			return 1
		}
	case cur == 1 && used > procsHighUse:
		a.lowSpell = 0
		return a.max
	default:
		a.lowSpell = 0
	}
	return cur
}

// processCPU returns the CPU time (user and system) the process used so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
