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
// Invariants: a slot move always sets IMPORTING on the target before
// MIGRATING on the source, and sets the new owner on the target before the
// source, as redis-cli does, so clients are never bounced between two nodes
// that both refuse the key. An interrupted move leaves the slot open in a
// state that Apply (or Fix) recognises and completes.
//
// Output goes to Manager.Out exactly as redis-cli prints it (stdout in
// reef-cli), with redis-cli's ANSI colours when $TERM contains "xterm".
package admin
