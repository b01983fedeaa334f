package server

import (
	"slices"
	"sync"
	"sync/atomic"

	"github.com/reefkv/reef/internal/clock"
	"github.com/reefkv/reef/internal/command"
	"github.com/reefkv/reef/internal/repl"
	"github.com/reefkv/reef/internal/resp"
	"github.com/reefkv/reef/internal/slot"
)

// multiState is a client's open transaction.
type multiState struct {
	queue   []queuedCommand
	aborted bool // a command was rejected while queueing: EXEC fails
}

type queuedCommand struct {
	spec *command.Spec
	args [][]byte
}

// queue stores a command for EXEC. Arguments are copied: they alias the read
// buffer.
//
// Once the transaction is doomed (a command was rejected, or a watched key
// was touched) the command is answered QUEUED but not kept, as Redis's
// queueMultiCommand does: EXEC then fails whatever follows, and its cluster
// routing and gates (OOM, writes) judge only what was queued before.
func (c *Client) queue(spec *command.Spec, args [][]byte) {
	if !c.multi.aborted && !c.srv.watches.touched(c) {
		cp := make([][]byte, len(args))
		for i, a := range args {
			// Never nil, even for an empty argument: handlers tell an
			// absent optional argument (nil) from an empty one.
			cp[i] = append(make([]byte, 0, len(a)), a...)
		}
		c.multi.queue = append(c.multi.queue, queuedCommand{spec: spec, args: cp})
	}
	c.reply(func() { c.ctx.Out = resp.AppendSimple(c.ctx.Out, "QUEUED") })
}

func (c *Client) discardMulti() {
	c.multi = nil
}

func multiCommand(ctx *command.Ctx) {
	c := clientOf(ctx)
	if c.multi != nil {
		ctx.Err("ERR MULTI calls can not be nested")
		return
	}
	c.multi = &multiState{}
	ctx.OK()
}

func discardCommand(ctx *command.Ctx) {
	c := clientOf(ctx)
	if c.multi == nil {
		ctx.Err("ERR DISCARD without MULTI")
		return
	}
	c.discardMulti()
	c.srv.unwatchAll(c)
	ctx.OK()
}

