package state

import (
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/reefkv/reef/internal/cluster/msg"
	"github.com/reefkv/reef/internal/slot"
)

// Node is the machine's view of one cluster node. Machine owns it; callers
// get copies through accessors only.
type node struct {
	id          NodeID
	flags       uint16
	ctime       int64
	configEpoch uint64
	slots       slot.Set
	numSlots    int
	replicas    []*node
	master      *node
	pingSent    int64
	pongRecv    int64
	dataRecv    int64
	failTime    int64
	votedTime   int64
	replOffTime int64
	orphanTime  int64
	replOffset  int64
	ip          string
	hostname    string
	port        uint16
	pport       uint16
	cport       uint16
	link        *outLink // my outbound link, nil when none
	inbound     LinkID   // the peer's link to me, 0 when none
	inboundTime int64
	reports     []failReport
}

type outLink struct {
	gen   uint64
	ctime int64
	up    bool
}

type failReport struct {
	reporter *node
	time     int64
}

func (n *node) has(f uint16) bool { return n.flags&f != 0 }
func (n *node) isMaster() bool    { return n.flags&msg.FlagMaster != 0 }
func (n *node) isReplica() bool   { return n.flags&msg.FlagSlave != 0 }
func (n *node) failed() bool      { return n.flags&msg.FlagFail != 0 }
func (n *node) timedOut() bool    { return n.flags&msg.FlagPFail != 0 }
func (n *node) inHandshake() bool { return n.flags&msg.FlagHandshake != 0 }
func (n *node) cantFailover() bool {
	return n.flags&msg.FlagNoFailover != 0
}

// todo flags, as Redis's CLUSTER_TODO_*: work deferred to before-sleep.
const (
	todoHandleFailover = 1 << iota
	todoUpdateState
	todoSaveConfig
	todoFsyncConfig
	todoDialNew // link the nodes of m.fresh now rather than at the next tick
)

// Cant-failover reasons.
const (
	cantNone = iota
	cantDataAge
	cantWaitingDelay
	cantExpired
	cantWaitingVotes
)

// Machine is the cluster state machine of one node. It is not safe for
// concurrent use: one goroutine (the driver, or the simulator) owns it.
// Time enters only as the now argument (ms); randomness only from rng.
type Machine struct {
	cfg  Config
	rng  *rand.Rand
	now  int64
	iter uint64

	myself        *node
	nodes         []*node // insertion order: deterministic iteration
	byID          map[NodeID]*node
	currentEpoch  uint64
	lastVoteEpoch uint64
	toldMaster    string // "id ip:port" last sent in BecomeReplica
	state         bool   // true = ok
	size          int
	slots         [slot.Count]*node
	migrating     map[int]*node
	importing     map[int]*node
	notClaiming   slot.Set
	lost          slot.Set // slots my shard stopped serving since the last Ready
	blacklist     map[NodeID]int64
	linkGen       uint64
	links         map[uint64]*node // outbound links by generation
	repl          ReplInfo
	pfailNodes    int
	pfailAt       int64 // when the next node times out unless it answers (0: none)

	// write lease (lease.go)
	stalledAt     int64 // when I last resumed after a stall (0: never)
	writable      int64 // WritableUntil, as last computed
	leaseComputed int64 // when writable was computed
	leaseVersion  uint64

	// before-sleep work and cluster state bookkeeping
	todo              int
	firstStateCall    int64
	amongMinorityTime int64

	// replica failover
	authTime      int64
	authCount     int
	authSent      bool
	authRank      int
	authEpoch     uint64
	cantReason    int
	lastLogTime   int64
	mfEnd         int64
	mfReplica     *node
	mfMasterOff   int64
	mfCanStart    bool
	mfPausedSent  bool // master: the PAUSED ping with the final offset left
	statsSent     [msg.TypeCount]uint64
	statsRecv     [msg.TypeCount]uint64
	statsLinksBuf uint64
	// dropFilter is DEBUG DROP-CLUSTER-PACKET-FILTER: received packets of
	// this type are dropped (-1: none).
	dropFilter int64

	// role behaviour, set by becomeMaster / becomeReplica
	roleTick func()
	roleStep func(sender *node, p *Packet)

	out       Ready
	lastSaved string
	version   uint64  // bumped on every slot-map relevant change
	fresh     []*node // added since the last Ready: dialed before it
}

