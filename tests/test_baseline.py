"""The reference baseline: LFCC features, the GMM pair, its safe model file and its CLI."""

from __future__ import annotations

import io
import json
import pickle
import zipfile
from pathlib import Path

import datasets
import numpy as np
import pytest
import soundfile
from helpers.eer_reference import definition_eer

import codecfake
from codecfake_builder.sources.formant import (
    SpeakerVoice,
    english_syllables,
    mandarin_syllables,
    synthesize,
)
from codecfake_builder.sources.synthetic import ENGLISH_SENTENCES, MANDARIN_SENTENCES
from codecfake_cli import main as cli
from codecfake_detectors.lfcc_gmm.gmm import GmmPair, load_model, save_model
from codecfake_detectors.lfcc_gmm.lfcc import LfccConfig, lfcc, linear_filterbank
from codecfake_detectors.lfcc_gmm.stream import Clip
from codecfake_detectors.lfcc_gmm.train import fit, gather_frames
from codecfake_evaluation.eer import eer_from_classes

RATE = codecfake.SAMPLING_RATE


def speech(index: int) -> np.ndarray:
    """A speech-like utterance at 16 kHz: voices and sentences vary with ``index``."""
    rng = np.random.default_rng(index)
    voice = SpeakerVoice(
        f0=rng.uniform(95, 230), formant_scale=rng.uniform(0.92, 1.18), syllables_per_second=4.5
    )
    if index % 2:
        _, pinyin = MANDARIN_SENTENCES[index % len(MANDARIN_SENTENCES)]
        syllables = mandarin_syllables(pinyin)
    else:
        syllables = english_syllables(ENGLISH_SENTENCES[index % len(ENGLISH_SENTENCES)], rng)
    return synthesize(syllables, voice, RATE, rng)


def mp3_round_trip(signal: np.ndarray) -> np.ndarray:
    """A real lossy codec: LAME MP3 at a low constant bitrate, through libsndfile."""
    buffer = io.BytesIO()
    soundfile.write(
        buffer, signal, RATE, format="MP3", compression_level=0.9, bitrate_mode="CONSTANT"
    )
    buffer.seek(0)
    decoded, _ = soundfile.read(buffer, dtype="float32")
    return decoded[: len(signal)]


def clips(indices: range) -> list[Clip]:
    out = []
    for i in indices:
        real = speech(i)
        out.append(Clip(f"real_{i}.wav", "real", "real", "en", real))
        out.append(Clip(f"F09_real_{i}.wav", "fake", "C9", "en", mp3_round_trip(real)))
    return out


@pytest.fixture(scope="module")
def trained() -> GmmPair:
    features = LfccConfig()
    gathered = gather_frames(clips(range(12)), features)
    return fit(gathered, features, components=8, max_frames=0, seed=0)


