package admin

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/reefkv/reef/internal/client"
	"github.com/reefkv/reef/internal/resp"
	"github.com/reefkv/reef/internal/slot"
)

// Output styles of runJobs when stdout is not a terminal.
const (
	styleReshard   = iota // "Moving slot N from A to B: ..." per slot
	styleRebalance        // "Moving N slots from A to B" + one '#' per slot
	styleApply            // reshard lines, as the plan says nothing else
)

// Progress receives slot-move progress; reef-cli draws a bar from it when
// stdout is a terminal. Calls come from several goroutines.
type Progress interface {
	Start(totalSlots int)
	Add(slots, keys int)
	Finish()
}

// SetProgress installs a progress sink; with one installed, per-slot lines
// are not printed.
func (m *Manager) SetProgress(p Progress) { m.progress = p }

// jobRun is the mutable state of one job while it runs.
type jobRun struct {
	*job
	out  strings.Builder // buffered lines, printed in job order
	done bool
	err  error
}

// runJobs moves every job's slots: jobs run in parallel (Opts.Parallel),
// each job opens SlotBatch slots at a time, moves their keys with few big
// MIGRATE calls and closes them together. With atomic slot migration on
// both ends it delegates the whole job to the servers instead.
func (m *Manager) runJobs(jobs []*job, style int) error {
	total := 0
	for _, j := range jobs {
		total += len(j.Slots)
	}
	if m.progress != nil {
		m.progress.Start(total)
		defer m.progress.Finish()
	}
	m.waitMembership(jobs)
	runs := make([]*jobRun, len(jobs))
	for i, j := range jobs {
		runs[i] = &jobRun{job: j}
	}
	par := m.Opts.Parallel
	if par <= 0 {
		par = min(len(jobs), 8)
	}
	var (
		mu        sync.Mutex
		nextPrint int
		firstErr  error
		failed    atomic.Bool
	)
	flush := func() {
		// REQUIRES: mu held. Print finished jobs in plan order so the
		// output reads like redis-cli's sequential run.
		for nextPrint < len(runs) && runs[nextPrint].done {
			if m.progress == nil {
				m.printf("%s", runs[nextPrint].out.String())
			}
			nextPrint++
		}
	}
	sem := make(chan struct{}, par)
	var wg sync.WaitGroup
	for i := range runs {
		r := runs[i]
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			var err error
			if failed.Load() {
				err = errors.New("aborted after an earlier failure")
			} else {
				err = m.runJob(r, style, &mu, &failed)
			}
			mu.Lock()
			r.done = true
			r.err = err
			if err != nil && firstErr == nil {
				firstErr = err
				failed.Store(true)
			}
			flush()
			mu.Unlock()
		}()
	}
	wg.Wait()
	dumpTrace()
	return firstErr
}

// runJob moves one job's slots with dedicated connections.
func (m *Manager) runJob(r *jobRun, style int, mu *sync.Mutex, failed *atomic.Bool) error {
	w := &mover{m: m, job: r.job}
	defer w.close()
	if style == styleRebalance {
		fmt.Fprintf(&r.out, "Moving %d slots from %s to %s\n", len(r.Slots), r.Src.Name(), r.Dst.Name())
	}
	if d := m.atomicDialect(r.Src, r.Dst); d != "" {
		err := w.atomicMove(d, r.Slots)
		if err == nil {
			mu.Lock()
			for _, s := range r.Slots {
				m.setOwner(s, r.Src, r.Dst)
				if style == styleRebalance {
					r.out.WriteByte('#')
				} else {
					fmt.Fprintf(&r.out, "Moving slot %d from %s to %s: \n", s, r.Src.Name(), r.Dst.Name())
				}
			}
			mu.Unlock()
			if m.progress != nil {
				m.progress.Add(len(r.Slots), 0)
			}
		}
		if style == styleRebalance {
			r.out.WriteByte('\n')
		}
		return err
	}
	batch := m.Opts.SlotBatch
	if batch <= 0 {
		batch = 1
	}
	for i := 0; i < len(r.Slots); i += batch {
		if failed.Load() {
			// Another job failed: stop between batches, leaving no slot
			// of this job open.
			if style == styleRebalance {
				r.out.WriteByte('\n')
			}
			return errors.New("aborted after an earlier failure")
		}
		slots := r.Slots[i:min(i+batch, len(r.Slots))]
		keys, err := w.moveBatch(slots)
		mu.Lock()
		for _, s := range slots {
			if _, ok := keys[s]; !ok {
				continue
			}
			m.setOwner(s, r.Src, r.Dst)
			if style == styleRebalance {
				r.out.WriteByte('#')
			} else {
				fmt.Fprintf(&r.out, "Moving slot %d from %s to %s: %s\n", s, r.Src.Name(), r.Dst.Name(), strings.Repeat(".", keys[s]))
			}
		}
		mu.Unlock()
		if err != nil {
			if style == styleRebalance {
				r.out.WriteByte('\n')
			}
			return err
		}
	}
	if style == styleRebalance {
		r.out.WriteByte('\n')
	}
	return nil
}

