package rdb

import (
	"bytes"
	"encoding/binary"
	"math"

	"github.com/reefkv/reef/internal/encoding/intset"
	"github.com/reefkv/reef/internal/encoding/listpack"
	"github.com/reefkv/reef/internal/encoding/redisnum"
	"github.com/reefkv/reef/internal/encoding/ziplist"
	"github.com/reefkv/reef/internal/encoding/zipmap"
)

// DecodeOptions configure value decoding.
type DecodeOptions struct {
	// Limits decide the in-memory encoding reported for loaded values, as
	// the loading server's configuration does. The zero value means
	// DefaultLimits.
	Limits Limits
	// AllowStreams makes stream values (types 15 and 19) decode into
	// Object.Stream instead of failing with ErrUnsupported.
	AllowStreams bool
}

func (o *DecodeOptions) limits() Limits {
	if o == nil || o.Limits == (Limits{}) {
		return DefaultLimits()
	}
	return o.Limits
}

// maxSafe mirrors Redis's 1 GiB listpack safety limit (lpSafeToAdd), above
// which a loaded hash or zset is kept as a hashtable or skiplist.
const maxSafe = listpack.MaxSafeSize

type decoder struct {
	in           *input
	lim          Limits
	allowStreams bool
}

func newDecoder(in *input, opts *DecodeOptions) *decoder {
	d := &decoder{in: in, lim: opts.limits()}
	if opts != nil {
		d.allowStreams = opts.AllowStreams
	}
	return d
}

func (d *decoder) corrupt(format string, args ...any) error {
	return d.in.errf(nil, format, args...)
}

func (d *decoder) empty() error { return d.in.errf(ErrEmptyKey, "empty key") }

// readObject decodes one value of RDB type t.
func (d *decoder) readObject(t byte) (*Object, error) {
	switch RDBType(t) {
	case RDBTypeString:
		s, err := d.in.readStr()
		if err != nil {
			return nil, err
		}
		return &Object{Type: TypeString, Encoding: stringEncoding(s), Str: s}, nil
	case RDBTypeList:
		return d.listPlain()
	case RDBTypeListZiplist:
		return d.listZiplist()
	case RDBTypeListQuicklist, RDBTypeListQuicklist2:
		return d.quicklist(RDBType(t) == RDBTypeListQuicklist2)
	case RDBTypeSet:
		return d.setPlain()
	case RDBTypeSetIntset:
		return d.setIntset()
	case RDBTypeZSet, RDBTypeZSet2:
		return d.zsetPlain(RDBType(t) == RDBTypeZSet2)
	case RDBTypeZSetZiplist, RDBTypeZSetListpack:
		return d.zsetCompact(RDBType(t) == RDBTypeZSetListpack)
	case RDBTypeHash:
		return d.hashPlain()
	case RDBTypeHashZipmap:
		return d.hashZipmap()
	case RDBTypeHashZiplist, RDBTypeHashListpack:
		return d.hashCompact(RDBType(t) == RDBTypeHashListpack)
	case RDBTypeStreamListpacks, RDBTypeStreamListpacks2:
		if !d.allowStreams {
			return nil, d.in.errf(ErrUnsupported, "stream values are not supported")
		}
		return d.stream(RDBType(t) == RDBTypeStreamListpacks2)
	case RDBTypeModule, RDBTypeModule2:
		return nil, d.in.errf(ErrUnsupported, "module values are not supported")
	}
	return nil, d.corrupt("unknown RDB object type %d", t)
}

// stringEncoding is the encoding Redis's tryObjectEncoding gives a loaded
// string: int for canonical integers, embstr up to 44 bytes, raw beyond.
func stringEncoding(s []byte) Encoding {
	if len(s) <= 20 {
		if _, ok := redisnum.ParseInt(s); ok {
			return EncodingInt
		}
	}
	if len(s) <= 44 {
		return EncodingEmbstr
	}
	return EncodingRaw
}

// entryText returns a listpack element as bytes: a view for strings, new
// decimal text for integers.
func entryText(e listpack.Entry) []byte {
	if e.IsInt {
		return e.Append(nil)
	}
	return e.Str
}

