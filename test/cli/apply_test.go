package cli

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/reefkv/reef/internal/admin"
	"github.com/reefkv/reef/internal/client"
	"github.com/reefkv/reef/internal/testutil"
)

// startApply starts `reef-cli --cluster apply plan` in the background with
// every batch held open for a while, so that the test can kill it (or a
// node) while slots are open.
func startApply(t *testing.T, plan string) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	cmd := exec.Command(reefCLI(t), "--cluster", "apply", plan, "--cluster-slot-batch", "8")
	cmd.Env = append(os.Environ(), "TERM=dumb", "REEF_TEST_MOVE_PAUSE=250")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd, &out
}

// openAndMoved reports whether some node shows an open slot while the
// target owns a slot, not among before (its slots at the start, as slotMap
// gives them), that no node shows open: a slot moved all the way, which a
// rerun of the plan counts as already moved (the target claims a batch
// before its source lets it go, so a count of its slots would not tell).
func openAndMoved(t *testing.T, ps []*testutil.Proc, target int, before string) bool {
	open := map[int]bool{}
	for _, p := range ps {
		if p.Exited() {
			continue
		}
		c, err := client.Dial(p.Addr(), client.Options{})
		if err != nil {
			continue
		}
		v, err := c.Do("CLUSTER", "NODES")
		c.Close()
		if err != nil {
			continue
		}
		for _, f := range strings.Fields(v.Text()) {
			if i := strings.IndexAny(f, "-<"); strings.HasPrefix(f, "[") && (strings.Contains(f, "->-") || strings.Contains(f, "-<-")) && i > 1 {
				if n, err := strconv.Atoi(f[1:i]); err == nil {
					open[n] = true
				}
			}
		}
	}
	if len(open) == 0 {
		return false
	}
	had := slotSet(before)
	for s := range slotSet(slotMap(t, ps)[target]) {
		if !had[s] && !open[s] {
			return true
		}
	}
	return false
}

// slotSet expands slotMap's ranges ("0-99 200") into a set.
func slotSet(ranges string) map[int]bool {
	set := map[int]bool{}
	for _, r := range strings.Fields(ranges) {
		a, b := r, r
		if j := strings.IndexByte(r, '-'); j >= 0 {
			a, b = r[:j], r[j+1:]
		}
		x, _ := strconv.Atoi(a)
		y, _ := strconv.Atoi(b)
		for s := x; s <= y; s++ {
			set[s] = true
		}
	}
	return set
}

// killWhileOpen kills a running apply while a slot is open after a
// finished batch. The apply is stopped (SIGSTOP) during each look, so that
// the state the look sees is the state the kill leaves: on a loaded
// machine a look takes long enough for the apply to close the slot it saw.
func killWhileOpen(t *testing.T, cmd *exec.Cmd, name string, ps []*testutil.Proc, target int, before string) {
	t.Helper()
	testutil.WaitFor(t, 60*time.Second, name+": an open slot after a finished batch", func() bool {
		cmd.Process.Signal(syscall.SIGSTOP)
		if openAndMoved(t, ps, target, before) {
			return true
		}
		cmd.Process.Signal(syscall.SIGCONT)
		return false
	})
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
}

func planFile(t *testing.T, args ...string) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "plan.json")
	r := runCLI(t, reefCLI(t), "", append(append([]string{"--cluster", "plan"}, args...), "--cluster-plan-file", f)...)
	if r.code != 0 {
		t.Fatalf("plan %v (%d):\n%s%s", args, r.code, r.out, r.err)
	}
	return f
}

