package sim

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/reefkv/reef/internal/cluster/msg"
	"github.com/reefkv/reef/internal/cluster/state"
	"github.com/reefkv/reef/internal/slot"
)

// DefaultTrace are the log lines a scenario traces unless told otherwise:
// the ones an operator would grep for.
var DefaultTrace = []string{
	"Cluster state changed",
	"Marking node",
	"Failover election won",
	"Starting a failover election",
	"Start of election delayed",
	"configEpoch collision",
	"Configuration change detected",
	"Failover auth granted",
	"Failover auth denied",
	"Clear FAIL state",
	"Migrating to orphaned",
	"Manual failover",
	"manual failover",
	"Taking over",
	"New configEpoch",
	"configEpoch set to",
	"Currently unable to failover",
}

// Run executes a scenario script and returns its trace. Errors are about
// the script itself (unknown command, bad argument); a failed expectation
// or a violated invariant is recorded in the trace, which the golden file
// then shows.
//
// Script language, one command per line ('#' starts a comment):
//
//	seed N                      seed for everything random (first line)
//	nodes N [opt=value ...]     start N fresh nodes; options: node-timeout,
//	                            require-full-coverage, migration-barrier,
//	                            replica-validity-factor, allow-replica-migration
//	cluster NODE SUB ARGS...    run CLUSTER SUB on NODE; $nK expands to nK's ID
//	meet A B                    CLUSTER MEET on A with B's address
//	addslots NODE FROM TO       CLUSTER ADDSLOTSRANGE FROM TO on NODE
//	epochs                      CLUSTER SET-CONFIG-EPOCH i+1 on every node ni
//	run DURATION                advance time (500ms, 3s)
//	wait DURATION COND...       run until COND holds (or report TIMEOUT)
//	expect COND...              check COND now
//	partition A B | C D ...     split the network into groups
//	heal                        remove partitions
//	kill NODE / restart NODE    crash a node / boot it from its nodes.conf
//	offset NODE N               set the node's replication offset
//	loss P / delay MIN MAX      probability that a message is lost and its link
//	                            reset / one-way delay range (ms)
//	publish NODE CHANNEL MSG    PUBLISH over the bus
//	print nodes|info NODE       dump CLUSTER NODES / INFO (IDs as names)
//	print events NODE           the server events of NODE since the last print
//	print roles                 one line per node: role, master, epoch, slots
//	trace +TEXT / -TEXT         trace / stop tracing log lines containing TEXT
//
// Conditions: converged; state NODE ok|fail; flag A B WORD (A sees B with
// flag WORD: fail, fail?, master, slave, handshake); noflag A B WORD;
// role NODE master|slave; master NODE OF; owner NODE SLOT OWNER;
// knows NODE N (not counting handshake nodes); nodes NODE N (counting
// them); epoch NODE N (configEpoch as NODE sees itself).
func Run(script io.Reader) (string, error) {
	r := &runner{patterns: append([]string(nil), DefaultTrace...)}
	sc := bufio.NewScanner(script)
	ln := 0
	for sc.Scan() {
		ln++
		line := sc.Text()
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if err := r.exec(f); err != nil {
			return r.out(), fmt.Errorf("line %d: %s: %w", ln, strings.TrimSpace(line), err)
		}
	}
	if err := sc.Err(); err != nil {
		return r.out(), err
	}
	if r.s != nil {
		for _, v := range r.s.Violation {
			_ = v // already in the trace
		}
	}
	return r.out(), nil
}

type runner struct {
	seed     uint64
	s        *Sim
	patterns []string
}

func (r *runner) out() string {
	if r.s == nil {
		return ""
	}
	return strings.Join(r.s.Trace, "\n") + "\n"
}

func (r *runner) node(name string) (*Node, error) {
	if r.s == nil {
		return nil, fmt.Errorf("no nodes yet")
	}
	for _, nd := range r.s.Nodes {
		if nd.Name == name {
			return nd, nil
		}
	}
	return nil, fmt.Errorf("unknown node %q", name)
}

