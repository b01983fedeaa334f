// Package server is the reef-server process: it accepts connections and
// serves them, and connects the packages that hold the state.
//
//   - Connections: event loops serve request/response clients the way
//     Redis does (epoll, one read, the batch of commands, one write); a
//     client that has to wait leaves for a goroutine of its own (loop.go,
//     batch.go, conn.go, client.go; docs/SERVER.md).
//   - The command path: Redis's processCommand checks (dispatch.go),
//     cluster routing with MOVED/ASK (clusterroute.go), maxmemory eviction
//     (evict.go), MULTI/EXEC and WATCH (multi.go), blocking commands
//     (blocking.go; docs/BLOCKING.md), pub/sub (pubsub.go), and the
//     server-level commands (admincmds.go, conncmds.go, clustercmds.go,
//     commandcmds.go, info.go).
//   - Glue: the keyspace (internal/keyspace), the command handlers
//     (internal/command), replication and persistence (internal/repl, via
//     replication.go), the cluster driver (internal/cluster, via
//     cluster.go), slot migration (internal/migrate, via migration.go), and
//     the cron jobs (background.go).
//
// Locking rules are in docs/LOCKS.md.
package server
