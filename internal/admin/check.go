package admin

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/reefkv/reef/internal/slot"
)

// showNodes prints every node's block (clusterManagerShowNodes).
func (m *Manager) showNodes() {
	for _, n := range m.Nodes {
		m.printf("%s\n", n.info(0))
	}
}

// ShowClusterInfo prints the info summary (clusterManagerShowClusterInfo).
func (m *Manager) ShowClusterInfo() {
	masters, keys := 0, int64(0)
	for _, n := range m.Nodes {
		if n.IsReplica() {
			continue
		}
		v, err := n.Do("DBSIZE")
		if err != nil {
			continue
		}
		if v.IsError() {
			m.printReplyError(n, v.Text())
			continue
		}
		masters++
		keys += v.Int
		m.printf("%s (%.8s...) -> %d keys | %d slots | %d slaves.\n", n.Name(), n.ID, v.Int, n.SlotsCount, n.Replicas)
	}
	m.logOK("[OK] %d keys in %d masters.\n", keys, masters)
	m.printf("%.2f keys per slot on average.\n", float32(keys)/float32(slot.Count))
}

// Info is `--cluster info`.
func (m *Manager) Info(addr string) error {
	if !m.Load(addr) {
		return ErrFailed
	}
	m.ShowClusterInfo()
	return nil
}

// Check is `--cluster check`.
func (m *Manager) Check(addr string) error {
	if !m.Load(addr) {
		return ErrFailed
	}
	m.ShowClusterInfo()
	if !m.checkCluster(false, false) {
		return ErrFailed
	}
	return nil
}

// openSlots returns the open slots across masters, in ascending order.
func (m *Manager) openSlots() []int {
	set := map[int]bool{}
	for _, n := range m.Nodes {
		if n.IsReplica() {
			continue
		}
		for s := range n.Migrating {
			set[s] = true
		}
		for s := range n.Importing {
			set[s] = true
		}
	}
	var out []int
	for s := range set {
		out = append(out, s)
	}
	sort.Ints(out)
	return out
}

func joinInts(a []int) string {
	s := make([]string, len(a))
	for i, v := range a {
		s[i] = strconv.Itoa(v)
	}
	return strings.Join(s, ",")
}

func sortedKeys(mp map[int]string) []int {
	var out []int
	for s := range mp {
		out = append(out, s)
	}
	sort.Ints(out)
	return out
}

// coveredSlots returns which slots some loaded master owns.
func (m *Manager) coveredSlots() [slot.Count]bool {
	var cov [slot.Count]bool
	for _, n := range m.Nodes {
		for s := 0; s < slot.Count; s++ {
			if n.Slots[s] {
				cov[s] = true
			}
		}
	}
	return cov
}

// checkCluster is clusterManagerCheckCluster. fix enables the repairs.
func (m *Manager) checkCluster(quiet, fix bool) bool {
	m.errors = nil
	seed := m.Nodes[0]
	m.logInfo(">>> Performing Cluster Check (using node %s)\n", seed.Name())
	result := true
	if !quiet {
		m.showNodes()
	}
	if !m.isConfigConsistent() {
		m.onError("[ERR] Nodes don't agree about configuration!")
		result = false
	} else {
		m.logOK("[OK] All nodes agree about slots configuration.\n")
	}
	m.logInfo(">>> Check for open slots...\n")
	for _, n := range m.Nodes {
		if len(n.Migrating) > 0 {
			m.onError(fmt.Sprintf("[WARNING] Node %s has slots in migrating state %s.", n.Name(), joinInts(sortedKeys(n.Migrating))))
		}
		if len(n.Importing) > 0 {
			m.onError(fmt.Sprintf("[WARNING] Node %s has slots in importing state %s.", n.Name(), joinInts(sortedKeys(n.Importing))))
		}
	}
	open := m.openSlots()
	if len(open) > 0 {
		m.onError(fmt.Sprintf("[WARNING] The following slots are open: %s.", joinInts(open)))
		result = false
		if fix {
			if !m.fixOpenSlotsGuard() {
				return false
			}
			for _, s := range open {
				if !m.fixOpenSlot(s) {
					return false
				}
			}
			result = true
		}
	}
	m.logInfo(">>> Check slots coverage...\n")
	cov := m.coveredSlots()
	n := 0
	for _, c := range cov {
		if c {
			n++
		}
	}
	if n == slot.Count {
		m.logOK("[OK] All %d slots covered.\n", slot.Count)
	} else {
		m.onError(fmt.Sprintf("[ERR] Not all %d slots are covered by nodes.\n", slot.Count))
		result = false
		if fix {
			if !m.fixCoverageGuard() {
				return false
			}
			if m.fixSlotsCoverage(cov) {
				result = true
			}
		}
	}
	if m.Opts.SearchMultipleOwners {
		m.logInfo(">>> Check for multiple slot owners...\n")
		found := false
		for s := 0; s < slot.Count; s++ {
			owners := m.slotOwners(s)
			if len(owners) > 1 {
				found = true
				m.onError(fmt.Sprintf("[WARNING] Slot %d has %d owners:", s, len(owners)))
				for _, o := range owners {
					m.printf("    %s\n", o.Name())
				}
				if fix {
					if !m.fixMultipleSlotOwners(s, owners) {
						m.logErr("Failed to fix multiple owners for slot %d\n", s)
						return false
					}
				}
				if !fix {
					result = false
				}
			}
		}
		if !found {
			m.logOK("[OK] No multiple owners found.\n")
		}
	}
	return result
}

// slotOwners lists masters that own s or hold keys in it.
func (m *Manager) slotOwners(s int) []*Node {
	var out []*Node
	for _, n := range m.masters() {
		if n.Slots[s] {
			out = append(out, n)
			continue
		}
		v, err := n.Do("CLUSTER", "COUNTKEYSINSLOT", strconv.Itoa(s))
		if err == nil && !v.IsError() && v.Int > 0 {
			out = append(out, n)
		}
	}
	return out
}
