// Package listpack implements Redis 7.0's listpack: the compact sequence of
// strings and integers that Redis (and Reef) use in memory for small hashes,
// sorted sets and list nodes, and that RDB files and DUMP payloads carry
// verbatim (types 16, 17, 18 and stream nodes).
//
// A listpack is a plain []byte:
//
//	total_bytes uint32 LE | num_elements uint16 LE | entry* | 0xFF
//	entry = encoding+data | backlen
//
// Positions are byte offsets into that slice. Iteration (First, Next, Prev,
// Last, Get) never allocates: strings come back as views into the listpack.
// Mutations (Insert, Replace, Delete, ...) return the updated slice, which may
// share memory with the argument (like append); the caller must use the
// returned slice and forget the old one.
//
// Invariants kept by every mutating function: total_bytes equals the slice
// length; num_elements is the true count while below 65535 and 65535
// ("unknown") after that, exactly as Redis maintains it; elements that are
// canonical int64 text are stored as integers with the smallest encoding
// Redis would choose, so the bytes equal what Redis builds for the same
// operations.
//
// Trust: the navigation and mutation functions assume a well-formed listpack
// (one built by this package or accepted by Validate) and do not re-check
// bounds. Bytes from the network or disk must pass Validate first; Validate
// itself never panics and never allocates.
package listpack
