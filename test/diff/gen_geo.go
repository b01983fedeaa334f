package diff

import (
	"fmt"
	"math"
	"strconv"
)

// geoCentres are where positions cluster, so that searches find members:
// an ordinary place, the origin, both sides of the antimeridian near the
// poles (where the search boxes wrap and widen), and the latitude limit.
var geoCentres = [][2]float64{{13.36, 38.11}, {0, 0}, {179.99, 84.9}, {-179.99, -84.9}, {2.35, 48.85}, {-73.98, 85.05}}

// geoFamily covers the geo commands. Positions cluster around a few
// centres at scales from meters to thousands of kilometers; searches use
// every option, on geo keys and on the other families' sorted sets, whose
// arbitrary scores (equal ones included) decode to odd positions and tie
// distances, which the sorts must order as Redis does.
//
// Distances are computed with correctly rounded sin/cos/asin, which glibc
// misses in about 0.1% of calls: a distance Redis prints to 17 digits may
// then differ in its last digit. The four-decimal WITHDIST replies are
// compared exactly (a one-ulp difference shows there once in about a
// million values); STOREDIST results, printed in full, are compared by the
// geoStoreDist step with a relative tolerance of 1e-14, in keys of its own.
func geoFamily() Family {
	return Family{Name: "geo", Gens: append(collectionCommon(), []Generator{
		{Name: "geoadd", Weight: 14, Cmd: func(g *G) []string {
			args := []string{"GEOADD", geoKey(g)}
			for i := g.R.IntN(3); i > 0; i-- {
				args = append(args, g.Pick("NX", "XX", "CH", "ch", "nx", "CH", "XX"))
			}
			for i := 0; i < 1+g.R.IntN(4); i++ {
				lon, lat := geoPosition(g)
				args = append(args, lon, lat, geoMember(g))
			}
			if g.Chance(30) {
				args = append(args, g.Pick("1", "GT"))
			}
			return args
		}},
		{Name: "geoadd-many", Weight: 1, Cmd: func(g *G) []string {
			args := []string{"GEOADD", geoKey(g)}
			for i := 0; i < 20+g.R.IntN(150); i++ {
				lon, lat := geoPosition(g)
				args = append(args, lon, lat, "p"+strconv.Itoa(i))
			}
			return args
		}},
		// Members at one position tie on distance: the sorts must break
		// ties as Redis's do.
		{Name: "geoadd-same", Weight: 2, Cmd: func(g *G) []string {
			args := []string{"GEOADD", geoKey(g)}
			lon, lat := geoPosition(g)
			for i := 0; i < 2+g.R.IntN(10); i++ {
				args = append(args, lon, lat, geoMember(g))
			}
			return args
		}},
		{Name: "zadd", Weight: 2, Cmd: func(g *G) []string {
			return []string{"ZADD", geoKey(g), g.Pick("0", "1", "-5", "3.5", "1e30", "inf", "-inf", "3479099956230698"), geoMember(g)}
		}},
		{Name: "geopos", Weight: 4, Cmd: func(g *G) []string { return append([]string{"GEOPOS", geoKey(g)}, geoMembers(g)...) }},
		{Name: "geohash", Weight: 3, Cmd: func(g *G) []string { return append([]string{"GEOHASH", geoKey(g)}, geoMembers(g)...) }},
		{Name: "geodist", Weight: 4, Cmd: func(g *G) []string {
			args := []string{"GEODIST", geoKey(g), geoMember(g), geoMember(g)}
			if g.Chance(2) {
				args = append(args, geoUnit(g))
			}
			if g.Chance(20) {
				args = append(args, "x")
			}
			return args
		}},
		{Name: "georadius", Weight: 8, Cmd: func(g *G) []string {
			lon, lat := geoPosition(g)
			name := g.Pick("GEORADIUS", "GEORADIUS_RO", "georadius")
			args := []string{name, geoKey(g), lon, lat, geoRadius(g), geoUnit(g)}
			return append(args, geoOptions(g, name != "GEORADIUS_RO")...)
		}},
		{Name: "georadiusbymember", Weight: 6, Cmd: func(g *G) []string {
			name := g.Pick("GEORADIUSBYMEMBER", "GEORADIUSBYMEMBER_RO")
			args := []string{name, geoKey(g), geoMember(g), geoRadius(g), geoUnit(g)}
			return append(args, geoOptions(g, name == "GEORADIUSBYMEMBER")...)
		}},
		{Name: "geosearch", Weight: 10, Cmd: func(g *G) []string {
			return append([]string{"GEOSEARCH", geoKey(g)}, geoSearchArgs(g, false)...)
		}},
		{Name: "geosearchstore", Weight: 4, Cmd: func(g *G) []string {
			return append([]string{"GEOSEARCHSTORE", geoKey(g), geoKey(g)}, geoSearchArgs(g, true)...)
		}},
		{Name: "storedist", Weight: 3, Run: geoStoreDist},
		{Name: "zrange", Weight: 3, Cmd: func(g *G) []string { return []string{"ZRANGE", geoKey(g), "0", "-1", "WITHSCORES"} }},
		{Name: "arity", Weight: 1, Cmd: func(g *G) []string {
			return g.wrongArity(g.Pick("GEOADD", "GEOPOS", "GEODIST", "GEORADIUS", "GEORADIUSBYMEMBER", "GEOSEARCH", "GEOSEARCHSTORE", "GEOHASH"), 5)
		}},
	}...)}
}

