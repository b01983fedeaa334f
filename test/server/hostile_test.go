package server

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/reefkv/reef/internal/resp"
	"github.com/reefkv/reef/internal/testutil"
)

// TestProtocolErrorsLikeRedis sends malformed and unusual requests to a
// real redis-server and to reef-server and requires the same bytes back
// and the same decision to close the connection.
func TestProtocolErrorsLikeRedis(t *testing.T) {
	redis := testutil.StartRedis(t)
	reef := testutil.StartReef(t)
	cases := []string{
		"*2147483647\r\n",                // accepted, waits for arguments
		"*2147483648\r\n",                // invalid multibulk length
		"*1\r\n$4294967295\r\n",          // invalid bulk length
		"*1\r\n$536870912\r\n",           // proto-max-bulk-len itself: waits
		"*1\r\n$536870913\r\n",           // one past it
		"*1\r\n$-1\r\n",                  // negative bulk
		"*1\r\nx\r\n",                    // expected '$', got 'x'
		"*x\r\n",                         //
		"*1\r\n$x\r\n",                   //
		"*-1\r\nPING\r\n",                // empty multibulk is skipped
		"*0\r\nPING\r\n",                 //
		"\r\n\r\nPING\r\n",               // empty inline lines are skipped
		"   \r\nPING\r\n",                //
		"PING\n",                         // bare LF ends an inline command
		"PING \"unbalanced\r\n",          // unbalanced quotes
		"ECHO 'it''s'\r\n",               //
		"ECHO \"a\\x41\\n\"\r\nPING\r\n", // escapes in inline quotes
		"PING\r\n*x\r\nPING\r\n",         // replies before the error are sent
		"*2\r\n$4\r\nECHO\r\n$3\r\nabc\r\n*1\r\n$4\r\nPING\r\n", // pipelined
		"*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\nbXX\r\nGET a\r\n",  // CRLF after a bulk is not checked
		strings.Repeat("a", 64*1024+1),                          // too big inline request
		"*" + strings.Repeat("1", 64*1024+1),                    // too big mbulk count string
		"*1\r\n$" + strings.Repeat("1", 64*1024+1),              // too big bulk count string
		"*1\r\n$4\r\nPING\r\n*1\r\n$4\r\nPI",                    // the rest of a command never comes
		"NOSUCH\r\n",
		"\x00\x01\x02\r\n",
		// Keyed commands parsed ahead in one batch (to prefetch) run and
		// are answered before the malformed one after them.
		"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\n1\r\n*2\r\n$4\r\nINCR\r\n$1\r\nk\r\n*1\r\n!x\r\n",
	}
	for _, in := range cases {
		name := strconv.Quote(in)
		if len(name) > 60 {
			name = name[:60] + "..."
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var a, b []byte
			var aClosed, bClosed bool
			var wg sync.WaitGroup
			wg.Add(2)
			go func() { defer wg.Done(); a, aClosed = rawExchange(t, redis.Addr(), []byte(in), 300*time.Millisecond) }()
			go func() { defer wg.Done(); b, bClosed = rawExchange(t, reef.Addr(), []byte(in), 300*time.Millisecond) }()
			wg.Wait()
			if string(a) != string(b) || aClosed != bClosed {
				t.Fatalf("redis: %q closed=%v\nreef:  %q closed=%v", a, aClosed, b, bClosed)
			}
		})
	}
}

// TestQueryBufferLimit: a request that outgrows client-query-buffer-limit
// closes the connection without a reply, as in Redis; the server lives on.
func TestQueryBufferLimit(t *testing.T) {
	for _, server := range []string{"redis", "reef"} {
		t.Run(server, func(t *testing.T) {
			start := testutil.StartReef
			if server == "redis" {
				start = testutil.StartRedis
			}
			p := start(t, "--client-query-buffer-limit", "1mb")
			for _, in := range [][]byte{
				append([]byte("*1\r\n$2000000\r\n"), make([]byte, 1500000)...),
				append([]byte("*2\r\n$3\r\nGET\r\n$1500000\r\n"), make([]byte, 1200000)...),
			} {
				c, err := net.Dial("tcp", p.Addr())
				if err != nil {
					t.Fatal(err)
				}
				c.Write(in) // may fail once the server has closed
				out, closed := readUntilQuiet(c, 3*time.Second)
				c.Close()
				if len(out) != 0 || !closed {
					t.Fatalf("got %q closed=%v, want a silent close", out, closed)
				}
			}
			if out, _ := rawLine(t, p.Addr(), []byte("PING\r\n"), 5*time.Second); string(out) != "+PONG\r\n" {
				t.Fatalf("server not serving after: %q", out)
			}
		})
	}
}

