package repl

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// blockSize is the size of a replication buffer block (Redis's
// PROTO_REPLY_CHUNK_BYTES).
const blockSize = 16 << 10

// block is one piece of the replication buffer. Bytes below len(buf) never
// change once written, so readers may use them without the lock once they
// have read the slice header under it.
type block struct {
	start int64 // replication offset of buf[0] (offsets count from 1)
	buf   []byte
	next  *block
}

// NoSlot classifies a stream entry made without holding any slot lock
// (PING, PUBLISH): such entries change no keys.
const NoSlot = -2

// Op is one command of the replication stream: its database and arguments.
type Op struct {
	DB   int
	Argv [][]byte
}

// Stream is a node's replication stream: the replication IDs and offset,
// the backlog, and the shared buffer that replicas read from (Redis 7.0's
// shared replication buffer: the backlog is simply the last
// repl-backlog-size bytes of it, and every replica reads from its own
// position in it).
//
// Nothing is recorded until the backlog is created (the first time a
// replica attaches, as in Redis), so a node without replicas pays one
// atomic load per write command.
//
// Entries are appended by the writers themselves while they still hold the
// slot locks of the keys they changed; that is what makes the stream's order
// agree with the order in which the keyspace changed (see
// docs/REPLICATION.md).
type Stream struct {
	active atomic.Bool
	off    atomic.Int64 // master_repl_offset: bytes ever appended

	mu        sync.Mutex
	replid    string
	replid2   string
	secondOff int64
	seldb     int // database of the last SELECT written; -1 forces one
	head      *block
	tail      *block
	size      int64 // repl-backlog-size
	scratch   []byte
	wake      chan struct{}
	idleSince time.Time // when the last replica left (backlog TTL)

	// Snapshot drain (see BeginDrain).
	draining  atomic.Bool
	pending   []byte
	pendingDB int
	drainDone chan struct{}
	classify  func(slot int) bool
}

// NewStream returns a stream with a fresh replication ID and offset 0.
// classify tells, for an entry made while holding slot's lock (or every
// lock: keyspace.AllSlots), whether that holder came after the snapshot
// cut in progress (keyspace.AfterCut).
func NewStream(backlogSize int64, classify func(slot int) bool) *Stream {
	s := &Stream{replid: NewReplID(), replid2: zeroID, secondOff: -1, seldb: -1, size: backlogSize, classify: classify}
	s.idleSince = time.Now()
	return s
}

const zeroID = "0000000000000000000000000000000000000000"

