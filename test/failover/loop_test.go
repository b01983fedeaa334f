package failover

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/reefkv/reef/internal/resp"
	"github.com/reefkv/reef/internal/testutil"
)

// TestFailoverLoop is the scorecard's T5 in short: iterations of writing
// keys (each batch acknowledged by a replica: WAIT 1 on the writing
// connection), then kill -9 of a random node, master or replica, and its
// restart. After each iteration every key written so far reads back, the
// cluster is whole again without help, no node's current epoch is below a
// config epoch it shows, and no two masters share a config epoch. All
// along, a monitor polls every node's view (watchEpochs). The seed is
// logged; REEF_LOOP_SEED replays one.
func TestFailoverLoop(t *testing.T) {
	seed := rand.Uint64()
	if s, err := strconv.ParseUint(os.Getenv("REEF_LOOP_SEED"), 10, 64); err == nil {
		seed = s
	}
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, seed))
	c := startCluster(t, clusterOpts{timeout: 1000})
	cl := newClient(c)
	defer cl.close()
	mon := watchEpochs(c)
	defer func() {
		polls, problems := mon.stop()
		t.Logf("epoch monitor: %d views polled", polls)
		for _, p := range problems {
			t.Error(p)
		}
	}()

	var written []string
	const iterations, perIteration = 12, 60
	for it := 0; it < iterations; it++ {
		// Writes, each acknowledged by its shard's replica.
		for i := 0; i < perIteration; i++ {
			k := fmt.Sprintf("loop:%d:%d", it, i)
			vs, err := execRetry(cl, k, []string{"SET", k, k}, []string{"WAIT", "1", "2000"})
			if err != nil || len(vs) != 2 || vs[0].Text() != "OK" {
				t.Fatalf("iteration %d: SET %s: %v %v", it, k, vs, err)
			}
			if vs[1].Int < 1 {
				t.Fatalf("iteration %d: SET %s not acknowledged by a replica (WAIT %d)", it, k, vs[1].Int)
			}
			written = append(written, k)
		}
		victims := c.live()
		victim := victims[rng.IntN(len(victims))]
		line := c.myLine(victim)
		role := "replica"
		if line.Has("master") {
			role = "master"
		}
		t.Logf("iteration %d: kill -9 of %s (%s)", it, victim.addr(), role)
		victim.kill()
		if role == "master" {
			// Its replica must take over before it comes back: the nodes
			// keep no snapshot, and a master restarted empty before the
			// failover would take its replica's data with it (as in
			// Redis, which warns against restarting such masters).
			s := line.SlotRanges()[0][0]
			testutil.WaitFor(t, 30*time.Second, "the killed master's slots served by its replica", func() bool {
				for _, n := range c.live() {
					if o := c.ownerOf(n, s); o.ID == "" || o.ID == line.ID {
						return false
					}
				}
				return true
			})
		}
		victim.restart(t)
		c.waitAgree(30 * time.Second)
		c.waitSynced(30 * time.Second)
		checkEpochs(t, c, it)
		for _, k := range written {
			vs, err := execRetry(cl, k, []string{"GET", k})
			if err != nil || len(vs) != 1 || vs[0].Text() != k {
				t.Fatalf("iteration %d: acknowledged %s reads back %v %v", it, k, vs, err)
			}
		}
	}
}

// checkEpochs checks each node's view: its current epoch is at least every
// config epoch it knows, and no two masters share a config epoch.
func checkEpochs(t *testing.T, c *cluster, it int) {
	t.Helper()
	for _, n := range c.live() {
		current, _ := strconv.Atoi(testutil.InfoField(n.text("CLUSTER", "INFO"), "cluster_current_epoch"))
		masters := map[int]string{}
		for id, l := range c.nodesView(n) {
			if l.Epoch > current {
				t.Fatalf("iteration %d: %s has current epoch %d below %s's config epoch %d", it, n.addr(), current, id, l.Epoch)
			}
			if !l.Has("master") {
				continue
			}
			if other, dup := masters[l.Epoch]; dup {
				t.Fatalf("iteration %d: %s sees masters %s and %s with config epoch %d", it, n.addr(), other, id, l.Epoch)
			}
			masters[l.Epoch] = id
		}
	}
}

