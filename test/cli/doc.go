// Package cli holds black-box tests of reef-cli against real Redis 7.0
// processes (and a few against reef-servers: TestFixReef, TestUpDownReef): output parity with redis-cli for replies and for every
// --cluster subcommand, slot maps equal to what redis-cli produces for the
// same operation, and interrupted plan/apply runs that resume with no key
// lost. redis-server and redis-cli are the oracle; see internal/testutil.
package cli
