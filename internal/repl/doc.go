// Package repl is Reef's replication, wire-compatible with Redis 7.0, and
// its RDB persistence.
//
// It owns:
//   - the replication stream (Stream): replication IDs (replid, replid2),
//     master_repl_offset, and the shared replication buffer whose last
//     repl-backlog-size bytes are the backlog; writers append to it while
//     still holding the slot locks of what they changed, so its order agrees
//     with the keyspace's;
//   - snapshots (Snapshot): a consistent point-in-time image of the
//     keyspace, built slot by slot while clients keep writing (a keyspace
//     Cut, i.e. copy-on-write of slot tables), and fixed at an exact stream
//     offset; full syncs, SAVE and BGSAVE all use it;
//   - the master side (Attach, full sync, partial resync, ACKs, WAIT,
//     min-replicas, pings, backlog TTL) and the replica side (the handshake
//     state machine, receiving and loading the RDB payload, +CONTINUE, ACKs);
//   - RDB files: save, background save, save points, load at startup.
//
// It never runs commands: the server applies its master's stream
// (Host.ServeMaster) and feeds its own writes to the Stream. See
// docs/REPLICATION.md for the design and the argument that a full sync is
// exact.
//
// Invariants: at most one snapshot at a time (snapMu); the stream's bytes
// are immutable once appended; a replica's connection is written only by
// the Manager once the replica has sent PSYNC/SYNC.
package repl
