package resp

import (
	"bytes"
	"errors"
	"io"
	"math"

	"github.com/reefkv/reef/internal/rconv"
	"github.com/reefkv/reef/internal/splitargs"
)

// InlineMaxSize is Redis's PROTO_INLINE_MAX_SIZE: the longest inline request or
// count line accepted before the request is rejected.
const InlineMaxSize = 64 * 1024

// Limits Redis applies to clients that have not authenticated yet, so that an
// anonymous peer cannot make the server buffer much before AUTH.
const (
	unauthMaxMultibulk = 10
	unauthMaxBulk      = 16384
)

const initialBufferSize = 16 * 1024

// ProtocolError is a malformed request. Msg is Redis's text without the "ERR "
// prefix; the server replies "-ERR <Msg>" and closes the connection after the
// reply, as Redis does.
type ProtocolError struct{ Msg string }

func (e *ProtocolError) Error() string { return e.Msg }

// ErrQueryBufferLimit means the pending request grew past the query buffer
// limit. Redis closes such a client without a reply.
var ErrQueryBufferLimit = errors.New("client reached max query buffer length")

// RequestReader parses client requests from an io.Reader.
//
// It is not safe for concurrent use. Slices returned by ReadCommand alias the
// internal buffer and are valid until the next call to ReadCommand.
type RequestReader struct {
	rd  io.Reader
	buf []byte
	r   int // start of unparsed data
	w   int // end of valid data

	// Incremental multibulk state, so that a command arriving in many reads
	// is parsed once, not re-scanned from its start on every read.
	inMultibulk bool
	mbLeft      int   // arguments still expected
	bulkLen     int   // length of the bulk being read, -1 if its header is pending
	argOffs     []int // start,end pairs relative to cmdStart
	cmdStart    int

	args [][]byte

	// MaxBulkLen is proto-max-bulk-len. Zero means Redis's default (512 MB).
	MaxBulkLen int64
	// MaxQueryBuffer is client-query-buffer-limit. Zero means 1 GB.
	MaxQueryBuffer int64
	// Unauthenticated applies Redis's small limits for clients that must still
	// AUTH (multibulk count <= 10, bulk length <= 16384).
	Unauthenticated bool
	// FromMaster lifts the bulk length limit, as Redis does for its master link.
	FromMaster bool
	// OnFill, when set, runs before each read from the underlying reader,
	// that is, right before the reader may block. The server flushes its
	// pending replies there. An error from it is returned by ReadCommand.
	OnFill func() error

	lastRead  int
	totalRead int64
	// gen changes whenever the buffer may have moved or a command was
	// taken from it (see Gen).
	gen uint64
}

// LastRead returns the bytes consumed by the last ReadCommand, counted from
// the previous call (for net input statistics).
func (r *RequestReader) LastRead() int {
	n := r.lastRead
	r.lastRead = 0
	return n
}

// TotalRead returns every byte read from the underlying reader so far (the
// replication offset of a master link).
func (r *RequestReader) TotalRead() int64 { return r.totalRead }

// NewRequestReader returns a reader over rd.
func NewRequestReader(rd io.Reader) *RequestReader {
	return &RequestReader{rd: rd, buf: make([]byte, initialBufferSize), bulkLen: -1}
}

// Buffered reports how many unparsed bytes are already in the buffer. The
// server flushes its replies only when this is zero, so a pipelined batch is
// answered with one write.
func (r *RequestReader) Buffered() int { return r.w - r.r }

// BufferSize is the capacity of the internal buffer (for CLIENT LIST qbuf).
func (r *RequestReader) BufferSize() int { return len(r.buf) }

// ReadCommand returns the next command's arguments. An empty request (an
// empty inline line, "*0") is skipped. Errors are *ProtocolError,
// ErrQueryBufferLimit or the underlying reader's error (io.EOF on close).
func (r *RequestReader) ReadCommand() ([][]byte, error) {
	for {
		args, complete, err := r.parse()
		if err != nil {
			return nil, err
		}
		if complete {
			if len(args) == 0 {
				continue
			}
			return args, nil
		}
		if err := r.fill(); err != nil {
			return nil, err
		}
	}
}

