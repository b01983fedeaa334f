package command

import (
	"math"
	"sort"
	"strconv"

	"github.com/reefkv/reef/internal/geo"
	"github.com/reefkv/reef/internal/rconv"
	"github.com/reefkv/reef/internal/resp"
	"github.com/reefkv/reef/internal/types"
)

// The geo commands (geo.c): a geospatial index is a sorted set whose
// scores are 52-bit geohashes (internal/geo). GEOADD is ZADD with the
// coordinates turned into scores, and replicates as that ZADD.

func geoCommands() map[string]Handler {
	return map[string]Handler{
		"geoadd":               geoaddCommand,
		"geopos":               geoposCommand,
		"geohash":              geohashCommand,
		"geodist":              geodistCommand,
		"georadius":            func(c *Ctx) { geoSearch(c, 1, geoFromCoords) },
		"georadius_ro":         func(c *Ctx) { geoSearch(c, 1, geoFromCoords|geoNoStore) },
		"georadiusbymember":    func(c *Ctx) { geoSearch(c, 1, geoFromMember) },
		"georadiusbymember_ro": func(c *Ctx) { geoSearch(c, 1, geoFromMember|geoNoStore) },
		"geosearch":            func(c *Ctx) { geoSearch(c, 1, geoSearchCmd) },
		"geosearchstore":       func(c *Ctx) { geoSearch(c, 2, geoSearchCmd|geoSearchStore) },
	}
}

// parseLonLat reads a longitude and a latitude (extractLongLatOrReply).
func (c *Ctx) parseLonLat(lonArg, latArg []byte) (lon, lat float64, ok bool) {
	if lon, ok = parseDouble(lonArg); !ok {
		c.Err(ErrNotFloat)
		return
	}
	if lat, ok = parseDouble(latArg); !ok {
		c.Err(ErrNotFloat)
		return
	}
	if lon < geo.LonMin || lon > geo.LonMax || lat < geo.LatMin || lat > geo.LatMax {
		c.Err("ERR invalid longitude,latitude pair " + cFormatF(lon) + "," + cFormatF(lat))
		return 0, 0, false
	}
	return lon, lat, true
}

// cFormatF is C's printf("%f").
func cFormatF(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	}
	return strconv.FormatFloat(f, 'f', 6, 64)
}

// parseUnit returns the length in meters of a distance unit
// (extractUnitOrReply); 0 after replying an error.
func (c *Ctx) parseUnit(u []byte) float64 {
	switch {
	case eq(u, "m"):
		return 1
	case eq(u, "km"):
		return 1000
	case eq(u, "ft"):
		return 0.3048
	case eq(u, "mi"):
		return 1609.34
	}
	c.Err("ERR unsupported unit provided. please use M, KM, FT, MI")
	return 0
}

// appendDistance formats a distance as Redis does, with four decimals.
func appendDistance(dst []byte, d float64) []byte {
	var tmp [32]byte
	return resp.AppendBulk(dst, strconv.AppendFloat(tmp[:0], d, 'f', 4, 64))
}

// appendCoordinate is addReplyHumanLongDouble of a double: "%.17Lf" less
// its trailing zeros, a double reply in RESP3.
func appendCoordinate(dst []byte, proto int, f float64) []byte {
	var tmp [48]byte
	return resp.AppendDoubleText(dst, proto, rconv.AppendHumanDouble(tmp[:0], f))
}

// geoaddCommand is GEOADD key [NX|XX] [CH] lon lat member [...]: every
// position is checked before anything is added, then it runs as ZADD.
func geoaddCommand(c *Ctx) {
	first := 2
	nx, xx := false, false
options:
	for ; first < len(c.Args); first++ {
		switch opt := c.Args[first]; {
		case eq(opt, "nx"):
			nx = true
		case eq(opt, "xx"):
			xx = true
		case eq(opt, "ch"):
		default:
			break options
		}
	}
	if (len(c.Args)-first)%3 != 0 || (nx && xx) {
		c.Err(ErrSyntax)
		return
	}
	zadd := make([][]byte, 0, first+(len(c.Args)-first)/3*2)
	zadd = append(zadd, []byte("zadd"))
	zadd = append(zadd, c.Args[1:first]...)
	for i := first; i < len(c.Args); i += 3 {
		lon, lat, ok := c.parseLonLat(c.Args[i], c.Args[i+1])
		if !ok {
			return
		}
		h, _ := geo.Encode(lon, lat)
		zadd = append(zadd, strconv.AppendUint(nil, h.Score(), 10), c.Args[i+2])
	}
	orig := c.Args
	c.Args = zadd
	zaddGeneric(c, 0)
	c.Args = orig
	c.Rewritten = [][][]byte{zadd}
}

