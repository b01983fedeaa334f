package testutil

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/reefkv/reef/internal/resp"
)

// WaitFor polls cond every 20 ms until it returns true or timeout passes, then
// fails the test with what. The timeout is a generous bound against hangs,
// not a performance assertion.
func WaitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	if !Poll(timeout, cond) {
		t.Fatalf("timed out after %v waiting for %s", timeout, what)
	}
}

// Poll calls cond every 20 ms until it returns true (Poll reports true) or
// timeout passes (false). WaitFor is its test form; the bench programs use
// it directly.
func Poll(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
	return true
}

var portMu sync.Mutex
var portsGiven = map[int]bool{}

// reservations holds, for the life of the test process, a locked file
// per port handed out. portsGiven keeps this binary's tests apart; the
// locks keep parallel test binaries (go test -p) apart. Without them a
// port freed by a killed server in one package could be taken by another
// package's server, and the first package's clients, still retrying that
// address, would write into it. The kernel drops the locks when the
// process exits, however it exits. (The slice also keeps the files from
// the collector, whose finalizer would close them and drop the locks.)
var reservations []*os.File

// reserve locks the files of ports base..base+n-1 and of their bus ports,
// or none of them.
func reserve(base, n int) bool {
	dir := filepath.Join(os.TempDir(), "reef-test-ports")
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return true // no shared directory: fall back to this process's bookkeeping
	}
	var held []*os.File
	for p := base; p < base+n; p++ {
		for _, q := range []int{p, p + 10000} {
			f, err := os.OpenFile(filepath.Join(dir, strconv.Itoa(q)), os.O_CREATE|os.O_RDWR, 0o666)
			if err != nil {
				continue // unreadable lock file (another user's): rely on portFree
			}
			if syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) != nil {
				f.Close()
				for _, h := range held {
					h.Close()
				}
				return false
			}
			held = append(held, f)
		}
	}
	reservations = append(reservations, held...)
	return true
}

func portFree(p int) bool {
	l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
	if err != nil {
		return false
	}
	l.Close()
	return true
}

// FreePort returns a loopback port in [12000, 22767] that is free, and whose
// bus port (port+10000) is free too, and that this process has not handed out
// before. Both stay below 32768, away from ephemeral client ports.
func FreePort(t testing.TB) int {
	t.Helper()
	p, ok := PickFreePort()
	if !ok {
		t.Fatal("no free port pair found")
	}
	return p
}

// PickFreePort is FreePort for programs (the bench tools): it reports
// false when no port pair is found.
func PickFreePort() (int, bool) { return pickRange(1) }

// FreeRange returns base such that ports base..base+n-1 and their bus
// ports are free, below 32768, and handed out to nobody else in this test
// binary (for `reef-cli --cluster up`, which takes consecutive ports).
func FreeRange(t testing.TB, n int) int {
	t.Helper()
	base, ok := pickRange(n)
	if !ok {
		t.Fatal("no free port range found")
	}
	return base
}

// pickRange finds n consecutive ports as FreeRange describes and marks
// them handed out.
func pickRange(n int) (int, bool) {
	portMu.Lock()
	defer portMu.Unlock()
	// Random picks keep parallel test binaries (go test -p) apart.
	for i := 0; i < 5000; i++ {
		base := 12000 + rand.IntN(10768-n+1)
		ok := true
		for p := base; p < base+n && ok; p++ {
			ok = !portsGiven[p] && !portsGiven[p+10000] && !portsGiven[p-10000] && portFree(p) && portFree(p+10000)
		}
		if ok && reserve(base, n) {
			for p := base; p < base+n; p++ {
				portsGiven[p] = true
			}
			return base, true
		}
	}
	return 0, false
}

// RepoRoot returns the module root (the directory holding go.mod).
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// RaceBuild reports whether Binary builds with the race detector
// (REEF_TEST_RACE=1). Such a build's memory is several times a normal
// one's, so tests skip their bounds on a server's RSS.
func RaceBuild() bool { return os.Getenv("REEF_TEST_RACE") == "1" }

var buildMu sync.Mutex
var built = map[string]string{}

// Binary builds ./cmd/<name> once per test process and returns its path.
// With REEF_TEST_RACE=1 it builds with the race detector, so that the
// black-box suites check the server for data races.
func Binary(t testing.TB, name string) string {
	t.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	if p, ok := built[name]; ok {
		return p
	}
	dir, err := os.MkdirTemp("", "reef-bin-")
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, name)
	args := []string{"build", "-o", out}
	if RaceBuild() {
		// Run the black-box tests against race-detector builds.
		args = append(args, "-race")
	}
	cmd := exec.Command("go", append(args, "./cmd/"+name)...)
	cmd.Dir = RepoRoot()
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", name, err, b)
	}
	built[name] = out
	return out
}

// RedisServerPath returns the path of the real redis-server, failing the test
// when it is missing: CI installs it, and these tests must not be skipped.
func RedisServerPath(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatal("redis-server not found: install the Debian package redis-server (scripts/test.sh does)")
	}
	return p
}

