// Package admin is Reef's cluster manager: every operation of redis-cli
// --cluster (create, check, info, fix, reshard, rebalance, add-node,
// del-node, call, set-timeout, import, backup, help) with redis-cli 7.0's
// algorithms, printed lines and exit statuses, plus what redis-cli lacks:
// reshard/rebalance as a resumable plan (plan/apply), parallel batched slot
// moves with a bound on bytes per MIGRATE, chunked moves of big collections,
// rebalancing by keys or memory, and a one-command local cluster (up/down).
//
// It talks to nodes only through the client protocol (internal/client), so it
// manages real Redis clusters and Reef clusters alike.
//
// # Moving slots
//
// redis-cli moves one slot at a time: IMPORTING on the target, MIGRATING on
// the source, GETKEYSINSLOT/MIGRATE ten keys at a time, then SETSLOT NODE on
// every master. Each SETSLOT makes the node fsync nodes.conf, so the cost is
// dominated by round trips and fsyncs per slot. The mover here keeps the
// same protocol and the same order of steps but:
//
//   - runs the (source, target) pairs of a plan in parallel, each on its own
//     connections;
//   - opens and closes SlotBatch slots of a pair together with pipelined
//     SETSLOTs (one nodes.conf fsync per batch and node instead of per slot);
//   - fetches the keys of all open slots in one pipelined round, sizes them
//     with MEMORY USAGE, and pipelines one MIGRATE per slot (MIGRATE refuses
//     keys of several slots), each bounded by MaxBatchBytes, so that at most
//     one bounded payload is in flight to the target at any time;
//   - moves keys bigger than BigKeyBytes (hashes, lists, sets, sorted sets)
//     in chunks under WATCH, so a huge key never blocks a node for long;
//   - when the target has replicas, copies keys (MIGRATE COPY under WATCH),
//     waits (WAIT) until a replica has them, and only then deletes them from
//     the source (MULTI/DEL/EXEC, redone if a client wrote meanwhile), one
//     slot at a time (cluster nodes refuse cross-slot WATCH and
//     transactions): plain MIGRATE deletes a key as soon as the target has
//     it, so a target that dies before replicating would lose it when its
//     replica takes over. WAIT only covers the last write of the connection
//     it runs on, so the tool first writes and deletes a scratch key
//     ("reef-cli:wait:<n>", of the slot) on the target;
//   - falls back to WATCH + DUMP/RESTORE + MULTI/DEL on a source without
//     MIGRATE.
//
// When both ends of a pair support server-side atomic slot migration
// (Valkey 9's CLUSTER MIGRATESLOTS or Redis 8.4's CLUSTER MIGRATION IMPORT,
// detected from COMMAND INFO / CLUSTER HELP), the pair's slots are handed to
// the servers instead and the manager only waits for the target to own them.
// Options.Legacy forces redis-cli's exact sequential behaviour.
//
// # Plans
//
// A Plan (JSON) names nodes by ID and records each master's replicas. Apply
// reloads the cluster, maps every planned node to the master now serving its
// shard (itself, or the replica that took over), skips slots already owned
// by their target, closes slots the target owns but that are still open
// somewhere, and moves the rest. An interruption at any point (CLI killed,
// node killed, timeout) leaves at most one batch per pair open, in a state
// the next Apply (or Fix) completes.
//
// # Invariants
//
// A slot move always sets IMPORTING on the target before MIGRATING on the
// source, and sets the new owner on the target before the source, as
// redis-cli does, so clients are never bounced between two nodes that both
// refuse the key. A batch whose opening fails before any key moved is
// closed again (SETSLOT STABLE) rather than left open.
//
// Output goes to the writer given to New exactly as redis-cli prints it
// (stdout in reef-cli), with redis-cli's ANSI colours when $TERM contains
// "xterm"; a Progress sink, when set, replaces the per-slot lines.
package admin
