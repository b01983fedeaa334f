package server

import (
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/reefkv/reef/internal/resp"
	"github.com/reefkv/reef/internal/testutil"
)

// A slow command does not stall the other clients of its event loop for
// long: the loop watchdog gives them a new runner after 50 ms. With one
// loop (GOMAXPROCS=1) every client shares the slow one's loop. The server
// is first left idle long enough for the watchdog to go to sleep (it does
// after four idle ticks of 25 ms), so that its wake-up is tested too.
func TestSlowCommandDoesNotStallItsLoop(t *testing.T) {
	t.Setenv("GOMAXPROCS", "1")
	p := testutil.StartReef(t, "--enable-debug-command", "yes")
	// POPULATE itself is slow: its client leaves the loop for a goroutine
	// of its own, so KEYS is sent on a fresh connection.
	if v, err := testutil.MustDial(t, p.Addr()).Do("DEBUG", "POPULATE", "2000000"); err != nil || v.Text() != "OK" {
		t.Fatalf("DEBUG POPULATE: %q %v", v.Text(), err)
	}
	slow := testutil.MustDial(t, p.Addr())
	other := testutil.MustDial(t, p.Addr())
	if v, err := other.Do("PING"); err != nil || v.Text() != "PONG" {
		t.Fatalf("PING: %q %v", v.Text(), err)
	}
	time.Sleep(300 * time.Millisecond) // an idle spell: the watchdog sleeps

	// KEYS *nomatch* over two million keys runs for far longer than 50 ms
	// (half a second here); matching none, its reply is small (a big one
	// would leave the loop to be written, and end the test's measure late).
	type keysReply struct {
		at  time.Time
		v   resp.Value
		err error
	}
	keysDone := make(chan keysReply, 1)
	watcher := testutil.MustDial(t, p.Addr())
	for attempt := 1; ; attempt++ {
		if err := slow.WriteRaw(resp.AppendCommand(nil, "KEYS", "*nomatch*")); err != nil {
			t.Fatal(err)
		}
		go func() {
			slow.SetDeadline(time.Now().Add(60 * time.Second))
			v, err := slow.R.ReadReply()
			keysDone <- keysReply{time.Now(), v, err}
		}()
		// Wait until KEYS is running (CLIENT LIST on another connection
		// shows it, and its reply has not come), then ask for a PONG on
		// the same loop. CLIENT LIST keeps showing cmd=keys once KEYS is
		// over: on a machine slow enough for the reply to come first,
		// try again.
		finished := false
		testutil.WaitFor(t, 20*time.Second, "KEYS running", func() bool {
			v, err := watcher.Do("CLIENT", "LIST")
			finished = len(keysDone) > 0
			return finished || err == nil && strings.Contains(v.Text(), " cmd=keys ")
		})
		if !finished {
			break
		}
		if attempt == 3 {
			t.Fatal("KEYS always finished before CLIENT LIST saw it running")
		}
		<-keysDone
	}
	v, err := other.Do("PING")
	pong := time.Now()
	if err != nil || v.Text() != "PONG" {
		t.Fatalf("PING during KEYS: %q %v", v.Text(), err)
	}
	done := <-keysDone
	if done.err != nil || done.v.Kind != resp.KindArray || len(done.v.Elems) != 0 {
		t.Fatalf("KEYS nomatch:*: %d keys, %v", len(done.v.Elems), done.err)
	}
	if done.at.Before(pong) {
		t.Fatalf("PING answered only after KEYS finished (%v after)", pong.Sub(done.at))
	}
}

// An idle node gives back all but one of its Ps (procs.go), and still
// serves every client, on both its event loops.
func TestIdleNodeRunsOnOneP(t *testing.T) {
	if runtime.NumCPU() < 2 {
		t.Skip("one CPU: there is nothing to give back")
	}
	p := testutil.StartReef(t)
	c := testutil.MustDial(t, p.Addr())
	procs := func() string {
		v, err := c.Do("INFO", "server")
		if err != nil {
			t.Fatal(err)
		}
		return testutil.InfoField(v.Text(), "reef_gomaxprocs")
	}
	testutil.WaitFor(t, 20*time.Second, "reef_gomaxprocs:1", func() bool { return procs() == "1" })
	// Clients are spread over the loops by ID: a few consecutive ones
	// land on every loop.
	for i := 0; i < 4; i++ {
		d := testutil.MustDial(t, p.Addr())
		if v, err := d.Do("SET", "k"+strconv.Itoa(i), "v"); err != nil || v.Text() != "OK" {
			t.Fatalf("SET on client %d: %q %v", i, v.Text(), err)
		}
	}
}

// The commands of one pipelined batch take their start time from the end
// of the command before them instead of reading the clock again
// (Client.clockHint): a key whose TTL runs out while a slow command of the
// batch runs must be gone for the command after it.
func TestBatchClockFollowsSlowCommand(t *testing.T) {
	p := testutil.StartReef(t, "--enable-debug-command", "yes", "--slowlog-log-slower-than", "0")
	c := testutil.MustDial(t, p.Addr())
	var buf []byte
	for _, cmd := range [][]string{
		{"SET", "k", "v", "PX", "2"},
		{"DEBUG", "POPULATE", "20000"}, // about 20 ms here, under the loop watchdog's 50
		{"PTTL", "k"},
		{"SLOWLOG", "GET", "2"},
	} {
		buf = resp.AppendCommand(buf, cmd...)
	}
	if err := c.WriteRaw(buf); err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(20 * time.Second))
	var replies []resp.Value
	for i := 0; i < 4; i++ {
		v, err := c.R.ReadReply()
		if err != nil {
			t.Fatalf("reply %d: %v", i, err)
		}
		replies = append(replies, v)
	}
	populateMicros := int64(-1)
	for _, entry := range replies[3].Elems {
		if len(entry.Elems) >= 4 && len(entry.Elems[3].Elems) > 0 && strings.EqualFold(entry.Elems[3].Elems[0].Text(), "debug") {
			populateMicros, _ = strconv.ParseInt(entry.Elems[2].Text(), 10, 64)
		}
	}
	if populateMicros < 3000 {
		t.Fatalf("DEBUG POPULATE took %d µs by SLOWLOG, too little for the 2 ms TTL to run out (replies %v)", populateMicros, replies)
	}
	if got := replies[2].Text(); got != "-2" {
		t.Fatalf("PTTL after a %d µs command = %s, want -2 (the key expired meanwhile)", populateMicros, got)
	}
}
