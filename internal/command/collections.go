package command

import (
	"strconv"

	"github.com/reefkv/reef/internal/glob"
	"github.com/reefkv/reef/internal/keyspace"
	"github.com/reefkv/reef/internal/rconv"
	"github.com/reefkv/reef/internal/resp"
	"github.com/reefkv/reef/internal/types"
)

// Collection values hold a pointer to an internal/types value; these
// helpers convert in both directions. The caller has checked v.Type().

// limits returns the encoding thresholds of the current configuration.
func (c *Ctx) limits() *types.Limits {
	cfg := c.Cfg
	c.lim = types.Limits{
		HashMaxListpackEntries: cfg.HashMaxListpackEntries,
		HashMaxListpackValue:   cfg.HashMaxListpackValue,
		SetMaxIntsetEntries:    cfg.SetMaxIntsetEntries,
		ZSetMaxListpackEntries: cfg.ZSetMaxListpackEntries,
		ZSetMaxListpackValue:   cfg.ZSetMaxListpackValue,
		ListMaxListpackSize:    cfg.ListMaxListpackSize,
	}
	return &c.lim
}

// BulkStr replies a collection element as a bulk string.
func (c *Ctx) BulkStr(e types.Str) {
	if e.IsInt {
		c.Out = resp.AppendBulkInt(c.Out, e.Int)
		return
	}
	c.Out = resp.AppendBulk(c.Out, e.Str)
}

// EmptyArray replies "*0", which Redis uses for missing collections even in
// RESP3.
func (c *Ctx) EmptyArray() { c.Out = append(c.Out, "*0\r\n"...) }

// modified is signalModifiedKey for a collection changed in place.
func (c *Ctx) modified(key []byte) { c.Env.KeyModified(c.DB, key) }

// collectionEncoding returns the encoding of a list, set, sorted set or hash
// value.
func collectionEncoding(v keyspace.Value) keyspace.Encoding {
	switch v.Type() {
	case keyspace.TypeHash:
		return types.HashOf(&v).Encoding()
	case keyspace.TypeSet:
		return types.SetOf(&v).Encoding()
	case keyspace.TypeZSet:
		return types.ZSetOf(&v).Encoding()
	case keyspace.TypeList:
		return types.ListOf(&v).Encoding()
	default:
		return keyspace.EncRaw
	}
}

// cloneCollection deep-copies a collection value.
func cloneCollection(v keyspace.Value) keyspace.Value {
	switch v.Type() {
	case keyspace.TypeHash:
		return types.HashValue(types.HashOf(&v).Clone())
	case keyspace.TypeSet:
		return types.SetValue(types.SetOf(&v).Clone())
	case keyspace.TypeZSet:
		return types.ZSetValue(types.ZSetOf(&v).Clone())
	case keyspace.TypeList:
		return types.ListValue(types.ListOf(&v).Clone())
	default:
		return v
	}
}

// collectionMemory estimates the bytes a collection value holds.
func collectionMemory(v keyspace.Value) int64 {
	switch v.Type() {
	case keyspace.TypeHash:
		return types.HashOf(&v).MemoryUsage()
	case keyspace.TypeSet:
		return types.SetOf(&v).MemoryUsage()
	case keyspace.TypeZSet:
		return types.ZSetOf(&v).MemoryUsage()
	case keyspace.TypeList:
		return types.ListOf(&v).MemoryUsage()
	default:
		return 0
	}
}

// rdbStringLen is the length of a string in an RDB file (length prefix plus
// bytes; integers take their compact encoding).
func rdbStringLen(e types.Str) int64 {
	if e.IsInt {
		switch v := e.Int; {
		case v >= -(1<<7) && v < 1<<7:
			return 2
		case v >= -(1<<15) && v < 1<<15:
			return 3
		case v >= -(1<<31) && v < 1<<31:
			return 5
		}
	}
	l := int64(types.StrLen(e))
	if !e.IsInt && l <= 11 {
		if _, ok := rconv.ParseInt(e.Str); ok {
			return rdbStringLen(types.Str{Int: mustInt(e.Str), IsInt: true})
		}
	}
	return rdbLenLen(l) + l
}

