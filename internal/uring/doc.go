// Package uring is a minimal io_uring(7) ring for batching socket writes:
// many sends submitted and completed by one io_uring_enter(2) system call
// instead of one system call each.
//
// Only what the event loops need is here: a ring set up without a kernel
// polling thread, SEND requests flagged MSG_DONTWAIT (so that each
// completes while it is submitted, with -EAGAIN when the socket is full,
// and never waits in the kernel), and a submit that waits for
// every completion. On a machine where a system call costs about a
// microsecond (a virtual machine whose guest kernel runs behind a
// hypervisor switch, as here), one call for a batch of ten replies instead
// of ten calls is most of a small request's cost.
//
// New returns an error where the kernel has no io_uring or forbids it
// (kernel.io_uring_disabled, seccomp); callers fall back to plain system
// calls.
package uring
