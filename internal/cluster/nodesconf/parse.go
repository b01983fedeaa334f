package nodesconf

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"

	"github.com/reefkv/reef/internal/cluster/msg"
	"github.com/reefkv/reef/internal/cluster/state"
	"github.com/reefkv/reef/internal/slot"
)

// ParseError is a damaged nodes.conf: Line is 1-based (0: the file as a
// whole). Path is set by Open.
type ParseError struct {
	Path string
	Line int
	Msg  string
}

func (e *ParseError) Error() string {
	where := "cluster config file"
	if e.Path != "" {
		where += " " + e.Path
	}
	if e.Line > 0 {
		return fmt.Sprintf("Unrecoverable error: corrupted %s, line %d: %s", where, e.Line, e.Msg)
	}
	return fmt.Sprintf("Unrecoverable error: corrupted %s: %s", where, e.Msg)
}

var flagNames = map[string]uint16{
	"myself":     msg.FlagMyself,
	"master":     msg.FlagMaster,
	"slave":      msg.FlagSlave,
	"fail?":      msg.FlagPFail,
	"fail":       msg.FlagFail,
	"handshake":  msg.FlagHandshake,
	"noaddr":     msg.FlagNoAddr,
	"nofailover": msg.FlagNoFailover,
	"noflags":    0,
}

// Parse reads nodes.conf content in Redis 7.0's format. A zero-length file
// means "no configuration" and returns nil, nil (as Redis). Anything else
// that is not a valid file is a *ParseError naming the line: the caller must
// treat it as fatal, never as a reason to start with a new identity.
func Parse(b []byte) (*state.Saved, error) {
	if len(b) == 0 {
		return nil, nil
	}
	s := &state.Saved{}
	seen := map[msg.NodeID]int{}
	myself := false
	lines := bytes.Split(b, []byte{'\n'})
	for i, raw := range lines {
		ln := i + 1
		fail := func(format string, args ...any) error {
			return &ParseError{Line: ln, Msg: fmt.Sprintf(format, args...)}
		}
		line := strings.TrimRight(string(raw), "\r")
		argv := strings.Fields(line)
		if len(argv) == 0 {
			continue
		}
		if argv[0] == "vars" {
			if len(argv)%2 != 1 {
				return nil, fail("vars line needs name value pairs")
			}
			for j := 1; j < len(argv); j += 2 {
				v, err := strconv.ParseUint(argv[j+1], 10, 64)
				switch argv[j] {
				case "currentEpoch":
					if err != nil {
						return nil, fail("bad currentEpoch %q", argv[j+1])
					}
					s.CurrentEpoch = v
				case "lastVoteEpoch":
					if err != nil {
						return nil, fail("bad lastVoteEpoch %q", argv[j+1])
					}
					s.LastVoteEpoch = v
				default:
					// Redis warns and skips unknown variables.
				}
			}
			continue
		}
		if len(argv) < 8 {
			return nil, fail("%d fields, a node line needs at least 8", len(argv))
		}
		id, ok := msg.ParseNodeID(argv[0])
		if !ok {
			return nil, fail("bad node ID %q", argv[0])
		}
		if _, dup := seen[id]; dup {
			return nil, fail("node %s listed twice", argv[0])
		}
		seen[id] = len(s.Nodes)
		n := state.SavedNode{ID: id}
		if err := parseAddr(&n, argv[1]); err != nil {
			return nil, fail("%v", err)
		}
		for _, f := range strings.Split(argv[2], ",") {
			bit, ok := flagNames[f]
			if !ok {
				return nil, fail("unknown flag %q", f)
			}
			n.Flags |= bit
		}
		if n.Flags&msg.FlagMyself != 0 {
			if myself {
				return nil, fail("a second myself node")
			}
			myself = true
		}
		if argv[3] != "-" {
			if n.Master, ok = msg.ParseNodeID(argv[3]); !ok {
				return nil, fail("bad master ID %q", argv[3])
			}
		}
		var err error
		if n.PingSent, err = strconv.ParseInt(argv[4], 10, 64); err != nil {
			return nil, fail("bad ping-sent %q", argv[4])
		}
		if n.PongReceived, err = strconv.ParseInt(argv[5], 10, 64); err != nil {
			return nil, fail("bad pong-received %q", argv[5])
		}
		if n.ConfigEpoch, err = strconv.ParseUint(argv[6], 10, 64); err != nil {
			return nil, fail("bad config epoch %q", argv[6])
		}
		if argv[7] != "connected" && argv[7] != "disconnected" {
			return nil, fail("bad link state %q", argv[7])
		}
		for _, tok := range argv[8:] {
			if err := parseSlotToken(&n, tok); err != nil {
				return nil, fail("%v", err)
			}
		}
		s.Nodes = append(s.Nodes, n)
	}
	if !myself {
		return nil, &ParseError{Msg: "no myself node"}
	}
	// A slot claimed twice would make the first owner lose it silently.
	var owned slot.Set
	for i := range s.Nodes {
		for j := 0; j < slot.Count; j++ {
			if s.Nodes[i].Slots.Has(j) {
				if owned.Has(j) {
					return nil, &ParseError{Msg: fmt.Sprintf("slot %d assigned to two nodes", j)}
				}
				owned.Add(j)
			}
		}
	}
	return s, nil
}

