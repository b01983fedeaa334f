#!/usr/bin/env bash
# Runs Reef's whole test suite, the command README.md gives and .ci/run runs.
# It installs what the tests need (the real redis-server, redis-cli and
# redis-benchmark are the oracle of the differential and interop tests) when
# they are missing, so that it works on a fresh machine.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null || ! command -v redis-benchmark >/dev/null; then
  echo "installing redis-server and redis-tools (the test oracle)..."
  SUDO=""
  if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq redis-server redis-tools >/dev/null
fi
# The Debian package starts a redis-server on 6379; tests never use it, but
# stop it so it does not compete for the two cores.
if command -v systemctl >/dev/null && systemctl is-active --quiet redis-server 2>/dev/null; then
  systemctl stop redis-server || true
fi

echo "== go vet"
go vet ./...
echo "== go test"
go test -count=1 -timeout 30m "$@" ./...