// New returns a machine. saved is the loaded nodes.conf, or nil for a
// brand-new node (which gets a random ID from rng). The first Ready carries
// a Persist, as Redis saves the config at startup.
func New(cfg Config, rng *rand.Rand, saved *Saved, now int64) (*Machine, error) {
	m := &Machine{
		cfg:         cfg,
		rng:         rng,
		now:         now,
		byID:        map[NodeID]*node{},
		migrating:   map[int]*node{},
		importing:   map[int]*node{},
		blacklist:   map[NodeID]int64{},
		links:       map[uint64]*node{},
		size:        1,
		mfMasterOff: -1,
		dropFilter:  -1,
	}
	if saved == nil {
		me := m.newNode(m.randomID(), msg.FlagMyself|msg.FlagMaster)
		m.myself = me
		m.addNode(me)
		m.logf(LevelNotice, "No cluster configuration found, I'm %s", me.id)
	} else if err := m.load(saved); err != nil {
		return nil, err
	}
	m.applyMyConfig()
	if m.myself.isMaster() {
		m.becomeMaster()
	} else {
		m.becomeReplica()
		m.tellMaster()
	}
	m.todo |= todoSaveConfig | todoFsyncConfig | todoUpdateState
	m.version++
	return m, nil
}

func (m *Machine) load(s *Saved) error {
	for i := range s.Nodes {
		sn := &s.Nodes[i]
		if _, dup := m.byID[sn.ID]; dup {
			return fmt.Errorf("duplicate node %s", sn.ID)
		}
		n := m.newNode(sn.ID, sn.Flags)
		n.ip, n.port, n.cport, n.hostname = sn.IP, sn.Port, sn.CPort, sn.Hostname
		if sn.PingSent != 0 {
			n.pingSent = m.now
		}
		if sn.PongReceived != 0 {
			n.pongRecv = m.now
		}
		if n.failed() {
			n.failTime = m.now
		}
		n.configEpoch = sn.ConfigEpoch
		m.addNode(n)
		if n.has(msg.FlagMyself) {
			if m.myself != nil {
				return fmt.Errorf("more than one myself line")
			}
			m.myself = n
		}
	}
	if m.myself == nil {
		return fmt.Errorf("no myself line")
	}
	for i := range s.Nodes {
		sn := &s.Nodes[i]
		n := m.byID[sn.ID]
		if !sn.Master.IsZero() {
			mst := m.loadRef(sn.Master)
			n.master = mst
			mst.replicas = append(mst.replicas, n)
		}
		for j := 0; j < slot.Count; j++ {
			if sn.Slots.Has(j) {
				m.addSlot(n, j)
			}
		}
		for j, id := range sn.Migrating {
			m.migrating[j] = m.loadRef(id)
		}
		for j, id := range sn.Importing {
			m.importing[j] = m.loadRef(id)
		}
	}
	m.currentEpoch, m.lastVoteEpoch = s.CurrentEpoch, s.LastVoteEpoch
	if max := m.maxEpoch(); m.currentEpoch < max {
		m.currentEpoch = max
	}
	m.logf(LevelNotice, "Node configuration loaded, I'm %s", m.myself.id)
	return nil
}

// loadRef returns the node id names in nodes.conf, creating a flagless node
// when it has no line of its own (as Redis does).
func (m *Machine) loadRef(id NodeID) *node {
	n := m.byID[id]
	if n == nil {
		n = m.newNode(id, 0)
		m.addNode(n)
	}
	return n
}

// applyMyConfig copies announced address fields of the config to myself.
func (m *Machine) applyMyConfig() {
	me := m.myself
	me.port, me.pport, me.cport = m.cfg.Port, m.cfg.PPort, m.cfg.CPort
	if m.cfg.AnnounceIP != "" {
		me.ip = m.cfg.AnnounceIP
	}
	me.hostname = m.cfg.AnnounceHostname
	if m.cfg.ReplicaNoFailover {
		me.flags |= msg.FlagNoFailover
	} else {
		me.flags &^= msg.FlagNoFailover
	}
}

// SetConfig replaces the configuration (CONFIG SET of a cluster-* option).
func (m *Machine) SetConfig(cfg Config) {
	old := m.cfg
	m.cfg = cfg
	m.applyMyConfig()
	if old.Port != cfg.Port || old.CPort != cfg.CPort || old.AnnounceIP != cfg.AnnounceIP ||
		old.AnnounceHostname != cfg.AnnounceHostname || old.ReplicaNoFailover != cfg.ReplicaNoFailover {
		m.todo |= todoSaveConfig
	}
	m.version++ // the endpoint type, among others, shows in the slot map
	m.todo |= todoUpdateState
}

