package state

import (
	"sort"
	"strconv"

	"github.com/reefkv/reef/internal/cluster/msg"
	"github.com/reefkv/reef/internal/slot"
)

var flagWords = []struct {
	flag uint16
	word string
}{
	{msg.FlagMyself, "myself"},
	{msg.FlagMaster, "master"},
	{msg.FlagSlave, "slave"},
	{msg.FlagPFail, "fail?"},
	{msg.FlagFail, "fail"},
	{msg.FlagHandshake, "handshake"},
	{msg.FlagNoAddr, "noaddr"},
	{msg.FlagNoFailover, "nofailover"},
}

// AppendFlags appends the CLUSTER NODES flags word for flags ("noflags"
// when none is printable).
func AppendFlags(dst []byte, flags uint16) []byte {
	start := len(dst)
	for _, f := range flagWords {
		if flags&f.flag != 0 {
			if len(dst) > start {
				dst = append(dst, ',')
			}
			dst = append(dst, f.word...)
		}
	}
	if len(dst) == start {
		dst = append(dst, "noflags"...)
	}
	return dst
}

// appendNodeLine appends one CLUSTER NODES line without its newline.
func (m *Machine) appendNodeLine(b []byte, n *node) []byte {
	b = append(b, n.id[:]...)
	b = append(b, ' ')
	b = append(b, n.ip...)
	b = append(b, ':')
	b = strconv.AppendUint(b, uint64(n.port), 10)
	b = append(b, '@')
	b = strconv.AppendUint(b, uint64(n.cport), 10)
	if n.hostname != "" {
		b = append(b, ',')
		b = append(b, n.hostname...)
	}
	b = append(b, ' ')
	b = AppendFlags(b, n.flags)
	b = append(b, ' ')
	if n.master != nil {
		b = append(b, n.master.id[:]...)
	} else {
		b = append(b, '-')
	}
	epoch := n.configEpoch
	if n.isReplica() && n.master != nil {
		epoch = n.master.configEpoch
	}
	b = append(b, ' ')
	b = strconv.AppendInt(b, n.pingSent, 10)
	b = append(b, ' ')
	b = strconv.AppendInt(b, n.pongRecv, 10)
	b = append(b, ' ')
	b = strconv.AppendUint(b, epoch, 10)
	if n.link != nil || n == m.myself {
		b = append(b, " connected"...)
	} else {
		b = append(b, " disconnected"...)
	}
	if n.numSlots > 0 {
		b = append(b, ' ')
		b = n.slots.AppendRanges(b)
	}
	if n == m.myself && n.isMaster() {
		for j := 0; j < slot.Count; j++ {
			if t := m.migrating[j]; t != nil {
				b = append(b, " ["...)
				b = strconv.AppendInt(b, int64(j), 10)
				b = append(b, "->-"...)
				b = append(b, t.id[:]...)
				b = append(b, ']')
			} else if t := m.importing[j]; t != nil {
				b = append(b, " ["...)
				b = strconv.AppendInt(b, int64(j), 10)
				b = append(b, "-<-"...)
				b = append(b, t.id[:]...)
				b = append(b, ']')
			}
		}
	}
	return b
}

func (m *Machine) nodesText(skipHandshake bool) []byte {
	var b []byte
	for _, n := range m.nodes {
		if skipHandshake && n.inHandshake() {
			continue
		}
		b = m.appendNodeLine(b, n)
		b = append(b, '\n')
	}
	return b
}

// Nodes returns the CLUSTER NODES text.
func (m *Machine) Nodes() string { return string(m.nodesText(false)) }

// ConfigBytes returns the nodes.conf content: the CLUSTER NODES lines of
// every node not in handshake, then the vars line.
func (m *Machine) ConfigBytes() []byte {
	b := m.nodesText(true)
	b = append(b, "vars currentEpoch "...)
	b = strconv.AppendUint(b, m.currentEpoch, 10)
	b = append(b, " lastVoteEpoch "...)
	b = strconv.AppendUint(b, m.lastVoteEpoch, 10)
	b = append(b, '\n')
	return b
}

