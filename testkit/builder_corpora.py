"""Small VCTK and AISHELL-3 trees in their real layouts, quirks included, for builder tests.

English clips are cut from the real VCTK recordings in the shared fixtures when given (the
``vctk_samples_or_none`` fixture), written as 48 kHz FLAC as VCTK 0.92 ships them. Mandarin clips,
and English ones without the fixtures, come from the project's formant synthesiser
(:mod:`codecfake_builder.sources.synthetic`): 44.1 kHz Mandarin with tones that follow each
utterance's pinyin. Unlike that module's demo corpus, these trees carry the real corpora's quirks:
real speaker ids, p315 without text, missing mic2 files, AISHELL-3's test/ part.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import soundfile
import soxr

from codecfake_builder.sources.synthetic import CorpusSpec, render

VCTK_RATE = 48_000
AISHELL3_RATE = 44_100
FORMANT = CorpusSpec(engine="formant")  # the project's own deterministic speech synthesiser

# (speaker, utterance number, text); p315 has no text in VCTK, as in the real corpus.
VCTK_UTTERANCES = [
    ("p225", 1, "Please call Stella."),
    ("p225", 2, "Ask her to bring these things with her from the store."),
    ("p225", 3, "Six spoons of fresh snow peas."),
    ("p295", 1, "Five thick slabs of blue cheese."),
    ("p295", 2, "And maybe a snack for her brother Bob."),
    ("p315", 1, None),
    ("p315", 2, None),
    ("p318", 1, "We also need a small plastic snake."),
    ("p318", 2, "And a big toy frog for the kids."),
    ("p343", 1, "She can scoop these things into three red bags."),
    ("p351", 1, "And we will go meet her Wednesday."),
    ("p351", 2, "At the train station."),
]

# (speaker, utterance number, characters with pinyin)
AISHELL3_UTTERANCES = [
    (
        "SSB0005",
        1,
        [
            ("广", "guang3"),
            ("州", "zhou1"),
            ("女", "nv3"),
            ("大", "da4"),
            ("学", "xue2"),
            ("生", "sheng1"),
        ],
    ),
    ("SSB0005", 2, [("登", "deng1"), ("山", "shan1"), ("失", "shi1"), ("联", "lian2")]),
    ("SSB0005", 3, [("你", "ni3"), ("好", "hao3")]),
    (
        "SSB0009",
        1,
        [
            ("今", "jin1"),
            ("天", "tian1"),
            ("天", "tian1"),
            ("气", "qi4"),
            ("很", "hen3"),
            ("好", "hao3"),
        ],
    ),
    ("SSB0009", 2, [("我", "wo3"), ("们", "men5"), ("走", "zou3"), ("吧", "ba5")]),
    ("SSB0009", 3, [("绿", "lv4"), ("色", "se4")]),
    ("SSB1365", 58, [("打", "da3"), ("开", "kai1"), ("音", "yin1"), ("乐", "yue4")]),
    ("SSB1365", 59, [("儿", "er2"), ("童", "tong2"), ("节", "jie2")]),
    ("SSB1365", 60, [("北", "bei3"), ("京", "jing1")]),
    ("SSB1831", 1, [("上", "shang4"), ("海", "hai3"), ("的", "de5"), ("雨", "yu3")]),
]
AISHELL3_TEST_SPEAKERS = {"SSB1365"}  # AISHELL-3's own split, which Codecfake ignores


SEGMENT_SECONDS = 1.2  # every English clip's length, real or generated, so tests expect one value


def vctk_segments(vctk_samples: Path | None, count: int) -> list[np.ndarray]:
    """``count`` 1.2 s speech segments at 48 kHz: pieces of the real VCTK clips when
    ``vctk_samples`` is given, else the formant synthesiser reading each utterance's text."""
    length = int(SEGMENT_SECONDS * VCTK_RATE)
    if vctk_samples is None:
        return [
            _fit(render("en", i % 3, text or "Please call Stella.", "", VCTK_RATE, FORMANT), length)
            for i, (_, _, text) in zip(range(count), VCTK_UTTERANCES, strict=False)
        ]
    clips = []
    for path in sorted(vctk_samples.glob("genuine+*.wav")):
        audio, rate = soundfile.read(path, dtype="float32")
        clips.append(soxr.resample(audio, rate, VCTK_RATE))
    segments = []
    for i in range(count):
        clip = clips[i % len(clips)]
        piece = i // len(clips)
        segments.append(clip[piece * length : (piece + 1) * length])
    return segments


def _fit(audio: np.ndarray, length: int) -> np.ndarray:
    """Cut, or pad with silence, to exactly ``length`` samples."""
    return np.pad(audio[:length], (0, max(0, length - len(audio))))


def make_vctk_092(
    root: Path, vctk_samples: Path | None, *, mic2_missing: Sequence[str] = (), count: int = 12
) -> Path:
    """VCTK 0.92: FLAC for mic1 and mic2, transcripts in txt/, none for p315."""
    chosen = VCTK_UTTERANCES[:count]
    segments = vctk_segments(vctk_samples, len(chosen))
    for (speaker, number, text), audio in zip(chosen, segments, strict=True):
        utterance = f"{speaker}_{number:03d}"
        folder = root / "wav48_silence_trimmed" / speaker
        folder.mkdir(parents=True, exist_ok=True)
        soundfile.write(folder / f"{utterance}_mic1.flac", audio, VCTK_RATE)
        if utterance not in mic2_missing:
            soundfile.write(folder / f"{utterance}_mic2.flac", 0.8 * audio, VCTK_RATE)
        if text is not None:
            (root / "txt" / speaker).mkdir(parents=True, exist_ok=True)
            (root / "txt" / speaker / f"{utterance}.txt").write_text(text + "\n")
    return root


def make_aishell3(root: Path, *, count: int = 10) -> Path:
    """AISHELL-3: train/ and test/, each with wav/<speaker>/ and content.txt."""
    lines: dict[str, list[str]] = {"train": [], "test": []}
    for i, (speaker, number, pairs) in enumerate(AISHELL3_UTTERANCES[:count]):
        part = "test" if speaker in AISHELL3_TEST_SPEAKERS else "train"
        name = f"{speaker}{number:04d}.wav"
        folder = root / part / "wav" / speaker
        folder.mkdir(parents=True, exist_ok=True)
        characters = "".join(c for c, _ in pairs)
        pinyin = " ".join(p for _, p in pairs)
        audio = render("zh", i % 4, characters, pinyin, AISHELL3_RATE, FORMANT)
        soundfile.write(folder / name, audio, AISHELL3_RATE, subtype="PCM_16")
        lines[part].append(name + "\t" + " ".join(f"{c} {p}" for c, p in pairs))
    for part, rows in lines.items():
        (root / part).mkdir(parents=True, exist_ok=True)
        (root / part / "content.txt").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return root
