package bus

import (
	"context"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/reefkv/reef/internal/cluster/msg"
	"github.com/reefkv/reef/internal/cluster/state"
	"github.com/reefkv/reef/internal/testutil"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func newBus(t *testing.T, limit int64) *Bus {
	t.Helper()
	b, err := Listen(Config{Addr: "127.0.0.1:0", SendBufLimit: limit, DialTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	b.Start(context.Background())
	t.Cleanup(func() { b.Close() })
	return b
}

// next waits for the next event of type T, skipping others.
func next[T state.Input](t *testing.T, b *Bus) T {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case e := <-b.Events():
			if v, ok := e.(T); ok {
				return v
			}
		case <-timeout:
			var zero T
			t.Fatalf("no %T event", zero)
			return zero
		}
	}
}

func port(b *Bus) int { return b.Addr().(*net.TCPAddr).Port }

func ping(typ msg.Type, sender string) *msg.Message {
	id, _ := msg.ParseNodeID(strings.Repeat(sender, 40)[:40])
	return &msg.Message{Type: typ, Sender: id, Port: 7000, CPort: 17000}
}

func TestDialSendReply(t *testing.T) {
	a, b := newBus(t, 0), newBus(t, 0)
	a.Apply([]state.Op{
		{Kind: state.OpDial, Gen: 1, IP: "127.0.0.1", Port: port(b)},
		{Kind: state.OpSend, Gen: 1, Msg: ping(msg.TypeMeet, "a")}, // queued before connect
	})
	if up := next[state.LinkUp](t, a); up.Gen != 1 {
		t.Fatalf("LinkUp gen %d", up.Gen)
	}
	in := next[state.InboundUp](t, b)
	p := next[state.Packet](t, b)
	if p.Inbound != in.Link || p.Msg.Type != msg.TypeMeet || p.PeerIP != "127.0.0.1" || p.LocalIP != "127.0.0.1" {
		t.Fatalf("packet %+v", p)
	}
	b.Apply([]state.Op{{Kind: state.OpSend, Link: p.Inbound, Msg: ping(msg.TypePong, "b")}})
	r := next[state.Packet](t, a)
	if r.Gen != 1 || r.Inbound != 0 || r.Msg.Type != msg.TypePong {
		t.Fatalf("reply %+v", r)
	}
	// A drained link holds no send buffer, as redis-server 7.0.15 reports
	// (send-buffer-allocated 0 on idle links).
	testutil.WaitFor(t, 5*time.Second, "the link's send buffer to drain", func() bool {
		alloc, used := a.LinkBuffers(0, 1)
		return alloc == 0 && used == 0
	})
	// Closing the outbound link is seen on both sides.
	a.Apply([]state.Op{{Kind: state.OpClose, Gen: 1}})
	if d := next[state.LinkDown](t, a); d.Gen != 1 {
		t.Fatal(d)
	}
	if d := next[state.InboundDown](t, b); d.Link != in.Link {
		t.Fatal(d)
	}
}

func TestDialRefused(t *testing.T) {
	a := newBus(t, 0)
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	p := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	a.Apply([]state.Op{{Kind: state.OpDial, Gen: 7, IP: "127.0.0.1", Port: p}})
	if d := next[state.LinkDown](t, a); d.Gen != 7 {
		t.Fatal(d)
	}
}

func rawConn(t *testing.T, b *Bus) net.Conn {
	c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port(b)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	next[state.InboundUp](t, b)
	return c
}

func TestGarbageDropsPeer(t *testing.T) {
	b := newBus(t, 0)
	for name, bytes := range map[string][]byte{
		"signature": []byte("GET / HTTP/1.1\r\n\r\n"),
		"short":     append([]byte("RCmb"), 0, 0, 0, 10),
		"huge":      append([]byte("RCmb"), 0x7f, 0xff, 0xff, 0xff),
	} {
		c := rawConn(t, b)
		c.Write(bytes)
		next[state.InboundDown](t, b)
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Read(make([]byte, 1)); err == nil {
			t.Errorf("%s: connection still open", name)
		}
	}
}

func TestInvalidMessageKeepsLink(t *testing.T) {
	b := newBus(t, 0)
	c := rawConn(t, b)
	bad := msg.Append(nil, ping(msg.TypePing, "c"))
	bad[9] = 2 // version 2: dropped
	good := msg.Append(nil, ping(msg.TypePing, "c"))
	c.Write(append(bad, good...))
	p := next[state.Packet](t, b)
	if p.Msg.Ver != 1 {
		t.Fatal("the invalid message was delivered")
	}
}

func TestSendBufLimit(t *testing.T) {
	a := newBus(t, 10000)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			accepted <- c
		}
	}()
	a.Apply([]state.Op{{Kind: state.OpDial, Gen: 3, IP: "127.0.0.1", Port: ln.Addr().(*net.TCPAddr).Port}})
	next[state.LinkUp](t, a)
	c := <-accepted
	defer c.Close()
	// The peer never reads: the queue grows past the limit and the link is
	// freed.
	big := &msg.Message{Type: msg.TypePublish, Payload: make([]byte, 1<<20)}
	for i := 0; i < 64; i++ {
		a.Apply([]state.Op{{Kind: state.OpSend, Gen: 3, Msg: big}})
	}
	next[state.BufferLimitExceeded](t, a)
	next[state.LinkDown](t, a)
}

func TestCloseStopsEverything(t *testing.T) {
	a, b := newBus(t, 0), newBus(t, 0)
	a.Apply([]state.Op{{Kind: state.OpDial, Gen: 1, IP: "127.0.0.1", Port: port(b)}})
	next[state.LinkUp](t, a)
	next[state.InboundUp](t, b)
	ctx, cancel := context.WithCancel(context.Background())
	c, err := Listen(Config{Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	c.Start(ctx)
	c.Apply([]state.Op{{Kind: state.OpDial, Gen: 1, IP: "127.0.0.1", Port: port(b)}})
	next[state.LinkUp](t, c)
	cancel() // the Start context stops it too
	c.Close()
	a.Close()
	b.Close()
}
