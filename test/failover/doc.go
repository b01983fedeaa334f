// Package failover holds black-box tests of replication failover in
// cluster mode with real processes and real clients: the Redis Cluster
// tutorial's walk-through (kill -9 or SHUTDOWN of a master, its replica
// promoted, the old master back as a replica) driven by redis-cli, manual
// failover (default, FORCE, TAKEOVER) with clients writing throughout,
// replica migration and the options that restrain failover, the minority
// rule (a master cut from the majority stops taking writes), and a
// consistency check in the style of redis-rb-cluster's consistency-test.rb
// run against reef-server and against redis-server 7.0 on the same machine.
//
// BenchmarkKillFailover (run by bench/failover.sh, not in CI) measures the
// time from a kill -9 to the first successful write on the dead master's
// slots, for both servers.
package failover
