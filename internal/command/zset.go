package command

import (
	"math"
	"math/big"
	"sort"
	"strconv"

	"github.com/reefkv/reef/internal/dict"
	"github.com/reefkv/reef/internal/encoding/redisnum"
	"github.com/reefkv/reef/internal/keyspace"
	"github.com/reefkv/reef/internal/rconv"
	"github.com/reefkv/reef/internal/resp"
	"github.com/reefkv/reef/internal/types"
)

// zsetMemberArgs are the member arguments of sorted-set commands. ZADD's
// are every other argument from the fourth (its options, NX, CH and the
// like, shift them: then scores are taken for members, which a prefetch
// hint allows). Taking every argument from the third made the prefetch
// hash and probe each score too, half its walk (ZADD -P 16: 1.42 -> 1.52
// of Redis, 7 interleaved rounds), and a lone ZADD look like two members.
var zsetMemberArgs = map[string]MemberArgs{
	"zadd": {3, 2}, "zincrby": {3, 0}, "zscore": {2, 0}, "zrank": {2, 0},
	"zrevrank": {2, 0}, "zrem": {2, 1}, "zmscore": {2, 1},
}

// zsetCommands returns the handlers of the sorted-set family (Redis's
// t_zset.c), blocking variants included.
func zsetCommands() map[string]Handler {
	return map[string]Handler{
		"zadd":             func(c *Ctx) { zaddGeneric(c, 0) },
		"zincrby":          func(c *Ctx) { zaddGeneric(c, types.ZAddIncr) },
		"zrem":             zremCommand,
		"zcard":            zcardCommand,
		"zcount":           zcountCommand,
		"zlexcount":        zlexcountCommand,
		"zscore":           zscoreCommand,
		"zmscore":          zmscoreCommand,
		"zrank":            func(c *Ctx) { zrankGeneric(c, false) },
		"zrevrank":         func(c *Ctx) { zrankGeneric(c, true) },
		"zrange":           func(c *Ctx) { zrangeGeneric(c, 1, nil, zrangeAuto, dirAuto) },
		"zrangestore":      func(c *Ctx) { zrangeGeneric(c, 2, c.Args[1], zrangeAuto, dirAuto) },
		"zrevrange":        func(c *Ctx) { zrangeGeneric(c, 1, nil, zrangeRank, dirReverse) },
		"zrangebyscore":    func(c *Ctx) { zrangeGeneric(c, 1, nil, zrangeScore, dirForward) },
		"zrevrangebyscore": func(c *Ctx) { zrangeGeneric(c, 1, nil, zrangeScore, dirReverse) },
		"zrangebylex":      func(c *Ctx) { zrangeGeneric(c, 1, nil, zrangeLex, dirForward) },
		"zrevrangebylex":   func(c *Ctx) { zrangeGeneric(c, 1, nil, zrangeLex, dirReverse) },
		"zpopmin":          func(c *Ctx) { zpopCommand(c, false) },
		"zpopmax":          func(c *Ctx) { zpopCommand(c, true) },
		"zmpop":            func(c *Ctx) { zmpopGeneric(c, 1, false) },
		"bzpopmin":         func(c *Ctx) { bzpopCommand(c, false) },
		"bzpopmax":         func(c *Ctx) { bzpopCommand(c, true) },
		"bzmpop":           func(c *Ctx) { zmpopGeneric(c, 2, true) },
		"zrandmember":      zrandmemberCommand,
		"zremrangebyscore": func(c *Ctx) { zremrangeGeneric(c, zrangeScore) },
		"zremrangebyrank":  func(c *Ctx) { zremrangeGeneric(c, zrangeRank) },
		"zremrangebylex":   func(c *Ctx) { zremrangeGeneric(c, zrangeLex) },
		"zunion":           func(c *Ctx) { zsetOpGeneric(c, nil, 1, opUnion, false) },
		"zinter":           func(c *Ctx) { zsetOpGeneric(c, nil, 1, opInter, false) },
		"zdiff":            func(c *Ctx) { zsetOpGeneric(c, nil, 1, opDiff, false) },
		"zunionstore":      func(c *Ctx) { zsetOpGeneric(c, c.Args[1], 2, opUnion, false) },
		"zinterstore":      func(c *Ctx) { zsetOpGeneric(c, c.Args[1], 2, opInter, false) },
		"zdiffstore":       func(c *Ctx) { zsetOpGeneric(c, c.Args[1], 2, opDiff, false) },
		"zintercard":       func(c *Ctx) { zsetOpGeneric(c, nil, 1, opInter, true) },
		"zscan":            zscanCommand,
	}
}

func (c *Ctx) zsetRead(key []byte) (*types.ZSet, bool) {
	v, ok := c.lookupReadType(key, keyspace.TypeZSet)
	if v == nil {
		return nil, ok
	}
	return types.ZSetOf(v), true
}

func (c *Ctx) zsetWrite(key []byte) (*types.ZSet, bool) {
	v, ok := c.lookupWriteType(key, keyspace.TypeZSet)
	if v == nil {
		return nil, ok
	}
	return types.ZSetOf(v), true
}

// parseDouble is Redis's string2d (getDoubleFromObject): strtod on the
// whole argument, no leading space, NaN, overflow and underflow to zero
// rejected.
func parseDouble(b []byte) (float64, bool) {
	f, ok := rconv.ParseFloat(b)
	if !ok {
		if f, ok = parseHexFloat(b); !ok {
			return 0, false
		}
	}
	if f == 0 && hasNonZeroMantissa(b) {
		return 0, false // strtod's ERANGE on underflow to zero
	}
	return f, true
}

