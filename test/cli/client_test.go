package cli

import (
	"context"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/reefkv/reef/internal/testutil"
)

// seedData fills a standalone server with one value of every type.
func seedData(t *testing.T, p *testutil.Proc) {
	t.Helper()
	for _, c := range [][]string{
		{"SET", "str", "hello world"},
		{"SET", "bin", "a\x00b\n\"q\"\xff"},
		{"SET", "num", "42"},
		{"RPUSH", "list", "a", "b", "c"},
		{"HSET", "hash", "f1", "v1", "f2", "v2"},
		{"SADD", "set", "x"},
		{"ZADD", "zset", "1.5", "m1", "2", "m2"},
		{"XADD", "stream", "1-1", "field", "value"},
		{"SELECT", "0"},
	} {
		do(t, p, c...)
	}
}

// TestReplyParity runs the same commands through redis-cli and reef-cli
// and requires identical stdout, stderr and exit codes, in the non-tty
// (raw) form, --no-raw, RESP3, CSV and with the other output options.
func TestReplyParity(t *testing.T) {
	t.Parallel()
	p := testutil.StartRedis(t, "--enable-debug-command", "yes")
	seedData(t, p)
	port := itoa(p.Port)
	cmds := [][]string{
		{"PING"}, {"GET", "str"}, {"GET", "bin"}, {"GET", "nokey"}, {"GET"}, {"NOSUCHCMD", "x"},
		{"LRANGE", "list", "0", "-1"}, {"LRANGE", "nolist", "0", "-1"}, {"HGETALL", "hash"}, {"SMEMBERS", "set"},
		{"ZRANGE", "zset", "0", "-1", "WITHSCORES"}, {"XRANGE", "stream", "-", "+"}, {"STRLEN", "str"},
		{"EVAL", "return {1,{2,{3,'x'},{}},'a',{}}", "0"}, {"EVAL", "return redis.error_reply('MY error')", "0"},
		{"EVAL", "local t={} for i=1,12 do t[i]=i end return t", "0"}, {"EVAL", "return {err='E'}", "0"},
		{"TYPE", "zset"}, {"OBJECT", "ENCODING", "num"}, {"EXISTS", "str", "nokey"},
		{"DEBUG", "PROTOCOL", "double"}, {"DEBUG", "PROTOCOL", "true"}, {"DEBUG", "PROTOCOL", "map"},
		{"DEBUG", "PROTOCOL", "set"}, {"DEBUG", "PROTOCOL", "verbatim"}, {"DEBUG", "PROTOCOL", "null"},
		{"CONFIG", "GET", "maxmemory*"},
	}
	modes := [][]string{nil, {"--no-raw"}, {"-3"}, {"-3", "--no-raw"}, {"--csv"}, {"--raw", "-d", ","}}
	for _, mode := range modes {
		for _, c := range cmds {
			args := append(append([]string{"-p", port}, mode...), c...)
			ra := runCLI(t, redisCLI(t), "", args...)
			rb := runCLI(t, reefCLI(t), "", args...)
			if ra != rb {
				t.Errorf("%v:\nredis-cli: %q %q %d\nreef-cli:  %q %q %d", args, ra.out, ra.err, ra.code, rb.out, rb.err, rb.code)
			}
		}
	}
	// Options and modes.
	for _, c := range []struct {
		stdin string
		args  []string
	}{
		{"", []string{"-e", "GET"}},
		{"", []string{"-e", "GET", "str"}},
		{"", []string{"-r", "3", "GET", "str"}},
		{"", []string{"-r", "2", "-i", "0.01", "PING"}},
		{"", []string{"-n", "0", "GET", "str"}},
		{"", []string{"-u", "redis://127.0.0.1:" + port + "/0", "GET", "str"}},
		{"payload from stdin", []string{"-x", "SET", "fromstdin"}},
		{"", []string{"GET", "fromstdin"}},
		{"", []string{"--scan"}},
		{"", []string{"--scan", "--pattern", "*s*"}},
		{"", []string{"--bigkeys"}},
		{"set a 1\nget a\nbad \"quote\nselect 1\nget a\nmulti\nping\nexec\nget\n", nil},
		{"ping\n", []string{"--no-raw"}},
		{"", []string{"-h", "127.0.0.1", "-p", "1", "PING"}},
		{"", []string{"--nosuchoption"}},
	} {
		args := append([]string{"-p", port}, c.args...)
		ra := stripTiming(runCLI(t, redisCLI(t), c.stdin, args...))
		rb := stripTiming(runCLI(t, reefCLI(t), c.stdin, args...))
		ra.err = strings.ReplaceAll(ra.err, "redis-cli", "X")
		rb.err = strings.ReplaceAll(rb.err, "reef-cli", "X")
		if ra != rb {
			t.Errorf("%v (stdin %q):\nredis-cli: %q %q %d\nreef-cli:  %q %q %d", args, c.stdin, ra.out, ra.err, ra.code, rb.out, rb.err, rb.code)
		}
	}
	// --latency without a terminal prints one "min max avg count" line
	// after about a second.
	r := runCLI(t, reefCLI(t), "", "-p", port, "--latency")
	if !regexp.MustCompile(`^\d+ \d+ \d+\.\d\d \d+\n$`).MatchString(r.out) || r.code != 0 {
		t.Errorf("--latency: %q %d", r.out, r.code)
	}
	// --stat prints redis-cli's header and one line per interval.
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	out, _ := exec.CommandContext(ctx, reefCLI(t), "-p", port, "--stat", "-i", "0.2").Output()
	lines := strings.Split(string(out), "\n")
	if len(lines) < 4 || lines[0] != "------- data ------ --------------------- load -------------------- - child -" ||
		!regexp.MustCompile(`^\d+ +[\d.]+[BKMG] +\d+ +\d+ +\d+ \(\+\d+\) +\d+ *$`).MatchString(lines[2]) {
		t.Errorf("--stat output:\n%s", out)
	}
}

