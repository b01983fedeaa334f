// Package command is the command table and the handlers of the data
// commands, by family (strings.go, keys.go, ...).
//
// The table is data: each Spec pairs Redis's published metadata (arity,
// flags, key specs, COMMAND INFO/DOCS, captured from Redis into
// redis_meta_gen.go) with a handler. The server checks arity, extracts keys
// (KeyPositions), computes slots, locks them and routes generically, so a
// handler only implements semantics: it runs with every slot its keys hash
// to already locked, reads Ctx.Args and appends its reply to Ctx.Out.
//
// Handlers never block and never touch the network. Argument slices alias
// the connection's read buffer: a handler that stores an argument copies it
// (the keyspace copies keys on insert; values are copied by NewString).
package command
