// Package zipmap decodes Redis's zipmap, the small-hash encoding of Redis
// 2.4 and earlier that RDB type 9 still carries. Redis 7.0 reads it and
// converts it to a listpack or hashtable hash; Reef does the same, so only
// decoding exists.
//
//	count (1 byte, 254 = unknown) | { len key  len value  free value junk[free] }* | 0xFF
//	len = 1 byte if < 254, else 0xFE + uint32 LE
//
// Invariant: Validate applies the checks of Redis's deep
// zipmapValidateIntegrity, never panics and never allocates.
package zipmap
