#!/usr/bin/env bash
# Runs the fault tests again and again, alternating one Redis server and a 3-master Redis Cluster, and prints one line
# per run: how "the fault tests pass N runs in a row" is checked.
# Usage: ./scripts/fault-loop.sh [runs, default 20] [log directory, default a new temporary one]
# Build first (./scripts/test.sh builds, or: dotnet build Tests.EndToEnd/Tests.EndToEnd.csproj); the runs use --no-build.
set -uo pipefail
cd "$(dirname "$0")/.."
runs=${1:-20}; logs=${2:-$(mktemp -d)}
mkdir -p "$logs"
echo "logs in $logs"
passed=0
for i in $(seq 1 "$runs"); do
  cluster=$(( i % 2 == 0 ? 1 : 0 ))
  start=$(date +%s)
  AISTREAMING_REDIS_CLUSTER=$cluster dotnet test Tests.EndToEnd/Tests.EndToEnd.csproj --no-build \
    --filter "FullyQualifiedName~EndToEnd.FailoverMatrixTests|FullyQualifiedName~EndToEnd.FaultTests|FullyQualifiedName~ChatPageFaultTests" \
    --logger "console;verbosity=detailed" > "$logs/run-$i.log" 2>&1
  rc=$?
  [ $rc -eq 0 ] && passed=$((passed + 1))
  echo "run $i cluster=$cluster exit=$rc $(( $(date +%s) - start )) s load=$(cut -d' ' -f1 /proc/loadavg) $(grep -E 'Passed:|Failed:' "$logs/run-$i.log" | tr -s ' ' | tr '\n' ' ')"
done
echo "$passed of $runs runs passed"
# Each run log holds the pauses and outage notices per client kind (grep "pause from kill", "reconnecting").
[ "$passed" -eq "$runs" ]
