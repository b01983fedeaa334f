#!/bin/sh
# Slot migration, side by side in one run (see bench/migration/main.go):
# rebalancing a 3-master cluster of 300 000 keys onto a new empty master,
# real redis-cli on real Redis 7.0 against reef-cli on Reef (atomic slot
# migration), with the worst client latency seen during each; then one
# 10M-field hash moved, with the longest stall of either node.
#
# Usage: bench/migration.sh [-keys N] [-fields N] [-skip-big] [-skip-rebalance]
set -e
cd "$(dirname "$0")/.."
exec go run ./bench/migration "$@"
