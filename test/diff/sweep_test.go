package diff

import (
	"strings"
	"testing"
)

// sweepSkip are commands a sweep must not send: they change the server or
// the connection beyond the keys it resets (SHUTDOWN, MULTI, SUBSCRIBE,
// CONFIG SET, ...), block, or answer with each process's own data (INFO,
// CLIENT, TIME, MEMORY, HELLO ids, random picks).
var sweepSkip = map[string]bool{
	"shutdown": true, "debug": true, "monitor": true, "multi": true, "reset": true, "quit": true,
	"subscribe": true, "psubscribe": true, "ssubscribe": true, "unsubscribe": true, "punsubscribe": true,
	"sunsubscribe": true, "config": true, "client": true, "info": true, "time": true, "lastsave": true,
	"memory": true, "latency": true, "slowlog": true, "hello": true, "command": true, "randomkey": true,
	"spop": true, "srandmember": true, "hrandfield": true, "zrandmember": true, "wait": true, "failover": true,
	"replicaof": true, "slaveof": true, "sync": true, "psync": true, "save": true, "bgsave": true,
	"bgrewriteaof": true, "cluster": true, "readonly": true, "readwrite": true, "asking": true, "migrate": true,
	"flushall": true, "flushdb": true, "swapdb": true, "select": true, "scan": true, "replconf": true,
	"auth": true, "acl": true, "module": true, "script": true, "function": true, "object": true,
	"pfselftest": true, "pfdebug": true, "restore-asking": true, "lolwut": true,
}

// TestEveryCommandSmallArgs sends every command Reef implements (outside
// sweepSkip and the blocking ones) with every combination of up to two
// arguments from a tiny vocabulary, against the same small dataset, and
// requires identical replies: arity and argument errors, WRONGTYPE and the
// replies on tiny inputs, for the whole table at once.
func TestEveryCommandSmallArgs(t *testing.T) {
	redis, reef := startPair(t)
	p := dialPair(t, redis, reef)
	raw, err := p.Reef.Do("COMMAND")
	if err != nil {
		t.Fatal(err)
	}
	table, err := ParseReply(raw)
	if err != nil {
		t.Fatal(err)
	}
	argLists := func(vocab ...string) [][]string {
		out := [][]string{nil}
		for _, a := range vocab {
			out = append(out, []string{a})
			for _, b := range vocab {
				out = append(out, []string{a, b})
			}
		}
		return out
	}
	setup := [][]string{{"DEL", "k", "1", "-1", "x", "l"}, {"SET", "k", "v"}, {"RPUSH", "l", "a", "b"}}
	mismatches := 0
	for _, pass := range []struct {
		proto string
		args  [][]string
	}{
		{"2", argLists("k", "l", "1", "-1", "x")},
		{"3", argLists("k", "l", "1")},
	} {
		if _, _, err := p.Do("HELLO", pass.proto); err != nil {
			t.Fatal(err)
		}
		mismatches += sweep(t, p, table, setup, pass.args, mismatches)
	}
	if mismatches > 60 {
		t.Errorf("... %d mismatches in all", mismatches)
	}
}

// sweep sends each command of table with each argument list and counts the
// replies that differ, reporting the first ones.
func sweep(t *testing.T, p *Pair, table Reply, setup, argLists [][]string, reported int) int {
	mismatches, cases := 0, 0
	defer func() { t.Logf("%d commands sent to both servers", cases) }()
	for _, cmd := range table.Elems {
		name := cmd.Elems[0].Str
		flags := elemStrings(cmd.Elems[2])
		if sweepSkip[name] || strings.Contains(strings.Join(flags, " "), "blocking") {
			continue
		}
		for _, args := range argLists {
			full := append([]string{name}, args...)
			for _, s := range setup {
				if _, _, err := p.Do(s...); err != nil {
					t.Fatal(err)
				}
			}
			cases++
			a, b, err := p.Do(full...)
			if err != nil {
				t.Fatal(err)
			}
			if string(a) != string(b) {
				mismatches++
				if reported+mismatches <= 60 {
					t.Errorf("%s\n  redis: %s\n  reef:  %s", Quote(full), Show(a), Show(b))
				}
			}
		}
	}
	return mismatches
}
