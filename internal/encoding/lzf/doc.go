// Package lzf implements the LZF compression format (liblzf 3.6) exactly as
// Redis uses it for RDB strings, DUMP payloads and compressed quicklist
// nodes.
//
// Compress reproduces Redis's compressor byte for byte (HLOG=16, VERY_FAST,
// a fresh hash table per call), so strings and list nodes we write are
// identical to what redis-server writes for the same input. Decompress
// accepts any valid LZF stream, not only ours.
//
// Invariants: neither function panics on any input; Decompress never writes
// past the declared output length, never reads before the start of the
// output, and refuses a declared length that the compressed bytes cannot
// possibly produce (see MaxExpansion), so a hostile length cannot make it
// allocate. The package imports nothing of ours.
package lzf