// mover holds one job's connections. It is used by one goroutine.
type mover struct {
	m      *Manager
	job    *job
	src    *client.Conn
	dst    *client.Conn
	others map[*Node]*client.Conn
	// noMigrate is set once the source answered MIGRATE with "unknown
	// command": keys then move with DUMP/RESTORE (dumpRestore).
	noMigrate bool
	// watch is the source connection dumpRestore WATCHes keys on.
	watch *client.Conn
	// small caches smallSource: 0 unknown, 1 yes, -1 no.
	small int
}

func (w *mover) close() {
	for _, c := range []*client.Conn{w.src, w.dst, w.watch} {
		if c != nil {
			c.Close()
		}
	}
	for _, c := range w.others {
		c.Close()
	}
}

func (w *mover) conn(n *Node) (*client.Conn, error) {
	switch {
	case n == w.job.Src:
		if w.src == nil || w.src.Closed() {
			c, err := client.Dial(n.Addr(), w.m.connOpts())
			if err != nil {
				return nil, fmt.Errorf("connect %s: %w", n.Name(), err)
			}
			w.src = c
		}
		return w.src, nil
	case n == w.job.Dst:
		if w.dst == nil || w.dst.Closed() {
			c, err := client.Dial(n.Addr(), w.m.connOpts())
			if err != nil {
				return nil, fmt.Errorf("connect %s: %w", n.Name(), err)
			}
			w.dst = c
		}
		return w.dst, nil
	}
	if w.others == nil {
		w.others = map[*Node]*client.Conn{}
	}
	if c := w.others[n]; c != nil && !c.Closed() {
		return c, nil
	}
	c, err := client.Dial(n.Addr(), w.m.connOpts())
	if err != nil {
		return nil, fmt.Errorf("connect %s: %w", n.Name(), err)
	}
	w.others[n] = c
	return c, nil
}

// pipeline sends cmds to n in one write and returns the replies.
func (w *mover) pipeline(n *Node, cmds [][]string) ([]resp.Value, error) {
	c, err := w.conn(n)
	if err != nil {
		return nil, err
	}
	rs, err := c.Pipeline(cmds)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", n.Name(), err)
	}
	return rs, nil
}

// setSlots runs CLUSTER SETSLOT <s> <how> <id> for every slot on n.
// tolerate, when set, decides which error replies are not failures.
func (w *mover) setSlots(n *Node, slots []int, how, id string, tolerate func(string) bool) error {
	cmds := make([][]string, len(slots))
	for i, s := range slots {
		cmds[i] = []string{"CLUSTER", "SETSLOT", strconv.Itoa(s), how, id}
	}
	rs, err := w.pipeline(n, cmds)
	if err != nil {
		return err
	}
	for i, r := range rs {
		if r.IsError() && (tolerate == nil || !tolerate(r.Text())) {
			return fmt.Errorf("Node %s replied with error:\n%s (CLUSTER SETSLOT %d %s)", n.Name(), r.Text(), slots[i], how)
		}
	}
	return nil
}

