package repl

import (
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/reefkv/reef/internal/keyspace"
	"github.com/reefkv/reef/internal/rdb"
	"github.com/reefkv/reef/internal/slot"
)

// StringToObject fills o with a string value (int-encoded strings as their
// decimal text, which the RDB writer int-encodes as Redis does). It reports
// false for a non-string value.
func StringToObject(v keyspace.Value, o *rdb.Object) bool {
	if v.Type() != keyspace.TypeString {
		return false
	}
	o.Type = rdb.TypeString
	if v.IsInt() {
		o.Str = strconv.AppendInt(o.Str[:0], v.Int(), 10)
	} else {
		o.Str = v.Bytes()
	}
	return true
}

// StringFromObject builds a string value as Redis's loader does
// (tryObjectEncoding: int, embstr or raw).
func StringFromObject(o *rdb.Object) (keyspace.Value, error) {
	if o.Type != rdb.TypeString {
		return keyspace.Value{}, fmt.Errorf("repl: cannot load a %v value: %w", o.Type, rdb.ErrUnsupported)
	}
	return keyspace.NewString(o.Str), nil
}

// StringCodec handles strings only; collections are refused.
var StringCodec = Codec{ToObject: StringToObject, FromObject: StringFromObject}

// LoadOptions configure Load.
type LoadOptions struct {
	Read rdb.ReadOptions
	// KeepExpired keeps keys whose expiry has passed (a replica does: only
	// its master's DEL removes them). A master drops them, as Redis does.
	KeepExpired bool
	// Now is the time expiry is judged against, in unix ms.
	Now int64
	// Access gives the access field of a loaded key from the LFU frequency
	// and LRU idle time saved with it (-1 when absent); nil leaves the
	// field 0.
	Access func(freq, idle int64) uint32
}

// LoadResult is what Load found besides the keys.
type LoadResult struct {
	Keys, Expired int64
	// ReplID, ReplOffset and ReplStreamDB come from the repl-* AUX fields;
	// ReplID is "" when they are absent.
	ReplID       string
	ReplOffset   int64
	ReplStreamDB int
	Functions    [][]byte
}

// Load reads an RDB file from r into ks, adding keys to what is there (the
// caller empties it first). Each key is stored with its slot locked, so
// Load may run while the server serves (LOADING) other clients.
func Load(r io.Reader, ks *keyspace.Keyspace, codec Codec, opts LoadOptions) (LoadResult, error) {
	var res LoadResult
	ropts := opts.Read
	if ropts.Databases == 0 {
		ropts.Databases = ks.Databases()
	}
	rd, err := rdb.NewReader(r, &ropts)
	if err != nil {
		return res, err
	}
	for {
		rec, err := rd.Next()
		if errors.Is(err, io.EOF) {
			return res, nil
		}
		if err != nil {
			return res, err
		}
		switch rec.Kind {
		case rdb.RecordAux:
			switch string(rec.AuxKey) {
			case "repl-id":
				if len(rec.AuxValue) == 40 {
					res.ReplID = string(rec.AuxValue)
				}
			case "repl-offset":
				res.ReplOffset, _ = strconv.ParseInt(string(rec.AuxValue), 10, 64)
			case "repl-stream-db":
				n, _ := strconv.Atoi(string(rec.AuxValue))
				res.ReplStreamDB = n
			}
		case rdb.RecordFunction:
			res.Functions = append(res.Functions, rec.Function)
		case rdb.RecordKey:
			if rec.HasExpire && !opts.KeepExpired && rec.ExpireAt < opts.Now {
				res.Expired++
				continue
			}
			v, err := codec.FromObject(rec.Value)
			if err != nil {
				return res, fmt.Errorf("loading key %q: %w", rec.Key, err)
			}
			if opts.Access != nil {
				freq, idle := int64(-1), int64(-1)
				if rec.HasFreq {
					freq = int64(rec.Freq)
				}
				if rec.HasIdle {
					// As Redis's long long: a huge value turns negative
					// and counts as absent.
					idle = int64(rec.Idle)
				}
				v = v.WithLRU(opts.Access(freq, idle))
			}
			s := slot.Of(rec.Key)
			ks.Lock(s)
			ks.Put(rec.DB, s, rec.Key, v, false)
			if rec.HasExpire {
				ks.SetExpire(rec.DB, s, rec.Key, rec.ExpireAt)
			}
			ks.Unlock(s)
			res.Keys++
		}
	}
}
