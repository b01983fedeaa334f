package state

import (
	"strconv"

	"github.com/reefkv/reef/internal/cluster/msg"
	"github.com/reefkv/reef/internal/slot"
)

// addSlot binds slot j to n; false if the slot already has an owner.
func (m *Machine) addSlot(n *node, j int) bool {
	if m.slots[j] != nil {
		return false
	}
	n.slots.Add(j)
	n.numSlots++
	m.slots[j] = n
	m.version++
	return true
}

// delSlot unbinds slot j. When myself served it (as its owner, a replica of
// its owner, or a sibling), shard-channel subscribers lose it.
func (m *Machine) delSlot(j int) bool {
	n := m.slots[j]
	if n == nil {
		return false
	}
	if m.servesMySlots(n) {
		m.lost.Add(j)
	}
	n.slots.Remove(j)
	n.numSlots--
	m.slots[j] = nil
	m.notClaiming.Remove(j)
	m.version++
	return true
}

// servesMySlots reports whether myself belongs to the shard of owner n.
func (m *Machine) servesMySlots(n *node) bool {
	shard := n
	if n.master != nil {
		shard = n.master
	}
	me := m.myself
	return me == shard || me.master == shard
}

func (m *Machine) delNodeSlots(n *node) int {
	deleted := 0
	for j := 0; j < slot.Count; j++ {
		if n.slots.Has(j) && m.slots[j] == n {
			m.delSlot(j)
			deleted++
		}
	}
	return deleted
}

func (m *Machine) addReplica(master, r *node) {
	for _, x := range master.replicas {
		if x == r {
			return
		}
	}
	master.replicas = append(master.replicas, r)
	master.flags |= msg.FlagMigrateTo
}

func (m *Machine) removeReplica(master, r *node) {
	for i, x := range master.replicas {
		if x == r {
			master.replicas = append(master.replicas[:i:i], master.replicas[i+1:]...)
			if len(master.replicas) == 0 {
				master.flags &^= msg.FlagMigrateTo
			}
			return
		}
	}
}

func (m *Machine) countNonFailingReplicas(n *node) int {
	c := 0
	for _, r := range n.replicas {
		if !r.failed() {
			c++
		}
	}
	return c
}

// setNodeAsMaster turns n into a master in my table (clusterSetNodeAsMaster).
func (m *Machine) setNodeAsMaster(n *node) {
	if n.isMaster() {
		return
	}
	if n.master != nil {
		m.removeReplica(n.master, n)
		if n != m.myself {
			n.flags |= msg.FlagMigrateTo
		}
	}
	n.flags &^= msg.FlagSlave
	n.flags |= msg.FlagMaster
	n.master = nil
	if n == m.myself {
		m.becomeMaster()
		m.toldMaster = ""
	}
	m.version++
	m.todo |= todoSaveConfig | todoUpdateState
}

// setMyMaster makes myself a replica of n (clusterSetMaster).
func (m *Machine) setMyMaster(n *node) {
	me := m.myself
	if me.isMaster() {
		me.flags &^= msg.FlagMaster | msg.FlagMigrateTo
		me.flags |= msg.FlagSlave
		m.closeAllSlots()
	} else if me.master != nil {
		m.removeReplica(me.master, me)
	}
	me.master = n
	m.addReplica(n, me)
	m.becomeReplica()
	m.tellMaster()
	m.resetManualFailover()
	m.version++
}

// tellMaster emits BecomeReplica when the server does not replicate my
// current master's address yet: after a role change, an address change, or
// a start from nodes.conf as a replica (Redis's cron does the same check).
func (m *Machine) tellMaster() {
	me := m.myself
	if !me.isReplica() || me.master == nil || me.master.ip == "" || me.master.has(msg.FlagNoAddr) {
		return
	}
	target := me.master.id.String() + " " + me.master.ip + ":" + strconv.Itoa(int(me.master.port))
	if target == m.toldMaster {
		return
	}
	m.toldMaster = target
	m.event(BecomeReplica{Master: me.master.id, IP: me.master.ip, Port: int(me.master.port)})
}

func (m *Machine) closeAllSlots() {
	if len(m.migrating) > 0 || len(m.importing) > 0 {
		m.version++
	}
	clear(m.migrating)
	clear(m.importing)
}