// TestHalfSentCommands: clients that send part of a command (or a huge
// length header) and stop must not delay anybody else nor make the server
// allocate what they announced.
func TestHalfSentCommands(t *testing.T) {
	p := testutil.StartReef(t)
	pid := p.Cmd.Process.Pid
	before := procRSS(t, pid)
	var held []net.Conn
	hold := func(in string) net.Conn {
		c, err := net.Dial("tcp", p.Addr())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		if _, err := c.Write([]byte(in)); err != nil {
			t.Fatal(err)
		}
		held = append(held, c)
		return c
	}
	half := hold("*3\r\n$3\r\nSET\r\n$4\r\nhalf\r\n$5\r\nhel")
	for i := 0; i < 10; i++ {
		hold("*2\r\n$3\r\nGET\r\n$536870912\r\n" + strings.Repeat("x", 1000))
	}
	hold("*2147483647\r\n")
	hold("*1\r\n$4\r\nPI")
	hold("GET inline-without-newline")

	c := testutil.MustDial(t, p.Addr())
	start := time.Now()
	for i := 0; i < 200; i++ {
		k := "k" + strconv.Itoa(i)
		if v, err := c.Do("SET", k, "v"); err != nil || v.Text() != "OK" {
			t.Fatalf("SET while others hang: %v %v", v, err)
		}
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("200 commands took %v with half-sent commands around", d)
	}
	grown := rssGrown(t, pid, before)
	if grown > 64<<20 {
		t.Fatalf("RSS grew by %d MB for a few announced-but-unsent 512 MB bulks", grown>>20)
	}
	// The half-sent SET completes when its bytes arrive.
	half.Write([]byte("lo\r\n"))
	half.SetReadDeadline(time.Now().Add(5 * time.Second))
	out := make([]byte, 5)
	if _, err := io.ReadFull(half, out); err != nil || string(out) != "+OK\r\n" {
		t.Fatalf("completed half command: %q", out)
	}
	if v, _ := c.Do("GET", "half"); v.Text() != "hello" {
		t.Fatalf("GET half = %q", v.Text())
	}
}

// raiseNofile raises this process's open-file limit to n (or the hard
// limit); servers started afterwards inherit it.
func raiseNofile(t *testing.T, n uint64) uint64 {
	t.Helper()
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	old := lim
	if lim.Cur < n {
		lim.Cur = min(n, lim.Max)
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { syscall.Setrlimit(syscall.RLIMIT_NOFILE, &old) })
	}
	return lim.Cur
}

