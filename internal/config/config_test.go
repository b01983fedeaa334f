package config

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

// These tests need no redis-server: their expectations were captured from
// redis-server 7.0.15 (the differential tests re-check them live).

func TestDefaults(t *testing.T) {
	c := Default()
	if c.Port != 6379 || !slices.Equal(c.Bind, []string{"*", "-::*"}) || !c.ProtectedMode || c.TCPBacklog != 511 ||
		c.Databases != 16 || c.MaxClients != 10000 || c.MaxMemoryPolicy != "noeviction" || c.LogLevel != "notice" ||
		c.Hz != 10 || !c.DynamicHz || c.ProtoMaxBulkLen != 512<<20 || c.ClientQueryBufferLimit != 1<<30 ||
		c.ReplBacklogSize != 1<<20 || c.ClusterNodeTimeout != 15000 || c.ClusterConfigFile != "nodes.conf" ||
		c.BusyReplyThreshold != 5000 || c.LuaTimeLimit != 5000 || c.EnableDebugCommand != "no" ||
		c.SlowlogLogSlowerThan != 10000 || c.TCPKeepalive != 300 || c.ListMaxListpackSize != -2 {
		t.Errorf("unexpected defaults: %+v", c)
	}
	if !slices.Equal(c.Save, []SavePoint{{3600, 1}, {300, 100}, {60, 10000}}) {
		t.Errorf("save %v", c.Save)
	}
	if c.ClientOutputBufferLimits["replica"] != (OutputBufferLimit{256 << 20, 64 << 20, 60}) {
		t.Errorf("obuf %v", c.ClientOutputBufferLimits)
	}
	wd, _ := os.Getwd()
	if real, _ := filepath.EvalSymlinks(wd); c.Dir != real {
		t.Errorf("dir %q, want %q", c.Dir, real)
	}
	// Each call is a fresh value.
	d := Default()
	d.Bind[0] = "x"
	d.ClientOutputBufferLimits["normal"] = OutputBufferLimit{1, 1, 1}
	if c.Bind[0] != "*" || c.ClientOutputBufferLimits["normal"] != (OutputBufferLimit{}) {
		t.Error("Default shares state between calls")
	}
}

func TestValueAndNames(t *testing.T) {
	c := Default()
	for name, want := range map[string]string{
		"save": "3600 1 300 100 60 10000", "client-output-buffer-limit": "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60",
		"bind": "* -::*", "SLAVE-READ-ONLY": "yes", "lua-time-limit": "5000", "maxmemory-policy": "noeviction",
		"latency-tracking-info-percentiles": "50 99 99.9", "oom-score-adj-values": "0 200 800", "unixsocketperm": "0",
		"proc-title-template": "{title} {listen-addr} {server-mode}", "use-exit-on-panic": "no",
		"loading-process-events-interval-bytes": "2097152", "shutdown-on-sigint": "default", "acl-pubsub-default": "resetchannels",
	} {
		if got, ok := c.Value(name); !ok || got != want {
			t.Errorf("Value(%s) = %q %v, want %q", name, got, ok, want)
		}
	}
	if _, ok := c.Value("nosuch"); ok {
		t.Error("Value(nosuch) found")
	}
	names := Names()
	if len(names) != 198 { // 192 in CONFIG GET * plus 6 hidden
		t.Errorf("%d names", len(names))
	}
	if !Sensitive("REQUIREPASS") || !Sensitive("masterauth") || !Sensitive("masteruser") || Sensitive("port") || Sensitive("tls-key-file-pass") {
		t.Error("Sensitive")
	}
}

