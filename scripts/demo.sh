#!/usr/bin/env bash
# Set up (or reuse) ./.venv, then run the whole pipeline offline on a synthetic corpus:
# corpus -> codecs -> dataset folder -> load_dataset -> baseline detector -> EER table + DET plot.
# Arguments go to `codecfake demo` (e.g. --quick, --out DIR); output lands in ./demo-out by default.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1
exec "${CODECFAKE_VENV:-.venv}/bin/codecfake" demo "$@"
