package admin

import (
	"math/rand/v2"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/reefkv/reef/internal/slot"
)

// Fix is `--cluster fix`: check with repairs.
func (m *Manager) Fix(addr string) error {
	m.fixing = true
	if !m.Load(addr) {
		return ErrFailed
	}
	m.ShowClusterInfo()
	if !m.checkClusterFix() {
		return ErrFailed
	}
	return nil
}

// exit is os.Exit, replaceable so that tests of the package do not exit.
var exit = os.Exit

const unreachableWarn = "*** Fixing %s with %d unreachable masters is dangerous: redis-cli will assume that slots about masters that are not reachable are not covered, and will try to reassign them to the reachable nodes. This can cause data loss and is rarely what you want to do. If you really want to proceed use the --cluster-fix-with-unreachable-masters option.\n"

func (m *Manager) fixOpenSlotsGuard() bool {
	if m.unreachableMasters > 0 && !m.Opts.FixWithUnreachable {
		m.logWarn(unreachableWarn, "open slots", m.unreachableMasters)
		exit(1)
		return false
	}
	return true
}

func (m *Manager) fixCoverageGuard() bool {
	if m.unreachableMasters > 0 && !m.Opts.FixWithUnreachable {
		m.logWarn(unreachableWarn, "slots coverage", m.unreachableMasters)
		exit(1)
		return false
	}
	return true
}

// checkClusterFix runs checkCluster with repairs and returns redis-cli's result.
func (m *Manager) checkClusterFix() bool { return m.checkCluster(false, true) }

func (m *Manager) countKeysInSlot(n *Node, s int) (int64, bool) {
	v, err := n.Do("CLUSTER", "COUNTKEYSINSLOT", strconv.Itoa(s))
	if err != nil {
		return 0, false
	}
	if v.IsError() {
		m.printReplyError(n, v.Text())
		return 0, false
	}
	return v.Int, true
}

// nodeWithMostKeysInSlot is clusterManagerGetNodeWithMostKeysInSlot.
func (m *Manager) nodeWithMostKeysInSlot(nodes []*Node, s int) *Node {
	var best *Node
	var most int64
	for _, n := range nodes {
		if n.IsReplica() {
			continue
		}
		c, ok := m.countKeysInSlot(n, s)
		if !ok {
			return nil
		}
		if c > most || best == nil {
			most = c
			best = n
		}
	}
	return best
}

// setSlotOwner is clusterManagerSetSlotOwner: MULTI, DELSLOTS (unassigned
// ignored), ADDSLOTS, [SETSLOT STABLE], BUMPEPOCH, EXEC.
func (m *Manager) setSlotOwner(n *Node, s int, clear bool) bool {
	c, err := n.Conn()
	if err != nil {
		return false
	}
	ss := strconv.Itoa(s)
	cmds := [][]string{{"MULTI"}, {"CLUSTER", "DELSLOTS", ss}, {"CLUSTER", "ADDSLOTS", ss}}
	if clear {
		cmds = append(cmds, []string{"CLUSTER", "SETSLOT", ss, "STABLE"})
	}
	cmds = append(cmds, []string{"CLUSTER", "BUMPEPOCH"}, []string{"EXEC"})
	rs, err := c.Pipeline(cmds)
	if err != nil {
		return false
	}
	exec := rs[len(rs)-1]
	if exec.IsError() {
		m.printReplyError(n, exec.Text())
		return false
	}
	for i, r := range exec.Elems {
		if r.IsError() {
			// DELSLOTS of an unassigned slot is expected.
			if i == 0 && strings.Contains(r.Text(), "already unassigned") {
				continue
			}
			m.printReplyError(n, r.Text())
			return false
		}
	}
	return true
}

func removeNode(l []*Node, n *Node) []*Node {
	out := l[:0:0]
	for _, x := range l {
		if x != n {
			out = append(out, x)
		}
	}
	return out
}

