package failover

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/reefkv/reef/internal/testutil"
)

// BenchmarkKillFailover is the failover benchmark of bench/failover.sh (not
// a test: go test runs no benchmark by default). For reef-server and then
// redis-server 7.0, on the same machine: a 3-master/3-replica cluster with
// cluster-node-timeout NODE_TIMEOUT (default 2000), a light INCR load, and
// RUNS (default 10) times: kill -9 the master of the next shard, measure the
// time until a client writing a key of that shard every few milliseconds
// gets its first successful reply (the client refreshes its slot map from
// the other nodes after an error, as cluster clients do), restart the
// killed node and wait until the cluster is whole again.
func BenchmarkKillFailover(b *testing.B) {
	runs := envInt("RUNS", 10)
	timeout := envInt("NODE_TIMEOUT", 2000)
	kinds := []string{"reef", "redis"}
	if k := os.Getenv("KINDS"); k != "" {
		kinds = []string{k}
	}
	results := map[string][]time.Duration{}
	for _, kind := range kinds {
		results[kind] = killFailoverRuns(b, kind, runs, timeout)
	}
	fmt.Printf("\nkill -9 of a master -> first successful write on its slots (cluster-node-timeout %d ms, %d runs, %d cores)\n",
		timeout, runs, runtime.NumCPU())
	fmt.Printf("%-6s %8s %8s %8s %8s   runs\n", "server", "min", "p50", "p99", "max")
	for _, kind := range kinds {
		d := slices.Clone(results[kind])
		slices.Sort(d)
		ms := func(x time.Duration) string { return strconv.FormatInt(x.Milliseconds(), 10) + "ms" }
		var all []string
		for _, x := range results[kind] {
			all = append(all, strconv.FormatInt(x.Milliseconds(), 10))
		}
		fmt.Printf("%-6s %8s %8s %8s %8s   %v\n", kind, ms(d[0]), ms(pct(d, 50)), ms(pct(d, 99)), ms(d[len(d)-1]), all)
	}
	if d := results["reef"]; len(d) > 0 {
		sorted := slices.Clone(d)
		slices.Sort(sorted)
		target := time.Duration(timeout)*time.Millisecond + 500*time.Millisecond
		fmt.Printf("reef p99 %v, target <= node-timeout + 500 ms = %v: %s\n", pct(sorted, 99), target,
			map[bool]string{true: "met", false: "MISSED"}[pct(sorted, 99) <= target])
	}
}

// pct is the nearest-rank percentile of sorted durations.
func pct(d []time.Duration, p int) time.Duration {
	i := (p*len(d)+99)/100 - 1
	return d[max(0, min(i, len(d)-1))]
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// killFailoverRuns measures runs kill -9 failovers on one cluster of kind.
func killFailoverRuns(tb testing.TB, kind string, runs, timeout int) []time.Duration {
	c := startCluster(tb, clusterOpts{kind: kind, timeout: timeout})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer func() {
		cancel()
		wg.Wait()
	}()
	// Background load: counters, as in the consistency test.
	var load counterStats
	wg.Add(1)
	go func() {
		defer wg.Done()
		var keys []string
		for i := 0; i < 100; i++ {
			keys = append(keys, fmt.Sprintf("load:%d", i))
		}
		counterWorker(ctx, c, keys, false, &load)
	}()
	var out []time.Duration
	for i := 0; i < runs; i++ {
		s := []int{0, 5461, 10923}[i%3]
		victim, _ := c.shardOf(s)
		key := keyForSlot("probe", s)
		// The probe writes the shard's key every 2 ms; firstOK is the reply
		// time of the first success of a request sent after the kill.
		var ready, killedAt, firstOK atomic.Int64
		pctx, pcancel := context.WithCancel(ctx)
		var pwg sync.WaitGroup
		pwg.Add(1)
		go func() {
			defer pwg.Done()
			cl := newClient(c)
			defer cl.close()
			for pctx.Err() == nil {
				sent := time.Now().UnixNano()
				v, err := cl.exec(key, []string{"SET", key, strconv.Itoa(i)})
				if err == nil && !v[0].IsError() {
					ready.Store(1)
					if k := killedAt.Load(); k != 0 && sent > k {
						firstOK.CompareAndSwap(0, time.Now().UnixNano())
					}
				} else {
					time.Sleep(2 * time.Millisecond)
				}
				time.Sleep(2 * time.Millisecond)
			}
		}()
		testutil.WaitFor(tb, 10*time.Second, "the probe writing", func() bool { return ready.Load() != 0 })
		time.Sleep(300 * time.Millisecond)
		start := time.Now()
		victim.kill()
		killedAt.Store(start.UnixNano())
		testutil.WaitFor(tb, 60*time.Second, "a write on the killed master's slots", func() bool {
			return firstOK.Load() != 0
		})
		d := time.Duration(firstOK.Load() - start.UnixNano())
		pcancel()
		pwg.Wait()
		out = append(out, d)
		fmt.Fprintf(os.Stderr, "%s run %d: %v\n", kind, i+1, d.Round(time.Millisecond))
		if os.Getenv("BENCH_VERBOSE") != "" {
			// What each node logged about the failover, for a breakdown.
			fmt.Fprintf(os.Stderr, "  killed at %s\n", start.Format("15:04:05.000"))
			for _, n := range c.live() {
				for _, l := range strings.Split(n.p.Output(), "\n") {
					for _, w := range []string{"Marking node", "FAIL message", "election", "Failover auth", "Cluster state changed"} {
						if strings.Contains(l, w) && strings.Contains(l, start.Format(" 15:04:")) {
							fmt.Fprintf(os.Stderr, "  %s\n", l)
							break
						}
					}
				}
			}
		}
		victim.restart(tb)
		c.waitAgree(60 * time.Second)
		c.waitSynced(60 * time.Second)
	}
	return out
}
