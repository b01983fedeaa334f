package diff

import "strconv"

func setFamily() Family {
	return Family{Name: "set", Gens: append(collectionCommon(), []Generator{
		{Name: "sadd", Weight: 12, Cmd: func(g *G) []string { return append([]string{"SADD", g.Key()}, g.Members(5)...) }},
		{Name: "sadd-int", Weight: 5, Cmd: func(g *G) []string {
			args := []string{"SADD", g.Key()}
			for i := 0; i < 1+g.R.IntN(5); i++ {
				args = append(args, strconv.Itoa(g.R.IntN(40)-10))
			}
			return args
		}},
		{Name: "sadd-many", Weight: 1, Cmd: func(g *G) []string {
			args := []string{"SADD", g.Key()}
			base := g.R.IntN(100000)
			for i := 0; i < 20+g.R.IntN(600); i++ {
				args = append(args, strconv.Itoa(base+i))
			}
			return args
		}},
		{Name: "srem", Weight: 5, Cmd: func(g *G) []string { return append([]string{"SREM", g.Key()}, g.Members(4)...) }},
		{Name: "scard", Weight: 3, Cmd: func(g *G) []string { return []string{"SCARD", g.Key()} }},
		{Name: "sismember", Weight: 4, Cmd: func(g *G) []string { return []string{"SISMEMBER", g.Key(), g.Member()} }},
		{Name: "smismember", Weight: 3, Cmd: func(g *G) []string { return append([]string{"SMISMEMBER", g.Key()}, g.Members(4)...) }},
		{Name: "smembers", Weight: 4, Run: func(g *G) error {
			k := g.Key()
			return unorderedIfHashtable(g, k, false, "SMEMBERS", k)
		}},
		{Name: "srandmember", Weight: 3, Run: func(g *G) error {
			k := g.Key()
			if g.Chance(2) {
				return randomPick(g, k, "SRANDMEMBER", k)
			}
			return randomPick(g, k, "SRANDMEMBER", k, g.RCount())
		}},
		{Name: "spop", Weight: 3, Run: func(g *G) error {
			k := g.Key()
			if g.Chance(2) {
				return popResync(g, k, "SPOP", k)
			}
			return popResync(g, k, "SPOP", k, g.Count())
		}},
		{Name: "smove", Weight: 4, Cmd: func(g *G) []string { return []string{"SMOVE", g.Key(), g.Key(), g.Member()} }},
		{Name: "sinter", Weight: 3, Cmd: func(g *G) []string {
			return append([]string{g.Pick("SINTER", "SUNION", "SDIFF")}, g.Keys(3)...)
		}, Compare: unordered},
		{Name: "store", Weight: 3, Cmd: func(g *G) []string {
			return append([]string{g.Pick("SINTERSTORE", "SUNIONSTORE", "SDIFFSTORE"), g.Key()}, g.Keys(3)...)
		}},
		{Name: "sintercard", Weight: 3, Cmd: func(g *G) []string {
			keys := g.Keys(3)
			n := strconv.Itoa(len(keys))
			if g.Chance(8) {
				n = g.Pick("0", "-1", "x", "10")
			}
			args := append([]string{"SINTERCARD", n}, keys...)
			if g.Chance(2) {
				args = append(args, g.Pick("LIMIT", "limit", "FOO"), g.Count())
			}
			return args
		}},
		{Name: "sscan", Weight: 3, Run: func(g *G) error { return scanAll(g, "SSCAN", g.Key(), false) }},
		{Name: "sort", Weight: 2, Run: func(g *G) error {
			k := g.Key()
			args := []string{"SORT", k, g.Pick("ALPHA", "DESC", "LIMIT", "BY")}
			switch args[2] {
			case "LIMIT":
				args = append(args, g.Index(), g.Index())
			case "BY":
				args = append(args, g.Pick("nosort", "w_*"))
			}
			return sortUnstable(g, k, args...)
		}},
		{Name: "arity", Weight: 2, Cmd: func(g *G) []string {
			return g.wrongArity(g.Pick("SADD", "SREM", "SMOVE", "SINTERCARD", "SISMEMBER"), 4)
		}},
	}...)}
}