// geoKey mostly returns one of three keys, so that geo sets grow and
// searches find them; sometimes any key (other types, other families'
// sorted sets).
func geoKey(g *G) string {
	if g.Chance(3) {
		return g.Key()
	}
	return g.Pick("k1", "k2", "{t}a")
}

// geoMember mostly returns one of a few names, so that the members a
// command names (GEORADIUSBYMEMBER, FROMMEMBER, GEODIST) often exist.
func geoMember(g *G) string {
	if g.Chance(4) {
		return g.Member()
	}
	return g.Pick("a", "b", "c", "d", "e", "1", "2", "10")
}

// geoPosition returns a longitude and a latitude: usually near a centre,
// sometimes out of range or not a number.
func geoPosition(g *G) (lon, lat string) {
	if g.Chance(40) {
		return g.Pick("180", "-180", "180.0000001", "x", "inf", "-inf", "", "1e400", "nan", "0x10"),
			g.Pick("85.05112878", "-85.05112878", "85.06", "-90", "90", "x", "inf", "0")
	}
	c := geoCentres[g.R.IntN(len(geoCentres))]
	scale := []float64{1e-5, 1e-3, 0.1, 2, 30}[g.R.IntN(5)]
	x := math.Max(-180, math.Min(180, c[0]+g.R.NormFloat64()*scale))
	y := math.Max(-85.05112878, math.Min(85.05112878, c[1]+g.R.NormFloat64()*scale))
	return geoFormat(g, x, 180), geoFormat(g, y, 85.05112878)
}

// geoFormat prints a coordinate with a random number of decimals, unless
// rounding would take it beyond limit.
func geoFormat(g *G, v, limit float64) string {
	s := strconv.FormatFloat(v, 'f', 1+g.R.IntN(9), 64)
	if f, _ := strconv.ParseFloat(s, 64); math.Abs(f) > limit {
		s = strconv.FormatFloat(v, 'f', -1, 64)
	}
	return s
}

func geoMembers(g *G) []string {
	out := make([]string, g.R.IntN(4))
	for i := range out {
		out[i] = geoMember(g)
	}
	return out
}

func geoUnit(g *G) string {
	if g.Chance(40) {
		return g.Pick("furlong", "", "M ", "kM")
	}
	return g.Pick("m", "km", "mi", "ft", "KM", "M")
}

func geoRadius(g *G) string {
	if g.Chance(30) {
		return g.Pick("-1", "x", "0", "inf", "1e400", "")
	}
	return strconv.FormatFloat(math.Pow(10, g.R.Float64()*7), 'f', g.R.IntN(4), 64)
}

