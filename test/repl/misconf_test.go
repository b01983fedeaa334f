package repl

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/reefkv/reef/internal/testutil"
)

// TestBgsaveErrorStopsWrites compares with redis-server what a failed
// background save does under stop-writes-on-bgsave-error (the default):
// writes, and PING, are refused with MISCONF, reads go on, a transaction
// holding a write is aborted; turning the option off, or a save that
// succeeds, lets writes in again. The save fails because the node's dir is
// removed under it (the tests run as root, so permissions would not stop
// it).
func TestBgsaveErrorStopsWrites(t *testing.T) {
	base := t.TempDir()
	type server struct {
		name string
		c    *testutil.Conn
	}
	var servers []server
	for _, s := range []struct {
		name  string
		start func(testing.TB, ...string) *testutil.Proc
	}{{"redis", testutil.StartRedis}, {"reef", testutil.StartReef}} {
		p := s.start(t, "--save", "3600 1", "--enable-protected-configs", "yes")
		c := testutil.MustDial(t, p.Addr())
		dir := filepath.Join(base, s.name)
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if v, err := c.Do("CONFIG", "SET", "dir", dir); err != nil || v.Text() != "OK" {
			t.Fatalf("%s CONFIG SET dir: %q %v", s.name, v.Text(), err)
		}
		if err := os.RemoveAll(dir); err != nil {
			t.Fatal(err)
		}
		if v, err := c.Do("BGSAVE"); err != nil || v.Text() != "Background saving started" {
			t.Fatalf("%s BGSAVE: %q %v", s.name, v.Text(), err)
		}
		testutil.WaitFor(t, 20*time.Second, s.name+"'s background save to fail", func() bool {
			v, err := c.Do("INFO", "persistence")
			return err == nil && testutil.InfoField(v.Text(), "rdb_bgsave_in_progress") == "0" &&
				testutil.InfoField(v.Text(), "rdb_last_bgsave_status") == "err"
		})
		servers = append(servers, server{s.name, c})
	}
	good := filepath.Join(base, "good")
	if err := os.Mkdir(good, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, cmd := range [][]string{
		{"SET", "k", "v"}, {"PING"}, {"GET", "k"}, {"DEL", "k"}, {"ECHO", "x"},
		{"MULTI"}, {"SET", "k", "v"}, {"GET", "k"}, {"EXEC"},
		{"CONFIG", "SET", "stop-writes-on-bgsave-error", "no"}, {"SET", "k", "v"}, {"PING"},
		{"CONFIG", "SET", "stop-writes-on-bgsave-error", "yes"}, {"INCR", "n"},
		{"CONFIG", "SET", "dir", good}, {"SAVE"}, {"INCR", "n"}, {"PING"}, {"GET", "k"},
	} {
		a, err1 := servers[0].c.Do(cmd...)
		b, err2 := servers[1].c.Do(cmd...)
		if err1 != nil || err2 != nil {
			t.Fatalf("%q: %v %v", cmd, err1, err2)
		}
		if a.Text() != b.Text() || a.Kind != b.Kind {
			t.Errorf("%q: redis %q, reef %q", cmd, a.Text(), b.Text())
		}
	}
}
