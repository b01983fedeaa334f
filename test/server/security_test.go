package server

import (
	"bufio"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"golang.org/x/sys/unix"

	"github.com/reefkv/reef/internal/resp"
	"github.com/reefkv/reef/internal/testutil"
)

func TestRequirepass(t *testing.T) {
	p := testutil.StartReef(t, "--requirepass", "s3cret")
	c := testutil.MustDial(t, p.Addr())
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"GET", "k"}, "NOAUTH Authentication required."},
		{[]string{"PING"}, "NOAUTH Authentication required."},
		{[]string{"HELLO", "3"}, "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time"},
		{[]string{"AUTH", "nope"}, "WRONGPASS invalid username-password pair or user is disabled."},
		{[]string{"AUTH", "bob", "s3cret"}, "WRONGPASS invalid username-password pair or user is disabled."},
		{[]string{"AUTH", "s3cret"}, "OK"},
		{[]string{"SET", "k", "v"}, "OK"},
		{[]string{"AUTH", "default", "s3cret"}, "OK"},
	} {
		v, err := c.Do(tc.args...)
		if err != nil || v.Text() != tc.want {
			t.Errorf("%v: %q %v, want %q", tc.args, v.Text(), err, tc.want)
		}
	}
	// go-redis with a password, and HELLO 3 AUTH.
	ctx := t.Context()
	g := goRedis(t, p.Addr(), func(o *redis.Options) { o.Password = "s3cret" })
	if v, err := g.Get(ctx, "k").Result(); err != nil || v != "v" {
		t.Fatalf("go-redis GET with password: %q %v", v, err)
	}
	bad := goRedis(t, p.Addr(), func(o *redis.Options) { o.Password = "wrong"; o.MaxRetries = -1 })
	if err := bad.Ping(ctx).Err(); err == nil || !strings.Contains(err.Error(), "WRONGPASS") {
		t.Fatalf("go-redis with a wrong password: %v", err)
	}
	// RESET drops the authentication.
	c2 := testutil.MustDial(t, p.Addr())
	c2.Do("AUTH", "s3cret")
	c2.Do("RESET")
	if v, _ := c2.Do("GET", "k"); !strings.HasPrefix(v.Text(), "NOAUTH") {
		t.Errorf("after RESET: %q, want NOAUTH", v.Text())
	}
	// Unauthenticated clients get Redis's small request limits.
	out, closed := rawLine(t, p.Addr(), []byte("*11\r\n"), time.Second)
	if string(out) != "-ERR Protocol error: unauthenticated multibulk length\r\n" || !closed {
		t.Errorf("unauthenticated *11: %q closed=%v", out, closed)
	}
	out, closed = rawLine(t, p.Addr(), []byte("*1\r\n$16385\r\n"), time.Second)
	if string(out) != "-ERR Protocol error: unauthenticated bulk length\r\n" || !closed {
		t.Errorf("unauthenticated $16385: %q closed=%v", out, closed)
	}
}

func TestMaxclients(t *testing.T) {
	for _, server := range []string{"reef", "redis"} {
		t.Run(server, func(t *testing.T) {
			start := testutil.StartReef
			if server == "redis" {
				start = testutil.StartRedis
			}
			p := start(t, "--maxclients", "2")
			// The readiness probe's connection may not be gone yet: take
			// the two slots as soon as they are free.
			served := func() *testutil.Conn {
				var c *testutil.Conn
				testutil.WaitFor(t, 10*time.Second, "a client slot", func() bool {
					c = testutil.MustDial(t, p.Addr())
					v, err := c.Do("PING")
					if err == nil && v.Text() == "PONG" {
						return true
					}
					c.Close()
					return false
				})
				return c
			}
			a := served()
			served()
			out, closed := rawLine(t, p.Addr(), []byte("PING\r\n"), 2*time.Second)
			if string(out) != "-ERR max number of clients reached\r\n" || !closed {
				t.Fatalf("third client got %q closed=%v", out, closed)
			}
			// Once a client leaves there is room again.
			a.Close()
			testutil.WaitFor(t, 10*time.Second, "a free client slot", func() bool {
				out, _ := rawLine(t, p.Addr(), []byte("PING\r\n"), time.Second)
				return string(out) == "+PONG\r\n"
			})
		})
	}
}

