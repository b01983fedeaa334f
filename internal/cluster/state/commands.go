package state

import (
	_ "embed"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/reefkv/reef/internal/cluster/msg"
	"github.com/reefkv/reef/internal/slot"
)

//go:embed help.txt
var helpText string

// HelpLines are the lines of CLUSTER HELP, as Redis 7.0 prints them.
var HelpLines = strings.Split(strings.TrimSuffix(helpText, "\n"), "\n")

// arity is the command-table arity of each subcommand handled here
// (negative: minimum), for "wrong number of arguments" errors.
var arity = map[string]int{
	"addslots": -3, "addslotsrange": -4, "bumpepoch": 2, "count-failure-reports": 3, "countkeysinslot": 3,
	"delslots": -3, "delslotsrange": -4, "failover": -2, "flushslots": 2, "forget": 3, "getkeysinslot": 4,
	"help": 2, "info": 2, "keyslot": 3, "links": 2, "meet": -4, "myid": 2, "nodes": 2, "replicas": 3,
	"replicate": 3, "reset": -2, "saveconfig": 2, "set-config-epoch": 3, "setslot": -4, "shards": 2,
	"slaves": 3, "slots": 2,
}

func errf(format string, args ...any) Error {
	return Error("ERR " + fmt.Sprintf(format, args...))
}

// parseLL is Redis's string2ll: an optional '-', digits, no leading zeros,
// no '+', no spaces, within int64.
func parseLL(s string) (int64, bool) {
	if s == "" || len(s) > 20 {
		return 0, false
	}
	if s == "0" {
		return 0, true
	}
	neg := false
	p := s
	if p[0] == '-' {
		neg = true
		p = p[1:]
	}
	if p == "" || p[0] < '1' || p[0] > '9' {
		return 0, false
	}
	var v uint64
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		if v > (1<<64-1)/10 {
			return 0, false
		}
		v = v*10 + uint64(c-'0')
	}
	if neg {
		if v > 1<<63 {
			return 0, false
		}
		return -int64(v), true
	}
	if v > 1<<63-1 {
		return 0, false
	}
	return int64(v), true
}

func parseSlot(s string) (int, bool) {
	v, ok := parseLL(s)
	if !ok || v < 0 || v >= slot.Count {
		return 0, false
	}
	return int(v), true
}

const errInvalidSlot = Error("ERR Invalid or out of range slot")

// NormalizeIP returns ip in inet_ntop form if it is a numeric IPv4 or IPv6
// address (no zone), as Redis's CLUSTER MEET accepts.
func NormalizeIP(ip string) (string, bool) {
	a, err := netip.ParseAddr(ip)
	if err != nil || a.Zone() != "" {
		return "", false
	}
	return a.String(), true
}

