// Package dict is the hash table behind every keyspace slot and every large
// hash, set and sorted set.
//
// A Dict keeps its entries in a dense sequence of positions (one slice,
// then fixed segments, so that growing never copies entries) and an
// open-addressing index of positions into it (linear probing, backward-shift deletion, no
// tombstones). Dense storage gives what Redis needs and Go maps lack: O(1)
// random entries (RANDOMKEY, SPOP, active expiry sampling), a resumable SCAN
// cursor, and low memory per entry.
//
// Deleting moves the last entry into the hole. SCAN therefore walks
// positions from the end towards the start: an entry that moves during a scan
// moves from an already visited position to a lower one, so it may be
// reported twice but an entry present for the whole scan is never missed.
//
// A Dict is not safe for concurrent use; the keyspace guards each one with
// its slot's lock.
package dict