// geoposCommand is GEOPOS key member [...].
func geoposCommand(c *Ctx) {
	zsetEachMember(c, c.NullArray, func(score float64) {
		lon, lat := geo.Decode(score)
		c.ArrayLen(2)
		c.Out = appendCoordinate(c.Out, c.Proto, lon)
		c.Out = appendCoordinate(c.Out, c.Proto, lat)
	})
}

// geohashCommand is GEOHASH key member [...].
func geohashCommand(c *Ctx) {
	zsetEachMember(c, c.Null, func(score float64) { c.BulkString(geo.String(score)) })
}

func zsetScoreOf(z *types.ZSet, member []byte) (float64, bool) {
	if z == nil {
		return 0, false
	}
	return z.Score(member)
}

// geodistCommand is GEODIST key member1 member2 [unit].
func geodistCommand(c *Ctx) {
	toMeters := 1.0
	if len(c.Args) == 5 {
		if toMeters = c.parseUnit(c.Args[4]); toMeters == 0 {
			return
		}
	} else if len(c.Args) > 5 {
		c.Err(ErrSyntax)
		return
	}
	z, ok := c.zsetRead(c.Args[1])
	if !ok {
		return
	}
	s1, ok1 := zsetScoreOf(z, c.Args[2])
	s2, ok2 := zsetScoreOf(z, c.Args[3])
	if !ok1 || !ok2 {
		c.Null()
		return
	}
	lon1, lat1 := geo.Decode(s1)
	lon2, lat2 := geo.Decode(s2)
	c.Out = appendDistance(c.Out, geo.Distance(lon1, lat1, lon2, lat2)/toMeters)
}

// Flavours of geoSearch (georadiusGeneric).
const (
	geoFromCoords  = 1 << iota // GEORADIUS: centre given as coordinates
	geoFromMember              // GEORADIUSBYMEMBER: centre is a member
	geoNoStore                 // the _RO variants: no STORE / STOREDIST
	geoSearchCmd               // GEOSEARCH syntax
	geoSearchStore             // GEOSEARCHSTORE: destination first, STOREDIST a flag
)

// geoPoint is a search result.
type geoPoint struct {
	member   types.Str
	lon, lat float64
	dist     float64
	score    float64
}

