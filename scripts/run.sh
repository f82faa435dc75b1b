#!/usr/bin/env bash
# Starts the whole stack on this machine: installs redis-server/postgresql if missing, then runs the AppHost, which
# builds and launches Redis, PostgreSQL, the Api (2 replicas), the Streamer (2 replicas), each behind one load-balanced
# endpoint, and Web, and prints the Web and dashboard URLs. Ctrl+C stops everything.
#
# The services run as Debug builds (what `dotnet run --project AppHost` builds); --release builds and runs Release
# builds instead (for measuring, or for a feel of production speed).
# Other arguments go to the AppHost as configuration, e.g.
#   ./scripts/run.sh --ConnectionStrings:redis=127.0.0.1:6379     (use that Redis instead of starting one)
#   ./scripts/run.sh --Redis:Cluster=true                          (a 3-master Redis Cluster instead of one server)
set -euo pipefail
cd "$(dirname "$0")/.."

configuration=Debug
args=()
for arg in "$@"; do
  if [[ "$arg" == "--release" ]]; then configuration=Release; else args+=("$arg"); fi
done

./scripts/install-deps.sh
# The AppHost builds the projects it references in its own configuration and launches them from that build output.
exec dotnet run -c "$configuration" --project AppHost -- "${args[@]}"
