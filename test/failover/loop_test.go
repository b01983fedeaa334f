package failover

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
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
//
// Each node has a poller of its own, so that a stopped node (SIGSTOP
// accepts connections and never answers) delays only its own view.
type epochMonitor struct {
	done     chan struct{}
	wg       sync.WaitGroup
	mu       sync.Mutex
	polls    int
	problems []string
}

func watchEpochs(c *cluster) *epochMonitor {
	m := &epochMonitor{done: make(chan struct{})}
	for _, n := range c.nodes {
		viewer := &node{pass: c.pass, p: n.p}
		m.wg.Add(1)
		go func() {
			defer m.wg.Done()
			m.watch(viewer)
		}()
	}
	return m
}

// watch polls one node's view until the monitor stops.
func (m *epochMonitor) watch(n *node) {
	a := n.addr()
	lastCurrent := -1
	dupSince := map[int]time.Time{} // config epoch -> first seen shared
	read := 0                       // views of this node polled
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-m.done:
			if read == 0 {
				m.problem("%s: the monitor never read this node's view: it checked nothing there", a)
			}
			return
		case <-t.C:
		}
		// NODES before INFO: the current epoch read second is at least
		// what it was when the config epochs were read.
		nodes, err := n.call("CLUSTER", "NODES")
		if err != nil || nodes.IsError() {
			continue // down, stopped or restarting
		}
		info, err := n.call("CLUSTER", "INFO")
		if err != nil || info.IsError() {
			continue
		}
		read++
		m.mu.Lock()
		m.polls++
		m.mu.Unlock()
		now := time.Now()
		current, _ := strconv.Atoi(testutil.InfoField(info.Text(), "cluster_current_epoch"))
		if current < lastCurrent {
			m.problem("%s: current epoch went down from %d to %d", a, lastCurrent, current)
		}
		lastCurrent = current
		masters := map[int]string{}
		seen := map[int]bool{}
		for id, l := range testutil.ParseNodes(nodes.Text()) {
			if l.Epoch > current {
				m.problem("%s: config epoch %d of %s above its current epoch %d", a, l.Epoch, id, current)
			}
			if !l.Has("master") || l.Has("fail") || l.Has("noaddr") {
				continue
			}
			if other, dup := masters[l.Epoch]; dup {
				seen[l.Epoch] = true
				if first, ok := dupSince[l.Epoch]; !ok {
					dupSince[l.Epoch] = now
				} else if now.Sub(first) > time.Second {
					m.problem("%s: masters %s and %s share config epoch %d for over a second", a, other, id, l.Epoch)
					dupSince[l.Epoch] = now // report again only after another second
				}
			}
			masters[l.Epoch] = id
		}
		for e := range dupSince {
			if !seen[e] {
				delete(dupSince, e)
			}
		}
	}
}

func (m *epochMonitor) problem(format string, args ...any) {
	m.mu.Lock()
	defer m.mu.Unlock()
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
