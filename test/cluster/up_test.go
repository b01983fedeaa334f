package cluster

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/reefkv/reef/internal/testutil"
)

// TestReefCLIUp: reef-cli --cluster up starts six reef-servers in cluster
// mode and makes them a healthy cluster that redis-cli --cluster check
// accepts; --cluster down stops them.
func TestReefCLIUp(t *testing.T) {
	t.Parallel()
	base := testutil.FreeRange(t, 6)
	dir := filepath.Join(t.TempDir(), "cluster")
	reefCLI := testutil.Binary(t, "reef-cli")
	server := testutil.Binary(t, "reef-server")
	up := func(args ...string) result {
		cmd := exec.Command(reefCLI, args...)
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
	p := strconv.Itoa(base)
	r := up("--cluster", "up", "--nodes", "6", "--replicas", "1", "--port", p, "--dir", dir)
	if r.code != 0 || !strings.Contains(r.out, "[OK] Cluster of 6 nodes is up") {
		t.Fatalf("up (%d):\n%s", r.code, r.out)
	}
	chk := redisCLI(t, "", "--cluster", "check", "127.0.0.1:"+p)
	if chk.code != 0 || !strings.Contains(chk.out, "[OK] All 16384 slots covered.") {
		t.Fatalf("check (%d):\n%s%s", chk.code, chk.out, chk.err)
	}
	c := testutil.MustDial(t, "127.0.0.1:"+p)
	v, _ := c.Do("INFO", "server")
	if !strings.Contains(v.Text(), "reef_version:") || !strings.Contains(v.Text(), "redis_mode:cluster") {
		t.Fatalf("not a reef-server in cluster mode:\n%s", v.Text())
	}
	v, _ = c.Do("CLUSTER", "NODES")
	if m, s := strings.Count(v.Text(), "master"), strings.Count(v.Text(), "slave"); m != 3 || s != 3 {
		t.Errorf("want 3 masters and 3 replicas:\n%s", v.Text())
	}
	r = up("--cluster", "down", "--dir", dir)
	if r.code != 0 || !strings.Contains(r.out, "[OK] Stopped 6 nodes") {
		t.Fatalf("down (%d):\n%s", r.code, r.out)
	}
}
