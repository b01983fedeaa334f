#!/usr/bin/env bash
# Failover benchmark (not a test): the same kill -9 test against reef-server
# and redis-server 7.0, on the same machine, with cluster-node-timeout
# NODE_TIMEOUT (default 2000 ms): a 3-master/3-replica cluster under a light
# INCR load, RUNS (default 10) times kill -9 a master and measure the time
# until a client gets its first successful write on that master's slots;
# prints min/p50/p99/max for both (target for Reef: p99 <= node-timeout +
# 500 ms; Redis 7.0 takes 3-5 s). KINDS=reef or KINDS=redis runs one side.
# The harness is BenchmarkKillFailover in test/failover (docs/FAILOVER.md).
set -euo pipefail
cd "$(dirname "$0")/.."
export RUNS=${RUNS:-10} NODE_TIMEOUT=${NODE_TIMEOUT:-2000}
go test -count=1 -run '^$' -bench '^BenchmarkKillFailover$' -benchtime 1x -timeout 60m ./test/failover |
  grep -v -e '^goos:' -e '^goarch:' -e '^pkg:' -e '^cpu:' -e '^Benchmark' -e '^PASS' -e '^ok '