// hasNonZeroMantissa reports a non-zero digit before any exponent.
func hasNonZeroMantissa(b []byte) bool {
	hex := len(b) > 2 && (b[0] == '0' && (b[1] == 'x' || b[1] == 'X') ||
		len(b) > 3 && (b[0] == '-' || b[0] == '+') && b[1] == '0' && (b[2] == 'x' || b[2] == 'X'))
	for i, ch := range b {
		if hex && i < 3 && (ch == 'x' || ch == 'X') {
			continue
		}
		if !hex && (ch == 'e' || ch == 'E') || hex && (ch == 'p' || ch == 'P') {
			return false
		}
		if ch >= '1' && ch <= '9' || hex && (ch >= 'a' && ch <= 'f' || ch >= 'A' && ch <= 'F') {
			return true
		}
	}
	return false
}

// parseHexFloat accepts C's hex floats without a binary exponent ("0x10"),
// which Go's ParseFloat refuses.
func parseHexFloat(b []byte) (float64, bool) {
	s := string(b)
	body := s
	if len(body) > 0 && (body[0] == '-' || body[0] == '+') {
		body = body[1:]
	}
	if len(body) < 3 || body[0] != '0' || (body[1] != 'x' && body[1] != 'X') {
		return 0, false
	}
	for _, ch := range body[2:] {
		if !(ch >= '0' && ch <= '9' || ch >= 'a' && ch <= 'f' || ch >= 'A' && ch <= 'F' || ch == '.') {
			return 0, false
		}
	}
	f, _, err := big.ParseFloat(s, 0, 53, big.ToNearestEven)
	if err != nil {
		return 0, false
	}
	v, _ := f.Float64()
	return v, !math.IsInf(v, 0)
}

// strtodRange parses a score range bound as zslParseRange does: plain
// strtod, which skips leading spaces, takes an empty string as 0 and does
// not care about overflow; NaN and trailing garbage are refused.
func strtodRange(b []byte) (float64, bool) {
	b = cPrefix(b)
	if len(b) == 0 {
		return 0, true
	}
	i := 0
	for i < len(b) && (b[i] == ' ' || b[i] >= '\t' && b[i] <= '\r') {
		i++
	}
	s := string(b[i:])
	if s == "" {
		return 0, false
	}
	for j := 0; j < len(s); j++ {
		if s[j] == '_' {
			return 0, false
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
			return f, true
		}
		return parseHexFloat(b[i:])
	}
	if math.IsNaN(f) {
		return 0, false
	}
	return f, true
}

// cPrefix is b as a C string: up to its first NUL byte (strtod stops
// there and sees the end of the string).
func cPrefix(b []byte) []byte {
	for i, ch := range b {
		if ch == 0 {
			return b[:i]
		}
	}
	return b
}

// scoreRange is zrangespec.
type scoreRange struct {
	min, max     float64
	minex, maxex bool
}

func (r *scoreRange) gteMin(s float64) bool {
	if r.minex {
		return s > r.min
	}
	return s >= r.min
}

func (r *scoreRange) lteMax(s float64) bool {
	if r.maxex {
		return s < r.max
	}
	return s <= r.max
}

// parseScoreRange is zslParseRange.
func parseScoreRange(min, max []byte) (r scoreRange, ok bool) {
	parse := func(b []byte) (float64, bool, bool) {
		if len(b) > 0 && b[0] == '(' {
			f, ok := strtodRange(b[1:])
			return f, true, ok
		}
		f, ok := strtodRange(b)
		return f, false, ok
	}
	var ok1, ok2 bool
	r.min, r.minex, ok1 = parse(min)
	r.max, r.maxex, ok2 = parse(max)
	return r, ok1 && ok2
}

// Lex range bounds: a string, or the "-" / "+" infinities.
const (
	lexStr = iota
	lexMinInf
	lexMaxInf
)

type lexBound struct {
	kind int
	s    []byte
	ex   bool
}

type lexRange struct{ min, max lexBound }

// parseLexItem is zslParseLexRangeItem. Like Redis it looks at the second
// byte only to reject "+x"/"-x", so "+\x00..." is still "+".
func parseLexItem(b []byte) (lexBound, bool) {
	if len(b) == 0 {
		return lexBound{}, false
	}
	switch b[0] {
	case '+':
		if len(b) > 1 && b[1] != 0 {
			return lexBound{}, false
		}
		return lexBound{kind: lexMaxInf, ex: true}, true
	case '-':
		if len(b) > 1 && b[1] != 0 {
			return lexBound{}, false
		}
		return lexBound{kind: lexMinInf, ex: true}, true
	case '(':
		return lexBound{s: append([]byte(nil), b[1:]...), ex: true}, true
	case '[':
		return lexBound{s: append([]byte(nil), b[1:]...)}, true
	}
	return lexBound{}, false
}

func parseLexRange(min, max []byte) (lexRange, bool) {
	a, ok1 := parseLexItem(min)
	b, ok2 := parseLexItem(max)
	return lexRange{a, b}, ok1 && ok2
}

// cmpLex compares a member with a bound (sdscmplex with the member first).
func cmpLex(m []byte, b *lexBound) int {
	switch b.kind {
	case lexMinInf:
		return 1
	case lexMaxInf:
		return -1
	}
	return compareBytes(m, b.s)
}

func compareBytes(a, b []byte) int {
	as, bs := string(a), string(b)
	switch {
	case as < bs:
		return -1
	case as > bs:
		return 1
	}
	return 0
}

func (r *lexRange) gteMin(m []byte) bool {
	if r.min.ex {
		return cmpLex(m, &r.min) > 0
	}
	return cmpLex(m, &r.min) >= 0
}

func (r *lexRange) lteMax(m []byte) bool {
	if r.max.ex {
		return cmpLex(m, &r.max) < 0
	}
	return cmpLex(m, &r.max) <= 0
}

