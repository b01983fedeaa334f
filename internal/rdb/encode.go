package rdb

import (
	"fmt"

	"github.com/reefkv/reef/internal/encoding/intset"
	"github.com/reefkv/reef/internal/encoding/listpack"
	"github.com/reefkv/reef/internal/encoding/lzf"
	"github.com/reefkv/reef/internal/encoding/redisnum"
)

// WriteOptions mirror the Redis settings that change the bytes written.
// The zero value is Redis 7.0's default configuration.
type WriteOptions struct {
	// DisableCompression is "rdbcompression no": no LZF for strings and
	// list nodes, except nodes held compressed in memory.
	DisableCompression bool
	// DisableChecksum is "rdbchecksum no": the file ends with 8 zero bytes.
	// DUMP payloads always carry their CRC.
	DisableChecksum bool
	// ListMaxListpackSize is list-max-listpack-size for lists written
	// without ListNodes: -1..-5 limit a node to 4..64 KiB, N > 0 to N
	// elements. 0 means the default, -2 (8 KiB).
	ListMaxListpackSize int
	// ListCompressDepth is list-compress-depth for lists written without
	// ListNodes: nodes other than this many at each end are held compressed,
	// which matters only with DisableCompression.
	ListCompressDepth int
	// PackedThreshold is quicklist's packed_threshold: elements this long or
	// longer get a PLAIN node. 0 means the default, 1 GiB.
	PackedThreshold int
	// Limits pick the encoding of objects whose Encoding is unset. The zero
	// value means DefaultLimits.
	Limits Limits
}

func (o *WriteOptions) compress() bool { return o == nil || !o.DisableCompression }

func (o *WriteOptions) limits() Limits {
	if o == nil || o.Limits == (Limits{}) {
		return DefaultLimits()
	}
	return o.Limits
}

// quicklist constants of Redis 7.0.
const (
	sizeSafetyLimit        = 8192    // SIZE_SAFETY_LIMIT
	sizeEstimateOverhead   = 8       // SIZE_ESTIMATE_OVERHEAD
	minCompressBytes       = 48      // MIN_COMPRESS_BYTES
	minCompressImprove     = 8       // MIN_COMPRESS_IMPROVE
	defaultPackedThreshold = 1 << 30 // packed_threshold
)

var optimizationLevel = [...]int{4096, 8192, 16384, 32768, 65536}

// ChooseEncoding returns the encoding Redis would give o's content when
// building it from scratch under lim (string encodings and lists excepted:
// strings keep theirs, lists are always quicklist).
func ChooseEncoding(o *Object, lim Limits) Encoding {
	switch o.Type {
	case TypeString:
		return stringEncoding(o.Str)
	case TypeList:
		return EncodingQuicklist
	case TypeSet:
		if len(o.Set) <= lim.SetMaxIntsetEntries {
			for _, m := range o.Set {
				if _, ok := redisnum.ParseInt(m); !ok {
					return EncodingHashtable
				}
			}
			return EncodingIntset
		}
		return EncodingHashtable
	case TypeHash:
		if len(o.Hash) > lim.HashMaxListpackEntries {
			return EncodingHashtable
		}
		for _, f := range o.Hash {
			if len(f.Name) > lim.HashMaxListpackValue || len(f.Value) > lim.HashMaxListpackValue {
				return EncodingHashtable
			}
		}
		return EncodingListpack
	case TypeZSet:
		if len(o.ZSet) > lim.ZSetMaxListpackEntries {
			return EncodingSkiplist
		}
		for _, m := range o.ZSet {
			if len(m.Member) > lim.ZSetMaxListpackValue {
				return EncodingSkiplist
			}
		}
		return EncodingListpack
	case TypeStream:
		return EncodingStream
	}
	return EncodingRaw
}

