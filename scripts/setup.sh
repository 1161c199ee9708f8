#!/usr/bin/env bash
# Install, migrate and serve hostmgr on the embedded default (SQLite).
# Run as root on a fresh Debian machine; stop the server with Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install.sh
scripts/services.sh "${HOSTMGR_RUNTIME:-docker}"
[ "${HOSTMGR_PROXY:-none}" = caddy ] && scripts/services.sh caddy
.venv/bin/hostmgr init
exec .venv/bin/hostmgr serve "$@"
