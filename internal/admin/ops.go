package admin

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/reefkv/reef/internal/client"
	"github.com/reefkv/reef/internal/resp"
	"github.com/reefkv/reef/internal/slot"
)

// AddNode is `--cluster add-node new existing`.
func (m *Manager) AddNode(newAddr, refAddr string) error {
	nip, nport, err := client.SplitHostPort(newAddr)
	if err != nil {
		return ErrFailed
	}
	m.logInfo(">>> Adding node %s to cluster %s\n", newAddr, refAddr)
	if !m.Load(refAddr) {
		return ErrFailed
	}
	if !m.checkCluster(false, false) {
		return ErrFailed
	}
	var master *Node
	if m.Opts.Slave {
		if m.Opts.MasterID != "" {
			master = m.nodeByName(m.Opts.MasterID)
			if master == nil {
				m.logErr("[ERR] No such master ID %s\n", m.Opts.MasterID)
				return ErrFailed
			}
		} else {
			master = m.nodeWithLeastReplicas(nil)
			m.printf("Automatically selected master %s\n", master.Name())
		}
	}
	nn := m.newNode(nip, nport)
	if _, err := nn.Conn(); err != nil {
		m.logErr("[ERR] Sorry, can't connect to node %s\n", nn.Name())
		return ErrFailed
	}
	if ok, e := m.isCluster(nn); !ok {
		m.printNotClusterNodeError(nn, e)
		return ErrFailed
	}
	if _, err := m.loadSelf(nn); err != nil {
		m.printReplyError(nn, err.Error())
		return ErrFailed
	}
	if ok, e := m.isEmpty(nn); !ok {
		m.printNotEmptyNodeError(nn, e)
		return ErrFailed
	}
	first := m.Nodes[0]
	m.Nodes = append(m.Nodes, nn)
	if master == nil {
		m.logInfo(">>> Getting functions from cluster\n")
		dump, err := first.Do("FUNCTION", "DUMP")
		if err != nil || dump.IsError() {
			m.logInfo(">>> Failed retrieving Functions from the cluster, skip this step as Redis version do not support function command (error = '%s')\n", replyText(dump, err))
		} else {
			m.logInfo(">>> Send FUNCTION LIST to %s to verify there is no functions in it\n", nn.Name())
			l, err := nn.Do("FUNCTION", "LIST")
			if err != nil || l.IsError() {
				m.logErr(">>> Failed on CLUSTER LIST (error = '%s')\n", replyText(l, err))
				return ErrFailed
			}
			if len(l.Elems) > 0 {
				m.logErr(">>> New node already contains functions and can not be added to the cluster. Use FUNCTION FLUSH and try again.\n")
				return ErrFailed
			}
			m.logInfo(">>> Send FUNCTION RESTORE to %s\n", nn.Name())
			c, _ := nn.Conn()
			r, err := c.DoBytes([]byte("FUNCTION"), []byte("RESTORE"), dump.Str)
			if err != nil || r.IsError() {
				m.logErr(">>> Failed loading functions to the new node (error = '%s')\n", replyText(r, err))
				return ErrFailed
			}
		}
	}
	m.logInfo(">>> Send CLUSTER MEET to node %s to make it join the cluster.\n", nn.Name())
	fip, err := resolveIP(first.IP)
	if err != nil {
		m.eprintf("Invalid IP address or hostname specified: %s\n", first.IP)
		return ErrFailed
	}
	v, err := nn.Do("CLUSTER", "MEET", fip, strconv.Itoa(first.Port))
	if err != nil || v.IsError() {
		if v.IsError() {
			m.printReplyError(nn, v.Text())
		}
		return ErrFailed
	}
	// Beyond redis-cli: wait until every node knows the new node, so that
	// a reshard, a del-node or a CLUSTER FORGET right after add-node finds
	// it everywhere.
	for _, n := range m.Nodes[:len(m.Nodes)-1] {
		m.waitKnows(n, nn.ID, 20*time.Second)
	}
	if master == nil {
		// ...and until the new node has learned the slot map, so that the
		// next command's check finds the nodes in agreement.
		deadline := time.Now().Add(20 * time.Second)
		for !m.isConfigConsistent() && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
	}
	if master != nil {
		// redis-cli sleeps 1 s and waits for matching slot signatures, then
		// REPLICATE races gossip (spec 10.9). Waiting until the new node
		// knows the master removes the race.
		m.waitForClusterJoin(0)
		m.waitKnows(nn, master.ID, 30*time.Second)
		m.logInfo(">>> Configure node as replica of %s.\n", master.Name())
		v, err := nn.Do("CLUSTER", "REPLICATE", master.ID)
		if err != nil || v.IsError() {
			if v.IsError() {
				m.printReplyError(nn, v.Text())
			}
			return ErrFailed
		}
	}
	m.logOK("[OK] New node added correctly.\n")
	return nil
}

