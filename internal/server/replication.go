package server

import (
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/reefkv/reef/internal/cluster/state"
	"github.com/reefkv/reef/internal/command"
	"github.com/reefkv/reef/internal/config"
	"github.com/reefkv/reef/internal/digest"
	"github.com/reefkv/reef/internal/keyspace"
	"github.com/reefkv/reef/internal/rconv"
	"github.com/reefkv/reef/internal/rdb"
	"github.com/reefkv/reef/internal/repl"
	"github.com/reefkv/reef/internal/resp"
	"github.com/reefkv/reef/internal/slot"
	"github.com/reefkv/reef/internal/splitargs"
	"github.com/reefkv/reef/internal/types"
)

// This file is the server's side of replication and persistence: the
// commands (PSYNC, SYNC, REPLCONF, REPLICAOF, ROLE, WAIT, SAVE, BGSAVE,
// LASTSAVE, DEBUG DIGEST/RELOAD), propagation of writes to the stream, the
// gates replication puts on commands (NOREPLICAS, READONLY, MASTERDOWN,
// LOADING), applying the master's stream, and INFO's fields. The protocol
// and the snapshots live in internal/repl.

// clientRepl is a client's replication state.
type clientRepl struct {
	// REPLCONF listening-port / ip-address / capa / rdb-only /
	// rdb-filter-only, before PSYNC.
	port              int
	ip                string
	capaEOF, capaPSY2 bool
	rdbOnly           bool
	filter            repl.RDBFilter
	// replica is set once the client sent PSYNC or SYNC.
	replica *repl.Replica
	// link is set on the client applying this node's master's stream.
	link *repl.Link
	// woff is the stream offset after the client's last command (WAIT);
	// woffInexact when it was read while a snapshot's drain held entries
	// back.
	woff        int64
	woffInexact bool
	// propagated is set by Env.Propagate: the command already fed itself.
	propagated bool
	ops        []repl.Op
	raw        []byte
}

// newReplManager builds the replication manager; called by New.
func (s *Server) newReplManager() *repl.Manager {
	codec := repl.CollectionCodec(func() *types.Limits {
		cfg := s.cfg.Get()
		return &types.Limits{
			HashMaxListpackEntries: cfg.HashMaxListpackEntries,
			HashMaxListpackValue:   cfg.HashMaxListpackValue,
			SetMaxIntsetEntries:    cfg.SetMaxIntsetEntries,
			ZSetMaxListpackEntries: cfg.ZSetMaxListpackEntries,
			ZSetMaxListpackValue:   cfg.ZSetMaxListpackValue,
			ListMaxListpackSize:    cfg.ListMaxListpackSize,
		}
	})
	m := repl.NewManager(s, s.ks, codec, s.log)
	s.cfg.OnApply([]string{"repl-backlog-size"}, func(old, new *config.Config) error {
		m.Stream().SetBacklogSize(new.ReplBacklogSize)
		return nil
	})
	return m
}

// startRepl loads the RDB file and starts replication; called by Run before
// listening.
func (s *Server) startRepl() error {
	cfg := s.cfg.Get()
	_, _, asReplica := cfg.Master()
	if cfg.AppendOnly {
		// Redis would load the append-only file and ignore the snapshot.
		// Reef writes no append-only file: loading nothing would lose the
		// dataset at every restart, so the snapshot stands in for it (it
		// is also saved at shutdown in this mode).
		s.log.Warn("WARNING: appendonly yes: Reef does not implement the append-only file. " +
			"The dataset is persisted by RDB snapshots only (save points, BGSAVE, and at shutdown) " +
			"and loaded from " + cfg.DBFilename + "; writes since the last snapshot are lost in a crash.")
	}
	path := filepath.Join(cfg.Dir, cfg.DBFilename)
	s.loading.Store(true)
	_, err := s.repl.LoadFile(path, asReplica)
	s.loading.Store(false)
	if err != nil {
		s.log.Warn(fmt.Sprintf("Fatal error loading the DB: %v. Exiting.", err))
		return err
	}
	if asReplica {
		s.logOut.SetRole('S')
	}
	s.repl.Start()
	return nil
}

// ---- repl.Host ----

// Dirty returns the changes since the last save.
func (s *Server) Dirty() int64 { return s.dirty.Load() }

// SubDirty subtracts the changes a save covered.
func (s *Server) SubDirty(n int64) { s.dirty.Add(-n) }

// UsedMemory returns the heap in use.
func (s *Server) UsedMemory() int64 { return memoryUsed() }

