package admin

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/reefkv/reef/internal/client"
	"github.com/reefkv/reef/internal/resp"
	"github.com/reefkv/reef/internal/slot"
)

// Node is one cluster node as the manager sees it: its own CLUSTER NODES
// "myself" line, plus the replica count computed from every node's view.
type Node struct {
	ID          string
	IP          string
	Port        int
	Flags       []string // as printed, without "myself"
	ReplicateOf string   // master ID for a replica, "" for a master
	Slots       [slot.Count]bool
	SlotsCount  int
	Migrating   map[int]string // slot -> target ID (myself line markers)
	Importing   map[int]string // slot -> source ID
	ConfigEpoch int64
	Replicas    int // replicas known to point at this master

	// Weight and Balance are rebalance scratch values.
	Weight  float64
	Balance int
	// Dirty marks a create-time node whose planned config (slots or
	// replicate) has not been sent yet.
	Dirty bool

	// hasFailFlag records "fail"/"noaddr" in the seed's view.
	badInSeedView bool

	conn *client.Conn
	m    *Manager
}

// Addr is "ip:port".
func (n *Node) Addr() string { return client.JoinHostPort(n.IP, n.Port) }

// Name is "ip:port" as redis-cli prints it (no brackets).
func (n *Node) Name() string { return n.IP + ":" + strconv.Itoa(n.Port) }

// IsReplica reports whether the node is a replica (flag "slave" or a master ID).
func (n *Node) IsReplica() bool {
	return n.ReplicateOf != "" || slices.Contains(n.Flags, "slave")
}

func (n *Node) hasFlag(f string) bool { return slices.Contains(n.Flags, f) }

// Conn returns the node's manager connection, dialing it if needed.
func (n *Node) Conn() (*client.Conn, error) {
	if n.conn != nil && !n.conn.Closed() {
		return n.conn, nil
	}
	c, err := client.Dial(n.Addr(), n.m.connOpts())
	if err != nil {
		return nil, err
	}
	n.conn = c
	return c, nil
}

// Do runs a command on the node. A failed dial or I/O error is returned as a
// Go error; a server error reply is a Value of error kind.
func (n *Node) Do(args ...string) (resp.Value, error) {
	c, err := n.Conn()
	if err != nil {
		return resp.Value{}, err
	}
	return c.Do(args...)
}

// DoErr runs a command and turns an error reply into a Go error whose text is
// the server's.
func (n *Node) DoErr(args ...string) (resp.Value, error) {
	v, err := n.Do(args...)
	if err != nil {
		return v, err
	}
	return v, v.Err()
}

func (n *Node) close() {
	if n.conn != nil {
		n.conn.Close()
		n.conn = nil
	}
}

// slotsString formats owned slots as redis-cli does: "[0-5460],[5462]".
func (n *Node) slotsString() string {
	var b strings.Builder
	start := -1
	flush := func(end int) {
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		if start == end {
			fmt.Fprintf(&b, "[%d]", start)
		} else {
			fmt.Fprintf(&b, "[%d-%d]", start, end)
		}
	}
	for s := 0; s < slot.Count; s++ {
		if n.Slots[s] {
			if start < 0 {
				start = s
			}
		} else if start >= 0 {
			flush(s - 1)
			start = -1
		}
	}
	if start >= 0 {
		flush(slot.Count - 1)
	}
	return b.String()
}

// info is redis-cli's clusterManagerNodeInfo.
func (n *Node) info(indent int) string {
	sp := strings.Repeat(" ", indent)
	var b strings.Builder
	b.WriteString(sp)
	role := "M"
	if n.IsReplica() {
		role = "S"
	}
	if n.Dirty && n.ReplicateOf != "" {
		fmt.Fprintf(&b, "S: %s %s", n.ID, n.Name())
	} else {
		fmt.Fprintf(&b, "%s: %s %s\n%s   slots:%s (%d slots) %s", role, n.ID, n.Name(), sp, n.slotsString(), n.SlotsCount, strings.Join(n.Flags, ","))
	}
	if n.ReplicateOf != "" {
		fmt.Fprintf(&b, "\n%s   replicates %s", sp, n.ReplicateOf)
	} else if n.Replicas > 0 {
		fmt.Fprintf(&b, "\n%s   %d additional replica(s)", sp, n.Replicas)
	}
	return b.String()
}

