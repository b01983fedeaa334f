package state

import (
	"github.com/reefkv/reef/internal/cluster/msg"
	"github.com/reefkv/reef/internal/slot"
)

// cron is clusterCron: links, pings, PFAIL detection, role duties.
func (m *Machine) cron() {
	m.iter++
	now := m.now
	timeout := m.cfg.NodeTimeout
	handshakeTimeout := timeout
	if handshakeTimeout < 1000 {
		handshakeTimeout = 1000
	}
	m.pfailNodes = 0
	for _, n := range append([]*node(nil), m.nodes...) {
		if n.has(msg.FlagMyself | msg.FlagNoAddr) {
			continue
		}
		if n.timedOut() {
			m.pfailNodes++
		}
		if n.inHandshake() && now-n.ctime > handshakeTimeout {
			m.delNode(n)
			m.todo |= todoSaveConfig
			continue
		}
		if n.link == nil {
			m.createLink(n)
		}
	}

	// Once a second, ping the node with the oldest pong among five random
	// ones that have a link and no pending ping.
	if m.iter%10 == 0 {
		var min *node
		for j := 0; j < 5; j++ {
			n := m.randomNode()
			if n.link == nil || n.pingSent != 0 || n.has(msg.FlagMyself|msg.FlagHandshake) {
				continue
			}
			if min == nil || n.pongRecv < min.pongRecv {
				min = n
			}
		}
		if min != nil {
			m.logf(LevelDebug, "Pinging node %s", min.id)
			m.sendPing(min, 0, msg.TypePing, nil)
		}
	}

	me := m.myself
	orphaned, maxReplicas, myReplicas := 0, 0, 0
	update := false
	interval := m.pingInterval()
	var suspects []*node
	for _, n := range m.nodes {
		if n.has(msg.FlagMyself | msg.FlagNoAddr | msg.FlagHandshake) {
			continue
		}
		if me.isReplica() && n.isMaster() && !n.failed() {
			ok := m.countNonFailingReplicas(n)
			if ok == 0 && n.numSlots > 0 && n.has(msg.FlagMigrateTo) {
				orphaned++
			}
			if ok > maxReplicas {
				maxReplicas = ok
			}
			if me.master == n {
				myReplicas = ok
			}
		}
		// A link that got no answer for a while is reconnected.
		if n.link != nil && now-n.link.ctime > timeout && n.pingSent != 0 &&
			now-n.pingSent > timeout/2 && now-n.dataRecv > timeout/2 {
			m.freeLink(n)
		}
		if n.link != nil && n.pingSent == 0 && now-n.pongRecv > interval {
			m.sendPing(n, 0, msg.TypePing, nil)
			continue
		}
		if m.mfEnd != 0 && me.isMaster() && m.mfReplica == n && n.link != nil {
			m.sendPing(n, 0, msg.TypePing, nil)
			continue
		}
		if m.timedOut(n) {
			update = true
			suspects = append(suspects, n)
		}
	}
	m.reportSuspects(suspects)
	m.schedulePFailCheck()
	m.manualFailoverCheckTimeout()
	m.roleTick()
	if me.isReplica() && orphaned > 0 && maxReplicas >= 2 && myReplicas == maxReplicas && m.cfg.AllowReplicaMigration {
		m.replicaMigration(maxReplicas)
	}
	if update || !m.state {
		m.updateState()
	}
}

// timedOut flags n PFAIL when its pending PING went unanswered, and nothing
// at all came from it, for longer than the node timeout (Redis's rule), and
// reports whether it just did.
func (m *Machine) timedOut(n *node) bool {
	if n.pingSent == 0 || n.has(msg.FlagPFail|msg.FlagFail) {
		return false
	}
	delay := m.now - n.pingSent
	if d := m.now - n.dataRecv; d < delay {
		delay = d
	}
	if delay <= m.cfg.NodeTimeout {
		return false
	}
	m.logf(LevelDebug, "*** NODE %s possibly failing", n.id)
	n.flags |= msg.FlagPFail
	m.version++
	return true
}

// schedulePFailCheck records when the next node would time out if nothing
// comes from it (Timer hands it to the driver): Redis notices a timeout at
// the next 100 ms cron, Reef at the moment it happens. Pings sent later
// have later deadlines, and data received only postpones one, so computing
// it once per tick is enough; a Wake at a postponed deadline finds nothing.
func (m *Machine) schedulePFailCheck() {
	m.pfailAt = 0
	for _, n := range m.nodes {
		if n.pingSent == 0 || n.has(msg.FlagMyself|msg.FlagNoAddr|msg.FlagHandshake|msg.FlagPFail|msg.FlagFail) {
			continue
		}
		at := max(n.pingSent, n.dataRecv) + m.cfg.NodeTimeout + 1
		if m.pfailAt == 0 || at < m.pfailAt {
			m.pfailAt = at
		}
	}
}

// checkPFail runs the PFAIL check of every node between ticks.
func (m *Machine) checkPFail() {
	var suspects []*node
	for _, n := range m.nodes {
		if n.has(msg.FlagMyself|msg.FlagNoAddr|msg.FlagHandshake) || !m.timedOut(n) {
			continue
		}
		suspects = append(suspects, n)
	}
	if len(suspects) > 0 {
		m.reportSuspects(suspects)
		m.todo |= todoUpdateState
	}
	m.schedulePFailCheck()
}

