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
// it). Measured on a 3-master cluster on two cores (bench/cluster.sh,
// -P 1): server CPU per request from about 10.6 to 9 µs, context switches
// halved.
//
// Busier than that, more Ps are tried, and kept only when they serve more
// commands: a window at one P that used 85% of the core is followed by a
// probe window at every P, and the node stays there only if it served
// procsGain more commands per second than at one P. At every P, a node
// that could fit on one core (under procsProbeDownUse cores) probes one P
// the same way from time to time. The probes back off (1 s, doubling to
// 32 s) while they keep confirming the current size. Extra Ps do not
// always serve more: when the clients cannot send faster (a benchmark
// client on the same two cores, its own core full), the extra threads only
// take CPU time from them. Measured with redis-benchmark -P 16 on two
// cores, five interleaved rounds: RPOP 1.27 M/s at every P and 1.46 M/s at
// one, Redis 1.45 M/s; MSET, whose commands cost more than the client's
// side of them, 237 k/s at every P and 157 k/s at one.
//
// A snapshot's walk (BGSAVE, a full sync) holds every P while it runs: at
// one P it would take turns with the loops until the next window saw the
// load. (bench/fullsync.sh, two runs each: the master's SET latency during
// a full sync, p99 2.4-2.5 ms and max 18-26 ms with the hold, p99 3.1-3.4
// ms and max 20-31 ms with GOMAXPROCS fixed.)
//
// GOMAXPROCS in the environment, or REEF_ADAPT_PROCS=0, turns this off.
const (
	procsWindow       = 100 * time.Millisecond // the shortest window measured
	procsLowUse       = 0.5                    // cores used: below, one P will do
	procsHighUse      = 0.85                   // cores used at one P: above, probe every P
	procsProbeDownUse = 1.3                    // cores used at every P: below, probe one P
	procsLowSpell     = 2                      // windows below procsLowUse before going down
	procsGain         = 1.08                   // rate gain that every P must bring
	procsProbeMin     = time.Second            // the first wait between probes
	procsProbeMax     = 32 * time.Second       // the longest
)

// procAdapter measures the process's CPU use and command rate from the
// cron and sets GOMAXPROCS from them.
type procAdapter struct {
	max   int          // GOMAXPROCS at startup
	holds atomic.Int32 // work in progress that wants every P (hold)

	lastCPU    time.Duration
	lastServed int64
	lastWall   time.Time
	lowSpell   int // consecutive windows below procsLowUse

	// probing: the window being measured runs at the other size than the
	// one before it, whose command rate was probeBase.
	probing   bool
	probeBase float64
	nextProbe time.Time     // no probe before
	backoff   time.Duration // the wait after the next probe that confirms the size
}

// newProcAdapter returns nil when the scheduler's size is fixed.
func newProcAdapter() *procAdapter {
	if _, set := os.LookupEnv("GOMAXPROCS"); set || os.Getenv("REEF_ADAPT_PROCS") == "0" {
		return nil
	}
	if n := runtime.GOMAXPROCS(0); n > 1 {
		return &procAdapter{max: n, backoff: procsProbeMin}
	}
	return nil
}

// tick ends a window at now when it is long enough, and resizes; served is
// the count of commands served so far.
func (a *procAdapter) tick(now time.Time, served int64) {
	if a == nil {
		return
	}
	cpu := processCPU()
	if a.lastWall.IsZero() {
		a.lastCPU, a.lastServed, a.lastWall = cpu, served, now
		return
	}
	wall := now.Sub(a.lastWall)
	if wall < procsWindow {
		return
	}
	used := float64(cpu-a.lastCPU) / float64(wall)
	count := served - a.lastServed
	if count < 0 { // CONFIG RESETSTAT
		count = served
	}
	rate := float64(count) / wall.Seconds()
	a.lastCPU, a.lastServed, a.lastWall = cpu, served, now
	cur := runtime.GOMAXPROCS(0)
	next := a.decide(cur, used, rate, now)
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

// decide returns the GOMAXPROCS for the next window after a window ending
// at now, with cur Ps, that used the given cores and served rate commands
// per second.
func (a *procAdapter) decide(cur int, used, rate float64, now time.Time) int {
	if a.holds.Load() > 0 {
		a.lowSpell, a.probing = 0, false
		return a.max
	}
	if a.probing {
		// Every P is kept when its window served procsGain more than one
		// P's, whichever of the two windows came first.
		a.probing = false
		atMax, atOne := rate, a.probeBase
		if cur == 1 {
			atMax, atOne = a.probeBase, rate
		}
		next := 1
		if atMax > atOne*procsGain {
			next = a.max
		}
		a.probed(now, next == cur)
		return next
	}
	switch {
	case used < procsLowUse:
		if a.lowSpell++; a.lowSpell >= procsLowSpell {
			// The load went away: whatever comes next deserves a probe.
			a.lowSpell, a.backoff, a.nextProbe = 0, procsProbeMin, time.Time{}
			return 1
		}
		return cur
	case cur > 1 && used < procsProbeDownUse && !now.Before(a.nextProbe):
		a.lowSpell, a.probing, a.probeBase = 0, true, rate
		return 1
	case cur == 1 && used > procsHighUse && !now.Before(a.nextProbe):
		a.lowSpell, a.probing, a.probeBase = 0, true, rate
		return a.max
	}
	a.lowSpell = 0
	return cur
}

// probed sets the time of the next probe after one that changed the size
// (the load is new: probe again soon) or confirmed it (back off).
func (a *procAdapter) probed(now time.Time, changed bool) {
	if changed {
		a.backoff = procsProbeMin
	} else if a.backoff *= 2; a.backoff > procsProbeMax {
		a.backoff = procsProbeMax
	}
	a.nextProbe = now.Add(a.backoff)
}

// processCPU returns the CPU time (user and system) the process used so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
