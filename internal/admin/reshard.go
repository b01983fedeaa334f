package admin

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/reefkv/reef/internal/slot"
)

// move is one slot going from src to dst.
type move struct {
	Slot     int
	Src, Dst *Node
}

// job is every slot one (source, target) pair moves; rebalance prints one
// "Moving N slots from A to B" block per job.
type job struct {
	Src, Dst *Node
	Slots    []int
}

// nodeForResharding is clusterNodeForResharding.
func (m *Manager) nodeForResharding(id string, target *Node) (*Node, bool) {
	n := m.nodeByName(id)
	if n == nil || n.IsReplica() {
		m.logErr("*** The specified node (%s) is not known or not a master, please retry.\n", id)
		return nil, true
	}
	if target != nil && n.ID == target.ID {
		m.logErr("*** It is not possible to use the target node as source node.\n")
		return nil, false
	}
	return n, false
}

// reshardTable is clusterManagerComputeReshardTable: sources by slot count
// descending, each giving its share (first rounded up, others down) from
// its lowest slots.
func reshardTable(sources []*Node, numslots int) []move {
	sorted := append([]*Node(nil), sources...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].SlotsCount > sorted[j].SlotsCount })
	total := 0
	for _, n := range sorted {
		total += n.SlotsCount
	}
	var out []move
	for i, n := range sorted {
		f := float32(numslots) / float32(total) * float32(n.SlotsCount)
		var c int
		if i == 0 {
			c = int(math.Ceil(float64(f)))
		} else {
			c = int(math.Floor(float64(f)))
		}
		count := 0
		for s := 0; s < slot.Count; s++ {
			if !n.Slots[s] {
				continue
			}
			if count >= c || len(out) >= numslots {
				break
			}
			out = append(out, move{Slot: s, Src: n})
			count++
		}
	}
	return out
}

// askLine prints a question and reads one answer line; ok is false at EOF.
func (m *Manager) askLine(q string) (string, bool) {
	m.printf("%s", q)
	return m.in.readLine()
}

// planReshard runs the reshard dialogue and returns the moves (all to one
// target). It prints what redis-cli prints up to the plan.
func (m *Manager) planReshard(addr string) ([]move, *Node, bool) {
	if !m.Load(addr) {
		return nil, nil, false
	}
	m.checkCluster(false, false)
	if len(m.errors) > 0 {
		m.eprintf("*** Please fix your cluster problems before resharding\n")
		return nil, nil, false
	}
	slots := m.Opts.Slots
	for slots <= 0 || slots > slot.Count {
		l, ok := m.askLine(fmt.Sprintf("How many slots do you want to move (from 1 to %d)? ", slot.Count))
		if !ok {
			m.printf("\n")
			return nil, nil, false
		}
		slots, _ = strconv.Atoi(strings.TrimSpace(l))
	}
	to := m.Opts.To
	for to == "" {
		l, ok := m.askLine("What is the receiving node ID? ")
		if !ok {
			m.printf("\n")
			return nil, nil, false
		}
		to = strings.TrimSpace(l)
	}
	target, _ := m.nodeForResharding(to, nil)
	if target == nil {
		return nil, nil, false
	}
	var sources []*Node
	all := false
	if m.Opts.From == "" {
		m.printf("Please enter all the source node IDs.\n")
		m.printf("  Type 'all' to use all the nodes as source nodes for the hash slots.\n")
		m.printf("  Type 'done' once you entered all the source nodes IDs.\n")
		for {
			l, ok := m.askLine(fmt.Sprintf("Source node #%d: ", len(sources)+1))
			if !ok {
				m.printf("\n")
				return nil, nil, false
			}
			l = strings.TrimSpace(l)
			if l == "done" {
				break
			}
			if l == "all" {
				all = true
				break
			}
			src, raise := m.nodeForResharding(l, target)
			if src != nil {
				sources = append(sources, src)
			} else if raise {
				return nil, nil, false
			}
		}
	} else {
		for _, id := range strings.Split(m.Opts.From, ",") {
			if id == "all" {
				all = true
				break
			}
			if id == "" {
				continue
			}
			src, raise := m.nodeForResharding(id, target)
			if src != nil {
				sources = append(sources, src)
			} else if raise {
				return nil, nil, false
			}
		}
	}
	if all {
		sources = nil
		for _, n := range m.masters() {
			if n.ID != target.ID {
				sources = append(sources, n)
			}
		}
	}
	if len(sources) == 0 {
		m.eprintf("*** No source nodes given, operation aborted.\n")
		return nil, nil, false
	}
	m.printf("\nReady to move %d slots.\n", slots)
	m.printf("  Source nodes:\n")
	for _, s := range sources {
		m.printf("%s\n", s.info(4))
	}
	m.printf("  Destination node:\n")
	m.printf("%s\n", target.info(4))
	table := reshardTable(sources, slots)
	for i := range table {
		table[i].Dst = target
	}
	m.printf("  Resharding plan:\n")
	for _, mv := range table {
		m.printf("    Moving slot %d from %s\n", mv.Slot, mv.Src.ID)
	}
	return table, target, true
}

