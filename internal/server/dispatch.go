package server

import (
	"bytes"
	"slices"
	"strings"
	"time"

	"github.com/reefkv/reef/internal/clock"
	"github.com/reefkv/reef/internal/command"
	"github.com/reefkv/reef/internal/config"
	"github.com/reefkv/reef/internal/repl"
	"github.com/reefkv/reef/internal/resp"
)

// process runs one command the way Redis's processCommand does: look it up,
// check existence and arity, authentication, transaction state and the
// other gates, in Redis's order, then lock the slots of its keys and call
// it (or queue it inside MULTI).
func (c *Client) process(args [][]byte) { c.processLookedUp(args, c.lookupCommand(args[0])) }

// lastCommand is a client's last command name, as sent, and its table
// entry: a client mostly sends the same few commands, and comparing a few
// bytes costs less than hashing them into the table (5% of a pipelined
// LPUSH's CPU went to the table's map).
type lastCommand struct {
	name [16]byte
	n    int
	spec *command.Spec
}

// lookupCommand finds the table entry of command name.
func (c *Client) lookupCommand(name []byte) *command.Spec {
	last := &c.lastCommand
	if last.spec != nil && bytes.Equal(name, last.name[:last.n]) {
		return last.spec
	}
	spec := c.srv.table.Lookup(name)
	if spec != nil && len(name) <= len(last.name) {
		last.n = copy(last.name[:], name)
		last.spec = spec
	}
	return spec
}

// processLookedUp is process for a command whose name the caller already
// looked up in the table (the event loop's batch does, to prefetch).
func (c *Client) processLookedUp(args [][]byte, spec *command.Spec) {
	c.processCommand(args, spec)
	// ASKING lasts for the next command, or until EXEC/DISCARD when that
	// is MULTI (Redis's resetClient).
	if c.asking {
		if c.askingSet {
			c.askingSet = false
		} else if c.multi == nil {
			c.asking = false
		}
	}
}

func (c *Client) processCommand(args [][]byte, spec *command.Spec) {
	s := c.srv
	cfg := s.cfg.Get()
	if spec != nil && spec.Subs != nil && len(args) >= 2 {
		sub := spec.LookupSub(args[1])
		if sub == nil {
			c.reject(nil, "ERR unknown subcommand '"+trunc(cstr(args[1]), 128)+"'. Try "+strings.ToUpper(cstr(args[0]))+" HELP.")
			return
		}
		spec = sub
	}
	// A container named alone (CLIENT, OBJECT) is an arity error, as in
	// Redis, whose lookup returns the container itself.
	if spec == nil || (spec.Handler == nil && spec.Subs == nil) {
		c.reject(nil, unknownCommandError(args))
		return
	}
	if (spec.Arity > 0 && spec.Arity != len(args)) || len(args) < -spec.Arity {
		c.reject(spec, command.ErrArity(spec.FullName()))
		return
	}
	if spec.Handler == nil {
		c.reject(nil, unknownCommandError(args))
		return
	}
	if isProtected(spec) && !protectedAllowed(cfg, spec, c) {
		c.reject(spec, protectedError(spec))
		return
	}
	if !c.authenticated && spec.Flags&command.FlagNoAuth == 0 {
		c.reject(spec, "NOAUTH Authentication required.")
		return
	}
	if c.multi != nil && spec.Flags&command.FlagNoMulti != 0 {
		c.reject(spec, "ERR Command not allowed inside a transaction")
		return
	}
	if s.cluster != nil && c.rp.link == nil && !c.clusterRoute(spec, args, cfg) {
		return
	}
	if cfg.MaxMemory > 0 && c.rp.link == nil && !s.performEvictions(cfg, c) && c.deniedOnOOM(spec) {
		c.reject(spec, errOOM)
		return
	}
	if cfg.StopWritesOnBgsaveError && len(cfg.Save) > 0 && c.rp.link == nil && s.repl.LastBgsaveFailed() &&
		(c.commandFlags(spec)&command.FlagWrite != 0 || spec.Name == "ping") {
		// Redis's writeCommandsDeniedByDiskError: a failed background
		// save stops writes (and PING) until a save succeeds.
		c.reject(spec, errMISCONF)
		return
	}
	if msg := c.replGate(spec, cfg); msg != "" {
		c.reject(spec, msg)
		return
	}
	if msg := c.pubsubContextError(spec); msg != "" {
		c.reject(spec, msg)
		return
	}
	if c.multi != nil && !isTransactionControl(spec) {
		c.queue(spec, args)
		return
	}
	c.waitIfPaused(spec)
	if s.cluster != nil {
		c.callGated(spec, args, cfg)
		return
	}
	c.call(spec, args, cfg)
}

