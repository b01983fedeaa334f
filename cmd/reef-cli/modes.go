package main

import (
	"fmt"
	"math"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/reefkv/reef/internal/resp"
	"github.com/reefkv/reef/internal/splitargs"
)

// stopOnSignal makes Ctrl-C end a long loop mode cleanly (redis-cli's
// force_cancel_loop).
func stopOnSignal() *atomic.Bool {
	var stop atomic.Bool
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, os.Interrupt)
	go func() {
		<-ch
		stop.Store(true)
		signal.Stop(ch)
	}()
	return &stop
}

func mustConnect(cfg *config) bool {
	if err := cliConnect(cfg, false); err != nil {
		return false
	}
	return true
}

// sendScan is redis-cli's sendScan.
func sendScan(cfg *config, cursor string) (string, []resp.Value, error) {
	args := []string{"SCAN", cursor}
	if cfg.pattern != "" {
		args = append(args, "MATCH", cfg.pattern)
	}
	if cfg.count > 0 {
		args = append(args, "COUNT", strconv.Itoa(cfg.count))
	}
	v, err := cfg.conn.Do(args...)
	if err != nil {
		return "", nil, err
	}
	if v.IsError() {
		return "", nil, fmt.Errorf("%s", v.Str)
	}
	if len(v.Elems) != 2 {
		return "", nil, fmt.Errorf("unexpected SCAN reply")
	}
	return v.Elems[0].Text(), v.Elems[1].Elems, nil
}

// scanMode is --scan [--pattern p] [--count n] [-i s].
func scanMode(cfg *config) int {
	if !mustConnect(cfg) {
		return 1
	}
	stop := stopOnSignal()
	cur := "0"
	for {
		next, keys, err := sendScan(cfg, cur)
		if err != nil {
			fmt.Fprintf(os.Stderr, "Error: %v\n", err)
			return 1
		}
		for _, k := range keys {
			if cfg.output == outStandard {
				fmt.Fprintf(cfg.stdout, "%s\n", splitargs.Repr(k.Str))
			} else {
				fmt.Fprintf(cfg.stdout, "%s\n", k.Str)
			}
		}
		if cfg.interval > 0 {
			cfg.stdout.Flush()
			time.Sleep(cfg.interval)
		}
		cur = next
		if cur == "0" || stop.Load() {
			return 0
		}
	}
}

// typeInfo accumulates --bigkeys statistics of one type.
type typeInfo struct {
	name, sizeCmd, unit string
	count, total        uint64
	biggest             uint64
	biggestKey          string
	found               bool
}

