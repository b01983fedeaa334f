package failover

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/reefkv/reef/internal/resp"
	"github.com/reefkv/reef/internal/slot"
	"github.com/reefkv/reef/internal/testutil"
)

// A Jepsen-style run (scorecard T12, without root: faults are kill -9 and
// SIGSTOP, not network partitions): clients append unique values to lists
// (RPUSH) and read them whole (LRANGE), every operation recorded with its
// invocation and completion times and its outcome, while a nemesis kills,
// pauses or fails over one master after another. The history is then checked the way
// Elle checks list-append histories, key by key, against the list read at
// the end:
//
//   - duplicate: a value twice in one read;
//   - phantom: a value in a read that no append wrote (or whose append
//     was refused with an error, which Redis never half-executes);
//   - order: two values read in the other order than at the end;
//   - lost: an acknowledged append missing at the end. Asynchronous
//     replication loses writes a master acknowledged shortly before it
//     died, so a loss is explained when the append was acknowledged by
//     the owner of its slot within lossWindow before that owner was killed
//     or paused (or, for a paused master, after it resumed and before it
//     learnt it had been replaced); anything else is unexplained;
//   - flicker: a value whose append was acknowledged, or that a read
//     saw, then missing from a read invoked after that, then present at
//     the end (a stale read), explained by the same windows;
//   - WAIT-acknowledged losses: appends followed by a WAIT 1 that
//     returned 1; with one replica per master and one fault at a time,
//     none may be lost;
//   - atomicity: some appends are transactions (MULTI, RPUSH to both lists
//     of a pair that share a hash tag, EXEC), some reads read both lists
//     in one transaction: both lists must hold the same values in the same
//     order in every such read and at the end.

// lossWindow bounds how long before a fault an acknowledged write may
// still be unreplicated: replication is asynchronous but continuous, so on
// a loopback network it is milliseconds; a second is generous.
const lossWindow = time.Second

type opKind uint8

const (
	opAppend opKind = iota
	opRead
)

type outcome uint8

const (
	outOK      outcome = iota
	outFail            // an error reply: not executed
	outUnknown         // a timeout or a broken connection: maybe executed
)

// histOp is one client operation.
type histOp struct {
	kind           opKind
	key, value     string   // value: the appended value
	keys           []string // the keys an append wrote: key, or both keys of a transaction
	invoke, finish time.Duration
	out            outcome
	waitAcked      bool     // the append's WAIT 1 returned 1
	read           []string // what a read returned
	node           string   // the address that answered
	errText        string
}

// fault is one nemesis action.
type fault struct {
	kind      string        // "kill", "pause", "failover", "force" or "takeover"
	node      string        // the master's address
	slots     [2]int        // the range it served
	at        time.Duration // just before the fault was injected
	done      time.Duration // when the kill returned (the process exited), SIGSTOP was sent, or CLUSTER FAILOVER answered
	resumed   time.Duration // pause: when SIGCONT was sent
	promoted  time.Duration // when its replica served the slots
	clusterOK time.Duration // when every node agreed again (after restart or resume)
}

// historyRun records a run: six workers on keys spread over the slots,
// half of them sending WAIT 1 after each append, two of them sticky (they
// stay with the node they know until it answers MOVED, so that they write
// to a paused master again as soon as it resumes); faults of one kind.
type historyRun struct {
	kind    string
	start   time.Time
	mu      sync.Mutex
	ops     []histOp
	faults  []fault
	final   map[string][]string
	unread  int
	timeout int
	// epochProblems are what the epoch monitor saw during the run.
	epochProblems []string
	// pairReads are the transactions that read both lists of a pair.
	pairReads []pairRead
	// pace is a pause after each operation of a worker: in CI the
	// workers share two cores with the other test packages' clusters, and
	// flat out they starved those clusters' buses for longer than their
	// node timeout. The benchmark runs with none.
	pace time.Duration
}

