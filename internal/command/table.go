package command

import (
	"fmt"
	"sort"
	"strconv"
	"sync"

	"github.com/reefkv/reef/internal/resp"
)

// Table is the command table: every implemented command and subcommand,
// with Redis's metadata. It is built once at startup and read-only after.
type Table struct {
	byName map[string]*Spec
	sorted []*Spec

	infoOnce sync.Once
	info     map[*Spec][2][]byte // COMMAND INFO entry per protocol (RESP2, RESP3)
	docs     map[*Spec][2][]byte
}

// Family is a set of handlers: top-level commands, and for container
// commands their subcommands.
type Family struct {
	Commands    map[string]Handler
	Subcommands map[string]map[string]Handler
	// SelfLocking names commands that take slot locks themselves.
	SelfLocking map[string]bool
	// GetKeys gives key-finding procedures for commands whose keys the key
	// specs cannot describe.
	GetKeys map[string]func(args [][]byte) []int
	// Members gives the member arguments of commands on collections.
	Members map[string]MemberArgs
}

// DataFamilies returns the families implemented in this package.
func DataFamilies() []Family {
	return []Family{
		{Commands: stringCommands()},
		{Commands: keyCommands(), SelfLocking: selfLockingCommands,
			Subcommands: map[string]map[string]Handler{"object": objectSubcommands()}},
		{Commands: hashCommands(), Members: hashMemberArgs},
		{Commands: listCommands()},
		{Commands: setCommands(), Members: setMemberArgs},
		{Commands: zsetCommands(), Members: zsetMemberArgs},
		{Commands: sortCommands(), SelfLocking: sortSelfLocking, GetKeys: sortGetKeys},
		{Commands: hllCommands()},
		{Commands: geoCommands()},
	}
}

// NewTable builds the table from families. Every name must exist in Redis's
// metadata: Reef implements Redis's commands, not its own. It panics on a
// name Redis does not know, which is a programming error caught by tests.
func NewTable(families ...Family) *Table {
	t := &Table{byName: map[string]*Spec{}}
	for _, f := range families {
		for name, h := range f.Commands {
			meta := redisMeta[name]
			if meta == nil {
				panic(fmt.Sprintf("command %q is not a Redis %s command", name, RedisVersion))
			}
			s := t.byName[name]
			if s == nil {
				s = &Spec{Meta: meta}
				t.byName[name] = s
			}
			if h != nil {
				s.Handler = h
			}
			s.SelfLocking = s.SelfLocking || f.SelfLocking[name]
			if g := f.GetKeys[name]; g != nil {
				s.GetKeys = g
			}
			if m, ok := f.Members[name]; ok {
				s.Members = m
			}
		}
		for parent, subs := range f.Subcommands {
			ps := t.byName[parent]
			if ps == nil {
				ps = &Spec{Meta: redisMeta[parent]}
				t.byName[parent] = ps
			}
			if ps.Subs == nil {
				ps.Subs = map[string]*Spec{}
			}
			for name, h := range subs {
				meta := ps.Meta.Sub[name]
				if meta == nil {
					panic(fmt.Sprintf("subcommand %s|%s is not a Redis command", parent, name))
				}
				ps.Subs[name] = &Spec{Meta: meta, Handler: h, Parent: ps}
			}
		}
	}
	for _, s := range t.byName {
		t.sorted = append(t.sorted, s)
	}
	sort.Slice(t.sorted, func(i, j int) bool { return t.sorted[i].Name < t.sorted[j].Name })
	return t
}

// Lookup finds a command by name, case-insensitively, without allocating.
func (t *Table) Lookup(name []byte) *Spec {
	var buf [32]byte
	if len(name) > len(buf) {
		return nil
	}
	for i, c := range name {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf[i] = c
	}
	return t.byName[string(buf[:len(name)])]
}

// LookupSub finds a subcommand of s by name, case-insensitively.
func (s *Spec) LookupSub(name []byte) *Spec {
	var buf [32]byte
	if len(name) > len(buf) {
		return nil
	}
	for i, c := range name {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf[i] = c
	}
	return s.Subs[string(buf[:len(name)])]
}

// All returns every top-level command, sorted by name.
func (t *Table) All() []*Spec { return t.sorted }

// Count is the number of top-level commands (COMMAND COUNT).
func (t *Table) Count() int { return len(t.sorted) }

// Info returns the COMMAND INFO entry of s in the given protocol.
func (t *Table) Info(s *Spec, proto int) []byte {
	t.buildReplies()
	return t.info[s][protoIndex(proto)]
}

// Docs returns the COMMAND DOCS value of s in the given protocol.
func (t *Table) Docs(s *Spec, proto int) []byte {
	t.buildReplies()
	return t.docs[s][protoIndex(proto)]
}

func protoIndex(proto int) int {
	if proto == resp.RESP3 {
		return 1
	}
	return 0
}

// buildReplies composes each command's INFO and DOCS replies from the
// captured metadata and the subcommands actually implemented.
func (t *Table) buildReplies() {
	t.infoOnce.Do(func() {
		t.info = map[*Spec][2][]byte{}
		t.docs = map[*Spec][2][]byte{}
		var info func(s *Spec) []byte
		info = func(s *Spec) []byte {
			b := append([]byte("*10\r\n"), s.InfoHead...)
			subs := sortedSubs(s)
			b = resp.AppendSetLen(b, resp.RESP3, len(subs)) // a set, as Redis replies
			for _, sub := range subs {
				b = append(b, info(sub)...)
			}
			return b
		}
		var docs func(s *Spec) []byte
		docs = func(s *Spec) []byte {
			subs := sortedSubs(s)
			n := s.DocFieldCount
			if len(subs) > 0 {
				n++
			}
			b := append([]byte("%"+strconv.Itoa(n)+"\r\n"), s.DocFields...)
			if len(subs) > 0 {
				b = resp.AppendBulkString(b, "subcommands")
				b = append(b, "%"+strconv.Itoa(len(subs))+"\r\n"...)
				for _, sub := range subs {
					b = resp.AppendBulkString(b, sub.Name)
					b = append(b, docs(sub)...)
				}
			}
			return b
		}
		var walk func(s *Spec)
		walk = func(s *Spec) {
			i3 := info(s)
			d3 := docs(s)
			t.info[s] = [2][]byte{resp.Downgrade(nil, i3), i3}
			t.docs[s] = [2][]byte{resp.Downgrade(nil, d3), d3}
			for _, sub := range s.Subs {
				walk(sub)
			}
		}
		for _, s := range t.sorted {
			walk(s)
		}
	})
}

func sortedSubs(s *Spec) []*Spec {
	subs := make([]*Spec, 0, len(s.Subs))
	for _, sub := range s.Subs {
		subs = append(subs, sub)
	}
	sort.Slice(subs, func(i, j int) bool { return subs[i].Name < subs[j].Name })
	return subs
}
