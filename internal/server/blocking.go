package server

import (
	"errors"
	"os"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/reefkv/reef/internal/command"
	"github.com/reefkv/reef/internal/rconv"
	"github.com/reefkv/reef/internal/slot"
)

// Blocking commands (BLPOP, BZPOPMIN, BLMOVE, ...): see docs/BLOCKING.md.
//
// A blocking handler that finds nothing to pop leaves a BlockRequest in its
// context. While the command's slots are still locked the client is
// registered on each key (so a push cannot slip between the check and the
// registration), then its goroutine flushes its output and waits.
//
// A command that makes a key ready (a push, or a new list or sorted set
// under that key) records it in its slot's ready list; before that command
// releases its slot locks, the server serves the clients blocked on the
// ready keys, longest-waiting first, from the pusher's goroutine: it runs
// the blocked client's pop on a fresh context with that client's DB,
// protocol and command, and hands it the reply with the wake-up. Serving therefore
// happens atomically with the push, as in Redis's handleClientsBlockedOnKeys.
//
// Each blocked client has a state that exactly one party moves out of
// "waiting" with a compare-and-swap: a pusher (served, or retry for a
// BLMOVE whose destination slot it cannot lock), the timeout, CLIENT
// UNBLOCK, or the connection closing. Whoever wins owns the client's
// output until it signals the wake channel.

// Blocked-client states.
const (
	blkWaiting int32 = iota
	blkServing
	blkServed
	blkTimedOut
	blkUnblockTimeout
	blkUnblockError
	blkClosed
	blkRetry
	blkClusterRedirect // the slot moved or the cluster went down (cluster mode)
)

type blockKey struct {
	db  int
	key string
}

// blockedClient is one parked client.
type blockedClient struct {
	c     *Client
	req   *command.BlockRequest
	db    int
	proto int
	spec  *command.Spec
	keys  []blockKey
	slots []int // sorted, unique slots of keys
	state atomic.Int32
	wake  chan struct{}

	// The reply a pusher produced for the client, handed over with the
	// wake-up: the pusher never touches the client's own context, which
	// the client goroutine may still be using (flushing) right after it
	// registered.
	out     []byte
	failed  bool
	errCode string
}

// blockRegistry is every blocked client, by slot. bySlot[s] and ready[s]
// are guarded by slot s's keyspace lock.
type blockRegistry struct {
	clients atomic.Int64 // blocked clients (INFO blocked_clients)
	timed   atomic.Int64 // of which with a timeout (clients_in_timeout_table)
	entries atomic.Int64 // (client, key) registrations: the fast path
	bySlot  [slot.Count]map[blockKey][]*blockedClient
	ready   [slot.Count][]blockKey

	pendingMu sync.Mutex
	pending   map[int]struct{} // slots whose ready list is not empty
	npending  atomic.Int64
}

// register parks c on req's keys. REQUIRES: the slots of req.Keys locked.
func (r *blockRegistry) register(c *Client, db int, req *command.BlockRequest) *blockedClient {
	bc := &blockedClient{c: c, req: req, db: db, proto: c.ctx.Proto, spec: c.ctx.Spec, wake: make(chan struct{}, 1)}
	for _, k := range req.Keys {
		bk := blockKey{db, string(k)}
		if slices.Contains(bc.keys, bk) {
			continue
		}
		bc.keys = append(bc.keys, bk)
		s := slot.Of(k)
		bc.slots = append(bc.slots, s)
		if r.bySlot[s] == nil {
			r.bySlot[s] = map[blockKey][]*blockedClient{}
		}
		r.bySlot[s][bk] = append(r.bySlot[s][bk], bc)
		r.entries.Add(1)
	}
	slices.Sort(bc.slots)
	bc.slots = slices.Compact(bc.slots)
	r.clients.Add(1)
	if req.Deadline > 0 {
		r.timed.Add(1)
	}
	return bc
}

// unregister removes bc from every key it waits on. It takes the slot locks
// of bc's keys, in order: the caller must hold no slot lock.
func (s *Server) unregisterBlocked(bc *blockedClient) {
	r := &s.blocked
	s.ks.LockSlots(bc.slots)
	for _, bk := range bc.keys {
		sl := slot.Of([]byte(bk.key))
		m := r.bySlot[sl]
		list := m[bk]
		for i, x := range list {
			if x == bc {
				list = slices.Delete(list, i, i+1)
				r.entries.Add(-1)
				break
			}
		}
		if len(list) == 0 {
			delete(m, bk)
		} else {
			m[bk] = list
		}
	}
	s.ks.UnlockSlots(bc.slots)
	r.clients.Add(-1)
	if bc.req.Deadline > 0 {
		r.timed.Add(-1)
	}
}