// EmptyData removes every key, atomically with respect to commands.
func (s *Server) EmptyData() {
	s.ks.LockAll()
	for db := 0; db < s.ks.Databases(); db++ {
		for sl := 0; sl < slot.Count; sl++ {
			s.ks.FlushSlot(db, sl)
		}
	}
	s.ks.UnlockAll()
	s.watches.touchDB(-1)
}

// LoadedAccess is the access field of a key loaded from an RDB file with
// its saved LFU frequency and LRU idle time (-1 when absent).
func (s *Server) LoadedAccess(freq, idle int64) uint32 {
	return command.RestoredAccessField(s.cfg.Get(), s.LRUClock(), freq, idle)
}

// SavedAccess returns what a snapshot saves with each key under the current
// maxmemory-policy (idle times under LRU, counters under LFU), or nil.
func (s *Server) SavedAccess() func(v keyspace.Value, meta *rdb.KeyMeta) {
	cfg := s.cfg.Get()
	if !command.SavesAccessMeta(cfg) {
		return nil
	}
	clock := s.LRUClock()
	return func(v keyspace.Value, meta *rdb.KeyMeta) {
		meta.Idle, meta.HasIdle, meta.Freq, meta.HasFreq = command.SavedAccessMeta(s.ks, cfg, clock, v)
	}
}

// SetLoading switches the LOADING state.
func (s *Server) SetLoading(on bool) { s.loading.Store(on) }

// Functions returns the Function libraries to persist (none yet).
func (s *Server) Functions() [][]byte { return nil }

// PauseApply holds the master link between two commands.
// SnapshotWorking gives the process every core while a snapshot walks the
// keyspace: at one P the walk and the event loops would take turns.
func (s *Server) SnapshotWorking() func() { return s.procs.hold() }

func (s *Server) PauseApply() func() {
	s.applyMu.Lock()
	return s.applyMu.Unlock
}

// ServeMaster applies this node's master's stream (Redis's master client):
// commands run with FromMaster set and their replies are dropped; each one
// is fed unchanged to this node's own stream, so sub-replicas see the same
// bytes and offsets.
func (s *Server) ServeMaster(l *repl.Link) error {
	c := s.newClient(l.Conn)
	c.rd = resp.NewRequestReader(l.R)
	c.rd.FromMaster = true
	c.authenticated = true
	c.ctx.FromMaster = true
	c.rp.link = l
	c.mu.Lock()
	c.flags = "M"
	c.db = s.repl.StreamDB()
	c.dbShown.Store(int32(c.db))
	c.mu.Unlock()
	defer c.cleanup()
	st := s.repl.Stream()
	held := false
	defer func() {
		if held {
			s.applyMu.Unlock()
		}
	}()
	consumed := c.rd.TotalRead() - int64(c.rd.Buffered())
	for {
		if held && c.multi == nil {
			s.applyMu.Unlock()
			held = false
		}
		if !held && s.flushSaveDue.Swap(false) {
			s.saveAfterFlush()
		}
		args, err := c.rd.ReadCommand()
		if err != nil {
			return err
		}
		l.Touch()
		if !held {
			s.applyMu.Lock()
			held = true
		}
		c.process(args)
		c.ctx.Out = c.ctx.Out[:0]
		s.repl.SetStreamDB(c.db)
		now := c.rd.TotalRead() - int64(c.rd.Buffered())
		if now-consumed != int64(repl.CommandLen(args)) {
			s.log.Warn(fmt.Sprintf("Master sent a command in a non-canonical form (%d bytes for %d): offsets may drift", now-consumed, repl.CommandLen(args)))
		}
		consumed = now
		c.rp.raw = repl.AppendCommand(c.rp.raw[:0], args)
		st.FeedRaw(repl.NoSlot, c.rp.raw)
		if cap(c.rp.raw) > 1<<20 {
			c.rp.raw = nil
		}
	}
}

// ---- propagation ----

// Propagate implements command.Env: a self-locking command feeds itself
// while it holds the locks of what it changed (slot, or keyspace.AllSlots
// under LockAll), whatever its dirty count.
func (s *Server) Propagate(ctx *command.Ctx, sl int) {
	c, ok := ctx.Conn.(*Client)
	if !ok {
		return
	}
	c.feed(ctx, sl)
	c.rp.propagated = true
}

// propagate feeds the command that just ran, if it changed anything.
// REQUIRES: the slots it changed still locked (sl is one of them, or
// repl.NoSlot when it holds none).
func (c *Client) propagate(ctx *command.Ctx, sl int) {
	if c.rp.propagated {
		c.rp.propagated = false
		return
	}
	if ctx.Dirty > 0 {
		c.feed(ctx, sl)
	}
}