// Options are the --cluster-* options of every subcommand.
type Options struct {
	User, Password string // -a / --user / --pass for every node

	Replicas             int
	SearchMultipleOwners bool
	FixWithUnreachable   bool
	From, To             string
	Slots                int
	Yes                  bool
	Timeout              int // MIGRATE timeout, ms
	Pipeline             int // keys per GETKEYSINSLOT/MIGRATE (redis-cli: 10)
	Replace              bool
	Weights              []string
	AutoWeights          bool
	UseEmptyMasters      bool
	Simulate             bool
	Threshold            float64
	Slave                bool
	MasterID             string
	OnlyMasters          bool
	OnlyReplicas         bool
	FromUser, FromPass   string
	Copy                 bool
	Verbose              bool

	// Beyond redis-cli.

	// By is what rebalance balances: "slots" (redis-cli), "keys" or "memory".
	By string
	// Parallel is how many (source, target) pairs move at once; 0 picks one
	// per pair, 1 is redis-cli's sequential behaviour.
	Parallel int
	// SlotBatch is how many slots of one pair are opened and closed together
	// (one fsync of nodes.conf per batch instead of per slot). 1 = redis-cli.
	// The default, 256, makes a rebalance a few dozen fsyncs per node, which
	// matters on a busy disk (a few ms each), while an interrupted run
	// leaves at most that many slots per pair for Apply or Fix to finish.
	SlotBatch int
	// MaxBatchBytes bounds the payload of one MIGRATE (default 32 MB: even
	// at 100 MB/s that blocks the source well under a second, far below any
	// sane cluster-node-timeout). Collections bigger than BigKeyBytes move
	// in chunks. Sizes come from MEMORY USAGE, skipped when the source's
	// whole dataset is below both bounds.
	MaxBatchBytes int64
	BigKeyBytes   int64
	// Legacy forces redis-cli's exact one-slot-at-a-time protocol.
	Legacy bool
	// PlanFile is where "plan" writes and "apply" reads.
	PlanFile string
	// Progress draws progress bars (stdout is a terminal).
	Progress bool
}

// DefaultOptions returns redis-cli's defaults plus Reef's fast-move defaults.
func DefaultOptions() Options {
	return Options{
		Timeout:       60000,
		Pipeline:      10,
		Threshold:     2,
		By:            "slots",
		SlotBatch:     256,
		MaxBatchBytes: 32 << 20,
		BigKeyBytes:   32 << 20,
	}
}

// Manager runs cluster operations. It is used by one goroutine (the slot
// movers it starts are joined before an operation returns).
type Manager struct {
	Opts  Options
	out   *printer
	in    *lineReader
	Nodes []*Node // seed first, then the seed's CLUSTER NODES order
	// errors recorded by check, as redis-cli's cluster_manager.errors.
	errors             []string
	unreachableMasters int
	// progress, when set, replaces per-slot lines with a progress sink.
	progress Progress
	// atomicCache remembers each node's atomic-migration dialect.
	atomicCache map[string]string
	// fixing is set while running `fix` (redis-cli's CMD_FLAG_FIX).
	fixing bool
	// stderr receives what redis-cli writes to stderr.
	stderr io.Writer
	// now is the clock, replaceable in tests.
	now func() time.Time
}

// New returns a manager that prints to out (colours when color is true),
// reads answers from in and writes redis-cli's stderr lines to errw.
func New(opts Options, out io.Writer, errw io.Writer, in io.Reader, color bool) *Manager {
	if in == nil {
		in = strings.NewReader("")
	}
	if errw == nil {
		errw = os.Stderr
	}
	return &Manager{Opts: opts, out: &printer{w: out, color: color}, in: &lineReader{br: bufio.NewReader(in)}, stderr: errw, now: time.Now}
}

func (m *Manager) connOpts() client.Options {
	return client.Options{User: m.Opts.User, Password: m.Opts.Password, DialTimeout: 5 * time.Second}
}