// Handle executes a CLUSTER subcommand. Replies carry Redis's exact
// texts. The driver must apply Ready (persisting) before the reply goes to
// the client, as Redis saves in before-sleep before writing replies.
func (m *Machine) Handle(now int64, c Command) Reply {
	m.now = now
	if len(c.Args) == 0 {
		return Error("ERR wrong number of arguments for 'cluster' command")
	}
	sub := strings.ToLower(c.Args[0])
	a, known := arity[sub]
	if !known {
		return Error("ERR unknown subcommand '" + c.Args[0] + "'. Try CLUSTER HELP.")
	}
	argc := len(c.Args) + 1 // as Redis counts: CLUSTER is argv[0]
	if (a > 0 && argc != a) || (a < 0 && argc < -a) {
		return Error("ERR wrong number of arguments for 'cluster|" + sub + "' command")
	}
	syntax := Error("ERR unknown subcommand or wrong number of arguments for '" + c.Args[0] + "'. Try CLUSTER HELP.")
	args := c.Args
	me := m.myself
	switch sub {
	case "help":
		return Lines(HelpLines)
	case "info":
		return Verbatim(m.Info())
	case "nodes":
		return Verbatim(m.Nodes())
	case "myid":
		return Bulk(me.id.String())
	case "slots":
		return m.Slots()
	case "shards":
		return m.Shards()
	case "links":
		return m.Links()
	case "keyslot":
		return Int(slot.OfString(args[1]))
	case "countkeysinslot", "getkeysinslot":
		return NotHandled{}
	case "saveconfig":
		m.saveConfig(true)
		return SaveConfig{}
	case "meet":
		if argc != 4 && argc != 5 {
			return syntax
		}
		return m.cmdMeet(args[1], args[2], args[3:])
	case "flushslots":
		if c.DBSize != 0 {
			return Error("ERR DB must be empty to perform CLUSTER FLUSHSLOTS.")
		}
		m.delNodeSlots(me)
		m.todo |= todoUpdateState | todoSaveConfig
		return Status("OK")
	case "addslots", "delslots":
		return m.cmdAddDelSlots(args[1:], sub == "delslots", false)
	case "addslotsrange", "delslotsrange":
		if argc%2 == 1 {
			return Error("ERR wrong number of arguments for 'cluster|" + sub + "' command")
		}
		return m.cmdAddDelSlots(args[1:], sub == "delslotsrange", true)
	case "setslot":
		return m.cmdSetSlot(c)
	case "bumpepoch":
		if m.bumpEpochWithoutConsensus() {
			m.todo |= todoSaveConfig | todoUpdateState
			return Status("BUMPED " + strconv.FormatUint(me.configEpoch, 10))
		}
		return Status("STILL " + strconv.FormatUint(me.configEpoch, 10))
	case "set-config-epoch":
		e, ok := parseLL(args[1])
		switch {
		case !ok:
			return Error("ERR value is not an integer or out of range")
		case e < 0:
			return Error("ERR Invalid config epoch specified: " + args[1])
		case len(m.nodes) > 1:
			return Error("ERR The user can assign a config epoch only when the node does not know any other node.")
		case me.configEpoch != 0:
			return Error("ERR Node config epoch is already non-zero")
		}
		me.configEpoch = uint64(e)
		m.logf(LevelVerbose, "configEpoch set to %d via CLUSTER SET-CONFIG-EPOCH", me.configEpoch)
		if m.currentEpoch < uint64(e) {
			m.currentEpoch = uint64(e)
		}
		m.saveConfig(true)
		m.todo |= todoUpdateState
		m.version++
		return Status("OK")
	case "forget":
		n := m.lookup(args[1])
		switch {
		case n == nil:
			return errf("Unknown node %s", args[1])
		case n == me:
			return Error("ERR I tried hard but I can't forget myself...")
		case me.isReplica() && me.master == n:
			return Error("ERR Can't forget my master!")
		}
		m.blacklistAdd(n)
		m.delNode(n)
		m.todo |= todoUpdateState | todoSaveConfig
		return Status("OK")
	case "replicate":
		n := m.lookup(args[1])
		switch {
		case n == nil:
			return errf("Unknown node %s", args[1])
		case n == me:
			return Error("ERR Can't replicate myself")
		case n.isReplica():
			return Error("ERR I can only replicate a master, not a replica.")
		case me.isMaster() && (me.numSlots != 0 || c.DBSize != 0):
			return Error("ERR To set a master the node must be empty and without assigned slots.")
		}
		m.setMyMaster(n)
		m.todo |= todoUpdateState | todoSaveConfig
		return Status("OK")
	case "replicas", "slaves":
		n := m.lookup(args[1])
		if n == nil {
			return errf("Unknown node %s", args[1])
		}
		if n.isReplica() {
			return Error("ERR The specified node is not a master")
		}
		return m.replicasOf(n)
	case "count-failure-reports":
		n := m.lookup(args[1])
		if n == nil {
			return errf("Unknown node %s", args[1])
		}
		return Int(m.failureReportsCount(n))
	case "failover":
		if argc > 3 {
			return syntax
		}
		return m.cmdFailover(args[1:])
	case "reset":
		if argc > 3 {
			return syntax
		}
		hard := false
		if argc == 3 {
			switch strings.ToLower(args[1]) {
			case "hard":
				hard = true
			case "soft":
			default:
				return Error("ERR syntax error")
			}
		}
		if me.isMaster() && c.DBSize != 0 {
			return Error("ERR CLUSTER RESET can't be called with master nodes containing keys")
		}
		m.reset(hard)
		return Status("OK")
	}
	return syntax
}

