package server

import (
	"bufio"
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/reefkv/reef/internal/testutil"
)

// TestGoRedis drives reef-server with go-redis in both protocols: plain
// commands, pipelines, MULTI/EXEC, WATCH, expiry and SCAN iteration.
func TestGoRedis(t *testing.T) {
	p := testutil.StartReef(t)
	for _, proto := range []int{2, 3} {
		t.Run("RESP"+strconv.Itoa(proto), func(t *testing.T) {
			c := goRedis(t, p.Addr(), func(o *redis.Options) { o.Protocol = proto })
			ctx := t.Context()
			if err := c.FlushAll(ctx).Err(); err != nil {
				t.Fatal(err)
			}
			if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
				t.Fatal(err)
			}
			if v, err := c.Get(ctx, "k").Result(); err != nil || v != "v" {
				t.Fatalf("GET: %q %v", v, err)
			}
			if _, err := c.Get(ctx, "missing").Result(); err != redis.Nil {
				t.Fatalf("GET missing: %v, want redis.Nil", err)
			}
			if n, err := c.IncrBy(ctx, "n", 41).Result(); err != nil || n != 41 {
				t.Fatalf("INCRBY: %d %v", n, err)
			}
			if f, err := c.IncrByFloat(ctx, "f", 1.5).Result(); err != nil || f != 1.5 {
				t.Fatalf("INCRBYFLOAT: %v %v", f, err)
			}
			if err := c.Set(ctx, "ttl", "x", time.Minute).Err(); err != nil {
				t.Fatal(err)
			}
			if d, err := c.TTL(ctx, "ttl").Result(); err != nil || d < 59*time.Second || d > time.Minute {
				t.Fatalf("TTL: %v %v", d, err)
			}
			if err := c.LPush(ctx, "k", "x").Err(); err == nil {
				// Lists may exist by now; if not, an unknown command.
				if tp, _ := c.Type(ctx, "k").Result(); tp != "string" {
					t.Fatalf("TYPE k = %q", tp)
				}
			} else if !strings.HasPrefix(err.Error(), "WRONGTYPE") && !strings.Contains(err.Error(), "unknown command") {
				t.Fatalf("LPUSH on a string: %v", err)
			}
			// SETBIT/BITCOUNT and GETEX through the typed API.
			c.SetBit(ctx, "bits", 7, 1)
			if n, err := c.BitCount(ctx, "bits", nil).Result(); err != nil || n != 1 {
				t.Fatalf("BITCOUNT: %d %v", n, err)
			}
			// Pipelined: one round trip, replies in order.
			pipe := c.Pipeline()
			var cmds []*redis.IntCmd
			for i := 0; i < 100; i++ {
				cmds = append(cmds, pipe.Incr(ctx, "pipe"))
			}
			if _, err := pipe.Exec(ctx); err != nil {
				t.Fatal(err)
			}
			for i, cmd := range cmds {
				if cmd.Val() != int64(i+1) {
					t.Fatalf("pipelined INCR %d = %d", i, cmd.Val())
				}
			}
			// MULTI/EXEC.
			res, err := c.TxPipelined(ctx, func(p redis.Pipeliner) error {
				p.Set(ctx, "a", "1", 0)
				p.Incr(ctx, "a")
				return nil
			})
			if err != nil || len(res) != 2 || res[1].(*redis.IntCmd).Val() != 2 {
				t.Fatalf("TxPipelined: %v %v", res, err)
			}
			// WATCH aborts when another client changes the key.
			other := goRedis(t, p.Addr(), func(o *redis.Options) { o.Protocol = proto })
			err = c.Watch(ctx, func(tx *redis.Tx) error {
				other.Set(ctx, "w", "changed", 0)
				_, err := tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
					p.Set(ctx, "w", "mine", 0)
					return nil
				})
				return err
			}, "w")
			if err != redis.TxFailedErr {
				t.Fatalf("WATCH: %v, want TxFailedErr", err)
			}
			// SCAN iterates every key exactly once.
			for i := 0; i < 500; i++ {
				pipe.Set(ctx, fmt.Sprintf("scan:%d", i), i, 0)
			}
			pipe.Exec(ctx)
			seen := map[string]bool{}
			iter := c.Scan(ctx, 0, "scan:*", 37).Iterator()
			for iter.Next(ctx) {
				seen[iter.Val()] = true
			}
			if err := iter.Err(); err != nil || len(seen) != 500 {
				t.Fatalf("SCAN saw %d keys, err %v", len(seen), err)
			}
			info, err := c.Info(ctx, "server").Result()
			if err != nil || !strings.Contains(info, "redis_version:7.0.15") {
				t.Fatalf("INFO server: %v\n%s", err, info)
			}
			if name, err := c.ClientGetName(ctx).Result(); err != redis.Nil && err != nil {
				t.Fatalf("CLIENT GETNAME: %q %v", name, err)
			}
		})
	}
}

