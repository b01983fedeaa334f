package diff

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Generator produces one step of a stream: usually one command (Cmd) whose
// raw replies must be identical, or a custom multi-command step (Run).
type Generator struct {
	Name   string
	Weight int
	// Cmd returns the command to send to both servers.
	Cmd func(g *G) []string
	// Compare, when set, replaces byte equality for replies that are random
	// or time-dependent by nature. It reports whether they agree.
	Compare func(redis, reef []byte) bool
	// Run, when set, is the whole step: it sends what it wants through
	// g.Do (which records the commands for the failure report) and returns
	// an error describing a mismatch.
	Run func(g *G) error
}

// Family is a named set of generators.
type Family struct {
	Name string
	Gens []Generator
}

// families lists the streams TestDiff runs, each alone and all of them
// mixed: every command family, and transactions made of their commands.
func families() []Family { return append(baseFamilies(), txFamily()) }

// baseFamilies lists the command families. Add new data types here.
func baseFamilies() []Family {
	return []Family{
		stringFamily(),
		bitFamily(),
		keyFamily(),
		expiryFamily(),
		errorFamily(),
		hashFamily(),
		listFamily(),
		setFamily(),
		zsetFamily(),
		hllFamily(),
		geoFamily(),
	}
}

// G is the random vocabulary of a stream, and its link to the servers.
type G struct {
	R    *rand.Rand
	Pair *Pair
	// Log records the commands sent, for failure reports.
	Log []string
	// Proto is the protocol both connections use (2 or 3).
	Proto int
	// sinceSweep is set by steps after which expired keys may linger
	// differently on the two servers (RANDOMKEY deletes the expired key it
	// happens to draw); DBSIZE sweeps first when it is set.
	sinceSweep bool
}

// keyNames is the key space: small, so that commands collide, with a hash
// tag pair and binary names.
var keyNames = []string{"k1", "k2", "k3", "k4", "k5", "foo", "{t}a", "{t}b", "k\x00z", "\xff\xfe", "a b", "key:1", "key:2"}

// Key returns a key name from the shared key space.
func (g *G) Key() string {
	if g.R.IntN(50) == 0 {
		return "rnd:" + strconv.Itoa(g.R.IntN(1000))
	}
	return keyNames[g.R.IntN(len(keyNames))]
}

// Keys returns 1..n keys.
func (g *G) Keys(n int) []string {
	k := 1 + g.R.IntN(n)
	out := make([]string, k)
	for i := range out {
		out[i] = g.Key()
	}
	return out
}

// Pick returns one of xs.
func (g *G) Pick(xs ...string) string { return xs[g.R.IntN(len(xs))] }

// Chance is true with probability 1/n.
func (g *G) Chance(n int) bool { return g.R.IntN(n) == 0 }

// edgeInts are integer-looking strings around every boundary Redis's
// string2ll and its encodings care about.
var edgeInts = []string{
	"0", "1", "-1", "2", "10", "100", "9999", "10000", "-0", "+1", "01", " 1", "1 ", "1\x00",
	"9223372036854775807", "-9223372036854775808", "9223372036854775808", "-9223372036854775809",
	"4294967295", "4294967296", "2147483647", "-2147483648", "18446744073709551615",
	"99999999999999999999", "123456789012345678901", "", "abc", "1.5", "0x10", "1e3",
}

// edgeFloats are float-looking strings for INCRBYFLOAT and friends.
var edgeFloats = []string{
	"0", "1.5", "-1.5", "0.1", "1e3", "1E-3", "inf", "-inf", "+inf", "nan", "3.0000000000000000001",
	"1.7976931348623157e308", "-1.7976931348623157e308", "1e400", "5e-324", " 1.5", "1.5 ", ".5", "5.",
	"0x1p3", "1e", "10.50", "-0", "123456789.123456789", "abc", "",
}

// Int returns an integer argument, usually small, sometimes at an edge.
func (g *G) Int() string {
	if g.Chance(4) {
		return edgeInts[g.R.IntN(len(edgeInts))]
	}
	return strconv.Itoa(g.R.IntN(41) - 20)
}

// Small returns a small non-negative integer below n as a string.
func (g *G) Small(n int) string { return strconv.Itoa(g.R.IntN(n)) }

// Index returns a range index: small of both signs, sometimes an edge.
func (g *G) Index() string {
	if g.Chance(10) {
		return g.Pick("9223372036854775807", "-9223372036854775808", "2147483648", "-2147483649", "x", "1.5")
	}
	return strconv.Itoa(g.R.IntN(41) - 20)
}

// Float returns a float argument.
func (g *G) Float() string {
	if g.Chance(3) {
		return edgeFloats[g.R.IntN(len(edgeFloats))]
	}
	return strconv.FormatFloat(g.R.NormFloat64()*100, 'f', g.R.IntN(6), 64)
}

// Bytes returns n random bytes drawn from a small alphabet with binary
// bytes, so strings share substrings (LCS) and contain CR, LF and NUL.
func (g *G) Bytes(n int) string {
	const alpha = "abcab\x00\r\n\xff\x80 \"'\\"
	b := make([]byte, n)
	for i := range b {
		if g.Chance(3) {
			b[i] = alpha[g.R.IntN(len(alpha))]
		} else {
			b[i] = byte('a' + g.R.IntN(4))
		}
	}
	return string(b)
}

