package command

import (
	"bytes"
	"math"
	"slices"
	"sort"
	"strconv"

	"github.com/reefkv/reef/internal/keyspace"
	"github.com/reefkv/reef/internal/rconv"
	"github.com/reefkv/reef/internal/slot"
	"github.com/reefkv/reef/internal/types"
)

// sortCommands returns SORT and SORT_RO (Redis's sort.c).
//
// SORT locks for itself: BY and GET patterns read keys that depend on the
// data, so when they are used (standalone mode only: cluster mode refuses
// them) it locks every slot; otherwise it locks the slots of the sorted key
// and of the STORE destination.
func sortCommands() map[string]Handler {
	return map[string]Handler{
		"sort":    func(c *Ctx) { sortGeneric(c, false) },
		"sort_ro": func(c *Ctx) { sortGeneric(c, true) },
	}
}

var sortSelfLocking = map[string]bool{"sort": true, "sort_ro": true}

var sortGetKeys = map[string]func(args [][]byte) []int{"sort": SortKeys}

// quicklistDefaultFill is the fill factor of a quicklist Redis creates
// without setting its options.
const quicklistDefaultFill = -2

// SortKeys is Redis's sortGetKeys: the sorted key and the last STORE
// destination.
func SortKeys(args [][]byte) []int {
	keys := []int{1}
	store := -1
	for i := 2; i < len(args); i++ {
		switch {
		case eq(args[i], "limit"):
			i += 2
		case eq(args[i], "get"), eq(args[i], "by"):
			i++
		case eq(args[i], "store") && i+1 < len(args):
			store = i + 1
		}
	}
	if store > 0 {
		keys = append(keys, store)
	}
	return keys
}

type sortItem struct {
	obj    []byte
	score  float64
	cmpobj []byte
	hasCmp bool
}

// sortScore parses a SORT weight as Redis does with strtod: leading spaces
// and the empty string (0) are fine; trailing garbage, NaN and ERANGE
// (overflow, underflow to zero or to a subnormal) are refused.
func sortScore(b []byte) (float64, bool) {
	b = cPrefix(b)
	if len(b) == 0 {
		return 0, true
	}
	i := 0
	for i < len(b) && (b[i] == ' ' || b[i] >= '\t' && b[i] <= '\r') {
		i++
	}
	if i == len(b) {
		return 0, false
	}
	f, ok := parseDouble(b[i:])
	if !ok {
		return 0, false
	}
	if f != 0 && math.Abs(f) < 0x1p-1022 {
		return 0, false
	}
	return f, true
}

