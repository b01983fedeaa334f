package server

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/reefkv/reef/internal/clock"
	"github.com/reefkv/reef/internal/resp"
	"github.com/reefkv/reef/internal/uring"
)

// Event loops serve ordinary request/response clients the way Redis does:
// epoll tells a loop which sockets are readable; for each, the loop reads
// once, runs every complete command in the buffer and writes the replies
// once. Compared with a goroutine per connection this saves, per request,
// the read that finds the socket empty and the goroutine's park and wake-up
// through the Go poller: a third of the CPU a small request costs.
//
// There is one loop per GOMAXPROCS at startup, so commands still run on
// every core. (Under light load the node runs them all on one P: procs.go.)
// A client leaves its loop for good, for a goroutine of its own (Go mode,
// client.serve), as soon as it has to wait: a blocking command, WAIT,
// CLIENT PAUSE, a replica's SYNC, a slow socket. Code about to wait calls
// Client.yieldLoop; a watchdog does it for the code that does not, when a
// runner has been busy with one client for longer than stallLimit, so one
// slow command never stalls the loop's other clients for longer than that.
//
// A loop is run by one goroutine at a time, its runner. Yielding starts a
// new runner (the loop's generation is bumped) and the old runner's
// goroutine carries on as the yielding client's own goroutine. A client is
// handled by at most one goroutine at a time (loopState): handling moves it
// from idle to busy, and a runner that meets a busy client (one a replaced
// runner is still serving) marks it evicted and drops it from the epoll
// set; the goroutine serving it then keeps it, in Go mode.

// Client states in its event loop (Client.loopState).
const (
	loopIdle    int32 = iota // waiting in the epoll set
	loopBusy                 // a goroutine is serving it
	loopEvicted              // busy, and removed from the loop by a newer runner
)

// stallLimit is how long a runner may spend on one client before the
// watchdog gives the loop's other clients to a new runner.
// It is generous because the measure is wall time: on a busy machine a
// runner may simply not be scheduled for a while, and each takeover moves a
// client to Go mode for good.
const stallLimit = 50 * time.Millisecond

type eventLoop struct {
	srv  *Server
	epfd int
	wake int // eventfd that interrupts epoll_wait at shutdown

	// epollPoller is epfd as seen by the Go runtime's poller: an idle runner
	// parks there instead of blocking in epoll_wait(2), which would hold
	// one of the scheduler's Ps for as long as the loop is idle (see wait).
	// nil when the runtime cannot poll it; then runners block.
	epollFile   *os.File
	epollPoller syscall.RawConn

	gen       atomic.Uint64 // the current runner's generation
	spin      spinPolicy    // how long the runner polls before parking
	busySince atomic.Int64  // clock.Mono when the runner took its current client; 0 when waiting

	mu    sync.Mutex
	conns []*Client // by descriptor (descriptors are small integers)
}

// startLoops creates one event loop per GOMAXPROCS and their watchdog.
func (s *Server) startLoops() error {
	// Set up the first ring now, so that whether replies are batched
	// (INFO's reef_io_uring) is known before the first client comes.
	if r := s.rings.get(); r != nil {
		s.rings.put(r)
	}
	n := runtime.GOMAXPROCS(0)
	for i := 0; i < n; i++ {
		epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
		if err != nil {
			return fmt.Errorf("epoll_create: %w", err)
		}
		wake, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
		if err != nil {
			unix.Close(epfd)
			return fmt.Errorf("eventfd: %w", err)
		}
		if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, wake, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(wake)}); err != nil {
			return fmt.Errorf("epoll_ctl: %w", err)
		}
		l := &eventLoop{srv: s, epfd: epfd, wake: wake}
		if dup, err := unix.Dup(epfd); err == nil {
			unix.CloseOnExec(dup)
			unix.SetNonblock(dup, true)
			l.epollFile = os.NewFile(uintptr(dup), "epoll")
			if rc, err := l.epollFile.SyscallConn(); err == nil {
				l.epollPoller = rc
			}
		}
		s.loops = append(s.loops, l)
		s.wg.Add(1)
		go l.run(0)
	}
	s.wg.Add(1)
	go s.loopWatchdog()
	return nil
}

// stopLoops wakes every runner so that it sees the server stopping.
func (s *Server) stopLoops() {
	one := []byte{1, 0, 0, 0, 0, 0, 0, 0}
	for _, l := range s.loops {
		unix.Write(l.wake, one)
	}
}

