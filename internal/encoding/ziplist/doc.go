// Package ziplist decodes Redis's legacy ziplist, the compact encoding of
// small lists, hashes and sorted sets before Redis 7.0. Redis 7.0 still reads
// it from old RDB files and DUMP payloads (types 10, 12, 13 and 14) and
// converts it to a listpack; Reef does the same, so only decoding exists.
//
//	zlbytes uint32 LE | zltail uint32 LE | zllen uint16 LE | entry* | 0xFF
//	entry = prevlen (1 byte, or 0xFE + uint32 LE) | encoding | data
//
// Invariant: Validate checks every structural rule Redis's deep
// ziplistValidateIntegrity checks, never panics and never allocates; Iterate
// may only be called on bytes that passed Validate.
package ziplist
