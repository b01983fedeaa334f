package server

import (
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// errWouldBlock is what a raw-mode read returns when the socket has no data:
// the event loop then moves on to other clients.
var errWouldBlock = errors.New("would block")

// clientConn is a client's connection. It starts in raw mode, a
// non-blocking socket served by an event loop (loop.go) with direct system
// calls; it can switch once, for good, to Go mode, an ordinary net.Conn
// served by a goroutine of its own. Every part of the server keeps the same
// clientConn value across the switch: a replica stream or a pub/sub writer
// that holds it writes in whichever mode is current.
type clientConn struct {
	// mu is held for reading by every read and write and for writing by the
	// switch to Go mode, so that the raw descriptor is never used after the
	// switch closed it.
	mu     sync.RWMutex
	fd     int      // raw mode: the socket; -1 in Go mode or once closed
	nc     net.Conn // Go mode
	closed atomic.Bool
	laddr  net.Addr
	raddr  net.Addr
	// io counts the reads and writes for INFO stats, as Redis counts its
	// read and write handler calls; nil counts nothing.
	io *ioCounts

	// writeWaiter is a Go-runtime view of a duplicate of fd, made the first
	// time a raw-mode write finds the socket full: waiting through it parks
	// the goroutine in the Go poller. A blocking poll(2) instead would hold
	// one of the scheduler's Ps for as long as the socket stays full, and
	// with every other P inside an event loop's epoll_wait, runnable
	// goroutines (other clients' pub/sub writers, the cluster bus) would
	// wait for the runtime's monitor to take a P back, up to 10 ms.
	writeWaiterMu sync.Mutex
	writeWaiter   net.Conn
}

// newRawConn takes over nc's socket for the event loop: it duplicates the
// descriptor and closes nc, so the Go runtime's poller forgets the socket
// and only the loop watches it.
func newRawConn(nc net.Conn) (*clientConn, error) {
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return nil, errors.New("not a socket")
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return nil, err
	}
	fd := -1
	var derr error
	raw.Control(func(f uintptr) {
		fd, derr = unix.Dup(int(f))
	})
	if derr != nil {
		return nil, derr
	}
	unix.CloseOnExec(fd)
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return nil, err
	}
	c := &clientConn{fd: fd, laddr: nc.LocalAddr(), raddr: nc.RemoteAddr()}
	nc.Close()
	return c, nil
}

// newGoConn wraps a connection that is served in Go mode from the start.
func newGoConn(nc net.Conn) *clientConn {
	return &clientConn{fd: -1, nc: nc, laddr: nc.LocalAddr(), raddr: nc.RemoteAddr()}
}

// raw reports whether the connection is in raw mode.
func (cc *clientConn) raw() bool {
	cc.mu.RLock()
	defer cc.mu.RUnlock()
	return cc.nc == nil && cc.fd >= 0
}

// Read reads in the current mode. In raw mode it never blocks: it returns
// errWouldBlock when there is nothing to read.
func (cc *clientConn) Read(p []byte) (int, error) {
	if cc.io != nil {
		cc.io.reads.Add(1)
	}
	cc.mu.RLock()
	if nc := cc.nc; nc != nil {
		cc.mu.RUnlock()
		return nc.Read(p)
	}
	defer cc.mu.RUnlock()
	if cc.fd < 0 {
		return 0, net.ErrClosed
	}
	for {
		n, err := rawRead(cc.fd, p)
		switch {
		case err == unix.EINTR:
			continue
		case err == unix.EAGAIN:
			return 0, errWouldBlock
		case err != nil:
			return 0, err
		case n == 0 && len(p) > 0:
			return 0, io.EOF
		}
		return n, nil
	}
}

// Write writes all of p. In raw mode a full socket buffer makes it wait for
// the socket to drain, up to a minute, parked in the Go poller (see
// writeWaiter); an event loop that must not wait hands its other clients to
// a new runner first (see eventLoop.yield).
func (cc *clientConn) Write(p []byte) (int, error) {
	if cc.io != nil {
		cc.io.writes.Add(1)
	}
	cc.mu.RLock()
	if nc := cc.nc; nc != nil {
		cc.mu.RUnlock()
		return nc.Write(p)
	}
	defer cc.mu.RUnlock()
	written := 0
	for written < len(p) {
		if cc.fd < 0 || cc.closed.Load() {
			return written, net.ErrClosed
		}
		n, err := rawWrite(cc.fd, p[written:])
		if n > 0 {
			written += n
		}
		switch {
		case err == nil || err == unix.EINTR:
		case err == unix.EAGAIN:
			m, err := cc.writeParked(p[written:], time.Now().Add(time.Minute))
			return written + m, err
		default:
			return written, err
		}
	}
	return written, nil
}

// writeParked writes p to the raw socket, waiting for room in the Go
// poller. REQUIRES: cc.mu held for reading, raw mode.
func (cc *clientConn) writeParked(p []byte, deadline time.Time) (int, error) {
	cc.writeWaiterMu.Lock()
	if cc.writeWaiter == nil {
		// os.NewFile owns the descriptor it wraps (and closes it when
		// collected), so it wraps a duplicate; FileConn makes its own.
		dup, err := unix.Dup(cc.fd)
		if err != nil {
			cc.writeWaiterMu.Unlock()
			return 0, err
		}
		f := os.NewFile(uintptr(dup), "client")
		nc, err := net.FileConn(f)
		f.Close()
		if err != nil {
			cc.writeWaiterMu.Unlock()
			return 0, err
		}
		cc.writeWaiter = nc
	}
	nc := cc.writeWaiter
	cc.writeWaiterMu.Unlock()
	rc, err := nc.(syscall.Conn).SyscallConn()
	if err != nil {
		return 0, err
	}
	nc.SetWriteDeadline(deadline)
	written := 0
	var werr error
	err = rc.Write(func(fd uintptr) bool {
		for written < len(p) {
			if cc.closed.Load() {
				werr = net.ErrClosed
				return true
			}
			n, err := rawWrite(int(fd), p[written:])
			if n > 0 {
				written += n
			}
			switch {
			case err == nil || err == unix.EINTR:
			case err == unix.EAGAIN:
				return false // wait in the poller for room
			default:
				werr = err
				return true
			}
		}
		return true
	})
	if werr != nil {
		return written, werr
	}
	return written, err
}

