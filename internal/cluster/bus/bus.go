package bus

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/reefkv/reef/internal/cluster/msg"
	"github.com/reefkv/reef/internal/cluster/state"
)

// MaxFrame bounds a message's totlen. Gossip for 1000 nodes is ~100 KB;
// the bound is for PUBLISH payloads (Redis's proto-max-bulk-len is 512 MB).
const MaxFrame = 512 << 20

// Config configures a Bus.
type Config struct {
	// Addr is the listen address of the bus port ("127.0.0.1:17000").
	Addr string
	// SendBufLimit is cluster-link-sendbuf-limit in bytes: a link whose
	// queued output exceeds it is closed. 0 means no limit.
	SendBufLimit int64
	// DialTimeout bounds connecting an outbound link (default 5 s).
	DialTimeout time.Duration
	// KeepAlive is the TCP keepalive period (Redis: 2 x node timeout).
	KeepAlive time.Duration
	// Logger receives link-level events; nil discards them.
	Logger *slog.Logger
}

// Bus owns the cluster bus sockets of one node: the listener, inbound
// links (accepted) and outbound links (dialed on request). Everything that
// happens is reported on Events as state.Input values; the owner tells the
// bus what to do with Apply. All goroutines are started by Start and stopped
// by Close (or the Start context), which waits for them.
type Bus struct {
	cfg    Config
	log    *slog.Logger
	ln     net.Listener
	events chan state.Input

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	sendBufLimit atomic.Int64 // cluster-link-sendbuf-limit, changeable at runtime

	mu     sync.Mutex
	out    map[uint64]*link
	in     map[state.LinkID]*link
	nextIn state.LinkID
	closed bool
}

// Listen opens the bus port. Call Start to accept connections.
func Listen(cfg Config) (*Bus, error) {
	if cfg.DialTimeout == 0 {
		cfg.DialTimeout = 5 * time.Second
	}
	lc := net.ListenConfig{KeepAlive: cfg.KeepAlive}
	ln, err := lc.Listen(context.Background(), "tcp", cfg.Addr)
	if err != nil {
		return nil, err
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	b := &Bus{cfg: cfg, log: log, ln: ln, events: make(chan state.Input, 4096),
		out: map[uint64]*link{}, in: map[state.LinkID]*link{}}
	b.sendBufLimit.Store(cfg.SendBufLimit)
	b.ctx, b.cancel = context.WithCancel(context.Background())
	return b, nil
}

// SetSendBufLimit changes cluster-link-sendbuf-limit (0: no limit). It
// applies to the next message queued on each link. Safe from any goroutine.
func (b *Bus) SetSendBufLimit(n int64) { b.sendBufLimit.Store(n) }

// Addr returns the listening address.
func (b *Bus) Addr() net.Addr { return b.ln.Addr() }

// Events delivers what happened on the bus, in order per link. The owner
// must keep reading it while the bus runs.
func (b *Bus) Events() <-chan state.Input { return b.events }

// Start runs the accept loop until ctx is done or Close is called. Apply
// may be called only after Start.
func (b *Bus) Start(ctx context.Context) {
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		select {
		case <-ctx.Done():
			b.cancel()
		case <-b.ctx.Done():
		}
		b.shutdown()
	}()
	b.wg.Add(1)
	go b.acceptLoop()
}

// Close stops the bus: closes the listener and every link, and waits for
// all goroutines. The Events channel is not closed.
func (b *Bus) Close() error {
	b.cancel()
	b.shutdown()
	b.wg.Wait()
	return nil
}

func (b *Bus) shutdown() {
	b.mu.Lock()
	b.closed = true
	links := make([]*link, 0, len(b.out)+len(b.in))
	for _, l := range b.out {
		links = append(links, l)
	}
	for _, l := range b.in {
		links = append(links, l)
	}
	b.mu.Unlock()
	b.ln.Close()
	for _, l := range links {
		l.close()
	}
}

func (b *Bus) emit(in state.Input) {
	select {
	case b.events <- in:
	case <-b.ctx.Done():
	}
}

