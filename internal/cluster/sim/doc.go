// Package sim is a deterministic simulator for cluster/state: N state
// machines on an in-memory network with message delay, loss, partitions and
// crashes, all driven by one seed, so a run is reproducible exactly.
//
// Every message crosses the real wire format (msg.Append then msg.Decode),
// every persisted nodes.conf is parsed back by cluster/nodesconf, and a
// restarted node boots from its last persisted file. Invariants checked on
// every Ready: a FAILOVER_AUTH_ACK or FAILOVER_AUTH_REQUEST leaves only
// after an fsynced config records its epoch; no two nodes win the election
// of the same epoch; every written config parses.
//
// Scenarios are small scripts (see Run) whose traces are compared with
// golden files in testdata. The package never touches the real network,
// clock or disk.
package sim
