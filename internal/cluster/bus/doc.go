// Package bus carries cluster bus messages over TCP: it accepts inbound
// links on the bus port, dials outbound links when cluster/state asks, frames
// messages by their totlen, and queues output per link with a bound
// (cluster-link-sendbuf-limit).
//
// It knows nothing of cluster semantics: it reports what happens as
// state.Input values on Events (Packet, LinkUp, LinkDown, InboundUp,
// InboundDown, BufferLimitExceeded) and performs state.Op values given to
// Apply. A peer that breaks framing (bad signature, totlen below the header
// or above MaxFrame) is disconnected; a well-framed message that does not
// decode is dropped and the link kept, as Redis does. Reads never allocate
// more than the bytes that actually arrived.
//
// Links read and write with raw, never-blocking system calls, the Go
// poller doing the waiting (rawio.go): an idle node's wake-ups are mostly
// bus messages, and the usual system-call path costs each of them extra
// context switches.
//
// Every goroutine is owned: Start launches them, Close (or the Start
// context) stops them and waits.
package bus