// Info returns the CLUSTER INFO text.
func (m *Machine) Info() string {
	assigned, ok, pfail, fail := 0, 0, 0, 0
	for j := 0; j < slot.Count; j++ {
		n := m.slots[j]
		if n == nil {
			continue
		}
		assigned++
		switch {
		case n.failed():
			fail++
		case n.timedOut():
			pfail++
		default:
			ok++
		}
	}
	state := "fail"
	if m.state {
		state = "ok"
	}
	b := make([]byte, 0, 512)
	line := func(k string, v int64) {
		b = append(b, k...)
		b = append(b, ':')
		b = strconv.AppendInt(b, v, 10)
		b = append(b, "\r\n"...)
	}
	b = append(b, "cluster_state:"+state+"\r\n"...)
	line("cluster_slots_assigned", int64(assigned))
	line("cluster_slots_ok", int64(ok))
	line("cluster_slots_pfail", int64(pfail))
	line("cluster_slots_fail", int64(fail))
	line("cluster_known_nodes", int64(len(m.nodes)))
	line("cluster_size", int64(m.size))
	b = append(b, "cluster_current_epoch:"...)
	b = strconv.AppendUint(b, m.currentEpoch, 10)
	b = append(b, "\r\ncluster_my_epoch:"...)
	b = strconv.AppendUint(b, m.myEpoch(), 10)
	b = append(b, "\r\n"...)
	for _, dir := range []struct {
		name  string
		stats *[msg.TypeCount]uint64
	}{{"sent", &m.statsSent}, {"received", &m.statsRecv}} {
		var total int64
		for t, c := range dir.stats {
			if c == 0 {
				continue
			}
			total += int64(c)
			line("cluster_stats_messages_"+msg.Type(t).String()+"_"+dir.name, int64(c))
		}
		line("cluster_stats_messages_"+dir.name, total)
	}
	line("total_cluster_links_buffer_limit_exceeded", int64(m.statsLinksBuf))
	return string(b)
}

// endpoint is getPreferredEndpoint.
func (m *Machine) endpoint(n *node) string {
	switch m.cfg.PreferredEndpoint {
	case "hostname":
		if n.hostname != "" {
			return n.hostname
		}
		return "?"
	case "unknown-endpoint":
		return ""
	}
	return n.ip
}

func (m *Machine) nodeOffset(n *node) int64 {
	if n == m.myself {
		return m.repl.Offset
	}
	return n.replOffset
}

func (m *Machine) slotsNode(n *node) SlotsNode {
	sn := SlotsNode{Endpoint: m.endpoint(n), Port: int(n.port), ID: n.id.String()}
	if m.cfg.PreferredEndpoint == "unknown-endpoint" {
		sn.EndpointNull = true
	}
	if m.cfg.PreferredEndpoint != "ip" && m.cfg.PreferredEndpoint != "" {
		sn.Extra = append(sn.Extra, KV{"ip", n.ip})
	}
	if m.cfg.PreferredEndpoint != "hostname" && n.hostname != "" {
		sn.Extra = append(sn.Extra, KV{"hostname", n.hostname})
	}
	return sn
}

// Slots returns CLUSTER SLOTS.
func (m *Machine) Slots() SlotsReply {
	var out SlotsReply
	var cur *node
	start := -1
	for i := 0; i <= slot.Count; i++ {
		var n *node
		if i < slot.Count {
			n = m.slots[i]
		}
		if cur != nil && (i == slot.Count || n != cur) {
			r := SlotRange{Start: start, End: i - 1}
			r.Nodes = append(r.Nodes, m.slotsNode(cur))
			for _, rep := range cur.replicas {
				if rep.failed() || m.nodeOffset(rep) == 0 {
					continue
				}
				r.Nodes = append(r.Nodes, m.slotsNode(rep))
			}
			out = append(out, r)
		}
		if i < slot.Count && n != cur {
			cur, start = n, i
		}
	}
	return out
}