func mustInt(b []byte) int64 { n, _ := rconv.ParseInt(b); return n }

func rdbLenLen(n int64) int64 {
	switch {
	case n < 1<<6:
		return 1
	case n < 1<<14:
		return 2
	case n <= 1<<32-1:
		return 5
	}
	return 9
}

// collectionSerializedLength is the RDB length of a collection value, as
// DEBUG OBJECT reports it (without LZF compression).
func collectionSerializedLength(v keyspace.Value) int64 {
	blob := func(b []byte) int64 { return rdbLenLen(int64(len(b))) + int64(len(b)) }
	switch v.Type() {
	case keyspace.TypeHash:
		h := types.HashOf(&v)
		if lp := h.Listpack(); lp != nil {
			return blob(lp)
		}
		n := rdbLenLen(int64(h.Len()))
		h.Range(func(f, val types.Str) bool {
			n += rdbStringLen(f) + rdbStringLen(val)
			return true
		})
		return n
	case keyspace.TypeSet:
		s := types.SetOf(&v)
		if is := s.Intset(); is != nil {
			return blob(is)
		}
		n := rdbLenLen(int64(s.Len()))
		s.Range(func(m types.Str) bool { n += rdbStringLen(m); return true })
		return n
	case keyspace.TypeZSet:
		z := types.ZSetOf(&v)
		if lp := z.Listpack(); lp != nil {
			return blob(lp)
		}
		n := rdbLenLen(int64(z.Len()))
		z.Walk(0, false, func(m types.Str, _ float64) bool { n += rdbStringLen(m) + 8; return true })
		return n
	case keyspace.TypeList:
		l := types.ListOf(&v)
		n := rdbLenLen(int64(len(l.Nodes())))
		for _, lp := range l.Nodes() {
			n += 1 + blob(lp)
		}
		return n
	default:
		return 0
	}
}

// scanCursor is parseScanCursorOrReply.
func (c *Ctx) scanCursor(arg []byte) (uint64, bool) {
	n, ok := parseScanCursor(arg)
	if !ok {
		c.Err("ERR invalid cursor")
		return 0, false
	}
	return n, true
}

// scanOptions parses the MATCH and COUNT options of HSCAN, SSCAN and ZSCAN
// (scanGenericCommand, which rejects TYPE for them).
func (c *Ctx) scanOptions(from int) (pattern []byte, count int, ok bool) {
	count = 10
	for i := from; i < len(c.Args); i += 2 {
		if i+1 >= len(c.Args) {
			c.Err(ErrSyntax)
			return nil, 0, false
		}
		switch {
		case eq(c.Args[i], "count"):
			n, ok := rconv.ParseInt(c.Args[i+1])
			if !ok {
				c.Err(ErrNotInt)
				return nil, 0, false
			}
			if n < 1 {
				c.Err(ErrSyntax)
				return nil, 0, false
			}
			count = int(min(n, 1<<30))
		case eq(c.Args[i], "match"):
			pattern = c.Args[i+1]
			if len(pattern) == 1 && pattern[0] == '*' {
				pattern = nil
			}
		default:
			c.Err(ErrSyntax)
			return nil, 0, false
		}
	}
	return pattern, count, true
}

// scanReply writes a SCAN-family reply: the next cursor and the elements.
func (c *Ctx) scanReply(next uint64, items [][]byte) {
	c.ArrayLen(2)
	c.BulkString(strconv.FormatUint(next, 10))
	c.ArrayLen(len(items))
	for _, it := range items {
		c.Bulk(it)
	}
}

// matchStr applies a MATCH pattern to an element.
func matchStr(pattern []byte, e types.Str) bool {
	if pattern == nil {
		return true
	}
	var tmp [24]byte
	return glob.Match(pattern, types.Bytes(e, tmp[:0]), false)
}
