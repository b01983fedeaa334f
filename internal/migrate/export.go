package migrate

import (
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/reefkv/reef/internal/config"
	"github.com/reefkv/reef/internal/encoding/redisnum"
	"github.com/reefkv/reef/internal/keyspace"
	"github.com/reefkv/reef/internal/resp"
	"github.com/reefkv/reef/internal/slot"
	"github.com/reefkv/reef/internal/types"
)

// The source side of atomic slot migration (docs/MIGRATION.md): an Export
// streams a consistent copy of its slots to the target and, after the
// snapshot, every write made to them, in the order the writes happened.
//
// Consistency without a fork, and without stopping writers for longer than
// one bounded step:
//
//   - The walker visits the slots one at a time. A slot is pending (writes
//     to it are not forwarded: the walk will copy their effect), then
//     collecting (its key names are gathered into the remaining set in
//     bounded batches; nothing has been sent yet, so writes only add the
//     keys they touch to that set), then sending (keys leave the remaining
//     set as they are sent), then done (every write is forwarded).
//   - Every write to an exporting slot reaches Feed while its slot is still
//     locked, so Feed and the walker see the slot in the same order as the
//     target will. In a sending slot the invariant is: a key outside the
//     remaining set (and not the big key in flight) holds on the target
//     exactly the value it had on the source before the write. A write whose
//     keys all satisfy it is forwarded as it was propagated; otherwise the
//     keys it touched are deleted on the target and put back in the
//     remaining set, to be sent again with their new value.
//   - A big collection is sent in chunks (HSET/SADD/ZADD/RPUSH of at most
//     ChunkElems elements, one lock hold each, APPEND for long strings).
//     While it is in flight, writes that change one element of a hash, set
//     or sorted set by name are forwarded (their effect on the partial copy
//     is exact for the elements already sent, and later chunks carry the
//     current value of the others); any other write to it restarts it.

// Export tuning.
const (
	// ChunkElems is the number of elements of a big collection sent per
	// lock hold, and the element count above which a collection is big.
	ChunkElems = 512
	// chunkBytes bounds the bytes of one chunk (and strings longer than
	// that are big).
	chunkBytes = 256 << 10
	// sendBudget bounds the work of one lock hold when sending small keys.
	sendBudget = 200 * time.Microsecond
	// walkHighWater pauses the walker while this much is waiting for the
	// socket, so a slow target bounds the source's memory.
	walkHighWater = 4 << 20
	// MaxBuffered aborts an export whose target does not keep up with the
	// writes (client-output-buffer-limit replica's default hard limit).
	MaxBuffered = 256 << 20
)

// collectBatch is the number of key names gathered per lock hold (a
// variable so that tests can make collecting span many steps).
var collectBatch = 4096

// walkHook, when set (tests), runs between two lock holds of the walker,
// with no lock held: the writes it makes interleave with the walk
// deterministically.
var walkHook func()

// Slot states of an export.
const (
	slotPending uint8 = iota
	slotCollecting
	slotSending
	slotDone
)

// Host is what an export needs from the server.
type Host interface {
	// KS is the keyspace.
	KS() *keyspace.Keyspace
	// Config is the current configuration.
	Config() *config.Config
	// KeysOf returns the key arguments of a propagated command (argv[0] is
	// its name), by the command table's key positions.
	KeysOf(argv [][]byte) [][]byte
}

// ErrAborted is the error of an export or import stopped by CANCEL.
var ErrAborted = errors.New("cancelled")

// Export is one source-side migration of a set of slots to one target.
type Export struct {
	ID     string
	Target string // target node ID
	Source string // my node ID
	Slots  []int  // ascending
	Start  time.Time

	host Host
	in   [slot.Count]bool

	// Guarded by the lock of each slot: its state, and for the slot being
	// walked its remaining set and the big key in flight.
	state     [slot.Count]uint8
	remaining map[string]struct{}
	collect   int // collecting: next position to gather, counting down
	inflight  *bigKey
	cur       int // the slot being walked, -1 when none

	mu     sync.Mutex
	wake   chan struct{} // the sender has bytes to write (cap 1)
	drain  chan struct{} // the walker may go on (cap 1)
	buf    []byte        // appended, not yet taken by the sender
	off    int64         // bytes appended since the stream began
	err    error         // set once: the export failed
	closed chan struct{} // closed with err

	acked     atomic.Int64
	keys      atomic.Int64 // keys (and chunks) sent
	sent      atomic.Int64 // bytes written to the socket
	slotsDone atomic.Int64
	state0    atomic.Value // string: human state
}