// geoSearch runs GEORADIUS, GEORADIUSBYMEMBER, their _RO variants,
// GEOSEARCH and GEOSEARCHSTORE; src is the source key's position. Checks
// and replies come in Redis's order.
func geoSearch(c *Ctx, src int, flags int) {
	z, ok := c.zsetRead(c.Args[src])
	if !ok {
		return
	}
	var shape geo.Shape
	var storeKey []byte
	storeDist := false
	base := 0
	switch {
	case flags&geoFromCoords != 0:
		base = 6
		if shape.Lon, shape.Lat, ok = c.parseLonLat(c.Args[2], c.Args[3]); !ok {
			return
		}
		if !c.parseRadius(&shape, c.Args[4], c.Args[5]) {
			return
		}
	case flags&geoFromMember != 0:
		// Without a source key the arguments are still parsed, for the
		// reply depends on STORE.
		base = 5
		if z != nil {
			if !c.memberPosition(z, c.Args[2], &shape) || !c.parseRadius(&shape, c.Args[3], c.Args[4]) {
				return
			}
		}
	default:
		base = 2
		if flags&geoSearchStore != 0 {
			base = 3
			storeKey = c.Args[1]
		}
	}

	withDist, withHash, withCoord := false, false, false
	fromMember, fromLonLat, byRadius, byBox := false, false, false, false
	sortDir := 0 // 0 none, 1 ascending, -1 descending
	anyOrder := false
	count := int64(0)
	search := flags&geoSearchCmd != 0
	rest := c.Args[base:]
	for i := 0; i < len(rest); i++ {
		arg := rest[i]
		left := len(rest) - i - 1 // arguments after this one
		switch {
		case eq(arg, "withdist"):
			withDist = true
		case eq(arg, "withhash"):
			withHash = true
		case eq(arg, "withcoord"):
			withCoord = true
		case eq(arg, "any"):
			anyOrder = true
		case eq(arg, "asc"):
			sortDir = 1
		case eq(arg, "desc"):
			sortDir = -1
		case eq(arg, "count") && left >= 1:
			n, ok := rconv.ParseInt(rest[i+1])
			if !ok {
				c.Err(ErrNotInt)
				return
			}
			if n <= 0 {
				c.Err("ERR COUNT must be > 0")
				return
			}
			count = n
			i++
		case eq(arg, "store") && left >= 1 && flags&(geoNoStore|geoSearchCmd) == 0:
			storeKey, storeDist = rest[i+1], false
			i++
		case eq(arg, "storedist") && left >= 1 && flags&(geoNoStore|geoSearchCmd) == 0:
			storeKey, storeDist = rest[i+1], true
			i++
		case eq(arg, "storedist") && flags&geoSearchStore != 0:
			storeDist = true
		case eq(arg, "frommember") && left >= 1 && search && !fromLonLat:
			if z != nil && !c.memberPosition(z, rest[i+1], &shape) {
				return
			}
			fromMember = true
			i++
		case eq(arg, "fromlonlat") && left >= 2 && search && !fromMember:
			if shape.Lon, shape.Lat, ok = c.parseLonLat(rest[i+1], rest[i+2]); !ok {
				return
			}
			fromLonLat = true
			i += 2
		case eq(arg, "byradius") && left >= 2 && search && !byBox:
			if !c.parseRadius(&shape, rest[i+1], rest[i+2]) {
				return
			}
			byRadius = true
			i += 2
		case eq(arg, "bybox") && left >= 3 && search && !byRadius:
			if !c.parseBox(&shape, rest[i+1], rest[i+2], rest[i+3]) {
				return
			}
			byBox = true
			i += 3
		default:
			c.Err(ErrSyntax)
			return
		}
	}

	if storeKey != nil && (withDist || withHash || withCoord) {
		what := "STORE option in GEORADIUS"
		if flags&geoSearchStore != 0 {
			what = "GEOSEARCHSTORE"
		}
		c.Err("ERR " + what + " is not compatible with WITHDIST, WITHHASH and WITHCOORD options")
		return
	}
	if search && !fromMember && !fromLonLat {
		c.Err("ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for " + string(c.Args[0]))
		return
	}
	if search && !byRadius && !byBox {
		c.Err("ERR exactly one of BYRADIUS and BYBOX can be specified for " + string(c.Args[0]))
		return
	}
	if anyOrder && count == 0 {
		c.Err("ERR the ANY argument requires COUNT argument")
		return
	}

	if z == nil {
		if storeKey != nil {
			c.geoStoreNothing(storeKey)
		} else {
			c.EmptyArray()
		}
		return
	}
	// COUNT keeps the nearest, which takes sorting (unless ANY).
	if count != 0 && sortDir == 0 && !anyOrder {
		sortDir = 1
	}
	limit := 0
	if anyOrder {
		limit = int(count)
	}
	points := geoCollect(z, &shape, limit)
	if len(points) == 0 && storeKey == nil {
		c.EmptyArray()
		return
	}
	returned := len(points)
	if count != 0 && int64(returned) > count {
		returned = int(count)
	}
	if sortDir != 0 {
		desc := sortDir < 0
		if returned == len(points) {
			// glibc's qsort is a merge sort: stable.
			sort.SliceStable(points, func(i, j int) bool { return geoCompare(&points[i], &points[j], desc) < 0 })
		} else {
			geoPartialSort(points, desc, 0, returned-1)
		}
	}
	points = points[:returned]
	for i := range points {
		points[i].dist /= shape.Conversion
	}

	if storeKey == nil {
		c.geoReply(points, withDist, withHash, withCoord)
		return
	}
	if len(points) == 0 {
		c.geoStoreNothing(storeKey)
		return
	}
	dst := types.NewZSetSkiplist()
	lim := c.limits()
	maxLen, totLen := 0, 0
	var tmp [24]byte
	for _, p := range points {
		m := types.Bytes(p.member, tmp[:0])
		s := p.score
		if storeDist {
			s = p.dist
		}
		dst.Add(m, s, 0, lim)
		maxLen = max(maxLen, len(m))
		totLen += len(m)
	}
	dst.ConvertToListpackIfNeeded(lim, maxLen, totLen)
	c.setKey(storeKey, types.ZSetValue(dst), false)
	event := "georadiusstore"
	if search {
		event = "geosearchstore"
	}
	c.notify(NotifyZSet, event, storeKey)
	c.Dirty += int64(len(points))
	c.Int(int64(len(points)))
}

