package state

import (
	"github.com/reefkv/reef/internal/cluster/msg"
)

// header builds a message header as clusterBuildMessageHdr does.
func (m *Machine) header(t msg.Type) *msg.Message {
	me := m.myself
	master := me
	if me.isReplica() && me.master != nil {
		master = me.master
	}
	h := &msg.Message{
		Ver:          msg.ProtoVer,
		Type:         t,
		Port:         me.port,
		PPort:        me.pport,
		CPort:        me.cport,
		CurrentEpoch: m.currentEpoch,
		ConfigEpoch:  master.configEpoch,
		Sender:       me.id,
		MySlots:      master.slots,
		MyIP:         m.cfg.AnnounceIP,
		Flags:        me.flags,
		Offset:       uint64(m.repl.Offset),
	}
	if me.isReplica() && me.master != nil {
		h.SlaveOf = me.master.id
	}
	if !m.state {
		h.State = msg.StateFail
	}
	if me.isMaster() && m.mfEnd != 0 && m.repl.WritesPaused {
		h.MFlags[0] |= msg.MFlagPaused
	}
	return h
}

// send queues mm on my outbound link to n; nothing when there is no link.
func (m *Machine) send(n *node, mm *msg.Message) {
	if n == nil || n.link == nil {
		return
	}
	m.out.Ops = append(m.out.Ops, Op{Kind: OpSend, Node: n.id, Gen: n.link.gen, Msg: mm})
	m.count(mm.Type)
}

// reply queues mm on inbound link l.
func (m *Machine) reply(l LinkID, mm *msg.Message) {
	m.out.Ops = append(m.out.Ops, Op{Kind: OpSend, Link: l, Msg: mm})
	m.count(mm.Type)
}

func (m *Machine) count(t msg.Type) {
	if int(t) < msg.TypeCount {
		m.statsSent[t]++
	}
}

// broadcast sends mm to every node I have a link to, except handshake nodes.
func (m *Machine) broadcast(mm *msg.Message) {
	for _, n := range m.nodes {
		if n == m.myself || n.inHandshake() {
			continue
		}
		m.send(n, mm)
	}
}

func gossipEntry(n *node) msg.Gossip {
	return msg.Gossip{
		Node:         n.id,
		PingSent:     uint32(n.pingSent / 1000),
		PongReceived: uint32(n.pongRecv / 1000),
		IP:           n.ip,
		Port:         n.port,
		CPort:        n.cport,
		Flags:        n.flags,
		PPort:        n.pport,
	}
}

// sendPing sends a PING, PONG or MEET with a gossip section, to my outbound
// link to n (inbound == 0) or as a reply on inbound link inbound.
//
// The gossip section follows clusterSendPing: max(3, nodes/10) random
// healthy nodes plus every PFAIL node. Two additions make joins fast: a MEET,
// a reply to a MEET, and a message to a node still in handshake carry the
// whole table; and force (a node that just joined) is always included.
func (m *Machine) sendPing(n *node, inbound LinkID, typ msg.Type, force *node) {
	m.sendPingFull(n, inbound, typ, force, false)
}

func (m *Machine) sendPingFull(n *node, inbound LinkID, typ msg.Type, force *node, full bool) {
	h := m.header(typ)
	full = full || typ == msg.TypeMeet || (n != nil && n.inHandshake())
	m.fillGossip(h, full, force, n)
	if m.myself.hostname != "" {
		h.Exts = append(h.Exts, msg.HostnameExt(m.myself.hostname))
		h.MFlags[0] |= msg.MFlagExtData
	}
	if inbound != 0 {
		m.reply(inbound, h)
		return
	}
	if n == nil || n.link == nil {
		return
	}
	if typ == msg.TypePing && n.pingSent == 0 {
		n.pingSent = m.now
	}
	m.send(n, h)
}

