package server

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/reefkv/reef/internal/command"
	"github.com/reefkv/reef/internal/config"
	"github.com/reefkv/reef/internal/rconv"
	"github.com/reefkv/reef/internal/splitargs"
)

func sortClients(cs []*Client) {
	sort.Slice(cs, func(i, j int) bool { return cs[i].id < cs[j].id })
}

// pauseState is CLIENT PAUSE: until a deadline, commands of normal clients
// (all of them, or only writes) wait before running.
type pauseState struct {
	// active is set while a pause may be in force, so that unpaused
	// servers skip the clock read on every command.
	active  atomic.Bool
	mu      sync.Mutex
	until   time.Time
	all     bool
	changed chan struct{} // closed when the pause is lifted or changed
}

func (p *pauseState) state() (until time.Time, all bool, changed chan struct{}) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.changed == nil {
		p.changed = make(chan struct{})
	}
	return p.until, p.all, p.changed
}

func (p *pauseState) set(until time.Time, all bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.active.Store(true)
	// A new pause never shortens one in force, as in Redis.
	if until.After(p.until) {
		p.until = until
	}
	p.all = p.all && time.Now().Before(p.until) || all
	if p.changed != nil {
		close(p.changed)
	}
	p.changed = make(chan struct{})
}

// settle clears the active flag once the pause is over.
func (p *pauseState) settle() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !time.Now().Before(p.until) {
		p.active.Store(false)
	}
}

func (p *pauseState) lift() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.until = time.Time{}
	p.all = false
	if p.changed != nil {
		close(p.changed)
	}
	p.changed = make(chan struct{})
}

// waitIfPaused blocks the client while a CLIENT PAUSE covers spec. Replies
// already produced are flushed first, so earlier pipelined commands are not
// held back.
func (c *Client) waitIfPaused(spec *command.Spec) {
	c.waitPause(&c.srv.pause, spec)
	// Writes paused while SHUTDOWN lets the replicas catch up.
	c.waitPause(&c.srv.shutdownPause, spec)
	if n := c.srv.cluster; n != nil && n.pausing.Load() {
		// Writes paused by a manual failover (cluster.go).
		c.waitPause(&n.pause, spec)
	}
}

// waitPause blocks the client while the pause p covers spec. The common
// case, no pause ever set or the last one over, costs one atomic load.
func (c *Client) waitPause(p *pauseState, spec *command.Spec) {
	for {
		if !p.active.Load() {
			return
		}
		until, all, changed := p.state()
		wait := time.Until(until)
		if wait <= 0 {
			p.settle()
			return
		}
		if !all && !c.mayWrite(spec) {
			return
		}
		c.yieldLoop()
		c.flush()
		t := time.NewTimer(wait)
		select {
		case <-changed:
		case <-t.C:
		case <-c.srv.ctx.Done():
		}
		t.Stop()
		if c.killed.Load() || c.srv.ctx.Err() != nil {
			return
		}
	}
}

// mayWrite reports whether a write pause holds spec back: a write or
// may-replicate command, or EXEC of a transaction holding one (Redis 7.0).
func (c *Client) mayWrite(spec *command.Spec) bool {
	return c.commandFlags(spec)&(command.FlagWrite|command.FlagMayReplicate) != 0
}

