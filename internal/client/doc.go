// Package client is Reef's small RESP client: a single connection with
// request/reply and pipelining, and a cluster-aware client that keeps the slot
// map (CLUSTER SLOTS) and follows MOVED and ASK redirections.
//
// It is used by reef-cli (interactive mode and -c) and by the cluster manager
// in internal/admin. It owns its sockets and nothing else: it keeps no
// goroutines, so closing a Conn or a Cluster releases everything.
//
// Error contract: a server error reply (-ERR, -MOVED, ...) is returned as a
// resp.Value of an error kind, never as a Go error; a Go error always means the
// connection is unusable (I/O failure, timeout, protocol violation) and the
// Conn has been closed.
package client
