// Package keyspace holds the data: for each of the 16384 hash slots a shard
// with its own lock and, per logical database, a table of keys and a table of
// expiry times.
//
// Splitting by slot is what lets Reef run commands on every core: in cluster
// mode every command touches one slot, so locking that slot's shard gives
// Redis's atomicity while commands on other slots run in parallel. A command
// that touches several slots locks them in ascending order (LockSlots), so
// two such commands can never deadlock. The lock of slot s covers slot s in
// every database, which keeps MOVE, COPY ... DB and SWAPDB simple.
//
// Counting, listing and moving one slot's keys is O(that slot), which slot
// migration and CLUSTER COUNTKEYSINSLOT/GETKEYSINSLOT rely on.
//
// Invariant: every Table method requires its shard's lock held by the
// caller; the package never takes a shard lock on its own except in the
// helpers named Lock*/Unlock* and in the whole-keyspace walks that say so.
package keyspace
