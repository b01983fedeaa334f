package msg

import (
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/reefkv/reef/internal/slot"
	"github.com/reefkv/reef/internal/testutil"
)

// TestCapture regenerates testdata/*.bin from a real redis-server 7.0. It
// runs only with REEF_CAPTURE=1: the checked-in captures are the golden
// files, and regenerating them changes node IDs.
//
// Fake nodes (Go code speaking the bus through this package) join real
// redis-server processes and record what those send them.
func TestCapture(t *testing.T) {
	if os.Getenv("REEF_CAPTURE") != "1" {
		t.Skip("set REEF_CAPTURE=1 to regenerate testdata from a real redis-server")
	}
	manifest := map[string]string{}
	save := func(name string, f frame) {
		if err := os.WriteFile(filepath.Join("testdata", name+".bin"), f.raw, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	args := []string{"--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "1000"}

	// R1: a master with slots and an announced hostname.
	r1 := testutil.StartRedis(t, append(args, "--cluster-announce-hostname", "node1.example")...)
	c1 := testutil.MustDial(t, r1.Addr())
	do(t, c1, "CLUSTER", "SET-CONFIG-EPOCH", "5")
	do(t, c1, "CLUSTER", "ADDSLOTSRANGE", "0", "8191")
	r1id := do(t, c1, "CLUSTER", "MYID")
	r1bus := r1.Port + 10000
	manifest["r1"] = r1id
	manifest["r1port"] = strconv.Itoa(r1.Port)

	a := newFake(t, "a")
	manifest["a"] = a.id.String()
	do(t, c1, "CLUSTER", "MEET", "127.0.0.1", strconv.Itoa(a.port), strconv.Itoa(a.cport))
	save("meet", a.wait(t, TypeMeet, "in"))
	a.dial(t, r1bus)
	save("pong", a.wait(t, TypePong, "out"))
	save("ping", a.wait(t, TypePing, "in"))

	do(t, c1, "PUBLISH", "news", "hello world")
	save("publish", a.wait(t, TypePublish, "in"))

	// D: a replica of R1, so SPUBLISH reaches it as PUBLISHSHARD.
	d := newFake(t, "d")
	d.set(func(f *fake) {
		f.flags = FlagSlave | FlagMyself
		f.slaveof, _ = ParseNodeID(r1id)
		f.configEpoch = 5
		for s := 0; s <= 8191; s++ {
			f.slots.Add(s)
		}
	})
	do(t, c1, "CLUSTER", "MEET", "127.0.0.1", strconv.Itoa(d.port), strconv.Itoa(d.cport))
	d.wait(t, TypeMeet, "in")
	d.dial(t, r1bus)
	d.wait(t, TypePong, "out")
	testutil.WaitFor(t, 5*time.Second, "R1 to see D as its replica", func() bool {
		return strings.Contains(do(t, c1, "CLUSTER", "NODES"), "slave "+r1id)
	})
	do(t, c1, "SPUBLISH", "news", "shard hello") // slot of "news" is 6232, owned by R1
	save("publishshard", d.wait(t, TypePublishShard, "in"))

	// C: answers the MEET, then goes silent: R1 alone is the quorum and
	// broadcasts FAIL about it.
	c := newFake(t, "c")
	manifest["c"] = c.id.String()
	do(t, c1, "CLUSTER", "MEET", "127.0.0.1", strconv.Itoa(c.port), strconv.Itoa(c.cport))
	c.wait(t, TypeMeet, "in")
	testutil.WaitFor(t, 5*time.Second, "R1 to know C by name", func() bool {
		return strings.Contains(do(t, c1, "CLUSTER", "NODES"), c.id.String())
	})
	c.silent.Store(true)
	testutil.WaitFor(t, 5*time.Second, "R1 to flag C fail?", func() bool {
		return strings.Contains(do(t, c1, "CLUSTER", "NODES"), "master,fail?")
	})
	// Failure reports travel in gossip: A (a master) reports C as PFAIL.
	a.send(&Message{Type: TypePing, Gossip: []Gossip{{Node: c.id, IP: "127.0.0.1", Port: uint16(c.port), CPort: uint16(c.cport), Flags: FlagMaster | FlagPFail}}})
	save("fail", a.wait(t, TypeFail, "in"))

	// UPDATE: A claims slot 0 (owned by R1, configEpoch 5) with configEpoch 1.
	a.set(func(f *fake) { f.slots.Add(0); f.configEpoch = 1 })
	a.ping()
	save("update", a.wait(t, TypeUpdate, "in"))

	// AUTH_ACK: A owns 8192-16383, B is its replica; B tells R1 that A
	// failed and asks for a vote.
	a.set(func(f *fake) {
		f.slots = slot.Set{}
		for s := 8192; s < slot.Count; s++ {
			f.slots.Add(s)
		}
	})
	a.ping()
	testutil.WaitFor(t, 5*time.Second, "R1 to bind 8192-16383 to A", func() bool {
		return strings.Contains(do(t, c1, "CLUSTER", "NODES"), "8192-16383")
	})
	b := newFake(t, "b")
	manifest["b"] = b.id.String()
	b.set(func(f *fake) {
		f.flags = FlagSlave | FlagMyself
		f.slaveof = a.id
		f.configEpoch = 1
		f.slots = a.slots
	})
	do(t, c1, "CLUSTER", "MEET", "127.0.0.1", strconv.Itoa(b.port), strconv.Itoa(b.cport))
	b.wait(t, TypeMeet, "in")
	b.dial(t, r1bus)
	b.wait(t, TypePong, "out")
	a.silent.Store(true)
	b.send(&Message{Type: TypeFail, Fail: a.id})
	testutil.WaitFor(t, 5*time.Second, "R1 to mark A failed", func() bool {
		return strings.Contains(do(t, c1, "CLUSTER", "NODES"), "master,fail")
	})
	b.set(func(f *fake) { f.currentEpoch = 6 })
	b.send(&Message{Type: TypeFailoverAuthRequest})
	save("auth-ack", b.wait(t, TypeFailoverAuthAck, "in"))
	// R1 now knows 6 nodes: its pings carry gossip, including FAIL flags.
	save("ping-gossip", b.waitFn(t, func(fr frame) bool { return fr.m.Type == TypePing && fr.dir == "in" && len(fr.m.Gossip) > 0 }))

	// R2: a replica of the fake master A2, for MFSTART and AUTH_REQUEST.
	r2 := testutil.StartRedis(t, args...)
	c2 := testutil.MustDial(t, r2.Addr())
	manifest["r2"] = do(t, c2, "CLUSTER", "MYID")
	a2 := newFake(t, "a2")
	manifest["a2"] = a2.id.String()
	a2.set(func(f *fake) {
		f.configEpoch = 1
		f.currentEpoch = 1
		for s := 0; s < slot.Count; s++ {
			f.slots.Add(s)
		}
	})
	do(t, c2, "CLUSTER", "MEET", "127.0.0.1", strconv.Itoa(a2.port), strconv.Itoa(a2.cport))
	a2.wait(t, TypeMeet, "in")
	a2.dial(t, r2.Port+10000)
	a2.wait(t, TypePong, "out")
	testutil.WaitFor(t, 5*time.Second, "R2 to know A2", func() bool {
		return strings.Contains(do(t, c2, "CLUSTER", "NODES"), a2.id.String()+" 127.0.0.1")
	})
	do(t, c2, "CLUSTER", "REPLICATE", a2.id.String())
	a2.drain()
	save("ping-replica", a2.wait(t, TypePing, "in"))
	do(t, c2, "CLUSTER", "FAILOVER")
	save("mfstart", a2.wait(t, TypeMFStart, "in"))
	do(t, c2, "CLUSTER", "FAILOVER", "FORCE")
	save("auth-req", a2.wait(t, TypeFailoverAuthRequest, "in"))

	var sb strings.Builder
	for _, k := range []string{"r1", "r1port", "a", "b", "c", "r2", "a2"} {
		sb.WriteString(k + " " + manifest[k] + "\n")
	}
	if err := os.WriteFile("testdata/manifest.txt", []byte(sb.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

func do(t *testing.T, c *testutil.Conn, args ...string) string {
	t.Helper()
	v, err := c.Do(args...)
	if err != nil {
		t.Fatalf("%v: %v", args, err)
	}
	if v.IsError() {
		t.Fatalf("%v: %s", args, v.Text())
	}
	return v.Text()
}

type frame struct {
	dir string // "in": on a link the real node opened; "out": on ours
	raw []byte
	m   *Message
}

// fake is a minimal cluster node: it answers PING/MEET with PONG and
// records every frame it receives.
type fake struct {
	t      *testing.T
	id     NodeID
	ln     net.Listener
	port   int
	cport  int
	silent atomic.Bool
	frames chan frame

	mu           sync.Mutex
	flags        uint16
	slaveof      NodeID
	slots        slot.Set
	configEpoch  uint64
	currentEpoch uint64
	out          net.Conn
}

func newFake(t *testing.T, name string) *fake {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	f := &fake{t: t, ln: ln, frames: make(chan frame, 1000), flags: FlagMaster | FlagMyself}
	id := strings.Repeat(name, NodeIDLen)[:NodeIDLen-len(name)] + name
	id = strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'f' || r >= '0' && r <= '9' {
			return r
		}
		return 'f'
	}, id)
	copy(f.id[:], id)
	f.cport = ln.Addr().(*net.TCPAddr).Port
	f.port = f.cport - 1
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { c.Close() })
			go f.read(c, "in")
		}
	}()
	return f
}

func (f *fake) set(fn func(*fake)) { f.mu.Lock(); fn(f); f.mu.Unlock() }

func (f *fake) header(t Type) *Message {
	f.mu.Lock()
	defer f.mu.Unlock()
	return &Message{Type: t, Port: uint16(f.port), CPort: uint16(f.cport), Sender: f.id, Flags: f.flags,
		SlaveOf: f.slaveof, MySlots: f.slots, ConfigEpoch: f.configEpoch, CurrentEpoch: f.currentEpoch}
}

func (f *fake) read(c net.Conn, dir string) {
	for {
		var hdr [8]byte
		if _, err := io.ReadFull(c, hdr[:]); err != nil {
			return
		}
		n, err := FrameLen(hdr[:])
		if err != nil {
			f.t.Errorf("fake: %v", err)
			return
		}
		raw := make([]byte, n)
		copy(raw, hdr[:])
		if _, err := io.ReadFull(c, raw[8:]); err != nil {
			return
		}
		m, err := Decode(raw)
		if err != nil {
			f.t.Errorf("fake: decode: %v", err)
			return
		}
		f.frames <- frame{dir: dir, raw: raw, m: m}
		if (m.Type == TypePing || m.Type == TypeMeet) && !f.silent.Load() {
			c.Write(Append(nil, f.header(TypePong)))
		}
	}
}

func (f *fake) dial(t *testing.T, port int) {
	c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	f.mu.Lock()
	f.out = c
	f.mu.Unlock()
	go f.read(c, "out")
	f.ping()
}

func (f *fake) ping() { f.send(f.header(TypePing)) }

func (f *fake) send(m *Message) {
	h := f.header(m.Type)
	h.Fail, h.Channel, h.Payload, h.Gossip = m.Fail, m.Channel, m.Payload, m.Gossip
	f.mu.Lock()
	c := f.out
	f.mu.Unlock()
	if _, err := c.Write(Append(nil, h)); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fake) drain() {
	for {
		select {
		case <-f.frames:
		default:
			return
		}
	}
}

func (f *fake) wait(t *testing.T, typ Type, dir string) frame {
	t.Helper()
	return f.waitFn(t, func(fr frame) bool { return fr.m.Type == typ && fr.dir == dir })
}

func (f *fake) waitFn(t *testing.T, ok func(frame) bool) frame {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case fr := <-f.frames:
			if ok(fr) {
				return fr
			}
		case <-timeout:
			t.Fatalf("awaited frame not received")
		}
	}
}
