"""VCTK (English): the 0.92 FLAC release and the older 0.80 WAV release.

0.92: ``wav48_silence_trimmed/<speaker>/<utt>_mic1.flac`` (and ``_mic2``), text in
``txt/<speaker>/<utt>.txt``. 0.80: ``wav48/<speaker>/<utt>.wav`` with the same ``txt/`` tree.
Codecfake names drop the microphone suffix: ``p225_001_mic1.flac`` becomes ``p225_001``.
"""

from __future__ import annotations

import os
from pathlib import Path

from .manifest import CorpusError, Utterance, with_headers

LANGUAGE = "en"
MICROPHONES = ("mic1", "mic2")


def prepare_vctk(corpus_dir: os.PathLike[str] | str, *, mic: str = "mic1") -> list[Utterance]:
    """Every VCTK utterance with audio, sorted by id, from either release layout.

    ``mic`` picks the 0.92 microphone; the 0.80 release has one recording per utterance.
    """
    if mic not in MICROPHONES:
        raise ValueError(f"mic must be one of {MICROPHONES}, got {mic!r}")
    root = Path(corpus_dir)
    if (root / "wav48_silence_trimmed").is_dir():
        audio = _release_092(root / "wav48_silence_trimmed", mic)
    elif (root / "wav48").is_dir():
        audio = {p.stem: p for p in (root / "wav48").glob("*/*.wav")}
    else:
        raise CorpusError(
            root,
            "not a VCTK folder: expected wav48_silence_trimmed/ (VCTK 0.92) or wav48/ (VCTK 0.80)",
        )
    if not audio:
        raise CorpusError(root, "VCTK folder holds no audio files in the expected layout")
    drafts = []
    for utterance_id in sorted(audio):
        speaker = utterance_id.split("_")[0]
        text = _transcript(root / "txt" / speaker / f"{utterance_id}.txt")
        fields = {"id": utterance_id, "speaker": speaker, "language": LANGUAGE, "text": text}
        drafts.append((audio[utterance_id], fields))
    return with_headers(root, drafts)


def _release_092(wav_dir: Path, mic: str) -> dict[str, Path]:
    """utterance id -> its recording at ``mic``, or at the other microphone when that is missing."""
    by_mic: dict[str, dict[str, Path]] = {m: {} for m in MICROPHONES}
    for path in wav_dir.glob("*/*.flac"):
        stem, _, suffix = path.stem.rpartition("_")
        if suffix in by_mic:
            by_mic[suffix][stem] = path
    other = next(m for m in MICROPHONES if m != mic)
    # Some recordings exist for one microphone only (e.g. several p280/p362 mic2 files).
    return {**by_mic[other], **by_mic[mic]}


def _transcript(path: Path) -> str:
    # p315 has no transcripts at all, and a few other utterances lack one: keep the audio, text "".
    if not path.is_file():
        return ""
    return path.read_text(encoding="utf-8", errors="replace").strip()
