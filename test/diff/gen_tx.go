package diff

import "strings"

// txFamily runs transactions: optionally WATCH (and touch) keys, MULTI,
// commands drawn from every other family's plain generators (their
// QUEUED or error replies compared one by one: a rejected command dooms
// the transaction, a runtime error does not), sometimes a misplaced
// MULTI or WATCH, then EXEC, whose whole array is compared, or DISCARD.
func txFamily() Family {
	var pool []Generator
	for _, f := range baseFamilies() {
		for _, gen := range f.Gens {
			if gen.Cmd != nil && gen.Compare == nil {
				pool = append(pool, gen)
			}
		}
	}
	return Family{Name: "tx", Gens: []Generator{
		{Name: "transaction", Weight: 1, Run: func(g *G) error { return transactionStep(g, pool) }},
	}}
}

// txExcluded are commands the transaction step leaves out: they change
// what the stream's generators assume about the connection (protocol,
// database), or answer differently on each server by nature.
var txExcluded = map[string]bool{"HELLO": true, "SELECT": true, "SWAPDB": true, "RESET": true, "QUIT": true,
	"CLIENT": true, "DEBUG": true, "CONFIG": true, "SLOWLOG": true, "LATENCY": true, "MEMORY": true, "OBJECT": true,
	"RANDOMKEY": true, "FLUSHALL": true, "FLUSHDB": true}

func transactionStep(g *G, pool []Generator) error {
	var watched []string
	if g.Chance(2) {
		args := []string{"WATCH"}
		for i := 0; i <= g.R.IntN(2); i++ {
			k := g.Key()
			watched = append(watched, k)
			args = append(args, k)
		}
		if err := g.Same(args...); err != nil {
			return err
		}
		if g.Chance(3) {
			// Touching a watched key (even from this connection) makes
			// EXEC fail, and what is queued after it is not kept.
			if err := g.Same("SET", watched[0], g.Value()); err != nil {
				return err
			}
		}
	}
	if err := g.Same("MULTI"); err != nil {
		return err
	}
	for n := g.R.IntN(6); n > 0; n-- {
		switch {
		case g.Chance(15):
			if err := g.Same(g.Pick("MULTI", "WATCH"), g.Key()); err != nil {
				return err
			}
			continue
		case g.Chance(20) && len(watched) > 0:
			// Written inside the transaction: does not fail it.
			if err := g.Same("SET", watched[0], g.Value()); err != nil {
				return err
			}
			continue
		}
		gen := pool[g.R.IntN(len(pool))]
		args := gen.Cmd(g)
		if len(args) > 0 && txExcluded[strings.ToUpper(args[0])] {
			continue
		}
		if err := g.Same(args...); err != nil {
			return err
		}
	}
	if g.Chance(5) {
		return g.Same("DISCARD")
	}
	return g.Same("EXEC")
}
