package digest

import (
	"crypto/sha1"
	"encoding/binary"
	"encoding/hex"

	"github.com/reefkv/reef/internal/encoding/redisnum"
	"github.com/reefkv/reef/internal/rdb"
)

// Digest is a 20-byte digest; the zero value is the starting state (and
// the digest of an empty dataset or a missing key).
type Digest [20]byte

// String returns the 40 lowercase hex digits Redis replies with.
func (d Digest) String() string { return hex.EncodeToString(d[:]) }

// Xor folds data into d order-independently: d ^= SHA1(data).
func (d *Digest) Xor(data []byte) {
	h := sha1.Sum(data)
	for i := range d {
		d[i] ^= h[i]
	}
}

// Mix folds data into d order-dependently: d = SHA1(d ^ SHA1(data)).
func (d *Digest) Mix(data []byte) {
	d.Xor(data)
	*d = sha1.Sum(d[:])
}

// Element returns the digest of a (name, value) pair as Redis computes it
// for hash fields: Mix(Mix(0, name), value). Zset members use it with the
// score text from ScoreText.
func Element(name, value []byte) Digest {
	var e Digest
	e.Mix(name)
	e.Mix(value)
	return e
}

// ScoreText appends a score as Redis formats it for digests ("%.17g",
// "inf", "-inf").
func ScoreText(dst []byte, score float64) []byte { return redisnum.AppendScore(dst, score) }

const expireTerm = "!!expire!!"

// AddValue continues d with a value's digest steps: its type, its content,
// and the expire term when hasExpire.
func AddValue(d *Digest, o *rdb.Object, hasExpire bool) {
	var tb [4]byte
	binary.BigEndian.PutUint32(tb[:], uint32(o.Type))
	d.Mix(tb[:])
	var buf [64]byte
	switch o.Type {
	case rdb.TypeString:
		d.Mix(o.Str)
	case rdb.TypeList:
		for _, e := range o.List {
			d.Mix(e)
		}
	case rdb.TypeSet:
		for _, m := range o.Set {
			d.Xor(m)
		}
	case rdb.TypeZSet:
		for _, m := range o.ZSet {
			e := Element(m.Member, ScoreText(buf[:0], m.Score))
			d.Xor(e[:])
		}
	case rdb.TypeHash:
		for _, f := range o.Hash {
			e := Element(f.Name, f.Value)
			d.Xor(e[:])
		}
	case rdb.TypeStream:
		if s := o.Stream; s != nil {
			for _, e := range s.Entries {
				// "<ms>.<seq>": a dot, not the usual dash.
				id := appendUint(buf[:0], e.ID.Ms)
				id = appendUint(append(id, '.'), e.ID.Seq)
				d.Mix(id)
				for _, f := range e.Fields {
					d.Mix(f)
				}
			}
		}
	}
	if hasExpire {
		d.Xor([]byte(expireTerm))
	}
}

func appendUint(dst []byte, v uint64) []byte {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + v%10)
		v /= 10
		if v == 0 {
			break
		}
	}
	return append(dst, b[i:]...)
}

// Value returns DEBUG DIGEST-VALUE of a key holding o.
func Value(o *rdb.Object, hasExpire bool) Digest {
	var d Digest
	AddValue(&d, o, hasExpire)
	return d
}

// Key returns one key's contribution to DEBUG DIGEST: the key name mixed
// into a zero digest, continued with the value's steps.
func Key(key []byte, o *rdb.Object, hasExpire bool) Digest {
	var d Digest
	d.Mix(key)
	AddValue(&d, o, hasExpire)
	return d
}

// Dataset accumulates DEBUG DIGEST over a whole keyspace. Call BeginDB for
// each non-empty database in ascending order, then Add (or AddKeyDigest)
// for each of its keys in any order. The zero value is ready to use.
type Dataset struct {
	sum Digest
}

// BeginDB starts database db (Redis mixes in its number as 4 BE bytes).
func (ds *Dataset) BeginDB(db int) {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], uint32(db))
	ds.sum.Mix(b[:])
}

// Add folds one key of the current database into the dataset digest.
func (ds *Dataset) Add(key []byte, o *rdb.Object, hasExpire bool) {
	k := Key(key, o, hasExpire)
	ds.AddKeyDigest(k)
}

// AddKeyDigest folds a key digest computed with Key (or by the caller's
// own walk with Mix/Xor) into the dataset digest.
func (ds *Dataset) AddKeyDigest(k Digest) { ds.sum.Xor(k[:]) }

// Sum returns DEBUG DIGEST of what was added.
func (ds *Dataset) Sum() Digest { return ds.sum }