func names(l []*Node) string {
	s := make([]string, len(l))
	for i, n := range l {
		s[i] = n.Name()
	}
	return strings.Join(s, ",")
}

// fixOpenSlot is clusterManagerFixOpenSlot.
func (m *Manager) fixOpenSlot(s int) bool {
	m.logInfo(">>> Fixing open slot %d\n", s)
	var owners, migrating, importing []*Node
	var owner *Node
	for _, n := range m.masters() {
		if n.Slots[s] {
			owners = append(owners, n)
			continue
		}
		c, ok := m.countKeysInSlot(n, s)
		if !ok {
			return false
		}
		if c > 0 {
			m.logWarn("*** Found keys about slot %d in non-owner node %s!\n", s, n.Name())
			owners = append(owners, n)
		}
	}
	if len(owners) == 1 {
		owner = owners[0]
	}
	for _, n := range m.masters() {
		isMig, isImp := false, false
		if _, ok := n.Migrating[s]; ok {
			migrating = append(migrating, n)
			isMig = true
		} else if _, ok := n.Importing[s]; ok {
			importing = append(importing, n)
			isImp = true
		}
		if !isMig && !isImp && n != owner {
			c, ok := m.countKeysInSlot(n, s)
			if !ok {
				return false
			}
			if c > 0 {
				m.logWarn("*** Found keys about slot %d in node %s!\n", s, n.Name())
				importing = append(importing, n)
			}
		}
	}
	migStr, impStr := names(migrating), names(importing)
	if migStr != "" {
		m.printf("Set as migrating in: %s\n", migStr)
	}
	if impStr != "" {
		m.printf("Set as importing in: %s\n", impStr)
	}
	if owner == nil {
		m.logInfo(">>> No single clear owner for the slot, selecting an owner by # of keys...\n")
		owner = m.nodeWithMostKeysInSlot(m.Nodes, s)
		if owner == nil {
			m.logErr("[ERR] Can't select a slot owner. Impossible to fix.\n")
			return false
		}
		m.logWarn("*** Configuring %s as the slot owner\n", owner.Name())
		// The other owners are made importers before the chosen one claims
		// the slot with a new epoch; redis-cli does it after. A node that
		// hears of the claim while it still owns the slot deletes its keys
		// in it (Redis's dirty slots), and an importer does not: in
		// redis-cli's order, a PING arriving between the two steps lost the
		// keys this fix was about to move (likely with Reef's frequent PINGs).
		for _, n := range owners {
			if n == owner {
				continue
			}
			if !m.delSlot(n, s) {
				return false
			}
			if n.Slots[s] {
				n.Slots[s] = false
				n.SlotsCount--
			}
			if m.setSlot(n, owner, s, "node") != nil || m.setSlot(n, owner, s, "importing") != nil {
				return false
			}
			importing = append(removeNode(importing, n), n)
			migrating = removeNode(migrating, n)
		}
		if !m.clearSlotStatus(owner, s) || !m.setSlotOwner(owner, s, false) {
			return false
		}
		if !owner.Slots[s] {
			owner.Slots[s] = true
			owner.SlotsCount++
		}
		migrating = removeNode(migrating, owner)
		importing = removeNode(importing, owner)
	}
	opts := optVerbose
	switch {
	case len(migrating) == 1 && len(importing) == 1:
		src, dst := migrating[0], importing[0]
		m.logInfo(">>> Case 1: Moving slot %d from %s to %s\n", s, src.Name(), dst.Name())
		ok, _ := m.moveSlot(src, dst, s, opts|optUpdate)
		return ok
	case len(migrating) == 0 && len(importing) > 0:
		m.logInfo(">>> Case 2: Moving all the %d slot keys to its owner %s\n", s, owner.Name())
		for _, n := range importing {
			if n == owner {
				continue
			}
			if ok, _ := m.moveSlot(n, owner, s, opts|optCold); !ok {
				return false
			}
			m.logInfo(">>> Setting %d as STABLE in %s\n", s, n.Name())
			if !m.clearSlotStatus(n, s) {
				return false
			}
		}
		for _, n := range m.masters() {
			if n == owner {
				continue
			}
			if m.setSlot(n, owner, s, "NODE") != nil {
				return false
			}
		}
		return true
	case len(migrating) == 1 && len(importing) > 1:
		src := migrating[0]
		targetID := src.Migrating[s]
		var dst *Node
		for _, n := range importing {
			c, ok := m.countKeysInSlot(n, s)
			if !ok {
				return false
			}
			if c > 0 {
				return m.unhandledSlot(migStr, impStr, owner)
			}
			if n.ID == targetID {
				dst = n
			}
		}
		if dst != nil {
			m.logInfo(">>> Case 3: Moving slot %d from %s to %s and closing it on all the other importing nodes.\n", s, src.Name(), dst.Name())
			if ok, _ := m.moveSlot(src, dst, s, opts); !ok {
				return false
			}
			for _, n := range importing {
				if n != dst && !m.clearSlotStatus(n, s) {
					return false
				}
			}
			return true
		}
		m.logInfo(">>> Case 3: Closing slot %d on both migrating and importing nodes.\n", s)
		if !m.clearSlotStatus(src, s) {
			return false
		}
		for _, n := range importing {
			if !m.clearSlotStatus(n, s) {
				return false
			}
		}
		return true
	default:
		try := len(importing) == 0 && len(migrating) == 1
		if try {
			n := migrating[0]
			if owner == nil || owner != n {
				v, err := n.Do("CLUSTER", "GETKEYSINSLOT", strconv.Itoa(s), "10")
				if err != nil {
					return false
				}
				if v.IsError() {
					m.printReplyError(n, v.Text())
					return false
				}
				try = len(v.Elems) == 0
			}
		}
		if try {
			n := migrating[0]
			m.logInfo(">>> Case 4: Closing slot %d on %s\n", s, n.Name())
			return m.clearSlotStatus(n, s)
		}
		return m.unhandledSlot(migStr, impStr, owner)
	}
}

