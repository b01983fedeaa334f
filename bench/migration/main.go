// Command migration measures slot migration, side by side in one run:
//
//  1. Rebalance: a 3-master cluster holding -keys keys of 100 bytes gets a
//     fourth, empty master and `--cluster rebalance
//     --cluster-use-empty-masters` moves a quarter of the slots to it —
//     real redis-cli on real redis-server 7.0 (the legacy protocol) against
//     reef-cli on reef-server (atomic slot migration, detected by reef-cli).
//     Go-redis clients read and write throughout; the worst latency any of
//     their operations saw is reported, with errors, and every key is
//     checked afterwards.
//  2. Big key: one hash of -fields fields moves between two masters —
//     MIGRATE (legacy steps) on Redis, CLUSTER MIGRATESLOTS on Reef — while
//     a probe on each node measures the longest time a PING and a GET of a
//     small key of the same slot had to wait.
//
// It is a benchmark, not a test: it prints numbers and only fails when a
// key is lost or a tool fails.
//
// Usage: go run ./bench/migration [-keys 300000] [-fields 10000000] [-skip-big]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/reefkv/reef/bench/benchutil"
	"github.com/reefkv/reef/internal/client"
	"github.com/reefkv/reef/internal/slot"
)

var (
	reefServer, reefCli string
	tmp                 string
)

func main() {
	keys := flag.Int("keys", 300000, "keys of 100 bytes in the rebalanced cluster")
	fields := flag.Int("fields", 10_000_000, "fields of the big hash")
	skipBig := flag.Bool("skip-big", false, "skip the big-key part")
	skipRebalance := flag.Bool("skip-rebalance", false, "skip the rebalance part")
	flag.Parse()
	var err error
	tmp, err = os.MkdirTemp("", "bench-migration-")
	benchutil.Must(err)
	defer os.RemoveAll(tmp)
	reefServer, reefCli = benchutil.Build(tmp, "reef-server"), benchutil.Build(tmp, "reef-cli")

	if !*skipRebalance {
		fmt.Printf("== rebalance: 3 masters, %d keys of 100 bytes, a 4th empty master, --cluster-use-empty-masters\n", *keys)
		r := rebalance("redis", *keys)
		f := rebalance("reef", *keys)
		fmt.Printf("%-34s %12s %12s\n", "", "redis 7.0", "reef")
		fmt.Printf("%-34s %12s %12s\n", "tool", "redis-cli", "reef-cli")
		fmt.Printf("%-34s %11.2fs %11.2fs\n", "rebalance time", r.took.Seconds(), f.took.Seconds())
		fmt.Printf("%-34s %10dms %10dms\n", "worst client latency", r.worst.Milliseconds(), f.worst.Milliseconds())
		fmt.Printf("%-34s %12d %12d\n", "client ops during rebalance", r.ops, f.ops)
		fmt.Printf("%-34s %12d %12d\n", "client errors", r.errs, f.errs)
		fmt.Printf("%-34s %12s %12s\n", "keys lost", "0", "0")
		fmt.Printf("speedup: %.1fx (target >= 10x)\n\n", r.took.Seconds()/f.took.Seconds())
	}
	if !*skipBig {
		fmt.Printf("== big key: one hash of %d fields moved between two masters\n", *fields)
		r := bigKey("redis", *fields)
		f := bigKey("reef", *fields)
		fmt.Printf("%-34s %12s %12s\n", "", "redis 7.0", "reef")
		fmt.Printf("%-34s %12s %12s\n", "protocol", "MIGRATE", "MIGRATESLOTS")
		fmt.Printf("%-34s %11.2fs %11.2fs\n", "move time", r.took.Seconds(), f.took.Seconds())
		fmt.Printf("%-34s %10dms %10dms\n", "longest stall, source", r.stallSrc.Milliseconds(), f.stallSrc.Milliseconds())
		fmt.Printf("%-34s %10dms %10dms\n", "longest stall, target", r.stallDst.Milliseconds(), f.stallDst.Milliseconds())
		fmt.Printf("%-34s %12s %12s\n", "digest equal after move", yes(r.same), yes(f.same))
	}
}

func yes(b bool) string {
	if b {
		return "yes"
	}
	return "NO"
}

// start runs count cluster-enabled servers of kind "redis" or "reef".
func start(kind string, count int) *benchutil.Nodes { return startTimeout(kind, count, 5000) }

// startTimeout is start with a cluster-node-timeout in ms.
func startTimeout(kind string, count, timeout int) *benchutil.Nodes {
	bin := "redis-server"
	if kind == "reef" {
		bin = reefServer
	}
	return benchutil.StartNodes(bin, tmp, count, timeout, "--enable-debug-command", "yes")
}

