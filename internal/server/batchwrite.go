package server

import (
	"errors"
	"os"
	"sync"
	"syscall"

	"github.com/reefkv/reef/internal/uring"
)

// Batched replies. On the machines Reef is measured on, a system call
// costs about a microsecond before it does anything (a virtual machine
// whose guest kernel sits behind a hypervisor switch), and a request's
// send(2) was a tenth of what a small request costs the server. So a
// runner does not write each client's replies when it has run its
// commands: it queues them on an io_uring ring (internal/uring), and
// hands the whole queue to the kernel in one system call before it looks
// for more work: one call for the five to ten clients a look usually
// finds at fifty connections, instead of one each. Ten sends cost the
// machine 36 us that way against 67 us one call each (its busy CPU while
// internal/uring's benchmark ran).
//
// A client whose replies wait on the ring stays busy in its loop, and
// holds the writer role of its push queue (Client.pushing), so that a
// pub/sub message published meanwhile queues behind the replies instead of
// overtaking them. Once sent, it goes back to its loop as a handled client
// does. A client whose socket is too full to take everything moves to Go
// mode, whose goroutine waits to write the rest: the runner never waits.
// Where the kernel has no io_uring, replies are written one call each, as
// before.

// ringEntries is the most replies a runner queues before it submits them.
const ringEntries = 64

// ringPool keeps the rings of the loops' runners: a runner takes one when
// it starts and gives it back when it ends, so the blocking commands that
// start new runners do not each set one up.
type ringPool struct {
	mu       sync.Mutex
	free     []*uring.Ring
	disabled bool // io_uring could not be set up, or a ring failed: no more rings
}

// get returns a ring, or nil when io_uring is not to be used.
func (p *ringPool) get() *uring.Ring {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.disabled || noRing {
		return nil
	}
	if n := len(p.free); n > 0 {
		r := p.free[n-1]
		p.free = p.free[:n-1]
		return r
	}
	r, err := uring.New(ringEntries)
	if err != nil {
		p.disabled = true
		return nil
	}
	return r
}

// put gives back a ring get returned.
func (p *ringPool) put(r *uring.Ring) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.disabled {
		r.Close()
		return
	}
	p.free = append(p.free, r)
}

// disable stops handing out rings: one failed.
func (p *ringPool) disable() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.disabled = true
	for _, r := range p.free {
		r.Close()
	}
	p.free = nil
}

// batchedReplies reports whether the event loops batch replies on io_uring
// rings (INFO server's reef_io_uring).
func (s *Server) batchedReplies() bool {
	p := &s.rings
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(s.loops) > 0 && !p.disabled && !noRing
}

// queuedReply is a client whose replies are queued on the runner's ring.
type queuedReply struct {
	c       *Client
	readErr error // what the client's read returned: EOF closes it once sent
	res     int32 // the send's result
}

// queueReplies queues c's replies on the runner's ring instead of writing
// them, and reports whether it did. It does not when flush would not
// write them either (none, or a replica or master link), or when they must
// wait behind queued pub/sub output (flush appends them there).
func (w *loopWaiter) queueReplies(c *Client, readErr error) bool {
	if w.ring == nil || len(c.ctx.Out) == 0 || c.repliesDiscarded() || c.killed.Load() {
		return false
	}
	if w.ring.Free() == 0 {
		w.sendQueued()
		if w.ring == nil {
			return false // the ring failed
		}
	}
	c.pmu.Lock()
	if c.pushing || len(c.pending) > 0 {
		c.pmu.Unlock()
		return false
	}
	c.pushing = true // the runner is the client's writer until the send
	c.pmu.Unlock()
	c.clockHint = 0
	w.ring.Send(c.loopFD, c.ctx.Out, uint64(len(w.queued)))
	w.queued = append(w.queued, queuedReply{c: c, readErr: readErr})
	return true
}

