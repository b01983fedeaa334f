package migrate

import (
	"context"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/reefkv/reef/internal/testutil"
)

// addReplica starts a node and makes it a replica of master with redis-cli
// --cluster add-node --cluster-slave.
func (c *cluster) addReplica(master *testutil.Proc) *testutil.Proc {
	c.t.Helper()
	r := c.addNode()
	res := runTool(c.t, testutil.RedisCliPath(c.t), "--cluster", "add-node", r.Addr(), master.Addr(),
		"--cluster-slave", "--cluster-master-id", id(c.t, master))
	if res.code != 0 {
		c.t.Fatalf("add-node --cluster-slave: %d\n%s\n%s", res.code, res.out, res.err)
	}
	testutil.WaitFor(c.t, 30*time.Second, "the replica to sync", func() bool {
		info, ok := tryDo(r, "INFO", "replication")
		return ok && strings.Contains(info, "master_link_status:up")
	})
	return r
}

// fillSlot writes n keys of one hash tag (one slot) and returns the slot
// and a verifier.
func fillSlot(t *testing.T, seed *testutil.Proc, tag string, n int, more ...*testutil.Proc) (int, func()) {
	t.Helper()
	seeds := append([]*testutil.Proc{seed}, more...)
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{seed.Addr()}, MaxRedirects: 16, ReadTimeout: 20 * time.Second})
	defer cc.Close()
	ctx := context.Background()
	for off := 0; off < n; off += 5000 {
		_, err := cc.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i := off; i < min(off+5000, n); i++ {
				p.Set(ctx, "{"+tag+"}:"+strconv.Itoa(i), strconv.Itoa(i), 0)
			}
			return nil
		})
		if err != nil {
			t.Fatalf("fillSlot: %v", err)
		}
	}
	sl := int(slotOfKey(t, seed, "{"+tag+"}"))
	return sl, func() {
		t.Helper()
		cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: liveAddrs(seeds), MaxRedirects: 16, ReadTimeout: 20 * time.Second})
		defer cc.Close()
		missing := 0
		for off := 0; off < n; off += 5000 {
			cmds, _ := cc.Pipelined(ctx, func(p redis.Pipeliner) error {
				for i := off; i < min(off+5000, n); i++ {
					p.Get(ctx, "{"+tag+"}:"+strconv.Itoa(i))
				}
				return nil
			})
			for j, cmd := range cmds {
				if v, err := cmd.(*redis.StringCmd).Result(); err != nil || v != strconv.Itoa(off+j) {
					missing++
				}
			}
		}
		if missing > 0 {
			t.Errorf("%d of %d keys of {%s} lost", missing, n, tag)
		}
	}
}

// owner returns the live master serving slot s.
func (c *cluster) owner(s int) *testutil.Proc {
	for _, p := range c.live() {
		if ownsSlot(p, s) {
			if info, ok := tryDo(p, "INFO", "replication"); ok && strings.Contains(info, "role:master") {
				return p
			}
		}
	}
	return nil
}

// exporting reports whether p has a running export.
func exporting(t *testing.T, p *testutil.Proc) bool {
	for _, m := range migrations(t, p) {
		if m["operation"] == "EXPORT" && !terminalState(m["state"]) {
			return true
		}
	}
	return false
}

func terminalState(s string) bool { return s == "success" || s == "failed" || s == "cancelled" }

// lastState returns the state of p's newest migration entry.
func lastState(t *testing.T, p *testutil.Proc) string {
	m := migrations(t, p)
	if len(m) == 0 {
		return ""
	}
	return m[len(m)-1]["state"]
}