// zaddGeneric is zaddGenericCommand (ZADD and ZINCRBY).
func zaddGeneric(c *Ctx, flags int) {
	key := c.Args[1]
	ch := false
	scoreIdx := 2
	for ; scoreIdx < len(c.Args); scoreIdx++ {
		opt := c.Args[scoreIdx]
		switch {
		case eq(opt, "nx"):
			flags |= types.ZAddNX
		case eq(opt, "xx"):
			flags |= types.ZAddXX
		case eq(opt, "ch"):
			ch = true
		case eq(opt, "incr"):
			flags |= types.ZAddIncr
		case eq(opt, "gt"):
			flags |= types.ZAddGT
		case eq(opt, "lt"):
			flags |= types.ZAddLT
		default:
			goto parsed
		}
	}
parsed:
	incr := flags&types.ZAddIncr != 0
	nx, xx := flags&types.ZAddNX != 0, flags&types.ZAddXX != 0
	gt, lt := flags&types.ZAddGT != 0, flags&types.ZAddLT != 0
	elements := len(c.Args) - scoreIdx
	if elements%2 != 0 || elements == 0 {
		c.Err(ErrSyntax)
		return
	}
	elements /= 2
	if nx && xx {
		c.Err("ERR XX and NX options at the same time are not compatible")
		return
	}
	if (gt && nx) || (lt && nx) || (gt && lt) {
		c.Err("ERR GT, LT, and/or NX options at the same time are not compatible")
		return
	}
	if incr && elements > 1 {
		c.Err("ERR INCR option supports a single increment-element pair")
		return
	}
	scores := make([]float64, elements)
	for j := range scores {
		f, ok := parseDouble(c.Args[scoreIdx+2*j])
		if !ok {
			c.Err(ErrNotFloat)
			return
		}
		scores[j] = f
	}
	z, ok := c.zsetWrite(key)
	if !ok {
		return
	}
	added, updated, processed := 0, 0, 0
	var score float64
	if z == nil {
		if xx {
			goto reply
		}
		z = types.NewZSetFor(len(c.Args[scoreIdx+1]), c.limits())
		c.dbAdd(key, types.ZSetValue(z))
	}
	{
		lim := c.limits()
		for j := 0; j < elements; j++ {
			out, newScore, ok := z.Add(c.Args[scoreIdx+1+2*j], scores[j], flags, lim)
			if !ok {
				c.Err("ERR resulting score is not a number (NaN)")
				c.zaddDone(key, incr, added, updated)
				return
			}
			if out&types.ZAddOutAdded != 0 {
				added++
			}
			if out&types.ZAddOutUpdated != 0 {
				updated++
			}
			if out&types.ZAddOutNop == 0 {
				processed++
			}
			score = newScore
		}
		c.Dirty += int64(added + updated)
	}
reply:
	if incr {
		if processed > 0 {
			c.Double(score)
		} else {
			c.Null()
		}
	} else if ch {
		c.Int(int64(added + updated))
	} else {
		c.Int(int64(added))
	}
	c.zaddDone(key, incr, added, updated)
}

func (c *Ctx) zaddDone(key []byte, incr bool, added, updated int) {
	if added+updated == 0 {
		return
	}
	c.modified(key)
	c.keyReady(key)
	if incr {
		c.notify(NotifyZSet, "zincr", key)
	} else {
		c.notify(NotifyZSet, "zadd", key)
	}
}

func zremCommand(c *Ctx) {
	key := c.Args[1]
	z, ok := c.zsetWrite(key)
	if !ok {
		return
	}
	if z == nil {
		c.Int(0)
		return
	}
	deleted, removed := 0, false
	for _, m := range c.Args[2:] {
		if z.Remove(m) {
			deleted++
		}
		if z.Len() == 0 {
			c.deleteKey(key)
			removed = true
			break
		}
	}
	if deleted > 0 {
		c.notify(NotifyZSet, "zrem", key)
		if removed {
			c.notify(NotifyGeneric, "del", key)
		}
		c.modified(key)
		c.Dirty += int64(deleted)
	}
	c.Int(int64(deleted))
}

func zcardCommand(c *Ctx) {
	z, ok := c.zsetRead(c.Args[1])
	if !ok {
		return
	}
	if z == nil {
		c.Int(0)
		return
	}
	c.Int(int64(z.Len()))
}

// Range searches, Redis's zzl/zsl{First,Last}In{,Lex}Range: the rank of
// the first (last) element in the range, or -1. For scores the order makes
// the predicates monotone and a binary search is exact. Lex ranges are only
// meaningful when all scores are equal; for a listpack we reproduce
// Redis's linear scans exactly, so that even mixed scores answer the same.

func firstInScore(z *types.ZSet, r *scoreRange) int {
	i := z.Search(func(_ types.Str, s float64) bool { return r.gteMin(s) })
	if i >= z.Len() {
		return -1
	}
	if _, s := z.At(i); !r.lteMax(s) {
		return -1
	}
	return i
}

func lastInScore(z *types.ZSet, r *scoreRange) int {
	i := z.Search(func(_ types.Str, s float64) bool { return !r.lteMax(s) }) - 1
	if i < 0 {
		return -1
	}
	if _, s := z.At(i); !r.gteMin(s) {
		return -1
	}
	return i
}

// lexEmpty is the "always empty" test of zslIsInLexRange.
func (r *lexRange) empty() bool {
	var cmp int
	switch {
	case r.min.kind == r.max.kind && r.min.kind != lexStr:
		cmp = 0
	case r.min.kind == lexMinInf || r.max.kind == lexMaxInf:
		cmp = -1
	case r.min.kind == lexMaxInf || r.max.kind == lexMinInf:
		cmp = 1
	default:
		cmp = compareBytes(r.min.s, r.max.s)
	}
	return cmp > 0 || (cmp == 0 && (r.min.ex || r.max.ex))
}