func (d *decoder) listPlain() (*Object, error) {
	n, err := d.in.readCount()
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, d.empty()
	}
	list := make([][]byte, 0, d.in.capHint(n))
	for i := uint64(0); i < n; i++ {
		s, err := d.in.readStr()
		if err != nil {
			return nil, err
		}
		list = append(list, s)
	}
	return &Object{Type: TypeList, Encoding: EncodingQuicklist, List: list}, nil
}

func (d *decoder) listZiplist() (*Object, error) {
	off := d.in.offset()
	zl, err := d.in.readStr()
	if err != nil {
		return nil, err
	}
	var list [][]byte
	if _, err := ziplist.Validate(zl, func(e ziplist.Entry) error {
		list = append(list, zipText(e))
		return nil
	}); err != nil {
		return nil, &Error{Offset: off, Msg: "list ziplist integrity check failed", Err: err}
	}
	if len(list) == 0 {
		return nil, d.empty()
	}
	return &Object{Type: TypeList, Encoding: EncodingQuicklist, List: list}, nil
}

func zipText(e ziplist.Entry) []byte {
	if e.IsInt {
		return e.Append(nil)
	}
	return e.Str
}

// ziplistToListpack validates a ziplist and converts it entry by entry, as
// Redis 7.0 does on load (integers stay integers, strings are re-examined).
func ziplistToListpack(zl []byte) ([]byte, int, error) {
	lp := listpack.NewCap(len(zl))
	n, err := ziplist.Validate(zl, func(e ziplist.Entry) error {
		if e.IsInt {
			lp = listpack.AppendInt(lp, e.Int)
		} else {
			lp = listpack.Append(lp, e.Str)
		}
		return nil
	})
	return lp, n, err
}

func (d *decoder) quicklist(v2 bool) (*Object, error) {
	n, err := d.in.readCount()
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, d.empty()
	}
	o := &Object{Type: TypeList, Encoding: EncodingQuicklist}
	o.ListNodes = make([]ListNode, 0, d.in.capHint(n))
	for i := uint64(0); i < n; i++ {
		plain := false
		if v2 {
			c, err := d.in.readCount()
			if err != nil {
				return nil, err
			}
			switch c {
			case 1:
				plain = true
			case 2:
			default:
				return nil, d.corrupt("quicklist integrity check failed: container %d", c)
			}
		}
		off := d.in.offset()
		data, wasLZF, err := d.in.readString()
		if err != nil {
			return nil, err
		}
		if plain {
			o.ListNodes = append(o.ListNodes, ListNode{Plain: true, Count: 1, Compressed: wasLZF, Data: data})
			o.List = append(o.List, data)
			continue
		}
		if !v2 {
			lp, _, err := ziplistToListpack(data)
			if err != nil {
				return nil, &Error{Offset: off, Msg: "quicklist ziplist integrity check failed", Err: err}
			}
			data, wasLZF = lp, false
		} else if err := listpack.Validate(data); err != nil {
			return nil, &Error{Offset: off, Msg: "quicklist listpack integrity check failed", Err: err}
		}
		count := 0
		listpack.Iterate(data, func(e listpack.Entry) bool {
			o.List = append(o.List, entryText(e))
			count++
			return true
		})
		if count == 0 {
			continue // Redis silently skips empty nodes
		}
		o.ListNodes = append(o.ListNodes, ListNode{Count: count, Compressed: wasLZF, Data: data})
	}
	if len(o.List) == 0 {
		return nil, d.empty()
	}
	return o, nil
}

// dupSet detects duplicate members or fields.
type dupSet map[string]struct{}

func (s dupSet) add(b []byte) bool {
	if _, ok := s[string(b)]; ok {
		return false
	}
	s[string(b)] = struct{}{}
	return true
}

func (d *decoder) setPlain() (*Object, error) {
	n, err := d.in.readCount()
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, d.empty()
	}
	members := make([][]byte, 0, d.in.capHint(n))
	seen := make(dupSet, d.in.capHint(n))
	allInts := n <= uint64(min(d.lim.SetMaxIntsetEntries, 1<<30))
	for i := uint64(0); i < n; i++ {
		s, err := d.in.readStr()
		if err != nil {
			return nil, err
		}
		if !seen.add(s) {
			return nil, d.corrupt("duplicate set members detected")
		}
		if allInts {
			_, allInts = redisnum.ParseInt(s)
		}
		members = append(members, s)
	}
	enc := EncodingHashtable
	if allInts {
		enc = EncodingIntset
	}
	return &Object{Type: TypeSet, Encoding: enc, Set: members}, nil
}

