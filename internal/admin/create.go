package admin

import (
	"fmt"
	"math"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/reefkv/reef/internal/client"
	"github.com/reefkv/reef/internal/slot"
)

// isEmpty is clusterManagerNodeIsEmpty: no db0 keys and knows only itself.
func (m *Manager) isEmpty(n *Node) (bool, string) {
	v, err := n.Do("INFO")
	if err != nil {
		return false, err.Error()
	}
	if v.IsError() {
		return false, v.Text()
	}
	if strings.Contains(v.Text(), "db0:") {
		return false, ""
	}
	ci, err := n.Do("CLUSTER", "INFO")
	if err != nil {
		return false, err.Error()
	}
	if ci.IsError() {
		return false, ci.Text()
	}
	return infoField(ci.Text(), "cluster_known_nodes") == "1", ""
}

func (m *Manager) printNotEmptyNodeError(n *Node, err string) {
	msg := err
	if msg == "" {
		msg = "is not empty. Either the node already knows other nodes (check with CLUSTER NODES) or contains some key in database 0."
	}
	m.logErr("[ERR] Node %s %s\n", n.Name(), msg)
}

// parseAddr splits "ip:port[@bus]" as redis-cli's create does.
func parseAddr(a string) (string, int, bool) {
	if i := strings.LastIndexByte(a, '@'); i >= 0 {
		a = a[:i]
	}
	i := strings.LastIndexByte(a, ':')
	if i < 0 {
		return "", 0, false
	}
	p, _ := strconv.Atoi(a[i+1:])
	return a[:i], p, true
}

// Create is `--cluster create`.
func (m *Manager) Create(addrs []string) error {
	var nodes []*Node
	for _, a := range addrs {
		ip, port, ok := parseAddr(a)
		if !ok {
			m.eprintf("Invalid address format: %s\n", a)
			return ErrFailed
		}
		n := m.newNode(ip, port)
		if !m.connect(n) {
			return ErrFailed
		}
		if ok, e := m.isCluster(n); !ok {
			m.printNotClusterNodeError(n, e)
			return ErrFailed
		}
		if _, err := m.loadSelf(n); err != nil {
			m.printReplyError(n, err.Error())
			return ErrFailed
		}
		if ok, e := m.isEmpty(n); !ok {
			m.printNotEmptyNodeError(n, e)
			return ErrFailed
		}
		nodes = append(nodes, n)
	}
	m.Nodes = nodes
	replicas := m.Opts.Replicas
	mastersCount := len(nodes) / (replicas + 1)
	if mastersCount < 3 {
		m.logErr("*** ERROR: Invalid configuration for cluster creation.\n*** Redis Cluster requires at least 3 master nodes.\n*** This is not possible with %d nodes and %d replicas per node.", len(nodes), replicas)
		m.logErr("\n*** At least %d nodes are required.\n", 3*(replicas+1))
		return ErrFailed
	}
	m.logInfo(">>> Performing hash slots allocation on %d nodes...\n", len(nodes))
	masters, rest := m.allocate(nodes, mastersCount, replicas)
	_ = masters
	_ = rest
	m.showNodes()
	if !m.confirm("Can I set the above configuration?", false) {
		return nil
	}
	for _, n := range nodes {
		ok, e := m.flushNodeConfig(n)
		if !ok && n.Dirty && n.ReplicateOf == "" {
			if e != "" {
				m.printReplyError(n, e)
			}
			return ErrFailed
		}
	}
	m.logInfo(">>> Nodes configuration updated\n")
	m.logInfo(">>> Assign a different config epoch to each node\n")
	for i, n := range nodes {
		n.Do("cluster", "set-config-epoch", strconv.Itoa(i+1))
	}
	m.logInfo(">>> Sending CLUSTER MEET messages to join the cluster\n")
	first := nodes[0]
	firstIP, err := resolveIP(first.IP)
	if err != nil {
		m.eprintf("Invalid IP address or hostname specified: %s\n", first.IP)
		return ErrFailed
	}
	for _, n := range nodes[1:] {
		v, err := n.Do("cluster", "meet", firstIP, strconv.Itoa(first.Port))
		if err != nil {
			m.eprintf("Failed to send CLUSTER MEET command.\n")
			return ErrFailed
		}
		if v.IsError() {
			m.printReplyError(n, v.Text())
			return ErrFailed
		}
	}
	// redis-cli sleeps one second here so that the join has started
	// before it compares configs; waiting until every node knows every
	// other one is both faster and what makes REPLICATE succeed.
	m.waitForClusterJoin(len(nodes))
	for _, n := range nodes {
		if !n.Dirty {
			continue
		}
		ok, e := m.flushNodeConfigRetry(n)
		if !ok && n.ReplicateOf == "" {
			if e != "" {
				m.printReplyError(n, e)
			}
			return ErrFailed
		}
	}
	for _, n := range nodes[1:] {
		n.close()
	}
	m.Nodes = nil
	if !m.Load(first.Addr()) {
		return ErrFailed
	}
	m.checkCluster(false, false)
	return nil
}

