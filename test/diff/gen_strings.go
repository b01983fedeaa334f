package diff

import "strconv"

// setOptions returns a random mix of SET's options, valid or not.
func (g *G) setOptions(getex bool) []string {
	var out []string
	n := g.R.IntN(3)
	for i := 0; i < n; i++ {
		opts := []string{"NX", "XX", "GET", "KEEPTTL", "EX", "PX", "EXAT", "PXAT"}
		if getex {
			opts = []string{"EX", "PX", "EXAT", "PXAT", "PERSIST", "persist", "NX"}
		}
		o := g.Pick(opts...)
		if g.Chance(5) {
			o = g.Pick("ex", "Px", "nx", "get", "keepttl", "BAD")
		}
		out = append(out, o)
		switch o {
		case "EX", "ex":
			// Relative expiries stay far beyond a stream's length, so they
			// never fire at different points on the two servers.
			out = append(out, g.Pick("1000", "10000", "0", "-1", "x", "9223372036854775807", "9223372036854775", "100000"))
		case "PX", "Px":
			out = append(out, g.Pick("100000", "1000000", "0", "-5", "1.5", "9223372036854775807"))
		case "EXAT":
			out = append(out, g.Pick("1", strconv.FormatInt(farFuture()/1000, 10), "0", "-1", "9223372036854775807"))
		case "PXAT":
			out = append(out, g.Pick("1", strconv.FormatInt(farFuture(), 10), "0", "9223372036854775807"))
		}
	}
	return out
}

// farFuture is a fixed absolute time an hour or more ahead, in unix ms,
// rounded so both servers get the same argument and TTL replies agree.
func farFuture() int64 { return 4102444800000 } // 2100-01-01

func stringFamily() Family {
	return Family{Name: "strings", Gens: []Generator{
		{Name: "get", Weight: 10, Cmd: func(g *G) []string { return []string{"GET", g.Key()} }},
		{Name: "set", Weight: 12, Cmd: func(g *G) []string {
			return append([]string{"SET", g.Key(), g.Value()}, g.setOptions(false)...)
		}},
		{Name: "setnx", Weight: 2, Cmd: func(g *G) []string { return []string{"SETNX", g.Key(), g.Value()} }},
		{Name: "setex", Weight: 2, Cmd: func(g *G) []string {
			return []string{g.Pick("SETEX", "PSETEX"), g.Key(), g.Pick("1000000", "100000", "0", "-1", "x", "9223372036854775807"), g.Value()}
		}},
		{Name: "getex", Weight: 3, Cmd: func(g *G) []string {
			return append([]string{"GETEX", g.Key()}, g.setOptions(true)...)
		}},
		{Name: "getdel", Weight: 2, Cmd: func(g *G) []string { return []string{"GETDEL", g.Key()} }},
		{Name: "getset", Weight: 2, Cmd: func(g *G) []string { return []string{"GETSET", g.Key(), g.Value()} }},
		{Name: "mget", Weight: 3, Cmd: func(g *G) []string { return append([]string{"MGET"}, g.Keys(5)...) }},
		{Name: "mset", Weight: 3, Cmd: func(g *G) []string {
			args := []string{g.Pick("MSET", "MSETNX")}
			n := 1 + g.R.IntN(3)
			for i := 0; i < n; i++ {
				args = append(args, g.Key(), g.Value())
			}
			if g.Chance(6) {
				args = append(args, g.Key()) // odd number: arity error
			}
			return args
		}},
		{Name: "append", Weight: 5, Cmd: func(g *G) []string { return []string{"APPEND", g.Key(), g.Value()} }},
		{Name: "strlen", Weight: 3, Cmd: func(g *G) []string { return []string{"STRLEN", g.Key()} }},
		{Name: "getrange", Weight: 4, Cmd: func(g *G) []string {
			return []string{g.Pick("GETRANGE", "SUBSTR"), g.Key(), g.Index(), g.Index()}
		}},
		{Name: "setrange", Weight: 4, Cmd: func(g *G) []string {
			off := g.Pick(g.Small(20), g.Small(100), "-1", "x", "536870912", "9223372036854775807", "0")
			return []string{"SETRANGE", g.Key(), off, g.Pick(g.Value(), "", "x")}
		}},
		{Name: "incr", Weight: 6, Cmd: func(g *G) []string {
			switch g.R.IntN(4) {
			case 0:
				return []string{"INCR", g.Key()}
			case 1:
				return []string{"DECR", g.Key()}
			case 2:
				return []string{"INCRBY", g.Key(), g.Int()}
			}
			return []string{"DECRBY", g.Key(), g.Int()}
		}},
		{Name: "incrbyfloat", Weight: 4, Cmd: func(g *G) []string { return []string{"INCRBYFLOAT", g.Key(), g.Float()} }},
		{Name: "encoding", Weight: 4, Cmd: func(g *G) []string { return []string{"OBJECT", "ENCODING", g.Key()} }},
		{Name: "refcount", Weight: 1, Cmd: func(g *G) []string { return []string{"OBJECT", "REFCOUNT", g.Key()} }},
		{Name: "arity", Weight: 2, Cmd: func(g *G) []string {
			return g.wrongArity(g.Pick("GET", "SET", "SETNX", "SETEX", "PSETEX", "GETEX", "GETDEL", "GETSET", "MGET",
				"MSET", "MSETNX", "APPEND", "STRLEN", "GETRANGE", "SUBSTR", "SETRANGE", "INCR", "DECR", "INCRBY",
				"DECRBY", "INCRBYFLOAT", "LCS"), 4)
		}},
	}}
}