// add registers a raw-mode client with the loop.
func (l *eventLoop) add(c *Client, fd int) error {
	// The fields are set before the table insert: the runner finds the
	// client through the table, under mu, which orders these writes before
	// its reads.
	c.loop = l
	c.loopFD = fd
	l.mu.Lock()
	if fd >= len(l.conns) {
		l.conns = append(l.conns, make([]*Client, fd+1-len(l.conns))...)
	}
	l.conns[fd] = c
	l.mu.Unlock()
	if err := unix.EpollCtl(l.epfd, unix.EPOLL_CTL_ADD, fd, &unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLRDHUP, Fd: int32(fd)}); err != nil {
		l.mu.Lock()
		l.conns[fd] = nil
		l.mu.Unlock()
		c.loop = nil
		return err
	}
	return nil
}

// remove drops a client from the epoll set and the table. Idempotent.
func (l *eventLoop) remove(c *Client) {
	l.mu.Lock()
	if fd := c.loopFD; fd < len(l.conns) && l.conns[fd] == c {
		l.conns[fd] = nil
		unix.EpollCtl(l.epfd, unix.EPOLL_CTL_DEL, c.loopFD, nil)
	}
	l.mu.Unlock()
}

func (l *eventLoop) lookup(fd int32) *Client {
	l.mu.Lock()
	defer l.mu.Unlock()
	if int(fd) >= len(l.conns) {
		return nil
	}
	return l.conns[fd]
}

// isRunner reports whether the goroutine running generation gen still runs
// the loop.
func (l *eventLoop) isRunner(gen uint64) bool { return l.gen.Load() == gen }

// takeover starts a new runner; the current one, when it gets back to the
// loop, sees it was replaced.
func (l *eventLoop) takeover() {
	gen := l.gen.Add(1)
	l.busySince.Store(0)
	l.srv.wg.Add(1)
	go l.run(gen)
}

// run is a runner: it waits for readable sockets and handles their clients
// until it is replaced or the server stops. When it is replaced while in a
// client's command, it returns to serve that client in Go mode.
func (l *eventLoop) run(gen uint64) {
	defer l.srv.wg.Done()
	w := newLoopWaiter(l)
	defer w.release()
	events := w.events
	// busyFrom is when the runner began working without parking (the
	// start of the first client it handled since), 0 when it has not yet;
	// lastStart is the start of the latest client. Both come from the
	// clock reading each handle makes anyway.
	var busyFrom, lastStart int64
	for l.isRunner(gen) {
		w.sendQueued() // the replies of the clients handled since the last look
		if busyFrom != 0 && lastStart-busyFrom > int64(runnerYieldEvery) {
			// Goroutines made runnable meanwhile (a subscriber's writer, a
			// Go-mode client, the cluster bus) wait for a free P, and a
			// runner that always finds more to do frees its P only when
			// the runtime preempts it, after 10 ms: at one P (procs.go)
			// a subscriber fell 256 KB behind in that time and was cut off.
			runtime.Gosched()
			busyFrom = 0
		}
		n, parked, err := w.wait()
		if parked {
			busyFrom = 0
		}
		if err != nil {
			if err == unix.EINTR {
				continue
			}
			l.srv.log.Warn("epoll_wait: " + err.Error())
			return
		}
		if l.srv.ctx.Err() != nil {
			if l.isRunner(gen) {
				l.closeAll()
			}
			return
		}
		for i := 0; i < n; i++ {
			fd := events[i].Fd
			if fd == int32(l.wake) {
				var buf [8]byte
				unix.Read(l.wake, buf[:])
				continue
			}
			if !l.isRunner(gen) {
				return
			}
			c := l.lookup(fd)
			if c == nil {
				continue
			}
			if !c.loopState.CompareAndSwap(loopIdle, loopBusy) {
				// A replaced runner is still in this client's command: it
				// carries the client on in Go mode.
				if c.loopState.CompareAndSwap(loopBusy, loopEvicted) {
					l.remove(c)
				}
				continue
			}
			lastStart = clock.Mono()
			if busyFrom == 0 {
				busyFrom = lastStart
			}
			if l.handle(c, gen, lastStart, w) {
				w.release() // before serving c, for as long as it takes
				c.leaveLoop()
				c.serve()
				return
			}
		}
	}
}

// runnerYieldEvery is how long a runner works without parking before it
// lets other goroutines have its P.
const runnerYieldEvery = 200 * time.Microsecond

