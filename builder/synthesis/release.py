"""The official release layout: where each clip goes, how its audio is written, its label files.

Every clip, real or fake, is written the same way (16-bit PCM WAV at one rate), so neither the
container nor the sample rate tells a detector which is which.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np
import soundfile

from codecfake import CONDITIONS_FILE, RELEASE_SPLIT_DIR, Condition
from codecfake_core.io import atomic_write_json, atomic_write_text
from codecfake_core.labels import format_label_line


def split_folder(split: str, condition: str) -> str:
    """``train``, ``dev``, or ``test/<condition>``: test sets have one folder per condition."""
    if split == "test":
        return f"test/{condition}"
    return RELEASE_SPLIT_DIR[split]


def label_file_of(release_path: str) -> str:
    """The label file that lists a clip: ``train/x.wav`` -> ``train.txt``, ``test/C1/x`` -> ``C1.txt``."""
    parts = release_path.split("/")
    return f"{parts[1] if parts[0] == 'test' else parts[0]}.txt"


def encode_wav(samples: np.ndarray, sample_rate: int) -> bytes:
    """Mono 16-bit PCM WAV bytes. Clipping and rounding happen here, explicitly, so the bytes
    depend only on the samples (libsndfile's own float conversion does not clip)."""
    scaled = np.asarray(samples, dtype=np.float32) * np.float32(32767.0)  # a new array
    np.rint(scaled, out=scaled)
    np.clip(scaled, -32767.0, 32767.0, out=scaled)
    pcm = scaled.astype(np.int16)
    buffer = io.BytesIO()
    soundfile.write(buffer, pcm, sample_rate, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


def write_label_files(release_dir: Path, rows: Iterable[tuple[str, str, str]]) -> list[Path]:
    """Label files from (release path, label, idx) rows: reals first, then fakes, by file name."""
    by_file: dict[str, list[tuple[str, str, str]]] = {}
    for release_path, label, idx in rows:
        by_file.setdefault(label_file_of(release_path), []).append(
            (label, Path(release_path).name, idx)
        )
    written = []
    for name, entries in sorted(by_file.items()):
        entries.sort(key=lambda e: (e[0] != "real", e[1]))
        text = "".join(format_label_line(file, label, idx) for label, file, idx in entries)
        target = release_dir / "label" / name
        atomic_write_text(target, text)
        written.append(target)
    return written


def write_conditions_file(release_dir: Path, conditions: Mapping[str, Condition]) -> None:
    """Declare conditions beyond the built-ins (C8+) so ``codecfake prepare`` knows them."""
    target = release_dir / "label" / CONDITIONS_FILE
    if not conditions:
        target.unlink(missing_ok=True)
        return
    entries = [conditions[name].to_dict() for name in sorted(conditions)]
    atomic_write_json(target, entries)
