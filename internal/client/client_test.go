package client

import (
	"errors"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/reefkv/reef/internal/resp"
	"github.com/reefkv/reef/internal/slot"
	"github.com/reefkv/reef/internal/testutil"
)

func TestConnDoAndPipeline(t *testing.T) {
	t.Parallel()
	p := testutil.StartRedis(t)
	c, err := Dial(p.Addr(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if v, err := c.Do("SET", "k", "v"); err != nil || v.Text() != "OK" {
		t.Fatalf("SET: %v %q", err, v.Text())
	}
	if v, _ := c.Do("GET", "k"); v.Kind != resp.KindBulk || v.Text() != "v" {
		t.Fatalf("GET: %+v", v)
	}
	if v, _ := c.Do("GET", "missing"); !v.IsNull() {
		t.Fatalf("GET missing: %+v", v)
	}
	// An error reply is a value, and the connection stays usable.
	v, err := c.Do("NOSUCH")
	if err != nil || !v.IsError() || !strings.HasPrefix(v.Text(), "ERR unknown command") {
		t.Fatalf("error reply: %v %+v", err, v)
	}
	if _, err := c.DoOK("NOSUCH"); err == nil {
		t.Fatal("DoOK returned no error for an error reply")
	}
	cmds := make([][]string, 100)
	for i := range cmds {
		cmds[i] = []string{"INCR", "n"}
	}
	rs, err := c.Pipeline(cmds)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range rs {
		if r.Int != int64(i+1) {
			t.Fatalf("pipelined reply %d = %d", i, r.Int)
		}
	}
	if c.Pending() != 0 {
		t.Fatalf("pending %d after pipeline", c.Pending())
	}
	// Binary-safe arguments.
	bin := []byte("a\x00b\r\n")
	if _, err := c.DoBytes([]byte("SET"), []byte("bin"), bin); err != nil {
		t.Fatal(err)
	}
	if v, _ := c.Do("GET", "bin"); string(v.Str) != string(bin) {
		t.Fatalf("binary value %q", v.Str)
	}
}

func TestConnAuthDBAndProtocol(t *testing.T) {
	t.Parallel()
	p := testutil.StartRedis(t, "--requirepass", "pw")
	_, err := Dial(p.Addr(), Options{Password: "wrong"})
	var he *HandshakeError
	if !errors.As(err, &he) || he.Step != "AUTH" || !strings.HasPrefix(he.Reply, "WRONGPASS") {
		t.Fatalf("wrong password: %v", err)
	}
	c, err := Dial(p.Addr(), Options{Password: "pw", DB: 3, Protocol: 3, Name: "reef-test"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.HelloReply.Kind != resp.KindMap {
		t.Fatalf("HELLO 3 reply kind %c", c.HelloReply.Kind)
	}
	c.Do("HSET", "h", "f", "v")
	if v, _ := c.Do("HGETALL", "h"); v.Kind != resp.KindMap {
		t.Fatalf("RESP3 HGETALL kind %c", v.Kind)
	}
	if v, _ := c.Do("CLIENT", "INFO"); !strings.Contains(v.Text(), "db=3") || !strings.Contains(v.Text(), "name=reef-test") {
		t.Fatalf("CLIENT INFO: %s", v.Text())
	}
	u, err := Dial(p.Addr(), Options{User: "default", Password: "pw"})
	if err != nil {
		t.Fatalf("AUTH user pass: %v", err)
	}
	u.Close()
}

func TestConnTimeout(t *testing.T) {
	t.Parallel()
	p := testutil.StartRedis(t, "--enable-debug-command", "yes")
	c, err := Dial(p.Addr(), Options{Timeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Do("DEBUG", "SLEEP", "0.5"); err == nil {
		t.Fatal("no timeout error")
	}
	if !c.Closed() {
		t.Fatal("connection not closed after a timeout")
	}
	if _, err := c.Do("PING"); !errors.Is(err, ErrClosed) {
		t.Fatalf("call on closed connection: %v", err)
	}
}

func TestParseRedirectAndAddr(t *testing.T) {
	for _, c := range []struct {
		in   string
		want Redirect
		ok   bool
	}{
		{"MOVED 3999 127.0.0.1:6381", Redirect{Slot: 3999, Addr: "127.0.0.1:6381"}, true},
		{"ASK 12 ::1:7000", Redirect{Ask: true, Slot: 12, Addr: "::1:7000"}, true},
		{"ERR nope", Redirect{}, false},
		{"MOVED x 1:2", Redirect{}, false},
	} {
		got, ok := ParseRedirect(resp.Value{Kind: resp.KindError, Str: []byte(c.in)})
		if ok != c.ok || got != c.want {
			t.Errorf("ParseRedirect(%q) = %+v %v", c.in, got, ok)
		}
	}
	if h, p, err := SplitHostPort("::1:7000"); err != nil || h != "::1" || p != 7000 {
		t.Errorf("SplitHostPort ipv6: %q %d %v", h, p, err)
	}
	if JoinHostPort("::1", 7000) != "[::1]:7000" || JoinHostPort("10.0.0.1", 1) != "10.0.0.1:1" {
		t.Error("JoinHostPort")
	}
}

// startCluster makes a 3-master Redis cluster with redis-cli.
func startCluster(t *testing.T) []*testutil.Proc {
	t.Helper()
	var ps []*testutil.Proc
	args := []string{"--cluster", "create"}
	for i := 0; i < 3; i++ {
		p := testutil.StartRedis(t, "--cluster-enabled", "yes", "--cluster-node-timeout", "1500")
		ps = append(ps, p)
		args = append(args, p.Addr())
	}
	out, err := exec.Command(testutil.RedisCliPath(t), append(args, "--cluster-yes")...).CombinedOutput()
	if err != nil {
		t.Fatalf("create: %v\n%s", err, out)
	}
	testutil.WaitFor(t, 30*time.Second, "cluster ok", func() bool {
		for _, p := range ps {
			c, err := Dial(p.Addr(), Options{})
			if err != nil {
				return false
			}
			v, _ := c.Do("CLUSTER", "INFO")
			c.Close()
			if !strings.Contains(v.Text(), "cluster_state:ok") {
				return false
			}
		}
		return true
	})
	return ps
}

func must(t *testing.T, addr string, args ...string) resp.Value {
	t.Helper()
	c, err := Dial(addr, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	v, err := c.DoOK(args...)
	if err != nil {
		t.Fatalf("%v on %s: %v", args, addr, err)
	}
	return v
}

// TestClusterRoutesAndFollowsRedirects writes keys of many slots, then
// migrates the slot of "foo" by hand: while it is open the client must
// follow ASK (with ASKING), and once moved it must follow MOVED and update
// its slot map.
func TestClusterRoutesAndFollowsRedirects(t *testing.T) {
	t.Parallel()
	ps := startCluster(t)
	cl, err := NewCluster([]string{ps[0].Addr()}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var redirects []Redirect
	cl.OnRedirect = func(r Redirect) { redirects = append(redirects, r) }
	for i := 0; i < 200; i++ {
		k := "key" + strconv.Itoa(i)
		if v, err := cl.Do("SET", k, "v"+k); err != nil || v.IsError() {
			t.Fatalf("SET %s: %v %s", k, err, v.Text())
		}
	}
	if len(redirects) != 0 {
		t.Fatalf("redirected with a fresh map: %v", redirects)
	}
	if len(cl.Masters()) != 3 {
		t.Fatalf("masters %v", cl.Masters())
	}
	s := slot.OfString("foo")
	src := cl.SlotOwner(s)
	var dst string
	for _, p := range ps {
		if p.Addr() != src {
			dst = p.Addr()
			break
		}
	}
	srcID, dstID := must(t, src, "CLUSTER", "MYID").Text(), must(t, dst, "CLUSTER", "MYID").Text()
	cl.Do("SET", "foo", "bar")
	must(t, dst, "CLUSTER", "SETSLOT", strconv.Itoa(s), "IMPORTING", srcID)
	must(t, src, "CLUSTER", "SETSLOT", strconv.Itoa(s), "MIGRATING", dstID)
	_, port, _ := SplitHostPort(dst)
	must(t, src, "MIGRATE", "127.0.0.1", strconv.Itoa(port), "foo", "0", "5000")
	if v, err := cl.Do("GET", "foo"); err != nil || v.Text() != "bar" {
		t.Fatalf("GET during migration: %v %q", err, v.Text())
	}
	if len(redirects) != 1 || !redirects[0].Ask || redirects[0].Addr != dst {
		t.Fatalf("want one ASK to %s, got %+v", dst, redirects)
	}
	for _, p := range ps {
		must(t, p.Addr(), "CLUSTER", "SETSLOT", strconv.Itoa(s), "NODE", dstID)
	}
	redirects = nil
	if v, err := cl.Do("GET", "foo"); err != nil || v.Text() != "bar" {
		t.Fatalf("GET after migration: %v %q", err, v.Text())
	}
	if len(redirects) != 1 || redirects[0].Ask || redirects[0].Addr != dst || cl.SlotOwner(s) != dst {
		t.Fatalf("want one MOVED to %s and an updated map, got %+v owner %s", dst, redirects, cl.SlotOwner(s))
	}
	for i := 0; i < 200; i++ {
		k := "key" + strconv.Itoa(i)
		if v, _ := cl.Do("GET", k); v.Text() != "v"+k {
			t.Fatalf("GET %s = %q", k, v.Text())
		}
	}
}
