package config

import (
	"strconv"
	"strings"
	"testing"
)

// setSequence is a list of CONFIG SET argument lists (after "CONFIG SET"),
// run in order on the oracle and on a Live.
var setSequence = [][]string{
	{"maxmemory", "1mb"},
	{"MAXMEMORY", "2000000", "maxmemory-policy", "allkeys-lru"},
	{"foo", "1", "bar", "2"},
	{"maxmemory", "1", "foo", "2"},
	{"port", "x", "foo", "1"},
	{"daemonize", "yes", "foo", "1"},
	{"foo", "1", "daemonize", "yes"},
	{"unixsocketperm", "1"},
	{"enable-protected-configs", "yes"},
	{"slave-read-only", "yes", "replica-read-only", "no"},
	{"slave-read-only", "yes", "SLAVE-read-only", "no"},
	{"maxmemory", "1", "maxmemory-policy", "bad"},
	{"maxmemory", "7", "hz", "x", "timeout", "5"},
	{"dir", "/tmp"},
	{"dbfilename", "x.rdb"},
	{"a"},
	{"a", "b", "c"},
	{"save", ""},
	{"save", "1 2 3 4"},
	{"save", "1  2"},
	{"save", " 1 2"},
	{"save", "+1 02"},
	{"save", "1 "},
	{"save", "1 4294967297 9223372036854775808 5"},
	{"save", "900"},
	{"bind", "127.0.0.1 -::1"},
	{"notify-keyspace-events", "An"},
	{"notify-keyspace-events", "g$lshzxetd"},
	{"notify-keyspace-events", "Kmnx"},
	{"notify-keyspace-events", "q"},
	{"notify-keyspace-events", ""},
	{"client-output-buffer-limit", "Replica 1k 2kb 4294967297 PUBSUB 0 0 -0"},
	{"client-output-buffer-limit", "normal 1 1"},
	{"client-output-buffer-limit", "master 1 1 1"},
	{"client-output-buffer-limit", "normal 1x 1 1"},
	{"client-output-buffer-limit", ""},
	{"oom-score-adj-values", "1 2 3000"},
	{"oom-score-adj-values", "1 2"},
	{"oom-score-adj-values", "1 2 3"},
	{"shutdown-on-sigint", "now save"},
	{"shutdown-on-sigint", "force nosave now"},
	{"shutdown-on-sigint", "save nosave"},
	{"shutdown-on-sigint", "bogus"},
	{"shutdown-on-sigint", ""},
	{"shutdown-on-sigint", "default save"},
	{"shutdown-on-sigint", "save  now"},
	{"shutdown-on-sigterm", "NOW"},
	{"latency-tracking-info-percentiles", "1e1 0.5 99.99999999 100"},
	{"latency-tracking-info-percentiles", "50  99"},
	{"latency-tracking-info-percentiles", "0x10 1e-400 1e-310"},
	{"latency-tracking-info-percentiles", "inf"},
	{"latency-tracking-info-percentiles", ""},
	{"hz", "0"},
	{"hz", "100000"},
	{"hz", "10"},
	{"watchdog-period", "5"},
	{"hz", "3", "watchdog-period", "6"},
	{"watchdog-period", "0"},
	{"watchdog-period", "5", "hz", "10"},
	{"watchdog-period", "0"},
	{"repl-backlog-size", "1", "hz", "11"},
	{"maxmemory-clients", "10%"},
	{"maxmemory-clients", "101%"},
	{"maxmemory-clients", "-1"},
	{"maxmemory-clients", "1gb"},
	{"maxmemory-clients", "0%"},
	{"loglevel", "debug "},
	{"loglevel", "DEBUG"},
	{"loglevel", "warning\x00x"},
	{"requirepass", "a\x00b"},
	{"requirepass", ""},
	{"oom-score-adj", "relative"},
	{"oom-score-adj", "no"},
	{"cluster-announce-hostname", "bad_name"},
	{"cluster-announce-hostname", "ok.host-1"},
	{"proc-title-template", "{foo}"},
	{"proc-title-template", "{title}"},
	{"proc-title-template", "{title} {listen-addr} {{ }"},
	{"replica-announce-ip", "1.2.3.4"},
	{"replica-announce-ip", ""},
	{"activedefrag", "yes"},
	{"activedefrag", "no"},
	{"ignore-warnings", "ARM64-COW-BUG"},
	{"maxmemory", "18446744073709551616"},
	{"maxmemory", "0"},
	{"timeout", "-0"},
	{"timeout", "01"},
	{"cluster-node-timeout", "9223372036854775807"},
	{"cluster-node-timeout", "9223372036854775808"},
	{"list-max-listpack-size", "-2147483649"},
	{"lua-time-limit", "6000"},
	{"busy-reply-threshold", "7000", "lua-time-limit", "8000"},
	{"appendonly", "yes"},
	{"appendonly", "no"},
	{"appendfsync", "ALWAYS"},
	{"masterauth", "x y", "masteruser", "u"},
	{"dbfilename", "a/b"},
	{"client-output-buffer-limit", "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60"},
}

