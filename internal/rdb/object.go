package rdb

import (
	"bytes"
	"cmp"
	"slices"
	"strconv"
)

// Type is the logical type of a value, with Redis's OBJ_* numbers (they are
// mixed into DEBUG DIGEST).
type Type uint8

// Logical types.
const (
	TypeString Type = 0
	TypeList   Type = 1
	TypeSet    Type = 2
	TypeZSet   Type = 3
	TypeHash   Type = 4
	TypeModule Type = 5
	TypeStream Type = 6
)

func (t Type) String() string {
	switch t {
	case TypeString:
		return "string"
	case TypeList:
		return "list"
	case TypeSet:
		return "set"
	case TypeZSet:
		return "zset"
	case TypeHash:
		return "hash"
	case TypeModule:
		return "module"
	case TypeStream:
		return "stream"
	}
	return "type(" + strconv.Itoa(int(t)) + ")"
}

// Encoding is the in-memory encoding of a value, with Redis's
// OBJ_ENCODING_* numbers and OBJECT ENCODING names. The writer chooses the
// on-disk type from it, as Redis does.
type Encoding uint8

// Encodings. Raw is the zero value; for a non-string type it means "not
// set", and the writer then picks what Redis would pick under Limits.
const (
	EncodingRaw       Encoding = 0
	EncodingInt       Encoding = 1
	EncodingHashtable Encoding = 2
	EncodingZipmap    Encoding = 3
	EncodingZiplist   Encoding = 5
	EncodingIntset    Encoding = 6
	EncodingSkiplist  Encoding = 7
	EncodingEmbstr    Encoding = 8
	EncodingQuicklist Encoding = 9
	EncodingStream    Encoding = 10
	EncodingListpack  Encoding = 11
)

func (e Encoding) String() string {
	switch e {
	case EncodingRaw:
		return "raw"
	case EncodingInt:
		return "int"
	case EncodingHashtable:
		return "hashtable"
	case EncodingZipmap:
		return "zipmap"
	case EncodingZiplist:
		return "ziplist"
	case EncodingIntset:
		return "intset"
	case EncodingSkiplist:
		return "skiplist"
	case EncodingEmbstr:
		return "embstr"
	case EncodingQuicklist:
		return "quicklist"
	case EncodingStream:
		return "stream"
	case EncodingListpack:
		return "listpack"
	}
	return "encoding(" + strconv.Itoa(int(e)) + ")"
}

// Field is one hash field and its value.
type Field struct {
	Name, Value []byte
}

// ZMember is one sorted-set member and its score.
type ZMember struct {
	Member []byte
	Score  float64
}

// ListNode describes one quicklist node of a list, so that a list can be
// written with the node boundaries it has in memory (they depend on the
// edit history, not only on the contents).
type ListNode struct {
	// Plain marks a PLAIN node (one element stored raw, used by Redis for
	// elements of packed_threshold bytes or more); otherwise the node is a
	// PACKED listpack.
	Plain bool
	// Count is the number of elements of Object.List the node holds.
	Count int
	// Compressed marks a node held LZF-compressed in memory
	// (list-compress-depth). Such a node is written as an LZF blob even
	// with compression off, when LZF shrinks it as quicklist requires.
	Compressed bool
	// Data, if not nil, is the node's listpack (PACKED) or element (PLAIN)
	// and is written as is; it must hold exactly the Count elements.
	Data []byte
}

// Object is one value in a neutral form shared by the keyspace, RDB files,
// DUMP payloads and DEBUG DIGEST.
//
// Exactly one of the content fields is used, by Type: Str (string), List,
// Set, Hash, ZSet or Stream. Compact, ListNodes and Encoding are optional
// layout information: the decoder fills them so a value can be written back
// byte for byte, and the keyspace may fill them to save conversions.
type Object struct {
	Type     Type
	Encoding Encoding

	Str    []byte
	List   [][]byte
	Set    [][]byte
	Hash   []Field
	ZSet   []ZMember
	Stream *Stream

	// ListNodes, if not nil, is the quicklist layout of List; the counts
	// must add up to len(List). When nil the writer splits List into nodes
	// with the list-max-listpack-size rule, as RPUSH would.
	ListNodes []ListNode
	// Compact, if not nil, is the value's listpack (hash or zset with
	// Encoding listpack) or intset (set with Encoding intset), written as
	// is. It must hold the same content as Hash, ZSet or Set.
	Compact []byte
}