func (m *Manager) unhandledSlot(migStr, impStr string, owner *Node) bool {
	on := ""
	if owner != nil {
		on = owner.Name()
	}
	m.logErr("[ERR] Sorry, redis-cli can't fix this slot yet (work in progress). Slot is set as migrating in %s, as importing in %s, owner is %s\n", migStr, impStr, on)
	return false
}

// delSlot is clusterManagerDelSlot with the unassigned error ignored.
func (m *Manager) delSlot(n *Node, s int) bool {
	v, err := n.Do("CLUSTER", "DELSLOTS", strconv.Itoa(s))
	if err != nil {
		return false
	}
	if v.IsError() {
		served, err := m.slotServed(n, s)
		if err == nil && !served {
			return true
		}
		m.printReplyError(n, v.Text())
		return false
	}
	return true
}

// confirm is confirmWithYes; force prompts even with --cluster-yes.
func (m *Manager) confirm(msg string, force bool) bool {
	if !force && m.Opts.Yes {
		return true
	}
	m.printf("%s (type 'yes' to accept): ", msg)
	line, ok := m.in.readLine()
	return ok && strings.HasPrefix(line, "yes")
}

func slotList(slots []int) string {
	var n Node
	for _, s := range slots {
		if s >= 0 && s < slot.Count {
			n.Slots[s] = true
		}
	}
	return n.slotsString()
}