// writeFiles creates files (name -> content) in a new directory.
func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := physDir(t)
	for n, c := range files {
		p := filepath.Join(dir, n)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestLoadErrors(t *testing.T) {
	const banner = "\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\n"
	for _, tc := range []struct {
		name  string
		files map[string]string
		args  []string
		text  string // the whole Error(), with {dir} for the directory
		file  string // expected FatalError.File ("{dir}/" prefix allowed)
		line  int
		log   bool
	}{
		{"bad directive", map[string]string{"c.conf": "port 1\nfoo bar\n"}, []string{"c.conf"},
			banner + "Reading the configuration file, at line 2\n>>> 'foo bar'\nBad directive or wrong number of arguments\n", "{dir}/c.conf", 2, false},
		{"argv line numbers", nil, []string{"--port", "1", "--foo", "bar"},
			banner + "Reading the configuration file, at line 3\n>>> 'foo \"bar\"'\nBad directive or wrong number of arguments\n", "", 3, false},
		{"file then argv", map[string]string{"c.conf": "port 1\n"}, []string{"c.conf", "--maxmemory", "x"},
			banner + "Reading the configuration file, at line 3\n>>> 'maxmemory \"x\"'\nargument must be a memory value\n", "", 3, false},
		{"include names its file", map[string]string{"c.conf": "include i.conf\n", "i.conf": "\nhz x\n"}, []string{"c.conf"},
			banner + "Reading the configuration file, at line 2\n>>> 'hz x'\nargument couldn't be parsed into an integer\n", "i.conf", 2, false},
		{"missing file", nil, []string{"x.conf"}, "Fatal error, can't open config file '{dir}/x.conf': No such file or directory", "", 0, true},
		{"missing include", map[string]string{"c.conf": "include nope.conf\n"}, []string{"c.conf"}, "Fatal error, can't open config file 'nope.conf': No such file or directory", "", 0, true},
		{"log file", map[string]string{"c.conf": "logfile /nonexistent/l\n"}, []string{"c.conf"}, banner + "Can't open the log file: No such file or directory\n", "", 0, false},
		{"loadmodule", nil, []string{"--loadmodule", "/x.so"}, "Module /x.so failed to load: Reef does not support modules\nCan't load module from /x.so: server aborting", "", 0, true},
		{"module config", nil, []string{"--m.x", "1"}, "Module Configuration detected without loadmodule directive or no ApplyConfig call: aborting", "", 0, true},
		{"unbalanced", map[string]string{"c.conf": "\n\nrequirepass 'x\n"}, []string{"c.conf"},
			banner + "Reading the configuration file, at line 3\n>>> 'requirepass 'x'\nUnbalanced quotes in configuration line\n", "{dir}/c.conf", 3, false},
		{"include cycle", map[string]string{"c.conf": "include c.conf\n"}, []string{"c.conf"},
			"Fatal error, can't open config file 'c.conf': too many nested includes (more than 100)", "c.conf", 1, true},
		{"dir", nil, []string{"--dir", "nope"}, banner + "Reading the configuration file, at line 2\n>>> 'dir \"nope\"'\nNo such file or directory\n", "", 2, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeFiles(t, tc.files)
			_, err := LoadWith(tc.args, LoadOptions{Dir: dir, Stdin: strings.NewReader("")})
			var fe *FatalError
			if !errors.As(err, &fe) {
				t.Fatalf("got %v, want *FatalError", err)
			}
			if want := strings.ReplaceAll(tc.text, "{dir}", dir); err.Error() != want {
				t.Errorf("text\n got %q\nwant %q", err.Error(), want)
			}
			if (fe.Stderr == "") != tc.log {
				t.Errorf("Stderr %q Log %q", fe.Stderr, fe.Log)
			}
			if want := strings.ReplaceAll(tc.file, "{dir}", dir); fe.File != want || fe.Line != tc.line {
				t.Errorf("at %q:%d, want %q:%d", fe.File, fe.Line, want, tc.line)
			}
		})
	}
}