// TestManyIdleConnections opens 10 000 connections that stay idle (some
// after one command, some mid-command) and requires the server to keep
// serving promptly with bounded memory.
func TestManyIdleConnections(t *testing.T) {
	const n = 10000
	if got := raiseNofile(t, 2*n+1000); got < n+500 {
		t.Fatalf("RLIMIT_NOFILE is %d; %d idle connections need more", got, n)
	}
	p := testutil.StartReef(t, "--maxclients", strconv.Itoa(n+100))
	pid := p.Cmd.Process.Pid
	before := procRSS(t, pid)
	conns := make([]net.Conn, n)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; i < n; i += 8 {
				c, err := net.DialTimeout("tcp", p.Addr(), 10*time.Second)
				if err != nil {
					errs <- fmt.Errorf("dial %d: %w", i, err)
					return
				}
				conns[i] = c
				switch i % 3 {
				case 0:
					c.Write([]byte("PING\r\n"))
				case 1:
					c.Write([]byte("*2\r\n$3\r\nGET\r\n$3\r\nab"))
				}
			}
		}(w)
	}
	wg.Wait()
	t.Cleanup(func() {
		for _, c := range conns {
			if c != nil {
				c.Close()
			}
		}
	})
	select {
	case err := <-errs:
		t.Fatal(err)
	default:
	}
	c := testutil.MustDial(t, p.Addr())
	testutil.WaitFor(t, 30*time.Second, "all idle clients accepted", func() bool {
		v, err := c.Do("INFO", "clients")
		return err == nil && strings.Contains(v.Text(), "connected_clients:"+strconv.Itoa(n+1)+"\r\n")
	})
	start := time.Now()
	for i := 0; i < 100; i++ {
		if v, err := c.Do("INCR", "counter"); err != nil || v.Int != int64(i+1) {
			t.Fatalf("INCR with %d idle clients: %v %v", n, v, err)
		}
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("100 commands took %v with %d idle clients", d, n)
	}
	grown := rssGrown(t, pid, before)
	t.Logf("RSS grew %d KB for %d idle clients (%.1f KB each)", grown>>10, n, float64(grown)/1024/n)
	// Redis needs about 4 KB per idle client; allow a goroutine stack and
	// buffers, but not a per-client allocation that scales with input.
	if grown > int64(n)*32<<10 {
		t.Fatalf("RSS grew by %d MB for %d idle clients", grown>>20, n)
	}
	// The PINGs of the first third were answered.
	buf := make([]byte, 16)
	conns[0].SetReadDeadline(time.Now().Add(5 * time.Second))
	if m, err := conns[0].Read(buf); err != nil || string(buf[:m]) != "+PONG\r\n" {
		t.Fatalf("idle client's PING: %q %v", buf[:m], err)
	}
}

// TestProtoMaxBulkLen: a smaller proto-max-bulk-len bounds request
// arguments and the strings APPEND, SETRANGE and SETBIT may build, with
// Redis's errors.
func TestProtoMaxBulkLen(t *testing.T) {
	redis := testutil.StartRedis(t, "--proto-max-bulk-len", "1mb")
	reef := testutil.StartReef(t, "--proto-max-bulk-len", "1mb")
	for _, in := range []string{
		"*2\r\n$4\r\nECHO\r\n$1048577\r\n",
		"*2\r\n$4\r\nECHO\r\n$1048576\r\n",
		"SETRANGE k 1048576 x\r\nSETRANGE k 1048575 x\r\nSTRLEN k\r\n",
		"SETBIT b 8388608 1\r\nSETBIT b 8388607 1\r\nSTRLEN b\r\n",
		"BITFIELD f SET u8 8388608 1\r\nBITFIELD f SET u8 #1048575 1\r\n",
		"SET a x\r\nAPPEND a " + strings.Repeat("y", 1000) + "\r\n",
		// LCS's table (4 bytes a cell) may not exceed it either.
		"SET a " + strings.Repeat("a", 511) + "\r\nSET b " + strings.Repeat("a", 511) + "\r\nLCS a b LEN\r\n",
		"SET a " + strings.Repeat("a", 512) + "\r\nSET b " + strings.Repeat("a", 512) + "\r\nLCS a b LEN\r\n",
	} {
		var a, b []byte
		var aClosed, bClosed bool
		var wg sync.WaitGroup
		wg.Add(2)
		go func() { defer wg.Done(); a, aClosed = rawExchange(t, redis.Addr(), []byte(in), 300*time.Millisecond) }()
		go func() { defer wg.Done(); b, bClosed = rawExchange(t, reef.Addr(), []byte(in), 300*time.Millisecond) }()
		wg.Wait()
		if string(a) != string(b) || aClosed != bClosed {
			t.Errorf("%q\n  redis: %q closed=%v\n  reef:  %q closed=%v", in, a, aClosed, b, bClosed)
		}
	}
}

