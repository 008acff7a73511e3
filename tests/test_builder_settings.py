"""Shards and resumes cannot mix settings: each condition's codec spec and weights are recorded.

The review's scenario first: shard 0/2 with ``--codec C8=opus@12kbps`` and shard 1/2 with
``C8=opus@24kbps`` once merged into a release whose C8 was half of each. Runs go through the
command line on generated speech, with weight-free codecs (Opus, MP3) and, for ``--checkpoint``,
the example plugin's tiny neural codec loading a real state dict.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from helpers.plugins import install_plugin

from codecfake import CodecfakeError
from codecfake_builder.sources.synthetic import make_synthetic_corpora
from codecfake_builder.synthesis.provenance import iter_records
from codecfake_builder.synthesis.recorded import SETTINGS_FILE, record_settings
from codecfake_cli import main

TESTS = Path(__file__).parent
OPUS_12 = ["--conditions", "C8", "--codec", "C8=opus@12kbps"]
OPUS_24 = ["--conditions", "C8", "--codec", "C8=opus@24kbps"]
TINY = "C8=tinyrvq@16khz,4kbps"  # the example plugin's tiny neural codec, as a new family


@pytest.fixture(scope="module")
def corpora(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    made = make_synthetic_corpora(
        tmp_path_factory.mktemp("corpora"),
        speakers_per_language=2,
        utterances_per_speaker=2,
        engine="formant",
    )
    return ["--vctk", str(made.vctk), "--aishell3", str(made.aishell3)]


def synthesize(out: Path, corpora: list[str], *options: str) -> int:
    command = ["synthesize", *corpora, "--out", str(out), "--device", "cpu", "--batch-size", "2"]
    return main([*command, *options])  # batches of 2: each shard has work


def error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0, err  # one line, no traceback
    return err


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def bitrates(release: Path, condition: str) -> list[float]:
    records = iter_records(release / "provenance.jsonl")
    return [r.codec["bitrate_kbps"] for r in records if r.codec and r.condition == condition]


def test_a_shard_with_another_codec_spec_is_refused(
    tmp_path: Path, corpora: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "release"
    assert synthesize(out, corpora, *OPUS_12, "--shard", "0/2") == 0
    before = tree(out)
    capsys.readouterr()
    assert synthesize(out, corpora, *OPUS_24, "--shard", "1/2") == 1
    message = error_line(capsys)
    assert str(out / SETTINGS_FILE) in message
    assert "C8 was 'opus at 12 kbps" in message and "now 'opus at 24 kbps" in message
    assert tree(out) == before  # refused before writing anything
    assert synthesize(out, corpora, *OPUS_12, "--shard", "1/2") == 0
    assert main(["merge-shards", str(out)]) == 0
    made = bitrates(out, "C8")
    assert made and set(made) == {12.0}
    [declared] = json.loads((out / "label" / "conditions.json").read_text())
    assert (declared["name"], declared["bitrate_kbps"]) == ("C8", 12.0)
    assert declared["codec"] == "Opus 12 kbps"


def test_a_resumed_run_with_another_spec_is_refused_and_a_new_condition_joins(
    tmp_path: Path, corpora: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "release"
    assert synthesize(out, corpora, *OPUS_12) == 0
    both = ["--conditions", "C8,C9", "--codec", "C8=opus@12kbps", "--codec", "C9=mp3@24kbps"]
    assert synthesize(out, corpora, *both) == 0  # adding a condition is allowed
    recorded = json.loads((out / SETTINGS_FILE).read_text())["conditions"]
    assert sorted(recorded) == ["C8", "C9"]
    assert recorded["C9"]["codec"]["family"] == "mp3" and recorded["C9"]["weights"] == "none"
    assert set(bitrates(out, "C9")) == {24.0}
    capsys.readouterr()
    other = ["--conditions", "C9", "--codec", "C9=mp3@32kbps"]
    assert synthesize(out, corpora, *other) == 1
    message = error_line(capsys)
    assert "C9 was 'mp3 at 24 kbps" in message and "now 'mp3 at 32 kbps" in message
    assert "C8" not in message.partition("(")[2]  # only the condition that differs is named


@pytest.fixture
def tiny_checkpoints(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """A tiny neural codec family served by the example plugin, and two of its state dicts."""
    import torch

    site = tmp_path / "site-packages"
    install_plugin(site, {"tinyrvq": "codecs_plugin_example:make_codec"})
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.syspath_prepend(str(TESTS))
    from codecs_plugin_example import TinyRVQCodec

    from codecfake_builder.codecs.neural import build_seeded

    paths = tmp_path / "a.pt", tmp_path / "b.pt"
    for seed, path in enumerate(paths, start=1):
        torch.save(build_seeded(TinyRVQCodec, seed).state_dict(), path)
    return paths


def test_a_resumed_run_with_another_checkpoint_is_refused(
    tmp_path: Path,
    corpora: list[str],
    capsys: pytest.CaptureFixture[str],
    tiny_checkpoints: tuple[Path, Path],
) -> None:
    a, b = tiny_checkpoints
    out = tmp_path / "release"
    options = ["--conditions", "C8", "--codec", TINY, "--codec-weights", "pretrained"]
    assert synthesize(out, corpora, *options, "--checkpoint", f"C8={a}") == 0
    made = tree(out)
    capsys.readouterr()
    assert synthesize(out, corpora, *options, "--checkpoint", f"C8={b}") == 1
    message = error_line(capsys)
    old, _, new = message.partition(" was 'tinyrvq at ")[2].partition(", now 'tinyrvq at ")
    assert f"({a}), weights sha256:" in old and f"({b}), weights sha256:" in new
    a.write_bytes(b.read_bytes())  # the same path, retrained: only the weights hash tells
    assert synthesize(out, corpora, *options, "--checkpoint", f"C8={a}") == 1
    message = error_line(capsys)
    old, _, new = message.partition("C8 was '")[2].partition("', now '")
    (spec, _, old_weights), (spec_now, _, new_weights) = (
        t.partition(", weights ") for t in (old, new)
    )
    assert spec == spec_now and f"({a})" in spec  # the same spec and path ...
    assert old_weights != new_weights.partition("'")[0]  # ... other weights
    assert tree(out) == made


def craft_disagreement(release: Path, edit: str) -> None:
    """Rewrite shard 1's records of C8 as if it had run with other settings."""
    log = release / ".synthesize" / "shard-1-of-2.log.jsonl"
    records = list(iter_records(log))
    for record in records:
        if record.condition == "C8" and record.codec and record.checkpoint:
            if edit == "bitrate":
                record.codec["bitrate_kbps"] = 24.0
            else:
                record.checkpoint["weights_sha256"] = "ab" * 32
    log.write_text("".join(r.to_json() for r in records))


