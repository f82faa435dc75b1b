#!/usr/bin/env bash
# Installs what the AppHost and the tests run besides .NET, from Debian's packages:
#   redis-server, postgresql (binaries in /usr/lib/postgresql/<version>/bin), util-linux (setpriv, setsid),
#   and with --browser: chromium (for the Playwright browser tests).
# Idempotent, and a quick no-op when everything is present. As root it installs with apt-get; otherwise it prints
# the sudo command to run. Also checks that the dotnet SDK is on PATH.
# Usage: ./scripts/install-deps.sh [--browser]
set -euo pipefail

browser=false
for arg in "$@"; do
  case "$arg" in
    --browser) browser=true ;;
    -h|--help) sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "install-deps.sh: unknown option '$arg' (try --help)" >&2; exit 2 ;;
  esac
done

have() { command -v "$1" >/dev/null 2>&1; }

missing=()
have redis-server || [ -x /usr/bin/redis-server ] || missing+=(redis-server)
compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null && compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null \
  || missing+=(postgresql)
{ have setpriv && have setsid; } || missing+=(util-linux)
if $browser; then
  have chromium || missing+=(chromium fonts-liberation)
fi

status=0
if [ ${#missing[@]} -gt 0 ]; then
  if ! have apt-get; then
    echo "Missing: ${missing[*]}. This script knows Debian/Ubuntu (apt-get); install the equivalent packages with your package manager." >&2
    status=1
  elif [ "$(id -u)" -eq 0 ]; then
    echo "Installing ${missing[*]} ..."
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    echo "Installed ${missing[*]}."
  else
    echo "Missing: ${missing[*]}. Install them with:" >&2
    echo "  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
    status=1
  fi
fi

if ! have dotnet; then
  cat >&2 <<'MSG'
The .NET 10 SDK ('dotnet') is not on PATH. Install it, e.g.:
  curl -sSL https://dot.net/v1/dotnet-install.sh | bash -s -- --channel 10.0
  export PATH="$HOME/.dotnet:$PATH"
(or from Microsoft's Debian package feed: sudo apt-get install -y dotnet-sdk-10.0; see https://learn.microsoft.com/dotnet/core/install/linux-debian)
MSG
  status=1
fi

exit "$status"