// bigKey is a collection or string being sent in chunks.
type bigKey struct {
	key    string
	typ    keyspace.Type
	cursor uint64 // hash/set/zset scan cursor; list index; string offset
	begun  bool
}

// NewExport prepares an export of slots (ascending, deduplicated) to target.
func NewExport(host Host, id, source, target string, slots []int) *Export {
	e := &Export{ID: id, Target: target, Source: source, Slots: slots, Start: time.Now(), host: host,
		wake: make(chan struct{}, 1), drain: make(chan struct{}, 1), closed: make(chan struct{}), cur: -1}
	for _, s := range slots {
		e.in[s] = true
	}
	e.state0.Store("snapshot")
	return e
}

// Has reports whether slot s is part of the export.
func (e *Export) Has(s int) bool { return s >= 0 && s < slot.Count && e.in[s] }

// Status returns the human-readable state.
func (e *Export) Status() string { return e.state0.Load().(string) }

// SetStatus changes the human-readable state.
func (e *Export) SetStatus(s string) { e.state0.Store(s) }

// Progress returns the keys sent, stream bytes written and slots walked.
func (e *Export) Progress() (keys, bytes, slots int64) {
	return e.keys.Load(), e.sent.Load(), e.slotsDone.Load()
}

// Done is closed when the export failed or was stopped.
func (e *Export) Done() <-chan struct{} { return e.closed }

// Err returns why the export stopped, or nil.
func (e *Export) Err() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.err
}

// Fail stops the export with err (the first error wins).
func (e *Export) Fail(err error) {
	e.mu.Lock()
	if e.err == nil {
		e.err = err
		close(e.closed)
	}
	e.mu.Unlock()
	e.signal(e.wake)
	e.signal(e.drain)
}

func (e *Export) signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// Ack records the stream offset the target applied.
func (e *Export) Ack(off int64) {
	e.acked.Store(off)
	e.signal(e.drain)
}

// Offsets returns the stream offset appended so far and the one acked.
func (e *Export) Offsets() (appended, acked int64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.off, e.acked.Load()
}

// appendCmd appends one command to the stream. REQUIRES: the lock of the
// slot it concerns held (or all of the export's slots, or none for
// control messages appended while no write can reach the export).
func (e *Export) appendCmd(argv ...[]byte) {
	e.mu.Lock()
	if e.err == nil {
		n := len(e.buf)
		e.buf = resp.AppendArrayLen(e.buf, len(argv))
		for _, a := range argv {
			e.buf = resp.AppendBulk(e.buf, a)
		}
		e.off += int64(len(e.buf) - n)
		if len(e.buf) > MaxBuffered {
			e.err = fmt.Errorf("the target did not keep up: %d bytes waiting", len(e.buf))
			close(e.closed)
			e.buf = nil
		}
	}
	e.mu.Unlock()
	e.signal(e.wake)
}

// AppendControl appends a control message (CLUSTER SYNCSLOTS ...).
func (e *Export) AppendControl(args ...string) {
	argv := make([][]byte, 0, len(args)+2)
	argv = append(argv, []byte("CLUSTER"), []byte("SYNCSLOTS"))
	for _, a := range args {
		argv = append(argv, []byte(a))
	}
	e.appendCmd(argv...)
}

// Take returns the bytes waiting for the socket (nil when none) and
// whether the export failed. The sender calls it; wake signals new bytes.
func (e *Export) Take() ([]byte, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	b := e.buf
	e.buf = nil
	if len(b) > 0 {
		e.signal(e.drain)
	}
	return b, e.err
}

// Wake is signalled when bytes are waiting for the socket.
func (e *Export) Wake() <-chan struct{} { return e.wake }

