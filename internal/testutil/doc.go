// Package testutil starts the real processes that black-box tests need
// (reef-server, redis-server) on free loopback ports, waits for conditions
// instead of sleeping, and stops what it started by PID when the test ends.
//
// Ports are taken below 32768 so they never collide with the kernel's
// ephemeral client ports, and a node's bus port (port+10000) is checked free
// too. A port handed out stays reserved until the test binary exits, in
// that binary (a map) and against the other test binaries `go test` runs in
// parallel (a locked file per port under $TMPDIR/reef-test-ports): a port
// freed by a killed server must not be taken by another package's server
// while clients of the first are still retrying it. Only tests import this
// package.
package testutil
