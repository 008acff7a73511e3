"""What every command shares: log levels (-q/-v), one progress-bar policy, exit codes, Ctrl-C,
and the layout of the command line itself (one cli.py per room, no argparse elsewhere)."""

from __future__ import annotations

import ast
import configparser
import errno
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import codecfake_cli

ROOT = Path(__file__).resolve().parents[1]
_CONFIG = configparser.ConfigParser()
_CONFIG.read(ROOT / "setup.cfg")
PACKAGES = dict(
    line.split(" = ") for line in _CONFIG["options"]["package_dir"].strip().splitlines()
)
"""Every installed package and its folder, as setup.cfg maps them."""
SCRIPTS = {"detectors/lfcc_gmm/leave_one_out.py"}
"""A developer's ``python -m`` measurement on the fixtures, not a command (see its docstring)."""


def _score_file(tmp_path: Path) -> Path:
    """An official-format score file: two real clips and their C1 fakes."""
    path = tmp_path / "C1_result.txt"
    path.write_text(
        "p225_001.wav 0.9 real\nF01_p225_001.wav 0.1 fake\n"
        "p225_002.wav 0.8 real\nF01_p225_002.wav 0.3 fake\n"
    )
    return path


def _eval(capsys: pytest.CaptureFixture[str], *argv: str, tmp_path: Path) -> tuple[str, str]:
    command = [*argv[:-1], "eval", "--json", "--bootstrap", "0", str(_score_file(tmp_path))]
    assert argv[-1] == "eval"
    assert codecfake_cli.main(command) == 0
    captured = capsys.readouterr()
    return captured.out, captured.err


# --- log levels ------------------------------------------------------------------------------


def test_quiet_silences_info_but_not_the_results(capsys, tmp_path) -> None:
    out, err = _eval(capsys, "eval", tmp_path=tmp_path)
    assert "polarity: fixed" in err  # an INFO line: the JSON rows' polarity
    quiet_out, quiet_err = _eval(capsys, "-q", "eval", tmp_path=tmp_path)
    assert quiet_err == ""
    assert quiet_out == out and '"condition": "C1"' in out


def test_verbose_adds_debug_lines(capsys, tmp_path) -> None:
    _, err = _eval(capsys, "eval", tmp_path=tmp_path)
    assert "options {" not in err
    _, verbose_err = _eval(capsys, "-v", "eval", tmp_path=tmp_path)
    assert "eval, options {" in verbose_err and "'bootstrap': 0" in verbose_err
    assert "polarity: fixed" in verbose_err  # INFO still shows


def test_quiet_and_verbose_together_are_a_usage_error(capsys, tmp_path) -> None:
    with pytest.raises(SystemExit) as exit_:
        codecfake_cli.main(["-q", "-v", "eval", str(_score_file(tmp_path))])
    assert exit_.value.code == 2


def test_global_options_go_before_the_command(capsys, tmp_path) -> None:
    with pytest.raises(SystemExit) as exit_:
        codecfake_cli.main(["eval", "-q", str(_score_file(tmp_path))])
    assert exit_.value.code == 2


# --- progress bars ----------------------------------------------------------------------------


def test_progress_is_off_off_a_terminal_and_on_when_asked(capsys, tmp_path) -> None:
    _, err = _eval(capsys, "eval", tmp_path=tmp_path)  # capsys' stderr is no terminal
    assert "reading score files" not in err
    _, err = _eval(capsys, "--progress", "eval", tmp_path=tmp_path)
    assert "reading score files" in err and "100%" in err
    _, err = _eval(capsys, "-q", "--progress", "eval", tmp_path=tmp_path)
    assert "reading score files" in err  # asked for: --progress wins over --quiet


def test_progress_policy_on_a_real_terminal() -> None:
    leader, follower = os.openpty()
    try:
        with open(follower, "w") as terminal:
            assert terminal.isatty()
            assert codecfake_cli.progress_wanted(None, quiet=False, stream=terminal)
            assert not codecfake_cli.progress_wanted(None, quiet=True, stream=terminal)
            assert not codecfake_cli.progress_wanted(False, quiet=False, stream=terminal)
    finally:
        os.close(leader)
    assert codecfake_cli.progress_wanted(True, quiet=True, stream=sys.stderr)