func (m *Machine) cmdMeet(ip, portArg string, rest []string) Reply {
	port, ok := parseLL(portArg)
	if !ok {
		return Error("ERR Invalid TCP base port specified: " + portArg)
	}
	cport := port + 10000
	if len(rest) == 1 {
		if cport, ok = parseLL(rest[0]); !ok {
			return Error("ERR Invalid TCP bus port specified: " + rest[0])
		}
	}
	if !m.StartHandshake(ip, port, cport) {
		return Error("ERR Invalid node address specified: " + ip + ":" + portArg)
	}
	return Status("OK")
}

// StartHandshake is clusterStartHandshake: add a handshake node for
// ip:port@cport unless one is already in progress. False: invalid address.
func (m *Machine) StartHandshake(ip string, port, cport int64) bool {
	norm, ok := NormalizeIP(ip)
	if !ok || port <= 0 || port > 65535 || cport <= 0 || cport > 65535 {
		return false
	}
	for _, n := range m.nodes {
		if n.inHandshake() && n.ip == norm && int64(n.port) == port && int64(n.cport) == cport {
			return true
		}
	}
	n := m.newNode(m.randomID(), msg.FlagHandshake|msg.FlagMeet)
	n.ip, n.port, n.cport = norm, uint16(port), uint16(cport)
	m.addNode(n)
	return true
}

func (m *Machine) cmdAddDelSlots(args []string, del, ranges bool) Reply {
	var mark [slot.Count]byte
	check := func(start, end int) Reply {
		for j := start; j <= end; j++ {
			if del && m.slots[j] == nil {
				return errf("Slot %d is already unassigned", j)
			} else if !del && m.slots[j] != nil {
				return errf("Slot %d is already busy", j)
			}
			mark[j]++
			if mark[j] == 2 {
				return errf("Slot %d specified multiple times", j)
			}
		}
		return nil
	}
	if ranges {
		for i := 0; i < len(args); i += 2 {
			a, ok1 := parseSlot(args[i])
			if !ok1 {
				return errInvalidSlot
			}
			b, ok2 := parseSlot(args[i+1])
			if !ok2 {
				return errInvalidSlot
			}
			if a > b {
				return errf("start slot number %d is greater than end slot number %d", a, b)
			}
			if r := check(a, b); r != nil {
				return r
			}
		}
	} else {
		slots := make([]int, len(args))
		for i, s := range args {
			j, ok := parseSlot(s)
			if !ok {
				return errInvalidSlot
			}
			slots[i] = j
		}
		for _, j := range slots {
			if r := check(j, j); r != nil {
				return r
			}
		}
	}
	for j := 0; j < slot.Count; j++ {
		if mark[j] == 0 {
			continue
		}
		delete(m.importing, j)
		if del {
			m.delSlot(j)
		} else {
			m.addSlot(m.myself, j)
		}
	}
	m.todo |= todoUpdateState | todoSaveConfig
	return Status("OK")
}

