package server

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/reefkv/reef/internal/cluster/driver"
	"github.com/reefkv/reef/internal/cluster/state"
	"github.com/reefkv/reef/internal/command"
	"github.com/reefkv/reef/internal/config"
	"github.com/reefkv/reef/internal/rdb"
	"github.com/reefkv/reef/internal/repl"
	"github.com/reefkv/reef/internal/slot"
)

// This file is cluster mode in the server: starting the cluster driver,
// the driver's events, and the CLUSTER / ASKING / READONLY / READWRITE
// commands. Routing (getNodeByQuery) is in clusterroute.go. See
// docs/CLUSTER.md for how the pieces fit together.
//
// Deadlock rule: client goroutines call the driver synchronously (Do,
// Publish, SetConfig), sometimes while holding slot locks (inside EXEC, or
// SPUBLISH whose channel is a key). So the driver goroutine must never wait
// for a slot lock: every event that touches the keyspace or clients
// (DeleteKeysInSlots, FlushData, SlotsLost, Published) is handed to the
// cluster worker goroutine, which applies them in order.

// ClusterReplication is what cluster mode needs from replication (issue
// 5): the facts the cluster bus advertises (offsets, master link) and the
// role changes the cluster decides (CLUSTER REPLICATE, failover, replica
// migration, a returning master demoted). New installs replication's
// implementation (clusterReplication in replication.go);
// SetClusterReplication replaces it before Run.
// The methods are called on the cluster driver goroutine: they must not
// block for long, must not take slot locks and must not call back into the
// cluster driver (hand such work to another goroutine).
type ClusterReplication interface {
	// ReplInfo is called every 100 ms.
	ReplInfo() state.ReplInfo
	// BecomeReplica: replicate master at ip:port (replicationSetMaster).
	BecomeReplica(master state.NodeID, ip string, port int)
	// BecomeMaster: stop replicating (replicationUnsetMaster); failover is
	// set after an election or a takeover (shift the replication ID).
	BecomeMaster(failover bool)
}

// noClusterReplication stands in when none is installed: it reports a
// master with offset 0 and logs the role changes it cannot perform.
type noClusterReplication struct{ s *Server }

func (noClusterReplication) ReplInfo() state.ReplInfo { return state.ReplInfo{LinkUp: true} }

func (r noClusterReplication) BecomeReplica(master state.NodeID, ip string, port int) {
	r.s.log.Info(fmt.Sprintf("Cluster: this node is now a replica of %s (%s:%d); replication is not available yet, no data is copied.", master, ip, port))
}

func (r noClusterReplication) BecomeMaster(failover bool) {
	r.s.log.Info(fmt.Sprintf("Cluster: this node is now a master (failover=%v).", failover))
}

// SetClusterReplication installs the replication side of cluster mode.
// Call it before Run.
func (s *Server) SetClusterReplication(r ClusterReplication) { s.clusterRepl = r }

// clusterNode is the server's side of cluster mode.
type clusterNode struct {
	s     *Server
	d     *driver.Driver
	work  workQueue
	pause pauseState // manual failover: writes paused by the cluster
	// pausing is set while a PauseWrites deadline is set, so that commands
	// skip the pause's mutex otherwise.
	pausing atomic.Bool
	// pauseGen counts PauseWrites events; drained is set when every write
	// that passed the pause check before pause number pauseGen has
	// finished (drainWrites), so the replication offset is final.
	pauseGen atomic.Uint64
	drained  atomic.Bool
	// recheck wakes blocked clients to check their slot again (a slot
	// lost, the cluster down).
	recheck signal
}

// signal is a broadcast: wait returns a channel closed by the next notify.
type signal struct {
	mu sync.Mutex
	ch chan struct{}
}

func (g *signal) wait() <-chan struct{} {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.ch == nil {
		g.ch = make(chan struct{})
	}
	return g.ch
}

func (g *signal) notify() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.ch != nil {
		close(g.ch)
		g.ch = nil
	}
}

// clusterRecheckBlocked returns a channel closed when blocked clients must
// check their slot again (ClusterBlockedRedirect), or nil outside cluster
// mode.
func (s *Server) clusterRecheckBlocked() <-chan struct{} {
	if s.cluster == nil {
		return nil
	}
	return s.cluster.recheck.wait()
}

