package nodesconf

import (
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/reefkv/reef/internal/cluster/msg"
	"github.com/reefkv/reef/internal/cluster/state"
)

// redis70 is a nodes.conf written by redis-server 7.0.15 (spec section 4),
// with a migrating slot on the myself line and a hostname.
const redis70 = `b3bb9c8597c6fd0c4dd2821c531f212c636a6806 127.0.0.1:30004@30104 slave 6d16072dc38b016eabfb43e8b2ee4c3b6b928458 0 1795722376171 3 connected
26d3e28eef24e6aba30f52f1eded26bbc80b7c47 127.0.0.1:30001@30101,node1.example myself,master - 0 1795722373000 1 connected 0-5460 [3443->-a57dd045040f378a7485438db6f8a847266d9563]
a57dd045040f378a7485438db6f8a847266d9563 127.0.0.1:30002@30102 master,fail - 1795722684605 1795722682080 14 disconnected 5461-10922
21fdcb71428c366a96503d4c9ccd058e593fb2ee 127.0.0.1:30005@30105 slave,fail? 26d3e28eef24e6aba30f52f1eded26bbc80b7c47 0 1795722377000 1 connected
a3cc07545a77f82da5c71843722f926bed20f654 127.0.0.1:30006@30106 slave,nofailover a57dd045040f378a7485438db6f8a847266d9563 0 1795722377686 2 connected
6d16072dc38b016eabfb43e8b2ee4c3b6b928458 127.0.0.1:30003@30103 master - 0 1795722376675 3 connected 10923-16382 16383
vars currentEpoch 14 lastVoteEpoch 2
`

func TestParseRedis70(t *testing.T) {
	s, err := Parse([]byte(redis70))
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Nodes) != 6 || s.CurrentEpoch != 14 || s.LastVoteEpoch != 2 {
		t.Fatalf("%d nodes, epochs %d %d", len(s.Nodes), s.CurrentEpoch, s.LastVoteEpoch)
	}
	me := s.Nodes[1]
	target, _ := msg.ParseNodeID("a57dd045040f378a7485438db6f8a847266d9563")
	if me.Flags != msg.FlagMyself|msg.FlagMaster || me.Hostname != "node1.example" || me.Port != 30001 || me.CPort != 30101 ||
		me.Slots.Len() != 5461 || me.Migrating[3443] != target || me.ConfigEpoch != 1 {
		t.Errorf("myself: %+v", me)
	}
	if n := s.Nodes[3]; n.Flags != msg.FlagSlave|msg.FlagPFail || n.Master.String() != "26d3e28eef24e6aba30f52f1eded26bbc80b7c47" {
		t.Errorf("replica: %+v", n)
	}
	if s.Nodes[5].Slots.Len() != 5461 {
		t.Errorf("slots of last node: %d", s.Nodes[5].Slots.Len())
	}
	// Loaded by the state machine, written back: the same file modulo the
	// ping/pong times (replaced by "now" at load, as Redis does).
	cfg := state.DefaultConfig()
	cfg.Port, cfg.CPort, cfg.AnnounceHostname = 30001, 30101, "node1.example"
	m, err := state.New(cfg, rand.New(rand.NewPCG(1, 1)), s, 1795722400000)
	if err != nil {
		t.Fatal(err)
	}
	out := string(m.ConfigBytes())
	norm := func(text string) []string {
		var lines []string
		for _, l := range strings.Split(strings.TrimSpace(text), "\n") {
			f := strings.Fields(l)
			if len(f) > 7 {
				f[4], f[5], f[7] = "", "", ""
				if strings.Contains(f[2], "slave") {
					f[6] = "" // a replica prints its master's epoch
				}
			}
			lines = append(lines, strings.Join(f, " "))
		}
		return lines
	}
	got, want := norm(out), norm(strings.Replace(redis70, "10923-16382 16383", "10923-16383", 1))
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("round trip\n got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestParseErrors(t *testing.T) {
	line := "26d3e28eef24e6aba30f52f1eded26bbc80b7c47 127.0.0.1:30001@30101 myself,master - 0 0 1 connected"
	tests := []struct {
		name, text string
		line       int
	}{
		{"short line", line + "\nabc def\n", 2},
		{"no myself", strings.Replace(line, "myself,", "", 1) + "\n", 0},
		{"bad id", "XYZ" + line[3:] + "\n", 1},
		{"bad flag", strings.Replace(line, "master", "boss", 1) + "\n", 1},
		{"bad port", strings.Replace(line, ":30001", ":x", 1) + "\n", 1},
		{"bad bus port", strings.Replace(line, "@30101", "@99999", 1) + "\n", 1},
		{"no port", strings.Replace(line, "127.0.0.1:30001@30101", "127.0.0.1", 1) + "\n", 1},
		{"bad master", strings.Replace(line, " - ", " x ", 1) + "\n", 1},
		{"bad epoch", strings.Replace(line, " 1 connected", " -1 connected", 1) + "\n", 1},
		{"bad link", strings.Replace(line, "connected", "up", 1) + "\n", 1},
		{"bad slot", line + " 16384\n", 1},
		{"bad range", line + " 5-3\n", 1},
		{"bad open slot", line + " [5->-abc]\n", 1},
		{"bad open slot dir", line + " [5-?-26d3e28eef24e6aba30f52f1eded26bbc80b7c47]\n", 1},
		{"two myself", line + "\n" + strings.Replace(line, "26d3", "36d3", 1) + "\n", 2},
		{"duplicate", line + "\n" + strings.Replace(line, "myself,", "", 1) + "\n", 2},
		{"bad vars", line + "\nvars currentEpoch x lastVoteEpoch 0\n", 2},
		{"odd vars", line + "\nvars currentEpoch\n", 2},
		{"truncated", line[:50] + "\n", 1},
		{"slot twice", line + " 1-3\n" + strings.Replace(strings.Replace(line, "myself,", "", 1), "26d3", "36d3", 1) + " 3\n", 0},
	}
	for _, tc := range tests {
		_, err := Parse([]byte(tc.text))
		var pe *ParseError
		if !errors.As(err, &pe) || pe.Line != tc.line {
			t.Errorf("%s: err %v, want a ParseError at line %d", tc.name, err, tc.line)
		}
	}
	if s, err := Parse(nil); s != nil || err != nil {
		t.Errorf("empty file: %v %v", s, err)
	}
	// Blank lines, CRLF and unknown vars are tolerated, as in Redis.
	if _, err := Parse([]byte("\n" + line + "\r\n\nvars currentEpoch 3 lastVoteEpoch 1 futureVar 7\n")); err != nil {
		t.Errorf("tolerant parse: %v", err)
	}
}