// moveBatch moves a batch of slots of the job with the legacy protocol,
// amortising round trips and nodes.conf fsyncs over the batch. It returns
// the keys moved per slot for every slot that is now owned by the target.
func (w *mover) moveBatch(slots []int) (map[int]int, error) {
	m, src, dst := w.m, w.job.Src, w.job.Dst
	moved := map[int]int{}
	// 1. Open: importing on the target first, then migrating on the source.
	// A failure here happens before any key moved, so the batch is closed
	// again rather than left open.
	t0 := time.Now()
	defer func() { trace("batch", t0) }()
	if err := w.setSlots(dst, slots, "IMPORTING", src.ID, nil); err != nil {
		w.reopenRollback(slots)
		return moved, err
	}
	if err := w.setSlots(src, slots, "MIGRATING", dst.ID, nil); err != nil {
		w.reopenRollback(slots)
		return moved, err
	}
	trace("open", t0)
	if testPause > 0 {
		time.Sleep(testPause)
	}
	// 2. Keys.
	perSlot := max(m.Opts.Pipeline, 1000)
	pending := append([]int(nil), slots...)
	for len(pending) > 0 {
		cmds := make([][]string, len(pending))
		for i, s := range pending {
			cmds[i] = []string{"CLUSTER", "GETKEYSINSLOT", strconv.Itoa(s), strconv.Itoa(perSlot)}
		}
		tg := time.Now()
		rs, err := w.pipeline(src, cmds)
		trace("getkeys", tg)
		if err != nil {
			return moved, err
		}
		var keys []string
		var keySlot []int
		next := pending[:0:0]
		for i, r := range rs {
			if r.IsError() {
				return moved, fmt.Errorf("Node %s replied with error:\n%s", src.Name(), r.Text())
			}
			if len(r.Elems) == 0 {
				continue
			}
			next = append(next, pending[i])
			for _, e := range r.Elems {
				keys = append(keys, e.Text())
				keySlot = append(keySlot, pending[i])
			}
		}
		pending = next
		if len(keys) == 0 {
			break
		}
		n, err := w.migrateKeys(keys, keySlot)
		for i := 0; i < n; i++ {
			moved[keySlot[i]]++
		}
		if m.progress != nil {
			m.progress.Add(0, n)
		}
		if err != nil {
			if n == 0 && len(moved) == 0 {
				// Not one key of the batch has left the source (for
				// instance a server without MIGRATE): close the batch
				// again instead of leaving it open.
				w.reopenRollback(slots)
			}
			return map[int]int{}, err
		}
	}
	tc := time.Now()
	defer func() { trace("close", tc) }()
	// 3. Close: the target first (it bumps its epoch), then the source
	// (which may have become a replica), then every other master.
	if err := w.setSlots(dst, slots, "NODE", dst.ID, nil); err != nil {
		return map[int]int{}, err
	}
	// The source and the other masters only learn the new owner, so they
	// are told concurrently, each on its own connection.
	others := []*Node{src}
	for _, n := range m.masters() {
		if n != src && n != dst {
			others = append(others, n)
		}
	}
	for _, n := range others {
		if _, err := w.conn(n); err != nil {
			return map[int]int{}, err
		}
	}
	errs := make([]error, len(others))
	var wg sync.WaitGroup
	for i, n := range others {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// A node that just lost its last slot (the source, or a
			// source of a concurrent job) may have turned into a replica.
			errs[i] = w.setSlots(n, slots, "NODE", dst.ID, func(e string) bool {
				return strings.Contains(e, "Please use SETSLOT only with masters")
			})
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return map[int]int{}, err
		}
	}
	for _, s := range slots {
		if _, ok := moved[s]; !ok {
			moved[s] = 0
		}
	}
	if m.progress != nil {
		m.progress.Add(len(slots), 0)
	}
	return moved, nil
}

