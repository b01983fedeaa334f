package server

import (
	"io"
	"testing"
	"time"

	"github.com/reefkv/reef/internal/config"
	"github.com/reefkv/reef/internal/logging"
	"github.com/reefkv/reef/internal/testutil"
)

// A reply queued on the ring holds its client's writer role, so a message
// published to the client before the ring is submitted is written after
// the reply, not before it. (Through a real server the race is too narrow
// to provoke: test/server's subscriber test passes with the role removed.)
func TestQueuedReplyHoldsWriterRole(t *testing.T) {
	srv := New(config.Default(), logging.NewOutput(io.Discard, 0))
	ring := srv.rings.get()
	if ring == nil {
		t.Skip("no io_uring here")
	}
	defer ring.Close()
	peer, nc := testutil.TCPPair(t)
	cc, err := newRawConn(nc)
	if err != nil {
		t.Fatal(err)
	}
	c := srv.newClient(cc)
	defer cc.release()
	l := &eventLoop{srv: srv}
	w := &loopWaiter{l: l, ring: ring}
	c.loop, c.loopFD = l, cc.fd
	c.loopState.Store(loopBusy)
	c.onRunner = true

	c.ctx.Out = append(c.ctx.Out, "+reply\r\n"...)
	if !w.queueReplies(c, nil) {
		t.Fatal("the reply was not queued")
	}
	c.pmu.Lock()
	pushing := c.pushing
	c.pmu.Unlock()
	if !pushing {
		t.Fatal("a queued reply does not hold the client's writer role")
	}
	c.push([]byte(">message\r\n"), 0) // published meanwhile
	w.sendQueued()

	want := "+reply\r\n>message\r\n"
	got := make([]byte, len(want))
	peer.SetReadDeadline(time.Now().Add(10 * time.Second)) // against a hang only
	if _, err := io.ReadFull(peer, got); err != nil || string(got) != want {
		t.Fatalf("the client read %q (%v), want %q", got, err, want)
	}
	if c.loopState.Load() != loopIdle {
		t.Fatalf("client state %d after its replies went, want idle", c.loopState.Load())
	}
}
