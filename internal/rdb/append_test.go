package rdb

import (
	"bytes"
	"testing"
)

// AppendKey/AppendSelectDB + WriteRaw produce the same file as SelectDB +
// WriteKey, minus the RESIZEDB hint.
func TestAppendKeyMatchesWriteKey(t *testing.T) {
	objs := []*Object{
		{Type: TypeString, Str: []byte("hello")},
		{Type: TypeString, Str: []byte("12345")},
		{Type: TypeString, Str: bytes.Repeat([]byte("abc"), 100)},
		{Type: TypeSet, Set: [][]byte{[]byte("1"), []byte("2")}},
	}
	var a, b bytes.Buffer
	wa := NewWriter(&a, nil)
	wb := NewWriter(&b, nil)
	wa.SelectDB(3, 0, 0)
	raw := AppendSelectDB(nil, 3)
	hint := appendLen(appendLen([]byte{opResizeDB}, 0), 0)
	raw = append(raw, hint...) // only to compare against SelectDB's bytes
	for i, o := range objs {
		meta := KeyMeta{HasExpire: i%2 == 0, ExpireAt: 1700000000000 + int64(i)}
		if err := wa.WriteKey([]byte{'k', byte('0' + i)}, o, meta); err != nil {
			t.Fatal(err)
		}
		var err error
		raw, err = AppendKey(raw, []byte{'k', byte('0' + i)}, o, meta, nil)
		if err != nil {
			t.Fatal(err)
		}
	}
	if _, err := AppendKey(raw, []byte("empty"), &Object{Type: TypeList}, KeyMeta{}, nil); err == nil {
		t.Fatal("empty list accepted")
	}
	wb.WriteRaw(raw)
	if err := wa.Close(); err != nil {
		t.Fatal(err)
	}
	if err := wb.Close(); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatalf("files differ:\n%x\n%x", a.Bytes(), b.Bytes())
	}
}
