#!/usr/bin/env bash
# Run every test: on SQLite and on the local PostgreSQL, with Redis for the
# cross-worker rate limit. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install.sh --test
scripts/services.sh docker podman postgres redis
exec .venv/bin/python -m pytest "$@"