// feed appends the command of ctx to the stream (Rewritten if set).
func (c *Client) feed(ctx *command.Ctx, sl int) {
	if !c.srv.propagating() {
		return
	}
	ops := appendOps(c.rp.ops[:0], ctx)
	c.feedOps(ops, sl)
	for i := range ops {
		ops[i] = repl.Op{}
	}
	c.rp.ops = ops[:0]
}

// appendOps appends what ctx's command propagates.
func appendOps(ops []repl.Op, ctx *command.Ctx) []repl.Op {
	if ctx.Rewritten != nil {
		for _, a := range ctx.Rewritten {
			ops = append(ops, repl.Op{DB: ctx.DB, Argv: a})
		}
		return ops
	}
	return append(ops, repl.Op{DB: ctx.DB, Argv: ctx.Args})
}

// feedOps appends ops to the stream, unless this node is a replica (its
// stream is its master's, fed by ServeMaster).
func (c *Client) feedOps(ops []repl.Op, sl int) {
	if c.rp.link != nil {
		return
	}
	c.srv.feedWrites(sl, ops)
}

// propagating reports whether writes go anywhere: a replication stream
// with a replica or backlog, or a slot export tapping the keyspace. When
// not, the callers skip building the ops.
func (s *Server) propagating() bool {
	return s.repl.Stream().Active() || s.mig.tapping.Load() != 0
}

// feedWrites hands what a write under slot sl's lock propagates to the
// migrations exporting that slot (migration.go) and to the replication
// stream. A replica propagates nothing of its own: its stream is its
// master's, fed by ServeMaster. Every write goes through here: commands,
// pops served to blocked clients, deletions of expired keys.
func (s *Server) feedWrites(sl int, ops []repl.Op) {
	if s.repl.IsReplica() {
		return
	}
	s.migrationTap(sl, ops)
	s.repl.Stream().Feed(sl, ops)
}

// noteWriteOffset records the stream offset after a command, for WAIT.
func (c *Client) noteWriteOffset() {
	st := c.srv.repl.Stream()
	if st.Active() {
		c.rp.woff = st.Offset()
		c.rp.woffInexact = st.Draining()
	}
}

// feedExpired propagates the deletion of a key expired on this master.
// REQUIRES: key's slot locked.
func (s *Server) feedExpired(db int, key []byte) {
	if s.repl.IsReplica() || !s.propagating() {
		return
	}
	k := append([]byte(nil), key...)
	s.feedWrites(slot.Of(key), []repl.Op{{DB: db, Argv: [][]byte{[]byte("DEL"), k}}})
}

// ---- gates ----

// replGate returns the error replication puts on a command, in Redis's
// processCommand order (NOREPLICAS, READONLY, MASTERDOWN, LOADING), or "".
func (c *Client) replGate(spec *command.Spec, cfg *config.Config) string {
	s := c.srv
	if c.rp.link != nil {
		return ""
	}
	write, stale := spec.Flags&command.FlagWrite != 0, spec.Flags&command.FlagStale != 0
	if spec.Name == "exec" && c.multi != nil {
		stale = true
		for _, q := range c.multi.queue {
			write = write || q.spec.Flags&command.FlagWrite != 0
			stale = stale && q.spec.Flags&command.FlagStale != 0
		}
	}
	replica := s.repl.IsReplica()
	if !replica && write && cfg.MinReplicasToWrite > 0 && cfg.MinReplicasMaxLag > 0 &&
		s.repl.GoodReplicas(cfg.MinReplicasMaxLag) < cfg.MinReplicasToWrite {
		return "NOREPLICAS Not enough good replicas to write."
	}
	if replica && cfg.ReplicaReadOnly && write {
		return "READONLY You can't write against a read only replica."
	}
	if replica && !cfg.ReplicaServeStaleData && !stale && !s.repl.LinkUp() {
		return "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'."
	}
	if s.loading.Load() && spec.Flags&command.FlagLoading == 0 {
		return "LOADING Redis is loading the dataset in memory"
	}
	return ""
}

// ---- commands ----

func (s *Server) replFamily() command.Family {
	return command.Family{
		Commands: map[string]command.Handler{
			"psync":     psyncCommand,
			"sync":      psyncCommand,
			"replconf":  replconfCommand,
			"replicaof": replicaofCommand,
			"slaveof":   replicaofCommand,
			"role":      roleCommand,
			"wait":      waitCommand,
			"save":      saveCommand,
			"bgsave":    bgsaveCommand,
			"lastsave":  func(ctx *command.Ctx) { ctx.Int(clientOf(ctx).srv.repl.LastSave()) },
		},
	}
}

