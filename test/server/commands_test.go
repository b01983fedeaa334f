package server

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/reefkv/reef/internal/testutil"
)

// both runs f against a real redis-server and a reef-server started with
// the same arguments, as subtests.
func both(t *testing.T, args []string, f func(t *testing.T, p *testutil.Proc)) {
	for _, server := range []string{"redis", "reef"} {
		t.Run(server, func(t *testing.T) {
			start := testutil.StartReef
			if server == "redis" {
				start = testutil.StartRedis
			}
			f(t, start(t, args...))
		})
	}
}

func do(t *testing.T, c *testutil.Conn, want string, args ...string) {
	t.Helper()
	v, err := c.Do(args...)
	if err != nil {
		t.Fatalf("%v: %v", args, err)
	}
	if v.Text() != want {
		t.Fatalf("%v = %q, want %q", args, v.Text(), want)
	}
}

// TestActiveExpiry: keys nobody touches are removed by the background
// cycle (Redis's sampling), unless DEBUG SET-ACTIVE-EXPIRE 0.
func TestActiveExpiry(t *testing.T) {
	both(t, []string{"--enable-debug-command", "yes", "--hz", "50"}, func(t *testing.T, p *testutil.Proc) {
		c := testutil.MustDial(t, p.Addr())
		do(t, c, "OK", "DEBUG", "SET-ACTIVE-EXPIRE", "0")
		var batch []byte
		for i := 0; i < 500; i++ {
			batch = append(batch, "SET vol:"+strconv.Itoa(i)+" v PX 50\r\n"...)
		}
		c.WriteRaw(batch)
		for i := 0; i < 500; i++ {
			if v, err := c.R.ReadReply(); err != nil || v.Text() != "OK" {
				t.Fatalf("pipelined SET: %q %v", v.Text(), err)
			}
		}
		do(t, c, "OK", "SET", "keep", "v")
		time.Sleep(300 * time.Millisecond) // let them all expire, unseen
		do(t, c, "501", "DBSIZE")          // nothing deleted them yet
		do(t, c, "OK", "DEBUG", "SET-ACTIVE-EXPIRE", "1")
		testutil.WaitFor(t, 20*time.Second, "active expiry to delete 500 keys", func() bool {
			v, _ := c.Do("DBSIZE")
			return v.Text() == "1"
		})
		v, _ := c.Do("INFO", "stats")
		if !strings.Contains(v.Text(), "expired_keys:500\r\n") {
			t.Fatalf("expired_keys is not 500:\n%s", v.Text())
		}
		do(t, c, "v", "GET", "keep")
	})
}

// TestActiveExpiryAcrossHzChanges: the background cycle keeps running at
// the default hz (where Reef's cron runs on the process's shared pulse),
// after CONFIG SET hz moves it to a ticker of its own, and after it comes
// back to 10.
func TestActiveExpiryAcrossHzChanges(t *testing.T) {
	both(t, nil, func(t *testing.T, p *testutil.Proc) {
		c := testutil.MustDial(t, p.Addr())
		for round, hz := range []string{"10", "50", "10"} {
			do(t, c, "OK", "CONFIG", "SET", "hz", hz)
			for i := 0; i < 20; i++ {
				do(t, c, "OK", "SET", "vol:"+strconv.Itoa(i), "v", "PX", "20")
			}
			testutil.WaitFor(t, 20*time.Second, "active expiry at hz "+hz, func() bool {
				v, _ := c.Do("DBSIZE")
				return v.Text() == "0"
			})
			v, _ := c.Do("INFO", "stats")
			if want := "expired_keys:" + strconv.Itoa(20*(round+1)) + "\r\n"; !strings.Contains(v.Text(), want) {
				t.Fatalf("hz %s: no %q in INFO stats", hz, want)
			}
		}
	})
}