func sortGeneric(c *Ctx, readonly bool) {
	desc, alpha, dontsort := false, false, false
	limitStart, limitCount := int64(0), int64(-1)
	var sortby, storekey []byte
	var gets [][]byte
	for j := 2; j < len(c.Args); j++ {
		left := len(c.Args) - j - 1
		a := c.Args[j]
		switch {
		case eq(a, "asc"):
			desc = false
		case eq(a, "desc"):
			desc = true
		case eq(a, "alpha"):
			alpha = true
		case eq(a, "limit") && left >= 2:
			s, ok1 := rconv.ParseInt(c.Args[j+1])
			if !ok1 {
				c.Err(ErrNotInt)
				return
			}
			n, ok2 := rconv.ParseInt(c.Args[j+2])
			if !ok2 {
				c.Err(ErrNotInt)
				return
			}
			limitStart, limitCount = s, n
			j += 2
		case !readonly && eq(a, "store") && left >= 1:
			storekey = c.Args[j+1]
			j++
		case eq(a, "by") && left >= 1:
			sortby = c.Args[j+1]
			if bytes.IndexByte(sortby, '*') < 0 {
				dontsort = true
			} else if c.Cfg.ClusterEnabled {
				c.Err("ERR BY option of SORT denied in Cluster mode.")
				return
			}
			j++
		case eq(a, "get") && left >= 1:
			if c.Cfg.ClusterEnabled {
				c.Err("ERR GET option of SORT denied in Cluster mode.")
				return
			}
			gets = append(gets, c.Args[j+1])
			j++
		default:
			c.Err(ErrSyntax)
			return
		}
	}
	// Lock what the command reads and writes (see sortCommands). A STORE
	// is propagated before the locks are released, so that the replication
	// stream orders it with the other writes to its key.
	propSlot := keyspace.AllSlots
	if (sortby != nil && !dontsort) || len(gets) > 0 {
		c.KS.LockAll()
		defer c.KS.UnlockAll()
		if storekey != nil {
			c.KS.CaptureForWrite(slot.Of(storekey))
		}
	} else {
		slots := []int{slot.Of(c.Args[1])}
		if storekey != nil {
			slots = append(slots, slot.Of(storekey))
		}
		slices.Sort(slots)
		slots = slices.Compact(slots)
		c.KS.LockSlots(slots)
		defer c.KS.UnlockSlots(slots)
		propSlot = slots[0]
	}
	if storekey != nil {
		defer func() {
			if c.Dirty > 0 {
				c.Env.Propagate(c, propSlot)
			}
		}()
	}

	v := c.lookupRead(c.Args[1])
	if v != nil && v.Type() != keyspace.TypeSet && v.Type() != keyspace.TypeList && v.Type() != keyspace.TypeZSet {
		c.Err(ErrWrongType)
		return
	}
	var typ keyspace.Type = keyspace.TypeList
	if v != nil {
		typ = v.Type()
	}
	if dontsort && typ == keyspace.TypeSet && storekey != nil {
		// A set has no order of its own: force one so that replicas agree.
		dontsort, alpha, sortby = false, true, nil
	}
	var z *types.ZSet
	if typ == keyspace.TypeZSet {
		z = types.ZSetOf(v)
		z.ConvertToSkiplist(c.limits())
	}
	vectorlen := int64(0)
	if v != nil {
		switch typ {
		case keyspace.TypeList:
			vectorlen = int64(types.ListOf(v).Len())
		case keyspace.TypeSet:
			vectorlen = int64(types.SetOf(v).Len())
		case keyspace.TypeZSet:
			vectorlen = int64(z.Len())
		}
	}
	// Clamp both to the object's size first, as Redis does, so that
	// start+count cannot overflow (LIMIT 4 9223372036854775807).
	start := min(max(limitStart, 0), vectorlen)
	limitCount = min(max(limitCount, -1), vectorlen)
	end := vectorlen - 1
	if limitCount >= 0 {
		end = start + limitCount - 1
	}
	if start >= vectorlen {
		start, end = vectorlen-1, vectorlen-2
	}
	if end >= vectorlen {
		end = vectorlen - 1
	}
	var vec []sortItem
	add := func(e types.Str) { vec = append(vec, sortItem{obj: types.Copy(e)}) }
	switch {
	case v == nil:
	case typ == keyspace.TypeList && dontsort:
		if end >= start {
			l := types.ListOf(v)
			n := end - start + 1
			from := int(start)
			if desc {
				from = l.Len() - int(start) - 1
			}
			l.Walk(from, desc, func(_ int, e types.Str) bool {
				add(e)
				return int64(len(vec)) < n
			})
			end -= start
			start = 0
		}
	case typ == keyspace.TypeList:
		types.ListOf(v).Walk(0, false, func(_ int, e types.Str) bool { add(e); return true })
	case typ == keyspace.TypeSet:
		types.SetOf(v).Range(func(e types.Str) bool { add(e); return true })
	case typ == keyspace.TypeZSet && dontsort:
		n := int(end - start + 1)
		if (start != 0 || end != vectorlen-1) && n > 0 {
			from := int(start)
			if desc {
				from = z.Len() - 1 - int(start)
			}
			z.Walk(from, desc, func(m types.Str, _ float64) bool {
				add(m)
				return len(vec) < n
			})
		} else if n > 0 {
			from := 0
			if desc {
				from = z.Len() - 1
			}
			z.Walk(from, desc, func(m types.Str, _ float64) bool { add(m); return true })
		}
		end -= start
		start = 0
	default:
		z.Scan(0, z.Len(), func(m types.Str, _ float64) { add(m) })
	}
	convErr := false
	if !dontsort {
		for i := range vec {
			var byval []byte
			if sortby != nil {
				b, ok := c.lookupByPattern(sortby, vec[i].obj)
				if !ok {
					continue
				}
				byval = b
			} else {
				byval = vec[i].obj
			}
			if alpha {
				if sortby != nil {
					vec[i].cmpobj, vec[i].hasCmp = byval, true
				}
			} else {
				f, ok := sortScore(byval)
				if !ok {
					convErr = true
				}
				vec[i].score = f
			}
		}
		byPattern, store := sortby != nil, storekey != nil
		cmp := func(a, b *sortItem) int {
			var r int
			switch {
			case !alpha:
				switch {
				case a.score > b.score:
					r = 1
				case a.score < b.score:
					r = -1
				default:
					r = bytes.Compare(a.obj, b.obj)
				}
			case byPattern:
				switch {
				case !a.hasCmp || !b.hasCmp:
					switch {
					case a.hasCmp == b.hasCmp:
						r = 0
					case !a.hasCmp:
						r = -1
					default:
						r = 1
					}
				case store:
					r = bytes.Compare(a.cmpobj, b.cmpobj)
				default:
					r = bytes.Compare(cPrefix(a.cmpobj), cPrefix(b.cmpobj))
				}
			case store:
				r = bytes.Compare(a.obj, b.obj)
			default:
				// strcoll: C strings, so bytes after a NUL do not count;
				// the stable sort keeps such ties in input order, as
				// glibc's merge-sort qsort does.
				r = bytes.Compare(cPrefix(a.obj), cPrefix(b.obj))
			}
			if desc {
				r = -r
			}
			return r
		}
		sort.SliceStable(vec, func(i, j int) bool { return cmp(&vec[i], &vec[j]) < 0 })
	}
	outputlen := end - start + 1
	if len(gets) > 0 {
		outputlen *= int64(len(gets))
	}
	if outputlen < 0 {
		outputlen = 0
	}
	if convErr {
		c.Err("ERR One or more scores can't be converted into double")
		return
	}
	if storekey == nil {
		c.ArrayLen(int(outputlen))
		for j := start; j <= end; j++ {
			if len(gets) == 0 {
				c.Bulk(vec[j].obj)
			}
			for _, g := range gets {
				if val, ok := c.lookupByPattern(g, vec[j].obj); ok {
					c.Bulk(val)
				} else {
					c.Null()
				}
			}
		}
		return
	}
	// Redis 7.0's SORT STORE makes its list with quicklistCreate's own
	// fill (-2), not list-max-listpack-size: LPUSH and the rest set the
	// configured one, SORT does not.
	l := types.NewList(quicklistDefaultFill)
	for j := start; j <= end; j++ {
		if len(gets) == 0 {
			l.Push(vec[j].obj, false)
			continue
		}
		for _, g := range gets {
			val, _ := c.lookupByPattern(g, vec[j].obj)
			l.Push(val, false)
		}
	}
	if outputlen > 0 {
		c.setKey(storekey, types.ListValue(l), false)
		c.notify(NotifyList, "sortstore", storekey)
		c.Dirty += outputlen
	} else if c.lookupWrite(storekey) != nil {
		c.deleteKey(storekey)
		c.notify(NotifyGeneric, "del", storekey)
		c.Dirty++
	}
	c.Int(outputlen)
}

