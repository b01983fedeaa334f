// Package msg encodes and decodes Redis 7.0 cluster bus messages
// (clusterMsg), byte for byte.
//
// It owns the wire layout only: the fixed 2256-byte header, the 104-byte
// gossip entries, the 8-byte aligned ping extensions, and the bodies of FAIL,
// PUBLISH, PUBLISHSHARD, UPDATE and MODULE. It knows nothing of what a
// message means; cluster/state does.
//
// Encoders are append style (AppendX(dst, ...) []byte). Decode checks every
// length before reading: a truncated header, a wrong signature, a totlen that
// does not match the buffer or the type, or a gossip count that does not fit
// is an error, never a panic. Decoded values never alias the input buffer.
//
// It must never import net, os or anything of the cluster above it.
package msg
