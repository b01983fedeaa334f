package diff

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestNotify runs the collection families' streams with keyspace
// notifications on (notify-keyspace-events KEA) and requires, after every
// step, that a pattern subscriber of each server received the same
// notifications in the same order: event names, classes, keys, and which
// commands notify at all.
func TestNotify(t *testing.T) {
	redis, reef := startPair(t)
	seed := baseSeed()
	ops := opsPerStream() / 2
	var mixed []Generator
	fams := []Family{hashFamily(), listFamily(), setFamily(), zsetFamily(), hllFamily(), geoFamily(), stringFamily(), bitFamily(), txFamily()}
	for _, f := range fams {
		mixed = append(mixed, f.Gens...)
	}
	fams = append(fams, Family{Name: "mixed", Gens: mixed})
	for _, f := range fams {
		t.Run(f.Name, func(t *testing.T) {
			p := dialPair(t, redis, reef)
			for _, setup := range [][]string{{"FLUSHALL"}, {"DEBUG", "SET-ACTIVE-EXPIRE", "0"}, {"CONFIG", "SET", "notify-keyspace-events", "KEA"}} {
				if _, _, err := p.Do(setup...); err != nil {
					t.Fatal(err)
				}
			}
			subs := dialPair(t, redis, reef)
			for _, c := range []*Conn{subs.Redis, subs.Reef} {
				if _, err := c.Do("PSUBSCRIBE", "__key*__:*"); err != nil {
					t.Fatal(err)
				}
			}
			r := rand.New(rand.NewPCG(streamSeed(seed, "notify/"+f.Name), 0))
			g := &G{R: r, Pair: p, Proto: 2}
			total := 0
			for _, gen := range f.Gens {
				total += gen.Weight
			}
			seen := 0
			for i := 0; i < ops; i++ {
				gen := pickGen(r, f.Gens, total)
				mark := len(g.Log)
				err := runStep(g, gen)
				if err == nil {
					var n int
					n, err = sameNotifications(p, subs, i)
					seen += n
				}
				if err != nil {
					from := max(0, mark-historyLen())
					t.Fatalf("notify %s stream, op %d (generator %q): %v\n\nreplay: REEF_DIFF_SEED=%d go test ./test/diff -run 'TestNotify/%s$'\n\nlast commands:\n  %s",
						f.Name, i, gen.Name, err, seed, f.Name, strings.Join(g.Log[from:], "\n  "))
				}
			}
			if seen == 0 {
				t.Fatalf("no notification at all in %d ops", ops)
			}
			t.Logf("%s: %d ops, %d notifications compared", f.Name, ops, seen)
		})
	}
}

// sameNotifications publishes a marker on both servers and compares what
// each subscriber received before it.
func sameNotifications(p, subs *Pair, i int) (int, error) {
	marker := "marker:" + strconv.Itoa(i)
	if _, _, err := p.Do("PUBLISH", "__keyevent@0__:marker", marker); err != nil {
		return 0, err
	}
	collect := func(c *Conn) ([]string, error) {
		var got []string
		for {
			raw, err := c.Read()
			if err != nil {
				return got, err
			}
			r, err := ParseReply(raw)
			if err != nil || len(r.Elems) != 4 {
				return got, fmt.Errorf("bad notification %s", Show(raw))
			}
			if r.Elems[3].Str == marker {
				return got, nil
			}
			got = append(got, r.Elems[2].Str+" "+Quote([]string{r.Elems[3].Str}))
		}
	}
	subs.Redis.c.SetDeadline(time.Now().Add(10 * time.Second))
	a, err := collect(subs.Redis)
	if err != nil {
		return 0, fmt.Errorf("redis subscriber: %w", err)
	}
	b, err := collect(subs.Reef)
	if err != nil {
		return 0, fmt.Errorf("reef subscriber: %w", err)
	}
	if strings.Join(a, "\n") != strings.Join(b, "\n") {
		return 0, fmt.Errorf("notifications differ\n  redis: %q\n  reef:  %q", a, b)
	}
	return len(a), nil
}