func bitFamily() Family {
	offset := func(g *G) string {
		switch g.R.IntN(12) {
		case 0:
			return g.Pick("-1", "x", "4294967296", "9223372036854775807", "1.5", "")
		case 1:
			return g.Small(800)
		default:
			return g.Small(100)
		}
	}
	bfType := func(g *G) string {
		if g.Chance(10) {
			return g.Pick("u64", "i65", "u0", "i0", "x8", "", "u", "I8", "u-1", "i64", "u63")
		}
		return g.Pick("i", "u") + strconv.Itoa(1+g.R.IntN(16))
	}
	bfOffset := func(g *G) string {
		if g.Chance(4) {
			return "#" + g.Small(10)
		}
		if g.Chance(15) {
			return g.Pick("#-1", "#x", "-1", "#", "x")
		}
		return g.Small(64)
	}
	rangeMode := func(g *G) []string {
		if g.Chance(2) {
			return nil
		}
		return []string{g.Pick("BIT", "BYTE", "bit", "byte", "bits")}
	}
	return Family{Name: "bits", Gens: []Generator{
		{Name: "set", Weight: 4, Cmd: func(g *G) []string { return []string{"SET", g.Key(), g.Value()} }},
		{Name: "setbit", Weight: 10, Cmd: func(g *G) []string {
			return []string{"SETBIT", g.Key(), offset(g), g.Pick("0", "1", "1", "2", "-1", "x")}
		}},
		{Name: "getbit", Weight: 6, Cmd: func(g *G) []string { return []string{"GETBIT", g.Key(), offset(g)} }},
		{Name: "bitcount", Weight: 6, Cmd: func(g *G) []string {
			args := []string{"BITCOUNT", g.Key()}
			switch g.R.IntN(4) {
			case 0:
			case 1:
				args = append(args, g.Index())
			default:
				args = append(append(args, g.Index(), g.Index()), rangeMode(g)...)
			}
			return args
		}},
		{Name: "bitpos", Weight: 6, Cmd: func(g *G) []string {
			args := []string{"BITPOS", g.Key(), g.Pick("0", "1", "1", "0", "2", "x")}
			switch g.R.IntN(4) {
			case 0:
			case 1:
				args = append(args, g.Index())
			default:
				args = append(append(args, g.Index(), g.Index()), rangeMode(g)...)
			}
			return args
		}},
		{Name: "bitop", Weight: 5, Cmd: func(g *G) []string {
			return append([]string{"BITOP", g.Pick("AND", "OR", "XOR", "NOT", "not", "and", "NAND"), g.Key()}, g.Keys(3)...)
		}},
		{Name: "bitfield", Weight: 8, Cmd: func(g *G) []string {
			args := []string{g.Pick("BITFIELD", "BITFIELD", "BITFIELD_RO"), g.Key()}
			n := g.R.IntN(4)
			for i := 0; i < n; i++ {
				switch g.R.IntN(5) {
				case 0, 1:
					args = append(args, "GET", bfType(g), bfOffset(g))
				case 2:
					args = append(args, "SET", bfType(g), bfOffset(g), g.Int())
				case 3:
					args = append(args, g.Pick("INCRBY", "incrby"), bfType(g), bfOffset(g), g.Int())
				default:
					args = append(args, "OVERFLOW", g.Pick("WRAP", "SAT", "FAIL", "sat", "bad"))
				}
			}
			if g.Chance(15) {
				args = append(args, g.Pick("GET", "SET", "FOO"))
			}
			return args
		}},
		{Name: "lcs", Weight: 5, Cmd: func(g *G) []string {
			args := []string{"LCS", g.Key(), g.Key()}
			n := g.R.IntN(3)
			for i := 0; i < n; i++ {
				o := g.Pick("LEN", "IDX", "MINMATCHLEN", "WITHMATCHLEN", "idx", "BAD")
				args = append(args, o)
				if o == "MINMATCHLEN" && !g.Chance(10) {
					args = append(args, g.Pick("0", "1", "2", "3", "-1", "x"))
				}
			}
			return args
		}},
		{Name: "get", Weight: 3, Cmd: func(g *G) []string { return []string{"GET", g.Key()} }},
		{Name: "encoding", Weight: 2, Cmd: func(g *G) []string { return []string{"OBJECT", "ENCODING", g.Key()} }},
		{Name: "arity", Weight: 1, Cmd: func(g *G) []string {
			return g.wrongArity(g.Pick("SETBIT", "GETBIT", "BITCOUNT", "BITPOS", "BITOP", "BITFIELD", "BITFIELD_RO", "LCS"), 3)
		}},
	}}
}
