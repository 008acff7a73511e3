"""Fixtures for the publish tests: prepared dataset folders, and a loopback Hub that wants a token."""

from __future__ import annotations

import functools
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

import codecfake
import codecfake_cli
from testkit.release_factory import make_release

from .hub_server import HubServer

TOKEN = "hf_codecfakeTestTokenDoNotPrint0123456789"
RELEASE = {"n_en": 1, "n_zh": 1, "seconds": 0.2}


@pytest.fixture(scope="session")
def prepared_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``codecfake prepare`` of a small official-layout release (C1, C2), made once per session."""
    work = tmp_path_factory.mktemp("publish")
    make_release(work / "release", conditions=("C1", "C2"), **RELEASE)
    assert codecfake_cli.main(["prepare", str(work / "release"), str(work / "codecfake")]) == 0
    return work / "codecfake"


@pytest.fixture(scope="session")
def c8_release(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A rebuilt release holding one new codec condition, C8, as ``codecfake synthesize`` makes."""
    root = tmp_path_factory.mktemp("publish") / "rebuilt"
    c8 = codecfake.user_condition("C8", "Mimi", sample_rate=24_000, bitrate_kbps=1.1, quantizers=8)
    make_release(
        root, conditions=(), user_conditions=[c8], with_train=False, with_dev=False, **RELEASE
    )
    return root


@pytest.fixture
def dataset_folder(prepared_template: Path, tmp_path: Path) -> Path:
    """A fresh copy of a prepared dataset folder that a test may change."""
    return Path(shutil.copytree(prepared_template, tmp_path / "codecfake"))


@pytest.fixture
def hub(monkeypatch: pytest.MonkeyPatch) -> Iterator[HubServer]:
    """A loopback Hub that accepts only :data:`TOKEN`, which HF_TOKEN holds.

    The suite runs with HF_HUB_OFFLINE=1 (conftest), which huggingface_hub reads once at import;
    the flag is lifted for these tests only, since every request goes to 127.0.0.1.
    """
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    with HubServer(token=TOKEN) as server:
        yield server


@pytest.fixture
def instant_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """huggingface_hub's own retry loop for uploads and commits, with its back-off waits (1, 2, 4,
    8, 8 s: 23 s per given-up request) set to zero: the same tries, errors and give-up, no sleep.

    The upload pipeline calls ``http_backoff`` with its default waits and exposes no setting, so
    the test sets them where the commit code looks the function up; if a huggingface_hub release
    moves it, ``setattr`` fails loudly instead of the test quietly sleeping again.
    """
    from huggingface_hub import _commit_api
    from huggingface_hub.utils import http_backoff

    no_wait = functools.partial(http_backoff, base_wait_time=0, max_wait_time=0)
    monkeypatch.setattr(_commit_api, "http_backoff", no_wait)
