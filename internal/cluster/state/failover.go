package state

import (
	"github.com/reefkv/reef/internal/cluster/msg"
	"github.com/reefkv/reef/internal/slot"
)

// Role behaviour. A master votes and serves manual failover requests; a
// replica counts votes, runs elections and migrates to orphaned masters.

func (m *Machine) tickMaster() { m.mfSendPausedOffset() }

func (m *Machine) stepMaster(sender *node, p *Packet) {
	switch p.Msg.Type {
	case msg.TypeFailoverAuthRequest:
		m.voteIfNeeded(sender, p.Msg)
	case msg.TypeMFStart:
		if sender.master != m.myself {
			return
		}
		m.resetManualFailover()
		m.mfEnd = m.now + MFTimeout
		m.mfReplica = sender
		// The pause is asked for now; the PING carrying my offset with the
		// PAUSED flag leaves once the server reports every write before
		// the pause propagated (ReplInfo.WritesPaused, see Wake): Reef
		// runs commands in parallel, so the offset at this instant may
		// still miss writes in flight.
		m.repl.WritesPaused = false
		m.mfPausedSent = false
		m.event(PauseWrites{Until: m.now + MFTimeout*MFPauseMult})
		m.logf(LevelWarning, "Manual failover requested by replica %s.", sender.id)
	}
}

// mfSendPausedOffset sends my replica the PING with the PAUSED flag and my
// final offset as soon as the server reports the writes paused.
func (m *Machine) mfSendPausedOffset() {
	me := m.myself
	if !me.isMaster() || m.mfEnd == 0 || m.mfReplica == nil || m.mfPausedSent || !m.repl.WritesPaused {
		return
	}
	m.mfPausedSent = true
	m.sendPing(m.mfReplica, 0, msg.TypePing, nil)
}

func (m *Machine) tickReplica() {
	m.tellMaster()
	m.handleManualFailover()
	m.replicaFailover()
}

func (m *Machine) stepReplica(sender *node, p *Packet) {
	switch p.Msg.Type {
	case msg.TypeFailoverAuthAck:
		if sender.isMaster() && sender.numSlots > 0 && p.Msg.CurrentEpoch >= m.authEpoch {
			m.authCount++
			m.todo |= todoHandleFailover
		}
	case msg.TypeFailoverAuthRequest:
		// Replicas do not vote.
	}
}

// voteIfNeeded is clusterSendFailoverAuthIfNeeded: grant my vote for this
// epoch to a replica of a failed master, persisting lastVoteEpoch before
// the ACK leaves (the ACK is in the same Ready as the fsynced Persist).
func (m *Machine) voteIfNeeded(n *node, req *msg.Message) {
	me := m.myself
	if me.isReplica() || me.numSlots == 0 {
		return
	}
	master := n.master
	reqEpoch, reqConfigEpoch := req.CurrentEpoch, req.ConfigEpoch
	force := req.MFlags[0]&msg.MFlagForceAck != 0
	if reqEpoch < m.currentEpoch {
		m.logf(LevelWarning, "Failover auth denied to %s: reqEpoch (%d) < curEpoch(%d)", n.id, reqEpoch, m.currentEpoch)
		return
	}
	if m.lastVoteEpoch == m.currentEpoch {
		m.logf(LevelWarning, "Failover auth denied to %s: already voted for epoch %d", n.id, m.currentEpoch)
		return
	}
	if n.isMaster() || master == nil || (!master.failed() && !force) {
		switch {
		case n.isMaster():
			m.logf(LevelWarning, "Failover auth denied to %s: it is a master node", n.id)
		case master == nil:
			m.logf(LevelWarning, "Failover auth denied to %s: I don't know its master", n.id)
		default:
			m.logf(LevelWarning, "Failover auth denied to %s: its master is up", n.id)
		}
		return
	}
	if wait := m.cfg.NodeTimeout * 2; m.now-master.votedTime < wait {
		m.logf(LevelWarning, "Failover auth denied to %s: can't vote about this master before %d milliseconds",
			n.id, wait-(m.now-master.votedTime))
		return
	}
	for j := 0; j < slot.Count; j++ {
		if !req.MySlots.Has(j) {
			continue
		}
		owner := m.slots[j]
		if owner == nil || owner.configEpoch <= reqConfigEpoch {
			continue
		}
		m.logf(LevelWarning, "Failover auth denied to %s: slot %d epoch (%d) > reqEpoch (%d)", n.id, j, owner.configEpoch, reqConfigEpoch)
		return
	}
	m.lastVoteEpoch = m.currentEpoch
	master.votedTime = m.now
	m.saveConfig(true)
	m.send(n, m.header(msg.TypeFailoverAuthAck))
	m.logf(LevelWarning, "Failover auth granted to %s for epoch %d", n.id, m.currentEpoch)
}