// geoStoreNothing answers a store whose result is empty: the destination
// is deleted.
func (c *Ctx) geoStoreNothing(key []byte) {
	c.deleteEmptyResult(key)
	c.Int(0)
}

// geoReply sends the points found, each a member or an array of the member
// and the requested details.
func (c *Ctx) geoReply(points []geoPoint, withDist, withHash, withCoord bool) {
	details := 0
	for _, w := range []bool{withDist, withCoord, withHash} {
		if w {
			details++
		}
	}
	c.ArrayLen(len(points))
	for _, p := range points {
		if details > 0 {
			c.ArrayLen(details + 1)
		}
		c.BulkStr(p.member)
		if withDist {
			c.Out = appendDistance(c.Out, p.dist)
		}
		if withHash {
			c.Int(geo.CInt64(p.score))
		}
		if withCoord {
			c.ArrayLen(2)
			c.Out = appendCoordinate(c.Out, c.Proto, p.lon)
			c.Out = appendCoordinate(c.Out, c.Proto, p.lat)
		}
	}
}

// memberPosition sets the shape's centre to a member's position.
func (c *Ctx) memberPosition(z *types.ZSet, member []byte, shape *geo.Shape) bool {
	score, ok := z.Score(member)
	if !ok {
		c.Err("ERR could not decode requested zset member")
		return false
	}
	shape.Lon, shape.Lat = geo.Decode(score)
	return true
}

// parseRadius reads "<radius> <unit>" (extractDistanceOrReply).
func (c *Ctx) parseRadius(shape *geo.Shape, radius, unit []byte) bool {
	r, ok := parseDouble(radius)
	if !ok {
		c.Err("ERR need numeric radius")
		return false
	}
	if r < 0 {
		c.Err("ERR radius cannot be negative")
		return false
	}
	conv := c.parseUnit(unit)
	if conv == 0 {
		return false
	}
	shape.Box, shape.Radius, shape.Conversion = false, r, conv
	return true
}

// parseBox reads "<width> <height> <unit>" (extractBoxOrReply).
func (c *Ctx) parseBox(shape *geo.Shape, width, height, unit []byte) bool {
	w, ok := parseDouble(width)
	if !ok {
		c.Err("ERR need numeric width")
		return false
	}
	h, ok := parseDouble(height)
	if !ok {
		c.Err("ERR need numeric height")
		return false
	}
	if h < 0 || w < 0 {
		c.Err("ERR height or width cannot be negative")
		return false
	}
	conv := c.parseUnit(unit)
	if conv == 0 {
		return false
	}
	shape.Box, shape.Width, shape.Height, shape.Conversion = true, w, h, conv
	return true
}

// geoCollect scans the boxes of the shape in Redis's order and returns the
// members inside it, stopping at limit results when limit > 0
// (membersOfAllNeighbors).
func geoCollect(z *types.ZSet, shape *geo.Shape, limit int) []geoPoint {
	var points []geoPoint
	boxes := shape.Boxes()
	last := 0
	for i, box := range boxes {
		if box.IsZero() {
			continue
		}
		// With a huge radius neighbours can be the same box; Redis skips
		// one equal to the box scanned last (never to the centre).
		if last != 0 && box == boxes[last] {
			continue
		}
		if len(points) > 0 && limit > 0 && len(points) >= limit {
			break
		}
		lo, hi := box.ScoreRange()
		points = geoScanRange(z, shape, float64(lo), float64(hi), limit, points)
		last = i
	}
	return points
}

// geoScanRange appends the members with scores in [lo, hi) that are inside
// the shape (geoGetPointsInRange).
func geoScanRange(z *types.ZSet, shape *geo.Shape, lo, hi float64, limit int, points []geoPoint) []geoPoint {
	i := z.Search(func(_ types.Str, s float64) bool { return s >= lo })
	z.Walk(i, false, func(m types.Str, s float64) bool {
		if s >= hi {
			return false
		}
		lon, lat := geo.Decode(s)
		if dist, in := shape.Contains(lon, lat); in {
			// m is the set's own bytes: nothing changes the set before the
			// reply is written or the result stored (ZSet.Add copies).
			points = append(points, geoPoint{member: m, lon: lon, lat: lat, dist: dist, score: s})
		}
		return !(len(points) > 0 && limit > 0 && len(points) >= limit)
	})
	return points
}
