package server

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/reefkv/reef/internal/resp"
	"github.com/reefkv/reef/internal/testutil"
)

// Over maxmemory with noeviction (or a memory of 1 byte), denyoom
// commands, and anything queued in MULTI, are refused with Redis's exact
// error, while reads and deletions go on.
func TestOOMRepliesLikeRedis(t *testing.T) {
	redisP := testutil.StartRedis(t)
	reefP := testutil.StartReef(t)
	cmds := [][]string{
		{"SET", "a", "1"}, {"CONFIG", "SET", "maxmemory", "1"},
		{"SET", "b", "1"}, {"GET", "a"}, {"APPEND", "a", "x"}, {"DEL", "a"},
		{"MULTI"}, {"GET", "a"}, {"EXEC"},
		{"MULTI"}, {"SET", "x", "1"}, {"DISCARD"},
		{"INCR", "n"}, {"LPUSH", "l", "x"}, {"PING"},
		{"CONFIG", "SET", "maxmemory", "0"}, {"SET", "b", "1"}, {"GET", "b"},
	}
	for _, proto := range []string{"2", "3"} {
		rc := testutil.MustDial(t, redisP.Addr())
		fc := testutil.MustDial(t, reefP.Addr())
		for _, c := range [][]string{{"HELLO", proto}, {"FLUSHALL"}} {
			rc.Do(c...)
			fc.Do(c...)
		}
		for _, cmd := range cmds {
			a, err1 := rc.Do(cmd...)
			b, err2 := fc.Do(cmd...)
			if err1 != nil || err2 != nil {
				t.Fatalf("%q: %v %v", cmd, err1, err2)
			}
			if a.Text() != b.Text() || a.Kind != b.Kind {
				t.Errorf("RESP%s %q: redis %q, reef %q", proto, cmd, a.Text(), b.Text())
			}
		}
	}
}

// fillValues writes n keys prefix:i of size bytes each, with extra
// arguments after the value (EX ...), pipelined, and returns the error
// replies it got.
func fillValues(t *testing.T, c *testutil.Conn, prefix string, n, size int, extra ...string) []string {
	t.Helper()
	val := strings.Repeat("v", size)
	var errs []string
	const batch = 200
	for i := 0; i < n; i += batch {
		var out []byte
		m := min(batch, n-i)
		for j := 0; j < m; j++ {
			out = resp.AppendCommand(out, append([]string{"SET", prefix + ":" + strconv.Itoa(i+j), val}, extra...)...)
		}
		c.SetDeadline(time.Now().Add(60 * time.Second))
		if err := c.WriteRaw(out); err != nil {
			t.Fatal(err)
		}
		for j := 0; j < m; j++ {
			v, err := c.R.ReadReply()
			if err != nil {
				t.Fatal(err)
			}
			if v.IsError() {
				errs = append(errs, v.Text())
			}
		}
	}
	return errs
}

func infoInt(t *testing.T, c *testutil.Conn, section, field string) int64 {
	t.Helper()
	v, err := c.Do("INFO", section)
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.ParseInt(testutil.InfoField(v.Text(), field), 10, 64)
	if err != nil {
		t.Fatalf("INFO %s %s: %v", section, field, err)
	}
	return n
}

// Each allkeys policy keeps the dataset near maxmemory while three times
// as much is written: every write succeeds, keys are evicted and counted,
// and memory stays within a margin of the limit (the Go heap's garbage is
// counted too, see docs/SERVER.md).
func TestEvictionKeepsMemoryBounded(t *testing.T) {
	const maxmemory = 32 << 20
	for _, policy := range []string{"allkeys-lru", "allkeys-lfu", "allkeys-random"} {
		t.Run(policy, func(t *testing.T) {
			p := testutil.StartReef(t, "--maxmemory", strconv.Itoa(maxmemory), "--maxmemory-policy", policy)
			c := testutil.MustDial(t, p.Addr())
			// The limit counts the empty server's own heap too.
			startup := infoInt(t, c, "memory", "used_memory")
			if errs := fillValues(t, c, "k", 96<<10, 1000); len(errs) > 0 {
				t.Fatalf("%d writes refused, first: %s", len(errs), errs[0])
			}
			// Every command, INFO and DBSIZE too, may evict while memory
			// is over the limit: evicted_keys read before and after
			// DBSIZE brackets the count at DBSIZE's time.
			before := infoInt(t, c, "stats", "evicted_keys")
			v, _ := c.Do("DBSIZE")
			after := infoInt(t, c, "stats", "evicted_keys")
			if before == 0 || v.Int+before > 96<<10 || v.Int+after < 96<<10 {
				t.Fatalf("DBSIZE %d + evicted_keys %d..%d, want %d written", v.Int, before, after, 96<<10)
			}
			// Garbage the collector has not reclaimed yet counts as
			// used memory, so Reef may evict more than Redis would, but
			// not much more: a third of the room at most.
			if room := maxmemory - startup; v.Int*1000 < room*2/3 {
				t.Errorf("only %d keys of 1000 bytes kept with %d bytes of room", v.Int, room)
			}
			if v.Int*1000 > maxmemory {
				t.Fatalf("%d keys of 1000 bytes left over a %d-byte maxmemory", v.Int, maxmemory)
			}
			if used := infoInt(t, c, "memory", "used_memory"); used > maxmemory*3/2 {
				t.Fatalf("used_memory %d, maxmemory %d", used, maxmemory)
			}
		})
	}
}