// Config returns the current configuration.
func (m *Machine) Config() Config { return m.cfg }

// SetReplInfo records the server's replication facts.
func (m *Machine) SetReplInfo(r ReplInfo) { m.repl = r }

// MyID returns this node's ID.
func (m *Machine) MyID() NodeID { return m.myself.id }

// CurrentEpoch returns the cluster current epoch as this node sees it.
func (m *Machine) CurrentEpoch() uint64 { return m.currentEpoch }

// LastVoteEpoch returns the epoch of the last vote this node granted.
func (m *Machine) LastVoteEpoch() uint64 { return m.lastVoteEpoch }

// StateOK reports whether cluster_state is ok.
func (m *Machine) StateOK() bool { return m.state }

func (m *Machine) randomID() NodeID {
	const hex = "0123456789abcdef"
	var id NodeID
	for i := range id {
		id[i] = hex[m.rng.IntN(16)]
	}
	return id
}

func (m *Machine) newNode(id NodeID, flags uint16) *node {
	return &node{id: id, flags: flags, ctime: m.now, replOffTime: m.now}
}

func (m *Machine) addNode(n *node) {
	m.nodes = append(m.nodes, n)
	m.byID[n.id] = n
	m.version++
}

// addNodeDialSoon adds a node that sent me a MEET or that gossip told me
// of; its link is opened before this step's Ready rather than at the next
// cron tick (Redis waits for the cron), which takes up to 100 ms off every
// hop of a join. (A node added by CLUSTER MEET still waits for the tick,
// so CLUSTER NODES right after MEET shows it disconnected, as Redis does.)
func (m *Machine) addNodeDialSoon(n *node) {
	m.addNode(n)
	m.fresh = append(m.fresh, n)
	m.todo |= todoDialNew
}

// SetDropFilter is DEBUG DROP-CLUSTER-PACKET-FILTER: every packet of type t
// received from now on is dropped unprocessed (-1: none). A fault injection
// for tests, as in Redis.
func (m *Machine) SetDropFilter(t int64) { m.dropFilter = t }

// KillLink is DEBUG CLUSTERLINK KILL: it closes my outbound link to the node
// ("to"), its inbound link to me ("from") or both ("all"). The outbound link
// is opened again by the next tick, as after any link failure. The errors
// are Redis's texts.
func (m *Machine) KillLink(dir, id string) error {
	n := m.lookup(id)
	if n == nil {
		return fmt.Errorf("Unknown node %s", id)
	}
	to, from := false, false
	switch strings.ToLower(dir) {
	case "to":
		to = true
	case "from":
		from = true
	case "all":
		to, from = true, true
	default:
		return fmt.Errorf("Unknown direction %s", dir)
	}
	if to {
		m.freeLink(n)
	}
	if from && n.inbound != 0 {
		m.out.Ops = append(m.out.Ops, Op{Kind: OpCloseInbound, Link: n.inbound})
		n.inbound = 0
		m.version++
	}
	return nil
}

// lookup finds a node by textual ID, with Redis's validity rule.
func (m *Machine) lookup(s string) *node {
	id, ok := msg.ParseNodeID(s)
	if !ok {
		return nil
	}
	return m.byID[id]
}

func (m *Machine) logf(l Level, format string, args ...any) {
	m.out.Logs = append(m.out.Logs, Log{Level: l, Text: fmt.Sprintf(format, args...)})
}

func (m *Machine) event(e Event) { m.out.Events = append(m.out.Events, e) }

func (m *Machine) saveConfig(fsync bool) {
	m.todo |= todoSaveConfig
	if fsync {
		m.todo |= todoFsyncConfig
	}
}

// Tick runs one clusterCron (every 100 ms).
func (m *Machine) Tick(now int64) {
	m.advance(now)
	m.cron()
}

// Timer returns the time (ms) at which the machine wants Wake to be
// called before its next Tick, or 0: when a node times out (PFAIL) unless
// it answers, when a scheduled election starts, and while a manual
// failover waits for replication facts. Redis re-runs the failover step in
// every before-sleep; a driver that only ticked every 100 ms would add up
// to a tick to each of these steps.
func (m *Machine) Timer() int64 {
	t := m.failoverTimer()
	if m.pfailAt != 0 && (t == 0 || m.pfailAt < t) {
		t = m.pfailAt
	}
	return t
}