// Reshard is `--cluster reshard`.
func (m *Manager) Reshard(addr string) error {
	table, _, ok := m.planReshard(addr)
	if !ok {
		return ErrFailed
	}
	if m.Opts.Simulate {
		return nil
	}
	if !m.Opts.Yes {
		m.printf("Do you want to proceed with the proposed reshard plan (yes/no)? ")
		l, ok := m.in.readLine()
		if !ok || !strings.HasPrefix(l, "yes") {
			return ErrFailed
		}
	}
	if m.Opts.Legacy {
		for _, mv := range table {
			if ok, e := m.moveSlot(mv.Src, mv.Dst, mv.Slot, optVerbose); !ok {
				if e != "" {
					m.logErr("clusterManagerMoveSlot failed: %s\n", e)
				}
				return ErrFailed
			}
		}
		return nil
	}
	if err := m.runJobs(groupJobs(table), styleReshard); err != nil {
		m.logErr("clusterManagerMoveSlot failed: %s\n", err)
		return ErrFailed
	}
	return nil
}

// groupJobs groups moves by (source, target) in first-seen order.
func groupJobs(moves []move) []*job {
	var out []*job
	idx := map[[2]*Node]*job{}
	for _, mv := range moves {
		k := [2]*Node{mv.Src, mv.Dst}
		j := idx[k]
		if j == nil {
			j = &job{Src: mv.Src, Dst: mv.Dst}
			idx[k] = j
			out = append(out, j)
		}
		j.Slots = append(j.Slots, mv.Slot)
	}
	return out
}

// parseWeights applies --cluster-weight name=w tokens.
func (m *Manager) parseWeights() bool {
	for _, t := range m.Opts.Weights {
		i := strings.IndexByte(t, '=')
		if i < 0 {
			m.logErr("*** invalid input %s\n", t)
			return false
		}
		w, _ := strconv.ParseFloat(t[i+1:], 64)
		n := m.nodeByAbbreviatedName(t[:i])
		if n == nil {
			m.logErr("*** No such master node %s\n", t[:i])
			return false
		}
		n.Weight = float64(float32(w))
	}
	return true
}

// autoWeights sets each master's weight from its memory limit (maxmemory, or
// the machine's memory when unlimited), relative to the smallest, so bigger
// nodes get more slots. redis-trib.rb's --auto-weights had no redis-cli
// equivalent; this is Reef's reading of it.
func (m *Manager) autoWeights() {
	mem := map[*Node]float64{}
	low := math.MaxFloat64
	for _, n := range m.masters() {
		v, err := n.Do("INFO", "memory")
		if err != nil || v.IsError() {
			continue
		}
		x, _ := strconv.ParseFloat(infoField(v.Text(), "maxmemory"), 64)
		if x == 0 {
			x, _ = strconv.ParseFloat(infoField(v.Text(), "total_system_memory"), 64)
		}
		if x > 0 {
			mem[n] = x
			low = min(low, x)
		}
	}
	for n, x := range mem {
		n.Weight = float64(float32(x / low))
	}
}