// pairRead is a MULTI/EXEC that read both lists of a pair.
type pairRead struct {
	keys   [2]string
	lists  [2][]string
	finish time.Duration
}

func (h *historyRun) now() time.Duration { return time.Since(h.start) }

func (h *historyRun) record(op histOp) {
	h.mu.Lock()
	h.ops = append(h.ops, op)
	h.mu.Unlock()
}

// histKeys are the lists of a run, spread over the three shards, and
// then the pairs of lists that transactions write and read together (a
// hash tag puts both in one slot).
func histKeys() []string {
	var keys []string
	for i := 0; i < 24; i++ {
		keys = append(keys, "hist:"+strconv.Itoa(i))
	}
	for i := 0; i < histPairs; i++ {
		a, b := pairKeys(i)
		keys = append(keys, a, b)
	}
	return keys
}

const histPairs = 8

func pairKeys(i int) (string, string) {
	tag := "hist:{p" + strconv.Itoa(i) + "}:"
	return tag + "a", tag + "b"
}

// histWorker appends and reads until ctx is done.
func (h *historyRun) histWorker(ctx context.Context, c *cluster, id int, wait, sticky bool) {
	cl := newClient(c)
	cl.sticky = sticky
	defer cl.close()
	keys := histKeys()[:24]
	r := rand.New(rand.NewPCG(uint64(id), 7))
	for seq := 0; ctx.Err() == nil; seq++ {
		if n := r.IntN(10); n >= 8 {
			h.pairOp(cl, r.IntN(histPairs), n == 8, fmt.Sprintf("w%d-%d", id, seq))
			continue
		}
		k := keys[r.IntN(len(keys))]
		op := histOp{key: k, keys: []string{k}, invoke: h.now()}
		var cmds [][]string
		if r.IntN(8) < 5 {
			op.kind = opAppend
			op.value = fmt.Sprintf("w%d-%d", id, seq)
			cmds = [][]string{{"RPUSH", k, op.value}}
			if wait {
				cmds = append(cmds, []string{"WAIT", "1", "100"})
			}
		} else {
			op.kind = opRead
			cmds = [][]string{{"LRANGE", k, "0", "-1"}}
		}
		v, err := cl.exec(k, cmds...)
		op.finish = h.now()
		op.node = cl.owner[slot.OfString(k)]
		switch {
		case err != nil:
			op.out = outUnknown
			op.errText = err.Error()
		case v[0].IsError():
			op.out = outFail
			op.errText = v[0].Text()
		default:
			op.out = outOK
			if op.kind == opRead {
				for _, e := range v[0].Elems {
					op.read = append(op.read, e.Text())
				}
			} else if wait && len(v) > 1 && v[1].Kind == resp.KindInt && v[1].Int >= 1 {
				op.waitAcked = true
			}
		}
		h.record(op)
		if op.out != outOK {
			time.Sleep(10 * time.Millisecond)
		} else if h.pace > 0 {
			time.Sleep(h.pace)
		}
	}
}