// TestApplyResumesAfterCLIKilled kills reef-cli in the middle of a
// rebalance and then of a reshard, each run from a plan, and checks that
// running the same apply again closes the open slots, completes the plan,
// passes `redis-cli --cluster check` and loses no key.
func TestApplyResumesAfterCLIKilled(t *testing.T) {
	t.Parallel()
	ps := startNodes(t, 4)
	create(t, redisCLI(t), ps[:3], 0)
	writeKeys(t, ps[0].Addr(), 2000, "k")
	if r := runCLI(t, reefCLI(t), "", "--cluster", "add-node", ps[3].Addr(), ps[0].Addr()); r.code != 0 {
		t.Fatalf("add-node: %s%s", r.out, r.err)
	}
	waitOK(t, ps)

	interrupted := func(name, plan string, target int) {
		t.Helper()
		before := slotMap(t, ps)[target]
		cmd, out := startApply(t, plan)
		killWhileOpen(t, cmd, name, ps, target, before)
		if r := runCLI(t, redisCLI(t), "", "--cluster", "check", ps[0].Addr()); r.code == 0 {
			// The batch in flight is a job of the servers: it may finish,
			// and close its slots, between the kill and this check. The
			// rerun below must then find them moved, as it finds the
			// batches before.
			t.Logf("%s: the servers finished the batch in flight after the kill; output so far:\n%s", name, out)
		}
		r := runCLI(t, reefCLI(t), "", "--cluster", "apply", plan)
		if r.code != 0 || !strings.Contains(r.out, "already moved by an earlier run") {
			t.Fatalf("%s: second apply (%d):\n%s%s", name, r.code, r.out, r.err)
		}
		waitOK(t, ps)
		mustCheck(t, ps[0].Addr())
		checkKeys(t, ps[0].Addr(), 2000, "k")
		// A third run finds nothing to do.
		r = runCLI(t, reefCLI(t), "", "--cluster", "apply", plan)
		if r.code != 0 || !strings.Contains(r.out, "[OK] Plan applied: 0 slots moved") {
			t.Fatalf("%s: third apply (%d):\n%s%s", name, r.code, r.out, r.err)
		}
	}

	plan := planFile(t, "rebalance", ps[0].Addr(), "--cluster-use-empty-masters")
	interrupted("rebalance", plan, 3)
	for i, n := range slotCounts(slotMap(t, ps)) {
		if n != 4096 {
			t.Errorf("after rebalance node %d has %d slots, want 4096", i, n)
		}
	}

	ids := make([]string, 4)
	for i, p := range ps {
		ids[i] = myID(t, p)
	}
	plan = planFile(t, "reshard", ps[0].Addr(), "--cluster-from", "all", "--cluster-to", ids[0], "--cluster-slots", "900", "--cluster-yes")
	interrupted("reshard", plan, 0)
	if n := slotCounts(slotMap(t, ps))[0]; n != 4096+900 {
		t.Errorf("after reshard node 0 has %d slots, want %d", n, 4096+900)
	}

	// An interrupted apply can also be finished by redis-cli's way: fix.
	plan = planFile(t, "reshard", ps[0].Addr(), "--cluster-from", ids[0], "--cluster-to", ids[1], "--cluster-slots", "300", "--cluster-yes")
	before := slotMap(t, ps)[1]
	cmd, out := startApply(t, plan)
	killWhileOpen(t, cmd, "fix case", ps, 1, before)
	r := runCLI(t, reefCLI(t), "", "--cluster", "fix", ps[0].Addr())
	if r.code != 0 {
		t.Fatalf("fix after a killed apply (%d):\n%s%s\napply output:\n%s", r.code, r.out, r.err, out)
	}
	if !strings.Contains(r.out, ">>> Fixing open slot") {
		// As above: the servers may have finished the batch in flight.
		t.Logf("fix found no open slot: the servers finished the batch in flight")
	}
	waitOK(t, ps)
	mustCheck(t, ps[0].Addr())
	checkKeys(t, ps[0].Addr(), 2000, "k")
}