// Shards returns CLUSTER SHARDS.
func (m *Machine) Shards() ShardsReply {
	var out ShardsReply
	for _, n := range m.nodes {
		if !n.isMaster() {
			continue
		}
		sh := Shard{Slots: []int{}}
		for _, r := range n.slots.Ranges() {
			sh.Slots = append(sh.Slots, r.Start, r.End)
		}
		sh.Nodes = append(sh.Nodes, m.shardNode(n))
		for _, r := range n.replicas {
			sh.Nodes = append(sh.Nodes, m.shardNode(r))
		}
		out = append(out, sh)
	}
	return out
}

func (m *Machine) shardNode(n *node) ShardNode {
	off := m.nodeOffset(n)
	sn := ShardNode{ID: n.id.String(), Port: int(n.port), IP: n.ip, Endpoint: m.endpoint(n), Hostname: n.hostname,
		Role: "master", ReplicationOffset: off, Health: "online"}
	if n.isReplica() {
		sn.Role = "replica"
	}
	switch {
	case n.failed():
		sn.Health = "fail"
	case n.isReplica() && off == 0:
		sn.Health = "loading"
	}
	return sn
}

// Links returns CLUSTER LINKS (buffer fields zero; the driver fills them).
func (m *Machine) Links() LinksReply {
	out := LinksReply{}
	for _, n := range m.nodes {
		if n == m.myself {
			continue
		}
		if n.link != nil {
			out = append(out, LinkInfo{Direction: "to", Node: n.id.String(), CreateTime: n.link.ctime, Events: "r", Gen: n.link.gen})
		}
		if n.inbound != 0 {
			out = append(out, LinkInfo{Direction: "from", Node: n.id.String(), CreateTime: n.inboundTime, Events: "r", Link: n.inbound})
		}
	}
	return out
}

// Replicas returns the CLUSTER NODES lines (no newline) of n's replicas.
func (m *Machine) replicasOf(n *node) BulkArray {
	out := BulkArray{}
	for _, r := range n.replicas {
		out = append(out, string(m.appendNodeLine(nil, r)))
	}
	return out
}

// NodeView is a read-only copy of one node, for tests and tools.
type NodeView struct {
	ID          NodeID
	Flags       uint16
	Master      NodeID
	IP          string
	Port, CPort uint16
	Hostname    string
	ConfigEpoch uint64
	NumSlots    int
	Linked      bool
	PingSent    int64
	PongRecv    int64
	ReplOffset  int64
	FailReports int
}

// NodeViews returns copies of all nodes, sorted by ID.
func (m *Machine) NodeViews() []NodeView {
	out := make([]NodeView, 0, len(m.nodes))
	for _, n := range m.nodes {
		v := NodeView{ID: n.id, Flags: n.flags, IP: n.ip, Port: n.port, CPort: n.cport, Hostname: n.hostname,
			ConfigEpoch: n.configEpoch, NumSlots: n.numSlots, Linked: n.link != nil, PingSent: n.pingSent,
			PongRecv: n.pongRecv, ReplOffset: n.replOffset, FailReports: len(n.reports)}
		if n.master != nil {
			v.Master = n.master.id
		}
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool { return string(out[i].ID[:]) < string(out[j].ID[:]) })
	return out
}

// SlotOwner returns the ID of the node bound to slot s, and false when the
// slot is unassigned.
func (m *Machine) SlotOwner(s int) (NodeID, bool) {
	if n := m.slots[s]; n != nil {
		return n.id, true
	}
	return NodeID{}, false
}

// Size returns cluster_size (masters serving at least one slot).
func (m *Machine) Size() int { return m.size }