// startCluster opens the cluster driver (nodes.conf and the bus port),
// runs it and the cluster worker on goroutines owned by the server (they
// stop when s.ctx is cancelled at shutdown; the driver then closes the bus
// and releases nodes.conf), and
// registers the runtime-mutable cluster-* parameters. It logs Redis's
// messages and returns an error when the server must exit.
func (s *Server) startCluster(cfg *config.Config) error {
	if s.clusterRepl == nil {
		s.clusterRepl = noClusterReplication{s}
	}
	if cfg.ClusterPort == 0 && cfg.Port > 65535-10000 {
		s.log.Warn("Redis port number too high. Cluster communication port is 10,000 port numbers higher than your Redis port. Your Redis port number must be 55535 or less.")
		return errors.New("cluster port out of range")
	}
	cport := cfg.ClusterPort
	if cport == 0 {
		cport = cfg.Port + 10000
	}
	if err := checkEmptyNodesConf(cfg); err != nil {
		s.log.Warn(err.Error())
		return err
	}
	bind, shown := busListenAddr(cfg.Bind)
	n := &clusterNode{s: s}
	n.work.init()
	d, err := driver.Open(driver.Config{
		State:        clusterStateConfig(cfg, uint16(cport)),
		ConfigFile:   cfg.ClusterConfigFile,
		BusAddr:      net.JoinHostPort(bind, strconv.Itoa(cport)),
		SendBufLimit: cfg.ClusterLinkSendbufLimit,
		Logger:       s.log,
	}, clusterEvents{n})
	if err != nil {
		var op *net.OpError
		if errors.As(err, &op) && op.Op == "listen" {
			s.log.Warn(fmt.Sprintf("Warning: Could not create server TCP listening socket %s:%d: %s", shown, cport, describeListenErr(op)))
			s.log.Warn(fmt.Sprintf("Failed listening on port %d (cluster), aborting.", cport))
		} else {
			s.log.Warn(err.Error())
		}
		return err
	}
	n.d = d
	s.cluster = n
	s.wg.Add(2)
	go func() {
		defer s.wg.Done()
		n.work.run(s.ctx)
	}()
	go func() {
		defer s.wg.Done()
		if err := d.Run(s.ctx); err != nil {
			// nodes.conf cannot be written: Redis exits at once.
			s.log.Warn(err.Error())
			s.fatalExit()
		}
	}()
	s.registerClusterConfigHooks(uint16(cport))
	return nil
}

// fatalExit ends the process the way Redis's exit(1) after a fatal error
// does: no save, exit code 1.
func (s *Server) fatalExit() {
	s.exitCode = 1
	select {
	case s.shutdownCh <- shutdownRequest{flags: config.ShutdownNoSave | config.ShutdownNow, reason: "fatal cluster error"}:
	default:
	}
}

// checkEmptyNodesConf refuses a zero-length cluster config file next to a
// data file that holds something. Redis reads an empty nodes.conf as no
// configuration and starts as a new node, which then claims the slots its
// keys hash to; an empty file next to data is rather the trace of a crash
// or a full disk during a save, and the node's identity would be lost.
func checkEmptyNodesConf(cfg *config.Config) error {
	st, err := os.Stat(cfg.ClusterConfigFile)
	if err != nil || st.Size() != 0 {
		return nil // missing (a new node) or with content (parsed later)
	}
	rdb := filepath.Join(cfg.Dir, cfg.DBFilename)
	if !rdbHasKeys(rdb) {
		return nil
	}
	return fmt.Errorf("Refusing to start: the cluster config file %s is empty while %s holds data. "+
		"The node would start with a new identity and claim the slots of its keys. "+
		"Restore %s, or remove the data file to start a new node.", cfg.ClusterConfigFile, rdb, cfg.ClusterConfigFile)
}

// rdbHasKeys reports whether the RDB file at path holds at least one key.
// A missing or unreadable file holds none here: loading it reports the
// damage later.
func rdbHasKeys(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	r, err := rdb.NewReader(bufio.NewReader(f), &rdb.ReadOptions{Databases: 1 << 16})
	if err != nil {
		return false
	}
	for {
		rec, err := r.Next()
		if err != nil {
			return false
		}
		if rec.Kind == rdb.RecordKey {
			return true
		}
	}
}

// busListenAddr returns the host the bus listens on: the first bind
// address (Redis binds the bus on every bind address; Reef's bus listens
// on one), and how Redis would name it in a log line.
func busListenAddr(binds []string) (host, shown string) {
	if len(binds) == 0 {
		return "", "*"
	}
	b := strings.TrimPrefix(binds[0], "-")
	switch b {
	case "*", "::*":
		return "", b
	}
	return b, b
}

