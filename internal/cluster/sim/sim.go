package sim

import (
	"container/heap"
	"fmt"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"

	"github.com/reefkv/reef/internal/cluster/msg"
	"github.com/reefkv/reef/internal/cluster/nodesconf"
	"github.com/reefkv/reef/internal/cluster/state"
)

// Start is the simulated wall clock at time zero (ms since the epoch), so
// that gossip timestamps in seconds look like real ones.
const Start int64 = 1_700_000_000_000

// Sim is a deterministic cluster: N state machines on an in-memory network.
// A seed fixes every random choice (the machines' and the network's), so a
// run is reproducible exactly.
type Sim struct {
	Seed  uint64
	Now   int64
	Nodes []*Node

	rng       *rand.Rand
	queue     eventQueue
	seq       uint64
	conns     map[connKey]*conn
	inbound   map[inKey]*conn
	nextLink  state.LinkID
	part      map[int]int // node index -> partition group (absent: 0)
	MinDelay  int64       // ms, one-way message delay
	MaxDelay  int64
	Loss      float64 // probability that a message is lost with its connection (reset)
	Trace     []string
	Violation []string
	winners   map[uint64]string // election epoch -> winner
	// Filter, when set, selects which log lines go to the trace.
	Filter func(state.Log) bool
}

// Node is one simulated node.
type Node struct {
	Index   int
	Name    string
	IP      string
	Port    int
	CPort   int
	Cfg     state.Config
	M       *state.Machine
	Down    bool
	Conf    []byte // last persisted nodes.conf
	Fsyncs  int
	Events  []state.Event
	Logs    []state.Log
	Offset  int64
	phase   int64
	downAt  int64
	replSet bool
	paused  bool  // a manual failover paused this master's writes
	wakeAt  int64 // a Wake is scheduled at this time (0: none)
}

type connKey struct {
	from int
	gen  uint64
}

type inKey struct {
	to   int
	link state.LinkID
}

type conn struct {
	from, to int
	gen      uint64
	link     state.LinkID // inbound link ID at the target
	up       bool
	closed   bool
	lastFwd  int64 // FIFO: deliveries from->to never overtake
	lastBack int64
}

type event struct {
	at  int64
	seq uint64
	fn  func()
}

type eventQueue []*event

func (q eventQueue) Len() int { return len(q) }
func (q eventQueue) Less(i, j int) bool {
	if q[i].at != q[j].at {
		return q[i].at < q[j].at
	}
	return q[i].seq < q[j].seq
}
func (q eventQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *eventQueue) Push(x any)   { *q = append(*q, x.(*event)) }
func (q *eventQueue) Pop() any {
	old := *q
	e := old[len(old)-1]
	*q = old[:len(old)-1]
	return e
}

// New returns a simulator with n nodes using cfg (ports are assigned per
// node: 127.0.0.1:7000+i, bus 17000+i).
func New(seed uint64, n int, cfg state.Config) *Sim {
	s := &Sim{Seed: seed, Now: Start, rng: rand.New(rand.NewPCG(seed, 0x5eed)),
		conns: map[connKey]*conn{}, inbound: map[inKey]*conn{}, part: map[int]int{},
		MinDelay: 1, MaxDelay: 5, winners: map[uint64]string{}}
	for i := 0; i < n; i++ {
		s.AddNode(cfg)
	}
	return s
}

// AddNode starts a fresh node with cfg.
func (s *Sim) AddNode(cfg state.Config) *Node {
	i := len(s.Nodes)
	nd := &Node{Index: i, Name: "n" + strconv.Itoa(i), IP: "127.0.0.1", Port: 7000 + i, CPort: 17000 + i,
		phase: int64(s.rng.IntN(state.TickMillis))}
	cfg.Port, cfg.CPort = uint16(nd.Port), uint16(nd.CPort)
	nd.Cfg = cfg
	s.Nodes = append(s.Nodes, nd)
	s.boot(nd, nil)
	return nd
}

func (s *Sim) boot(nd *Node, saved *state.Saved) {
	rng := rand.New(rand.NewPCG(s.Seed, uint64(nd.Index)+uint64(s.seq)<<20))
	m, err := state.New(nd.Cfg, rng, saved, s.Now)
	if err != nil {
		panic(err)
	}
	nd.M = m
	nd.Down = false
	nd.paused, nd.wakeAt = false, 0
	s.apply(nd)
	s.scheduleTick(nd, s.Now+nd.phase%state.TickMillis+1)
}

