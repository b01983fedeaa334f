package state

import (
	"strconv"
	"strings"
)

// Atomic slot migration's handoff (docs/MIGRATION.md). The data moves
// outside the cluster core; when the target holds an exact copy of the
// slots and the source has paused writes to them, ownership changes in two
// steps: the target takes the slots with a bumped configEpoch (TakeSlots),
// then the source binds them to the target (GiveSlots). Every other node
// learns from the target's PONG, whose epoch wins over the source's.

// TakeSlots makes myself the owner of slots served by from (the target's
// side of the handoff). The slots are bound to me and their open states
// cleared; my configEpoch is bumped without consensus when it is not
// already the largest known, exactly as SETSLOT NODE does on an importing
// node; nodes.conf is fsynced before the reply, and a PONG is broadcast so
// the cluster learns at once. Slots already mine are accepted (a retried
// handoff). It fails without changing anything when I am not a master,
// from is unknown, or a slot is served by a third node.
func (m *Machine) TakeSlots(now int64, from NodeID, slots []int) Reply {
	m.now = now
	me := m.myself
	if !me.isMaster() {
		return Error("ERR Please use SETSLOT only with masters.")
	}
	src := m.byID[from]
	if src == nil {
		return errf("I don't know about node %s", from)
	}
	for _, j := range slots {
		if j < 0 || j >= len(m.slots) {
			return errInvalidSlot
		}
		if o := m.slots[j]; o != src && o != me {
			owner := "nobody"
			if o != nil {
				owner = o.id.String()
			}
			return errf("Slot %d is served by %s, not by %s", j, owner, from)
		}
	}
	for _, j := range slots {
		delete(m.importing, j)
		delete(m.migrating, j)
		if m.slots[j] == me {
			continue
		}
		m.delSlot(j)
		m.addSlot(me, j)
	}
	if m.bumpEpochWithoutConsensus() {
		m.logf(LevelWarning, "configEpoch updated after importing %d slots from %s", len(slots), from)
	}
	m.saveConfig(true)
	m.broadcastPong(false)
	m.version++
	m.todo |= todoUpdateState
	return Status("OK " + strconv.FormatUint(me.configEpoch, 10))
}

// GiveSlots binds my slots to the node to (the source's side of the
// handoff, once the target owns them): SETSLOT NODE without the keys check.
// epoch is the target's new configEpoch when known (0 otherwise). The keys
// of those slots are deleted (a DeleteKeysInSlots event, which the server
// propagates to replicas), and when I serve no slot any more and
// cluster-allow-replica-migration is yes, I become a replica of to, as
// SETSLOT NODE does. In that case every other node first gets an UPDATE
// about the target: a node that would see me turn replica before the
// target's PONG reached it would otherwise drop my former slots and leave
// them unserved until the target's next ping. Slots not mine are skipped.
func (m *Machine) GiveSlots(now int64, to NodeID, slots []int, epoch uint64) Reply {
	m.now = now
	me := m.myself
	if !me.isMaster() {
		return Error("ERR Please use SETSLOT only with masters.")
	}
	dst := m.byID[to]
	if dst == nil {
		return errf("I don't know about node %s", to)
	}
	if dst.isReplica() {
		return Error("ERR Target node is not a master")
	}
	var lost []int
	for _, j := range slots {
		if j < 0 || j >= len(m.slots) {
			return errInvalidSlot
		}
	}
	for _, j := range slots {
		delete(m.importing, j)
		delete(m.migrating, j)
		if m.slots[j] != me {
			continue
		}
		m.delSlot(j)
		m.addSlot(dst, j)
		lost = append(lost, j)
	}
	if len(lost) > 0 {
		m.event(DeleteKeysInSlots{Slots: lost})
	}
	if epoch > dst.configEpoch {
		dst.configEpoch = epoch
		if epoch > m.currentEpoch {
			m.currentEpoch = epoch
		}
	}
	if me.numSlots == 0 && len(lost) > 0 && m.cfg.AllowReplicaMigration {
		for _, n := range m.nodes {
			if n != me && n != dst && !n.inHandshake() {
				m.sendUpdate(n, dst)
			}
		}
		m.logf(LevelWarning, "Configuration change detected. Reconfiguring myself as a replica of %s", dst.id)
		m.setMyMaster(dst)
	}
	// No fsync: should this node restart with the old file, its claim on
	// the slots carries an older configEpoch than the target's and loses.
	m.saveConfig(false)
	m.version++
	m.todo |= todoUpdateState
	return Status("OK")
}

// replicaSetSlot applies a CLUSTER SETSLOT my master propagated: a replica
// records its master's open slots without the owner checks, so that after
// a failover it carries the migration on (or lets fix finish it) instead of
// stranding the slot; NODE rebinds the slot as the master did.
func (m *Machine) replicaSetSlot(args []string) Reply {
	j, ok := parseSlot(args[1])
	if !ok {
		return errInvalidSlot
	}
	action := strings.ToLower(args[2])
	var n *node
	if len(args) == 4 {
		if n = m.lookup(args[3]); n == nil {
			return errf("I don't know about node %s", args[3])
		}
	}
	switch {
	case action == "migrating" && n != nil:
		m.migrating[j] = n
	case action == "importing" && n != nil:
		m.importing[j] = n
	case action == "stable" && len(args) == 3:
		delete(m.importing, j)
		delete(m.migrating, j)
	case action == "node" && n != nil:
		delete(m.importing, j)
		delete(m.migrating, j)
		if m.slots[j] != n {
			m.delSlot(j)
			m.addSlot(n, j)
		}
	default:
		return Error("ERR Invalid CLUSTER SETSLOT action or number of arguments. Try CLUSTER HELP")
	}
	m.version++
	m.todo |= todoSaveConfig | todoUpdateState
	return Status("OK")
}

// followOpenSlots points the open slots that named old (a master that just
// became a replica of successor after a failover) at successor.
func (m *Machine) followOpenSlots(old, successor *node) {
	for j, t := range m.migrating {
		if t == old {
			m.migrating[j] = successor
			m.version++
		}
	}
	for j, t := range m.importing {
		if t == old {
			m.importing[j] = successor
			m.version++
		}
	}
}