// migrateKeys moves keys (all in open slots of the job) to the target.
// MIGRATE takes keys of one slot only (CROSSSLOT otherwise), so each slot's
// keys form their own commands, each bounded by MaxBatchBytes; the commands
// of many slots are pipelined, which costs the source nothing (it runs them
// one after the other) and keeps at most one payload in flight to the
// target. Big collections move in chunks. It returns how many keys of
// keySlot's order left the source (a prefix of keys on error).
func (w *mover) migrateKeys(keys []string, keySlot []int) (int, error) {
	m, src := w.m, w.job.Src
	ts := time.Now()
	sizes, err := w.keySizes(keys)
	trace("sizes", ts)
	if err != nil {
		return 0, err
	}
	defer func() { trace("migrate", ts) }()
	maxBytes := m.Opts.MaxBatchBytes
	if maxBytes <= 0 {
		maxBytes = 8 << 20
	}
	const maxKeys = 1000
	var batches [][]string
	var batchSlot []int // the slot of each batch
	var cur []string
	var curBytes int64
	curSlot := -1
	var big []string
	for i, k := range keys {
		if m.Opts.BigKeyBytes > 0 && sizes[i] > m.Opts.BigKeyBytes {
			big = append(big, k)
			continue
		}
		if len(cur) > 0 && (keySlot[i] != curSlot || curBytes+sizes[i] > maxBytes || len(cur) >= maxKeys) {
			batches = append(batches, cur)
			batchSlot = append(batchSlot, curSlot)
			cur, curBytes = nil, 0
		}
		cur = append(cur, k)
		curBytes += sizes[i]
		curSlot = keySlot[i]
	}
	if len(cur) > 0 {
		batches = append(batches, cur)
		batchSlot = append(batchSlot, curSlot)
	}
	done := 0
	const depth = 64
	for i := 0; i < len(batches); i += depth {
		group := batches[i:min(i+depth, len(batches))]
		if w.job.Dst.Replicas > 0 && !w.noMigrate {
			// One WATCH ... MULTI DEL EXEC cycle per slot: a cluster node
			// refuses WATCH, DEL and transactions across slots (CROSSSLOT).
			slots := batchSlot[i : i+len(group)]
			for len(group) > 0 {
				n := 1
				for n < len(group) && slots[n] == slots[0] {
					n++
				}
				moved, err := w.migrateDurable(group[:n])
				done += moved
				if err != nil {
					return done, err
				}
				group, slots = group[n:], slots[n:]
			}
			continue
		}
		if w.noMigrate {
			for _, b := range group {
				if err := w.dumpRestore(b); err != nil {
					return done, err
				}
				done += len(b)
			}
			continue
		}
		c, err := w.conn(src)
		if err != nil {
			return done, err
		}
		for _, b := range group {
			if err := c.Send(m.migrateArgs(w.job.Dst, m.Opts.Replace, false, b)...); err != nil {
				return done, err
			}
		}
		var firstErr error
		for _, b := range group {
			r, err := c.Receive()
			if err != nil {
				return done, fmt.Errorf("%s: MIGRATE: %w", src.Name(), err)
			}
			if r.IsError() && firstErr == nil {
				if strings.HasPrefix(r.Text(), "ERR unknown command") {
					// No MIGRATE on this server: copy with DUMP/RESTORE.
					w.noMigrate = true
					if err := w.dumpRestore(b); err != nil {
						firstErr = err
					}
				} else if err := w.migrateError(b, r.Text()); err != nil {
					firstErr = err
				}
			}
			if firstErr == nil {
				done += len(b)
			}
		}
		if firstErr != nil {
			return done, firstErr
		}
	}
	for _, k := range big {
		if err := w.moveBigKey(k); err != nil {
			return done, err
		}
		done++
	}
	return done, nil
}

// keySizes returns MEMORY USAGE for each key (0 when unknown), pipelined.
func (w *mover) keySizes(keys []string) ([]int64, error) {
	out := make([]int64, len(keys))
	if w.m.Opts.MaxBatchBytes <= 0 && w.m.Opts.BigKeyBytes <= 0 {
		return out, nil
	}
	if w.smallSource() {
		return out, nil
	}
	cmds := make([][]string, len(keys))
	for i, k := range keys {
		cmds[i] = []string{"MEMORY", "USAGE", k, "SAMPLES", "0"}
	}
	rs, err := w.pipeline(w.job.Src, cmds)
	if err != nil {
		return nil, err
	}
	for i, r := range rs {
		if r.Kind == resp.KindInt {
			out[i] = r.Int
		}
	}
	return out, nil
}

