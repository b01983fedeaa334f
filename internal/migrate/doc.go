// Package migrate moves keys between nodes. It holds three things the server
// wires together:
//
//   - MIGRATE (Redis 7.0's migrateCommand), byte-compatible with Redis's,
//     with its cache of connections to targets (migratecmd.go);
//   - the DUMP/RESTORE codec between keyspace values and RDB payloads that
//     MIGRATE, DUMP and RESTORE share (codec.go);
//   - Reef's atomic slot migration: the source's Export walks the slots and
//     streams the commands that rebuild them, the target's import session
//     applies them, and ownership flips in a short freeze (export.go,
//     session.go; docs/MIGRATION.md).
//
// It knows nothing of client connections or cluster state: the server
// passes hooks (ExportHooks, ImportHooks).
package migrate
