package bus

import (
	"errors"
	"io"
	"net"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// A link's reads and writes are raw system calls on its non-blocking
// socket, made through the connection's syscall.RawConn so that the Go
// poller still does the waiting (and a closed connection still ends a
// blocked read). A system call made the usual way wakes the runtime's
// monitor thread when the process is idle, and one that takes longer than
// the monitor's period (a writev to a loopback peer does: it delivers the
// data too) has its P handed to another thread: on an idle cluster node,
// where nearly every wake-up is a bus message, that was three to four
// context switches per message on top of the poller's. These calls never
// block, so the scheduler has nothing to do for them.

// rawSocket reads and writes c with raw system calls. c must be a TCP
// connection.
type rawSocket struct {
	rc syscall.RawConn
}

func newRawSocket(c net.Conn) (*rawSocket, error) {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return nil, errNotSyscallConn
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil, err
	}
	return &rawSocket{rc: rc}, nil
}

var errNotSyscallConn = errors.New("cluster bus: connection has no file descriptor")

// Read reads what the socket holds, waiting in the poller while it holds
// nothing. It returns io.EOF when the peer closed.
func (r *rawSocket) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	var n int
	var opErr error
	err := r.rc.Read(func(fd uintptr) bool {
		for {
			m, _, e := unix.RawSyscall6(unix.SYS_RECVFROM, fd, uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)), 0, 0, 0)
			switch e {
			case 0:
				n = int(m)
				if n == 0 {
					opErr = io.EOF
				}
				return true
			case unix.EINTR:
				continue
			case unix.EAGAIN:
				return false // wait until readable
			default:
				opErr = e
				return true
			}
		}
	})
	if err != nil {
		return 0, err
	}
	return n, opErr
}

// maxIovecs bounds one writev(2): the kernel's IOV_MAX.
const maxIovecs = 1024

// writeAll writes every buffer of bufs in order, gathering them with
// writev(2) and waiting in the poller while the socket is full. It returns
// the bytes written.
func (r *rawSocket) writeAll(bufs [][]byte) (int64, error) {
	var total int64
	iov := make([]unix.Iovec, 0, min(len(bufs), maxIovecs))
	var opErr error
	err := r.rc.Write(func(fd uintptr) bool {
		for len(bufs) > 0 {
			iov = iov[:0]
			for _, b := range bufs {
				if len(iov) == maxIovecs {
					break
				}
				if len(b) == 0 {
					continue
				}
				v := unix.Iovec{Base: &b[0]}
				v.SetLen(len(b))
				iov = append(iov, v)
			}
			if len(iov) == 0 {
				return true
			}
			m, _, e := unix.RawSyscall(unix.SYS_WRITEV, fd, uintptr(unsafe.Pointer(&iov[0])), uintptr(len(iov)))
			switch e {
			case 0:
			case unix.EINTR:
				continue
			case unix.EAGAIN:
				return false // wait until writable
			default:
				opErr = e
				return true
			}
			total += int64(m)
			bufs = consume(bufs, int(m))
		}
		return true
	})
	if err != nil {
		return total, err
	}
	return total, opErr
}

// consume drops the first n written bytes from bufs.
func consume(bufs [][]byte, n int) [][]byte {
	for len(bufs) > 0 && n >= len(bufs[0]) {
		n -= len(bufs[0])
		bufs = bufs[1:]
	}
	if len(bufs) > 0 && n > 0 {
		bufs[0] = bufs[0][n:]
	}
	return bufs
}