// waitKnows waits until n's CLUSTER NODES lists id as a non-handshake node.
func (m *Manager) waitKnows(n *Node, id string, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		v, err := n.Do("CLUSTER", "NODES")
		if err == nil && !v.IsError() {
			for _, l := range strings.Split(v.Text(), "\n") {
				if p, ok := parseNodesLine(l); ok && p.id == id && !strings.Contains(strings.Join(p.flags, ","), "handshake") {
					return true
				}
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return false
}

// DelNode is `--cluster del-node host:port id`.
func (m *Manager) DelNode(addr, id string) error {
	m.logInfo(">>> Removing node %s from cluster %s\n", id, addr)
	if !m.Load(addr) {
		return ErrFailed
	}
	node := m.nodeByName(id)
	if node == nil {
		m.logErr("[ERR] No such node ID %s\n", id)
		return ErrFailed
	}
	if node.SlotsCount != 0 {
		m.logErr("[ERR] Node %s is not empty! Reshard data away and try again.\n", node.Name())
		return ErrFailed
	}
	m.logInfo(">>> Sending CLUSTER FORGET messages to the cluster...\n")
	for _, n := range m.Nodes {
		if n == node {
			continue
		}
		if n.ReplicateOf != "" && strings.EqualFold(n.ReplicateOf, id) {
			master := m.nodeWithLeastReplicas(node)
			m.logInfo(">>> %s as replica of %s\n", n.Name(), master.Name())
			v, err := n.Do("CLUSTER", "REPLICATE", master.ID)
			if err != nil || v.IsError() {
				if v.IsError() {
					m.printReplyError(n, v.Text())
				}
				return ErrFailed
			}
		}
		v, err := n.Do("CLUSTER", "FORGET", id)
		if err != nil || v.IsError() {
			if v.IsError() {
				m.printReplyError(n, v.Text())
			}
			return ErrFailed
		}
	}
	m.logInfo(">>> Sending CLUSTER RESET SOFT to the deleted node.\n")
	v, err := node.Do("CLUSTER", "RESET", "SOFT")
	if err != nil || v.IsError() {
		if v.IsError() {
			m.printReplyError(node, v.Text())
		}
		return ErrFailed
	}
	return nil
}

// Call is `--cluster call host:port cmd args...`.
func (m *Manager) Call(addr string, args []string) error {
	if !m.Load(addr) {
		return ErrFailed
	}
	m.logInfo(">>> Calling")
	m.printf(" %s\n", strings.Join(args, " "))
	for _, n := range m.Nodes {
		if m.Opts.OnlyMasters && n.ReplicateOf != "" {
			continue
		}
		if m.Opts.OnlyReplicas && n.ReplicateOf == "" {
			continue
		}
		v, err := n.Do(args...)
		if err != nil {
			m.printf("%s: Failed!\n", n.Name())
			continue
		}
		m.printf("%s: %s\n", n.Name(), client.FormatRaw(v, "\n"))
	}
	return nil
}

// SetTimeout is `--cluster set-timeout host:port ms`.
func (m *Manager) SetTimeout(addr string, msArg string) error {
	ms, _ := strconv.Atoi(msArg)
	if ms < 100 {
		m.eprintf("Setting a node timeout of less than 100 milliseconds is a bad idea.\n")
		return ErrFailed
	}
	if !m.Load(addr) {
		return ErrFailed
	}
	okCount, errCount := 0, 0
	m.logInfo(">>> Reconfiguring node timeout in every cluster node...\n")
	for _, n := range m.Nodes {
		e := ""
		v, err := n.Do("CONFIG", "SET", "cluster-node-timeout", strconv.Itoa(ms))
		if err == nil && !v.IsError() {
			v, err = n.Do("CONFIG", "REWRITE")
		}
		if err == nil && !v.IsError() {
			m.logWarn("*** New timeout set for %s\n", n.Name())
			okCount++
			continue
		}
		if v.IsError() {
			e = v.Text()
		}
		m.logErr("ERR setting node-timeout for %s: %s\n", n.Name(), e)
		errCount++
	}
	m.logInfo(">>> New node timeout set. %d OK, %d ERR.\n", okCount, errCount)
	return nil
}

// Import is `--cluster import host:port --cluster-from src`.
func (m *Manager) Import(addr, from string) error {
	sip, sport, err := client.SplitHostPort(from)
	if err != nil {
		return ErrFailed
	}
	m.logInfo(">>> Importing data from %s to cluster %s\n", from, addr)
	if !m.Load(addr) {
		return ErrFailed
	}
	if !m.checkCluster(false, false) {
		return ErrFailed
	}
	src, err := client.Dial(client.JoinHostPort(sip, sport), client.Options{User: m.Opts.FromUser, Password: m.Opts.FromPass})
	if err != nil {
		if he, ok := err.(*client.HandshakeError); ok {
			m.logErr("Source %s:%d replied with error:\n%s\n", sip, sport, he.Reply)
		} else {
			m.eprintf("Could not connect to Redis at %s:%d: %s.\n", sip, sport, connErrText(err))
		}
		return ErrFailed
	}
	defer src.Close()
	srcErr := func(v resp.Value, err error) error {
		if err == nil && v.IsError() {
			m.logErr("Source %s:%d replied with error:\n%s\n", sip, sport, v.Text())
		}
		return ErrFailed
	}
	info, err := src.Do("INFO")
	if err != nil || info.IsError() {
		return srcErr(info, err)
	}
	if infoField(info.Text(), "cluster_enabled") == "1" {
		m.logErr("[ERR] The source node should not be a cluster node.\n")
		return ErrFailed
	}
	size, err := src.Do("DBSIZE")
	if err != nil || size.IsError() {
		return srcErr(size, err)
	}
	m.logWarn("*** Importing %d keys from DB 0\n", size.Int)
	var owners [slot.Count]*Node
	for _, n := range m.masters() {
		for s := 0; s < slot.Count; s++ {
			if n.Slots[s] {
				owners[s] = n
			}
		}
	}
	cursor := "0"
	for {
		r, err := src.Do("SCAN", cursor, "COUNT", "1000")
		if err != nil || r.IsError() {
			return srcErr(r, err)
		}
		cursor = r.Elems[0].Text()
		for _, k := range r.Elems[1].Elems {
			key := k.Text()
			t := owners[slot.Of(k.Str)]
			m.printf("Migrating %s to %s: ", key, t.Name())
			args := []string{"MIGRATE", t.IP, strconv.Itoa(t.Port), key, "0", strconv.Itoa(m.Opts.Timeout)}
			if m.Opts.Password != "" {
				if m.Opts.User != "" {
					args = append(args, "AUTH2", m.Opts.User, m.Opts.Password)
				} else {
					args = append(args, "AUTH", m.Opts.Password)
				}
			}
			if m.Opts.Copy {
				args = append(args, "COPY")
			}
			if m.Opts.Replace {
				args = append(args, "REPLACE")
			}
			v, err := src.Do(args...)
			if err != nil || v.IsError() {
				return srcErr(v, err)
			}
			m.logOK("OK\n")
		}
		if cursor == "0" {
			break
		}
	}
	return nil
}

// backupNode is one entry of nodes.json.
type backupNode struct {
	Name         string            `json:"name"`
	Host         string            `json:"host"`
	Port         int               `json:"port"`
	Replicate    *string           `json:"replicate"`
	Slots        [][]int           `json:"slots"`
	SlotsCount   int               `json:"slots_count"`
	Flags        string            `json:"flags"`
	CurrentEpoch int64             `json:"current_epoch"`
	Migrating    map[string]string `json:"migrating,omitempty"`
	Importing    map[string]string `json:"importing,omitempty"`
}

// Backup is `--cluster backup host:port dir`.
func (m *Manager) Backup(addr, dir string) error {
	if !m.Load(addr) {
		return ErrFailed
	}
	noIssues := m.checkCluster(false, false)
	var nodes []backupNode
	for _, n := range m.Nodes {
		bn := backupNode{Name: n.ID, Host: n.IP, Port: n.Port, SlotsCount: n.SlotsCount, Flags: strings.Join(n.Flags, ","), CurrentEpoch: n.ConfigEpoch, Slots: [][]int{}}
		if n.ReplicateOf != "" {
			r := n.ReplicateOf
			bn.Replicate = &r
		}
		start := -1
		for s := 0; s <= slot.Count; s++ {
			if s < slot.Count && n.Slots[s] {
				if start < 0 {
					start = s
				}
				continue
			}
			if start >= 0 {
				if start == s-1 {
					bn.Slots = append(bn.Slots, []int{start})
				} else {
					bn.Slots = append(bn.Slots, []int{start, s - 1})
				}
				start = -1
			}
		}
		if len(n.Migrating) > 0 {
			bn.Migrating = map[string]string{}
			for s, id := range n.Migrating {
				bn.Migrating[strconv.Itoa(s)] = id
			}
		}
		if len(n.Importing) > 0 {
			bn.Importing = map[string]string{}
			for s, id := range n.Importing {
				bn.Importing[strconv.Itoa(s)] = id
			}
		}
		nodes = append(nodes, bn)
		if n.ReplicateOf != "" {
			continue
		}
		m.logInfo(">>> Node %s -> Saving RDB...\n", n.Name())
		path := filepath.Join(dir, fmt.Sprintf("redis-node-%s-%d-%s.rdb", n.IP, n.Port, n.ID))
		if err := m.syncRDB(n, path); err != nil {
			if err != errReported {
				m.logErr("*** Error saving RDB of node %s: %v\n", n.Name(), err)
			}
			return ErrFailed
		}
	}
	jp := filepath.Join(dir, "nodes.json")
	m.printf("Saving cluster configuration to: %s\n", jp)
	if err := os.WriteFile(jp, []byte(nodesJSON(nodes, len(m.errors))), 0o644); err != nil {
		m.logErr("Could not write to file %s: %v\n", jp, err)
		return ErrFailed
	}
	if noIssues {
		m.logOK("[OK] Backup created into: %s\n", dir)
	} else {
		m.logWarn("[WARNING] Backup created into: %s, but the cluster has issues.\n", dir)
	}
	return nil
}

// syncRDB sends a raw SYNC and saves the RDB payload, as redis-cli --rdb.
func (m *Manager) syncRDB(n *Node, path string) error {
	nc, err := net.DialTimeout("tcp", n.Addr(), 5*time.Second)
	if err != nil {
		return err
	}
	defer nc.Close()
	br := bufio.NewReader(nc)
	if m.Opts.Password != "" {
		c := resp.AppendCommand(nil, "AUTH", m.Opts.Password)
		if m.Opts.User != "" {
			c = resp.AppendCommand(nil, "AUTH", m.Opts.User, m.Opts.Password)
		}
		nc.Write(c)
		l, err := br.ReadString('\n')
		if err != nil || !strings.HasPrefix(l, "+") {
			return fmt.Errorf("AUTH failed: %s", strings.TrimSpace(l))
		}
	}
	if _, err := nc.Write([]byte("SYNC\r\n")); err != nil {
		return err
	}
	nc.SetReadDeadline(time.Now().Add(time.Duration(max(m.Opts.Timeout, 60000)) * time.Millisecond))
	var size int64
	for {
		l, err := br.ReadString('\n')
		if err != nil {
			return err
		}
		l = strings.TrimRight(l, "\r\n")
		if l == "" {
			continue // keepalive newline while the master forks
		}
		if l[0] == '-' {
			return fmt.Errorf("%s", l[1:])
		}
		if l[0] != '$' || strings.HasPrefix(l, "$EOF:") {
			return fmt.Errorf("unexpected SYNC reply %q", l)
		}
		size, _ = strconv.ParseInt(l[1:], 10, 64)
		break
	}
	m.eprintf("SYNC sent to master, writing %d bytes to '%s'\n", size, path)
	f, err := os.Create(path)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			m.eprintf("Error opening '%s': %s\n", path, strerror(pe.Err))
		}
		return errReported
	}
	defer f.Close()
	if _, err := io.CopyN(f, br, size); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	m.eprintf("Transfer finished with success.\n")
	return nil
}

