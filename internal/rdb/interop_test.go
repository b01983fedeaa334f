package rdb

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/reefkv/reef/internal/rdb/vectors"
	"github.com/reefkv/reef/internal/resp"
	"github.com/reefkv/reef/internal/testutil"
)

// TestRedisLoadsOurRDB writes an RDB file with our Writer holding every
// non-stream vector value (rebuilt from its logical content) and has a real
// redis-server 7.0 load it: key counts, DEBUG DIGEST-VALUE of every key,
// the function library, and DUMP bytes must all match.
func TestRedisLoadsOurRDB(t *testing.T) {
	exp := vectors.Load(t)
	dir := t.TempDir()
	var buf bytes.Buffer
	w := NewWriter(&buf, nil)
	w.WriteAuxFields(AuxFields{RedisVer: "7.0.15", RedisBits: 64, CTime: 1700000000, UsedMem: 1 << 20})
	w.WriteFunction([]byte("#!lua name=mylib\nredis.register_function('myfunc', function(keys, args) return args[1] end)"))
	type key struct {
		name string
		obj  *Object
	}
	var keys []key
	for _, name := range vectors.Names(exp.Dump) {
		if exp.Dump[name].Type == "stream" {
			continue
		}
		o, err := DecodeDump(vectors.Hex(t, "dump/"+name+".hex"), nil)
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, key{name, logicalOnly(o, EncodingRaw)})
	}
	w.SelectDB(0, uint64(len(keys)), 1)
	for _, k := range keys {
		meta := KeyMeta{}
		if ms := exp.Dump[k.name].PexpiretimeMs; ms != 0 {
			meta = KeyMeta{ExpireAt: ms, HasExpire: true}
		}
		if err := w.WriteKey([]byte(k.name), k.obj, meta); err != nil {
			t.Fatal(err)
		}
	}
	w.SelectDB(1, 1, 0)
	w.WriteKey([]byte("db1_key"), &Object{Type: TypeString, Str: []byte("in db one")}, KeyMeta{})
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "x.rdb"), buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}

	p := testutil.StartRedis(t, "--dir", dir, "--dbfilename", "x.rdb", "--enable-debug-command", "yes")
	c := testutil.MustDial(t, p.Addr())
	do := func(args ...string) string {
		t.Helper()
		v, err := c.Do(args...)
		if err != nil {
			t.Fatal(err)
		}
		if v.IsError() {
			t.Fatalf("%v: %s\n%s", args, v.Text(), p.Output())
		}
		return flatText(v)
	}
	if n := do("DBSIZE"); n != strconv.Itoa(len(keys)) {
		t.Fatalf("DBSIZE %s, wrote %d keys; server log:\n%s", n, len(keys), p.Output())
	}
	dictOrder := map[string]bool{"set_plain": true, "set_ht_ints": true, "hash_ht": true, "hash_ht_big": true}
	for _, k := range keys {
		if got, want := do("DEBUG", "DIGEST-VALUE", k.name), exp.Dump[k.name].DigestValue; got != want {
			t.Errorf("%s: DIGEST-VALUE %s, want %s", k.name, got, want)
		}
		if dictOrder[k.name] {
			continue // member order after loading is Redis's dict order
		}
		ours, err := EncodeDump(k.obj, nil)
		if err != nil {
			t.Fatal(err)
		}
		if theirs := do("DUMP", k.name); theirs != string(ours) {
			t.Errorf("%s: Redis DUMPs %x\nwe encode %x", k.name, head([]byte(theirs)), head(ours))
		}
	}
	if pt := do("PEXPIRETIME", "str_ttl"); pt != "4102444800000" {
		t.Errorf("PEXPIRETIME %s", pt)
	}
	do("SELECT", "1")
	if v := do("GET", "db1_key"); v != "in db one" {
		t.Errorf("db1_key = %q", v)
	}
	if v := do("FUNCTION", "LIST"); !strings.Contains(v, "mylib") || !strings.Contains(v, "myfunc") {
		t.Errorf("FUNCTION LIST: %v", v)
	}
}

// flatText joins a reply's strings, descending into arrays.
func flatText(v resp.Value) string {
	if len(v.Elems) == 0 {
		return v.Text()
	}
	parts := make([]string, len(v.Elems))
	for i, e := range v.Elems {
		parts[i] = flatText(e)
	}
	return strings.Join(parts, " ")
}
