package rdb

import (
	"encoding/binary"

	"github.com/reefkv/reef/internal/encoding/crc64"
)

// Record-level encoders for writers that build an RDB file out of order:
// a snapshot taken slot by slot encodes each slot's keys into a buffer while
// the slot is locked, and a single Writer later writes the buffers out with
// WriteRaw (which keeps the checksum). The bytes are exactly those WriteKey
// and SelectDB would write.

// AppendKey appends one key record (expire/idle/freq prefixes from meta,
// type, key, value) to dst. On error dst is returned unchanged.
func AppendKey(dst, key []byte, o *Object, meta KeyMeta, opts *WriteOptions) ([]byte, error) {
	start := len(dst)
	b := dst
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
	b = appendString(append(b, 0), key, opts.compress())
	b, t, err := AppendValue(b, o, opts)
	if err != nil {
		return dst[:start], err
	}
	b[tpos] = byte(t)
	return b, nil
}

// AppendSelectDB appends a SELECTDB record without a RESIZEDB hint (the hint
// is optional; a file may select the same database more than once).
func AppendSelectDB(dst []byte, db int) []byte {
	return appendLen(append(dst, opSelectDB), uint64(db))
}

// WriteRaw writes records encoded by AppendKey and AppendSelectDB, folding
// them into the checksum.
func (w *Writer) WriteRaw(b []byte) error {
	if len(b) == 0 {
		return w.err
	}
	if w.err != nil {
		return w.err
	}
	if w.closed {
		w.emit(nil) // sets the write-after-Close error
		return w.err
	}
	if !w.opts.DisableChecksum {
		w.crc = crc64.Update(w.crc, b)
	}
	n, err := w.w.Write(b)
	w.n += int64(n)
	w.err = err
	return w.err
}