// wait returns the loop's next ready events, and whether the runner
// parked for them. It looks without waiting; when nothing is ready it
// polls for a little while (see spinPolicy), then parks the runner in the
// Go poller until the epoll descriptor becomes readable. Blocking in
// epoll_wait(2) would cost one system call less, but a goroutine blocked in
// a system call keeps its P: with every P inside an idle loop's
// epoll_wait, goroutines made runnable meanwhile (a client's pub/sub
// writer, the cluster bus, a replica stream, a Go-mode client) wait until
// the runtime's monitor takes a P back, which takes up to 10 ms after a
// quiet spell.
func (w *loopWaiter) wait() (int, bool, error) {
	l := w.l
	if l.epollPoller == nil {
		n, err := unix.EpollWait(l.epfd, w.events, -1)
		return n, true, err
	}
	// The poller calls the function first and parks only when it finds
	// nothing: one look before parking, not two.
	w.n, w.err, w.looks, w.idleFrom = 0, nil, 0, 0
	if perr := l.epollPoller.Read(w.look); perr != nil {
		// The runtime cannot poll the descriptor after all: block instead.
		l.epollPoller = nil
		n, err := unix.EpollWait(l.epfd, w.events, -1)
		return n, true, err
	}
	parked := w.looks > 1
	if w.idleFrom != 0 {
		now := clock.Mono()
		l.spin.idled(now-w.idleFrom, parked)
		if parked {
			w.lastPark = now
		}
	}
	return w.n, parked, w.err
}

// loopWaiter is a runner's state for wait. It lives as long as the runner
// so that waiting allocates nothing: a closure over wait's locals cost
// five allocations per pass of the loop.
type loopWaiter struct {
	l        *eventLoop
	events   []unix.EpollEvent
	look     func(fd uintptr) bool // w.lookOnce, bound once
	n        int
	err      error
	looks    int   // calls of look in this wait: 2 or more means it parked
	idleFrom int64 // clock.Mono when the first look found nothing
	lastPark int64 // clock.Mono when the runner last woke from a park

	ring   *uring.Ring   // the runner's batch of replies (batchwrite.go); nil without io_uring
	queued []queuedReply // the clients whose replies are on the ring
}

func newLoopWaiter(l *eventLoop) *loopWaiter {
	w := &loopWaiter{l: l, events: make([]unix.EpollEvent, 128), lastPark: clock.Mono(), ring: l.srv.rings.get()}
	w.look = w.lookOnce
	return w
}

// release sends the queued replies and gives the ring back to the loop.
// The runner is done with w.
func (w *loopWaiter) release() {
	if w.ring == nil {
		return
	}
	w.sendQueued()
	w.l.srv.rings.put(w.ring)
	w.ring = nil
}

// lookOnce is the poller's callback: it reports whether events are ready
// (or an error), and the first time it finds none it polls a while before
// letting the poller park the runner.
//
// Not when the runner has not parked for parkAtLeastEvery: goroutines the
// Go poller wakes (Go-mode clients, the cluster bus, replication links,
// accept) run only once the scheduler finds nothing else to run and asks
// the poller; runtime.Gosched does not ask it. A runner whose polls kept
// finding work held them back until the runtime's monitor polled, every
// 10 ms: a Go-mode client's PING under load went from 0.2 ms to 2.5-3 ms
// at the 90th percentile.
func (w *loopWaiter) lookOnce(fd uintptr) bool {
	w.looks++
	w.n, w.err = w.l.poll(w.events)
	if w.n != 0 || w.err != nil || w.looks > 1 {
		return w.n != 0 || w.err != nil
	}
	w.idleFrom = clock.Mono()
	if spin := w.spinWindow(); spin > 0 {
		deadline := w.idleFrom + spin
		for w.n == 0 && w.err == nil && clock.Mono() < deadline {
			// Let the goroutines this runner's P owes time to (a
			// subscriber's writer, the bus, a Go-mode client) run
			// between looks.
			runtime.Gosched()
			w.n, w.err = w.l.poll(w.events)
		}
	}
	return w.n != 0 || w.err != nil
}

// poll looks at the loop's epoll set without waiting.
func (l *eventLoop) poll(events []unix.EpollEvent) (int, error) {
	for {
		n, err := epollPoll(l.epfd, events)
		if err != unix.EINTR {
			return n, err
		}
	}
}

