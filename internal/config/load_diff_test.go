package config

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/reefkv/reef/internal/splitargs"
)

// loadCase is one startup run given to both redis-server and Load.
type loadCase struct {
	name string
	// files are created in the working directory; "{port}" and "{bus}"
	// are replaced by free ports; a name ending in "/" is a directory.
	files map[string]string
	// args is argv[1:]; "{port}" and "{bus}" are replaced. When no
	// "{port}" appears anywhere, "--port <port>" is appended.
	args     []string
	stdin    string
	auth     string // password to send before CONFIG GET
	commands bool   // check rename-command against the oracle's table
}

var loadCases = []loadCase{
	// Fatal errors in files.
	{name: "unknown directive", files: map[string]string{"c.conf": "port {port}\nfoo bar\n"}, args: []string{"c.conf"}},
	{name: "unknown directive in argv", args: []string{"--foo", "bar"}},
	{name: "unbalanced quotes", files: map[string]string{"c.conf": "port \"1\n"}, args: []string{"c.conf"}},
	{name: "closing quote followed by text", files: map[string]string{"c.conf": "logfile \"a\"b\n"}, args: []string{"c.conf"}},
	{name: "wrong arity", files: map[string]string{"c.conf": "\n# comment\n   maxmemory 1 2\n"}, args: []string{"c.conf"}},
	{name: "directive alone", files: map[string]string{"c.conf": " \t \nport\n"}, args: []string{"c.conf"}},
	{name: "missing config file", args: []string{"missing.conf"}},
	{name: "missing include", files: map[string]string{"c.conf": "port {port}\ninclude missing.conf\n"}, args: []string{"c.conf"}},
	{name: "error inside include", files: map[string]string{"c.conf": "port {port}\ninclude inc.conf\n", "inc.conf": "\n\nmaxmemory abc\n"}, args: []string{"c.conf"}},
	{name: "unopenable log file", files: map[string]string{"c.conf": "logfile /nonexistent/x.log\n"}, args: []string{"c.conf"}},
	{name: "cluster and replicaof", files: map[string]string{"c.conf": "cluster-enabled yes\nreplicaof 127.0.0.1 6379\n"}, args: []string{"c.conf"}},
	{name: "missing dir", files: map[string]string{"c.conf": "dir nowhere\n"}, args: []string{"c.conf"}},
	{name: "dir is a file", files: map[string]string{"c.conf": "dir c.conf\n"}, args: []string{"c.conf"}},
	{name: "sentinel with arguments", files: map[string]string{"c.conf": "sentinel monitor m 127.0.0.1 6379 2\n"}, args: []string{"c.conf"}},
	{name: "deprecated with wrong arity", files: map[string]string{"c.conf": "list-max-ziplist-entries 5 6\n"}, args: []string{"c.conf"}},
	{name: "module config without value", files: map[string]string{"c.conf": "a.b\n"}, args: []string{"c.conf"}},
	{name: "module config", args: []string{"--port", "{port}", "--mod.cfg", "1"}},
	{name: "user alone", files: map[string]string{"c.conf": "user\n"}, args: []string{"c.conf"}},
	{name: "rename unknown command", files: map[string]string{"c.conf": "rename-command nosuchcmd x\n"}, args: []string{"c.conf"}, commands: true},
	{name: "rename onto existing", files: map[string]string{"c.conf": "rename-command get set\n"}, args: []string{"c.conf"}, commands: true},
	{name: "aclfile and users", files: map[string]string{"c.conf": "port {port}\naclfile users.acl\nuser bob on\n", "users.acl": ""}, args: []string{"c.conf"}},

	// Value validation, one directive per line so each message shows.
	{name: "bad bool", args: []string{"--daemonize", "maybe"}},
	{name: "bad enum", args: []string{"--maxmemory-policy", "Foo"}},
	{name: "enum with two values", args: []string{"--loglevel", "debug", "notice"}},
	{name: "bad integer", args: []string{"--hz", "0x10"}},
	{name: "integer too small", args: []string{"--maxclients", "0"}},
	{name: "unsigned too large", args: []string{"--maxclients", "4294967296"}},
	{name: "databases zero", args: []string{"--databases", "0"}},
	{name: "io-threads bound", args: []string{"--io-threads", "129"}},
	{name: "tcp-backlog negative", args: []string{"--tcp-backlog", "-1"}},
	{name: "cluster-port bound", args: []string{"--cluster-port", "65536"}},
	{name: "octal digits", args: []string{"--unixsocketperm", "800"}},
	{name: "octal bound", args: []string{"--unixsocketperm", "1000"}},
	{name: "socket-mark-id negative", args: []string{"--socket-mark-id", "-1"}},
	{name: "socket-mark-id too large", args: []string{"--socket-mark-id", "4294967296"}},
	{name: "memory value", args: []string{"--maxmemory", "1.5gb"}},
	{name: "memory bound", args: []string{"--proto-max-bulk-len", "1000"}},
	{name: "percent bound", args: []string{"--maxmemory-clients", "101%"}},
	{name: "memory or percent", args: []string{"--maxmemory-clients", "-1"}},
	{name: "slowlog bound", args: []string{"--slowlog-log-slower-than", "-2"}},
	{name: "percentile range", args: []string{"--latency-tracking-info-percentiles", "101"}},
	{name: "percentile syntax", args: []string{"--latency-tracking-info-percentiles", "50 x"}},
	{name: "oom values arity", args: []string{"--oom-score-adj-values", "1 2"}},
	{name: "oom values range", args: []string{"--oom-score-adj-values", "1 2 3000"}},
	{name: "obuf master", files: map[string]string{"c.conf": "client-output-buffer-limit master 1 1 1\n"}, args: []string{"c.conf"}},
	{name: "obuf arity", files: map[string]string{"c.conf": "client-output-buffer-limit normal 1 1\n"}, args: []string{"c.conf"}},
	{name: "obuf value", files: map[string]string{"c.conf": "client-output-buffer-limit normal 1x 1 1\n"}, args: []string{"c.conf"}},
	{name: "obuf empty", files: map[string]string{"c.conf": "client-output-buffer-limit \"\"\n"}, args: []string{"c.conf"}},
	{name: "save odd", files: map[string]string{"c.conf": "save 900 1 2\n"}, args: []string{"c.conf"}},
	{name: "save zero seconds", args: []string{"--save", "0 1"}},
	{name: "too many binds", files: map[string]string{"c.conf": "bind 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17\n"}, args: []string{"c.conf"}},
	{name: "replicaof bad port", files: map[string]string{"c.conf": "replicaof localhost 70000\n"}, args: []string{"c.conf"}},
	{name: "replicaof arity", files: map[string]string{"c.conf": "replicaof localhost\n"}, args: []string{"c.conf"}},
	{name: "notify bad class", args: []string{"--notify-keyspace-events", "Kq"}},
	{name: "shutdown flags clash", args: []string{"--shutdown-on-sigint", "save nosave"}},
	{name: "shutdown flag unknown", files: map[string]string{"c.conf": "shutdown-on-sigterm now bogus\n"}, args: []string{"c.conf"}},
	{name: "hostname chars", args: []string{"--cluster-announce-hostname", "bad_name"}},
	{name: "hostname length", args: []string{"--cluster-announce-hostname", strings.Repeat("a", 256)}},
	{name: "dbfilename path", args: []string{"--dbfilename", "a/b"}},
	{name: "dbfilename backslash", args: []string{"--dbfilename", `a\b`}},
	{name: "appendfilename empty", args: []string{"--appendfilename", ""}},
	{name: "appenddirname path", args: []string{"--appenddirname", "a/b"}},
	{name: "title unknown variable", args: []string{"--proc-title-template", "{foo}"}},
	{name: "title empty expansion", args: []string{"--proc-title-template", "{title} {server-mode}"}},
	{name: "activedefrag refused", args: []string{"--activedefrag", "yes"}},
	{name: "title unterminated", args: []string{"--proc-title-template", "x {port"}},

	// Command-line quirks.
	{name: "option without value", args: []string{"--port"}},
	{name: "option with two values", args: []string{"--port", "1", "2"}},
	{name: "option value looks like option", args: []string{"--logfile", "--port"}},
	{name: "option and value in one arg", args: []string{"--port {port}", "--hz", "x"}},
	{name: "single dash argument", args: []string{"--port", "{port}", "-x"}},
	{name: "stdin dash in the middle", args: []string{"--port", "{port}", "-", "--hz", "5"}},
	{name: "value needing quotes", args: []string{"--port", "{port}", "--logfile", "a\"b\\c\x01\n"}},

	// Successful loads: every value must match CONFIG GET.
	{name: "no arguments but port", args: []string{"--port", "{port}"}},
	{name: "many directives", files: map[string]string{"c.conf": `# a comment
port {port}
  PORT {port}
bind 127.0.0.1 -::1
Hz 0
dynamic-hz no
maxmemory 1GB
maxmemory-policy ALLKEYS-LRU
maxmemory-clients 10%
slave-read-only no
replica-priority 5
requirepass "p w\x41"
masterauth 'a\'b'
masteruser "x"
notify-keyspace-events Kmnx
shutdown-on-sigint "now save"
shutdown-on-sigterm force nosave
client-output-buffer-limit Replica 1k 2kb 4294967297 PUBSUB 0 0 -0
oom-score-adj-values "1 2 3"
oom-score-adj relative
latency-tracking-info-percentiles 1e1 0.5 99.99999999 100
unixsocket r.sock
unixsocketperm 0755
pidfile r.pid
lua-time-limit 1234
list-max-ziplist-size 7
list-max-ziplist-entries 5
lua-replicate-commands yes
sentinel
tls-port 0
io-threads 2
databases 3
cluster-announce-hostname a.b-c
proc-title-template "{title} {{x} {port}"
dbfilename "d.rdb"
appendonly no
hll-sparse-max-bytes 1k
maxmemory 18446744073709551616
`}, args: []string{"c.conf"}, auth: "p wA"},
	{name: "save points in a file", files: map[string]string{"c.conf": "port {port}\nsave 900 1\nsave 300 10\n"}, args: []string{"c.conf"}},
	{name: "empty save resets", files: map[string]string{"c.conf": "port {port}\nsave 900 1\nsave \"\"\nsave 60 10000\n"}, args: []string{"c.conf"}},
	{name: "save after include replaces", files: map[string]string{"c.conf": "port {port}\nsave 900 1\ninclude e.conf\nsave 300 10\nsave 60 10000\n", "e.conf": ""}, args: []string{"c.conf"}},
	{name: "save in one quoted argument", files: map[string]string{"c.conf": "port {port}\nsave \"900 1 \"\nsave \" \"\n"}, args: []string{"c.conf"}},
	{name: "save odd integers", args: []string{"--port", "{port}", "--save", "+1 02 1 4294967297 9223372036854775808 5"}},
	{name: "argv save empty", args: []string{"--port", "{port}", "--save", "900 1", "--save", ""}},
	{name: "argv save last", args: []string{"--port", "{port}", "--save"}},
	{name: "argv save followed by option", args: []string{"--save", "--port", "{port}"}},
	{name: "argv save pairs", args: []string{"--port", "{port}", "--save", "10", "20", "--save", "30", "40"}},
	{name: "argv overrides file", files: map[string]string{"c.conf": "port 1\nhz 20\n"}, args: []string{"c.conf", "--port", "{port}", "--hz", "30"}},
	{name: "stdin after file", files: map[string]string{"c.conf": "port {port}\nhz 5\n"}, args: []string{"c.conf", "-"}, stdin: "hz 6\ntimeout 7\n"},
	{name: "stdin without file", args: []string{"-", "--hz", "9"}, stdin: "port {port}\n"},
	{name: "relative include", files: map[string]string{"c.conf": "port {port}\ninclude sub/i.conf\n", "sub/i.conf": "hz 12\n"}, args: []string{"c.conf"}},
	{name: "include after dir", files: map[string]string{"c.conf": "port {port}\ndir sub\ninclude i.conf\n", "sub/i.conf": "hz 13\n"}, args: []string{"c.conf"}},
	{name: "include glob", files: map[string]string{"c.conf": "port {port}\ninclude conf.d/*.conf\ninclude none/*.conf\n", "conf.d/a.conf": "hz 14\n", "conf.d/b.conf": "hz 15\ntimeout 3\n", "conf.d/.c.conf": "hz 16\n"}, args: []string{"c.conf"}},
	{name: "include a directory", files: map[string]string{"c.conf": "port {port}\ninclude d\nhz 17\n", "d/": ""}, args: []string{"c.conf"}},
	{name: "config file is a directory", files: map[string]string{"d/x": ""}, args: []string{"d", "--port", "{port}"}},
	{name: "config path with spaces and dots", files: map[string]string{"sub/c.conf": "port {port}\n"}, args: []string{" ./sub/c.conf "}},
	{name: "empty config file", files: map[string]string{"c.conf": ""}, args: []string{"c.conf", "--port", "{port}"}},
	{name: "crlf and nul bytes", files: map[string]string{"c.conf": "port {port}\r\nhz 21\x00junk\r\ntimeout 4\r\n"}, args: []string{"c.conf"}},
	{name: "relative dir", files: map[string]string{"c.conf": "port {port}\ndir sub/../sub\n", "sub/": ""}, args: []string{"c.conf"}},
	{name: "log file created", files: map[string]string{"c.conf": "port {port}\nlogfile r.log\nloglevel warning\n"}, args: []string{"c.conf"}},
	{name: "cluster node", files: map[string]string{"c.conf": "port {port}\ncluster-enabled yes\ncluster-port {bus}\ncluster-node-timeout 5000\ncluster-announce-ip 10.0.0.1\n"}, args: []string{"c.conf"}},
	{name: "replica", args: []string{"--port", "{port}", "--replicaof", "127.0.0.1 1", "--masterauth", "x"}},
	{name: "replicaof no one", files: map[string]string{"c.conf": "port {port}\nslaveof 127.0.0.1 1\nreplicaof NO ONE\n"}, args: []string{"c.conf"}},
	{name: "renames", files: map[string]string{"c.conf": "port {port}\nrename-command FLUSHALL \"\"\nrename-command flushdb myflush\n"}, args: []string{"c.conf"}, commands: true},
	{name: "users", files: map[string]string{"c.conf": "port {port}\nuser alice on >pw ~foo:* +get\n"}, args: []string{"c.conf"}},
	{name: "empty bind", args: []string{"--port", "{port}", "--bind", "127.0.0.1", "--bind-source-addr", "127.0.0.1"}},
	{name: "memory units", args: []string{"--port", "{port}", "--repl-backlog-size", "2MB", "--client-query-buffer-limit", "2gb", "--proto-max-bulk-len", "3m", "--active-defrag-ignore-bytes", "7K", "--maxmemory", "kb", "--stream-node-max-bytes", ""}},
	{name: "octal forms", args: []string{"--port", "{port}", "--unixsocketperm", " +0700"}},
	{name: "tiny backlog kept at startup", args: []string{"--port", "{port}", "--repl-backlog-size", "1"}},
	{name: "empty percentiles", args: []string{"--port", "{port}", "--latency-tracking-info-percentiles", ""}},
}

