package server

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/reefkv/reef/internal/testutil"
)

// A node listens on the unix socket unixsocket names, with unixsocketperm,
// also with port 0 (no TCP at all); redis-cli -s reaches it, CLIENT LIST
// shows the client as Redis does (the socket's path, port 0, flag U), and
// the socket file is removed at shutdown.
func TestUnixSocket(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "reef.sock")
	p := startReef(t, dir, 0, "--port", "0", "--save", "", "--unixsocket", sock, "--unixsocketperm", "700")
	testutil.WaitFor(t, 20*time.Second, "the unix socket to answer", func() bool {
		out, err := cli(t, "", "-s", sock, "PING")
		return err == nil && out == "PONG\n"
	})
	st, err := os.Stat(sock)
	if err != nil || st.Mode()&os.ModeSocket == 0 || st.Mode().Perm() != 0o700 {
		t.Fatalf("socket file: %v %v", st, err)
	}
	out, err := cli(t, "", "-s", sock, "CLIENT", "INFO")
	if err != nil {
		t.Fatal(err)
	}
	if !unixClientLine(sock).MatchString(out) {
		t.Fatalf("CLIENT INFO over the unix socket: %q", out)
	}
	// The same line from redis-server, fields up to flags, with its path.
	rdir := t.TempDir()
	rsock := filepath.Join(rdir, "redis.sock")
	testutil.StartRedis(t, "--unixsocket", rsock)
	rout, err := cli(t, "", "-s", rsock, "CLIENT", "INFO")
	if err != nil {
		t.Fatal(err)
	}
	if !unixClientLine(rsock).MatchString(rout) {
		t.Fatalf("redis-server's CLIENT INFO differs from the expected form: %q", rout)
	}
	cli(t, "", "-s", sock, "SHUTDOWN", "NOSAVE")
	if code := p.WaitExit(t, 20*time.Second); code != 0 {
		t.Fatalf("exit code %d", code)
	}
	if _, err := os.Stat(sock); !os.IsNotExist(err) {
		t.Fatalf("the socket file is still there: %v", err)
	}
}

// unixClientLine matches the start of the CLIENT INFO line of a client on
// the unix socket sock, as redis-server 7.0 prints it.
func unixClientLine(sock string) *regexp.Regexp {
	path := regexp.QuoteMeta(sock)
	return regexp.MustCompile(`^id=\d+ addr=` + path + `:0 laddr=` + path + `:0 fd=\d+ name= age=\d+ idle=\d+ flags=U `)
}
