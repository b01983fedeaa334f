// Package migrate holds black-box tests of slot migration: DUMP/RESTORE and
// MIGRATE against a real redis-server 7.0, the legacy resharding protocol
// driven by the real redis-cli --cluster against Reef clusters under live
// go-redis traffic, failures in the middle of a migration, and atomic slot
// migration.
package migrate
