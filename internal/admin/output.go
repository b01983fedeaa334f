package admin

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
)

// Log levels, mapped to redis-cli's colours.
const (
	lvlInfo = iota
	lvlWarn
	lvlErr
	lvlOK
)

// ErrFailed is returned by an operation that failed after printing why, as
// redis-cli does; the caller exits with status 1 without printing more.
var ErrFailed = errors.New("cluster operation failed")

// printer serialises output from concurrent movers.
type printer struct {
	mu    sync.Mutex
	w     io.Writer
	color bool
}

func (p *printer) printf(format string, a ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.w, format, a...)
	if f, ok := p.w.(interface{ Flush() error }); ok {
		f.Flush()
	}
}

func (p *printer) log(level int, format string, a ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.color {
		switch level {
		case lvlInfo:
			io.WriteString(p.w, "\033[29;1m")
		case lvlWarn:
			io.WriteString(p.w, "\033[33;1m")
		case lvlErr:
			io.WriteString(p.w, "\033[31;1m")
		case lvlOK:
			io.WriteString(p.w, "\033[32;1m")
		}
	}
	fmt.Fprintf(p.w, format, a...)
	if p.color {
		io.WriteString(p.w, "\033[0m")
	}
}

// ColorFromEnv reports whether redis-cli would colour its output: when $TERM
// contains "xterm".
func ColorFromEnv() bool { return strings.Contains(os.Getenv("TERM"), "xterm") }

// lineReader reads answers to interactive questions.
type lineReader struct {
	br *bufio.Reader
}

// readLine returns the next line without its newline; ok is false at EOF
// with nothing read.
func (l *lineReader) readLine() (string, bool) {
	s, err := l.br.ReadString('\n')
	if err != nil && s == "" {
		return "", false
	}
	return strings.TrimRight(s, "\r\n"), true
}