// Wrote records n bytes written to the socket.
func (e *Export) Wrote(n int) { e.sent.Add(int64(n)) }

// waiting returns the bytes appended but not acked by the target.
func (e *Export) waiting() int64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.off - e.acked.Load()
}

// ---- the write path ----

// Feed sees every write propagated in one of the export's slots, right
// after it ran and while its slot is still locked. argvs are the commands
// as propagated (a transaction's commands in order); they are not kept.
// REQUIRES: the lock of the slot of their keys held.
func (e *Export) Feed(argvs [][][]byte) {
	for _, argv := range argvs {
		keys := e.host.KeysOf(argv)
		if len(keys) == 0 {
			continue
		}
		s := slot.Of(keys[0])
		if !e.in[s] {
			continue
		}
		switch e.state[s] {
		case slotPending:
		case slotCollecting:
			// Nothing of this slot was sent: the keys the write touched
			// are sent later with their value at that time.
			ks := e.host.KS()
			for _, k := range keys {
				if ks.Get(0, s, k) != nil {
					e.remaining[string(k)] = struct{}{}
				}
			}
		case slotSending:
			e.feedSending(s, argv, keys)
		case slotDone:
			e.appendCmd(argv...)
		}
	}
}

// elementWise names the commands whose effect on a hash, set or sorted set
// depends only on the elements they name, and the expiry commands.
var elementWise = map[string]keyspace.Type{
	"hset": keyspace.TypeHash, "hmset": keyspace.TypeHash, "hsetnx": keyspace.TypeHash, "hdel": keyspace.TypeHash,
	"hincrby": keyspace.TypeHash, "hincrbyfloat": keyspace.TypeHash,
	"sadd": keyspace.TypeSet, "srem": keyspace.TypeSet,
	"zadd": keyspace.TypeZSet, "zincrby": keyspace.TypeZSet, "zrem": keyspace.TypeZSet,
}

var expiryCommands = map[string]bool{"expire": true, "pexpire": true, "expireat": true, "pexpireat": true, "persist": true}

func lowerName(b []byte) string {
	var buf [16]byte
	if len(b) > len(buf) {
		return ""
	}
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf[i] = c
	}
	return string(buf[:len(b)])
}

// feedSending handles a write to the slot being sent. REQUIRES: its lock.
func (e *Export) feedSending(s int, argv, keys [][]byte) {
	synced := true
	for _, k := range keys {
		if _, ok := e.remaining[string(k)]; ok {
			synced = false
			break
		}
		if b := e.inflight; b != nil && b.key == string(k) {
			name := lowerName(argv[0])
			t, ok := elementWise[name]
			if len(keys) != 1 || !(expiryCommands[name] || ok && t == b.typ) {
				synced = false
				break
			}
		}
	}
	if synced {
		e.appendCmd(argv...)
		return
	}
	// Resend every key the write touched, from its current value.
	ks := e.host.KS()
	for _, k := range keys {
		ksr := string(k)
		if _, ok := e.remaining[ksr]; ok {
			continue
		}
		if b := e.inflight; b != nil && b.key == ksr {
			e.inflight = nil
		}
		e.appendCmd([]byte("DEL"), k)
		if ks.Get(0, s, k) != nil {
			e.remaining[ksr] = struct{}{}
		}
	}
}

// FlushAll is called when every slot was emptied (FLUSHALL/FLUSHDB) with
// every slot locked: the export fails, the target drops what it imported.
func (e *Export) FlushAll() { e.Fail(errors.New("the dataset was flushed during the migration")) }

// ---- the walker ----

// Walk copies the slots, one at a time, then returns nil once every slot
// is done (writes are then all forwarded), or the export's error.
func (e *Export) Walk() error {
	ks := e.host.KS()
	for _, s := range e.Slots {
		if walkHook != nil {
			walkHook()
		}
		if err := e.walkSlot(ks, s); err != nil {
			return err
		}
		e.slotsDone.Add(1)
	}
	e.SetStatus("catching up")
	return e.Err()
}

