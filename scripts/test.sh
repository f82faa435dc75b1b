#!/usr/bin/env bash
# Runs every test, installing what is missing first: Tests.Unit (no servers), Tests.Integration (real Redis and
# PostgreSQL, the Api in memory), Tests.EndToEnd (the whole stack as processes, browser tests in Debian's Chromium,
# the bench smoke run), one project after the other, fastest first.
# Usage: ./scripts/test.sh [extra dotnet test args, e.g. --filter FullyQualifiedName~FaultTests]
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/install-deps.sh --browser

results="$(mktemp -d)"
trap 'rm -rf "$results"' EXIT
status=0
# One at a time, not `dotnet test AiStreaming.sln` (which runs test projects in parallel): on 2 cores the end-to-end
# stack and the integration servers would starve each other's timing-sensitive tests. A project where a --filter
# matches nothing runs no test and still succeeds.
for project in Tests.Unit Tests.Integration Tests.EndToEnd; do
  dotnet test "$project/$project.csproj" --logger "console;verbosity=normal" --logger "trx;LogFileName=$project.trx" \
    --results-directory "$results" "$@" || status=$?
done

# The end-to-end streaming and fault tests once more against a 3-master Redis Cluster the AppHost starts on loopback
# (issue: every client survives every fault, also on a cluster). Only on a full run: a run narrowed by arguments
# (e.g. --filter) tests what it asked for.
if [ "$#" -eq 0 ]; then
  AISTREAMING_REDIS_CLUSTER=1 dotnet test Tests.EndToEnd/Tests.EndToEnd.csproj --logger "console;verbosity=normal" \
    --logger "trx;LogFileName=Tests.EndToEnd.cluster.trx" --results-directory "$results" \
    --filter "FullyQualifiedName~EndToEnd.StreamingTests|FullyQualifiedName~EndToEnd.FaultTests|FullyQualifiedName~EndToEnd.FailoverMatrixTests" \
    || status=$?
fi

# One plain summary line ("N passed, N failed, N skipped") summed over every project's TRX counters.
passed=0; failed=0; skipped=0
get() { echo "$counters" | grep -o " $1=\"[0-9]*\"" | grep -o '[0-9]*' || echo 0; }
for trx in "$results"/*.trx; do
  [ -f "$trx" ] || continue
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -1)
  passed=$((passed + $(get passed))); failed=$((failed + $(get failed))); skipped=$((skipped + $(get notExecuted)))
done
echo "tests: $passed passed, $failed failed, $skipped skipped"
if [ "$status" -eq 0 ] && [ "$passed" -eq 0 ]; then
  echo "no test ran" >&2
  exit 1
fi
exit "$status"