// pairOp appends value to both lists of pair i in one MULTI/EXEC, or
// reads both in one, and records it: an append as one operation on two
// keys, a read as a read of each key and a pair read.
func (h *historyRun) pairOp(cl *cclient, i int, write bool, value string) {
	a, b := pairKeys(i)
	op := histOp{kind: opAppend, key: a, keys: []string{a, b}, value: value, invoke: h.now()}
	cmds := [][]string{{"MULTI"}, {"RPUSH", a, value}, {"RPUSH", b, value}, {"EXEC"}}
	if !write {
		op.kind = opRead
		cmds = [][]string{{"MULTI"}, {"LRANGE", a, "0", "-1"}, {"LRANGE", b, "0", "-1"}, {"EXEC"}}
	}
	v, err := cl.exec(a, cmds...)
	op.finish = h.now()
	s := slot.OfString(a)
	op.node = cl.owner[s]
	switch {
	case err != nil:
		op.out = outUnknown
		op.errText = err.Error()
	case v[3].Kind != resp.KindArray || len(v[3].Elems) != 2:
		// EXECABORT: a queued command was refused (MOVED, CLUSTERDOWN).
		op.out = outFail
		op.errText = v[3].Text()
		for _, q := range v[1:3] {
			if target, ok := strings.CutPrefix(q.Text(), "MOVED "); ok {
				if f := strings.Fields(target); len(f) == 2 {
					cl.owner[s] = f[1]
				}
			}
		}
		if !cl.sticky {
			cl.stale = true
		}
	default:
		op.out = outOK
	}
	if write {
		h.record(op)
	} else if op.out == outOK {
		var pr pairRead
		pr.keys, pr.finish = [2]string{a, b}, op.finish
		for j, e := range v[3].Elems {
			var l []string
			for _, x := range e.Elems {
				l = append(l, x.Text())
			}
			pr.lists[j] = l
			rd := op
			rd.key, rd.keys, rd.read = pr.keys[j], nil, l
			h.record(rd)
		}
		h.mu.Lock()
		h.pairReads = append(h.pairReads, pr)
		h.mu.Unlock()
	} else {
		h.record(op)
	}
	if op.out != outOK {
		time.Sleep(10 * time.Millisecond)
	} else if h.pace > 0 {
		time.Sleep(h.pace)
	}
}

// runHistory starts a cluster of kind, runs the workers and the nemesis
// (faults of faultKind, one per shard in turn) and reads every list at the
// end.
func runHistory(tb testing.TB, kind, faultKind string, faults, timeout int, pace time.Duration) *historyRun {
	c := startCluster(tb, clusterOpts{kind: kind, timeout: timeout})
	h := &historyRun{kind: kind, start: time.Now(), timeout: timeout, pace: pace}
	mon := watchEpochs(c)
	defer func() { _, h.epochProblems = mon.stop() }()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for w := 0; w < 6; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h.histWorker(ctx, c, w, w%2 == 1, w >= 4)
		}()
	}
	defer func() {
		cancel()
		wg.Wait()
	}()
	for i := 0; i < faults; i++ {
		s := []int{0, 5461, 10923}[i%3]
		victim, replicas := c.shardOf(s)
		heir := replicas[0]
		time.Sleep(time.Second) // writes flowing into the victim
		f := fault{kind: faultKind, node: victim.addr(), slots: shardRange(s)}
		f.at = h.now()
		switch faultKind {
		case "kill":
			victim.kill()
		case "pause":
			victim.p.Signal(syscall.SIGSTOP)
		case "failover", "force", "takeover":
			// A manual failover: by default the replica asks its master
			// to stop writes, catches up, and takes over; FORCE skips the
			// master, TAKEOVER the election too.
			args := []string{"CLUSTER", "FAILOVER"}
			if faultKind != "failover" {
				args = append(args, strings.ToUpper(faultKind))
			}
			if v := heir.text(args...); v != "OK" {
				tb.Fatalf("%v on %s: %q", args, heir.addr(), v)
			}
		}
		f.done = h.now()
		testutil.WaitFor(tb, 60*time.Second, "the replica serving the faulty master's slots", func() bool {
			return c.ownerOf(heir, s).Port() == heir.port()
		})
		f.promoted = h.now()
		switch faultKind {
		case "kill":
			victim.restart(tb)
		case "pause":
			time.Sleep(500 * time.Millisecond)
			victim.p.Signal(syscall.SIGCONT)
			f.resumed = h.now()
		}
		c.waitAgree(60 * time.Second)
		f.clusterOK = h.now()
		c.waitSynced(60 * time.Second)
		h.faults = append(h.faults, f)
	}
	time.Sleep(time.Second)
	cancel()
	wg.Wait()
	// The final read of every list, until it succeeds.
	cl := newClient(c)
	defer cl.close()
	h.final = map[string][]string{}
	for _, k := range histKeys() {
		read := testutil.Poll(5*time.Second, func() bool {
			v, err := cl.exec(k, []string{"LRANGE", k, "0", "-1"})
			if err != nil || v[0].IsError() {
				return false
			}
			var l []string
			for _, e := range v[0].Elems {
				l = append(l, e.Text())
			}
			h.final[k] = l
			return true
		})
		if !read {
			h.unread++
		}
	}
	return h
}

