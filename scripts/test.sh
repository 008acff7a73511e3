#!/usr/bin/env bash
# Set up (or reuse) ./.venv, then run the linter, build the documentation site and run the
# whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
. "${CODECFAKE_VENV:-.venv}/bin/activate"
ruff check .
ruff format --check . || { echo "run 'ruff format .'" >&2; exit 1; }
# The documentation site (mkdocs.yml), warnings as errors, offline; built outside the work tree.
NO_MKDOCS_2_WARNING=1 mkdocs build --strict --quiet --site-dir "$(mktemp -d)/codecfake-site"
exec python -m pytest "$@"