// KeyReady records that key may serve blocked clients; they are served
// before the running command releases its slot locks. REQUIRES: key's slot
// locked.
func (s *Server) KeyReady(db int, key []byte) {
	r := &s.blocked
	if r.entries.Load() == 0 {
		return
	}
	sl := slot.Of(key)
	bk := blockKey{db, string(key)}
	if len(r.bySlot[sl][bk]) == 0 || slices.Contains(r.ready[sl], bk) {
		return
	}
	if len(r.ready[sl]) == 0 {
		r.pendingMu.Lock()
		if r.pending == nil {
			r.pending = map[int]struct{}{}
		}
		r.pending[sl] = struct{}{}
		r.npending.Store(int64(len(r.pending)))
		r.pendingMu.Unlock()
	}
	r.ready[sl] = append(r.ready[sl], bk)
}

// serveReady serves the clients blocked on the ready keys of the held
// slots (and of slots it locks on the way for BLMOVE destinations).
// REQUIRES: the held slots locked.
func (s *Server) serveReady(held []int) {
	r := &s.blocked
	if r.npending.Load() == 0 {
		return
	}
	var extra []int
	owns := func(sl int) bool { return slices.Contains(held, sl) || slices.Contains(extra, sl) }
	for progressed := true; progressed; {
		progressed = false
		for _, group := range [][]int{held, extra} {
			for _, sl := range group {
				for len(r.ready[sl]) > 0 {
					bk := r.ready[sl][0]
					r.ready[sl] = r.ready[sl][1:]
					s.serveKey(sl, bk, owns, &extra)
					progressed = true
				}
				if cap(r.ready[sl]) > 0 && len(r.ready[sl]) == 0 {
					r.ready[sl] = nil
				}
			}
		}
	}
	r.pendingMu.Lock()
	for _, group := range [][]int{held, extra} {
		for _, sl := range group {
			if len(r.ready[sl]) == 0 {
				delete(r.pending, sl)
			}
		}
	}
	r.npending.Store(int64(len(r.pending)))
	r.pendingMu.Unlock()
	for _, sl := range extra {
		s.ks.Unlock(sl)
	}
}

// drainPendingReady serves ready keys left by commands that did not hold
// the slots when they ended (self-locking commands, SWAPDB, the master
// link). REQUIRES: no slot lock held.
func (s *Server) drainPendingReady() {
	r := &s.blocked
	if r.npending.Load() == 0 {
		return
	}
	r.pendingMu.Lock()
	slots := make([]int, 0, len(r.pending))
	for sl := range r.pending {
		slots = append(slots, sl)
	}
	r.pendingMu.Unlock()
	for _, sl := range slots {
		s.ks.Lock(sl)
		s.serveReady([]int{sl})
		s.ks.Unlock(sl)
	}
}

// serveKey serves the clients blocked on bk while it holds data.
// REQUIRES: slot sl locked.
func (s *Server) serveKey(sl int, bk blockKey, owns func(int) bool, extra *[]int) {
	r := &s.blocked
	key := []byte(bk.key)
	for {
		list := r.bySlot[sl][bk]
		if len(list) == 0 {
			delete(r.bySlot[sl], bk)
			return
		}
		bc := list[0]
		if bc.state.Load() != blkWaiting {
			s.dropFirst(sl, bk)
			continue
		}
		ctx := &command.Ctx{
			Proto: bc.proto, DB: bk.db, KS: s.ks, Cfg: s.cfg.Get(), Env: s,
			Now: time.Now().UnixMilli(), Conn: bc.c, Spec: bc.spec,
		}
		if !command.BlockedKeyReady(ctx, key, bc.req.Type) {
			return // no data left (or not of the waited type) for anyone
		}
		if d := bc.req.Dst; d != nil {
			ds := slot.Of(d)
			if !owns(ds) {
				if !s.tryLockBriefly(ds) {
					// The destination's slot is busy: let the client run its
					// command again on its own goroutine.
					if bc.state.CompareAndSwap(blkWaiting, blkRetry) {
						bc.wake <- struct{}{}
					}
					s.dropFirst(sl, bk)
					continue
				}
				*extra = append(*extra, ds)
			}
		}
		if !bc.state.CompareAndSwap(blkWaiting, blkServing) {
			s.dropFirst(sl, bk)
			continue
		}
		s.dropFirst(sl, bk)
		bc.req.Serve(ctx, key)
		if ctx.Dirty > 0 {
			s.dirty.Add(ctx.Dirty)
			s.feedServed(ctx, sl)
		}
		bc.out, bc.failed, bc.errCode = ctx.Out, ctx.Failed, ctx.ErrCode
		bc.state.Store(blkServed)
		bc.wake <- struct{}{}
	}
}