// throttle waits while too much is waiting for the target.
func (e *Export) throttle() error {
	for {
		e.mu.Lock()
		err, n := e.err, int64(len(e.buf))+e.off-e.acked.Load()
		e.mu.Unlock()
		if err != nil {
			return err
		}
		if n < walkHighWater {
			return nil
		}
		select {
		case <-e.drain:
		case <-time.After(50 * time.Millisecond):
		case <-e.closed:
		}
	}
}

func (e *Export) walkSlot(ks *keyspace.Keyspace, s int) error {
	if err := e.throttle(); err != nil {
		return err
	}
	ks.Lock(s)
	e.cur = s
	t := ks.Table(0, s)
	n := 0
	if t != nil {
		n = t.Keys.Len()
	}
	if n == 0 {
		e.state[s] = slotDone
		e.cur = -1
		ks.Unlock(s)
		return nil
	}
	e.remaining = make(map[string]struct{}, n)
	e.collect = n
	e.state[s] = slotCollecting
	ks.Unlock(s)
	// Collect the key names in bounded batches, from the end of the
	// dense table towards its start (see dict: an entry moved by a delete
	// only moves to a lower position, so none is missed).
	for {
		ks.Lock(s)
		t = ks.Table(0, s)
		done := true
		if t != nil {
			if n := t.Keys.Len(); e.collect > n {
				e.collect = n
			}
			lo := max(0, e.collect-collectBatch)
			for i := e.collect - 1; i >= lo; i-- {
				e.remaining[t.Keys.At(i).Key] = struct{}{}
			}
			e.collect = lo
			done = lo == 0
		}
		if done {
			e.state[s] = slotSending
		}
		ks.Unlock(s)
		if walkHook != nil {
			walkHook()
		}
		if done {
			break
		}
	}
	// Send.
	for {
		if err := e.throttle(); err != nil {
			ks.Lock(s)
			e.state[s] = slotDone
			e.remaining, e.inflight, e.cur = nil, nil, -1
			ks.Unlock(s)
			return err
		}
		ks.Lock(s)
		finished := e.sendSome(ks, s)
		if finished {
			e.state[s] = slotDone
			e.remaining, e.inflight, e.cur = nil, nil, -1
		}
		ks.Unlock(s)
		if walkHook != nil {
			walkHook()
		}
		if finished {
			return e.Err()
		}
	}
}

// sendSome sends a bounded amount of the slot: the next chunk of the big
// key in flight, or small keys for up to sendBudget (a big one starts its
// first chunk and ends the step). It reports whether the slot is complete.
// REQUIRES: slot s locked.
func (e *Export) sendSome(ks *keyspace.Keyspace, s int) bool {
	if e.inflight != nil {
		e.sendChunk(ks, s)
		return false
	}
	cfg := e.host.Config()
	start := time.Now()
	sent := 0
	for k := range e.remaining {
		delete(e.remaining, k)
		kb := unsafe.Slice(unsafe.StringData(k), len(k))
		v := ks.Get(0, s, kb)
		if v == nil {
			continue
		}
		if isBig(*v) {
			e.inflight = &bigKey{key: k, typ: v.Type()}
			e.sendChunk(ks, s)
			return false
		}
		at := ks.ExpireAt(0, s, kb)
		if v.Type() == keyspace.TypeString {
			// A plain SET costs the target far less than RESTORE (no
			// RDB decoding, no CRC, no LZF) and builds the same value.
			var val []byte
			if v.IsInt() {
				val = strconv.AppendInt(nil, v.Int(), 10)
			} else {
				val = v.Bytes()
			}
			if at >= 0 {
				e.appendCmd([]byte("SET"), kb, val, []byte("PXAT"), strconv.AppendInt(nil, at, 10))
			} else {
				e.appendCmd([]byte("SET"), kb, val)
			}
			e.keys.Add(1)
			sent++
			if sent%32 == 0 && time.Since(start) > sendBudget || walkHook != nil && sent%4 == 0 {
				return false
			}
			continue
		}
		if at < 0 {
			at = 0
		}
		payload, err := AppendDump(nil, *v, cfg)
		if err != nil {
			e.Fail(fmt.Errorf("serialize %q: %w", k, err))
			return true
		}
		e.appendCmd([]byte("RESTORE"), kb, strconv.AppendInt(nil, at, 10), payload, []byte("REPLACE"), []byte("ABSTTL"))
		e.keys.Add(1)
		sent++
		if sent%32 == 0 && time.Since(start) > sendBudget || walkHook != nil && sent%4 == 0 {
			return false
		}
	}
	return len(e.remaining) == 0
}

