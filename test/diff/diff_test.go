package diff

import (
	"hash/fnv"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/reefkv/reef/internal/testutil"
)

// serverArgs are given to both servers: DEBUG is needed to switch active
// expiry off, and 16 databases is both servers' default, stated so.
var serverArgs = []string{"--enable-debug-command", "yes", "--databases", "16"}

// startPair starts one redis-server and one reef-server and connects to
// both.
func startPair(t *testing.T) (*testutil.Proc, *testutil.Proc) {
	t.Helper()
	// Build reef-server first so both servers start at the same moment:
	// Redis's shared integers are as old as the process (OBJECT IDLETIME).
	testutil.Binary(t, "reef-server")
	redis := testutil.StartRedis(t, serverArgs...)
	reef := testutil.StartReef(t, serverArgs...)
	return redis, reef
}

func dialPair(t *testing.T, redis, reef *testutil.Proc) *Pair {
	t.Helper()
	a, err := DialConn(redis.Addr())
	if err != nil {
		t.Fatal(err)
	}
	b, err := DialConn(reef.Addr())
	if err != nil {
		t.Fatal(err)
	}
	p := &Pair{Redis: a, Reef: b}
	t.Cleanup(p.Close)
	return p
}

// baseSeed is REEF_DIFF_SEED or a fresh seed, reported on failure.
func baseSeed() uint64 {
	if s := os.Getenv("REEF_DIFF_SEED"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err == nil {
			return n
		}
	}
	return uint64(time.Now().UnixNano())
}

// opsPerStream is REEF_DIFF_OPS or the CI default.
func opsPerStream() int {
	if s := os.Getenv("REEF_DIFF_OPS"); s != "" {
		if n, err := strconv.Atoi(s); err == nil && n > 0 {
			return n
		}
	}
	if testing.Short() {
		return 500
	}
	return 3000
}

func streamSeed(base uint64, name string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(name))
	return base ^ h.Sum64()
}

// TestDiff runs every family's stream alone, then all families mixed,
// against one redis-server and one reef-server.
func TestDiff(t *testing.T) {
	redis, reef := startPair(t)
	seed := baseSeed()
	ops := opsPerStream()
	fams := families()
	var all []Generator
	for _, f := range fams {
		all = append(all, f.Gens...)
	}
	fams = append(fams, Family{Name: "mixed", Gens: all})
	for _, f := range fams {
		t.Run(f.Name, func(t *testing.T) {
			runStream(t, redis, reef, f, seed, ops)
		})
	}
}

// runStream sends one seeded stream of f's commands to both servers.
func runStream(t *testing.T, redis, reef *testutil.Proc, f Family, seed uint64, ops int) {
	p := dialPair(t, redis, reef)
	for _, setup := range [][]string{{"FLUSHALL"}, {"DEBUG", "SET-ACTIVE-EXPIRE", "0"}, {"CONFIG", "RESETSTAT"}} {
		if _, _, err := p.Do(setup...); err != nil {
			t.Fatal(err)
		}
	}
	r := rand.New(rand.NewPCG(streamSeed(seed, f.Name), 0))
	g := &G{R: r, Pair: p, Proto: 2}
	// Half of the streams (by seed) run in RESP3 from the start, so every
	// family's reply shapes are compared in both protocols.
	if r.IntN(2) == 0 || os.Getenv("REEF_DIFF_RESP3") != "" {
		if err := helloStep3(g); err != nil {
			t.Fatal(err)
		}
	}
	total := 0
	for _, gen := range f.Gens {
		total += gen.Weight
	}
	start := time.Now()
	for i := 0; i < ops; i++ {
		gen := pickGen(r, f.Gens, total)
		mark := len(g.Log)
		err := runStep(g, gen)
		if err != nil {
			from := max(0, mark-historyLen())
			t.Fatalf("%s stream, op %d (generator %q): %v\n\nreplay: REEF_DIFF_SEED=%d go test ./test/diff -run 'TestDiff/%s$'\n\nlast commands:\n  %s",
				f.Name, i, gen.Name, err, seed, f.Name, strings.Join(g.Log[from:], "\n  "))
		}
		if keep := historyLen() + 100; len(g.Log) > 10*keep {
			g.Log = append(g.Log[:0], g.Log[len(g.Log)-keep:]...)
		}
	}
	t.Logf("%s: %d ops in %v (seed %d)", f.Name, ops, time.Since(start).Round(time.Millisecond), seed)
}

// historyLen is how many commands a failure report shows:
// REEF_DIFF_HISTORY or 25.
func historyLen() int {
	if n, err := strconv.Atoi(os.Getenv("REEF_DIFF_HISTORY")); err == nil && n > 0 {
		return n
	}
	return 25
}

func runStep(g *G, gen *Generator) error {
	if gen.Run != nil {
		return gen.Run(g)
	}
	args := gen.Cmd(g)
	a, b, err := g.Do(args...)
	if err != nil {
		return err
	}
	same := string(a) == string(b)
	if !same && gen.Compare != nil {
		same = gen.Compare(a, b)
	}
	if !same {
		return mismatch(args, a, b)
	}
	return nil
}