// feedServed propagates a served pop (as LPOP, LMOVE, ZPOPMIN...) to
// replicas and slot migrations, right after the push that fed it and under
// the same slot lock.
func (s *Server) feedServed(ctx *command.Ctx, sl int) {
	if s.propagating() {
		s.feedWrites(sl, appendOps(nil, ctx))
	}
}

func (s *Server) dropFirst(sl int, bk blockKey) {
	r := &s.blocked
	list := r.bySlot[sl][bk]
	list = slices.Delete(list, 0, 1)
	r.entries.Add(-1)
	// The client's own unregister will not find this entry any more.
	if len(list) == 0 {
		delete(r.bySlot[sl], bk)
	} else {
		r.bySlot[sl][bk] = list
	}
}

// errUnblocked is the reply of a client unblocked by CLIENT UNBLOCK ERROR.
const errUnblocked = "UNBLOCKED client unblocked via CLIENT UNBLOCK"

// waitBlocked parks the client's goroutine until it is served, times out,
// is unblocked or disconnects, and reports whether the command must run
// again (a BLMOVE handed back by a pusher).
func (c *Client) waitBlocked(bc *blockedClient) (retry bool) {
	s := c.srv
	c.yieldLoop()
	c.blk.Store(bc)
	defer c.blk.Store(nil)
	c.flush()
	stopRead := c.cr.watch(c.conn)
	var timer <-chan time.Time
	if d := bc.req.Deadline; d > 0 {
		t := time.NewTimer(time.Until(time.UnixMilli(d)))
		defer t.Stop()
		timer = t.C
	}
	settle := func(to int32) {
		if !bc.state.CompareAndSwap(blkWaiting, to) {
			<-bc.wake // a pusher or CLIENT UNBLOCK got there first
		}
	}
	// In cluster mode the client checks its slot when the cluster loses a
	// slot or goes down, and every second as Redis's clients cron does: a
	// slot that moved or a cluster that went down unblocks it with the
	// redirection (clusterroute.go).
	var clusterTick <-chan time.Time
	if s.cluster != nil {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		clusterTick = t.C
	}
	var redirect string
wait:
	for {
		var check bool
		select {
		case <-bc.wake:
		case <-timer:
			settle(blkTimedOut)
		case <-stopRead.closed:
			settle(blkClosed)
		case <-s.clusterRecheckBlocked():
			check = true
		case <-clusterTick:
			check = true
		}
		if check {
			write := c.ctx.Spec != nil && c.ctx.Spec.Flags&command.FlagWrite != 0
			if redirect = s.ClusterBlockedRedirect([]byte(bc.keys[0].key), c.readonly && !write); redirect == "" {
				continue
			}
			settle(blkClusterRedirect)
		}
		break wait
	}
	stopRead.stop()
	s.unregisterBlocked(bc)
	switch bc.state.Load() {
	case blkServed:
		c.ctx.Out = append(c.ctx.Out, bc.out...)
		c.ctx.Failed, c.ctx.ErrCode = bc.failed, bc.errCode
	case blkTimedOut, blkUnblockTimeout:
		c.ctx.TimeoutReply()
	case blkUnblockError:
		c.ctx.Err(errUnblocked)
	case blkClusterRedirect:
		c.ctx.Err(redirect)
	case blkClosed:
		c.kill()
	case blkRetry:
		return true
	}
	return false
}

// unblockClient is CLIENT UNBLOCK: it reports whether c was blocked.
func (c *Client) unblockClient(withError bool) bool {
	bc := c.blk.Load()
	if bc == nil {
		return false
	}
	to := blkUnblockTimeout
	if withError {
		to = blkUnblockError
	}
	if !bc.state.CompareAndSwap(blkWaiting, to) {
		return false
	}
	bc.wake <- struct{}{}
	return true
}

