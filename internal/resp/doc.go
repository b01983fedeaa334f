// Package resp implements the Redis serialization protocol (RESP2 and RESP3) as
// Redis 7.0 speaks it.
//
// It owns three pieces:
//
//   - RequestReader parses client requests (multibulk and inline, pipelined)
//     straight out of its read buffer, with Redis's exact protocol error
//     texts and limits. Returned argument slices alias the buffer and are valid
//     only until the next call: a caller that keeps an argument copies it.
//   - Writer-style Append* functions encode replies into a caller-owned []byte,
//     choosing the RESP2 or RESP3 shape from the protocol version, so a
//     pipelined batch is flushed with one write.
//   - ReplyReader parses replies (the client side), for reef-cli, the cluster
//     manager, replication and MIGRATE.
//
// The package imports only internal/rconv and internal/splitargs of ours and
// never touches the network beyond the io.Reader it is given.
package resp
