package server

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/reefkv/reef/internal/cluster/nodesconf"
	"github.com/reefkv/reef/internal/testutil"
)

// logLine is Redis's log line: pid:role dd Mon yyyy hh:mm:ss.mmm <level> msg.
var logLine = regexp.MustCompile(`^(\d+):([XCSM]) \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2}\.\d{3} [.\-*#] .+$`)

func TestStartupLog(t *testing.T) {
	p := testutil.StartReef(t)
	out := waitLog(t, p, "", "Ready to accept connections")
	pid := p.Cmd.Process.Pid
	if !strings.Contains(out, " PID: "+strconv.Itoa(pid)) {
		t.Errorf("no ' PID: %d' line in:\n%s", pid, out)
	}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		m := logLine.FindStringSubmatch(line)
		if m == nil {
			t.Errorf("log line not in Redis's format: %q", line)
			continue
		}
		if m[1] != strconv.Itoa(pid) {
			t.Errorf("log line pid %s, want %d: %q", m[1], pid, line)
		}
	}
	// The "Ready" line comes after the server is listening: a client
	// connecting right after it sees it is served.
	c := testutil.MustDial(t, p.Addr())
	if v, err := c.Do("PING"); err != nil || v.Text() != "PONG" {
		t.Fatalf("PING: %v %v", v, err)
	}
}

func TestPortTaken(t *testing.T) {
	port := listenerPort(t)
	p := startReef(t, t.TempDir(), port, "--port", strconv.Itoa(port), "--save", "")
	if code := p.WaitExit(t, 20*time.Second); code != 1 {
		t.Fatalf("exit code %d, want 1; output:\n%s", code, p.Output())
	}
	out := p.Output()
	if !strings.Contains(out, "Failed listening on port "+strconv.Itoa(port)) {
		t.Fatalf("no 'Failed listening on port %d' in:\n%s", port, out)
	}
	if !strings.Contains(out, "Address already in use") {
		t.Errorf("the reason is not given:\n%s", out)
	}
}

func TestSignalsExitCleanly(t *testing.T) {
	for _, sig := range []struct {
		sig  syscall.Signal
		name string
	}{{syscall.SIGTERM, "SIGTERM"}, {syscall.SIGINT, "SIGINT"}} {
		t.Run(sig.name, func(t *testing.T) {
			dir := t.TempDir()
			pidfile := filepath.Join(dir, "reef.pid")
			p := testutil.StartReef(t, "--pidfile", pidfile)
			// A connected client must not hold the shutdown back.
			c := testutil.MustDial(t, p.Addr())
			c.Do("SET", "k", "v")
			p.Signal(sig.sig)
			if code := p.WaitExit(t, 20*time.Second); code != 0 {
				t.Fatalf("exit code %d, want 0; output:\n%s", code, p.Output())
			}
			out := p.Output()
			for _, want := range []string{"Received " + sig.name + " scheduling shutdown...", "User requested shutdown...", "ready to exit, bye bye..."} {
				if !strings.Contains(out, want) {
					t.Errorf("missing %q in:\n%s", want, out)
				}
			}
			if _, err := os.Stat(pidfile); !os.IsNotExist(err) {
				t.Errorf("pid file not removed: %v", err)
			}
		})
	}
}

func TestShutdownCommand(t *testing.T) {
	for _, args := range [][]string{{"SHUTDOWN", "NOSAVE"}, {"SHUTDOWN"}, {"shutdown", "nosave", "now"}} {
		t.Run(strings.Join(args, "_"), func(t *testing.T) {
			p := testutil.StartReef(t)
			other := testutil.MustDial(t, p.Addr())
			c := testutil.MustDial(t, p.Addr())
			v, err := c.Do(args...)
			// As in Redis, the connection closes without a reply.
			if err == nil {
				t.Fatalf("%v replied %q, want the connection closed", args, v.Text())
			}
			if code := p.WaitExit(t, 20*time.Second); code != 0 {
				t.Fatalf("exit code %d, want 0; output:\n%s", code, p.Output())
			}
			if _, err := other.Do("PING"); err == nil {
				t.Fatal("another client still served after SHUTDOWN")
			}
			if !strings.Contains(p.Output(), "ready to exit, bye bye...") {
				t.Fatalf("no exit line:\n%s", p.Output())
			}
		})
	}
	t.Run("errors", func(t *testing.T) {
		p := testutil.StartReef(t)
		c := testutil.MustDial(t, p.Addr())
		for args, want := range map[string]string{
			"SHUTDOWN FOO":         "ERR syntax error",
			"SHUTDOWN SAVE NOSAVE": "ERR syntax error",
			"SHUTDOWN ABORT":       "ERR No shutdown in progress.",
		} {
			v, err := c.Do(strings.Fields(args)...)
			if err != nil || v.Text() != want {
				t.Errorf("%s: %q %v, want %q", args, v.Text(), err, want)
			}
		}
		if _, err := c.Do("PING"); err != nil {
			t.Fatal("server gone after failed SHUTDOWNs")
		}
	})
}

