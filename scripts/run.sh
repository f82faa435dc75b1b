#!/usr/bin/env bash
# Starts the whole stack on this machine: installs redis-server/postgresql if missing, then runs the AppHost, which
# builds and launches Redis, PostgreSQL, the Api, 2 Streamer replicas and Web, and prints the Web and dashboard URLs.
# Ctrl+C stops everything. Extra arguments go to the AppHost as configuration, e.g.
#   ./scripts/run.sh --ConnectionStrings:redis=127.0.0.1:6379     (use that Redis instead of starting one)
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/install-deps.sh
exec dotnet run --project AppHost -- "$@"
