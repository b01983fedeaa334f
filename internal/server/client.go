package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/reefkv/reef/internal/clock"
	"github.com/reefkv/reef/internal/cluster/state"
	"github.com/reefkv/reef/internal/command"
	"github.com/reefkv/reef/internal/resp"
)

// Reply modes of CLIENT REPLY.
const (
	replyOn = iota
	replyOff
	replySkipNext
	replySkip
)

// Client is one connection. Its goroutine (serve) owns the reader, the
// command context and the output buffer; other goroutines only push
// out-of-band data (MONITOR lines, pub/sub messages) through push, and read
// the fields CLIENT LIST shows under mu.
type Client struct {
	srv  *Server
	id   uint64
	conn net.Conn
	rd   *resp.RequestReader
	ctx  command.Ctx

	created time.Time
	addr    string
	laddr   string

	// Owned by the client goroutine.
	db            int  // selected database (dbShown mirrors it for CLIENT LIST)
	deadlineSet   bool // a read deadline for the idle timeout is in force
	authenticated bool
	replyMode     int
	closeAfter    bool
	keyPos        []int
	slots         []int
	multi         *multiState
	readonly      bool
	rp            clientRepl // replication (replication.go)
	asking        bool
	askingSet     bool           // ASKING was the command just run
	routedMap     *state.SlotMap // slot map the command was routed with (cluster mode)
	routedOpen    bool           // its slot is migrating or importing here
	routedSlot    int            // the one slot of its keys, -1 if none (or EXEC)

	// writing is set while a command that may write runs in cluster mode
	// (callGated): a manual failover waits for it to clear.
	writing atomic.Bool

	// Read by other goroutines (CLIENT LIST/KILL/INFO).
	mu      sync.Mutex
	name    string
	lastCmd atomic.Pointer[command.Spec] // the command running or last run
	dbShown atomic.Int32                 // db as CLIENT LIST shows it
	flags   string
	proto   int
	noEvict bool
	// unixSocket: connected through the unix socket (CLIENT LIST flag U).
	unixSocket bool
	lastSeen   atomic.Int64 // unix ms of the last command
	killed     atomic.Bool

	// Out-of-band output, written by the pusher goroutine.
	wmu     sync.Mutex // serializes writes to conn
	pmu     sync.Mutex
	pending []byte
	pushing bool
	monitor bool
	// monitorMuted: a monitor under CLIENT REPLY OFF, which Redis feeds
	// nothing (its MONITOR lines are replies too). Read by feeding goroutines.
	monitorMuted atomic.Bool

	// Pub/Sub and blocking (pubsub.go, blocking.go).
	inflight  int   // bytes the push loop is writing; guarded by pmu
	softSince int64 // unix time the soft output limit was first exceeded; pmu
	subs      clientSubs
	subsCount atomic.Int64 // channels + patterns + shard channels
	cr        *connReader
	blk       atomic.Pointer[blockedClient]

	// Event loop (loop.go). cc is conn's concrete type.
	cc          *clientConn
	loop        *eventLoop // nil once the client runs in Go mode
	loopFD      int
	loopState   atomic.Int32   // loopIdle, loopBusy or loopEvicted
	onRunner    bool           // being served by its loop's runner right now
	runner      *loopWaiter    // while onRunner: the runner's state
	shown       shownState     // CLIENT LIST's view of c, for other clients
	batch       cmdBatch       // commands parsed ahead (batch.go)
	lastCommand lastCommand    // the last command name looked up (lookupCommand)
	blocking    *blockedClient // registered by the running command

	// clockHint is a clock.Mono reading taken while the loop's runner
	// serves the current batch of commands, with nothing since that may
	// wait (a flush, yieldLoop), or 0. The next command starts its clock
	// from it (recentClock) instead of reading the clock again: at 16
	// pipelined LPUSHes the two readings per command were 5% of the
	// node's CPU. It is a few microseconds old at most, like a reading
	// taken when the batch arrived. Only on the runner: a Go-mode client,
	// a master link or a slot import may wait for its next command
	// anywhere in its reads.
	clockHint int64
}

// recentClock returns c.clockHint, or a fresh reading (which becomes the
// hint on the runner).
func (c *Client) recentClock() int64 {
	if c.clockHint != 0 && c.onRunner {
		return c.clockHint
	}
	now := clock.Mono()
	if c.onRunner {
		c.clockHint = now
	}
	return now
}