func TestLogfilePidfileDir(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	if err := os.Mkdir(data, 0o755); err != nil {
		t.Fatal(err)
	}
	port := testutil.FreePort(t)
	// Relative logfile and pidfile live in dir, as Redis chdir()s first.
	p := startReef(t, dir, port, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "",
		"--dir", data, "--logfile", "reef.log", "--pidfile", "reef.pid", "--loglevel", "verbose")
	p.WaitReady(t)
	logfile := filepath.Join(data, "reef.log")
	text := waitLog(t, p, logfile, "Ready to accept connections")
	if !strings.Contains(text, " PID: "+strconv.Itoa(p.Cmd.Process.Pid)) {
		t.Errorf("log file lacks the PID line:\n%s", text)
	}
	if out := p.Output(); strings.Contains(out, "Ready to accept") {
		t.Errorf("log went to stdout too:\n%s", out)
	}
	pid, err := os.ReadFile(filepath.Join(data, "reef.pid"))
	if err != nil || strings.TrimSpace(string(pid)) != strconv.Itoa(p.Cmd.Process.Pid) {
		t.Fatalf("pid file: %q %v", pid, err)
	}
	c := goRedis(t, p.Addr(), nil)
	ctx := t.Context()
	got, err := c.ConfigGet(ctx, "dir").Result()
	if err != nil || got["dir"] != data {
		t.Errorf("CONFIG GET dir = %v %v, want %s", got, err, data)
	}
	if _, err := os.Stat(filepath.Join(dir, "reef.log")); err == nil {
		t.Error("a log file was created outside dir")
	}
	p.Signal(syscall.SIGTERM)
	p.WaitExit(t, 20*time.Second)
	if _, err := os.Stat(filepath.Join(data, "reef.pid")); !os.IsNotExist(err) {
		t.Errorf("pid file not removed at exit")
	}
	text = waitLog(t, p, logfile, "ready to exit")
	for _, line := range strings.Split(strings.TrimSpace(text), "\n") {
		if !logLine.MatchString(line) {
			t.Errorf("log file line not in Redis's format: %q", line)
		}
	}
}

func TestLogfileEmptyIsStdout(t *testing.T) {
	p := testutil.StartReef(t, "--logfile", "")
	waitLog(t, p, "", "Ready to accept connections")
}

// TestConfigFile checks a config file with include, quoting, repeated
// directives and command-line overrides, read the same way by Redis.
func TestConfigFile(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "inc.conf", "maxclients 123\nrequirepass \"pa ss\\\"w\"\n")
	port := testutil.FreePort(t)
	conf := writeFile(t, dir, "reef.conf", strings.Join([]string{
		"# a comment",
		"port " + strconv.Itoa(port),
		"bind 127.0.0.1",
		`save ""`,
		"include " + filepath.Join(dir, "inc.conf"),
		"databases 4",
		"  timeout   0  ",
		"maxclients 50", // later wins over the include
		"client-output-buffer-limit normal 0 0 0",
		"client-output-buffer-limit pubsub 32mb 8mb 60",
		"notify-keyspace-events 'Ex'",
		"hz 20",
	}, "\n")+"\n")
	p := startReef(t, dir, port, conf, "--hz", "15")
	p.WaitReady(t)
	c := goRedis(t, p.Addr(), func(o *redis.Options) { o.Password = "pa ss\"w" })
	ctx := t.Context()
	want := map[string]string{
		"maxclients":                 "50",
		"databases":                  "4",
		"hz":                         "15",
		"notify-keyspace-events":     "xE",
		"requirepass":                "pa ss\"w",
		"client-output-buffer-limit": "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60",
	}
	for name, v := range want {
		got, err := c.ConfigGet(ctx, name).Result()
		if err != nil || got[name] != v {
			t.Errorf("CONFIG GET %s = %q %v, want %q", name, got[name], err, v)
		}
	}
}