// NewReplID returns a random 40-character replication ID.
func NewReplID() string {
	var b [20]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Active reports whether the backlog exists (entries are being recorded).
func (s *Stream) Active() bool { return s.active.Load() }

// Offset returns master_repl_offset.
func (s *Stream) Offset() int64 { return s.off.Load() }

// Draining reports whether a snapshot is being started (BeginDrain ..
// EndDrain): entries may then be held back, and Offset may not yet count
// some of the entries already made.
func (s *Stream) Draining() bool { return s.draining.Load() }

// WaitDrained returns once no drain is in progress.
func (s *Stream) WaitDrained() {
	s.mu.Lock()
	ch := s.drainDone
	s.mu.Unlock()
	if ch != nil {
		<-ch
	}
}

// IDs returns replid, replid2 and second_repl_offset.
func (s *Stream) IDs() (replid, replid2 string, secondOff int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.replid, s.replid2, s.secondOff
}

// Backlog describes the backlog for INFO.
type Backlog struct {
	Active    bool
	Size      int64
	FirstByte int64
	HistLen   int64
}

// BacklogInfo returns the backlog's state.
func (s *Stream) BacklogInfo() Backlog {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := Backlog{Active: s.active.Load(), Size: s.size}
	if b.Active {
		b.FirstByte = s.head.start
		b.HistLen = s.off.Load() - s.head.start + 1
	}
	return b
}

// SetBacklogSize changes repl-backlog-size.
func (s *Stream) SetBacklogSize(n int64) {
	s.mu.Lock()
	s.size = n
	s.trimLocked()
	s.mu.Unlock()
}

// CreateBacklog starts recording, if not already: the first byte recorded
// will have offset Offset()+1.
func (s *Stream) CreateBacklog() {
	s.mu.Lock()
	s.createLocked()
	s.mu.Unlock()
}

func (s *Stream) createLocked() {
	if s.active.Load() {
		return
	}
	b := &block{start: s.off.Load() + 1, buf: make([]byte, 0, blockSize)}
	s.head, s.tail = b, b
	s.seldb = -1
	s.active.Store(true)
}

// FreeBacklog stops recording and drops the backlog (repl-backlog-ttl
// expired on a master without replicas, or the history became unusable).
func (s *Stream) FreeBacklog() {
	s.mu.Lock()
	s.active.Store(false)
	s.head, s.tail = nil, nil
	s.mu.Unlock()
}

// Reset adopts a new history: a replica that completed a full sync takes
// its master's replication ID and offset and starts a fresh backlog there
// (replid2 is cleared, as Redis does).
func (s *Stream) Reset(replid string, off int64) {
	s.mu.Lock()
	s.replid = replid
	s.replid2 = zeroID
	s.secondOff = -1
	s.off.Store(off)
	s.active.Store(false)
	s.head, s.tail = nil, nil
	s.createLocked()
	s.wakeLocked()
	s.mu.Unlock()
}

// ShiftIDs keeps the current history as replid2, valid up to the current
// offset, and takes a fresh replid: what a replica does when it becomes a
// master, so that the other replicas of its old master, and the old master
// itself, can continue from it with a partial resync (PSYNC2).
func (s *Stream) ShiftIDs() {
	s.mu.Lock()
	s.replid2 = s.replid
	s.secondOff = s.off.Load() + 1
	s.replid = NewReplID()
	s.mu.Unlock()
}

// AdoptID switches to the replication ID a master announced on +CONTINUE:
// the previous one stays valid as replid2 up to the current offset.
func (s *Stream) AdoptID(replid string) {
	s.mu.Lock()
	if replid != s.replid {
		s.replid2 = s.replid
		s.secondOff = s.off.Load() + 1
		s.replid = replid
	}
	s.mu.Unlock()
}

// ChangeID takes a fresh replid and forgets replid2 (a master whose backlog
// expired, DEBUG CHANGE-REPL-ID).
func (s *Stream) ChangeID() {
	s.mu.Lock()
	s.replid = NewReplID()
	s.replid2 = zeroID
	s.secondOff = -1
	s.mu.Unlock()
}

// ---- appending ----

// Feed appends the commands one command execution propagates, wrapped in
// MULTI/EXEC when there is more than one (as Redis 7.0 does), with the
// SELECTs the databases need. slot is the slot whose lock the caller holds
// (keyspace.AllSlots under LockAll, NoSlot without locks). ops is not
// retained.
func (s *Stream) Feed(slot int, ops []Op) {
	if !s.active.Load() || len(ops) == 0 {
		return
	}
	s.mu.Lock()
	if !s.active.Load() {
		s.mu.Unlock()
		return
	}
	if s.draining.Load() && s.after(slot) {
		s.pending = encodeOps(s.pending, &s.pendingDB, ops)
	} else {
		s.scratch = encodeOps(s.scratch[:0], &s.seldb, ops)
		s.writeLocked(s.scratch)
		s.trimScratch()
	}
	s.mu.Unlock()
}

// after reports whether an entry made under slot's lock comes after the
// snapshot cut being fixed; entries made without locks (NoSlot) change no
// keys and go after it.
func (s *Stream) after(slot int) bool {
	return slot == NoSlot || s.classify(slot)
}

// FeedRaw appends bytes received from this node's own master, unchanged, so
// that sub-replicas see the same stream and offsets (chained replication).
func (s *Stream) FeedRaw(slot int, b []byte) {
	if !s.active.Load() || len(b) == 0 {
		return
	}
	s.mu.Lock()
	if s.active.Load() {
		if s.draining.Load() && s.after(slot) {
			s.pending = append(s.pending, b...)
		} else {
			s.writeLocked(b)
		}
	}
	s.mu.Unlock()
}

// FeedPing appends the PING a master sends every repl-ping-replica-period
// (without a SELECT, as Redis does).
func (s *Stream) FeedPing() {
	s.FeedRaw(NoSlot, []byte("*1\r\n$4\r\nPING\r\n"))
}

// FeedGetAck appends REPLCONF GETACK *, which makes replicas report their
// offset right away (WAIT).
func (s *Stream) FeedGetAck() {
	s.FeedRaw(NoSlot, []byte("*3\r\n$8\r\nREPLCONF\r\n$6\r\nGETACK\r\n$1\r\n*\r\n"))
}

func (s *Stream) trimScratch() {
	if cap(s.scratch) > 1<<20 {
		s.scratch = nil
	}
}

// writeLocked appends b to the buffer. REQUIRES: mu held, active.
func (s *Stream) writeLocked(b []byte) {
	for len(b) > 0 {
		t := s.tail
		room := cap(t.buf) - len(t.buf)
		if room == 0 {
			nb := &block{start: t.start + int64(len(t.buf)), buf: make([]byte, 0, blockSize)}
			t.next = nb
			s.tail = nb
			continue
		}
		n := min(room, len(b))
		t.buf = append(t.buf, b[:n]...)
		b = b[n:]
		s.off.Add(int64(n))
	}
	s.trimLocked()
	s.wakeLocked()
}

// trimLocked drops whole blocks from the head while the rest still holds
// repl-backlog-size bytes (Redis 7.0 trims the backlog by blocks too).
func (s *Stream) trimLocked() {
	if s.head == nil {
		return
	}
	end := s.off.Load()
	for s.head.next != nil && end-s.head.next.start+1 >= s.size {
		s.head = s.head.next
	}
}

func (s *Stream) wakeLocked() {
	if s.wake != nil {
		close(s.wake)
		s.wake = nil
	}
}

// ---- snapshots ----

// BeginDrain is the first step of starting a snapshot while writers keep
// running. Between BeginDrain and EndDrain, entries from writers that came
// after the snapshot cut (per classify) are held back in a side buffer,
// while writers that came before it append directly; EndDrain then fixes the
// snapshot's offset between the two groups. The caller begins the keyspace
// cut after BeginDrain and calls keyspace.Drain before EndDrain, which
// guarantees that every "before" writer has appended by then.
func (s *Stream) BeginDrain() {
	s.mu.Lock()
	s.pending = s.pending[:0]
	s.pendingDB = -1
	s.drainDone = make(chan struct{})
	s.draining.Store(true)
	s.mu.Unlock()
}

// Cursor is a replica's reading position in the stream.
// Only one goroutine reads through a cursor; Pos may be called by others.
type Cursor struct {
	pos atomic.Int64 // offset of the next byte to send
	blk *block
}

func newCursor(pos int64, blk *block) *Cursor {
	c := &Cursor{blk: blk}
	c.pos.Store(pos)
	return c
}

// Clone returns an independent cursor at the same position.
func (c *Cursor) Clone() *Cursor { return newCursor(c.pos.Load(), c.blk) }

// Pos returns the offset of the next byte the cursor will read.
func (c *Cursor) Pos() int64 { return c.pos.Load() }

// EndDrain ends the drain: the snapshot's offset is the current offset, the
// held-back entries follow it, and a cursor positioned right after the
// snapshot is returned. The next entry carries a SELECT, as after Redis's
// full resync. If the backlog is not active, it returns the offset and a
// nil cursor.
func (s *Stream) EndDrain() (int64, *Cursor) {
	s.mu.Lock()
	defer s.mu.Unlock()
	off := s.off.Load()
	var cur *Cursor
	if s.active.Load() {
		cur = newCursor(off+1, s.tail)
		s.seldb = -1
		if len(s.pending) > 0 {
			s.writeLocked(s.pending)
			s.seldb = s.pendingDB
		}
	}
	if cap(s.pending) > 1<<20 {
		s.pending = nil
	} else {
		s.pending = s.pending[:0]
	}
	s.draining.Store(false)
	if s.drainDone != nil {
		close(s.drainDone)
		s.drainDone = nil
	}
	return off, cur
}

// ---- reading ----

// ErrNoHistory means the requested offset is not (or no longer) in the
// backlog.
var ErrNoHistory = errors.New("repl: offset not in the backlog")

// CursorAt returns a cursor at offset pos (the next byte wanted), if the
// backlog holds it.
func (s *Stream) CursorAt(pos int64) (*Cursor, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cursorAtLocked(pos)
}

func (s *Stream) cursorAtLocked(pos int64) (*Cursor, error) {
	if !s.active.Load() || pos < s.head.start || pos > s.off.Load()+1 {
		return nil, ErrNoHistory
	}
	b := s.head
	for b.next != nil && b.next.start <= pos {
		b = b.next
	}
	return newCursor(pos, b), nil
}

// PartialResync decides a PSYNC replid offset: it returns a cursor at
// offset when the history is known (replid is ours, or our previous one and
// offset is not past where it ended) and the backlog still holds it.
func (s *Stream) PartialResync(replid string, offset int64) (*Cursor, string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if replid != s.replid && (replid != s.replid2 || offset > s.secondOff) {
		return nil, "", errors.New("replication ID mismatch")
	}
	c, err := s.cursorAtLocked(offset)
	return c, s.replid, err
}

// Next returns the bytes available at the cursor (possibly empty) and a
// channel closed when more arrive. The bytes stay valid; the caller must
// Advance the cursor by what it consumed.
func (s *Stream) Next(c *Cursor) ([]byte, <-chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for {
		b := c.blk
		i := int(c.pos.Load() - b.start)
		if i < len(b.buf) {
			return b.buf[i:len(b.buf):len(b.buf)], nil
		}
		if b.next == nil {
			break
		}
		c.blk = b.next
	}
	if s.wake == nil {
		s.wake = make(chan struct{})
	}
	return nil, s.wake
}

// Advance moves the cursor past n bytes returned by Next.
func (c *Cursor) Advance(n int) { c.pos.Add(int64(n)) }

// ---- encoding ----

func encodeOps(dst []byte, seldb *int, ops []Op) []byte {
	multi := len(ops) > 1
	if multi {
		dst = selectIfNeeded(dst, seldb, ops[0].DB)
		dst = append(dst, "*1\r\n$5\r\nMULTI\r\n"...)
	}
	for _, op := range ops {
		dst = selectIfNeeded(dst, seldb, op.DB)
		dst = AppendCommand(dst, op.Argv)
	}
	if multi {
		dst = append(dst, "*1\r\n$4\r\nEXEC\r\n"...)
	}
	return dst
}

func selectIfNeeded(dst []byte, seldb *int, db int) []byte {
	if *seldb == db {
		return dst
	}
	*seldb = db
	var tmp [20]byte
	n := strconv.AppendInt(tmp[:0], int64(db), 10)
	dst = append(dst, "*2\r\n$6\r\nSELECT\r\n$"...)
	dst = strconv.AppendInt(dst, int64(len(n)), 10)
	dst = append(dst, '\r', '\n')
	dst = append(dst, n...)
	return append(dst, '\r', '\n')
}

// AppendCommand appends argv as a RESP multibulk request.
func AppendCommand(dst []byte, argv [][]byte) []byte {
	dst = append(dst, '*')
	dst = strconv.AppendInt(dst, int64(len(argv)), 10)
	dst = append(dst, '\r', '\n')
	for _, a := range argv {
		dst = append(dst, '$')
		dst = strconv.AppendInt(dst, int64(len(a)), 10)
		dst = append(dst, '\r', '\n')
		dst = append(dst, a...)
		dst = append(dst, '\r', '\n')
	}
	return dst
}

// CommandLen returns len(AppendCommand(nil, argv)).
func CommandLen(argv [][]byte) int {
	n := 1 + digits(len(argv)) + 2
	for _, a := range argv {
		n += 1 + digits(len(a)) + 2 + len(a) + 2
	}
	return n
}

func digits(n int) int {
	d := 1
	for n >= 10 {
		n /= 10
		d++
	}
	return d
}

// IdleSince returns when the last replica left (for repl-backlog-ttl).
func (s *Stream) IdleSince() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.idleSince
}

// SetIdleSince records when the last replica left.
func (s *Stream) SetIdleSince(t time.Time) {
	s.mu.Lock()
	s.idleSince = t
	s.mu.Unlock()
}