// TestMaxclientsBeyondFileLimit: a maxclients that the open-files limit
// cannot hold is lowered to what it can (the limit less 32), with Redis's
// warnings, and CONFIG SET of such a value fails with Redis's advice. The
// request is chosen so that Redis's search (the request's descriptors less
// 16 at a time) lands on this process's hard limit exactly, so both
// servers must come to the same figure.
func TestMaxclientsBeyondFileLimit(t *testing.T) {
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	request := strconv.FormatUint(lim.Max-32+16*100_000, 10)
	got := map[string][3]string{}
	for _, server := range []string{"reef", "redis"} {
		start := testutil.StartReef
		if server == "redis" {
			start = testutil.StartRedis
		}
		p := start(t, "--maxclients", request)
		c := testutil.MustDial(t, p.Addr())
		first, err := c.Do("CONFIG", "GET", "maxclients")
		if err != nil {
			t.Fatal(err)
		}
		set, err := c.Do("CONFIG", "SET", "maxclients", request)
		if err != nil {
			t.Fatal(err)
		}
		after, err := c.Do("CONFIG", "GET", "maxclients")
		if err != nil {
			t.Fatal(err)
		}
		c.Close()
		var warnings []string
		for _, line := range strings.Split(p.Output(), "\n") {
			if strings.Contains(line, "maxclients") || strings.Contains(line, "open files") || strings.Contains(line, "Failed applying") {
				_, msg, _ := strings.Cut(line, " # ")
				warnings = append(warnings, msg)
			}
		}
		got[server] = [3]string{first.Elems[1].Text() + " / " + after.Elems[1].Text(), set.Text(), strings.Join(warnings, "\n")}
	}
	if got["reef"] != got["redis"] {
		t.Errorf("maxclients %s:\n  redis: %q\n  reef:  %q", request, got["redis"], got["reef"])
	}
	if got["reef"][0] == request+" / "+request {
		t.Logf("this process may open %s+32 files: nothing was lowered", request)
	}
}

// TestProtectedMode connects from a non-loopback address of this machine
// to a server bound to all interfaces without a password: Redis refuses
// with its DENIED text, and so must Reef, byte for byte. Loopback clients
// and password-protected servers are served.
func TestProtectedMode(t *testing.T) {
	ip := nonLoopbackIPv4()
	if ip == "" {
		// Without an external address the only honest check left is the
		// loopback half: loopback clients are served in protected mode.
		p := testutil.StartReef(t, "--protected-mode", "yes")
		out, closed := rawLine(t, p.Addr(), []byte("PING\r\n"), time.Second)
		if string(out) != "+PONG\r\n" || closed {
			t.Fatalf("loopback client in protected mode: %q closed=%v", out, closed)
		}
		t.Log("no non-loopback IPv4 address: only the loopback side was tested")
		return
	}
	denied := func(t *testing.T, start func(testing.TB, ...string) *testutil.Proc, args ...string) (string, bool) {
		p := start(t, append([]string{"--bind", "*", "--protected-mode", "yes"}, args...)...)
		addr := net.JoinHostPort(ip, strconv.Itoa(p.Port))
		out, closed := rawLine(t, addr, []byte("PING\r\n"), 500*time.Millisecond)
		// Loopback is always served.
		lo, _ := rawLine(t, p.Addr(), []byte("PING\r\n"), 500*time.Millisecond)
		if string(lo) != "+PONG\r\n" && !strings.HasPrefix(string(lo), "-NOAUTH") {
			t.Errorf("loopback PING: %q", lo)
		}
		return string(out), closed
	}
	// testutil starts both with --bind 127.0.0.1 first; the later --bind wins.
	redisOut, redisClosed := denied(t, testutil.StartRedis)
	reefOut, reefClosed := denied(t, testutil.StartReef)
	if !strings.HasPrefix(redisOut, "-DENIED Redis is running in protected mode") || !redisClosed {
		t.Fatalf("redis-server did not deny: %q", redisOut)
	}
	if reefOut != redisOut || !reefClosed {
		t.Fatalf("reef: %q (closed=%v)\nredis: %q", reefOut, reefClosed, redisOut)
	}
	// With a password, or protected mode off, external clients are served.
	for _, args := range [][]string{{"--requirepass", "pw"}, {"--protected-mode", "no"}} {
		out, closed := denied(t, testutil.StartReef, args...)
		if closed || strings.HasPrefix(out, "-DENIED") {
			t.Errorf("%v: external client got %q closed=%v", args, out, closed)
		}
	}
}

