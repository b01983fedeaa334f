// Package benchutil holds what the Go benchmark programs under bench/ share:
// free ports for cluster nodes, running tools, waiting for a condition, and
// loading and checking the 100-byte "key:N" dataset they move around.
// A benchmark fails by exiting; these helpers do too.
package benchutil
