// Package redisnum holds the number/text conversions whose exact rules decide
// Redis's byte layouts: which strings count as integers (string2ll, used by
// listpacks, intsets, RDB int-encoded strings and OBJECT ENCODING int) and how
// scores are printed ("%.17g", "inf").
//
// Getting these rules wrong silently changes encodings (a "007" stored as an
// integer would come back as "7"), so they live in one place. The package
// imports only internal/rconv of ours and never allocates except in Append
// functions.
package redisnum