// checkBusyKeys decides, as redis-cli does, whether a MIGRATE error may be
// retried with REPLACE: only a BUSYKEY error, and only when the keys hold
// the same values on both sides or --cluster-replace was given.
func (w *mover) checkBusyKeys(keys []string, text string) error {
	m, src, dst := w.m, w.job.Src, w.job.Dst
	if !strings.Contains(text, "BUSYKEY") {
		return fmt.Errorf("Node %s replied with error:\n%s", src.Name(), text)
	}
	if m.Opts.Replace {
		return nil
	}
	diffs, err := m.compareKeyValuesConn(w, keys)
	if err != nil {
		return fmt.Errorf("*** Value check failed! %v", err)
	}
	if len(diffs) > 0 {
		return fmt.Errorf("*** Found %d key(s) in both source node and target node having different values.\n    Source node: %s\n    Target node: %s\n    Keys(s):\n    - %s\nPlease fix the above key(s) manually and try again or relaunch the command \nwith --cluster-replace option to force key overriding.", len(diffs), src.Name(), dst.Name(), strings.Join(diffs, "\n    - "))
	}
	return nil
}

// migrateError handles a MIGRATE error reply the way redis-cli does: on
// BUSYKEY compare values (or replace with --cluster-replace) and retry
// with REPLACE; anything else fails the move.
func (w *mover) migrateError(keys []string, text string) error {
	m, src, dst := w.m, w.job.Src, w.job.Dst
	if err := w.checkBusyKeys(keys, text); err != nil {
		return err
	}
	c, err := w.conn(src)
	if err != nil {
		return err
	}
	r, err := c.Do(m.migrateArgs(dst, true, false, keys)...)
	if err != nil {
		return err
	}
	if r.IsError() {
		return fmt.Errorf("Node %s replied with error:\n%s", src.Name(), r.Text())
	}
	return nil
}

func (m *Manager) compareKeyValuesConn(w *mover, keys []string) ([]string, error) {
	args := append([]string{"DEBUG", "DIGEST-VALUE"}, keys...)
	sc, err := w.conn(w.job.Src)
	if err != nil {
		return nil, err
	}
	a, err := sc.DoOK(args...)
	if err != nil {
		return nil, err
	}
	dc, err := w.conn(w.job.Dst)
	if err != nil {
		return nil, err
	}
	b, err := dc.DoOK(args...)
	if err != nil {
		return nil, err
	}
	const none = "0000000000000000000000000000000000000000"
	var diffs []string
	for i, k := range keys {
		if i < len(a.Elems) && i < len(b.Elems) {
			da, db := a.Elems[i].Text(), b.Elems[i].Text()
			if da != none && db != none && da != db {
				diffs = append(diffs, k)
			}
		}
	}
	return diffs, nil
}