// spinPolicy decides how long an idle runner polls before it parks.
//
// Parking costs little CPU but much time on the way back: the request that
// ends the idle spell has to wake a thread through the Go poller (and, on
// a virtual machine, a vCPU). One redis-benchmark client sending GETs one
// at a time got 16 k/s from a runner that parked and 28 k/s from one that
// polled (Redis: 16 k/s), for about the same server CPU per command; with
// fifty clients the load generator, which wakes the server, spent less CPU
// per request and got 4-6% more through.
//
// Polling pays only when it usually ends in work, so the runner polls for
// spinFor while most polls do: each success banks one credit (up to
// maxCredit), each poll that ends in a park anyway costs failCost, and
// the runner stops polling when the credit runs out. Stopped, it counts
// idle spells that ended within reprobeIdle of parking, ones a poll might
// have caught; after reprobeAfter in a row it tries again, with credit for
// one failure. An idle node never polls, and a node whose clients pause
// for just longer than spinFor between commands wastes two polls in every
// reprobeAfter+2 idle spells.
type spinPolicy struct {
	mu     sync.Mutex // a replaced runner may still be on its way out
	on     bool
	credit int // while on: successes banked, less failCost per failure
	short  int // while off: consecutive short parked spells
}

// spinWindow returns how long the runner may poll in the idle spell that
// began at w.idleFrom: the policy's window, or zero when the runner has
// not parked for parkAtLeastEvery.
func (w *loopWaiter) spinWindow() int64 {
	if w.idleFrom-w.lastPark >= int64(parkAtLeastEvery) {
		return 0
	}
	return w.l.spin.window()
}

// parkAtLeastEvery bounds how long a runner goes on polling without
// parking (lookOnce).
const parkAtLeastEvery = 200 * time.Microsecond

const (
	spinFor      = 20 * time.Microsecond
	maxCredit    = 16
	failCost     = 2
	reprobeIdle  = 100 * time.Microsecond
	reprobeAfter = 8
)

// window returns how long to poll, in nanoseconds.
func (p *spinPolicy) window() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.on {
		return int64(spinFor)
	}
	return 0
}

// idled records an idle spell of idle nanoseconds, which a poll ended or,
// when parked, a wake-up.
func (p *spinPolicy) idled(idle int64, parked bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case p.on && !parked:
		p.credit = min(p.credit+1, maxCredit)
	case p.on:
		if p.credit -= failCost; p.credit < 0 {
			p.on, p.short = false, 0
		}
	case idle <= int64(reprobeIdle):
		if p.short++; p.short >= reprobeAfter {
			p.on, p.credit = true, failCost
		}
	default:
		p.short = 0
	}
}

// handle serves one readable client: one read, every complete command, one
// write. It reports whether the runner was replaced meanwhile (or the
// client evicted), in which case the calling goroutine now owns the client.
// now is a clock.Mono reading taken just before. (Not the reading the
// previous client's last command ended with: its flush may have waited for
// a full socket, and the watchdog would take that wait for this client's.)
// REQUIRES: c.loopState moved to busy by the caller.
func (l *eventLoop) handle(c *Client, gen uint64, now int64, w *loopWaiter) (replaced bool) {
	l.busySince.Store(now)
	c.clockHint = 0 // the last batch's is as old as the wait since
	if l.srv.watchdogAsleep.Load() {
		select {
		case l.srv.watchdogWake <- struct{}{}:
		default:
		}
	}
	c.onRunner = true
	c.runner = w
	defer func() {
		if r := recover(); r != nil {
			l.srv.log.Warn(fmt.Sprintf("panic serving client id=%d: %v\n%s", c.id, r, debug.Stack()))
			l.closeClient(c)
			replaced = false
		}
		if !replaced && l.isRunner(gen) {
			l.busySince.Store(0)
		}
	}()
	if c.killed.Load() {
		l.closeClient(c)
		return false
	}
	cfg := c.srv.cfg.Get()
	c.rd.MaxBulkLen = cfg.ProtoMaxBulkLen
	c.rd.MaxQueryBuffer = cfg.ClientQueryBufferLimit
	readErr := c.rd.FillOnce()
	if errors.Is(readErr, resp.ErrQueryBufferLimit) {
		c.srv.log.Warn("Closing client that reached max query buffer length: " + c.describe())
		l.closeClient(c)
		return false
	}
	c.srv.stats.netInput.Add(int64(c.rd.LastRead()))
	for {
		n, err := c.readBatch()
		if n > 0 {
			c.lastSeen.Store(c.srv.coarseMs.Load())
		}
		for i := 0; i < n; i++ {
			c.processLookedUp(c.batch.command(i), c.batch.specs[i])
			if !l.isRunner(gen) {
				// The goroutine that now owns the client reads the rest,
				// from the next command on, unless the command read from
				// the connection itself meanwhile (a slot export's
				// session, which ends the batch).
				if c.rd.Gen() == c.batch.gen {
					c.rd.Rewind(c.batch.marks[i])
				}
				c.batch.reset()
				return true
			}
			if c.unauthenticatedOverflow() {
				l.closeClient(c)
				return false
			}
			if c.closeAfter || c.killed.Load() {
				c.flush()
				l.closeClient(c)
				return false
			}
			if len(c.ctx.Out) > 64*1024 && !c.flush() {
				l.closeClient(c)
				return false
			}
		}
		if err != nil {
			c.protocolError(err)
			l.closeClient(c)
			return false
		}
		if n == 0 {
			break
		}
	}
	c.batch.reset()
	if l.isRunner(gen) && w.queueReplies(c, readErr) {
		return false // sendQueued finishes the client
	}
	if !c.flush() {
		l.closeClient(c)
		return false
	}
	if !l.isRunner(gen) {
		return true
	}
	if readErr != nil && !errors.Is(readErr, errWouldBlock) {
		l.closeClient(c) // EOF or a socket error, after the pipelined commands
		return false
	}
	c.onRunner = false
	// A newer runner may have evicted the client while we served it: then
	// it is ours to carry on in Go mode.
	return !c.loopState.CompareAndSwap(loopBusy, loopIdle)
}