// psyncCommand is PSYNC replid offset and SYNC: the connection becomes a
// replica's, written by the replication manager from now on.
func psyncCommand(ctx *command.Ctx) {
	c := clientOf(ctx)
	s := c.srv
	if c.rp.replica != nil {
		return
	}
	if s.repl.IsReplica() && !s.repl.LinkUp() {
		ctx.Err("NOMASTERLINK Can't SYNC while not connected with my master")
		return
	}
	if c.rp.filter.Filtered() && !c.rp.capaEOF {
		// A filtered snapshot goes out diskless only (repl.RDBFilter).
		ctx.Err("ERR Filtered replica requires EOF capability")
		return
	}
	psync := command.EqualFold(ctx.Args[0], "psync")
	replid, off := "?", int64(-1)
	if psync {
		replid = string(ctx.Args[1])
		n, err := strconv.ParseInt(string(ctx.Args[2]), 10, 64)
		if err != nil {
			ctx.Err(command.ErrNotInt)
			return
		}
		off = n
	}
	ip := c.rp.ip
	if ip == "" {
		if ta, ok := c.conn.RemoteAddr().(*net.TCPAddr); ok {
			ip = ta.IP.String()
		}
	}
	// The connection is the replica's from now on: it leaves the event
	// loop. Earlier replies (REPLCONF ...) go out before the manager writes.
	c.yieldLoop()
	c.flush()
	r := repl.NewReplica(c.id, c.conn, ip, c.rp.port, c.rp.capaEOF, c.rp.capaPSY2)
	r.RDBOnly, r.Filter = c.rp.rdbOnly, c.rp.filter
	c.rp.replica = r
	c.mu.Lock()
	c.flags = "S"
	c.mu.Unlock()
	c.conn.SetReadDeadline(time.Time{})
	s.repl.Attach(r, replid, off, psync)
}

func replconfCommand(ctx *command.Ctx) {
	c := clientOf(ctx)
	if len(ctx.Args)%2 == 0 {
		ctx.Err(command.ErrSyntax)
		return
	}
	for j := 1; j < len(ctx.Args); j += 2 {
		opt, val := ctx.Args[j], ctx.Args[j+1]
		switch {
		case command.EqualFold(opt, "listening-port"):
			n, err := strconv.Atoi(string(val))
			if err != nil {
				ctx.Err(command.ErrNotInt)
				return
			}
			c.rp.port = n
		case command.EqualFold(opt, "ip-address"):
			if len(val) >= 46 {
				ctx.Err("ERR REPLCONF ip-address provided by replica instance is too long: " + strconv.Itoa(len(val)) + " bytes")
				return
			}
			c.rp.ip = string(val)
		case command.EqualFold(opt, "capa"):
			if command.EqualFold(val, "eof") {
				c.rp.capaEOF = true
			} else if command.EqualFold(val, "psync2") {
				c.rp.capaPSY2 = true
			}
		case command.EqualFold(opt, "ack"):
			// Sent by a replica: no reply.
			if r := c.rp.replica; r != nil {
				if off, err := strconv.ParseInt(string(val), 10, 64); err == nil {
					c.srv.repl.Ack(r, off)
				}
			}
			return
		case command.EqualFold(opt, "getack"):
			if l := c.rp.link; l != nil {
				l.SendAck()
			}
			return
		case command.EqualFold(opt, "rdb-only"):
			n, ok := rconv.ParseInt(val)
			if !ok {
				ctx.Err(command.ErrNotInt)
				return
			}
			if n < 0 || n > 1 {
				ctx.Err("ERR value is out of range, value must between 0 and 1")
				return
			}
			c.rp.rdbOnly = n == 1
		case command.EqualFold(opt, "rdb-filter-only"):
			// A list of the parts to include; "functions" is the only
			// one, and by default everything is left out.
			filters, ok := splitargs.Split(val, nil)
			if !ok {
				ctx.Err("ERR Missing rdb-filter-only values")
				return
			}
			f := repl.RDBFilter{NoKeys: true, NoFunctions: true}
			for _, name := range filters {
				if !command.EqualFold(name, "functions") {
					ctx.Err("ERR Unsupported rdb-filter-only option: " + cstr(name))
					return
				}
				f.NoFunctions = false
			}
			c.rp.filter = f
		default:
			ctx.Err("ERR Unrecognized REPLCONF option: " + cstr(opt))
			return
		}
	}
	ctx.OK()
}

