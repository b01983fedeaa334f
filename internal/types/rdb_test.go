package types_test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/reefkv/reef/internal/keyspace"
	"github.com/reefkv/reef/internal/rdb"
	"github.com/reefkv/reef/internal/repl"
	"github.com/reefkv/reef/internal/testutil"
	"github.com/reefkv/reef/internal/types"
)

// The bridge between the collections and RDB objects (internal/repl's
// ValueToObject / ObjectToValue, used by DUMP, RESTORE, snapshots and full
// syncs), checked two ways for every type and encoding:
//
//   - DUMP payloads written from our values are byte-identical to the ones
//     redis-server 7.0 writes for a value built by the same commands
//     (listpack, intset and quicklist nodes are written as held in memory,
//     so this also checks that our compact encodings are Redis's bytes);
//   - Redis's payloads load back into values with the same contents and
//     OBJECT ENCODING as Redis reports.
//
// Hashtable-encoded hashes and sets are written in dict order, which is
// each server's own: for those the payloads are compared after decoding.

type buildCase struct {
	name string
	cmds [][]string // run on redis; mirrored on our value by apply
	enc  string     // the OBJECT ENCODING Redis must report
}

func cases() []buildCase {
	var out []buildCase
	many := func(prefix string, n int) []string {
		var s []string
		for i := 0; i < n; i++ {
			s = append(s, prefix+strconv.Itoa(i))
		}
		return s
	}
	pairs := func(n int, value func(i int) string) []string {
		var s []string
		for i := 0; i < n; i++ {
			s = append(s, "f"+strconv.Itoa(i), value(i))
		}
		return s
	}
	out = append(out,
		buildCase{"hash-listpack", [][]string{append([]string{"HSET", "k"}, pairs(20, func(i int) string { return strconv.Itoa(i * 1000) })...), {"HSET", "k", "f3", "x"}, {"HDEL", "k", "f5"}}, "listpack"},
		buildCase{"hash-hashtable", [][]string{append([]string{"HSET", "k"}, pairs(600, func(i int) string { return "v" + strconv.Itoa(i) })...)}, "hashtable"},
		buildCase{"hash-longvalue", [][]string{{"HSET", "k", "a", "1", "b", strings.Repeat("x", 100)}}, "hashtable"},
		buildCase{"set-intset", [][]string{append([]string{"SADD", "k"}, "5", "-3", "100000", "70000000000", "1")}, "intset"},
		buildCase{"set-intset16", [][]string{append([]string{"SADD", "k"}, many("", 100)...), {"SREM", "k", "50"}}, "intset"},
		buildCase{"set-hashtable", [][]string{{"SADD", "k", "a", "b", "1"}}, "hashtable"},
		buildCase{"set-big", [][]string{append([]string{"SADD", "k"}, many("", 700)...)}, "hashtable"},
		buildCase{"zset-listpack", [][]string{{"ZADD", "k", "1", "a", "2.5", "b", "-inf", "c", "1e17", "d", "-0", "e", "3", "100"}, {"ZINCRBY", "k", "0.1", "a"}}, "listpack"},
		buildCase{"zset-skiplist", [][]string{append([]string{"ZADD", "k"}, func() []string {
			var s []string
			for i := 0; i < 200; i++ {
				s = append(s, strconv.Itoa(i%17), "m"+strconv.Itoa(i))
			}
			return s
		}()...)}, "skiplist"},
		buildCase{"list-small", [][]string{{"RPUSH", "k", "a", "1", "-5", "bb"}, {"LPUSH", "k", "z"}, {"LINSERT", "k", "AFTER", "1", "x"}}, "quicklist"},
		buildCase{"list-nodes", [][]string{append([]string{"RPUSH", "k"}, many("element:", 3000)...), {"LPOP", "k", "10"}, {"LSET", "k", "100", "changed"}}, "quicklist"},
		buildCase{"list-insert", func() [][]string {
			c := [][]string{append([]string{"RPUSH", "k"}, many("element:", 2500)...)}
			for _, pivot := range []int{0, 1, 626, 627, 628, 700, 1236, 1237, 1238, 2499, 1800} {
				c = append(c, []string{"LINSERT", "k", "BEFORE", "element:" + strconv.Itoa(pivot), "before-" + strconv.Itoa(pivot)})
				c = append(c, []string{"LINSERT", "k", "AFTER", "element:" + strconv.Itoa(pivot), strings.Repeat("a", pivot%90)})
			}
			return c
		}(), "quicklist"},
		buildCase{"list-rem-trim", [][]string{append([]string{"RPUSH", "k"}, many("", 3000)...),
			{"LREM", "k", "0", "7"}, {"LREM", "k", "-2", "100"}, {"LTRIM", "k", "5", "-200"}, {"RPOP", "k", "3"}}, "quicklist"},
		buildCase{"list-bigelems", [][]string{{"RPUSH", "k", strings.Repeat("a", 5000), strings.Repeat("b", 5000), "c"}, {"LPUSH", "k", strings.Repeat("d", 9000)}}, "quicklist"},
	)
	return out
}

