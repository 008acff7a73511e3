"""Training a detector with the paper's recipe, from the loader, resumable, on one or N ranks.

The recipe (codec-trained models, the paper's Table IV): cross-entropy weighted real 10 : fake 1
(the only counter to the 1:6 class imbalance; there is no balanced sampler), Adam 5e-4 with
betas (0.9, 0.999), eps 1e-8 and weight decay 5e-4, the learning rate halved every 2 epochs over
10 epochs, batch 128, seed 688, and the epoch kept is the best on ``validation`` by EER.

The front-end is fixed, so it runs under ``no_grad`` and only the back-end trains (and, under
``torchrun``, only the back-end is wrapped in DDP). ``--batch-size`` is the global batch: each
of N ranks takes 1/N of it, so the recipe does not change with N. Every epoch starts from a
seed derived from ``seed`` and the epoch, which is what makes a resumed run continue exactly
where the killed one would have gone.
"""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DistributedSampler

import codecfake
from codecfake_core.environment import package_versions

from . import run as run_files
from .data import MapClips, StreamClips, clip_dataset, dataset_fingerprint
from .optim import SharpnessAware, build_optimizer
from .runtime import Ranks, all_ranks_have, barrier, gather, start_ranks, stop_ranks
from .score import loader_for, predict

log = logging.getLogger("codecfake")

FREE_TO_CHANGE = ("device", "num_workers")
"""Settings a resumed run may change: where it computes, not what it computes."""


