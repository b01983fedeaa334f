package benchutil

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/reefkv/reef/internal/client"
	"github.com/reefkv/reef/internal/resp"
	"github.com/reefkv/reef/internal/slot"
	"github.com/reefkv/reef/internal/testutil"
)

// Must exits with err, naming the program, when err is not nil.
func Must(err error) {
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", filepath.Base(os.Args[0]), err)
		os.Exit(1)
	}
}

// FreePort returns a port below 32768 whose cluster bus port (+10000) is
// free too, not handed out before (testutil.PickFreePort).
func FreePort() int {
	p, ok := testutil.PickFreePort()
	if !ok {
		Must(fmt.Errorf("no free port pair found"))
	}
	return p
}

// Sh runs a tool with TERM=dumb and returns its combined output; a failure
// ends the program with that output.
func Sh(name string, args ...string) string {
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), "TERM=dumb")
	out, err := cmd.CombinedOutput()
	if err != nil {
		Must(fmt.Errorf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out))
	}
	return string(out)
}

// WaitFor polls cond (testutil.Poll) and ends the program, naming the
// caller's line, when it is still false after timeout.
func WaitFor(timeout time.Duration, cond func() bool) {
	if !testutil.Poll(timeout, cond) {
		_, file, line, _ := runtime.Caller(1)
		Must(fmt.Errorf("timed out waiting at %s:%d", filepath.Base(file), line))
	}
}

// Build compiles ./cmd/name into dir and returns the binary's path.
func Build(dir, name string) string {
	out := filepath.Join(dir, name)
	cmd := exec.Command("go", "build", "-o", out, "./cmd/"+name)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	Must(cmd.Run())
	return out
}

// Nodes are cluster-enabled servers started by StartNodes.
type Nodes struct {
	Addrs []string
	procs []*exec.Cmd
}

// StartNodes runs count cluster-enabled servers of bin (reef-server or
// redis-server) on free ports, each in a folder of its own under dir, and
// waits until they accept connections.
func StartNodes(bin, dir string, count, nodeTimeoutMs int, extra ...string) *Nodes {
	n := &Nodes{}
	for i := 0; i < count; i++ {
		port := FreePort()
		d := filepath.Join(dir, filepath.Base(bin)+"-"+strconv.Itoa(port))
		Must(os.MkdirAll(d, 0o755))
		args := append([]string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1",
			"--cluster-enabled", "yes", "--cluster-node-timeout", strconv.Itoa(nodeTimeoutMs), "--save", "", "--appendonly", "no",
			"--dir", d, "--logfile", "log"}, extra...)
		cmd := exec.Command(bin, args...)
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		Must(cmd.Start())
		n.procs = append(n.procs, cmd)
		n.Addrs = append(n.Addrs, "127.0.0.1:"+strconv.Itoa(port))
	}
	for _, a := range n.Addrs {
		WaitFor(120*time.Second, func() bool {
			c, err := client.Dial(a, client.Options{})
			if err == nil {
				c.Close()
			}
			return err == nil
		})
	}
	return n
}

// Stop kills the servers and waits for them.
func (n *Nodes) Stop() {
	for _, p := range n.procs {
		p.Process.Kill()
		p.Wait()
	}
}

// ClusterAgreed is testutil.ClusterAgreed: every node ok, fully met, and
// of one slot map.
func ClusterAgreed(addrs []string) bool { return testutil.ClusterAgreed(addrs, len(addrs)) }

// Value is the value of every key of the dataset.
var Value = strings.Repeat("v", 100)

// Key is the name of key i of the dataset.
func Key(i int) string { return "key:" + strconv.Itoa(i) }

// LoadKeys writes keys 0..n-1 through seed's cluster, pipelined per owner.
func LoadKeys(seed string, n int) {
	perOwner([]string{seed}, n, func(k string) []string { return []string{"SET", k, Value} }, func(string, resp.Value) {})
}

// VerifyKeys reads keys 0..n-1 back from their owners and ends the program
// if any is missing or has another value.
func VerifyKeys(addrs []string, n int) {
	bad := 0
	perOwner(addrs, n, func(k string) []string { return []string{"GET", k} }, func(_ string, v resp.Value) {
		if v.Text() != Value {
			bad++
		}
	})
	if bad > 0 {
		Must(fmt.Errorf("%d of %d keys lost or wrong", bad, n))
	}
}

// perOwner sends cmd(key) for keys 0..n-1 to the master owning each key's
// slot, 1000 in flight per connection, and hands every reply to check.
func perOwner(seeds []string, n int, cmd func(key string) []string, check func(key string, v resp.Value)) {
	cl, err := client.NewCluster(seeds, client.Options{})
	Must(err)
	defer cl.Close()
	type owner struct {
		c    *client.Conn
		keys []string
	}
	owners := map[string]*owner{}
	drain := func(o *owner) {
		for o.c.Pending() > 0 {
			v, err := o.c.Receive()
			Must(err)
			if v.IsError() {
				Must(fmt.Errorf("%s: %s", o.keys[0], v.Text()))
			}
			check(o.keys[0], v)
			o.keys = o.keys[1:]
		}
	}
	for i := 0; i < n; i++ {
		k := Key(i)
		addr := cl.SlotOwner(slot.OfString(k))
		o := owners[addr]
		if o == nil {
			c, err := client.Dial(addr, client.Options{})
			Must(err)
			o = &owner{c: c}
			owners[addr] = o
		}
		Must(o.c.Send(cmd(k)...))
		o.keys = append(o.keys, k)
		if o.c.Pending() >= 1000 {
			drain(o)
		}
	}
	for _, o := range owners {
		drain(o)
		o.c.Close()
	}
}