// TestApplyAfterTargetKilled kills the target master in the middle of a
// move, restarts it from its append-only file, and checks that re-running
// the plan completes it with every key kept.
func TestApplyAfterTargetKilled(t *testing.T) {
	t.Parallel()
	ps := startNodes(t, 4, "--appendonly", "yes", "--appendfsync", "always")
	create(t, redisCLI(t), ps[:3], 0)
	writeKeys(t, ps[0].Addr(), 1500, "k")
	if r := runCLI(t, reefCLI(t), "", "--cluster", "add-node", ps[3].Addr(), ps[0].Addr()); r.code != 0 {
		t.Fatalf("add-node: %s%s", r.out, r.err)
	}
	waitOK(t, ps)
	target := ps[3]
	plan := planFile(t, "reshard", ps[0].Addr(), "--cluster-from", "all", "--cluster-to", myID(t, target), "--cluster-slots", "600", "--cluster-yes")
	cmd, out := startApply(t, plan)
	testutil.WaitFor(t, 60*time.Second, "an open slot after a finished batch", func() bool {
		return openAndMoved(t, ps, 3, "")
	})
	target.Kill()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(90 * time.Second):
		t.Fatalf("apply did not stop after its target died:\n%s", out)
	}
	if cmd.ProcessState.ExitCode() == 0 {
		t.Fatalf("apply succeeded although its target died:\n%s", out)
	}
	// Restart the target from its data directory: nodes.conf keeps its ID
	// and its importing slots, the AOF its keys.
	restarted := testutil.Start(t, testutil.RedisServerPath(t), target.Port, target.Dir, target.Args...)
	restarted.WaitReady(t)
	ps[3] = restarted
	waitOK(t, ps)
	r := runCLI(t, reefCLI(t), "", "--cluster", "apply", plan)
	if r.code != 0 {
		t.Fatalf("apply after restart (%d):\n%s%s\nfirst run:\n%s", r.code, r.out, r.err, out)
	}
	waitOK(t, ps)
	mustCheck(t, ps[0].Addr())
	checkKeys(t, ps[0].Addr(), 1500, "k")
	// redis-cli's reshard table rounds each source's share (the first up,
	// the others down), so 600 requested slots are 599 here.
	pl, err := admin.ReadPlan(plan)
	if err != nil {
		t.Fatal(err)
	}
	if n := slotCounts(slotMap(t, ps))[3]; n != pl.Slots() || n != 599 {
		t.Errorf("target owns %d slots, want %d (plan) = 599\nsecond apply:\n%s\nfirst:\n%s", n, pl.Slots(), r.out, out)
	}
}

// TestApplyAfterTargetFailover kills the target master in the middle of a
// move and lets its replica take over; re-running the plan moves the rest
// to the promoted replica, with every key kept.
func TestApplyAfterTargetFailover(t *testing.T) {
	t.Parallel()
	ps := startNodes(t, 5, "--repl-diskless-sync-delay", "0")
	create(t, redisCLI(t), ps[:3], 0)
	writeKeys(t, ps[0].Addr(), 1500, "k")
	if r := runCLI(t, reefCLI(t), "", "--cluster", "add-node", ps[3].Addr(), ps[0].Addr()); r.code != 0 {
		t.Fatalf("add-node: %s%s", r.out, r.err)
	}
	if r := runCLI(t, reefCLI(t), "", "--cluster", "add-node", ps[4].Addr(), ps[0].Addr(), "--cluster-slave", "--cluster-master-id", myID(t, ps[3])); r.code != 0 {
		t.Fatalf("add-node replica: %s%s", r.out, r.err)
	}
	waitOK(t, ps)
	// A replica can only take over once it has synced with its master.
	testutil.WaitFor(t, 30*time.Second, "the replica to sync", func() bool {
		return strings.Contains(do(t, ps[4], "INFO", "replication"), "master_link_status:up")
	})
	plan := planFile(t, "reshard", ps[0].Addr(), "--cluster-from", "all", "--cluster-to", myID(t, ps[3]), "--cluster-slots", "600", "--cluster-yes")
	cmd, out := startApply(t, plan)
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	testutil.WaitFor(t, 60*time.Second, "an open slot after a finished batch", func() bool {
		select {
		case <-exited:
			t.Fatalf("apply ended before it could be interrupted:\n%s", out)
		default:
		}
		return openAndMoved(t, ps, 3, "")
	})
	ps[3].Kill()
	<-exited
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("replica log:\n%s", ps[4].Output())
		}
	})
	testutil.WaitFor(t, 30*time.Second, "the replica to take over", func() bool {
		return strings.Contains(do(t, ps[4], "INFO", "replication"), "role:master")
	})
	live := []*testutil.Proc{ps[0], ps[1], ps[2], ps[4]}
	waitOK(t, live)
	r := runCLI(t, reefCLI(t), "", "--cluster", "apply", plan)
	if r.code != 0 {
		t.Fatalf("apply after failover (%d):\n%s%s\nfirst run:\n%s", r.code, r.out, r.err, out)
	}
	waitOK(t, live)
	mustCheck(t, ps[0].Addr())
	checkKeys(t, ps[0].Addr(), 1500, "k")
	if n := slotCounts(slotMap(t, live))[3]; n != 599 {
		t.Errorf("promoted replica owns %d slots, want 599", n)
	}
}
