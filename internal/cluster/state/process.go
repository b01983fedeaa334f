package state

import (
	"github.com/reefkv/reef/internal/cluster/msg"
	"github.com/reefkv/reef/internal/slot"
)

// processPacket is clusterProcessPacket for a message that passed
// msg.Decode's validity checks.
func (m *Machine) processPacket(p *Packet) {
	h := p.Msg
	if int(h.Type) < msg.TypeCount {
		m.statsRecv[h.Type]++
	}
	if int64(h.Type) == m.dropFilter {
		m.logf(LevelWarning, "Dropping packet that matches debug drop filter")
		return
	}
	me := m.myself
	var ln *node // node of my outbound link the packet came on
	if p.Inbound == 0 {
		ln = m.links[p.Gen]
		if ln == nil {
			return // a packet from a link I already dropped
		}
	}
	var sender *node
	if ln != nil && !ln.inHandshake() {
		sender = ln
	} else {
		sender = m.byID[h.Sender]
	}
	if sender == me {
		// My own message: a MEET I sent to my own address.
		if ln != nil && ln.inHandshake() {
			m.delNode(ln)
		} else if h.Type == msg.TypePing || h.Type == msg.TypeMeet {
			m.replyPong(p, ln, false)
		}
		return
	}
	if sender != nil && p.Inbound != 0 && sender.inbound != p.Inbound {
		if sender.inbound != 0 {
			m.out.Ops = append(m.out.Ops, Op{Kind: OpCloseInbound, Link: sender.inbound})
		}
		sender.inbound = p.Inbound
		sender.inboundTime = m.now
	}
	if sender != nil {
		sender.dataRecv = m.now
	}
	if sender != nil && !sender.inHandshake() {
		m.senderEpochs(sender, h)
	}

	if h.Type == msg.TypePing || h.Type == msg.TypeMeet {
		if (h.Type == msg.TypeMeet || me.ip == "") && m.cfg.AnnounceIP == "" && p.LocalIP != "" && me.ip != p.LocalIP {
			me.ip = p.LocalIP
			m.logf(LevelWarning, "IP address for this node updated to %s", me.ip)
			m.todo |= todoSaveConfig
			m.version++
		}
		if sender == nil && h.Type == msg.TypeMeet {
			n := m.newNode(m.randomID(), msg.FlagHandshake)
			n.ip = peerIP(p)
			n.port, n.pport, n.cport = h.Port, h.PPort, h.CPort
			m.addNodeDialSoon(n)
			m.todo |= todoSaveConfig
			m.processGossip(h, nil)
		}
		m.replyPong(p, ln, h.Type == msg.TypeMeet)
	}

	if !h.Type.IsGossip() {
		m.processOther(p, sender)
		return
	}

	if ln != nil {
		if ln.inHandshake() {
			if sender != nil {
				// Already known under its real name: maybe a new address.
				if m.updateAddress(sender, p) {
					m.todo |= todoSaveConfig | todoUpdateState
				}
				m.delNode(ln)
				return
			}
			m.renameNode(ln, h.Sender)
			ln.flags &^= msg.FlagHandshake
			ln.flags |= h.Flags & (msg.FlagMaster | msg.FlagSlave)
			m.todo |= todoSaveConfig
			// Unlike Redis, go on with the now-known sender: its gossip and
			// slots are trusted right away, and every peer hears of it now.
			sender = ln
			sender.dataRecv = m.now
			m.senderEpochs(sender, h)
			m.announceNewNode(ln)
			// And it hears of every node I know: nodes that joined me
			// while it was still in handshake were not announced to it.
			m.sendPingFull(ln, 0, msg.TypePing, nil, true)
		} else if ln.id != h.Sender {
			m.logf(LevelVerbose, "PONG contains mismatching sender ID. About node %s added %d ms ago, having flags %d",
				ln.id, m.now-ln.ctime, ln.flags)
			ln.flags |= msg.FlagNoAddr
			ln.ip, ln.port, ln.pport, ln.cport = "", 0, 0, 0
			m.freeLink(ln)
			m.todo |= todoSaveConfig
			return
		}
	}
	if sender != nil {
		sender.flags = sender.flags&^msg.FlagNoFailover | h.Flags&msg.FlagNoFailover
	}
	if sender != nil && h.Type == msg.TypePing && !sender.inHandshake() && m.updateAddress(sender, p) {
		m.todo |= todoSaveConfig | todoUpdateState
	}
	if ln != nil && h.Type == msg.TypePong {
		ln.pongRecv = m.now
		ln.pingSent = 0
		if ln.timedOut() {
			ln.flags &^= msg.FlagPFail
			m.todo |= todoSaveConfig | todoUpdateState
		} else if ln.failed() {
			m.clearNodeFailureIfNeeded(ln)
		}
	}
	if sender == nil {
		return
	}

	// Role switch.
	if h.SlaveOf.IsZero() {
		m.setNodeAsMaster(sender)
	} else {
		master := m.byID[h.SlaveOf]
		if sender.isMaster() {
			m.delNodeSlots(sender)
			sender.flags &^= msg.FlagMaster | msg.FlagMigrateTo
			sender.flags |= msg.FlagSlave
			m.todo |= todoSaveConfig | todoUpdateState
			m.version++
			if master != nil {
				m.followOpenSlots(sender, master)
			}
		}
		if master != nil && sender.master != master {
			if sender.master != nil {
				m.removeReplica(sender.master, sender)
			}
			m.addReplica(master, sender)
			sender.master = master
			m.todo |= todoSaveConfig
			m.version++
		}
	}

	// Slots.
	senderMaster := sender
	if sender.isReplica() {
		senderMaster = sender.master
	}
	dirty := senderMaster != nil && senderMaster.slots != h.MySlots
	if sender.isMaster() && dirty {
		m.updateSlotsConfig(sender, h.ConfigEpoch, &h.MySlots)
	}
	if dirty {
		for j := 0; j < slot.Count; j++ {
			if !h.MySlots.Has(j) {
				continue
			}
			owner := m.slots[j]
			if owner == sender || owner == nil {
				continue
			}
			if owner.configEpoch > h.ConfigEpoch {
				m.logf(LevelVerbose, "Node %s has old slots configuration, sending an UPDATE message about %s", sender.id, owner.id)
				m.sendUpdate(sender, owner)
				break
			}
		}
	}
	if me.isMaster() && sender.isMaster() && h.ConfigEpoch == me.configEpoch {
		m.handleConfigEpochCollision(sender)
	}
	m.processGossip(h, sender)
	m.processExts(h, sender)
}