// startPair starts the oracle and a Live from the same arguments.
func startPair(t *testing.T) (*respConn, *Live, string) {
	t.Helper()
	dir := physDir(t)
	port := freePort(t)
	args := []string{"--port", strconv.Itoa(port)}
	r := startRedis(t, dir, args, "", port)
	if r.Exited {
		t.Fatalf("oracle exited: %s", r.Stdout)
	}
	cfg, err := LoadWith(args, LoadOptions{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	return dialRedis(t, port), NewLive(cfg, ""), dir
}

func toBytes(args []string) [][]byte {
	out := make([][]byte, len(args))
	for i, a := range args {
		out[i] = []byte(a)
	}
	return out
}

func TestSetMatchesRedis(t *testing.T) {
	redisBin(t)
	rc, live, _ := startPair(t)
	hidden := hiddenNames()
	for _, args := range setSequence {
		want := replyText(rc.do(t, append([]string{"CONFIG", "SET"}, args...)...))
		got := live.Set(toBytes(args))
		if got != want {
			t.Errorf("CONFIG SET %q:\nredis %q\nours  %q", args, want, got)
		}
		diffMaps(t, "after "+strings.Join(args, " "), rc.configMap(t, "*"), ourMap(live, "*"))
		diffMaps(t, "hidden", rc.configMap(t, hidden...), ourMap(live, hidden...))
	}
}

// probeValues are tried on every mutable parameter.
var probeValues = []string{
	"", "0", "1", "-1", "yes", "no", "YES", "x", "1kb", "1gb", "2G", "3m", "5%", "100%", "101%", "-5%",
	"65535", "65536", "2147483647", "2147483648", "-2147483648", "-2147483649",
	"4294967295", "4294967296", "9223372036854775807", "9223372036854775808",
	"18446744073709551615", "18446744073709551616", "0777", "1000", " 1", "+1", "01", "-0",
	"1 2", "a b c d", "notice", "ip", "allchannels", "1.5", "0x10", "{title}", "a/b", "ok\x00no",
}

// probeSkip lists parameters whose Redis apply function acts on the
// process (listening sockets, TLS, file limits, timers, AOF children): the
// outcome there belongs to the server's OnApply hooks, not to this package.
var probeSkip = map[string]bool{
	"port": true, "bind": true, "maxclients": true, "tls-port": true, "tls-cluster": true,
	"tls-replication": true, "watchdog-period": true, "appendonly": true, "requirepass": true,
}

func TestParamProbesMatchRedis(t *testing.T) {
	redisBin(t)
	rc, live, _ := startPair(t)
	def := live.Get()
	n := 0
	for _, p := range params {
		if p.flags&fImmutable != 0 || probeSkip[p.name] {
			continue
		}
		names := []string{p.name}
		if p.alias != "" {
			names = append(names, p.alias)
		}
		restore := []string{p.name, p.get(def)}
		for _, v := range probeValues {
			args := []string{p.name, v}
			want := replyText(rc.do(t, "CONFIG", "SET", p.name, v))
			got := live.Set(toBytes(args))
			n++
			if got != want {
				t.Errorf("CONFIG SET %s %q:\nredis %q\nours  %q", p.name, v, want, got)
			}
			diffMaps(t, "after "+p.name+" "+strconv.Quote(v), rc.configMap(t, names...), ourMap(live, names...))
			if want == "" {
				if w, g := replyText(rc.do(t, append([]string{"CONFIG", "SET"}, restore...)...)), live.Set(toBytes(restore)); w != "" || g != "" {
					t.Fatalf("restoring %s: redis %q ours %q", p.name, w, g)
				}
			}
		}
	}
	diffMaps(t, "final", rc.configMap(t, "*"), ourMap(live, "*"))
	t.Logf("%d probes", n)
}

func TestGetPatternsMatchRedis(t *testing.T) {
	redisBin(t)
	rc, live, _ := startPair(t)
	for _, pats := range [][]string{
		{"*"}, {"MAXMEM*"}, {"maxmemory", "MAXMEMORY"}, {"MAXMEMORY"}, {"slave*"}, {"*-max-*-entries"},
		{"[a-c]*"}, {"[^a-r]*"}, {"?z"}, {"h?"}, {"*[0-9]*"}, {"use-exit-on-panic"}, {"use-exit*"},
		{"lua*"}, {"lua-time-limit", "busy*"}, {"nosuch"}, {"*", "port"}, {"port", "*"}, {"\\*"},
		{"[abc"}, {"client-output-buffer-limit"}, {"*\\-*"}, {"[]-]*"}, {"*lazy*", "*LAZY*"},
	} {
		want, got := rc.configMap(t, pats...), ourMap(live, pats...)
		diffMaps(t, "CONFIG GET "+strings.Join(pats, " "), want, got)
	}
}
