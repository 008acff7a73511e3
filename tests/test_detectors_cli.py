"""``codecfake detect``, scoring that resumes, published checkpoints and lfcc-gmm under the same
commands, through the real command line."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch
from helpers.detector_fixtures import CONFIG, make_dataset

from codecfake_cli import main as cli
from testkit.codecs_audio import speech_like
from testkit.shared_fixtures import OFFICIAL_CHECKPOINTS as OFFICIAL


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_dataset(tmp_path_factory.mktemp("cli"))


@pytest.fixture(scope="module")
def mel_run(dataset: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    run = tmp_path_factory.mktemp("mel") / "run"
    assert cli(["train", "--model", "mel-lcnn", "--dataset", str(dataset), "--config", CONFIG,
                "--out", str(run), "--max-steps", "1", "--batch-size", "4",
                "--device", "cpu", "--num-workers", "0"]) == 0  # fmt: skip
    return run


def _threshold(run: Path) -> float:
    from safetensors import safe_open

    with safe_open(str(run / "model.safetensors"), framework="pt") as handle:
        return json.loads(handle.metadata()["threshold"])


def _detect_lines(out: str) -> list[tuple[str, float, str]]:
    rows = [line.split("\t") for line in out.splitlines()]
    return [(path, float(score), decision) for path, score, decision in rows]


@pytest.fixture(scope="module")
def clip_folder(
    vctk_samples_or_none: Path | None, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """The 80 real fixture clips, or (without ../shared) 9 speech-like ones at several rates."""
    if vctk_samples_or_none is not None:
        return vctk_samples_or_none
    folder = tmp_path_factory.mktemp("clips")
    for i, rate in enumerate((16_000, 24_000, 44_100) * 3):
        soundfile.write(folder / f"clip{i}.wav", speech_like(rate, 1.0 + 0.4 * i, seed=i), rate)
    return folder


def test_detect_prints_one_line_per_clip(
    clip_folder: Path, mel_run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clips = sorted(clip_folder.glob("*.wav"))
    assert cli(["detect", str(clip_folder), "--model", str(mel_run), "--device", "cpu",
                "--batch-size", "7"]) == 0  # fmt: skip
    captured = capsys.readouterr()
    lines = _detect_lines(captured.out)
    assert [Path(path) for path, _, _ in lines] == clips
    threshold = _threshold(mel_run)
    assert all(decision == ("real" if s > threshold else "fake") for _, s, decision in lines)
    assert "validation-EER threshold" in captured.err


def test_detect_resamples_any_rate_and_format(
    mel_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The same sound as 16 kHz WAV and as 48 kHz FLAC scores (nearly) the same."""
    import soxr

    rng = np.random.default_rng(0)
    t = np.arange(48_000 * 3) / 48_000
    sound = (0.3 * np.sin(2 * np.pi * 220 * t) * (1 + 0.5 * np.sin(2 * np.pi * 3 * t))
             + 0.01 * rng.standard_normal(t.size)).astype(np.float32)  # fmt: skip
    soundfile.write(tmp_path / "a.flac", sound, 48_000)
    soundfile.write(tmp_path / "b.wav", soxr.resample(sound, 48_000, 16_000), 16_000)
    assert cli(["detect", str(tmp_path / "a.flac"), str(tmp_path / "b.wav"),
                "--model", str(mel_run), "--device", "cpu"]) == 0  # fmt: skip
    (_, flac, _), (_, wav, _) = _detect_lines(capsys.readouterr().out)
    assert flac == pytest.approx(wav, abs=0.02)


