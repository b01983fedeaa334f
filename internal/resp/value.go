package resp

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// Kind is the RESP type of a reply, named by its first byte.
type Kind byte

// Reply kinds (RESP2 and RESP3).
const (
	KindSimple    Kind = '+'
	KindError     Kind = '-'
	KindInt       Kind = ':'
	KindBulk      Kind = '$'
	KindArray     Kind = '*'
	KindNull      Kind = '_'
	KindDouble    Kind = ','
	KindBool      Kind = '#'
	KindBlobError Kind = '!'
	KindVerbatim  Kind = '='
	KindBigNumber Kind = '('
	KindMap       Kind = '%'
	KindSet       Kind = '~'
	KindPush      Kind = '>'
)

// Value is one parsed reply. Str holds the payload of string-like kinds
// (simple, error, bulk, verbatim without its "fmt:" prefix, double, big
// number); Int holds integers and booleans (1/0); Elems holds array, set and
// push elements, and for maps the keys and values interleaved.
// A RESP2 null bulk or null array has Kind KindNull.
type Value struct {
	Kind  Kind
	Str   []byte
	Int   int64
	Elems []Value
}

// IsNull reports whether v is a null of any protocol version.
func (v Value) IsNull() bool { return v.Kind == KindNull }

// IsError reports whether v is an error reply.
func (v Value) IsError() bool { return v.Kind == KindError || v.Kind == KindBlobError }

// Text returns the string payload, or the decimal form of an integer.
func (v Value) Text() string {
	if v.Kind == KindInt {
		return strconv.FormatInt(v.Int, 10)
	}
	return string(v.Str)
}

// Err returns the reply as a Go error when it is an error reply, else nil.
func (v Value) Err() error {
	if v.IsError() {
		return ReplyError(v.Str)
	}
	return nil
}

// ReplyError is an error reply received from a server ("ERR ...", "MOVED ...").
type ReplyError string

func (e ReplyError) Error() string { return string(e) }

// ErrMalformed means the peer sent bytes that are not RESP.
var ErrMalformed = errors.New("resp: malformed reply")

// maxAggregate bounds aggregate lengths read from a peer so that a hostile
// header cannot make the reader allocate without the data behind it.
const maxAggregate = 1 << 28

// ReplyReader parses replies from a server. It is not safe for concurrent use.
type ReplyReader struct {
	br *bufio.Reader
}

// NewReplyReader returns a reader over rd.
func NewReplyReader(rd io.Reader) *ReplyReader {
	return &ReplyReader{br: bufio.NewReaderSize(rd, 32*1024)}
}

// Bufio exposes the underlying buffered reader, for protocols that switch to
// raw bytes after a reply (a replication RDB payload).
func (r *ReplyReader) Bufio() *bufio.Reader { return r.br }

// ReadReply reads one reply. RESP3 attributes are read and dropped.
func (r *ReplyReader) ReadReply() (Value, error) {
	for {
		v, attr, err := r.read()
		if err != nil || !attr {
			return v, err
		}
	}
}

func (r *ReplyReader) line() ([]byte, error) {
	line, err := r.br.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		// A very long simple line: accumulate.
		buf := append([]byte(nil), line...)
		for err == bufio.ErrBufferFull {
			line, err = r.br.ReadSlice('\n')
			buf = append(buf, line...)
		}
		line = buf
	}
	if err != nil {
		return nil, err
	}
	if len(line) < 2 || line[len(line)-2] != '\r' {
		return nil, ErrMalformed
	}
	return line[:len(line)-2], nil
}

func (r *ReplyReader) read() (v Value, attr bool, err error) {
	line, err := r.line()
	if err != nil {
		return v, false, err
	}
	if len(line) == 0 {
		return v, false, ErrMalformed
	}
	kind := Kind(line[0])
	body := line[1:]
	switch kind {
	case KindSimple, KindError, KindDouble, KindBigNumber:
		return Value{Kind: kind, Str: append([]byte(nil), body...)}, false, nil
	case KindInt:
		n, err := strconv.ParseInt(string(body), 10, 64)
		if err != nil {
			return v, false, ErrMalformed
		}
		return Value{Kind: kind, Int: n}, false, nil
	case KindNull:
		return Value{Kind: KindNull}, false, nil
	case KindBool:
		if len(body) != 1 || (body[0] != 't' && body[0] != 'f') {
			return v, false, ErrMalformed
		}
		var n int64
		if body[0] == 't' {
			n = 1
		}
		return Value{Kind: kind, Int: n}, false, nil
	case KindBulk, KindBlobError, KindVerbatim:
		n, err := strconv.ParseInt(string(body), 10, 64)
		if err != nil || n < -1 || n > 1<<32 {
			return v, false, ErrMalformed
		}
		if n == -1 {
			return Value{Kind: KindNull}, false, nil
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(r.br, buf); err != nil {
			return v, false, err
		}
		buf = buf[:n]
		if kind == KindVerbatim && len(buf) >= 4 && buf[3] == ':' {
			buf = buf[4:]
		}
		return Value{Kind: kind, Str: buf}, false, nil
	case KindArray, KindSet, KindPush, KindMap, '|':
		n, err := strconv.ParseInt(string(body), 10, 64)
		if err != nil || n < -1 || n > maxAggregate {
			return v, false, ErrMalformed
		}
		if n == -1 {
			return Value{Kind: KindNull}, false, nil
		}
		count := n
		if kind == KindMap || kind == '|' {
			count *= 2
		}
		elems := make([]Value, 0, min(count, 1024))
		for i := int64(0); i < count; i++ {
			e, err := r.ReadReply()
			if err != nil {
				return v, false, err
			}
			elems = append(elems, e)
		}
		if kind == '|' {
			return v, true, nil
		}
		return Value{Kind: kind, Elems: elems}, false, nil
	}
	return v, false, fmt.Errorf("%w: unexpected type byte %q", ErrMalformed, line[0])
}

// AppendCommand encodes args as a RESP multibulk request.
func AppendCommand(dst []byte, args ...string) []byte {
	dst = AppendArrayLen(dst, len(args))
	for _, a := range args {
		dst = AppendBulkString(dst, a)
	}
	return dst
}

// AppendCommandBytes encodes args as a RESP multibulk request.
func AppendCommandBytes(dst []byte, args [][]byte) []byte {
	dst = AppendArrayLen(dst, len(args))
	for _, a := range args {
		dst = AppendBulk(dst, a)
	}
	return dst
}
