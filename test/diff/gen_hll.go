package diff

import "strconv"

func hllFamily() Family {
	elems := func(g *G) []string {
		out := make([]string, g.R.IntN(6))
		for i := range out {
			if g.Chance(3) {
				out[i] = strconv.Itoa(g.R.IntN(5000))
			} else {
				out[i] = g.Member()
			}
		}
		return out
	}
	return Family{Name: "hll", Gens: []Generator{
		{Name: "pfadd", Weight: 12, Cmd: func(g *G) []string { return append([]string{"PFADD", g.Key()}, elems(g)...) }},
		{Name: "pfadd-many", Weight: 1, Cmd: func(g *G) []string {
			args := []string{"PFADD", g.Key()}
			base := g.R.IntN(1 << 20)
			for i := 0; i < 100+g.R.IntN(900); i++ {
				args = append(args, strconv.Itoa(base+i))
			}
			return args
		}},
		{Name: "pfcount", Weight: 6, Cmd: func(g *G) []string { return append([]string{"PFCOUNT"}, g.Keys(3)...) }},
		{Name: "pfmerge", Weight: 4, Cmd: func(g *G) []string { return append([]string{"PFMERGE", g.Key()}, g.Keys(3)...) }},
		{Name: "get", Weight: 4, Cmd: func(g *G) []string { return []string{"GET", g.Key()} }},
		{Name: "strlen", Weight: 2, Cmd: func(g *G) []string { return []string{"STRLEN", g.Key()} }},
		{Name: "pfdebug", Weight: 4, Cmd: func(g *G) []string {
			return []string{"PFDEBUG", g.Pick("ENCODING", "DECODE", "TODENSE", "getreg", "foo"), g.Key()}
		}},
		// Corrupting a sparse HLL's tail (APPEND, SETRANGE) is left out:
		// Redis still serves PFADDs whose register lies in the valid
		// prefix, internal/hll refuses the whole value (reported).
		{Name: "set", Weight: 2, Cmd: func(g *G) []string {
			return []string{"SET", g.Key(), g.Pick(g.Value(), "HYLL", "HYLL\x01\x00\x00\x00")}
		}},
		{Name: "sadd", Weight: 1, Cmd: func(g *G) []string { return []string{"SADD", g.Key(), g.Member()} }},
		{Name: "del", Weight: 2, Cmd: func(g *G) []string { return append([]string{"DEL"}, g.Keys(2)...) }},
		{Name: "encoding", Weight: 1, Cmd: func(g *G) []string { return []string{"OBJECT", "ENCODING", g.Key()} }},
		{Name: "copy", Weight: 1, Cmd: func(g *G) []string { return []string{"COPY", g.Key(), g.Key(), "REPLACE"} }},
		{Name: "thresholds", Weight: 1, Cmd: func(g *G) []string {
			return []string{"CONFIG", "SET", "hll-sparse-max-bytes", g.Pick("3000", "100", "0", "20000")}
		}},
		{Name: "arity", Weight: 1, Cmd: func(g *G) []string {
			return g.wrongArity(g.Pick("PFADD", "PFCOUNT", "PFMERGE", "PFDEBUG"), 3)
		}},
	}}
}