// TestTTYParity compares the terminal form (what a person sees) of
// redis-cli and reef-cli, using script(1) to give them a terminal.
func TestTTYParity(t *testing.T) {
	t.Parallel()
	script, err := exec.LookPath("script")
	if err != nil {
		t.Fatal("script(1) not found: install util-linux")
	}
	p := testutil.StartRedis(t, "--enable-debug-command", "yes")
	seedData(t, p)
	port := itoa(p.Port)
	tty := func(bin string, args string) string {
		cmd := exec.Command(script, "-qc", bin+" -p "+port+" "+args, "/dev/null")
		cmd.Env = append(os.Environ(), "TERM=dumb", "REEFCLI_HISTFILE=/dev/null")
		out, _ := cmd.CombinedOutput()
		return strings.ReplaceAll(string(out), "\r", "")
	}
	for _, args := range []string{
		"get str", "get bin", "get nokey", "get", "lrange list 0 -1", "lrange nolist 0 -1", "hgetall hash",
		"-3 hgetall hash", "-3 smembers set", "-3 debug protocol double", "-3 debug protocol map",
		`eval "return {1,{2,{3,'x'},{}},'a'}" 0`, `eval "local t={} for i=1,12 do t[i]={i,i} end return t" 0`,
		"incrbyfloat str 1", "--scan", "--raw lrange list 0 -1", "xrange stream - +",
	} {
		a, b := tty(redisCLI(t), args), tty(reefCLI(t), args)
		if a != b {
			t.Errorf("tty %q:\nredis-cli: %q\nreef-cli:  %q", args, a, b)
		}
	}
	// The interactive prompt: it shows host:port, runs commands and
	// prints replies in the terminal form.
	cmd := exec.Command(script, "-qc", reefCLI(t)+" -p "+port, "/dev/null")
	cmd.Env = append(os.Environ(), "TERM=dumb", "REEFCLI_HISTFILE=/dev/null")
	cmd.Stdin = strings.NewReader("get str\nselect 2\nquit\n")
	out, _ := cmd.CombinedOutput()
	s := strings.ReplaceAll(string(out), "\r", "")
	for _, want := range []string{"127.0.0.1:" + port + "> ", `"hello world"`, "127.0.0.1:" + port + "[2]> "} {
		if !strings.Contains(s, want) {
			t.Errorf("interactive session lacks %q:\n%q", want, s)
		}
	}
}

