package client

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/reefkv/reef/internal/resp"
)

// Options configure a connection. The zero value connects with RESP2, no
// authentication, database 0 and no timeouts other than a 5 s dial timeout.
type Options struct {
	// User and Password authenticate with AUTH (AUTH <pass> when User is empty,
	// AUTH <user> <pass> otherwise) right after connecting.
	User     string
	Password string
	// DB is selected with SELECT after authentication when it is not 0.
	DB int
	// Protocol 3 sends HELLO 3 after connecting; anything else stays on RESP2.
	Protocol int
	// DialTimeout bounds connecting; zero means 5 s.
	DialTimeout time.Duration
	// Timeout bounds every Do or Receive (write and read together); zero means
	// no deadline, which is what an interactive blocking command (BLPOP 0)
	// needs.
	Timeout time.Duration
	// Name, when set, is sent with CLIENT SETNAME.
	Name string
}

// Conn is one connection to a server. It is not safe for concurrent use.
type Conn struct {
	addr    string
	opts    Options
	nc      net.Conn
	r       *resp.ReplyReader
	w       *bufio.Writer
	pending int
	closed  bool
	// HelloReply is the reply to HELLO when Protocol is 3 (a map), else null.
	HelloReply resp.Value
}

// ErrClosed is returned by calls on a closed Conn.
var ErrClosed = errors.New("client: connection closed")