// replicaRank counts sibling replicas (able to fail over) with a larger
// replication offset than mine, or the same offset and a smaller node ID.
// Redis counts only larger offsets, so replicas with equal offsets share a
// rank and only the random delay keeps them apart; breaking the tie by ID
// gives every replica its own rank (when they agree on the offsets), so
// the random delay can be short without two replicas splitting the votes
// of one epoch.
func (m *Machine) replicaRank() int {
	me := m.myself
	if me.master == nil {
		return 0
	}
	rank := 0
	for _, r := range me.master.replicas {
		if r == me || r.cantFailover() {
			continue
		}
		if r.replOffset > m.repl.Offset || (r.replOffset == m.repl.Offset && string(r.id[:]) < string(me.id[:])) {
			rank++
		}
	}
	return rank
}

var cantFailoverMsgs = [...]string{
	cantDataAge:      "Disconnected from master for longer than allowed. Please check the 'cluster-replica-validity-factor' configuration option.",
	cantWaitingDelay: "Waiting the delay before I can start a new failover.",
	cantExpired:      "Failover attempt expired.",
	cantWaitingVotes: "Waiting for votes, but majority still not reached.",
}

func (m *Machine) logCantFailover(reason int) {
	const relog = CantFailoverRelog
	if reason == m.cantReason && m.now-m.lastLogTime < relog {
		return
	}
	m.cantReason = reason
	me := m.myself
	// Stay quiet right after the master failed: it is normal not to be able
	// to fail over yet.
	if me.master != nil && me.master.failed() && m.now-me.master.failTime < m.cfg.NodeTimeout+5000 {
		return
	}
	m.lastLogTime = m.now
	m.logf(LevelWarning, "Currently unable to failover: %s", cantFailoverMsgs[reason])
}

// electionDelays returns the parts of the election delay: a fixed delay
// that lets the FAIL reach every voter, a random one that keeps replicas
// with the same offset apart, and the delay per rank that lets the replica
// with the best offset ask first. Redis uses 500, 500 and 1000 ms whatever
// the node timeout; Reef scales them with it as Valkey does (fixed =
// node-timeout/30, at most 500 ms), so a cluster with a short node timeout
// does not spend most of its failover waiting: at node-timeout 15000 and
// above the delays are Redis's. None of them is needed for safety (one
// vote per master per epoch and the configEpoch rule are); see
// docs/FAILOVER.md.
func (m *Machine) electionDelays() (fixed, random, step int64) {
	fixed = m.cfg.NodeTimeout / 30
	if fixed > 500 {
		fixed = 500
	}
	if fixed < 20 {
		fixed = 20
	}
	// The step is what lets the better replica's votes arrive first;
	// node-timeout/10 (200 ms at node-timeout 2000) was short enough for
	// a loaded voter to step the lagging replica's request first (the
	// lagging one then won; the best replica's election time is
	// unchanged by the step).
	step = m.cfg.NodeTimeout / 4
	if step < 500 {
		step = 500
	}
	if step > 1000 {
		step = 1000
	}
	return fixed, fixed, step
}

// replicaFailover is clusterHandleSlaveFailover.
func (m *Machine) replicaFailover() {
	me := m.myself
	quorum := m.size/2 + 1
	manual := m.mfEnd != 0 && m.mfCanStart
	authTimeout := m.cfg.NodeTimeout * 2
	if authTimeout < 2000 {
		authTimeout = 2000
	}
	authRetry := authTimeout * 2
	if me.isMaster() || me.master == nil || (!me.master.failed() && !manual) ||
		(m.cfg.ReplicaNoFailover && !manual) || me.master.numSlots == 0 {
		m.cantReason = cantNone
		return
	}
	var dataAge int64
	if m.repl.LinkUp {
		dataAge = m.now - m.repl.LastInteraction
	} else {
		dataAge = m.now - m.repl.DownSince
	}
	if dataAge > m.cfg.NodeTimeout {
		dataAge -= m.cfg.NodeTimeout
	}
	if f := m.cfg.ReplicaValidityFactor; f != 0 && dataAge > m.cfg.ReplPingReplicaPeriod*1000+m.cfg.NodeTimeout*f && !manual {
		m.logCantFailover(cantDataAge)
		return
	}
	fixed, random, step := m.electionDelays()
	if m.now-m.authTime > authRetry {
		m.authTime = m.now + fixed + int64(m.rng.IntN(int(random)))
		m.authCount = 0
		m.authSent = false
		m.authRank = m.replicaRank()
		m.authTime += int64(m.authRank) * step
		if m.mfEnd != 0 {
			m.authTime = m.now
			m.authRank = 0
			m.todo |= todoHandleFailover
		}
		m.logf(LevelWarning, "Start of election delayed for %d milliseconds (rank #%d, offset %d).",
			m.authTime-m.now, m.authRank, m.repl.Offset)
		m.broadcastPong(true)
		return
	}
	if !m.authSent && m.mfEnd == 0 {
		if r := m.replicaRank(); r > m.authRank {
			added := int64(r-m.authRank) * step
			m.authTime += added
			m.authRank = r
			m.logf(LevelWarning, "Replica rank updated to #%d, added %d milliseconds of delay.", r, added)
		}
	}
	if m.now < m.authTime {
		m.logCantFailover(cantWaitingDelay)
		return
	}
	if m.now-m.authTime > authTimeout {
		m.logCantFailover(cantExpired)
		return
	}
	if !m.authSent {
		m.currentEpoch++
		m.authEpoch = m.currentEpoch
		m.logf(LevelWarning, "Starting a failover election for epoch %d.", m.currentEpoch)
		h := m.header(msg.TypeFailoverAuthRequest)
		if m.mfEnd != 0 {
			h.MFlags[0] |= msg.MFlagForceAck
		}
		m.broadcast(h)
		m.authSent = true
		m.saveConfig(true)
		m.todo |= todoUpdateState
		return
	}
	if m.authCount >= quorum {
		m.logf(LevelWarning, "Failover election won: I'm the new master.")
		if me.configEpoch < m.authEpoch {
			me.configEpoch = m.authEpoch
			m.logf(LevelWarning, "configEpoch set to %d after successful failover", me.configEpoch)
		}
		m.replaceMyMaster()
		return
	}
	m.logCantFailover(cantWaitingVotes)
}