// clusterStateConfig maps the cluster-* parameters to the state machine's
// tunables. cport is the real bus port (0 when not known yet).
func clusterStateConfig(cfg *config.Config, cport uint16) state.Config {
	st := state.DefaultConfig()
	st.NodeTimeout = cfg.ClusterNodeTimeout
	st.RequireFullCoverage = cfg.ClusterRequireFullCoverage
	st.ReplicaValidityFactor = int64(cfg.ClusterReplicaValidityFactor)
	st.MigrationBarrier = cfg.ClusterMigrationBarrier
	st.AllowReplicaMigration = cfg.ClusterAllowReplicaMigration
	st.ReplicaNoFailover = cfg.ClusterReplicaNoFailover
	st.ReplPingReplicaPeriod = int64(cfg.ReplPingReplicaPeriod)
	st.AnnounceIP = cfg.ClusterAnnounceIP
	st.AnnounceHostname = cfg.ClusterAnnounceHostname
	st.PreferredEndpoint = cfg.ClusterPreferredEndpointType
	st.Port = uint16(cfg.Port)
	if cfg.ClusterAnnouncePort != 0 {
		st.Port = uint16(cfg.ClusterAnnouncePort)
	}
	st.CPort = cport
	if cfg.ClusterAnnounceBusPort != 0 {
		st.CPort = uint16(cfg.ClusterAnnounceBusPort)
	}
	return st
}

// registerClusterConfigHooks pushes runtime changes of the cluster-*
// parameters to the driver.
func (s *Server) registerClusterConfigHooks(cport uint16) {
	d := s.cluster.d
	s.cfg.OnApply([]string{"cluster-node-timeout", "cluster-require-full-coverage",
		"cluster-replica-validity-factor", "cluster-migration-barrier", "cluster-allow-replica-migration",
		"cluster-replica-no-failover", "repl-ping-replica-period", "cluster-announce-ip",
		"cluster-announce-hostname", "cluster-preferred-endpoint-type", "cluster-announce-port",
		"cluster-announce-bus-port"}, func(old, new *config.Config) error {
		err := d.SetConfig(s.ctx, clusterStateConfig(new, cport))
		if errors.Is(err, driver.ErrStopped) || errors.Is(err, context.Canceled) {
			return nil
		}
		return err
	})
	s.cfg.OnApply([]string{"cluster-link-sendbuf-limit"}, func(old, new *config.Config) error {
		d.SetSendBufLimit(new.ClusterLinkSendbufLimit)
		return nil
	})
}

// clusterVerifyData is Redis's verifyClusterConfigWithData, run once the
// dataset is loaded: keys outside DB 0 are fatal; a master with keys in a
// slot it does not serve claims the slot when it is unassigned, or marks it
// importing from its owner.
func (s *Server) clusterVerifyData() error {
	n := s.cluster
	sm := n.d.SlotMap()
	if sm.IsReplica() {
		return nil
	}
	for db := 1; db < s.ks.Databases(); db++ {
		if s.ks.Size(db) > 0 {
			s.log.Warn("You can't have keys in a DB different than DB 0 when in Cluster mode. Exiting.")
			return errors.New("keys outside DB 0")
		}
	}
	for j := 0; j < slot.Count; j++ {
		if s.ks.Count(0, j) == 0 || sm.Mine(j) || sm.ImportingFrom(j) != nil {
			continue
		}
		var args []string
		if owner := sm.Owner(j); owner == nil {
			s.log.Warn(fmt.Sprintf("I have keys for unassigned slot %d. Taking responsibility for it.", j))
			args = []string{"ADDSLOTS", strconv.Itoa(j)}
		} else {
			s.log.Warn(fmt.Sprintf("I have keys for slot %d, but the slot is assigned to another node. Setting it to importing state.", j))
			args = []string{"SETSLOT", strconv.Itoa(j), "IMPORTING", owner.ID.String()}
		}
		r, err := n.d.Do(context.Background(), args, s.ks.Size(0), nil)
		if err != nil {
			return err
		}
		if e, ok := r.(state.Error); ok {
			s.log.Warn(fmt.Sprintf("Cluster: %s failed: %s", strings.Join(args, " "), e))
		}
	}
	return nil
}