func (d *decoder) setIntset() (*Object, error) {
	off := d.in.offset()
	is, err := d.in.readStr()
	if err != nil {
		return nil, err
	}
	if err := intset.Validate(is); err != nil {
		if err == intset.ErrEmpty {
			return nil, d.empty()
		}
		return nil, &Error{Offset: off, Msg: "intset integrity check failed", Err: err}
	}
	n := intset.Len(is)
	members := make([][]byte, n)
	for i := range members {
		members[i] = appendInt(intset.Get(is, i))
	}
	o := &Object{Type: TypeSet, Encoding: EncodingIntset, Set: members, Compact: is}
	if n > d.lim.SetMaxIntsetEntries {
		o.Encoding, o.Compact = EncodingHashtable, nil
	}
	return o, nil
}

func appendInt(v int64) []byte { return listpack.Entry{Int: v, IsInt: true}.Append(nil) }

func (d *decoder) zsetPlain(binaryScores bool) (*Object, error) {
	n, err := d.in.readCount()
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, d.empty()
	}
	z := make([]ZMember, 0, d.in.capHint(n))
	seen := make(dupSet, d.in.capHint(n))
	maxLen, total := 0, 0
	for i := uint64(0); i < n; i++ {
		m, err := d.in.readStr()
		if err != nil {
			return nil, err
		}
		var score float64
		if binaryScores {
			score, err = d.in.readBinaryDouble()
		} else {
			score, err = d.in.readASCIIDouble()
		}
		if err != nil {
			return nil, err
		}
		if math.IsNaN(score) {
			return nil, d.corrupt("zset with NAN score detected")
		}
		if !seen.add(m) {
			return nil, d.corrupt("duplicate zset fields detected")
		}
		maxLen = max(maxLen, len(m))
		total += len(m)
		z = append(z, ZMember{Member: m, Score: score})
	}
	enc := EncodingSkiplist
	if len(z) <= d.lim.ZSetMaxListpackEntries && maxLen <= d.lim.ZSetMaxListpackValue && total < maxSafe {
		enc = EncodingListpack
	}
	return &Object{Type: TypeZSet, Encoding: enc, ZSet: sortedZSet(z)}, nil
}

// compactPairs reads a ziplist (converted to a listpack) or a listpack of
// alternating name/value entries, validated deeply: an even count, no
// duplicate names. It returns the listpack and the entries as text.
func (d *decoder) compactPairs(isListpack bool, what string) (lp []byte, items [][]byte, err error) {
	off := d.in.offset()
	raw, err := d.in.readStr()
	if err != nil {
		return nil, nil, err
	}
	if isListpack {
		lp = raw
		err = listpack.Validate(lp)
	} else {
		lp, _, err = ziplistToListpack(raw)
	}
	if err != nil {
		return nil, nil, &Error{Offset: off, Msg: what + " integrity check failed", Err: err}
	}
	n := listpack.Len(lp)
	if n%2 != 0 {
		return nil, nil, &Error{Offset: off, Msg: what + " has an odd number of entries"}
	}
	items = make([][]byte, 0, n)
	seen := make(dupSet, n/2)
	dup := false
	listpack.Iterate(lp, func(e listpack.Entry) bool {
		t := entryText(e)
		if len(items)%2 == 0 && !seen.add(t) {
			dup = true
			return false
		}
		items = append(items, t)
		return true
	})
	if dup {
		return nil, nil, &Error{Offset: off, Msg: what + " has duplicate entries"}
	}
	return lp, items, nil
}