func TestLoadTypedFields(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"sub/i.conf": "timeout 30\n",
		"c.conf": `port 7000
bind 127.0.0.1 "-::1"
maxmemory 2gb
maxmemory-clients 5%
replicaof 10.0.0.1 6380
notify-keyspace-events "xnKm"
shutdown-on-sigterm "nosave now"
lua-time-limit 100
save 10 2
dir sub
include i.conf
unixsocketperm 700
client-output-buffer-limit pubsub 1mb 0 0
user alice on >pw ~* +@all
rename-command KEYS ""
requirepass "a\x00b"
enable-debug-command local
`})
	c, err := LoadWith([]string{"c.conf", "--hz", "1000"}, LoadOptions{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	host, port, ok := c.Master()
	switch {
	case c.Port != 7000 || !slices.Equal(c.Bind, []string{"127.0.0.1", "-::1"}):
		t.Errorf("net %d %v", c.Port, c.Bind)
	case c.MaxMemory != 2<<30 || c.MaxMemoryClients != -5:
		t.Errorf("memory %d %d", c.MaxMemory, c.MaxMemoryClients)
	case host != "10.0.0.1" || port != 6380 || !ok:
		t.Errorf("master %q %d %v", host, port, ok)
	case c.NotifyKeyspaceEvents != "xnKm" || KeyspaceEventFlags(c.NotifyKeyspaceEvents) != KeyspaceEventFlags("Kmxn"):
		t.Errorf("notify %q", c.NotifyKeyspaceEvents)
	case c.ShutdownOnSigterm != ShutdownNoSave|ShutdownNow:
		t.Errorf("shutdown %d", c.ShutdownOnSigterm)
	case c.LuaTimeLimit != 100 || c.BusyReplyThreshold != 100:
		t.Errorf("lua %d %d", c.LuaTimeLimit, c.BusyReplyThreshold)
	case !slices.Equal(c.Save, []SavePoint{{10, 2}}):
		t.Errorf("save %v", c.Save)
	case c.Dir != filepath.Join(dir, "sub") || c.Timeout != 30:
		t.Errorf("dir %q timeout %d", c.Dir, c.Timeout)
	case c.Hz != 500:
		t.Errorf("hz %d", c.Hz)
	case c.UnixSocketPerm != 0o700:
		t.Errorf("perm %o", c.UnixSocketPerm)
	case c.ClientOutputBufferLimits["pubsub"] != (OutputBufferLimit{1 << 20, 0, 0}) || c.ClientOutputBufferLimits["normal"] != (OutputBufferLimit{}):
		t.Errorf("obuf %v", c.ClientOutputBufferLimits)
	case len(c.Users) != 1 || c.Users[0][0] != "alice" || len(c.RenameCommands) != 1 || c.RenameCommands[0] != [2]string{"KEYS", ""}:
		t.Errorf("users %q renames %q", c.Users, c.RenameCommands)
	case c.RequirePass != "a\x00b" || c.EnableDebugCommand != "local":
		t.Errorf("pass %q debug %q", c.RequirePass, c.EnableDebugCommand)
	case c.ConfigFile != filepath.Join(dir, "c.conf"):
		t.Errorf("config file %q", c.ConfigFile)
	}
}

func TestLoadStdin(t *testing.T) {
	c, err := LoadWith([]string{"-", "--hz", "7"}, LoadOptions{Dir: t.TempDir(), Stdin: strings.NewReader("port 1234\nhz 5\n")})
	if err != nil {
		t.Fatal(err)
	}
	if !c.ConfigFromStdin || c.Port != 1234 || c.Hz != 7 || c.ConfigFile != "" {
		t.Errorf("%v %d %d %q", c.ConfigFromStdin, c.Port, c.Hz, c.ConfigFile)
	}
	// Without arguments nothing is read, not even standard input.
	c, err = LoadWith(nil, LoadOptions{Stdin: errReader{}})
	if err != nil || c.Port != 6379 {
		t.Fatal(err)
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { panic("read") }

func TestAbsPath(t *testing.T) {
	for _, tc := range [][3]string{
		{"/a/b", "c.conf", "/a/b/c.conf"},
		{"/a/b", " /x.conf\n", "/x.conf"},
		{"/a/b", "../c.conf", "/a/c.conf"},
		{"/a/b", "../../../c.conf", "/c.conf"},
		{"/a/b", "./c.conf", "/a/b/./c.conf"},
		{"/a/b", "x/../c.conf", "/a/b/x/../c.conf"},
		{"/", "c.conf", "/c.conf"},
		{"/a", "", "/a/"},
	} {
		if got := absPath(tc[0], tc[1]); got != tc[2] {
			t.Errorf("absPath(%q, %q) = %q, want %q", tc[0], tc[1], got, tc[2])
		}
	}
}

func TestSetRules(t *testing.T) {
	l := NewLive(Default(), "")
	for _, tc := range []struct {
		args []string
		ctx  SetContext
		want string
	}{
		{[]string{"maxmemory"}, SetContext{}, "ERR wrong number of arguments for 'config|set' command"},
		{[]string{"a", "b", "c"}, SetContext{}, "ERR syntax error"},
		{[]string{"foo", "1"}, SetContext{}, "ERR Unknown option or number of arguments for CONFIG SET - 'foo'"},
		{[]string{"port\x00", "1"}, SetContext{}, "ERR Unknown option or number of arguments for CONFIG SET - 'port'"},
		{[]string{"Daemonize", "yes"}, SetContext{}, "ERR CONFIG SET failed (possibly related to argument 'Daemonize') - can't set immutable config"},
		{[]string{"dir", "/"}, SetContext{Local: true}, "ERR CONFIG SET failed (possibly related to argument 'dir') - can't set protected config"},
		{[]string{"appendonly", "yes"}, SetContext{Loading: true}, "LOADING Redis is loading the dataset in memory"},
		{[]string{"maxmemory", "1", "MAXMEMORY", "2"}, SetContext{}, "ERR CONFIG SET failed (possibly related to argument 'MAXMEMORY') - duplicate parameter"},
		{[]string{"slave-priority", "x"}, SetContext{}, "ERR CONFIG SET failed (possibly related to argument 'slave-priority') - argument couldn't be parsed into an integer"},
		{[]string{"maxmemory", "1", "loglevel", "x"}, SetContext{}, "ERR CONFIG SET failed (possibly related to argument 'loglevel') - argument(s) must be one of the following: debug, verbose, notice, warning"},
		{[]string{"slave-priority", "1", "replica-priority", "2"}, SetContext{}, ""},
	} {
		if got := l.SetWith(toBytes(tc.args), tc.ctx); got != tc.want {
			t.Errorf("%q:\n got %q\nwant %q", tc.args, got, tc.want)
		}
	}
	if c := l.Get(); c.MaxMemory != 0 || c.ReplicaPriority != 2 {
		t.Errorf("maxmemory %d priority %d", c.MaxMemory, c.ReplicaPriority)
	}

	// enable-protected-configs: "local" needs a local client, "yes" does not.
	for _, tc := range []struct {
		setting string
		local   bool
		ok      bool
	}{{"no", true, false}, {"local", false, false}, {"local", true, true}, {"yes", false, true}} {
		c := Default()
		c.EnableProtectedConfigs = tc.setting
		l := NewLive(c, "")
		got := l.SetWith(toBytes([]string{"dbfilename", "x.rdb"}), SetContext{Local: tc.local})
		if (got == "") != tc.ok {
			t.Errorf("%s local=%v: %q", tc.setting, tc.local, got)
		}
	}
}

func TestSetDir(t *testing.T) {
	dir := writeFiles(t, map[string]string{"sub/f": ""})
	c := Default()
	c.Dir, c.EnableProtectedConfigs = dir, "yes"
	l := NewLive(c, "")
	if got := l.Set(toBytes([]string{"dir", "sub"})); got != "" || l.Get().Dir != filepath.Join(dir, "sub") {
		t.Fatalf("%q %q", got, l.Get().Dir)
	}
	if got := l.Set(toBytes([]string{"dir", "f"})); got != "ERR CONFIG SET failed (possibly related to argument 'dir') - Not a directory" {
		t.Error(got)
	}
	if got := l.Set(toBytes([]string{"dir", ".."})); got != "" || l.Get().Dir != dir {
		t.Errorf("%q %q", got, l.Get().Dir)
	}
}

func TestApplyHooks(t *testing.T) {
	l := NewLive(Default(), "")
	var calls []string
	l.OnApply([]string{"port", "BIND"}, func(old, new *Config) error {
		calls = append(calls, "net "+new.val("port"))
		if new.Port == 1 {
			return errors.New("Unable to listen on this port. Check server logs.")
		}
		return nil
	})
	l.OnApply([]string{"slave-read-only"}, func(old, new *Config) error {
		calls = append(calls, "ro "+new.val("replica-read-only"))
		return nil
	})
	l.OnApply([]string{"maxclients"}, func(old, new *Config) error {
		calls = append(calls, "clients")
		return errors.New("The operating system is not able to handle the specified number of clients, try with 4064")
	})

	// Order follows the first changed parameter; unchanged values run nothing.
	if got := l.Set(toBytes([]string{"replica-read-only", "no", "hz", "10", "port", "7000"})); got != "" {
		t.Fatal(got)
	}
	if want := []string{"ro no", "net 7000"}; !slices.Equal(calls, want) {
		t.Errorf("calls %q, want %q", calls, want)
	}
	calls = nil
	if got := l.Set(toBytes([]string{"hz", "10", "port", "7000"})); got != "" || calls != nil {
		t.Errorf("unchanged: %q %q", got, calls)
	}

	// A failing hook rolls back: hooks that ran are called again with the
	// old values, and nothing is published.
	calls = nil
	got := l.Set(toBytes([]string{"slave-read-only", "yes", "port", "1", "maxmemory", "5"}))
	if got != "ERR CONFIG SET failed (possibly related to argument 'port') - Unable to listen on this port. Check server logs." {
		t.Errorf("got %q", got)
	}
	if want := []string{"ro yes", "net 1", "ro no", "net 7000"}; !slices.Equal(calls, want) {
		t.Errorf("calls %q, want %q", calls, want)
	}
	if c := l.Get(); c.Port != 7000 || c.MaxMemory != 0 || c.ReplicaReadOnly {
		t.Errorf("published after failure: %d %d %v", c.Port, c.MaxMemory, c.ReplicaReadOnly)
	}
	got = l.Set(toBytes([]string{"maxclients", "1000000"}))
	if got != "ERR CONFIG SET failed (possibly related to argument 'maxclients') - The operating system is not able to handle the specified number of clients, try with 4064" {
		t.Errorf("got %q", got)
	}

	defer func() {
		if recover() == nil {
			t.Error("OnApply accepted an unknown name")
		}
	}()
	l.OnApply([]string{"nosuch"}, nil)
}

// val is a test helper: the CONFIG GET value of name.
func (c *Config) val(name string) string {
	v, _ := c.Value(name)
	return v
}

func TestSnapshotsAreImmutable(t *testing.T) {
	l := NewLive(Default(), "")
	before := l.Get()
	if got := l.Set(toBytes([]string{"save", "1 2", "client-output-buffer-limit", "normal 1 2 3", "bind", "127.0.0.1", "ignore-warnings", "x"})); got != "" {
		t.Fatal(got)
	}
	l.Update(func(c *Config) {
		c.ReplicaOf = "h 1"
		c.Bind[0] = "10.0.0.1"
		c.Save = append(c.Save, SavePoint{5, 5})
	})
	if before.val("save") != "3600 1 300 100 60 10000" || before.val("bind") != "* -::*" ||
		before.ClientOutputBufferLimits["normal"] != (OutputBufferLimit{}) || before.val("ignore-warnings") != "" || before.ReplicaOf != "" {
		t.Error("an old snapshot changed")
	}
	after := l.Get()
	if after.val("save") != "1 2 5 5" || after.val("bind") != "10.0.0.1" || after.val("replicaof") != "h 1" || after.val("ignore-warnings") != "x" {
		t.Errorf("new snapshot: %q %q %q", after.val("save"), after.val("bind"), after.val("replicaof"))
	}
}

func TestConcurrentGetSet(t *testing.T) {
	l := NewLive(Default(), "")
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if c := l.Get(); c.Hz < 1 || c.Hz > 500 {
					t.Errorf("hz %d", c.Hz)
					return
				}
			}
		}()
	}
	for i := range 200 {
		l.Set(toBytes([]string{"hz", itoa(i), "maxmemory", itoa(i)}))
	}
	close(stop)
	wg.Wait()
}