// apply builds our value for a case by the same operations (a tiny
// interpreter of the commands used above).
func apply(t *testing.T, cmds [][]string) keyspace.Value {
	return applyFill(t, cmds, "-2")
}

func applyFill(t *testing.T, cmds [][]string, fill string) keyspace.Value {
	lim := types.DefaultLimits()
	lim.ListMaxListpackSize, _ = strconv.Atoi(fill)
	var h *types.Hash
	var s *types.Set
	var z *types.ZSet
	var l *types.List
	b := func(x string) []byte { return []byte(x) }
	for _, c := range cmds {
		args := c[2:]
		if l == nil && h == nil && s == nil && z == nil && c[0] != "RPUSH" && c[0] != "LPUSH" &&
			c[0] != "HSET" && c[0] != "SADD" && c[0] != "ZADD" {
			continue // a no-op on a missing key
		}
		switch c[0] {
		case "HSET":
			if h == nil {
				h = types.NewHash()
			}
			for i := 0; i < len(args); i += 2 {
				h.Set(b(args[i]), b(args[i+1]), &lim)
			}
		case "HDEL":
			h.Delete(b(args[0]))
		case "SADD":
			if s == nil {
				s = types.NewSetFor(b(args[0]))
			}
			for _, m := range args {
				s.Add(b(m), &lim)
			}
		case "SREM":
			s.Remove(b(args[0]))
		case "ZADD", "ZINCRBY":
			if z == nil {
				z = types.NewZSetFor(len(args[1]), &lim)
			}
			flags := 0
			if c[0] == "ZINCRBY" {
				flags = types.ZAddIncr
			}
			for i := 0; i < len(args); i += 2 {
				f, err := strconv.ParseFloat(args[i], 64)
				if err != nil {
					t.Fatal(err)
				}
				z.Add(b(args[i+1]), f, flags, &lim)
			}
		case "RPUSH", "LPUSH":
			if l == nil {
				l = types.NewList(lim.ListMaxListpackSize)
			}
			for _, e := range args {
				l.Push(b(e), c[0] == "LPUSH")
			}
		case "LPOP":
			n, _ := strconv.Atoi(args[0])
			for i := 0; i < n && l.Len() > 0; i++ {
				l.Pop(true)
			}
		case "LSET":
			i, _ := strconv.Atoi(args[0])
			l.Set(i, b(args[1]))
		case "DEL":
			l = nil
		case "LINSERT":
			l.Insert(b(args[1]), b(args[2]), args[0] == "AFTER")
		case "LREM":
			n, _ := strconv.Atoi(args[0])
			l.Rem(b(args[1]), n)
		case "LTRIM":
			start, _ := strconv.Atoi(args[0])
			end, _ := strconv.Atoi(args[1])
			if end < 0 {
				end += l.Len()
			}
			l.DeleteRange(end+1, l.Len()-end-1)
			l.DeleteRange(0, start)
		case "RPOP":
			n, _ := strconv.Atoi(args[0])
			for i := 0; i < n && l.Len() > 0; i++ {
				l.Pop(false)
			}
		default:
			t.Fatalf("apply: %s", c[0])
		}
	}
	switch {
	case h != nil:
		return types.HashValue(h)
	case s != nil:
		return types.SetValue(s)
	case z != nil:
		return types.ZSetValue(z)
	}
	return types.ListValue(l)
}