// errMISCONF is Redis's shared.bgsaveerr.
const errMISCONF = "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. Commands that may modify the data set are disabled, because this instance is configured to report errors during writes if RDB snapshotting fails (stop-writes-on-bgsave-error option). Please check the Redis logs for details about the RDB error."

// commandFlags is spec's flags, and for EXEC also those of the commands it
// queued (Redis's mstate.cmd_flags): the write, denyoom and pause gates
// judge a transaction by what it holds.
func (c *Client) commandFlags(spec *command.Spec) command.Flags {
	f := spec.Flags
	if spec.Name == "exec" && c.multi != nil {
		for _, q := range c.multi.queue {
			f |= q.spec.Flags
		}
	}
	return f
}

// isTransactionControl reports the commands that run immediately inside
// MULTI instead of being queued.
func isTransactionControl(spec *command.Spec) bool {
	switch spec.Name {
	case "exec", "discard", "multi", "watch", "quit", "reset":
		return true
	}
	return false
}

// unknownCommandError is Redis's "unknown command" text, quoting the first
// arguments up to 128 characters.
func unknownCommandError(args [][]byte) string {
	var b strings.Builder
	for _, a := range args[1:] {
		if b.Len() >= 128 {
			break
		}
		b.WriteByte('\'')
		b.WriteString(trunc(cstr(a), 128-b.Len()))
		b.WriteString("' ")
	}
	return "ERR unknown command '" + trunc(cstr(args[0]), 128) + "', with args beginning with: " + b.String()
}

// cstr is b as Redis's printf("%s") sees it: cut at the first NUL byte.
func cstr(b []byte) string { return command.CStr(b) }

func trunc(s string, n int) string {
	if n < 0 {
		n = 0
	}
	if len(s) > n {
		return s[:n]
	}
	return s
}

// isProtected reports the commands Redis 7.0 marks CMD_PROTECTED, gated by
// enable-debug-command and enable-module-command. COMMAND INFO does not
// publish that flag in 7.0, so it is not in the captured metadata.
func isProtected(spec *command.Spec) bool {
	return spec.Flags&command.FlagProtected != 0 || spec.Name == "debug" || spec.Name == "module"
}

func protectedAllowed(cfg *config.Config, spec *command.Spec, c *Client) bool {
	var mode string
	switch spec.Name {
	case "debug":
		mode = cfg.EnableDebugCommand
	case "module":
		mode = cfg.EnableModuleCommand
	default:
		return true
	}
	return mode == "yes" || (mode == "local" && isLocal(c.conn))
}

func protectedError(spec *command.Spec) string {
	upper := strings.ToUpper(spec.Name)
	return "ERR " + upper + " command not allowed. If the enable-" + spec.Name + "-command option is set to \"local\", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server."
}

// reject replies an error for a command that was not executed and counts it
// as Redis does (rejected_calls, errorstats); inside MULTI it also dooms the
// transaction.
func (c *Client) reject(spec *command.Spec, msg string) {
	if spec != nil {
		spec.Stats.RejectedCalls.Add(1)
	}
	if c.multi != nil {
		c.multi.aborted = true
	}
	if spec != nil && spec.Name == "exec" {
		// Redis's execCommandAbort: a rejected EXEC ends the transaction
		// and its WATCHes, and says why.
		c.discardMulti()
		c.srv.unwatchAll(c)
		msg = "EXECABORT Transaction discarded because of: " + strings.TrimPrefix(msg, "ERR ")
	}
	c.srv.countError(msg)
	c.reply(func() { c.ctx.Out = resp.AppendError(c.ctx.Out, msg) })
}

// reply appends output produced by fn unless CLIENT REPLY suppresses it.
func (c *Client) reply(fn func()) {
	mark := len(c.ctx.Out)
	fn()
	c.applyReplyMode(mark)
}