// TestUnauthenticatedFlood is the scorecard's T14 flood: with requirepass
// set, 1,000 unauthenticated connections, a quarter each announcing a
// 2^31-element request, announcing a 100 kB bulk (over the 16 kB allowed
// before AUTH), trickling a command a byte at a time (slowloris), and
// pipelining PINGs without ever reading the replies (CVE-2025-21605); then,
// with the announcers closed and the 500 others still at it, an
// authenticated client keeps reading and writing. The announcers get
// Redis's errors and are closed; the pingers are closed once their unsent
// replies pass 16 kB, as Redis 7.0.15 with the CVE's fix closes them; the
// server's RSS grows by at most 64 MB; the good client's commands all
// succeed (its latency is logged: a benchmark figure, not asserted).
func TestUnauthenticatedFlood(t *testing.T) {
	if got := raiseNofile(t, 4096); got < 2000 {
		t.Fatalf("RLIMIT_NOFILE is %d; the flood needs about 1,000 connections on each side", got)
	}
	p := testutil.StartReef(t, "--requirepass", "secret")
	pid := p.Cmd.Process.Pid
	before := procRSS(t, pid)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	defer func() {
		close(stop)
		wg.Wait()
	}()
	dial := func() net.Conn { return testutil.MustDial(t, p.Addr()).Conn }
	expectClose := func(c net.Conn, in, want string) {
		c.Write([]byte(in))
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		got, err := io.ReadAll(c)
		if string(got) != want || errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("after %q: %q (%v), want %q and a close", in, got, err, want)
		}
	}
	var announcers []net.Conn
	for i := 0; i < 250; i++ {
		announcers = append(announcers, dial(), dial())
	}
	unreadPings, pingersClosed := int64(0), 0
	var mu sync.Mutex
	for i := 0; i < 250; i++ {
		slow := dial()
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n"
			for j := 0; ; j = (j + 1) % len(cmd) {
				select {
				case <-stop:
					return
				case <-time.After(100 * time.Millisecond):
				}
				slow.Write([]byte{cmd[j]})
			}
		}()
		pinger := dial()
		wg.Add(1)
		go func() {
			defer wg.Done()
			chunk := []byte(strings.Repeat("PING\r\n", 1000))
			for {
				select {
				case <-stop:
					return
				default:
				}
				// Writes stop completing once the server stops reading.
				pinger.SetWriteDeadline(time.Now().Add(200 * time.Millisecond))
				n, err := pinger.Write(chunk)
				mu.Lock()
				unreadPings += int64(n / 6)
				mu.Unlock()
				if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
					mu.Lock()
					pingersClosed++ // by the server
					mu.Unlock()
					return
				}
			}
		}()
	}
	for i, c := range announcers {
		if i%2 == 0 {
			expectClose(c, "*2147483647\r\n", "-ERR Protocol error: unauthenticated multibulk length\r\n")
		} else {
			expectClose(c, "*1\r\n$100000\r\n", "-ERR Protocol error: unauthenticated bulk length\r\n")
		}
	}

	good := testutil.MustDial(t, p.Addr())
	if v, err := good.Do("AUTH", "secret"); err != nil || v.Text() != "OK" {
		t.Fatalf("AUTH: %v %v", v, err)
	}
	var lat []time.Duration
	deadline := time.Now().Add(3 * time.Second)
	for i := 0; time.Now().Before(deadline); i++ {
		start := time.Now()
		k := "good:" + strconv.Itoa(i%100)
		if v, err := good.Do("SET", k, "v"); err != nil || v.Text() != "OK" {
			t.Fatalf("SET during the flood: %v %v", v, err)
		}
		if v, err := good.Do("GET", k); err != nil || v.Text() != "v" {
			t.Fatalf("GET during the flood: %v %v", v, err)
		}
		lat = append(lat, time.Since(start))
	}
	slices.Sort(lat)
	grown := rssGrown(t, pid, before)
	testutil.WaitFor(t, 10*time.Second, "every pinger closed by the server", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return pingersClosed == 250
	})
	mu.Lock()
	pings := unreadPings
	mu.Unlock()
	t.Logf("flood: %d SET+GET pairs in 3 s, p50 %v p99 %v max %v; %d PINGs written (most into socket buffers) before the pingers were closed; RSS +%d MB",
		len(lat), lat[len(lat)/2], lat[len(lat)*99/100], lat[len(lat)-1], pings, grown>>20)
	if grown > 64<<20 {
		t.Errorf("RSS grew by %d MB under the unauthenticated flood", grown>>20)
	}
}