// TestConfigErrors checks that an unknown directive (and a bad value) is a
// fatal error naming the file, the line and the directive, exit 1, with
// Redis's own text.
func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct{ name, conf, want string }{
		{"unknown", "port 0\n\nfoo-bar baz\n", ">>> 'foo-bar baz'\nBad directive or wrong number of arguments"},
		{"badvalue", "maxclients abc\n", ">>> 'maxclients abc'\nargument couldn't be parsed into an integer"},
		{"quotes", "port 0\nrequirepass \"unterminated\n", "Unbalanced quotes in configuration line"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			conf := writeFile(t, dir, "bad.conf", tc.conf)
			reef := startReef(t, dir, 0, conf)
			if code := reef.WaitExit(t, 20*time.Second); code != 1 {
				t.Fatalf("exit %d, want 1:\n%s", code, reef.Output())
			}
			redisOut := runRedisServer(t, dir, conf)
			out := reef.Output()
			if !strings.Contains(out, "*** FATAL CONFIG FILE ERROR") || !strings.Contains(out, tc.want) {
				t.Errorf("reef output:\n%s\nwant it to contain %q", out, tc.want)
			}
			if !strings.Contains(out, conf) {
				t.Errorf("reef does not name the file %s:\n%s", conf, out)
			}
			// Everything Redis prints, Reef prints too (Reef adds the file).
			for _, line := range strings.Split(strings.TrimSpace(redisOut), "\n") {
				if !strings.Contains(out, strings.TrimSpace(line)) {
					t.Errorf("redis printed %q, reef did not:\n%s", line, out)
				}
			}
		})
	}
}

// runRedisServer runs redis-server with args until it exits and returns its
// output (for config errors, which exit at once).
func runRedisServer(t *testing.T, dir string, args ...string) string {
	t.Helper()
	p := testutil.Start(t, testutil.RedisServerPath(t), 0, dir, args...)
	if code := p.WaitExit(t, 20*time.Second); code != 1 {
		t.Fatalf("redis-server exit %d, want 1:\n%s", code, p.Output())
	}
	return p.Output()
}

