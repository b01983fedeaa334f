package state

import (
	"strconv"

	"github.com/reefkv/reef/internal/cluster/msg"
	"github.com/reefkv/reef/internal/slot"
)

// NoOwner marks an unassigned slot in SlotMap.Owners.
const NoOwner = 0xFFFF

// SlotMap is an immutable snapshot of what the server's router needs per
// command: slot owners with their client addresses, open slots, the cluster
// state and my role. The driver publishes a new one after every change;
// readers never modify it.
type SlotMap struct {
	Version uint64
	OK      bool   // cluster_state:ok
	Me      uint16 // index of myself in Nodes
	Master  uint16 // index of my master in Nodes, NoOwner when I am a master or it is unknown
	Owners  [slot.Count]uint16
	Nodes   []MapNode
	// Open slots on this node: target (migrating) or source (importing)
	// node index.
	Migrating map[int]uint16
	Importing map[int]uint16
}

// MapNode is one node of a SlotMap.
type MapNode struct {
	ID       NodeID
	IP       string
	Port     int
	Hostname string
	Endpoint string // as cluster-preferred-endpoint-type says
	Master   bool
	Failed   bool
}

// Addr is the endpoint:port text used in -MOVED and -ASK.
func (n *MapNode) Addr() string { return n.Endpoint + ":" + strconv.Itoa(n.Port) }

// Owner returns the node serving slot s, or nil if it is unassigned.
func (s *SlotMap) Owner(slotNum int) *MapNode {
	i := s.Owners[slotNum]
	if i == NoOwner {
		return nil
	}
	return &s.Nodes[i]
}

// Mine reports whether this node serves slot s as its master.
func (s *SlotMap) Mine(slotNum int) bool { return s.Owners[slotNum] == s.Me }

// MasterServes reports whether my master serves slot s (READONLY replica reads).
func (s *SlotMap) MasterServes(slotNum int) bool {
	return s.Master != NoOwner && s.Owners[slotNum] == s.Master
}

// IsReplica reports whether this node is a replica.
func (s *SlotMap) IsReplica() bool { return !s.Nodes[s.Me].Master }

// MigratingTo returns the migration target of slot s, or nil.
func (s *SlotMap) MigratingTo(slotNum int) *MapNode {
	if i, ok := s.Migrating[slotNum]; ok {
		return &s.Nodes[i]
	}
	return nil
}

// ImportingFrom returns the import source of slot s, or nil.
func (s *SlotMap) ImportingFrom(slotNum int) *MapNode {
	if i, ok := s.Importing[slotNum]; ok {
		return &s.Nodes[i]
	}
	return nil
}

// Version returns a number that changes whenever the snapshot would.
func (m *Machine) Version() uint64 { return m.version }

// Snapshot builds the SlotMap for the current state.
func (m *Machine) Snapshot() *SlotMap {
	s := &SlotMap{Version: m.version, OK: m.state, Master: NoOwner,
		Migrating: map[int]uint16{}, Importing: map[int]uint16{}}
	idx := make(map[*node]uint16, len(m.nodes))
	for _, n := range m.nodes {
		idx[n] = uint16(len(s.Nodes))
		s.Nodes = append(s.Nodes, MapNode{ID: n.id, IP: n.ip, Port: int(n.port), Hostname: n.hostname,
			Endpoint: m.endpoint(n), Master: n.flags&msg.FlagMaster != 0, Failed: n.failed()})
	}
	s.Me = idx[m.myself]
	if m.myself.master != nil {
		s.Master = idx[m.myself.master]
	}
	for j := range s.Owners {
		if n := m.slots[j]; n != nil {
			s.Owners[j] = idx[n]
		} else {
			s.Owners[j] = NoOwner
		}
	}
	// A replica knows its master's open slots (to keep them through a
	// failover) but routes as if it had none.
	if m.myself.isMaster() {
		for j, n := range m.migrating {
			s.Migrating[j] = idx[n]
		}
		for j, n := range m.importing {
			s.Importing[j] = idx[n]
		}
	}
	return s
}
