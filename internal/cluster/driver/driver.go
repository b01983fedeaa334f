package driver

import (
	"context"
	crand "crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/reefkv/reef/internal/clock"
	"github.com/reefkv/reef/internal/cluster/bus"
	"github.com/reefkv/reef/internal/cluster/nodesconf"
	"github.com/reefkv/reef/internal/cluster/state"
)

// Server is what the driver needs from the server. The driver calls these
// methods from its own goroutine, one at a time; they must not block for
// long and must not call Driver.Do (that would deadlock): hand work to
// another goroutine instead.
type Server interface {
	// ReplInfo returns the replication facts the cluster uses for replica
	// ranking, the validity check and manual failover. Called every tick.
	ReplInfo() state.ReplInfo
	// BecomeReplica: replicate master at ip:port (CLUSTER REPLICATE, a lost
	// election, a failover of my master, replica migration).
	BecomeReplica(master state.NodeID, ip string, port int)
	// BecomeMaster: stop replicating and accept writes. failover is true
	// after an election or a takeover (shift the replication ID).
	BecomeMaster(failover bool)
	// DeleteKeysInSlots: this master lost these slots; delete their keys.
	// dirty: lost to another master's claim (state.DeleteKeysInSlots).
	DeleteKeysInSlots(slots []int, dirty bool)
	// SlotsLost: my shard no longer serves these slots (sunsubscribe their
	// shard channels).
	SlotsLost(slots []int)
	// FlushData: empty the dataset (CLUSTER RESET on a replica).
	FlushData()
	// PauseWrites pauses client writes until the given time for a manual
	// failover; the zero time lifts the pause.
	PauseWrites(until time.Time)
	// Published delivers a PUBLISH or SPUBLISH received over the bus.
	Published(channel, message []byte, shard bool)
	// StateChanged reports cluster_state turning ok or fail (the slot map
	// already says so).
	StateChanged(ok bool)
}

// NopServer implements Server doing nothing; embed it to implement only
// some methods.
type NopServer struct{}

// ReplInfo reports a master with offset 0.
func (NopServer) ReplInfo() state.ReplInfo { return state.ReplInfo{LinkUp: true} }

// The other NopServer methods do nothing.
func (NopServer) BecomeReplica(state.NodeID, string, int)   {}
func (NopServer) BecomeMaster(bool)                         {}
func (NopServer) DeleteKeysInSlots([]int, bool)             {}
func (NopServer) SlotsLost([]int)                           {}
func (NopServer) FlushData()                                {}
func (NopServer) PauseWrites(time.Time)                     {}
func (NopServer) Published(channel, message []byte, _ bool) {}
func (NopServer) StateChanged(bool)                         {}