// waitOwner polls until the target claims every slot or the timeout passes.
func (w *mover) waitOwner(slots []int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		c, err := w.conn(w.job.Dst)
		if err != nil {
			return err
		}
		v, err := c.Do("CLUSTER", "NODES")
		if err != nil {
			return err
		}
		n := &Node{Migrating: map[int]string{}, Importing: map[int]string{}}
		for _, l := range strings.Split(v.Text(), "\n") {
			if p, ok := parseNodesLine(l); ok && p.myself {
				n.applySlots(p.slots)
			}
		}
		all := true
		for _, s := range slots {
			if !n.Slots[s] {
				all = false
				break
			}
		}
		if all {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("slot migration to %s did not finish within %v", w.job.Dst.Name(), timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// reopenRollback closes slots whose opening failed before keys moved: STABLE
// on the target for slots it does not own, and on the source for slots it
// does. Errors are ignored; check/fix reports anything left.
func (w *mover) reopenRollback(slots []int) {
	var mine []int
	for _, s := range slots {
		if !w.job.Dst.Slots[s] {
			mine = append(mine, s)
		}
	}
	stable := func(n *Node, ss []int) {
		cmds := make([][]string, len(ss))
		for i, s := range ss {
			cmds[i] = []string{"CLUSTER", "SETSLOT", strconv.Itoa(s), "STABLE"}
		}
		w.pipeline(n, cmds)
	}
	stable(w.job.Dst, mine)
	stable(w.job.Src, mine)
}

// waitMembership waits (up to 20 s) until every master knows every node a
// job involves: right after add-node, gossip may not have reached all
// nodes yet, and SETSLOT MIGRATING to an unknown node fails.
func (m *Manager) waitMembership(jobs []*job) {
	ids := map[string]bool{}
	for _, j := range jobs {
		ids[j.Src.ID] = true
		ids[j.Dst.ID] = true
	}
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		ok := true
		for _, n := range m.masters() {
			v, err := n.Do("CLUSTER", "NODES")
			if err != nil || v.IsError() {
				continue
			}
			known := map[string]bool{}
			for _, l := range strings.Split(v.Text(), "\n") {
				if p, ok := parseNodesLine(l); ok && !strings.Contains(strings.Join(p.flags, ","), "handshake") {
					known[p.id] = true
				}
			}
			for id := range ids {
				if !known[id] {
					ok = false
				}
			}
		}
		// A node that just joined reports cluster_state:fail until it has
		// learned every slot's owner, and refuses RESTORE-ASKING with
		// CLUSTERDOWN meanwhile.
		for _, j := range jobs {
			v, err := j.Dst.Do("CLUSTER", "INFO")
			if err == nil && !v.IsError() && infoField(v.Text(), "cluster_state") != "ok" {
				ok = false
			}
		}
		if ok {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Phase timings for REEF_MOVE_TRACE=1 (printed to stderr by runJobs).
var (
	traceOn  = os.Getenv("REEF_MOVE_TRACE") == "1"
	traceMu  sync.Mutex
	traceSum = map[string]time.Duration{}
)

func trace(phase string, since time.Time) {
	if !traceOn {
		return
	}
	traceMu.Lock()
	traceSum[phase] += time.Since(since)
	traceMu.Unlock()
}

func dumpTrace() {
	if !traceOn {
		return
	}
	traceMu.Lock()
	defer traceMu.Unlock()
	for k, v := range traceSum {
		fmt.Fprintf(os.Stderr, "trace %-8s %v\n", k, v)
	}
}

// testPause, from REEF_TEST_MOVE_PAUSE (milliseconds), holds every batch open
// for that long after opening it. Tests use it to interrupt a move while
// slots are certainly open; it is never set in normal use.
var testPause = func() time.Duration {
	ms, _ := strconv.Atoi(os.Getenv("REEF_TEST_MOVE_PAUSE"))
	return time.Duration(ms) * time.Millisecond
}()

// dumpRestore moves keys of one slot without MIGRATE: the source WATCHes
// them, DUMPs them with their TTLs, the target RESTOREs them under ASKING,
// and the source deletes them in MULTI/EXEC. If a client wrote to one of
// the keys meanwhile, EXEC fails, the copies are dropped and it starts
// over, so no write is lost; after three failures it gives up.
func (w *mover) dumpRestore(keys []string) error {
	src, dst := w.job.Src, w.job.Dst
	dc, err := w.conn(dst)
	if err != nil {
		return err
	}
	for attempt := 0; attempt < 3; attempt++ {
		if w.watch == nil || w.watch.Closed() {
			if w.watch, err = client.Dial(src.Addr(), w.m.connOpts()); err != nil {
				return err
			}
		}
		sc := w.watch
		ok, err := func() (bool, error) {
			if _, err := sc.DoOK(append([]string{"WATCH"}, keys...)...); err != nil {
				return false, err
			}
			var cmds [][]string
			for _, k := range keys {
				cmds = append(cmds, []string{"DUMP", k}, []string{"PTTL", k})
			}
			rs, err := sc.Pipeline(cmds)
			if err != nil {
				return false, err
			}
			var restore [][]string
			var present []string
			for i, k := range keys {
				d, ttl := rs[2*i], rs[2*i+1]
				if d.IsError() {
					sc.Close()
					return false, fmt.Errorf("Node %s replied with error:\n%s", src.Name(), d.Text())
				}
				if d.IsNull() {
					continue // expired or deleted meanwhile
				}
				t := int64(0)
				if ttl.Int > 0 {
					t = ttl.Int
				}
				args := []string{"RESTORE", k, strconv.FormatInt(t, 10), string(d.Str)}
				if w.m.Opts.Replace {
					args = append(args, "REPLACE")
				}
				restore = append(restore, []string{"ASKING"}, args)
				present = append(present, k)
			}
			if len(present) == 0 {
				_, err := sc.Do("UNWATCH")
				return true, err
			}
			rrs, err := dc.Pipeline(restore)
			if err != nil {
				return false, err
			}
			for i := 1; i < len(rrs); i += 2 {
				if rrs[i].IsError() {
					sc.Close() // drops the WATCH too
					return false, fmt.Errorf("Node %s replied with error:\n%s", dst.Name(), rrs[i].Text())
				}
			}
			if err := w.waitReplicas(); err != nil {
				sc.Close()
				return false, err
			}
			ex, err := sc.Pipeline([][]string{{"MULTI"}, append([]string{"DEL"}, present...), {"EXEC"}})
			if err != nil {
				return false, err
			}
			if ex[2].IsNull() {
				// A key changed during the copy: drop the copies, retry.
				return false, w.dropCopies(present)
			}
			return true, nil
		}()
		if err != nil || ok {
			return err
		}
	}
	return fmt.Errorf("keys of %s kept changing while being copied to %s", src.Name(), dst.Name())
}

// waitReplicas blocks until the target's replicas have every write the
// target acknowledged so far (WAIT), or fails after the MIGRATE timeout.
func (w *mover) waitReplicas() error {
	dst := w.job.Dst
	if dst.Replicas == 0 {
		return nil
	}
	c, err := w.conn(dst)
	if err != nil {
		return err
	}
	timeout := max(w.m.Opts.Timeout, 1000)
	v, err := c.Do("WAIT", strconv.Itoa(dst.Replicas), strconv.Itoa(timeout))
	if err != nil {
		return err
	}
	if v.IsError() || v.Int < 1 {
		return fmt.Errorf("the replicas of %s did not acknowledge the moved keys within %d ms (WAIT: %s)", dst.Name(), timeout, v.Text())
	}
	return nil
}

// waitReplicasAfterMigrate is waitReplicas after a MIGRATE: WAIT counts
// the replicas that acknowledged the last write of the connection it runs
// on, and the MIGRATE's writes were made by the source's own connection to
// the target. So this connection first writes and deletes a scratch key of
// key's slot (importing on the target, hence ASKING), which puts every
// earlier write of the target, the migrated keys included, under the WAIT.
func (w *mover) waitReplicasAfterMigrate(key string) error {
	dst := w.job.Dst
	if dst.Replicas == 0 {
		return nil
	}
	c, err := w.conn(dst)
	if err != nil {
		return err
	}
	scratch := scratchKey(slot.OfString(key))
	rs, err := c.Pipeline([][]string{{"ASKING"}, {"SET", scratch, "1", "PX", "60000"}, {"ASKING"}, {"DEL", scratch}})
	if err != nil {
		return err
	}
	for _, r := range rs {
		if r.IsError() {
			return fmt.Errorf("Node %s replied with error:\n%s", dst.Name(), r.Text())
		}
	}
	return w.waitReplicas()
}

// scratchKeys holds, per slot, a key name of that slot for
// waitReplicasAfterMigrate, found once by trying "reef-cli:wait:<n>".
var scratchKeys = sync.OnceValue(func() []string {
	keys := make([]string, slot.Count)
	left := slot.Count
	for n := 0; left > 0; n++ {
		k := "reef-cli:wait:" + strconv.Itoa(n)
		if s := slot.OfString(k); keys[s] == "" {
			keys[s] = k
			left--
		}
	}
	return keys
})

func scratchKey(s int) string { return scratchKeys()[s] }

// migrateDurable moves batches (all keys of one slot) to a target
// that has replicas without the window in which plain MIGRATE can lose
// keys: MIGRATE deletes a key from the source as soon as the target holds
// it, so a target that dies before its replica got the key loses it when
// the replica takes over. Here the source WATCHes the keys, MIGRATE COPYs
// them, WAIT makes sure a replica has them, and only then the source
// deletes them in MULTI/EXEC. A client write to one of the keys in
// between fails the EXEC, and the copy is redone with REPLACE.
func (w *mover) migrateDurable(batches [][]string) (int, error) {
	m, src, dst := w.m, w.job.Src, w.job.Dst
	var all []string
	for _, b := range batches {
		all = append(all, b...)
	}
	replace := m.Opts.Replace
	for attempt := 0; attempt < 5; attempt++ {
		var err error
		if w.watch == nil || w.watch.Closed() {
			if w.watch, err = client.Dial(src.Addr(), m.connOpts()); err != nil {
				return 0, err
			}
		}
		sc := w.watch
		if _, err := sc.DoOK(append([]string{"WATCH"}, all...)...); err != nil {
			return 0, err
		}
		for _, b := range batches {
			if err := sc.Send(m.migrateArgs(dst, replace, true, b)...); err != nil {
				return 0, err
			}
		}
		busy := false
		for _, b := range batches {
			r, err := sc.Receive()
			if err != nil {
				return 0, fmt.Errorf("%s: MIGRATE: %w", src.Name(), err)
			}
			if !r.IsError() {
				continue
			}
			if replace {
				sc.Close()
				return 0, fmt.Errorf("Node %s replied with error:\n%s", src.Name(), r.Text())
			}
			if err := w.checkBusyKeys(b, r.Text()); err != nil {
				sc.Close()
				return 0, err
			}
			busy = true
		}
		if busy {
			// Equal values on both sides: copy again, replacing.
			replace = true
			sc.Do("UNWATCH")
			continue
		}
		if err := w.waitReplicasAfterMigrate(all[0]); err != nil {
			sc.Close()
			return 0, err
		}
		rs, err := sc.Pipeline([][]string{{"MULTI"}, append([]string{"DEL"}, all...), {"EXEC"}})
		if err != nil {
			return 0, err
		}
		if !rs[2].IsNull() {
			return len(all), nil
		}
		// A client wrote to a key during the copy (perhaps deleted it): drop
		// the copies, so that none outlives its key, and copy again.
		if err := w.dropCopies(all); err != nil {
			return 0, err
		}
		replace = true
	}
	return 0, fmt.Errorf("keys of %s kept changing while being copied to %s", src.Name(), dst.Name())
}

// dropCopies deletes keys from the target (ASKING: their slot is importing
// there) after a copy that must be redone.
func (w *mover) dropCopies(keys []string) error {
	dc, err := w.conn(w.job.Dst)
	if err != nil {
		return err
	}
	var drop [][]string
	for _, k := range keys {
		drop = append(drop, []string{"ASKING"}, []string{"DEL", k})
	}
	_, err = dc.Pipeline(drop)
	return err
}

// smallSource reports whether the source's whole dataset is smaller than
// both byte bounds, so that no key can be big and no batch can exceed
// MaxBatchBytes: then sizing keys one by one (MEMORY USAGE) is skipped.
// The source is asked once per job (INFO memory, used_memory_dataset).
func (w *mover) smallSource() bool {
	if w.small != 0 {
		return w.small > 0
	}
	w.small = -1
	c, err := w.conn(w.job.Src)
	if err != nil {
		return false
	}
	v, err := c.Do("INFO", "memory")
	if err != nil || v.IsError() {
		return false
	}
	ds, err := strconv.ParseInt(infoField(v.Text(), "used_memory_dataset"), 10, 64)
	if err != nil || ds <= 0 {
		return false
	}
	limit := w.m.Opts.MaxBatchBytes
	if b := w.m.Opts.BigKeyBytes; b > 0 && (limit <= 0 || b < limit) {
		limit = b
	}
	if limit > 0 && ds < limit {
		w.small = 1
	}
	return w.small > 0
}
