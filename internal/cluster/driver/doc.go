// Package driver runs a node's cluster core: the one goroutine that owns
// the state.Machine. It ticks it every 100 ms, feeds it what the bus
// receives, serves CLUSTER subcommands from the server by request/response,
// and applies each Ready in the required order: nodes.conf is written (and
// fsynced when asked) before any bus message of the same Ready leaves, then
// the bus ops, then the server events through the Server interface.
//
// The router reads SlotMap, an immutable snapshot published through an
// atomic pointer after every change: no lock on the command path.
//
// A nodes.conf that cannot be written is fatal (Run returns the error), as
// in Redis ("Fatal: can't update cluster config file.").
package driver
