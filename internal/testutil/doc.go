// Package testutil starts the real processes that black-box tests need
// (reef-server, redis-server) on free loopback ports, waits for conditions
// instead of sleeping, and stops what it started by PID when the test ends.
//
// Ports are taken below 32768 so they never collide with the kernel's
// ephemeral client ports, and a node's bus port (port+10000) is checked free
// too. Only tests import this package.
package testutil
