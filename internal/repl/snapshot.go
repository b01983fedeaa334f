package repl

import (
	"fmt"
	"io"
	"runtime"
	"sync"
	"time"
	"unsafe"

	"github.com/reefkv/reef/internal/keyspace"
	"github.com/reefkv/reef/internal/rdb"
)

// Codec converts keyspace values to rdb objects and back. The server
// provides it: strings are handled here (StringToObject), collections by the
// data model's bridge.
type Codec struct {
	// ToObject fills o with v's content. o may alias v's memory: it is used
	// only while the slot stays locked. It returns false for a value that
	// cannot be written (which is then skipped).
	ToObject func(v keyspace.Value, o *rdb.Object) bool
	// FromObject builds a value from a decoded object, which it may take
	// ownership of.
	FromObject func(o *rdb.Object) (keyspace.Value, error)
}

// SnapshotOptions choose what a snapshot writes.
type SnapshotOptions struct {
	Write rdb.WriteOptions
	// Aux is written after the header; Repl is filled in by Snapshot with
	// the stream's ID and the snapshot's offset when the stream is active.
	Aux rdb.AuxFields
	// Functions are written (FUNCTION2) before the keys.
	Functions [][]byte
	// KeyMeta, if set, adds idle/freq metadata for a value (maxmemory
	// policies); expiry is always written.
	KeyMeta func(v keyspace.Value, m *rdb.KeyMeta)
	// Working, if set, is called as the walk starts; the function it
	// returns, as the walk ends.
	Working func() (done func())
	// NoKeys leaves the keys out: the snapshot is its header, AUX fields
	// and functions (REPLCONF rdb-filter-only).
	NoKeys bool
}

// segPool recycles the buffers captures encode into, so that a snapshot
// allocates in proportion to the slots in flight, not to the dataset.
var segPool = sync.Pool{New: func() any { b := make([]byte, 0, 8<<10); return &b }}

// segment is one database's keys of one captured slot, RDB-encoded.
type segment struct {
	db  int
	buf []byte
}

// Snapshot is a consistent snapshot in progress (see docs/REPLICATION.md).
type Snapshot struct {
	ks    *keyspace.Keyspace
	codec Codec
	opts  SnapshotOptions

	cut *keyspace.Cut
	// Offset is the replication offset the snapshot corresponds to (the
	// stream's offset when the cut was fixed).
	Offset int64
	// Cursor reads the stream right after the snapshot (nil when the
	// stream is not active).
	Cursor *Cursor

	mu     sync.Mutex
	queue  []segment
	qbytes int
	obj    rdb.Object
	errs   int
	keys   int64
}

// BeginSnapshot fixes a consistent snapshot of ks and, when the stream is
// active, its offset in the stream, without stopping writers for more than
// the time it takes to lock each slot once. It returns nil when another
// snapshot is in progress.
func BeginSnapshot(ks *keyspace.Keyspace, st *Stream, codec Codec, opts SnapshotOptions) *Snapshot {
	sn := &Snapshot{ks: ks, codec: codec, opts: opts}
	st.BeginDrain()
	sn.cut = ks.BeginCut(sn.capture)
	if sn.cut == nil {
		st.EndDrain()
		return nil
	}
	ks.Drain()
	sn.Offset, sn.Cursor = st.EndDrain()
	if st.Active() {
		replid, _, _ := st.IDs()
		sn.opts.Aux.Repl = &rdb.ReplInfo{StreamDB: 0, ID: replid, Offset: sn.Offset}
	}
	return sn
}