// newClient registers a client on conn: a *clientConn in raw mode for an
// event-loop client, or any net.Conn, which is then served in Go mode.
func (s *Server) newClient(nc net.Conn) *Client {
	cfg := s.cfg.Get()
	cc, ok := nc.(*clientConn)
	if !ok {
		cc = newGoConn(nc)
	}
	cc.io = &s.stats.io
	conn := net.Conn(cc)
	c := &Client{
		srv:     s,
		id:      s.nextID.Add(1),
		conn:    conn,
		cc:      cc,
		cr:      &connReader{conn: conn},
		created: time.Now(),
		addr:    conn.RemoteAddr().String(),
		laddr:   conn.LocalAddr().String(),
		proto:   resp.RESP2,
	}
	if conn.LocalAddr().Network() == "unix" {
		// Redis shows a unix socket client as the socket's path, port 0.
		c.unixSocket = true
		c.addr = conn.LocalAddr().String() + ":0"
		c.laddr = c.addr
	}
	c.rd = resp.NewRequestReader(c.cr)
	c.authenticated = cfg.RequirePass == ""
	c.lastSeen.Store(time.Now().UnixMilli())
	c.ctx = command.Ctx{
		Proto: resp.RESP2,
		KS:    s.ks,
		Env:   clientEnv{s, c},
		Conn:  c,
		Rand:  rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64())),
	}
	c.shown.store(c) // before CLIENT LIST can find it
	s.clientsMu.Lock()
	s.clients[c.id] = c
	s.clientsMu.Unlock()
	s.numClients.Add(1)
	return c
}

// serve reads and runs commands until the connection ends. Replies of a
// pipelined batch are flushed together, right before the next read would
// block.
func (c *Client) serve() {
	defer c.cleanup()
	defer func() {
		if r := recover(); r != nil {
			c.srv.log.Warn(fmt.Sprintf("panic serving client id=%d: %v\n%s", c.id, r, debug.Stack()))
		}
	}()
	c.rd.OnFill = c.beforeRead
	for {
		cfg := c.srv.cfg.Get()
		c.rd.MaxBulkLen = cfg.ProtoMaxBulkLen
		c.rd.MaxQueryBuffer = cfg.ClientQueryBufferLimit
		c.rd.Unauthenticated = !c.authenticated
		args, err := c.rd.ReadCommand()
		if err != nil {
			c.protocolError(err)
			return
		}
		c.srv.stats.netInput.Add(int64(c.rd.LastRead()))
		c.lastSeen.Store(c.srv.coarseMs.Load())
		c.process(args)
		if c.unauthenticatedOverflow() {
			return
		}
		if c.closeAfter || c.killed.Load() {
			c.flush()
			return
		}
		if len(c.ctx.Out) > 64*1024 {
			// Do not let a long pipeline of big replies pile up in memory.
			if !c.flush() {
				return
			}
		}
	}
}

// unauthReplyLimit is how many bytes of replies a client that has not
// authenticated may have waiting to be sent: Redis's static reply buffer.
// Beyond it Redis (with the fix of CVE-2025-21605, which the Debian build of
// 7.0.15 carries) closes the client without sending them, so that a client
// that never reads its replies cannot grow the server's memory before it
// authenticates.
const unauthReplyLimit = 16 * 1024

// unauthenticatedOverflow closes a client that has not authenticated when
// its pending replies outgrow unauthReplyLimit, and reports whether it did.
func (c *Client) unauthenticatedOverflow() bool {
	if c.authenticated || len(c.ctx.Out) <= unauthReplyLimit {
		return false
	}
	c.logOutputLimitClose()
	c.ctx.Out = c.ctx.Out[:0]
	return true
}

// logOutputLimitClose logs, as Redis does, that c is closed for its output
// buffer limit.
func (c *Client) logOutputLimitClose() {
	c.srv.log.Warn("Client " + c.infoLine(false) + " scheduled to be closed ASAP for overcoming of output buffer limits.")
}

// protocolError reports a request the reader refused, as Redis does: the
// error reply for a malformed request, a log line for an oversized one. The
// caller closes the connection. Other errors (EOF) need no report.
func (c *Client) protocolError(err error) {
	var pe *resp.ProtocolError
	switch {
	case errors.As(err, &pe):
		c.srv.log.Log(context.Background(), -2, "Protocol error ("+pe.Msg+") from client: "+c.describe())
		c.ctx.Out = resp.AppendError(c.ctx.Out, "ERR "+pe.Msg)
		c.flush()
	case errors.Is(err, resp.ErrQueryBufferLimit):
		c.srv.log.Warn("Closing client that reached max query buffer length: " + c.describe())
	}
}

// beforeRead runs when the reader is about to block on the socket: flush
// what the batch produced, and apply the idle timeout.
func (c *Client) beforeRead() error {
	if !c.flush() {
		return io.ErrClosedPipe
	}
	if c.killed.Load() {
		return io.ErrClosedPipe
	}
	if t := c.srv.cfg.Get().Timeout; t > 0 && c.timeoutApplies() {
		c.conn.SetReadDeadline(time.Now().Add(time.Duration(t) * time.Second))
		c.deadlineSet = true
	} else if c.deadlineSet {
		c.conn.SetReadDeadline(time.Time{})
		c.deadlineSet = false
	}
	return nil
}

