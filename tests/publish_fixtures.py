"""Fixtures for the publish tests: a prepared dataset folder, and a loopback Hub that expects a token."""

from __future__ import annotations

import io
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import soundfile
from hub_server import HubServer

import codecfake

TOKEN = "hf_codecfakeTestTokenDoNotPrint0123456789"


def _speechlike(seed: int, rate: int = 16_000) -> bytes:
    rng = np.random.default_rng(seed)
    t = np.arange(int(0.25 * rate)) / rate
    f0 = 110 + 20 * rng.random()
    voiced = sum(np.sin(2 * np.pi * k * f0 * t) / k for k in range(1, 20))
    envelope = 0.5 * (1 + np.sin(2 * np.pi * 4 * t))
    buf = io.BytesIO()
    soundfile.write(buf, (0.1 * voiced * envelope).astype("float32"), rate, format="WAV")
    return buf.getvalue()


def _write_folder(root: Path) -> None:
    from datasets import DatasetInfo, SplitDict, SplitInfo
    from datasets.info import DatasetInfosDict
    from datasets.utils.metadata import MetadataConfigs
    from huggingface_hub import DatasetCard

    cfg = codecfake.CONFIGS["en_C1"]
    rows = 0
    for number, part in enumerate(cfg.parts()["test"]):
        recs = [
            {
                "audio": {"bytes": _speechlike(10 * number + i), "path": f"x{i}.wav"},
                "file": f"x{i}.wav",
                "label": 0 if part.group == "real" else 1,
                "condition": part.group,
                "codec": "",
                "language": "en",
                "speaker": "p225",
                "utterance": f"p225_00{i}",
            }
            for i in range(3)
        ]
        rows += len(recs)
        path = root / part.shard_name(0, 1)
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.Table.from_pylist(recs, schema=codecfake.FEATURES.arrow_schema), path)
    card = DatasetCard("---\n---\n# tiny\n")
    patterns = [p.pattern for p in cfg.parts()["test"]]
    MetadataConfigs(
        {"en_C1": {"data_files": [{"split": "test", "path": patterns}]}}
    ).to_dataset_card_data(card.data)
    DatasetInfosDict(
        {
            "en_C1": DatasetInfo(
                features=codecfake.FEATURES,
                config_name="en_C1",
                splits=SplitDict({"test": SplitInfo("test", num_examples=rows)}),
            )
        }
    ).to_dataset_card_data(card.data)
    (root / "README.md").write_text(str(card), encoding="utf-8")


@pytest.fixture(scope="session")
def prepared_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("prepared") / "codecfake"
    root.mkdir()
    _write_folder(root)
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
