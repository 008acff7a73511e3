#!/usr/bin/env bash
# Set up (or reuse) ./.venv, then run the linter and the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
. "${CODECFAKE_VENV:-.venv}/bin/activate"
ruff check .
ruff format --check . || { echo "run 'ruff format .'" >&2; exit 1; }
exec python -m pytest "$@"
