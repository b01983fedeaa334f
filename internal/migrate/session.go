package migrate

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/reefkv/reef/internal/resp"
)

// The migration connection (docs/MIGRATION.md). The target dials the
// source and sends
//
//	CLUSTER SYNCSLOTS SYNC <id> <target-id> <start> <end> [<start> <end> ...]
//
// The source replies +OK and from then on writes the stream: the commands
// that rebuild the slots on the target, in order, with control messages
// among them (all CLUSTER SYNCSLOTS <op> ...):
//
//	PING <offset>   heartbeat with the source's stream offset
//	SNAPSHOTTED     every slot was walked; writes are all forwarded now
//	PAUSED          the source paused writes to the slots: what came
//	                before is their final content
//	ABORT <reason>  the source gave up
//
// The target writes back ACK <offset> (stream bytes applied) regularly,
// DONE <epoch> once it owns the slots, or FAIL <reason>.

// Handoff and protocol timing.
const (
	pingEvery = 100 * time.Millisecond
	// pauseLag is how far behind the target may be when the source pauses
	// writes: the tail it then applies bounds the pause.
	pauseLag = 32 << 10
	// HandoffTimeout bounds how long the source waits for DONE after
	// PAUSED before resolving the outcome from the cluster state.
	HandoffTimeout = 5 * time.Second
	// ackEvery is the most frequent ACK when the target is caught up.
	ackEvery = 2 * time.Millisecond
)

// ExportHooks are the server's part of the source's handoff.
type ExportHooks struct {
	// Freeze locks every slot of the export (writers wait) and Unfreeze
	// releases them.
	Freeze, Unfreeze func()
	// Give binds the slots to the target in this node's cluster state and
	// deletes their keys, with the slots still frozen. epoch is the
	// target's new configEpoch (0 when unknown).
	Give func(epoch uint64) error
	// Resolve decides the outcome after the connection broke between PAUSED
	// and DONE, with the slots frozen: it returns true once the target is
	// known to own the slots, false once it is known not to.
	Resolve func() bool
}

// ServeExport runs the source's side on conn, after the +OK: it walks the
// slots, streams, hands off, and returns nil once the target owns them.
// rd reads what the target writes back. The caller closes conn.
func ServeExport(conn net.Conn, rd *resp.RequestReader, e *Export, h ExportHooks) error {
	done := make(chan int64, 1)
	refused := make(chan struct{}) // the target said FAIL: it did not take the slots
	var wg sync.WaitGroup
	stop := make(chan struct{})
	defer func() {
		close(stop)
		conn.SetDeadline(time.Now()) // unblock the reader and the writer
		wg.Wait()
	}()
	wg.Add(2)
	go func() { // writer
		defer wg.Done()
		t := time.NewTicker(pingEvery)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-e.Wake():
			case <-t.C:
				app, _ := e.Offsets()
				e.AppendControl("PING", strconv.FormatInt(app, 10))
				continue
			}
			for {
				b, err := e.Take()
				if len(b) > 0 {
					conn.SetWriteDeadline(time.Now().Add(time.Minute))
					n, werr := conn.Write(b)
					e.Wrote(n)
					if werr != nil {
						e.Fail(fmt.Errorf("write to target: %w", werr))
						return
					}
				}
				if err != nil || len(b) == 0 {
					break
				}
			}
		}
	}()
	go func() { // reader
		defer wg.Done()
		for {
			conn.SetReadDeadline(time.Now().Add(time.Minute))
			args, err := rd.ReadCommand()
			if err != nil {
				e.Fail(fmt.Errorf("connection to target: %w", err))
				return
			}
			if len(args) < 3 {
				continue
			}
			switch strings.ToUpper(string(args[2])) {
			case "ACK":
				if len(args) > 3 {
					if n, err := strconv.ParseInt(string(args[3]), 10, 64); err == nil {
						e.Ack(n)
					}
				}
			case "DONE":
				var ep int64
				if len(args) > 3 {
					ep, _ = strconv.ParseInt(string(args[3]), 10, 64)
				}
				done <- ep
				return
			case "FAIL":
				msg := "target failed"
				if len(args) > 3 {
					msg = "target: " + string(args[3])
				}
				close(refused)
				e.Fail(errors.New(msg))
				return
			}
		}
	}()
	if err := e.Walk(); err != nil {
		e.AppendControl("ABORT", err.Error())
		return err
	}
	e.AppendControl("SNAPSHOTTED")
	// Wait until the target is nearly caught up, then pause.
	for e.waiting() > pauseLag {
		select {
		case <-e.Done():
			return e.Err()
		case <-e.drain:
		case <-time.After(10 * time.Millisecond):
		}
	}
	e.SetStatus("handoff")
	h.Freeze()
	e.AppendControl("PAUSED")
	select {
	case ep := <-done:
		err := h.Give(uint64(ep))
		h.Unfreeze()
		if err != nil {
			return fmt.Errorf("the target owns the slots but this node could not record it: %w", err)
		}
		e.SetStatus("success")
		return nil
	case <-refused:
		// The target reported that it could not take the slots.
		h.Unfreeze()
		return e.Err()
	case <-e.Done():
		select {
		case <-refused:
			h.Unfreeze()
			return e.Err()
		default:
		}
	case <-time.After(HandoffTimeout):
	}
	// The handoff's outcome is unknown: the target may own the slots.
	// Keep writes paused until the cluster tells.
	e.SetStatus("resolving")
	owned := h.Resolve()
	if owned {
		err := h.Give(0)
		h.Unfreeze()
		e.SetStatus("success")
		return err
	}
	h.Unfreeze()
	if err := e.Err(); err != nil {
		return err
	}
	return errors.New("handoff timed out")
}