// fixSlotsCoverage is clusterManagerFixSlotsCoverage.
func (m *Manager) fixSlotsCoverage(cov [slot.Count]bool) bool {
	m.logInfo(">>> Fixing slots coverage...\n")
	holders := map[int][]*Node{}
	var none, single, multi []int
	for s := 0; s < slot.Count; s++ {
		if cov[s] {
			continue
		}
		var hs []*Node
		for _, n := range m.masters() {
			v, err := n.Do("CLUSTER", "GETKEYSINSLOT", strconv.Itoa(s), "1")
			if err != nil {
				return false
			}
			if v.IsError() {
				m.printReplyError(n, v.Text())
				return false
			}
			if len(v.Elems) > 0 {
				hs = append(hs, n)
			}
		}
		holders[s] = hs
		switch len(hs) {
		case 0:
			none = append(none, s)
		case 1:
			single = append(single, s)
		default:
			multi = append(multi, s)
		}
	}
	fixed := 0
	if len(none) > 0 {
		m.printf("The following uncovered slots have no keys across the cluster:\n")
		m.printf("%s\n", slotList(none))
		if m.confirm("Fix these slots by covering with a random node?", true) {
			ms := m.masters()
			for _, s := range none {
				n := ms[rand.IntN(len(ms))]
				m.logInfo(">>> Covering slot %d with %s\n", s, n.Name())
				if !m.setSlotOwner(n, s, false) {
					return false
				}
				n.Slots[s] = true
				n.SlotsCount++
				fixed++
			}
		}
	}
	if len(single) > 0 {
		m.printf("The following uncovered slots have keys in just one node:\n")
		m.printf("%s\n", slotList(single))
		if m.confirm("Fix these slots by covering with those nodes?", true) {
			for _, s := range single {
				n := holders[s][0]
				m.logInfo(">>> Covering slot %d with %s\n", s, n.Name())
				if !m.setSlotOwner(n, s, false) {
					return false
				}
				n.Slots[s] = true
				n.SlotsCount++
				fixed++
			}
		}
	}
	if len(multi) > 0 {
		m.printf("The following uncovered slots have keys in multiple nodes:\n")
		m.printf("%s\n", slotList(multi))
		if m.confirm("Fix these slots by moving keys into a single node?", true) {
			for _, s := range multi {
				target := m.nodeWithMostKeysInSlot(holders[s], s)
				if target == nil {
					return false
				}
				m.logInfo(">>> Covering slot %d moving keys to %s\n", s, target.Name())
				if !m.setSlotOwner(target, s, true) {
					return false
				}
				target.Slots[s] = true
				target.SlotsCount++
				for _, src := range holders[s] {
					if src == target {
						continue
					}
					if m.setSlot(src, target, s, "NODE") != nil || m.setSlot(src, target, s, "IMPORTING") != nil {
						return false
					}
					if ok, _ := m.moveSlot(src, target, s, optVerbose|optCold); !ok {
						return false
					}
					if !m.clearSlotStatus(src, s) {
						return false
					}
				}
				fixed++
			}
		}
	}
	return fixed > 0
}

// fixMultipleSlotOwners is clusterManagerFixMultipleSlotOwners.
func (m *Manager) fixMultipleSlotOwners(s int, owners []*Node) bool {
	m.logInfo(">>> Fixing multiple owners for slot %d...\n", s)
	owner := m.nodeWithMostKeysInSlot(owners, s)
	if owner == nil {
		return false
	}
	m.logInfo(">>> Setting slot %d owner: %s\n", s, owner.Name())
	if !m.setSlotOwner(owner, s, false) {
		return false
	}
	if !owner.Slots[s] {
		owner.Slots[s] = true
		owner.SlotsCount++
	}
	for _, n := range owners {
		if n == owner {
			continue
		}
		if !m.delSlot(n, s) {
			return false
		}
		if n.Slots[s] {
			n.Slots[s] = false
			n.SlotsCount--
		}
		c, ok := m.countKeysInSlot(n, s)
		if !ok {
			return false
		}
		if c > 0 {
			if ok, _ := m.moveSlot(n, owner, s, optVerbose|optCold); !ok {
				return false
			}
		}
		if m.setSlot(n, owner, s, "node") != nil {
			return false
		}
	}
	return true
}

var _ = sort.Ints