// planRebalance computes redis-cli's rebalance moves. It prints the check
// and the "Rebalancing across" line; ok is false on error, and jobs is empty
// when no rebalancing is needed.
func (m *Manager) planRebalance(addr string) (jobs []*job, ok bool) {
	if !m.Load(addr) {
		return nil, false
	}
	if m.Opts.AutoWeights {
		m.autoWeights()
	}
	if !m.parseWeights() {
		return nil, false
	}
	var involved []*Node
	var total float32
	for _, n := range m.masters() {
		if !m.Opts.UseEmptyMasters && n.SlotsCount == 0 {
			n.Weight = 0
			continue
		}
		total += float32(n.Weight)
		involved = append(involved, n)
	}
	m.checkCluster(true, false)
	if len(m.errors) > 0 {
		m.logErr("*** Please fix your cluster problems before rebalancing\n")
		return nil, false
	}
	if m.Opts.By == "keys" || m.Opts.By == "memory" {
		return m.planRebalanceBy(involved, total)
	}
	thresholdReached := false
	totalBalance := 0
	for _, n := range involved {
		expected := int(float32(slot.Count) / total * float32(n.Weight))
		n.Balance = n.SlotsCount - expected
		totalBalance += n.Balance
		over := false
		if m.Opts.Threshold > 0 {
			if n.SlotsCount > 0 {
				errPerc := math.Abs(100 - 100.0*float64(expected)/float64(n.SlotsCount))
				over = float32(errPerc) > float32(m.Opts.Threshold)
			} else if expected > 1 {
				over = true
			}
		}
		if over {
			thresholdReached = true
		}
	}
	if !thresholdReached {
		m.logWarn("*** No rebalancing needed! All nodes are within the %.2f%% threshold.\n", m.Opts.Threshold)
		return nil, true
	}
	for totalBalance > 0 {
		for _, n := range involved {
			if n.Balance <= 0 && totalBalance > 0 {
				n.Balance--
				totalBalance--
			}
		}
	}
	sorted := append([]*Node(nil), involved...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Balance < sorted[j].Balance })
	m.logInfo(">>> Rebalancing across %d nodes. Total weight = %.2f\n", len(involved), total)
	if m.Opts.Verbose {
		for _, n := range sorted {
			m.printf("%s balance is %d slots\n", n.Name(), n.Balance)
		}
	}
	// Work on copies of the slot tables: the plan takes each source's
	// lowest slots, and a source may give to several receivers.
	owned := map[*Node]*[slot.Count]bool{}
	for _, n := range sorted {
		t := n.Slots
		owned[n] = &t
	}
	dstIdx, srcIdx := 0, len(sorted)-1
	for dstIdx < srcIdx {
		dst, src := sorted[dstIdx], sorted[srcIdx]
		db, sb := abs(dst.Balance), abs(src.Balance)
		num := min(db, sb)
		if num > 0 {
			j := &job{Src: src, Dst: dst}
			tbl := owned[src]
			for s := 0; s < slot.Count && len(j.Slots) < num; s++ {
				if tbl[s] {
					j.Slots = append(j.Slots, s)
					tbl[s] = false
				}
			}
			if len(j.Slots) != num {
				m.logErr("*** Assertion failed: Reshard table != number of slots")
				return nil, false
			}
			jobs = append(jobs, j)
		}
		dst.Balance += num
		src.Balance -= num
		if dst.Balance == 0 {
			dstIdx++
		}
		if src.Balance == 0 {
			srcIdx--
		}
	}
	return jobs, true
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// Rebalance is `--cluster rebalance`.
func (m *Manager) Rebalance(addr string) error {
	jobs, ok := m.planRebalance(addr)
	if !ok {
		return ErrFailed
	}
	if len(jobs) == 0 {
		return nil
	}
	if m.Opts.Simulate {
		for _, j := range jobs {
			m.printf("Moving %d slots from %s to %s\n", len(j.Slots), j.Src.Name(), j.Dst.Name())
			m.printf("%s\n", strings.Repeat("#", len(j.Slots)))
		}
		return nil
	}
	if m.Opts.Legacy {
		for _, j := range jobs {
			m.printf("Moving %d slots from %s to %s\n", len(j.Slots), j.Src.Name(), j.Dst.Name())
			for _, s := range j.Slots {
				if ok, e := m.moveSlot(j.Src, j.Dst, s, optQuiet|optUpdate); !ok {
					m.logErr("*** clusterManagerMoveSlot: %s\n", e)
					return ErrFailed
				}
				m.printf("#")
			}
			m.printf("\n")
		}
		return nil
	}
	if err := m.runJobs(jobs, styleRebalance); err != nil {
		m.logErr("*** clusterManagerMoveSlot: %s\n", err)
		return ErrFailed
	}
	return nil
}

