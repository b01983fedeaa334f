// Package state is the cluster core of a node: a pure state machine in the
// style of etcd's raft.
//
// Inputs: Tick(now) is Redis's clusterCron (every 100 ms); Step(now, input)
// feeds what the bus received (packets, link up/down); Handle(now, cmd)
// executes CLUSTER subcommands; SetReplInfo and Publish carry the server's
// facts and requests. Output: Ready() returns, in the order the caller must
// apply them, the nodes.conf bytes to persist (fsynced when epochs, votes or
// slot bindings changed), the bus operations (dial, close, send) and the
// events for the server (become replica, slots lost, state changed, pause
// writes...). A vote (FAILOVER_AUTH_ACK) or an election request leaves in
// the same Ready as the fsynced config that records it, so persisting first
// is what keeps lastVoteEpoch and currentEpoch durable before anyone sees
// them.
//
// It never imports net, os or time, never reads the clock and never starts
// goroutines: time comes in as now arguments (ms) and randomness from the
// injected *rand.Rand (node IDs too), so a seed reproduces a run exactly.
// Node iteration follows insertion order for the same reason.
//
// Role behaviour is a pair of functions per role (roleTick, roleStep),
// installed by becomeMaster and becomeReplica. The algorithms follow Redis
// 7.0's cluster.c (see /work/shared/spec/redis-cluster.md sections 6-7),
// with one deliberate difference: joins are faster (a MEET and its PONG
// carry the whole node table, and a node that completes its handshake is
// announced to every peer at once), so a node added with CLUSTER MEET is
// known cluster-wide within a round trip.
package state
