"""``codecfake train`` and ``codecfake score`` end to end, resume, SAM/ASAM, and two torchrun ranks.

Every run trains on a dataset folder that ``codecfake prepare`` built in tmp_path, through the
real command line; the W2V2 models read a random-weight Wav2Vec2Model saved with
``save_pretrained``.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers.detector_fixtures import CONFIG, make_dataset, make_tiny_ssl
from safetensors.torch import load_file

from codecfake_cli import main as cli
from codecfake_detectors.optim import ASAM_ETA, build_optimizer
from codecfake_detectors.train import TrainSettings, train

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_dataset(tmp_path_factory.mktemp("detectors"))


@pytest.fixture(scope="module")
def tiny_ssl(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_ssl(tmp_path_factory.mktemp("ssl") / "wav2vec2")


def _train_args(model: str, dataset: Path, out: Path, *extra: str) -> list[str]:
    return ["train", "--model", model, "--dataset", str(dataset), "--config", CONFIG,
            "--out", str(out), "--device", "cpu", "--num-workers", "0", *extra]  # fmt: skip


def _expected_test_files(dataset: Path) -> dict[str, str]:
    """file -> label of the test split, read from the Parquet shards without our loader."""
    import datasets

    split = datasets.load_dataset(str(dataset), CONFIG, split="test", streaming=True)
    names = split.features["label"].names
    return {row["file"]: names[row["label"]] for row in split.select_columns(["file", "label"])}


def _train_score_eval(
    model: str, dataset: Path, tmp_path: Path, capsys, *extra: str
) -> tuple[Path, Path]:
    run = tmp_path / "run"
    assert (
        cli(_train_args(model, dataset, run, "--max-steps", "2", "--batch-size", "4", *extra)) == 0
    )
    metrics = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [m["steps"] for m in metrics] == [2]
    assert metrics[0]["train_clips"] == 8 and metrics[0]["validation_clips"] == 8
    config = json.loads((run / "config.json").read_text())
    assert config["settings"]["model"] == model and config["settings"]["seed"] == 688
    assert config["dataset"]["split"] == "train" and config["dataset"]["data_files_sha256"]
    assert "torch" in config["versions"]
    saved = load_file(run / "model.safetensors")
    assert not any(name.startswith("frontend") or "wav2vec" in name for name in saved)

    scores = tmp_path / "test.txt"
    assert cli(["score", "--model", str(run), "--dataset", str(dataset), "--config", CONFIG,
                "--out", str(scores), "--device", "cpu", "--num-workers", "0"]) == 0  # fmt: skip
    lines = [line.split() for line in scores.read_text().splitlines()]
    expected = _expected_test_files(dataset)
    assert {name: label for name, _, label in lines} == expected
    assert len(lines) == len(expected)
    assert all(0.0 <= float(score) <= 1.0 for _, score, _ in lines)
    capsys.readouterr()
    assert cli(["eval", str(scores), "--json", "--bootstrap", "0"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert "C1" in json.dumps(report)
    return run, scores


def test_mel_lcnn_trains_scores_and_evaluates(dataset: Path, tmp_path: Path, capsys) -> None:
    run, scores = _train_score_eval("mel-lcnn", dataset, tmp_path, capsys)
    _check_a_score_by_hand(dataset, run, scores)


@pytest.mark.slow
@pytest.mark.parametrize("model", ["w2v2-lcnn", "w2v2-aasist"])
def test_w2v2_models_train_score_and_evaluate(
    model: str, dataset: Path, tiny_ssl: Path, tmp_path: Path, capsys
) -> None:
    _train_score_eval(model, dataset, tmp_path, capsys, "--ssl", str(tiny_ssl))
    meta = json.loads(json.dumps(_metadata(tmp_path / "run" / "model.safetensors")))
    assert json.loads(meta["ssl"]) == str(tiny_ssl)


def _metadata(path: Path) -> dict[str, str]:
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as handle:
        return handle.metadata()


class _Interrupt:
    """Stops the run the way Ctrl-C does, once epoch ``after`` is committed."""

    def __init__(self, after: int) -> None:
        self.after = after

    def __call__(self, record: dict) -> None:
        if record["epoch"] == self.after:
            raise KeyboardInterrupt


@pytest.mark.slow
def test_a_killed_run_resumes_from_its_last_epoch(
    dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def settings(out: Path) -> TrainSettings:
        return TrainSettings("mel-lcnn", str(dataset), CONFIG, out, epochs=3, batch_size=4,
                             device="cpu", num_workers=0)  # fmt: skip

    straight = train(settings(tmp_path / "straight"))
    assert [r["epoch"] for r in straight.history] == [1, 2, 3]

    killed = tmp_path / "killed"
    with pytest.raises(KeyboardInterrupt):
        train(settings(killed), on_epoch=_Interrupt(after=1))
    state = json.loads((killed / "checkpoint" / "state.json").read_text())
    assert state["epoch"] == 1
    assert [
        json.loads(x)["epoch"] for x in (killed / "metrics.jsonl").read_text().splitlines()
    ] == [1]

    capsys.readouterr()
    assert cli(_train_args("mel-lcnn", dataset, killed, "--epochs", "3", "--batch-size", "4")) == 0
    out = capsys.readouterr().out
    assert "resumed after epoch 1" in out
    assert re.findall(r"^epoch (\d+):", out, re.MULTILINE) == ["2", "3"]  # epoch 1 not redone
    resumed = [json.loads(x) for x in (killed / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in resumed] == [1, 2, 3]
    assert [r["steps"] for r in resumed] == [r["steps"] for r in straight.history]
    # Seeds per epoch and the restored Adam state make the resumed run the uninterrupted one.
    final = load_file(killed / "checkpoint" / "epoch-003.safetensors")
    reference = load_file(tmp_path / "straight" / "checkpoint" / "epoch-003.safetensors")
    assert final.keys() == reference.keys()
    for name in final:
        torch.testing.assert_close(final[name], reference[name], rtol=1e-5, atol=1e-6)
    # Rerunning a finished run does nothing.
    assert cli(_train_args("mel-lcnn", dataset, killed, "--epochs", "3", "--batch-size", "4")) == 0
    assert "already trained" in capsys.readouterr().out


def test_a_rerun_with_other_settings_is_refused(
    dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "run"
    assert cli(_train_args("mel-lcnn", dataset, run, "--max-steps", "1", "--batch-size", "4")) == 0
    capsys.readouterr()
    again = _train_args("mel-lcnn", dataset, run, "--max-steps", "1", "--batch-size", "4",
                        "--lr", "0.001")  # fmt: skip
    assert cli(again) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--lr was 0.0005, now 0.001" in err[0]


def test_an_absent_device_is_refused_in_one_line(
    dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    args = _train_args("mel-lcnn", dataset, tmp_path / "run", "--max-steps", "1")
    args[args.index("--device") + 1] = "cuda:1"
    assert cli(args) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "cuda:1" in err[0] and "no CUDA GPU" in err[0]
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("kind", ["sam", "asam"])
def test_sharpness_aware_step_follows_the_papers_formula(kind: str) -> None:
    """One step by hand: perturb by rho * T^2 g / ||T g||, gradient there, Adam from w."""
    torch.manual_seed(0)
    target = torch.randn(5)
    w0 = torch.randn(5)

    def loss_of(w: torch.Tensor) -> torch.Tensor:
        return ((w - target) ** 2 * torch.arange(1.0, 6.0)).sum() + (w**4).sum()

    weight = torch.nn.Parameter(w0.clone())
    adam, sharpness = build_optimizer(
        kind, [weight], lr=0.1, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, rho=0.2
    )
    assert sharpness is not None
    loss_of(weight).backward()
    sharpness.step(lambda: loss_of(weight).backward())

    g = torch.func.grad(loss_of)(w0)
    scale = w0.abs() + ASAM_ETA if kind == "asam" else torch.ones(5)
    e = 0.2 * scale**2 * g / torch.linalg.norm(scale * g)
    g_sharp = torch.func.grad(loss_of)(w0 + e)
    reference = torch.nn.Parameter(w0.clone())
    plain = torch.optim.Adam([reference], lr=0.1, betas=(0.9, 0.999), eps=1e-8)
    reference.grad = g_sharp
    plain.step()
    torch.testing.assert_close(weight.detach(), reference.detach())
    assert not torch.allclose(g_sharp, g)  # the perturbation did change the gradient used
    assert adam.state[weight]["step"] == 1


WORKER = """\
import logging, os, sys
from pathlib import Path
log_dir = Path(sys.argv[1])
handler = logging.FileHandler(log_dir / f"rank-{os.environ['RANK']}.log")
logger = logging.getLogger("codecfake")
logger.addHandler(handler)
logger.setLevel(logging.DEBUG)
from codecfake_cli import build_parser
args = build_parser().parse_args(sys.argv[2:])
sys.exit(args._run(args))
"""


@pytest.mark.slow
@pytest.mark.parametrize("streaming", [False, True], ids=["in-memory", "streaming"])
def test_two_torchrun_ranks_see_disjoint_batches(
    dataset: Path, tmp_path: Path, streaming: bool
) -> None:
    worker = tmp_path / "worker.py"
    worker.write_text(WORKER)
    run = tmp_path / "run"
    args = _train_args("mel-lcnn", dataset, run, "--max-steps", "2", "--batch-size", "4")
    if streaming:
        args.append("--streaming")
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2",
               "--standalone", str(worker), str(tmp_path), *args]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]
    seen = {}
    for rank in (0, 1):
        lines = (tmp_path / f"rank-{rank}.log").read_text().splitlines()
        steps = [line.split() for line in lines if line.startswith(f"rank {rank} step")]
        assert [int(s[3]) for s in steps] == [0, 1]
        seen[rank] = [name for s in steps for name in s[5:]]
        assert len(seen[rank]) == 4  # two batches of 4 / 2 ranks
    assert not set(seen[0]) & set(seen[1])
    assert set(seen[0]) | set(seen[1]) <= set(_split_files(dataset, "train"))
    metrics = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    assert metrics[0]["train_clips"] == 8 and metrics[0]["steps"] == 2
    assert json.loads((run / "config.json").read_text())["world_size"] == 2


def _split_files(dataset: Path, split: str) -> list[str]:
    import datasets

    rows = datasets.load_dataset(str(dataset), CONFIG, split=split, streaming=True)
    return [row["file"] for row in rows.select_columns(["file"])]


def _check_a_score_by_hand(dataset: Path, run: Path, scores: Path) -> None:
    """The file holds softmax(logits)[:, 0] of the saved model on the release clip's official cut,
    decoded here with soundfile + soxr from the release file itself, not from the dataset."""
    import soundfile
    import soxr

    from codecfake_detectors.cut import official_cut
    from codecfake_detectors.run import load_detector

    written = {line.split()[0]: float(line.split()[1]) for line in scores.read_text().splitlines()}
    detector = load_detector(run, None, torch.device("cpu")).detector
    for name in sorted(written)[:2]:
        samples, rate = soundfile.read(dataset.parent / "release" / "test" / CONFIG / name,
                                       dtype="float32")  # fmt: skip
        wave = official_cut(soxr.resample(samples, rate, 16_000) if rate != 16_000 else samples)
        with torch.no_grad():
            logits = detector(torch.from_numpy(wave)[None])
        expected = torch.softmax(logits, dim=1)[0, 0].item()
        assert written[name] == pytest.approx(expected, abs=2e-6)
    assert np.isfinite(list(written.values())).all()
