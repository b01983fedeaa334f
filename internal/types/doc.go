// Package types holds Reef's collection values: hashes, lists, sets and
// sorted sets, each with Redis 7.0's encodings.
//
// A small collection lives in a compact byte encoding that is exactly
// Redis's (listpack for hashes, sorted sets and the nodes of lists, intset
// for integer sets), so that it costs a few bytes per element and can be
// written to RDB/DUMP payloads as is. When it grows past the thresholds of
// Limits (Redis's *-max-listpack-* and set-max-intset-entries settings) it
// converts to the big encoding: a dict.Dict for hashes and sets, a dict plus
// an order-statistic chunked list for sorted sets (reported as "skiplist").
// Like Redis, a collection never converts back, except sorted-set results
// stored by Z*STORE (zsetConvertToListpackIfNeeded).
//
// Lists are always quicklists (a sequence of listpack nodes sized by
// list-max-listpack-size), which is what Redis 7.0 reports for every list.
//
// What this package must never do: lock, know about keys, commands, clients
// or replies. The command layer owns a collection only while it holds the
// key's slot lock; every method here assumes exclusive access.
//
// Elements are read as Str values (an integer or a byte slice) that alias
// the collection's memory: they are valid until the collection is next
// modified. Byte slices passed in are copied when stored.
package types