// isBig reports whether v is sent in chunks.
func isBig(v keyspace.Value) bool {
	switch v.Type() {
	case keyspace.TypeString:
		return !v.IsInt() && len(v.Bytes()) > chunkBytes
	case keyspace.TypeHash:
		return types.HashOf(&v).Len() > ChunkElems
	case keyspace.TypeSet:
		return types.SetOf(&v).Len() > ChunkElems
	case keyspace.TypeZSet:
		return types.ZSetOf(&v).Len() > ChunkElems
	case keyspace.TypeList:
		return types.ListOf(&v).Len() > ChunkElems
	}
	return false
}

// sendChunk sends the next chunk of the big key in flight, and its expiry
// after the last one. REQUIRES: slot s locked.
func (e *Export) sendChunk(ks *keyspace.Keyspace, s int) {
	b := e.inflight
	kb := []byte(b.key)
	v := ks.Get(0, s, kb)
	if v == nil || v.Type() != b.typ {
		// Deleted or replaced without passing through Feed (cannot
		// happen) or by a write Feed forwarded: nothing more to send.
		e.inflight = nil
		return
	}
	if !b.begun {
		e.appendCmd([]byte("DEL"), kb)
		b.begun = true
	}
	var argv [][]byte
	bytes := 0
	add := func(parts ...[]byte) {
		for _, p := range parts {
			argv = append(argv, append([]byte(nil), p...))
			bytes += len(p)
		}
	}
	last := false
	switch b.typ {
	case keyspace.TypeString:
		str := v.Bytes()
		end := min(len(str), int(b.cursor)+chunkBytes)
		argv = [][]byte{[]byte("APPEND"), kb, append([]byte(nil), str[b.cursor:end]...)}
		b.cursor = uint64(end)
		last = end == len(str)
	case keyspace.TypeHash:
		argv = [][]byte{[]byte("HSET"), kb}
		b.cursor = types.HashOf(v).Scan(b.cursor, ChunkElems, func(f, val types.Str) {
			add(strBytes(f), strBytes(val))
		})
		last = b.cursor == 0
	case keyspace.TypeSet:
		argv = [][]byte{[]byte("SADD"), kb}
		b.cursor = types.SetOf(v).Scan(b.cursor, ChunkElems, func(m types.Str) {
			add(strBytes(m))
		})
		last = b.cursor == 0
	case keyspace.TypeZSet:
		argv = [][]byte{[]byte("ZADD"), kb}
		b.cursor = types.ZSetOf(v).Scan(b.cursor, ChunkElems, func(m types.Str, score float64) {
			add(redisnum.AppendScore(nil, score), strBytes(m))
		})
		last = b.cursor == 0
	case keyspace.TypeList:
		l := types.ListOf(v)
		argv = [][]byte{[]byte("RPUSH"), kb}
		i := int(b.cursor)
		l.Walk(i, false, func(_ int, el types.Str) bool {
			add(strBytes(el))
			i++
			return len(argv)-2 < ChunkElems && bytes < chunkBytes
		})
		b.cursor = uint64(i)
		last = i >= l.Len()
	}
	if len(argv) > 2 || b.typ == keyspace.TypeString {
		e.appendCmd(argv...)
		e.keys.Add(1)
	}
	if last {
		if at := ks.ExpireAt(0, s, kb); at >= 0 {
			e.appendCmd([]byte("PEXPIREAT"), kb, strconv.AppendInt(nil, at, 10))
		} else {
			e.appendCmd([]byte("PERSIST"), kb)
		}
		e.inflight = nil
	}
}

func strBytes(e types.Str) []byte {
	if e.IsInt {
		return types.Bytes(e, nil)
	}
	return e.Str
}
