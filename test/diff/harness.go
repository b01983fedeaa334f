package diff

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"
)

// Conn is a raw RESP connection: it sends commands and returns each reply's
// exact bytes.
type Conn struct {
	c  net.Conn
	br *bufio.Reader
	bw *bufio.Writer
}

// DialConn connects to addr.
func DialConn(addr string) (*Conn, error) {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	return &Conn{c: c, br: bufio.NewReaderSize(c, 64*1024), bw: bufio.NewWriter(c)}, nil
}

// Close closes the connection.
func (c *Conn) Close() error { return c.c.Close() }

// Do sends one command and returns its raw reply.
func (c *Conn) Do(args ...string) ([]byte, error) {
	if err := c.Send(args...); err != nil {
		return nil, err
	}
	return c.Read()
}

// Send writes one command without reading the reply.
func (c *Conn) Send(args ...string) error { return c.SendAll([][]string{args}) }

// SendAll writes commands in one write, without reading the replies: the
// server sees them as one pipelined batch.
func (c *Conn) SendAll(cmds [][]string) error {
	c.c.SetDeadline(time.Now().Add(20 * time.Second))
	for _, args := range cmds {
		c.bw.WriteString("*" + strconv.Itoa(len(args)) + "\r\n")
		for _, a := range args {
			c.bw.WriteString("$" + strconv.Itoa(len(a)) + "\r\n")
			c.bw.WriteString(a)
			c.bw.WriteString("\r\n")
		}
	}
	return c.bw.Flush()
}

// Read reads one raw reply.
func (c *Conn) Read() ([]byte, error) {
	c.c.SetDeadline(time.Now().Add(20 * time.Second))
	return readRaw(c.br, nil)
}

// readRaw appends one complete RESP2/RESP3 reply, as bytes, to dst.
func readRaw(br *bufio.Reader, dst []byte) ([]byte, error) {
	line, err := br.ReadSlice('\n')
	if err != nil {
		return dst, err
	}
	if len(line) < 3 || line[len(line)-2] != '\r' {
		return dst, fmt.Errorf("bad reply line %q", line)
	}
	dst = append(dst, line...)
	body := line[1 : len(line)-2]
	switch line[0] {
	case '+', '-', ':', '_', ',', '#', '(':
		return dst, nil
	case '$', '!', '=':
		n, err := strconv.Atoi(string(body))
		if err != nil {
			return dst, fmt.Errorf("bad bulk length %q", line)
		}
		if n < 0 {
			return dst, nil
		}
		start := len(dst)
		dst = append(dst, make([]byte, n+2)...)
		if _, err := io.ReadFull(br, dst[start:]); err != nil {
			return dst, err
		}
		return dst, nil
	case '*', '~', '>', '%', '|':
		n, err := strconv.Atoi(string(body))
		if err != nil {
			return dst, fmt.Errorf("bad aggregate length %q", line)
		}
		if line[0] == '%' || line[0] == '|' {
			n *= 2
		}
		for i := 0; i < n; i++ {
			if dst, err = readRaw(br, dst); err != nil {
				return dst, err
			}
		}
		if line[0] == '|' { // an attribute precedes the real reply
			return readRaw(br, dst)
		}
		return dst, nil
	}
	return dst, fmt.Errorf("unknown reply type %q", line)
}

// Reply is a parsed reply, for the few steps that must look inside one
// (SCAN, RANDOMKEY).
type Reply struct {
	Type  byte
	Str   string
	Int   int64
	Elems []Reply
}

// ParseReply parses raw reply bytes.
func ParseReply(raw []byte) (Reply, error) {
	r, rest, err := parseReply(raw)
	if err == nil && len(rest) > 0 {
		err = errors.New("trailing bytes after reply")
	}
	return r, err
}

func parseReply(b []byte) (Reply, []byte, error) {
	i := bytes.Index(b, []byte("\r\n"))
	if i < 1 {
		return Reply{}, nil, errors.New("short reply")
	}
	t, body, rest := b[0], string(b[1:i]), b[i+2:]
	r := Reply{Type: t}
	switch t {
	case '+', '-', ',', '#', '(', '_':
		r.Str = body
	case ':':
		r.Int, _ = strconv.ParseInt(body, 10, 64)
	case '$', '!', '=':
		n, _ := strconv.Atoi(body)
		if n < 0 {
			r.Type = '_'
			return r, rest, nil
		}
		r.Str = string(rest[:n])
		rest = rest[n+2:]
	case '*', '~', '>', '%':
		n, _ := strconv.Atoi(body)
		if n < 0 {
			r.Type = '_'
			return r, rest, nil
		}
		if t == '%' {
			n *= 2
		}
		for j := 0; j < n; j++ {
			var e Reply
			var err error
			if e, rest, err = parseReply(rest); err != nil {
				return r, nil, err
			}
			r.Elems = append(r.Elems, e)
		}
	default:
		return r, nil, fmt.Errorf("unknown type %q", t)
	}
	return r, rest, nil
}

// Pair is one client connection to each server, in the same state.
type Pair struct {
	Redis, Reef *Conn
}

// Do sends the same command to both servers and returns both raw replies.
func (p *Pair) Do(args ...string) (redis, reef []byte, err error) {
	if redis, err = p.Redis.Do(args...); err != nil {
		return nil, nil, fmt.Errorf("redis: %w", err)
	}
	if reef, err = p.Reef.Do(args...); err != nil {
		return redis, nil, fmt.Errorf("reef: %w", err)
	}
	return redis, reef, nil
}

// Close closes both connections.
func (p *Pair) Close() {
	p.Redis.Close()
	p.Reef.Close()
}

// Quote renders a command for failure reports the way redis-cli would take
// it back: arguments with special bytes are double-quoted with escapes.
func Quote(args []string) string {
	var b strings.Builder
	for i, a := range args {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(quoteArg(a))
	}
	return b.String()
}

func quoteArg(a string) string {
	plain := a != ""
	for i := 0; i < len(a); i++ {
		ch := a[i]
		if ch <= ' ' || ch >= 0x7f || ch == '"' || ch == '\'' || ch == '\\' {
			plain = false
			break
		}
	}
	if plain {
		return a
	}
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(a); i++ {
		ch := a[i]
		switch {
		case ch == '"' || ch == '\\':
			b.WriteByte('\\')
			b.WriteByte(ch)
		case ch == '\n':
			b.WriteString(`\n`)
		case ch == '\r':
			b.WriteString(`\r`)
		case ch == '\t':
			b.WriteString(`\t`)
		case ch < ' ' || ch >= 0x7f:
			fmt.Fprintf(&b, `\x%02x`, ch)
		default:
			b.WriteByte(ch)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// Show renders a raw reply readably for failure reports.
func Show(raw []byte) string { return strconv.Quote(string(raw)) }
