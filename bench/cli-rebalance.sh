#!/bin/sh
# Times redis-cli and reef-cli rebalancing a 3-master Redis 7.0 cluster of
# 300 000 keys onto a new empty master (see bench/cli-rebalance/main.go).
set -e
cd "$(dirname "$0")/.."
exec go run ./bench/cli-rebalance "$@"