// applyReplyMode drops the output appended since mark when CLIENT REPLY OFF
// or SKIP is in force.
func (c *Client) applyReplyMode(mark int) {
	switch c.replyMode {
	case replyOff:
		c.ctx.Out = c.ctx.Out[:mark]
	case replySkip:
		c.ctx.Out = c.ctx.Out[:mark]
		c.replyMode = replyOn
	case replySkipNext:
		c.replyMode = replySkip
	}
}

// call executes a command with its slots locked: Redis's call().
func (c *Client) call(spec *command.Spec, args [][]byte, cfg *config.Config) {
	ctx := &c.ctx
	ctx.Reset()
	ctx.Args = args
	ctx.Spec = spec
	ctx.Cfg = cfg
	ctx.Proto = c.proto
	ctx.DB = c.db
	start := c.recentClock()
	ctx.Now = clock.UnixMilli(start)
	mark := len(ctx.Out)
	// CLIENT LIST shows the command being run ("cmd=client|list" for the
	// client asking), as Redis sets lastcmd before calling it.
	c.lastCmd.Store(spec)

	if c.lockKeys(spec, args) {
		if c.routedMap != nil && !c.clusterRecheck(spec, args, cfg) {
			return // the cluster moved the slot meanwhile
		}
		c.runLocked(spec, ctx)
	} else {
		spec.Handler(ctx)
		c.propagate(ctx, repl.NoSlot)
	}
	c.noteWriteOffset()
	c.srv.drainPendingReady()

	end := clock.Mono()
	dur := time.Duration(end - start)
	if t := cfg.LatencyMonitorThreshold; t > 0 && c.blocking == nil && dur.Milliseconds() >= t {
		// A command that blocked is timed without its wait, and Redis
		// samples none then.
		event := "command"
		if spec.Flags&command.FlagFast != 0 {
			event = "fast-command"
		}
		c.srv.latency.AddIfNeeded(t, event, dur.Milliseconds())
	}
	if bc := c.blocking; bc != nil {
		// The command parked the client on its keys (blocking.go): wait
		// to be served, time out or be unblocked. Its reply was written to
		// ctx.Out meanwhile, and its dirty count already accounted.
		c.blocking = nil
		c.lastCmd.Store(spec)
		c.writing.Store(false) // a parked client holds no manual failover back
		if c.waitBlocked(bc) {
			// A BLMOVE whose destination slot a pusher could not lock: run
			// it again, keeping its deadline.
			if d := bc.req.Deadline; d > 0 {
				ctx.BlockDeadline = d
			}
			if c.srv.cluster != nil {
				c.callGated(spec, args, cfg)
			} else {
				c.call(spec, args, cfg)
			}
			ctx.BlockDeadline = 0
			return
		}
		ctx.Dirty = 0
		mark = 0
	} else if c.onRunner {
		c.clockHint = end
	}
	c.afterCall(spec, args, elapsedMicros(start, end), mark)
}

// elapsedMicros is the time from start to end (clock.Mono readings) in
// microseconds as Redis measures a command: the difference of two
// microsecond clocks, not the nanoseconds truncated. A GET takes a fraction
// of a microsecond; truncating made nearly every one count 0 (INFO
// commandstats showed usec_per_call=0.01 where Redis shows 0.1-0.2), while
// the difference of microsecond readings is 1 as often as the command
// straddles a microsecond boundary, so that the sum stays true.
func elapsedMicros(start, end int64) int64 {
	return end/1000 - start/1000
}

// runLocked runs a handler whose slots lockKeys locked, releasing them even
// if the handler panics, so that a bug in one command (recovered and logged
// at the connection boundary) cannot leave slots locked for every client.
func (c *Client) runLocked(spec *command.Spec, ctx *command.Ctx) {
	defer c.srv.ks.UnlockSlots(c.slots)
	spec.Handler(ctx)
	// Fed to replicas while the slots are still locked, so that the
	// stream's order agrees with the keyspace's (docs/REPLICATION.md).
	c.propagate(ctx, c.slots[0])
	if ctx.Block != nil {
		c.blocking = c.srv.blocked.register(c, ctx.DB, ctx.Block)
	}
	// Clients blocked on keys this command made ready are served now,
	// atomically with it (docs/BLOCKING.md).
	c.srv.serveReady(c.slots)
}

