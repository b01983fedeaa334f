package config

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// This file runs the real redis-server 7.0.15 (the oracle) for the
// differential tests. They skip when redis-server is not installed, unless
// REEF_REQUIRE_REDIS is set, in which case they fail.

func redisBin(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("REEF_REQUIRE_REDIS") != "" {
			t.Fatalf("redis-server not found: %v", err)
		}
		t.Skip("redis-server not installed; differential test skipped")
	}
	out, err := exec.Command(p, "--version").Output()
	if err != nil || !bytes.Contains(out, []byte("v="+RedisVersion+" ")) {
		t.Skipf("redis-server is not %s: %s", RedisVersion, out)
	}
	return p
}

// freePort returns a port that was free a moment ago.
func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// physDir returns a new temporary directory by its physical path, which is
// what Redis's getcwd reports.
func physDir(t testing.TB) string {
	t.Helper()
	d, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// redisRun is one redis-server process: it either exited (Exited, with
// its outputs) or is serving on Port.
type redisRun struct {
	Exited   bool
	ExitCode int
	Stdout   string
	Stderr   string
	Port     int

	cmd  *exec.Cmd
	done chan struct{}
	mu   sync.Mutex
	out  bytes.Buffer
	err  bytes.Buffer
}

type lockedWriter struct {
	mu *sync.Mutex
	b  *bytes.Buffer
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

// startRedis runs redis-server args in dir and waits until it either exits
// or accepts connections on port. A serving process is killed (by its PID)
// at the end of the test.
func startRedis(t testing.TB, dir string, args []string, stdin string, port int) *redisRun {
	t.Helper()
	r := &redisRun{Port: port, done: make(chan struct{})}
	r.cmd = exec.Command(redisBin(t), args...)
	r.cmd.Dir = dir
	r.cmd.Stdin = strings.NewReader(stdin)
	r.cmd.Stdout = lockedWriter{&r.mu, &r.out}
	r.cmd.Stderr = lockedWriter{&r.mu, &r.err}
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { r.cmd.Wait(); close(r.done) }()
	deadline := time.Now().Add(5 * time.Second)
	for {
		select {
		case <-r.done:
			r.Exited = true
			r.ExitCode = r.cmd.ProcessState.ExitCode()
			r.Stdout, r.Stderr = r.out.String(), r.err.String()
			return r
		case <-time.After(5 * time.Millisecond):
		}
		if port > 0 {
			if c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 100*time.Millisecond); err == nil {
				// A PING answer proves startup finished: Redis may
				// listen before aborting (bad module configuration).
				c.SetDeadline(time.Now().Add(2 * time.Second))
				c.Write([]byte("PING\r\n"))
				buf := make([]byte, 7)
				_, err := io.ReadFull(c, buf)
				c.Close()
				if err == nil {
					t.Cleanup(r.kill)
					return r
				}
				select {
				case <-r.done:
				case <-time.After(2 * time.Second):
				}
			}
		}
		if time.Now().After(deadline) {
			r.kill()
			r.mu.Lock()
			defer r.mu.Unlock()
			t.Fatalf("redis-server %q neither exited nor served: %s %s", args, r.out.String(), r.err.String())
		}
	}
}

func (r *redisRun) kill() {
	select {
	case <-r.done:
		return
	default:
	}
	r.cmd.Process.Kill()
	<-r.done
}

// logRE matches a Redis log line and captures its message.
var logRE = regexp.MustCompile(`^\d+:[A-Z] \d+ \w+ \d+ [\d:.]+ [.\-*#] (.*)$`)

// logMessages returns the messages of Redis's log lines in out.
func logMessages(out string) []string {
	var msgs []string
	for _, line := range strings.Split(out, "\n") {
		if m := logRE.FindStringSubmatch(line); m != nil {
			msgs = append(msgs, m[1])
		}
	}
	return msgs
}

// respConn is a minimal RESP2 client for the oracle.
type respConn struct {
	c net.Conn
	r *bufio.Reader
}

func dialRedis(t testing.TB, port int) *respConn {
	t.Helper()
	c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &respConn{c: c, r: bufio.NewReader(c)}
}

// respError is an error reply, without its '-'.
type respError string

func (e respError) Error() string { return string(e) }

// do sends a command and returns the reply: string (simple or bulk), int64,
// []any, nil, or a respError.
func (rc *respConn) do(t testing.TB, args ...string) any {
	t.Helper()
	var b bytes.Buffer
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	rc.c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := rc.c.Write(b.Bytes()); err != nil {
		t.Fatal(err)
	}
	v, err := rc.read()
	if err != nil {
		t.Fatalf("%q: %v", args, err)
	}
	return v
}

func (rc *respConn) read() (any, error) {
	line, err := rc.r.ReadString('\n')
	if err != nil {
		return nil, err
	}
	line = strings.TrimSuffix(line, "\r\n")
	if line == "" {
		return nil, errors.New("empty reply line")
	}
	switch line[0] {
	case '+':
		return line[1:], nil
	case '-':
		return respError(line[1:]), nil
	case ':':
		return strconv.ParseInt(line[1:], 10, 64)
	case '$':
		n, _ := strconv.Atoi(line[1:])
		if n < 0 {
			return nil, nil
		}
		buf := make([]byte, n+2)
		if _, err := ioReadFull(rc.r, buf); err != nil {
			return nil, err
		}
		return string(buf[:n]), nil
	case '*':
		n, _ := strconv.Atoi(line[1:])
		out := make([]any, 0, max(n, 0))
		for i := 0; i < n; i++ {
			v, err := rc.read()
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	}
	return nil, fmt.Errorf("bad reply %q", line)
}

func ioReadFull(r *bufio.Reader, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		m, err := r.Read(buf[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// replyText renders a CONFIG SET reply the way Live.Set reports it: "" for
// +OK, else the error text.
func replyText(v any) string {
	switch x := v.(type) {
	case respError:
		return string(x)
	case string:
		if x == "OK" {
			return ""
		}
		return "+" + x
	}
	return fmt.Sprintf("unexpected %#v", v)
}

// configMap runs CONFIG GET with the patterns and returns name -> value.
func (rc *respConn) configMap(t testing.TB, patterns ...string) map[string]string {
	t.Helper()
	v := rc.do(t, append([]string{"CONFIG", "GET"}, patterns...)...)
	arr, ok := v.([]any)
	if !ok {
		t.Fatalf("CONFIG GET: %#v", v)
	}
	m := map[string]string{}
	for i := 0; i+1 < len(arr); i += 2 {
		m[arr[i].(string)] = arr[i+1].(string)
	}
	return m
}

// ourMap is configMap for a Live.
func ourMap(l *Live, patterns ...string) map[string]string {
	var ps [][]byte
	for _, p := range patterns {
		ps = append(ps, []byte(p))
	}
	m := map[string]string{}
	for _, kv := range l.GetPatterns(ps) {
		m[kv[0]] = kv[1]
	}
	return m
}

// hiddenNames are the parameters CONFIG GET * does not list.
func hiddenNames() []string {
	var out []string
	for _, e := range entries {
		if e.p.flags&fHidden != 0 {
			out = append(out, e.name)
		}
	}
	return out
}

// diffMaps reports every difference between Redis's and our values.
func diffMaps(t testing.TB, what string, redis, ours map[string]string) {
	t.Helper()
	for k, v := range redis {
		if o, ok := ours[k]; !ok {
			t.Errorf("%s: %s missing from ours (redis %q)", what, k, v)
		} else if o != v {
			t.Errorf("%s: %s = %q, redis %q", what, k, o, v)
		}
	}
	for k, v := range ours {
		if _, ok := redis[k]; !ok {
			t.Errorf("%s: %s = %q only in ours", what, k, v)
		}
	}
}

// oracleCommands returns the oracle's command table (for rename-command),
// starting a redis-server the first time.
var (
	cmdMu    sync.Mutex
	cmdNames []string
)

func oracleCommands(t testing.TB) []string {
	t.Helper()
	cmdMu.Lock()
	defer cmdMu.Unlock()
	if cmdNames != nil {
		return cmdNames
	}
	dir := physDir(t)
	port := freePort(t)
	r := startRedis(t, dir, []string{"--port", strconv.Itoa(port), "--save", ""}, "", port)
	if r.Exited {
		t.Fatalf("oracle did not start: %s", r.Stdout)
	}
	v := dialRedis(t, port).do(t, "COMMAND", "LIST")
	for _, x := range v.([]any) {
		cmdNames = append(cmdNames, x.(string))
	}
	r.kill()
	return cmdNames
}