// execCommand runs the queued commands atomically: every slot any of them
// touches is locked, in ascending order, for the whole transaction, so other
// clients see all of it or none of it while unrelated slots keep running.
func execCommand(ctx *command.Ctx) {
	c := clientOf(ctx)
	s := c.srv
	if c.multi == nil {
		ctx.Err("ERR EXEC without MULTI")
		return
	}
	m := c.multi
	c.multi = nil
	if m.aborted {
		s.unwatchAll(c)
		ctx.Err("EXECABORT Transaction discarded because of previous errors.")
		return
	}
	var slots []int
	whole := false
	for _, q := range m.queue {
		if q.spec.SelfLocking {
			whole = true
			continue
		}
		keys, _ := q.spec.KeyPositions(q.args, nil)
		for _, k := range keys {
			slots = append(slots, slot.Of(q.args[k]))
		}
	}
	watched := s.watches.slotsOf(c)
	// A transaction with a whole-keyspace command (FLUSHALL, KEYS, ...)
	// cannot hold slot locks while it runs: that command takes slot locks
	// itself. Such transactions are serialized among themselves by execMu
	// and hold slot locks only to check their WATCHes.
	if whole {
		s.execMu.Lock()
		defer s.execMu.Unlock()
		slots = nil
	}
	// The watched keys' slots are locked too, so the WATCH check and the
	// commands form one atomic step.
	slots = append(slots, watched...)
	slices.Sort(slots)
	slots = slices.Compact(slots)
	s.ks.LockSlots(slots)
	if s.cluster != nil && !whole {
		if msg := c.clusterRecheckExec(ctx.Cfg, ctx.Spec, m.queue); msg != "" {
			s.ks.UnlockSlots(slots)
			s.unwatchAll(c)
			ctx.Err(msg)
			return
		}
	}
	if s.watches.dirtyOrExpired(c, ctx) {
		s.ks.UnlockSlots(slots)
		s.unwatchAll(c)
		ctx.NullArray()
		return
	}
	if whole {
		s.ks.UnlockSlots(slots)
		slots = nil
	}
	if s.cluster != nil && queuesClusterCommand(m.queue) {
		defer s.cluster.d.Hold(s.ctx)()
	}
	ctx.ArrayLen(len(m.queue))
	cfg := s.cfg.Get()
	outer := *ctx
	var txOps []repl.Op
	for _, q := range m.queue {
		ctx.Reset()
		ctx.Args = q.args
		ctx.Spec = q.spec
		ctx.Cfg = cfg
		// Blocking commands never block inside a transaction.
		ctx.DenyBlocking = true
		start := clock.Mono()
		// In a whole-keyspace transaction each keyed command locks its
		// own slots and is propagated on its own, under them.
		var qslots []int
		if whole && !q.spec.SelfLocking {
			keys, _ := q.spec.KeyPositions(q.args, nil)
			for _, k := range keys {
				qslots = append(qslots, slot.Of(q.args[k]))
			}
			slices.Sort(qslots)
			qslots = slices.Compact(qslots)
			s.ks.LockSlots(qslots)
		}
		q.spec.Handler(ctx)
		if c.rp.propagated {
			c.rp.propagated = false
		} else if ctx.Dirty > 0 {
			if whole {
				sl := repl.NoSlot
				if len(qslots) > 0 {
					sl = qslots[0]
				}
				c.feed(ctx, sl)
			} else {
				txOps = appendOps(txOps, ctx)
			}
		}
		if len(qslots) > 0 {
			s.serveReady(qslots)
			s.ks.UnlockSlots(qslots)
		}
		q.spec.Stats.Calls.Add(1)
		q.spec.Stats.Usec.Add(elapsedMicros(start, clock.Mono()))
		if ctx.Failed {
			q.spec.Stats.FailedCalls.Add(1)
			s.countErrorCode(ctx.ErrCode)
		}
		if ctx.Dirty > 0 {
			s.dirty.Add(ctx.Dirty)
		}
		if s.monitors.active() && q.spec.Flags&(command.FlagSkipMonitor|command.FlagAdmin) == 0 {
			s.monitors.feed(c, ctx.DB, q.args)
		}
	}
	if len(txOps) > 0 {
		// MULTI ... EXEC (or the single write alone, as Redis 7.0 does)
		// goes to replicas while every slot of the transaction is locked.
		sl := repl.NoSlot
		if len(slots) > 0 {
			sl = slots[0]
		}
		c.feedOps(txOps, sl)
	}
	// Clients blocked on keys the transaction filled are served after all
	// of it, as Redis does after EXEC, before anyone else sees the keys.
	s.serveReady(slots)
	s.ks.UnlockSlots(slots)
	ctx.DenyBlocking = false
	s.unwatchAll(c)
	// EXEC itself reports success; the queued commands' errors are inside
	// its reply.
	ctx.Args, ctx.Spec = outer.Args, outer.Spec
	ctx.Failed, ctx.ErrCode, ctx.Dirty = false, "", 0
}

// watchKey is a watched key of one database.
type watchKey struct {
	db  int
	key string
}

// watchRegistry maps watched keys to the clients watching them. Each slot's
// part is guarded by that slot's keyspace lock, which is held both when
// WATCH registers a key and when a write signals it, so signalling costs no
// extra lock on the write path.
type watchRegistry struct {
	count   atomic.Int64 // watched keys in total, to skip signalling quickly
	bySlot  [slot.Count]map[watchKey][]*watcher
	mu      sync.Mutex // guards clients
	clients map[*Client][]*watcher
}

type watcher struct {
	c    *Client
	wk   watchKey
	slot int
	// dirty is set when the key is modified; expired records whether the
	// key was already expired at WATCH time (Redis 7.0: a key that expires
	// after WATCH makes EXEC fail).
	dirty   atomic.Bool
	expired bool
}

func watchCommand(ctx *command.Ctx) {
	c := clientOf(ctx)
	if c.multi != nil {
		ctx.Err("ERR WATCH inside MULTI is not allowed")
		return
	}
	s := c.srv
	for _, key := range ctx.Args[1:] {
		s.watches.add(c, ctx, key)
	}
	ctx.OK()
}

func unwatchCommand(ctx *command.Ctx) {
	c := clientOf(ctx)
	c.srv.unwatchAll(c)
	ctx.OK()
}