func replicaofCommand(ctx *command.Ctx) {
	c := clientOf(ctx)
	s := c.srv
	if ctx.Cfg.ClusterEnabled {
		ctx.Err("ERR REPLICAOF not allowed in cluster mode.")
		return
	}
	if command.EqualFold(ctx.Args[1], "no") && command.EqualFold(ctx.Args[2], "one") {
		if s.repl.IsReplica() {
			s.repl.ReplicaOfNoOne()
			s.cfg.Update(func(cfg *config.Config) { cfg.ReplicaOf = "" })
			s.logOut.SetRole('M')
			s.log.Info("MASTER MODE enabled (user request from '" + c.infoLine(true) + "')")
		}
		ctx.OK()
		return
	}
	if c.rp.replica != nil {
		ctx.Err("ERR Command is not valid when client is a replica.")
		return
	}
	port, ok := ctx.IntArg(ctx.Args[2], "")
	if !ok {
		return
	}
	host := string(ctx.Args[1])
	if mi, isRep := s.repl.MasterInfo(); isRep && strings.EqualFold(mi.Host, host) && mi.Port == port {
		s.log.Info("REPLICAOF would result into synchronization with the master we are already connected with. No operation performed.")
		ctx.Simple("OK Already connected to specified master")
		return
	}
	s.repl.ReplicaOf(host, port)
	s.cfg.Update(func(cfg *config.Config) { cfg.ReplicaOf = host + " " + strconv.Itoa(port) })
	s.logOut.SetRole('S')
	s.log.Info(fmt.Sprintf("REPLICAOF %s:%d enabled (user request from '%s')", host, port, c.infoLine(true)))
	ctx.OK()
}

func roleCommand(ctx *command.Ctx) {
	s := clientOf(ctx).srv
	if mi, ok := s.repl.MasterInfo(); ok {
		ctx.ArrayLen(5)
		ctx.BulkString("slave")
		ctx.BulkString(mi.Host)
		ctx.Int(int64(mi.Port))
		state := mi.State
		if state == repl.LinkHandshake {
			state = "handshake"
		}
		ctx.BulkString(state)
		off := int64(-1)
		if mi.State == repl.LinkConnected {
			off = s.repl.Stream().Offset()
		}
		ctx.Int(off)
		return
	}
	var online []*repl.Replica
	for _, r := range s.repl.Replicas() {
		if r.State() == repl.StateOnline {
			online = append(online, r)
		}
	}
	ctx.ArrayLen(3)
	ctx.BulkString("master")
	ctx.Int(s.repl.Stream().Offset())
	ctx.ArrayLen(len(online))
	for _, r := range online {
		ctx.ArrayLen(3)
		ctx.BulkString(r.IP)
		ctx.BulkString(strconv.Itoa(r.Port))
		ctx.BulkString(strconv.FormatInt(r.AckOffset(), 10))
	}
}

func waitCommand(ctx *command.Ctx) {
	c := clientOf(ctx)
	s := c.srv
	if s.repl.IsReplica() {
		ctx.Err("ERR WAIT cannot be used with replica instances. Please also note that since Redis 4.0 if a replica is configured to be writable (which is not the default) writes to replicas are just local and are not propagated.")
		return
	}
	n, ok := ctx.IntArg(ctx.Args[1], "")
	if !ok {
		return
	}
	ms, err := strconv.ParseInt(string(ctx.Args[2]), 10, 64)
	if err != nil {
		ctx.Err("ERR timeout is not an integer or out of range")
		return
	}
	if ms < 0 {
		ctx.Err("ERR timeout is negative")
		return
	}
	st := s.repl.Stream()
	target := c.rp.woff
	if !c.rp.woffInexact {
		// First without waiting at all, as Redis does: a client whose
		// writes the replicas already have stays on its event loop.
		if got := s.repl.CountAcks(target); got >= n || c.multi != nil || ctx.DenyBlocking {
			ctx.Int(int64(got))
			return
		}
	}
	c.yieldLoop() // WAIT waits: not on the event loop
	if c.rp.woffInexact {
		st.WaitDrained()
		target = st.Offset()
	}
	if c.multi != nil || ctx.DenyBlocking {
		ctx.Int(int64(s.repl.CountAcks(target)))
		return
	}
	c.flush()
	cancel := make(chan struct{})
	done := make(chan struct{})
	go func() {
		// A killed client, or shutdown, stops the wait.
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-s.ctx.Done():
				close(cancel)
				return
			case <-t.C:
				if c.killed.Load() {
					close(cancel)
					return
				}
			}
		}
	}()
	got := s.repl.Wait(target, n, time.Duration(ms)*time.Millisecond, cancel)
	close(done)
	ctx.Int(int64(got))
}