// errReported is an error whose message has already been printed.
var errReported = errors.New("reported")

// strerror spells an errno as C's strerror does ("No such file or
// directory"), which redis-cli prints.
func strerror(err error) string {
	s := err.Error()
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// nodesJSON writes nodes.json byte for byte as redis-cli's backup does
// (clusterManagerNodeGetJSON); encoding/json would lay it out differently.
func nodesJSON(nodes []backupNode, errorCount int) string {
	var b strings.Builder
	b.WriteString("[\n")
	for i, n := range nodes {
		if i > 0 {
			b.WriteString(",\n")
		}
		repl := "null"
		if n.Replicate != nil {
			repl = strconv.Quote(*n.Replicate)
		}
		var sl []string
		for _, r := range n.Slots {
			parts := make([]string, len(r))
			for j, x := range r {
				parts[j] = strconv.Itoa(x)
			}
			sl = append(sl, "["+strings.Join(parts, ",")+"]")
		}
		fmt.Fprintf(&b, "  {\n    \"name\": %q,\n    \"host\": %q,\n    \"port\": %d,\n    \"replicate\": %s,\n    \"slots\": [%s],\n    \"slots_count\": %d,\n    \"flags\": %q,\n    \"current_epoch\": %d",
			n.Name, n.Host, n.Port, repl, strings.Join(sl, ","), n.SlotsCount, n.Flags, n.CurrentEpoch)
		if errorCount > 0 {
			fmt.Fprintf(&b, ",\n    \"cluster_errors\": %d", errorCount)
		}
		for _, kv := range []struct {
			name string
			m    map[string]string
		}{{"migrating", n.Migrating}, {"importing", n.Importing}} {
			if len(kv.m) == 0 {
				continue
			}
			var keys []int
			for k := range kv.m {
				x, _ := strconv.Atoi(k)
				keys = append(keys, x)
			}
			sort.Ints(keys)
			var ps []string
			for _, k := range keys {
				ps = append(ps, fmt.Sprintf("%q: %q", strconv.Itoa(k), kv.m[strconv.Itoa(k)]))
			}
			fmt.Fprintf(&b, ",\n    \"%s\": {%s}", kv.name, strings.Join(ps, ","))
		}
		b.WriteString("\n  }")
	}
	b.WriteString("\n]")
	return b.String()
}