func (s *Sim) at(t int64, fn func()) {
	s.seq++
	heap.Push(&s.queue, &event{at: t, seq: s.seq, fn: fn})
}

func (s *Sim) scheduleTick(nd *Node, t int64) {
	m := nd.M
	s.at(t, func() {
		if nd.Down || nd.M != m {
			return
		}
		s.syncRepl(nd)
		nd.M.Tick(s.Now)
		s.apply(nd)
		s.scheduleTick(nd, s.Now+state.TickMillis)
	})
}

// RunFor advances the simulation by d ms.
func (s *Sim) RunFor(d int64) { s.RunUntil(s.Now+d, nil) }

// RunUntil runs events until time end or until cond holds (checked after
// every event). It reports whether cond became true.
// Conditions are checked every 10 ms of simulated time.
func (s *Sim) RunUntil(end int64, cond func() bool) bool {
	next := s.Now
	for s.queue.Len() > 0 {
		if cond != nil && s.Now >= next {
			if cond() {
				return true
			}
			next = s.Now + 10
		}
		e := s.queue[0]
		if e.at > end {
			break
		}
		heap.Pop(&s.queue)
		s.Now = e.at
		e.fn()
	}
	if cond != nil && cond() {
		return true
	}
	if s.Now < end {
		s.Now = end
	}
	return false
}

func (s *Sim) reachable(a, b int) bool {
	if s.Nodes[a].Down || s.Nodes[b].Down {
		return false
	}
	return s.part[a] == s.part[b]
}

func (s *Sim) delay() int64 {
	return s.MinDelay + int64(s.rng.IntN(int(s.MaxDelay-s.MinDelay+1)))
}

func (s *Sim) byAddr(ip string, cport int) *Node {
	for _, nd := range s.Nodes {
		if nd.IP == ip && nd.CPort == cport {
			return nd
		}
	}
	return nil
}

// apply takes nd's Ready and performs it: persist first, then ops.
func (s *Sim) apply(nd *Node) {
	rd := nd.M.Ready()
	if rd.Persist != nil {
		if _, err := nodesconf.Parse(rd.Persist.Content); err != nil {
			s.violate("%s wrote a nodes.conf it cannot read: %v", nd.Name, err)
		}
		nd.Conf = rd.Persist.Content
		if rd.Persist.Fsync {
			nd.Fsyncs++
		}
	}
	for _, l := range rd.Logs {
		nd.Logs = append(nd.Logs, l)
		if s.Filter != nil && s.Filter(l) {
			s.tracef("%s: %s", nd.Name, l.Text)
		}
		if strings.HasPrefix(l.Text, "Failover election won") {
			e := nd.M.CurrentEpoch()
			if w, ok := s.winners[e]; ok && w != nd.Name {
				s.violate("%s and %s both won the election of epoch %d", w, nd.Name, e)
			}
			s.winners[e] = nd.Name
		}
	}
	for _, op := range rd.Ops {
		s.checkDurable(nd, rd.Persist, op)
		s.do(nd, op)
	}
	nd.Events = append(nd.Events, rd.Events...)
	for _, e := range rd.Events {
		switch e := e.(type) {
		case state.BecomeMaster, state.BecomeReplica:
			nd.replSet = false
		case state.PauseWrites:
			// The simulated server has no writes in flight: the pause is
			// in force at once.
			nd.paused = e.Until != 0
		}
	}
	s.scheduleWake(nd)
}

// scheduleWake arranges the Wake the machine asks for (Machine.Timer), as
// the driver does.
func (s *Sim) scheduleWake(nd *Node) {
	t := nd.M.Timer()
	if t == 0 || (nd.wakeAt != 0 && nd.wakeAt <= t) {
		return
	}
	if t <= s.Now {
		t = s.Now + 1
	}
	nd.wakeAt = t
	m := nd.M
	s.at(t, func() {
		if nd.Down || nd.M != m || nd.wakeAt != t {
			return
		}
		nd.wakeAt = 0
		s.syncRepl(nd)
		nd.M.Wake(s.Now)
		s.apply(nd)
	})
}

