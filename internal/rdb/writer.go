package rdb

import (
	"bufio"
	"encoding/binary"
	"errors"
	"io"
	"strconv"

	"github.com/reefkv/reef/internal/encoding/crc64"
)

// KeyMeta is the per-key metadata written before a key.
type KeyMeta struct {
	// ExpireAt is the absolute expire time in Unix ms, written when
	// HasExpire.
	ExpireAt  int64
	HasExpire bool
	// Idle is the LRU idle time in seconds, written when HasIdle (Redis
	// writes it under an LRU maxmemory-policy).
	Idle    uint64
	HasIdle bool
	// Freq is the LFU counter, written when HasFreq (LFU policies).
	Freq    uint8
	HasFreq bool
}

// AuxFields are the AUX fields Redis 7.0 writes, in its order.
type AuxFields struct {
	RedisVer  string // "7.0.15"
	RedisBits int    // 64
	CTime     int64  // Unix seconds at save
	UsedMem   int64  // bytes
	// Repl, when not nil, adds repl-stream-db, repl-id and repl-offset: Redis
	// writes them when the server has replication info (always in a
	// replica's full-sync payload).
	Repl    *ReplInfo
	AOFBase bool // the RDB is the base of an AOF
}

// ReplInfo is the replication state saved in an RDB.
type ReplInfo struct {
	StreamDB int    // db selected in the replication stream
	ID       string // 40 hex characters
	Offset   int64  // master_repl_offset
}

// Writer writes an RDB file as a stream: NewWriter writes the header, then
// the caller writes AUX fields, functions and databases in Redis's order,
// and Close writes EOF and the checksum. Errors are sticky. It is not safe
// for concurrent use.
type Writer struct {
	w       *bufio.Writer
	opts    WriteOptions
	crc     uint64
	scratch []byte
	n       int64
	err     error
	closed  bool
}

// NewWriter writes the "REDIS0010" header to w and returns a Writer. opts
// may be nil (defaults). Nothing is flushed to w before Flush or Close.
func NewWriter(w io.Writer, opts *WriteOptions) *Writer {
	wr := &Writer{w: bufio.NewWriterSize(w, 64<<10)}
	if opts != nil {
		wr.opts = *opts
	}
	wr.emit(append(wr.scratch[:0], "REDIS0010"...))
	return wr
}

// emit writes b (which may be w.scratch) and folds it into the checksum.
func (w *Writer) emit(b []byte) {
	if cap(b) <= 1<<20 { // keep a reusable buffer, but not a huge one
		w.scratch = b[:0]
	} else {
		w.scratch = nil
	}
	if w.err != nil {
		return
	}
	if w.closed {
		w.err = errors.New("rdb: write after Close")
		return
	}
	if !w.opts.DisableChecksum {
		w.crc = crc64.Update(w.crc, b)
	}
	n, err := w.w.Write(b)
	w.n += int64(n)
	w.err = err
}

func (w *Writer) str(dst, s []byte) []byte { return appendString(dst, s, w.opts.compress()) }

// WriteAux writes one AUX field. Values go through the string rules, so
// numbers come out int-encoded as in Redis ("64" is c0 40).
func (w *Writer) WriteAux(key, value string) error {
	b := append(w.scratch[:0], opAux)
	b = w.str(b, []byte(key))
	b = w.str(b, []byte(value))
	w.emit(b)
	return w.err
}

// WriteAuxFields writes the AUX fields Redis 7.0 writes, in its order:
// redis-ver, redis-bits, ctime, used-mem, [repl-stream-db, repl-id,
// repl-offset], aof-base.
func (w *Writer) WriteAuxFields(a AuxFields) error {
	w.WriteAux("redis-ver", a.RedisVer)
	w.WriteAux("redis-bits", strconv.Itoa(a.RedisBits))
	w.WriteAux("ctime", strconv.FormatInt(a.CTime, 10))
	w.WriteAux("used-mem", strconv.FormatInt(a.UsedMem, 10))
	if a.Repl != nil {
		w.WriteAux("repl-stream-db", strconv.Itoa(a.Repl.StreamDB))
		w.WriteAux("repl-id", a.Repl.ID)
		w.WriteAux("repl-offset", strconv.FormatInt(a.Repl.Offset, 10))
	}
	base := "0"
	if a.AOFBase {
		base = "1"
	}
	return w.WriteAux("aof-base", base)
}

// WriteFunction writes one Function library (opcode FUNCTION2) with its
// full source as an opaque string.
func (w *Writer) WriteFunction(code []byte) error {
	w.emit(w.str(append(w.scratch[:0], opFunction2), code))
	return w.err
}

// SelectDB starts database db with its RESIZEDB hint: the number of keys
// and of keys with an expire that follow. Redis writes only non-empty
// databases, in ascending order.
func (w *Writer) SelectDB(db int, keys, expires uint64) error {
	b := appendLen(append(w.scratch[:0], opSelectDB), uint64(db))
	b = append(b, opResizeDB)
	b = appendLen(appendLen(b, keys), expires)
	w.emit(b)
	return w.err
}

// WriteKey writes one key of the current database: expire, idle or freq
// prefixes from meta, then type, key and value. An error about the value
// (an empty collection, a stream) leaves the file untouched.
func (w *Writer) WriteKey(key []byte, o *Object, meta KeyMeta) error {
	if w.err != nil {
		return w.err
	}
	b := w.scratch[:0]
	if meta.HasExpire {
		b = binary.LittleEndian.AppendUint64(append(b, opExpireTimeMs), uint64(meta.ExpireAt))
	}
	if meta.HasIdle {
		b = appendLen(append(b, opIdle), meta.Idle)
	}
	if meta.HasFreq {
		b = append(b, opFreq, meta.Freq)
	}
	tpos := len(b)
	b = w.str(append(b, 0), key)
	b, t, err := AppendValue(b, o, &w.opts)
	if err != nil {
		w.scratch = b[:0]
		return err
	}
	b[tpos] = byte(t)
	w.emit(b)
	return w.err
}

// Flush writes buffered bytes to the underlying writer.
func (w *Writer) Flush() error {
	if w.err == nil {
		w.err = w.w.Flush()
	}
	return w.err
}

// Written returns the number of bytes written so far (buffered included).
func (w *Writer) Written() int64 { return w.n }

// Close writes EOF and the CRC-64 (8 zero bytes with DisableChecksum) and
// flushes. It does not close the underlying writer.
func (w *Writer) Close() error {
	if w.closed {
		return w.err
	}
	w.emit(append(w.scratch[:0], opEOF))
	sum := w.crc
	if w.opts.DisableChecksum {
		sum = 0
	}
	w.emit(binary.LittleEndian.AppendUint64(w.scratch[:0], sum))
	w.closed = true
	return w.Flush()
}