// AppendValue appends the RDB encoding of o's value (without type byte) to
// dst and returns the RDB type it chose.
func AppendValue(dst []byte, o *Object, opts *WriteOptions) ([]byte, RDBType, error) {
	compress := opts.compress()
	switch o.Type {
	case TypeString:
		return appendString(dst, o.Str, compress), RDBTypeString, nil
	case TypeList:
		if len(o.List) == 0 {
			return dst, 0, errEmptyObject(o)
		}
		out, err := appendQuicklist(dst, o, opts)
		return out, RDBTypeListQuicklist2, err
	case TypeSet:
		if len(o.Set) == 0 {
			return dst, 0, errEmptyObject(o)
		}
		enc := o.Encoding
		if enc != EncodingIntset && enc != EncodingHashtable {
			enc = ChooseEncoding(o, opts.limits())
		}
		if enc == EncodingIntset {
			is := o.Compact
			if is == nil {
				is = intset.New()
				for _, m := range o.Set {
					v, ok := redisnum.ParseInt(m)
					if !ok {
						return dst, 0, fmt.Errorf("rdb: set member %q is not an integer but the encoding is intset", m)
					}
					is, _ = intset.Add(is, v)
				}
			}
			return appendString(dst, is, compress), RDBTypeSetIntset, nil
		}
		dst = appendLen(dst, uint64(len(o.Set)))
		for _, m := range o.Set {
			dst = appendString(dst, m, compress)
		}
		return dst, RDBTypeSet, nil
	case TypeHash:
		if len(o.Hash) == 0 {
			return dst, 0, errEmptyObject(o)
		}
		enc := o.Encoding
		switch enc {
		case EncodingListpack, EncodingZiplist, EncodingZipmap:
			enc = EncodingListpack
		case EncodingHashtable:
		default:
			enc = ChooseEncoding(o, opts.limits())
		}
		if enc == EncodingListpack {
			lp := o.Compact
			if lp == nil {
				lp = hashListpack(o.Hash)
			}
			return appendString(dst, lp, compress), RDBTypeHashListpack, nil
		}
		dst = appendLen(dst, uint64(len(o.Hash)))
		for _, f := range o.Hash {
			dst = appendString(dst, f.Name, compress)
			dst = appendString(dst, f.Value, compress)
		}
		return dst, RDBTypeHash, nil
	case TypeZSet:
		if len(o.ZSet) == 0 {
			return dst, 0, errEmptyObject(o)
		}
		enc := o.Encoding
		switch enc {
		case EncodingListpack, EncodingZiplist:
			enc = EncodingListpack
		case EncodingSkiplist:
		default:
			enc = ChooseEncoding(o, opts.limits())
		}
		z := sortedZSet(o.ZSet)
		if enc == EncodingListpack {
			lp := o.Compact
			if lp == nil {
				lp = zsetListpack(z)
			}
			return appendString(dst, lp, compress), RDBTypeZSetListpack, nil
		}
		// Highest score first, so that loading inserts at the skiplist head.
		dst = appendLen(dst, uint64(len(z)))
		for i := len(z) - 1; i >= 0; i-- {
			dst = appendString(dst, z[i].Member, compress)
			dst = appendBinaryDouble(dst, z[i].Score)
		}
		return dst, RDBTypeZSet2, nil
	case TypeStream:
		return dst, 0, fmt.Errorf("rdb: writing streams: %w", ErrUnsupported)
	}
	return dst, 0, fmt.Errorf("rdb: cannot write a value of type %v: %w", o.Type, ErrUnsupported)
}

func errEmptyObject(o *Object) error {
	return fmt.Errorf("rdb: refusing to write an empty %v: %w", o.Type, ErrEmptyKey)
}

// hashListpack builds the listpack Redis holds for a small hash whose fields
// were added in this order.
func hashListpack(h []Field) []byte {
	size := listpack.HeaderSize + 1
	for _, f := range h {
		size += len(f.Name) + len(f.Value) + 4
	}
	lp := listpack.NewCap(size)
	for _, f := range h {
		lp = listpack.Append(lp, f.Name)
		lp = listpack.Append(lp, f.Value)
	}
	return lp
}