// bigKeysMode is --bigkeys (findBigKeys).
func bigKeysMode(cfg *config) int {
	if !mustConnect(cfg) {
		return 1
	}
	stop := stopOnSignal()
	// The order is redis-cli 7.0's (its type dictionary's iteration order).
	order := []*typeInfo{
		{name: "list", sizeCmd: "LLEN", unit: "items"},
		{name: "hash", sizeCmd: "HLEN", unit: "fields"},
		{name: "string", sizeCmd: "STRLEN", unit: "bytes"},
		{name: "stream", sizeCmd: "XLEN", unit: "entries"},
		{name: "set", sizeCmd: "SCARD", unit: "members"},
		{name: "zset", sizeCmd: "ZCARD", unit: "members"},
	}
	byName := map[string]*typeInfo{}
	for _, t := range order {
		byName[t.name] = t
	}
	dbsize, err := cfg.conn.Do("DBSIZE")
	if err != nil || dbsize.IsError() {
		fmt.Fprintf(os.Stderr, "Couldn't determine DBSIZE!\n")
		return 1
	}
	total := float64(dbsize.Int)
	w := cfg.stdout
	fmt.Fprintf(w, "\n# Scanning the entire keyspace to find biggest keys as well as\n")
	fmt.Fprintf(w, "# average sizes per key type.  You can use -i 0.1 to sleep 0.1 sec\n")
	fmt.Fprintf(w, "# per 100 SCAN commands (not usually needed).\n\n")
	var sampled, totlen uint64
	var pct float64
	cur := "0"
	for {
		if total > 0 {
			pct = 100 * float64(sampled) / total
		}
		next, keys, err := sendScan(cfg, cur)
		if err != nil {
			fmt.Fprintf(os.Stderr, "Error: %v\n", err)
			return 1
		}
		cmds := make([][]string, len(keys))
		for i, k := range keys {
			cmds[i] = []string{"TYPE", k.Text()}
		}
		types, err := cfg.conn.Pipeline(cmds)
		if err != nil {
			fmt.Fprintf(os.Stderr, "Error: %v\n", err)
			return 1
		}
		infos := make([]*typeInfo, len(keys))
		var scmds [][]string
		for i, t := range types {
			ti := byName[t.Text()]
			if ti == nil {
				if t.Text() != "none" {
					ti = &typeInfo{name: t.Text(), sizeCmd: "", unit: "units"}
					byName[t.Text()] = ti
					order = append(order, ti)
				} else {
					continue
				}
			}
			infos[i] = ti
			if ti.sizeCmd != "" {
				scmds = append(scmds, []string{ti.sizeCmd, keys[i].Text()})
			}
		}
		sizes, err := cfg.conn.Pipeline(scmds)
		if err != nil {
			fmt.Fprintf(os.Stderr, "Error: %v\n", err)
			return 1
		}
		si := 0
		for i, ti := range infos {
			if ti == nil {
				continue
			}
			var size uint64
			if ti.sizeCmd != "" {
				if si < len(sizes) && sizes[si].Kind == resp.KindInt {
					size = uint64(sizes[si].Int)
				}
				si++
			}
			ti.total += size
			ti.count++
			totlen += uint64(len(keys[i].Str))
			sampled++
			if ti.biggest < size {
				ti.biggestKey = splitargs.Repr(keys[i].Str)
				ti.found = true
				fmt.Fprintf(w, "[%05.2f%%] Biggest %-6s found so far '%s' with %d %s\n", pct, ti.name, ti.biggestKey, size, ti.unit)
				ti.biggest = size
			}
			if sampled%1000000 == 0 {
				fmt.Fprintf(w, "[%05.2f%%] Sampled %d keys so far\n", pct, sampled)
			}
		}
		if sampled > 0 && sampled%100 == 0 && cfg.interval > 0 {
			time.Sleep(cfg.interval)
		}
		cur = next
		if cur == "0" || stop.Load() {
			break
		}
	}
	fmt.Fprintf(w, "\n-------- summary -------\n\n")
	if stop.Load() {
		fmt.Fprintf(w, "[%05.2f%%] ", pct)
	}
	fmt.Fprintf(w, "Sampled %d keys in the keyspace!\n", sampled)
	avg := 0.0
	if totlen > 0 {
		avg = float64(totlen) / float64(sampled)
	}
	fmt.Fprintf(w, "Total key length in bytes is %d (avg len %.2f)\n\n", totlen, avg)
	for _, t := range order {
		if t.found {
			fmt.Fprintf(w, "Biggest %6s found '%s' has %d %s\n", t.name, t.biggestKey, t.biggest, t.unit)
		}
	}
	fmt.Fprintf(w, "\n")
	for _, t := range order {
		p, a := 0.0, 0.0
		if sampled > 0 {
			p = 100 * float64(t.count) / float64(sampled)
		}
		if t.count > 0 {
			a = float64(t.total) / float64(t.count)
		}
		fmt.Fprintf(w, "%d %ss with %d %s (%05.2f%% of keys, avg size %.2f)\n", t.count, t.name, t.total, t.unit, p, a)
	}
	return 0
}

// latencyMode is --latency / --latency-history: PING in a loop, printing
// min, max, avg (ms) and the sample count.
func latencyMode(cfg *config) int {
	if !mustConnect(cfg) {
		return 1
	}
	stop := stopOnSignal()
	histInterval := 15 * time.Second
	if cfg.intervalSet && cfg.interval > 0 {
		histInterval = cfg.interval
	}
	var min, max, tot, count int64
	min = math.MaxInt64
	start := time.Now()
	print := func() {
		avg := 0.0
		if count > 0 {
			avg = float64(tot) / float64(count)
		}
		if cfg.output == outStandard {
			fmt.Fprintf(cfg.stdout, "min: %d, max: %d, avg: %.2f (%d samples)", min, max, avg, count)
		} else if cfg.output == outCSV {
			fmt.Fprintf(cfg.stdout, "%d,%d,%.2f,%d\n", min, max, avg, count)
		} else {
			fmt.Fprintf(cfg.stdout, "%d %d %.2f %d\n", min, max, avg, count)
		}
		cfg.stdout.Flush()
	}
	for !stop.Load() {
		t0 := time.Now()
		v, err := cfg.conn.Do("PING")
		if err != nil || v.IsError() {
			fmt.Fprintf(os.Stderr, "\nI/O error\n")
			return 1
		}
		lat := time.Since(t0).Milliseconds()
		count++
		tot += lat
		if lat < min {
			min = lat
		}
		if lat > max {
			max = lat
		}
		if cfg.output == outStandard {
			fmt.Fprint(cfg.stdout, "\x1b[0G\x1b[2K")
			print()
			if cfg.latencyHist && time.Since(start) > histInterval {
				fmt.Fprintf(cfg.stdout, " -- %.2f seconds range\n", time.Since(start).Seconds())
				min, max, tot, count, start = math.MaxInt64, 0, 0, 0, time.Now()
			}
		} else if cfg.latencyHist {
			if time.Since(start) > histInterval {
				print()
				min, max, tot, count, start = math.MaxInt64, 0, 0, 0, time.Now()
			}
		} else if time.Since(start) > time.Second {
			print()
			return 0
		}
		time.Sleep(10 * time.Millisecond)
	}
	fmt.Fprintln(cfg.stdout)
	return 0
}

