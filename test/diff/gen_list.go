package diff

import "strconv"

func listFamily() Family {
	side := func(g *G) string { return g.Pick("LEFT", "RIGHT", "left", "Right", "up") }
	return Family{Name: "list", Gens: append(collectionCommon(), []Generator{
		{Name: "lpush", Weight: 10, Cmd: func(g *G) []string {
			return append([]string{g.Pick("LPUSH", "RPUSH"), g.Key()}, g.Members(4)...)
		}},
		{Name: "push-many", Weight: 1, Cmd: func(g *G) []string {
			args := []string{g.Pick("LPUSH", "RPUSH"), g.Key()}
			for i := 0; i < 50+g.R.IntN(300); i++ {
				args = append(args, g.Pick(strconv.Itoa(i), g.Bytes(1+g.R.IntN(80))))
			}
			return args
		}},
		{Name: "pushx", Weight: 3, Cmd: func(g *G) []string {
			return append([]string{g.Pick("LPUSHX", "RPUSHX"), g.Key()}, g.Members(3)...)
		}},
		{Name: "pop", Weight: 6, Cmd: func(g *G) []string {
			if g.Chance(2) {
				return []string{g.Pick("LPOP", "RPOP"), g.Key()}
			}
			return []string{g.Pick("LPOP", "RPOP"), g.Key(), g.Count()}
		}},
		{Name: "llen", Weight: 3, Cmd: func(g *G) []string { return []string{"LLEN", g.Key()} }},
		{Name: "lrange", Weight: 8, Cmd: func(g *G) []string { return []string{"LRANGE", g.Key(), g.Index(), g.Index()} }},
		{Name: "lindex", Weight: 5, Cmd: func(g *G) []string { return []string{"LINDEX", g.Key(), g.Index()} }},
		{Name: "lset", Weight: 4, Cmd: func(g *G) []string { return []string{"LSET", g.Key(), g.Index(), g.Member()} }},
		{Name: "linsert", Weight: 4, Cmd: func(g *G) []string {
			return []string{"LINSERT", g.Key(), g.Pick("BEFORE", "AFTER", "before", "middle"), g.Member(), g.Member()}
		}},
		{Name: "lrem", Weight: 4, Cmd: func(g *G) []string { return []string{"LREM", g.Key(), g.Count(), g.Member()} }},
		{Name: "ltrim", Weight: 3, Cmd: func(g *G) []string { return []string{"LTRIM", g.Key(), g.Index(), g.Index()} }},
		{Name: "lpos", Weight: 4, Cmd: func(g *G) []string {
			args := []string{"LPOS", g.Key(), g.Member()}
			for i := 0; i < g.R.IntN(4); i++ {
				args = append(args, g.Pick("RANK", "COUNT", "MAXLEN", "rank", "FOO"), g.Count())
			}
			if g.Chance(10) {
				args = append(args, "RANK")
			}
			return args
		}},
		{Name: "lmove", Weight: 4, Cmd: func(g *G) []string {
			return []string{"LMOVE", g.Key(), g.Key(), side(g), side(g)}
		}},
		{Name: "rpoplpush", Weight: 3, Cmd: func(g *G) []string { return []string{"RPOPLPUSH", g.Key(), g.Key()} }},
		{Name: "lmpop", Weight: 4, Cmd: func(g *G) []string {
			keys := g.Keys(3)
			n := strconv.Itoa(len(keys))
			if g.Chance(10) {
				n = g.Pick("0", "-1", "x", "10")
			}
			args := append([]string{"LMPOP", n}, keys...)
			args = append(args, side(g))
			if g.Chance(2) {
				args = append(args, g.Pick("COUNT", "count", "LIMIT"), g.Count())
			}
			return args
		}},
		{Name: "blpop", Weight: 2, Cmd: func(g *G) []string {
			return append(append([]string{g.Pick("BLPOP", "BRPOP")}, g.Keys(3)...), g.Timeout())
		}},
		{Name: "blmove", Weight: 1, Cmd: func(g *G) []string {
			if g.Chance(2) {
				return []string{"BRPOPLPUSH", g.Key(), g.Key(), g.Timeout()}
			}
			return []string{"BLMOVE", g.Key(), g.Key(), side(g), side(g), g.Timeout()}
		}},
		{Name: "blmpop", Weight: 1, Cmd: func(g *G) []string {
			keys := g.Keys(3)
			args := append([]string{"BLMPOP", g.Timeout(), strconv.Itoa(len(keys))}, keys...)
			args = append(args, side(g))
			if g.Chance(2) {
				args = append(args, "COUNT", g.Count())
			}
			return args
		}},
		{Name: "sort", Weight: 3, Run: func(g *G) error {
			key := g.Key()
			args := []string{g.Pick("SORT", "SORT_RO"), key}
			for i := 0; i < g.R.IntN(4); i++ {
				switch g.R.IntN(6) {
				case 0:
					args = append(args, g.Pick("ASC", "DESC", "alpha"))
				case 1:
					args = append(args, "LIMIT", g.Index(), g.Index())
				case 2:
					args = append(args, "BY", g.Pick("nosort", "w_*", "h_*->f", "*"))
				case 3:
					args = append(args, "GET", g.Pick("#", "w_*", "h_*->f", "nostar"))
				case 4:
					args = append(args, "STORE", g.Key())
				default:
					args = append(args, "ALPHA")
				}
			}
			return sortUnstable(g, key, args...)
		}},
		{Name: "sort-weights", Weight: 1, Cmd: func(g *G) []string {
			return []string{"MSET", "w_" + g.Member(), g.Pick(g.Int(), g.Float()), "w_" + g.Member(), g.Int()}
		}},
		{Name: "arity", Weight: 2, Cmd: func(g *G) []string {
			return g.wrongArity(g.Pick("LPUSH", "LPOP", "LRANGE", "LINSERT", "LREM", "LPOS", "LMOVE", "LMPOP", "LSET", "LINDEX"), 5)
		}},
	}...)}
}
