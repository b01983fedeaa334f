package admin

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/reefkv/reef/internal/client"
	"github.com/reefkv/reef/internal/slot"
)

// Plan is a reshard or rebalance written down before it runs, so that it can
// be reviewed, applied later, and resumed after an interruption. Nodes are
// named by ID; each shard's replicas are recorded so that a plan still
// applies after a failover replaced a master by one of its replicas.
type Plan struct {
	Version int        `json:"version"`
	Kind    string     `json:"kind"` // "reshard" or "rebalance"
	Created string     `json:"created"`
	Nodes   []PlanNode `json:"nodes"`
	Jobs    []PlanJob  `json:"jobs"`
}

// PlanNode is a node known when the plan was made.
type PlanNode struct {
	ID     string `json:"id"`
	Addr   string `json:"addr"`
	Master string `json:"master,omitempty"` // set for replicas
}

// PlanJob moves Slots from one master to another.
type PlanJob struct {
	From  string `json:"from"`
	To    string `json:"to"`
	Slots []int  `json:"slots"`
}

// Slots counts the slots the plan moves.
func (p *Plan) Slots() int {
	n := 0
	for _, j := range p.Jobs {
		n += len(j.Slots)
	}
	return n
}

// ReadPlan loads a plan file.
func ReadPlan(path string) (*Plan, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return parsePlan(b, path)
}

// parsePlan decodes and checks a plan: a hand-edited or damaged file is
// refused with the reason, never carried out (a slot number out of range
// would otherwise index past a node's slot table).
func parsePlan(b []byte, path string) (*Plan, error) {
	var p Plan
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("parse plan %s: %w", path, err)
	}
	if p.Version != 1 {
		return nil, fmt.Errorf("plan %s: unsupported version %d", path, p.Version)
	}
	if p.Kind != "reshard" && p.Kind != "rebalance" {
		return nil, fmt.Errorf("plan %s: unknown kind %q", path, p.Kind)
	}
	var seen slot.Set
	for i, j := range p.Jobs {
		if j.From == "" || j.To == "" || j.From == j.To {
			return nil, fmt.Errorf("plan %s: job %d: bad source %q or target %q", path, i+1, j.From, j.To)
		}
		for _, s := range j.Slots {
			if s < 0 || s >= slot.Count {
				return nil, fmt.Errorf("plan %s: job %d: slot %d out of range", path, i+1, s)
			}
			if seen.Has(s) {
				return nil, fmt.Errorf("plan %s: job %d: slot %d moved twice", path, i+1, s)
			}
			seen.Add(s)
		}
	}
	return &p, nil
}