@dataclass(frozen=True)
class TrainSettings:
    """One training run, as the command line gives it; the defaults are the paper's recipe."""

    model: str
    dataset: str
    config: str | None
    out: Path
    ssl: str | None = None
    epochs: int = 10
    batch_size: int = 128
    lr: float = 5e-4
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8
    weight_decay: float = 5e-4
    lr_halving_epochs: int = 2
    class_weights: tuple[float, float] = (10.0, 1.0)  # real, fake
    seed: int = 688
    optimizer: str = "adam"
    rho: float | None = None
    max_steps: int = 0
    streaming: bool = False
    train_split: str = "train"
    validation_split: str = "validation"
    device: str = "cpu"
    num_workers: int = 2

    def recipe(self) -> dict[str, Any]:
        """Every setting that decides the weights, JSON-shaped: a resume must match all of them."""
        record = asdict(self)
        for name in (*FREE_TO_CHANGE, "out"):
            record.pop(name)
        record["betas"] = list(self.betas)
        record["class_weights"] = list(self.class_weights)
        return record

    def lr_at(self, epoch: int) -> float:
        return self.lr * 0.5 ** (epoch // self.lr_halving_epochs)


@dataclass
class TrainResult:
    out: Path
    history: list[dict[str, Any]] = field(default_factory=list)
    resumed_after: int = 0  # epochs a previous run had finished
    already_finished: bool = False
    best: dict[str, Any] | None = None


EpochCallback = Callable[[dict[str, Any]], None]


def check_settings(out: Path, settings: TrainSettings) -> dict[str, Any] | None:
    """The recorded config of an earlier run in ``out``; refuses one of another recipe, by name."""
    recorded = run_files.read_config(out)
    if recorded is None:
        return None
    before = recorded.get("settings", {})
    changed = [
        f"--{name.replace('_', '-')} was {before.get(name)!r}, now {value!r}"
        for name, value in settings.recipe().items()
        if before.get(name) != value
    ]
    if changed:
        raise codecfake.CodecfakeError(
            f"{out / run_files.CONFIG_FILE}: this run was started with other settings "
            f"({'; '.join(changed)}); rerun the same command to resume, or give a new --out"
        )
    return recorded


def run_config(settings: TrainSettings, ranks: Ranks) -> dict[str, Any]:
    return {
        "settings": settings.recipe(),
        "dataset": dataset_fingerprint(settings.dataset, settings.config, settings.train_split),
        "validation": dataset_fingerprint(
            settings.dataset, settings.config, settings.validation_split
        ),
        "world_size": ranks.world_size,
        "versions": package_versions(),
    }


def _loader(clips: MapClips | StreamClips, batch: int, settings: TrainSettings, ranks: Ranks,
            device: torch.device, *, shuffle: bool) -> tuple[Any, Any]:  # fmt: skip
    """The DataLoader for one rank, and what must hear ``set_epoch`` (sampler or stream)."""
    if isinstance(clips, StreamClips):
        return loader_for(clips, batch, settings.num_workers, device), clips
    sampler = DistributedSampler(
        clips, ranks.world_size, ranks.rank, shuffle=shuffle, seed=settings.seed, drop_last=shuffle
    )
    return loader_for(clips, batch, settings.num_workers, device, sampler=sampler), sampler


def validation_eer(
    detector: Any, loader: Any, device: torch.device, ranks: Ranks
) -> tuple[float | None, float | None, int]:
    """EER and its threshold on the validation split, every rank scoring its part.

    A map-style split is padded to equal parts, so clips are counted once by file name.
    """
    from codecfake_evaluation.eer import EvaluationError, PolarityWarning, eer

    mine: dict[str, tuple[float, int]] = {}
    for batch in predict(detector, loader, device):
        pairs = zip(batch.scores.tolist(), batch.labels, strict=True)
        mine.update(zip(batch.files, pairs, strict=True))
    merged: dict[str, tuple[float, int]] = {}
    for part in gather(mine, ranks):
        merged.update(part)
    if not merged:
        return None, None, 0
    scores = np.array([s for s, _ in merged.values()])
    labels = np.array([label for _, label in merged.values()])
    try:
        with warnings.catch_warnings():  # an EER above 50% is routine early in training
            warnings.simplefilter("ignore", PolarityWarning)
            result = eer(scores, labels)
    except EvaluationError as error:
        log.warning("validation EER unavailable: %s", error)
        return None, None, len(merged)
    return result.eer, result.threshold, len(merged)


def _is_better(eer: float | None, best: dict[str, Any] | None) -> bool:
    if best is None:
        return True
    if eer is None:
        return False
    return best.get("validation_eer") is None or eer < best["validation_eer"]


def train(
    settings: TrainSettings,
    *,
    progress: Callable[..., Any] | None = None,
    on_epoch: EpochCallback | None = None,
) -> TrainResult:
    """Train (or resume) the run in ``settings.out``. Every rank of a torchrun launch calls this.

    ``progress(total=..., desc=...)`` makes a tqdm-like bar (rank 0 only); ``on_epoch`` hears
    each committed epoch's metrics record.
    """
    ranks, device = start_ranks(settings.device)
    try:
        return _train(settings, ranks, device, progress, on_epoch)
    finally:
        stop_ranks(ranks)


@dataclass
class _Model:
    """What one rank trains with: the detector, its (maybe DDP-wrapped) back-end, the optimiser."""

    detector: Any
    backend: torch.nn.Module
    adam: torch.optim.Adam
    sharpness: SharpnessAware | None
    criterion: torch.nn.Module

    def step(self, waveforms: torch.Tensor, labels: torch.Tensor) -> float:
        """One optimiser step on a batch; the fixed front-end runs once, outside autograd."""
        with torch.no_grad():
            features = self.detector.frontend(waveforms)

        def backward() -> torch.Tensor:
            loss = self.criterion(self.backend(features), labels)
            loss.backward()
            return loss

        self.adam.zero_grad(set_to_none=True)
        loss = backward()
        if self.sharpness is None:
            self.adam.step()
        else:
            self.sharpness.step(backward)
        return float(loss.detach())


def _build(settings: TrainSettings, ranks: Ranks, device: torch.device, checkpoint: Any) -> _Model:
    from .models import build_detector

    torch.manual_seed(settings.seed)
    detector = build_detector(settings.model, settings.ssl).to(device)
    adam, sharpness = build_optimizer(
        settings.optimizer,
        detector.backend.parameters(),
        lr=settings.lr,
        betas=settings.betas,
        eps=settings.eps,
        weight_decay=settings.weight_decay,
        rho=settings.rho,
    )
    if checkpoint:
        detector.backend.load_state_dict(checkpoint.backend)
        adam.load_state_dict(checkpoint.optimizer)
    backend: torch.nn.Module = detector.backend
    if ranks.distributed:
        from torch.nn.parallel import DistributedDataParallel

        ids = [device.index] if device.type == "cuda" else None
        backend = DistributedDataParallel(detector.backend, device_ids=ids)
    weights = torch.tensor(settings.class_weights, dtype=torch.float32, device=device)
    return _Model(detector, backend, adam, sharpness, torch.nn.CrossEntropyLoss(weight=weights))


def _train(
    settings: TrainSettings,
    ranks: Ranks,
    device: torch.device,
    progress: Callable[..., Any] | None,
    on_epoch: EpochCallback | None,
) -> TrainResult:
    out = settings.out
    if settings.batch_size % ranks.world_size:
        raise codecfake.CodecfakeError(
            f"--batch-size {settings.batch_size} is the global batch: it must divide evenly "
            f"between the {ranks.world_size} ranks"
        )
    if check_settings(out, settings) is None and ranks.is_main:
        out.mkdir(parents=True, exist_ok=True)
        run_files.write_config(out, run_config(settings, ranks))
    barrier(ranks)
    checkpoint = run_files.load_checkpoint(out, device)
    state = checkpoint.state if checkpoint else {"epoch": 0, "steps": 0, "history": []}
    result = TrainResult(out, list(state["history"]), state["epoch"], best=state.get("best"))
    if state["epoch"] >= settings.epochs or (
        settings.max_steps and state["steps"] >= settings.max_steps
    ):
        result.already_finished = True
        return result
    model = _build(settings, ranks, device, checkpoint)

    per_rank = settings.batch_size // ranks.world_size
    common = {"streaming": settings.streaming, "rank": ranks.rank, "world_size": ranks.world_size}
    train_clips = clip_dataset(
        settings.dataset,
        settings.config,
        settings.train_split,
        shuffle_seed=settings.seed,
        **common,
    )
    valid_clips = clip_dataset(
        settings.dataset, settings.config, settings.validation_split, **common
    )
    train_loader, train_epochs = _loader(
        train_clips, per_rank, settings, ranks, device, shuffle=True
    )
    valid_loader, _ = _loader(valid_clips, per_rank, settings, ranks, device, shuffle=False)
    total = len(train_clips) if isinstance(train_clips, MapClips) else train_clips.length

    steps = state["steps"]
    for epoch in range(state["epoch"], settings.epochs):
        lr = settings.lr_at(epoch)
        for group in model.adam.param_groups:
            group["lr"] = lr
        torch.manual_seed(settings.seed + epoch)
        train_epochs.set_epoch(epoch)
        model.backend.train()
        started = time.perf_counter()
        show = progress is not None and ranks.is_main
        bar = progress(total=total, desc=f"epoch {epoch + 1}/{settings.epochs}") if show else None
        loss_sum, clips = 0.0, 0
        batches = iter(train_loader)
        while not settings.max_steps or steps < settings.max_steps:
            batch = next(batches, None)
            if not all_ranks_have(batch is not None, ranks, device):
                break
            waveforms, labels, files = batch
            log.debug("rank %d step %d files %s", ranks.rank, steps, " ".join(files))
            loss = model.step(
                waveforms.to(device, non_blocking=True), labels.to(device, non_blocking=True)
            )
            steps += 1
            loss_sum, clips = loss_sum + loss * len(labels), clips + len(labels)
            if bar is not None:
                bar.update(len(labels) * ranks.world_size)
                bar.set_postfix(loss=f"{loss:.4f}", refresh=False)
        del batches  # ends this epoch's workers before validation starts its own
        if bar is not None:
            bar.close()
        seconds = time.perf_counter() - started
        totals = gather((loss_sum, clips), ranks)
        all_clips = sum(n for _, n in totals)
        eer, threshold, n_valid = validation_eer(model.detector, valid_loader, device, ranks)
        record = {
            "epoch": epoch + 1,
            "steps": steps,
            "lr": lr,
            "train_loss": sum(s for s, _ in totals) / all_clips if all_clips else None,
            "train_clips": all_clips,
            "clips_per_second": all_clips / seconds if seconds else None,
            "validation_eer": eer,
            "validation_threshold": threshold,
            "validation_clips": n_valid,
        }
        if ranks.is_main:
            _commit(settings, model, result, record)
        barrier(ranks)
        if ranks.is_main and on_epoch is not None:
            on_epoch(record)
        if settings.max_steps and steps >= settings.max_steps:
            break
    return result


def _commit(
    settings: TrainSettings, model: _Model, result: TrainResult, record: dict[str, Any]
) -> None:
    """Rank 0: the best model when this epoch is it, then the checkpoint, then metrics.jsonl."""
    out, backend = settings.out, model.detector.backend
    record["best"] = _is_better(record["validation_eer"], result.best)
    if record["best"]:
        result.best = {
            "epoch": record["epoch"],
            "validation_eer": record["validation_eer"],
            "threshold": record["validation_threshold"],
        }
        meta = {"model": settings.model, "ssl": model.detector.ssl, **result.best}
        run_files.save_model(out, backend, meta)
    result.history.append(record)
    state = {
        "epoch": record["epoch"],
        "steps": record["steps"],
        "history": result.history,
        "best": result.best,
    }
    run_files.save_checkpoint(out, state, backend, model.adam)
    run_files.write_metrics(out, result.history)
