package server

import (
	"bytes"
	"context"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/reefkv/reef/internal/testutil"
)

// startReef starts reef-server with exactly args (no defaults added) in dir
// on port, without waiting for readiness.
func startReef(t *testing.T, dir string, port int, args ...string) *testutil.Proc {
	t.Helper()
	return testutil.Start(t, testutil.Binary(t, "reef-server"), port, dir, args...)
}

// goRedis returns a go-redis client for addr, closed at cleanup.
func goRedis(t *testing.T, addr string, opt func(*redis.Options)) *redis.Client {
	t.Helper()
	o := &redis.Options{Addr: addr, DialTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second}
	if opt != nil {
		opt(o)
	}
	c := redis.NewClient(o)
	t.Cleanup(func() { c.Close() })
	return c
}

// rawExchange connects to addr, writes in, and returns everything the
// server sends back until it closes the connection or stays silent for
// quiet. closed reports whether the server closed the connection.
func rawExchange(t *testing.T, addr string, in []byte, quiet time.Duration) (out []byte, closed bool) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if len(in) > 0 {
		if _, err := c.Write(in); err != nil {
			t.Fatal(err)
		}
	}
	return readUntilQuiet(c, quiet)
}

// rawLine is rawExchange for one-line replies: it returns as soon as a
// line has arrived and the server then either closed the connection or
// stayed silent for 100 ms, or after timeout.
func rawLine(t *testing.T, addr string, in []byte, timeout time.Duration) (out []byte, closed bool) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write(in); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(timeout)
	buf := make([]byte, 4096)
	for {
		wait := time.Until(deadline)
		if bytes.IndexByte(out, '\n') >= 0 {
			wait = 100 * time.Millisecond
		}
		c.SetReadDeadline(time.Now().Add(wait))
		n, err := c.Read(buf)
		out = append(out, buf[:n]...)
		if err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				return out, false
			}
			return out, true
		}
	}
}

// readUntilQuiet reads until EOF (closed) or until nothing arrives for
// quiet.
func readUntilQuiet(c net.Conn, quiet time.Duration) (out []byte, closed bool) {
	buf := make([]byte, 64*1024)
	for {
		c.SetReadDeadline(time.Now().Add(quiet))
		n, err := c.Read(buf)
		out = append(out, buf[:n]...)
		if err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				return out, false
			}
			return out, true // EOF or reset: the server closed
		}
	}
}

// cli runs the real redis-cli with args and stdin and returns its stdout.
func cli(t *testing.T, stdin string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, testutil.RedisCliPath(t), args...)
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	err := cmd.Run()
	if err != nil {
		return stdout.String() + stderr.String(), err
	}
	return stdout.String(), nil
}

// waitLog waits until the process output (or the given log file) contains
// s.
func waitLog(t *testing.T, p *testutil.Proc, logfile, s string) string {
	t.Helper()
	var text string
	testutil.WaitFor(t, 20*time.Second, "log line "+strconv.Quote(s), func() bool {
		text = p.Output()
		if logfile != "" {
			b, _ := os.ReadFile(logfile)
			text = string(b)
		}
		if p.Exited() && !strings.Contains(text, s) {
			t.Fatalf("server exited before logging %q:\n%s", s, text)
		}
		return strings.Contains(text, s)
	})
	return text
}

// listenerPort holds a TCP port open (so reef cannot bind it) until the
// test ends.
func listenerPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "0.0.0.0:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l.Addr().(*net.TCPAddr).Port
}

// writeFile writes a file in dir and returns its path.
func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// procRSS returns the resident set size of pid in bytes.
// rssGrown returns how much pid's RSS grew since before. With a
// race-detector build it returns 0: the race runtime's shadow memory is a
// multiple of what the server allocates, which makes bounds on RSS
// meaningless there.
func rssGrown(t *testing.T, pid int, before int64) int64 {
	t.Helper()
	grown := procRSS(t, pid) - before
	if testutil.RaceBuild() {
		t.Logf("race-detector build: RSS grew %d MB, not checked", grown>>20)
		return 0
	}
	return grown
}

func procRSS(t *testing.T, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			f := strings.Fields(line)
			n, _ := strconv.ParseInt(f[1], 10, 64)
			return n * 1024
		}
	}
	t.Fatal("no VmRSS")
	return 0
}

// nonLoopbackIPv4 returns an IPv4 address of this machine that is not
// loopback, or "".
func nonLoopbackIPv4() string {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return ""
	}
	for _, a := range addrs {
		ipn, ok := a.(*net.IPNet)
		if !ok || ipn.IP.IsLoopback() || ipn.IP.To4() == nil || ipn.IP.IsLinkLocalUnicast() {
			continue
		}
		return ipn.IP.String()
	}
	return ""
}

var _ = io.EOF
