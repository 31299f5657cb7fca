#!/usr/bin/env bash
# Set everything up and start `hub demo` on the embedded default (SQLite, sandbox channels).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/hub demo "$@"
