// Package rdb reads and writes Redis 7.0's persistence format (RDB version
// 10) and DUMP/RESTORE payloads, byte-compatible with redis-server 7.0.15.
// Replication full syncs, MIGRATE, DUMP/RESTORE and SAVE/BGSAVE all go
// through it.
//
// It owns:
//   - the neutral object model (Object) that the keyspace converts to and
//     from, including the in-memory Encoding that decides which on-disk type
//     the writer picks (as Redis does);
//   - value encoding and decoding for every type Redis 7.0 reads, including
//     legacy ziplist, zipmap, intset, quicklist v1 and ASCII-score zsets;
//   - EncodeDump/DecodeDump, with Redis's exact error texts;
//   - a streaming file Writer (header, AUX, functions, SELECTDB/RESIZEDB,
//     per-key expire/idle/freq, EOF + CRC-64) and a streaming Reader that
//     returns one record at a time and verifies the checksum.
//
// Invariants:
//   - Decoding never panics and never builds an invalid object: every
//     compact payload (listpack, intset, ziplist, zipmap, stream node) is
//     validated deeply, duplicates and empty collections are refused, and
//     errors carry the byte offset.
//   - Decoding never allocates in proportion to a length the input has not
//     backed with bytes: counts only bound pre-allocation by what remains,
//     strings from a stream are read in growing chunks, and LZF output is
//     capped by what the compressed bytes can expand to.
//   - Writing the same logical value with the same Encoding and options
//     produces the bytes Redis 7.0 produces, except where Redis itself is not
//     deterministic (dict order of types 2 and 4, key order).
//
// Streams (types 15 and 19) can be decoded into a read-only Stream so that
// datasets containing them can be inspected and digested, but Reef has no
// stream type: DecodeDump and the Reader refuse them unless asked, and the
// writer cannot produce them. Module values and module AUX data are refused.
//
// Objects returned by the decoders own their memory (nothing aliases the
// input), but slices inside one Object may share memory with each other
// (e.g. List elements with ListNode.Data); treat decoded Objects as
// immutable or copy what you change.
package rdb