@pytest.mark.parametrize(("edit", "shown"), [("bitrate", "24 kbps"), ("weights", "sha256:abab")])
def test_merge_refuses_shards_whose_records_disagree(
    tmp_path: Path, corpora: list[str], capsys: pytest.CaptureFixture[str], edit: str, shown: str
) -> None:
    out = tmp_path / "release"
    for index in (0, 1):
        assert synthesize(out, corpora, *OPUS_12, "--shard", f"{index}/2") == 0
    craft_disagreement(out, edit)
    capsys.readouterr()
    assert main(["merge-shards", str(out)]) == 1
    message = error_line(capsys)
    assert (
        f"C8 has .synthesize/shard-0-of-2.log.jsonl, {SETTINGS_FILE}: 'opus at 12 kbps" in message
    )
    assert ".synthesize/shard-1-of-2.log.jsonl: 'opus at " in message and shown in message
    assert not (out / "label").exists() and (out / ".synthesize").is_dir()  # nothing merged


def test_two_shards_started_together_both_succeed_and_merge(
    tmp_path: Path, corpora: list[str]
) -> None:
    single = tmp_path / "single"
    assert synthesize(single, corpora, *OPUS_12) == 0
    out = tmp_path / "sharded"
    start = threading.Barrier(2)
    codes: dict[int, int] = {}

    def shard(index: int) -> None:
        start.wait()
        codes[index] = synthesize(out, corpora, *OPUS_12, "--shard", f"{index}/2")

    workers = [threading.Thread(target=shard, args=(index,)) for index in (0, 1)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert codes == {0: 0, 1: 0}
    assert main(["merge-shards", str(out)]) == 0
    assert tree(out) == tree(single)


@pytest.mark.slow
def test_two_shard_processes_started_together(tmp_path: Path, corpora: list[str]) -> None:
    out = tmp_path / "sharded"
    command = [sys.executable, "-m", "codecfake_cli", "synthesize", *corpora, "--out", str(out)]
    command += ["--device", "cpu", "--batch-size", "2", *OPUS_12]
    env = {**os.environ, "PYTHONPATH": str(TESTS.parent)}
    shards = [
        subprocess.Popen([*command, "--shard", f"{i}/2"], env=env, stderr=subprocess.PIPE)
        for i in (0, 1)
    ]
    results = [(shard.wait(timeout=300), shard.stderr.read()) for shard in shards]  # type: ignore[union-attr]
    assert [code for code, _ in results] == [0, 0], results
    assert main(["merge-shards", str(out)]) == 0
    assert set(bitrates(out, "C8")) == {12.0}


RUN = {"seed": 0, "splits": "seeded", "weights": "pretrained"}


def opus(kbps: float) -> dict[str, object]:
    codec = {"condition": "C8", "family": "opus", "sample_rate": 16000, "bitrate_kbps": kbps}
    return {
        "codec": {**codec, "quantizers": None, "checkpoint": None, "options": {}},
        "weights": "none",
    }


def in_threads(count: int, work) -> dict[int, BaseException | None]:
    start = threading.Barrier(count)
    outcome: dict[int, BaseException | None] = {}

    def run(k: int) -> None:
        start.wait()
        try:
            work(k)
            outcome[k] = None
        except BaseException as error:  # reported to the test
            outcome[k] = error

    threads = [threading.Thread(target=run, args=(k,)) for k in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcome


def test_first_runs_at_the_same_moment_record_once(tmp_path: Path) -> None:
    path, lock = tmp_path / SETTINGS_FILE, tmp_path / ".synthesize" / "settings.lock"
    wanted = {k: opus(12.0 if k % 2 else 24.0) for k in range(8)}
    outcome = in_threads(8, lambda k: record_settings(path, RUN, {"C8": wanted[k]}, lock))
    recorded = json.loads(path.read_text())
    winner = recorded["conditions"]["C8"]
    for k, error in outcome.items():
        if wanted[k] == winner:
            assert error is None
        else:
            assert isinstance(error, CodecfakeError) and "C8 was 'opus at" in str(error)
    assert {k for k, e in outcome.items() if e is None} == {
        k for k in wanted if wanted[k] == winner
    }
    assert not list(tmp_path.glob(".*tmp*"))


def test_conditions_added_at_the_same_moment_are_all_recorded(tmp_path: Path) -> None:
    path, lock = tmp_path / SETTINGS_FILE, tmp_path / ".synthesize" / "settings.lock"
    path.write_text(json.dumps(RUN))  # a release started before conditions were recorded
    added = {
        k: {**opus(12.0 + k), "codec": {**opus(12.0 + k)["codec"], "condition": f"C{8 + k}"}}
        for k in range(5)
    }
    outcome = in_threads(5, lambda k: record_settings(path, RUN, {f"C{8 + k}": added[k]}, lock))
    assert set(outcome.values()) == {None}
    recorded = json.loads(path.read_text())
    assert recorded["conditions"] == {f"C{8 + k}": added[k] for k in range(5)}  # no update lost
    assert {k: recorded[k] for k in RUN} == RUN