func resolveIP(host string) (string, error) {
	if ip := net.ParseIP(host); ip != nil {
		return ip.String(), nil
	}
	ips, err := net.LookupIP(host)
	if err != nil || len(ips) == 0 {
		return "", fmt.Errorf("resolve %s: %v", host, err)
	}
	return ips[0].String(), nil
}

// allocate is the allocation part of clusterManagerCommandCreate: interleave
// nodes by IP, give the first mastersCount nodes contiguous slot ranges,
// assign replicas preferring other IPs, then optimise anti-affinity.
func (m *Manager) allocate(nodes []*Node, mastersCount, replicas int) ([]*Node, []*Node) {
	var ips []string
	byIP := map[string][]*Node{}
	for _, n := range nodes {
		if _, ok := byIP[n.IP]; !ok {
			ips = append(ips, n.IP)
		}
		byIP[n.IP] = append(byIP[n.IP], n)
	}
	var interleaved []*Node
	queues := map[string][]*Node{}
	for k, v := range byIP {
		queues[k] = append([]*Node(nil), v...)
	}
	for len(interleaved) < len(nodes) {
		for _, ip := range ips {
			if q := queues[ip]; len(q) > 0 {
				interleaved = append(interleaved, q[0])
				queues[ip] = q[1:]
			}
		}
	}
	masters := interleaved[:mastersCount]
	rest := append([]*Node(nil), interleaved[mastersCount:]...)
	slotsPerNode := float32(slot.Count) / float32(mastersCount)
	first := 0
	var cursor float32
	for i, master := range masters {
		last := int(math.Round(float64(cursor + slotsPerNode - 1)))
		if last > slot.Count || i == mastersCount-1 {
			last = slot.Count - 1
		}
		if last < first {
			last = first
		}
		m.printf("Master[%d] -> Slots %d - %d\n", i, first, last)
		master.Slots = [slot.Count]bool{}
		master.SlotsCount = 0
		for s := first; s <= last; s++ {
			master.Slots[s] = true
			master.SlotsCount++
		}
		master.Dirty = true
		first = last + 1
		cursor += slotsPerNode
	}
	// Rotating the list sometimes helps to get better initial
	// anti-affinity before the optimizer runs.
	if len(rest) > 1 {
		rest = append(rest[1:], rest[0])
	}
	pool := append([]*Node(nil), rest...)
	available := len(pool)
	assignUnused := false
	for {
		for _, master := range masters {
			assigned := 0
			for assigned < replicas {
				if available == 0 {
					break
				}
				var found *Node
				firstIdx := -1
				for j, n := range pool {
					if n == nil {
						continue
					}
					if n.IP != master.IP {
						found = n
						pool[j] = nil
						break
					}
					if firstIdx < 0 {
						firstIdx = j
					}
				}
				replica := found
				if replica == nil && firstIdx >= 0 {
					replica = pool[firstIdx]
					pool = pool[firstIdx+1:]
				}
				if replica == nil {
					break
				}
				assigned++
				available--
				replica.ReplicateOf = master.ID
				replica.Dirty = true
				m.printf("Adding replica %s to %s\n", replica.Name(), master.Name())
				if assignUnused {
					break
				}
			}
		}
		if !assignUnused && available > 0 {
			assignUnused = true
			m.printf("Adding extra replicas...\n")
			continue
		}
		break
	}
	m.optimizeAntiAffinity(nodes, ips, byIP)
	return masters, rest
}

// antiAffinityScore is clusterManagerGetAntiAffinityScore.
func antiAffinityScore(nodes []*Node, ips []string, byIP map[string][]*Node) (int, []*Node) {
	score := 0
	var offenders []*Node
	for _, ip := range ips {
		related := map[string]string{}
		var order []string
		for _, n := range byIP[ip] {
			key := n.ID
			if n.ReplicateOf != "" {
				key = n.ReplicateOf
			}
			t, ok := related[key]
			if !ok {
				order = append(order, key)
			}
			if n.ReplicateOf != "" {
				t += "s"
			} else {
				t = "m" + t
			}
			related[key] = t
		}
		for _, name := range order {
			types := related[name]
			if len(types) < 2 {
				continue
			}
			if types[0] == 'm' {
				score += 10000 * (len(types) - 1)
			} else {
				score += len(types)
			}
			for _, n := range nodes {
				if n.ReplicateOf == name && n.IP == ip {
					offenders = append(offenders, n)
					break
				}
			}
		}
	}
	return score, offenders
}