// expand replaces the port placeholders.
func expand(s string, port, bus int) string {
	s = strings.ReplaceAll(s, "{port}", strconv.Itoa(port))
	return strings.ReplaceAll(s, "{bus}", strconv.Itoa(bus))
}

func TestLoadMatchesRedis(t *testing.T) {
	redisBin(t)
	for _, tc := range loadCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			runLoadCase(t, tc)
		})
	}
}

// TestShippedRedisConfMatchesRedis loads the distribution's redis.conf, the
// reference file of every 7.0 directive, with the overrides a test needs.
func TestShippedRedisConfMatchesRedis(t *testing.T) {
	redisBin(t)
	conf, err := os.ReadFile("/etc/redis/redis.conf")
	if err != nil {
		t.Skip("no /etc/redis/redis.conf")
	}
	runLoadCase(t, loadCase{
		files: map[string]string{"redis.conf": string(conf)},
		args:  []string{"redis.conf", "--daemonize", "no", "--pidfile", "", "--logfile", "", "--dir", ".", "--port", "{port}"},
	})
}

// runLoadCase runs one startup on both sides and compares the outcome.
func runLoadCase(t *testing.T, tc loadCase) {
	dir := physDir(t)
	port, bus := freePort(t), freePort(t)
	hasPort := false
	for name, content := range tc.files {
		p := filepath.Join(dir, name)
		if strings.HasSuffix(name, "/") {
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		hasPort = hasPort || strings.Contains(content, "{port}")
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(expand(content, port, bus)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var args []string
	for _, a := range tc.args {
		hasPort = hasPort || strings.Contains(a, "{port}")
		args = append(args, expand(a, port, bus))
	}
	hasPort = hasPort || strings.Contains(tc.stdin, "{port}")
	if !hasPort {
		args = append(args, "--port", strconv.Itoa(port))
	}
	stdin := expand(tc.stdin, port, bus)

	var cmds []string
	if tc.commands {
		cmds = oracleCommands(t)
	}
	r := startRedis(t, dir, args, stdin, port)
	cfg, err := LoadWith(args, LoadOptions{Dir: dir, Stdin: strings.NewReader(stdin), Commands: cmds})

	if r.Exited {
		if err == nil {
			t.Fatalf("redis exited %d (%q %q) but Load succeeded", r.ExitCode, r.Stderr, r.Stdout)
		}
		var fe *FatalError
		if !errors.As(err, &fe) {
			t.Fatalf("error is %T, want *FatalError", err)
		}
		if r.ExitCode != 1 {
			t.Errorf("redis exit code %d", r.ExitCode)
		}
		if fe.Stderr != "" {
			if fe.Stderr != r.Stderr {
				t.Errorf("stderr:\nredis %q\nours  %q", r.Stderr, fe.Stderr)
			}
			return
		}
		msgs := logMessages(r.Stdout)
		if len(msgs) < len(fe.Log) || strings.Join(msgs[len(msgs)-len(fe.Log):], "\n") != strings.Join(fe.Log, "\n") {
			t.Errorf("log:\nredis %q\nours  %q", msgs, fe.Log)
		}
		return
	}
	if err != nil {
		t.Fatalf("redis started but Load failed: %v", err)
	}
	rc := dialRedis(t, port)
	if tc.auth != "" {
		if v := rc.do(t, "AUTH", tc.auth); v != "OK" {
			t.Fatalf("AUTH: %v", v)
		}
	}
	live := NewLive(cfg, cfg.ConfigFile)
	diffMaps(t, "CONFIG GET *", rc.configMap(t, "*"), ourMap(live, "*"))
	hidden := hiddenNames()
	diffMaps(t, "hidden", rc.configMap(t, hidden...), ourMap(live, hidden...))
}

// genSkip lists parameters the generated file leaves alone: they need real
// resources (listening addresses, TLS certificates, an ACL file), detach the
// process, or are rewritten by Redis from the host (maxclients follows the
// file-descriptor limit).
var genSkip = map[string]bool{
	"port": true, "bind": true, "dir": true, "logfile": true, "daemonize": true, "tls-port": true,
	"tls-cluster": true, "tls-replication": true, "cluster-enabled": true, "replicaof": true,
	"aclfile": true, "maxclients": true, "timeout": true, "requirepass": true, "unixsocket": true,
	"cluster-port": true, "appendonly": true,
}

// genValues overrides the generated value where files must not collide.
var genValues = map[string]string{
	"pidfile": "r.pid", "dbfilename": "d.rdb", "appendfilename": "a.aof", "appenddirname": "aofdir",
	"cluster-config-file": "n.conf", "syslog-ident": "reef",
}

// TestEveryParamNonDefaultMatchesRedis writes one config file that gives
// every parameter a non-default value Load accepts, and requires Redis to
// accept it too and to report the same values.
func TestEveryParamNonDefaultMatchesRedis(t *testing.T) {
	redisBin(t)
	var cands []string
	for _, items := range [][]enumItem{maxmemoryPolicies, syslogFacilities, logLevels, aofFsyncs, disklessLoads, tlsAuthClients, oomScoreAdjs, aclPubsubDefaults, sanitizePayloads, protectedActions, endpointTypes, propagationErrors, shutdownOnSigFlags} {
		for _, it := range items {
			cands = append(cands, it.name)
		}
	}
	cands = append([]string{"yes", "no", "2", "3", "7", "x", "1 2 3", "1mb 2mb 3"}, cands...)
	cands = append(cands, "normal 1 2 3", "now save", "10 20 30 40")
	for _, v := range probeValues {
		if !strings.ContainsRune(v, 0) {
			cands = append(cands, v)
		}
	}
	def := Default()
	var b strings.Builder
	b.WriteString("port {port}\n")
	n := 0
	for _, p := range params {
		if genSkip[p.name] {
			continue
		}
		for _, v := range cands {
			if gv, ok := genValues[p.name]; ok {
				v = gv
			}
			c := def.clone()
			vals := []string{v}
			if p.flags&fMultiArg != 0 {
				vals = splitSpace(v)
			}
			if p.set(c, vals, &loadState{readingFile: true}) == "" && p.get(c) != p.get(def) {
				b.WriteString(p.name + " " + splitargs.Repr(v) + "\n")
				n++
				break
			}
		}
	}
	t.Logf("%d parameters set", n)
	runLoadCase(t, loadCase{files: map[string]string{"c.conf": b.String()}, args: []string{"c.conf"}})
}