// TestRedisCli uses the real redis-cli the ways people do.
func TestRedisCli(t *testing.T) {
	p := testutil.StartReef(t)
	port := strconv.Itoa(p.Port)
	run := func(stdin string, args ...string) string {
		t.Helper()
		out, err := cli(t, stdin, append([]string{"-p", port}, args...)...)
		if err != nil {
			t.Fatalf("redis-cli %v: %v\n%s", args, err, out)
		}
		return out
	}
	if out := run("", "set", "k", "v"); out != "OK\n" {
		t.Fatalf("set: %q", out)
	}
	if out := run("", "get", "k"); out != "v\n" {
		t.Fatalf("get: %q", out)
	}
	if out := run("", "--no-raw", "get", "k"); out != "\"v\"\n" {
		t.Fatalf("get --no-raw: %q", out)
	}
	if out := run("", "--no-raw", "get", "nokey"); out != "(nil)\n" {
		t.Fatalf("get nokey: %q", out)
	}
	if out := run("", "--no-raw", "incr", "k"); out != "(error) ERR value is not an integer or out of range\n" {
		t.Fatalf("incr on a string: %q", out)
	}
	// Commands piped on stdin, one per line.
	out := run("SET x 10\nINCR x\nGET x\nMGET x nokey\nPING\nECHO \"a b\"\n")
	if out != "OK\n11\n11\n11\n\nPONG\na b\n" {
		t.Fatalf("piped commands: %q", out)
	}
	// --pipe: mass insertion with raw protocol.
	var proto strings.Builder
	for i := 0; i < 1000; i++ {
		k := "mass:" + strconv.Itoa(i)
		fmt.Fprintf(&proto, "*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$1\r\n1\r\n", len(k), k)
	}
	if out := run(proto.String(), "--pipe"); !strings.Contains(out, "errors: 0, replies: 1000") {
		t.Fatalf("--pipe: %q", out)
	}
	// --scan with a pattern sees every key once.
	keys := strings.Fields(run("", "--scan", "--pattern", "mass:*"))
	sort.Strings(keys)
	if len(keys) != 1000 || keys[0] != "mass:0" {
		t.Fatalf("--scan found %d keys", len(keys))
	}
	if out := run("", "--scan", "--pattern", "mass:1?"); len(strings.Fields(out)) != 10 {
		t.Fatalf("--scan mass:1?: %q", out)
	}
	if out := run("", "dbsize"); out != "1002\n" {
		t.Fatalf("dbsize: %q", out)
	}
	// --bigkeys walks the keyspace with SCAN, TYPE and STRLEN.
	if out := run("", "--bigkeys"); !strings.Contains(out, "1002 strings with") {
		t.Fatalf("--bigkeys:\n%s", out)
	}
	// -n selects a database; -3 speaks RESP3.
	run("", "-n", "2", "set", "indb2", "yes")
	if out := run("", "-n", "2", "get", "indb2"); out != "yes\n" {
		t.Fatalf("-n 2 get: %q", out)
	}
	if out := run("", "-3", "hello", "3"); !strings.Contains(out, "proto\n3") && !strings.Contains(out, "proto 3") {
		t.Fatalf("-3 hello 3: %q", out)
	}
	if out := run("", "info", "keyspace"); !strings.Contains(out, "db0:keys=1002,expires=0,avg_ttl=0") {
		t.Fatalf("info keyspace: %q", out)
	}
	if out := run("", "--no-raw", "command", "count"); !regexp.MustCompile(`^\(integer\) \d+\n$`).MatchString(out) {
		t.Fatalf("command count: %q", out)
	}
}

// TestMonitorWithRedisCli runs `redis-cli monitor` and checks that commands
// from other clients appear in Redis's MONITOR format, with passwords
// redacted and admin commands left out.
func TestMonitorWithRedisCli(t *testing.T) {
	p := testutil.StartReef(t)
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, testutil.RedisCliPath(t), "-p", strconv.Itoa(p.Port), "monitor")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cancel()
		cmd.Wait()
	}()
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	if l := <-lines; l != "OK" {
		t.Fatalf("monitor said %q", l)
	}
	c := testutil.MustDial(t, p.Addr())
	c.Do("SELECT", "3")
	c.Do("SET", "a b", "x\"y\n\x01")
	c.Do("CONFIG", "GET", "maxclients") // admin: not shown
	c.Do("AUTH", "secret")
	c.Do("GET", "z")
	want := []*regexp.Regexp{
		// As in Redis, the line is fed after the command ran: SELECT shows
		// the database it selected.
		regexp.MustCompile(`^\d+\.\d{6} \[3 127\.0\.0\.1:\d+\] "SELECT" "3"$`),
		regexp.MustCompile(`^\d+\.\d{6} \[3 127\.0\.0\.1:\d+\] "SET" "a b" "x\\"y\\n\\x01"$`),
		regexp.MustCompile(`^\d+\.\d{6} \[3 127\.0\.0\.1:\d+\] "AUTH" "\(redacted\)"$`),
		regexp.MustCompile(`^\d+\.\d{6} \[3 127\.0\.0\.1:\d+\] "GET" "z"$`),
	}
	for _, re := range want {
		select {
		case l := <-lines:
			if !re.MatchString(l) {
				t.Fatalf("monitor line %q does not match %s", l, re)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("no monitor line for %s", re)
		}
	}
}

