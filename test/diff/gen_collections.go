package diff

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Shared vocabulary and comparison steps of the collection families (hash,
// list, set, zset). Collection replies are compared byte for byte except
// where the order or the choice is each server's own: the order of a
// hashtable-encoded hash or set (compared as multisets, but only after
// checking that Redis reports the hashtable encoding: listpack and intset
// orders must match exactly), random picks (SPOP, SRANDMEMBER, HRANDFIELD,
// ZRANDMEMBER: sizes, and contents when the whole collection is returned),
// and SCAN cursors (whole iterations compared as sets).

// memberNames collide often; numbers exercise intsets and listpack
// integers.
var memberNames = []string{"a", "b", "c", "d", "e", "f", "g", "h", "1", "2", "3", "10", "-1", "0", "007", "1.5", "x y", "\x00", "\xff", ""}

// Member returns a collection member or hash field.
func (g *G) Member() string {
	switch g.R.IntN(12) {
	case 0:
		return g.Int()
	case 1:
		return g.Bytes(1 + g.R.IntN(6))
	case 2:
		if g.Chance(4) {
			return g.Bytes(60 + g.R.IntN(10)) // around the 64-byte listpack value limit
		}
		return strconv.Itoa(g.R.IntN(600))
	}
	return memberNames[g.R.IntN(len(memberNames))]
}

// Members returns 1..n members.
func (g *G) Members(n int) []string {
	k := 1 + g.R.IntN(n)
	out := make([]string, k)
	for i := range out {
		out[i] = g.Member()
	}
	return out
}

// Count returns a COUNT-like argument: small of both signs, sometimes huge
// or invalid.
func (g *G) Count() string {
	if g.Chance(8) {
		return g.Pick("0", "-1", "1000", "9223372036854775807", "-9223372036854775808", "-9223372036854775807", "x", "1.5", "4611686018427387904")
	}
	return strconv.Itoa(g.R.IntN(12) - 3)
}

// RCount is Count for random picks (HRANDFIELD, SRANDMEMBER, ...), whose
// negative counts are served in full: never hugely negative.
func (g *G) RCount() string {
	if g.Chance(8) {
		return g.Pick("0", "-40", "1000", "9223372036854775807", "-9223372036854775808", "x", "1.5", "4611686018427387904")
	}
	return strconv.Itoa(g.R.IntN(12) - 3)
}

// Timeout returns a blocking timeout that never blocks long: the servers
// run each blocking command only on keys that exist, or with a tiny wait.
func (g *G) Timeout() string {
	return g.Pick("0.01", "0.002", "-1", "x", "inf", "1e400", "-inf", "0x1p-8", " 1", "")
}

// encodingOf asks Redis for key's encoding.
func (g *G) encodingOf(key string) string {
	raw, err := g.Pair.Redis.Do("OBJECT", "ENCODING", key)
	if err != nil {
		return ""
	}
	r, err := ParseReply(raw)
	if err != nil {
		return ""
	}
	return r.Str
}

// unorderedIfHashtable sends args and compares replies exactly, or as
// multisets (pairs: as pairs) when Redis reports that key is a hashtable,
// whose order is each server's own.
func unorderedIfHashtable(g *G, key string, pairs bool, args ...string) error {
	a, b, err := g.Do(args...)
	if err != nil {
		return err
	}
	if string(a) == string(b) {
		return nil
	}
	if g.encodingOf(key) == "hashtable" {
		eq := sortedElems
		if pairs {
			eq = sortedPairs
		}
		if eq(a, b) || sortedNested(a, b) {
			return nil
		}
	}
	return mismatch(args, a, b)
}

// sortedNested compares two arrays of arrays (RESP3 pair replies) as
// multisets.
func sortedNested(a, b []byte) bool {
	ra, err1 := ParseReply(a)
	rb, err2 := ParseReply(b)
	if err1 != nil || err2 != nil || ra.Type != rb.Type || len(ra.Elems) != len(rb.Elems) {
		return false
	}
	flat := func(r Reply) []string {
		var out []string
		for _, e := range r.Elems {
			out = append(out, fmt.Sprint(e))
		}
		sort.Strings(out)
		return out
	}
	return strings.Join(flat(ra), "\x01") == strings.Join(flat(rb), "\x01")
}

// sortUnstable runs a SORT whose order may legitimately differ: BY
// without '*' on a hashtable set keeps the set's own order, and ALPHA
// compares C strings (strcoll), so elements equal up to a NUL ("" and
// "\x00...") tie, and ties keep each server's own dict order for sets and
// sorted sets.
func sortUnstable(g *G, key string, args ...string) error {
	a, b, err := g.Do(args...)
	if err != nil {
		return err
	}
	if string(a) == string(b) {
		return nil
	}
	if string(a) == "-ERR One or more scores can't be converted into double\r\n" && (b[0] == '*' || b[0] == ':') {
		// Redis tests errno == ERANGE after strtod without clearing errno
		// first, so an earlier overflow anywhere in the process (a ZADD of
		// 1e400...) fails later numeric SORTs; Reef does not copy that.
		// A STORE then wrote its destination on Reef only: drop it on both
		// so that the keyspaces agree again.
		for i := 2; i+1 < len(args); i++ {
			if strings.EqualFold(args[i], "STORE") {
				g.Pair.Redis.Do("DEL", args[i+1])
				g.Pair.Reef.Do("DEL", args[i+1])
			}
		}
		return nil
	}
	if hasLimitedSort(args) && sameShape(a, b) {
		// With LIMIT, Redis sorts with its own partial quicksort (pqsort),
		// which orders equal elements (equal BY weights, or strings equal
		// up to a NUL under ALPHA's strcoll) in an order of its own: which
		// of the tied elements fall inside the window is not reproduced.
		return nil
	}
	if unordered(a, b) {
		if g.encodingOf(key) == "hashtable" {
			return nil
		}
		if t, err := g.Pair.Redis.Do("TYPE", key); err == nil && string(t) == "+zset\r\n" && hasBy(args) {
			// Redis loads a sorted set's elements from its dict, whatever
			// the encoding (SORT converts a listpack first), so elements
			// with equal BY weights come out in each server's own hash
			// order. (Without BY there are no ties: equal numbers compare
			// as strings.)
			return nil
		}
		if cStringsEqual(a, b) {
			// The order differs only among elements equal as C strings
			// ("b" and "b\x00x" tie under ALPHA's strcoll), which each
			// server's sort leaves in an order of its own.
			return nil
		}
	}
	return mismatch(args, a, b)
}

// cStringsEqual reports two array replies whose elements, each cut at its
// first NUL, are equal one by one.
func cStringsEqual(a, b []byte) bool {
	ra, errA := ParseReply(a)
	rb, errB := ParseReply(b)
	if errA != nil || errB != nil || len(ra.Elems) != len(rb.Elems) {
		return false
	}
	cut := func(s string) string {
		if i := strings.IndexByte(s, 0); i >= 0 {
			return s[:i]
		}
		return s
	}
	for i := range ra.Elems {
		if cut(ra.Elems[i].Str) != cut(rb.Elems[i].Str) {
			return false
		}
	}
	return true
}

// hasBy reports a SORT with a BY pattern that looks keys up (one with a
// '*'; without one, Redis does not sort and the order is the key's own).
func hasBy(args []string) bool {
	for i, a := range args {
		if strings.EqualFold(a, "BY") && i+1 < len(args) && strings.Contains(args[i+1], "*") {
			return true
		}
	}
	return false
}

// hasLimitedSort reports a SORT with LIMIT whose order may have ties (a BY
// pattern or ALPHA).
func hasLimitedSort(args []string) bool {
	limit, tie := false, false
	for _, a := range args {
		switch strings.ToUpper(a) {
		case "LIMIT":
			limit = true
		case "BY", "ALPHA":
			tie = true
		}
	}
	return limit && tie
}

// unordered compares replies as multisets (set algebra results, whose
// order follows each server's own hash tables).
func unordered(a, b []byte) bool { return sortedElems(a, b) || sortedNested(a, b) }

// sameShape accepts two replies of the same type and length: random picks.
func sameShape(a, b []byte) bool {
	if string(a) == string(b) {
		return true
	}
	ra, err1 := ParseReply(a)
	rb, err2 := ParseReply(b)
	if err1 != nil || err2 != nil || ra.Type != rb.Type || len(ra.Elems) != len(rb.Elems) {
		return false
	}
	if ra.Type == '-' {
		return ra.Str == rb.Str
	}
	for i := range ra.Elems {
		if ra.Elems[i].Type != rb.Elems[i].Type || len(ra.Elems[i].Elems) != len(rb.Elems[i].Elems) {
			return false
		}
	}
	return true
}

// randomPick compares the replies of a random-pick command: identical
// shape, and when count is positive and at least the size, the same
// contents (the whole collection).
func randomPick(g *G, key string, args ...string) error {
	a, b, err := g.Do(args...)
	if err != nil {
		return err
	}
	if string(a) == string(b) || unordered(a, b) {
		return nil
	}
	if !sameShape(a, b) {
		return mismatch(args, a, b)
	}
	if len(args) >= 3 {
		n, err := strconv.ParseInt(args[2], 10, 64)
		if err == nil && n > 0 {
			ra, _ := ParseReply(a)
			if ra.Type == '*' && int64(len(ra.Elems)) < n && !(len(args) == 4 && int64(len(ra.Elems)) == 2*n) {
				// Fewer than asked: the whole collection, same contents.
				return mismatch(args, a, b)
			}
		}
	}
	return nil
}

// scanAll runs a whole HSCAN/SSCAN/ZSCAN iteration on both servers and
// compares the element sets; a listpack or intset (cursor 0 at once) must
// match exactly.
func scanAll(g *G, cmd, key string, pairs bool) error {
	var opts []string
	if g.Chance(2) {
		opts = append(opts, "MATCH", g.Pick("*", "a*", "1*", "?", "*[a-c]*", "nomatch"))
	}
	if g.Chance(2) {
		opts = append(opts, "COUNT", g.Pick("1", "3", "10", "100"))
	}
	if g.Chance(12) {
		bad := [][]string{
			{cmd, key, g.Pick("x", " 1", "1.5", "99999999999999999999")},
			{cmd, key, "0", "COUNT", g.Pick("0", "-1", "x")},
			{cmd, key, "0", g.Pick("FOO", "MATCH", "COUNT", "TYPE")},
			{cmd, key, "0", "TYPE", "string"},
		}
		return g.Same(bad[g.R.IntN(len(bad))]...)
	}
	first := append([]string{cmd, key, "0"}, opts...)
	a, b, err := g.Do(first...)
	if err != nil {
		return err
	}
	if string(a) == string(b) {
		return nil
	}
	ra, err1 := ParseReply(a)
	rb, err2 := ParseReply(b)
	if err1 != nil || err2 != nil || ra.Type != '*' || rb.Type != '*' || len(ra.Elems) != 2 || len(rb.Elems) != 2 {
		return mismatch(first, a, b)
	}
	collect := func(c *Conn, r Reply) ([]string, error) {
		var items []string
		for n := 0; ; n++ {
			es := r.Elems[1].Elems
			step := 1
			if pairs {
				step = 2
			}
			for i := 0; i+step-1 < len(es); i += step {
				s := es[i].Str
				if pairs {
					score := es[i+1].Str
					if score == "-0" {
						// The sign of a zero score can follow the order
						// of equal-sized inputs, which Redis's qsort
						// leaves to itself (ZUNIONSTORE ... AGGREGATE
						// MIN/MAX of 0 and -0).
						score = "0"
					}
					s += "=" + score
				}
				items = append(items, s)
			}
			if r.Elems[0].Str == "0" {
				break
			}
			if n > 100000 {
				return nil, fmt.Errorf("%s did not terminate", cmd)
			}
			raw, err := c.Do(append([]string{cmd, key, r.Elems[0].Str}, opts...)...)
			if err != nil {
				return nil, err
			}
			if r, err = ParseReply(raw); err != nil || len(r.Elems) != 2 {
				return nil, fmt.Errorf("bad %s reply %s", cmd, Show(raw))
			}
		}
		sort.Strings(items)
		return dedup(items), nil
	}
	if g.encodingOf(key) != "hashtable" && g.encodingOf(key) != "skiplist" {
		return mismatch(first, a, b)
	}
	g.Log = append(g.Log, cmd+" <full iteration> "+Quote(opts))
	x, err := collect(g.Pair.Redis, ra)
	if err != nil {
		return err
	}
	y, err := collect(g.Pair.Reef, rb)
	if err != nil {
		return err
	}
	if strings.Join(x, "\x00") != strings.Join(y, "\x00") {
		return fmt.Errorf("%s %s element sets differ\n  redis: %q\n  reef:  %q", cmd, Quote(opts), x, y)
	}
	return nil
}

// thresholdStep moves both servers' encoding thresholds, so conversions
// happen with small collections too, and back to the defaults.
func thresholdStep(g *G) error {
	params := map[string][]string{
		"hash-max-listpack-entries": {"4", "16", "512"},
		"hash-max-listpack-value":   {"8", "64"},
		"set-max-intset-entries":    {"4", "16", "512"},
		"zset-max-listpack-entries": {"0", "4", "16", "128"},
		"zset-max-listpack-value":   {"8", "64"},
		"list-max-listpack-size":    {"-2", "4", "-1"},
	}
	names := make([]string, 0, len(params))
	for n := range params {
		names = append(names, n)
	}
	sort.Strings(names)
	n := names[g.R.IntN(len(names))]
	return g.Same("CONFIG", "SET", n, g.Pick(params[n]...))
}

// protoStep switches both connections between RESP2 and RESP3 (HELLO
// replies differ by connection id, so they are not compared).
func protoStep(g *G) error {
	p := g.Pick("2", "3")
	g.Log = append(g.Log, "HELLO "+p+" (unchecked)")
	if _, _, err := g.Pair.Do("HELLO", p); err != nil {
		return err
	}
	g.Proto, _ = strconv.Atoi(p)
	return nil
}

// popResync runs a command that removes random elements (SPOP): the
// replies must have the same shape, then the key is deleted on both sides
// (unchecked) since their contents now differ.
func popResync(g *G, key string, args ...string) error {
	a, b, err := g.Do(args...)
	if err != nil {
		return err
	}
	if string(a) != string(b) && !unordered(a, b) && !sameShape(a, b) {
		return mismatch(args, a, b)
	}
	if string(a) != string(b) {
		g.Log = append(g.Log, "DEL "+Quote([]string{key})+" (random pop: resync, unchecked)")
		if _, _, err := g.Pair.Do("DEL", key); err != nil {
			return err
		}
	}
	return nil
}

// collectionCommon are generators every collection family shares.
func collectionCommon() []Generator {
	return []Generator{
		{Name: "encoding", Weight: 3, Cmd: func(g *G) []string { return []string{"OBJECT", "ENCODING", g.Key()} }},
		{Name: "type", Weight: 1, Cmd: func(g *G) []string { return []string{"TYPE", g.Key()} }},
		{Name: "del", Weight: 2, Cmd: func(g *G) []string { return append([]string{"DEL"}, g.Keys(2)...) }},
		{Name: "set", Weight: 1, Cmd: func(g *G) []string { return []string{"SET", g.Key(), g.Value()} }},
		{Name: "exists", Weight: 1, Cmd: func(g *G) []string { return append([]string{"EXISTS"}, g.Keys(3)...) }},
		{Name: "rename", Weight: 1, Cmd: func(g *G) []string { return []string{"RENAME", g.Key(), g.Key()} }},
		{Name: "copy", Weight: 1, Cmd: func(g *G) []string { return []string{"COPY", g.Key(), g.Key(), "REPLACE"} }},
		{Name: "thresholds", Weight: 1, Run: thresholdStep},
		{Name: "proto", Weight: 1, Run: protoStep},
	}
}