// shardRange is the slot range of the default three-master layout that
// holds s.
func shardRange(s int) [2]int {
	switch {
	case s <= 5460:
		return [2]int{0, 5460}
	case s <= 10922:
		return [2]int{5461, 10922}
	}
	return [2]int{10923, 16383}
}

// histReport is what the checker finds.
type histReport struct {
	appends, acked, waitAcked, reads, errors, unknown int
	duplicates, phantoms, orders                      int
	pairReads, atomicity                              int // transactions reading a pair; pairs not equal
	lostExplained, lostUnexplained, waitLost          int
	flickerExplained, flickerUnexplained              int
	lostAfterResume, flickerAfterResume               int // explained by a resumed master's window
	noack                                             int // unknown appends visible at the end
	examples                                          []string
}

// anomalies are the counts of a report that the checker derives, as one
// comparable value.
type anomalies struct {
	duplicates, phantoms, orders, atomicity  int
	lostExplained, lostUnexplained, waitLost int
	flickerExplained, flickerUnexplained     int
	lostAfterResume, flickerAfterResume      int
	noack                                    int
}

func (r *histReport) anomalies() anomalies {
	return anomalies{r.duplicates, r.phantoms, r.orders, r.atomicity,
		r.lostExplained, r.lostUnexplained, r.waitLost,
		r.flickerExplained, r.flickerUnexplained,
		r.lostAfterResume, r.flickerAfterResume, r.noack}
}

func (r *histReport) example(format string, args ...any) {
	if len(r.examples) < 10 {
		r.examples = append(r.examples, fmt.Sprintf(format, args...))
	}
}

// Windows that explain a loss or a stale read (explain's result).
const (
	unexplained = iota
	beforeFault // acknowledged just before its master died or stopped: asynchronous replication
	afterResume // served by a paused master after it resumed, before it learnt it was replaced
)

// explain says which fault window, if any, an operation on key that node
// answered falls in. The operation ran somewhere in [invoke, finish]: a
// master cannot answer while it is stopped or dead, so one invoked before
// the fault was done was answered before it.
func (h *historyRun) explain(key, node string, invoke, finish time.Duration) int {
	s := slot.OfString(key)
	grace := time.Duration(h.timeout) * time.Millisecond
	for _, f := range h.faults {
		if s < f.slots[0] || s > f.slots[1] || node != f.node {
			continue
		}
		switch f.kind {
		case "failover":
			// A manual failover explains nothing: it is meant to lose
			// nothing.
			continue
		case "force", "takeover":
			// The old master takes writes until it hears of the new
			// one: they are lost by design.
			if finish >= f.at-lossWindow && invoke <= f.clusterOK+grace {
				return beforeFault
			}
			continue
		}
		if invoke <= f.done && finish >= f.at-lossWindow {
			return beforeFault
		}
		if f.kind == "pause" && finish >= f.resumed && invoke <= f.clusterOK+grace {
			return afterResume
		}
	}
	return unexplained
}

