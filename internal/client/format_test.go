package client

import (
	"testing"

	"github.com/reefkv/reef/internal/resp"
)

func bulk(s string) resp.Value { return resp.Value{Kind: resp.KindBulk, Str: []byte(s)} }
func arr(v ...resp.Value) resp.Value {
	return resp.Value{Kind: resp.KindArray, Elems: v}
}

// The expected strings are redis-cli 7.0.15's output for the same replies.
func TestFormatTTY(t *testing.T) {
	ints := func(n int) resp.Value {
		var e []resp.Value
		for i := 1; i <= n; i++ {
			e = append(e, resp.Value{Kind: resp.KindInt, Int: int64(i)})
		}
		return arr(e...)
	}
	for _, c := range []struct {
		v    resp.Value
		want string
	}{
		{bulk("a\x00b\n\"q\"\xff"), "\"a\\x00b\\n\\\"q\\\"\\xff\"\n"},
		{resp.Value{Kind: resp.KindNull}, "(nil)\n"},
		{resp.Value{Kind: resp.KindError, Str: []byte("ERR x")}, "(error) ERR x\n"},
		{resp.Value{Kind: resp.KindInt, Int: -3}, "(integer) -3\n"},
		{resp.Value{Kind: resp.KindDouble, Str: []byte("3.141")}, "(double) 3.141\n"},
		{resp.Value{Kind: resp.KindBool, Int: 1}, "(true)\n"},
		{arr(), "(empty array)\n"},
		{resp.Value{Kind: resp.KindMap}, "(empty hash)\n"},
		{resp.Value{Kind: resp.KindSet}, "(empty set)\n"},
		{arr(bulk("a"), arr(bulk("b"), arr(bulk("c"), arr())), bulk("d")),
			"1) \"a\"\n2) 1) \"b\"\n   2) 1) \"c\"\n      2) (empty array)\n3) \"d\"\n"},
		{ints(10), " 1) (integer) 1\n 2) (integer) 2\n 3) (integer) 3\n 4) (integer) 4\n 5) (integer) 5\n 6) (integer) 6\n 7) (integer) 7\n 8) (integer) 8\n 9) (integer) 9\n10) (integer) 10\n"},
		{resp.Value{Kind: resp.KindMap, Elems: []resp.Value{bulk("k"), arr(bulk("x"), bulk("y")), resp.Value{Kind: resp.KindInt, Int: 1}, resp.Value{Kind: resp.KindBool}}},
			"1# \"k\" => 1) \"x\"\n   2) \"y\"\n2# (integer) 1 => (false)\n"},
		{resp.Value{Kind: resp.KindSet, Elems: []resp.Value{bulk("a"), bulk("b")}}, "1~ \"a\"\n2~ \"b\"\n"},
	} {
		if got := FormatTTY(c.v); got != c.want {
			t.Errorf("FormatTTY(%+v)\n got %q\nwant %q", c.v, got, c.want)
		}
	}
}

func TestFormatRawAndCSV(t *testing.T) {
	v := arr(bulk("a"), resp.Value{Kind: resp.KindInt, Int: 2}, resp.Value{Kind: resp.KindNull}, arr(bulk("b")))
	if got := FormatRaw(v, "\n"); got != "a\n2\n\nb" {
		t.Errorf("FormatRaw = %q", got)
	}
	if got := FormatRaw(resp.Value{Kind: resp.KindError, Str: []byte("ERR e")}, "\n"); got != "ERR e\n" {
		t.Errorf("FormatRaw error = %q", got)
	}
	m := resp.Value{Kind: resp.KindMap, Elems: []resp.Value{bulk("k"), bulk("v"), bulk("k2"), bulk("v2")}}
	if got := FormatRaw(m, ","); got != "k v,k2 v2" {
		t.Errorf("FormatRaw map = %q", got)
	}
	if got := FormatCSV(v); got != `"a",2,NULL,"b"` {
		t.Errorf("FormatCSV = %q", got)
	}
}
