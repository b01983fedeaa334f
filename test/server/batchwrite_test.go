package server

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/reefkv/reef/internal/resp"
	"github.com/reefkv/reef/internal/testutil"
	"github.com/reefkv/reef/internal/uring"
)

// Replies batched on io_uring (internal/server/batchwrite.go). These tests
// run the server with one event loop (GOMAXPROCS=1), so that every client
// shares the runner whose ring holds the replies.

// requireBatchedReplies fails when the kernel offers io_uring but the
// server does not batch its replies on it: the other tests of this file
// would then test the plain path only.
func requireBatchedReplies(t *testing.T, p *testutil.Proc) {
	t.Helper()
	r, err := uring.New(4)
	if err != nil {
		t.Logf("no io_uring on this kernel (%v): replies are written one call each", err)
		return
	}
	r.Close()
	v, err := testutil.MustDial(t, p.Addr()).Do("INFO", "server")
	if err != nil {
		t.Fatal(err)
	}
	if got := testutil.InfoField(v.Text(), "reef_io_uring"); got != "yes" {
		t.Fatalf("reef_io_uring:%s, want yes on a kernel with io_uring", got)
	}
}

// Replies queued on the runner's ring go out before a client of the same
// batch blocks: BLPOP hands the loop to a new runner and waits, and the
// GETs read just before it must not wait for the list to get an element.
// Each round sends GETs on many connections and BLPOP last, all before
// reading anything, so that one look of the loop finds them together
// (epoll reports sockets in the order they became readable).
func TestQueuedRepliesSentBeforeBlocking(t *testing.T) {
	t.Setenv("GOMAXPROCS", "1")
	p := testutil.StartReef(t)
	requireBatchedReplies(t, p)
	ctl := testutil.MustDial(t, p.Addr())
	if v, err := ctl.Do("SET", "k", "v"); err != nil || v.Text() != "OK" {
		t.Fatalf("SET: %q %v", v.Text(), err)
	}
	const getters = 100 // more than a ring holds (64): a look may fill it
	for round := 0; round < 5; round++ {
		conns := make([]*testutil.Conn, getters)
		for i := range conns {
			conns[i] = testutil.MustDial(t, p.Addr())
		}
		blocker := testutil.MustDial(t, p.Addr())
		list := "list" + strconv.Itoa(round)
		for _, c := range conns {
			if err := c.WriteRaw(resp.AppendCommand(nil, "GET", "k")); err != nil {
				t.Fatal(err)
			}
		}
		if err := blocker.WriteRaw(resp.AppendCommand(nil, "BLPOP", list, "0")); err != nil {
			t.Fatal(err)
		}
		// Bounded against a hang only: each reply comes in microseconds.
		for i, c := range conns {
			c.SetDeadline(time.Now().Add(10 * time.Second))
			v, err := c.R.ReadReply()
			if err != nil || v.Text() != "v" {
				t.Fatalf("round %d: GET on connection %d while BLPOP waits: %q %v", round, i, v.Text(), err)
			}
		}
		if v, err := ctl.Do("RPUSH", list, "x"); err != nil || v.Int != 1 {
			t.Fatalf("RPUSH: %v %v", v, err)
		}
		blocker.SetDeadline(time.Now().Add(10 * time.Second))
		if v, err := blocker.R.ReadReply(); err != nil || len(v.Elems) != 2 || v.Elems[1].Text() != "x" {
			t.Fatalf("BLPOP: %v %v", v, err)
		}
	}
}

// A client that stops reading fills its socket: the send that finds it
// full moves the client to a goroutine of its own, which writes the rest
// when the client reads again, without losing or reordering a byte, while
// the loop's other clients go on being served.
func TestFullSocketKeepsEveryReply(t *testing.T) {
	t.Setenv("GOMAXPROCS", "1")
	p := testutil.StartReef(t)
	requireBatchedReplies(t, p)
	ctl := testutil.MustDial(t, p.Addr())
	values := make([]string, 8)
	for i := range values {
		values[i] = strings.Repeat(string(rune('a'+i)), 3000+i)
		if v, err := ctl.Do("SET", "k"+strconv.Itoa(i), values[i]); err != nil || v.Text() != "OK" {
			t.Fatalf("SET: %q %v", v.Text(), err)
		}
	}
	// Pipelines of 8 GETs: 24 KB of replies, under the 64 KB at which a
	// batch flushes before it ends, so each goes to the ring.
	var pipeline []byte
	for i := range values {
		pipeline = resp.AppendCommand(pipeline, "GET", "k"+strconv.Itoa(i))
	}
	// A small receive buffer, so that the socket fills after a few
	// pipelines.
	d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		rc.Control(func(fd uintptr) { syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
		return nil
	}}
	nc, err := d.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	slow := &testutil.Conn{Conn: nc, R: resp.NewReplyReader(nc)}
	// One pipeline at a time, each run before the next is sent, until
	// one is not run within a second: the server is waiting to write the
	// replies the client does not read.
	sent := 0
	for ; sent < 1000; sent++ {
		before := getCalls(t, ctl)
		if err := slow.WriteRaw(pipeline); err != nil {
			t.Fatal(err)
		}
		if !testutil.Poll(time.Second, func() bool { return getCalls(t, ctl) >= before+int64(len(values)) }) {
			sent++ // sent, and to be answered once the client reads
			break
		}
	}
	if sent == 1000 {
		t.Fatal("the server ran 1000 pipelines whose 24 MB of replies were never read")
	}
	// The loop's other clients are served meanwhile.
	other := testutil.MustDial(t, p.Addr())
	for i := 0; i < 10; i++ {
		if v, err := other.Do("GET", "k0"); err != nil || v.Text() != values[0] {
			t.Fatalf("GET while a client's socket is full: %v", err)
		}
	}
	// Every pipeline is answered in full and in order.
	for n := 0; n < sent*len(values); n++ {
		i := n % len(values)
		slow.SetReadDeadline(time.Now().Add(2 * time.Second))
		v, err := slow.R.ReadReply()
		if err != nil {
			t.Fatalf("reply %d of %d: %v", n, sent*len(values), err)
		}
		if v.Text() != values[i] {
			t.Fatalf("reply %d: %d bytes starting %q, want GET k%d", n, len(v.Str), trimTo(v.Text(), 8), i)
		}
	}
}

