// Package nodesconf reads and writes nodes.conf, the cluster configuration
// file, in Redis 7.0's format: one CLUSTER NODES line per node (handshake
// nodes excluded) and a "vars currentEpoch N lastVoteEpoch M" line. The
// text itself is produced by cluster/state (Machine.ConfigBytes); this
// package parses it back into a state.Saved and owns the file.
//
// Invariants: the file is exclusively flocked from Open to Close, so two
// processes cannot share it (Redis's "Sorry, the cluster configuration file
// ... is already used" error); every Save is atomic (temporary file, fsync,
// rename, directory fsync), so a crash leaves the old or the new content; a
// damaged file is an error naming the file and line, never a silent fresh
// start, while a zero-length file means "no configuration", as in Redis
// (the server refuses one next to a data file: checkEmptyNodesConf).
package nodesconf