func (d *decoder) zsetCompact(isListpack bool) (*Object, error) {
	off := d.in.offset()
	lp, items, err := d.compactPairs(isListpack, "zset listpack")
	if err != nil {
		return nil, err
	}
	if len(items) == 0 {
		return nil, d.empty()
	}
	z := make([]ZMember, len(items)/2)
	for i := range z {
		score, ok := redisnum.ParseScore(items[2*i+1])
		if !ok {
			return nil, &Error{Offset: off, Msg: "zset listpack holds an invalid score"}
		}
		z[i] = ZMember{Member: items[2*i], Score: score}
		if i > 0 && !zsetLess(z[i-1], z[i]) {
			return nil, &Error{Offset: off, Msg: "zset listpack is not in score order"}
		}
	}
	o := &Object{Type: TypeZSet, Encoding: EncodingListpack, ZSet: z, Compact: lp}
	if len(z) > d.lim.ZSetMaxListpackEntries {
		o.Encoding, o.Compact = EncodingSkiplist, nil
	}
	return o, nil
}

func (d *decoder) hashPlain() (*Object, error) {
	n, err := d.in.readCount()
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, d.empty()
	}
	h := make([]Field, 0, d.in.capHint(n))
	seen := make(dupSet, d.in.capHint(n))
	compact := n <= uint64(d.lim.HashMaxListpackEntries)
	total := 0
	for i := uint64(0); i < n; i++ {
		f, err := d.in.readStr()
		if err != nil {
			return nil, err
		}
		v, err := d.in.readStr()
		if err != nil {
			return nil, err
		}
		if !seen.add(f) {
			return nil, d.corrupt("duplicate hash fields detected")
		}
		total += len(f) + len(v)
		if len(f) > d.lim.HashMaxListpackValue || len(v) > d.lim.HashMaxListpackValue || total > maxSafe {
			compact = false
		}
		h = append(h, Field{Name: f, Value: v})
	}
	enc := EncodingHashtable
	if compact {
		enc = EncodingListpack
	}
	return &Object{Type: TypeHash, Encoding: enc, Hash: h}, nil
}

func (d *decoder) hashZipmap() (*Object, error) {
	off := d.in.offset()
	zm, err := d.in.readStr()
	if err != nil {
		return nil, err
	}
	var h []Field
	seen := dupSet{}
	maxLen := 0
	_, err = zipmap.Validate(zm, func(k, v []byte) error {
		if !seen.add(k) {
			return &Error{Offset: off, Msg: "zipmap has duplicate fields"}
		}
		maxLen = max(maxLen, len(k), len(v))
		h = append(h, Field{Name: k, Value: v})
		return nil
	})
	if err == zipmap.ErrEmpty {
		return nil, d.empty()
	}
	if err != nil {
		if _, ok := err.(*Error); ok {
			return nil, err
		}
		return nil, &Error{Offset: off, Msg: "zipmap integrity check failed", Err: err}
	}
	enc := EncodingListpack
	if len(h) > d.lim.HashMaxListpackEntries || maxLen > d.lim.HashMaxListpackValue {
		enc = EncodingHashtable
	}
	return &Object{Type: TypeHash, Encoding: enc, Hash: h}, nil
}

func (d *decoder) hashCompact(isListpack bool) (*Object, error) {
	lp, items, err := d.compactPairs(isListpack, "hash listpack")
	if err != nil {
		return nil, err
	}
	if len(items) == 0 {
		return nil, d.empty()
	}
	h := make([]Field, len(items)/2)
	for i := range h {
		h[i] = Field{Name: items[2*i], Value: items[2*i+1]}
	}
	o := &Object{Type: TypeHash, Encoding: EncodingListpack, Hash: h, Compact: lp}
	if len(h) > d.lim.HashMaxListpackEntries {
		o.Encoding, o.Compact = EncodingHashtable, nil
	}
	return o, nil
}

// ---- streams (read-only) ----

func (d *decoder) readStreamID() (StreamID, error) {
	ms, err := d.in.readCount()
	if err != nil {
		return StreamID{}, err
	}
	seq, err := d.in.readCount()
	return StreamID{ms, seq}, err
}

func (d *decoder) readRawStreamID() (StreamID, error) {
	p, err := d.in.readFixed(16)
	if err != nil {
		return StreamID{}, err
	}
	return StreamID{binary.BigEndian.Uint64(p), binary.BigEndian.Uint64(p[8:])}, nil
}