// optimizeAntiAffinity is clusterManagerOptimizeAntiAffinity.
func (m *Manager) optimizeAntiAffinity(nodes []*Node, ips []string, byIP map[string][]*Node) {
	score, _ := antiAffinityScore(nodes, ips, byIP)
	if score == 0 {
		return
	}
	m.logInfo(">>> Trying to optimize slaves allocation for anti-affinity\n")
	r := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	for iter := 500 * len(nodes); iter > 0; iter-- {
		score, offenders := antiAffinityScore(nodes, ips, byIP)
		if score == 0 || len(offenders) == 0 {
			break
		}
		first := offenders[r.IntN(len(offenders))]
		var others []*Node
		for _, n := range nodes {
			if n != first && n.ReplicateOf != "" {
				others = append(others, n)
			}
		}
		if len(others) == 0 {
			break
		}
		second := others[r.IntN(len(others))]
		fm, sm := first.ReplicateOf, second.ReplicateOf
		first.ReplicateOf, second.ReplicateOf = sm, fm
		first.Dirty, second.Dirty = true, true
		if ns, _ := antiAffinityScore(nodes, ips, byIP); ns > score {
			first.ReplicateOf, second.ReplicateOf = fm, sm
		}
	}
	score, _ = antiAffinityScore(nodes, ips, byIP)
	switch {
	case score == 0:
		m.logOK("[OK] Perfect anti-affinity obtained!\n")
	case score >= 10000:
		m.logWarn("[WARNING] Some slaves are in the same host as their master\n")
	default:
		m.logWarn("[WARNING] Some slaves of the same master are in the same host\n")
	}
}

// flushNodeConfig is clusterManagerFlushNodeConfig.
func (m *Manager) flushNodeConfig(n *Node) (bool, string) {
	if !n.Dirty {
		return false, ""
	}
	if n.ReplicateOf != "" {
		v, err := n.Do("CLUSTER", "REPLICATE", n.ReplicateOf)
		if err != nil {
			return false, err.Error()
		}
		if v.IsError() {
			// The replica may not know its master yet: keep it dirty and
			// retry after the join.
			return false, v.Text()
		}
	} else {
		args := []string{"CLUSTER", "ADDSLOTS"}
		for s := 0; s < slot.Count; s++ {
			if n.Slots[s] {
				args = append(args, strconv.Itoa(s))
			}
		}
		v, err := n.Do(args...)
		if err != nil {
			return false, err.Error()
		}
		if v.IsError() {
			return false, v.Text()
		}
	}
	n.Dirty = false
	return true, ""
}

// flushNodeConfigRetry retries a replica's REPLICATE for a few seconds: a
// node learns its master through gossip, which may lag the join wait.
func (m *Manager) flushNodeConfigRetry(n *Node) (bool, string) {
	deadline := time.Now().Add(10 * time.Second)
	for {
		ok, e := m.flushNodeConfig(n)
		if ok || n.ReplicateOf == "" || time.Now().After(deadline) || !strings.Contains(e, "Unknown node") {
			return ok, e
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitForClusterJoin is clusterManagerWaitForClusterJoin: print a dot per
// second until every node agrees on the slots and (beyond redis-cli) knows
// all want nodes.
func (m *Manager) waitForClusterJoin(want int) {
	m.printf("Waiting for the cluster to join\n")
	start := time.Now()
	dots := 0
	checkAfter := 20 + int(float32(len(m.Nodes))*0.15)
	for !m.isConfigConsistent() || !m.allKnow(want) {
		time.Sleep(50 * time.Millisecond)
		if el := int(time.Since(start) / time.Second); el > dots {
			dots = el
			m.printf(".")
			if dots > checkAfter && dots%10 == 0 {
				m.printUnreachableBusPorts()
			}
		}
	}
	m.printf("\n")
}

func (m *Manager) allKnow(want int) bool {
	if want <= 0 {
		return true
	}
	for _, n := range m.Nodes {
		v, err := n.Do("CLUSTER", "NODES")
		if err != nil || v.IsError() {
			return false
		}
		c := 0
		for _, l := range strings.Split(v.Text(), "\n") {
			if p, ok := parseNodesLine(l); ok && !strings.Contains(strings.Join(p.flags, ","), "handshake") {
				c++
			}
		}
		if c < want {
			return false
		}
	}
	return true
}

func (m *Manager) printUnreachableBusPorts() {
	for _, n := range m.Nodes {
		v, err := n.Do("CLUSTER", "NODES")
		if err != nil || v.IsError() {
			continue
		}
		for _, l := range strings.Split(v.Text(), "\n") {
			p, ok := parseNodesLine(l)
			if ok && !p.myself && p.link == "disconnected" {
				m.logWarn("Warning: %s might be unreachable from %s (check the bus port %s)\n", p.rawAddr, n.Name(), p.rawAddr)
			}
		}
	}
}

var _ = client.JoinHostPort