func (m *Machine) failoverTimer() int64 {
	me := m.myself
	switch {
	case me.isMaster() && m.mfEnd != 0 && m.mfReplica != nil && !m.mfPausedSent:
		return m.now + mfPoll // waiting for the server to pause writes
	case !me.isReplica():
		return 0
	case m.mfEnd != 0 && !m.mfCanStart && m.mfMasterOff != -1:
		return m.now + mfPoll // waiting for my offset to reach the master's
	case !m.authSent && m.authTime > m.now && me.master != nil && (me.master.failed() || m.mfEnd != 0):
		return m.authTime // an election is scheduled
	}
	return 0
}

// mfPoll is how often (ms) a manual failover polls the replication facts
// while it waits for them.
const mfPoll = 5

// Wake runs the failover steps at now, with the replication facts last set
// by SetReplInfo (see Timer).
func (m *Machine) Wake(now int64) {
	m.advance(now)
	if m.pfailAt != 0 && now >= m.pfailAt {
		m.checkPFail()
	}
	if m.myself.isReplica() {
		m.todo |= todoHandleFailover
	} else {
		m.mfSendPausedOffset()
	}
}

// Step processes one input from the bus.
func (m *Machine) Step(now int64, in Input) {
	m.advance(now)
	switch in := in.(type) {
	case Packet:
		m.processPacket(&in)
	case *Packet:
		m.processPacket(in)
	case LinkUp:
		if n := m.links[in.Gen]; n != nil {
			n.link.up = true
			// The MEET went out on this link: from now on PING.
			n.flags &^= msg.FlagMeet
		}
	case LinkDown:
		if n := m.links[in.Gen]; n != nil {
			delete(m.links, in.Gen)
			n.link = nil
			m.version++
		}
	case InboundUp:
	case InboundDown:
		for _, n := range m.nodes {
			if n.inbound == in.Link {
				n.inbound = 0
			}
		}
	case BufferLimitExceeded:
		m.statsLinksBuf++
	}
}

// Ready runs the deferred before-sleep work and returns what to do. The
// caller must persist, then perform the Ops in order, then deliver Events.
func (m *Machine) Ready() Ready {
	m.beforeSleep()
	m.computeLease(false)
	if !m.lost.Empty() {
		var lost []int
		for j := 0; j < slot.Count; j++ {
			// A slot lost and regained by my shard within one Ready still
			// drops its shard-channel subscribers, as in Redis.
			if m.lost.Has(j) {
				lost = append(lost, j)
			}
		}
		m.lost = slot.Set{}
		m.event(SlotsLost{Slots: lost})
	}
	r := m.out
	m.out = Ready{}
	return r
}

// HasReady reports whether Ready would return anything.
func (m *Machine) HasReady() bool { return m.todo != 0 || !m.out.Empty() }

func (m *Machine) beforeSleep() {
	if m.todo&todoDialNew != 0 {
		m.todo &^= todoDialNew
		for _, n := range m.fresh {
			if m.byID[n.id] == n && n.link == nil && !n.has(msg.FlagMyself|msg.FlagNoAddr) {
				m.createLink(n)
			}
		}
		m.fresh = m.fresh[:0]
	}
	if m.todo&todoHandleFailover != 0 {
		m.todo &^= todoHandleFailover
		if m.myself.isReplica() {
			m.handleManualFailover()
			m.replicaFailover()
		}
	}
	if m.todo&todoUpdateState != 0 {
		m.todo &^= todoUpdateState
		m.updateState()
	}
	if m.todo&todoSaveConfig != 0 {
		fsync := m.todo&todoFsyncConfig != 0
		m.todo &^= todoSaveConfig | todoFsyncConfig
		content := m.ConfigBytes()
		if fsync || string(content) != m.lastSaved {
			m.lastSaved = string(content)
			if m.out.Persist != nil {
				fsync = fsync || m.out.Persist.Fsync
			}
			m.out.Persist = &Persist{Content: content, Fsync: fsync}
		}
	}
}

// becomeMaster installs the master's role behaviour.
func (m *Machine) becomeMaster() {
	m.roleTick = m.tickMaster
	m.roleStep = m.stepMaster
}

// becomeReplica installs the replica's role behaviour.
func (m *Machine) becomeReplica() {
	m.roleTick = m.tickReplica
	m.roleStep = m.stepReplica
}