// senderEpochs applies the sender's epochs and offset from the header.
func (m *Machine) senderEpochs(sender *node, h *msg.Message) {
	if h.CurrentEpoch > m.currentEpoch {
		m.currentEpoch = h.CurrentEpoch
		m.saveConfig(true)
	}
	if h.ConfigEpoch > sender.configEpoch {
		sender.configEpoch = h.ConfigEpoch
		m.saveConfig(true)
		m.version++
	}
	sender.replOffset = int64(h.Offset)
	sender.replOffTime = m.now
	me := m.myself
	if m.mfEnd != 0 && me.isReplica() && me.master == sender && h.MFlags[0]&msg.MFlagPaused != 0 && m.mfMasterOff == -1 {
		m.mfMasterOff = int64(h.Offset)
		m.todo |= todoHandleFailover
		m.logf(LevelWarning, "Received replication offset for paused master manual failover: %d", m.mfMasterOff)
	}
}

// replyPong answers a PING or MEET on the link it came on.
func (m *Machine) replyPong(p *Packet, ln *node, toMeet bool) {
	if p.Inbound != 0 {
		m.sendPingFull(nil, p.Inbound, msg.TypePong, nil, toMeet)
	} else {
		m.sendPingFull(ln, 0, msg.TypePong, nil, toMeet)
	}
}

func peerIP(p *Packet) string {
	if p.Msg.MyIP != "" {
		return p.Msg.MyIP
	}
	return p.PeerIP
}

// updateAddress is nodeUpdateAddressIfNeeded.
func (m *Machine) updateAddress(n *node, p *Packet) bool {
	if n == m.myself || (p.Inbound == 0 && n.link != nil && n.link.gen == p.Gen) {
		return false
	}
	h := p.Msg
	ip := peerIP(p)
	if n.port == h.Port && n.cport == h.CPort && n.pport == h.PPort && n.ip == ip {
		return false
	}
	n.ip, n.port, n.cport, n.pport = ip, h.Port, h.CPort, h.PPort
	m.freeLink(n)
	n.flags &^= msg.FlagNoAddr
	m.version++
	m.logf(LevelWarning, "Address updated for node %s, now %s:%d", n.id, n.ip, n.port)
	if m.myself.isReplica() && m.myself.master == n {
		m.tellMaster()
	}
	return true
}