// checkDurable: a vote or an election request may leave only after the
// nodes.conf recording its epoch was fsynced.
func (s *Sim) checkDurable(nd *Node, p *state.Persist, op state.Op) {
	if op.Kind != state.OpSend {
		return
	}
	switch op.Msg.Type {
	case msg.TypeFailoverAuthAck:
		want := fmt.Sprintf("lastVoteEpoch %d\n", op.Msg.CurrentEpoch)
		if p == nil || !p.Fsync || !strings.HasSuffix(string(p.Content), want) {
			s.violate("%s sent a vote for epoch %d before persisting it", nd.Name, op.Msg.CurrentEpoch)
		}
	case msg.TypeFailoverAuthRequest:
		want := fmt.Sprintf("vars currentEpoch %d ", op.Msg.CurrentEpoch)
		if p == nil || !p.Fsync || !strings.Contains(string(p.Content), want) {
			s.violate("%s requested votes for epoch %d before persisting it", nd.Name, op.Msg.CurrentEpoch)
		}
	}
}

func (s *Sim) violate(format string, args ...any) {
	v := fmt.Sprintf(format, args...)
	s.Violation = append(s.Violation, v)
	s.tracef("VIOLATION: %s", v)
}

func (s *Sim) tracef(format string, args ...any) {
	s.Trace = append(s.Trace, fmt.Sprintf("%7.3fs %s", float64(s.Now-Start)/1000, s.names(fmt.Sprintf(format, args...))))
}

// names replaces node IDs with node names in text.
func (s *Sim) names(text string) string {
	for _, nd := range s.Nodes {
		if nd.M != nil {
			text = strings.ReplaceAll(text, nd.M.MyID().String(), nd.Name)
		}
	}
	return text
}

func (s *Sim) do(nd *Node, op state.Op) {
	switch op.Kind {
	case state.OpDial:
		c := &conn{from: nd.Index, to: -1, gen: op.Gen}
		s.conns[connKey{nd.Index, op.Gen}] = c
		target := s.byAddr(op.IP, op.Port)
		if target == nil || !s.reachable(nd.Index, target.Index) {
			// Connection refused or timed out.
			wait := int64(1000)
			if target == nil || target.Down {
				wait = s.delay()
			}
			s.at(s.Now+wait, func() { s.closeConn(c) })
			return
		}
		c.to = target.Index
		s.nextLink++
		c.link = s.nextLink
		s.inbound[inKey{target.Index, c.link}] = c
		t := s.Now + s.delay()
		c.lastFwd = t
		s.at(t, func() {
			if c.closed {
				return
			}
			c.up = true
			s.step(s.Nodes[c.to], state.InboundUp{Link: c.link})
			s.step(s.Nodes[c.from], state.LinkUp{Gen: c.gen})
		})
	case state.OpClose:
		if c := s.conns[connKey{nd.Index, op.Gen}]; c != nil {
			s.closeConn(c)
		}
	case state.OpCloseInbound:
		if c := s.inbound[inKey{nd.Index, op.Link}]; c != nil {
			s.closeConn(c)
		}
	case state.OpSend:
		if op.Link != 0 {
			c := s.inbound[inKey{nd.Index, op.Link}]
			if c == nil || c.closed {
				return
			}
			s.deliver(c, false, op.Msg)
			return
		}
		c := s.conns[connKey{nd.Index, op.Gen}]
		if c == nil || c.closed || c.to < 0 {
			return
		}
		s.deliver(c, true, op.Msg)
	}
}

func (s *Sim) deliver(c *conn, fwd bool, m *msg.Message) {
	if s.Loss > 0 && s.rng.Float64() < s.Loss {
		// TCP does not lose a message silently: a loss is a reset link.
		s.closeConn(c)
		return
	}
	// Every message crosses the wire format, as on a real bus.
	raw := msg.Append(nil, m)
	t := s.Now + s.delay()
	if fwd {
		if t < c.lastFwd {
			t = c.lastFwd
		}
		c.lastFwd = t
	} else {
		if t < c.lastBack {
			t = c.lastBack
		}
		c.lastBack = t
	}
	s.at(t, func() {
		if c.closed || !s.reachable(c.from, c.to) {
			return
		}
		dm, err := msg.Decode(raw)
		if err != nil {
			s.violate("undecodable message: %v", err)
			return
		}
		if fwd {
			to := s.Nodes[c.to]
			s.step(to, state.Packet{Inbound: c.link, PeerIP: s.Nodes[c.from].IP, LocalIP: to.IP, Msg: dm})
		} else {
			from := s.Nodes[c.from]
			s.step(from, state.Packet{Gen: c.gen, PeerIP: s.Nodes[c.to].IP, LocalIP: from.IP, Msg: dm})
		}
	})
}

