// Package digest computes Redis's DEBUG DIGEST and DEBUG DIGEST-VALUE, the
// SHA-1 based fingerprints that tests use to compare datasets across Redis
// and Reef nodes (after replication, MIGRATE, RDB load, resharding).
//
// Two mixing steps build every digest: Xor(D, data) is D ^= SHA1(data) and
// is order-independent (used for set members, hash and zset elements, and
// keys); Mix(D, data) is D = SHA1(D ^ SHA1(data)) and is order-dependent
// (used for list elements, string bytes, stream entries). A value's digest
// starts with its type number, and an expiring key adds the "!!expire!!"
// term. Integers held in compact encodings are digested as decimal text, so
// the result never depends on the encoding.
//
// The package is pure computation over rdb.Object (plus the exported
// primitives for callers that walk their own representations). It never
// allocates per element beyond what formatting a score needs.
package digest