func TestDumpMatchesRedis(t *testing.T) {
	p := testutil.StartRedis(t)
	c := testutil.MustDial(t, p.Addr())
	lim := types.DefaultLimits()
	rlim := rdb.DefaultLimits()
	for _, tc := range cases() {
		t.Run(tc.name, func(t *testing.T) {
			c.Do("DEL", "k")
			for _, cmd := range tc.cmds {
				if v, err := c.Do(cmd...); err != nil || v.IsError() {
					t.Fatalf("%v: %v %v", cmd, v, err)
				}
			}
			if v, _ := c.Do("OBJECT", "ENCODING", "k"); v.Text() != tc.enc {
				t.Fatalf("redis encoding %q, want %q", v.Text(), tc.enc)
			}
			dv, _ := c.Do("DUMP", "k")
			theirs := []byte(dv.Text())

			ours := apply(t, tc.cmds)
			if got := encodingName(ours); got != tc.enc {
				t.Fatalf("our encoding %q, want %q", got, tc.enc)
			}
			var o rdb.Object
			if !repl.ValueToObject(ours, &o) {
				t.Fatal("ValueToObject refused")
			}
			mine, err := rdb.EncodeDump(&o, nil)
			if err != nil {
				t.Fatal(err)
			}
			if tc.enc != "hashtable" && !bytes.Equal(mine, theirs) {
				t.Fatalf("DUMP payloads differ (%d vs %d bytes): %s", len(mine), len(theirs), describeDiff(mine, theirs))
			}
			// Redis's payload loads into the same contents and encoding.
			ro, err := rdb.DecodeDump(theirs, &rdb.DecodeOptions{Limits: rlim})
			if err != nil {
				t.Fatal(err)
			}
			back, err := repl.ObjectToValue(ro, &lim)
			if err != nil {
				t.Fatal(err)
			}
			if got := encodingName(back); got != tc.enc {
				t.Fatalf("loaded encoding %q, want %q", got, tc.enc)
			}
			if a, b := contents(ours), contents(back); a != b {
				t.Fatalf("contents differ after loading Redis's payload\n ours:   %s\n loaded: %s", a, b)
			}
			// And our payload restores on Redis to the same contents.
			if v, err := c.Do("RESTORE", "k2", "0", string(mine), "REPLACE"); err != nil || v.IsError() {
				t.Fatalf("RESTORE of our payload on redis: %v %v", v, err)
			}
			if a, b := redisContents(t, c, "k"), redisContents(t, c, "k2"); a != b {
				t.Fatalf("redis sees different contents after RESTORE of our payload\n %s\n %s", a, b)
			}
		})
	}
}

func encodingName(v keyspace.Value) string {
	switch v.Type() {
	case keyspace.TypeHash:
		return types.HashOf(&v).Encoding().String()
	case keyspace.TypeSet:
		return types.SetOf(&v).Encoding().String()
	case keyspace.TypeZSet:
		return types.ZSetOf(&v).Encoding().String()
	}
	return types.ListOf(&v).Encoding().String()
}

// contents renders a value canonically (sorted where the order is the
// encoding's own).
func contents(v keyspace.Value) string {
	var parts []string
	switch v.Type() {
	case keyspace.TypeHash:
		types.HashOf(&v).Range(func(f, val types.Str) bool {
			parts = append(parts, types.String(f)+"="+types.String(val))
			return true
		})
		sortStrings(parts)
	case keyspace.TypeSet:
		types.SetOf(&v).Range(func(m types.Str) bool { parts = append(parts, types.String(m)); return true })
		sortStrings(parts)
	case keyspace.TypeZSet:
		types.ZSetOf(&v).Walk(0, false, func(m types.Str, s float64) bool {
			parts = append(parts, fmt.Sprintf("%s:%v", types.String(m), s))
			return true
		})
	default:
		types.ListOf(&v).Walk(0, false, func(_ int, e types.Str) bool { parts = append(parts, types.String(e)); return true })
	}
	return strings.Join(parts, ",")
}