// lexInRange is zzlIsInLexRange / zslIsInLexRange.
func lexInRange(z *types.ZSet, r *lexRange) bool {
	if r.empty() || z.Len() == 0 {
		return false
	}
	var tmp [24]byte
	last, _ := z.At(z.Len() - 1)
	if !r.gteMin(types.Bytes(last, tmp[:0])) {
		return false
	}
	first, _ := z.At(0)
	return r.lteMax(types.Bytes(first, tmp[:0]))
}

func firstInLex(z *types.ZSet, r *lexRange) int {
	if !lexInRange(z, r) {
		return -1
	}
	var tmp [24]byte
	if z.Listpack() == nil {
		i := z.Search(func(m types.Str, _ float64) bool { return r.gteMin(types.Bytes(m, tmp[:0])) })
		if i >= z.Len() {
			return -1
		}
		if m, _ := z.At(i); !r.lteMax(types.Bytes(m, tmp[:0])) {
			return -1
		}
		return i
	}
	found := -1
	i := 0
	z.Walk(0, false, func(m types.Str, _ float64) bool {
		b := types.Bytes(m, tmp[:0])
		if r.gteMin(b) {
			if r.lteMax(b) {
				found = i
			}
			return false
		}
		i++
		return true
	})
	return found
}

func lastInLex(z *types.ZSet, r *lexRange) int {
	if !lexInRange(z, r) {
		return -1
	}
	var tmp [24]byte
	if z.Listpack() == nil {
		i := z.Search(func(m types.Str, _ float64) bool { return !r.lteMax(types.Bytes(m, tmp[:0])) }) - 1
		if i < 0 {
			return -1
		}
		if m, _ := z.At(i); !r.gteMin(types.Bytes(m, tmp[:0])) {
			return -1
		}
		return i
	}
	found := -1
	i := z.Len() - 1
	z.Walk(i, true, func(m types.Str, _ float64) bool {
		b := types.Bytes(m, tmp[:0])
		if r.lteMax(b) {
			if r.gteMin(b) {
				found = i
			}
			return false
		}
		i--
		return true
	})
	return found
}

// countForward counts the elements from rank first onwards while in
// holds.
func countForward(z *types.ZSet, first int, in func(types.Str, float64) bool) int {
	if first < 0 {
		return 0
	}
	n := 0
	z.Walk(first, false, func(m types.Str, s float64) bool {
		if !in(m, s) {
			return false
		}
		n++
		return true
	})
	return n
}

func scoreLteMax(r *scoreRange) func(types.Str, float64) bool {
	return func(_ types.Str, s float64) bool { return r.lteMax(s) }
}

func lexLteMax(r *lexRange) func(types.Str, float64) bool {
	var tmp [24]byte
	return func(m types.Str, _ float64) bool { return r.lteMax(types.Bytes(m, tmp[:0])) }
}

func zcountCommand(c *Ctx) {
	r, ok := parseScoreRange(c.Args[2], c.Args[3])
	if !ok {
		c.Err("ERR min or max is not a float")
		return
	}
	z, ok := c.zsetRead(c.Args[1])
	if !ok {
		return
	}
	if z == nil {
		c.Int(0)
		return
	}
	c.Int(int64(countForward(z, firstInScore(z, &r), scoreLteMax(&r))))
}

func zlexcountCommand(c *Ctx) {
	r, ok := parseLexRange(c.Args[2], c.Args[3])
	if !ok {
		c.Err("ERR min or max not valid string range item")
		return
	}
	z, ok := c.zsetRead(c.Args[1])
	if !ok {
		return
	}
	if z == nil {
		c.Int(0)
		return
	}
	c.Int(int64(countForward(z, firstInLex(z, &r), lexLteMax(&r))))
}

func zscoreCommand(c *Ctx) {
	z, ok := c.zsetRead(c.Args[1])
	if !ok {
		return
	}
	if z == nil {
		c.Null()
		return
	}
	s, ok := z.Score(c.Args[2])
	if !ok {
		c.Null()
		return
	}
	c.Double(s)
}

func zmscoreCommand(c *Ctx) {
	zsetEachMember(c, c.Null, c.Double)
}

// zsetEachMember replies with an array of one element per member argument
// (ZMSCORE, GEOPOS, GEOHASH): missing() for a member the set does not hold
// (or a key that does not exist), present(score) for one it holds.
func zsetEachMember(c *Ctx, missing func(), present func(score float64)) {
	z, ok := c.zsetRead(c.Args[1])
	if !ok {
		return
	}
	c.ArrayLen(len(c.Args) - 2)
	for _, m := range c.Args[2:] {
		if z == nil {
			missing()
		} else if score, found := z.Score(m); found {
			present(score)
		} else {
			missing()
		}
	}
}

func zrankGeneric(c *Ctx, reverse bool) {
	z, ok := c.zsetRead(c.Args[1])
	if !ok {
		return
	}
	if z == nil {
		c.Null()
		return
	}
	r, _, ok := z.Rank(c.Args[2], reverse)
	if !ok {
		c.Null()
		return
	}
	c.Int(int64(r))
}

// Range kinds and directions of zrangeGenericCommand.
const (
	zrangeAuto = iota
	zrangeRank
	zrangeScore
	zrangeLex
)

const (
	dirAuto = iota
	dirForward
	dirReverse
)

// zrangeResult collects a range for a client reply or a store.
type zrangeResult struct {
	c          *Ctx
	store      bool
	withScores bool
	n          int
	body       []byte
	dst        *types.ZSet
}

func (h *zrangeResult) emit(m types.Str, s float64) {
	h.n++
	if h.store {
		var tmp [24]byte
		h.dst.Add(types.Bytes(m, tmp[:0]), s, 0, h.c.limits())
		return
	}
	if h.withScores && h.c.Proto > 2 {
		h.body = resp.AppendArrayLen(h.body, 2)
	}
	if m.IsInt {
		h.body = resp.AppendBulkInt(h.body, m.Int)
	} else {
		h.body = resp.AppendBulk(h.body, m.Str)
	}
	if h.withScores {
		h.body = resp.AppendDouble(h.body, h.c.Proto, s)
	}
}