func (s *Sim) closeConn(c *conn) {
	if c.closed {
		return
	}
	c.closed = true
	delete(s.conns, connKey{c.from, c.gen})
	if c.to >= 0 {
		delete(s.inbound, inKey{c.to, c.link})
		if !s.Nodes[c.to].Down {
			s.step(s.Nodes[c.to], state.InboundDown{Link: c.link})
		}
	}
	if !s.Nodes[c.from].Down {
		s.step(s.Nodes[c.from], state.LinkDown{Gen: c.gen})
	}
}

func (s *Sim) step(nd *Node, in state.Input) {
	if nd.Down {
		return
	}
	nd.M.Step(s.Now, in)
	s.apply(nd)
}

// syncRepl tells nd's machine about its replication link: up while its
// master is alive and reachable, down since the moment it was not.
func (s *Sim) syncRepl(nd *Node) {
	r := state.ReplInfo{Offset: nd.Offset, LinkUp: true, LastInteraction: s.Now, WritesPaused: nd.paused}
	master := s.masterOf(nd)
	if master != nil && !s.reachable(nd.Index, master.Index) {
		if nd.downAt == 0 {
			nd.downAt = s.Now
		}
		r = state.ReplInfo{Offset: nd.Offset, DownSince: nd.downAt}
	} else {
		nd.downAt = 0
	}
	nd.M.SetReplInfo(r)
}

func (s *Sim) masterOf(nd *Node) *Node {
	for _, v := range nd.M.NodeViews() {
		if v.ID == nd.M.MyID() && !v.Master.IsZero() {
			return s.ByID(v.Master)
		}
	}
	return nil
}

// ByID finds a node by its current ID.
func (s *Sim) ByID(id state.NodeID) *Node {
	for _, nd := range s.Nodes {
		if nd.M.MyID() == id {
			return nd
		}
	}
	return nil
}

// Command runs a CLUSTER subcommand on nd and returns the reply as text.
func (s *Sim) Command(nd *Node, args ...string) string {
	if nd.Down {
		return "(node down)"
	}
	r := nd.M.Handle(s.Now, state.Command{Args: args})
	s.apply(nd)
	return FormatReply(r)
}

// Publish sends a PUBLISH from nd.
func (s *Sim) Publish(nd *Node, channel, message string, shard bool) {
	nd.M.Publish(s.Now, []byte(channel), []byte(message), shard)
	s.apply(nd)
}

// Partition splits the nodes into groups; nodes not named stay in group 0.
func (s *Sim) Partition(groups ...[]int) {
	s.part = map[int]int{}
	for g, nodes := range groups {
		for _, i := range nodes {
			s.part[i] = g + 1
		}
	}
}

// Heal removes all partitions.
func (s *Sim) Heal() { s.part = map[int]int{} }

// Kill stops nd: its connections close as a dead process's would.
func (s *Sim) Kill(nd *Node) {
	nd.Down = true
	keys := make([]connKey, 0)
	for k, c := range s.conns {
		if c.from == nd.Index || c.to == nd.Index {
			keys = append(keys, k)
		}
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].from != keys[j].from {
			return keys[i].from < keys[j].from
		}
		return keys[i].gen < keys[j].gen
	})
	for _, k := range keys {
		if c := s.conns[k]; c != nil {
			s.closeConn(c)
		}
	}
}

// Restart boots nd again from its last persisted nodes.conf.
func (s *Sim) Restart(nd *Node) error {
	saved, err := nodesconf.Parse(nd.Conf)
	if err != nil {
		return err
	}
	s.boot(nd, saved)
	return nil
}

// FormatReply renders a reply as redis-cli would, roughly.
func FormatReply(r state.Reply) string {
	switch r := r.(type) {
	case state.Status:
		return string(r)
	case state.Error:
		return "(error) " + string(r)
	case state.Int:
		return "(integer) " + strconv.FormatInt(int64(r), 10)
	case state.Bulk:
		return string(r)
	case state.Verbatim:
		return strings.TrimRight(string(r), "\r\n")
	case state.BulkArray:
		return strings.Join(r, "\n")
	case state.SaveConfig:
		return "OK"
	default:
		return fmt.Sprintf("%v", r)
	}
}