func saveCommand(ctx *command.Ctx) {
	s := clientOf(ctx).srv
	if err := s.repl.Save(); err != nil {
		if errors.Is(err, repl.ErrSaveInProgress) {
			ctx.Err("ERR Background save already in progress")
			return
		}
		ctx.Err("ERR")
		return
	}
	ctx.OK()
}

func bgsaveCommand(ctx *command.Ctx) {
	s := clientOf(ctx).srv
	schedule := false
	if len(ctx.Args) > 1 {
		if len(ctx.Args) == 2 && command.EqualFold(ctx.Args[1], "schedule") {
			schedule = true
		} else {
			ctx.Err(command.ErrSyntax)
			return
		}
	}
	if err := s.repl.BGSave(); err != nil {
		if schedule {
			ctx.Simple("Background saving scheduled")
			go func() {
				for s.ctx.Err() == nil {
					time.Sleep(100 * time.Millisecond)
					if s.repl.BGSave() == nil {
						return
					}
				}
			}()
			return
		}
		ctx.Err("ERR Background save already in progress")
		return
	}
	ctx.Simple("Background saving started")
}

// saveOnShutdown writes the RDB file before exiting.
func (s *Server) saveOnShutdown() error {
	s.log.Info("Saving the final RDB snapshot before exiting.")
	if err := s.repl.SaveWaiting(); err != nil {
		s.log.Warn("Error trying to save the DB: " + err.Error())
		return err
	}
	return nil
}

// ---- DEBUG subcommands ----

// debugRepl handles the DEBUG subcommands of this file; it reports false
// for others.
func debugRepl(ctx *command.Ctx, sub string) bool {
	s := clientOf(ctx).srv
	switch sub {
	case "digest":
		if len(ctx.Args) != 2 {
			return false
		}
		ctx.Simple(s.datasetDigest().String())
	case "digest-value":
		ctx.ArrayLen(len(ctx.Args) - 2)
		for _, key := range ctx.Args[2:] {
			sl := slot.Of(key)
			var d digest.Digest
			s.ks.Lock(sl)
			if v := s.ks.Get(ctx.DB, sl, key); v != nil {
				var o rdb.Object
				if repl.ValueToObject(*v, &o) {
					d = digest.Value(&o, s.ks.ExpireAt(ctx.DB, sl, key) >= 0)
				}
			}
			s.ks.Unlock(sl)
			ctx.Simple(d.String())
		}
	case "reload":
		save := true
		for _, a := range ctx.Args[2:] {
			switch {
			case command.EqualFold(a, "nosave"):
				save = false
			case command.EqualFold(a, "noflush"), command.EqualFold(a, "merge"):
			default:
				ctx.Err("ERR DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE options.")
				return true
			}
		}
		if err := s.repl.Reload(save, s.repl.IsReplica()); err != nil {
			s.log.Warn("DEBUG RELOAD: " + err.Error())
			ctx.Err("ERR Error trying to load the RDB dump, check server logs.")
			return true
		}
		s.log.Info("DB reloaded by DEBUG RELOAD")
		ctx.OK()
	case "change-repl-id":
		s.repl.Stream().ChangeID()
		ctx.OK()
	default:
		return false
	}
	return true
}

// datasetDigest is DEBUG DIGEST: Redis's order-independent digest of every
// database.
func (s *Server) datasetDigest() digest.Digest {
	var ds digest.Dataset
	var o rdb.Object
	for db := 0; db < s.ks.Databases(); db++ {
		if s.ks.Size(db) == 0 {
			continue
		}
		ds.BeginDB(db)
		for sl := 0; sl < slot.Count; sl++ {
			if s.ks.Count(db, sl) == 0 {
				continue
			}
			s.ks.Lock(sl)
			if t := s.ks.Table(db, sl); t != nil {
				for e := range t.Keys.All() {
					o = rdb.Object{}
					if !repl.ValueToObject(e.Val, &o) {
						continue
					}
					hasExp := t.Expires.Len() > 0 && t.Expires.Get(e.Key) != nil
					ds.Add([]byte(e.Key), &o, hasExp)
				}
			}
			s.ks.Unlock(sl)
		}
	}
	return ds.Sum()
}

// ---- INFO ----