// closeWriteWaiter closes the duplicate descriptor, if any.
func (cc *clientConn) closeWriteWaiter() {
	cc.writeWaiterMu.Lock()
	if cc.writeWaiter != nil {
		cc.writeWaiter.Close()
		cc.writeWaiter = nil
	}
	cc.writeWaiterMu.Unlock()
}

// Close closes the connection from any goroutine. In raw mode it shuts the
// socket down, which wakes the event loop; the loop closes the descriptor,
// so that it is never reused while the loop may still use it.
func (cc *clientConn) Close() error {
	cc.closed.Store(true)
	cc.mu.RLock()
	defer cc.mu.RUnlock()
	if cc.nc != nil {
		return cc.nc.Close()
	}
	if cc.fd >= 0 {
		unix.Shutdown(cc.fd, unix.SHUT_RDWR)
	}
	return nil
}

// release closes the raw descriptor. Only the event loop calls it, after
// removing the descriptor from its epoll set.
func (cc *clientConn) release() {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if cc.nc == nil && cc.fd >= 0 {
		cc.closeWriteWaiter()
		unix.Close(cc.fd)
		cc.fd = -1
	}
}

// toGo switches to Go mode: the socket becomes an ordinary net.Conn watched
// by the Go runtime. The caller has removed it from its event loop.
func (cc *clientConn) toGo() error {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if cc.nc != nil {
		return nil
	}
	if cc.fd < 0 {
		return net.ErrClosed
	}
	cc.closeWriteWaiter()
	f := os.NewFile(uintptr(cc.fd), "client")
	nc, err := net.FileConn(f) // duplicates the descriptor
	f.Close()
	cc.fd = -1
	if err != nil {
		return err
	}
	cc.nc = nc
	if cc.closed.Load() {
		nc.Close()
	}
	return nil
}

// LocalAddr is the server side address.
func (cc *clientConn) LocalAddr() net.Addr { return cc.laddr }

// RemoteAddr is the client's address.
func (cc *clientConn) RemoteAddr() net.Addr { return cc.raddr }

// SetDeadline applies in Go mode; raw-mode clients have their idle timeout
// enforced by the server cron instead.
func (cc *clientConn) SetDeadline(t time.Time) error {
	if nc := cc.goConn(); nc != nil {
		return nc.SetDeadline(t)
	}
	return nil
}

// SetReadDeadline: see SetDeadline.
func (cc *clientConn) SetReadDeadline(t time.Time) error {
	if nc := cc.goConn(); nc != nil {
		return nc.SetReadDeadline(t)
	}
	return nil
}

// SetWriteDeadline: see SetDeadline.
func (cc *clientConn) SetWriteDeadline(t time.Time) error {
	if nc := cc.goConn(); nc != nil {
		return nc.SetWriteDeadline(t)
	}
	return nil
}

func (cc *clientConn) goConn() net.Conn {
	cc.mu.RLock()
	defer cc.mu.RUnlock()
	return cc.nc
}

// fdNumber is the descriptor CLIENT LIST shows.
func (cc *clientConn) fdNumber() int {
	cc.mu.RLock()
	defer cc.mu.RUnlock()
	if cc.nc == nil {
		return cc.fd
	}
	return connFD(cc.nc)
}

// rawRead and rawWrite read and write a socket without the Go scheduler's
// system-call bookkeeping: on a non-blocking socket they never block, and
// skipping that bookkeeping is a measurable share of a small request's cost.
// They are recvfrom(2) and sendto(2), which skip the file layer read(2)
// and write(2) go through (about 1% of a small request), and MSG_NOSIGNAL
// spares a write to a closed peer its SIGPIPE.
func rawRead(fd int, p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	n, _, e := unix.RawSyscall6(unix.SYS_RECVFROM, uintptr(fd), uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)), 0, 0, 0)
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}

func rawWrite(fd int, p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	n, _, e := unix.RawSyscall6(unix.SYS_SENDTO, uintptr(fd), uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)), unix.MSG_NOSIGNAL, 0, 0)
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}

// epollPoll is epoll_wait(2) with a zero timeout, raw like rawRead: it never
// blocks. Besides the bookkeeping, a system call entered the usual way
// wakes the runtime's monitor thread when it sleeps, and every such wake-up
// puts the monitor back on its shortest period (20 us) for a while: an
// event loop that goes idle and comes back often kept it waking thousands
// of times a second, each wake-up a context switch.
func epollPoll(epfd int, events []unix.EpollEvent) (int, error) {
	if len(events) == 0 {
		return 0, nil
	}
	n, _, e := unix.RawSyscall6(unix.SYS_EPOLL_PWAIT, uintptr(epfd), uintptr(unsafe.Pointer(&events[0])), uintptr(len(events)), 0, 0, 0)
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}

// ioCounts are INFO's total_reads_processed and total_writes_processed.
type ioCounts struct {
	reads, writes atomic.Int64
}
