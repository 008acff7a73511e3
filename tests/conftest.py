"""Shared test fixtures: where the real shared data lives, and skips when it is absent."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_FIXTURES = Path(
    os.environ.get("CODECFAKE_SHARED_FIXTURES", ROOT.parent / "shared" / "fixtures")
)
VCTK_SAMPLES = SHARED_FIXTURES / "vctk_codec_samples"
OFFICIAL_SCORES = SHARED_FIXTURES / "official_scores"
OFFICIAL_CHECKPOINTS = SHARED_FIXTURES / "official_checkpoints"

# Tests never reach a hub: everything they load is built locally.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")


@pytest.fixture(scope="session")
def vctk_samples() -> Path:
    """The real VCTK clips and their codec resyntheses; skips when ../shared is absent."""
    if not VCTK_SAMPLES.is_dir():
        pytest.skip(f"real VCTK fixtures not found at {VCTK_SAMPLES}")
    return VCTK_SAMPLES


@pytest.fixture(scope="session")
def official_scores() -> Path:
    """The paper's published score files; skips when ../shared is absent."""
    if not OFFICIAL_SCORES.is_dir():
        pytest.skip(f"official score files not found at {OFFICIAL_SCORES}")
    return OFFICIAL_SCORES


@pytest.fixture(scope="session")
def official_checkpoints() -> Path:
    """The published Codecfake checkpoints and their reference outputs; skips when absent."""
    if not OFFICIAL_CHECKPOINTS.is_dir():
        pytest.skip(f"official checkpoints not found at {OFFICIAL_CHECKPOINTS}")
    return OFFICIAL_CHECKPOINTS