// pingInterval is how long (ms) a node's last PONG may be before I ping it
// again. Redis uses node-timeout/2; a node that dies right after a PONG is
// then flagged PFAIL up to 1.5 x node-timeout after its death, because
// PFAIL counts from the unanswered PING. Reef pings every node-timeout/20,
// so PFAIL comes between node-timeout and 1.05 x node-timeout after the
// death, while a node must still stay silent for a whole node-timeout
// after a PING to be suspected (the rule itself is Redis's). The interval
// grows with the square of the cluster's size, 2.5 ms x (nodes-1)^2, so
// that the whole cluster sends about 400 PINGs a second however big it is
// (each node pings every other one each interval): up to 7 nodes at
// node-timeout 2000 a node pings each peer every 100 ms; in a 20-node
// cluster every 900 ms, about 21 PINGs a second (Redis sends about 10 plus
// those to nodes it has not heard from in node-timeout/2), which keeps an
// idle node's bus under 2% of a core (bench/cluster.sh). The interval never
// exceeds node-timeout/4: the write lease (lease.go) lasts node-timeout
// minus one interval and is renewed by every packet from a peer, so a peer
// heard from every interval keeps it with room to spare (Redis's node-
// timeout/2 would leave the lease as long as the gap between packets).
func (m *Machine) pingInterval() int64 {
	t := m.cfg.NodeTimeout
	iv := t / 20
	others := int64(len(m.nodes) - 1)
	if byNodes := others * others * 5 / 2; iv < byNodes {
		iv = byNodes
	}
	if iv > t/4 {
		iv = t / 4
	}
	return iv
}

// reportSuspects runs when this node just flagged nodes PFAIL. Redis lets
// the failure reports travel with the next regular PINGs (up to
// node-timeout/2 later) and reaches FAIL only when one arrives. A master
// here checks the quorum at once with the reports it already holds, and
// tells every other node now (a PING's gossip carries every PFAIL node), so
// that FAIL follows the last needed master's own detection within a round
// trip. Replicas' reports do not count, so they stay quiet.
func (m *Machine) reportSuspects(suspects []*node) {
	if len(suspects) == 0 {
		return
	}
	for _, n := range suspects {
		m.markNodeAsFailingIfNeeded(n)
	}
	if !m.myself.isMaster() {
		return
	}
	m.pfailNodes = 0
	for _, n := range m.nodes {
		if n.timedOut() {
			m.pfailNodes++
		}
	}
	for _, n := range m.nodes {
		if n == m.myself || n.link == nil || n.inHandshake() || n.has(msg.FlagPFail|msg.FlagFail) {
			continue
		}
		m.sendPing(n, 0, msg.TypePing, nil)
	}
}

// markNodeAsFailingIfNeeded turns PFAIL into FAIL once a majority of
// masters reported it, and broadcasts the FAIL.
func (m *Machine) markNodeAsFailingIfNeeded(n *node) {
	quorum := m.size/2 + 1
	if !n.timedOut() || n.failed() {
		return
	}
	failures := m.failureReportsCount(n)
	if m.myself.isMaster() {
		failures++
	}
	if failures < quorum {
		return
	}
	m.logf(LevelNotice, "Marking node %s as failing (quorum reached).", n.id)
	n.flags &^= msg.FlagPFail
	n.flags |= msg.FlagFail
	n.failTime = m.now
	m.version++
	m.sendFail(n)
	m.todo |= todoUpdateState | todoSaveConfig
	if m.myself.master == n {
		m.todo |= todoHandleFailover // schedule my election now, not at the next tick
	}
}

// clearNodeFailureIfNeeded undoes FAIL for a node that answers again.
func (m *Machine) clearNodeFailureIfNeeded(n *node) {
	if n.isReplica() || n.numSlots == 0 {
		what := "replica"
		if !n.isReplica() {
			what = "master without slots"
		}
		m.logf(LevelNotice, "Clear FAIL state for node %s: %s is reachable again.", n.id, what)
		n.flags &^= msg.FlagFail
		m.todo |= todoUpdateState | todoSaveConfig
		m.version++
	}
	if n.isMaster() && n.numSlots > 0 && m.now-n.failTime > m.cfg.NodeTimeout*FailUndoTimeMult {
		m.logf(LevelNotice, "Clear FAIL state for node %s: is reachable again and nobody is serving its slots after some time.", n.id)
		n.flags &^= msg.FlagFail
		m.todo |= todoUpdateState | todoSaveConfig
		m.version++
	}
}

// updateState is clusterUpdateState.
func (m *Machine) updateState() {
	me := m.myself
	if m.firstStateCall == 0 {
		m.firstStateCall = m.now
	}
	if me.isMaster() && !m.state && m.now-m.firstStateCall < WritableDelay {
		return
	}
	ok := true
	if m.cfg.RequireFullCoverage {
		for j := 0; j < slot.Count; j++ {
			if m.slots[j] == nil || m.slots[j].failed() {
				ok = false
				break
			}
		}
	}
	reachable, size := 0, 0
	for _, n := range m.nodes {
		if n.isMaster() && n.numSlots > 0 {
			size++
			if !n.has(msg.FlagFail | msg.FlagPFail) {
				reachable++
			}
		}
	}
	if m.size != size {
		m.version++
	}
	m.size = size
	if reachable < size/2+1 {
		ok = false
		m.amongMinorityTime = m.now
	}
	if ok != m.state {
		rejoin := m.cfg.NodeTimeout
		if rejoin > 5000 {
			rejoin = 5000
		}
		if rejoin < 500 {
			rejoin = 500
		}
		if ok && me.isMaster() && m.now-m.amongMinorityTime < rejoin {
			return
		}
		m.state = ok
		m.version++
		if ok {
			m.logf(LevelWarning, "Cluster state changed: ok")
		} else {
			m.logf(LevelWarning, "Cluster state changed: fail")
		}
		m.event(StateChanged{OK: ok})
	}
}