// RedisCliPath returns the path of the real redis-cli (Debian redis-tools).
func RedisCliPath(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("redis-cli")
	if err != nil {
		t.Fatal("redis-cli not found: install the Debian package redis-tools (scripts/test.sh does)")
	}
	return p
}

// Proc is a server process started by a test.
type Proc struct {
	Port int
	Dir  string
	Cmd  *exec.Cmd
	Args []string
	Log  *bytes.Buffer // stdout+stderr, when not redirected to a logfile

	mu     sync.Mutex
	done   chan struct{}
	exited bool
}

// Addr is 127.0.0.1:port.
func (p *Proc) Addr() string { return "127.0.0.1:" + strconv.Itoa(p.Port) }

// Output returns what the process printed so far.
func (p *Proc) Output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.Log.String()
}

type lockedWriter struct{ p *Proc }

func (w lockedWriter) Write(b []byte) (int, error) {
	w.p.mu.Lock()
	defer w.p.mu.Unlock()
	return w.p.Log.Write(b)
}

// Start runs bin with args in dir and registers cleanup that kills it by PID.
// It does not wait for readiness; see WaitReady.
func Start(t testing.TB, bin string, port int, dir string, args ...string) *Proc {
	t.Helper()
	p := &Proc{Port: port, Dir: dir, Args: args, Log: &bytes.Buffer{}, done: make(chan struct{})}
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	var out io.Writer = lockedWriter{p}
	if d := os.Getenv("REEF_TEST_PROCLOG_DIR"); d != "" {
		// Debugging aid: keep each process's output in a file that outlives
		// the test (a goroutine dump from SIGQUIT lands there too).
		if f, err := os.Create(filepath.Join(d, fmt.Sprintf("%s-%d.log", filepath.Base(bin), port))); err == nil {
			t.Cleanup(func() { f.Close() })
			out = io.MultiWriter(out, f)
		}
	}
	cmd.Stdout = out
	cmd.Stderr = out
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	p.Cmd = cmd
	go func() {
		cmd.Wait()
		p.mu.Lock()
		p.exited = true
		p.mu.Unlock()
		close(p.done)
	}()
	t.Cleanup(func() { p.Kill() })
	t.Cleanup(func() {
		// A reef-server recovers from a panic while serving a client and
		// goes on: the test may pass, but the bug must not go unseen.
		out := p.Output()
		if i := strings.Index(out, "panic serving client"); i >= 0 {
			t.Errorf("%s on port %d recovered from a panic:\n%s", filepath.Base(bin), port, out[i:min(len(out), i+3000)])
		}
		// A race-detector build (RaceBuild) reports a race and goes on.
		if i := strings.Index(out, "WARNING: DATA RACE"); i >= 0 {
			t.Errorf("%s on port %d reported a data race:\n%s", filepath.Base(bin), port, out[i:min(len(out), i+6000)])
		}
	})
	return p
}

// Exited reports whether the process has ended.
func (p *Proc) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Done is closed when the process has exited.
func (p *Proc) Done() <-chan struct{} { return p.done }

// Kill sends SIGKILL and waits for the process to exit.
func (p *Proc) Kill() {
	if p.Cmd == nil || p.Cmd.Process == nil {
		return
	}
	p.Cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// Signal sends sig to the process.
func (p *Proc) Signal(sig os.Signal) { p.Cmd.Process.Signal(sig) }

// WaitExit waits up to timeout for the process to exit and returns its exit
// code, or fails the test.
func (p *Proc) WaitExit(t testing.TB, timeout time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
		return p.Cmd.ProcessState.ExitCode()
	case <-time.After(timeout):
		t.Fatalf("process on port %d did not exit within %v; output:\n%s", p.Port, timeout, p.Output())
		return -1
	}
}

// WaitReady waits until the server answers PING on its port.
func (p *Proc) WaitReady(t testing.TB) {
	t.Helper()
	if !p.waitReady(t) {
		t.Fatalf("server on port %d exited early:\n%s", p.Port, p.Output())
	}
}

// waitReady waits until this process answers on its port, or reports
// false when it exits first. A server answering on the port is checked to
// be this process (INFO's process_id): another test binary may take the
// port between FreePort and the bind, and its server must not be mistaken
// for ours.
func (p *Proc) waitReady(t testing.TB) bool {
	t.Helper()
	exited := false
	WaitFor(t, 20*time.Second, fmt.Sprintf("server on port %d to answer PING", p.Port), func() bool {
		if p.Exited() {
			exited = true
			return true
		}
		c, err := Dial(p.Addr())
		if err != nil {
			return false
		}
		defer c.Close()
		v, err := c.Do("PING")
		// PONG, or an error such as NOAUTH: the server is up unless it is still loading.
		if err != nil || strings.HasPrefix(v.Text(), "LOADING") {
			return false
		}
		info, err := c.Do("INFO", "server")
		if err != nil {
			return false
		}
		pid := ""
		for _, l := range strings.Split(info.Text(), "\n") {
			if v, ok := strings.CutPrefix(strings.TrimSpace(l), "process_id:"); ok {
				pid = v
			}
		}
		// An error reply (NOAUTH) cannot tell; accept it as Redis would.
		return pid == "" || pid == strconv.Itoa(p.Cmd.Process.Pid)
	})
	return !exited
}

