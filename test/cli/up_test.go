package cli

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/reefkv/reef/internal/client"
	"github.com/reefkv/reef/internal/testutil"
)

// TestUpDown starts a local cluster with `--cluster up` (pointed at
// redis-server through REEF_SERVER_BIN until reef-server has a cluster
// mode), checks it, and stops it with `--cluster down`.
func TestUpDown(t *testing.T) {
	t.Parallel()
	testUpDown(t, testutil.RedisServerPath(t))
}

// TestUpDownReef is the same with reef-server itself: the newcomer's first
// command must give a working cluster.
func TestUpDownReef(t *testing.T) {
	t.Parallel()
	testUpDown(t, testutil.Binary(t, "reef-server"))
}

func testUpDown(t *testing.T, server string) {
	base := testutil.FreeRange(t, 6)
	dir := filepath.Join(t.TempDir(), "cluster")
	run := func(args ...string) result {
		cmd := exec.Command(reefCLI(t), args...)
		cmd.Env = append(os.Environ(), "TERM=dumb", "REEF_SERVER_BIN="+server)
		out, err := cmd.CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return result{out: string(out), code: code}
	}
	t.Cleanup(func() {
		// Whatever happens, stop what up started (by its recorded PIDs).
		b, _ := os.ReadFile(filepath.Join(dir, "pids"))
		for _, f := range strings.Fields(string(b)) {
			if pid, err := strconv.Atoi(f); err == nil {
				syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	})
	r := run("--cluster", "up", "--nodes", "6", "--replicas", "1", "--port", itoa(base), "--dir", dir)
	if r.code != 0 || !strings.Contains(r.out, "[OK] Cluster of 6 nodes is up") || !strings.Contains(r.out, "reef-cli -c -p "+itoa(base)) {
		t.Fatalf("up (%d):\n%s", r.code, r.out)
	}
	mustCheck(t, "127.0.0.1:"+itoa(base))
	// Three masters with a replica each, in every node's view.
	c, err := client.Dial("127.0.0.1:"+itoa(base), client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	v, _ := c.Do("CLUSTER", "NODES")
	c.Close()
	if m, s := strings.Count(v.Text(), "master"), strings.Count(v.Text(), "slave"); m != 3 || s != 3 {
		t.Errorf("want 3 masters and 3 replicas:\n%s", v.Text())
	}
	// Clients get redirected to the right node.
	seed := "127.0.0.1:" + itoa(base)
	writeKeys(t, seed, 100, "k")
	checkKeys(t, seed, 100, "k")
	r2 := runCLI(t, reefCLI(t), "set foo bar\nget foo\n", "-c", "-p", itoa(base))
	if !strings.HasSuffix(r2.out, "OK\nbar\n") {
		t.Errorf("reef-cli -c session: %q %q", r2.out, r2.err)
	}
	// A second up in the same folder refuses.
	if r := run("--cluster", "up", "--port", itoa(base), "--dir", dir); r.code == 0 {
		t.Errorf("second up succeeded:\n%s", r.out)
	}
	r = run("--cluster", "down", "--dir", dir)
	if r.code != 0 || !strings.Contains(r.out, "[OK] Stopped 6 nodes") {
		t.Fatalf("down (%d):\n%s", r.code, r.out)
	}
	testutil.WaitFor(t, 10*time.Second, "the nodes to stop listening", func() bool {
		for p := base; p < base+6; p++ {
			if c, err := net.Dial("tcp", "127.0.0.1:"+itoa(p)); err == nil {
				c.Close()
				return false
			}
		}
		return true
	})
}
