package uring

import (
	"errors"
	"fmt"
	"sync/atomic"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Kernel ABI (include/uapi/linux/io_uring.h).
const (
	sysSetup = 425
	sysEnter = 426

	offSQRing = 0
	offCQRing = 0x8000000
	offSQEs   = 0x10000000

	featSingleMmap = 1 << 0
	enterGetEvents = 1 << 0

	opSend = 26

	sqeSize = 64
	cqeSize = 16
)

type sqringOffsets struct {
	head, tail, ringMask, ringEntries, flags, dropped, array, resv1 uint32
	userAddr                                                        uint64
}

type cqringOffsets struct {
	head, tail, ringMask, ringEntries, overflow, cqes, flags, resv1 uint32
	userAddr                                                        uint64
}

type params struct {
	sqEntries, cqEntries, flags, sqThreadCPU, sqThreadIdle, features, wqFD uint32
	resv                                                                   [3]uint32
	sqOff                                                                  sqringOffsets
	cqOff                                                                  cqringOffsets
}

// sqe is struct io_uring_sqe, 64 bytes.
type sqe struct {
	opcode      uint8
	flags       uint8
	ioprio      uint16
	fd          int32
	off         uint64
	addr        uint64
	len         uint32
	opFlags     uint32 // msg_flags for SEND
	userData    uint64
	bufIndex    uint16
	personality uint16
	spliceFDIn  int32
	addr3       uint64
	pad         uint64
}

// cqe is struct io_uring_cqe, 16 bytes.
type cqe struct {
	userData uint64
	res      int32
	flags    uint32
}

// Ring is an io_uring instance. It is not safe for concurrent use: each
// event loop runner owns one.
type Ring struct {
	fd      int
	entries uint32

	ring, sqeMem []byte // the rings (one mapping) and the entries

	sqHead, sqTail *uint32
	sqMask         uint32
	sqArray        []uint32
	sqes           []sqe

	cqHead, cqTail *uint32
	cqMask         uint32
	cqes           []cqe

	queued uint32 // requests prepared since the last Submit
	// bufs keeps the buffers of queued requests reachable (and so
	// unmoved and uncollected) until the kernel is done with them.
	bufs [][]byte
}

// New sets up a ring for batches of up to entries requests (a power of
// two, at most 4096).
func New(entries uint32) (*Ring, error) {
	if entries == 0 || entries&(entries-1) != 0 || entries > 4096 {
		return nil, fmt.Errorf("uring: %d entries: not a power of two up to 4096", entries)
	}
	var p params
	fd, _, errno := unix.Syscall(sysSetup, uintptr(entries), uintptr(unsafe.Pointer(&p)), 0)
	if errno != 0 {
		return nil, fmt.Errorf("io_uring_setup: %w", errno)
	}
	// The kernel opens the ring's descriptor close-on-exec.
	r := &Ring{fd: int(fd), entries: p.sqEntries}
	if err := r.mapRings(&p); err != nil {
		r.Close()
		return nil, err
	}
	return r, nil
}

func (r *Ring) mapRings(p *params) error {
	if p.features&featSingleMmap == 0 {
		return errors.New("uring: kernel too old (no IORING_FEAT_SINGLE_MMAP)")
	}
	sqSize := int(p.sqOff.array + p.sqEntries*4)
	cqSize := int(p.cqOff.cqes + p.cqEntries*cqeSize)
	size := max(sqSize, cqSize)
	ring, err := unix.Mmap(r.fd, offSQRing, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE)
	if err != nil {
		return fmt.Errorf("uring: mmap rings: %w", err)
	}
	r.ring = ring
	sqeMem, err := unix.Mmap(r.fd, offSQEs, int(p.sqEntries*sqeSize), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE)
	if err != nil {
		return fmt.Errorf("uring: mmap sqes: %w", err)
	}
	r.sqeMem = sqeMem
	base := unsafe.Pointer(&ring[0])
	r.sqHead = (*uint32)(unsafe.Add(base, p.sqOff.head))
	r.sqTail = (*uint32)(unsafe.Add(base, p.sqOff.tail))
	r.sqMask = *(*uint32)(unsafe.Add(base, p.sqOff.ringMask))
	r.sqArray = unsafe.Slice((*uint32)(unsafe.Add(base, p.sqOff.array)), p.sqEntries)
	r.sqes = unsafe.Slice((*sqe)(unsafe.Pointer(&sqeMem[0])), p.sqEntries)
	r.cqHead = (*uint32)(unsafe.Add(base, p.cqOff.head))
	r.cqTail = (*uint32)(unsafe.Add(base, p.cqOff.tail))
	r.cqMask = *(*uint32)(unsafe.Add(base, p.cqOff.ringMask))
	r.cqes = unsafe.Slice((*cqe)(unsafe.Add(base, p.cqOff.cqes)), p.cqEntries)
	// Slot i of the submission array always names entry i: requests are
	// written in ring order.
	for i := range r.sqArray {
		r.sqArray[i] = uint32(i)
	}
	return nil
}

// Close releases the ring.
func (r *Ring) Close() error {
	if r.sqeMem != nil {
		unix.Munmap(r.sqeMem)
		r.sqeMem = nil
	}
	if r.ring != nil {
		unix.Munmap(r.ring)
		r.ring = nil
	}
	if r.fd >= 0 {
		unix.Close(r.fd)
		r.fd = -1
	}
	return nil
}

// Free is how many more requests fit before the next Submit.
func (r *Ring) Free() int { return int(r.entries - r.queued) }

// Send queues a send(2) of p on the socket fd with MSG_DONTWAIT and
// MSG_NOSIGNAL. REQUIRES: Free() > 0; p unchanged until Submit returns.
func (r *Ring) Send(fd int, p []byte, tag uint64) {
	r.prep(opSend, fd, p, unix.MSG_DONTWAIT|unix.MSG_NOSIGNAL, tag)
}

func (r *Ring) prep(op uint8, fd int, p []byte, flags uint32, tag uint64) {
	if r.queued >= r.entries {
		panic("uring: ring full")
	}
	tail := atomic.LoadUint32(r.sqTail) + r.queued
	e := &r.sqes[tail&r.sqMask]
	*e = sqe{opcode: op, fd: int32(fd), len: uint32(len(p)), opFlags: flags, userData: tag}
	if len(p) > 0 {
		e.addr = uint64(uintptr(unsafe.Pointer(&p[0])))
	}
	r.bufs = append(r.bufs, p)
	r.queued++
}

// Submit hands the queued requests to the kernel in one system call and
// waits for all their completions, calling done for each with its tag and
// result: bytes sent, or a negative errno (-EAGAIN when the socket was
// full). Completions come in no particular order. An error means
// the ring is no longer usable (requests may still be in flight, their
// buffers are kept reachable): the caller stops using it.
func (r *Ring) Submit(done func(tag uint64, res int32)) error {
	n := r.queued
	if n == 0 {
		return nil
	}
	// The kernel reads the entries after it sees the new tail.
	atomic.StoreUint32(r.sqTail, atomic.LoadUint32(r.sqTail)+n)
	r.queued = 0
	for completed := uint32(0); completed < n; {
		toSubmit := atomic.LoadUint32(r.sqTail) - atomic.LoadUint32(r.sqHead)
		// Every request is flagged MSG_DONTWAIT, so the kernel completes
		// each while submitting it: the wait for them does not block, and
		// a raw system call (no scheduler bookkeeping) is enough.
		_, _, errno := unix.RawSyscall6(sysEnter, uintptr(r.fd), uintptr(toSubmit), uintptr(n-completed), enterGetEvents, 0, 0)
		completed += r.reap(done)
		if errno != 0 && errno != syscall.EINTR {
			return fmt.Errorf("io_uring_enter: %w", errno)
		}
	}
	clear(r.bufs)
	r.bufs = r.bufs[:0]
	return nil
}

// reap passes the completions in the ring to done and returns how many.
func (r *Ring) reap(done func(tag uint64, res int32)) uint32 {
	head := atomic.LoadUint32(r.cqHead)
	tail := atomic.LoadUint32(r.cqTail)
	n := tail - head
	for ; head != tail; head++ {
		c := &r.cqes[head&r.cqMask]
		done(c.userData, c.res)
	}
	atomic.StoreUint32(r.cqHead, head)
	return n
}