// add registers a watch. REQUIRES: key's slot locked.
func (r *watchRegistry) add(c *Client, ctx *command.Ctx, key []byte) {
	sl := slot.Of(key)
	wk := watchKey{db: ctx.DB, key: string(key)}
	r.mu.Lock()
	if r.clients == nil {
		r.clients = map[*Client][]*watcher{}
	}
	for _, w := range r.clients[c] {
		if w.wk == wk {
			r.mu.Unlock()
			return
		}
	}
	w := &watcher{c: c, wk: wk, slot: sl}
	w.expired = keyExpiredNow(ctx, sl, key)
	r.clients[c] = append(r.clients[c], w)
	r.mu.Unlock()
	if r.bySlot[sl] == nil {
		r.bySlot[sl] = map[watchKey][]*watcher{}
	}
	r.bySlot[sl][wk] = append(r.bySlot[sl][wk], w)
	r.count.Add(1)
}

func keyExpiredNow(ctx *command.Ctx, sl int, key []byte) bool {
	if ctx.KS.Get(ctx.DB, sl, key) == nil {
		return false
	}
	when := ctx.KS.ExpireAt(ctx.DB, sl, key)
	return when >= 0 && when <= ctx.Now
}

// touch marks the watchers of key dirty. REQUIRES: key's slot locked.
func (r *watchRegistry) touch(db int, key []byte) {
	if r.count.Load() == 0 {
		return
	}
	m := r.bySlot[slot.Of(key)]
	if m == nil {
		return
	}
	for _, w := range m[watchKey{db: db, key: string(key)}] {
		w.dirty.Store(true)
	}
}

// touchDB marks every watcher of database db (-1: all) dirty.
func (r *watchRegistry) touchDB(db int) {
	if r.count.Load() == 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, ws := range r.clients {
		for _, w := range ws {
			if db < 0 || w.wk.db == db {
				w.dirty.Store(true)
			}
		}
	}
}

// touched reports whether a key c watches was modified since (Redis's
// CLIENT_DIRTY_CAS; a watched key's expiry is judged at EXEC only, as in
// Redis).
func (r *watchRegistry) touched(c *Client) bool {
	if r.count.Load() == 0 {
		return false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, w := range r.clients[c] {
		if w.dirty.Load() {
			return true
		}
	}
	return false
}

// slotsOf returns the slots of c's watched keys.
func (r *watchRegistry) slotsOf(c *Client) []int {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []int
	for _, w := range r.clients[c] {
		out = append(out, w.slot)
	}
	return out
}

// dirtyOrExpired reports whether EXEC must fail for c. REQUIRES: the slots
// of c's watched keys locked.
func (r *watchRegistry) dirtyOrExpired(c *Client, ctx *command.Ctx) bool {
	r.mu.Lock()
	ws := append([]*watcher(nil), r.clients[c]...)
	r.mu.Unlock()
	for _, w := range ws {
		if w.dirty.Load() {
			return true
		}
		if w.expired {
			continue
		}
		// A key that was alive at WATCH time and has expired since makes the
		// transaction fail, as in Redis 7.0.
		when := ctx.KS.ExpireAt(w.wk.db, w.slot, []byte(w.wk.key))
		if when >= 0 && when <= ctx.Now {
			return true
		}
	}
	return false
}

// unwatchAll removes every watch of c.
func (s *Server) unwatchAll(c *Client) {
	r := &s.watches
	r.mu.Lock()
	ws := r.clients[c]
	delete(r.clients, c)
	r.mu.Unlock()
	for _, w := range ws {
		s.ks.Lock(w.slot)
		m := r.bySlot[w.slot]
		list := m[w.wk]
		for i, x := range list {
			if x == w {
				list = append(list[:i], list[i+1:]...)
				break
			}
		}
		if len(list) == 0 {
			delete(m, w.wk)
		} else {
			m[w.wk] = list
		}
		s.ks.Unlock(w.slot)
		r.count.Add(-1)
	}
}

// queuesClusterCommand reports whether a transaction runs CLUSTER
// subcommands, which EXEC runs with the cluster bus held (Driver.Hold).
func queuesClusterCommand(queue []queuedCommand) bool {
	for _, q := range queue {
		if q.spec.Name == "cluster" || q.spec.Parent != nil && q.spec.Parent.Name == "cluster" {
			return true
		}
	}
	return false
}