// Dial connects to addr ("host:port") and performs the handshake the options
// ask for. An error reply during the handshake (wrong password, unknown
// protocol) is returned as a *HandshakeError and the connection is closed.
func Dial(addr string, opts Options) (*Conn, error) {
	dt := opts.DialTimeout
	if dt == 0 {
		dt = 5 * time.Second
	}
	nc, err := net.DialTimeout("tcp", addr, dt)
	if err != nil {
		return nil, err
	}
	if tc, ok := nc.(*net.TCPConn); ok {
		tc.SetNoDelay(true)
	}
	c := &Conn{addr: addr, opts: opts, nc: nc, r: resp.NewReplyReader(nc), w: bufio.NewWriterSize(nc, 64*1024)}
	if err := c.handshake(); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// HandshakeError is an error reply received while authenticating, switching
// protocol or selecting the database.
type HandshakeError struct {
	Step  string // "AUTH", "HELLO", "SELECT", "CLIENT SETNAME"
	Reply string
}

func (e *HandshakeError) Error() string { return e.Reply }

func (c *Conn) handshake() error {
	check := func(step string, v resp.Value, err error) error {
		if err != nil {
			return err
		}
		if v.IsError() {
			return &HandshakeError{Step: step, Reply: string(v.Str)}
		}
		return nil
	}
	if c.opts.Protocol == 3 {
		args := []string{"HELLO", "3"}
		if c.opts.Password != "" {
			u := c.opts.User
			if u == "" {
				u = "default"
			}
			args = append(args, "AUTH", u, c.opts.Password)
		}
		v, err := c.Do(args...)
		if err := check("HELLO", v, err); err != nil {
			return err
		}
		c.HelloReply = v
	} else if c.opts.Password != "" {
		args := []string{"AUTH", c.opts.Password}
		if c.opts.User != "" {
			args = []string{"AUTH", c.opts.User, c.opts.Password}
		}
		v, err := c.Do(args...)
		if err := check("AUTH", v, err); err != nil {
			return err
		}
	}
	if c.opts.DB != 0 {
		v, err := c.Do("SELECT", strconv.Itoa(c.opts.DB))
		if err := check("SELECT", v, err); err != nil {
			return err
		}
	}
	if c.opts.Name != "" {
		v, err := c.Do("CLIENT", "SETNAME", c.opts.Name)
		if err := check("CLIENT SETNAME", v, err); err != nil {
			return err
		}
	}
	return nil
}

// Addr returns the address the connection was dialed with.
func (c *Conn) Addr() string { return c.addr }

// Options returns the options the connection was dialed with.
func (c *Conn) Options() Options { return c.opts }

// SetTimeout changes the per-call timeout (zero: none).
func (c *Conn) SetTimeout(d time.Duration) { c.opts.Timeout = d }

// Close closes the socket. It is safe to call more than once.
func (c *Conn) Close() error {
	if c.closed {
		return nil
	}
	c.closed = true
	return c.nc.Close()
}

// Closed reports whether the connection was closed (by Close or after an
// I/O error).
func (c *Conn) Closed() bool { return c.closed }

func (c *Conn) deadline() {
	if c.opts.Timeout > 0 {
		c.nc.SetDeadline(time.Now().Add(c.opts.Timeout))
	} else {
		c.nc.SetDeadline(time.Time{})
	}
}

func (c *Conn) fail(err error) error {
	c.Close()
	return err
}

// Send buffers one command without flushing; its reply is read later by
// Receive, in order. Use Flush (or Receive, which flushes) to send.
func (c *Conn) Send(args ...string) error {
	if c.closed {
		return ErrClosed
	}
	var buf [512]byte
	b := resp.AppendCommand(buf[:0], args...)
	if _, err := c.w.Write(b); err != nil {
		return c.fail(err)
	}
	c.pending++
	return nil
}

// SendBytes is Send with binary-safe arguments.
func (c *Conn) SendBytes(args ...[]byte) error {
	if c.closed {
		return ErrClosed
	}
	if _, err := c.w.Write(resp.AppendCommandBytes(nil, args)); err != nil {
		return c.fail(err)
	}
	c.pending++
	return nil
}

// SendRaw buffers bytes that already hold encoded commands; n is how many
// replies they will produce.
func (c *Conn) SendRaw(b []byte, n int) error {
	if c.closed {
		return ErrClosed
	}
	if _, err := c.w.Write(b); err != nil {
		return c.fail(err)
	}
	c.pending += n
	return nil
}

// Flush writes buffered commands to the socket.
func (c *Conn) Flush() error {
	if c.closed {
		return ErrClosed
	}
	c.deadline()
	if err := c.w.Flush(); err != nil {
		return c.fail(err)
	}
	return nil
}

// Pending reports how many replies are still expected.
func (c *Conn) Pending() int { return c.pending }

// Receive flushes buffered commands if needed and reads the next reply,
// RESP3 out-of-band pushes included (SUBSCRIBE/MONITOR loops read them
// here; Do skips them).
func (c *Conn) Receive() (resp.Value, error) {
	if c.closed {
		return resp.Value{}, ErrClosed
	}
	if c.w.Buffered() > 0 {
		if err := c.Flush(); err != nil {
			return resp.Value{}, err
		}
	} else {
		c.deadline()
	}
	v, err := c.r.ReadReply()
	if err != nil {
		return v, c.fail(err)
	}
	if v.Kind != resp.KindPush && c.pending > 0 {
		c.pending--
	}
	return v, nil
}

// Do sends one command and returns its reply. RESP3 push messages that
// arrive before the reply (client tracking invalidations) are skipped.
func (c *Conn) Do(args ...string) (resp.Value, error) {
	if err := c.Send(args...); err != nil {
		return resp.Value{}, err
	}
	for {
		v, err := c.Receive()
		if err != nil || v.Kind != resp.KindPush {
			return v, err
		}
	}
}

// DoBytes is Do with binary-safe arguments.
func (c *Conn) DoBytes(args ...[]byte) (resp.Value, error) {
	if err := c.SendBytes(args...); err != nil {
		return resp.Value{}, err
	}
	for {
		v, err := c.Receive()
		if err != nil || v.Kind != resp.KindPush {
			return v, err
		}
	}
}

// Pipeline sends all commands in one write and returns their replies in
// order.
func (c *Conn) Pipeline(cmds [][]string) ([]resp.Value, error) {
	for _, a := range cmds {
		if err := c.Send(a...); err != nil {
			return nil, err
		}
	}
	out := make([]resp.Value, 0, len(cmds))
	for range cmds {
		v, err := c.Receive()
		if err != nil {
			return out, err
		}
		out = append(out, v)
	}
	return out, nil
}

// DoOK runs a command and turns an error reply into a Go error
// (resp.ReplyError); I/O errors are returned as they are.
func (c *Conn) DoOK(args ...string) (resp.Value, error) {
	v, err := c.Do(args...)
	if err != nil {
		return v, err
	}
	if e := v.Err(); e != nil {
		return v, e
	}
	return v, nil
}

// Redirect is a parsed -MOVED or -ASK error.
type Redirect struct {
	Ask  bool
	Slot int
	Addr string // host:port
}

// ParseRedirect recognises "MOVED <slot> <host>:<port>" and "ASK ..." error
// replies.
func ParseRedirect(v resp.Value) (Redirect, bool) {
	if !v.IsError() {
		return Redirect{}, false
	}
	f := strings.Fields(string(v.Str))
	if len(f) != 3 || (f[0] != "MOVED" && f[0] != "ASK") {
		return Redirect{}, false
	}
	s, err := strconv.Atoi(f[1])
	if err != nil {
		return Redirect{}, false
	}
	return Redirect{Ask: f[0] == "ASK", Slot: s, Addr: f[2]}, true
}

// SplitHostPort splits "host:port" at the last colon, as redis-cli does, so
// IPv6 literals without brackets still work.
func SplitHostPort(addr string) (string, int, error) {
	i := strings.LastIndexByte(addr, ':')
	if i < 0 {
		return "", 0, fmt.Errorf("missing port in address %q", addr)
	}
	p, err := strconv.Atoi(addr[i+1:])
	if err != nil || p < 0 || p > 65535 {
		return "", 0, fmt.Errorf("invalid port in address %q", addr)
	}
	host := strings.TrimSuffix(strings.TrimPrefix(addr[:i], "["), "]")
	return host, p, nil
}

// JoinHostPort is the inverse of SplitHostPort (no brackets, like redis-cli).
func JoinHostPort(host string, port int) string {
	if strings.Contains(host, ":") {
		return "[" + host + "]:" + strconv.Itoa(port)
	}
	return host + ":" + strconv.Itoa(port)
}
