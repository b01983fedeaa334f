// Package geo is the arithmetic of Redis 7.0's geospatial index: a
// position is a sorted-set score, the 52-bit interleaving of its latitude
// and longitude (26 bits each, latitude on the even bits), over the
// Mercator-safe latitude range ±85.05112878.
//
// Replies must match Redis's to the last printed digit and searches must
// return the same members in the same order, so the package follows
// geohash.c and geohash_helper.c step for step: the same bit layout, the
// same estimate of the search step from the radius, the same nine boxes
// (centre and neighbours) visited in the same order, and the same
// haversine formula evaluated in the same order of operations. The
// functions are pure; the commands live in internal/command (geo.go).
package geo
