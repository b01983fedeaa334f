package state

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/reefkv/reef/internal/cluster/msg"
)

const now0 = int64(1_700_000_000_000)

func fresh(t *testing.T) *Machine {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Port, cfg.CPort = 7000, 17000
	m, err := New(cfg, rand.New(rand.NewPCG(1, 2)), nil, now0)
	if err != nil {
		t.Fatal(err)
	}
	m.Ready()
	return m
}

func do(m *Machine, args ...string) Reply {
	r := m.Handle(now0, Command{Args: args})
	m.Ready()
	return r
}

// TestCommandErrors checks replies against the texts redis-server 7.0.15
// gives on a fresh node (captured with redis-cli).
func TestCommandErrors(t *testing.T) {
	tests := []struct {
		args string
		want Reply
	}{
		{"RESET a b", Error("ERR unknown subcommand or wrong number of arguments for 'RESET'. Try CLUSTER HELP.")},
		{"RESET x", Error("ERR syntax error")},
		{"FAILOVER a b", Error("ERR unknown subcommand or wrong number of arguments for 'FAILOVER'. Try CLUSTER HELP.")},
		{"MEET 1.2.3.4 5 6 7", Error("ERR unknown subcommand or wrong number of arguments for 'MEET'. Try CLUSTER HELP.")},
		{"SETSLOT 1 NODE", Error("ERR Invalid CLUSTER SETSLOT action or number of arguments. Try CLUSTER HELP")},
		{"SETSLOT 1", Error("ERR wrong number of arguments for 'cluster|setslot' command")},
		{"ADDSLOTS 01", Error("ERR Invalid or out of range slot")},
		{"ADDSLOTS -0", Error("ERR Invalid or out of range slot")},
		{"ADDSLOTS 16384", Error("ERR Invalid or out of range slot")},
		{"ADDSLOTSRANGE 1 2 3", Error("ERR wrong number of arguments for 'cluster|addslotsrange' command")},
		{"FOO", Error("ERR unknown subcommand 'FOO'. Try CLUSTER HELP.")},
		{"nodes extra", Error("ERR wrong number of arguments for 'cluster|nodes' command")},
		{"MEET 1.2.3.4 x", Error("ERR Invalid TCP base port specified: x")},
		{"MEET 1.2.3.4 5 x", Error("ERR Invalid TCP bus port specified: x")},
		{"MEET 1.2.3.4 70000", Error("ERR Invalid node address specified: 1.2.3.4:70000")},
		{"MEET 01.2.3.4 7000", Error("ERR Invalid node address specified: 01.2.3.4:7000")},
		{"MEET foo 5", Error("ERR Invalid node address specified: foo:5")},
		{"MEET 1.2.3.4 0", Error("ERR Invalid node address specified: 1.2.3.4:0")},
		{"MEET 1.2.3.4 5 0", Error("ERR Invalid node address specified: 1.2.3.4:5")},
		{"MEET fe80::1%lo 5", Error("ERR Invalid node address specified: fe80::1%lo:5")},
		{"FORGET x", Error("ERR Unknown node x")},
		{"SET-CONFIG-EPOCH x", Error("ERR value is not an integer or out of range")},
		{"SET-CONFIG-EPOCH -1", Error("ERR Invalid config epoch specified: -1")},
		{"COUNT-FAILURE-REPORTS x", Error("ERR Unknown node x")},
		{"REPLICAS x", Error("ERR Unknown node x")},
		{"SLAVES x", Error("ERR Unknown node x")},
		{"SETSLOT 1 MIGRATING x", Error("ERR I'm not the owner of hash slot 1")},
		{"SETSLOT 1 IMPORTING x", Error("ERR I don't know about node x")},
		{"SETSLOT 1 node x", Error("ERR Unknown node x")},
		{"SETSLOT 1 FOO x", Error("ERR Invalid CLUSTER SETSLOT action or number of arguments. Try CLUSTER HELP")},
		{"SETSLOT 99999 STABLE", Error("ERR Invalid or out of range slot")},
		{"FAILOVER", Error("ERR You should send CLUSTER FAILOVER to a replica")},
		{"FAILOVER x", Error("ERR syntax error")},
		{"REPLICATE x", Error("ERR Unknown node x")},
		{"FLUSHSLOTS", Status("OK")},
		{"DELSLOTS 5", Error("ERR Slot 5 is already unassigned")},
		{"ADDSLOTS 5 5", Error("ERR Slot 5 specified multiple times")},
		{"ADDSLOTSRANGE 5 3", Error("ERR start slot number 5 is greater than end slot number 3")},
		{"ADDSLOTS 5", Status("OK")},
		{"ADDSLOTS 5", Error("ERR Slot 5 is already busy")},
		{"ADDSLOTSRANGE 4 6", Error("ERR Slot 5 is already busy")},
		{"ADDSLOTS 6 7 6", Error("ERR Slot 6 specified multiple times")},
		{"DELSLOTSRANGE 5 6", Error("ERR Slot 6 is already unassigned")},
		{"SETSLOT 5 IMPORTING x", Error("ERR I'm already the owner of hash slot 5")},
		{"SETSLOT 5 MIGRATING x", Error("ERR I don't know about node x")},
		{"BUMPEPOCH", Status("BUMPED 1")},
		{"BUMPEPOCH", Status("STILL 1")},
		{"SET-CONFIG-EPOCH 3", Error("ERR Node config epoch is already non-zero")},
		{"KEYSLOT 123456789", Int(12739)},
		{"COUNTKEYSINSLOT 1", NotHandled{}},
		{"LINKS", LinksReply{}},
		{"CLUSTER", Error("ERR unknown subcommand 'CLUSTER'. Try CLUSTER HELP.")},
	}
	m := fresh(t)
	for _, tc := range tests {
		got := do(m, strings.Fields(tc.args)...)
		if links, ok := tc.want.(LinksReply); ok {
			if l, ok := got.(LinksReply); !ok || len(l) != len(links) {
				t.Errorf("%s: got %#v", tc.args, got)
			}
			continue
		}
		if got != tc.want {
			t.Errorf("CLUSTER %s\n got %#v\nwant %#v", tc.args, got, tc.want)
		}
	}
	// "CLUSTER SET-CONFIG-EPOCH" once another node is known.
	m2 := fresh(t)
	do(m2, "MEET", "127.0.0.1", "7001")
	if got := do(m2, "SET-CONFIG-EPOCH", "3"); got != Error("ERR The user can assign a config epoch only when the node does not know any other node.") {
		t.Errorf("set-config-epoch: %#v", got)
	}
	if got := do(m2, "MEET", "127.0.0.1", "7001"); got != Status("OK") {
		t.Errorf("repeated MEET: %#v", got)
	}
	if len(m2.nodes) != 2 {
		t.Errorf("repeated MEET added a node: %d", len(m2.nodes))
	}
	if got := do(m2, "MEET", "::ffff:1.2.3.4", "7000"); got != Status("OK") || !strings.Contains(m2.Nodes(), " ::ffff:1.2.3.4:7000@17000 handshake - 0 0 0 disconnected\n") {
		t.Errorf("MEET v6: %#v\n%s", got, m2.Nodes())
	}
	if h := do(m2, "HELP").(Lines); len(h) != 56 || h[0] != "CLUSTER <subcommand> [<arg> [value] [opt] ...]. Subcommands are:" || h[55] != "    Prints this help." {
		t.Errorf("HELP: %d lines", len(h))
	}
}