// clusterEvents is the driver.Server of a node: what the cluster core asks
// of the server. It runs on the driver goroutine, so anything touching the
// keyspace or clients goes to the worker.
type clusterEvents struct{ n *clusterNode }

func (e clusterEvents) ReplInfo() state.ReplInfo { return e.n.s.clusterRepl.ReplInfo() }

func (e clusterEvents) BecomeReplica(master state.NodeID, ip string, port int) {
	e.n.s.clusterRepl.BecomeReplica(master, ip, port)
}

func (e clusterEvents) BecomeMaster(failover bool) { e.n.s.clusterRepl.BecomeMaster(failover) }

func (e clusterEvents) DeleteKeysInSlots(slots []int, dirty bool) {
	e.n.work.push(func() { e.n.s.deleteKeysInSlots(slots, dirty) })
}

func (e clusterEvents) SlotsLost(slots []int) {
	// Exports of lost slots stop at once (only atomics and a mutex).
	e.n.s.migrationSlotsLost(slots)
	e.n.recheck.notify()
	e.n.work.push(func() { e.n.s.clusterSlotsLost(slots) })
}

func (e clusterEvents) FlushData() {
	e.n.work.push(func() { e.n.s.EmptyData() })
}

func (e clusterEvents) PauseWrites(until time.Time) {
	n := e.n
	gen := n.pauseGen.Add(1)
	n.drained.Store(false)
	if until.IsZero() {
		n.pausing.Store(false)
		n.pause.lift()
		return
	}
	n.pause.set(until, false)
	n.pausing.Store(true)
	s := n.s
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		n.drainWrites(gen)
	}()
}

// drainWrites waits until no client is inside a command that may write
// (Client.writing, set before the client checks the pause again), then
// reports the writes drained for pause gen, unless another pause event
// came meanwhile. Clients that arrive later see the pause and wait.
func (n *clusterNode) drainWrites(gen uint64) {
	s := n.s
	for n.pauseGen.Load() == gen && s.ctx.Err() == nil {
		busy := false
		s.clientsMu.Lock()
		for _, c := range s.clients {
			if c.writing.Load() {
				busy = true
				break
			}
		}
		s.clientsMu.Unlock()
		if !busy {
			if n.pauseGen.Load() == gen {
				n.drained.Store(true)
			}
			return
		}
		time.Sleep(time.Millisecond)
	}
}

// writable reports whether the write lease lets this node take a write
// for the slots it serves at mono, a clock.Mono reading (not the server's
// cached clock: after a stall it would still show the time before it).
func (n *clusterNode) writable(mono int64) bool { return n.d.Writable(mono) }

// writesDrained reports whether a manual failover's pause is in force
// with every earlier write finished (ReplInfo.WritesPaused).
func (n *clusterNode) writesDrained() bool {
	return n.drained.Load() && n.pausing.Load() && n.pause.holdsWrites()
}

func (e clusterEvents) Published(channel, message []byte, shard bool) {
	e.n.work.push(func() { e.n.s.clusterDeliver(channel, message, shard) })
}

func (e clusterEvents) StateChanged(ok bool) {
	if !ok {
		e.n.recheck.notify()
	}
}

// deleteKeysInSlots is Redis's delKeysInSlot for each slot: every key of
// DB 0 in the slot is deleted under the slot's lock, the deletion is
// propagated to replicas (DEL, or UNLINK with lazyfree-lazy-server-del),
// WATCHers are told and a "del" keyspace event fires for each. dirty: the
// slots were lost to another master's claim, and each one with keys is
// logged as Redis logs its dirty slots.
func (s *Server) deleteKeysInSlots(slots []int, dirty bool) {
	var keys []string
	del := []byte("DEL")
	if s.cfg.Get().LazyfreeLazyServerDel {
		del = []byte("UNLINK")
	}
	for _, sl := range slots {
		if s.ks.Count(0, sl) == 0 {
			continue
		}
		if dirty {
			s.log.Warn(fmt.Sprintf("Deleting keys in dirty slot %d on node %s", sl, s.cluster.d.MyID()))
		}
		s.ks.Lock(sl)
		keys = keys[:0]
		if t := s.ks.Table(0, sl); t != nil {
			for e := range t.Keys.All() {
				keys = append(keys, e.Key)
			}
		}
		for _, k := range keys {
			kb := []byte(k)
			if s.ks.Delete(0, sl, kb) {
				if st := s.repl.Stream(); st.Active() && !s.repl.IsReplica() {
					st.Feed(sl, []repl.Op{{DB: 0, Argv: [][]byte{del, kb}}})
				}
				s.KeyModified(0, kb)
				s.Notify(command.NotifyGeneric, "del", 0, kb)
			}
		}
		s.ks.Unlock(sl)
		if len(keys) > 0 {
			s.dirty.Add(int64(len(keys)))
		}
	}
}