func (b *Bus) acceptLoop() {
	defer b.wg.Done()
	for {
		c, err := b.ln.Accept()
		if err != nil {
			if b.ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			b.log.Warn("cluster bus accept", "err", err)
			time.Sleep(10 * time.Millisecond)
			continue
		}
		b.mu.Lock()
		if b.closed {
			b.mu.Unlock()
			c.Close()
			return
		}
		b.nextIn++
		l := newLink(b, c)
		l.id = b.nextIn
		l.up = true
		b.in[l.id] = l
		b.mu.Unlock()
		b.emit(state.InboundUp{Link: l.id})
		l.start()
	}
}

// Apply performs ops from a state.Ready, in order. It never blocks on the
// network: sends are queued per link, dials run in the background.
func (b *Bus) Apply(ops []state.Op) {
	enc := map[*msg.Message][]byte{}
	for _, op := range ops {
		switch op.Kind {
		case state.OpDial:
			b.dial(op)
		case state.OpClose:
			b.mu.Lock()
			l := b.out[op.Gen]
			b.mu.Unlock()
			if l != nil {
				l.close()
			}
		case state.OpCloseInbound:
			b.mu.Lock()
			l := b.in[op.Link]
			b.mu.Unlock()
			if l != nil {
				l.close()
			}
		case state.OpSend:
			raw, ok := enc[op.Msg]
			if !ok {
				raw = msg.Append(nil, op.Msg)
				enc[op.Msg] = raw
			}
			b.mu.Lock()
			var l *link
			if op.Link != 0 {
				l = b.in[op.Link]
			} else {
				l = b.out[op.Gen]
			}
			b.mu.Unlock()
			if l != nil {
				l.enqueue(raw)
			}
		}
	}
}

func (b *Bus) dial(op state.Op) {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		b.emit(state.LinkDown{Gen: op.Gen})
		return
	}
	l := newLink(b, nil)
	l.gen = op.Gen
	b.out[op.Gen] = l
	b.mu.Unlock()
	addr := net.JoinHostPort(op.IP, strconv.Itoa(op.Port))
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		d := net.Dialer{Timeout: b.cfg.DialTimeout, KeepAlive: b.cfg.KeepAlive}
		c, err := d.DialContext(l.ctx, "tcp", addr)
		if err != nil {
			b.log.Debug("cluster bus dial", "peer", addr, "err", err)
			l.close()
			return
		}
		if !l.attach(c) {
			c.Close()
			return
		}
		b.emit(state.LinkUp{Gen: op.Gen})
		l.start()
	}()
}

// LinkBuffers returns the queued and allocated output bytes of a link
// (inbound when inbound != 0, else outbound gen), for CLUSTER LINKS.
func (b *Bus) LinkBuffers(inbound state.LinkID, gen uint64) (allocated, used int64) {
	b.mu.Lock()
	var l *link
	if inbound != 0 {
		l = b.in[inbound]
	} else {
		l = b.out[gen]
	}
	b.mu.Unlock()
	if l == nil {
		return 0, 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.alloc, l.queued
}

// link is one TCP connection of the bus.
type link struct {
	b      *Bus
	id     state.LinkID // inbound
	gen    uint64       // outbound
	ctx    context.Context
	cancel context.CancelFunc

	mu     sync.Mutex
	conn   net.Conn
	up     bool
	queue  [][]byte
	queued int64
	alloc  int64
	wake   chan struct{}
	done   bool
	once   sync.Once
}

func newLink(b *Bus, c net.Conn) *link {
	ctx, cancel := context.WithCancel(b.ctx)
	return &link{b: b, conn: c, ctx: ctx, cancel: cancel, wake: make(chan struct{}, 1)}
}

func (l *link) attach(c net.Conn) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.done {
		return false
	}
	l.conn = c
	l.up = true
	return true
}

func (l *link) start() {
	l.b.wg.Add(2)
	go l.readLoop()
	go l.writeLoop()
}

