#!/usr/bin/env bash
# Starts the whole stack on this machine: installs redis-server/postgresql if missing, then runs the Aspire AppHost,
# which starts Redis, PostgreSQL, the Api (2 replicas) and the Streamer (2 replicas), each pair behind Aspire's proxy,
# and Web, under DCP with the Aspire dashboard, and prints the dashboard's login URL and Web's URL. Ctrl+C stops
# everything.
#
# The services run as Debug builds (what `dotnet run --project AppHost` builds); --release builds and runs Release
# builds instead (for measuring, or for a feel of production speed).
# Other arguments go to the AppHost as configuration, e.g.
#   ./scripts/run.sh --Redis:Cluster=true                          (a 3-master Redis Cluster instead of one server)
set -euo pipefail
cd "$(dirname "$0")/.."

configuration=Debug
args=()
for arg in "$@"; do
  if [[ "$arg" == "--release" ]]; then configuration=Release; else args+=("$arg"); fi
done

./scripts/install-deps.sh
# Aspire builds the projects the AppHost references in its configuration and launches them from that build output.
exec dotnet run -c "$configuration" --project AppHost -- "${args[@]}"