// Config configures a Driver.
type Config struct {
	State      state.Config // cluster tunables; Port/PPort/CPort are announced
	ConfigFile string       // nodes.conf path
	// BusAddr is the bus listen address. When its port is 0 the actual
	// port is announced (unless State.CPort is set).
	BusAddr      string
	SendBufLimit int64        // cluster-link-sendbuf-limit
	Logger       *slog.Logger // nil: discard
	// Seed fixes the machine's randomness (node ID, election delays); 0
	// takes it from crypto/rand, which real nodes must do.
	Seed uint64
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Driver is the one goroutine that owns a state.Machine: it ticks it every
// 100 ms, feeds it bus input and admin commands, and applies its Ready:
// nodes.conf first (fsynced when asked), then bus ops, then server events.
// It publishes an immutable SlotMap for the router after every change.
type Driver struct {
	cfg  Config
	log  *slog.Logger
	srv  Server
	m    *state.Machine
	file *nodesconf.File
	bus  *bus.Bus
	now  func() time.Time

	reqs     chan func()
	held     chan struct{} // set by Hold: closed by its release; driver goroutine only
	slotMap  atomic.Pointer[state.SlotMap]
	writable atomic.Int64 // Machine.WritableUntil, as a clock.Mono deadline (math.MaxInt64: none)

	// The stall watchdog (see Writable): lastBeat is the time of its last
	// tick, stallAt the time it resumed after its latest stall, and
	// leaseStall the stallAt the published lease takes into account.
	// lastBeatMono is lastBeat as a clock.Mono reading.
	lastBeat     atomic.Int64
	lastBeatMono atomic.Int64
	stallAt      atomic.Int64
	leaseStall   atomic.Int64
	threshold    atomic.Int64 // StallThreshold of the node timeout
	myID         atomic.Value // string
	done         chan struct{}
	err          error // fatal: set on the driver goroutine, ends Run

	stalled   chan struct{} // the watchdog saw a stall
	seenStall int64         // stallAt last handed to the machine
}

// Open locks and loads nodes.conf, creates the machine, saves the config
// (synchronously, as Redis does at startup) and opens the bus port. Run
// starts it. A damaged nodes.conf or a locked one is an error: the caller
// must exit.
func Open(cfg Config, srv Server) (*Driver, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	file, saved, err := nodesconf.Open(cfg.ConfigFile)
	if err != nil {
		return nil, err
	}
	b, err := bus.Listen(bus.Config{Addr: cfg.BusAddr, SendBufLimit: cfg.SendBufLimit,
		KeepAlive: 2 * time.Duration(cfg.State.NodeTimeout) * time.Millisecond, Logger: log})
	if err != nil {
		file.Abandon()
		return nil, fmt.Errorf("Failed listening on port %s (cluster), aborting: %w", portOf(cfg.BusAddr), err)
	}
	if cfg.State.CPort == 0 {
		cfg.State.CPort = uint16(b.Addr().(*net.TCPAddr).Port)
	}
	seed := cfg.Seed
	if seed == 0 {
		var buf [8]byte
		crand.Read(buf[:])
		seed = binary.LittleEndian.Uint64(buf[:])
	}
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	m, err := state.New(cfg.State, rng, saved, cfg.Now().UnixMilli())
	if err != nil {
		b.Close()
		file.Abandon()
		return nil, fmt.Errorf("load cluster config %s: %w", cfg.ConfigFile, err)
	}
	d := &Driver{cfg: cfg, log: log, srv: srv, m: m, file: file, bus: b, now: cfg.Now,
		reqs: make(chan func()), done: make(chan struct{}), stalled: make(chan struct{}, 1)}
	d.threshold.Store(state.StallThreshold(cfg.State.NodeTimeout))
	d.lastBeat.Store(cfg.Now().UnixMilli())
	d.lastBeatMono.Store(clock.Mono())
	d.myID.Store(m.MyID().String())
	if err := d.apply(false); err != nil {
		b.Close()
		file.Abandon()
		return nil, err
	}
	return d, nil
}

func portOf(addr string) string {
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	return p
}

// BusAddr returns the bus listening address.
func (d *Driver) BusAddr() net.Addr { return d.bus.Addr() }

// MyID returns this node's ID (it changes on CLUSTER RESET HARD).
func (d *Driver) MyID() string { return d.myID.Load().(string) }

// Writable reports whether this node may take a write for its slots at
// mono (a clock.Mono reading): its write lease runs, the watchdog ran
// recently (after a stall of the process, client goroutines may run before
// anything else noticed it), and the lease accounts for the latest stall.
//
// It is asked for every write and keyed read, so it compares monotonic
// readings, one clock read where the wall clock takes two. The machine's
// lease is in wall time; publishLease converts it. A host suspended
// meanwhile stops the monotonic clock, not the wall clock: the watchdog
// sees the gap on the wall clock at its first tick after the resume and
// records a stall, which ends the lease; until that tick (at most 50 ms,
// more if the process is starved) a write may still pass, where a wall
// clock read would have refused it at once. A SIGSTOP, the stall tests
// and the histories use, does not stop the monotonic clock.
func (d *Driver) Writable(mono int64) bool {
	if (mono-d.lastBeatMono.Load())/int64(time.Millisecond) > d.threshold.Load() || d.stallAt.Load() != d.leaseStall.Load() {
		return false
	}
	until := d.writable.Load()
	return until == math.MaxInt64 || mono <= until
}

// watchdog beats on the process's pulse (every 100 ms) until ctx is
// done. The stall threshold is at least 300 ms, and Writable refuses
// writes on its own once the last beat is older than that; a gap longer
// than the stall threshold means the whole process did not run (SIGSTOP,
// a long pause), which the driver then reports to the machine. It has a
// goroutine of its own so that a driver busy saving nodes.conf is not
// taken for a stalled process.
func (d *Driver) watchdog(ctx context.Context) {
	tick, cancel := clock.Pulse()
	defer cancel()
	for {
		now := d.ms()
		if last := d.lastBeat.Load(); last != 0 && now-last > d.threshold.Load() {
			d.stallAt.Store(now)
			select {
			case d.stalled <- struct{}{}:
			default:
			}
		}
		d.lastBeat.Store(now)
		d.lastBeatMono.Store(clock.Mono())
		select {
		case <-ctx.Done():
			return
		case <-tick:
		}
	}
}

// noteStall hands a stall the watchdog saw to the machine.
func (d *Driver) noteStall() {
	if at := d.stallAt.Load(); at != d.seenStall {
		d.seenStall = at
		d.m.NoteStall(d.ms())
	}
}

// SlotMap returns the current routing snapshot. It never returns nil after
// Open. Callers must not modify it.
func (d *Driver) SlotMap() *state.SlotMap { return d.slotMap.Load() }

// ErrStopped is returned by Do after Run ended.
var ErrStopped = errors.New("cluster driver stopped")

// Run owns the machine until ctx is done or a fatal error (nodes.conf
// cannot be written: Redis exits then too). It closes the bus and releases
// nodes.conf before returning.
func (d *Driver) Run(ctx context.Context) error {
	defer close(d.done)
	defer d.file.Close()
	defer d.bus.Close()
	d.bus.Start(ctx)
	wctx, stopWatchdog := context.WithCancel(ctx)
	watchdogDone := make(chan struct{})
	go func() {
		defer close(watchdogDone)
		d.watchdog(wctx)
	}()
	defer func() {
		stopWatchdog()
		<-watchdogDone
	}()
	// The machine's Tick runs on the process's pulse, whose period is
	// TickMillis (TestTickIsThePulse).
	tick, cancelTick := clock.Pulse()
	defer cancelTick()
	// wake fires at the machine's Timer: an election's scheduled start or
	// a manual failover step, sooner than the next tick.
	wake := time.NewTimer(time.Hour)
	defer wake.Stop()
	wakeAt := int64(0)
	for {
		if d.held != nil {
			// Held (Hold): only calls run until the release.
			select {
			case <-ctx.Done():
				return nil
			case <-d.held:
				d.held = nil
			case fn := <-d.reqs:
				fn()
				if d.err != nil {
					return d.err
				}
			}
			continue
		}
		if at := d.m.Timer(); at != wakeAt {
			wakeAt = at
			wake.Stop()
			if at != 0 {
				wake.Reset(time.Duration(max(at-d.ms(), 0)) * time.Millisecond)
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-d.stalled:
			d.noteStall()
		case <-tick:
			d.noteStall()
			d.m.SetReplInfo(d.srv.ReplInfo())
			d.m.Tick(d.ms())
		case <-wake.C:
			d.noteStall()
			wakeAt = 0
			d.m.SetReplInfo(d.srv.ReplInfo())
			d.m.Wake(d.ms())
		case in := <-d.bus.Events():
			d.noteStall()
			d.m.Step(d.ms(), in)
		case fn := <-d.reqs:
			d.noteStall()
			fn() // fn applied Ready itself
			if d.err != nil {
				return d.err
			}
			continue
		}
		if err := d.apply(false); err != nil {
			return err
		}
	}
}

func (d *Driver) ms() int64 { return d.now().UnixMilli() }

// apply performs the machine's Ready. A failed save is fatal unless
// soft (CLUSTER SAVECONFIG reports it to the client instead).
func (d *Driver) apply(soft bool) error {
	d.m.RefreshLease()
	if !d.m.HasReady() {
		d.publishLease()
		d.publishMap()
		return nil
	}
	rd := d.m.Ready()
	for _, l := range rd.Logs {
		switch l.Level {
		case state.LevelWarning:
			d.log.Warn(l.Text)
		case state.LevelNotice:
			d.log.Info(l.Text)
		default:
			d.log.Debug(l.Text)
		}
	}
	if rd.Persist != nil {
		if err := d.file.Save(rd.Persist.Content, rd.Persist.Fsync); err != nil {
			if soft {
				return err
			}
			d.log.Error("Fatal: can't update cluster config file.", "err", err)
			d.err = fmt.Errorf("Fatal: can't update cluster config file %s: %w", d.cfg.ConfigFile, err)
			return d.err
		}
	}
	d.bus.Apply(rd.Ops)
	d.myID.Store(d.m.MyID().String())
	d.publishLease()
	d.publishMap()
	for _, e := range rd.Events {
		switch e := e.(type) {
		case state.BecomeReplica:
			d.srv.BecomeReplica(e.Master, e.IP, e.Port)
		case state.BecomeMaster:
			d.srv.BecomeMaster(e.Failover)
		case state.DeleteKeysInSlots:
			d.srv.DeleteKeysInSlots(e.Slots, e.Dirty)
		case state.SlotsLost:
			d.srv.SlotsLost(e.Slots)
		case state.FlushData:
			d.srv.FlushData()
		case state.StateChanged:
			d.srv.StateChanged(e.OK)
		case state.PauseWrites:
			var until time.Time
			if e.Until != 0 {
				until = time.UnixMilli(e.Until)
			}
			d.srv.PauseWrites(until)
		case state.PublishReceived:
			d.srv.Published(e.Channel, e.Message, e.Shard)
		case state.ModuleMessage:
			d.log.Debug("cluster module message ignored", "peer", e.Sender.String())
		}
	}
	return nil
}

// publishLease publishes the write lease, then the stall it accounts for.
// The lease ends at a wall time (unix ms); Writable compares monotonic
// readings, so the end is published as the monotonic reading it will be.
func (d *Driver) publishLease() {
	until := d.m.WritableUntil()
	if until != math.MaxInt64 {
		mono, now := clock.Mono(), d.now()
		// The time left, in ms from now's millisecond, capped so that an
		// enormous cluster-node-timeout cannot overflow the nanoseconds.
		left := min(until-now.UnixMilli(), 1<<40)
		until = mono + left*int64(time.Millisecond) - int64(now.Nanosecond()%int(time.Millisecond))
	}
	d.writable.Store(until)
	d.leaseStall.Store(d.seenStall)
}

func (d *Driver) publishMap() {
	if cur := d.slotMap.Load(); cur != nil && cur.Version == d.m.Version() {
		return
	}
	d.slotMap.Store(d.m.Snapshot())
}

// call runs fn on the driver goroutine and waits for it.
func (d *Driver) call(ctx context.Context, fn func()) error {
	done := make(chan struct{})
	wrapped := func() { fn(); close(done) }
	select {
	case d.reqs <- wrapped:
	case <-d.done:
		return ErrStopped
	case <-ctx.Done():
		return ctx.Err()
	}
	<-done
	return nil
}

// Hold keeps the machine from stepping bus messages, ticks and timers
// until the returned function is called; Do and the other calls still
// run. EXEC holds it around the CLUSTER commands it runs: Redis runs a
// transaction between two bus events, and a PING stepped between a queued
// DELSLOTS and ADDSLOTS could give the slot back to its old owner.
func (d *Driver) Hold(ctx context.Context) (release func()) {
	rel := make(chan struct{})
	if err := d.call(ctx, func() { d.held = rel }); err != nil {
		return func() {}
	}
	var once sync.Once
	return func() { once.Do(func() { close(rel) }) }
}

// Do executes a CLUSTER subcommand (args[0] is the subcommand) and returns
// its reply once nodes.conf reflects it. dbSize and keysInSlot give the
// keyspace facts some subcommands check; keysInSlot runs on the driver
// goroutine. CLUSTER LINKS buffer sizes are filled in from the bus.
func (d *Driver) Do(ctx context.Context, args []string, dbSize int64, keysInSlot func(int) int64) (state.Reply, error) {
	var r state.Reply
	var fatal error
	err := d.call(ctx, func() {
		r = d.m.Handle(d.ms(), state.Command{Args: args, DBSize: dbSize, KeysInSlot: keysInSlot})
		_, save := r.(state.SaveConfig)
		if err := d.apply(save); err != nil {
			if save {
				r = state.Error("ERR error saving the cluster node config: " + errText(err))
				return
			}
			fatal = err
		}
		if save {
			r = state.Status("OK")
		}
		if links, ok := r.(state.LinksReply); ok {
			for i := range links {
				links[i].SendBufferAllocated, links[i].SendBufferUsed = d.bus.LinkBuffers(links[i].Link, links[i].Gen)
			}
		}
	})
	if fatal != nil {
		return nil, fatal
	}
	return r, err
}

func errText(err error) string {
	var pe interface{ Unwrap() error }
	for errors.As(err, &pe) && pe.Unwrap() != nil {
		err = pe.Unwrap()
	}
	return err.Error()
}

// Publish propagates a PUBLISH (or SPUBLISH when shard) to the cluster.
func (d *Driver) Publish(ctx context.Context, channel, message []byte, shard bool) error {
	return d.call(ctx, func() {
		d.m.Publish(d.ms(), channel, message, shard)
		d.apply(false)
	})
}

// SetConfig changes the cluster tunables at runtime (CONFIG SET). The
// announced bus port is kept when cfg.CPort is 0.
func (d *Driver) SetConfig(ctx context.Context, cfg state.Config) error {
	return d.call(ctx, func() {
		if cfg.CPort == 0 {
			cfg.CPort = d.m.Config().CPort
		}
		d.threshold.Store(state.StallThreshold(cfg.NodeTimeout))
		d.m.SetConfig(cfg)
		d.apply(false)
	})
}

// SetSendBufLimit changes cluster-link-sendbuf-limit at runtime (CONFIG
// SET). It does not go through the driver goroutine.
func (d *Driver) SetSendBufLimit(n int64) { d.bus.SetSendBufLimit(n) }

// Machine runs fn with the machine on the driver goroutine (tests, INFO).
func (d *Driver) Machine(ctx context.Context, fn func(*state.Machine)) error {
	return d.call(ctx, func() { fn(d.m); d.apply(false) })
}

// String names the driver for logs.
func (d *Driver) String() string {
	return "cluster driver " + d.MyID() + " bus " + strconv.Quote(d.bus.Addr().String())
}