// timeoutApplies reports whether the idle timeout closes this client: not
// for subscribers, replicas, masters or blocked clients, as in Redis.
func (c *Client) timeoutApplies() bool {
	return !c.monitor && !c.isPubSub()
}

// flush writes the pending replies. It reports false when the connection
// failed.
func (c *Client) flush() bool {
	c.clockHint = 0 // a slow socket makes it wait
	defer c.shown.store(c)
	if len(c.ctx.Out) == 0 {
		return true
	}
	if c.repliesDiscarded() {
		c.ctx.Out = c.ctx.Out[:0]
		return true
	}
	// While out-of-band output is queued (a subscriber's messages), replies
	// queue behind it so the stream keeps its order.
	c.pmu.Lock()
	if c.pushing || len(c.pending) > 0 {
		c.pending = append(c.pending, c.ctx.Out...)
		c.pmu.Unlock()
		c.resetOut()
		return !c.killed.Load()
	}
	c.pmu.Unlock()
	c.wmu.Lock()
	n, err := c.conn.Write(c.ctx.Out)
	c.wmu.Unlock()
	c.srv.stats.netOutput.Add(int64(n))
	c.resetOut()
	return err == nil
}

// repliesDiscarded reports the clients whose replies are not sent:
// replicas (their replication stream owns the connection) and our master
// link (the master expects none).
func (c *Client) repliesDiscarded() bool { return c.rp.replica != nil || c.rp.link != nil }

// resetOut empties c.ctx.Out once written, dropping a buffer a big reply
// grew.
func (c *Client) resetOut() {
	if cap(c.ctx.Out) > 1<<20 {
		c.ctx.Out = nil
	} else {
		c.ctx.Out = c.ctx.Out[:0]
	}
}

// push queues out-of-band bytes (MONITOR, pub/sub) and makes sure a writer
// goroutine delivers them. It never blocks the caller on the network. A
// client whose queue grows past limit bytes (0: unlimited) is closed, so a
// reader that never reads cannot grow memory without bound.
func (c *Client) push(b []byte, limit int64) {
	c.pmu.Lock()
	if c.killed.Load() {
		c.pmu.Unlock()
		return
	}
	if limit > 0 && int64(len(c.pending)+len(b)) > limit {
		c.pmu.Unlock()
		c.logOutputLimitClose()
		c.kill()
		return
	}
	c.pending = append(c.pending, b...)
	start := !c.pushing
	c.pushing = true
	c.pmu.Unlock()
	if start {
		go c.pushLoop()
	}
}

func (c *Client) pushLoop() {
	for {
		c.pmu.Lock()
		buf := c.pending
		if len(buf) == 0 {
			c.pushing = false
			c.pmu.Unlock()
			return
		}
		c.pending = nil
		c.inflight = len(buf)
		c.pmu.Unlock()
		if err := c.writePushed(buf); err != nil {
			c.pmu.Lock()
			c.pushing = false
			c.pending = nil
			c.inflight = 0
			c.pmu.Unlock()
			c.kill()
			return
		}
	}
}

// pushChunk is the most of a push queue one write takes. The queue's
// output limits count what is still to be written (c.inflight), as Redis
// counts what it has not handed to the kernel yet; one write of the whole
// queue, blocked on a full socket, would go on counting the part the
// kernel already took, and close a subscriber that is keeping up.
const pushChunk = 64 << 10

// writePushed writes buf, a chunk at a time, keeping c.inflight to what is
// left.
func (c *Client) writePushed(buf []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.conn.SetWriteDeadline(time.Now().Add(time.Minute))
	defer c.conn.SetWriteDeadline(time.Time{})
	for len(buf) > 0 {
		n, err := c.conn.Write(buf[:min(len(buf), pushChunk)])
		c.srv.stats.netOutput.Add(int64(n))
		buf = buf[n:]
		c.pmu.Lock()
		c.inflight = len(buf)
		c.pmu.Unlock()
		if err != nil {
			return err
		}
	}
	return nil
}

// kill closes the client from another goroutine (CLIENT KILL, output
// limits, shutdown).
func (c *Client) kill() {
	c.killed.Store(true)
	c.conn.Close()
}

func (c *Client) closeConn() { c.kill() }

func (c *Client) cleanup() {
	c.killed.Store(true)
	c.conn.Close()
	c.discardMulti()
	c.srv.unwatchAll(c)
	c.unsubscribeAll()
	if c.rp.replica != nil {
		c.srv.repl.Detach(c.rp.replica)
	}
	if c.monitor {
		c.srv.monitors.remove(c)
	}
	c.srv.clientsMu.Lock()
	delete(c.srv.clients, c.id)
	c.srv.clientsMu.Unlock()
	c.srv.numClients.Add(-1)
}