// connReader is the connection as the request reader sees it: while the
// client is blocked, a watcher goroutine keeps reading the socket (to see a
// disconnect, as Redis's event loop does) and parks what it reads here for
// the request reader to consume afterwards.
type connReader struct {
	conn    interface{ Read([]byte) (int, error) }
	mu      sync.Mutex
	pending []byte
	err     error
}

func (r *connReader) Read(p []byte) (int, error) {
	r.mu.Lock()
	if len(r.pending) > 0 {
		n := copy(p, r.pending)
		r.pending = r.pending[n:]
		if len(r.pending) == 0 {
			r.pending = nil
		}
		r.mu.Unlock()
		return n, nil
	}
	if err := r.err; err != nil {
		r.mu.Unlock()
		return 0, err
	}
	r.mu.Unlock()
	return r.conn.Read(p)
}

// readWatch is a running watcher: closed is closed when the peer went away.
type readWatch struct {
	closed chan struct{}
	stop   func()
}

// deadliner is the part of net.Conn the watcher needs.
type deadliner interface {
	Read([]byte) (int, error)
	SetReadDeadline(time.Time) error
}

// watch starts a goroutine reading conn into the pending buffer until stop
// is called or the connection fails.
func (r *connReader) watch(conn deadliner) readWatch {
	w := readWatch{closed: make(chan struct{})}
	done := make(chan struct{})
	var stopping atomic.Bool
	conn.SetReadDeadline(time.Time{})
	go func() {
		defer close(done)
		buf := make([]byte, 16*1024)
		for {
			n, err := conn.Read(buf)
			r.mu.Lock()
			r.pending = append(r.pending, buf[:n]...)
			big := len(r.pending) > 1<<30
			r.mu.Unlock()
			if err != nil || big {
				if stopping.Load() && errors.Is(err, os.ErrDeadlineExceeded) {
					return
				}
				r.mu.Lock()
				if err == nil {
					err = errors.New("query buffer limit reached while blocked")
				}
				r.err = err
				r.mu.Unlock()
				close(w.closed)
				return
			}
		}
	}()
	w.stop = func() {
		stopping.Store(true)
		conn.SetReadDeadline(time.Now())
		<-done
		conn.SetReadDeadline(time.Time{})
	}
	return w
}

// readyAfterSwap marks every key a client waits on in databases a and b as
// ready. REQUIRES: no slot lock held.
func (s *Server) readyAfterSwap(a, b int) {
	r := &s.blocked
	for sl := 0; sl < slot.Count && r.entries.Load() > 0; sl++ {
		s.ks.Lock(sl)
		for bk := range r.bySlot[sl] {
			if bk.db == a || bk.db == b {
				s.KeyReady(bk.db, []byte(bk.key))
			}
		}
		s.ks.Unlock(sl)
	}
}

// clientUnblock is CLIENT UNBLOCK <id> [TIMEOUT|ERROR].
func clientUnblock(ctx *command.Ctx) {
	if len(ctx.Args) != 3 && len(ctx.Args) != 4 {
		ctx.Err("ERR unknown subcommand or wrong number of arguments for '" + trunc(cstr(ctx.Args[1]), 128) + "'. Try CLIENT HELP.")
		return
	}
	withError := false
	if len(ctx.Args) == 4 {
		switch {
		case command.EqualFold(ctx.Args[3], "timeout"):
		case command.EqualFold(ctx.Args[3], "error"):
			withError = true
		default:
			ctx.Err("ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR")
			return
		}
	}
	id, ok := rconv.ParseInt(ctx.Args[2])
	if !ok {
		ctx.Err(command.ErrNotInt)
		return
	}
	s := clientOf(ctx).srv
	s.clientsMu.Lock()
	target := s.clients[uint64(id)]
	s.clientsMu.Unlock()
	if target != nil && target.unblockClient(withError) {
		ctx.Int(1)
		return
	}
	ctx.Int(0)
}

// tryLockBriefly is TryLock retried for a moment: a batch prefetch holds a
// slot for a microsecond or two, and failing on it would send a blocked
// client to run its command again, behind the clients blocked after it.
// It never waits long (the caller holds other slots, out of order).
func (s *Server) tryLockBriefly(sl int) bool {
	for i := 0; i < 64; i++ {
		if s.ks.TryLock(sl) {
			return true
		}
		runtime.Gosched()
	}
	return false
}
