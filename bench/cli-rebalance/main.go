// Command cli-rebalance measures reef-cli against redis-cli on the same job:
// a real Redis 7.0 cluster of 3 masters holding N keys of 100 bytes gets a
// fourth, empty master, and `--cluster rebalance --cluster-use-empty-masters`
// moves a quarter of the slots to it. Each tool runs on a fresh, identical
// cluster; the program prints both times and the ratio, and fails if a key is
// lost or `redis-cli --cluster check` is not clean afterwards.
//
// Usage: go run ./bench/cli-rebalance [-keys 300000] [-reef path/to/reef-cli]
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/reefkv/reef/bench/benchutil"
	"github.com/reefkv/reef/internal/client"
)

func main() {
	keys := flag.Int("keys", 300000, "keys to load")
	reef := flag.String("reef", "", "reef-cli binary (built from ./cmd/reef-cli when empty)")
	reefArgs := flag.String("reef-args", "", "extra options for reef-cli (space separated)")
	only := flag.String("only", "", "run only this tool: redis or reef")
	runs := flag.Int("runs", 1, "runs per tool (alternating); the medians are compared")
	flag.Parse()
	if *reef == "" {
		dir, err := os.MkdirTemp("", "cli-rebalance-bin-")
		benchutil.Must(err)
		defer os.RemoveAll(dir)
		*reef = benchutil.Build(dir, "reef-cli")
	}
	var rs, fs []time.Duration
	for i := 0; i < *runs; i++ {
		if *only != "reef" {
			rs = append(rs, runOnce("redis-cli", *keys, nil))
		}
		if *only != "redis" {
			fs = append(fs, runOnce(*reef, *keys, strings.Fields(*reefArgs)))
		}
	}
	if *only != "" {
		return
	}
	tRedis, tReef := median(rs), median(fs)
	fmt.Printf("redis-cli rebalance: %.2fs (median of %d)\n", tRedis.Seconds(), len(rs))
	fmt.Printf("reef-cli  rebalance: %.2fs (median of %d)\n", tReef.Seconds(), len(fs))
	fmt.Printf("speedup: %.1fx (target >= 3x)\n", tRedis.Seconds()/tReef.Seconds())
}

// runOnce builds a fresh cluster, loads it, adds a master and times the
// rebalance done by tool.
func runOnce(tool string, nkeys int, extra []string) time.Duration {
	dir, err := os.MkdirTemp("", "cli-rebalance-")
	benchutil.Must(err)
	defer os.RemoveAll(dir)
	nodes := benchutil.StartNodes("redis-server", dir, 4, 5000)
	defer nodes.Stop()
	addrs := nodes.Addrs
	benchutil.Sh("redis-cli", "--cluster", "create", addrs[0], addrs[1], addrs[2], "--cluster-yes")
	benchutil.WaitFor(60*time.Second, func() bool { return benchutil.ClusterAgreed(addrs[:3]) })
	benchutil.LoadKeys(addrs[0], nkeys)
	benchutil.Sh("redis-cli", "--cluster", "add-node", addrs[3], addrs[0])
	// Start timing only when every node knows the new master, for both tools.
	benchutil.WaitFor(60*time.Second, func() bool { return benchutil.ClusterAgreed(addrs) })
	cpu0 := serverCPU(addrs)
	start := time.Now()
	benchutil.Sh(tool, append([]string{"--cluster", "rebalance", addrs[0], "--cluster-use-empty-masters"}, extra...)...)
	el := time.Since(start)
	cpu := serverCPU(addrs) - cpu0
	benchutil.WaitFor(60*time.Second, func() bool { return benchutil.ClusterAgreed(addrs) })
	if out, err := exec.Command("redis-cli", "--cluster", "check", addrs[0]).CombinedOutput(); err != nil {
		benchutil.Must(fmt.Errorf("check after %s rebalance failed:\n%s", tool, out))
	}
	benchutil.VerifyKeys(addrs, nkeys)
	fmt.Printf("%s: rebalanced %d keys' cluster in %.2fs (servers used %.2fs of CPU), all keys present\n", filepath.Base(tool), nkeys, el.Seconds(), cpu)
	return el
}

// serverCPU sums used_cpu_user and used_cpu_sys over the nodes, seconds.
func serverCPU(addrs []string) float64 {
	total := 0.0
	for _, a := range addrs {
		c, err := client.Dial(a, client.Options{})
		benchutil.Must(err)
		v, err := c.Do("INFO", "cpu")
		c.Close()
		benchutil.Must(err)
		for _, l := range strings.Split(v.Text(), "\r\n") {
			for _, f := range []string{"used_cpu_user:", "used_cpu_sys:"} {
				if strings.HasPrefix(l, f) {
					x, _ := strconv.ParseFloat(l[len(f):], 64)
					total += x
				}
			}
		}
	}
	return total
}

func median(d []time.Duration) time.Duration {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}