// ReadBuffered returns the next complete command already in the buffer,
// without reading from the underlying reader: nil, nil when none is
// complete. An event loop calls FillOnce when the socket is readable, then
// ReadBuffered until it returns nil. Slices alias the buffer as with
// ReadCommand.
func (r *RequestReader) ReadBuffered() ([][]byte, error) {
	for {
		args, complete, err := r.parse()
		if err != nil || !complete {
			return nil, err
		}
		if len(args) > 0 {
			return args, nil
		}
	}
}

// Pos returns the position of the next unparsed byte. Right after
// ReadBuffered returned a command it is where the next command starts, a
// position Rewind can return to while Gen has not changed.
func (r *RequestReader) Pos() int { return r.r }

// Gen changes each time a command is parsed or the buffer is made room in
// (compacted, grown or emptied before a read): positions from Pos stay
// valid for Rewind only while Gen is unchanged.
func (r *RequestReader) Gen() uint64 { return r.gen }

// Rewind makes the reader parse again from pos, a position Pos returned
// after a complete command, Gen unchanged since: an event loop that parsed
// a batch of commands ahead gives back those it did not run.
func (r *RequestReader) Rewind(pos int) {
	r.r = pos
	r.inMultibulk = false
	r.mbLeft = 0
	r.bulkLen = -1
	r.argOffs = r.argOffs[:0]
}

// FillOnce makes room and reads from the underlying reader once, without
// calling OnFill. It returns the reader's error (the caller's
// "would block" error included) or ErrQueryBufferLimit.
func (r *RequestReader) FillOnce() error {
	r.makeRoom()
	return r.readOnce()
}

// parse tries to parse one request from buf[r:w].
func (r *RequestReader) parse() (args [][]byte, complete bool, err error) {
	if !r.inMultibulk {
		if r.r == r.w {
			return nil, false, nil
		}
		if r.buf[r.r] != '*' {
			return r.parseInline()
		}
		nl := bytes.IndexByte(r.buf[r.r:r.w], '\r')
		if nl < 0 {
			if r.w-r.r > InlineMaxSize {
				return nil, false, &ProtocolError{"Protocol error: too big mbulk count string"}
			}
			return nil, false, nil
		}
		if nl+2 > r.w-r.r {
			return nil, false, nil // need the \n too
		}
		n, ok := parseInt(r.buf[r.r+1 : r.r+nl])
		if !ok || n > math.MaxInt32 {
			return nil, false, &ProtocolError{"Protocol error: invalid multibulk length"}
		}
		if n > unauthMaxMultibulk && r.Unauthenticated {
			return nil, false, &ProtocolError{"Protocol error: unauthenticated multibulk length"}
		}
		r.r += nl + 2
		if n <= 0 {
			r.gen++
			return nil, true, nil
		}
		r.inMultibulk = true
		r.mbLeft = int(n)
		r.bulkLen = -1
		r.argOffs = r.argOffs[:0]
		r.cmdStart = r.r
	}
	for r.mbLeft > 0 {
		if r.bulkLen < 0 {
			nl := bytes.IndexByte(r.buf[r.r:r.w], '\r')
			if nl < 0 {
				if r.w-r.r > InlineMaxSize {
					return nil, false, &ProtocolError{"Protocol error: too big bulk count string"}
				}
				return nil, false, nil
			}
			if nl+2 > r.w-r.r {
				return nil, false, nil
			}
			if r.buf[r.r] != '$' {
				return nil, false, &ProtocolError{"Protocol error: expected '$', got '" + string(r.buf[r.r]) + "'"}
			}
			n, ok := parseInt(r.buf[r.r+1 : r.r+nl])
			if !ok || n < 0 || (!r.FromMaster && n > r.maxBulk()) {
				return nil, false, &ProtocolError{"Protocol error: invalid bulk length"}
			}
			if n > unauthMaxBulk && r.Unauthenticated {
				return nil, false, &ProtocolError{"Protocol error: unauthenticated bulk length"}
			}
			r.r += nl + 2
			r.bulkLen = int(n)
		}
		if r.w-r.r < r.bulkLen+2 {
			return nil, false, nil
		}
		start := r.r - r.cmdStart
		r.argOffs = append(r.argOffs, start, start+r.bulkLen)
		r.r += r.bulkLen + 2 // the trailing CRLF is skipped unchecked, as Redis does
		r.bulkLen = -1
		r.mbLeft--
	}
	r.inMultibulk = false
	r.args = r.args[:0]
	base := r.cmdStart
	for i := 0; i < len(r.argOffs); i += 2 {
		r.args = append(r.args, r.buf[base+r.argOffs[i]:base+r.argOffs[i+1]:base+r.argOffs[i+1]])
	}
	if cap(r.argOffs) > 4096 {
		r.argOffs = nil // do not keep a huge offsets slice after one giant command
	}
	r.gen++
	return r.args, true, nil
}