// execRetry is cclient.exec tried again, a few times, after a transport
// error: the client's connection to a node killed and restarted breaks on
// first use.
func execRetry(cl *cclient, key string, cmds ...[]string) ([]resp.Value, error) {
	var vs []resp.Value
	var err error
	for try := 0; try < 5; try++ {
		// exec dropped the broken connection and marked its slot map
		// stale: the next try dials afresh.
		if vs, err = cl.exec(key, cmds...); err == nil {
			return vs, nil
		}
	}
	return vs, err
}

// epochMonitor polls CLUSTER NODES and CLUSTER INFO of every node every
// 100 ms while a test runs, and records what breaks the epoch rules at any
// moment, not only once the cluster has settled: a node's current epoch
// going down (it survives restarts in nodes.conf), a config epoch above
// the viewer's current epoch, and two masters sharing a config epoch in one
// view for more than a second (a collision the rule must resolve).
type epochMonitor struct {
	done     chan struct{}
	wg       sync.WaitGroup
	polls    int
	problems []string
}

func watchEpochs(c *cluster) *epochMonitor {
	m := &epochMonitor{done: make(chan struct{})}
	var addrs []string
	for _, n := range c.nodes {
		addrs = append(addrs, n.addr())
	}
	pass := c.pass
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		lastCurrent := map[string]int{}
		dupSince := map[string]time.Time{} // viewer|epoch -> first seen
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-m.done:
				return
			case <-t.C:
			}
			for _, a := range addrs {
				n := &node{pass: pass, p: &testutil.Proc{Port: portOf(a)}}
				// NODES before INFO: the current epoch read second is at
				// least what it was when the config epochs were read.
				nodes, err := n.call("CLUSTER", "NODES")
				if err != nil || nodes.IsError() {
					continue // down or restarting
				}
				info, err := n.call("CLUSTER", "INFO")
				if err != nil || info.IsError() {
					continue
				}
				m.polls++
				now := time.Now()
				current, _ := strconv.Atoi(testutil.InfoField(info.Text(), "cluster_current_epoch"))
				if prev, ok := lastCurrent[a]; ok && current < prev {
					m.problem("%s: current epoch went down from %d to %d", a, prev, current)
				}
				lastCurrent[a] = current
				masters := map[int]string{}
				seen := map[string]bool{}
				for id, l := range testutil.ParseNodes(nodes.Text()) {
					if l.Epoch > current {
						m.problem("%s: config epoch %d of %s above its current epoch %d", a, l.Epoch, id, current)
					}
					if !l.Has("master") || l.Has("fail") || l.Has("noaddr") {
						continue
					}
					if other, dup := masters[l.Epoch]; dup {
						k := a + "|" + strconv.Itoa(l.Epoch)
						seen[k] = true
						if first, ok := dupSince[k]; !ok {
							dupSince[k] = now
						} else if now.Sub(first) > time.Second {
							m.problem("%s: masters %s and %s share config epoch %d for over a second", a, other, id, l.Epoch)
							dupSince[k] = now // report again only after another second
						}
					}
					masters[l.Epoch] = id
				}
				for k := range dupSince {
					if strings.HasPrefix(k, a+"|") && !seen[k] {
						delete(dupSince, k)
					}
				}
			}
		}
	}()
	return m
}

func (m *epochMonitor) problem(format string, args ...any) {
	if len(m.problems) < 20 {
		m.problems = append(m.problems, fmt.Sprintf(format, args...))
	}
}

// stop ends the monitor and returns how many views it polled and what it
// found.
func (m *epochMonitor) stop() (int, []string) {
	close(m.done)
	m.wg.Wait()
	return m.polls, m.problems
}

func portOf(addr string) int {
	_, p, _ := strings.Cut(addr, ":")
	n, _ := strconv.Atoi(p)
	return n
}