// check runs the list-append checks of the package comment.
func (h *historyRun) check() *histReport {
	r := &histReport{}
	appendOf := map[string]*histOp{}
	for i := range h.ops {
		op := &h.ops[i]
		switch {
		case op.out == outFail:
			r.errors++
		case op.out == outUnknown:
			r.unknown++
		}
		if op.kind == opAppend {
			r.appends++
			appendOf[op.value] = op
			if op.out == outOK {
				r.acked++
				if op.waitAcked {
					r.waitAcked++
				}
			}
		} else if op.out == outOK {
			r.reads++
		}
	}
	for k, final := range h.final {
		pos := map[string]int{}
		for i, v := range final {
			if _, dup := pos[v]; dup {
				r.duplicates++
				r.example("duplicate %s in the final read of %s", v, k)
			}
			pos[v] = i
			a := appendOf[v]
			if a == nil || a.out == outFail || !slices.Contains(a.keys, k) {
				r.phantoms++
				r.example("phantom %s in the final read of %s", v, k)
			} else if a.out == outUnknown {
				r.noack++
			}
		}
	}
	// Losses.
	for _, op := range appendOf {
		if op.out != outOK {
			continue
		}
		for _, k := range op.keys {
			if _, ok := h.final[k]; !ok {
				continue // unreadable: counted apart
			}
			if slices.Contains(h.final[k], op.value) {
				continue
			}
			if op.waitAcked {
				r.waitLost++
				r.example("WAIT-acknowledged %s on %s lost (acked at %v by %s)", op.value, k, op.finish, op.node)
			}
			if w := h.explain(k, op.node, op.invoke, op.finish); w != unexplained {
				r.lostExplained++
				if w == afterResume {
					r.lostAfterResume++
				}
			} else {
				r.lostUnexplained++
				r.example("unexplained loss of %s on %s (acked at %v by %s)", op.value, k, op.finish, op.node)
			}
		}
	}
	// Transactions: both lists of a pair hold the same values in the same
	// order, in every read of the pair and at the end (each transaction
	// appends one value to both).
	for _, pr := range h.pairReads {
		r.pairReads++
		if !slices.Equal(pr.lists[0], pr.lists[1]) {
			r.atomicity++
			r.example("a transaction read %s as %v and %s as %v at %v", pr.keys[0], pr.lists[0], pr.keys[1], pr.lists[1], pr.finish)
		}
	}
	for i := 0; i < histPairs; i++ {
		a, b := pairKeys(i)
		fa, okA := h.final[a]
		fb, okB := h.final[b]
		if okA && okB && !slices.Equal(fa, fb) {
			r.atomicity++
			r.example("at the end %s is %v and %s is %v", a, fa, b, fb)
		}
	}
	// Reads: duplicates, phantoms, order against the final list, flickers.
	byKey := map[string][]*histOp{}
	acked := map[string][]*histOp{}
	for i := range h.ops {
		op := &h.ops[i]
		switch {
		case op.kind == opRead && op.out == outOK:
			byKey[op.key] = append(byKey[op.key], op)
		case op.kind == opAppend && op.out == outOK:
			for _, k := range op.keys {
				acked[k] = append(acked[k], op)
			}
		}
	}
	for k, reads := range byKey {
		final, readable := h.final[k]
		pos := map[string]int{}
		for i, v := range final {
			pos[v] = i
		}
		// lastSeen: when the value was last known to be in the list: its
		// append acknowledged, or a read that saw it completed. A read
		// invoked after that must see it, if it is there at the end.
		lastSeen := map[string]time.Duration{}
		for _, a := range acked[k] {
			lastSeen[a.value] = a.finish
		}
		slices.SortFunc(reads, func(a, b *histOp) int { return int(a.invoke - b.invoke) })
		for _, rd := range reads {
			seen := map[string]bool{}
			prev := -1
			for _, v := range rd.read {
				if seen[v] {
					r.duplicates++
					r.example("duplicate %s in a read of %s at %v", v, k, rd.finish)
				}
				seen[v] = true
				if a := appendOf[v]; a == nil || a.out == outFail || !slices.Contains(a.keys, k) {
					r.phantoms++
					r.example("phantom %s in a read of %s at %v", v, k, rd.finish)
				}
				if p, ok := pos[v]; ok {
					if p < prev {
						r.orders++
						r.example("%s read out of order in %s at %v", v, k, rd.finish)
					}
					prev = p
				}
			}
			if readable {
				for v, t := range lastSeen {
					if _, durable := pos[v]; durable && t < rd.invoke && !seen[v] {
						if w := h.explain(k, rd.node, rd.invoke, rd.finish); w != unexplained {
							r.flickerExplained++
							if w == afterResume {
								r.flickerAfterResume++
							}
						} else {
							r.flickerUnexplained++
							r.example("%s known in %s at %v (acknowledged or read), missing from the read at %v..%v (%s), present at the end", v, k, t, rd.invoke, rd.finish, rd.node)
						}
						delete(lastSeen, v)
					}
				}
			}
			for v := range seen {
				if rd.finish > lastSeen[v] {
					lastSeen[v] = rd.finish
				}
			}
		}
	}
	return r
}