func (d *decoder) stream(v2 bool) (*Object, error) {
	s := &Stream{}
	nodes, err := d.in.readCount()
	if err != nil {
		return nil, err
	}
	var prevKey []byte
	for i := uint64(0); i < nodes; i++ {
		off := d.in.offset()
		key, err := d.in.readStr()
		if err != nil {
			return nil, err
		}
		if len(key) != 16 {
			return nil, &Error{Offset: off, Msg: "stream node key entry is not the size of a stream ID"}
		}
		if prevKey != nil && bytes.Compare(prevKey, key) >= 0 {
			return nil, &Error{Offset: off, Msg: "stream nodes out of order or duplicated"}
		}
		prevKey = key
		master := StreamID{binary.BigEndian.Uint64(key), binary.BigEndian.Uint64(key[8:])}
		off = d.in.offset()
		lp, err := d.in.readStr()
		if err != nil {
			return nil, err
		}
		if _, err := listpack.ValidateCount(lp); err != nil {
			return nil, &Error{Offset: off, Msg: "stream listpack integrity check failed", Err: err}
		}
		if listpack.First(lp) < 0 {
			return nil, &Error{Offset: off, Msg: "empty listpack inside stream"}
		}
		if err := s.appendNode(master, lp); err != nil {
			return nil, &Error{Offset: off, Msg: "stream listpack integrity check failed", Err: err}
		}
	}
	if s.Length, err = d.in.readCount(); err != nil {
		return nil, err
	}
	if s.LastID, err = d.readStreamID(); err != nil {
		return nil, err
	}
	if v2 {
		if s.FirstID, err = d.readStreamID(); err != nil {
			return nil, err
		}
		if s.MaxDeletedID, err = d.readStreamID(); err != nil {
			return nil, err
		}
		if s.EntriesAdded, err = d.in.readCount(); err != nil {
			return nil, err
		}
	} else {
		s.EntriesAdded = s.Length
		if len(s.Entries) > 0 {
			s.FirstID = s.Entries[0].ID
		}
	}
	if s.Length != uint64(len(s.Entries)) {
		return nil, d.corrupt("stream length %d inconsistent with its %d entries", s.Length, len(s.Entries))
	}
	if n := len(s.Entries); n > 0 && s.LastID.less(s.Entries[n-1].ID) {
		return nil, d.corrupt("stream last ID below its last entry")
	}
	groups, err := d.in.readCount()
	if err != nil {
		return nil, err
	}
	seenGroups := dupSet{}
	for i := uint64(0); i < groups; i++ {
		g, err := d.streamGroup(v2)
		if err != nil {
			return nil, err
		}
		if !seenGroups.add(g.Name) {
			return nil, d.corrupt("duplicated consumer group name")
		}
		s.Groups = append(s.Groups, g)
	}
	return &Object{Type: TypeStream, Encoding: EncodingStream, Stream: s}, nil
}

func (d *decoder) streamGroup(v2 bool) (StreamGroup, error) {
	var g StreamGroup
	var err error
	if g.Name, err = d.in.readStr(); err != nil {
		return g, err
	}
	if g.LastID, err = d.readStreamID(); err != nil {
		return g, err
	}
	g.EntriesRead = -1
	if v2 {
		er, err := d.in.readCount()
		if err != nil {
			return g, err
		}
		g.EntriesRead = int64(er) // 2^64-1 reads back as -1, "unknown"
	}
	npel, err := d.in.readCount()
	if err != nil {
		return g, err
	}
	pelIndex := make(map[StreamID]int, d.in.capHint(npel))
	for i := uint64(0); i < npel; i++ {
		var p StreamPending
		if p.ID, err = d.readRawStreamID(); err != nil {
			return g, err
		}
		if p.DeliveryTime, err = d.in.readMillis(); err != nil {
			return g, err
		}
		if p.DeliveryCount, err = d.in.readCount(); err != nil {
			return g, err
		}
		if _, dup := pelIndex[p.ID]; dup {
			return g, d.corrupt("duplicated global PEL entry loading stream consumer group")
		}
		pelIndex[p.ID] = len(g.PEL)
		g.PEL = append(g.PEL, p)
	}
	ncons, err := d.in.readCount()
	if err != nil {
		return g, err
	}
	seen := dupSet{}
	for i := uint64(0); i < ncons; i++ {
		var c StreamConsumer
		if c.Name, err = d.in.readStr(); err != nil {
			return g, err
		}
		if !seen.add(c.Name) {
			return g, d.corrupt("duplicate stream consumer detected")
		}
		if c.SeenTime, err = d.in.readMillis(); err != nil {
			return g, err
		}
		np, err := d.in.readCount()
		if err != nil {
			return g, err
		}
		for j := uint64(0); j < np; j++ {
			id, err := d.readRawStreamID()
			if err != nil {
				return g, err
			}
			k, ok := pelIndex[id]
			if !ok {
				return g, d.corrupt("consumer entry not found in group global PEL")
			}
			if g.PEL[k].Consumer != nil {
				return g, d.corrupt("duplicated consumer PEL entry")
			}
			g.PEL[k].Consumer = c.Name
			c.Pending = append(c.Pending, id)
		}
		g.Consumers = append(g.Consumers, c)
	}
	for _, p := range g.PEL {
		if p.Consumer == nil {
			return g, d.corrupt("stream CG PELs entry without consumer")
		}
	}
	return g, nil
}