func TestFreshNodeOutput(t *testing.T) {
	m := fresh(t)
	id := m.MyID().String()
	if got, want := m.Nodes(), id+" :7000@17000 myself,master - 0 0 0 connected\n"; got != want {
		t.Errorf("NODES\n got %q\nwant %q", got, want)
	}
	wantInfo := "cluster_state:fail\r\ncluster_slots_assigned:0\r\ncluster_slots_ok:0\r\ncluster_slots_pfail:0\r\n" +
		"cluster_slots_fail:0\r\ncluster_known_nodes:1\r\ncluster_size:1\r\ncluster_current_epoch:0\r\n" +
		"cluster_my_epoch:0\r\ncluster_stats_messages_sent:0\r\ncluster_stats_messages_received:0\r\n" +
		"total_cluster_links_buffer_limit_exceeded:0\r\n"
	if got := m.Info(); got != wantInfo {
		t.Errorf("INFO\n got %q\nwant %q", got, wantInfo)
	}
	if got, want := string(m.ConfigBytes()), id+" :7000@17000 myself,master - 0 0 0 connected\nvars currentEpoch 0 lastVoteEpoch 0\n"; got != want {
		t.Errorf("config\n got %q\nwant %q", got, want)
	}
	// After the writable delay an empty cluster has size 0 (as Redis).
	m.Tick(now0 + WritableDelay + 100)
	if !strings.Contains(m.Info(), "cluster_size:0\r\n") {
		t.Errorf("size after delay:\n%s", m.Info())
	}
	sh := m.Shards()
	if len(sh) != 1 || len(sh[0].Slots) != 0 || sh[0].Nodes[0].Health != "online" || sh[0].Nodes[0].Role != "master" || sh[0].Nodes[0].Port != 7000 {
		t.Errorf("SHARDS %+v", sh)
	}
}

func TestFlagsWords(t *testing.T) {
	all := msg.FlagMyself | msg.FlagMaster | msg.FlagSlave | msg.FlagPFail | msg.FlagFail | msg.FlagHandshake | msg.FlagNoAddr | msg.FlagNoFailover | msg.FlagMeet | msg.FlagMigrateTo
	for flags, want := range map[uint16]string{
		0: "noflags", msg.FlagMeet: "noflags", msg.FlagMaster | msg.FlagMigrateTo: "master",
		msg.FlagSlave | msg.FlagPFail: "slave,fail?", all: "myself,master,slave,fail?,fail,handshake,noaddr,nofailover",
	} {
		if got := string(AppendFlags(nil, flags)); got != want {
			t.Errorf("%#x: %q want %q", flags, got, want)
		}
	}
}

func TestParseLL(t *testing.T) {
	for s, want := range map[string]bool{"0": true, "1": true, "-1": true, "01": false, "-0": false, "+1": false, " 1": false,
		"": false, "9223372036854775807": true, "9223372036854775808": false, "-9223372036854775808": true, "1a": false} {
		if _, ok := parseLL(s); ok != want {
			t.Errorf("%q: %v", s, ok)
		}
	}
}