// line is the scorecard's report line for a run.
func (h *historyRun) line(r *histReport) string {
	var promote, okAfter []time.Duration
	for _, f := range h.faults {
		promote = append(promote, f.promoted-f.at)
		okAfter = append(okAfter, f.clusterOK-f.promoted)
	}
	ms := func(d []time.Duration) string {
		if len(d) == 0 {
			return "-"
		}
		s := slices.Clone(d)
		slices.Sort(s)
		return fmt.Sprintf("%d/%d", s[len(s)-1].Milliseconds(), s[len(s)/2].Milliseconds())
	}
	return fmt.Sprintf("%s %s x%d: promote_ms[max/median] %s, state_ok_ms %s; %d appends (%d acked, %d WAIT-acked), %d reads, %d errors, %d unknown; "+
		"lost_acked %d (%d explained, %d after resume), lost WAIT-acked %d, noack %d, unreadable %d; flicker %d (%d explained, %d after resume); duplicate %d, phantom %d, order %d; %d transactions read a pair, %d atomicity violations",
		h.kind, h.faultKind(), len(h.faults), ms(promote), ms(okAfter), r.appends, r.acked, r.waitAcked, r.reads, r.errors, r.unknown,
		r.lostExplained+r.lostUnexplained, r.lostExplained, r.lostAfterResume, r.waitLost, r.noack, h.unread,
		r.flickerExplained+r.flickerUnexplained, r.flickerExplained, r.flickerAfterResume, r.duplicates, r.phantoms, r.orders, r.pairReads, r.atomicity)
}

func (h *historyRun) faultKind() string {
	if len(h.faults) == 0 {
		return "none"
	}
	return h.faults[0].kind
}

// TestHistories runs the list-append workload on Reef under kill -9 and
// under SIGSTOP of masters, and under manual failovers (CLUSTER FAILOVER,
// which must lose nothing), and requires a clean history: no duplicate,
// phantom or reordered value, no loss or stale read outside the windows
// asynchronous replication allows, no WAIT-acknowledged append lost, every
// list readable at the end. Under SIGSTOP Reef must do better than those
// windows: its lease refuses writes and reads on a resumed master until it
// has heard from the cluster, so nothing is lost and nothing stale read
// (Redis 7.0 serves both there). bench/histories.sh runs longer histories
// on Reef and Redis side by side.
func TestHistories(t *testing.T) {
	for _, fk := range []string{"kill", "pause", "failover"} {
		t.Run(fk, func(t *testing.T) {
			h := runHistory(t, "reef", fk, 3, 1000, time.Millisecond)
			r := h.check()
			t.Log(h.line(r))
			for _, e := range r.examples {
				t.Log("  " + e)
			}
			if r.acked < 200 || r.reads < 100 || r.waitAcked < 50 || r.pairReads < 50 {
				t.Errorf("too few operations to judge: %d acked appends, %d reads, %d WAIT-acked, %d pair reads", r.acked, r.reads, r.waitAcked, r.pairReads)
			}
			if n := r.duplicates + r.phantoms + r.orders + r.lostUnexplained + r.flickerUnexplained + r.waitLost + r.atomicity + h.unread; n != 0 {
				t.Errorf("%d anomalies: %s", n, strings.Join(r.examples, "; "))
			}
			for _, p := range h.epochProblems {
				t.Error("epochs: " + p)
			}
			if r.lostAfterResume+r.flickerAfterResume != 0 {
				t.Errorf("a resumed master acknowledged %d appends it lost and served %d stale reads", r.lostAfterResume, r.flickerAfterResume)
			}
			if n := h.sentToResumed(); fk == "pause" && n == 0 {
				t.Errorf("no operation went to a master after it resumed: nothing tested its lease")
			}
		})
	}
}