// storeZSetResult replies with the size of z and stores z at dst with
// event, or deletes dst when z is empty: the end of ZRANGESTORE and of
// ZUNIONSTORE and its kin, which reply before their events. (GEORADIUS
// STORE and GEOSEARCHSTORE send their events first: geoSearch.)
func (c *Ctx) storeZSetResult(dst []byte, z *types.ZSet, event string) {
	n := z.Len()
	c.Int(int64(n))
	if n > 0 {
		c.setKey(dst, types.ZSetValue(z), false)
		c.notify(NotifyZSet, event, dst)
		c.Dirty++
		return
	}
	c.deleteEmptyResult(dst)
}

// finish is the result handler's finalizeResultEmission.
func (h *zrangeResult) finish(dstKey []byte) {
	c := h.c
	if h.store {
		c.storeZSetResult(dstKey, h.dst, "zrangestore")
		return
	}
	n := h.n
	if h.withScores && c.Proto == 2 {
		n *= 2
	}
	c.ArrayLen(n)
	c.Out = append(c.Out, h.body...)
}

// zrangeGeneric is zrangeGenericCommand for every ZRANGE flavour.
func zrangeGeneric(c *Ctx, argStart int, dstKey []byte, kind, dir int) {
	store := dstKey != nil
	key := c.Args[argStart]
	minIdx, maxIdx := argStart+1, argStart+2
	var start, end int64
	withScores := false
	offset, limit := int64(0), int64(-1)
	for j := argStart + 3; j < len(c.Args); j++ {
		left := len(c.Args) - j - 1
		a := c.Args[j]
		switch {
		case !store && eq(a, "withscores"):
			withScores = true
		case eq(a, "limit") && left >= 2:
			o, ok1 := rconv.ParseInt(c.Args[j+1])
			if !ok1 {
				c.Err(ErrNotInt)
				return
			}
			l, ok2 := rconv.ParseInt(c.Args[j+2])
			if !ok2 {
				c.Err(ErrNotInt)
				return
			}
			offset, limit = o, l
			j += 2
		case dir == dirAuto && eq(a, "rev"):
			dir = dirReverse
		case kind == zrangeAuto && eq(a, "bylex"):
			kind = zrangeLex
		case kind == zrangeAuto && eq(a, "byscore"):
			kind = zrangeScore
		default:
			c.Err(ErrSyntax)
			return
		}
	}
	if dir == dirAuto {
		dir = dirForward
	}
	if kind == zrangeAuto {
		kind = zrangeRank
	}
	if limit != -1 && kind == zrangeRank {
		c.Err("ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX")
		return
	}
	if withScores && kind == zrangeLex {
		c.Err("ERR syntax error, WITHSCORES not supported in combination with BYLEX")
		return
	}
	reverse := dir == dirReverse
	if reverse && kind != zrangeRank {
		minIdx, maxIdx = maxIdx, minIdx
	}
	var sr scoreRange
	var lr lexRange
	switch kind {
	case zrangeRank:
		var ok1, ok2 bool
		start, ok1 = rconv.ParseInt(c.Args[minIdx])
		if ok1 {
			end, ok2 = rconv.ParseInt(c.Args[maxIdx])
		}
		if !ok1 || !ok2 {
			c.Err(ErrNotInt)
			return
		}
	case zrangeScore:
		var ok bool
		if sr, ok = parseScoreRange(c.Args[minIdx], c.Args[maxIdx]); !ok {
			c.Err("ERR min or max is not a float")
			return
		}
	case zrangeLex:
		var ok bool
		if lr, ok = parseLexRange(c.Args[minIdx], c.Args[maxIdx]); !ok {
			c.Err("ERR min or max not valid string range item")
			return
		}
	}
	h := &zrangeResult{c: c, store: store, withScores: withScores}
	if store {
		h.dst = types.NewZSetListpack()
	}
	v := c.lookupRead(key)
	if v == nil {
		if store {
			h.finish(dstKey)
		} else {
			c.EmptyArray()
		}
		return
	}
	if v.Type() != keyspace.TypeZSet {
		c.Err(ErrWrongType)
		return
	}
	z := types.ZSetOf(v)
	switch kind {
	case zrangeRank:
		n := int64(z.Len())
		if start < 0 {
			start += n
		}
		if end < 0 {
			end += n
		}
		if start < 0 {
			start = 0
		}
		if start <= end && start < n {
			if end >= n {
				end = n - 1
			}
			count := end - start + 1
			if store && count > int64(c.limits().ZSetMaxListpackEntries) {
				// Redis sizes the destination by the range's length when
				// it is known: a skiplist from the start, so that scores
				// are never rounded through listpack entries (-0 stays
				// -0).
				h.dst = types.NewZSetSkiplist()
			}
			from := int(start)
			if reverse {
				from = int(n - 1 - start)
			}
			z.Walk(from, reverse, func(m types.Str, s float64) bool {
				h.emit(m, s)
				count--
				return count > 0
			})
		}
	case zrangeScore:
		zrangeWalk(z, h, offset, limit, reverse,
			func() int { return firstInScore(z, &sr) }, func() int { return lastInScore(z, &sr) },
			func(_ types.Str, s float64) bool {
				if reverse {
					return sr.gteMin(s)
				}
				return sr.lteMax(s)
			})
	case zrangeLex:
		var tmp [24]byte
		zrangeWalk(z, h, offset, limit, reverse,
			func() int { return firstInLex(z, &lr) }, func() int { return lastInLex(z, &lr) },
			func(m types.Str, _ float64) bool {
				b := types.Bytes(m, tmp[:0])
				if reverse {
					return lr.gteMin(b)
				}
				return lr.lteMax(b)
			})
	}
	h.finish(dstKey)
}