// bytesToHuman is redis-cli's bytesToHuman.
func bytesToHuman(n int64) string {
	switch {
	case n < 1024:
		return fmt.Sprintf("%dB", n)
	case n < 1024*1024:
		return fmt.Sprintf("%.2fK", float64(n)/1024)
	case n < 1024*1024*1024:
		return fmt.Sprintf("%.2fM", float64(n)/(1024*1024))
	case n < 1024*1024*1024*1024:
		return fmt.Sprintf("%.2fG", float64(n)/(1024*1024*1024))
	case n < 1024*1024*1024*1024*1024:
		return fmt.Sprintf("%.2fT", float64(n)/(1024*1024*1024*1024))
	}
	return fmt.Sprintf("%.2fP", float64(n)/(1024*1024*1024*1024*1024))
}

// statMode is --stat: one line of INFO figures per interval (default 1 s).
func statMode(cfg *config) int {
	if !mustConnect(cfg) {
		return 1
	}
	stop := stopOnSignal()
	interval := time.Second
	if cfg.intervalSet && cfg.interval > 0 {
		interval = cfg.interval
	}
	var prevReq int64 = -1
	for line := 0; !stop.Load(); line++ {
		v, err := cfg.conn.Do("INFO")
		if err != nil || v.IsError() {
			fmt.Fprintf(os.Stderr, "ERROR: %v\n", err)
			return 1
		}
		info := v.Text()
		if line%20 == 0 {
			fmt.Fprintf(cfg.stdout, "------- data ------ --------------------- load -------------------- - child -\n")
			fmt.Fprintf(cfg.stdout, "keys       mem      clients blocked requests            connections          \n")
		}
		var keys int64
		for _, l := range strings.Split(info, "\n") {
			if strings.HasPrefix(l, "db") {
				if i := strings.Index(l, "keys="); i >= 0 {
					f := l[i+5:]
					if j := strings.IndexByte(f, ','); j >= 0 {
						f = f[:j]
					}
					n, _ := strconv.ParseInt(strings.TrimSpace(f), 10, 64)
					keys += n
				}
			}
		}
		field := func(n string) int64 {
			for _, l := range strings.Split(info, "\n") {
				if strings.HasPrefix(l, n+":") {
					x, _ := strconv.ParseInt(strings.TrimSpace(l[len(n)+1:]), 10, 64)
					return x
				}
			}
			return 0
		}
		req := field("total_commands_processed")
		delta := int64(0)
		if prevReq >= 0 {
			delta = req - prevReq
		}
		prevReq = req
		fmt.Fprintf(cfg.stdout, "%-11s", strconv.FormatInt(keys, 10))
		fmt.Fprintf(cfg.stdout, "%-8s", bytesToHuman(field("used_memory")))
		fmt.Fprintf(cfg.stdout, "%-8s", strconv.FormatInt(field("connected_clients"), 10))
		fmt.Fprintf(cfg.stdout, "%-8s", strconv.FormatInt(field("blocked_clients"), 10))
		fmt.Fprintf(cfg.stdout, "%-19s", fmt.Sprintf("%d (+%d)", req, delta))
		fmt.Fprintf(cfg.stdout, "%-12s", strconv.FormatInt(field("total_connections_received"), 10))
		if field("rdb_bgsave_in_progress") == 1 {
			fmt.Fprint(cfg.stdout, "SAVE")
		}
		if field("aof_rewrite_in_progress") == 1 {
			fmt.Fprint(cfg.stdout, "AOF")
		}
		fmt.Fprintln(cfg.stdout)
		cfg.stdout.Flush()
		time.Sleep(interval)
	}
	return 0
}
