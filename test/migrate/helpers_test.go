package migrate

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/reefkv/reef/internal/testutil"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// do runs one command on p and returns the reply's text, failing the test
// on a connection error (not on an error reply).
func do(t testing.TB, p *testutil.Proc, args ...string) string {
	t.Helper()
	c := testutil.MustDial(t, p.Addr())
	defer c.Close()
	v, err := c.Do(args...)
	if err != nil {
		t.Fatalf("%s %v: %v", p.Addr(), args, err)
	}
	return v.Text()
}

// fixture is one key of every type and encoding the payload format has.
type fixture struct {
	key  string
	cmds [][]string
	// exact: the DUMP bytes are deterministic (no dict order), so a
	// payload survives a round trip byte for byte.
	exact bool
	// live: Reef builds the same layout as Redis from the same commands
	// (quicklist node boundaries after a bulk RPUSH differ, see
	// internal/types).
	live bool
}

func fixtures() []fixture {
	var fx []fixture
	add := func(key string, exact bool, cmds ...[]string) {
		fx = append(fx, fixture{key: key, cmds: cmds, exact: exact, live: exact && key != "list:big"})
	}
	add("str:int", true, []string{"SET", "str:int", "12345"})
	add("str:bigint", true, []string{"SET", "str:bigint", "-9223372036854775808"})
	add("str:raw", true, []string{"SET", "str:raw", "hello world"})
	add("str:lzf", true, []string{"SET", "str:lzf", strings.Repeat("abc", 100)})
	add("str:bin", true, []string{"SET", "str:bin", "\x00\x01\xff\r\n"})
	add("str:empty", true, []string{"SET", "str:empty", ""})
	add("str:ttl", true, []string{"SET", "str:ttl", "v", "PX", "500000"})
	add("list:small", true, []string{"RPUSH", "list:small", "a", "b", "1", "-2", "3.5"})
	big := []string{"RPUSH", "list:big"}
	for i := 0; i < 3000; i++ {
		big = append(big, "element-"+strconv.Itoa(i))
	}
	add("list:big", true, big)
	add("list:huge-elem", true, []string{"RPUSH", "list:huge-elem", strings.Repeat("x", 10000), "y"})
	add("set:intset", true, []string{"SADD", "set:intset", "1", "2", "3", "-100", "70000"})
	hs := []string{"SADD", "set:ht"}
	for i := 0; i < 600; i++ {
		hs = append(hs, "m"+strconv.Itoa(i))
	}
	add("set:ht", false, hs)
	add("set:str", false, []string{"SADD", "set:str", "a", "b", "c"})
	add("hash:lp", true, []string{"HSET", "hash:lp", "f1", "v1", "f2", "2", "f3", ""})
	hh := []string{"HSET", "hash:ht"}
	for i := 0; i < 700; i++ {
		hh = append(hh, "f"+strconv.Itoa(i), "v"+strconv.Itoa(i))
	}
	add("hash:ht", false, hh)
	add("hash:longval", false, []string{"HSET", "hash:longval", "f", strings.Repeat("z", 100)})
	add("zset:lp", true, []string{"ZADD", "zset:lp", "1", "a", "2.5", "b", "-inf", "c", "1e300", "d"})
	zs := []string{"ZADD", "zset:sl"}
	for i := 0; i < 300; i++ {
		zs = append(zs, strconv.Itoa(i*7%300)+".25", "member"+strconv.Itoa(i))
	}
	add("zset:sl", true, zs)
	add("zset:ttl", true, []string{"ZADD", "zset:ttl", "1", "a"}, []string{"PEXPIRE", "zset:ttl", "600000"})
	return fx
}

// loadFixtures writes every fixture to p.
func loadFixtures(t testing.TB, p *testutil.Proc, fx []fixture) {
	t.Helper()
	c := testutil.MustDial(t, p.Addr())
	defer c.Close()
	for _, f := range fx {
		for _, cmd := range f.cmds {
			v, err := c.Do(cmd...)
			if err != nil || v.IsError() {
				t.Fatalf("%s %v: %v %s", p.Addr(), cmd[:2], err, v.Text())
			}
		}
	}
}

// digests returns DEBUG DIGEST-VALUE of keys on p.
func digests(t testing.TB, p *testutil.Proc, keys []string) []string {
	t.Helper()
	c := testutil.MustDial(t, p.Addr())
	defer c.Close()
	v, err := c.Do(append([]string{"DEBUG", "DIGEST-VALUE"}, keys...)...)
	if err != nil || v.IsError() {
		t.Fatalf("DEBUG DIGEST-VALUE on %s: %v %s", p.Addr(), err, v.Text())
	}
	out := make([]string, len(v.Elems))
	for i, e := range v.Elems {
		out[i] = e.Text()
	}
	return out
}

func keysOf(fx []fixture) []string {
	out := make([]string, len(fx))
	for i, f := range fx {
		out[i] = f.key
	}
	return out
}

// waitFor is testutil.WaitFor with a default bound.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	testutil.WaitFor(t, 30*time.Second, what, cond)
}