// zrangeWalk emits a score or lex range with Redis's LIMIT semantics: a
// negative offset skips everything, a negative limit means no limit.
func zrangeWalk(z *types.ZSet, h *zrangeResult, offset, limit int64, reverse bool,
	first, last func() int, inRange func(types.Str, float64) bool) {
	if offset > 0 && offset >= int64(z.Len()) {
		return
	}
	if offset < 0 || limit == 0 {
		return
	}
	from := first()
	if reverse {
		from = last()
	}
	if from < 0 {
		return
	}
	z.Walk(from, reverse, func(m types.Str, s float64) bool {
		if offset > 0 {
			offset--
			return true
		}
		if !inRange(m, s) {
			return false
		}
		h.emit(m, s)
		if limit > 0 {
			limit--
			return limit > 0
		}
		return true
	})
}

func zremrangeGeneric(c *Ctx, kind int) {
	key := c.Args[1]
	var start, end int64
	var sr scoreRange
	var lr lexRange
	var event string
	switch kind {
	case zrangeRank:
		event = "zremrangebyrank"
		var ok1, ok2 bool
		start, ok1 = rconv.ParseInt(c.Args[2])
		if ok1 {
			end, ok2 = rconv.ParseInt(c.Args[3])
		}
		if !ok1 || !ok2 {
			c.Err(ErrNotInt)
			return
		}
	case zrangeScore:
		event = "zremrangebyscore"
		var ok bool
		if sr, ok = parseScoreRange(c.Args[2], c.Args[3]); !ok {
			c.Err("ERR min or max is not a float")
			return
		}
	case zrangeLex:
		event = "zremrangebylex"
		var ok bool
		if lr, ok = parseLexRange(c.Args[2], c.Args[3]); !ok {
			c.Err("ERR min or max not valid string range item")
			return
		}
	}
	z, ok := c.zsetWrite(key)
	if !ok {
		return
	}
	if z == nil {
		c.Int(0)
		return
	}
	var a, b int
	switch kind {
	case zrangeRank:
		n := int64(z.Len())
		if start < 0 {
			start += n
		}
		if end < 0 {
			end += n
		}
		if start < 0 {
			start = 0
		}
		if start > end || start >= n {
			c.Int(0)
			return
		}
		if end >= n {
			end = n - 1
		}
		a, b = int(start), int(end)
	case zrangeScore:
		a = firstInScore(z, &sr)
		b = a + countForward(z, a, scoreLteMax(&sr)) - 1
	case zrangeLex:
		a = firstInLex(z, &lr)
		b = a + countForward(z, a, lexLteMax(&lr)) - 1
	}
	deleted := 0
	if a <= b {
		deleted = b - a + 1
		z.DeleteRange(a, b, nil)
	}
	if deleted > 0 {
		c.modified(key)
		c.notify(NotifyZSet, event, key)
		if z.Len() == 0 {
			c.deleteKey(key)
			c.notify(NotifyGeneric, "del", key)
		}
	}
	c.Dirty += int64(deleted)
	c.Int(int64(deleted))
}

// zpopGeneric is genericZpopCommand. keys are tried in order; the first
// existing one is popped from.
func zpopGeneric(c *Ctx, keys [][]byte, max, emitKey bool, count int64, nested, nilWhenEmpty bool) {
	var z *types.ZSet
	var key []byte
	for _, k := range keys {
		zz, ok := c.zsetWrite(k)
		if !ok {
			return
		}
		if zz != nil {
			z, key = zz, k
			break
		}
	}
	if z == nil {
		if nilWhenEmpty {
			c.NullArray()
		} else {
			c.EmptyArray()
		}
		return
	}
	zpopFrom(c, z, key, max, emitKey, count, nested)
}

// zpopFrom pops from a non-empty sorted set (also how a client blocked in
// BZPOPMIN/BZMPOP is served).
func zpopFrom(c *Ctx, z *types.ZSet, key []byte, max, emitKey bool, count int64, nested bool) {
	if count == 0 {
		c.EmptyArray()
		return
	}
	if count == -1 {
		count = 1
	}
	n := int(min(count, int64(z.Len())))
	switch {
	case !nested && !emitKey:
		c.ArrayLen(n * 2)
	case nested && !emitKey:
		c.ArrayLen(n)
	case !nested && emitKey:
		c.ArrayLen(n*2 + 1)
		c.Bulk(key)
	default:
		c.ArrayLen(2)
		c.Bulk(key)
		c.ArrayLen(n)
	}
	from := 0
	if max {
		from = z.Len() - 1
	}
	i := 0
	z.Walk(from, max, func(m types.Str, s float64) bool {
		if nested {
			c.ArrayLen(2)
		}
		c.BulkStr(m)
		c.Double(s)
		i++
		return i < n
	})
	if max {
		z.DeleteRange(z.Len()-n, z.Len()-1, nil)
	} else {
		z.DeleteRange(0, n-1, nil)
	}
	c.Dirty += int64(n)
	if max {
		c.notify(NotifyZSet, "zpopmax", key)
	} else {
		c.notify(NotifyZSet, "zpopmin", key)
	}
	if z.Len() == 0 {
		c.deleteKey(key)
		c.notify(NotifyGeneric, "del", key)
	}
	c.modified(key)
}

func zpopName(max bool) []byte {
	if max {
		return []byte("ZPOPMAX")
	}
	return []byte("ZPOPMIN")
}

func zpopCommand(c *Ctx, max bool) {
	if len(c.Args) > 3 {
		c.Err(ErrSyntax)
		return
	}
	count := int64(-1)
	if len(c.Args) == 3 {
		n, ok := c.positiveLong(c.Args[2], "")
		if !ok {
			return
		}
		count = n
	}
	zpopGeneric(c, c.Args[1:2], max, false, count, len(c.Args) == 3 && c.Proto > 2, false)
}

