"""Training and scoring clips straight from a prepared dataset: no feature files, ever.

The official scripts extract XLS-R features offline, one file per clip (about 690 GB for train +
dev). Here the loader hands the raw 16 kHz waveform to the model, which computes its features on
the fly. :func:`clip_dataset` turns a prepared folder or Hub id + configuration + split into a
``torch.utils.data`` dataset of ``(waveform, label, file)``: the official 64,600-sample cut (a
short clip tiled whole, then cut), label 0 = real / 1 = fake, and the release file name.

Audio is decoded by :func:`codecfake_core.audio.decode_audio_bytes` (soundfile + soxr, the
fast path of :func:`codecfake_core.audio.with_fast_audio`), in the DataLoader workers. A streamed split is
divided between distributed ranks (:func:`datasets.distributed.split_dataset_by_node`) and then
between the workers of each rank *before* decoding, so every clip is decoded once, by one worker.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset, IterableDataset, get_worker_info

import codecfake
from codecfake_core.audio import decode_audio_bytes

from .cut import official_cut

log = logging.getLogger("codecfake")

Item = tuple[torch.Tensor, int, str]
"""(waveform float32 (64600,), label 0 real / 1 fake, file name)."""

SHUFFLE_BUFFER = 1_000
"""Raw rows a shuffled stream mixes (undecoded WAV bytes: roughly 100-300 MB)."""


def collate_clips(items: list[Item]) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
    """(B, 64600) waveforms, (B,) labels, B names: the batch, stacked by NumPy.

    ``torch.stack`` (the default collate) runs on torch's intra-op threads, which in the main
    process contend with the model's: measured 20-100x slower than this plain copy on a busy
    2-core machine, and the loader's largest cost.
    """
    waveforms = torch.from_numpy(np.stack([waveform.numpy() for waveform, _, _ in items]))
    labels = torch.tensor([label for _, label, _ in items], dtype=torch.long)
    return waveforms, labels, [name for _, _, name in items]


def decode_item(row: dict[str, Any]) -> Item:
    """A raw row (``audio`` with ``decode=False``) as a training item."""
    try:
        samples = decode_audio_bytes(row["audio"]["bytes"])
        cut = official_cut(samples)
    except (RuntimeError, ValueError) as error:  # soundfile's LibsndfileError is a RuntimeError
        reason = getattr(error, "error_string", None) or str(error)  # soundfile's, without repr
        raise codecfake.CodecfakeError(
            f"{row['file']}: cannot decode its audio ({reason})"
        ) from error
    return torch.from_numpy(cut), int(row["label"]), row["file"]


def load_raw_split(dataset: str, config: str | None, split: str, streaming: bool) -> Any:
    """The split with undecoded audio; a missing folder, config or split is a user error.

    Unlike :func:`codecfake_detectors.lfcc_gmm.stream.open_split`, decoding is not attached here: it must come after
    the split between ranks and workers, so that no clip is decoded by a worker that drops it.
    """
    import datasets

    try:
        raw = datasets.load_dataset(dataset, config, split=split, streaming=streaming)
    except (ValueError, FileNotFoundError, ConnectionError) as error:
        raise codecfake.CodecfakeError(
            f"cannot load split {split!r} of config {config!r} from {dataset!r}: {error}"
        ) from error
    return raw.cast_column("audio", datasets.Audio(decode=False))


class MapClips(Dataset[Item]):
    """A split held by ``datasets`` (memory-mapped Arrow); rows are decoded when indexed.

    Shuffling and the split between ranks are the sampler's job
    (:class:`torch.utils.data.DistributedSampler`), as for any map-style dataset.
    """

    def __init__(self, raw: Any) -> None:
        self.raw = raw

    def __len__(self) -> int:
        return len(self.raw)

    def __getitem__(self, index: int) -> Item:
        return decode_item(self.raw[int(index)])

    def __getitems__(self, indices: list[int]) -> list[Item]:
        """A whole batch in one Arrow read (the DataLoader asks for it this way when it can)."""
        columns = self.raw[[int(i) for i in indices]]
        rows = zip(*columns.values(), strict=True)
        return [decode_item(dict(zip(columns, row, strict=True))) for row in rows]


class StreamClips(IterableDataset[Item]):
    """A streamed split, divided between ranks and DataLoader workers before any decoding.

    Ranks get their part from :func:`datasets.distributed.split_dataset_by_node` (whole shards
    when their count divides evenly, else every N-th clip). Within a rank, each worker takes whole
    shards when there are at least as many shards as workers, else every N-th clip, so that extra
    workers are never left idle on a dataset of few shards. ``set_epoch`` reshuffles (the same
    order on every rank, which is what keeps their parts disjoint).
    """

    def __init__(
        self,
        raw: Any,
        *,
        rank: int = 0,
        world_size: int = 1,
        shuffle_seed: int | None = None,
        length: int | None = None,
        skip: frozenset[str] = frozenset(),
    ) -> None:
        from datasets.distributed import split_dataset_by_node

        if shuffle_seed is not None:
            raw = raw.shuffle(seed=shuffle_seed, buffer_size=SHUFFLE_BUFFER)
        self.stream = split_dataset_by_node(raw, rank=rank, world_size=world_size)
        self.world_size = world_size
        self.length = length
        self.skip = skip
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        """Clips this rank sees per epoch (approximately: ranks differ by at most a few)."""
        if self.length is None:
            raise TypeError("the split's size is unknown")
        return -(-self.length // self.world_size)

    def _worker_part(self) -> Any:
        stream = self.stream
        stream.set_epoch(self.epoch)
        worker = get_worker_info()
        if worker is None or worker.num_workers == 1:
            return stream
        if stream.num_shards >= worker.num_workers:
            return stream.shard(worker.num_workers, worker.id, contiguous=False)
        count, index = worker.num_workers, worker.id
        return stream.filter(lambda _, i: i % count == index, with_indices=True)

    def __iter__(self) -> Iterator[Item]:
        # .iter() rather than iter(stream): inside a DataLoader worker, iterating a datasets
        # IterableDataset shards it by worker on its own, and would idle workers beyond its shard
        # count. Here the worker split is ours (above).
        for batch in self._worker_part().iter(batch_size=16):
            for row in zip(*batch.values(), strict=True):
                item = dict(zip(batch, row, strict=True))
                if item["file"] not in self.skip:
                    yield decode_item(item)


def clip_dataset(
    dataset: str,
    config: str | None,
    split: str,
    *,
    streaming: bool = False,
    rank: int = 0,
    world_size: int = 1,
    shuffle_seed: int | None = None,
    skip: frozenset[str] = frozenset(),
) -> MapClips | StreamClips:
    """The split as a torch dataset of ``(waveform (64600,), label, file)``.

    In memory (``streaming=False``) ``datasets`` prepares its Arrow cache once and the result is
    map-style; pair it with a ``DistributedSampler`` for several ranks. Streaming reads the shards
    as it goes and copies nothing; ``rank``/``world_size``, ``shuffle_seed`` and ``skip`` (files
    not to decode, e.g. those a resumed score file has) apply to it.
    """
    raw = load_raw_split(dataset, config, split, streaming)
    if not streaming:
        return MapClips(raw)
    sizes = raw.info.splits or {}
    length = sizes[split].num_examples if split in sizes else None
    return StreamClips(
        raw, rank=rank, world_size=world_size, shuffle_seed=shuffle_seed, length=length, skip=skip
    )


def dataset_fingerprint(dataset: str, config: str | None, split: str) -> dict[str, Any]:
    """What identifies the data a run read, cheaply (no clip is hashed).

    The data files of the split: for a folder their names relative to it and their sizes, for a
    Hub id their resolved URLs, which carry the commit. A folder made by ``codecfake prepare`` adds
    the fingerprints of the releases it was prepared from (its ``conditions.json``).
    """
    import datasets

    from codecfake_core.dataset_folder import FolderManifest, is_dataset_folder

    try:
        builder = datasets.load_dataset_builder(dataset, config)
    except (ValueError, FileNotFoundError, ConnectionError) as error:
        raise codecfake.CodecfakeError(f"cannot read {dataset!r} ({config!r}): {error}") from error
    files = builder.config.data_files.get(split, []) if builder.config.data_files else []
    folder = Path(dataset)
    entries = []
    for name in sorted(str(f) for f in files):
        path = Path(name)
        if path.is_file():
            relative = path.resolve().relative_to(folder.resolve()).as_posix()
            entries.append([relative, path.stat().st_size])
        else:
            entries.append([name, None])
    digest = hashlib.sha256(json.dumps(entries).encode()).hexdigest()[:16]
    record: dict[str, Any] = {
        "dataset": dataset,
        "config": builder.config.name,
        "split": split,
        "data_files": len(entries),
        "data_files_sha256": digest,
    }
    if folder.is_dir() and is_dataset_folder(folder):
        record["releases"] = FolderManifest.read(folder).releases
    return record