// delNode removes n from the table (clusterDelNode + freeClusterNode).
func (m *Machine) delNode(n *node) {
	for j, t := range m.importing {
		if t == n {
			delete(m.importing, j)
		}
	}
	for j, t := range m.migrating {
		if t == n {
			delete(m.migrating, j)
		}
	}
	for j := 0; j < slot.Count; j++ {
		if m.slots[j] == n {
			m.delSlot(j)
		}
	}
	for _, o := range m.nodes {
		if o != n {
			m.delFailureReport(o, n)
		}
	}
	if n.isMaster() {
		for _, r := range n.replicas {
			r.master = nil
		}
	}
	if n.master != nil {
		m.removeReplica(n.master, n)
	}
	m.freeLink(n)
	if n.inbound != 0 {
		m.out.Ops = append(m.out.Ops, Op{Kind: OpCloseInbound, Link: n.inbound})
		n.inbound = 0
	}
	if m.mfReplica == n {
		m.mfReplica = nil
	}
	for i, o := range m.nodes {
		if o == n {
			m.nodes = append(m.nodes[:i:i], m.nodes[i+1:]...)
			break
		}
	}
	delete(m.byID, n.id)
	m.version++
}

func (m *Machine) renameNode(n *node, id NodeID) {
	m.logf(LevelDebug, "Renaming node %s into %s", n.id, id)
	delete(m.byID, n.id)
	n.id = id
	m.byID[id] = n
	m.version++
}

// freeLink closes my outbound link to n, if any.
func (m *Machine) freeLink(n *node) {
	if n.link == nil {
		return
	}
	m.out.Ops = append(m.out.Ops, Op{Kind: OpClose, Node: n.id, Gen: n.link.gen})
	delete(m.links, n.link.gen)
	n.link = nil
	m.version++
}

// createLink opens an outbound link to n and queues the MEET or PING that
// Redis sends on connect.
func (m *Machine) createLink(n *node) {
	m.linkGen++
	n.link = &outLink{gen: m.linkGen, ctime: m.now}
	m.links[m.linkGen] = n
	m.out.Ops = append(m.out.Ops, Op{Kind: OpDial, Node: n.id, Gen: n.link.gen, IP: n.ip, Port: int(n.cport)})
	oldPing := n.pingSent
	typ := msg.TypePing
	if n.has(msg.FlagMeet) {
		typ = msg.TypeMeet
	}
	m.sendPing(n, 0, typ, nil)
	if oldPing != 0 {
		n.pingSent = oldPing
	}
	m.version++
}

// Failure reports.

func (m *Machine) addFailureReport(n, reporter *node) bool {
	for i := range n.reports {
		if n.reports[i].reporter == reporter {
			n.reports[i].time = m.now
			return false
		}
	}
	n.reports = append(n.reports, failReport{reporter: reporter, time: m.now})
	return true
}

func (m *Machine) cleanupFailureReports(n *node) {
	maxAge := m.cfg.NodeTimeout * FailReportValidityMult
	kept := n.reports[:0]
	for _, r := range n.reports {
		if m.now-r.time <= maxAge {
			kept = append(kept, r)
		}
	}
	for i := len(kept); i < len(n.reports); i++ {
		n.reports[i] = failReport{}
	}
	n.reports = kept
}

func (m *Machine) delFailureReport(n, reporter *node) bool {
	for i, r := range n.reports {
		if r.reporter == reporter {
			n.reports = append(n.reports[:i:i], n.reports[i+1:]...)
			m.cleanupFailureReports(n)
			return true
		}
	}
	return false
}

func (m *Machine) failureReportsCount(n *node) int {
	m.cleanupFailureReports(n)
	return len(n.reports)
}

// Blacklist (FORGET).

func (m *Machine) blacklistCleanup() {
	for id, exp := range m.blacklist {
		if exp < m.now {
			delete(m.blacklist, id)
		}
	}
}

func (m *Machine) blacklistAdd(n *node) {
	m.blacklistCleanup()
	m.blacklist[n.id] = m.now + BlacklistTTL
}

func (m *Machine) blacklisted(id NodeID) bool {
	m.blacklistCleanup()
	_, ok := m.blacklist[id]
	return ok
}

// maxEpoch is the largest configEpoch known, or currentEpoch if larger.
func (m *Machine) maxEpoch() uint64 {
	max := m.currentEpoch
	for _, n := range m.nodes {
		if n.configEpoch > max {
			max = n.configEpoch
		}
	}
	return max
}

// bumpEpochWithoutConsensus gives myself a new configEpoch when it is 0 or
// not the largest known (clusterBumpConfigEpochWithoutConsensus).
func (m *Machine) bumpEpochWithoutConsensus() bool {
	max := m.maxEpoch()
	me := m.myself
	if me.configEpoch == 0 || me.configEpoch != max {
		m.currentEpoch++
		me.configEpoch = m.currentEpoch
		m.saveConfig(true)
		m.logf(LevelWarning, "New configEpoch set to %d", me.configEpoch)
		m.version++
		return true
	}
	return false
}

// myEpoch is cluster_my_epoch: my configEpoch, or my master's.
func (m *Machine) myEpoch() uint64 {
	if m.myself.isReplica() && m.myself.master != nil {
		return m.myself.master.configEpoch
	}
	return m.myself.configEpoch
}

func (m *Machine) randomNode() *node {
	return m.nodes[m.rng.IntN(len(m.nodes))]
}
