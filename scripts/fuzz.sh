#!/usr/bin/env bash
# Runs every fuzz target of the repository for a while each (Go's native
# fuzzing; the test suite only replays their seed corpora). A crasher is
# written under the package's testdata/fuzz/ (it then runs as a seed in the
# test suite); the run goes on with the other targets and fails at the end.
#
#   scripts/fuzz.sh          # 30 s per target
#   scripts/fuzz.sh 600      # 10 minutes per target (a nightly run)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-30}
failed=()
for file in $(grep -rl --include='*_test.go' '^func Fuzz' .); do
  pkg=./$(dirname "${file#./}")
  for target in $(grep -o '^func Fuzz[A-Za-z0-9_]*' "$file" | cut -d' ' -f2); do
    echo "== $pkg $target (${seconds}s)"
    go test "$pkg" -run '^$' -fuzz "^${target}\$" -fuzztime "${seconds}s" || failed+=("$pkg $target")
  done
done
if [ ${#failed[@]} -gt 0 ]; then
  printf 'FAILED: %s\n' "${failed[@]}"
  exit 1
fi