func (s *Server) infoPersistence(b *strings.Builder, cfg *config.Config) {
	pi := s.repl.PersistInfo()
	b.WriteString("# Persistence\r\n")
	field(b, "loading", boolInt(s.loading.Load() || pi.Loading))
	field(b, "async_loading", 0)
	field(b, "current_cow_peak", 0)
	field(b, "current_cow_size", 0)
	field(b, "current_cow_size_age", 0)
	field(b, "current_fork_perc", "0.00")
	field(b, "current_save_keys_processed", 0)
	field(b, "current_save_keys_total", 0)
	if pi.Loading {
		field(b, "loading_start_time", pi.LoadingStartTime)
	}
	field(b, "rdb_changes_since_last_save", s.dirty.Load())
	field(b, "rdb_bgsave_in_progress", boolInt(pi.BgsaveInProgress))
	field(b, "rdb_last_save_time", pi.LastSaveTime)
	status := "ok"
	if !pi.LastBgsaveOK {
		status = "err"
	}
	field(b, "rdb_last_bgsave_status", status)
	field(b, "rdb_last_bgsave_time_sec", pi.LastBgsaveTimeSec)
	field(b, "rdb_current_bgsave_time_sec", pi.CurrentBgsaveSec)
	field(b, "rdb_saves", pi.Saves)
	field(b, "rdb_last_cow_size", 0)
	field(b, "rdb_last_load_keys_expired", 0)
	field(b, "rdb_last_load_keys_loaded", 0)
	field(b, "aof_enabled", 0) // no append-only file is written, whatever appendonly says
	field(b, "aof_rewrite_in_progress", 0)
	field(b, "aof_rewrite_scheduled", 0)
	field(b, "aof_last_rewrite_time_sec", -1)
	field(b, "aof_current_rewrite_time_sec", -1)
	field(b, "aof_last_bgrewrite_status", "ok")
	field(b, "aof_rewrites", 0)
	field(b, "aof_rewrites_consecutive_failures", 0)
	field(b, "aof_last_write_status", "ok")
	field(b, "aof_last_cow_size", 0)
	field(b, "module_fork_in_progress", 0)
	field(b, "module_fork_last_cow_size", 0)
}

func (s *Server) infoReplication(b *strings.Builder, cfg *config.Config) {
	st := s.repl.Stream()
	b.WriteString("# Replication\r\n")
	if mi, ok := s.repl.MasterInfo(); ok {
		field(b, "role", "slave")
		field(b, "master_host", mi.Host)
		field(b, "master_port", mi.Port)
		status := "down"
		if mi.State == repl.LinkConnected {
			status = "up"
		}
		field(b, "master_link_status", status)
		field(b, "master_last_io_seconds_ago", mi.LastIOSecAgo)
		field(b, "master_sync_in_progress", boolInt(mi.SyncInProcess))
		off := st.Offset()
		if !st.Active() {
			off = 1
		}
		field(b, "slave_read_repl_offset", off)
		field(b, "slave_repl_offset", off)
		if mi.SyncInProcess {
			field(b, "master_sync_total_bytes", mi.SyncTotal)
			field(b, "master_sync_read_bytes", mi.SyncRead)
			left := int64(-1)
			perc := 0.0
			if mi.SyncTotal > 0 {
				left = mi.SyncTotal - mi.SyncRead
				perc = float64(mi.SyncRead) * 100 / float64(mi.SyncTotal)
			}
			field(b, "master_sync_left_bytes", left)
			field(b, "master_sync_perc", fmt.Sprintf("%.2f", perc))
			field(b, "master_sync_last_io_seconds_ago", mi.SyncLastIO)
		}
		if status == "down" {
			field(b, "master_link_down_since_seconds", mi.DownSinceSec)
		}
		field(b, "slave_priority", cfg.ReplicaPriority)
		field(b, "slave_read_only", boolInt(cfg.ReplicaReadOnly))
		field(b, "replica_announced", boolInt(cfg.ReplicaAnnounced))
	} else {
		field(b, "role", "master")
	}
	rs := s.repl.Replicas()
	field(b, "connected_slaves", len(rs))
	if cfg.MinReplicasToWrite > 0 && cfg.MinReplicasMaxLag > 0 {
		field(b, "min_slaves_good_slaves", s.repl.GoodReplicas(cfg.MinReplicasMaxLag))
	}
	for i, r := range rs {
		fmt.Fprintf(b, "slave%d:ip=%s,port=%d,state=%s,offset=%d,lag=%d\r\n", i, r.IP, r.Port, r.State(), r.AckOffset(), r.LagSeconds())
	}
	replid, replid2, second := st.IDs()
	field(b, "master_failover_state", "no-failover")
	field(b, "master_replid", replid)
	field(b, "master_replid2", replid2)
	field(b, "master_repl_offset", st.Offset())
	field(b, "second_repl_offset", second)
	bl := st.BacklogInfo()
	field(b, "repl_backlog_active", boolInt(bl.Active))
	field(b, "repl_backlog_size", cfg.ReplBacklogSize)
	field(b, "repl_backlog_first_byte_offset", bl.FirstByte)
	field(b, "repl_backlog_histlen", bl.HistLen)
}

