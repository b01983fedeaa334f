// Package intset implements Redis's intset: the sorted array of unique
// integers that Redis (and Reef) use in memory for small all-integer sets,
// and that RDB files and DUMP payloads carry verbatim (type 11).
//
// An intset is a plain []byte:
//
//	encoding uint32 LE (2, 4 or 8) | length uint32 LE | length values, signed LE
//
// Invariants kept by Add and Remove: values are strictly increasing; the
// width is the widest ever needed (an insert upgrades 16 -> 32 -> 64 bits, a
// removal never downgrades), exactly as Redis does, so the bytes match what
// Redis holds after the same commands. Mutations return the updated slice,
// which may share memory with the argument (like append).
//
// Trust: Len, Get, Search and the mutators assume a well-formed intset (made
// by New/Add or accepted by Validate). Bytes from disk or the network must
// pass Validate first; Validate never panics and never allocates.
package intset