func do(addr string, args ...string) string {
	c, err := client.Dial(addr, client.Options{Timeout: 5 * time.Minute})
	benchutil.Must(err)
	defer c.Close()
	v, err := c.Do(args...)
	benchutil.Must(err)
	return v.Text()
}

// ---- part 1: rebalance ----

type rebalanceResult struct {
	took      time.Duration
	worst     time.Duration
	ops, errs int64
}

func rebalance(kind string, nkeys int) rebalanceResult {
	n := start(kind, 4)
	defer n.Stop()
	benchutil.Sh("redis-cli", "--cluster", "create", n.Addrs[0], n.Addrs[1], n.Addrs[2], "--cluster-yes")
	benchutil.WaitFor(120*time.Second, func() bool { return benchutil.ClusterAgreed(n.Addrs[:3]) })
	benchutil.LoadKeys(n.Addrs[0], nkeys)
	benchutil.Sh("redis-cli", "--cluster", "add-node", n.Addrs[3], n.Addrs[0])
	benchutil.WaitFor(120*time.Second, func() bool { return benchutil.ClusterAgreed(n.Addrs) })
	tool := "redis-cli"
	if kind == "reef" {
		tool = reefCli
	}
	p := startProbe(n.Addrs[0], nkeys)
	time.Sleep(300 * time.Millisecond) // clients running before the move starts
	start := time.Now()
	benchutil.Sh(tool, "--cluster", "rebalance", n.Addrs[0], "--cluster-use-empty-masters")
	took := time.Since(start)
	time.Sleep(300 * time.Millisecond)
	ops, errs, worst := p.stop()
	benchutil.WaitFor(120*time.Second, func() bool { return benchutil.ClusterAgreed(n.Addrs) })
	benchutil.Sh("redis-cli", "--cluster", "check", n.Addrs[0])
	benchutil.VerifyKeys(n.Addrs, nkeys)
	fmt.Printf("%s: %s rebalanced %d keys in %.2fs; clients: %d ops, %d errors, worst %v\n",
		kind, filepath.Base(tool), nkeys, took.Seconds(), ops, errs, worst.Round(time.Millisecond))
	return rebalanceResult{took: took, worst: worst, ops: ops, errs: errs}
}

// probe is go-redis clients reading and writing the loaded keys.
type probe struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup
	ops    atomic.Int64
	errs   atomic.Int64
	worst  atomic.Int64
	cc     *redis.ClusterClient
}

func startProbe(seed string, nkeys int) *probe {
	p := &probe{cc: redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{seed}, MaxRedirects: 16, MaxRetries: 20,
		ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second})}
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	val := benchutil.Value
	for w := 0; w < 4; w++ {
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			r := rand.New(rand.NewPCG(uint64(w), 7))
			for i := 0; ctx.Err() == nil; i++ {
				k := benchutil.Key(r.IntN(nkeys))
				t := time.Now()
				var err error
				if i%4 == 0 {
					err = p.cc.Set(ctx, k, val, 0).Err()
				} else {
					err = p.cc.Get(ctx, k).Err()
				}
				d := time.Since(t)
				if err != nil && ctx.Err() == nil && !errors.Is(err, redis.Nil) {
					p.errs.Add(1)
				}
				if int64(d) > p.worst.Load() && ctx.Err() == nil {
					p.worst.Store(int64(d))
				}
				p.ops.Add(1)
				time.Sleep(200 * time.Microsecond)
			}
		}()
	}
	return p
}

func (p *probe) stop() (ops, errs int64, worst time.Duration) {
	p.cancel()
	p.wg.Wait()
	p.cc.Close()
	return p.ops.Load(), p.errs.Load(), time.Duration(p.worst.Load())
}

// ---- part 2: one big hash ----

type bigResult struct {
	took               time.Duration
	stallSrc, stallDst time.Duration
	same               bool
}

// stallProbe sends PING and a GET of a small key in the big key's slot to
// one node, over and over, and records the longest wait.
type stallProbe struct {
	stop  chan struct{}
	done  chan struct{}
	worst atomic.Int64
}

func startStallProbe(addr, key string) *stallProbe {
	sp := &stallProbe{stop: make(chan struct{}), done: make(chan struct{})}
	c, err := client.Dial(addr, client.Options{Timeout: 5 * time.Minute})
	benchutil.Must(err)
	go func() {
		defer close(sp.done)
		defer c.Close()
		for {
			select {
			case <-sp.stop:
				return
			default:
			}
			for _, cmd := range [][]string{{"PING"}, {"GET", key}} {
				t := time.Now()
				if _, err := c.Do(cmd...); err != nil {
					return
				}
				if d := int64(time.Since(t)); d > sp.worst.Load() {
					sp.worst.Store(d)
				}
			}
			time.Sleep(time.Millisecond)
		}
	}()
	return sp
}