// geoOptions returns GEORADIUS options; store allows STORE/STOREDIST
// (STOREDIST only into the shared keys when its distances are not
// printed: with WITH* options, which make it an error).
func geoOptions(g *G, store bool) []string {
	var opts []string
	for i := g.R.IntN(5); i > 0; i-- {
		switch g.R.IntN(10) {
		case 0, 1:
			opts = append(opts, g.Pick("WITHDIST", "WITHCOORD", "WITHHASH", "withdist"))
		case 2, 3:
			opts = append(opts, g.Pick("ASC", "DESC", "asc"))
		case 4, 5:
			n := strconv.Itoa(1 + g.R.IntN(6))
			if g.Chance(25) {
				n = g.Pick("0", "-1", "x", "9223372036854775807")
			}
			opts = append(opts, "COUNT", n)
			if g.Chance(3) {
				opts = append(opts, "ANY")
			}
		case 6:
			if store {
				opts = append(opts, "STORE", geoKey(g))
			}
		case 7:
			if g.Chance(12) {
				opts = append(opts, g.Pick("ANY", "COUNT", "STORE", "FOO", "FROMMEMBER"))
			}
		}
	}
	return opts
}

// geoSearchArgs returns the arguments of GEOSEARCH[STORE] after the keys.
func geoSearchArgs(g *G, store bool) []string {
	var args []string
	from := func() {
		if g.Chance(2) {
			args = append(args, "FROMMEMBER", geoMember(g))
		} else {
			lon, lat := geoPosition(g)
			args = append(args, "FROMLONLAT", lon, lat)
		}
	}
	by := func() {
		if g.Chance(2) {
			args = append(args, "BYRADIUS", geoRadius(g), geoUnit(g))
		} else {
			args = append(args, "BYBOX", geoRadius(g), geoRadius(g), geoUnit(g))
		}
	}
	switch g.R.IntN(30) {
	case 0:
		by() // no FROM
	case 1:
		from() // no BY
	case 2:
		from()
		from()
		by()
	default:
		if g.Chance(2) {
			from()
			by()
		} else {
			by()
			from()
		}
	}
	args = append(args, geoOptions(g, false)...)
	if store && g.Chance(20) {
		args = append(args, "STOREDIST", "WITHDIST")
	}
	return args
}

// geoStoreDist stores search distances (GEOSEARCHSTORE ... STOREDIST, or
// GEORADIUS ... STOREDIST) into a key of its own and compares the stored
// sorted sets with a relative tolerance on the scores (see geoFamily).
func geoStoreDist(g *G) error {
	dst := "geodist:" + g.Small(2)
	src := geoKey(g)
	var cmd []string
	if g.Chance(2) {
		cmd = append([]string{"GEOSEARCHSTORE", dst, src}, geoSearchArgs(g, false)...)
		cmd = append(cmd, "STOREDIST")
	} else {
		lon, lat := geoPosition(g)
		cmd = []string{"GEORADIUS", src, lon, lat, geoRadius(g), geoUnit(g), "STOREDIST", dst}
		if g.Chance(2) {
			cmd = append(cmd, "COUNT", strconv.Itoa(1+g.R.IntN(5)))
		}
	}
	if err := g.Same(cmd...); err != nil {
		return err
	}
	a, b, err := g.Do("ZRANGE", dst, "0", "-1", "WITHSCORES")
	if err != nil {
		return err
	}
	if string(a) == string(b) {
		return nil
	}
	ra, err1 := ParseReply(a)
	rb, err2 := ParseReply(b)
	// Only two arrays of the same length can differ by rounding alone;
	// two different errors, say, have no elements to compare.
	if err1 == nil && err2 == nil && ra.Type == '*' && rb.Type == '*' && len(ra.Elems) == len(rb.Elems) {
		same := true
		for i := range ra.Elems {
			ea, eb := ra.Elems[i], rb.Elems[i]
			if ea.Type == '*' && len(ea.Elems) == 2 && len(eb.Elems) == 2 { // RESP3 pairs
				same = same && ea.Elems[0].Str == eb.Elems[0].Str && closeFloats(ea.Elems[1].Str, eb.Elems[1].Str)
				continue
			}
			if i%2 == 0 && g.Proto == 2 {
				same = same && ea.Str == eb.Str
			} else {
				same = same && closeFloats(ea.Str, eb.Str)
			}
		}
		if same {
			return nil
		}
	}
	return fmt.Errorf("stored distances differ\n  redis: %s\n  reef:  %s", Show(a), Show(b))
}

func closeFloats(a, b string) bool {
	x, err1 := strconv.ParseFloat(a, 64)
	y, err2 := strconv.ParseFloat(b, 64)
	if err1 != nil || err2 != nil {
		return a == b
	}
	return x == y || math.Abs(x-y) <= 1e-14*math.Max(math.Abs(x), math.Abs(y))
}