func parseDur(s string) (int64, error) {
	mult := int64(1)
	switch {
	case strings.HasSuffix(s, "ms"):
		s = s[:len(s)-2]
	case strings.HasSuffix(s, "s"):
		s = s[:len(s)-1]
		mult = 1000
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, fmt.Errorf("bad duration %q", s)
	}
	return int64(v * float64(mult)), nil
}

func (r *runner) exec(f []string) error {
	cmd, args := f[0], f[1:]
	if cmd == "seed" {
		if len(args) != 1 {
			return fmt.Errorf("seed N")
		}
		v, err := strconv.ParseUint(args[0], 10, 64)
		r.seed = v
		return err
	}
	if cmd == "nodes" {
		if len(args) < 1 {
			return fmt.Errorf("nodes N [opt=value...]")
		}
		n, err := strconv.Atoi(args[0])
		if err != nil {
			return err
		}
		cfg := state.DefaultConfig()
		for _, kv := range args[1:] {
			k, v, _ := strings.Cut(kv, "=")
			if err := setOpt(&cfg, k, v); err != nil {
				return err
			}
		}
		if r.s == nil {
			r.s = New(r.seed, 0, cfg)
			r.s.Filter = func(l state.Log) bool {
				for _, p := range r.patterns {
					if strings.Contains(l.Text, p) {
						return true
					}
				}
				return false
			}
		}
		for i := 0; i < n; i++ {
			r.s.AddNode(cfg)
		}
		r.s.tracef("> %s", strings.Join(f, " "))
		return nil
	}
	if r.s == nil {
		return fmt.Errorf("%s before nodes", cmd)
	}
	s := r.s
	echo := func() { s.tracef("> %s", strings.Join(f, " ")) }
	switch cmd {
	case "trace":
		for _, a := range args {
			if strings.HasPrefix(a, "+") {
				r.patterns = append(r.patterns, strings.ReplaceAll(a[1:], "_", " "))
			} else if strings.HasPrefix(a, "-") {
				p := strings.ReplaceAll(a[1:], "_", " ")
				kept := r.patterns[:0]
				for _, x := range r.patterns {
					if x != p {
						kept = append(kept, x)
					}
				}
				r.patterns = kept
			}
		}
	case "cluster":
		if len(args) < 2 {
			return fmt.Errorf("cluster NODE SUB ARGS")
		}
		nd, err := r.node(args[0])
		if err != nil {
			return err
		}
		cargs := make([]string, 0, len(args)-1)
		for _, a := range args[1:] {
			if strings.HasPrefix(a, "$") {
				t, err := r.node(a[1:])
				if err != nil {
					return err
				}
				a = t.M.MyID().String()
			}
			cargs = append(cargs, a)
		}
		echo()
		r.reply(s.Command(nd, cargs...))
	case "meet":
		a, err := r.node(args[0])
		if err != nil {
			return err
		}
		b, err := r.node(args[1])
		if err != nil {
			return err
		}
		echo()
		r.reply(s.Command(a, "MEET", b.IP, strconv.Itoa(b.Port), strconv.Itoa(b.CPort)))
	case "addslots":
		nd, err := r.node(args[0])
		if err != nil {
			return err
		}
		echo()
		r.reply(s.Command(nd, "ADDSLOTSRANGE", args[1], args[2]))
	case "epochs":
		echo()
		for i, nd := range s.Nodes {
			if rep := s.Command(nd, "SET-CONFIG-EPOCH", strconv.Itoa(i+1)); rep != "OK" {
				r.reply(nd.Name + ": " + rep)
			}
		}
	case "run":
		d, err := parseDur(args[0])
		if err != nil {
			return err
		}
		echo()
		s.RunFor(d)
	case "wait":
		d, err := parseDur(args[0])
		if err != nil {
			return err
		}
		cond, err := r.cond(args[1:])
		if err != nil {
			return err
		}
		echo()
		start := s.Now
		if s.RunUntil(s.Now+d, cond) {
			s.tracef("  ok after %.1fs", float64(s.Now-start)/1000)
		} else {
			s.tracef("  TIMEOUT")
		}
	case "expect":
		cond, err := r.cond(args)
		if err != nil {
			return err
		}
		echo()
		if cond() {
			s.tracef("  ok")
		} else {
			s.tracef("  FAILED")
		}
	case "partition":
		var groups [][]int
		cur := []int{}
		for _, a := range append(args, "|") {
			if a == "|" {
				groups = append(groups, cur)
				cur = []int{}
				continue
			}
			nd, err := r.node(a)
			if err != nil {
				return err
			}
			cur = append(cur, nd.Index)
		}
		echo()
		s.Partition(groups...)
	case "heal":
		echo()
		s.Heal()
	case "kill", "restart":
		nd, err := r.node(args[0])
		if err != nil {
			return err
		}
		echo()
		if cmd == "kill" {
			s.Kill(nd)
		} else if err := s.Restart(nd); err != nil {
			return err
		}
	case "offset":
		nd, err := r.node(args[0])
		if err != nil {
			return err
		}
		v, err := strconv.ParseInt(args[1], 10, 64)
		if err != nil {
			return err
		}
		echo()
		nd.Offset = v
	case "loss":
		v, err := strconv.ParseFloat(args[0], 64)
		if err != nil {
			return err
		}
		echo()
		s.Loss = v
	case "delay":
		a, err1 := strconv.ParseInt(args[0], 10, 64)
		b, err2 := strconv.ParseInt(args[1], 10, 64)
		if err1 != nil || err2 != nil || a < 0 || b < a {
			return fmt.Errorf("delay MIN MAX")
		}
		echo()
		s.MinDelay, s.MaxDelay = a, b
	case "publish":
		nd, err := r.node(args[0])
		if err != nil {
			return err
		}
		echo()
		s.Publish(nd, args[1], args[2], false)
	case "print":
		echo()
		switch args[0] {
		case "nodes", "info":
			nd, err := r.node(args[1])
			if err != nil {
				return err
			}
			r.reply(s.Command(nd, strings.ToUpper(args[0])))
		case "roles":
			for _, nd := range s.Nodes {
				r.reply(r.roleLine(nd))
			}
		case "events":
			nd, err := r.node(args[1])
			if err != nil {
				return err
			}
			for _, e := range nd.Events {
				r.reply(formatEvent(e))
			}
			nd.Events = nil
		default:
			return fmt.Errorf("print nodes|info|events NODE, print roles")
		}
	default:
		return fmt.Errorf("unknown command %q", cmd)
	}
	return nil
}

