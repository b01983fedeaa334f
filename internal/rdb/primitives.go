package rdb

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"

	"github.com/reefkv/reef/internal/encoding/crc64"
	"github.com/reefkv/reef/internal/encoding/lzf"
	"github.com/reefkv/reef/internal/encoding/redisnum"
)

// RDBType is the one-byte type of a value in RDB files and DUMP payloads,
// with Redis's RDB_TYPE_* numbers.
type RDBType uint8

// Value types Redis 7.0 reads. The writer produces only String, Set, Hash,
// ZSet2, SetIntset, HashListpack, ZSetListpack and ListQuicklist2.
const (
	RDBTypeString           RDBType = 0
	RDBTypeList             RDBType = 1
	RDBTypeSet              RDBType = 2
	RDBTypeZSet             RDBType = 3
	RDBTypeHash             RDBType = 4
	RDBTypeZSet2            RDBType = 5
	RDBTypeModule           RDBType = 6
	RDBTypeModule2          RDBType = 7
	RDBTypeHashZipmap       RDBType = 9
	RDBTypeListZiplist      RDBType = 10
	RDBTypeSetIntset        RDBType = 11
	RDBTypeZSetZiplist      RDBType = 12
	RDBTypeHashZiplist      RDBType = 13
	RDBTypeListQuicklist    RDBType = 14
	RDBTypeStreamListpacks  RDBType = 15
	RDBTypeHashListpack     RDBType = 16
	RDBTypeZSetListpack     RDBType = 17
	RDBTypeListQuicklist2   RDBType = 18
	RDBTypeStreamListpacks2 RDBType = 19
)

// isObjectType reports whether Redis 7.0 knows t (rdbIsObjectType). 8 was
// never used; 20 and 21 arrive with Redis 7.2 and are refused.
func isObjectType(t byte) bool { return t <= 7 || (t >= 9 && t <= 19) }

// Opcodes of the RDB file stream.
const (
	opFunction     = 0xF6 // 7.0-rc1/rc2 only, read-only
	opFunction2    = 0xF5
	opModuleAux    = 0xF7
	opIdle         = 0xF8
	opFreq         = 0xF9
	opAux          = 0xFA
	opResizeDB     = 0xFB
	opExpireTimeMs = 0xFC
	opExpireTime   = 0xFD
	opSelectDB     = 0xFE
	opEOF          = 0xFF
)

// Version is the RDB version this package writes; it reads 1 to Version.
const Version = 10

// Special string encodings (the low 6 bits after a 11xxxxxx length byte).
const (
	encInt8  = 0
	encInt16 = 1
	encInt32 = 2
	encLZF   = 3
)

// Error is a decoding failure at a byte offset of the input (the RDB file
// or the DUMP payload).
type Error struct {
	Offset int64
	Msg    string
	Err    error // underlying cause, may be nil
}

