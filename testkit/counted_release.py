"""Write a release with the complete Codecfake release's exact counts, or a fraction of them.

:func:`write_release` lays out label files for train, dev, C1..C7 and A1..A3 and their audio
(1,254,470 files at ``scale=1``) in the official layout, the way ``make_release`` does for a
handful of clips, but fast enough for a million: every clip is a 16-bit mono WAV at 16 kHz of
noise with speech's spectrum (:func:`speech_noise`), so ``zip`` deflates it about as little as
it deflates speech, and archive benchmarks inflate a realistic amount of data. The first four
samples of each clip encode its index, so no two clips are the same bytes; the real test clips
every condition shares are the same bytes in each folder, as in the release.

``stored_files`` lists each clip once, as ``prepare`` stores it, for a baseline copy.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

import numpy as np

SPLITS = {"train": (35_433, 70_388), "dev": (4_358, 8_870), "test": (4_451, 8_777)}
"""Utterances per split, English (VCTK) and Mandarin (AISHELL-3)."""
CODECS = [f"C{k}" for k in range(1, 8)]
A3_REALS, A3_FAKES, ALM_MISSING = 49_274, 49_838, 15
RATE = 16_000
TINY_SAMPLES = 4
"""A clip of ``seconds=0``: just its index (a million of them test counts, not bytes)."""
_SPEECH_KERNEL = np.hanning(9) / np.hanning(9).sum()  # speech's energy sits low: a gentle low-pass


def speech_noise(rng: np.random.Generator, samples: int) -> np.ndarray:
    """``samples`` of 16-bit noise low-passed like speech: deflate shrinks it by about 8%, as
    it does real speech (white noise it would not shrink at all, silence to nothing)."""
    noise = np.convolve(rng.standard_normal(samples + 8), _SPEECH_KERNEL, mode="valid")
    return np.clip(noise * 6000, -32768, 32767).astype("<i2")


def wav(index: int, samples: int, rng: np.random.Generator) -> bytes:
    """A valid 16-bit mono WAV of ``samples`` (at least 4) whose first four encode ``index``."""
    body = struct.pack("<Q", index) + speech_noise(rng, samples - 4).tobytes()
    header = struct.pack(
        "<4sI4s4sIHHIIHH4sI",
        b"RIFF", 36 + len(body), b"WAVE", b"fmt ", 16, 1, 1, RATE, RATE * 2, 2, 16,
        b"data", len(body),
    )  # fmt: skip
    return header + body


class _Writer:
    def __init__(self, root: Path, samples: int) -> None:
        self.root, self.samples, self.count = root, samples, 0
        self.rng = np.random.default_rng(0)
        self.contents: dict[str, bytes] = {}  # a real clip's bytes, identical in every folder

    def clip(self, folder: str, name: str, shared: bool = False) -> None:
        if shared and name in self.contents:
            data = self.contents[name]
        else:
            data = wav(self.count, self.samples, self.rng)
            if shared:
                self.contents[name] = data
        self.count += 1
        with open(self.root / folder / name, "wb") as handle:
            handle.write(data)


def write_release(root: Path, scale: float = 1.0, seconds: float = 0.0) -> None:
    """The official layout with the complete release's counts (times ``scale``, each at least
    one) and clips of ``seconds`` (0: tiny, :data:`TINY_SAMPLES`)."""

    def n(count: int) -> int:
        return max(1, round(count * scale))

    names: dict[str, list[str]] = {}
    en_index = zh_index = 0
    for split, (en, zh) in SPLITS.items():
        english = [
            f"p{225 + (en_index + i) // 400}_{(en_index + i) % 400 + 1:03d}" for i in range(n(en))
        ]
        mandarin = [
            f"SSB{(zh_index + i) // 500:04d}{(zh_index + i) % 500 + 1:04d}" for i in range(n(zh))
        ]
        en_index, zh_index = en_index + n(en), zh_index + n(zh)
        names[split] = english + mandarin
        names[split + "_en"] = english
    writer = _Writer(root, max(TINY_SAMPLES, int(seconds * RATE)))
    labels: dict[str, list[str]] = {}
    for folder in ["train", "dev", *(f"test/{c}" for c in [*CODECS, "A1", "A2", "A3"])]:
        (root / folder).mkdir(parents=True)
    for split in ("train", "dev"):
        rows = labels.setdefault(split, [])
        for utterance in names[split]:
            writer.clip(split, f"{utterance}.wav")
            rows.append(f"{utterance}.wav real 0")
        for k in range(1, 7):
            for utterance in names[split]:
                writer.clip(split, f"F{k:02d}_{utterance}.wav")
                rows.append(f"F{k:02d}_{utterance}.wav fake {k}")
    every = names["train"] + names["dev"] + names["test"]
    for k, condition in enumerate(CODECS, start=1):
        rows = labels.setdefault(condition, [])
        for utterance in names["test"]:
            writer.clip(f"test/{condition}", f"{utterance}.wav", shared=True)
            rows.append(f"{utterance}.wav real 0")
        for utterance in every if condition == "C7" else names["test"]:
            writer.clip(f"test/{condition}", f"F{k:02d}_{utterance}.wav")
            rows.append(f"F{k:02d}_{utterance}.wav fake {k}")
    for k in (1, 2):
        condition, rows = f"A{k}", labels.setdefault(f"A{k}", [])
        for utterance in names["test_en"]:
            writer.clip(f"test/{condition}", f"{utterance}.wav", shared=True)
            rows.append(f"{utterance}.wav real L{k}")
        for utterance in names["test_en"][min(ALM_MISSING, len(names["test_en"]) - 1) :]:
            writer.clip(f"test/{condition}", f"L{k}_{utterance}.wav")
            rows.append(f"L{k}_{utterance}.wav fake L{k}")
    rows = labels.setdefault("A3", [])
    for i in range(n(A3_REALS)):
        writer.clip("test/A3", f"Y{i:011d}.wav")
        rows.append(f"Y{i:011d}.wav real L3")
    for i in range(n(A3_FAKES)):
        writer.clip("test/A3", f"{i}.wav")
        rows.append(f"{i}.wav fake L3")
    (root / "label").mkdir()
    for name, lines in labels.items():
        (root / "label" / f"{name}.txt").write_text("\n".join(lines) + "\n")


def stored_files(root: Path) -> list[Path]:
    """Each clip once, as prepare stores it: a shared real test clip from its first folder."""
    seen: dict[str, Path] = {}
    for folder in sorted(p for p in root.rglob("*") if p.is_dir() and p.name != "label"):
        with os.scandir(folder) as entries:
            for entry in entries:
                if entry.is_file():
                    key = entry.name if folder.parent.name == "test" else f"{folder}/{entry.name}"
                    seen.setdefault(key, Path(entry.path))
    return list(seen.values())