// TestAtomicFailures: an atomic migration cancelled on either side, or
// whose source or target master dies in the middle, rolls back: the slot
// stays with its owner (or the owner's replica), the target drops what it
// received (its promoted replica too), no key is lost and redis-cli
// --cluster check is clean. Killing the tool does not stop a
// server-driven migration.
func TestAtomicFailures(t *testing.T) {
	t.Parallel()
	c := startCluster(t, 3, 0)
	a, b := c.nodes[0], c.nodes[1]
	ra, rb := c.addReplica(a), c.addReplica(b)
	c.waitStable()
	verify := fill(t, a, "f", 10000, c.nodes...)
	// Slot sa (on a) holds many keys so that an export takes a while.
	sa := -1
	var verifySlot func()
	for i := 0; sa < 0; i++ {
		tag := "t" + strconv.Itoa(i)
		if sl := int(slotOfKey(t, a, "{"+tag+"}")); sl >= 500 && ownsSlot(a, sl) {
			sa, verifySlot = fillSlot(t, a, tag, 60000, c.nodes...)
		}
	}
	cnt := func(p *testutil.Proc) string {
		v, _ := tryDo(p, "CLUSTER", "COUNTKEYSINSLOT", strconv.Itoa(sa))
		return v
	}
	ss := strconv.Itoa(sa)
	all := cnt(a) // the slot's keys (a few of "fill" may share it)

	// A completed migration: the target's replica has the keys, the
	// source's replica dropped them with its master.
	t.Run("replicas follow", func(t *testing.T) {
		if got := do(t, a, "CLUSTER", "MIGRATESLOTS", "SLOTSRANGE", "0", "499", "NODE", id(t, b)); got != "OK" {
			t.Fatalf("MIGRATESLOTS: %s", got)
		}
		waitFor(t, "b to own slots 0-499", func() bool { return ownsSlot(b, 0) && ownsSlot(b, 499) })
		count := func(p *testutil.Proc) int {
			n := 0
			for j := 0; j < 500; j++ {
				v, _ := tryDo(p, "CLUSTER", "COUNTKEYSINSLOT", strconv.Itoa(j))
				k, _ := strconv.Atoi(v)
				n += k
			}
			return n
		}
		want := count(b)
		if want == 0 {
			t.Fatal("no keys moved")
		}
		waitFor(t, "the replicas to follow", func() bool { return count(rb) == want && count(ra) == 0 && count(a) == 0 })
		c.waitStable()
	})

	t.Run("cancel on the source", func(t *testing.T) {
		if got := do(t, a, "CLUSTER", "MIGRATESLOTS", "SLOTSRANGE", ss, ss, "NODE", id(t, b)); got != "OK" {
			t.Fatalf("MIGRATESLOTS: %s", got)
		}
		waitFor(t, "the export to start", func() bool { return exporting(t, a) })
		b.Signal(syscall.SIGSTOP) // hold the import mid-way
		do(t, a, "CLUSTER", "CANCELSLOTMIGRATIONS")
		b.Signal(syscall.SIGCONT)
		waitFor(t, "both sides to give up", func() bool {
			return lastState(t, a) == "cancelled" && terminalState(lastState(t, b))
		})
		if !ownsSlot(a, sa) || cnt(a) != all || cnt(b) != "0" {
			t.Fatalf("after cancel: source owns %v with %s keys, target holds %s", ownsSlot(a, sa), cnt(a), cnt(b))
		}
		waitFor(t, "the target's replica to drop them too", func() bool { return cnt(rb) == "0" })
	})

	t.Run("cancel on the target", func(t *testing.T) {
		a.Signal(syscall.SIGSTOP) // hold the export mid-way
		task := do(t, b, "CLUSTER", "MIGRATION", "IMPORT", ss, ss)
		a.Signal(syscall.SIGCONT)
		if len(task) != 40 {
			t.Fatalf("MIGRATION IMPORT: %s", task)
		}
		if got := do(t, b, "CLUSTER", "MIGRATION", "CANCEL", "ID", task); got != "1" && got != "0" {
			t.Fatalf("MIGRATION CANCEL: %s", got)
		}
		waitFor(t, "the import to stop", func() bool {
			st := mapsOf(t, b, "CLUSTER", "MIGRATION", "STATUS", "ID", task)
			return len(st) == 1 && terminalState(st[0]["state"])
		})
		st := mapsOf(t, b, "CLUSTER", "MIGRATION", "STATUS", "ID", task)
		if st[0]["state"] == "success" {
			t.Skip("the import finished before CANCEL arrived")
		}
		waitFor(t, "the source's export to end", func() bool { return !exporting(t, a) })
		if !ownsSlot(a, sa) || cnt(a) != all || cnt(b) != "0" {
			t.Fatalf("after cancel: source owns %v with %s keys, target holds %s", ownsSlot(a, sa), cnt(a), cnt(b))
		}
	})
	c.check(a)
	verifySlot()

	t.Run("kill the target", func(t *testing.T) {
		if got := do(t, a, "CLUSTER", "MIGRATESLOTS", "SLOTSRANGE", ss, ss, "NODE", id(t, b)); got != "OK" {
			t.Fatalf("MIGRATESLOTS: %s", got)
		}
		waitFor(t, "the export to start", func() bool { return exporting(t, a) })
		b.Signal(syscall.SIGSTOP)
		b.Kill()
		waitFor(t, "the source to give up", func() bool { return !exporting(t, a) })
		waitFor(t, "b's replica to take over", func() bool {
			info, ok := tryDo(rb, "INFO", "replication")
			return ok && strings.Contains(info, "role:master")
		})
		c.waitStable()
		if !ownsSlot(a, sa) || cnt(a) != all {
			t.Fatalf("source owns %v with %s keys", ownsSlot(a, sa), cnt(a))
		}
		waitFor(t, "the promoted replica to drop the partial slot", func() bool { return cnt(rb) == "0" })
		c.check(a)
	})
	verify()
	verifySlot()

	t.Run("kill the source", func(t *testing.T) {
		if got := do(t, a, "CLUSTER", "MIGRATESLOTS", "SLOTSRANGE", ss, ss, "NODE", id(t, rb)); got != "OK" {
			t.Fatalf("MIGRATESLOTS: %s", got)
		}
		waitFor(t, "the export to start", func() bool { return exporting(t, a) })
		rb.Signal(syscall.SIGSTOP)
		a.Kill()
		rb.Signal(syscall.SIGCONT)
		waitFor(t, "a's replica to take over", func() bool {
			info, ok := tryDo(ra, "INFO", "replication")
			return ok && strings.Contains(info, "role:master")
		})
		c.waitStable()
		waitFor(t, "the target to drop the partial slot", func() bool { return cnt(rb) == "0" })
		if !ownsSlot(ra, sa) || cnt(ra) != all {
			t.Fatalf("promoted source replica owns %v with %s keys", ownsSlot(ra, sa), cnt(ra))
		}
		c.check(ra)
	})
	verify()
	verifySlot()

	// reef-cli hands whole slot ranges to the servers: killing it leaves
	// the migration running to its end.
	t.Run("kill the tool", func(t *testing.T) {
		from := c.owner(sa)
		var to *testutil.Proc
		for _, p := range c.masters(true) {
			if p != from {
				to = p
			}
		}
		cmd, _ := startTool(t, testutil.Binary(t, "reef-cli"), "--cluster", "reshard", from.Addr(), "--cluster-from", id(t, from),
			"--cluster-to", id(t, to), "--cluster-slots", "16384", "--cluster-yes")
		waitFor(t, "an export to start", func() bool { return exporting(t, from) })
		cmd.Process.Kill()
		cmd.Wait()
		waitFor(t, "the migration to finish without the tool", func() bool { return !exporting(t, from) && ownsSlot(to, sa) })
		c.waitStable()
		c.check(to)
	})
	verify()
	verifySlot()
}
