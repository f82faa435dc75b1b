#!/usr/bin/env bash
# Runs every test (unit, integration against real Redis/PostgreSQL, end-to-end against the whole stack as
# processes, and browser tests in Debian's Chromium), installing what is missing first.
# Usage: ./scripts/test.sh [extra dotnet test args, e.g. --filter FullyQualifiedName~FaultTests]
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/install-deps.sh --browser

results="$(mktemp -d)"
trap 'rm -rf "$results"' EXIT
status=0
dotnet test AiStreaming.sln --logger "console;verbosity=normal" --logger "trx" --results-directory "$results" "$@" || status=$?

# One plain summary line ("N passed, N failed, N skipped") from the TRX counters, for humans and CI alike.
passed=0; failed=0; skipped=0
for trx in "$results"/*.trx; do
  [ -f "$trx" ] || continue
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -1)
  get() { echo "$counters" | grep -o " $1=\"[0-9]*\"" | grep -o '[0-9]*' || echo 0; }
  passed=$((passed + $(get passed))); failed=$((failed + $(get failed))); skipped=$((skipped + $(get notExecuted)))
done
echo "tests: $passed passed, $failed failed, $skipped skipped"
if [ "$status" -eq 0 ] && [ "$passed" -eq 0 ]; then
  echo "no test ran" >&2
  exit 1
fi
exit "$status"