func (m *Machine) cmdSetSlot(c Command) Reply {
	args := c.Args
	me := m.myself
	if me.isReplica() {
		if c.FromMaster {
			return m.replicaSetSlot(args)
		}
		return Error("ERR Please use SETSLOT only with masters.")
	}
	j, ok := parseSlot(args[1])
	if !ok {
		return errInvalidSlot
	}
	keys := func() int64 {
		if c.KeysInSlot == nil {
			return 0
		}
		return c.KeysInSlot(j)
	}
	action := strings.ToLower(args[2])
	switch {
	case action == "migrating" && len(args) == 4:
		if m.slots[j] != me {
			return errf("I'm not the owner of hash slot %d", j)
		}
		n := m.lookup(args[3])
		if n == nil {
			return errf("I don't know about node %s", args[3])
		}
		if n.isReplica() {
			return Error("ERR Target node is not a master")
		}
		m.migrating[j] = n
	case action == "importing" && len(args) == 4:
		if m.slots[j] == me {
			return errf("I'm already the owner of hash slot %d", j)
		}
		n := m.lookup(args[3])
		if n == nil {
			return errf("I don't know about node %s", args[3])
		}
		if n.isReplica() {
			return Error("ERR Target node is not a master")
		}
		m.importing[j] = n
	case action == "stable" && len(args) == 3:
		delete(m.importing, j)
		delete(m.migrating, j)
	case action == "node" && len(args) == 4:
		n := m.lookup(args[3])
		if n == nil {
			return errf("Unknown node %s", args[3])
		}
		if n.isReplica() {
			return Error("ERR Target node is not a master")
		}
		if m.slots[j] == me && n != me && keys() != 0 {
			return errf("Can't assign hashslot %d to a different node while I still hold keys for this hash slot.", j)
		}
		if keys() == 0 && m.migrating[j] != nil {
			delete(m.migrating, j)
		}
		wasMine := m.slots[j] == me
		m.delSlot(j)
		m.addSlot(n, j)
		if wasMine && n != me && me.numSlots == 0 && m.cfg.AllowReplicaMigration {
			m.logf(LevelWarning, "Configuration change detected. Reconfiguring myself as a replica of %s", n.id)
			m.setMyMaster(n)
			m.saveConfig(true)
			m.todo |= todoUpdateState
		}
		if n == me && m.importing[j] != nil {
			if m.bumpEpochWithoutConsensus() {
				m.logf(LevelWarning, "configEpoch updated after importing slot %d", j)
			}
			delete(m.importing, j)
			m.broadcastPong(false)
		}
	default:
		return Error("ERR Invalid CLUSTER SETSLOT action or number of arguments. Try CLUSTER HELP")
	}
	m.version++
	m.todo |= todoSaveConfig | todoUpdateState
	return Status("OK")
}

func (m *Machine) cmdFailover(args []string) Reply {
	force, takeover := false, false
	if len(args) == 1 {
		switch strings.ToLower(args[0]) {
		case "force":
			force = true
		case "takeover":
			takeover, force = true, true
		default:
			return Error("ERR syntax error")
		}
	}
	me := m.myself
	switch {
	case me.isMaster():
		return Error("ERR You should send CLUSTER FAILOVER to a replica")
	case me.master == nil:
		return Error("ERR I'm a replica but my master is unknown to me")
	case !force && (me.master.failed() || me.master.link == nil):
		return Error("ERR Master is down or failed, please use CLUSTER FAILOVER FORCE")
	}
	m.resetManualFailover()
	m.mfEnd = m.now + MFTimeout
	switch {
	case takeover:
		m.logf(LevelWarning, "Taking over the master (user request).")
		m.bumpEpochWithoutConsensus()
		m.replaceMyMaster()
	case force:
		m.logf(LevelWarning, "Forced failover user request accepted.")
		m.mfCanStart = true
		m.todo |= todoHandleFailover
	default:
		m.logf(LevelWarning, "Manual failover user request accepted.")
		m.send(me.master, m.header(msg.TypeMFStart))
	}
	return Status("OK")
}

// reset is clusterReset.
func (m *Machine) reset(hard bool) {
	me := m.myself
	if me.isReplica() {
		m.setNodeAsMaster(me)
		m.event(BecomeMaster{})
		m.event(FlushData{})
	}
	m.closeAllSlots()
	m.resetManualFailover()
	for j := 0; j < slot.Count; j++ {
		m.delSlot(j)
	}
	for _, n := range append([]*node(nil), m.nodes...) {
		if n != me {
			m.delNode(n)
		}
	}
	if hard {
		m.currentEpoch, m.lastVoteEpoch, me.configEpoch = 0, 0, 0
		m.logf(LevelWarning, "configEpoch set to 0 via CLUSTER RESET HARD")
		m.renameNode(me, m.randomID())
		m.logf(LevelNotice, "Node hard reset, now I'm %s", me.id)
	}
	m.saveConfig(true)
	m.todo |= todoUpdateState
	m.version++
}