// TestClientKillPauseReply checks the behaviour (not only the replies) of
// CLIENT KILL, PAUSE/UNPAUSE, REPLY and NO-EVICT on both servers.
func TestClientKillPauseReply(t *testing.T) {
	both(t, nil, func(t *testing.T, p *testutil.Proc) {
		a := testutil.MustDial(t, p.Addr())
		b := testutil.MustDial(t, p.Addr())
		idB, _ := b.Do("CLIENT", "ID")
		do(t, b, "OK", "CLIENT", "SETNAME", "victim")
		// KILL by id; SKIPME no kills the caller after its reply.
		do(t, a, "1", "CLIENT", "KILL", "ID", idB.Text())
		if _, err := b.Do("PING"); err == nil {
			t.Fatal("killed client still served")
		}
		v, _ := a.Do("CLIENT", "LIST")
		if strings.Contains(v.Text(), "name=victim") {
			t.Fatalf("killed client still listed:\n%s", v.Text())
		}
		c := testutil.MustDial(t, p.Addr())
		info, _ := c.Do("CLIENT", "INFO")
		addr := fieldOf(info.Text(), "addr")
		do(t, a, "OK", "CLIENT", "KILL", addr)
		if _, err := c.Do("PING"); err == nil {
			t.Fatal("client killed by address still served")
		}
		do(t, a, "ERR No such client", "CLIENT", "KILL", addr)

		// PAUSE WRITE holds writes, not reads, until UNPAUSE.
		w := testutil.MustDial(t, p.Addr())
		do(t, a, "OK", "CLIENT", "PAUSE", "20000", "WRITE")
		done := make(chan string, 1)
		go func() {
			v, err := w.Do("SET", "paused", "1")
			if err != nil {
				done <- err.Error()
				return
			}
			done <- v.Text()
		}()
		do(t, a, "", "GET", "paused") // reads go on (null)
		select {
		case r := <-done:
			t.Fatalf("write ran during CLIENT PAUSE WRITE: %q", r)
		case <-time.After(200 * time.Millisecond):
		}
		do(t, a, "OK", "CLIENT", "UNPAUSE")
		select {
		case r := <-done:
			if r != "OK" {
				t.Fatalf("paused write: %q", r)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("write still held after CLIENT UNPAUSE")
		}
		// A short PAUSE ALL ends by itself.
		do(t, a, "OK", "CLIENT", "PAUSE", "100")
		start := time.Now()
		do(t, w, "PONG", "PING")
		if d := time.Since(start); d < 50*time.Millisecond {
			t.Fatalf("PING during CLIENT PAUSE ALL answered after %v", d)
		}

		// REPLY OFF / SKIP / ON.
		r := testutil.MustDial(t, p.Addr())
		r.WriteRaw([]byte("CLIENT REPLY OFF\r\nSET x 1\r\nCLIENT REPLY SKIP\r\nGET x\r\nCLIENT REPLY ON\r\n"))
		v, err := r.R.ReadReply()
		if err != nil || v.Text() != "OK" {
			t.Fatalf("after REPLY OFF/SKIP/ON the first reply is %q %v, want the ON's OK", v.Text(), err)
		}
		r.WriteRaw([]byte("CLIENT REPLY SKIP\r\nGET x\r\nGET x\r\n"))
		if v, err := r.R.ReadReply(); err != nil || v.Text() != "1" {
			t.Fatalf("after SKIP: %q %v", v.Text(), err)
		}
		do(t, r, "OK", "CLIENT", "NO-EVICT", "on")
		v, _ = r.Do("CLIENT", "INFO")
		if f := fieldOf(v.Text(), "flags"); f != "e" {
			t.Fatalf("flags with NO-EVICT on: %q", f)
		}
	})
}

// fieldOf returns field name of a CLIENT INFO/LIST line.
func fieldOf(line, name string) string {
	for _, f := range strings.Fields(line) {
		if k, v, ok := strings.Cut(f, "="); ok && k == name {
			return v
		}
	}
	return ""
}

// TestAvgTTL: INFO keyspace's avg_ttl is estimated by the expiry cycle's
// samples, as in Redis.
func TestAvgTTL(t *testing.T) {
	both(t, []string{"--hz", "100"}, func(t *testing.T, p *testutil.Proc) {
		c := testutil.MustDial(t, p.Addr())
		for i := 0; i < 50; i++ {
			do(t, c, "OK", "SET", "t:"+strconv.Itoa(i), "v", "EX", "1000")
		}
		do(t, c, "OK", "SET", "plain", "v")
		var avg int64
		testutil.WaitFor(t, 20*time.Second, "avg_ttl to be estimated", func() bool {
			v, _ := c.Do("INFO", "keyspace")
			line := fieldLine(v.Text(), "db0:")
			if !strings.HasPrefix(line, "db0:keys=51,expires=50,avg_ttl=") {
				t.Fatalf("INFO keyspace: %q", line)
			}
			avg, _ = strconv.ParseInt(strings.TrimPrefix(line, "db0:keys=51,expires=50,avg_ttl="), 10, 64)
			return avg > 0
		})
		if avg < 900000 || avg > 1000000 {
			t.Fatalf("avg_ttl %d, want about 1000000", avg)
		}
		do(t, c, "OK", "FLUSHALL")
		do(t, c, "OK", "SET", "t", "v", "EX", "10")
		v, _ := c.Do("INFO", "keyspace")
		if line := fieldLine(v.Text(), "db0:"); !strings.HasPrefix(line, "db0:keys=1,expires=1,avg_ttl=") {
			t.Fatalf("after FLUSHALL: %q", line)
		}
	})
}

func fieldLine(text, prefix string) string {
	for _, l := range strings.Split(text, "\r\n") {
		if strings.HasPrefix(l, prefix) {
			return l
		}
	}
	return ""
}

// TestReadsAndWritesProcessed: INFO counts socket reads and writes, not
// commands: one pipelined burst is a read or a few, as in Redis.
func TestReadsAndWritesProcessed(t *testing.T) {
	both(t, nil, func(t *testing.T, p *testutil.Proc) {
		c := testutil.MustDial(t, p.Addr())
		counts := func() (reads, writes int64) {
			t.Helper()
			v, err := c.Do("INFO", "stats")
			if err != nil {
				t.Fatal(err)
			}
			reads, _ = strconv.ParseInt(testutil.InfoField(v.Text(), "total_reads_processed"), 10, 64)
			writes, _ = strconv.ParseInt(testutil.InfoField(v.Text(), "total_writes_processed"), 10, 64)
			return reads, writes
		}
		r0, w0 := counts()
		for i := 0; i < 10; i++ {
			do(t, c, "PONG", "PING")
		}
		r1, w1 := counts()
		// Ten commands and INFO, each its own read and reply.
		if r1-r0 < 11 || w1-w0 < 11 || r1-r0 > 15 || w1-w0 > 15 {
			t.Fatalf("10 PINGs: %d reads, %d writes", r1-r0, w1-w0)
		}
		var burst []byte
		for i := 0; i < 200; i++ {
			burst = append(burst, "PING\r\n"...)
		}
		if err := c.WriteRaw(burst); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 200; i++ {
			if v, err := c.R.ReadReply(); err != nil || v.Text() != "PONG" {
				t.Fatalf("PING %d: %q %v", i, v.Text(), err)
			}
		}
		r2, w2 := counts()
		if r2-r1 < 2 || r2-r1 > 50 || w2-w1 < 2 || w2-w1 > 50 {
			t.Fatalf("200 pipelined PINGs: %d reads, %d writes", r2-r1, w2-w1)
		}
	})
}