// sentToResumed counts the operations sent to a paused master between its
// resumption and the cluster's agreement again (the sticky workers send
// there), whatever their outcome.
func (h *historyRun) sentToResumed() int {
	n := 0
	for _, f := range h.faults {
		for _, op := range h.ops {
			if f.kind == "pause" && op.node == f.node && op.invoke >= f.resumed && op.invoke <= f.clusterOK {
				n++
			}
		}
	}
	return n
}

// TestHistoryChecker feeds the checker made-up histories, one anomaly
// each, and a clean one.
func TestHistoryChecker(t *testing.T) {
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	key := "hist:0"
	app := func(v string, at int, out outcome, wait bool) histOp {
		return histOp{kind: opAppend, key: key, keys: []string{key}, value: v, invoke: ms(at), finish: ms(at + 1), out: out, waitAcked: wait, node: "n1"}
	}
	read := func(at int, node string, vs ...string) histOp {
		return histOp{kind: opRead, key: key, invoke: ms(at), finish: ms(at + 1), out: outOK, read: vs, node: node}
	}
	kill := fault{kind: "kill", node: "n1", slots: shardRange(slot.OfString(key)), at: ms(5000), done: ms(5001), promoted: ms(6000), clusterOK: ms(7000)}
	cases := []struct {
		name  string
		ops   []histOp
		final []string
		want  anomalies
	}{
		{"clean", []histOp{app("a", 0, outOK, false), read(10, "n1", "a"), app("b", 20, outUnknown, false)}, []string{"a", "b"},
			anomalies{noack: 1}},
		{"duplicate", []histOp{app("a", 0, outOK, false), read(10, "n1", "a", "a")}, []string{"a"},
			anomalies{duplicates: 1}},
		{"phantom", []histOp{app("a", 0, outFail, false), read(10, "n1", "a")}, nil,
			anomalies{phantoms: 1}},
		{"order", []histOp{app("a", 0, outOK, false), app("b", 5, outOK, false), read(10, "n1", "b", "a")}, []string{"a", "b"},
			anomalies{orders: 1}},
		{"lost", []histOp{app("a", 0, outOK, false)}, nil,
			anomalies{lostUnexplained: 1}},
		{"lost before a kill", []histOp{app("a", 4500, outOK, false)}, nil,
			anomalies{lostExplained: 1}},
		{"WAIT-acknowledged lost", []histOp{app("a", 4500, outOK, true)}, nil,
			anomalies{lostExplained: 1, waitLost: 1}},
		{"flicker", []histOp{app("a", 0, outOK, false), read(10, "n1", "a"), read(20, "n2")}, []string{"a"},
			anomalies{flickerUnexplained: 1}},
		{"stale after an acknowledged append", []histOp{app("a", 0, outOK, false), read(10, "n2")}, []string{"a"},
			anomalies{flickerUnexplained: 1}},
		{"read during the append", []histOp{app("a", 10, outOK, false), read(10, "n1")}, []string{"a"},
			anomalies{}},
	}
	for _, c := range cases {
		h := &historyRun{kind: "test", ops: c.ops, faults: []fault{kill}, final: map[string][]string{key: c.final}, timeout: 1000}
		if got := h.check().anomalies(); got != c.want {
			t.Errorf("%s: got %+v, want %+v", c.name, got, c.want)
		}
	}
	// A paused master resumed at 6.5 s that acknowledged an append it then
	// lost, and one acknowledged just before its stop.
	pause := fault{kind: "pause", node: "n1", slots: kill.slots, at: ms(5000), done: ms(5001), promoted: ms(6000), resumed: ms(6500), clusterOK: ms(6700)}
	h0 := &historyRun{kind: "test", ops: []histOp{app("late", 6600, outOK, false), app("early", 4990, outOK, false)},
		faults: []fault{pause}, final: map[string][]string{key: nil}, timeout: 1000}
	if got, want := h0.check().anomalies(), (anomalies{lostExplained: 2, lostAfterResume: 1}); got != want {
		t.Errorf("losses around a pause: got %+v, want %+v", got, want)
	}
	// A transaction's two appends seen apart, in a read and at the end.
	a, b := pairKeys(0)
	tx := histOp{kind: opAppend, key: a, keys: []string{a, b}, value: "t", finish: ms(1), out: outOK, node: "n1"}
	h := &historyRun{kind: "test", ops: []histOp{tx}, final: map[string][]string{a: {"t"}, b: {"t"}},
		pairReads: []pairRead{{keys: [2]string{a, b}, lists: [2][]string{{"t"}, nil}}}}
	if got, want := h.check().anomalies(), (anomalies{atomicity: 1}); got != want {
		t.Errorf("torn transaction read: got %+v, want %+v", got, want)
	}
	h.pairReads, h.final[b] = nil, nil
	if got, want := h.check().anomalies(), (anomalies{atomicity: 1, lostUnexplained: 1}); got != want {
		t.Errorf("torn transaction at the end: got %+v, want %+v", got, want)
	}
}