func (m *Manager) printf(format string, a ...any) { m.out.printf(format, a...) }
func (m *Manager) logInfo(format string, a ...any) {
	m.out.log(lvlInfo, format, a...)
}
func (m *Manager) logWarn(format string, a ...any) { m.out.log(lvlWarn, format, a...) }
func (m *Manager) logErr(format string, a ...any)  { m.out.log(lvlErr, format, a...) }
func (m *Manager) logOK(format string, a ...any)   { m.out.log(lvlOK, format, a...) }
func (m *Manager) eprintf(format string, a ...any) {
	m.out.mu.Lock()
	defer m.out.mu.Unlock()
	fmt.Fprintf(m.stderr, format, a...)
}

// onError records a check error and prints it, as clusterManagerOnError.
func (m *Manager) onError(msg string) {
	m.errors = append(m.errors, msg)
	m.logErr("%s\n", msg)
}

// printReplyError is CLUSTER_MANAGER_PRINT_REPLY_ERROR.
func (m *Manager) printReplyError(n *Node, err string) {
	m.logErr("Node %s replied with error:\n%s\n", n.Name(), err)
}

// Close closes every node connection.
func (m *Manager) Close() {
	for _, n := range m.Nodes {
		n.close()
	}
}

func (m *Manager) newNode(ip string, port int) *Node {
	return &Node{IP: ip, Port: port, m: m, Migrating: map[int]string{}, Importing: map[int]string{}, Weight: 1}
}

// connect dials a node printing redis-cli's message on failure.
func (m *Manager) connect(n *Node) bool {
	if _, err := n.Conn(); err != nil {
		var he *client.HandshakeError
		if ok := asHandshake(err, &he); ok {
			m.printReplyError(n, he.Reply)
		} else {
			m.eprintf("Could not connect to Redis at %s: %s\n", n.Name(), connErrText(err))
		}
		return false
	}
	return true
}

func asHandshake(err error, he **client.HandshakeError) bool {
	h, ok := err.(*client.HandshakeError)
	if ok {
		*he = h
	}
	return ok
}

// connErrText turns a Go dial error into hiredis's wording.
func connErrText(err error) string {
	s := err.Error()
	switch {
	case strings.Contains(s, "connection refused"):
		return "Connection refused"
	case strings.Contains(s, "timeout"):
		return "Connection timed out"
	}
	return s
}

// isCluster checks INFO for cluster_enabled:1.
func (m *Manager) isCluster(n *Node) (bool, string) {
	v, err := n.Do("INFO", "cluster")
	if err != nil {
		return false, err.Error()
	}
	if v.IsError() {
		return false, v.Text()
	}
	return infoField(v.Text(), "cluster_enabled") == "1", ""
}

func (m *Manager) printNotClusterNodeError(n *Node, err string) {
	msg := "is not configured as a cluster node."
	if err != "" {
		msg = err
	}
	m.logErr("[ERR] Node %s %s\n", n.Name(), msg)
}

// infoField extracts "name:value" from an INFO text.
func infoField(info, name string) string {
	for _, line := range strings.Split(info, "\n") {
		line = strings.TrimRight(line, "\r")
		if strings.HasPrefix(line, name+":") {
			return line[len(name)+1:]
		}
	}
	return ""
}

// parsedLine is one CLUSTER NODES line.
type parsedLine struct {
	id, ip   string
	port     int
	flags    []string
	master   string
	epoch    int64
	link     string
	slots    []string // raw slot tokens
	myself   bool
	noaddr   bool
	fail     bool
	isSlave  bool
	rawAddr  string
	hostname string
}