// clusterSlotsLost is Redis's removeChannelsInSlot for each slot my shard
// stopped serving: every subscriber of a shard channel in those slots is
// unsubscribed from it and told so with an sunsubscribe message.
func (s *Server) clusterSlotsLost(slots []int) {
	r := &s.pubsub
	if r.nshard.Load() == 0 {
		return
	}
	lost := make(map[int]bool, len(slots))
	for _, sl := range slots {
		lost[sl] = true
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	var chans []string
	for ch := range r.shard {
		if lost[slot.OfString(ch)] {
			chans = append(chans, ch)
		}
	}
	for _, ch := range chans {
		var subs []*Client
		for c := range r.shard[ch] {
			subs = append(subs, c)
		}
		for _, c := range subs {
			c.unsubscribeShard(r, ch)
			c.pushPubSub(confirmation(c.protoNow(), kindSUnsubscribe, []byte(ch), c.subs.shardCount()), config.OutputBufferLimit{})
		}
	}
}

// clusterDeliver delivers a PUBLISH (or SPUBLISH) received over the bus to
// this node's subscribers.
func (s *Server) clusterDeliver(channel, message []byte, shard bool) {
	if shard {
		s.PublishShardLocal(channel, message)
	} else {
		s.PublishLocal(channel, message)
	}
}

// clusterPublish propagates a PUBLISH to every node of the cluster (shard
// false) or an SPUBLISH to the nodes of my shard (shard true), after the
// local delivery, as Redis's clusterPropagatePublish. It may be called with
// slot locks held (the driver never waits for them) but not with pub/sub
// locks held (received messages are delivered under them on the worker
// goroutine). The bytes may alias the read buffer: the message is encoded
// before Publish returns.
func (s *Server) clusterPublish(channel, message []byte, shard bool) {
	if s.cluster == nil {
		return
	}
	s.cluster.d.Publish(s.ctx, channel, message, shard)
}

// clusterBarrier waits until the worker applied every event queued so far
// (after a CLUSTER command whose events change data, so the client sees
// the result). It must not be called with slot locks held.
func (n *clusterNode) clusterBarrier() {
	done := make(chan struct{})
	n.work.push(func() { close(done) })
	select {
	case <-done:
	case <-n.s.ctx.Done():
	}
}

// workQueue runs functions in order on one goroutine. push never blocks.
type workQueue struct {
	mu    sync.Mutex
	items []func()
	wake  chan struct{}
}

func (q *workQueue) init() { q.wake = make(chan struct{}, 1) }

func (q *workQueue) push(fn func()) {
	q.mu.Lock()
	q.items = append(q.items, fn)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

func (q *workQueue) run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-q.wake:
		}
		for {
			q.mu.Lock()
			items := q.items
			q.items = nil
			q.mu.Unlock()
			if len(items) == 0 {
				break
			}
			for _, fn := range items {
				fn()
			}
		}
	}
}

// clusterConnections is INFO's cluster_connections: Redis's approximation,
// two bus sockets per known node other than myself.
func (s *Server) clusterConnections() int {
	if s.cluster == nil {
		return 0
	}
	return (len(s.cluster.d.SlotMap().Nodes) - 1) * 2
}

// clusterLinkStructSize approximates what Redis accounts per bus link in
// mem_cluster_links besides its send buffer: the link structure and its
// 1 KB initial receive buffer.
const clusterLinkStructSize = 1024 + 64

// clusterLinksMemory is INFO's mem_cluster_links: the memory of the bus
// links (structures and send buffers).
func (s *Server) clusterLinksMemory() int64 {
	if s.cluster == nil {
		return 0
	}
	r, err := s.cluster.d.Do(s.ctx, []string{"LINKS"}, 0, nil)
	links, ok := r.(state.LinksReply)
	if err != nil || !ok {
		return 0
	}
	var n int64
	for _, l := range links {
		n += clusterLinkStructSize + l.SendBufferAllocated
	}
	return n
}