def test_a_prepare_run_in_a_batch_job_draws_no_bar(tmp_path) -> None:
    from testkit.release_factory import make_release

    release = make_release(tmp_path / "release", n_en=1, n_zh=1, conditions=("C1",))
    command = [sys.executable, "-m", "codecfake_cli"]
    args = ["prepare", str(release.root), str(tmp_path / "out"), "--no-size-check"]
    quiet = subprocess.run([*command, *args], capture_output=True, text=True, timeout=300)
    assert quiet.returncode == 0, quiet.stderr
    assert "prepare:" not in quiet.stderr  # stderr is a pipe here, as in nohup or CI
    asked = subprocess.run(
        [*command, "--progress", *args[:2], str(tmp_path / "out2"), args[3]],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert asked.returncode == 0, asked.stderr
    assert "prepare: 100%" in asked.stderr


def _tqdm_calls(tree: ast.AST) -> list[ast.Call]:
    calls = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = getattr(node.func, "id", getattr(node.func, "attr", ""))
        first = node.args[0] if node.args else None
        if name == "tqdm" or (name == "partial" and getattr(first, "id", "") == "tqdm"):
            calls.append(node)
    return calls


def test_every_progress_bar_follows_the_policy() -> None:
    """Each bar the package draws takes ``disable=`` from its caller's ``progress``."""
    seen = 0
    for folder in PACKAGES.values():
        for path in (ROOT / folder).rglob("*.py"):
            for call in _tqdm_calls(ast.parse(path.read_text(encoding="utf-8"))):
                seen += 1
                keywords = {k.arg: ast.unparse(k.value) for k in call.keywords}
                assert "progress" in keywords.get("disable", ""), f"{path}:{call.lineno}"
    assert seen >= 6  # prepare, synthesize, publish, eval, train/score, the baseline


# --- exit codes and Ctrl-C ----------------------------------------------------------------------

ARGV = {
    "download": ["zips"],
    "info": [],
    "prepare": ["release", "out"],
    "synthesize": ["--out", "rebuilt"],
    "codecs": [],
    "merge-shards": ["rebuilt"],
    "publish": ["folder", "--repo-id", "org/name"],
    "demo": [],
    "eval": ["scores.txt"],
    "results": [],
    "train": ["--model", "mel-lcnn", "--dataset", "d", "--out", "run"],
    "score": ["--model", "run", "--dataset", "d", "--out", "s.txt"],
    "detect": ["clip.wav", "--model", "run"],
}
RESUMING = {"download", "prepare", "synthesize", "publish", "demo", "train", "score"}


def test_each_command_declares_whether_it_resumes() -> None:
    parser = codecfake_cli.build_parser()
    assert set(ARGV) | {"baseline"} == set(codecfake_cli.COMMANDS)
    for command, argv in ARGV.items():
        message = codecfake_cli.interrupted_message(parser.parse_args([command, *argv]))
        resumes = message == "interrupted; rerun the same command to resume"
        assert resumes == (command in RESUMING), command
        assert resumes or message == "interrupted"
    # where it depends on the arguments: the baseline trains in one go but scores resumably
    cases = {
        ("train", "--model", "lfcc-gmm", "--dataset", "d", "--out", "run"): "interrupted",
        ("baseline", "train", "--dataset", "d", "--out", "run"): "interrupted",
        ("baseline", "score", "--model", "m", "--dataset", "d", "--out", "s"): "interrupted; "
        "rerun the same command to resume",
    }
    for argv, expected in cases.items():
        assert codecfake_cli.interrupted_message(parser.parse_args(argv)) == expected


def _interrupt_while_reading(argv: list[str], fifo: Path, cwd: Path) -> subprocess.CompletedProcess:
    """Run ``codecfake ARGV``, wait until it blocks reading ``fifo``, then press Ctrl-C."""
    os.mkfifo(fifo)
    process = subprocess.Popen(
        [sys.executable, "-m", "codecfake_cli", *argv],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while True:  # opening for writing succeeds only once the command opened it for reading
        try:
            writer = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
            break
        except OSError as error:
            if error.errno != errno.ENXIO or process.poll() is not None:
                raise
            if time.monotonic() > deadline:
                process.kill()
                raise TimeoutError(f"codecfake {argv[0]} never opened {fifo}") from error
            time.sleep(0.05)
    try:
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=120)
    finally:
        os.close(writer)
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


def test_ctrl_c_offers_a_rerun_only_where_work_is_kept(tmp_path) -> None:
    record = tmp_path / "record.json"
    done = _interrupt_while_reading(["results", str(record)], record, tmp_path)
    assert done.returncode == 130 and done.stderr.splitlines() == ["interrupted"], done.stderr

    model = tmp_path / "model.npz"
    argv = ["baseline", "score", "--model", str(model), "--dataset", "d", "--out", "s.txt"]
    done = _interrupt_while_reading(argv, model, tmp_path)
    assert done.returncode == 130, done.stderr
    assert done.stderr.splitlines() == ["interrupted; rerun the same command to resume"]


# --- layout --------------------------------------------------------------------------------------


def test_each_room_has_one_cli_and_no_library_module_parses_arguments() -> None:
    """A room's commands live in its ``cli.py``, or in a ``cli`` package of one module per
    command when it has several big ones; nothing else parses arguments."""

    def is_cli(path: Path) -> bool:
        return path.name == "cli.py" or path.parent.name == "cli"

    rooms = set()
    for target, _help in codecfake_cli.COMMANDS.values():
        module, sep, name = target.partition(":")
        assert sep and name, f"{target}: every command is module:name"
        assert name[0].isupper(), f"{target}: a command is a CamelCase class"
        if module == "codecfake_cli":
            continue
        package, *inner, leaf = module.split(".")
        assert leaf == "cli", f"{target}: commands live in their room's cli"
        rooms.add(ROOT / PACKAGES[package] / Path(*inner))
    found = {
        path.parent if path.name == "cli.py" else path.parent.parent
        for folder in PACKAGES.values()
        for path in (ROOT / folder).rglob("*.py")
        if is_cli(path)
    }
    assert found == rooms  # one cli per room, each a room's with commands
    parsers = {
        path.relative_to(ROOT).as_posix()
        for folder in PACKAGES.values()
        for path in (ROOT / folder).rglob("*.py")
        if "argparse" in path.read_text(encoding="utf-8") and not is_cli(path)
    }
    assert parsers == SCRIPTS
