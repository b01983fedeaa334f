package diff

import "strconv"

func hashFamily() Family {
	fieldValues := func(g *G, n int) []string {
		var out []string
		for i := 0; i < 1+g.R.IntN(n); i++ {
			out = append(out, g.Member(), g.Value())
		}
		return out
	}
	return Family{Name: "hash", Gens: append(collectionCommon(), []Generator{
		{Name: "hset", Weight: 12, Cmd: func(g *G) []string {
			return append([]string{"HSET", g.Key()}, fieldValues(g, 4)...)
		}},
		{Name: "hset-many", Weight: 1, Cmd: func(g *G) []string {
			args := []string{"HSET", g.Key()}
			for i := 0; i < 20+g.R.IntN(600); i++ {
				args = append(args, "f"+strconv.Itoa(i), strconv.Itoa(g.R.IntN(1000)))
			}
			return args
		}},
		{Name: "hmset", Weight: 3, Cmd: func(g *G) []string {
			return append([]string{"HMSET", g.Key()}, fieldValues(g, 3)...)
		}},
		{Name: "hset-odd", Weight: 1, Cmd: func(g *G) []string {
			return []string{g.Pick("HSET", "HMSET"), g.Key(), g.Member(), g.Value(), g.Member()}
		}},
		{Name: "hsetnx", Weight: 3, Cmd: func(g *G) []string { return []string{"HSETNX", g.Key(), g.Member(), g.Value()} }},
		{Name: "hget", Weight: 8, Cmd: func(g *G) []string { return []string{"HGET", g.Key(), g.Member()} }},
		{Name: "hmget", Weight: 4, Cmd: func(g *G) []string { return append([]string{"HMGET", g.Key()}, g.Members(4)...) }},
		{Name: "hdel", Weight: 5, Cmd: func(g *G) []string { return append([]string{"HDEL", g.Key()}, g.Members(4)...) }},
		{Name: "hlen", Weight: 3, Cmd: func(g *G) []string { return []string{"HLEN", g.Key()} }},
		{Name: "hstrlen", Weight: 3, Cmd: func(g *G) []string { return []string{"HSTRLEN", g.Key(), g.Member()} }},
		{Name: "hexists", Weight: 3, Cmd: func(g *G) []string { return []string{"HEXISTS", g.Key(), g.Member()} }},
		{Name: "hgetall", Weight: 4, Run: func(g *G) error {
			k := g.Key()
			return unorderedIfHashtable(g, k, true, "HGETALL", k)
		}},
		{Name: "hkeys", Weight: 2, Run: func(g *G) error {
			k := g.Key()
			return unorderedIfHashtable(g, k, false, "HKEYS", k)
		}},
		{Name: "hvals", Weight: 2, Run: func(g *G) error {
			k := g.Key()
			return unorderedIfHashtable(g, k, false, "HVALS", k)
		}},
		{Name: "hincrby", Weight: 5, Cmd: func(g *G) []string {
			return []string{"HINCRBY", g.Key(), g.Pick(g.Member(), "n1", "n2"), g.Int()}
		}},
		{Name: "hincrbyfloat", Weight: 4, Cmd: func(g *G) []string {
			return []string{"HINCRBYFLOAT", g.Key(), g.Pick(g.Member(), "n1", "n2"), g.Float()}
		}},
		{Name: "hrandfield", Weight: 3, Run: func(g *G) error {
			k := g.Key()
			switch g.R.IntN(3) {
			case 0:
				return randomPick(g, k, "HRANDFIELD", k)
			case 1:
				return randomPick(g, k, "HRANDFIELD", k, g.RCount())
			}
			return randomPick(g, k, "HRANDFIELD", k, g.RCount(), g.Pick("WITHVALUES", "withvalues", "x"))
		}},
		{Name: "hrandfield-bad", Weight: 1, Cmd: func(g *G) []string {
			return []string{"HRANDFIELD", g.Key(), g.RCount(), "WITHVALUES", "extra"}
		}},
		{Name: "hscan", Weight: 3, Run: func(g *G) error { return scanAll(g, "HSCAN", g.Key(), true) }},
		{Name: "arity", Weight: 2, Cmd: func(g *G) []string {
			return g.wrongArity(g.Pick("HSET", "HGET", "HDEL", "HLEN", "HINCRBY", "HINCRBYFLOAT", "HSTRLEN", "HMGET", "HSETNX"), 4)
		}},
	}...)}
}