def test_lfcc_shape_follows_the_framing() -> None:
    config = LfccConfig()
    signal = speech(0)
    features = lfcc(signal, config)
    assert features.shape == (1 + (len(signal) - config.win_length) // config.hop_length, 60)
    assert features.dtype == np.float32 and np.isfinite(features).all()
    # Without deltas only the static cepstra remain, and they are the first 20 columns.
    static = lfcc(signal, LfccConfig(delta_width=0))
    np.testing.assert_allclose(static, features[:, :20], rtol=1e-5, atol=1e-5)


def test_filterbank_is_linear_up_to_nyquist() -> None:
    bank = linear_filterbank(20, 512, RATE)
    peaks = np.linspace(0, RATE / 2, 257)[bank.argmax(axis=1)]
    spacing = np.diff(peaks)
    assert spacing.max() - spacing.min() <= RATE / 512 + 1e-9  # even spacing, within one bin
    assert peaks[-1] > 0.9 * RATE / 2  # the top filter reaches into the band mel scales blur


def test_lfcc_of_a_clip_shorter_than_a_window_is_one_frame() -> None:
    assert lfcc(np.ones(100, dtype=np.float32)).shape == (1, 60)
    with pytest.raises(ValueError, match="empty"):
        lfcc(np.zeros(0))


def test_gmm_pair_separates_real_speech_from_its_mp3_version(trained: GmmPair) -> None:
    held_out = clips(range(100, 108))  # other voices and sentences than training
    real = [trained.score(c.waveform) for c in held_out if c.label == "real"]
    fake = [trained.score(c.waveform) for c in held_out if c.label == "fake"]
    result = eer_from_classes(real, fake)
    assert result.eer < 0.25, f"EER {result.percent:.1f}% is no better than chance"
    assert np.mean(real) > np.mean(fake)  # official polarity: higher means more real


def test_model_file_round_trips_and_is_not_a_pickle(trained: GmmPair, tmp_path: Path) -> None:
    path = save_model(trained, tmp_path / "model.npz")
    with zipfile.ZipFile(path) as archive:
        assert all(name.endswith(".npy") for name in archive.namelist())
    with np.load(path, allow_pickle=False) as arrays:  # raises if any member needs unpickling
        assert {a.dtype.kind for a in arrays.values()} <= {"f", "U"}
    loaded = load_model(path)
    assert loaded.features == trained.features
    assert loaded.metadata["trained_on"] == trained.metadata["trained_on"]
    for clip in clips(range(200, 202)):
        assert loaded.score(clip.waveform) == pytest.approx(trained.score(clip.waveform), rel=1e-9)


def test_loading_refuses_a_pickle(tmp_path: Path) -> None:
    evil = tmp_path / "model.npz"
    evil.write_bytes(pickle.dumps({"real_weights": np.ones(2)}))
    with pytest.raises(codecfake.CodecfakeError, match="cannot read baseline model"):
        load_model(evil)


def _parquet_split(folder: Path, split: str, rows: list[Clip]) -> None:
    """A dataset folder as `prepare` shapes it: Parquet with embedded WAV bytes and FEATURES."""
    columns: dict[str, list] = {name: [] for name in codecfake.FEATURES}
    for clip in rows:
        data = io.BytesIO()
        soundfile.write(data, clip.waveform, RATE, format="WAV", subtype="PCM_16")
        parsed = codecfake.parse_file_name(clip.file)
        columns["audio"].append({"bytes": data.getvalue(), "path": clip.file})
        columns["file"].append(clip.file)
        columns["label"].append(codecfake.LABEL_NAMES.index(clip.label))
        columns["condition"].append(clip.condition)
        columns["codec"].append("MP3" if clip.label == "fake" else "")
        columns["language"].append(parsed.language)
        columns["speaker"].append(parsed.speaker)
        columns["utterance"].append(parsed.utterance)
    table = datasets.Dataset.from_dict(columns).cast(codecfake.FEATURES)
    table.to_parquet(str(folder / f"{split}-00000-of-00001.parquet"))


def _vctk_named(rows: list[Clip]) -> list[Clip]:
    """The same clips under release names (``p9NN_NNN.wav``, ``F09_p9NN_NNN.wav``)."""
    renamed = []
    for clip in rows:
        utterance = f"p9{int(clip.file.split('_')[-1][:-4]) % 100:02d}_001"
        name = f"F09_{utterance}.wav" if clip.label == "fake" else f"{utterance}.wav"
        renamed.append(Clip(name, clip.label, clip.condition, "en", clip.waveform))
    return renamed


@pytest.mark.slow  # ~6 s here: a real train + score through the CLI
def test_cli_trains_and_scores_a_streamed_folder(tmp_path: Path) -> None:
    folder = tmp_path / "dataset"
    folder.mkdir()
    _parquet_split(folder, "train", _vctk_named(clips(range(10))))
    test_clips = _vctk_named(clips(range(40, 46)))
    _parquet_split(folder, "test", test_clips)
    run = tmp_path / "run"
    assert cli(["baseline", "train", "--dataset", str(folder), "--out", str(run),
                "--components", "8", "--max-clips", "8"]) == 0  # fmt: skip
    config = json.loads((run / "config.json").read_text())
    assert config["components"] == 8 and config["trained_on"]["clips"] == {"real": 8, "fake": 8}
    scores = tmp_path / "scores.txt"
    assert cli(["baseline", "score", "--model", str(run), "--dataset", str(folder),
                "--split", "test", "--out", str(scores)]) == 0  # fmt: skip
    lines = [line.split() for line in scores.read_text().splitlines()]
    assert sorted(name for name, _, _ in lines) == sorted(c.file for c in test_clips)
    labels = {c.file: c.label for c in test_clips}
    assert all(label == labels[name] for name, _, label in lines)
    real = [float(s) for _, s, label in lines if label == "real"]
    fake = [float(s) for _, s, label in lines if label == "fake"]
    assert eer_from_classes(real, fake).eer < 0.25
    assert not list(tmp_path.glob("scores.txt.partial*"))


def test_scoring_resumes_from_a_partial_file(trained: GmmPair, tmp_path: Path) -> None:
    from codecfake_detectors.lfcc_gmm.score import run_identity, score_clips

    model_path = save_model(trained, tmp_path / "model.npz")
    identity = run_identity(model_path, {"split": "test"})
    rows = clips(range(300, 303))
    out = tmp_path / "scores.txt"
    _, first = score_clips(trained, rows[:2], out, identity)
    clean = out.read_text()
    # Simulate a crash: the run had scored two clips and was half-way through writing a third.
    out.rename(tmp_path / "scores.txt.partial")
    (tmp_path / "scores.txt.partial").write_text(clean + "F09_real_300.wav -1.2", encoding="utf-8")
    (tmp_path / "scores.txt.partial.json").write_text(identity, encoding="utf-8")
    _, resumed = score_clips(trained, rows, out, identity)
    assert (first, resumed) == (2, len(rows) - 2)
    fresh = tmp_path / "fresh.txt"
    score_clips(trained, rows, fresh, identity)
    assert sorted(out.read_text().splitlines()) == sorted(fresh.read_text().splitlines())


def test_cli_names_a_missing_dataset(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nowhere"
    assert cli(["baseline", "train", "--dataset", str(missing), "--out", str(tmp_path)]) == 1
    assert str(missing) in capsys.readouterr().err


def test_leave_one_out_on_real_codec_artefacts(vctk_samples: Path, tmp_path: Path) -> None:
    """The fixture figure's machinery on a subset: 3 utterances, the real clips and two codecs.

    Needs the real fixtures: the point is the public codecs' artefacts in real speech."""
    from codecfake_detectors.lfcc_gmm.leave_one_out import (
        GENUINE,
        leave_one_out_scores,
        load_features,
        report,
    )

    utterances = sorted(p.stem.split("+")[1] for p in vctk_samples.glob(f"{GENUINE}+*.wav"))[:3]
    codecs = ("encodec_24khz", "descript-audio-codec-16khz")
    for config in (GENUINE, *codecs):
        for utterance in utterances:
            name = f"{config}+{utterance}.wav"
            (tmp_path / name).symlink_to(vctk_samples / name)
    features = LfccConfig()
    clips = load_features(tmp_path, features)
    scores = leave_one_out_scores(clips, features, 4, seed=0)
    assert len(scores) == 9  # every clip scored once, by the model that never heard its utterance
    # That model, rebuilt by hand for one fold, gives the held-out clips the same scores.
    held_out = utterances[1]
    heard = {key: frames for key, frames in clips.items() if key[1] != held_out}
    fold = GmmPair.fit(
        np.concatenate([f for (config, _), f in heard.items() if config == GENUINE]),
        np.concatenate([f for (config, _), f in heard.items() if config != GENUINE]),
        features,
        components=4,
        seed=0,
    )
    for config in (GENUINE, *codecs):
        assert scores[config, held_out] == pytest.approx(fold.score_frames(clips[config, held_out]))
    # Each row is the EER of the genuine scores against that row's fakes, by the definition.
    rows = {name: (eer, n_real, n_fake) for name, eer, n_real, n_fake in report(scores)}
    real = [scores[GENUINE, u] for u in utterances]
    fakes = {codec: [scores[codec, u] for u in utterances] for codec in codecs}
    fakes["all codecs (pooled)"] = [s for codec in codecs for s in fakes[codec]]
    assert set(rows) == set(fakes)
    for name, fake in fakes.items():
        expected, _ = definition_eer(real, fake)
        assert rows[name] == (pytest.approx(100 * expected), len(real), len(fake)), name