func (r *runner) reply(text string) {
	for _, l := range strings.Split(text, "\n") {
		r.s.tracef("  %s", stripTimes(l))
	}
}

// stripTimes blanks the ping/pong times of CLUSTER NODES lines: they depend
// on sub-tick timing and make goldens noisy without saying anything.
func stripTimes(l string) string {
	f := strings.Fields(l)
	if len(f) >= 8 && len(f[0]) == 40 && (f[7] == "connected" || f[7] == "disconnected") {
		f[4], f[5] = "-", "-"
		return strings.Join(f, " ")
	}
	return l
}

func (r *runner) roleLine(nd *Node) string {
	if nd.Down {
		return nd.Name + " down"
	}
	for _, v := range nd.M.NodeViews() {
		if v.ID != nd.M.MyID() {
			continue
		}
		role := "master"
		if v.Flags&msg.FlagSlave != 0 {
			role = "slave of " + v.Master.String()
		}
		return fmt.Sprintf("%s %s epoch=%d slots=%d current=%d", nd.Name, role, v.ConfigEpoch, v.NumSlots, nd.M.CurrentEpoch())
	}
	return nd.Name + " ?"
}

func formatEvent(e state.Event) string {
	switch e := e.(type) {
	case state.BecomeReplica:
		return fmt.Sprintf("BecomeReplica %s %s:%d", e.Master, e.IP, e.Port)
	case state.BecomeMaster:
		return fmt.Sprintf("BecomeMaster failover=%v", e.Failover)
	case state.DeleteKeysInSlots:
		return fmt.Sprintf("DeleteKeysInSlots %s", slotList(e.Slots))
	case state.SlotsLost:
		return fmt.Sprintf("SlotsLost %s", slotList(e.Slots))
	case state.StateChanged:
		return fmt.Sprintf("StateChanged ok=%v", e.OK)
	case state.PauseWrites:
		if e.Until == 0 {
			return "PauseWrites off"
		}
		return fmt.Sprintf("PauseWrites until +%dms", e.Until-Start)
	case state.PublishReceived:
		return fmt.Sprintf("PublishReceived %q %q shard=%v", e.Channel, e.Message, e.Shard)
	case state.FlushData:
		return "FlushData"
	}
	return fmt.Sprintf("%T", e)
}