func (m *Machine) fillGossip(h *msg.Message, full bool, force, target *node) {
	in := map[*node]bool{}
	add := func(x *node) {
		if in[x] {
			return
		}
		in[x] = true
		h.Gossip = append(h.Gossip, gossipEntry(x))
	}
	eligible := func(x *node) bool {
		return x != m.myself && !x.has(msg.FlagHandshake|msg.FlagNoAddr) && !(x.link == nil && x.numSlots == 0)
	}
	if full {
		for _, x := range m.nodes {
			if x != target && (eligible(x) || x.timedOut() && x != m.myself && !x.has(msg.FlagHandshake|msg.FlagNoAddr)) {
				add(x)
			}
		}
		return
	}
	fresh := len(m.nodes) - 2
	wanted := len(m.nodes) / 10
	if wanted < 3 {
		wanted = 3
	}
	if wanted > fresh {
		wanted = fresh
	}
	if force != nil && force != target && force != m.myself {
		add(force)
	}
	for iter := wanted * 3; fresh > 0 && len(h.Gossip) < wanted && iter > 0; iter-- {
		x := m.randomNode()
		if x == m.myself || x.timedOut() {
			continue
		}
		if !eligible(x) {
			fresh--
			continue
		}
		if in[x] {
			continue
		}
		add(x)
		fresh--
	}
	if m.pfailNodes > 0 {
		for _, x := range m.nodes {
			if x.timedOut() && !x.has(msg.FlagHandshake|msg.FlagNoAddr) {
				add(x)
			}
		}
	}
}

// broadcastPong sends a PONG to every linked node (all) or to my master's
// other replicas (localReplicas), as clusterBroadcastPong.
func (m *Machine) broadcastPong(localReplicas bool) {
	for _, n := range m.nodes {
		if n.link == nil || n == m.myself || n.inHandshake() {
			continue
		}
		if localReplicas {
			local := n.isReplica() && n.master != nil && (n.master == m.myself.master || n.master == m.myself)
			if !local {
				continue
			}
		}
		m.sendPing(n, 0, msg.TypePong, nil)
	}
}

// announceNewNode pings every linked node with gossip about x, so that a
// node that just completed its handshake with me is known cluster-wide
// within one round trip rather than after random gossip finds it.
func (m *Machine) announceNewNode(x *node) {
	for _, n := range m.nodes {
		if n == x || n == m.myself || n.link == nil || n.inHandshake() {
			continue
		}
		m.sendPing(n, 0, msg.TypePing, x)
	}
}

func (m *Machine) sendFail(n *node) {
	h := m.header(msg.TypeFail)
	h.Fail = n.id
	m.broadcast(h)
}

func (m *Machine) sendUpdate(to, about *node) {
	if to == nil || to.link == nil {
		return
	}
	h := m.header(msg.TypeUpdate)
	h.Update = &msg.Update{ConfigEpoch: about.configEpoch, Node: about.id, Slots: about.slots}
	m.send(to, h)
}

// Publish propagates a PUBLISH (shard false: to every node) or an SPUBLISH
// (shard true: to the nodes of my shard) over the bus.
func (m *Machine) Publish(now int64, channel, message []byte, shard bool) {
	m.now = now
	t := msg.TypePublish
	if shard {
		t = msg.TypePublishShard
	}
	h := m.header(t)
	h.Channel, h.Payload = channel, message
	if !shard {
		m.broadcast(h)
		return
	}
	master := m.myself
	if m.myself.isReplica() {
		master = m.myself.master
	}
	if master == nil {
		return
	}
	if master != m.myself {
		m.send(master, h)
	}
	for _, r := range master.replicas {
		if r != m.myself {
			m.send(r, h)
		}
	}
}

// SendModule sends a MODULE message to target (zero: broadcast).
func (m *Machine) SendModule(now int64, target NodeID, moduleID uint64, typ uint8, payload []byte) bool {
	m.now = now
	h := m.header(msg.TypeModule)
	h.Module = &msg.Module{ModuleID: moduleID, Type: typ, Payload: payload}
	if target.IsZero() {
		m.broadcast(h)
		return true
	}
	n := m.byID[target]
	if n == nil || n.link == nil {
		return false
	}
	m.send(n, h)
	return true
}