// Write stores the plan atomically (temp file + rename), so an apply never
// reads half a plan.
func (p *Plan) Write(path string) error {
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func (m *Manager) makePlan(kind string, jobs []*job) *Plan {
	p := &Plan{Version: 1, Kind: kind, Created: m.now().UTC().Format(time.RFC3339)}
	for _, n := range m.Nodes {
		p.Nodes = append(p.Nodes, PlanNode{ID: n.ID, Addr: n.Addr(), Master: n.ReplicateOf})
	}
	for _, j := range jobs {
		p.Jobs = append(p.Jobs, PlanJob{From: j.Src.ID, To: j.Dst.ID, Slots: j.Slots})
	}
	return p
}

// MakePlan is `--cluster plan reshard|rebalance host:port [options]`: it
// prints what the operation would print up to its moves and writes the
// moves to Opts.PlanFile.
func (m *Manager) MakePlan(kind, addr string) error {
	var jobs []*job
	switch kind {
	case "reshard":
		table, _, ok := m.planReshard(addr)
		if !ok {
			return ErrFailed
		}
		jobs = groupJobs(table)
	case "rebalance":
		var ok bool
		jobs, ok = m.planRebalance(addr)
		if !ok {
			return ErrFailed
		}
		for _, j := range jobs {
			m.printf("Moving %d slots from %s to %s\n", len(j.Slots), j.Src.Name(), j.Dst.Name())
		}
	default:
		m.eprintf("Unknown plan kind %q: use reshard or rebalance\n", kind)
		return ErrFailed
	}
	p := m.makePlan(kind, jobs)
	file := m.Opts.PlanFile
	if file == "" {
		file = "reef-plan.json"
	}
	if err := p.Write(file); err != nil {
		m.logErr("[ERR] Could not write the plan: %v\n", err)
		return ErrFailed
	}
	m.logOK("[OK] Plan to move %d slots in %d jobs written to %s\n", p.Slots(), len(p.Jobs), file)
	m.printf("Run: reef-cli --cluster apply %s\n", file)
	return nil
}

// resolve maps a planned node ID to the master that now serves its shard:
// itself while it is a master, its master if it was demoted, or a replica
// of it that was promoted.
func (m *Manager) resolve(p *Plan, id string) *Node {
	if n := m.nodeByName(id); n != nil {
		if !n.IsReplica() {
			return n
		}
		if mm := m.nodeByName(n.ReplicateOf); mm != nil && !mm.IsReplica() {
			return mm
		}
	}
	for _, pn := range p.Nodes {
		if pn.Master == id {
			if n := m.nodeByName(pn.ID); n != nil && !n.IsReplica() {
				return n
			}
		}
	}
	return nil
}

// Apply is `--cluster apply PLAN [host:port]`: carry out a plan, skipping
// slots already where the plan wants them and completing slots an earlier
// interrupted run left open. Running it again after any interruption is
// always safe.
func (m *Manager) Apply(file, addr string) error {
	p, err := ReadPlan(file)
	if err != nil {
		m.logErr("[ERR] %v\n", err)
		return ErrFailed
	}
	var seeds []string
	if addr != "" {
		seeds = append(seeds, addr)
	}
	for _, n := range p.Nodes {
		seeds = append(seeds, n.Addr)
	}
	loaded := false
	for _, s := range seeds {
		if c, err := client.Dial(s, m.connOpts()); err == nil {
			c.Close()
			if m.Load(s) {
				loaded = true
				break
			}
		}
	}
	if !loaded {
		m.logErr("[ERR] No node of the plan is reachable.\n")
		return ErrFailed
	}
	m.logInfo(">>> Applying %s plan %s (%d slots in %d jobs)\n", p.Kind, file, p.Slots(), len(p.Jobs))
	var jobs []*job
	var closeOnly []move
	done := 0
	for _, pj := range p.Jobs {
		src, dst := m.resolve(p, pj.From), m.resolve(p, pj.To)
		if dst == nil {
			m.logErr("[ERR] Target node %s of the plan is gone and no replica of it took over.\n", pj.To)
			return ErrFailed
		}
		pending := map[*Node]*job{}
		for _, s := range pj.Slots {
			if dst.Slots[s] {
				if m.slotOpen(s) {
					closeOnly = append(closeOnly, move{Slot: s, Src: src, Dst: dst})
				} else {
					done++
				}
				continue
			}
			owner := src
			if owner == nil || !owner.Slots[s] {
				owner = m.ownerOf(s)
			}
			if owner == nil {
				m.logErr("[ERR] Slot %d has no owner: run reef-cli --cluster fix first.\n", s)
				return ErrFailed
			}
			j := pending[owner]
			if j == nil {
				j = &job{Src: owner, Dst: dst}
				pending[owner] = j
				jobs = append(jobs, j)
			}
			j.Slots = append(j.Slots, s)
		}
	}
	if done > 0 {
		m.printf("%d slots already moved by an earlier run.\n", done)
	}
	if len(closeOnly) > 0 {
		m.printf("Closing %d slots left open by an interrupted run.\n", len(closeOnly))
		if err := m.closeSlots(closeOnly); err != nil {
			m.logErr("[ERR] %v\n", err)
			return ErrFailed
		}
	}
	style := styleReshard
	if p.Kind == "rebalance" {
		style = styleRebalance
	}
	if len(jobs) > 0 {
		if err := m.runJobs(jobs, style); err != nil {
			m.logErr("*** Move failed: %v\n", err)
			if open := m.openAfterReload(); len(open) > 0 {
				m.logWarn("*** Slots left open: %s. Run the same apply again (or --cluster fix) to finish them.\n", joinInts(open))
			}
			return ErrFailed
		}
	}
	m.logOK("[OK] Plan applied: %d slots moved, %d already in place.\n", p.Slots()-done, done)
	return nil
}

// slotOpen reports whether any master has s importing or migrating.
func (m *Manager) slotOpen(s int) bool {
	for _, n := range m.masters() {
		if _, ok := n.Migrating[s]; ok {
			return true
		}
		if _, ok := n.Importing[s]; ok {
			return true
		}
	}
	return false
}

// ownerOf returns the master that claims s in its own view.
func (m *Manager) ownerOf(s int) *Node {
	for _, n := range m.masters() {
		if n.Slots[s] {
			return n
		}
	}
	return nil
}

// closeSlots finishes slots that the target already owns but some node
// still has open: the owner is set again everywhere, which clears
// MIGRATING on a source without keys and IMPORTING on the target.
func (m *Manager) closeSlots(moves []move) error {
	for _, mv := range moves {
		ss := strconv.Itoa(mv.Slot)
		if v, err := mv.Dst.Do("CLUSTER", "SETSLOT", ss, "NODE", mv.Dst.ID); err != nil || v.IsError() {
			return fmt.Errorf("close slot %d on %s: %s", mv.Slot, mv.Dst.Name(), replyText(v, err))
		}
		for _, n := range m.masters() {
			if n == mv.Dst {
				continue
			}
			v, err := n.Do("CLUSTER", "SETSLOT", ss, "NODE", mv.Dst.ID)
			if err != nil {
				return fmt.Errorf("close slot %d on %s: %v", mv.Slot, n.Name(), err)
			}
			if v.IsError() && !strings.Contains(v.Text(), "Please use SETSLOT only with masters") {
				return fmt.Errorf("close slot %d on %s: %s", mv.Slot, n.Name(), v.Text())
			}
		}
		m.setOwner(mv.Slot, mv.Src, mv.Dst)
	}
	return nil
}

// openAfterReload re-reads the nodes and lists open slots.
func (m *Manager) openAfterReload() []int {
	if err := m.reloadAll(); err != nil {
		return nil
	}
	return m.openSlots()
}
