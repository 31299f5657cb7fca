#!/usr/bin/env bash
# Set everything up and run the whole test suite: lint, import contracts, then pytest on the
# embedded default and on PostgreSQL + Redis (started by the fixtures on loopback).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/lint-imports
.venv/bin/mypy
exec .venv/bin/python -m pytest "$@"