// BenchmarkHistories (bench/histories.sh) runs the list-append histories
// of TestHistories on reef-server and on redis-server 7.0, FAULTS faults
// (default 6) of each kind (FAULT_KINDS, default kill,pause,failover,
// force,takeover: the last two are CLUSTER FAILOVER FORCE and TAKEOVER) per
// run, RUNS runs (default 1), and prints one scorecard line per run and its
// anomaly examples.
func BenchmarkHistories(b *testing.B) {
	faults := envInt("FAULTS", 6)
	runs := envInt("RUNS", 1)
	timeout := envInt("NODE_TIMEOUT", 1000)
	kinds := []string{"reef", "redis"}
	if k := os.Getenv("KINDS"); k != "" {
		kinds = []string{k}
	}
	faultKinds := []string{"kill", "pause", "failover", "force", "takeover"}
	if f := os.Getenv("FAULT_KINDS"); f != "" {
		faultKinds = strings.Split(f, ",")
	}
	for _, fk := range faultKinds {
		for _, kind := range kinds {
			for i := 0; i < runs; i++ {
				// A sub-benchmark each, so that each run's cluster is stopped
				// (at the sub-benchmark's cleanup) before the next starts.
				b.Run(fmt.Sprintf("%s/%s/%d", fk, kind, i), func(b *testing.B) {
					h := runHistory(b, kind, fk, faults, timeout, 0)
					r := h.check()
					fmt.Println(h.line(r))
					for _, e := range r.examples {
						fmt.Println("    " + e)
					}
					for _, p := range h.epochProblems {
						fmt.Println("    epochs: " + p)
					}
					if os.Getenv("SHOW_FAULTS") != "" {
						for _, f := range h.faults {
							fmt.Printf("    %s %s slots %d-%d at %v, promoted %v, resumed %v, cluster ok %v\n",
								f.kind, f.node, f.slots[0], f.slots[1], f.at, f.promoted, f.resumed, f.clusterOK)
						}
					}
				})
			}
		}
	}
}
