#!/usr/bin/env bash
# The minimum-versions job: every dependency at the lower bound setup.cfg declares.
#
# A second venv (./.venv-minimum) gets `pip install -c constraints/minimum.txt -e .[test]`, so
# each dependency is exactly its `>=` bound (tests/test_packaging.py holds the two files equal);
# then `pip check`, ruff at its lowest version, and the representative part of the suite below.
# scripts/test.sh runs it; alone: `bash scripts/test-minimum.sh` (extra arguments go to pytest).
#
# Not the whole suite: that takes about 25 minutes on CI's 2 cores, and twice would be too long.
# The part below runs each dependency's code at its bound: a release prepared and loaded
# (datasets, pyarrow, soundfile, soxr), publish and its library internals (huggingface_hub,
# httpx2, pyyaml), download (httpx2), the metric (numpy, hypothesis, pandas), DET plots
# (matplotlib), the baseline (scikit-learn, scipy), the lossy codecs (soundfile's Opus/MP3),
# transformers codecs and the detectors' models (torch, transformers, safetensors), the
# quickstart notebook (nbclient, nbformat, ipykernel), and the wheel (setuptools).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${CODECFAKE_MINIMUM_VENV:-.venv-minimum}
PYTHON=${PYTHON:-python3}
started=$SECONDS

FAST_TESTS=(
  tests/test_packaging.py
  tests/test_compat.py
  tests/test_prepare_release.py
  tests/test_dataset_builder.py
  tests/test_builder_sources.py
  tests/test_io.py
  tests/test_publish_hub.py
  tests/test_publish_validate.py
  tests/test_download.py
  tests/test_eval_eer.py
  tests/test_eval_metrics.py
  tests/test_eval_table.py
  tests/test_eval_det.py
  tests/test_baseline.py
  tests/test_codecs_lossy.py
  tests/test_codecs_neural.py
  tests/test_detectors_models.py
  tests/test_checkpoints.py
)
SLOW_TESTS=(
  tests/test_packaging.py
  tests/test_demo.py::test_quickstart_notebook_runs_top_to_bottom
)

pip_install() {  # quiet, without the machine's notes on absent index folders; fails as pip does
  local log status=0
  log=$(mktemp)
  "$VENV/bin/pip" install -q "$@" >"$log" 2>&1 || status=$?
  grep -v '^WARNING: Location' "$log" >&2 || true
  rm -f "$log"
  return "$status"
}

[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
stamp="$VENV/.codecfake-installed"
want=$(cat setup.cfg pyproject.toml constraints/minimum.txt "$0" | sha256sum | cut -c1-16)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "test-minimum: installing the lower bounds into $VENV" >&2
  rm -f "$stamp"
  pip_install --upgrade pip
  # torch first, asked for by its pin (the CPU wheel on this machine's disk, 2.13.0+cpu, which
  # the same pin given with -c does not select).
  pip_install "$(grep '^torch==' constraints/minimum.txt)"
  pip_install -c constraints/minimum.txt -e ".[test]"
fi

# Every pin took: what is installed is what constraints/minimum.txt says.
"$VENV/bin/python" - <<'EOF'
import re
from importlib.metadata import version

wrong = []
for line in open("constraints/minimum.txt", encoding="utf-8"):
    line = line.split("#")[0].strip()
    if line:
        name, _, pinned = line.partition("==")
        have = version(name).split("+")[0]
        if have != pinned:
            wrong.append(f"{name} {have} (pinned {pinned})")
if wrong:
    raise SystemExit("test-minimum: not at the lower bound: " + ", ".join(wrong))
EOF
"$VENV/bin/pip" check
echo "$want" > "$stamp"
"$VENV/bin/ruff" check .
"$VENV/bin/ruff" format --check . || { echo "ruff at its lower bound formats differently" >&2; exit 1; }
"$VENV/bin/python" -m pytest -p no:cacheprovider -q -m "not slow" "${FAST_TESTS[@]}" "$@"
"$VENV/bin/python" -m pytest -p no:cacheprovider -q -m slow "${SLOW_TESTS[@]}" "$@"
echo "test-minimum: the lower bounds passed in $((SECONDS - started)) s" >&2