// volatile policies evict only keys with an expiry; when none is left the
// node refuses writes with the OOM error. Evictions fire the "evicted"
// keyspace event and reach a replica as deletions.
func TestVolatileEvictionAndItsSideEffects(t *testing.T) {
	master := testutil.StartReef(t, "--maxmemory-policy", "volatile-lru",
		"--notify-keyspace-events", "Ee", "--repl-diskless-sync-delay", "0")
	replica := testutil.StartReef(t, "--replicaof", "127.0.0.1", strconv.Itoa(master.Port))
	mc := testutil.MustDial(t, master.Addr())
	rc := testutil.MustDial(t, replica.Addr())
	// 24 MB of room over what the empty server takes.
	maxmemory := infoInt(t, mc, "memory", "used_memory") + 24<<20
	if v, err := mc.Do("CONFIG", "SET", "maxmemory", strconv.FormatInt(maxmemory, 10)); err != nil || v.Text() != "OK" {
		t.Fatalf("CONFIG SET maxmemory: %q %v", v.Text(), err)
	}
	testutil.WaitFor(t, 20*time.Second, "replica link up", func() bool {
		v, err := rc.Do("INFO", "replication")
		return err == nil && testutil.InfoField(v.Text(), "master_link_status") == "up"
	})
	sub := goRedis(t, master.Addr(), nil).Subscribe(context.Background(), "__keyevent@0__:evicted")
	defer sub.Close()
	if _, err := sub.Receive(context.Background()); err != nil {
		t.Fatal(err)
	}

	// 8 MB that may not be evicted, then three times the limit of
	// volatile keys.
	if errs := fillValues(t, mc, "keep", 8<<10, 1000); len(errs) > 0 {
		t.Fatalf("persistent writes refused: %s", errs[0])
	}
	if errs := fillValues(t, mc, "vol", 72<<10, 1000, "EX", "3600"); len(errs) > 0 {
		t.Fatalf("%d volatile writes refused, first: %s", len(errs), errs[0])
	}
	evicted := infoInt(t, mc, "stats", "evicted_keys")
	if evicted == 0 {
		t.Fatal("no key evicted")
	}
	for i := 0; i < 8<<10; i += 97 {
		if v, _ := mc.Do("EXISTS", fmt.Sprintf("keep:%d", i)); v.Int != 1 {
			t.Fatalf("persistent key keep:%d was evicted", i)
		}
	}
	select {
	case m := <-sub.Channel():
		if !strings.HasPrefix(m.Payload, "vol:") {
			t.Fatalf("evicted event for %q", m.Payload)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no evicted keyspace event")
	}
	// The replica applies the evictions (it does not evict itself).
	testutil.WaitFor(t, 20*time.Second, "replica DBSIZE equal to the master's", func() bool {
		a, err1 := mc.Do("DBSIZE")
		b, err2 := rc.Do("DBSIZE")
		return err1 == nil && err2 == nil && a.Int == b.Int
	})
	if n := infoInt(t, rc, "stats", "evicted_keys"); n != 0 {
		t.Fatalf("the replica evicted %d keys itself", n)
	}
	// With no volatile key left to evict, writes are refused.
	var out []byte
	for i := 0; i < 72<<10; i++ {
		out = resp.AppendCommand(out, "PERSIST", "vol:"+strconv.Itoa(i))
	}
	mc.WriteRaw(out)
	for i := 0; i < 72<<10; i++ {
		if _, err := mc.R.ReadReply(); err != nil {
			t.Fatal(err)
		}
	}
	// Keys pooled as candidates before the PERSIST are no longer volatile:
	// none may be evicted now.
	evictedBefore := infoInt(t, mc, "stats", "evicted_keys")
	errs := fillValues(t, mc, "more", 40<<10, 1000)
	if len(errs) == 0 || errs[0] != "OOM command not allowed when used memory > 'maxmemory'." {
		t.Fatalf("writes past the limit with nothing evictable: %d errors %q", len(errs), errs)
	}
	if n := infoInt(t, mc, "stats", "evicted_keys"); n != evictedBefore {
		t.Fatalf("%d keys evicted after every key lost its expiry", n-evictedBefore)
	}
}

// Lowering maxmemory below what is used warns, as Redis does, and evicts.
func TestMaxmemoryLoweredBelowUse(t *testing.T) {
	p := testutil.StartReef(t, "--maxmemory-policy", "allkeys-random")
	c := testutil.MustDial(t, p.Addr())
	startup := infoInt(t, c, "memory", "used_memory")
	if errs := fillValues(t, c, "k", 16<<10, 1000); len(errs) > 0 {
		t.Fatalf("writes refused: %s", errs[0])
	}
	limit := strconv.FormatInt(startup+4<<20, 10)
	if v, err := c.Do("CONFIG", "SET", "maxmemory", limit); err != nil || v.Text() != "OK" {
		t.Fatalf("CONFIG SET maxmemory: %q %v", v.Text(), err)
	}
	testutil.WaitFor(t, 10*time.Second, "the warning in the log", func() bool {
		return strings.Contains(p.Output(), "WARNING: the new maxmemory value set via CONFIG SET ("+limit+") is smaller than the current memory usage")
	})
	// Every command evicts while memory is over (a collection may run
	// first, to see how much of the heap is garbage).
	testutil.WaitFor(t, 10*time.Second, "keys evicted down to the new limit", func() bool {
		v, err := c.Do("DBSIZE")
		return err == nil && v.Int*1000 <= 8<<20 && infoInt(t, c, "stats", "evicted_keys") > 0
	})
}