// closeClient ends a raw-mode client.
func (l *eventLoop) closeClient(c *Client) {
	l.remove(c)
	c.onRunner = false
	c.cc.release()
	c.cleanup()
}

// closeAll ends every client still in the loop (shutdown).
func (l *eventLoop) closeAll() {
	l.mu.Lock()
	var cs []*Client
	for _, c := range l.conns {
		if c != nil {
			cs = append(cs, c)
		}
	}
	l.mu.Unlock()
	for _, c := range cs {
		if c.loopState.CompareAndSwap(loopIdle, loopBusy) {
			l.closeClient(c)
		}
	}
}

// loopWatchdog replaces runners that have been busy with one client for
// longer than stallLimit. After a few ticks with every loop idle it sleeps
// until a runner takes a client: a node with nothing to do should not wake
// up forty times a second (an idle cluster's CPU is mostly such wake-ups).
func (s *Server) loopWatchdog() {
	defer s.wg.Done()
	t := time.NewTicker(stallLimit / 2)
	defer t.Stop()
	idleTicks := 0
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-t.C:
		}
		now := clock.Mono()
		busy := false
		for _, l := range s.loops {
			if since := l.busySince.Load(); since != 0 {
				busy = true
				if now-since > int64(stallLimit) {
					l.takeover()
				}
			}
		}
		if busy {
			idleTicks = 0
			continue
		}
		if idleTicks++; idleTicks < 4 {
			continue
		}
		// Asleep first, then look again: a runner stores busySince before
		// it reads watchdogAsleep, so one of the two sees the other.
		s.watchdogAsleep.Store(true)
		if !s.anyLoopBusy() {
			select {
			case <-s.ctx.Done():
				return
			case <-s.watchdogWake:
			}
		}
		s.watchdogAsleep.Store(false)
		idleTicks = 0
		t.Reset(stallLimit / 2)
	}
}

func (s *Server) anyLoopBusy() bool {
	for _, l := range s.loops {
		if l.busySince.Load() != 0 {
			return true
		}
	}
	return false
}

// yieldLoop is called by code about to wait (a blocking command, WAIT,
// CLIENT PAUSE, SYNC, ...): when the client is being served by its loop's
// runner, the loop gets a new runner and the client switches to Go mode,
// so that the current goroutine may wait without holding up other clients.
func (c *Client) yieldLoop() {
	c.clockHint = 0 // the caller is about to wait
	if c.loop == nil || !c.onRunner {
		return
	}
	// Replies queued by the clients handled before this one in the
	// runner's batch go out now, not after the wait.
	c.runner.release()
	c.loop.takeover()
	c.leaveLoop()
}

// leaveLoop takes the client out of its loop for good and switches its
// connection to Go mode. The calling goroutine owns the client.
func (c *Client) leaveLoop() {
	if c.loop == nil {
		return
	}
	c.loop.remove(c)
	c.loop = nil
	c.onRunner = false
	if err := c.cc.toGo(); err != nil {
		c.killed.Store(true)
	}
}