func (sp *stallProbe) end() time.Duration {
	close(sp.stop)
	<-sp.done
	return time.Duration(sp.worst.Load())
}

func bigKey(kind string, nfields int) bigResult {
	// A long node timeout: Redis blocks for longer than 5 s moving the
	// key, and its peers would otherwise declare it failed (the cluster
	// goes down and the RESTORE is refused).
	n := startTimeout(kind, 3, 120000)
	defer n.Stop()
	benchutil.Sh("redis-cli", "--cluster", "create", n.Addrs[0], n.Addrs[1], n.Addrs[2], "--cluster-yes")
	benchutil.WaitFor(120*time.Second, func() bool { return benchutil.ClusterAgreed(n.Addrs) })
	const key = "{big}hash"
	small := "{big}small"
	s := slot.OfString(key)
	src := ""
	for _, a := range n.Addrs {
		if ownsSlot(a, s) {
			src = a
		}
	}
	dst := n.Addrs[0]
	if dst == src {
		dst = n.Addrs[1]
	}
	fmt.Printf("%s: loading %d fields into %s on %s...\n", kind, nfields, key, src)
	c, err := client.Dial(src, client.Options{Timeout: 5 * time.Minute})
	benchutil.Must(err)
	const batch = 1000
	args := make([]string, 0, 2+2*batch)
	for i := 0; i < nfields; i += batch {
		args = append(args[:0], "HSET", key)
		for j := i; j < min(i+batch, nfields); j++ {
			f := strconv.Itoa(j)
			args = append(args, f, f)
		}
		benchutil.Must(c.Send(args...))
		if c.Pending() >= 64 {
			for c.Pending() > 0 {
				v, err := c.Receive()
				benchutil.Must(err)
				if v.IsError() {
					benchutil.Must(errors.New(v.Text()))
				}
			}
		}
	}
	for c.Pending() > 0 {
		_, err := c.Receive()
		benchutil.Must(err)
	}
	benchutil.Must(c.Send("SET", small, "x"))
	c.Receive()
	c.Close()
	digest := do(src, "DEBUG", "DIGEST-VALUE", key)
	srcID, dstID := do(src, "CLUSTER", "MYID"), do(dst, "CLUSTER", "MYID")
	ps, pd := startStallProbe(src, small), startStallProbe(dst, small)
	time.Sleep(200 * time.Millisecond)
	ss := strconv.Itoa(s)
	start := time.Now()
	if kind == "redis" {
		// redis-cli's per-slot sequence, by hand for this one slot.
		do(dst, "CLUSTER", "SETSLOT", ss, "IMPORTING", srcID)
		do(src, "CLUSTER", "SETSLOT", ss, "MIGRATING", dstID)
		host, port, _ := net.SplitHostPort(dst)
		if r := do(src, "MIGRATE", host, port, "", "0", "600000", "KEYS", key, small); r != "OK" {
			benchutil.Must(fmt.Errorf("MIGRATE: %s", r))
		}
		do(dst, "CLUSTER", "SETSLOT", ss, "NODE", dstID)
		do(src, "CLUSTER", "SETSLOT", ss, "NODE", dstID)
	} else {
		if r := do(src, "CLUSTER", "MIGRATESLOTS", "SLOTSRANGE", ss, ss, "NODE", dstID); r != "OK" {
			benchutil.Must(fmt.Errorf("MIGRATESLOTS: %s", r))
		}
		benchutil.WaitFor(120*time.Second, func() bool { return ownsSlot(dst, s) && !ownsSlot(src, s) })
	}
	took := time.Since(start)
	time.Sleep(200 * time.Millisecond)
	res := bigResult{took: took, stallSrc: ps.end(), stallDst: pd.end()}
	res.same = do(dst, "DEBUG", "DIGEST-VALUE", key) == digest
	fmt.Printf("%s: moved %d fields in %.2fs; longest stall: source %v, target %v\n", kind, nfields, took.Seconds(),
		res.stallSrc.Round(time.Millisecond), res.stallDst.Round(time.Millisecond))
	return res
}

// ownsSlot reports whether the node at addr serves slot s in its view.
func ownsSlot(addr string, s int) bool {
	for _, l := range strings.Split(do(addr, "CLUSTER", "NODES"), "\n") {
		f := strings.Fields(l)
		if len(f) < 9 || !strings.Contains(f[2], "myself") {
			continue
		}
		for _, r := range f[8:] {
			if strings.HasPrefix(r, "[") {
				continue
			}
			lo, hi, _ := strings.Cut(r, "-")
			a, _ := strconv.Atoi(lo)
			z := a
			if hi != "" {
				z, _ = strconv.Atoi(hi)
			}
			if a <= s && s <= z {
				return true
			}
		}
	}
	return false
}