func bzpopCommand(c *Ctx, max bool) {
	bzpopGeneric(c, c.Args[1:len(c.Args)-1], max, len(c.Args)-1, -1, false)
}

// bzpopGeneric is blockingGenericZpopCommand.
func bzpopGeneric(c *Ctx, keys [][]byte, max bool, timeoutIdx int, count int64, nested bool) {
	deadline, ok := c.parseTimeout(c.Args[timeoutIdx])
	if !ok {
		return
	}
	for _, key := range keys {
		z, ok := c.zsetWrite(key)
		if !ok {
			return
		}
		if z == nil {
			continue
		}
		zsetServe(c, z, key, max, count, nested)
		return
	}
	c.block(&BlockRequest{
		Keys: keys, Type: keyspace.TypeZSet, Deadline: deadline,
		Serve: func(c *Ctx, key []byte) {
			zsetServe(c, types.ZSetOf(c.lookupWrite(key)), key, max, count, nested)
		},
	}, nil)
}

// zsetServe pops for BZPOPMIN/BZPOPMAX (count -1) or BZMPOP.
func zsetServe(c *Ctx, z *types.ZSet, key []byte, max bool, count int64, nested bool) {
	n := min(count, int64(z.Len()))
	zpopFrom(c, z, key, max, true, count, nested)
	if count == -1 {
		c.Rewritten = [][][]byte{{zpopName(max), key}}
	} else {
		c.Rewritten = [][][]byte{{zpopName(max), key, strconv.AppendInt(nil, n, 10)}}
	}
}

// zmpopGeneric is zmpopGenericCommand for ZMPOP (numkeys at 1) and BZMPOP
// (timeout at 1).
func zmpopGeneric(c *Ctx, numkeysIdx int, blocking bool) {
	whereIdx, ok := c.mpopWhere(numkeysIdx)
	if !ok {
		return
	}
	var max bool
	switch {
	case eq(c.Args[whereIdx], "min"):
	case eq(c.Args[whereIdx], "max"):
		max = true
	default:
		c.Err(ErrSyntax)
		return
	}
	count, ok := c.mpopCount(whereIdx)
	if !ok {
		return
	}
	keys := c.Args[numkeysIdx+1 : whereIdx]
	if blocking {
		bzpopGeneric(c, keys, max, 1, count, true)
		return
	}
	for _, k := range keys {
		z, ok := c.zsetWrite(k)
		if !ok {
			return
		}
		if z != nil {
			n := min(count, int64(z.Len()))
			zpopFrom(c, z, k, max, true, count, true)
			c.Rewritten = [][][]byte{{zpopName(max), k, strconv.AppendInt(nil, n, 10)}}
			return
		}
	}
	c.NullArray()
}

func zrandmemberCommand(c *Ctx) {
	if len(c.Args) >= 3 {
		l, withScores, ok := c.randomCountArgs("withscores")
		if !ok {
			return
		}
		z, ok := c.zsetRead(c.Args[1])
		if !ok {
			return
		}
		var src randomSource[float64]
		if z != nil {
			walk := func(fn func(types.Str, float64) bool) { z.Walk(0, false, fn) }
			src = randomSource[float64]{z.Len(), z.Random, z.At, walk}
		}
		randomWithCount(c, src, l, withScores, c.Double)
		return
	}
	z, ok := c.zsetRead(c.Args[1])
	if !ok {
		return
	}
	if z == nil {
		c.Null()
		return
	}
	m, _ := z.Random(c.rand())
	c.BulkStr(m)
}

func zscanCommand(c *Ctx) {
	cursor, ok := c.scanCursor(c.Args[2])
	if !ok {
		return
	}
	z, ok := c.zsetRead(c.Args[1])
	if !ok {
		return
	}
	if z == nil {
		c.scanReply(0, nil)
		return
	}
	pattern, count, ok := c.scanOptions(3)
	if !ok {
		return
	}
	var items [][]byte
	listpack := z.Listpack() != nil
	next := z.Scan(cursor, count, func(m types.Str, s float64) {
		if !matchStr(pattern, m) {
			return
		}
		var score []byte
		if v, isInt := redisnum.ScoreToInt(s); listpack && isInt {
			// A listpack holds integral scores as integers and SCAN
			// returns the entry as stored.
			score = strconv.AppendInt(nil, v, 10)
		} else {
			score = resp.FormatDouble(nil, s)
		}
		items = append(items, types.Copy(m), score)
	})
	c.scanReply(next, items)
}

// Set operations of zunionInterDiffGenericCommand.
const (
	opUnion = iota
	opInter
	opDiff
)

// zsetOpSource is one input of ZUNION/ZINTER/ZDIFF: a sorted set, a set
// (every member scoring 1) or nothing.
type zsetOpSource struct {
	z      *types.ZSet
	s      *types.Set
	weight float64
}

func (src *zsetOpSource) length() int {
	switch {
	case src.z != nil:
		return src.z.Len()
	case src.s != nil:
		return src.s.Len()
	}
	return 0
}

func (src *zsetOpSource) walk(fn func(m types.Str, s float64)) {
	switch {
	case src.z != nil:
		src.z.Walk(0, false, func(m types.Str, s float64) bool { fn(m, s); return true })
	case src.s != nil:
		src.s.Range(func(m types.Str) bool { fn(m, 1); return true })
	}
}

func (src *zsetOpSource) find(m []byte) (float64, bool) {
	switch {
	case src.z != nil:
		return src.z.Score(m)
	case src.s != nil:
		return 1, src.s.Has(m)
	}
	return 0, false
}

func (src *zsetOpSource) same(o *zsetOpSource) bool {
	return src.z != nil && src.z == o.z || src.s != nil && src.s == o.s
}