func redisContents(t *testing.T, c *testutil.Conn, key string) string {
	typ, _ := c.Do("TYPE", key)
	var v any
	switch typ.Text() {
	case "hash":
		r, _ := c.Do("HGETALL", key)
		var parts []string
		for i := 0; i+1 < len(r.Elems); i += 2 {
			parts = append(parts, r.Elems[i].Text()+"="+r.Elems[i+1].Text())
		}
		sortStrings(parts)
		v = parts
	case "set":
		r, _ := c.Do("SMEMBERS", key)
		var parts []string
		for _, e := range r.Elems {
			parts = append(parts, e.Text())
		}
		sortStrings(parts)
		v = parts
	case "zset":
		r, _ := c.Do("ZRANGE", key, "0", "-1", "WITHSCORES")
		v = r.Elems
	default:
		r, _ := c.Do("LRANGE", key, "0", "-1")
		v = r.Elems
	}
	enc, _ := c.Do("OBJECT", "ENCODING", key)
	return fmt.Sprint(typ.Text(), enc.Text(), v)
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

// describeDiff summarizes two payloads: where they first differ and, for
// lists, the node layout each describes.
func describeDiff(a, b []byte) string {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	out := fmt.Sprintf("first difference at byte %d", i)
	oa, err1 := rdb.DecodeDump(a, nil)
	ob, err2 := rdb.DecodeDump(b, nil)
	if err1 == nil && err2 == nil && oa.Type == rdb.TypeList {
		nodes := func(o *rdb.Object) string {
			var s []string
			for _, n := range o.ListNodes {
				s = append(s, fmt.Sprintf("%d/%dB", n.Count, len(n.Data)))
			}
			return strings.Join(s, " ")
		}
		out += "\n ours:   " + nodes(oa) + "\n theirs: " + nodes(ob)
	}
	return out
}

// TestListLayoutMatchesRedis drives a list through random pushes, pops,
// inserts (which split and merge quicklist nodes), removals, trims and
// replacements, and after every command requires the same node layout as
// redis-server's (node boundaries are visible in DUMP and RDB bytes).
func TestListLayoutMatchesRedis(t *testing.T) {
	p := testutil.StartRedis(t)
	c := testutil.MustDial(t, p.Addr())
	for _, fill := range []string{"-2", "-1", "5"} {
		c.Do("CONFIG", "SET", "list-max-listpack-size", fill)
		r := rand.New(rand.NewPCG(7, uint64(len(fill))))
		val := func() string {
			switch r.IntN(4) {
			case 0:
				return strconv.Itoa(r.IntN(1000))
			case 1:
				return strings.Repeat("x", r.IntN(300))
			}
			return "e" + strconv.Itoa(r.IntN(400))
		}
		c.Do("DEL", "k")
		var cmds [][]string
		for i := 0; i < 400; i++ {
			var cmd []string
			switch n := r.IntN(10); {
			case n < 3 || len(cmds) == 0:
				cmd = []string{[]string{"RPUSH", "LPUSH"}[r.IntN(2)], "k", val(), val(), val()}
			case n < 6:
				cmd = []string{"LINSERT", "k", []string{"BEFORE", "AFTER"}[r.IntN(2)], val(), val()}
			case n == 6:
				cmd = []string{"LREM", "k", strconv.Itoa(r.IntN(5) - 2), val()}
			case n == 7:
				cmd = []string{"LSET", "k", "0", val()}
			case n == 8:
				cmd = []string{"LPOP", "k", "1"}
			default:
				cmd = []string{"RPOP", "k", "1"}
			}
			if v, _ := c.Do(cmd...); v.IsError() {
				continue // e.g. LSET on a missing key
			}
			cmds = append(cmds, cmd)
			if v, _ := c.Do("EXISTS", "k"); v.Int == 0 {
				cmds = nil
				continue
			}
			dv, _ := c.Do("DUMP", "k")
			theirs, err := rdb.DecodeDump([]byte(dv.Text()), nil)
			if err != nil {
				t.Fatal(err)
			}
			var ours rdb.Object
			repl.ValueToObject(applyFill(t, cmds, fill), &ours)
			if a, b := layout(&ours), layout(theirs); a != b {
				t.Fatalf("fill %s, after %q:\n ours   %s\n theirs %s", fill, cmd, a, b)
			}
		}
	}
}

func layout(o *rdb.Object) string {
	var s []string
	for _, n := range o.ListNodes {
		s = append(s, fmt.Sprintf("%d/%dB", n.Count, len(n.Data)))
	}
	return strings.Join(s, " ")
}