// slotList prints slots as ranges: 0-5460,7000.
func slotList(slots []int) string {
	var b strings.Builder
	for i := 0; i < len(slots); {
		j := i
		for j+1 < len(slots) && slots[j+1] == slots[j]+1 {
			j++
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		if i == j {
			fmt.Fprintf(&b, "%d", slots[i])
		} else {
			fmt.Fprintf(&b, "%d-%d", slots[i], slots[j])
		}
		i = j + 1
	}
	return b.String()
}

func setOpt(cfg *state.Config, k, v string) error {
	n, err := strconv.ParseInt(v, 10, 64)
	yes := v == "yes"
	switch k {
	case "node-timeout":
		cfg.NodeTimeout = n
	case "migration-barrier":
		cfg.MigrationBarrier = int(n)
	case "replica-validity-factor":
		cfg.ReplicaValidityFactor = n
	case "hostname":
		cfg.AnnounceHostname, err = v, nil
	case "require-full-coverage":
		cfg.RequireFullCoverage, err = yes, nil
	case "allow-replica-migration":
		cfg.AllowReplicaMigration, err = yes, nil
	case "replica-no-failover":
		cfg.ReplicaNoFailover, err = yes, nil
	default:
		return fmt.Errorf("unknown option %q", k)
	}
	return err
}

func (r *runner) view(a, b *Node) (state.NodeView, bool) {
	id := b.M.MyID()
	for _, v := range a.M.NodeViews() {
		if v.ID == id {
			return v, true
		}
	}
	return state.NodeView{}, false
}

var flagBits = map[string]uint16{
	"master": msg.FlagMaster, "slave": msg.FlagSlave, "fail?": msg.FlagPFail, "pfail": msg.FlagPFail,
	"fail": msg.FlagFail, "handshake": msg.FlagHandshake, "noaddr": msg.FlagNoAddr, "nofailover": msg.FlagNoFailover,
}

func (r *runner) cond(args []string) (func() bool, error) {
	if len(args) == 0 {
		return nil, fmt.Errorf("missing condition")
	}
	s := r.s
	need := func(n int) error {
		if len(args) != n+1 {
			return fmt.Errorf("condition %s takes %d arguments", args[0], n)
		}
		return nil
	}
	switch args[0] {
	case "converged":
		return s.Converged, need(0)
	case "state":
		if err := need(2); err != nil {
			return nil, err
		}
		nd, err := r.node(args[1])
		if err != nil {
			return nil, err
		}
		want := args[2] == "ok"
		return func() bool { return !nd.Down && nd.M.StateOK() == want }, nil
	case "flag", "noflag":
		if err := need(3); err != nil {
			return nil, err
		}
		a, err := r.node(args[1])
		if err != nil {
			return nil, err
		}
		b, err := r.node(args[2])
		if err != nil {
			return nil, err
		}
		bit, ok := flagBits[args[3]]
		if !ok {
			return nil, fmt.Errorf("unknown flag %q", args[3])
		}
		want := args[0] == "flag"
		return func() bool {
			v, ok := r.view(a, b)
			return ok && (v.Flags&bit != 0) == want
		}, nil
	case "role":
		if err := need(2); err != nil {
			return nil, err
		}
		nd, err := r.node(args[1])
		if err != nil {
			return nil, err
		}
		bit := msg.FlagMaster
		if args[2] == "slave" || args[2] == "replica" {
			bit = msg.FlagSlave
		}
		return func() bool {
			v, ok := r.view(nd, nd)
			return ok && !nd.Down && v.Flags&bit != 0
		}, nil
	case "master":
		if err := need(2); err != nil {
			return nil, err
		}
		a, err := r.node(args[1])
		if err != nil {
			return nil, err
		}
		b, err := r.node(args[2])
		if err != nil {
			return nil, err
		}
		return func() bool { v, ok := r.view(a, a); return ok && v.Master == b.M.MyID() }, nil
	case "owner":
		if err := need(3); err != nil {
			return nil, err
		}
		a, err := r.node(args[1])
		if err != nil {
			return nil, err
		}
		j, err := strconv.Atoi(args[2])
		if err != nil || j < 0 || j >= slot.Count {
			return nil, fmt.Errorf("bad slot %q", args[2])
		}
		b, err := r.node(args[3])
		if err != nil {
			return nil, err
		}
		return func() bool { id, ok := a.M.SlotOwner(j); return ok && id == b.M.MyID() }, nil
	case "nodes":
		if err := need(2); err != nil {
			return nil, err
		}
		a, err := r.node(args[1])
		if err != nil {
			return nil, err
		}
		n, err := strconv.Atoi(args[2])
		if err != nil {
			return nil, err
		}
		return func() bool { return len(a.M.NodeViews()) == n }, nil
	case "knows":
		if err := need(2); err != nil {
			return nil, err
		}
		a, err := r.node(args[1])
		if err != nil {
			return nil, err
		}
		n, err := strconv.Atoi(args[2])
		if err != nil {
			return nil, err
		}
		return func() bool {
			c := 0
			for _, v := range a.M.NodeViews() {
				if v.Flags&msg.FlagHandshake == 0 {
					c++
				}
			}
			return c == n
		}, nil
	case "epoch":
		if err := need(2); err != nil {
			return nil, err
		}
		a, err := r.node(args[1])
		if err != nil {
			return nil, err
		}
		n, err := strconv.ParseUint(args[2], 10, 64)
		if err != nil {
			return nil, err
		}
		return func() bool { v, ok := r.view(a, a); return ok && v.ConfigEpoch == n }, nil
	}
	return nil, fmt.Errorf("unknown condition %q", args[0])
}

// Converged reports whether every live node knows exactly the live nodes
// (none in handshake or flagged failing) and all agree on every slot owner.
func (s *Sim) Converged() bool {
	var live []*Node
	ids := map[state.NodeID]bool{}
	for _, nd := range s.Nodes {
		if !nd.Down {
			live = append(live, nd)
			ids[nd.M.MyID()] = true
		}
	}
	var ref *Node
	for _, nd := range live {
		views := nd.M.NodeViews()
		if len(views) != len(live) {
			return false
		}
		for _, v := range views {
			if !ids[v.ID] || v.Flags&(msg.FlagHandshake|msg.FlagPFail|msg.FlagFail|msg.FlagNoAddr) != 0 {
				return false
			}
		}
		if ref == nil {
			ref = nd
			continue
		}
		for j := 0; j < slot.Count; j++ {
			a, oka := ref.M.SlotOwner(j)
			b, okb := nd.M.SlotOwner(j)
			if a != b || oka != okb {
				return false
			}
		}
	}
	return true
}
