#!/usr/bin/env bash
# Jepsen-style histories (scorecard T12 without root: kill -9 and SIGSTOP,
# no network partitions), not a test: a 3-master/3-replica cluster of
# reef-server and one of redis-server 7.0 on this machine, six clients
# appending unique values to lists and reading them whole while masters are
# killed (then restarted), paused past cluster-node-timeout, or failed over
# by hand (CLUSTER FAILOVER, and its FORCE and TAKEOVER forms), one shard
# after another; every history is checked like Elle's list-append checker
# (duplicates, phantoms, order, losses and stale reads, each loss or stale
# read explained or not by the asynchronous-replication window of a fault).
# One line per run. FAULTS (default 6) per run, FAULT_KINDS (default
# kill,pause,failover,force,takeover), RUNS (default 1),
# NODE_TIMEOUT (default 1000 ms), KINDS=reef|redis for one side.
# The harness is BenchmarkHistories in test/failover (docs/RELIABILITY.md T12).
set -euo pipefail
cd "$(dirname "$0")/.."
export FAULTS=${FAULTS:-6} RUNS=${RUNS:-1} NODE_TIMEOUT=${NODE_TIMEOUT:-1000}
go test -count=1 -run '^$' -bench '^BenchmarkHistories$' -benchtime 1x -timeout 120m ./test/failover |
  grep -v -e '^goos:' -e '^goarch:' -e '^pkg:' -e '^cpu:' -e '^Benchmark' -e '^PASS' -e '^ok '
