"""The detectors' loader: the official cut, labels and names, and the split between ranks/workers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile
import soxr
import torch
from helpers.detector_fixtures import CONFIG, make_dataset
from torch.utils.data import DataLoader

import codecfake
from codecfake_detectors.cut import official_cut
from codecfake_detectors.data import clip_dataset, dataset_fingerprint

CUT = 64_600


@pytest.fixture(autouse=True)
def _no_thread_shutdown_pause(monkeypatch: pytest.MonkeyPatch) -> None:
    """datasets sleeps 5 s after a shuffled stream ends, to let PyArrow threads close; harmless
    once an epoch, but it would make each of these tiny streams take 5 s."""
    import datasets

    monkeypatch.setattr(datasets.config, "SLEEP_TIME_ON_THREADS_SHUTDOWN", 0)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_dataset(tmp_path_factory.mktemp("loader"), n_en=3, n_zh=3)


def _release_clip(dataset: Path, split: str, name: str) -> np.ndarray:
    """The clip as the release file holds it, at 16 kHz: read here, without the package."""
    folder = {"train": "train", "validation": "dev", "test": f"test/{CONFIG}"}[split]
    samples, rate = soundfile.read(dataset.parent / "release" / folder / name, dtype="float32")
    return soxr.resample(samples, rate, 16_000).astype(np.float32) if rate != 16_000 else samples


def test_official_cut_tiles_short_clips_and_cuts_long_ones() -> None:
    short = np.arange(1, 30_001, dtype=np.float32)
    cut = official_cut(short)
    assert cut.shape == (CUT,) and cut.dtype == np.float32
    np.testing.assert_array_equal(cut, np.concatenate([short, short, short[: CUT - 60_000]]))
    long = np.random.default_rng(0).standard_normal(100_000).astype(np.float32)
    np.testing.assert_array_equal(official_cut(long), long[:CUT])
    with pytest.raises(ValueError, match="empty"):
        official_cut(np.zeros(0, dtype=np.float32))


def test_in_memory_items_are_the_release_clips(dataset: Path) -> None:
    clips = clip_dataset(str(dataset), CONFIG, "train")
    items = [clips[i] for i in range(len(clips))]
    assert len(items) == 12
    for waveform, label, name in items:
        assert waveform.dtype == torch.float32 and waveform.shape == (CUT,)
        assert label == (0 if not name.startswith("F0") else 1)
        expected = official_cut(_release_clip(dataset, "train", name))
        np.testing.assert_allclose(waveform.numpy(), expected, atol=1e-6)
    assert {label for _, label, _ in items} == {0, 1}


@pytest.mark.parametrize(("world", "workers"), [(1, 3), (2, 0), (2, 3), (3, 2)])
def test_streamed_parts_partition_the_split(dataset: Path, world: int, workers: int) -> None:
    everything = sorted(clip_dataset(str(dataset), CONFIG, "test")[i][2] for i in range(12))
    parts = []
    for rank in range(world):
        stream = clip_dataset(
            str(dataset), CONFIG, "test", streaming=True, rank=rank, world_size=world,
            shuffle_seed=3,
        )  # fmt: skip
        stream.set_epoch(1)
        loader = DataLoader(stream, batch_size=2, num_workers=workers)
        parts.append([name for _, _, names in loader for name in names])
    flat = [name for part in parts for name in part]
    assert sorted(flat) == everything  # every clip once: disjoint, and nothing left out


def test_streaming_skips_named_files_and_reshuffles_per_epoch(dataset: Path) -> None:
    stream = clip_dataset(str(dataset), CONFIG, "train", streaming=True, shuffle_seed=0)
    orders = []
    for epoch in (0, 1):
        stream.set_epoch(epoch)
        orders.append([name for _, _, name in stream])
    assert sorted(orders[0]) == sorted(orders[1]) and orders[0] != orders[1]
    skip = frozenset(orders[0][:5])
    kept = clip_dataset(str(dataset), CONFIG, "train", streaming=True, skip=skip)
    assert sorted(name for _, _, name in kept) == sorted(set(orders[0]) - skip)


def test_an_undecodable_clip_names_its_file(dataset: Path) -> None:
    from codecfake_detectors.data import decode_item

    with pytest.raises(codecfake.CodecfakeError, match=r"broken\.wav: cannot decode"):
        decode_item({"audio": {"bytes": b"RIFF not audio"}, "label": 0, "file": "broken.wav"})


def test_fingerprint_names_the_data_and_follows_its_files(dataset: Path, tmp_path: Path) -> None:
    import shutil

    first = dataset_fingerprint(str(dataset), CONFIG, "train")
    assert first["releases"] and first["data_files"] >= 2
    assert first == dataset_fingerprint(str(dataset), CONFIG, "train")
    assert (
        first["data_files_sha256"]
        != dataset_fingerprint(str(dataset), CONFIG, "test")["data_files_sha256"]
    )
    copy = tmp_path / "codecfake"
    shutil.copytree(dataset, copy)
    assert (
        dataset_fingerprint(str(copy), CONFIG, "train")["data_files_sha256"]
        == (first["data_files_sha256"])
    )  # where the folder lives does not matter, its files do
    shard = sorted((copy / "data").rglob("train/*.parquet"))[0]
    shard.write_bytes(shard.read_bytes() + b"\0")
    assert dataset_fingerprint(str(copy), CONFIG, "train") != first


def test_a_missing_dataset_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(codecfake.CodecfakeError, match="nowhere"):
        clip_dataset(str(tmp_path / "nowhere"), CONFIG, "train")
