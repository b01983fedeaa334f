package migrate

import (
	"bytes"
	"encoding/binary"
	"strconv"
	"testing"

	"github.com/reefkv/reef/internal/encoding/crc64"
	"github.com/reefkv/reef/internal/resp"
	"github.com/reefkv/reef/internal/testutil"
)

var debugArgs = []string{"--enable-debug-command", "yes"}

// TestDumpRestoreInterop: DUMP on a real redis-server 7.0 restores on Reef
// and the other way round, for every type and encoding, with equal
// DEBUG DIGEST-VALUE, and Reef's payloads are Redis's bytes wherever Redis
// itself is deterministic.
func TestDumpRestoreInterop(t *testing.T) {
	t.Parallel()
	redis := testutil.StartRedis(t, debugArgs...)
	reef := testutil.StartReef(t, debugArgs...)
	fx := fixtures()
	loadFixtures(t, redis, fx)
	loadFixtures(t, reef, fx)
	keys := keysOf(fx)
	want := digests(t, redis, keys)
	if got := digests(t, reef, keys); !equal(got, want) {
		t.Fatalf("digests differ after identical writes:\nreef  %v\nredis %v", got, want)
	}
	rc := testutil.MustDial(t, redis.Addr())
	fc := testutil.MustDial(t, reef.Addr())
	for _, f := range fx {
		dr, err := rc.Do("DUMP", f.key)
		if err != nil {
			t.Fatal(err)
		}
		df, err := fc.Do("DUMP", f.key)
		if err != nil {
			t.Fatal(err)
		}
		if f.live && !bytes.Equal(dr.Str, df.Str) {
			t.Errorf("%s: DUMP differs: reef %d bytes, redis %d bytes, first difference at %d", f.key, len(df.Str), len(dr.Str), firstDiff(df.Str, dr.Str))
		}
		// Cross restore under a new name, both directions.
		for _, c := range []struct {
			conn    *testutil.Conn
			payload []byte
		}{{fc, dr.Str}, {rc, df.Str}} {
			v, err := c.conn.Do("RESTORE", "x:"+f.key, "0", string(c.payload))
			if err != nil || v.Text() != "OK" {
				t.Fatalf("%s: RESTORE: %v %s", f.key, err, v.Text())
			}
		}
	}
	// A payload restored on Reef dumps back to the same bytes (layouts
	// such as quicklist node boundaries survive the round trip).
	for _, f := range fx {
		if !f.exact {
			continue
		}
		dr, _ := rc.Do("DUMP", f.key)
		df, _ := fc.Do("DUMP", "x:"+f.key)
		if !bytes.Equal(dr.Str, df.Str) {
			t.Errorf("%s: restored on reef, DUMP differs: reef %d bytes, redis %d bytes, first difference at %d", f.key, len(df.Str), len(dr.Str), firstDiff(df.Str, dr.Str))
		}
	}
	xkeys := make([]string, len(keys))
	for i, k := range keys {
		xkeys[i] = "x:" + k
	}
	// TTLs were not restored (ttl 0): digests ignore the expiry only when
	// both agree, so compare the persistent copies with each other.
	if a, b := digests(t, reef, xkeys), digests(t, redis, xkeys); !equal(a, b) {
		t.Fatalf("restored digests differ:\nreef  %v\nredis %v", a, b)
	}
	for i, f := range fx {
		if a, b := digests(t, reef, []string{"x:" + f.key}), digests(t, redis, []string{f.key}); a[0] != b[0] && !hasTTL(f) {
			t.Errorf("%s: restored on reef %s, original %s", f.key, a[0], b[0])
		}
		_ = i
	}
}

