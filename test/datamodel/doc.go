// Package datamodel holds black-box concurrency tests of the data model
// with several real clients (go-redis and raw RESP connections): blocking
// commands (fairness, timeouts, a client that disconnects while blocked,
// wake-ups from MULTI/EXEC, BLMOVE chains, CLIENT UNBLOCK), WATCH/MULTI
// rules, and Pub/Sub (RESP2 and RESP3, output-buffer limits for a
// subscriber that never reads).
//
// Every scenario runs against reef-server and, as the reference, against a
// real redis-server 7.0: the expectations are Redis's observed behaviour,
// not a reading of the documentation.
package datamodel