func (r *RequestReader) parseInline() ([][]byte, bool, error) {
	nl := bytes.IndexByte(r.buf[r.r:r.w], '\n')
	if nl < 0 {
		if r.w-r.r > InlineMaxSize {
			return nil, false, &ProtocolError{"Protocol error: too big inline request"}
		}
		return nil, false, nil
	}
	line := r.buf[r.r : r.r+nl]
	consumed := nl + 1
	if len(line) > 0 && line[len(line)-1] == '\r' {
		line = line[:len(line)-1]
	}
	args, ok := splitargs.Split(line, r.args[:0])
	if !ok {
		return nil, false, &ProtocolError{"Protocol error: unbalanced quotes in request"}
	}
	r.args = args
	r.r += consumed
	r.gen++
	return args, true, nil
}

func (r *RequestReader) maxBulk() int64 {
	if r.MaxBulkLen > 0 {
		return r.MaxBulkLen
	}
	return 512 * 1024 * 1024
}

func (r *RequestReader) maxQuery() int64 {
	if r.MaxQueryBuffer > 0 {
		return r.MaxQueryBuffer
	}
	return 1024 * 1024 * 1024
}

// fill reads more data, compacting or growing the buffer as needed. Growth
// follows the data actually received, never a length the peer only announced.
func (r *RequestReader) fill() error {
	r.makeRoom()
	if r.OnFill != nil {
		if err := r.OnFill(); err != nil {
			return err
		}
	}
	return r.readOnce()
}

// makeRoom compacts the buffer, or grows it when the pending request fills
// it.
func (r *RequestReader) makeRoom() {
	r.gen++
	keepFrom := r.r
	if r.inMultibulk {
		keepFrom = r.cmdStart
	}
	if keepFrom > 0 && (r.w == len(r.buf) || keepFrom > len(r.buf)/2) {
		n := copy(r.buf, r.buf[keepFrom:r.w])
		r.w = n
		r.r -= keepFrom
		if r.inMultibulk {
			r.cmdStart = 0
		}
	} else if keepFrom == r.w && keepFrom > 0 {
		r.r, r.w = 0, 0
		if r.inMultibulk {
			r.cmdStart = 0
		}
	}
	if r.w == len(r.buf) {
		size := len(r.buf) * 2
		if need := r.pendingBulkEnd(); need > size {
			// A big argument: grow in steps of at most 64 MB beyond what is
			// buffered, so memory tracks the bytes the peer really sent.
			size = min(need, r.w+64<<20)
		}
		nb := make([]byte, size)
		copy(nb, r.buf[:r.w])
		r.buf = nb
	} else if r.w == 0 && len(r.buf) > 4*initialBufferSize {
		// Idle after a big request: give the memory back.
		r.buf = make([]byte, initialBufferSize)
	}
}

// readOnce reads once into the free part of the buffer.
func (r *RequestReader) readOnce() error {
	n, err := r.rd.Read(r.buf[r.w:])
	if n < 0 {
		n = 0
	}
	r.w += n
	r.lastRead += n
	r.totalRead += int64(n)
	if n > 0 {
		// Like Redis, close a client whose pending request outgrows the
		// query buffer limit.
		start := r.r
		if r.inMultibulk {
			start = r.cmdStart
		}
		if int64(r.w-start) > r.maxQuery() {
			return ErrQueryBufferLimit
		}
		return nil
	}
	if err == nil {
		err = io.ErrNoProgress
	}
	return err
}

// pendingBulkEnd returns the buffer size needed to hold the bulk being read.
func (r *RequestReader) pendingBulkEnd() int {
	if r.inMultibulk && r.bulkLen >= 0 {
		return r.r + r.bulkLen + 2
	}
	return 0
}

// parseInt parses a decimal integer exactly as Redis's string2ll.
func parseInt(b []byte) (int64, bool) { return rconv.ParseInt(b) }
