package digest

import (
	"bytes"
	"io"
	"testing"

	"github.com/reefkv/reef/internal/rdb"
	"github.com/reefkv/reef/internal/rdb/vectors"
)

var allowStreams = &rdb.DecodeOptions{AllowStreams: true}

func decode(t *testing.T, rel string) *rdb.Object {
	t.Helper()
	o, err := rdb.DecodeDump(vectors.Hex(t, rel), allowStreams)
	if err != nil {
		t.Fatalf("%s: %v", rel, err)
	}
	return o
}

// Every DEBUG DIGEST-VALUE that Redis 7.0.15 reported for the vectors.
func TestDumpDigests(t *testing.T) {
	exp := vectors.Load(t)
	for _, name := range vectors.Names(exp.Dump) {
		e := exp.Dump[name]
		o := decode(t, "dump/"+name+".hex")
		if got := Value(o, e.PexpiretimeMs != 0).String(); got != e.DigestValue {
			t.Errorf("%s: %s, Redis says %s", name, got, e.DigestValue)
		}
	}
	// str_ttl RESTOREd with TTL 0 (README): no expire term.
	if got := Value(decode(t, "dump/str_ttl.hex"), false).String(); got != "855c6c7e639fffd37ce6ddc0f3f4283f5e5ac4e9" {
		t.Errorf("str_ttl without TTL: %s", got)
	}
}

func TestLegacyDigests(t *testing.T) {
	exp := vectors.Load(t)
	for _, name := range vectors.Names(exp.Legacy) {
		want := exp.Legacy[name].DigestValue
		for _, f := range []string{name + ".hex", name + ".redump.hex"} {
			if got := Value(decode(t, "legacy/"+f), false).String(); got != want {
				t.Errorf("%s: %s, Redis says %s", f, got, want)
			}
		}
	}
}

// Every DEBUG DIGEST Redis reported after loading the RDB files.
func TestDatasetDigests(t *testing.T) {
	exp := vectors.Load(t)
	for _, name := range vectors.Names(exp.RDB) {
		e := exp.RDB[name]
		r, err := rdb.NewReader(bytes.NewReader(vectors.File(t, name)), &rdb.ReadOptions{DecodeOptions: *allowStreams})
		if err != nil {
			t.Fatal(err)
		}
		// Records come db by db, ascending, as Redis writes them; a
		// database is mixed in when its first key shows up.
		var ds Dataset
		db := -1
		for {
			rec, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if rec.Kind != rdb.RecordKey {
				continue
			}
			if rec.DB != db {
				db = rec.DB
				ds.BeginDB(db)
			}
			ds.Add(rec.Key, rec.Value, rec.HasExpire)
			if string(rec.Key) == "db1_key" && e.DB1KeyDigestValue != "" {
				if got := Value(rec.Value, rec.HasExpire).String(); got != e.DB1KeyDigestValue {
					t.Errorf("db1_key: %s", got)
				}
			}
		}
		if got := ds.Sum().String(); got != e.DebugDigest {
			t.Errorf("%s: DEBUG DIGEST %s, Redis says %s", name, got, e.DebugDigest)
		}
	}
}

func TestEmpty(t *testing.T) {
	var ds Dataset
	if ds.Sum().String() != "0000000000000000000000000000000000000000" {
		t.Fatal("empty dataset digest must be 40 zeros")
	}
	// Set order does not matter; list order does.
	a := Value(&rdb.Object{Type: rdb.TypeSet, Set: [][]byte{[]byte("x"), []byte("y")}}, false)
	b := Value(&rdb.Object{Type: rdb.TypeSet, Set: [][]byte{[]byte("y"), []byte("x")}}, false)
	c := Value(&rdb.Object{Type: rdb.TypeList, List: [][]byte{[]byte("x"), []byte("y")}}, false)
	d := Value(&rdb.Object{Type: rdb.TypeList, List: [][]byte{[]byte("y"), []byte("x")}}, false)
	if a != b || c == d {
		t.Fatal("ordered/unordered mixing wrong")
	}
}