// lockKeys locks the slots of the command's keys in ascending order and
// reports whether it locked anything.
func (c *Client) lockKeys(spec *command.Spec, args [][]byte) bool {
	if spec.SelfLocking {
		return false
	}
	if c.routedMap != nil && c.routedSlot >= 0 {
		// Cluster routing found the one slot of all the keys (and left
		// their positions in c.keyPos): tell the handler, so that it does
		// not hash the key again.
		c.slots = append(c.slots[:0], c.routedSlot)
		c.srv.ks.LockSlots(c.slots)
		if len(c.keyPos) > 0 && c.keyPos[0] < len(args) {
			c.ctx.SeedSlot(args[c.keyPos[0]], c.routedSlot)
		}
		return true
	}
	keys, _ := spec.KeyPositions(args, c.keyPos[:0])
	c.keyPos = keys
	if len(keys) == 0 {
		return false
	}
	c.slots = c.slots[:0]
	for _, k := range keys {
		c.slots = append(c.slots, c.batch.slotOf(args[k]))
	}
	c.ctx.SeedSlot(args[keys[0]], c.slots[0])
	if len(c.slots) > 1 {
		slices.Sort(c.slots)
		c.slots = slices.Compact(c.slots)
	}
	c.srv.ks.LockSlots(c.slots)
	return true
}

// afterCall does the bookkeeping after a command ran: statistics, slow log,
// MONITOR, reply mode.
// usec is the command's duration (elapsedMicros).
func (c *Client) afterCall(spec *command.Spec, args [][]byte, usec int64, mark int) {
	s := c.srv
	ctx := &c.ctx
	spec.Stats.Calls.Add(1)
	spec.Stats.Usec.Add(usec)
	if s.cfg.Get().LatencyTracking {
		// In nanoseconds of whole microseconds, at least 1, as Redis
		// records them.
		spec.HistogramOf().Record(max(uint64(usec)*1000, 1))
	}
	if ctx.Failed {
		spec.Stats.FailedCalls.Add(1)
		s.countErrorCode(ctx.ErrCode)
	}
	s.stats.totalCommands.Add(1)
	if ctx.Dirty > 0 {
		s.dirty.Add(ctx.Dirty)
	}
	if spec.Flags&command.FlagSkipSlowlog == 0 {
		args = redactArgs(spec, args)
		s.slowlog.maybeAdd(s.cfg.Get(), c, args, usec)
	}
	if s.monitors.active() && spec.Flags&(command.FlagSkipMonitor|command.FlagAdmin) == 0 {
		s.monitors.feed(c, ctx.DB, redactArgs(spec, args))
	}
	if c.db != ctx.DB {
		c.db = ctx.DB
		c.dbShown.Store(int32(ctx.DB))
	}
	c.applyReplyMode(mark)
}

// redacted replaces secrets in what MONITOR and SLOWLOG show, as Redis's
// redactClientCommandArgument does.
var redacted = []byte("(redacted)")

// redactArgs returns args with the passwords of AUTH, HELLO ... AUTH and
// MIGRATE ... AUTH/AUTH2 replaced by "(redacted)". Other commands' args are
// returned as they are, without copying.
func redactArgs(spec *command.Spec, args [][]byte) [][]byte {
	var from, n int
	switch spec.Name {
	case "auth":
		from, n = 1, len(args)-1
	case "hello":
		for j := 2; j+2 < len(args); j++ {
			if command.EqualFold(args[j], "auth") {
				from, n = j+1, 2
				break
			}
		}
	case "migrate":
		for j := 6; j < len(args); j++ {
			if command.EqualFold(args[j], "auth") && j+1 < len(args) {
				from, n = j+1, 1
				break
			}
			if command.EqualFold(args[j], "auth2") && j+2 < len(args) {
				from, n = j+1, 2
				break
			}
		}
	}
	if n <= 0 {
		return args
	}
	out := append([][]byte(nil), args...)
	for j := from; j < from+n && j < len(out); j++ {
		out[j] = redacted
	}
	return out
}