// TestConfigRewriteRestart: CONFIG SET then CONFIG REWRITE persists the
// change into the config file (keeping comments and include lines), and a
// server restarted from that file has it.
func TestConfigRewriteRestart(t *testing.T) {
	dir := t.TempDir()
	port := testutil.FreePort(t)
	writeFile(t, dir, "inc.conf", "hz 12\n")
	conf := writeFile(t, dir, "reef.conf", "# my settings\nport "+strconv.Itoa(port)+"\nbind 127.0.0.1\nsave \"\"\ninclude "+filepath.Join(dir, "inc.conf")+"\nmaxclients 100\n")
	p := startReef(t, dir, port, conf)
	p.WaitReady(t)
	c := testutil.MustDial(t, p.Addr())
	for _, args := range [][]string{
		{"CONFIG", "SET", "maxclients", "77"},
		{"CONFIG", "SET", "slowlog-max-len", "99"},
		{"CONFIG", "REWRITE"},
	} {
		if v, err := c.Do(args...); err != nil || v.Text() != "OK" {
			t.Fatalf("%v: %q %v", args, v.Text(), err)
		}
	}
	b, err := os.ReadFile(conf)
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	for _, want := range []string{"# my settings", "maxclients 77", "slowlog-max-len 99", "include " + filepath.Join(dir, "inc.conf")} {
		if !strings.Contains(text, want) {
			t.Errorf("rewritten file lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "maxclients 100") {
		t.Errorf("old maxclients line kept:\n%s", text)
	}
	p.Signal(syscall.SIGTERM)
	p.WaitExit(t, 20*time.Second)
	p2 := startReef(t, dir, port, conf)
	p2.WaitReady(t)
	c2 := testutil.MustDial(t, p2.Addr())
	for name, want := range map[string]string{"maxclients": "77", "slowlog-max-len": "99", "hz": "12"} {
		v, err := c2.Do("CONFIG", "GET", name)
		if err != nil || len(v.Elems) != 2 || v.Elems[1].Text() != want {
			t.Errorf("after restart CONFIG GET %s = %v %v, want %s", name, v, err, want)
		}
	}
}

// TestLoglevel: with loglevel warning only '#' lines are written; notices
// such as "Ready to accept connections" are not.
func TestLoglevel(t *testing.T) {
	p := testutil.StartReef(t, "--loglevel", "warning")
	c := testutil.MustDial(t, p.Addr())
	c.Do("PING")
	p.Signal(syscall.SIGTERM)
	p.WaitExit(t, 20*time.Second)
	out := p.Output()
	if strings.Contains(out, "Ready to accept connections") {
		t.Errorf("a notice was logged at loglevel warning:\n%s", out)
	}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if m := logLine.FindStringSubmatch(line); m == nil || !strings.Contains(line, " # ") {
			t.Errorf("line below warning level: %q", line)
		}
	}
	if !strings.Contains(out, "ready to exit") {
		t.Errorf("no exit warning:\n%s", out)
	}
}

// A zero-length nodes.conf next to a data file holding keys is refused
// (Redis would start as a new node and claim the slots of the keys it
// loads); next to a snapshot without keys, or none, it means "no
// configuration" and the node starts, as in Redis.
func TestEmptyNodesConfNextToData(t *testing.T) {
	dir := t.TempDir()
	port := testutil.FreePort(t)
	standalone := []string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", ""}
	cluster := clusterNodeArgs(port)
	// run starts a node, runs cmds on it and stops it with SHUTDOWN SAVE.
	run := func(args []string, cmds ...[]string) {
		t.Helper()
		p := startReef(t, dir, port, args...)
		p.WaitReady(t)
		c := testutil.MustDial(t, p.Addr())
		for _, cmd := range cmds {
			if v, err := c.Do(cmd...); err != nil || v.IsError() {
				t.Fatalf("%q: %q %v", cmd, v.Text(), err)
			}
		}
		c.Do("SHUTDOWN", "SAVE")
		p.WaitExit(t, 20*time.Second)
	}
	emptyNodesConf := func() { writeFile(t, dir, "nodes.conf", "") }

	run(standalone, []string{"PING"}) // a snapshot without keys
	emptyNodesConf()
	run(cluster, []string{"CLUSTER", "MYID"})

	run(standalone, []string{"SET", "k", "v"})
	emptyNodesConf()
	p := startReef(t, dir, port, cluster...)
	if code := p.WaitExit(t, 20*time.Second); code != 1 {
		t.Fatalf("exit code %d, want 1; output:\n%s", code, p.Output())
	}
	if out := p.Output(); !strings.Contains(out, "nodes.conf is empty while") {
		t.Fatalf("the refusal does not say why:\n%s", out)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "nodes.conf")); err != nil || len(b) != 0 {
		t.Fatalf("nodes.conf was touched: %q %v", b, err)
	}
}

// TestDamagedNodesConf: a reef-server whose nodes.conf is garbage, or a
// real file cut in the middle of a line, exits 1 naming the file and the
// line, and leaves the file as it was.
func TestDamagedNodesConf(t *testing.T) {
	port := testutil.FreePort(t)
	args := clusterNodeArgs(port)
	// A real file, written by a node that owns slots.
	good := t.TempDir()
	p := startReef(t, good, port, args...)
	p.WaitReady(t)
	c := testutil.MustDial(t, p.Addr())
	if v, err := c.Do("CLUSTER", "ADDSLOTSRANGE", "0", "100"); err != nil || v.Text() != "OK" {
		t.Fatalf("ADDSLOTSRANGE: %v %v", v, err)
	}
	c.Do("SHUTDOWN", "NOSAVE")
	p.WaitExit(t, 20*time.Second)
	real, err := os.ReadFile(filepath.Join(good, "nodes.conf"))
	if err != nil {
		t.Fatal(err)
	}
	firstLine := strings.Index(string(real), "\n")
	for _, tc := range []struct {
		name, content, line string
	}{
		{"garbage", "this is not a cluster configuration\n", "line 1"},
		{"binary", "\x00\x01\x02\xff\xfe\n\n", "line 1"},
		{"cut in the first line", string(real[:firstLine/2]), "line 1"},
	} {
		dir := t.TempDir()
		writeFile(t, dir, "nodes.conf", tc.content)
		p := startReef(t, dir, port, args...)
		if code := p.WaitExit(t, 20*time.Second); code != 1 {
			t.Fatalf("%s: exit code %d, want 1; output:\n%s", tc.name, code, p.Output())
		}
		out := p.Output()
		if !strings.Contains(out, "corrupted cluster config file nodes.conf, "+tc.line) {
			t.Errorf("%s: the fatal message does not name the file and %s:\n%s", tc.name, tc.line, out)
		}
		if b, err := os.ReadFile(filepath.Join(dir, "nodes.conf")); err != nil || string(b) != tc.content {
			t.Errorf("%s: nodes.conf was changed: %q %v", tc.name, b, err)
		}
	}
}

