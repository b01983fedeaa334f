package repl_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/reefkv/reef/internal/rdb"
	"github.com/reefkv/reef/internal/testutil"
)

// TestRedisCliRDB: redis-cli --rdb takes a snapshot over the replication
// protocol (REPLCONF rdb-only 1, then SYNC) and --functions-rdb one without
// the keys (REPLCONF rdb-filter-only functions). The server sends the
// snapshot and then closes the connection, which it does not keep as a
// replica. REPLCONF's answers to bad values are compared with Redis's.
func TestRedisCliRDB(t *testing.T) {
	for _, impl := range []struct {
		name  string
		start func(t *testing.T, args ...string) *node
	}{{"reef", reef}, {"redis", redis}} {
		t.Run(impl.name, func(t *testing.T) {
			n := impl.start(t)
			for _, k := range []string{"a", "b", "c"} {
				n.ok("SET", k, "v")
			}
			dir := t.TempDir()
			full, fn := filepath.Join(dir, "full.rdb"), filepath.Join(dir, "functions.rdb")
			redisCLI(t, "-p", n.port(), "--rdb", full)
			if got := rdbKeys(t, full); got != 3 {
				t.Errorf("--rdb: %d keys, want 3", got)
			}
			redisCLI(t, "-p", n.port(), "--functions-rdb", fn)
			if got := rdbKeys(t, fn); got != 0 {
				t.Errorf("--functions-rdb: %d keys, want 0", got)
			}
			testutil.WaitFor(t, 10*time.Second, "no replica left connected", func() bool {
				return n.info("replication")["connected_slaves"] == "0"
			})

			for _, c := range []struct {
				option, value, want string
			}{
				{"rdb-only", "2", "ERR value is out of range, value must between 0 and 1"},
				{"rdb-only", "x", "ERR value is not an integer or out of range"},
				{"rdb-filter-only", "functions x", "ERR Unsupported rdb-filter-only option: x"},
				{"rdb-filter-only", `"cut`, "ERR Missing rdb-filter-only values"},
				{"rdb-filter-only", "", "OK"},
			} {
				conn := testutil.MustDial(t, n.p.Addr())
				v, err := conn.Do("REPLCONF", c.option, c.value)
				conn.Close()
				if err != nil || v.Text() != c.want {
					t.Errorf("REPLCONF %s %q: %q, %v; want %q", c.option, c.value, v.Text(), err, c.want)
				}
			}
			// A filtered snapshot is sent only to a client that reads an
			// EOF-marked one.
			conn := testutil.MustDial(t, n.p.Addr())
			defer conn.Close()
			conn.Do("REPLCONF", "rdb-filter-only", "functions")
			if v, _ := conn.Do("SYNC"); v.Text() != "ERR Filtered replica requires EOF capability" {
				t.Errorf("SYNC without capa eof: %q", v.Text())
			}
		})
	}
}

// redisCLI runs the real redis-cli, at most a minute.
func redisCLI(t *testing.T, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, testutil.RedisCliPath(t), args...).CombinedOutput()
	if err != nil {
		t.Fatalf("redis-cli %v: %v\n%s", args, err, out)
	}
}

// rdbKeys counts the keys of an RDB file, which must read to its end.
func rdbKeys(t *testing.T, path string) int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := rdb.NewReader(f, nil)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	keys := 0
	for {
		rec, err := r.Next()
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		switch rec.Kind {
		case rdb.RecordKey:
			keys++
		case rdb.RecordEOF:
			return keys
		}
	}
}