func TestDatabases(t *testing.T) {
	p := testutil.StartReef(t, "--databases", "4")
	c := testutil.MustDial(t, p.Addr())
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"SELECT", "3"}, "OK"},
		{[]string{"SET", "k", "in3"}, "OK"},
		{[]string{"SELECT", "4"}, "ERR DB index is out of range"},
		{[]string{"SELECT", "-1"}, "ERR DB index is out of range"},
		{[]string{"MOVE", "k", "0"}, "1"},
		{[]string{"SWAPDB", "0", "3"}, "OK"},
		{[]string{"GET", "k"}, "in3"},
		{[]string{"CONFIG", "GET", "databases"}, ""},
	} {
		v, err := c.Do(tc.args...)
		if err != nil {
			t.Fatal(err)
		}
		if tc.want != "" && v.Text() != tc.want {
			t.Errorf("%v: %q, want %q", tc.args, v.Text(), tc.want)
		}
	}
	g := goRedis(t, p.Addr(), func(o *redis.Options) { o.DB = 3 })
	if v, err := g.Get(t.Context(), "k").Result(); err != nil || v != "in3" {
		t.Fatalf("go-redis DB 3: %q %v", v, err)
	}
	info, _ := g.Info(t.Context(), "keyspace").Result()
	if !strings.Contains(info, "db3:keys=1,expires=0,avg_ttl=0") {
		t.Errorf("INFO keyspace:\n%s", info)
	}
}

// TestIdleTimeout: with timeout 1 an idle client is closed within a couple
// of seconds while an active one is kept, and so is a MONITOR client, which
// only ever reads (Redis spares monitors too).
func TestIdleTimeout(t *testing.T) {
	p := testutil.StartReef(t, "--timeout", "1")
	idle, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	monitor, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer monitor.Close()
	monitor.Write(resp.AppendCommand(nil, "MONITOR"))
	monitored := bufio.NewReader(monitor)
	if line, err := monitored.ReadString('\n'); err != nil || line != "+OK\r\n" {
		t.Fatalf("MONITOR: %q %v", line, err)
	}
	defer func() {
		if t.Failed() {
			return
		}
		// The monitor, idle all along, still sees commands.
		active := testutil.MustDial(t, p.Addr())
		active.Do("SET", "after-timeout", "1")
		monitor.SetReadDeadline(time.Now().Add(5 * time.Second))
		for {
			line, err := monitored.ReadString('\n')
			if err != nil {
				t.Fatalf("MONITOR client closed by the idle timeout: %v", err)
			}
			if strings.Contains(line, "after-timeout") {
				return
			}
		}
	}()
	active := testutil.MustDial(t, p.Addr())
	start := time.Now()
	closed := make(chan time.Duration, 1)
	go func() {
		idle.SetReadDeadline(time.Now().Add(10 * time.Second))
		buf := make([]byte, 16)
		if _, err := idle.Read(buf); err != nil {
			closed <- time.Since(start)
		}
		close(closed)
	}()
	for {
		select {
		case d, ok := <-closed:
			if !ok || d > 8*time.Second {
				t.Fatal("idle client was not closed")
			}
			if d < 900*time.Millisecond {
				t.Fatalf("idle client closed after %v, before the 1 s timeout", d)
			}
			if v, err := active.Do("PING"); err != nil || v.Text() != "PONG" {
				t.Fatalf("active client closed too: %v", err)
			}
			return
		case <-time.After(200 * time.Millisecond):
			if _, err := active.Do("PING"); err != nil {
				t.Fatalf("active client closed: %v", err)
			}
		}
	}
}

// TestUnauthenticatedRepliesLikeRedis: before AUTH, a client whose
// pending replies pass 16 kB is closed without them, as redis-server
// 7.0.15 does with the fix of CVE-2025-21605 (the oracle answers
// 481 PINGs, 16,354 bytes, and closes at 482 without a byte); after AUTH
// the same pipeline is answered in full.
func TestUnauthenticatedRepliesLikeRedis(t *testing.T) {
	reef := testutil.StartReef(t, "--requirepass", "s3cret")
	redis := testutil.StartRedis(t, "--requirepass", "s3cret")
	for _, tc := range []struct {
		auth  bool
		pings int
	}{{false, 481}, {false, 482}, {false, 5000}, {true, 5000}} {
		var outs [2]string
		var closed [2]bool
		for i, p := range []*testutil.Proc{redis, reef} {
			in := strings.Repeat("PING\r\n", tc.pings)
			if tc.auth {
				in = "AUTH s3cret\r\n" + in
			}
			out, c := rawLine(t, p.Addr(), []byte(in), 2*time.Second)
			outs[i], closed[i] = string(out), c
		}
		if outs[0] != outs[1] || closed[0] != closed[1] {
			t.Errorf("auth=%v %d PINGs: redis %d bytes (closed %v), reef %d bytes (closed %v)",
				tc.auth, tc.pings, len(outs[0]), closed[0], len(outs[1]), closed[1])
		}
		if want := tc.pings <= 481 || tc.auth; (len(outs[1]) > 0) != want {
			t.Errorf("auth=%v %d PINGs: %d bytes of replies", tc.auth, tc.pings, len(outs[1]))
		}
	}
}