// enqueue queues one encoded message; over the send buffer limit the link
// is dropped, as Redis frees it.
func (l *link) enqueue(raw []byte) {
	l.mu.Lock()
	if l.done {
		l.mu.Unlock()
		return
	}
	l.queue = append(l.queue, raw)
	l.queued += int64(len(raw))
	if l.queued > l.alloc {
		l.alloc = l.queued
	}
	limit := l.b.sendBufLimit.Load()
	over := limit > 0 && l.queued > limit
	l.mu.Unlock()
	if over {
		l.b.log.Warn("cluster link send buffer limit exceeded, freeing link", "peer", l.peer())
		l.b.emit(state.BufferLimitExceeded{})
		l.close()
		return
	}
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

func (l *link) peer() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.conn == nil {
		return ""
	}
	return l.conn.RemoteAddr().String()
}

// close closes the connection once and reports the link down.
func (l *link) close() {
	l.once.Do(func() {
		l.mu.Lock()
		l.done = true
		c := l.conn
		l.queue = nil
		l.queued = 0
		l.mu.Unlock()
		l.cancel()
		if c != nil {
			c.Close()
		}
		b := l.b
		b.mu.Lock()
		if l.id != 0 {
			delete(b.in, l.id)
		} else {
			delete(b.out, l.gen)
		}
		b.mu.Unlock()
		// Report on a goroutine of the bus so that close never blocks the
		// owner's Apply on a full event channel.
		b.wg.Add(1)
		go func() {
			defer b.wg.Done()
			if l.id != 0 {
				b.emit(state.InboundDown{Link: l.id})
			} else {
				b.emit(state.LinkDown{Gen: l.gen})
			}
		}()
	})
}

func (l *link) writeLoop() {
	defer l.b.wg.Done()
	l.mu.Lock()
	c := l.conn
	l.mu.Unlock()
	raw, err := newRawSocket(c)
	if err != nil {
		l.close()
		return
	}
	for {
		select {
		case <-l.ctx.Done():
			return
		case <-l.wake:
		}
		l.mu.Lock()
		q := l.queue
		l.queue = nil
		l.mu.Unlock()
		if len(q) == 0 {
			continue
		}
		n, err := raw.writeAll(q)
		l.mu.Lock()
		l.queued -= n
		if l.queued <= 0 {
			// Drained: like Redis's send buffer, an idle link holds none.
			l.queued, l.alloc = 0, 0
		}
		l.mu.Unlock()
		if err != nil {
			l.close()
			return
		}
	}
}

func ipOf(a net.Addr) string {
	if t, ok := a.(*net.TCPAddr); ok {
		if v4 := t.IP.To4(); v4 != nil {
			return v4.String()
		}
		return t.IP.String()
	}
	host, _, _ := net.SplitHostPort(a.String())
	return host
}

func (l *link) readLoop() {
	defer l.b.wg.Done()
	defer l.close()
	l.mu.Lock()
	c := l.conn
	l.mu.Unlock()
	peerIP, localIP := ipOf(c.RemoteAddr()), ipOf(c.LocalAddr())
	raw, err := newRawSocket(c)
	if err != nil {
		l.b.log.Warn("cluster bus link", "peer", c.RemoteAddr().String(), "err", err)
		return
	}
	r := bufio.NewReaderSize(raw, 64<<10)
	var hdr [8]byte
	for {
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return
		}
		n, err := msg.FrameLen(hdr[:])
		if err != nil || n > MaxFrame {
			l.b.log.Warn("Bad message length or signature received from Cluster bus.", "peer", c.RemoteAddr().String())
			return
		}
		// Grow with the data that actually arrives, never with the
		// declared length alone.
		buf := make([]byte, 8, min(n, 64<<10))
		copy(buf, hdr[:])
		w := &appendWriter{buf}
		if _, err := io.CopyN(w, r, int64(n-8)); err != nil {
			return
		}
		m, err := msg.Decode(w.b)
		if err != nil {
			// Redis drops invalid messages and keeps the link.
			l.b.log.Debug("cluster bus invalid message", "peer", c.RemoteAddr().String(), "err", err)
			continue
		}
		p := state.Packet{PeerIP: peerIP, LocalIP: localIP, Msg: m}
		if l.id != 0 {
			p.Inbound = l.id
		} else {
			p.Gen = l.gen
		}
		select {
		case l.b.events <- p:
		case <-l.ctx.Done():
			return
		}
	}
}

type appendWriter struct{ b []byte }

func (w *appendWriter) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	return len(p), nil
}
