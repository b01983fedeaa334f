// Package hll implements Redis 7.0's HyperLogLog byte for byte: the value a
// PFADD key holds is an ordinary string in the layout of hyperloglog.c, and
// Reef must produce the same bytes (for DUMP, replication, MIGRATE, and
// DEBUG DIGEST) and read HLLs written by Redis.
//
//	"HYLL" | encoding (0 dense, 1 sparse) | 3 unused bytes | cached cardinality (uint64 LE,
//	MSB of the last byte set = cache invalid) | registers
//
// Dense registers are 16384 six-bit fields (12288 bytes); the sparse form
// is a run-length sequence of ZERO, XZERO and VAL opcodes, promoted to dense
// when a register exceeds 32 or the string would grow past
// hll-sparse-max-bytes (passed in by the caller, never global).
//
// The package provides the byte logic of PFADD, PFCOUNT (one or several
// keys), PFMERGE, PFDEBUG (GETREG, DECODE, ENCODING, TODENSE) and
// PFSELFTEST; the server wires the commands. Functions that take a value
// may modify it in place and may return a different slice (like append);
// callers store the returned slice. Error texts are Redis's full reply texts
// without the leading '-', e.g. "WRONGTYPE Key is not a valid HyperLogLog
// string value." and "INVALIDOBJ Corrupted HLL object detected".
//
// Invariant: no function panics on a value that passed Validate, however
// corrupt its registers are; corruption is reported as ErrInvalid exactly
// where Redis reports it.
package hll
