"""A run folder: what ``codecfake train`` writes, and how ``score`` and ``detect`` read it back.

::

    RUN_DIR/config.json          every setting, the dataset's fingerprint, package versions
    RUN_DIR/model.safetensors    the back-end of the best epoch on validation; its metadata holds
                                 the model name, --ssl, the epoch, the validation EER and the
                                 EER threshold that ``detect`` decides at
    RUN_DIR/metrics.jsonl        one line per epoch: loss, validation EER, clips/s
    RUN_DIR/checkpoint/          the last finished epoch: epoch-NNN.safetensors (back-end and
                                 Adam tensors) and state.json, the commit point of a resume

The frozen SSL model is not saved (300M parameters that ``--ssl`` names). Every file is written
atomically, and ``state.json`` is written last and names its tensor file, so a run killed at any
moment resumes from a consistent epoch.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

import codecfake
from codecfake_core.io import atomic_write_bytes, atomic_write_json, atomic_write_text

CONFIG_FILE = "config.json"
MODEL_FILE = "model.safetensors"
METRICS_FILE = "metrics.jsonl"
CHECKPOINT_DIR = "checkpoint"
STATE_FILE = "state.json"
FORMAT = "codecfake-detector-1"
OPTIMIZER_PREFIX = "optimizer."


def save_tensors(path: Path, tensors: dict[str, torch.Tensor], metadata: dict[str, Any]) -> None:
    """A safetensors file (no pickle), metadata values as JSON strings."""
    from safetensors.torch import save

    tensors = {k: v.detach().to("cpu").contiguous() for k, v in tensors.items()}
    text = {k: json.dumps(v) for k, v in metadata.items()}
    atomic_write_bytes(path, save(tensors, metadata=text))


def load_tensors(path: Path, device: torch.device | str = "cpu") -> tuple[dict[str, Any], dict]:
    """Tensors and decoded metadata of a file written by :func:`save_tensors`."""
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), framework="pt", device=str(device)) as handle:
            metadata = {k: json.loads(v) for k, v in (handle.metadata() or {}).items()}
            return {k: handle.get_tensor(k) for k in handle.keys()}, metadata  # noqa: SIM118
    except (OSError, ValueError, SafetensorError) as error:
        raise codecfake.CodecfakeError(
            f"{path}: not a readable detector file, damaged or truncated? ({error}); copy it "
            "again, or retrain"
        ) from error


def save_model(run_dir: Path, backend: torch.nn.Module, metadata: dict[str, Any]) -> Path:
    path = run_dir / MODEL_FILE
    save_tensors(path, backend.state_dict(), {"format": FORMAT, **metadata})
    return path


def write_config(run_dir: Path, record: dict[str, Any]) -> None:
    atomic_write_json(run_dir / CONFIG_FILE, record)


def read_config(run_dir: Path) -> dict[str, Any] | None:
    path = run_dir / CONFIG_FILE
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise codecfake.CodecfakeError(f"{path}: unreadable run config ({error})") from error


def write_metrics(run_dir: Path, history: list[dict[str, Any]]) -> None:
    """Rewritten whole from the checkpoint's history, so it never shows an uncommitted epoch."""
    text = "".join(json.dumps(record, sort_keys=True) + "\n" for record in history)
    atomic_write_text(run_dir / METRICS_FILE, text)


@dataclass
class Checkpoint:
    """The last finished epoch, as a resumed run needs it."""

    state: dict[str, Any]
    backend: dict[str, torch.Tensor]
    optimizer: dict[str, Any]


def save_checkpoint(
    run_dir: Path,
    state: dict[str, Any],
    backend: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
) -> None:
    """Tensor file first, then ``state.json`` naming it (the commit), then drop older epochs."""
    folder = run_dir / CHECKPOINT_DIR
    name = f"epoch-{state['epoch']:03d}.safetensors"
    optimizer_state = optimizer.state_dict()
    tensors = dict(backend.state_dict())
    for index, values in optimizer_state["state"].items():
        for key, value in values.items():
            tensors[f"{OPTIMIZER_PREFIX}{index}.{key}"] = torch.as_tensor(value)
    save_tensors(folder / name, tensors, {"format": FORMAT})
    groups = [{**g, "betas": list(g["betas"])} for g in optimizer_state["param_groups"]]
    atomic_write_json(folder / STATE_FILE, {**state, "tensors": name, "param_groups": groups})
    for old in folder.glob("epoch-*.safetensors"):
        if old.name != name:
            old.unlink(missing_ok=True)


def load_checkpoint(run_dir: Path, device: torch.device) -> Checkpoint | None:
    path = run_dir / CHECKPOINT_DIR / STATE_FILE
    if not path.is_file():
        return None
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise codecfake.CodecfakeError(f"{path}: unreadable checkpoint state ({error})") from error
    tensors, _ = load_tensors(path.parent / state["tensors"], device)
    backend = {k: v for k, v in tensors.items() if not k.startswith(OPTIMIZER_PREFIX)}
    per_param: dict[int, dict[str, torch.Tensor]] = {}
    for key, value in tensors.items():
        if key.startswith(OPTIMIZER_PREFIX):
            index, name = key[len(OPTIMIZER_PREFIX) :].split(".", 1)
            per_param.setdefault(int(index), {})[name] = value
    groups = [{**g, "betas": tuple(g["betas"])} for g in state.pop("param_groups")]
    return Checkpoint(state, backend, {"state": per_param, "param_groups": groups})


@dataclass
class LoadedDetector:
    """A detector ready to score, and what ``detect`` decides with."""

    detector: torch.nn.Module
    threshold: float | None  # validation-EER threshold; None for a published checkpoint
    path: Path  # the file whose bytes identify the model (for resumable score files)
    description: str


def load_detector(model: Path, ssl: str | None, device: torch.device) -> LoadedDetector:
    """A run folder (or its model.safetensors), or a published ``.pt`` checkpoint, on ``device``.

    ``ssl`` overrides the run's recorded ``--ssl`` (e.g. the same XLS-R in another directory);
    a published W2V2 checkpoint needs it, since the file holds the back-end only.
    """
    from .models import build_detector

    if model.is_dir() or model.suffix == ".safetensors":
        path = model / MODEL_FILE if model.is_dir() else model
        if not path.is_file():
            raise codecfake.CodecfakeError(
                f"{model}: no {MODEL_FILE} (train one with `codecfake train`, or give a published "
                ".pt checkpoint)"
            )
        tensors, meta = load_tensors(path)
        if meta.get("format") != FORMAT:
            raise codecfake.CodecfakeError(f"{path}: not a detector saved by `codecfake train`")
        detector = build_detector(meta["model"], ssl or meta.get("ssl"))
        detector.backend.load_state_dict(tensors)
        threshold = meta.get("threshold")
        eer = meta.get("validation_eer")
        shown = f"{100 * eer:.3f}%" if eer is not None else "n/a"
        described = (
            f"{meta['model']} from {path} (epoch {meta.get('epoch')}, validation EER {shown})"
        )
    else:
        from .official import detector_from_official

        detector, threshold, path = detector_from_official(model, ssl), None, model
        described = f"{detector.name} from the published checkpoint {model}"
    detector.to(device).eval()
    return LoadedDetector(detector, threshold, path, described)