// TestRedisBenchmarkRuns: the real redis-benchmark (what the benchmark
// script measures with) completes its set/get/incr/mset tests against
// Reef, pipelined and not, and the data it wrote is there.
func TestRedisBenchmarkRuns(t *testing.T) {
	p := testutil.StartReef(t)
	bench, err := exec.LookPath("redis-benchmark")
	if err != nil {
		t.Fatal("redis-benchmark not found: install the Debian package redis-tools")
	}
	for _, pipeline := range []string{"1", "16"} {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		out, err := exec.CommandContext(ctx, bench, "-p", strconv.Itoa(p.Port), "-t", "set,get,incr,mset",
			"-n", "2000", "-c", "20", "-P", pipeline, "-q").CombinedOutput()
		cancel()
		if err != nil {
			t.Fatalf("redis-benchmark -P %s: %v\n%s", pipeline, err, out)
		}
		for _, test := range []string{"SET", "GET", "INCR", "MSET (10 keys)"} {
			if !regexp.MustCompile(`(^|[\r\n ])` + regexp.QuoteMeta(test) + `: [\d.]+ requests per second`).Match(out) {
				t.Fatalf("-P %s: no result for %s in:\n%s", pipeline, test, out)
			}
		}
	}
	c := testutil.MustDial(t, p.Addr())
	// Pipelined runs send whole batches of -P requests, so a few more.
	if v, err := c.Do("GET", "counter:__rand_int__"); err != nil || len(v.Text()) != 4 || v.Text() < "4000" || v.Text() > "4016" {
		t.Fatalf("INCR counter after two runs of 2000: %q %v", v.Text(), err)
	}
}

// TestMonitorRepliesLikeRedis compares what a MONITOR client receives on
// redis-server and reef-server when it had turned CLIENT REPLY off or set
// it to skip first: Redis sends the OK only when replies are on, and
// feeds nothing at all to a monitor whose replies are off.
func TestMonitorRepliesLikeRedis(t *testing.T) {
	redisProc := testutil.StartRedis(t)
	reefProc := testutil.StartReef(t)
	stamp := regexp.MustCompile(`\+\d+\.\d{6} \[0 [0-9.:]+\]`)
	monitorFlag := regexp.MustCompile(`flags=O`)
	for _, pre := range []string{"", "CLIENT REPLY OFF\r\n", "CLIENT REPLY SKIP\r\n"} {
		var got [2]string
		for i, addr := range []string{redisProc.Addr(), reefProc.Addr()} {
			// The other client connects (and says HELLO) before the
			// monitor starts, so that only its SET is fed; CLIENT LIST is
			// an admin command, never fed.
			other := goRedis(t, addr, nil)
			ctx := context.Background()
			if err := other.Ping(ctx).Err(); err != nil {
				t.Fatal(err)
			}
			m := testutil.MustDial(t, addr).Conn
			if _, err := m.Write([]byte(pre + "MONITOR\r\n")); err != nil {
				t.Fatal(err)
			}
			testutil.WaitFor(t, 10*time.Second, "the monitor in CLIENT LIST", func() bool {
				list, err := other.ClientList(ctx).Result()
				return err == nil && monitorFlag.MatchString(list)
			})
			if err := other.Set(ctx, "a", "1", 0).Err(); err != nil {
				t.Fatal(err)
			}
			out, _ := readUntilQuiet(m, 300*time.Millisecond)
			m.Close()
			got[i] = stamp.ReplaceAllString(string(out), "+TIME [0 ADDR]")
			// The next case must not find this monitor in the list.
			testutil.WaitFor(t, 10*time.Second, "the monitor gone", func() bool {
				list, err := other.ClientList(ctx).Result()
				return err == nil && !monitorFlag.MatchString(list)
			})
		}
		if got[0] != got[1] {
			t.Errorf("after %q MONITOR:\nredis: %q\nreef:  %q", pre, got[0], got[1])
		}
		if pre == "" && !strings.Contains(strings.ToLower(got[0]), `"set" "a" "1"`) {
			t.Errorf("redis fed no SET: %q", got[0])
		}
	}
}