func parseNodesLine(line string) (parsedLine, bool) {
	f := strings.Fields(line)
	if len(f) < 8 {
		return parsedLine{}, false
	}
	p := parsedLine{id: f[0], rawAddr: f[1], link: f[7], slots: f[8:]}
	addr := f[1]
	if i := strings.IndexByte(addr, ','); i >= 0 {
		p.hostname = addr[i+1:]
		addr = addr[:i]
	}
	if i := strings.IndexByte(addr, '@'); i >= 0 {
		addr = addr[:i]
	}
	if i := strings.LastIndexByte(addr, ':'); i >= 0 {
		p.ip = addr[:i]
		p.port, _ = strconv.Atoi(addr[i+1:])
	}
	for _, fl := range strings.Split(f[2], ",") {
		switch fl {
		case "myself":
			p.myself = true
			continue
		case "noaddr":
			p.noaddr = true
		case "fail":
			p.fail = true
		case "slave":
			p.isSlave = true
		}
		p.flags = append(p.flags, fl)
	}
	if f[3] != "-" {
		p.master = f[3]
	}
	p.epoch, _ = strconv.ParseInt(f[6], 10, 64)
	return p, true
}

// applySlots fills n's slot table and open-slot markers from slot tokens.
func (n *Node) applySlots(tokens []string) {
	for _, t := range tokens {
		if strings.HasPrefix(t, "[") {
			t = strings.Trim(t, "[]")
			if i := strings.Index(t, "->-"); i >= 0 {
				s, _ := strconv.Atoi(t[:i])
				n.Migrating[s] = t[i+3:]
			} else if i := strings.Index(t, "-<-"); i >= 0 {
				s, _ := strconv.Atoi(t[:i])
				n.Importing[s] = t[i+3:]
			}
			continue
		}
		a, b := t, t
		if i := strings.IndexByte(t, '-'); i >= 0 {
			a, b = t[:i], t[i+1:]
		}
		x, err1 := strconv.Atoi(a)
		y, err2 := strconv.Atoi(b)
		if err1 != nil || err2 != nil {
			continue
		}
		for s := x; s <= y && s < slot.Count; s++ {
			if !n.Slots[s] {
				n.Slots[s] = true
				n.SlotsCount++
			}
		}
	}
}

// loadSelf loads the node's own line from its CLUSTER NODES and returns all
// lines for the caller that wants the friends.
func (m *Manager) loadSelf(n *Node) ([]parsedLine, error) {
	v, err := n.Do("CLUSTER", "NODES")
	if err != nil {
		return nil, err
	}
	if v.IsError() {
		return nil, v.Err()
	}
	var lines []parsedLine
	for _, l := range strings.Split(v.Text(), "\n") {
		p, ok := parseNodesLine(l)
		if !ok {
			continue
		}
		lines = append(lines, p)
		if p.myself {
			n.ID = p.id
			n.Flags = p.flags
			n.ReplicateOf = p.master
			n.ConfigEpoch = p.epoch
			n.Slots = [slot.Count]bool{}
			n.SlotsCount = 0
			n.Migrating = map[int]string{}
			n.Importing = map[int]string{}
			n.applySlots(p.slots)
			if p.ip != "" && n.IP == "" {
				n.IP = p.ip
			}
		}
	}
	if n.ID == "" {
		return nil, fmt.Errorf("no myself line in CLUSTER NODES")
	}
	return lines, nil
}

// Load discovers the cluster from a seed node (clusterManagerLoadInfoFromNode).
// It prints redis-cli's messages and returns false on failure.
func (m *Manager) Load(addr string) bool {
	ip, port, err := client.SplitHostPort(addr)
	if err != nil {
		m.eprintf("Invalid address format: %s\n", addr)
		return false
	}
	seed := m.newNode(ip, port)
	if !m.connect(seed) {
		return false
	}
	if ok, e := m.isCluster(seed); !ok {
		m.printNotClusterNodeError(seed, e)
		return false
	}
	lines, err := m.loadSelf(seed)
	if err != nil {
		m.printReplyError(seed, err.Error())
		return false
	}
	m.Nodes = []*Node{seed}
	m.unreachableMasters = 0
	for _, p := range lines {
		if p.myself {
			continue
		}
		fr := m.newNode(p.ip, p.port)
		fr.ID = p.id
		fr.Flags = p.flags
		fr.ReplicateOf = p.master
		fr.badInSeedView = p.noaddr || p.fail
		// Like redis-cli, a friend is dialed even when the seed flags it
		// failed (printing why it cannot be reached), and skipped after.
		if p.ip == "" || p.port == 0 {
			if !p.isSlave {
				m.unreachableMasters++
			}
			continue
		}
		if _, err := fr.Conn(); err != nil {
			m.eprintf("Could not connect to Redis at %s: %s\n", fr.Name(), connErrText(err))
			if !p.isSlave {
				m.unreachableMasters++
			}
			continue
		}
		if _, err := m.loadSelf(fr); err != nil {
			m.logErr("[ERR] Unable to load info for node %s\n", fr.Name())
			fr.close()
			if !p.isSlave {
				m.unreachableMasters++
			}
			continue
		}
		if fr.badInSeedView || fr.hasFlag("noaddr") || fr.hasFlag("fail") {
			fr.close()
			if !p.isSlave {
				m.unreachableMasters++
			}
			continue
		}
		m.Nodes = append(m.Nodes, fr)
	}
	m.countReplicas()
	return true
}