// A subscriber's own replies, sent through the ring, and the messages
// published to it, sent by its push queue's writer, share its socket. A
// RESP3 subscriber pipelines PINGs while another client publishes; every
// frame must come whole, the PINGs in order and the messages in order.
// (The narrower race, a message published while a reply waits on the
// ring, is tested in internal/server: this test passes without the
// writer role that orders them.)
func TestRepliesAndMessagesDoNotInterleave(t *testing.T) {
	t.Setenv("GOMAXPROCS", "1")
	p := testutil.StartReef(t)
	requireBatchedReplies(t, p)
	sub := testutil.MustDial(t, p.Addr())
	if v, err := sub.Do("HELLO", "3"); err != nil || v.Kind != resp.KindMap {
		t.Fatalf("HELLO 3: %v %v", v, err)
	}
	if v, err := sub.Do("SUBSCRIBE", "ch"); err != nil || v.Kind != resp.KindPush {
		t.Fatalf("SUBSCRIBE: %v %v", v, err)
	}
	const pings, messages = 3000, 3000
	payload := strings.Repeat("m", 200)
	pubDone := make(chan error, 1)
	go func() {
		pub, err := testutil.Dial(p.Addr())
		if err != nil {
			pubDone <- err
			return
		}
		defer pub.Close()
		for i := 0; i < messages; i++ {
			if _, err := pub.Do("PUBLISH", "ch", payload+strconv.Itoa(i)); err != nil {
				pubDone <- err
				return
			}
		}
		pubDone <- nil
	}()
	go func() {
		for i := 0; i < pings; i += 10 {
			var b []byte
			for j := i; j < i+10; j++ {
				b = resp.AppendCommand(b, "PING", "p"+strconv.Itoa(j))
			}
			if sub.WriteRaw(b) != nil {
				return
			}
		}
	}()
	nextPing, nextMsg := 0, 0
	for nextPing < pings || nextMsg < messages {
		sub.SetReadDeadline(time.Now().Add(10 * time.Second))
		v, err := sub.R.ReadReply()
		if err != nil {
			t.Fatalf("after %d PINGs and %d messages: %v", nextPing, nextMsg, err)
		}
		switch {
		case v.Kind == resp.KindPush && len(v.Elems) == 3 && v.Elems[0].Text() == "message":
			if want := payload + strconv.Itoa(nextMsg); v.Elems[2].Text() != want {
				t.Fatalf("message %d: %q", nextMsg, trimTo(v.Elems[2].Text(), 20))
			}
			nextMsg++
		case v.Kind == resp.KindBulk:
			if want := "p" + strconv.Itoa(nextPing); v.Text() != want {
				t.Fatalf("PING reply %d: %q", nextPing, v.Text())
			}
			nextPing++
		default:
			t.Fatalf("unexpected frame after %d PINGs and %d messages: %v", nextPing, nextMsg, v)
		}
	}
	if err := <-pubDone; err != nil {
		t.Fatal(err)
	}
}

// getCalls is how many GETs the server has run (INFO commandstats).
func getCalls(t *testing.T, c *testutil.Conn) int64 {
	t.Helper()
	v, err := c.Do("INFO", "commandstats")
	if err != nil {
		t.Fatal(err)
	}
	f := testutil.InfoField(v.Text(), "cmdstat_get")
	if f == "" {
		return 0 // no GET yet
	}
	calls, _, _ := strings.Cut(strings.TrimPrefix(f, "calls="), ",")
	n, err := strconv.ParseInt(calls, 10, 64)
	if err != nil {
		t.Fatalf("cmdstat_get:%s: %v", f, err)
	}
	return n
}

func trimTo(s string, n int) string {
	if len(s) > n {
		return s[:n] + fmt.Sprintf("...(%d bytes)", len(s))
	}
	return s
}