func hasTTL(f fixture) bool {
	for _, c := range f.cmds {
		for _, a := range c {
			if a == "PX" || a == "PEXPIRE" {
				return true
			}
		}
	}
	return false
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestRestoreErrors compares RESTORE/DUMP replies with redis-server's for
// bad options, busy keys, TTLs and damaged payloads.
func TestRestoreErrors(t *testing.T) {
	t.Parallel()
	redis := testutil.StartRedis(t, debugArgs...)
	reef := testutil.StartReef(t, debugArgs...)
	rc := testutil.MustDial(t, redis.Addr())
	fc := testutil.MustDial(t, reef.Addr())
	both := func(args ...string) {
		t.Helper()
		a, err1 := rc.Do(args...)
		b, err2 := fc.Do(args...)
		if err1 != nil || err2 != nil {
			t.Fatalf("%v: %v %v", args, err1, err2)
		}
		if a.Text() != b.Text() || a.IsError() != b.IsError() {
			t.Errorf("%q:\nredis %q\nreef  %q", args, a.Text(), b.Text())
		}
	}
	both("SET", "s", "hello")
	both("HSET", "h", "a", "1")
	d, _ := rc.Do("DUMP", "s")
	p := string(d.Str)
	hd, _ := rc.Do("DUMP", "h")
	hp := string(hd.Str)
	both("DUMP", "missing")
	both("RESTORE", "s", "0", p)
	both("RESTORE", "s", "x", p)
	both("RESTORE", "new", "x", p)
	both("RESTORE", "new", "-1", p)
	both("RESTORE", "new", "0", p, "BOGUS")
	both("RESTORE", "new", "0", p, "IDLETIME")
	both("RESTORE", "new", "0", p, "IDLETIME", "x")
	both("RESTORE", "new", "0", p, "IDLETIME", "-1")
	both("RESTORE", "new", "0", p, "FREQ", "256")
	both("RESTORE", "new", "0", p, "FREQ", "1", "IDLETIME", "1")
	both("RESTORE", "new", "0", "short")
	both("RESTORE", "new", "0", "")
	// Version too new, checksum wrong, type unknown, truncated value.
	bad := []byte(p)
	bad[len(bad)-10] = 11
	both("RESTORE", "new", "0", string(bad))
	bad = []byte(p)
	bad[2] ^= 1
	both("RESTORE", "new", "0", string(bad))
	both("RESTORE", "new", "0", string(withCRC([]byte{200, 1, 'a', 10, 0})))
	both("RESTORE", "new", "0", string(withCRC([]byte{0, 5, 'a', 10, 0})))
	both("RESTORE", "new", "0", string(withCRC([]byte{2, 0, 10, 0})))
	both("RESTORE", "new", "0", p, "IDLETIME", "100")
	both("OBJECT", "IDLETIME", "new")
	// Huge idle times wrap in Redis's arithmetic (the scaling overflows,
	// the 24-bit field keeps its low bits). The two servers' LRU clocks may
	// tick a second apart, hence the tolerance of one.
	for _, idle := range []string{"16777215", "16777300", "1000000000000", "4294967296000", "9223372036854775", "9223372036854775807"} {
		both("RESTORE", "big", "0", p, "IDLETIME", idle, "REPLACE")
		a, _ := rc.Do("OBJECT", "IDLETIME", "big")
		b, _ := fc.Do("OBJECT", "IDLETIME", "big")
		if d := a.Int - b.Int; d < -1 || d > 1 || a.IsError() || b.IsError() {
			t.Errorf("RESTORE IDLETIME %s: OBJECT IDLETIME redis %q reef %q", idle, a.Text(), b.Text())
		}
	}
	both("RESTORE", "s", "0", hp, "REPLACE")
	both("TYPE", "s")
	both("RESTORE", "exp", "1", p, "ABSTTL")
	both("EXISTS", "exp")
	both("RESTORE", "s", "1", p, "ABSTTL", "REPLACE")
	both("EXISTS", "s")
	both("RESTORE", "t", "100000", p)
	both("RESTORE", "t2", "99999999999999", p, "ABSTTL")
	both("PEXPIRETIME", "t2")
	both("RESTORE-ASKING", "ra", "0", p)
	both("GET", "ra")
}

// withCRC appends a version-10 footer's CRC-64 to a body that already
// ends with its 2-byte version.
func withCRC(body []byte) []byte {
	return append(body, crc64LE(body)...)
}

// TestMigrateInterop moves every type between Reef and a real redis-server
// 7.0 with MIGRATE, both directions, single key and KEYS forms, with COPY,
// REPLACE, AUTH and AUTH2; digests are unchanged and errors are Redis's.
func TestMigrateInterop(t *testing.T) {
	t.Parallel()
	redis := testutil.StartRedis(t, append(debugArgs, "--requirepass", "pw")...)
	reef := testutil.StartReef(t, append(debugArgs, "--requirepass", "pw")...)
	fx := fixtures()
	keys := keysOf(fx)
	auth := func(p *testutil.Proc) *testutil.Conn {
		c := testutil.MustDial(t, p.Addr())
		if v, err := c.Do("AUTH", "pw"); err != nil || v.Text() != "OK" {
			t.Fatalf("AUTH: %v %v", err, v.Text())
		}
		return c
	}
	rc, fc := auth(redis), auth(reef)
	loadVia(t, rc, fx)
	want := digestsVia(t, rc, keys)

	// redis -> reef, KEYS form with AUTH.
	args := append([]string{"MIGRATE", "127.0.0.1", strconv.Itoa(reef.Port), "", "0", "5000", "AUTH", "pw", "KEYS"}, keys...)
	if v, _ := rc.Do(args...); v.Text() != "OK" {
		t.Fatalf("redis MIGRATE to reef: %s", v.Text())
	}
	if got := digestsVia(t, fc, keys); !equal(got, want) {
		t.Fatalf("after redis->reef:\nreef %v\nwant %v", got, want)
	}
	if v, _ := rc.Do("DBSIZE"); v.Int != 0 {
		t.Fatalf("redis still holds %d keys", v.Int)
	}
	// reef -> redis, one key at a time with AUTH2 default.
	for _, k := range keys {
		v, _ := fc.Do("MIGRATE", "127.0.0.1", strconv.Itoa(redis.Port), k, "0", "5000", "AUTH2", "default", "pw")
		if v.Text() != "OK" {
			t.Fatalf("reef MIGRATE %s to redis: %s", k, v.Text())
		}
	}
	if got := digestsVia(t, rc, keys); !equal(got, want) {
		t.Fatalf("after reef->redis:\nredis %v\nwant  %v", got, want)
	}
	if v, _ := fc.Do("DBSIZE"); v.Int != 0 {
		t.Fatalf("reef still holds %d keys", v.Int)
	}
	// COPY back to reef, then the same again: BUSYKEY unless REPLACE.
	for _, c := range []struct {
		from *testutil.Conn
		to   *testutil.Proc
	}{{rc, reef}, {fc, redis}} {
		base := []string{"MIGRATE", "127.0.0.1", strconv.Itoa(c.to.Port), "", "0", "5000", "AUTH", "pw"}
		v, _ := c.from.Do(append(append(append([]string{}, base...), "COPY", "KEYS"), keys...)...)
		if c.from == rc && v.Text() != "OK" {
			t.Fatalf("COPY: %s", v.Text())
		}
		v, _ = c.from.Do(append(append(append([]string{}, base...), "COPY", "KEYS"), keys...)...)
		if v.Text() != "ERR Target instance replied with error: BUSYKEY Target key name already exists." {
			t.Fatalf("second COPY: %q", v.Text())
		}
		v, _ = c.from.Do(append(append(append([]string{}, base...), "COPY", "REPLACE", "KEYS"), keys...)...)
		if v.Text() != "OK" {
			t.Fatalf("COPY REPLACE: %q", v.Text())
		}
	}
	if got := digestsVia(t, fc, keys); !equal(got, want) {
		t.Fatalf("after COPY:\nreef %v\nwant %v", got, want)
	}
	// Errors, compared with redis-server's.
	closed := testutil.FreePort(t)
	for _, args := range [][]string{
		{"MIGRATE", "127.0.0.1", strconv.Itoa(closed), "str:raw", "0", "100"},
		{"MIGRATE", "127.0.0.1", strconv.Itoa(closed), "nokey", "0", "100"},
		{"MIGRATE", "127.0.0.1", "1", "str:raw", "x", "100"},
		{"MIGRATE", "127.0.0.1", "1", "str:raw", "0", "x"},
		{"MIGRATE", "127.0.0.1", "1", "str:raw", "0", "100", "KEYS", "a"},
		{"MIGRATE", "127.0.0.1", "1", "str:raw", "0", "100", "AUTH"},
		{"MIGRATE", "127.0.0.1", "1", "str:raw", "0", "100", "AUTH2", "u"},
		{"MIGRATE", "127.0.0.1", "1", "str:raw", "0", "100", "BOGUS"},
		{"MIGRATE", "127.0.0.1", "1", "", "0", "100", "KEYS", "nokey1", "nokey2"},
		{"MIGRATE", "127.0.0.1", strconv.Itoa(reef.Port), "str:raw", "0", "1000", "COPY", "REPLACE", "AUTH", "wrong"},
	} {
		a, _ := rc.Do(args...)
		b, _ := fc.Do(args...)
		if a.Text() != b.Text() {
			t.Errorf("%q:\nredis %q\nreef  %q", args, a.Text(), b.Text())
		}
	}
}

func loadVia(t *testing.T, c *testutil.Conn, fx []fixture) {
	t.Helper()
	for _, f := range fx {
		for _, cmd := range f.cmds {
			if v, err := c.Do(cmd...); err != nil || v.IsError() {
				t.Fatalf("%v: %v %s", cmd[:2], err, v.Text())
			}
		}
	}
}

func digestsVia(t *testing.T, c *testutil.Conn, keys []string) []string {
	t.Helper()
	v, err := c.Do(append([]string{"DEBUG", "DIGEST-VALUE"}, keys...)...)
	if err != nil || v.IsError() {
		t.Fatalf("DEBUG DIGEST-VALUE: %v %s", err, v.Text())
	}
	out := make([]string, len(v.Elems))
	for i, e := range v.Elems {
		out[i] = e.Text()
	}
	return out
}

func crc64LE(b []byte) []byte {
	return binary.LittleEndian.AppendUint64(nil, crc64.Checksum(b))
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// TestAccessDataSurvivesReload compares with redis-server what an RDB file
// keeps of a key's access data: the idle time under an LRU policy and the
// LFU counter under an LFU one are saved with each key and restored on
// load (DEBUG RELOAD saves and loads). The two servers' clocks may tick a
// second (or an LFU minute) apart between the commands, hence the
// tolerance of one.
func TestAccessDataSurvivesReload(t *testing.T) {
	t.Parallel()
	redis := testutil.StartRedis(t, debugArgs...)
	reef := testutil.StartReef(t, debugArgs...)
	rc := testutil.MustDial(t, redis.Addr())
	fc := testutil.MustDial(t, reef.Addr())
	both := func(args ...string) (a, b resp.Value) {
		t.Helper()
		a, err1 := rc.Do(args...)
		b, err2 := fc.Do(args...)
		if err1 != nil || err2 != nil || a.IsError() || b.IsError() {
			t.Fatalf("%q: %v %v %q %q", args, err1, err2, a.Text(), b.Text())
		}
		return a, b
	}
	near := func(what string, a, b resp.Value, want int64) {
		t.Helper()
		if d := a.Int - b.Int; d < -1 || d > 1 || a.Int < want-1 || a.Int > want+1 {
			t.Errorf("%s: redis %d reef %d, want about %d", what, a.Int, b.Int, want)
		}
	}
	both("SET", "s", "hello")
	d, _ := rc.Do("DUMP", "s")
	p := string(d.Str)
	for _, policy := range []string{"allkeys-lru", "volatile-lfu", "noeviction"} {
		both("CONFIG", "SET", "maxmemory-policy", policy)
		both("RESTORE", "idle", "0", p, "IDLETIME", "1000", "REPLACE")
		both("RESTORE", "freq", "0", p, "FREQ", "100", "REPLACE")
		both("DEBUG", "RELOAD")
		if policy == "volatile-lfu" {
			a, b := both("OBJECT", "FREQ", "freq")
			near(policy+" OBJECT FREQ after reload", a, b, 100)
			continue
		}
		a, b := both("OBJECT", "IDLETIME", "idle")
		want := int64(1000)
		if policy == "noeviction" {
			want = 0 // nothing saved: the key is as new as the load
		}
		near(policy+" OBJECT IDLETIME after reload", a, b, want)
	}
}