// Len returns the number of elements (pairs for hashes, members for sets and
// zsets, entries for streams, bytes for strings).
func (o *Object) Len() int {
	switch o.Type {
	case TypeString:
		return len(o.Str)
	case TypeList:
		return len(o.List)
	case TypeSet:
		return len(o.Set)
	case TypeZSet:
		return len(o.ZSet)
	case TypeHash:
		return len(o.Hash)
	case TypeStream:
		if o.Stream != nil {
			return len(o.Stream.Entries)
		}
	}
	return 0
}

// StreamID is a stream entry ID.
type StreamID struct {
	Ms, Seq uint64
}

func (id StreamID) String() string {
	return strconv.FormatUint(id.Ms, 10) + "-" + strconv.FormatUint(id.Seq, 10)
}

func (id StreamID) less(o StreamID) bool {
	return id.Ms < o.Ms || id.Ms == o.Ms && id.Seq < o.Seq
}

// StreamEntry is one live stream entry; Fields alternates field and value.
type StreamEntry struct {
	ID     StreamID
	Fields [][]byte
}

// StreamPending is one entry of a consumer group's pending entries list.
type StreamPending struct {
	ID            StreamID
	DeliveryTime  int64 // Unix ms
	DeliveryCount uint64
	Consumer      []byte
}

// StreamConsumer is one consumer of a group.
type StreamConsumer struct {
	Name     []byte
	SeenTime int64 // Unix ms
	Pending  []StreamID
}

// StreamGroup is one consumer group.
type StreamGroup struct {
	Name        []byte
	LastID      StreamID
	EntriesRead int64 // -1: unknown
	PEL         []StreamPending
	Consumers   []StreamConsumer
}

// Stream is a decoded stream, read-only: Reef does not store streams, but
// it can read them from RDB files (for inspection and DEBUG DIGEST).
type Stream struct {
	Entries      []StreamEntry
	Length       uint64
	LastID       StreamID
	FirstID      StreamID
	MaxDeletedID StreamID
	EntriesAdded uint64
	Groups       []StreamGroup
}

// Limits are the encoding thresholds of Redis's configuration. The decoder
// uses them to decide the in-memory encoding of a loaded value (as the
// loading server would) and the writer uses them when Object.Encoding is
// unset.
type Limits struct {
	HashMaxListpackEntries int // hash-max-listpack-entries
	HashMaxListpackValue   int // hash-max-listpack-value
	SetMaxIntsetEntries    int // set-max-intset-entries
	ZSetMaxListpackEntries int // zset-max-listpack-entries
	ZSetMaxListpackValue   int // zset-max-listpack-value
}

// DefaultLimits returns Redis 7.0's defaults. Note that
// hash-max-listpack-entries is 512 in 7.0, not 128.
func DefaultLimits() Limits {
	return Limits{
		HashMaxListpackEntries: 512,
		HashMaxListpackValue:   64,
		SetMaxIntsetEntries:    512,
		ZSetMaxListpackEntries: 128,
		ZSetMaxListpackValue:   64,
	}
}

// zsetLess orders zset members as Redis's skiplist and listpack do: by
// score, then by member bytes (a shorter prefix first).
func zsetLess(a, b ZMember) bool {
	if a.Score != b.Score {
		return a.Score < b.Score
	}
	return bytes.Compare(a.Member, b.Member) < 0
}

// sortedZSet returns z in ascending Redis order, copying only if needed.
func sortedZSet(z []ZMember) []ZMember {
	for i := 1; i < len(z); i++ {
		if !zsetLess(z[i-1], z[i]) {
			c := slices.Clone(z)
			slices.SortStableFunc(c, func(a, b ZMember) int {
				if a.Score != b.Score {
					return cmp.Compare(a.Score, b.Score)
				}
				return bytes.Compare(a.Member, b.Member)
			})
			return c
		}
	}
	return z
}