func TestOpenLockSave(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "nodes.conf")
	f, saved, err := Open(path)
	if err != nil || saved != nil {
		t.Fatalf("fresh open: %v %v", saved, err)
	}
	defer f.Close()
	if _, _, err := Open(path); !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), "Sorry, the cluster configuration file "+path+" is already used by a different Redis Cluster node.") {
		t.Fatalf("second open: %v", err)
	}
	content := []byte(strings.Split(redis70, "\n")[1] + "\nvars currentEpoch 1 lastVoteEpoch 0\n")
	for i := 0; i < 3; i++ {
		if err := f.Save(content, i%2 == 0); err != nil {
			t.Fatal(err)
		}
		// The lock follows the file through the rename.
		if _, _, err := Open(path); !errors.Is(err, ErrLocked) {
			t.Fatalf("open after save %d: %v", i, err)
		}
	}
	if b, _ := os.ReadFile(path); string(b) != string(content) {
		t.Fatalf("content %q", b)
	}
	if _, err := os.Stat(path + ".tmp"); !os.IsNotExist(err) {
		t.Errorf("tmp file left: %v", err)
	}
	f.Close()
	f2, s, err := Open(path)
	if err != nil || s == nil || len(s.Nodes) != 1 {
		t.Fatalf("reopen: %v %v", s, err)
	}
	f2.Close()
	// A damaged file names itself and the line.
	os.WriteFile(path, []byte("garbage\n"), 0o644)
	_, _, err = Open(path)
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "line 1") {
		t.Fatalf("damaged: %v", err)
	}
}

// TestTruncatedFiles: every truncation of a valid file either parses or is
// an error, never a panic, and never silently drops the myself line.
func TestTruncatedFiles(t *testing.T) {
	for i := 1; i < len(redis70); i++ {
		s, err := Parse([]byte(redis70[:i]))
		if err == nil && s == nil {
			t.Fatalf("truncation at %d parsed as no config", i)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(redis70))
	f.Add([]byte("26d3e28eef24e6aba30f52f1eded26bbc80b7c47 :0@0 myself,master - 0 0 0 connected\nvars currentEpoch 0 lastVoteEpoch 0\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := Parse(b)
		if err != nil || s == nil {
			return
		}
		// Whatever parses must load into a machine and write back a file
		// that parses again.
		m, err := state.New(state.DefaultConfig(), rand.New(rand.NewPCG(1, 1)), s, 1)
		if err != nil {
			return
		}
		if _, err := Parse(m.ConfigBytes()); err != nil {
			t.Fatalf("rewritten config does not parse: %v\n%s", err, m.ConfigBytes())
		}
	})
}

// Abandon removes a file Open created for a node that never saved, so that
// a failed first start leaves no empty nodes.conf behind, and keeps any
// other.
func TestAbandon(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "nodes.conf")
	f, _, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	f.Abandon()
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("a created, never saved file was left: %v", err)
	}
	// Saved once: kept.
	if f, _, err = Open(path); err != nil {
		t.Fatal(err)
	}
	if err := f.Save([]byte("vars currentEpoch 0 lastVoteEpoch 0\n"), true); err != nil {
		t.Fatal(err)
	}
	f.Abandon()
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("a saved file was removed: %v", err)
	}
	// Already there (empty): kept.
	empty := filepath.Join(dir, "empty.conf")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if f, _, err = Open(empty); err != nil {
		t.Fatal(err)
	}
	f.Abandon()
	if _, err := os.Stat(empty); err != nil {
		t.Fatalf("a file Open did not create was removed: %v", err)
	}
}
