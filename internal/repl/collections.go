package repl

import (
	"fmt"

	"github.com/reefkv/reef/internal/encoding/listpack"
	"github.com/reefkv/reef/internal/keyspace"
	"github.com/reefkv/reef/internal/rdb"
	"github.com/reefkv/reef/internal/types"
)

// The bridge between the keyspace's collections (internal/types) and rdb
// objects, for snapshots and loading. Compact encodings (listpack, intset,
// quicklist nodes) are handed to the writer as they are in memory, so they
// are written byte for byte as Redis would write them.

// ValueToObject fills o with any value of the keyspace. o aliases v's
// memory (valid while the slot stays locked), except integers of compact
// encodings, which are formatted into fresh memory.
func ValueToObject(v keyspace.Value, o *rdb.Object) bool {
	switch v.Type() {
	case keyspace.TypeString:
		return StringToObject(v, o)
	case keyspace.TypeHash:
		h := types.HashOf(&v)
		o.Type = rdb.TypeHash
		o.Hash = make([]rdb.Field, 0, h.Len())
		h.Range(func(f, val types.Str) bool {
			o.Hash = append(o.Hash, rdb.Field{Name: strBytes(f), Value: strBytes(val)})
			return true
		})
		if lp := h.Listpack(); lp != nil {
			o.Encoding, o.Compact = rdb.EncodingListpack, lp
		} else {
			o.Encoding = rdb.EncodingHashtable
		}
	case keyspace.TypeSet:
		s := types.SetOf(&v)
		o.Type = rdb.TypeSet
		o.Set = make([][]byte, 0, s.Len())
		s.Range(func(m types.Str) bool {
			o.Set = append(o.Set, strBytes(m))
			return true
		})
		if is := s.Intset(); is != nil {
			o.Encoding, o.Compact = rdb.EncodingIntset, is
		} else {
			o.Encoding = rdb.EncodingHashtable
		}
	case keyspace.TypeZSet:
		z := types.ZSetOf(&v)
		o.Type = rdb.TypeZSet
		o.ZSet = make([]rdb.ZMember, 0, z.Len())
		z.Walk(0, false, func(m types.Str, score float64) bool {
			o.ZSet = append(o.ZSet, rdb.ZMember{Member: strBytes(m), Score: score})
			return true
		})
		if lp := z.Listpack(); lp != nil {
			o.Encoding, o.Compact = rdb.EncodingListpack, lp
		} else {
			o.Encoding = rdb.EncodingSkiplist
		}
	case keyspace.TypeList:
		l := types.ListOf(&v)
		o.Type = rdb.TypeList
		o.Encoding = rdb.EncodingQuicklist
		o.List = make([][]byte, 0, l.Len())
		l.Walk(0, false, func(_ int, e types.Str) bool {
			o.List = append(o.List, strBytes(e))
			return true
		})
		for _, n := range l.Nodes() {
			o.ListNodes = append(o.ListNodes, rdb.ListNode{Count: listpack.Len(n), Data: n})
		}
	default:
		return false
	}
	return true
}

func strBytes(e types.Str) []byte {
	if e.IsInt {
		return types.Bytes(e, nil)
	}
	return e.Str
}

// ObjectToValue builds a keyspace value from a decoded object, with the
// encoding this node's thresholds give it (as Redis converts on load).
func ObjectToValue(o *rdb.Object, lim *types.Limits) (keyspace.Value, error) {
	switch o.Type {
	case rdb.TypeString:
		return keyspace.NewString(o.Str), nil
	case rdb.TypeHash:
		var h *types.Hash
		if o.Compact != nil && (o.Encoding == rdb.EncodingListpack) && len(o.Hash) <= lim.HashMaxListpackEntries && maxFieldLen(o.Hash) <= lim.HashMaxListpackValue {
			h = types.NewHashFromListpack(append([]byte(nil), o.Compact...))
		} else {
			h = types.NewHash()
			for _, f := range o.Hash {
				h.Set(f.Name, f.Value, lim)
			}
		}
		return types.HashValue(h), nil
	case rdb.TypeSet:
		var s *types.Set
		if o.Compact != nil && o.Encoding == rdb.EncodingIntset && len(o.Set) <= lim.SetMaxIntsetEntries {
			s = types.NewSetFromIntset(append([]byte(nil), o.Compact...))
		} else if len(o.Set) > 0 {
			s = types.NewSetFor(o.Set[0])
			for _, m := range o.Set {
				s.Add(m, lim)
			}
		} else {
			return keyspace.Value{}, fmt.Errorf("empty set")
		}
		return types.SetValue(s), nil
	case rdb.TypeZSet:
		var z *types.ZSet
		if o.Compact != nil && o.Encoding == rdb.EncodingListpack && len(o.ZSet) <= lim.ZSetMaxListpackEntries && maxMemberLen(o.ZSet) <= lim.ZSetMaxListpackValue {
			z = types.NewZSetFromListpack(append([]byte(nil), o.Compact...))
		} else {
			maxLen := maxMemberLen(o.ZSet)
			z = types.NewZSetFor(maxLen, lim)
			if len(o.ZSet) > lim.ZSetMaxListpackEntries {
				z = types.NewZSetSkiplist()
			}
			for _, m := range o.ZSet {
				z.Add(m.Member, m.Score, 0, lim)
			}
		}
		return types.ZSetValue(z), nil
	case rdb.TypeList:
		var l *types.List
		packed := len(o.ListNodes) > 0
		for _, n := range o.ListNodes {
			if n.Plain || n.Data == nil {
				packed = false
			}
		}
		if packed && o.ListNodes != nil {
			nodes := make([][]byte, len(o.ListNodes))
			for i, n := range o.ListNodes {
				nodes[i] = append([]byte(nil), n.Data...)
			}
			l = types.NewListFromNodes(nodes, lim.ListMaxListpackSize)
		} else {
			l = types.NewList(lim.ListMaxListpackSize)
			for _, e := range o.List {
				l.Push(e, false)
			}
		}
		return types.ListValue(l), nil
	}
	return keyspace.Value{}, fmt.Errorf("repl: cannot load a %v value: %w", o.Type, rdb.ErrUnsupported)
}

func maxFieldLen(h []rdb.Field) int {
	n := 0
	for _, f := range h {
		n = max(n, len(f.Name), len(f.Value))
	}
	return n
}

func maxMemberLen(z []rdb.ZMember) int {
	n := 0
	for _, m := range z {
		n = max(n, len(m.Member))
	}
	return n
}

// CollectionCodec converts every type, loading with the thresholds lim
// returns.
func CollectionCodec(lim func() *types.Limits) Codec {
	return Codec{
		ToObject:   ValueToObject,
		FromObject: func(o *rdb.Object) (keyspace.Value, error) { return ObjectToValue(o, lim()) },
	}
}