func parseAddr(n *state.SavedNode, a string) error {
	if i := strings.IndexByte(a, ','); i >= 0 {
		n.Hostname = a[i+1:]
		a = a[:i]
	}
	p := strings.LastIndexByte(a, ':')
	if p < 0 {
		return fmt.Errorf("address %q has no port", a)
	}
	n.IP = a[:p]
	port := a[p+1:]
	bus := ""
	if i := strings.IndexByte(port, '@'); i >= 0 {
		port, bus = port[:i], port[i+1:]
	}
	v, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return fmt.Errorf("bad port in address %q", a)
	}
	n.Port = uint16(v)
	if bus == "" {
		n.CPort = n.Port + 10000
	} else {
		c, err := strconv.ParseUint(bus, 10, 16)
		if err != nil {
			return fmt.Errorf("bad bus port in address %q", a)
		}
		n.CPort = uint16(c)
	}
	return nil
}

func parseSlotNum(s string) (int, error) {
	v, err := strconv.Atoi(s)
	if err != nil || v < 0 || v >= slot.Count {
		return 0, fmt.Errorf("bad slot %q", s)
	}
	return v, nil
}

func parseSlotToken(n *state.SavedNode, tok string) error {
	if tok[0] == '[' {
		// [slot->-id] migrating, [slot-<-id] importing.
		if len(tok) < 2 || tok[len(tok)-1] != ']' {
			return fmt.Errorf("bad open slot %q", tok)
		}
		body := tok[1 : len(tok)-1]
		i := strings.IndexByte(body, '-')
		if i < 0 || len(body) < i+3 {
			return fmt.Errorf("bad open slot %q", tok)
		}
		j, err := parseSlotNum(body[:i])
		if err != nil {
			return err
		}
		dir := body[i : i+3]
		id, ok := msg.ParseNodeID(body[i+3:])
		if !ok {
			return fmt.Errorf("bad node ID in open slot %q", tok)
		}
		switch dir {
		case "->-":
			if n.Migrating == nil {
				n.Migrating = map[int]msg.NodeID{}
			}
			n.Migrating[j] = id
		case "-<-":
			if n.Importing == nil {
				n.Importing = map[int]msg.NodeID{}
			}
			n.Importing[j] = id
		default:
			return fmt.Errorf("bad open slot %q", tok)
		}
		return nil
	}
	start, stop := tok, tok
	if i := strings.IndexByte(tok, '-'); i >= 0 {
		start, stop = tok[:i], tok[i+1:]
	}
	a, err := parseSlotNum(start)
	if err != nil {
		return err
	}
	b, err := parseSlotNum(stop)
	if err != nil {
		return err
	}
	if a > b {
		return fmt.Errorf("bad slot range %q", tok)
	}
	for j := a; j <= b; j++ {
		n.Slots.Add(j)
	}
	return nil
}
