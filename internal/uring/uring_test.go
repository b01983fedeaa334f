package uring

import (
	"bytes"
	"net"
	"syscall"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/reefkv/reef/internal/testutil"
)

// socketPair returns the descriptors of a connected loopback TCP pair,
// both non-blocking, closed when the test ends.
func socketPair(t testing.TB) (int, int) {
	t.Helper()
	c, s := testutil.TCPPair(t)
	fd := func(c *net.TCPConn) int {
		f, err := c.File() // a descriptor of its own, in blocking mode
		if err != nil {
			t.Fatal(err)
		}
		c.Close()
		t.Cleanup(func() { f.Close() })
		n := int(f.Fd())
		unix.SetNonblock(n, true)
		return n
	}
	return fd(c), fd(s)
}

func newRing(t testing.TB, entries uint32) *Ring {
	t.Helper()
	r, err := New(entries)
	if err != nil {
		// test/server's requireBatchedReplies fails instead when the
		// server does not batch on a kernel that has io_uring.
		t.Skipf("no io_uring here: %v", err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// The request and completion entries have the kernel's sizes.
func TestEntrySizes(t *testing.T) {
	if n := unsafe.Sizeof(sqe{}); n != sqeSize {
		t.Fatalf("sqe is %d bytes, want %d", n, sqeSize)
	}
	if n := unsafe.Sizeof(cqe{}); n != cqeSize {
		t.Fatalf("cqe is %d bytes, want %d", n, cqeSize)
	}
}

func TestSendBatch(t *testing.T) {
	r := newRing(t, 8)
	const pairs = 5
	var a, b [pairs]int
	for i := range a {
		a[i], b[i] = socketPair(t)
	}
	for i := range a {
		r.Send(a[i], []byte{'m', byte('0' + i)}, uint64(i))
	}
	results := map[uint64]int32{}
	if err := r.Submit(func(tag uint64, res int32) { results[tag] = res }); err != nil {
		t.Fatal(err)
	}
	for i := range a {
		if results[uint64(i)] != 2 {
			t.Fatalf("send %d: result %d, want 2", i, results[uint64(i)])
		}
	}
	// Each message arrived on its own socket.
	for i := range b {
		buf := make([]byte, 16)
		n, err := unix.Read(b[i], buf)
		if err != nil || !bytes.Equal(buf[:max(n, 0)], []byte{'m', byte('0' + i)}) {
			t.Fatalf("socket %d read %q (%v)", i, buf[:max(n, 0)], err)
		}
	}
}

func TestSendToFullSocketDoesNotWait(t *testing.T) {
	r := newRing(t, 4)
	a, _ := socketPair(t)
	big := make([]byte, 1<<20)
	var last int32
	for i := 0; i < 64 && last != -int32(syscall.EAGAIN); i++ {
		r.Send(a, big, 1)
		if err := r.Submit(func(_ uint64, res int32) { last = res }); err != nil {
			t.Fatal(err)
		}
	}
	if last != -int32(syscall.EAGAIN) {
		t.Fatalf("sending 64 MB to a peer that never reads: last result %d, want -EAGAIN", last)
	}
}

func TestRingFull(t *testing.T) {
	r := newRing(t, 2)
	a, _ := socketPair(t)
	r.Send(a, []byte("x"), 1)
	r.Send(a, []byte("y"), 2)
	if r.Free() != 0 {
		t.Fatalf("Free() = %d after two sends on a ring of two", r.Free())
	}
	n := 0
	if err := r.Submit(func(uint64, int32) { n++ }); err != nil || n != 2 {
		t.Fatalf("Submit: %v, %d completions", err, n)
	}
	if r.Free() != 2 {
		t.Fatalf("Free() = %d after Submit", r.Free())
	}
}

// BenchmarkSends compares ten sends by ten system calls with one ring
// submission of ten.
func BenchmarkSends(b *testing.B) {
	const pairs = 10
	var a, peer [pairs]int
	for i := range a {
		a[i], peer[i] = socketPair(b)
	}
	msg := []byte("$3\r\nabc\r\n")
	sink := make([]byte, 1<<16)
	drain := func() {
		for _, p := range peer {
			for {
				if n, _ := unix.Read(p, sink); n <= 0 {
					break
				}
			}
		}
	}
	b.Run("syscalls", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			for _, fd := range a {
				unix.RawSyscall6(unix.SYS_SENDTO, uintptr(fd), uintptr(unsafe.Pointer(&msg[0])), uintptr(len(msg)), unix.MSG_DONTWAIT|unix.MSG_NOSIGNAL, 0, 0)
			}
			if i%64 == 0 {
				drain()
			}
		}
	})
	b.Run("ring", func(b *testing.B) {
		r := newRing(b, 16)
		for i := 0; i < b.N; i++ {
			for j, fd := range a {
				r.Send(fd, msg, uint64(j))
			}
			r.Submit(func(uint64, int32) {})
			if i%64 == 0 {
				drain()
			}
		}
	})
}
