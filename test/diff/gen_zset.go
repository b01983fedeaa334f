package diff

import (
	"fmt"
	"strconv"
)

func zsetFamily() Family {
	score := func(g *G) string {
		switch g.R.IntN(8) {
		case 0:
			return g.Float()
		case 1:
			return g.Pick("inf", "-inf", "+inf", "-0", "0", "1e17", "1e300", "2.5", "1e-310", "1e-400", "0x10")
		}
		return strconv.Itoa(g.R.IntN(10))
	}
	bound := func(g *G) string {
		switch g.R.IntN(6) {
		case 0:
			return g.Pick("-inf", "+inf", "(1", "(5", "x", "", "(", " 3", "nan", "1e400", "(-inf")
		case 1:
			return "(" + strconv.Itoa(g.R.IntN(10))
		}
		return strconv.Itoa(g.R.IntN(12) - 1)
	}
	lex := func(g *G) string {
		switch g.R.IntN(5) {
		case 0:
			return g.Pick("-", "+", "[", "(", "x", "", "+x", "-\x00")
		case 1:
			return "(" + g.Member()
		}
		return "[" + g.Member()
	}
	// lexStep runs a BYLEX command only where Redis's answer is defined
	// (equal scores, or a listpack, whose scan we reproduce): on a
	// skiplist with mixed scores it depends on the skiplist's levels.
	lexStep := func(args ...string) func(g *G) error {
		return func(g *G) error {
			key := g.Key()
			full := append([]string{args[0], key}, lexArgs(g, lex)...)
			full = append(full, args[1:]...)
			if g.encodingOf(key) == "skiplist" && !sameScores(g, key) {
				return nil
			}
			before, _, _ := g.Pair.Do("ZRANGE", key, "0", "-1", "WITHSCORES")
			if err := g.Same(full...); err != nil {
				ea, eb, _ := g.Pair.Do("OBJECT", "ENCODING", key)
				return fmt.Errorf("%w\n  zset before (redis): %s\n  encodings: %s %s", err, Show(before), Show(ea), Show(eb))
			}
			return nil
		}
	}
	return Family{Name: "zset", Gens: append(collectionCommon(), []Generator{
		{Name: "zadd", Weight: 12, Cmd: func(g *G) []string {
			args := []string{"ZADD", g.Key()}
			for i := 0; i < g.R.IntN(3); i++ {
				args = append(args, g.Pick("NX", "XX", "GT", "LT", "CH", "INCR", "ch"))
			}
			for i := 0; i < 1+g.R.IntN(3); i++ {
				args = append(args, score(g), g.Member())
			}
			if g.Chance(15) {
				args = append(args, score(g))
			}
			return args
		}},
		{Name: "zadd-lex", Weight: 3, Cmd: func(g *G) []string {
			args := []string{"ZADD", g.Key()}
			for i := 0; i < 1+g.R.IntN(4); i++ {
				args = append(args, "0", g.Member())
			}
			return args
		}},
		{Name: "zadd-many", Weight: 1, Cmd: func(g *G) []string {
			args := []string{"ZADD", g.Key()}
			for i := 0; i < 20+g.R.IntN(200); i++ {
				args = append(args, strconv.Itoa(g.R.IntN(50)), "m"+strconv.Itoa(i))
			}
			return args
		}},
		{Name: "zincrby", Weight: 4, Cmd: func(g *G) []string { return []string{"ZINCRBY", g.Key(), score(g), g.Member()} }},
		{Name: "zrem", Weight: 4, Cmd: func(g *G) []string { return append([]string{"ZREM", g.Key()}, g.Members(3)...) }},
		{Name: "zcard", Weight: 2, Cmd: func(g *G) []string { return []string{"ZCARD", g.Key()} }},
		{Name: "zscore", Weight: 4, Cmd: func(g *G) []string { return []string{"ZSCORE", g.Key(), g.Member()} }},
		{Name: "zmscore", Weight: 2, Cmd: func(g *G) []string { return append([]string{"ZMSCORE", g.Key()}, g.Members(3)...) }},
		{Name: "zrank", Weight: 3, Cmd: func(g *G) []string { return []string{g.Pick("ZRANK", "ZREVRANK"), g.Key(), g.Member()} }},
		{Name: "zcount", Weight: 3, Cmd: func(g *G) []string { return []string{"ZCOUNT", g.Key(), bound(g), bound(g)} }},
		{Name: "zrange", Weight: 8, Cmd: func(g *G) []string {
			args := []string{"ZRANGE", g.Key()}
			kind := g.R.IntN(3)
			switch kind {
			case 0:
				args = append(args, g.Index(), g.Index())
			case 1:
				args = append(args, bound(g), bound(g), "BYSCORE")
			default:
				args = append(args, lex(g), lex(g), "BYLEX")
				return append(args, "WITHSCORES") // always a syntax error
			}
			if g.Chance(2) {
				args = append(args, "REV")
			}
			if g.Chance(3) {
				args = append(args, "LIMIT", g.Count(), g.Count())
			}
			if g.Chance(2) {
				args = append(args, "WITHSCORES")
			}
			return args
		}},
		{Name: "zrangebyscore", Weight: 5, Cmd: func(g *G) []string {
			args := []string{g.Pick("ZRANGEBYSCORE", "ZREVRANGEBYSCORE"), g.Key(), bound(g), bound(g)}
			if g.Chance(2) {
				args = append(args, "WITHSCORES")
			}
			if g.Chance(3) {
				args = append(args, "LIMIT", g.Count(), g.Count())
			}
			if g.Chance(15) {
				args = append(args, g.Pick("REV", "BYLEX", "LIMIT"))
			}
			return args
		}},
		{Name: "zrevrange", Weight: 3, Cmd: func(g *G) []string {
			args := []string{g.Pick("ZREVRANGE", "ZRANGE"), g.Key(), g.Index(), g.Index()}
			if g.Chance(2) {
				args = append(args, "WITHSCORES")
			}
			return args
		}},
		{Name: "zrangebylex", Weight: 3, Run: func(g *G) error {
			if g.Chance(3) {
				return lexStep(g.Pick("ZRANGEBYLEX", "ZREVRANGEBYLEX"), "LIMIT", g.Count(), g.Count())(g)
			}
			return lexStep(g.Pick("ZRANGEBYLEX", "ZREVRANGEBYLEX", "ZLEXCOUNT", "ZREMRANGEBYLEX"))(g)
		}},
		{Name: "zrangestore", Weight: 3, Cmd: func(g *G) []string {
			args := []string{"ZRANGESTORE", g.Key(), g.Key()}
			if g.Chance(2) {
				return append(args, g.Index(), g.Index())
			}
			args = append(args, bound(g), bound(g), "BYSCORE")
			if g.Chance(2) {
				args = append(args, "LIMIT", g.Count(), g.Count())
			}
			return args
		}},
		{Name: "zremrange", Weight: 3, Cmd: func(g *G) []string {
			if g.Chance(2) {
				return []string{"ZREMRANGEBYRANK", g.Key(), g.Index(), g.Index()}
			}
			return []string{"ZREMRANGEBYSCORE", g.Key(), bound(g), bound(g)}
		}},
		{Name: "zpop", Weight: 4, Cmd: func(g *G) []string {
			if g.Chance(2) {
				return []string{g.Pick("ZPOPMIN", "ZPOPMAX"), g.Key()}
			}
			return []string{g.Pick("ZPOPMIN", "ZPOPMAX"), g.Key(), g.Count()}
		}},
		{Name: "zmpop", Weight: 3, Cmd: func(g *G) []string {
			keys := g.Keys(3)
			n := strconv.Itoa(len(keys))
			if g.Chance(10) {
				n = g.Pick("0", "-1", "x", "10")
			}
			args := append([]string{"ZMPOP", n}, keys...)
			args = append(args, g.Pick("MIN", "MAX", "max", "mid"))
			if g.Chance(2) {
				args = append(args, "COUNT", g.Count())
			}
			return args
		}},
		{Name: "bzpop", Weight: 1, Cmd: func(g *G) []string {
			if g.Chance(2) {
				keys := g.Keys(2)
				args := append([]string{"BZMPOP", g.Timeout(), strconv.Itoa(len(keys))}, keys...)
				return append(args, g.Pick("MIN", "MAX"))
			}
			return append(append([]string{g.Pick("BZPOPMIN", "BZPOPMAX")}, g.Keys(3)...), g.Timeout())
		}},
		{Name: "zrandmember", Weight: 3, Run: func(g *G) error {
			k := g.Key()
			switch g.R.IntN(3) {
			case 0:
				return randomPick(g, k, "ZRANDMEMBER", k)
			case 1:
				return randomPick(g, k, "ZRANDMEMBER", k, g.RCount())
			}
			return randomPick(g, k, "ZRANDMEMBER", k, g.RCount(), g.Pick("WITHSCORES", "x"))
		}},
		{Name: "zsetop", Weight: 4, Cmd: func(g *G) []string {
			keys := g.Keys(3)
			n := strconv.Itoa(len(keys))
			if g.Chance(12) {
				n = g.Pick("0", "-1", "x", "10")
			}
			cmd := g.Pick("ZUNION", "ZINTER", "ZDIFF", "ZUNIONSTORE", "ZINTERSTORE", "ZDIFFSTORE", "ZINTERCARD")
			args := []string{cmd}
			if cmd[len(cmd)-5:] == "STORE" {
				args = append(args, g.Key())
			}
			args = append(args, n)
			args = append(args, keys...)
			if g.Chance(2) {
				args = append(args, "WEIGHTS")
				for range keys {
					args = append(args, g.Pick("1", "2", "-1", "0", "0.5", "inf", "x"))
				}
			}
			if g.Chance(2) {
				args = append(args, "AGGREGATE", g.Pick("SUM", "MIN", "MAX", "avg"))
			}
			if g.Chance(2) {
				args = append(args, g.Pick("WITHSCORES", "LIMIT", "LIMIT"))
				if args[len(args)-1] == "LIMIT" {
					args = append(args, g.Count())
				}
			}
			return args
		}},
		{Name: "sadd", Weight: 2, Cmd: func(g *G) []string { return append([]string{"SADD", g.Key()}, g.Members(3)...) }},
		{Name: "zscan", Weight: 3, Run: func(g *G) error { return scanAll(g, "ZSCAN", g.Key(), true) }},
		{Name: "sort", Weight: 2, Run: func(g *G) error {
			// BY without '*' keeps a set's own (hashtable) order.
			k := g.Key()
			return sortUnstable(g, k, "SORT", k, g.Pick("ALPHA", "DESC", "BY"), g.Pick("nosort", "ALPHA", "ASC"))
		}},
		{Name: "arity", Weight: 2, Cmd: func(g *G) []string {
			return g.wrongArity(g.Pick("ZADD", "ZRANGE", "ZPOPMIN", "ZMPOP", "ZRANGESTORE", "ZUNIONSTORE", "ZINCRBY", "ZCOUNT"), 5)
		}},
	}...)}
}

func lexArgs(g *G, lex func(*G) string) []string { return []string{lex(g), lex(g)} }

// sameScores reports whether every member of key has the same score (on
// Redis), which makes lex ranges well defined.
func sameScores(g *G, key string) bool {
	raw, err := g.Pair.Redis.Do("ZRANGE", key, "0", "-1", "WITHSCORES")
	if err != nil {
		return false
	}
	r, err := ParseReply(raw)
	if err != nil {
		return false
	}
	var scores []string
	for i, e := range r.Elems {
		switch {
		case len(e.Elems) == 2: // RESP3: [member, score] pairs
			scores = append(scores, e.Elems[1].Str)
		case i%2 == 1:
			scores = append(scores, e.Str)
		}
	}
	for _, sc := range scores {
		if sc != scores[0] {
			return false
		}
	}
	return true
}
