#!/usr/bin/env bash
# Full-sync benchmark (not a test): a replica full-syncs a master holding
# KEYS keys (default 1M, 100-byte values) while clients keep writing to the
# master; prints the sync time and the master's SET latency during the sync
# (target: max under 50 ms), for reef-server and redis-server 7.0 side by
# side, each replicating from its own kind, diskless, no sync delay.
set -euo pipefail
cd "$(dirname "$0")/.."
KEYS=${KEYS:-1000000}
CLIENTS=${CLIENTS:-2}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; sleep 0.5; rm -rf "$work"' EXIT
go build -o "$work/reef-server" ./cmd/reef-server
go build -o "$work/fullsync" ./bench/fullsync
common=(--bind 127.0.0.1 --save "" --appendonly no --enable-debug-command yes
  --repl-diskless-sync yes --repl-diskless-sync-delay 0 --protected-mode no)
run() { # name binary port
  mkdir -p "$work/$1-$3"
  (cd "$work/$1-$3" && exec "$2" --port "$3" "${common[@]}" >log 2>&1) &
}
wait_up() { for _ in $(seq 100); do redis-cli -p "$1" ping >/dev/null 2>&1 && return; sleep 0.1; done; echo "port $1 down"; exit 1; }
base=$((20000 + RANDOM % 10000))
run reef "$work/reef-server" $base; run reef "$work/reef-server" $((base+1))
run redis "$(command -v redis-server)" $((base+2)); run redis "$(command -v redis-server)" $((base+3))
for p in $base $((base+1)) $((base+2)) $((base+3)); do wait_up $p; done
echo "full sync of $KEYS keys with $CLIENTS clients writing to the master ($(nproc) cores)"
"$work/fullsync" -label reef -master 127.0.0.1:$base -replica 127.0.0.1:$((base+1)) -keys "$KEYS" -clients "$CLIENTS"
"$work/fullsync" -label redis -master 127.0.0.1:$((base+2)) -replica 127.0.0.1:$((base+3)) -keys "$KEYS" -clients "$CLIENTS"