func TestStringMatch(t *testing.T) {
	for _, tc := range []struct {
		pat, s string
		want   bool
	}{
		{"*", "x", true}, {"*", "", false}, // Redis quirk: an empty string matches nothing but ""
		{"", "", true}, {"a*", "abc", true}, {"A*", "abc", true},
		{"a?c", "abc", true}, {"a?c", "ac", false}, {"[a-c]x", "bx", true}, {"[c-a]x", "bx", true},
		{"[^a-c]x", "bx", false}, {"[^a-c]x", "dx", true}, {"\\*", "*", true}, {"\\*", "a", false},
		{"[abc", "a", true}, {"[abc", "ab", false}, {"[\\]]", "]", true}, {"*-max-*-entries", "hash-max-listpack-entries", true},
		{"**a", "ba", true}, {"a*b*c", "aXbYc", true}, {"a*b*c", "aXbY", false}, {"[]", "]", false},
		{"h[A-Z]", "hz", true}, {"*[0-9]*", "io-threads", false}, {"x\\", "x\\", true},
	} {
		if got := stringMatch(tc.pat, tc.s, true); got != tc.want {
			t.Errorf("stringMatch(%q, %q) = %v", tc.pat, tc.s, got)
		}
	}
}

func TestCParsers(t *testing.T) {
	for _, tc := range []struct {
		s  string
		v  int64
		ok bool
	}{{"0", 0, true}, {"-0", 0, false}, {"01", 0, false}, {"+1", 0, false}, {" 1", 0, false}, {"-9223372036854775808", -1 << 63, true},
		{"9223372036854775808", 0, false}, {"", 0, false}, {"12345678901234567890", 0, false}, {"-", 0, false}} {
		if v, ok := string2ll(tc.s); v != tc.v || ok != tc.ok {
			t.Errorf("string2ll(%q) = %d %v", tc.s, v, ok)
		}
	}
	for _, tc := range []struct {
		s  string
		v  uint64
		ok bool
	}{{"", 0, true}, {"kb", 0, true}, {"1K", 1000, true}, {"1kB", 1024, true}, {"2gb", 2 << 30, true}, {"1.5gb", 0, false},
		{"-1", 0, false}, {"18446744073709551616", 1<<64 - 1, true}, {"1 ", 0, false}, {"5\x00junk", 5, true}} {
		if v, ok := memtoull(tc.s); v != tc.v || ok != tc.ok {
			t.Errorf("memtoull(%q) = %d %v", tc.s, v, ok)
		}
	}
	for _, tc := range []struct {
		s    string
		v    int64
		rest string
	}{{" +12x", 12, "x"}, {"-", 0, "-"}, {"", 0, ""}, {"99999999999999999999", 1<<63 - 1, ""}, {"\t-5", -5, ""}} {
		if v, rest, _ := strtoll(tc.s, 10); v != tc.v || rest != tc.rest {
			t.Errorf("strtoll(%q) = %d %q", tc.s, v, rest)
		}
	}
	for _, tc := range []struct {
		s  string
		v  float64
		ok bool
	}{{"1e1", 10, true}, {"0x10", 16, true}, {"1e-400", 0, false}, {"0", 0, true}, {"0e5", 0, true}, {"nan", 0, false},
		{" 1", 0, false}, {"1_0", 0, false}, {"", 0, false}, {"1e400", 0, false}, {"-0.5", -0.5, true}} {
		if v, ok := string2d(tc.s); v != tc.v || ok != tc.ok {
			t.Errorf("string2d(%q) = %v %v", tc.s, v, ok)
		}
	}
	for v, want := range map[int64]string{0: "0", 1024: "1kb", 3 << 20: "3mb", 1 << 30: "1gb", 1000: "1000", -1: "-1"} {
		if got := formatMemory(v); got != want {
			t.Errorf("formatMemory(%d) = %q", v, got)
		}
	}
}

