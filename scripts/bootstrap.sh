#!/usr/bin/env bash
# Create or reuse ./.venv with everything the demo and the tests need.
# Idempotent: a second run only reinstalls when setup.cfg or this script changed.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${CODECFAKE_VENV:-.venv}
PYTHON=${PYTHON:-python3}

# Default audio decoding in `datasets` goes through torchcodec, which needs a system FFmpeg.
# The archive tests pack releases with Info-ZIP's zip and read them back with unzip and 7z.
missing=""
for pair in ffmpeg:ffmpeg zip:zip unzip:unzip 7z:p7zip-full; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || missing="$missing ${pair#*:}"
done
if [ -n "$missing" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "bootstrap: installing Debian's$missing" >&2
    # shellcheck disable=SC2086  # one word per package
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
  else
    echo "bootstrap: missing system packages:$missing (e.g. 'sudo apt-get install$missing')" >&2
    exit 1
  fi
fi

[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
stamp="$VENV/.codecfake-installed"
want=$(cat setup.cfg pyproject.toml "$0" | sha256sum | cut -c1-16)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "bootstrap: installing into $VENV (a few minutes the first time)" >&2
  "$VENV/bin/pip" install -q --upgrade pip 2>&1 | grep -v '^WARNING: Location' || true
  # torch first, pinned to the CPU wheel this machine carries; torchcodec 0.13 is the last
  # release that imports beside a CPU torch (later wheels are CUDA-linked).
  "$VENV/bin/pip" install -q "torch==2.13.0" 2>&1 | grep -v '^WARNING: Location' || true
  # setuptools always notes "Editable installation" for a package_dir layout, and pip 26 shows
  # backend notes: informational only, and the first thing a new user would read. Filtered.
  PYTHONWARNINGS="ignore:Editable installation" \
    "$VENV/bin/pip" install -q "torchcodec==0.13.0" -e ".[test,docs,bench]" 2>&1 | grep -v '^WARNING: Location' || true
  "$VENV/bin/python" -c "import codecfake, torchcodec, transformers" 
  echo "$want" > "$stamp"
fi