// replaceMyMaster is clusterFailoverReplaceYourMaster: take the master's
// slots, become master, tell everybody.
func (m *Machine) replaceMyMaster() {
	me := m.myself
	old := me.master
	if me.isMaster() || old == nil {
		return
	}
	m.setNodeAsMaster(me)
	m.event(BecomeMaster{Failover: true})
	for j := 0; j < slot.Count; j++ {
		if old.slots.Has(j) && m.slots[j] == old {
			m.delSlot(j)
			m.addSlot(me, j)
		}
	}
	m.updateState()
	m.saveConfig(true)
	m.broadcastPong(false)
	m.resetManualFailover()
	m.version++
}

// Manual failover.

func (m *Machine) resetManualFailover() {
	if m.mfReplica != nil || (m.myself.isMaster() && m.mfEnd != 0) {
		m.event(PauseWrites{Until: 0})
	}
	m.mfEnd = 0
	m.mfCanStart = false
	m.mfReplica = nil
	m.mfPausedSent = false
	m.mfMasterOff = -1
}

func (m *Machine) manualFailoverCheckTimeout() {
	if m.mfEnd != 0 && m.mfEnd < m.now {
		m.logf(LevelWarning, "Manual failover timed out.")
		m.resetManualFailover()
	}
}

// handleManualFailover starts the election once the replica processed the
// paused master's whole stream.
func (m *Machine) handleManualFailover() {
	if m.mfEnd == 0 || m.mfCanStart || m.mfMasterOff == -1 {
		return
	}
	// Redis waits for equality; the master's offset is final once its
	// writes are paused, so reaching it is what matters (a keyless entry
	// such as a PING made after it would only make equality unreachable).
	if m.repl.Offset >= m.mfMasterOff {
		m.mfCanStart = true
		m.logf(LevelWarning, "All master replication stream processed, manual failover can start.")
		m.todo |= todoHandleFailover
	}
}

// replicaMigration is clusterHandleSlaveMigration.
func (m *Machine) replicaMigration(maxReplicas int) {
	me := m.myself
	if !m.state || me.master == nil {
		return
	}
	if m.countNonFailingReplicas(me.master) <= m.cfg.MigrationBarrier {
		return
	}
	candidate := me
	var target *node
	for _, n := range m.nodes {
		ok := 0
		orphaned := true
		if n.isReplica() || n.failed() || !n.has(msg.FlagMigrateTo) {
			orphaned = false
		}
		if n.isMaster() {
			ok = m.countNonFailingReplicas(n)
		}
		if ok > 0 {
			orphaned = false
		}
		if orphaned {
			if target == nil && n.numSlots > 0 {
				target = n
			}
			if n.orphanTime == 0 {
				n.orphanTime = m.now
			}
		} else {
			n.orphanTime = 0
		}
		if ok == maxReplicas {
			for _, r := range n.replicas {
				if string(r.id[:]) < string(candidate.id[:]) {
					candidate = r
				}
			}
		}
	}
	if target != nil && candidate == me && m.now-target.orphanTime > SlaveMigrationDelay {
		m.logf(LevelWarning, "Migrating to orphaned master %s", target.id)
		m.setMyMaster(target)
		m.todo |= todoSaveConfig | todoUpdateState
	}
}