func (m *Machine) processOther(p *Packet, sender *node) {
	h := p.Msg
	if sender == nil {
		return // only PING, PONG and MEET are accepted from unknown nodes
	}
	switch h.Type {
	case msg.TypeFail:
		failing := m.byID[h.Fail]
		if failing != nil && !failing.has(msg.FlagFail|msg.FlagMyself) {
			m.logf(LevelNotice, "FAIL message received from %s about %s", sender.id, failing.id)
			failing.flags |= msg.FlagFail
			failing.failTime = m.now
			failing.flags &^= msg.FlagPFail
			m.todo |= todoSaveConfig | todoUpdateState
			m.version++
			if m.myself.master == failing {
				m.todo |= todoHandleFailover // schedule my election now, not at the next tick
			}
		}
	case msg.TypePublish, msg.TypePublishShard:
		m.event(PublishReceived{Channel: h.Channel, Message: h.Payload, Shard: h.Type == msg.TypePublishShard})
	case msg.TypeFailoverAuthRequest, msg.TypeFailoverAuthAck, msg.TypeMFStart:
		m.roleStep(sender, p)
	case msg.TypeUpdate:
		u := h.Update
		n := m.byID[u.Node]
		if n == nil || n.configEpoch >= u.ConfigEpoch {
			return
		}
		if n.isReplica() {
			m.setNodeAsMaster(n)
		}
		n.configEpoch = u.ConfigEpoch
		m.saveConfig(true)
		m.version++
		m.updateSlotsConfig(n, u.ConfigEpoch, &u.Slots)
	case msg.TypeModule:
		mod := h.Module
		m.event(ModuleMessage{Sender: sender.id, ModuleID: mod.ModuleID, Type: mod.Type, Payload: mod.Payload})
	default:
		m.logf(LevelWarning, "Received unknown packet type: %d", h.Type)
	}
}

// processGossip is clusterProcessGossipSection.
func (m *Machine) processGossip(h *msg.Message, sender *node) {
	for i := range h.Gossip {
		g := &h.Gossip[i]
		n := m.byID[g.Node]
		if n != nil {
			if sender != nil && sender.isMaster() && n != m.myself {
				if g.Flags&(msg.FlagFail|msg.FlagPFail) != 0 {
					if m.addFailureReport(n, sender) {
						m.logf(LevelVerbose, "Node %s reported node %s as not reachable.", sender.id, n.id)
					}
					m.markNodeAsFailingIfNeeded(n)
				} else if m.delFailureReport(n, sender) {
					m.logf(LevelVerbose, "Node %s reported node %s is back online.", sender.id, n.id)
				}
			}
			if g.Flags&(msg.FlagFail|msg.FlagPFail) == 0 && n.pingSent == 0 && m.failureReportsCount(n) == 0 {
				pong := int64(g.PongReceived) * 1000
				if pong <= m.now+500 && pong > n.pongRecv {
					n.pongRecv = pong
				}
			}
			if n.has(msg.FlagFail|msg.FlagPFail) && g.Flags&msg.FlagNoAddr == 0 && g.Flags&(msg.FlagFail|msg.FlagPFail) == 0 &&
				(n.ip != g.IP || n.port != g.Port || n.cport != g.CPort) && n != m.myself {
				m.freeLink(n)
				n.ip, n.port, n.pport, n.cport = g.IP, g.Port, g.PPort, g.CPort
				n.flags &^= msg.FlagNoAddr
				m.version++
			}
			continue
		}
		if sender != nil && g.Flags&msg.FlagNoAddr == 0 && !m.blacklisted(g.Node) {
			if _, ok := msg.ParseNodeID(g.Node.String()); !ok {
				continue
			}
			n := m.newNode(g.Node, g.Flags&(msg.FlagMaster|msg.FlagSlave|msg.FlagNoFailover|msg.FlagFail))
			if n.failed() {
				n.failTime = m.now
			}
			n.ip, n.port, n.pport, n.cport = g.IP, g.Port, g.PPort, g.CPort
			m.addNodeDialSoon(n)
			m.todo |= todoSaveConfig
		}
	}
}

