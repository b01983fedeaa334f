package logging

import (
	"context"
	"io"
	"log/slog"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Levels matching Redis's loglevel names.
const (
	LevelDebug   = slog.LevelDebug // '.'
	LevelVerbose = slog.Level(-2)  // '-'
	LevelNotice  = slog.LevelInfo  // '*'
	LevelWarning = slog.LevelWarn  // '#'
)

// ParseLevel maps a loglevel directive value to a level.
func ParseLevel(name string) slog.Level {
	switch name {
	case "debug":
		return LevelDebug
	case "verbose":
		return LevelVerbose
	case "warning":
		return LevelWarning
	default:
		return LevelNotice
	}
}

// Output is where log lines go; it can be switched at runtime (CONFIG SET
// logfile is not allowed, but the level is).
type Output struct {
	mu    sync.Mutex
	w     io.Writer
	level atomic.Int64
	role  atomic.Uint32
	pid   string
}

// NewOutput returns an output writing to w at the given level, role 'C'
// until SetRole is called.
func NewOutput(w io.Writer, level slog.Level) *Output {
	o := &Output{w: w, pid: strconv.Itoa(os.Getpid())}
	o.level.Store(int64(level))
	o.role.Store('C')
	return o
}

// SetLevel changes the minimum level.
func (o *Output) SetLevel(l slog.Level) { o.level.Store(int64(l)) }

// SetRole sets the role letter: 'M', 'S' or 'C'.
func (o *Output) SetRole(r byte) { o.role.Store(uint32(r)) }

// Logger returns a logger writing to o.
func (o *Output) Logger() *slog.Logger { return slog.New(&handler{out: o}) }

type handler struct {
	out   *Output
	attrs []slog.Attr
}

func (h *handler) Enabled(_ context.Context, l slog.Level) bool {
	return int64(l) >= h.out.level.Load()
}

func levelChar(l slog.Level) byte {
	switch {
	case l < LevelVerbose:
		return '.'
	case l < LevelNotice:
		return '-'
	case l < LevelWarning:
		return '*'
	default:
		return '#'
	}
}

func (h *handler) Handle(_ context.Context, r slog.Record) error {
	t := r.Time
	if t.IsZero() {
		t = time.Now()
	}
	buf := make([]byte, 0, 128+len(r.Message))
	buf = append(buf, h.out.pid...)
	buf = append(buf, ':', byte(h.out.role.Load()), ' ')
	buf = t.AppendFormat(buf, "02 Jan 2006 15:04:05.000")
	buf = append(buf, ' ', levelChar(r.Level), ' ')
	buf = append(buf, r.Message...)
	appendAttr := func(a slog.Attr) bool {
		buf = append(buf, ' ')
		buf = append(buf, a.Key...)
		buf = append(buf, '=')
		buf = append(buf, a.Value.String()...)
		return true
	}
	for _, a := range h.attrs {
		appendAttr(a)
	}
	r.Attrs(appendAttr)
	buf = append(buf, '\n')
	h.out.mu.Lock()
	defer h.out.mu.Unlock()
	_, err := h.out.w.Write(buf)
	return err
}

func (h *handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	n := &handler{out: h.out, attrs: append(append([]slog.Attr(nil), h.attrs...), attrs...)}
	return n
}

// WithGroup is not used by Reef; groups are flattened.
func (h *handler) WithGroup(string) slog.Handler { return h }
