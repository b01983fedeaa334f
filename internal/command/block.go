package command

import (
	"math"
	"math/big"

	"github.com/reefkv/reef/internal/keyspace"
	"github.com/reefkv/reef/internal/rconv"
)

// BlockRequest is what a blocking command (BLPOP, BZPOPMIN, BLMOVE, ...)
// leaves in Ctx.Block when it found nothing to serve and may block. The
// server parks the client on Keys, in that order, and later either serves
// it from the goroutine of a command that made one of the keys ready, or
// times it out. See docs/BLOCKING.md.
type BlockRequest struct {
	// Keys are the keys waited on (copies, safe to keep).
	Keys [][]byte
	// Type is the type a key must hold for the client to be served: a
	// client blocked by BLPOP is not served from a sorted set.
	Type keyspace.Type
	// Deadline is the absolute timeout in unix ms; 0 waits forever.
	Deadline int64
	// Dst is BLMOVE/BRPOPLPUSH's destination key (a copy), whose slot must
	// be locked too when serving; nil otherwise.
	Dst []byte
	// Serve pops for the client from key, which holds a non-empty value of
	// Type, and writes the client's reply to c.Out (or an error). c is the
	// blocked client's context with DB, Proto, Now, KS, Cfg and Env set.
	// REQUIRES: the slots of key and Dst locked.
	Serve func(c *Ctx, key []byte)
}

// TimeoutReply writes the reply of a blocked command whose timeout expired
// (or that was unblocked with CLIENT UNBLOCK TIMEOUT): a null array, as
// Redis's replyToBlockedClientTimedOut.
func (c *Ctx) TimeoutReply() { c.NullArray() }

// parseTimeout is getTimeoutFromObjectOrReply with UNIT_SECONDS: a float
// number of seconds, converted to an absolute deadline in ms (0: forever).
// Like Redis it truncates seconds*1000 towards zero, so a tiny negative
// timeout waits forever and a huge one is "negative" (C's conversion of an
// out-of-range double gives LLONG_MIN).
func (c *Ctx) parseTimeout(arg []byte) (int64, bool) {
	if _, ok := rconv.ParseLongDouble(arg); !ok {
		c.Err("ERR timeout is not a float or out of range")
		return 0, false
	}
	f, _, err := big.ParseFloat(string(arg), 0, 64, big.ToNearestEven)
	var secs float64
	if err != nil {
		secs = math.Inf(1)
	} else {
		secs, _ = f.Float64()
	}
	ms := secs * 1000
	var tval int64
	if math.IsNaN(ms) || ms >= 1<<63 || ms < -(1<<63) {
		tval = math.MinInt64
	} else {
		tval = int64(ms)
	}
	if tval < 0 {
		c.Err("ERR timeout is negative")
		return 0, false
	}
	if c.BlockDeadline > 0 {
		return c.BlockDeadline, true
	}
	if tval > 0 {
		if tval > math.MaxInt64-c.Now {
			c.Err("ERR timeout is out of range")
			return 0, false
		}
		tval += c.Now
	}
	return tval, true
}

// block asks the server to park the client (see BlockRequest). Inside
// MULTI the client cannot block: it gets the timeout reply at once, or
// denyReply when the command has its own (BLMOVE's null bulk).
func (c *Ctx) block(req *BlockRequest, denyReply func()) {
	if c.DenyBlocking {
		if denyReply != nil {
			denyReply()
		} else {
			c.TimeoutReply()
		}
		return
	}
	keys := make([][]byte, len(req.Keys))
	for i, k := range req.Keys {
		keys[i] = append([]byte(nil), k...)
	}
	req.Keys = keys
	if req.Dst != nil {
		req.Dst = append([]byte(nil), req.Dst...)
	}
	c.Block = req
}

// BlockedKeyReady reports whether key can serve a client blocked for a
// value of type t (lazy expiry applies). REQUIRES: key's slot locked.
func BlockedKeyReady(c *Ctx, key []byte, t keyspace.Type) bool {
	v := c.lookupWrite(key)
	return v != nil && v.Type() == t
}