// TestAuthParity checks -a, --user/--pass, the password warning and
// --no-auth-warning against a server that requires a password.
func TestAuthParity(t *testing.T) {
	t.Parallel()
	p := testutil.StartRedis(t, "--requirepass", "sekret")
	port := itoa(p.Port)
	for _, args := range [][]string{
		{"-a", "sekret", "PING"},
		{"-a", "sekret", "--no-auth-warning", "PING"},
		{"--user", "default", "--pass", "sekret", "--no-auth-warning", "PING"},
		{"-a", "wrong", "--no-auth-warning", "PING"},
		{"PING"},
		{"-u", "redis://sekret@127.0.0.1:" + port, "--no-auth-warning", "PING"},
	} {
		args = append([]string{"-p", port}, args...)
		ra := runCLI(t, redisCLI(t), "", args...)
		rb := runCLI(t, reefCLI(t), "", args...)
		if ra != rb {
			t.Errorf("%v:\nredis-cli: %q %q %d\nreef-cli:  %q %q %d", args, ra.out, ra.err, ra.code, rb.out, rb.err, rb.code)
		}
	}
	r := runCLI(t, reefCLI(t), "", "-p", port, "-a", "sekret", "--no-auth-warning", "--scan")
	if r.code != 0 {
		t.Errorf("--scan with -a: %q %q", r.out, r.err)
	}
}

// TestClusterRedirects checks -c: one-shot commands and a stdin session
// (where redis-cli announces "-> Redirected to slot ...") print the same.
func TestClusterRedirects(t *testing.T) {
	t.Parallel()
	ps := startNodes(t, 3)
	create(t, redisCLI(t), ps, 0)
	port := itoa(ps[0].Port)
	session := "set foo bar\nget foo\nset a 1\nget a\nget b\nmget a b\nset {a}x 2\nget {a}x\n"
	for _, c := range []struct {
		stdin string
		args  []string
	}{
		{"", []string{"-c", "SET", "foo", "1"}},
		{"", []string{"-c", "GET", "foo"}},
		{"", []string{"GET", "foo"}},
		{session, []string{"-c"}},
		{session, []string{"-c", "--no-raw"}},
		{session, nil},
	} {
		args := append([]string{"-p", port}, c.args...)
		ra := stripTiming(runCLI(t, redisCLI(t), c.stdin, args...))
		rb := stripTiming(runCLI(t, reefCLI(t), c.stdin, args...))
		if ra != rb {
			t.Errorf("%v (stdin %q):\nredis-cli: %q %q %d\nreef-cli:  %q %q %d", args, c.stdin, ra.out, ra.err, ra.code, rb.out, rb.err, rb.code)
		}
	}
	// ASK: with slot 12182 (foo) migrating, a missing key is answered with
	// ASK and -c follows it with ASKING.
	src, dst := ps[ownerIndex(t, ps, 12182)], ps[(ownerIndex(t, ps, 12182)+1)%3]
	do(t, dst, "CLUSTER", "SETSLOT", "12182", "IMPORTING", myID(t, src))
	do(t, src, "CLUSTER", "SETSLOT", "12182", "MIGRATING", myID(t, dst))
	do(t, src, "DEL", "foo")
	stdin := "set foo viaask\nget foo\n"
	args := []string{"-c", "-p", itoa(src.Port)}
	ra := stripTiming(runCLI(t, redisCLI(t), stdin, args...))
	rb := stripTiming(runCLI(t, reefCLI(t), stdin, args...))
	if ra != rb || !strings.Contains(rb.out, "viaask") {
		t.Errorf("ASK session:\nredis-cli: %q %q\nreef-cli:  %q %q", ra.out, ra.err, rb.out, rb.err)
	}
}

var timingRe = regexp.MustCompile(`(?m)^\(\d+\.\d\ds\)\n`)

// stripTiming removes the "(0.55s)" lines both CLIs print in a session when
// a command takes half a second or more, which only a loaded machine does.
func stripTiming(r result) result {
	r.out = timingRe.ReplaceAllString(r.out, "")
	return r
}