// processExts applies ping extensions: hostname (absent: cleared) and the
// 7.2 forgotten-node extension.
func (m *Machine) processExts(h *msg.Message, sender *node) {
	host := ""
	if h.MFlags[0]&msg.MFlagExtData != 0 {
		for _, e := range h.Exts {
			switch e.Type {
			case msg.ExtHostname:
				host = e.Hostname()
			case msg.ExtForgottenNode:
				id, ttl, ok := e.ForgottenNode()
				n := m.byID[id]
				if ok && n != nil && n != m.myself && !(m.myself.isReplica() && m.myself.master == n) {
					m.blacklist[id] = m.now + int64(ttl)*1000
					m.delNode(n)
					m.todo |= todoSaveConfig | todoUpdateState
				}
			case msg.ExtHumanNodename, msg.ExtShardID:
			default:
				m.logf(LevelWarning, "Received unknown extension type %d", e.Type)
			}
		}
	}
	if sender.hostname != host {
		sender.hostname = host
		m.todo |= todoSaveConfig
		m.version++
	}
}

// handleConfigEpochCollision: of two masters with the same configEpoch, the
// one with the smaller node ID takes a new epoch.
func (m *Machine) handleConfigEpochCollision(sender *node) {
	me := m.myself
	if sender.configEpoch != me.configEpoch || !sender.isMaster() || !me.isMaster() {
		return
	}
	if string(sender.id[:]) <= string(me.id[:]) {
		return
	}
	m.currentEpoch++
	me.configEpoch = m.currentEpoch
	m.saveConfig(true)
	m.version++
	m.logf(LevelVerbose, "WARNING: configEpoch collision with node %s. configEpoch set to %d", sender.id, m.currentEpoch)
}

// updateSlotsConfig is clusterUpdateSlotsConfigWith: bind to sender the
// slots it claims with a newer configEpoch, and follow my slots if they all
// moved away.
func (m *Machine) updateSlotsConfig(sender *node, senderEpoch uint64, slots *slot.Set) {
	me := m.myself
	if sender == me {
		m.logf(LevelNotice, "Discarding UPDATE message about myself.")
		return
	}
	curmaster := me
	if me.isReplica() {
		curmaster = me.master
	}
	var newmaster *node
	var dirty []int
	senderSlots, migrated := 0, 0
	for j := 0; j < slot.Count; j++ {
		if slots.Has(j) {
			senderSlots++
			owner := m.slots[j]
			if owner == sender {
				m.notClaiming.Remove(j)
				continue
			}
			if src := m.importing[j]; src != nil {
				// A failover replaced the node I import from: import
				// from its successor (it has the keys).
				if src == owner && owner != nil && owner != sender && owner.configEpoch < senderEpoch {
					m.importing[j] = sender
					m.delSlot(j)
					m.addSlot(sender, j)
					m.saveConfig(true)
					m.todo |= todoUpdateState
				}
				continue
			}
			if owner == nil || m.notClaiming.Has(j) || owner.configEpoch < senderEpoch {
				if owner == me {
					dirty = append(dirty, j)
				}
				if owner != nil && owner == curmaster {
					newmaster = sender
					migrated++
				}
				m.delSlot(j)
				m.addSlot(sender, j)
				m.notClaiming.Remove(j)
				m.saveConfig(true)
				m.todo |= todoUpdateState
			}
		} else if m.slots[j] == sender {
			m.notClaiming.Add(j)
		}
	}
	switch {
	case newmaster != nil && curmaster.numSlots == 0 && (m.cfg.AllowReplicaMigration || senderSlots == migrated):
		m.logf(LevelWarning, "Configuration change detected. Reconfiguring myself as a replica of %s", sender.id)
		m.setMyMaster(sender)
		m.saveConfig(true)
		m.todo |= todoUpdateState
	case me.master != nil && me.master.master != nil && me.master.master != me:
		gm := me.master.master
		m.logf(LevelWarning, "I'm a sub-replica! Reconfiguring myself as a replica of grandmaster %s", gm.id)
		m.setMyMaster(gm)
		m.saveConfig(true)
		m.todo |= todoUpdateState
	case len(dirty) > 0:
		// The server logs each slot that holds keys: Redis counts a slot
		// dirty only then, and this machine does not see keys.
		m.event(DeleteKeysInSlots{Slots: dirty, Dirty: true})
	}
}