// zsetListpack builds the listpack Redis holds for a small zset: members in
// ascending order, each followed by its score, stored as an integer when the
// score is integral and in range, else as "%.17g" text (zzlInsertAt).
func zsetListpack(z []ZMember) []byte {
	size := listpack.HeaderSize + 1
	for _, m := range z {
		size += len(m.Member) + 30
	}
	lp := listpack.NewCap(size)
	var buf [32]byte
	for _, m := range z {
		lp = listpack.Append(lp, m.Member)
		if v, ok := redisnum.ScoreToInt(m.Score); ok {
			lp = listpack.AppendInt(lp, v)
		} else {
			lp = listpack.Append(lp, redisnum.AppendScore(buf[:0], m.Score))
		}
	}
	return lp
}

// nodeAllowInsert is quicklist's _quicklistNodeAllowInsert for a node of
// nodeBytes bytes and count elements receiving an element of sz bytes.
func nodeAllowInsert(nodeBytes, count, sz, fill int) bool {
	newSz := nodeBytes + sz + sizeEstimateOverhead
	if fill < 0 {
		level := min(-fill-1, len(optimizationLevel)-1)
		return newSz <= optimizationLevel[level]
	}
	limit := fill
	if limit == 0 {
		limit = 1 // one entry per node at least
	}
	return newSz <= sizeSafetyLimit && count+1 <= limit
}

// layoutList splits list into quicklist nodes as a sequence of RPUSH would
// (quicklistPushTail), building each node's listpack on the way.
func layoutList(list [][]byte, opts *WriteOptions) []ListNode {
	fill, threshold, depth := -2, defaultPackedThreshold, 0
	if opts != nil {
		if opts.ListMaxListpackSize != 0 {
			fill = opts.ListMaxListpackSize
		}
		if opts.PackedThreshold > 0 {
			threshold = opts.PackedThreshold
		}
		depth = opts.ListCompressDepth
	}
	var nodes []ListNode
	cur := -1 // index of the tail node if it can take more, else -1
	for _, e := range list {
		if len(e) >= threshold {
			nodes = append(nodes, ListNode{Plain: true, Count: 1, Data: e})
			cur = -1
			continue
		}
		if cur >= 0 && nodeAllowInsert(len(nodes[cur].Data), nodes[cur].Count, len(e), fill) {
			nodes[cur].Data = listpack.Append(nodes[cur].Data, e)
			nodes[cur].Count++
			continue
		}
		nodes = append(nodes, ListNode{Count: 1, Data: listpack.Append(listpack.New(), e)})
		cur = len(nodes) - 1
	}
	if depth > 0 && len(nodes) > 2*depth {
		for i := depth; i < len(nodes)-depth; i++ {
			nodes[i].Compressed = true
		}
	}
	return nodes
}

func appendQuicklist(dst []byte, o *Object, opts *WriteOptions) ([]byte, error) {
	nodes := o.ListNodes
	if nodes == nil {
		nodes = layoutList(o.List, opts)
	} else {
		total := 0
		for _, n := range nodes {
			if n.Count <= 0 || (n.Plain && n.Count != 1) {
				return dst, fmt.Errorf("rdb: list node with %d elements", n.Count)
			}
			total += n.Count
		}
		if total != len(o.List) {
			return dst, fmt.Errorf("rdb: list nodes hold %d elements, list has %d", total, len(o.List))
		}
	}
	compress := opts.compress()
	dst = appendLen(dst, uint64(len(nodes)))
	next := 0
	for _, n := range nodes {
		data := n.Data
		if data == nil {
			if n.Plain {
				data = o.List[next]
			} else {
				data = listpack.New()
				for _, e := range o.List[next : next+n.Count] {
					data = listpack.Append(data, e)
				}
			}
		}
		next += n.Count
		if n.Plain {
			dst = appendLen(dst, 1)
		} else {
			dst = appendLen(dst, 2)
		}
		// A node held compressed in memory is saved as its LZF blob even
		// with rdbcompression off (quicklist compresses when the node is at
		// least 48 bytes and LZF saves more than 8).
		if n.Compressed && len(data) >= minCompressBytes {
			if c, ok := lzf.Compress(nil, data, len(data)); ok && len(c)+minCompressImprove < len(data) {
				dst = appendLZFBlob(dst, c, len(data))
				continue
			}
		}
		dst = appendString(dst, data, compress)
	}
	return dst, nil
}