// sendQueued submits the queued replies in one system call and finishes
// their clients as handle does after a flush.
func (w *loopWaiter) sendQueued() {
	if len(w.queued) == 0 {
		return
	}
	l := w.l
	err := w.ring.Submit(func(tag uint64, res int32) { w.queued[tag].res = res })
	if err != nil {
		// The ring failed as a whole: what was sent is unknown, so those
		// connections cannot go on. The ring is dropped (its buffers stay
		// referenced by it), and later replies are written directly.
		l.srv.log.Warn("io_uring: " + err.Error() + "; writing replies directly from now on")
		w.ring = nil
		l.srv.rings.disable()
		for i := range w.queued {
			w.queued[i].res = -int32(syscall.EIO)
		}
	}
	for i := range w.queued {
		q := &w.queued[i]
		c := q.c
		switch c.repliesSent(q.res) {
		case sendFailed:
			l.closeClient(c)
		case sendPartial:
			// The socket is full: the client leaves the loop for a
			// goroutine that waits to write the rest, as a flush would,
			// and then serves it. Its commands are not read meanwhile,
			// so its replies cannot pile up.
			l.serveAlone(c, true)
		default:
			if q.readErr != nil && !errors.Is(q.readErr, errWouldBlock) {
				l.closeClient(c) // EOF or a socket error, after the replies
				break
			}
			c.onRunner = false
			if !c.loopState.CompareAndSwap(loopBusy, loopIdle) {
				// A newer runner evicted the client meanwhile: it is ours
				// to carry on in Go mode, as handle's caller would.
				l.serveAlone(c, false)
			}
		}
		*q = queuedReply{}
	}
	w.queued = w.queued[:0]
}

// serveAlone gives c, which the calling runner owns, a goroutine of its
// own that serves it in Go mode, after writing what a partial send left in
// c.ctx.Out when rest is set.
func (l *eventLoop) serveAlone(c *Client, rest bool) {
	l.srv.wg.Add(1)
	go func() {
		defer l.srv.wg.Done()
		c.leaveLoop()
		if rest && !c.writeRest() {
			c.cleanup()
			return
		}
		c.serve()
	}()
}

// The outcomes of a queued send.
const (
	sendDone    = iota // every byte went
	sendPartial        // the socket took part (or none): the rest is in c.ctx.Out
	sendFailed         // the connection failed
)

// repliesSent finishes a send of c.ctx.Out that returned res (bytes, or a
// negative errno). When everything went, or the connection failed, it gives
// up the writer role queueReplies took; after a partial send the caller
// keeps the role until writeRest.
func (c *Client) repliesSent(res int32) int {
	out := c.ctx.Out
	if c.cc.io != nil {
		c.cc.io.writes.Add(1) // as clientConn.Write counts a write
	}
	written, outcome := 0, sendDone
	switch {
	case res >= 0:
		written = int(res)
		if written < len(out) {
			outcome = sendPartial
		}
	case res == -int32(syscall.EAGAIN) || res == -int32(syscall.EINTR):
		outcome = sendPartial
	default:
		outcome = sendFailed
	}
	c.srv.stats.netOutput.Add(int64(written))
	if outcome == sendPartial {
		c.ctx.Out = append(out[:0], out[written:]...)
		return outcome
	}
	c.writeDone(outcome == sendFailed)
	return outcome
}

// releaseWriter gives up the writer role of c's push queue: the push
// queue's goroutine takes over when output was pushed meanwhile, unless
// the connection failed (failed), which drops that output.
func (c *Client) releaseWriter(failed bool) {
	c.pmu.Lock()
	if failed {
		c.pending = nil
	}
	start := len(c.pending) > 0
	c.pushing = start
	c.pmu.Unlock()
	if start {
		go c.pushLoop()
	}
}

// writeRest writes what a partial send left in c.ctx.Out as the push
// queue's writer does (waiting for the socket up to a minute), then gives
// up the writer role. It reports false when the connection failed. The
// caller owns c, in Go mode.
func (c *Client) writeRest() bool {
	err := c.writePushed(c.ctx.Out)
	c.writeDone(err != nil)
	return err == nil
}

// writeDone ends the write of c.ctx.Out that queueReplies began: it gives
// up the writer role (dropping pushed output when the connection failed)
// and empties the buffer.
func (c *Client) writeDone(failed bool) {
	c.releaseWriter(failed)
	c.resetOut()
	c.shown.store(c)
}

// noRing turns batched replies off (REEF_IO_URING=0), for comparisons.
var noRing = os.Getenv("REEF_IO_URING") == "0"