// capture encodes slot s. Called with slot s locked (from any goroutine).
func (sn *Snapshot) capture(s int, perm []int) {
	if sn.opts.NoKeys {
		return
	}
	var segs []segment
	wopts := &sn.opts.Write
	for db := 0; db < sn.ks.Databases(); db++ {
		t := sn.ks.Table(db, s)
		if t == nil || t.Keys.Len() == 0 {
			continue
		}
		bp := segPool.Get().(*[]byte)
		buf := (*bp)[:0]
		sn.mu.Lock() // guards sn.obj scratch
		for e := range t.Keys.All() {
			var meta rdb.KeyMeta
			if t.Expires.Len() > 0 {
				if p := t.Expires.Get(e.Key); p != nil {
					meta.HasExpire, meta.ExpireAt = true, *p
				}
			}
			if sn.opts.KeyMeta != nil {
				sn.opts.KeyMeta(e.Val, &meta)
			}
			sn.obj = rdb.Object{}
			if !sn.codec.ToObject(e.Val, &sn.obj) {
				sn.errs++
				continue
			}
			var err error
			buf, err = rdb.AppendKey(buf, unsafe.Slice(unsafe.StringData(e.Key), len(e.Key)), &sn.obj, meta, wopts)
			if err != nil {
				sn.errs++
				continue
			}
			sn.keys++
		}
		sn.obj = rdb.Object{}
		sn.mu.Unlock()
		if len(buf) > 0 {
			segs = append(segs, segment{db: perm[db], buf: buf})
		} else {
			*bp = buf
			segPool.Put(bp)
		}
	}
	if len(segs) == 0 {
		return
	}
	sn.mu.Lock()
	for _, sg := range segs {
		sn.queue = append(sn.queue, sg)
		sn.qbytes += len(sg.buf)
	}
	sn.mu.Unlock()
}

// Abort ends the snapshot without writing it.
func (sn *Snapshot) Abort() { sn.ks.Abort(sn.cut) }

// WriteTo writes the snapshot as an RDB file to w, walking the slots that
// no writer captured yet. It always ends the cut, even on error.
func (sn *Snapshot) WriteTo(w io.Writer) (n int64, err error) {
	if sn.opts.Working != nil {
		defer sn.opts.Working()()
	}
	wr := rdb.NewWriter(w, &sn.opts.Write)
	aux := sn.opts.Aux
	if err := wr.WriteAuxFields(aux); err != nil {
		sn.Abort()
		return wr.Written(), err
	}
	for _, f := range sn.opts.Functions {
		wr.WriteFunction(f)
	}
	curDB := -1
	var out []segment
	flush := func() error {
		sn.mu.Lock()
		out, sn.queue = sn.queue, out[:0]
		sn.qbytes = 0
		sn.mu.Unlock()
		for i, sg := range out {
			if sg.db != curDB {
				curDB = sg.db
				wr.WriteRaw(rdb.AppendSelectDB(nil, sg.db))
			}
			err := wr.WriteRaw(sg.buf)
			if cap(sg.buf) <= 256<<10 {
				b := sg.buf[:0]
				segPool.Put(&b)
			}
			out[i] = segment{}
			if err != nil {
				return err
			}
		}
		return nil
	}
	var werr error
	sn.ks.Walk(sn.cut, func(s int) bool {
		sn.mu.Lock()
		big := sn.qbytes >= 64<<10
		sn.mu.Unlock()
		if big || s%64 == 63 {
			werr = flush()
			// Let client goroutines waiting for a P run: the walk must
			// not add scheduling latency to the commands it runs beside.
			runtime.Gosched()
		}
		return werr == nil
	})
	if werr == nil {
		werr = flush()
	}
	if werr != nil {
		return wr.Written(), werr
	}
	if err := wr.Close(); err != nil {
		return wr.Written(), err
	}
	if sn.errs > 0 {
		return wr.Written(), fmt.Errorf("snapshot: %d values could not be written", sn.errs)
	}
	return wr.Written(), nil
}

// Keys returns how many keys the snapshot wrote so far.
func (sn *Snapshot) Keys() int64 {
	sn.mu.Lock()
	defer sn.mu.Unlock()
	return sn.keys
}

// AuxNow returns the AUX fields Redis 7.0 writes, for a save at now.
func AuxNow(usedMem int64) rdb.AuxFields {
	return rdb.AuxFields{RedisVer: "7.0.15", RedisBits: 64, CTime: time.Now().Unix(), UsedMem: usedMem}
}
