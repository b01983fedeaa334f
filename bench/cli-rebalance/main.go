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
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/reefkv/reef/internal/client"
	"github.com/reefkv/reef/internal/slot"
)

func main() {
	keys := flag.Int("keys", 300000, "keys to load")
	reef := flag.String("reef", "", "reef-cli binary (built from ./cmd/reef-cli when empty)")
	reefArgs := flag.String("reef-args", "", "extra options for reef-cli (space separated)")
	only := flag.String("only", "", "run only this tool: redis or reef")
	runs := flag.Int("runs", 1, "runs per tool (alternating); the medians are compared")
	flag.Parse()
	if *reef == "" {
		out := filepath.Join(os.TempDir(), "reef-cli-bench")
		cmd := exec.Command("go", "build", "-o", out, "./cmd/reef-cli")
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		must(cmd.Run())
		*reef = out
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

func must(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "cli-rebalance:", err)
		os.Exit(1)
	}
}

// freePort returns a port below 32768 whose bus port (+10000) is free too.
func freePort(used map[int]bool) int {
	for {
		p := 12000 + rand.IntN(10000)
		if used[p] {
			continue
		}
		ok := true
		for _, q := range []int{p, p + 10000} {
			l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(q))
			if err != nil {
				ok = false
				break
			}
			l.Close()
		}
		if ok {
			used[p] = true
			return p
		}
	}
}

// runOnce builds a fresh cluster, loads it, adds a master and times the
// rebalance done by tool.
func runOnce(tool string, nkeys int, extra []string) time.Duration {
	dir, err := os.MkdirTemp("", "cli-rebalance-")
	must(err)
	defer os.RemoveAll(dir)
	used := map[int]bool{}
	var procs []*exec.Cmd
	defer func() {
		for _, p := range procs {
			p.Process.Kill()
			p.Wait()
		}
	}()
	var addrs []string
	for i := 0; i < 4; i++ {
		port := freePort(used)
		d := filepath.Join(dir, strconv.Itoa(port))
		must(os.MkdirAll(d, 0o755))
		cmd := exec.Command("redis-server", "--port", strconv.Itoa(port), "--bind", "127.0.0.1",
			"--cluster-enabled", "yes", "--cluster-node-timeout", "5000", "--save", "", "--appendonly", "no",
			"--dir", d, "--logfile", "log")
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		must(cmd.Start())
		procs = append(procs, cmd)
		addrs = append(addrs, "127.0.0.1:"+strconv.Itoa(port))
	}
	for _, a := range addrs {
		waitFor(func() bool {
			c, err := client.Dial(a, client.Options{})
			if err == nil {
				c.Close()
			}
			return err == nil
		})
	}
	sh("redis-cli", "--cluster", "create", addrs[0], addrs[1], addrs[2], "--cluster-yes")
	waitFor(func() bool { return clusterOK(addrs[:3]) })
	load(addrs[0], nkeys)
	sh("redis-cli", "--cluster", "add-node", addrs[3], addrs[0])
	// Start timing only when every node knows the new master, for both tools.
	waitFor(func() bool { return allKnow(addrs) && clusterOK(addrs) })
	cpu0 := serverCPU(addrs)
	start := time.Now()
	sh(tool, append([]string{"--cluster", "rebalance", addrs[0], "--cluster-use-empty-masters"}, extra...)...)
	el := time.Since(start)
	cpu := serverCPU(addrs) - cpu0
	waitFor(func() bool { return clusterOK(addrs) })
	if out, err := exec.Command("redis-cli", "--cluster", "check", addrs[0]).CombinedOutput(); err != nil {
		must(fmt.Errorf("check after %s rebalance failed:\n%s", tool, out))
	}
	verify(addrs, nkeys)
	fmt.Printf("%s: rebalanced %d keys' cluster in %.2fs (servers used %.2fs of CPU), all keys present\n", filepath.Base(tool), nkeys, el.Seconds(), cpu)
	return el
}

func sh(name string, args ...string) {
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), "TERM=dumb")
	out, err := cmd.CombinedOutput()
	if err != nil {
		must(fmt.Errorf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out))
	}
}

func waitFor(cond func() bool) {
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			must(fmt.Errorf("timed out"))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func clusterOK(addrs []string) bool {
	for _, a := range addrs {
		c, err := client.Dial(a, client.Options{})
		if err != nil {
			return false
		}
		v, err := c.Do("CLUSTER", "INFO")
		c.Close()
		if err != nil || !strings.Contains(v.Text(), "cluster_state:ok") {
			return false
		}
	}
	return true
}

func allKnow(addrs []string) bool {
	for _, a := range addrs {
		c, err := client.Dial(a, client.Options{})
		if err != nil {
			return false
		}
		v, err := c.Do("CLUSTER", "NODES")
		c.Close()
		if err != nil || strings.Count(v.Text(), "\n") < len(addrs) || strings.Contains(v.Text(), "handshake") {
			return false
		}
	}
	return true
}

// load writes nkeys keys of 100 bytes, pipelined per owner.
func load(seed string, nkeys int) {
	cl, err := client.NewCluster([]string{seed}, client.Options{})
	must(err)
	defer cl.Close()
	conns := map[string]*client.Conn{}
	val := strings.Repeat("v", 100)
	for i := 0; i < nkeys; i++ {
		k := "key:" + strconv.Itoa(i)
		owner := cl.SlotOwner(slot.OfString(k))
		c := conns[owner]
		if c == nil {
			c, err = client.Dial(owner, client.Options{})
			must(err)
			conns[owner] = c
		}
		must(c.Send("SET", k, val))
		if c.Pending() >= 1000 {
			for c.Pending() > 0 {
				_, err := c.Receive()
				must(err)
			}
		}
	}
	for _, c := range conns {
		for c.Pending() > 0 {
			_, err := c.Receive()
			must(err)
		}
		c.Close()
	}
}

// verify checks that every key exists on the master owning its slot.
func verify(addrs []string, nkeys int) {
	cl, err := client.NewCluster(addrs, client.Options{})
	must(err)
	defer cl.Close()
	conns := map[string]*client.Conn{}
	missing := 0
	drain := func(c *client.Conn) {
		for c.Pending() > 0 {
			v, err := c.Receive()
			must(err)
			if v.Int != 1 {
				missing++
			}
		}
	}
	for i := 0; i < nkeys; i++ {
		k := "key:" + strconv.Itoa(i)
		owner := cl.SlotOwner(slot.OfString(k))
		c := conns[owner]
		if c == nil {
			c, err = client.Dial(owner, client.Options{})
			must(err)
			conns[owner] = c
		}
		must(c.Send("EXISTS", k))
		if c.Pending() >= 1000 {
			drain(c)
		}
	}
	for _, c := range conns {
		drain(c)
		c.Close()
	}
	if missing > 0 {
		must(fmt.Errorf("%d keys lost", missing))
	}
}

// serverCPU sums used_cpu_user and used_cpu_sys over the nodes, seconds.
func serverCPU(addrs []string) float64 {
	total := 0.0
	for _, a := range addrs {
		c, err := client.Dial(a, client.Options{})
		must(err)
		v, err := c.Do("INFO", "cpu")
		c.Close()
		must(err)
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