def test_detect_lists_unreadable_files_and_exits_1(
    mel_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    soundfile.write(tmp_path / "good.wav", np.zeros(8_000, dtype=np.float32) + 0.1, 8_000)
    (tmp_path / "broken.wav").write_bytes(b"RIFF\x00\x00 this is not audio")
    (tmp_path / "notes.txt").write_text("not audio, and not named: ignored")
    assert cli(["detect", str(tmp_path), "--model", str(mel_run), "--device", "cpu"]) == 1
    captured = capsys.readouterr()
    assert [Path(p).name for p, _, _ in _detect_lines(captured.out)] == ["good.wav"]
    assert "broken.wav: cannot read audio" in captured.err
    assert "1 of 2 files unreadable" in captured.err


def test_a_truncated_model_file_is_named_with_a_remedy(
    mel_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = tmp_path / "model.safetensors"
    model.write_bytes((mel_run / "model.safetensors").read_bytes()[:-1000])
    soundfile.write(tmp_path / "clip.wav", np.zeros(8_000, dtype=np.float32) + 0.1, 8_000)
    assert cli(["detect", str(tmp_path / "clip.wav"), "--model", str(model)]) == 1
    err = capsys.readouterr().err
    assert f"{model}: not a readable detector file, damaged or truncated?" in err
    assert "a bug in codecfake" not in err and len(err.strip().splitlines()) == 1


def test_score_resumes_an_interrupted_run(dataset: Path, mel_run: Path, tmp_path: Path) -> None:
    from codecfake_detectors.run import load_detector
    from codecfake_detectors.score import score_configs

    loaded = load_detector(mel_run, None, torch.device("cpu"))

    class StopAfterFirstBatch:
        def update(self, n: int) -> None:
            raise KeyboardInterrupt

    out = tmp_path / "scores.txt"
    common = dict(dataset=str(dataset), configs=[CONFIG], split="test", out=out,
                  identity="model+test", batch_size=3, num_workers=0)  # fmt: skip
    with pytest.raises(KeyboardInterrupt):
        score_configs(
            loaded.detector, torch.device("cpu"), progress=StopAfterFirstBatch(), **common
        )
    assert not out.exists()
    assert len((tmp_path / "scores.txt.partial").read_text().splitlines()) == 3
    _, scored = score_configs(loaded.detector, torch.device("cpu"), **common)
    assert scored == 8 - 3
    fresh = tmp_path / "fresh.txt"
    score_configs(loaded.detector, torch.device("cpu"), **{**common, "out": fresh})
    assert sorted(out.read_text().splitlines()) == sorted(fresh.read_text().splitlines())
    assert not list(tmp_path.glob("*.partial*"))
    # A partial file of another model or split is not mixed in.
    (tmp_path / "other.txt.partial").write_text("p999_999.wav 0.5 real\n")
    (tmp_path / "other.txt.partial.json").write_text("another model")
    score_configs(loaded.detector, torch.device("cpu"), **{**common, "out": tmp_path / "other.txt"})
    assert "p999_999.wav" not in (tmp_path / "other.txt").read_text()


def test_shared_reals_are_scored_once_across_configs(
    dataset: Path, mel_run: Path, tmp_path: Path
) -> None:
    out = tmp_path / "two.txt"
    assert cli(["score", "--model", str(mel_run), "--dataset", str(dataset), "--config", CONFIG,
                "--config", "en_C1", "--out", str(out), "--device", "cpu",
                "--num-workers", "0"]) == 0  # fmt: skip
    names = [line.split()[0] for line in out.read_text().splitlines()]
    assert len(names) == len(set(names)) == 8  # en_C1's clips are all in C1 already


@pytest.fixture
def official_mel() -> Path:
    path = OFFICIAL / "codec_mellcnn.pt"
    if not path.is_file():
        pytest.skip(f"published checkpoints not found at {OFFICIAL}")
    return path


def test_detect_with_a_published_checkpoint_gives_the_authors_scores(
    official_mel: Path, vctk_samples: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Whole clips in, through our decode, official cut (tiling the short ones), mel front-end
    and the checkpoint's back-end: the scores the authors' own code gave for the same files."""
    reference = np.load(OFFICIAL / "codec_mellcnn_reference.npz")
    paths = [str(vctk_samples / name) for name in reference["files"]]
    assert cli(["detect", *paths, "--model", str(official_mel), "--device", "cpu"]) == 0
    captured = capsys.readouterr()
    lines = _detect_lines(captured.out)
    assert [path for path, _, _ in lines] == paths
    np.testing.assert_allclose([s for _, s, _ in lines], reference["score"], atol=2e-6)
    assert "stores no threshold" in captured.err and "0.5" in captured.err
    assert all(decision == ("real" if s > 0.5 else "fake") for _, s, decision in lines)


def test_score_takes_a_published_checkpoint(
    official_mel: Path, dataset: Path, tmp_path: Path
) -> None:
    scores = tmp_path / "official.txt"
    assert cli(["score", "--model", str(official_mel), "--dataset", str(dataset),
                "--config", CONFIG, "--out", str(scores), "--device", "cpu",
                "--num-workers", "0"]) == 0  # fmt: skip
    rows = [line.split() for line in scores.read_text().splitlines()]
    assert len(rows) == 8 and all(0.0 <= float(score) <= 1.0 for _, score, _ in rows)
    assert {label for _, _, label in rows} == {"real", "fake"}


@pytest.mark.slow  # ~5.5 s here: lfcc-gmm trained and scored through the CLI
def test_lfcc_gmm_runs_under_the_same_commands(
    dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "gmm"
    assert cli(["train", "--model", "lfcc-gmm", "--dataset", str(dataset), "--config", CONFIG,
                "--out", str(run)]) == 0  # fmt: skip
    assert (run / "model.npz").is_file()
    scores = tmp_path / "gmm.txt"
    assert cli(["score", "--model", str(run), "--dataset", str(dataset), "--config", CONFIG,
                "--out", str(scores)]) == 0  # fmt: skip
    assert len(scores.read_text().splitlines()) == 8
    capsys.readouterr()
    clip = tmp_path / "clip.wav"
    soundfile.write(clip, np.random.default_rng(1).standard_normal(16_000) * 0.1, 16_000)
    assert cli(["detect", str(clip), "--model", str(run)]) == 0
    captured = capsys.readouterr()
    [(_, score, decision)] = _detect_lines(captured.out)
    assert decision == ("real" if score > 0 else "fake") and "log-likelihood" in captured.err


def test_commands_are_listed_with_examples(capsys: pytest.CaptureFixture[str]) -> None:
    for command in ("train", "score", "detect"):
        with pytest.raises(SystemExit) as exit_info:
            cli([command, "--help"])
        assert exit_info.value.code == 0
        assert "examples:" in capsys.readouterr().out