// TestMillionArguments: an authenticated client sends one request of a
// million arguments (an SADD of 999,998 members) and then deletes the set;
// both get their replies, the server's RSS stays within a few hundred
// bytes per argument, and another client is served meanwhile.
func TestMillionArguments(t *testing.T) {
	p := testutil.StartReef(t)
	pid := p.Cmd.Process.Pid
	before := procRSS(t, pid)
	const members = 999998
	var req []byte
	req = append(req, "*1000000\r\n$4\r\nSADD\r\n$3\r\nbig\r\n"...)
	for i := 0; i < members; i++ {
		m := strconv.Itoa(i)
		req = append(req, '$')
		req = strconv.AppendInt(req, int64(len(m)), 10)
		req = append(req, "\r\n"...)
		req = append(req, m...)
		req = append(req, "\r\n"...)
	}
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	done := make(chan error, 1)
	go func() {
		_, err := c.Write(req)
		done <- err
	}()
	other := testutil.MustDial(t, p.Addr())
	for i := 0; i < 100; i++ {
		if v, err := other.Do("SET", "other", strconv.Itoa(i)); err != nil || v.Text() != "OK" {
			t.Fatalf("another client during the big request: %v %v", v, err)
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(60 * time.Second))
	r := resp.NewReplyReader(c)
	if v, err := r.ReadReply(); err != nil || v.Int != members {
		t.Fatalf("SADD of %d members: %v %v", members, v, err)
	}
	grown := rssGrown(t, pid, before)
	t.Logf("RSS +%d MB after a %d MB request of a million arguments", grown>>20, len(req)>>20)
	if grown > 300<<20 {
		t.Errorf("RSS grew by %d MB for a %d MB request", grown>>20, len(req)>>20)
	}
	if v, err := other.Do("SCARD", "big"); err != nil || v.Int != members {
		t.Fatalf("SCARD: %v %v", v, err)
	}
	if v, err := other.Do("DEL", "big"); err != nil || v.Int != 1 {
		t.Fatalf("DEL: %v %v", v, err)
	}
}

// TestNeverReadingClient: an authenticated client pipelines GETs of a
// 1 MB value and never reads the replies. Reef stops reading its requests
// once the socket is full (Redis, with its unlimited normal-client output
// buffer, would keep queueing replies), so RSS stays bounded, and another
// client is served meanwhile.
func TestNeverReadingClient(t *testing.T) {
	p := testutil.StartReef(t)
	pid := p.Cmd.Process.Pid
	other := testutil.MustDial(t, p.Addr())
	if v, err := other.Do("SET", "big", strings.Repeat("x", 1<<20)); err != nil || v.Text() != "OK" {
		t.Fatalf("SET big: %v %v", v, err)
	}
	before := procRSS(t, pid)
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// Requests are written until a write stalls for 500 ms: the server
	// has stopped reading (its socket buffers and ours are full). Up to
	// 100 MB of them: 10^7 GETs, 10 TB of replies.
	sent := 0
	stalled := false
	chunk := []byte(strings.Repeat("GET big\r\n", 10000))
	for i := 0; i < 1000 && !stalled; i++ {
		c.SetWriteDeadline(time.Now().Add(500 * time.Millisecond))
		n, err := c.Write(chunk)
		sent += n / 9
		if err != nil {
			if !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("write: %v", err)
			}
			stalled = true
		}
	}
	if !stalled {
		t.Fatalf("the server read %d GETs of 1 MB without ever stopping", sent)
	}
	for i := 0; i < 100; i++ {
		if v, err := other.Do("INCR", "counter"); err != nil || v.Int != int64(i+1) {
			t.Fatalf("INCR while a client does not read: %v %v", v, err)
		}
	}
	grown := rssGrown(t, pid, before)
	t.Logf("%d GETs of 1 MB sent (the server stopped reading them) and never read; RSS +%d MB", sent, grown>>20)
	if grown > 64<<20 {
		t.Errorf("RSS grew by %d MB for a client that does not read", grown>>20)
	}
}