// planRebalanceBy balances keys or memory instead of slot counts: each
// slot weighs its key count (or its estimated bytes), and slots move from
// the most loaded masters to the least loaded until every master is within
// the threshold of its weighted share.
func (m *Manager) planRebalanceBy(involved []*Node, total float32) ([]*job, bool) {
	value := map[*Node]map[int]float64{}
	load := map[*Node]float64{}
	var sum float64
	for _, n := range involved {
		perKey := 1.0
		if m.Opts.By == "memory" {
			perKey = m.bytesPerKey(n)
		}
		counts, err := m.slotKeyCounts(n)
		if err != nil {
			m.logErr("*** Could not count keys on %s: %v\n", n.Name(), err)
			return nil, false
		}
		value[n] = map[int]float64{}
		for s, c := range counts {
			value[n][s] = float64(c) * perKey
			load[n] += float64(c) * perKey
		}
		sum += load[n]
	}
	expected := map[*Node]float64{}
	over := false
	for _, n := range involved {
		expected[n] = sum * n.Weight / float64(total)
		if expected[n] > 0 && math.Abs(100-100*load[n]/expected[n]) > m.Opts.Threshold {
			over = true
		}
	}
	if !over || sum == 0 {
		m.logWarn("*** No rebalancing needed! All nodes are within the %.2f%% threshold.\n", m.Opts.Threshold)
		return nil, true
	}
	m.logInfo(">>> Rebalancing %s across %d nodes. Total weight = %.2f\n", m.Opts.By, len(involved), total)
	bal := map[*Node]float64{}
	for _, n := range involved {
		bal[n] = load[n] - expected[n]
	}
	jobsBy := map[[2]*Node]*job{}
	var jobs []*job
	donors := append([]*Node(nil), involved...)
	sort.SliceStable(donors, func(i, j int) bool { return bal[donors[i]] > bal[donors[j]] })
	for _, src := range donors {
		if bal[src] <= 0 {
			break
		}
		for s := 0; s < slot.Count && bal[src] > 0; s++ {
			v := value[src][s]
			if !src.Slots[s] || v == 0 {
				continue
			}
			var dst *Node
			for _, n := range involved {
				if n != src && (dst == nil || bal[n] < bal[dst]) {
					dst = n
				}
			}
			// Move only when it brings both sides closer to their share.
			if dst == nil || bal[dst] >= 0 || v/2 > bal[src] || v/2 > -bal[dst] {
				continue
			}
			bal[src] -= v
			bal[dst] += v
			k := [2]*Node{src, dst}
			if jobsBy[k] == nil {
				jobsBy[k] = &job{Src: src, Dst: dst}
				jobs = append(jobs, jobsBy[k])
			}
			jobsBy[k].Slots = append(jobsBy[k].Slots, s)
		}
	}
	return jobs, true
}

// slotKeyCounts returns CLUSTER COUNTKEYSINSLOT for every slot n owns,
// pipelined.
func (m *Manager) slotKeyCounts(n *Node) (map[int]int64, error) {
	c, err := n.Conn()
	if err != nil {
		return nil, err
	}
	var slots []int
	for s := 0; s < slot.Count; s++ {
		if n.Slots[s] {
			slots = append(slots, s)
			c.Send("CLUSTER", "COUNTKEYSINSLOT", strconv.Itoa(s))
		}
	}
	out := map[int]int64{}
	for _, s := range slots {
		v, err := c.Receive()
		if err != nil {
			return nil, err
		}
		out[s] = v.Int
	}
	return out, nil
}

// bytesPerKey estimates a node's average bytes per key from INFO memory.
func (m *Manager) bytesPerKey(n *Node) float64 {
	v, err := n.Do("INFO", "memory")
	if err != nil || v.IsError() {
		return 1
	}
	ds, _ := strconv.ParseFloat(infoField(v.Text(), "used_memory_dataset"), 64)
	d, err := n.Do("DBSIZE")
	if err != nil || d.Int == 0 || ds == 0 {
		return 1
	}
	return ds / float64(d.Int)
}
