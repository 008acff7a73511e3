"""Where the real shared data lives (``../shared/fixtures`` or ``$CODECFAKE_SHARED_FIXTURES``).

One place for tests (through ``tests/conftest.py``'s fixtures) and benchmarks alike, so pointing
the environment variable elsewhere (``/nonexistent`` simulates a fresh clone) moves them all.
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED_FIXTURES = Path(
    os.environ.get("CODECFAKE_SHARED_FIXTURES", ROOT.parent / "shared" / "fixtures")
)
VCTK_SAMPLES = SHARED_FIXTURES / "vctk_codec_samples"
OFFICIAL_SCORES = SHARED_FIXTURES / "official_scores"
OFFICIAL_CHECKPOINTS = SHARED_FIXTURES / "official_checkpoints"
CODEC_REFERENCES = SHARED_FIXTURES / "codec_references"