// Value returns a string value: numbers (canonical and not), floats,
// lengths around the embstr limit, binary bytes.
func (g *G) Value() string {
	switch g.R.IntN(10) {
	case 0, 1:
		return g.Int()
	case 2:
		return g.Float()
	case 3:
		return g.Bytes(43 + g.R.IntN(4)) // embstr/raw boundary at 44
	case 4:
		return g.Bytes(g.R.IntN(200))
	case 5:
		return ""
	default:
		return g.Bytes(1 + g.R.IntN(12))
	}
}

// Do sends a command to both servers, records it, and returns both raw
// replies.
func (g *G) Do(args ...string) (redis, reef []byte, err error) {
	g.Log = append(g.Log, Quote(args))
	return g.Pair.Do(args...)
}

// Same sends a command to both servers and requires identical replies.
func (g *G) Same(args ...string) error {
	a, b, err := g.Do(args...)
	if err != nil {
		return err
	}
	if string(a) != string(b) {
		return mismatch(args, a, b)
	}
	return nil
}

func mismatch(args []string, a, b []byte) error {
	return fmt.Errorf("reply mismatch for %s\n  redis: %s\n  reef:  %s", Quote(args), Show(a), Show(b))
}

// expireSoon gives key a very short expiry with one absolute PEXPIREAT time
// shared by both servers, then waits for that instant: afterwards the key is
// logically expired on both, and whether it is still stored depends only on
// what the stream does with it. If the command reached a server only after
// that instant (a scheduling hiccup), that server deleted the key at once
// while the other stored an expiry: the step then deletes the key on both,
// unchecked, to put them back in the same state.
func (g *G) expireSoon(key string) error {
	at := time.Now().Add(5 * time.Millisecond)
	cmd := []string{"PEXPIREAT", key, strconv.FormatInt(at.UnixMilli()+1, 10)}
	if err := g.Same(cmd...); err != nil {
		return err
	}
	if !time.Now().Before(at) {
		g.Log = append(g.Log, "DEL "+Quote([]string{key})+" (late PEXPIREAT: resync, unchecked)")
		if _, _, err := g.Pair.Do("DEL", key); err != nil {
			return err
		}
		return nil
	}
	time.Sleep(time.Until(at.Add(3 * time.Millisecond)))
	return nil
}

// intClose compares two integer replies with a tolerance (TTL-like replies
// of keys set a few microseconds apart on the two servers).
func intClose(tol int64) func(a, b []byte) bool {
	return func(a, b []byte) bool {
		if string(a) == string(b) {
			return true
		}
		ra, err1 := ParseReply(a)
		rb, err2 := ParseReply(b)
		if err1 != nil || err2 != nil || ra.Type != ':' || rb.Type != ':' {
			return false
		}
		if ra.Int < 0 || rb.Int < 0 {
			return false
		}
		d := ra.Int - rb.Int
		return d >= -tol && d <= tol
	}
}

// sortedElems compares two array replies as multisets (KEYS order follows
// each server's hash table).
func sortedElems(a, b []byte) bool {
	if string(a) == string(b) {
		return true
	}
	ra, err1 := ParseReply(a)
	rb, err2 := ParseReply(b)
	if err1 != nil || err2 != nil || ra.Type != rb.Type || len(ra.Elems) != len(rb.Elems) {
		return false
	}
	return strings.Join(elemStrings(ra), "\x00\x01") == strings.Join(elemStrings(rb), "\x00\x01")
}

func elemStrings(r Reply) []string {
	out := make([]string, len(r.Elems))
	for i, e := range r.Elems {
		out[i] = string(e.Type) + e.Str
	}
	sort.Strings(out)
	return out
}

// wrongArity returns a command with a random number of random arguments,
// which for most commands is an arity error.
func (g *G) wrongArity(name string, maxArgs int) []string {
	n := g.R.IntN(maxArgs + 1)
	args := []string{name}
	for i := 0; i < n; i++ {
		args = append(args, g.Pick(g.Key(), g.Small(30), g.Bytes(3)))
	}
	return args
}

// pickGen draws a generator by weight.
func pickGen(r *rand.Rand, gens []Generator, total int) *Generator {
	n := r.IntN(total)
	for i := range gens {
		n -= gens[i].Weight
		if n < 0 {
			return &gens[i]
		}
	}
	return &gens[len(gens)-1]
}

// sortedPairs compares two replies that are field/value pairs in each
// server's own order (HGETALL-like: a flat array in RESP2, a map in RESP3)
// as sets of pairs.
func sortedPairs(a, b []byte) bool {
	if string(a) == string(b) {
		return true
	}
	ra, err1 := ParseReply(a)
	rb, err2 := ParseReply(b)
	if err1 != nil || err2 != nil || ra.Type != rb.Type || len(ra.Elems) != len(rb.Elems) || len(ra.Elems)%2 != 0 {
		return false
	}
	pairs := func(r Reply) []string {
		var out []string
		for i := 0; i+1 < len(r.Elems); i += 2 {
			out = append(out, fmt.Sprintf("%q=%q", string(r.Elems[i].Type)+r.Elems[i].Str, string(r.Elems[i+1].Type)+r.Elems[i+1].Str))
		}
		sort.Strings(out)
		return out
	}
	return strings.Join(pairs(ra), ",") == strings.Join(pairs(rb), ",")
}