func TestDefaultUserLines(t *testing.T) {
	c := Default()
	if got := DefaultUserLines(c); !slices.Equal(got, []string{"user default on nopass ~* &* +@all"}) {
		t.Errorf("%q", got)
	}
	c.RequirePass = "secret"
	c.Users = [][]string{{"zed", "on"}, {"alice", "on", ">p w"}}
	want := []string{
		`user alice on ">p w"`,
		"user default on #2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b ~* &* +@all",
		"user zed on",
	}
	if got := DefaultUserLines(c); !slices.Equal(got, want) {
		t.Errorf("%q", got)
	}
}

func TestRewriteWithoutRedis(t *testing.T) {
	dir := writeFiles(t, map[string]string{"c.conf": "port 1\nmaxmemory 1mb\nmaxmemory 2mb\nuser bob on\nloadmodule /x.so\n\n\n"})
	l := NewLive(Default(), filepath.Join(dir, "c.conf"))
	l.SetUserDescriber(func(*Config) []string { return []string{"user bob off"} })
	l.Update(func(c *Config) { c.Dir = "/d" })
	if err := l.Rewrite(); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(filepath.Join(dir, "c.conf"))
	// "dir", "save" and the percentiles are always written.
	want := "port 6379\nmaxmemory 0\n\nuser bob off\n\n" + rewriteSignature + "\ndir \"/d\"\nsave 3600 1\nsave 300 100\nsave 60 10000\nlatency-tracking-info-percentiles 50 99 99.9\n"
	if string(got) != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if err := NewLive(Default(), "").Rewrite(); err == nil || err.Error() != "ERR The server is running without a config file" {
		t.Error(err)
	}
	var re *ReplyError
	err := NewLive(Default(), filepath.Join(dir, "missing", "c.conf")).Rewrite()
	if !errors.As(err, &re) || re.Text != "ERR Rewriting config file: No such file or directory" {
		t.Errorf("%v", err)
	}
}