// holdsWrites reports whether the pause p holds write commands back now.
func (p *pauseState) holdsWrites() bool {
	if !p.active.Load() {
		return false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return time.Now().Before(p.until)
}

// callGated is call for a command that may write, in cluster mode, where a
// manual failover pauses writes and then needs the offset that includes
// every write already past the pause check (commands run in parallel, so
// some may still be running when the pause starts). The client marks
// itself writing, then checks the pause again (the pauser sets the pause,
// then waits for every client's mark to clear: one of the two sees the
// other); see clusterNode.drainWrites.
func (c *Client) callGated(spec *command.Spec, args [][]byte, cfg *config.Config) {
	n := c.srv.cluster
	if c.rp.link != nil || !c.mayWrite(spec) {
		c.call(spec, args, cfg)
		return
	}
	for {
		c.writing.Store(true)
		if !n.pausing.Load() || !n.pause.holdsWrites() {
			break
		}
		c.writing.Store(false)
		c.waitPause(&n.pause, spec)
		if c.killed.Load() || c.srv.ctx.Err() != nil {
			break
		}
	}
	c.call(spec, args, cfg)
	c.writing.Store(false)
}

func clientPause(ctx *command.Ctx) {
	n, ok := rconv.ParseInt(ctx.Args[2])
	if !ok {
		ctx.Err("ERR timeout is not an integer or out of range")
		return
	}
	if n < 0 {
		ctx.Err("ERR timeout is negative")
		return
	}
	all := true
	if len(ctx.Args) > 4 {
		subcommandSyntaxError(ctx)
		return
	}
	if len(ctx.Args) == 4 {
		switch {
		case command.EqualFold(ctx.Args[3], "write"):
			all = false
		case command.EqualFold(ctx.Args[3], "all"):
		default:
			ctx.Err("ERR CLIENT PAUSE mode must be WRITE or ALL")
			return
		}
	}
	clientOf(ctx).srv.pause.set(time.Now().Add(time.Duration(n)*time.Millisecond), all)
	ctx.OK()
}

// subcommandSyntaxError is Redis's addReplySubcommandSyntaxError.
func subcommandSyntaxError(ctx *command.Ctx) {
	ctx.Err("ERR unknown subcommand or wrong number of arguments for '" + trunc(cstr(ctx.Args[1]), 128) + "'. Try " + strings.ToUpper(cstr(ctx.Args[0])) + " HELP.")
}

func clientUnpause(ctx *command.Ctx) {
	clientOf(ctx).srv.pause.lift()
	ctx.OK()
}

// monitorSet is the set of MONITOR clients.
type monitorSet struct {
	n  atomic.Int32
	mu sync.Mutex
	cs []*Client
}

func (m *monitorSet) active() bool { return m.n.Load() > 0 }

func (m *monitorSet) add(c *Client) {
	m.mu.Lock()
	m.cs = append(m.cs, c)
	m.n.Store(int32(len(m.cs)))
	m.mu.Unlock()
}

// has reports whether c is a monitor; safe from any goroutine, unlike
// c.monitor, which c's own goroutine owns.
func (m *monitorSet) has(c *Client) bool {
	if !m.active() {
		return false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Contains(m.cs, c)
}

func (m *monitorSet) remove(c *Client) {
	m.mu.Lock()
	for i, x := range m.cs {
		if x == c {
			m.cs = append(m.cs[:i], m.cs[i+1:]...)
			break
		}
	}
	m.n.Store(int32(len(m.cs)))
	m.mu.Unlock()
}

// feed sends a command to every monitor, formatted as Redis's
// replicationFeedMonitors: +<unix time with µs> [<db> <addr>] "arg" ...
func (m *monitorSet) feed(from *Client, db int, args [][]byte) {
	now := time.Now()
	line := fmt.Appendf(nil, "+%d.%06d [%d %s]", now.Unix(), now.Nanosecond()/1000, db, from.addr)
	for _, a := range args {
		line = append(line, ' ')
		line = splitargs.AppendRepr(line, a)
	}
	line = append(line, '\r', '\n')
	m.mu.Lock()
	cs := append([]*Client(nil), m.cs...)
	m.mu.Unlock()
	for _, c := range cs {
		if !c.monitorMuted.Load() {
			c.push(line, c.srv.cfg.Get().ClientOutputBufferLimits["normal"].Hard)
		}
	}
}

func monitorCommand(ctx *command.Ctx) {
	c := clientOf(ctx)
	if c.multi != nil {
		ctx.Err("ERR MONITOR isn't allowed for DENY BLOCKING client")
		return
	}
	if c.monitor {
		ctx.OK()
		return
	}
	c.monitor = true
	ctx.OK()
	// The OK goes out through the push queue, ahead of the first command
	// fed: replies are written after the command, and a command on another
	// core may feed the monitors meanwhile. (Under CLIENT REPLY OFF or SKIP
	// it stays a reply, which is then dropped.)
	c.outToPending()
	c.monitorMuted.Store(c.replyMode == replyOff)
	c.srv.monitors.add(c)
}

// slowlog is the SLOWLOG ring.
type slowlog struct {
	mu      sync.Mutex
	entries []slowEntry // newest first
	nextID  int64
}

type slowEntry struct {
	id       int64
	time     int64
	duration int64
	args     []string
	addr     string
	name     string
}

const (
	slowlogMaxArgc = 32
	slowlogMaxLen  = 128
)

func (l *slowlog) init() {}

func (l *slowlog) maybeAdd(cfg *config.Config, c *Client, args [][]byte, usec int64) {
	if cfg.SlowlogLogSlowerThan < 0 || usec < cfg.SlowlogLogSlowerThan {
		return
	}
	n := min(len(args), slowlogMaxArgc)
	e := slowEntry{time: time.Now().Unix(), duration: usec, addr: c.addr}
	c.mu.Lock()
	e.name = c.name
	c.mu.Unlock()
	for i := 0; i < n; i++ {
		if i == slowlogMaxArgc-1 && len(args) > slowlogMaxArgc {
			e.args = append(e.args, fmt.Sprintf("... (%d more arguments)", len(args)-slowlogMaxArgc+1))
			break
		}
		a := args[i]
		if len(a) > slowlogMaxLen {
			e.args = append(e.args, fmt.Sprintf("%s... (%d more bytes)", a[:slowlogMaxLen], len(a)-slowlogMaxLen))
		} else {
			e.args = append(e.args, string(a))
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	e.id = l.nextID
	l.nextID++
	l.entries = append([]slowEntry{e}, l.entries...)
	if len(l.entries) > cfg.SlowlogMaxLen {
		l.entries = l.entries[:cfg.SlowlogMaxLen]
	}
}

func (l *slowlog) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.entries)
}

func (l *slowlog) reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.entries = nil
}

func slowlogGet(ctx *command.Ctx) {
	l := &clientOf(ctx).srv.slowlog
	count := int64(10)
	if len(ctx.Args) == 3 {
		n, ok := rconv.ParseInt(ctx.Args[2])
		if !ok || n < -1 {
			ctx.Err("ERR count should be greater than or equal to -1")
			return
		}
		count = n
	}
	l.mu.Lock()
	entries := l.entries
	if count >= 0 && int64(len(entries)) > count {
		entries = entries[:count]
	}
	entries = append([]slowEntry(nil), entries...)
	l.mu.Unlock()
	ctx.ArrayLen(len(entries))
	for _, e := range entries {
		ctx.ArrayLen(6)
		ctx.Int(e.id)
		ctx.Int(e.time)
		ctx.Int(e.duration)
		ctx.ArrayLen(len(e.args))
		for _, a := range e.args {
			ctx.BulkString(a)
		}
		ctx.BulkString(e.addr)
		ctx.BulkString(e.name)
	}
}

func slowlogHelp(ctx *command.Ctx) {
	command.HelpReply(ctx, "SLOWLOG", []string{
		"GET [<count>]",
		"    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
		"    Entries are made of:",
		"    id, timestamp, time in microseconds, arguments array, client IP and port,",
		"    client name",
		"LEN",
		"    Return the length of the slowlog.",
		"RESET",
		"    Reset the slowlog.",
	})
}

// errorStats counts error replies by code (INFO errorstats).
type errorStats struct {
	mu     sync.Mutex
	counts map[string]int64
}

// countError counts an error reply whose full text is msg.
func (s *Server) countError(msg string) {
	code := msg
	if i := strings.IndexByte(msg, ' '); i >= 0 {
		code = msg[:i]
	}
	s.countErrorCode(code)
}

// countErrorCode counts an error reply of the given code.
func (s *Server) countErrorCode(code string) {
	s.stats.totalErrorReplies.Add(1)
	e := &s.errStats
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.counts == nil {
		e.counts = map[string]int64{}
	}
	// Redis stops tracking new codes past 128 distinct ones.
	if _, ok := e.counts[code]; ok || len(e.counts) < 128 {
		e.counts[code]++
	}
}

func (e *errorStats) snapshot() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var lines []string
	for code, n := range e.counts {
		lines = append(lines, "errorstat_"+code+":count="+strconv.FormatInt(n, 10))
	}
	sort.Strings(lines)
	return lines
}

func (e *errorStats) reset() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.counts = nil
}