// ---- cluster ----

// clusterReplication is what cluster mode calls to change this node's role
// (see ClusterReplication in cluster.go).
type clusterReplication struct{ s *Server }

// ReplInfo reports the offset and the link for the cluster bus.
func (r clusterReplication) ReplInfo() state.ReplInfo {
	s := r.s
	// Whether writes are drained is read before the offset, which is then
	// final (see clusterNode.drainWrites).
	paused := s.cluster != nil && s.cluster.writesDrained() && !s.repl.Stream().Draining()
	info := state.ReplInfo{Offset: s.repl.Stream().Offset(), LinkUp: true, WritesPaused: paused}
	if mi, ok := s.repl.MasterInfo(); ok {
		info.LinkUp = mi.State == repl.LinkConnected
		now := time.Now().UnixMilli()
		if info.LinkUp {
			info.LastInteraction = now - mi.LastIOSecAgo*1000
		} else if mi.DownSinceSec >= 0 {
			info.DownSince = now - mi.DownSinceSec*1000
		}
	}
	return info
}

// BecomeReplica makes this node replicate the master at ip:port.
func (r clusterReplication) BecomeReplica(master state.NodeID, ip string, port int) {
	s := r.s
	if mi, ok := s.repl.MasterInfo(); ok && mi.Host == ip && mi.Port == port {
		return
	}
	s.repl.ReplicaOf(ip, port)
	s.logOut.SetRole('S')
}

// BecomeMaster stops replicating; the replication ID is shifted either way
// so that the old master's other replicas can continue from this node.
func (r clusterReplication) BecomeMaster(failover bool) {
	s := r.s
	s.repl.ReplicaOfNoOne()
	s.logOut.SetRole('M')
	// Slots my former master was importing atomically are not mine.
	s.migrationPromoted()
}

// typeMatches is CLIENT LIST/KILL TYPE: master (the link to this node's
// master), replica/slave, pubsub or normal.
func typeMatches(cl *Client, typ string) bool {
	cl.mu.Lock()
	flags := cl.flags
	cl.mu.Unlock()
	switch typ {
	case "master":
		return flags == "M"
	case "replica", "slave":
		return flags == "S"
	case "pubsub":
		return cl.isPubSub()
	}
	return flags != "M" && flags != "S" && !cl.isPubSub()
}

// shutdownWaitReplicas pauses writes and waits up to shutdown-timeout for
// the replicas to acknowledge everything, as Redis 7.0's SHUTDOWN does
// (SHUTDOWN NOW and FORCE skip it in Redis; Reef's SHUTDOWN ignores NOW).
func (s *Server) shutdownWaitReplicas(cfg *config.Config) {
	if s.repl.IsReplica() || len(s.repl.Replicas()) == 0 || cfg.ShutdownTimeout <= 0 {
		return
	}
	timeout := time.Duration(cfg.ShutdownTimeout) * time.Second
	s.shutdownPause.set(time.Now().Add(timeout), false)
	s.repl.WaitReplicasForShutdown(timeout)
}

// flushallSave is what FLUSHALL does with save points configured, as
// Redis's flushAllDataAndResetRDB: it saves the (now empty) dataset right
// away, keeping the change count so that the flush still counts as one.
func (s *Server) flushallSave() {
	if len(s.cfg.Get().Save) == 0 {
		return
	}
	if s.repl.IsReplica() {
		// The master's FLUSHALL, applied by ServeMaster while it holds the
		// apply lock, which the snapshot takes too: ServeMaster saves once
		// it has let go of it.
		s.flushSaveDue.Store(true)
		return
	}
	s.saveAfterFlush()
}

// saveAfterFlush is flushallSave's save. REQUIRES: the apply lock not held.
func (s *Server) saveAfterFlush() {
	dirty := s.dirty.Load()
	if err := s.repl.SaveWaiting(); err != nil {
		s.log.Warn("FLUSHALL: saving the empty dataset failed: " + err.Error())
		return
	}
	s.dirty.Add(dirty)
}