// ImportHooks are the server's part of the target's side.
type ImportHooks struct {
	// Apply runs one command of the stream on the slots (as a replicated
	// command: no redirection, no expiry) and returns its error reply.
	Apply func(argv [][]byte) error
	// Flip is called at PAUSED: it makes this node the slots' owner (after
	// its replicas caught up) and returns its new configEpoch.
	Flip func() (uint64, error)
	// Progress reports bytes applied and keys received.
	Progress func(bytes, keys int64)
}

// ErrBeforeFlip wraps the failures after which this node does not own the
// slots (the caller drops what it imported).
var ErrBeforeFlip = errors.New("slot import failed")

// RunImport runs the target's side on conn (already authenticated): it
// asks the source to sync the slot ranges, applies the stream, takes the
// slots at PAUSED and tells the source. A nil error means this node owns
// the slots. Cancelling ctx stops it (FAIL is sent to the source).
func RunImport(ctx context.Context, conn net.Conn, id, myID string, ranges [][2]int, h ImportHooks) error {
	args := []string{"CLUSTER", "SYNCSLOTS", "SYNC", id, myID}
	for _, r := range ranges {
		args = append(args, strconv.Itoa(r[0]), strconv.Itoa(r[1]))
	}
	w := bufio.NewWriterSize(conn, 4096)
	var wmu sync.Mutex
	send := func(a ...string) error {
		wmu.Lock()
		defer wmu.Unlock()
		conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
		w.Write(resp.AppendCommand(nil, a...))
		return w.Flush()
	}
	stopWatch := context.AfterFunc(ctx, func() {
		send("CLUSTER", "SYNCSLOTS", "FAIL", "cancelled")
		conn.SetDeadline(time.Now())
	})
	defer stopWatch()
	if err := send(args...); err != nil {
		return fmt.Errorf("%w: send SYNC: %v", ErrBeforeFlip, err)
	}
	br := bufio.NewReaderSize(conn, 64<<10)
	conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	line, err := br.ReadString('\n')
	if err != nil {
		return fmt.Errorf("%w: %v", ErrBeforeFlip, err)
	}
	line = strings.TrimRight(line, "\r\n")
	if line != "+OK" {
		return fmt.Errorf("%w: source refused: %s", ErrBeforeFlip, strings.TrimPrefix(line, "-"))
	}
	rd := resp.NewRequestReader(br)
	rd.FromMaster = true
	base := rd.TotalRead()
	var keys int64
	lastAck, acked := time.Now(), int64(0)
	for {
		conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		argv, err := rd.ReadCommand()
		if err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("%w: %v", ErrBeforeFlip, ErrAborted)
			}
			return fmt.Errorf("%w: stream: %v", ErrBeforeFlip, err)
		}
		off := rd.TotalRead() - int64(rd.Buffered()) - base
		if len(argv) >= 3 && strings.EqualFold(string(argv[0]), "cluster") && strings.EqualFold(string(argv[1]), "syncslots") {
			switch strings.ToUpper(string(argv[2])) {
			case "PAUSED":
				ep, err := h.Flip()
				if err != nil {
					send("CLUSTER", "SYNCSLOTS", "FAIL", err.Error())
					return fmt.Errorf("%w: take slots: %v", ErrBeforeFlip, err)
				}
				// We own the slots now: should DONE not reach the source,
				// it learns the new owner from the cluster bus.
				send("CLUSTER", "SYNCSLOTS", "DONE", strconv.FormatUint(ep, 10))
				return nil
			case "ABORT":
				msg := "aborted"
				if len(argv) > 3 {
					msg = string(argv[3])
				}
				return fmt.Errorf("%w: source: %s", ErrBeforeFlip, msg)
			}
		} else {
			if err := h.Apply(argv); err != nil {
				send("CLUSTER", "SYNCSLOTS", "FAIL", err.Error())
				return fmt.Errorf("%w: apply %s: %v", ErrBeforeFlip, argv[0], err)
			}
			keys++
		}
		if h.Progress != nil {
			h.Progress(off, keys)
		}
		// Acknowledge when caught up (nothing buffered), at most every
		// ackEvery, or every 100 ms while behind.
		if off != acked && (rd.Buffered() == 0 && time.Since(lastAck) >= ackEvery || time.Since(lastAck) >= pingEvery) {
			if err := send("CLUSTER", "SYNCSLOTS", "ACK", strconv.FormatInt(off, 10)); err != nil {
				return fmt.Errorf("%w: %v", ErrBeforeFlip, err)
			}
			acked, lastAck = off, time.Now()
		}
	}
}
