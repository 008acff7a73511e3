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
# --- minimum versions (setup.cfg's lower bounds) -------------------------------------------------
# A second venv with every dependency at its `>=` bound (constraints/minimum.txt), pip check, and
# the suite's representative part on it: scripts/test-minimum.sh says which and why. Only for a
# whole run (no pytest arguments); CODECFAKE_MINIMUM=0 skips it.
if [ $# -eq 0 ] && [ "${CODECFAKE_MINIMUM:-1}" != 0 ]; then
  pip check
  bash scripts/test-minimum.sh
fi
# --- end minimum versions -------------------------------------------------------------------------
exec python -m pytest "$@"
