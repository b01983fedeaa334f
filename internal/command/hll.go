package command

import (
	"strings"

	"github.com/reefkv/reef/internal/hll"
	"github.com/reefkv/reef/internal/keyspace"
)

// hllCommands returns PFADD, PFCOUNT, PFMERGE, PFDEBUG and PFSELFTEST
// (Redis's hyperloglog.c). An HLL is an ordinary string value in Redis's
// byte layout; internal/hll does the byte work.
func hllCommands() map[string]Handler {
	return map[string]Handler{
		"pfadd":      pfaddCommand,
		"pfcount":    pfcountCommand,
		"pfmerge":    pfmergeCommand,
		"pfdebug":    pfdebugCommand,
		"pfselftest": pfselftestCommand,
	}
}

// hllBytes is isHLLObjectOrReply: it returns the HLL bytes of a string
// value, or replies WRONGTYPE (the generic one for other types, HLL's own
// for strings that are not HLLs, int-encoded ones included).
func (c *Ctx) hllBytes(v *keyspace.Value) ([]byte, bool) {
	if v.Type() != keyspace.TypeString {
		c.Err(ErrWrongType)
		return nil, false
	}
	if v.IsInt() {
		c.Err(hll.ErrWrongType.Error())
		return nil, false
	}
	b := v.Bytes()
	if err := hll.Validate(b); err != nil {
		c.Err(err.Error())
		return nil, false
	}
	return b, true
}

// hllMergeable is hllBytes plus the corruption check Redis's hllMerge
// makes when it reaches this key: multi-key commands report the first
// problem in key order.
func (c *Ctx) hllMergeable(v *keyspace.Value) ([]byte, bool) {
	b, ok := c.hllBytes(v)
	if !ok {
		return nil, false
	}
	if hll.IsSparse(b) {
		if _, err := hll.Count(b); err != nil {
			c.Err(err.Error())
			return nil, false
		}
	}
	return b, true
}

// hllOwned is dbUnshareStringValue for an HLL: the value becomes a raw
// buffer the command may change in place and replace.
func (c *Ctx) hllOwned(v *keyspace.Value) *[]byte { return c.growable(v, 0) }

func pfaddCommand(c *Ctx) {
	key := c.Args[1]
	v := c.lookupWrite(key)
	var cur []byte
	var buf *[]byte
	if v != nil {
		if _, ok := c.hllBytes(v); !ok {
			return
		}
		buf = c.hllOwned(v)
		cur = *buf
	}
	out, updated, err := hll.PFAdd(cur, c.Args[2:], c.Cfg.HLLSparseMaxBytes)
	if buf != nil {
		*buf = out
	} else {
		c.dbAdd(key, keyspace.GrowableValue(out)) // lookupWrite just found it missing
	}
	if err != nil {
		c.Err(err.Error())
		return
	}
	if updated > 0 {
		c.modified(key)
		c.notify(NotifyString, "pfadd", key)
		c.Dirty += int64(updated)
		c.Int(1)
		return
	}
	c.Int(0)
}

func pfcountCommand(c *Ctx) {
	if len(c.Args) > 2 {
		vals := make([][]byte, 0, len(c.Args)-1)
		for _, key := range c.Args[1:] {
			v := c.lookupRead(key)
			if v == nil {
				continue
			}
			b, ok := c.hllMergeable(v)
			if !ok {
				return
			}
			vals = append(vals, b)
		}
		n, err := hll.CountUnion(vals...)
		if err != nil {
			c.Err(err.Error())
			return
		}
		c.Int(int64(n))
		return
	}
	key := c.Args[1]
	v := c.lookupWrite(key)
	if v == nil {
		c.Int(0)
		return
	}
	if _, ok := c.hllBytes(v); !ok {
		return
	}
	buf := c.hllOwned(v)
	n, wrote, err := hll.PFCount(*buf)
	if err != nil {
		c.Err(err.Error())
		return
	}
	if wrote {
		// The cached cardinality changed the value: replicas must see it.
		c.modified(key)
		c.Dirty++
	}
	c.Int(int64(n))
}

func pfmergeCommand(c *Ctx) {
	var sources [][]byte
	for _, key := range c.Args[1:] {
		v := c.lookupRead(key)
		if v == nil {
			continue
		}
		b, ok := c.hllMergeable(v)
		if !ok {
			return
		}
		sources = append(sources, b)
	}
	dst := c.Args[1]
	v := c.lookupWrite(dst)
	var cur []byte
	var buf *[]byte
	if v != nil {
		buf = c.hllOwned(v)
		cur = *buf
		// The destination counts as a source already; hll.PFMerge reads
		// cur as one more, which does not change the maximum.
	}
	out, err := hll.PFMerge(cur, sources, c.Cfg.HLLSparseMaxBytes)
	if buf != nil {
		*buf = out
	} else if err == nil {
		c.setKey(dst, keyspace.GrowableValue(out), false)
	}
	if err != nil {
		c.Err(err.Error())
		return
	}
	c.modified(dst)
	c.notify(NotifyString, "pfadd", dst)
	c.Dirty++
	c.OK()
}

func pfdebugCommand(c *Ctx) {
	sub := strings.ToLower(string(c.Args[1]))
	key := c.Args[2]
	v := c.lookupWrite(key)
	if v == nil {
		c.Err("ERR The specified key does not exist")
		return
	}
	if _, ok := c.hllBytes(v); !ok {
		return
	}
	buf := c.hllOwned(v)
	switch sub {
	case "getreg":
		if hll.IsSparse(*buf) {
			d, _, err := hll.ToDense(*buf)
			if err != nil {
				c.Err(err.Error())
				return
			}
			*buf = d
			c.Dirty++
		}
		regs, err := hll.GetRegisters(*buf)
		if err != nil {
			c.Err(err.Error())
			return
		}
		c.ArrayLen(len(regs))
		for _, r := range regs {
			c.Int(int64(r))
		}
	case "decode":
		s, err := hll.Decode(*buf)
		if err != nil {
			c.Err(err.Error())
			return
		}
		c.BulkString(s)
	case "encoding":
		c.Simple(hll.EncodingName(*buf))
	case "todense":
		conv := 0
		if hll.IsSparse(*buf) {
			d, _, err := hll.ToDense(*buf)
			if err != nil {
				c.Err(err.Error())
				return
			}
			*buf = d
			conv = 1
			c.Dirty++
		}
		c.Int(int64(conv))
	default:
		c.Err("ERR Unknown PFDEBUG subcommand '" + CStr(c.Args[1]) + "'")
	}
}

func pfselftestCommand(c *Ctx) {
	if err := hll.SelfTest(c.rand(), c.Cfg.HLLSparseMaxBytes); err != nil {
		c.Err(err.Error())
		return
	}
	c.OK()
}