const (
	aggrSum = iota
	aggrMin
	aggrMax
)

func aggregate(target *float64, v float64, aggr int) {
	switch aggr {
	case aggrSum:
		*target += v
		if math.IsNaN(*target) {
			*target = 0
		}
	case aggrMin:
		if v < *target {
			*target = v
		}
	case aggrMax:
		if v > *target {
			*target = v
		}
	}
}

// zsetOpGeneric is zunionInterDiffGenericCommand.
func zsetOpGeneric(c *Ctx, dstKey []byte, numkeysIdx int, op int, cardOnly bool) {
	setnum, ok := rconv.ParseInt(c.Args[numkeysIdx])
	if !ok {
		c.Err(ErrNotInt)
		return
	}
	if setnum < 1 {
		c.Err("ERR at least 1 input key is needed for '" + c.Spec.FullName() + "' command")
		return
	}
	if setnum > int64(len(c.Args)-(numkeysIdx+1)) {
		c.Err(ErrSyntax)
		return
	}
	srcs := make([]zsetOpSource, setnum)
	j := numkeysIdx + 1
	for i := range srcs {
		v := c.lookupRead(c.Args[j])
		if v != nil {
			switch v.Type() {
			case keyspace.TypeZSet:
				srcs[i].z = types.ZSetOf(v)
			case keyspace.TypeSet:
				srcs[i].s = types.SetOf(v)
			default:
				c.Err(ErrWrongType)
				return
			}
		}
		srcs[i].weight = 1
		j++
	}
	aggr := aggrSum
	withScores := false
	var limit int64
	for remaining := len(c.Args) - j; remaining > 0; remaining = len(c.Args) - j {
		a := c.Args[j]
		switch {
		case op != opDiff && !cardOnly && remaining >= int(setnum)+1 && eq(a, "weights"):
			j++
			for i := range srcs {
				w, ok := parseDouble(c.Args[j])
				if !ok {
					c.Err("ERR weight value is not a float")
					return
				}
				srcs[i].weight = w
				j++
			}
		case op != opDiff && !cardOnly && remaining >= 2 && eq(a, "aggregate"):
			j++
			switch {
			case eq(c.Args[j], "sum"):
				aggr = aggrSum
			case eq(c.Args[j], "min"):
				aggr = aggrMin
			case eq(c.Args[j], "max"):
				aggr = aggrMax
			default:
				c.Err(ErrSyntax)
				return
			}
			j++
		case dstKey == nil && !cardOnly && eq(a, "withscores"):
			j++
			withScores = true
		case cardOnly && remaining >= 2 && eq(a, "limit"):
			j++
			n, ok := c.positiveLong(c.Args[j], "LIMIT can't be negative")
			if !ok {
				return
			}
			limit = n
			j++
		default:
			c.Err(ErrSyntax)
			return
		}
	}
	if op != opDiff {
		sort.SliceStable(srcs, func(a, b int) bool { return srcs[a].length() < srcs[b].length() })
	}
	// The result is built as (member, score) pairs, then ordered.
	acc := &dict.Dict[float64]{}
	var card int64
	var tmp [24]byte
	switch op {
	case opInter:
		if srcs[0].length() == 0 {
			break
		}
		stop := false
		srcs[0].walk(func(m types.Str, s float64) {
			if stop {
				return
			}
			b := types.Bytes(m, tmp[:0])
			score := srcs[0].weight * s
			if math.IsNaN(score) {
				score = 0
			}
			for k := 1; k < len(srcs); k++ {
				var v float64
				if srcs[k].same(&srcs[0]) {
					v = s * srcs[k].weight
				} else if f, ok := srcs[k].find(b); ok {
					v = f * srcs[k].weight
				} else {
					return
				}
				aggregate(&score, v, aggr)
			}
			if cardOnly {
				card++
				if limit > 0 && card >= limit {
					stop = true
				}
				return
			}
			acc.Set(string(b), score)
		})
	case opUnion:
		for k := range srcs {
			srcs[k].walk(func(m types.Str, s float64) {
				score := srcs[k].weight * s
				if math.IsNaN(score) {
					score = 0
				}
				b := types.Bytes(m, tmp[:0])
				if p := acc.GetBytes(b); p != nil {
					aggregate(p, score, aggr)
					return
				}
				acc.Set(string(b), score)
			})
		}
	case opDiff:
		if srcs[0].length() == 0 {
			break
		}
		srcs[0].walk(func(m types.Str, s float64) {
			b := types.Bytes(m, tmp[:0])
			for k := 1; k < len(srcs); k++ {
				if srcs[k].same(&srcs[0]) {
					return
				}
				if _, ok := srcs[k].find(b); ok {
					return
				}
			}
			acc.Set(string(b), s)
		})
	}
	if cardOnly {
		c.Int(card)
		return
	}
	result := types.NewZSetSkiplist()
	maxLen, totLen := 0, 0
	lim := c.limits()
	for e := range acc.All() {
		result.Add(unsafeBytes(e.Key), e.Val, 0, lim)
		maxLen = max(maxLen, len(e.Key))
		totLen += len(e.Key)
	}
	if dstKey != nil {
		result.ConvertToListpackIfNeeded(lim, maxLen, totLen)
		c.storeZSetResult(dstKey, result, [...]string{"zunionstore", "zinterstore", "zdiffstore"}[op])
		return
	}
	n := result.Len()
	if withScores && c.Proto == 2 {
		c.ArrayLen(n * 2)
	} else {
		c.ArrayLen(n)
	}
	result.Walk(0, false, func(m types.Str, s float64) bool {
		if withScores && c.Proto > 2 {
			c.ArrayLen(2)
		}
		c.BulkStr(m)
		if withScores {
			c.Double(s)
		}
		return true
	})
}
