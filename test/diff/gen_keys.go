package diff

import (
	"bytes"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Generators of the generic key commands, expiry, and error paths.

func keyFamily() Family {
	return Family{Name: "keys", Gens: []Generator{
		{Name: "set", Weight: 10, Cmd: func(g *G) []string { return []string{"SET", g.Key(), g.Value()} }},
		{Name: "del", Weight: 4, Cmd: func(g *G) []string {
			return append([]string{g.Pick("DEL", "UNLINK")}, g.Keys(3)...)
		}},
		{Name: "exists", Weight: 4, Cmd: func(g *G) []string { return append([]string{"EXISTS"}, g.Keys(4)...) }},
		{Name: "type", Weight: 3, Cmd: func(g *G) []string { return []string{"TYPE", g.Key()} }},
		{Name: "touch", Weight: 2, Cmd: func(g *G) []string { return append([]string{"TOUCH"}, g.Keys(3)...) }},
		{Name: "rename", Weight: 4, Cmd: func(g *G) []string {
			return []string{g.Pick("RENAME", "RENAMENX"), g.Key(), g.Key()}
		}},
		{Name: "copy", Weight: 4, Cmd: func(g *G) []string {
			args := []string{"COPY", g.Key(), g.Key()}
			for i := g.R.IntN(3); i > 0; i-- {
				switch g.R.IntN(4) {
				case 0:
					args = append(args, "REPLACE")
				case 1:
					args = append(args, "DB", g.Pick("0", "1", "2", "16", "-1", "x"))
				case 2:
					args = append(args, "DB")
				default:
					args = append(args, g.Pick("replace", "BAD"))
				}
			}
			return args
		}},
		{Name: "move", Weight: 3, Cmd: func(g *G) []string {
			return []string{"MOVE", g.Key(), g.Pick("0", "1", "2", "16", "-1", "x")}
		}},
		{Name: "select", Weight: 3, Cmd: func(g *G) []string {
			return []string{"SELECT", g.Pick("0", "0", "1", "2", "16", "-1", "x", "9999999999")}
		}},
		{Name: "swapdb", Weight: 1, Cmd: func(g *G) []string {
			return []string{"SWAPDB", g.Pick("0", "1", "2", "x", "16"), g.Pick("0", "1", "2", "-1")}
		}},
		{Name: "keys", Weight: 3, Cmd: func(g *G) []string {
			return []string{"KEYS", g.Pick("*", "k*", "k?", "{t}*", "*[12]", "key:[^1]", "*\\*", "[a-k]*", "nomatch", "k\x00*", "\xff*", "[")}
		}, Compare: sortedElems},
		{Name: "scan", Weight: 3, Run: scanStep},
		{Name: "randomkey", Weight: 2, Run: randomkeyStep},
		{Name: "dbsize", Weight: 3, Run: dbsizeStep},
		{Name: "digest", Weight: 3, Run: digestStep},
		{Name: "debugobject", Weight: 2, Cmd: func(g *G) []string { return []string{"DEBUG", "OBJECT", g.Key()} },
			Compare: debugObjectEqual},
		{Name: "object", Weight: 3, Cmd: func(g *G) []string {
			sub := g.Pick("ENCODING", "REFCOUNT", "FREQ", "encoding", "BAD")
			return []string{"OBJECT", sub, g.Key()}
		}},
		{Name: "idletime", Weight: 1, Cmd: func(g *G) []string { return []string{"OBJECT", "IDLETIME", g.Key()} },
			Compare: intClose(2)},
		{Name: "flushdb", Weight: 1, Cmd: func(g *G) []string {
			if g.Chance(3) {
				return []string{g.Pick("FLUSHDB", "FLUSHALL"), g.Pick("ASYNC", "SYNC", "BAD")}
			}
			return []string{"FLUSHDB"}
		}},
		{Name: "incr", Weight: 2, Cmd: func(g *G) []string { return []string{"INCR", g.Key()} }},
		{Name: "arity", Weight: 2, Cmd: func(g *G) []string {
			return g.wrongArity(g.Pick("DEL", "EXISTS", "TYPE", "RENAME", "RENAMENX", "COPY", "MOVE",
				"TOUCH", "DBSIZE", "SWAPDB", "SELECT", "UNLINK", "FLUSHDB"), 3)
		}},
	}}
}

func expiryFamily() Family {
	return Family{Name: "expiry", Gens: []Generator{
		{Name: "set", Weight: 8, Cmd: func(g *G) []string { return []string{"SET", g.Key(), g.Value()} }},
		{Name: "setex", Weight: 4, Cmd: func(g *G) []string {
			return []string{"SET", g.Key(), g.Value(), g.Pick("EX", "PX"), g.Pick("100000", "200000")}
		}},
		{Name: "expire", Weight: 10, Cmd: func(g *G) []string {
			cmd := g.Pick("EXPIRE", "PEXPIRE", "EXPIREAT", "PEXPIREAT")
			var t string
			switch cmd {
			case "EXPIRE":
				t = g.Pick("1000", "2000", "0", "-1", "x", "9223372036854775807", "9223372036854775", "-9223372036854775808")
			case "PEXPIRE":
				t = g.Pick("1000000", "2000000", "0", "-1", "9223372036854775807")
			case "EXPIREAT":
				t = g.Pick(strconv.FormatInt(farFuture()/1000, 10), strconv.FormatInt(farFuture()/1000+100, 10), "1", "0")
			default:
				t = g.Pick(strconv.FormatInt(farFuture(), 10), strconv.FormatInt(farFuture()+5000, 10), "1", "-1")
			}
			args := []string{cmd, g.Key(), t}
			for i := g.R.IntN(3); i > 0 && g.Chance(2); i-- {
				args = append(args, g.Pick("NX", "XX", "GT", "LT", "nx", "BAD"))
			}
			return args
		}},
		{Name: "expiresoon", Weight: 4, Run: func(g *G) error {
			key := g.Key()
			if g.Chance(2) {
				if err := g.Same("SET", key, g.Value()); err != nil {
					return err
				}
			}
			return g.expireSoon(key)
		}},
		{Name: "ttl", Weight: 6, Cmd: func(g *G) []string { return []string{"TTL", g.Key()} }, Compare: intClose(1)},
		{Name: "pttl", Weight: 4, Cmd: func(g *G) []string { return []string{"PTTL", g.Key()} }, Compare: intClose(1500)},
		{Name: "expiretime", Weight: 3, Cmd: func(g *G) []string { return []string{"EXPIRETIME", g.Key()} }, Compare: intClose(1)},
		{Name: "pexpiretime", Weight: 3, Cmd: func(g *G) []string { return []string{"PEXPIRETIME", g.Key()} }, Compare: intClose(1500)},
		{Name: "persist", Weight: 3, Cmd: func(g *G) []string { return []string{"PERSIST", g.Key()} }},
		{Name: "get", Weight: 6, Cmd: func(g *G) []string { return []string{"GET", g.Key()} }},
		{Name: "exists", Weight: 4, Cmd: func(g *G) []string { return append([]string{"EXISTS"}, g.Keys(3)...) }},
		{Name: "getex", Weight: 3, Cmd: func(g *G) []string {
			return append([]string{"GETEX", g.Key()}, g.setOptions(true)...)
		}},
		{Name: "set-keepttl", Weight: 3, Cmd: func(g *G) []string {
			return []string{"SET", g.Key(), g.Value(), g.Pick("KEEPTTL", "GET", "XX")}
		}},
		{Name: "incr", Weight: 3, Cmd: func(g *G) []string { return []string{"INCR", g.Key()} }},
		{Name: "append", Weight: 2, Cmd: func(g *G) []string { return []string{"APPEND", g.Key(), "x"} }},
		{Name: "rename", Weight: 2, Cmd: func(g *G) []string { return []string{"RENAME", g.Key(), g.Key()} }},
		{Name: "copy", Weight: 2, Cmd: func(g *G) []string { return []string{"COPY", g.Key(), g.Key(), "REPLACE"} }},
		{Name: "move", Weight: 1, Cmd: func(g *G) []string { return []string{"MOVE", g.Key(), "1"} }},
		{Name: "select", Weight: 1, Cmd: func(g *G) []string { return []string{"SELECT", g.Pick("0", "1")} }},
		{Name: "dbsize", Weight: 3, Run: dbsizeStep},
		{Name: "digest", Weight: 2, Run: digestStep},
		{Name: "keys", Weight: 2, Cmd: func(g *G) []string { return []string{"KEYS", "*"} }, Compare: sortedElems},
		{Name: "scan", Weight: 2, Run: scanStep},
		{Name: "randomkey", Weight: 1, Run: randomkeyStep},
		{Name: "type", Weight: 2, Cmd: func(g *G) []string { return []string{"TYPE", g.Key()} }},
		{Name: "touch", Weight: 2, Cmd: func(g *G) []string { return append([]string{"TOUCH"}, g.Keys(3)...) }},
		{Name: "del", Weight: 2, Cmd: func(g *G) []string { return append([]string{"DEL"}, g.Keys(2)...) }},
	}}
}

func errorFamily() Family {
	// Commands whose short forms are valid and answer differently on each
	// server by nature (COMMAND, SCAN, TIME, INFO...) are left out.
	cmds := []string{"GET", "SET", "DEL", "EXISTS", "INCR", "PING", "ECHO", "SELECT", "EXPIRE", "TTL", "OBJECT",
		"CLIENT", "CONFIG", "DEBUG", "SETRANGE", "GETEX", "LCS", "BITFIELD", "DBSIZE", "SWAPDB", "MEMORY",
		"SLOWLOG", "LATENCY", "TYPE", "APPEND"}
	return Family{Name: "errors", Gens: []Generator{
		{Name: "set", Weight: 4, Cmd: func(g *G) []string { return []string{"SET", g.Key(), g.Value()} }},
		{Name: "arity", Weight: 10, Cmd: func(g *G) []string {
			name := g.Pick(cmds...)
			if g.Chance(3) {
				name = strings.ToLower(name)
			}
			return g.wrongArity(name, 3)
		}},
		{Name: "unknown", Weight: 3, Cmd: func(g *G) []string {
			return g.wrongArity(g.Pick("NOSUCH", "xyzzy", "GETT", "\x00", "a b", strings.Repeat("z", 200), "get\r\n"), 3)
		}},
		{Name: "unknown-sub", Weight: 3, Cmd: func(g *G) []string {
			return []string{g.Pick("OBJECT", "CLIENT", "CONFIG", "COMMAND", "SLOWLOG", "MEMORY", "LATENCY", "object"),
				g.Pick("NOSUCH", "help", "HELP", "", strings.Repeat("q", 150), "x y")}
		}},
		{Name: "ping", Weight: 2, Cmd: func(g *G) []string {
			return g.wrongArity("PING", 2)
		}},
		{Name: "echo", Weight: 2, Cmd: func(g *G) []string { return []string{"ECHO", g.Value()} }},
		{Name: "wrongtype-ish", Weight: 4, Cmd: func(g *G) []string {
			return []string{g.Pick("INCR", "INCRBYFLOAT", "DECRBY", "SETRANGE", "GETRANGE"), g.Key(), g.Int(), g.Int()}
		}},
		{Name: "hello", Weight: 2, Run: helloStep},
		{Name: "bad-numbers", Weight: 4, Cmd: func(g *G) []string {
			return []string{g.Pick("INCRBY", "DECRBY", "EXPIRE", "SETEX", "GETRANGE", "SELECT", "SWAPDB"), g.Key(), g.Pick(edgeInts...), g.Value()}
		}},
	}}
}

// scanStep runs a whole SCAN iteration on both servers with the same
// options and compares the sets of keys returned (cursors and order are
// each server's own).
func scanStep(g *G) error {
	var opts []string
	if g.Chance(2) {
		opts = append(opts, "MATCH", g.Pick("*", "k*", "{t}*", "key:?", "nomatch"))
	}
	if g.Chance(2) {
		opts = append(opts, "COUNT", g.Pick("1", "3", "10", "100"))
	}
	if g.Chance(3) {
		opts = append(opts, "TYPE", g.Pick("string", "list", "hash", "STRING", "nosuchtype"))
	}
	if g.Chance(20) {
		// Errors must agree byte for byte.
		bad := [][]string{
			{"SCAN", g.Pick("x", " 1", "-", "1.5", "99999999999999999999")},
			{"SCAN", "0", "COUNT", g.Pick("0", "-1", "x")},
			{"SCAN", "0", g.Pick("FOO", "MATCH", "COUNT", "TYPE")},
			{"SCAN", "0", "FOO", "bar"},
		}
		return g.Same(bad[g.R.IntN(len(bad))]...)
	}
	collect := func(c *Conn) ([]string, error) {
		cursor := "0"
		var keys []string
		for i := 0; i < 100000; i++ {
			raw, err := c.Do(append([]string{"SCAN", cursor}, opts...)...)
			if err != nil {
				return nil, err
			}
			r, err := ParseReply(raw)
			if err != nil || r.Type != '*' || len(r.Elems) != 2 {
				return nil, fmt.Errorf("bad SCAN reply %s", Show(raw))
			}
			for _, e := range r.Elems[1].Elems {
				keys = append(keys, e.Str)
			}
			cursor = r.Elems[0].Str
			if cursor == "0" {
				sort.Strings(keys)
				return dedup(keys), nil
			}
		}
		return nil, fmt.Errorf("SCAN did not terminate")
	}
	g.Log = append(g.Log, "SCAN <full iteration> "+Quote(opts))
	a, err := collect(g.Pair.Redis)
	if err != nil {
		return fmt.Errorf("redis: %w", err)
	}
	b, err := collect(g.Pair.Reef)
	if err != nil {
		return fmt.Errorf("reef: %w", err)
	}
	if strings.Join(a, "\x00") != strings.Join(b, "\x00") {
		return fmt.Errorf("SCAN %s key sets differ\n  redis: %q\n  reef:  %q", Quote(opts), a, b)
	}
	return nil
}

func dedup(s []string) []string {
	out := s[:0]
	for i, x := range s {
		if i == 0 || x != s[i-1] {
			out = append(out, x)
		}
	}
	return out
}

// randomkeyStep requires both servers to agree on whether the database is
// empty, and the key each returns to exist.
func randomkeyStep(g *G) error {
	a, b, err := g.Do("RANDOMKEY")
	if err != nil {
		return err
	}
	ra, _ := ParseReply(a)
	rb, _ := ParseReply(b)
	if (ra.Type == '_') != (rb.Type == '_') || ra.Type == '-' || rb.Type == '-' {
		return mismatch([]string{"RANDOMKEY"}, a, b)
	}
	// RANDOMKEY deletes the expired keys it draws, differently on each
	// server: DBSIZE must sweep before comparing.
	g.sinceSweep = true
	if ra.Type == '_' {
		return nil
	}
	// The key each server drew exists on the other one too.
	for _, k := range []string{ra.Str, rb.Str} {
		if err := g.Same("EXISTS", k); err != nil {
			return err
		}
	}
	return nil
}

// debugObjectRe matches the parts of DEBUG OBJECT that are each process's
// own: the value's address and its access clock.
var debugObjectRe = regexp.MustCompile(`^\+Value at:0x[0-9a-f]+ (.*) lru:\d+ lru_seconds_idle:\d+(.*)$`)

// debugObjectEqual compares DEBUG OBJECT replies without the address and
// the LRU fields (refcount, encoding, serializedlength and the quicklist
// details must agree).
func debugObjectEqual(a, b []byte) bool {
	if string(a) == string(b) {
		return true
	}
	ma := debugObjectRe.FindSubmatch(bytes.TrimSuffix(a, []byte("\r\n")))
	mb := debugObjectRe.FindSubmatch(bytes.TrimSuffix(b, []byte("\r\n")))
	return ma != nil && mb != nil && string(ma[1]) == string(mb[1]) && string(ma[2]) == string(mb[2])
}

// digestStep compares DEBUG DIGEST-VALUE of some keys, or DEBUG DIGEST of
// the whole dataset. Both see logically expired keys that are still stored,
// so they sweep first when a RANDOMKEY may have made the servers diverge.
func digestStep(g *G) error {
	if err := g.sweepIfNeeded(); err != nil {
		return err
	}
	if g.Chance(3) {
		return g.Same("DEBUG", "DIGEST")
	}
	return g.Same(append([]string{"DEBUG", "DIGEST-VALUE"}, g.Keys(3)...)...)
}

// sweepIfNeeded runs a full SCAN of every database on both servers (which
// deletes the expired keys it meets) when a RANDOMKEY may have deleted
// different expired keys on each. The connection's database is restored.
func (g *G) sweepIfNeeded() error {
	if !g.sinceSweep {
		return nil
	}
	for _, c := range []*Conn{g.Pair.Redis, g.Pair.Reef} {
		raw, err := c.Do("CLIENT", "INFO")
		if err != nil {
			return err
		}
		r, _ := ParseReply(raw)
		cur := "0"
		for _, f := range strings.Fields(r.Str) {
			if strings.HasPrefix(f, "db=") {
				cur = f[3:]
			}
		}
		for db := 0; db < 16; db++ {
			if _, err := c.Do("SELECT", strconv.Itoa(db)); err != nil {
				return err
			}
			cursor := "0"
			for {
				raw, err := c.Do("SCAN", cursor, "COUNT", "1000")
				if err != nil {
					return err
				}
				r, _ := ParseReply(raw)
				if len(r.Elems) != 2 {
					return fmt.Errorf("bad SCAN reply %s", Show(raw))
				}
				if cursor = r.Elems[0].Str; cursor == "0" {
					break
				}
			}
		}
		if _, err := c.Do("SELECT", cur); err != nil {
			return err
		}
	}
	g.Log = append(g.Log, "(sweep: SCAN of every database on both servers)")
	g.sinceSweep = false
	return nil
}

// dbsizeStep compares DBSIZE, after a full SCAN (which removes expired keys
// on both) when a RANDOMKEY may have made them diverge.
func dbsizeStep(g *G) error {
	if err := g.sweepIfNeeded(); err != nil {
		return err
	}
	err := g.Same("DBSIZE")
	if err != nil {
		// Say which keys differ: KEYS lists stored keys that are not
		// expired without deleting anything.
		a, b, _ := g.Pair.Do("KEYS", "*")
		err = fmt.Errorf("%w\n  redis KEYS *: %s\n  reef KEYS *:  %s", err, Show(a), Show(b))
	}
	return err
}

// helloStep3 switches both connections to RESP3.
func helloStep3(g *G) error {
	for _, c := range []*Conn{g.Pair.Redis, g.Pair.Reef} {
		raw, err := c.Do("HELLO", "3")
		if err != nil {
			return err
		}
		if len(raw) == 0 || raw[0] != '%' {
			return fmt.Errorf("HELLO 3: %s", Show(raw))
		}
	}
	g.Log = append(g.Log, "HELLO 3")
	g.Proto = 3
	return nil
}

// helloStep switches both connections between RESP2 and RESP3, or sends a
// malformed HELLO.
func helloStep(g *G) error {
	if g.Chance(4) {
		return g.Same("HELLO", g.Pick("1", "4", "x", "3 AUTH", "2"), g.Pick("AUTH", "SETNAME", "FOO"))
	}
	proto := g.Pick("2", "3")
	a, b, err := g.Do("HELLO", proto)
	if err != nil {
		return err
	}
	// The replies carry each server's client id and version; compare the
	// parts that must agree.
	ra, err1 := ParseReply(a)
	rb, err2 := ParseReply(b)
	if err1 != nil || err2 != nil || len(ra.Elems) != len(rb.Elems) || ra.Type != rb.Type {
		return mismatch([]string{"HELLO", proto}, a, b)
	}
	for i := 0; i+1 < len(ra.Elems); i += 2 {
		k := ra.Elems[i].Str
		if k != rb.Elems[i].Str {
			return mismatch([]string{"HELLO", proto}, a, b)
		}
		if k == "id" || k == "version" {
			continue
		}
		if fmt.Sprint(ra.Elems[i+1]) != fmt.Sprint(rb.Elems[i+1]) {
			return mismatch([]string{"HELLO", proto}, a, b)
		}
	}
	g.Proto, _ = strconv.Atoi(proto)
	return nil
}