// startServer starts bin on a free port with the arguments args returns
// for it, in a fresh temporary directory, and waits until it answers. When
// the port was taken meanwhile (by another test binary), it tries another.
func startServer(t testing.TB, bin string, args func(port int) []string) *Proc {
	t.Helper()
	for attempt := 0; ; attempt++ {
		port := FreePort(t)
		dir := t.TempDir()
		p := Start(t, bin, port, dir, args(port)...)
		if p.waitReady(t) {
			return p
		}
		out := p.Output()
		if attempt < 5 && (strings.Contains(out, "Address already in use") || strings.Contains(out, "Could not create server TCP listening socket") || strings.Contains(out, "(cluster), aborting")) {
			continue
		}
		t.Fatalf("server on port %d exited early:\n%s", p.Port, out)
	}
}

// StartReef starts a reef-server on a free port with the given extra
// arguments, in a fresh temporary directory, and waits until it answers.
func StartReef(t testing.TB, args ...string) *Proc {
	t.Helper()
	bin := Binary(t, "reef-server")
	return startServer(t, bin, func(port int) []string {
		return append([]string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", ""}, args...)
	})
}

// StartRedis starts a real redis-server on a free port with the given extra
// arguments, in a fresh temporary directory, and waits until it answers.
func StartRedis(t testing.TB, args ...string) *Proc {
	t.Helper()
	bin := RedisServerPath(t)
	return startServer(t, bin, func(port int) []string {
		return append([]string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"}, args...)
	})
}

// Conn is a minimal RESP client for tests that want to see raw replies.
type Conn struct {
	net.Conn
	R *resp.ReplyReader
	w *bufio.Writer
}

// StartMany starts n servers with start (StartReef or StartRedis), each
// with args.
func StartMany(t testing.TB, start func(testing.TB, ...string) *Proc, n int, args ...string) []*Proc {
	t.Helper()
	ps := make([]*Proc, n)
	for i := range ps {
		ps[i] = start(t, args...)
	}
	return ps
}

// TCPPair returns the two ends of a loopback TCP connection, closed when
// the test ends: for tests of code that reads and writes sockets directly.
func TCPPair(t testing.TB) (dialed, accepted *net.TCPConn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	s, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return c.(*net.TCPConn), s.(*net.TCPConn)
}

// Dial connects to addr.
func Dial(addr string) (*Conn, error) {
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return nil, err
	}
	return &Conn{Conn: c, R: resp.NewReplyReader(c), w: bufio.NewWriter(c)}, nil
}

// MustDial connects to addr or fails the test, closing the connection at cleanup.
func MustDial(t testing.TB, addr string) *Conn {
	t.Helper()
	c, err := Dial(addr)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// Do sends one command and reads its reply. A server error reply is returned
// as a Value of kind error, not as a Go error.
func (c *Conn) Do(args ...string) (resp.Value, error) {
	c.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := c.w.Write(resp.AppendCommand(nil, args...)); err != nil {
		return resp.Value{}, err
	}
	if err := c.w.Flush(); err != nil {
		return resp.Value{}, err
	}
	return c.R.ReadReply()
}

// WriteRaw sends bytes as they are.
func (c *Conn) WriteRaw(b []byte) error {
	_, err := c.Conn.Write(b)
	return err
}

// ClusterAgreed reports whether every node of addrs says
// cluster_state:ok, knows at least members nodes past their handshake (a
// failed node still counts), and sees the same slot owners (open-slot
// markers aside). Tests wait for it with WaitFor between cluster
// operations; the bench programs use it too.
func ClusterAgreed(addrs []string, members int) bool {
	first := ""
	for _, a := range addrs {
		c, err := Dial(a)
		if err != nil {
			return false
		}
		info, err1 := c.Do("CLUSTER", "INFO")
		nodes, err2 := c.Do("CLUSTER", "NODES")
		c.Close()
		if err1 != nil || err2 != nil || !strings.Contains(info.Text(), "cluster_state:ok") {
			return false
		}
		known := 0
		for _, l := range strings.Split(nodes.Text(), "\n") {
			if f := strings.Fields(l); len(f) > 2 && !strings.Contains(f[2], "handshake") {
				known++
			}
		}
		if known < members {
			return false
		}
		sig := SlotSignature(nodes.Text())
		if first == "" {
			first = sig
		} else if sig != first {
			return false
		}
	}
	return true
}

// SlotSignature is "id:slots|..." of the masters with slots in a CLUSTER
// NODES reply, sorted; open-slot markers are ignored.
func SlotSignature(nodes string) string {
	var out []string
	for _, l := range strings.Split(nodes, "\n") {
		f := strings.Fields(l)
		if len(f) < 9 {
			continue
		}
		var sl []string
		for _, s := range f[8:] {
			if !strings.HasPrefix(s, "[") {
				sl = append(sl, s)
			}
		}
		if len(sl) > 0 {
			out = append(out, f[0]+":"+strings.Join(sl, ","))
		}
	}
	sort.Strings(out)
	return strings.Join(out, "|")
}
