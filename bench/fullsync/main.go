// Command fullsync measures a full sync: how long a replica takes to sync
// a master holding N keys, and the master's worst command latency while it
// does, with clients writing all along. It drives already running servers;
// bench/fullsync.sh starts them (reef-server and redis-server side by side).
//
//	go run ./bench/fullsync -master 127.0.0.1:7001 -replica 127.0.0.1:7002 -keys 1000000
package main

import (
	"bufio"
	"flag"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/reefkv/reef/internal/resp"
)

type conn struct {
	c net.Conn
	r *resp.ReplyReader
	w *bufio.Writer
}

func dial(addr string) *conn {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	return &conn{c: c, r: resp.NewReplyReader(c), w: bufio.NewWriter(c)}
}

func (c *conn) do(args ...string) resp.Value {
	c.w.Write(resp.AppendCommand(nil, args...))
	c.w.Flush()
	v, err := c.r.ReadReply()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	return v
}

func (c *conn) info(section string) map[string]string {
	m := map[string]string{}
	for _, l := range strings.Split(c.do("INFO", section).Text(), "\r\n") {
		if k, v, ok := strings.Cut(l, ":"); ok {
			m[k] = v
		}
	}
	return m
}

func main() {
	master := flag.String("master", "127.0.0.1:7001", "master address")
	replica := flag.String("replica", "127.0.0.1:7002", "replica address")
	keys := flag.Int("keys", 1000000, "keys to populate")
	clients := flag.Int("clients", 2, "writing clients during the sync")
	label := flag.String("label", "", "name printed in the result line")
	flag.Parse()

	m := dial(*master)
	r := dial(*replica)
	m.do("FLUSHALL")
	m.do("DEBUG", "POPULATE", strconv.Itoa(*keys), "key", "100")

	var stop atomic.Bool
	var mu sync.Mutex
	var lat []time.Duration
	type sample struct {
		at int64
		d  time.Duration
	}
	var samples []sample
	var worstAt atomic.Int64 // unix ns when the worst sample started
	var worst atomic.Int64
	var wg sync.WaitGroup
	for i := 0; i < *clients; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			c := dial(*master)
			rng := rand.New(rand.NewPCG(uint64(i), 1))
			var local []time.Duration
			var ls []sample
			for !stop.Load() {
				k := "key:" + strconv.Itoa(rng.IntN(*keys))
				t0 := time.Now()
				c.do("SET", k, "v"+strconv.Itoa(rng.IntN(1000)))
				d := time.Since(t0)
				local = append(local, d)
				ls = append(ls, sample{t0.UnixNano(), d})
				if int64(d) > worst.Load() {
					worst.Store(int64(d))
					worstAt.Store(t0.UnixNano())
				}
			}
			mu.Lock()
			lat = append(lat, local...)
			samples = append(samples, ls...)
			mu.Unlock()
		}(i)
	}
	time.Sleep(200 * time.Millisecond)
	start := time.Now()
	host, port, _ := net.SplitHostPort(*master)
	r.do("REPLICAOF", host, port)
	// The master's part ends when it reports the replica online.
	var sent time.Time
	for {
		if strings.Contains(m.info("replication")["slave0"], "state=online") {
			sent = time.Now()
			break
		}
		time.Sleep(2 * time.Millisecond)
	}
	// Synced: link up, loading done, offsets equal (writes keep coming, so
	// "equal" is checked against the master's offset read just before).
	for {
		ri := r.info("replication")
		if ri["master_link_status"] == "up" && ri["master_sync_in_progress"] == "0" {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	loaded := time.Since(start)
	for {
		mo, _ := strconv.ParseInt(m.info("replication")["master_repl_offset"], 10, 64)
		ro, _ := strconv.ParseInt(r.info("replication")["slave_repl_offset"], 10, 64)
		if ro >= mo {
			break
		}
		time.Sleep(2 * time.Millisecond)
	}
	caught := time.Since(start)
	stop.Store(true)
	wg.Wait()
	r.do("REPLICAOF", "NO", "ONE")
	slices.Sort(lat)
	p := func(q float64) time.Duration { return lat[int(float64(len(lat)-1)*q)] }
	worstOff := time.Duration(worstAt.Load() - start.UnixNano())
	var maxSnap time.Duration
	for _, sm := range samples {
		if sm.at >= start.UnixNano() && sm.at < sent.UnixNano() && sm.d > maxSnap {
			maxSnap = sm.d
		}
	}
	fmt.Printf("%-6s master snapshot+transfer %.2fs, max SET latency meanwhile %v\n", *label, sent.Sub(start).Seconds(), maxSnap.Round(time.Microsecond))
	fmt.Printf("%-6s keys=%d  sync(link up, loaded)=%6.2fs  caught-up=%6.2fs  writes=%d  master SET latency: p50=%v p99=%v p99.9=%v max=%v (at +%v)\n",
		*label, *keys, loaded.Seconds(), caught.Seconds(), len(lat),
		p(0.5).Round(time.Microsecond), p(0.99).Round(time.Microsecond), p(0.999).Round(time.Microsecond), lat[len(lat)-1].Round(time.Microsecond), worstOff.Round(time.Millisecond))
}