// lookupByPattern is Redis's lookupKeyByPattern: "#" is the element
// itself; otherwise the first '*' is replaced by the element and the key
// read, either a string or, with "->field", a hash field. REQUIRES: every
// slot locked.
func (c *Ctx) lookupByPattern(pattern, subst []byte) ([]byte, bool) {
	if len(pattern) == 1 && pattern[0] == '#' {
		return subst, true
	}
	p := bytes.IndexByte(pattern, '*')
	if p < 0 {
		return nil, false
	}
	var field []byte
	hasField := false
	if f := bytes.Index(pattern[p+1:], []byte("->")); f >= 0 && p+1+f+2 < len(pattern) {
		field = pattern[p+1+f+2:]
		hasField = true
	}
	post := pattern[p+1:]
	if hasField {
		post = pattern[p+1 : len(pattern)-len(field)-2]
	}
	key := make([]byte, 0, p+len(subst)+len(post))
	key = append(key, pattern[:p]...)
	key = append(key, subst...)
	key = append(key, post...)
	o := c.lookupRead(key)
	if o == nil {
		return nil, false
	}
	if hasField {
		if o.Type() != keyspace.TypeHash {
			return nil, false
		}
		val, ok := types.HashOf(o).Get(field)
		if !ok {
			return nil, false
		}
		return types.Copy(val), true
	}
	if o.Type() != keyspace.TypeString {
		return nil, false
	}
	if o.IsInt() {
		return strconv.AppendInt(nil, o.Int(), 10), true
	}
	return append([]byte(nil), o.Bytes()...), true
}