func (m *Manager) countReplicas() {
	for _, n := range m.Nodes {
		n.Replicas = 0
	}
	for _, n := range m.Nodes {
		if n.ReplicateOf == "" {
			continue
		}
		master := m.nodeByName(n.ReplicateOf)
		if master == nil {
			m.logWarn("*** WARNING: %s claims to be slave of unknown node ID %s.\n", n.Name(), n.ReplicateOf)
			continue
		}
		master.Replicas++
	}
}

// Reload re-reads every known node's own view (after moves).
func (m *Manager) reloadAll() error {
	for _, n := range m.Nodes {
		if _, err := m.loadSelf(n); err != nil {
			return fmt.Errorf("reload %s: %w", n.Name(), err)
		}
	}
	m.countReplicas()
	return nil
}

// nodeByName finds a node by exact ID (case-insensitive).
func (m *Manager) nodeByName(id string) *Node {
	id = strings.ToLower(id)
	for _, n := range m.Nodes {
		if n.ID == id {
			return n
		}
	}
	return nil
}

// nodeByAbbreviatedName finds a master by a unique ID prefix.
func (m *Manager) nodeByAbbreviatedName(prefix string) *Node {
	prefix = strings.ToLower(prefix)
	var found *Node
	for _, n := range m.Nodes {
		if n.IsReplica() {
			continue
		}
		if strings.HasPrefix(n.ID, prefix) {
			if found != nil {
				return nil
			}
			found = n
		}
	}
	return found
}

// masters returns the master nodes in load order.
func (m *Manager) masters() []*Node {
	var out []*Node
	for _, n := range m.Nodes {
		if !n.IsReplica() {
			out = append(out, n)
		}
	}
	return out
}

// nodeWithLeastReplicas is clusterManagerNodeWithLeastReplicas.
func (m *Manager) nodeWithLeastReplicas(exclude *Node) *Node {
	var best *Node
	for _, n := range m.masters() {
		if n == exclude {
			continue
		}
		if best == nil || n.Replicas < best.Replicas {
			best = n
		}
	}
	return best
}

// signature is clusterManagerGetConfigSignature for one node's view.
func (m *Manager) signature(n *Node) (string, bool) {
	v, err := n.Do("CLUSTER", "NODES")
	if err != nil || v.IsError() {
		return "", false
	}
	var cfgs []string
	for _, l := range strings.Split(v.Text(), "\n") {
		f := strings.Fields(l)
		if len(f) < 9 {
			continue
		}
		var sl []string
		for _, t := range f[8:] {
			if !strings.HasPrefix(t, "[") {
				sl = append(sl, t)
			}
		}
		if len(sl) == 0 {
			continue
		}
		sort.Strings(sl)
		cfgs = append(cfgs, f[0]+":"+strings.Join(sl, ","))
	}
	sort.Strings(cfgs)
	return strings.Join(cfgs, "|"), true
}

// isConfigConsistent is clusterManagerIsConfigConsistent.
func (m *Manager) isConfigConsistent() bool {
	first := ""
	for i, n := range m.Nodes {
		s, ok := m.signature(n)
		if !ok {
			return false
		}
		if i == 0 {
			first = s
		} else if s != first {
			return false
		}
	}
	return true
}
