"""Shared test fixtures: the real shared data, skips when it is absent, generated speech instead."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from testkit.shared_fixtures import OFFICIAL_CHECKPOINTS, OFFICIAL_SCORES, VCTK_SAMPLES

# Tests never reach a hub: everything they load is built locally.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
# A datasets cache of this session's own (set before anything imports datasets; subprocesses
# inherit it): the cache key of a folder the tests prepare came out the same in runs whose audio
# differed, so a shared ~/.cache could serve an earlier run's rows to a later run's assertions.
DATASETS_CACHE = tempfile.mkdtemp(prefix="codecfake-tests-datasets-cache-")
os.environ["HF_DATASETS_CACHE"] = DATASETS_CACHE


def pytest_unconfigure(config: pytest.Config) -> None:
    shutil.rmtree(DATASETS_CACHE, ignore_errors=True)


@pytest.fixture(scope="session")
def vctk_samples() -> Path:
    """The real VCTK clips and their codec resyntheses; skips when ../shared is absent.

    Only for tests that compare against these very recordings or their public codec versions;
    a test that just needs speech takes :func:`vctk_samples_or_none`."""
    if not VCTK_SAMPLES.is_dir():
        pytest.skip(f"real VCTK fixtures not found at {VCTK_SAMPLES}")
    return VCTK_SAMPLES


@pytest.fixture(scope="session")
def vctk_samples_or_none() -> Path | None:
    """The real VCTK clips when ../shared is there, else ``None``: the helpers that take it
    (``make_vctk_092``, ``make_release``, ``speech_clips``) then generate speech, so a fresh
    clone runs the same tests on synthetic voices instead of skipping them."""
    return VCTK_SAMPLES if VCTK_SAMPLES.is_dir() else None


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