// TestKillDuringConfigSaves kills -9 a cluster node while every command
// it runs rewrites nodes.conf (ADDSLOTS and DELSLOTS in turn), twenty
// times at moments spread over each round: after each kill the file
// parses, and the node restarts from it with its identity.
func TestKillDuringConfigSaves(t *testing.T) {
	dir := t.TempDir()
	port := testutil.FreePort(t)
	args := clusterNodeArgs(port)
	id := ""
	killedMidStream := 0
	// fileVersion tells one nodes.conf from the next: every save renames a
	// new file into place. The inode alone may come back (a freed inode
	// number is often handed to the next file created); with its change
	// time it does not.
	type fileVersion struct {
		ino            uint64
		ctimeSec, nsec int64
	}
	version := func() fileVersion {
		var st syscall.Stat_t
		if err := syscall.Stat(filepath.Join(dir, "nodes.conf"), &st); err != nil {
			t.Fatal(err)
		}
		return fileVersion{st.Ino, st.Ctim.Sec, st.Ctim.Nsec}
	}
	for round := 0; round < 20; round++ {
		p := startReef(t, dir, port, args...)
		p.WaitReady(t)
		c := testutil.MustDial(t, p.Addr())
		v, err := c.Do("CLUSTER", "MYID")
		if err != nil {
			t.Fatal(err)
		}
		if id == "" {
			id = v.Text()
		} else if v.Text() != id {
			t.Fatalf("round %d: the node came back as %s, not %s", round, v.Text(), id)
		}
		// A pipeline of slot changes, each saved before its reply, and the
		// kill after a delay that grows with the round: the process dies
		// while saves are under way, not between them.
		const inFlight = 2000
		var pipe []byte
		for i := 0; i < inFlight; i++ {
			cmd := "ADDSLOTS"
			if i%2 == 1 {
				cmd = "DELSLOTS"
			}
			pipe = fmt.Appendf(pipe, "CLUSTER %s %d\r\n", cmd, round)
		}
		// The replies are read as they come (a reset connection drops what
		// was not); the loop answers a read's commands together, so most
		// rounds end before any reply. That the node was saving is shown by
		// a new version of nodes.conf.
		before := version()
		counted := make(chan int, 1) // the reader never blocks if the test fails first
		go func() {
			n, buf := 0, make([]byte, 4096)
			for {
				k, err := c.Conn.Read(buf)
				n += k
				if err != nil {
					counted <- n / len("+OK\r\n")
					return
				}
			}
		}()
		if _, err := c.Conn.Write(pipe); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(5+round*5) * time.Millisecond) // the fault's timing, not a wait
		p.Kill()
		if done := <-counted; done < inFlight && version() != before {
			killedMidStream++
		}
		b, err := os.ReadFile(filepath.Join(dir, "nodes.conf"))
		if err != nil {
			t.Fatal(err)
		}
		saved, err := nodesconf.Parse(b)
		if err != nil || saved == nil || !strings.Contains(string(b), id+" ") {
			t.Fatalf("round %d: nodes.conf after kill -9 (%v):\n%s", round, err, b)
		}
	}
	t.Logf("20 kills, %d of them after a save of the round and with saves still queued", killedMidStream)
	if killedMidStream == 0 {
		t.Errorf("every kill came after the last save: the test did not kill during saves")
	}
}

// clusterNodeArgs are the arguments of a cluster node on port (and its
// bus port), on loopback, keeping its nodes.conf in its directory.
func clusterNodeArgs(port int) []string {
	return []string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "",
		"--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf"}
}