// streamNodeReader walks the elements of a validated stream-node listpack.
type streamNodeReader struct {
	lp []byte
	p  int
}

func (r *streamNodeReader) next() (listpack.Entry, bool) {
	if r.p < 0 {
		return listpack.Entry{}, false
	}
	e := listpack.Get(r.lp, r.p)
	r.p = listpack.Next(r.lp, r.p)
	return e, true
}

func (r *streamNodeReader) int() (int64, bool) {
	e, ok := r.next()
	return e.Int, ok && e.IsInt
}

func (r *streamNodeReader) str() ([]byte, bool) {
	e, ok := r.next()
	return entryText(e), ok
}

var errStreamNode = &Error{Msg: "malformed stream node"}

// appendNode decodes one stream node (spec §6.7) and appends its live
// entries, checking the structure Redis's streamValidateListpackIntegrity
// checks plus ascending IDs.
func (s *Stream) appendNode(master StreamID, lp []byte) error {
	r := &streamNodeReader{lp: lp, p: listpack.First(lp)}
	// Every field, value and count is one listpack element, so the number
	// of elements bounds every count read below (and what it allocates).
	elems := int64(listpack.Len(lp))
	count, ok1 := r.int()
	deleted, ok2 := r.int()
	nf, ok3 := r.int()
	if !ok1 || !ok2 || !ok3 || count < 0 || deleted < 0 || nf < 0 || nf > elems || count+deleted > elems {
		return errStreamNode
	}
	mfields := make([][]byte, nf)
	for i := range mfields {
		f, ok := r.str()
		if !ok {
			return errStreamNode
		}
		mfields[i] = f
	}
	if z, ok := r.int(); !ok || z != 0 {
		return errStreamNode
	}
	live := int64(0)
	for total := count + deleted; total > 0; total-- {
		flags, ok1 := r.int()
		dms, ok2 := r.int()
		dseq, ok3 := r.int()
		if !ok1 || !ok2 || !ok3 {
			return errStreamNode
		}
		id := StreamID{master.Ms + uint64(dms), master.Seq + uint64(dseq)}
		var fields [][]byte
		var want int64
		if flags&2 != 0 { // SAMEFIELDS
			fields = make([][]byte, 0, 2*len(mfields))
			for _, f := range mfields {
				v, ok := r.str()
				if !ok {
					return errStreamNode
				}
				fields = append(fields, f, v)
			}
			want = nf + 3
		} else {
			n, ok := r.int()
			if !ok || n < 0 || 2*n > elems {
				return errStreamNode
			}
			fields = make([][]byte, 0, 2*n)
			for j := int64(0); j < 2*n; j++ {
				v, ok := r.str()
				if !ok {
					return errStreamNode
				}
				fields = append(fields, v)
			}
			want = 2*n + 4
		}
		if lc, ok := r.int(); !ok || lc != want {
			return errStreamNode
		}
		if n := len(s.Entries); n > 0 && !s.Entries[n-1].ID.less(id) {
			return errStreamNode
		}
		if flags&1 == 0 {
			s.Entries = append(s.Entries, StreamEntry{ID: id, Fields: fields})
			live++
		}
	}
	if r.p >= 0 || live != count {
		return errStreamNode
	}
	return nil
}