func TestResetStat(t *testing.T) {
	l := NewLive(Default(), "")
	n := 0
	l.OnResetStat(func() { n++ })
	l.OnResetStat(func() { n += 10 })
	l.ResetStat()
	if n != 11 {
		t.Error(n)
	}
}

func BenchmarkGet(b *testing.B) {
	l := NewLive(Default(), "")
	b.ReportAllocs()
	for b.Loop() {
		if l.Get().Port == 0 {
			b.Fatal()
		}
	}
}

// Redis compares names and keywords with strcasecmp, which folds ASCII
// only; Unicode case folding must not let other spellings through.
func TestASCIIOnlyFolding(t *testing.T) {
	l := NewLive(Default(), "")
	for _, args := range [][]string{
		{"tcp-\u212aeepalive", "1"},  // Kelvin sign
		{"loglevel", "notice\u017f"}, // long s is not "s"
		{"maxmemory-policy", "allkeys-lru\u212a"},
		{"protected-mode", "ye\u017f"},
		{"maxmemory", "1\u212ab"},
		{"client-output-buffer-limit", "normal 1 1 1 pub\u017fub 1 1 1"},
	} {
		if got := l.Set(toBytes(args)); got == "" {
			t.Errorf("%q accepted", args)
		}
	}
	if got := l.Set(toBytes([]string{"TCP-KEEPALIVE", "1", "LogLevel", "WARNING", "protected-mode", "No"})); got != "" {
		t.Error(got)
	}
}