// describe is the short form Redis logs for a client, from the client's
// own goroutine.
func (c *Client) describe() string {
	return c.infoLine(true)
}

// shownState is what other clients' CLIENT LIST shows of a client's
// buffers and command-set flags: its goroutine stores them as each batch
// ends (flush), since the fields themselves are only safe to read from
// that goroutine.
type shownState struct {
	qbuf, rbs, outCap atomic.Int64
	multi             atomic.Int64  // commands queued, -1 outside MULTI
	flags             atomic.Uint32 // shownMonitor...
}

const (
	shownMonitor uint32 = 1 << iota
	shownMulti
	shownReadonly
	shownNoEvict
)

func (sb *shownState) store(c *Client) {
	sb.qbuf.Store(int64(c.rd.Buffered()))
	sb.rbs.Store(int64(c.rd.BufferSize()))
	sb.outCap.Store(int64(cap(c.ctx.Out)))
	sb.multi.Store(int64(c.multiCount()))
	sb.flags.Store(c.ownFlags())
}

// multiCount is CLIENT LIST's multi field: the commands queued, -1
// outside MULTI. REQUIRES: c's own goroutine.
func (c *Client) multiCount() int {
	if c.multi == nil {
		return -1
	}
	return len(c.multi.queue)
}

// ownFlags are the CLIENT LIST flags c's own commands set.
// REQUIRES: c's own goroutine.
func (c *Client) ownFlags() uint32 {
	var f uint32
	if c.monitor {
		f |= shownMonitor
	}
	if c.multi != nil {
		f |= shownMulti
	}
	if c.readonly {
		f |= shownReadonly
	}
	if c.noEvict {
		f |= shownNoEvict
	}
	return f
}

// infoLine is the CLIENT LIST / CLIENT INFO line of c. self says the
// caller is c's own goroutine, which may read c's buffers as they are now.
func (c *Client) infoLine(self bool) string {
	c.mu.Lock()
	name, proto := c.name, c.proto
	c.mu.Unlock()
	db := c.dbShown.Load()
	lastCmd := "NULL"
	if sp := c.lastCmd.Load(); sp != nil {
		lastCmd = sp.FullName()
	}
	now := time.Now()
	qbuf, rbs, outCap := int(c.shown.qbuf.Load()), int(c.shown.rbs.Load()), int(c.shown.outCap.Load())
	multi, own := int(c.shown.multi.Load()), c.shown.flags.Load()
	if self {
		qbuf, rbs, outCap = c.rd.Buffered(), c.rd.BufferSize(), cap(c.ctx.Out)
		multi, own = c.multiCount(), c.ownFlags()
	}
	flags := c.flagString(own)
	sub, psub, ssub := c.subCounts()
	return fmt.Sprintf("id=%d addr=%s laddr=%s fd=%d name=%s age=%d idle=%d flags=%s db=%d sub=%d psub=%d ssub=%d multi=%d qbuf=%d qbuf-free=%d argv-mem=0 multi-mem=0 rbs=%d rbp=0 obl=0 oll=0 omem=0 tot-mem=%d events=r cmd=%s user=default redir=-1 resp=%d",
		c.id, c.addr, c.laddr, connFD(c.conn), name,
		int64(now.Sub(c.created).Seconds()), (now.UnixMilli()-c.lastSeen.Load())/1000,
		flags, db, sub, psub, ssub, multi, qbuf, rbs-qbuf, rbs, rbs+outCap, lastCmd, proto)
}

// flagString is CLIENT LIST's flags field, from own (ownFlags) and the
// state other goroutines may read.
func (c *Client) flagString(own uint32) string {
	var b strings.Builder
	if own&shownMonitor != 0 {
		b.WriteByte('O')
	}
	if c.isPubSub() {
		b.WriteByte('P')
	}
	if own&shownMulti != 0 {
		b.WriteByte('x')
	}
	if c.blk.Load() != nil {
		b.WriteByte('b')
	}
	if own&shownReadonly != 0 {
		b.WriteByte('r')
	}
	if own&shownNoEvict != 0 {
		b.WriteByte('e')
	}
	if c.unixSocket {
		b.WriteByte('U')
	}
	if b.Len() == 0 {
		return "N"
	}
	return b.String()
}

// connFD returns the socket's file descriptor number for CLIENT LIST.
func connFD(conn net.Conn) int {
	if cc, ok := conn.(*clientConn); ok {
		return cc.fdNumber()
	}
	tc, ok := conn.(*net.TCPConn)
	if !ok {
		return -1
	}
	raw, err := tc.SyscallConn()
	if err != nil {
		return -1
	}
	fd := -1
	raw.Control(func(f uintptr) { fd = int(f) })
	return fd
}