func (e *Error) Error() string {
	s := "rdb: offset " + strconv.FormatInt(e.Offset, 10) + ": " + e.Msg
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// Sentinel causes that callers may test with errors.Is.
var (
	// ErrEmptyKey: the value is an empty collection. Redis skips such keys
	// when loading an RDB file and refuses them in RESTORE.
	ErrEmptyKey = errors.New("empty collection")
	// ErrUnsupported: the value is of a kind Reef cannot hold (stream,
	// module) or the file needs a module.
	ErrUnsupported = errors.New("unsupported value")
	// ErrChecksum: the RDB file's CRC-64 does not match.
	ErrChecksum = errors.New("wrong RDB checksum")
)

// input is the byte source of the decoder: either a whole payload in memory
// (src nil) or a buffered stream. It tracks the absolute offset for error
// messages and, for streams, the CRC-64 of everything consumed.
type input struct {
	src    io.Reader
	buf    []byte
	pos    int   // next unread byte of buf
	base   int64 // offset of buf[0] in the input
	crc    uint64
	crcPos int // buf[:crcPos] is already in crc
	eof    bool
}

const streamBufSize = 64 << 10

func newMemInput(b []byte) *input { return &input{buf: b} }

func newStreamInput(r io.Reader) *input {
	return &input{src: r, buf: make([]byte, 0, streamBufSize)}
}

func (in *input) offset() int64 { return in.base + int64(in.pos) }

func (in *input) errf(cause error, format string, args ...any) error {
	return &Error{Offset: in.offset(), Msg: fmt.Sprintf(format, args...), Err: cause}
}

// sync folds the consumed bytes into the CRC.
func (in *input) sync() {
	if in.src != nil && in.crcPos < in.pos {
		in.crc = crc64.Update(in.crc, in.buf[in.crcPos:in.pos])
		in.crcPos = in.pos
	}
}

// checksum returns the CRC-64 of everything consumed so far.
func (in *input) checksum() uint64 {
	in.sync()
	return in.crc
}

// fill makes at least n unread bytes available (n <= streamBufSize), or
// returns io.ErrUnexpectedEOF.
func (in *input) fill(n int) error {
	if len(in.buf)-in.pos >= n {
		return nil
	}
	if in.src == nil || in.eof {
		return io.ErrUnexpectedEOF
	}
	in.sync()
	// Compact: keep only the unread bytes.
	rest := copy(in.buf[:cap(in.buf)], in.buf[in.pos:])
	in.base += int64(in.pos)
	in.buf = in.buf[:rest]
	in.pos, in.crcPos = 0, 0
	for len(in.buf) < n {
		m, err := in.src.Read(in.buf[len(in.buf):cap(in.buf)])
		in.buf = in.buf[:len(in.buf)+m]
		if err != nil {
			if len(in.buf) >= n {
				break
			}
			in.eof = true
			if err == io.EOF {
				return io.ErrUnexpectedEOF
			}
			return err
		}
	}
	return nil
}

func (in *input) readByte() (byte, error) {
	if in.pos >= len(in.buf) {
		if err := in.fill(1); err != nil {
			return 0, in.errf(err, "truncated")
		}
	}
	b := in.buf[in.pos]
	in.pos++
	return b, nil
}

// readFixed returns the next n (small) bytes as a view valid until the next
// read.
func (in *input) readFixed(n int) ([]byte, error) {
	if err := in.fill(n); err != nil {
		return nil, in.errf(err, "truncated")
	}
	b := in.buf[in.pos : in.pos+n]
	in.pos += n
	return b, nil
}

// remaining returns how many bytes are left in a memory input, or -1 for a
// stream (unknown).
func (in *input) remaining() int64 {
	if in.src != nil {
		return -1
	}
	return int64(len(in.buf) - in.pos)
}

// readCopy returns the next n bytes in a new slice. It never allocates much
// more than the bytes actually present: for streams it grows the result as
// data arrives, so a forged length fails at the end of the input instead of
// allocating gigabytes.
func (in *input) readCopy(n uint64) ([]byte, error) {
	if in.src == nil {
		if n > uint64(len(in.buf)-in.pos) {
			return nil, in.errf(io.ErrUnexpectedEOF, "string of %d bytes runs past the end", n)
		}
		b := make([]byte, n)
		copy(b, in.buf[in.pos:])
		in.pos += int(n)
		return b, nil
	}
	if n > math.MaxInt-1 {
		return nil, in.errf(nil, "string length %d too large", n)
	}
	want := int(n)
	out := make([]byte, 0, min(want, streamBufSize))
	for len(out) < want {
		if in.pos >= len(in.buf) {
			if err := in.fill(1); err != nil {
				return nil, in.errf(err, "string of %d bytes runs past the end", n)
			}
		}
		take := min(want-len(out), len(in.buf)-in.pos)
		out = append(out, in.buf[in.pos:in.pos+take]...)
		in.pos += take
	}
	return out, nil
}

// readLen reads an RDB length. encoded is true for the 11xxxxxx special
// string encodings, whose number (0-63) is then returned.
func (in *input) readLen() (v uint64, encoded bool, err error) {
	b, err := in.readByte()
	if err != nil {
		return 0, false, err
	}
	switch b >> 6 {
	case 0:
		return uint64(b & 0x3f), false, nil
	case 1:
		b2, err := in.readByte()
		if err != nil {
			return 0, false, err
		}
		return uint64(b&0x3f)<<8 | uint64(b2), false, nil
	case 3:
		return uint64(b & 0x3f), true, nil
	}
	switch b {
	case 0x80:
		p, err := in.readFixed(4)
		if err != nil {
			return 0, false, err
		}
		return uint64(binary.BigEndian.Uint32(p)), false, nil
	case 0x81:
		p, err := in.readFixed(8)
		if err != nil {
			return 0, false, err
		}
		return binary.BigEndian.Uint64(p), false, nil
	}
	return 0, false, in.errf(nil, "unknown length encoding %#x", b)
}

// readCount reads a length where no string can be (counts, LZF lengths,
// stream IDs). Like Redis's rdbLoadLen(rdb, NULL), a special-encoding byte
// 11xxxxxx is not an error there: its low six bits are the length.
func (in *input) readCount() (uint64, error) {
	v, _, err := in.readLen()
	return v, err
}

// readString reads an RDB string in any of its encodings and returns its
// bytes (a new slice) and whether it was LZF-compressed.
func (in *input) readString() (s []byte, wasLZF bool, err error) {
	v, enc, err := in.readLen()
	if err != nil {
		return nil, false, err
	}
	if !enc {
		s, err = in.readCopy(v)
		return s, false, err
	}
	switch v {
	case encInt8:
		p, err := in.readFixed(1)
		if err != nil {
			return nil, false, err
		}
		return strconv.AppendInt(nil, int64(int8(p[0])), 10), false, nil
	case encInt16:
		p, err := in.readFixed(2)
		if err != nil {
			return nil, false, err
		}
		return strconv.AppendInt(nil, int64(int16(binary.LittleEndian.Uint16(p))), 10), false, nil
	case encInt32:
		p, err := in.readFixed(4)
		if err != nil {
			return nil, false, err
		}
		return strconv.AppendInt(nil, int64(int32(binary.LittleEndian.Uint32(p))), 10), false, nil
	case encLZF:
		clen, err := in.readCount()
		if err != nil {
			return nil, false, err
		}
		ulen, err := in.readCount()
		if err != nil {
			return nil, false, err
		}
		// Refuse before reading: no LZF stream of clen bytes expands past
		// this, so a larger claim is corrupt and must not be allocated.
		if clen > math.MaxInt/lzf.MaxExpansion || ulen > clen*lzf.MaxExpansion {
			return nil, false, in.errf(lzf.ErrTooLarge, "invalid LZF compressed string")
		}
		off := in.offset()
		c, err := in.readCopy(clen)
		if err != nil {
			return nil, false, err
		}
		if ulen == 0 {
			// Redis's lzf_decompress into a zero-length buffer returns 0,
			// which equals the expected length: an empty string, whatever
			// the compressed bytes.
			return []byte{}, true, nil
		}
		out, err := lzf.Decompress(nil, c, int(ulen))
		if err != nil {
			return nil, false, &Error{Offset: off, Msg: "invalid LZF compressed string", Err: err}
		}
		return out, true, nil
	}
	return nil, false, in.errf(nil, "unknown RDB string encoding type %d", v)
}

func (in *input) readStr() ([]byte, error) {
	s, _, err := in.readString()
	return s, err
}

func (in *input) readMillis() (int64, error) {
	p, err := in.readFixed(8)
	if err != nil {
		return 0, err
	}
	return int64(binary.LittleEndian.Uint64(p)), nil
}

func (in *input) readBinaryDouble() (float64, error) {
	p, err := in.readFixed(8)
	if err != nil {
		return 0, err
	}
	return math.Float64frombits(binary.LittleEndian.Uint64(p)), nil
}

// readASCIIDouble reads a legacy type-3 score: a length byte, with 253, 254
// and 255 meaning NaN, +inf and -inf.
func (in *input) readASCIIDouble() (float64, error) {
	n, err := in.readByte()
	if err != nil {
		return 0, err
	}
	switch n {
	case 253:
		return math.NaN(), nil
	case 254:
		return math.Inf(1), nil
	case 255:
		return math.Inf(-1), nil
	}
	p, err := in.readFixed(int(n))
	if err != nil {
		return 0, err
	}
	f, ok := redisnum.ParseScore(p)
	if !ok {
		return 0, in.errf(nil, "invalid ASCII double %q", p)
	}
	return f, nil
}

// capHint bounds a pre-allocation for n items by what the input can hold
// (each item takes at least one byte) and by a fixed ceiling for streams.
func (in *input) capHint(n uint64) int {
	const ceiling = 1 << 12
	if r := in.remaining(); r >= 0 && n > uint64(r) {
		n = uint64(r)
	}
	if n > ceiling {
		n = ceiling
	}
	return int(n)
}

// ---- writing ----

// appendLen appends an RDB length in its shortest form.
func appendLen(dst []byte, n uint64) []byte {
	switch {
	case n < 1<<6:
		return append(dst, byte(n))
	case n < 1<<14:
		return append(dst, 0x40|byte(n>>8), byte(n))
	case n <= math.MaxUint32:
		return binary.BigEndian.AppendUint32(append(dst, 0x80), uint32(n))
	}
	return binary.BigEndian.AppendUint64(append(dst, 0x81), n)
}

// appendIntEncoded appends s as C0/C1/C2 if it is canonical integer text
// that fits in 32 bits (Redis's rdbTryIntegerEncoding).
func appendIntEncoded(dst, s []byte) ([]byte, bool) {
	if len(s) > 11 {
		return dst, false
	}
	v, ok := redisnum.ParseInt(s)
	if !ok {
		return dst, false
	}
	switch {
	case v >= math.MinInt8 && v <= math.MaxInt8:
		return append(dst, 0xC0|encInt8, byte(v)), true
	case v >= math.MinInt16 && v <= math.MaxInt16:
		return append(dst, 0xC0|encInt16, byte(v), byte(v>>8)), true
	case v >= math.MinInt32 && v <= math.MaxInt32:
		return binary.LittleEndian.AppendUint32(append(dst, 0xC0|encInt32), uint32(v)), true
	}
	return dst, false
}

// appendLZFBlob appends an already compressed string (rdbSaveLzfBlob).
func appendLZFBlob(dst, c []byte, origLen int) []byte {
	dst = append(dst, 0xC0|encLZF)
	dst = appendLen(dst, uint64(len(c)))
	dst = appendLen(dst, uint64(origLen))
	return append(dst, c...)
}

// appendString appends s with Redis's rdbSaveRawString rules: int encoding
// for short canonical integers, LZF for strings over 20 bytes when compress
// is on and LZF saves at least 4 bytes, raw otherwise.
func appendString(dst, s []byte, compress bool) []byte {
	if out, ok := appendIntEncoded(dst, s); ok {
		return out
	}
	if compress && len(s) > 20 {
		// Compress straight into dst after room for the header (at most
		// 1+5+5 bytes), then slide the data left once the lengths are known.
		start := len(dst)
		const room = 11
		buf := append(dst, make([]byte, room)...)
		if out, ok := lzf.Compress(buf, s, len(s)-4); ok {
			c := len(out) - start - room
			var hb [room]byte
			hdr := appendLen(appendLen(append(hb[:0], 0xC0|encLZF), uint64(c)), uint64(len(s)))
			copy(out[start:], hdr)
			copy(out[start+len(hdr):], out[start+room:])
			return out[:start+len(hdr)+c]
		}
	}
	return append(appendLen(dst, uint64(len(s))), s...)
}

func appendBinaryDouble(dst []byte, f float64) []byte {
	return binary.LittleEndian.AppendUint64(dst, math.Float64bits(f))
}
