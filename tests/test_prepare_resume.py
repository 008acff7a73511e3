"""What `codecfake prepare` writes, resumes and deletes, with kills, re-extractions, full disks
and folders people keep things in.

A run is stopped for real: one clip of the release is a named pipe, so the `prepare` process
blocks reading it in the middle of its shards, and the test kills it there (SIGKILL, as a
scheduler or the OOM killer would). The pipe is then replaced by the clip's real bytes.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import datasets
import numpy as np
import pytest
import soundfile

import codecfake_cli
from codecfake_core.io import temporaries
from testkit.release_factory import (
    Release,
    assert_configs_match_labels,
    make_release,
    wav_bytes,
)

RUN = "import sys, codecfake_cli; sys.exit(codecfake_cli.main(sys.argv[1:]))"
WAIT_SECONDS = 120.0


@pytest.fixture
def release(tmp_path) -> Release:
    """C1 and C2 test sets: 12 one-clip shards under --max-shard-size 1B."""
    return make_release(
        tmp_path / "release", conditions=("C1", "C2"), with_train=False, with_dev=False
    )


def wait_for(condition: Callable[[], bool], what: str) -> None:
    """Poll ``condition`` until it holds; fail naming ``what`` after a generous bound."""
    deadline = time.monotonic() + WAIT_SECONDS
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {what}")
        time.sleep(0.05)


class Blocked:
    """A `prepare` subprocess stuck reading a clip that is a named pipe."""

    def __init__(self, release: Release, out: Path, *extra: str) -> None:
        # The last C2 fake: its shard is written after those of C1 and the first C2 clips, and
        # fakes are never read while planning (only repeated real clips are hashed then).
        self.clip = [r for r in release.rows if r.label_file == "C2.txt" and r.label == "fake"][-1]
        self.bytes = self.clip.path.read_bytes()
        self.clip.path.unlink()
        os.mkfifo(self.clip.path)
        self.staging = out.parent / f".{out.name}.partial"
        args = ["prepare", str(release.root), str(out), "--max-shard-size", "1B", *extra]
        self.process = subprocess.Popen(
            [sys.executable, "-c", RUN, *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        self._progress: tuple[int, float] = (-1, time.monotonic())
        wait_for(self._blocked_on_the_pipe, "prepare to block on the named pipe")

    def _blocked_on_the_pipe(self) -> bool:
        """Whether a process of the run waits to open the pipe (its kernel ``wchan``). Where
        ``wchan`` tells nothing, a partial shard with no shard finished for a second."""
        if self.process.poll() is not None:
            _, err = self.process.communicate()
            pytest.fail(f"prepare ended early ({self.process.returncode}): {err.decode()}")
        waits = _session_waits(self.process.pid)
        if PIPE_WAITS & waits:
            return True
        if waits - {"0", ""}:
            return False  # the kernel says what each thread waits on, and none waits on the pipe
        records = len(list((self.staging / ".resume").glob("*.json")))
        if records != self._progress[0]:
            self._progress = (records, time.monotonic())
            return False
        partial = self.staging.is_dir() and bool(temporaries(self.staging / "data"))
        return partial and time.monotonic() - self._progress[1] > 1.0

    def kill(self) -> None:
        self.process.kill()
        self.process.communicate()

    def restore(self) -> None:
        """Put the clip back, as a re-extraction would."""
        self.clip.path.unlink()
        self.clip.path.write_bytes(self.bytes)


PIPE_WAITS = {"wait_for_partner", "fifo_open", "pipe_wait"}
"""Where Linux keeps a thread that opens a named pipe nobody writes to."""


def _session_waits(session: int) -> set[str]:
    """The ``wchan`` of every thread of every process in ``session``."""
    waits = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            if int(fields[3]) == session:
                waits.update(
                    (task / "wchan").read_text().strip() for task in (entry / "task").iterdir()
                )
    return waits


def finished_shards(staging: Path) -> dict[str, int]:
    """Finished shards of a staging folder, by folder-relative name, with their inode."""
    return {
        p.relative_to(staging).as_posix(): p.stat().st_ino
        for p in (staging / "data").rglob("*.parquet")
        if not p.name.startswith(".")
    }


def prepare_cli(capsys, *args: object) -> tuple[int, str, str]:
    rc = codecfake_cli.main(["prepare", *map(str, args)])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return rc, out, err


def audio_bytes(folder: Path, config: str, file: str, cache: Path) -> bytes:
    split = datasets.load_dataset(str(folder), config, split="test", cache_dir=str(cache))
    split = split.cast_column("audio", datasets.Audio(decode=False))
    rows = [row for row in split if row["file"] == file]
    assert len(rows) == 1, (config, file)
    return rows[0]["audio"]["bytes"]


def test_a_killed_run_resumes_with_the_audio_the_release_holds_now(release, tmp_path, capsys):
    out = tmp_path / "out"
    blocked = Blocked(release, out)
    blocked.kill()
    finished = finished_shards(blocked.staging)
    assert finished and temporaries(blocked.staging / "data")  # killed inside a shard's write
    # Re-extraction: a clip of a finished shard comes back with other samples, the same size,
    # and the modification time its archive recorded.
    changed = next(r for r in release.rows if r.label_file == "C1.txt" and r.label == "fake")
    before = changed.path.stat()
    samples, rate = soundfile.read(changed.path, dtype="float32")
    changed.path.write_bytes(wav_bytes(samples[::-1].copy(), rate, "PCM_16"))
    os.utime(changed.path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert changed.path.stat().st_size == before.st_size
    blocked.restore()

    rc, _, err = prepare_cli(capsys, release.root, out, "--max-shard-size", "1B")
    assert rc == 0, err
    assert audio_bytes(out, "C1", changed.file, tmp_path / "cache") == changed.path.read_bytes()
    assert_configs_match_labels(release.root, out)
    assert temporaries(out) == [] and not blocked.staging.exists()
    # every other finished shard was kept as it was, not written again
    stale = next(n for n in finished if changed.file.removesuffix(".wav") in _files_of(out, n))
    kept = {name: ino for name, ino in finished.items() if name != stale}
    assert {n: (out / n).stat().st_ino for n in kept} == kept
    assert (out / stale).stat().st_ino != finished[stale]


def _files_of(folder: Path, shard: str) -> str:
    import pyarrow.parquet as pq

    return " ".join(pq.read_table(folder / shard, columns=["file"]).column("file").to_pylist())


def test_a_kill_during_a_shard_write_leaves_no_temporary_in_the_result(release, tmp_path, capsys):
    out = tmp_path / "out"
    blocked = Blocked(release, out, "--num-proc", "2")
    blocked.kill()
    blocked.restore()
    rc, _, err = prepare_cli(capsys, release.root, out, "--max-shard-size", "1B")
    assert rc == 0, err
    assert temporaries(out) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "release"]
    assert_configs_match_labels(release.root, out)


def _children(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                if int(fields[1]) == pid:
                    found.add(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"  # a zombie has exited; only its parent's reaping is left


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads processes from /proc")
def test_killing_the_parent_leaves_no_worker_behind(release, tmp_path):
    blocked = Blocked(release, tmp_path / "out", "--num-proc", "2")
    parent = blocked.process.pid
    wait_for(lambda: len(_children(parent)) >= 2, "the two workers to start")
    children = _children(parent)
    os.kill(parent, signal.SIGKILL)
    blocked.process.communicate()
    wait_for(lambda: not any(_alive(pid) for pid in children), "the workers to exit")


def test_a_second_run_on_the_same_folder_is_refused_naming_the_first(release, tmp_path, capsys):
    out = tmp_path / "out"
    blocked = Blocked(release, out)
    try:
        rc, _, err = prepare_cli(capsys, release.root, out)
        assert rc == 1
        assert f"{out}: another codecfake run (pid {blocked.process.pid}) is writing it" in err
        assert len(err.strip().splitlines()) == 1
    finally:
        blocked.kill()


def git(folder: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(folder), "-c", "user.name=t", "-c", "user.email=t@t", *args],
        check=True,
        capture_output=True,
        text=True,
    ).stdout


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_re_preparing_a_git_tracked_folder_keeps_everything_it_did_not_write(
    release, tmp_path, capsys
):
    out = tmp_path / "codecfake-data"
    assert prepare_cli(capsys, release.root, out)[0] == 0
    git(out, "init", "-q")
    (out / ".gitattributes").write_text("*.parquet filter=lfs diff=lfs merge=lfs -text\n")
    (out / "analysis.ipynb").write_text('{"cells": []}')
    (out / "data" / "NOTES.md").write_text("where the shards came from")
    git(out, "add", "-A")
    git(out, "commit", "-q", "-m", "dataset")
    mine = {p: p.read_bytes() for p in (out / ".gitattributes", out / "analysis.ipynb")}
    # prepared again, cut into other shards: every file prepare wrote is replaced
    rc, _, err = prepare_cli(capsys, release.root, out, "--max-shard-size", "1B")
    assert rc == 0, err
    assert {p: p.read_bytes() for p in mine} == mine
    assert (out / "data" / "NOTES.md").read_text() == "where the shards came from"
    assert "dataset" in git(out, "log", "--format=%s")
    assert_configs_match_labels(release.root, out)
    assert not list(out.glob("data/*/test/*-of-00001.parquet"))  # the old cut is gone


def test_a_file_of_the_users_where_a_shard_must_go_stops_the_run(release, tmp_path, capsys):
    out = tmp_path / "out"
    assert prepare_cli(capsys, release.root, out)[0] == 0
    theirs = out / "data" / "C1" / "test" / "en-00000-of-00002.parquet"
    theirs.write_bytes(b"the user's own file")
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    rc, _, err = prepare_cli(capsys, release.root, out, "--max-shard-size", "1B")
    assert rc == 1
    assert f"{theirs}: stands where prepare writes data/C1/test/en-00000-of-00002.parquet" in err
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before


@contextlib.contextmanager
def small_disk(where: Path, options: str) -> Iterator[Path]:
    """A tmpfs mounted at ``where``; skips where this machine may not mount one."""
    where.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def test_a_full_disk_names_the_output_folder(release, tmp_path, capsys):
    with small_disk(tmp_path / "small", "size=256k") as disk:
        out = disk / "codecfake-data"
        rc, _, err = prepare_cli(capsys, release.root, out)
        assert rc == 1
        assert f"{out}: the disk is full" in err and "Free space" in err
        assert len(err.strip().splitlines()) == 1


def test_a_read_only_output_names_the_output_folder(release, tmp_path, capsys):
    with small_disk(tmp_path / "ro", "ro,size=64k") as disk:
        out = disk / "codecfake-data"
        rc, _, err = prepare_cli(capsys, release.root, out)
        assert rc == 1
        assert err.strip().endswith(
            f"{out}: cannot write here (Read-only file system); choose a folder you can write"
        )
        assert ".partial" not in err and ".lock" not in err


def test_damaged_clips_are_all_named_then_left_out_on_request(release, tmp_path, capsys):
    fakes = [r for r in release.rows if r.label == "fake"]
    truncated, empty = fakes[0], fakes[-1]
    data = truncated.path.read_bytes()
    truncated.path.write_bytes(data[: len(data) // 2])
    header = empty.path.read_bytes()
    empty.path.write_bytes(header[: header.index(b"data") + 8])
    out = tmp_path / "out"
    rc, _, err = prepare_cli(capsys, release.root, out)
    assert rc == 1
    assert f"{truncated.path}: is truncated: its header promises" in err
    assert f"{empty.path}: holds no samples" in err
    assert "2 clips do not hold all the audio" in err and "--skip-damaged-audio" in err
    rc, printed, err = prepare_cli(capsys, release.root, out, "--skip-damaged-audio")
    assert rc == 0, err
    assert "2 clips with damaged audio were left out" in err
    assert truncated.file in err and empty.file in err
    assert "reconciled:" in printed
    stored = datasets.load_dataset(str(out), "C1", split="test", cache_dir=str(tmp_path / "c"))
    files = set(stored.remove_columns("audio")["file"])
    assert truncated.file not in files and empty.file not in files
    # every other label row is there: the reconciliation counted the two as left out
    listed = {r.file for r in release.rows if r.label_file in ("C1.txt",)}
    assert files == listed - {truncated.file, empty.file}


def test_the_fast_decoder_refuses_a_short_clip(release):
    from codecfake_core.audio import UnreadableAudioError, decode_audio_bytes

    data = release.rows[0].path.read_bytes()
    assert len(decode_audio_bytes(data)) > 0
    with pytest.raises(UnreadableAudioError, match="is truncated"):
        decode_audio_bytes(data[: len(data) - 101])
    with pytest.raises(UnreadableAudioError, match="holds no samples"):
        decode_audio_bytes(data[: data.index(b"data") + 8])


def test_a_byte_order_mark_is_not_part_of_the_first_name(release, tmp_path, capsys):
    label = release.label_path("C1.txt")
    label.write_bytes(b"\xef\xbb\xbf" + label.read_bytes())
    rc, _, err = prepare_cli(capsys, release.root, tmp_path / "out")
    assert rc == 0, err
    assert_configs_match_labels(release.root, tmp_path / "out")


def test_an_invisible_character_in_a_name_is_shown_escaped(release, tmp_path, capsys):
    label = release.label_path("C1.txt")
    lines = label.read_text().splitlines()
    lines[1] = lines[1].replace(".wav", "\u200b.wav", 1)
    label.write_text("\n".join(lines) + "\n")
    rc, _, err = prepare_cli(capsys, release.root, tmp_path / "out")
    assert rc == 1
    assert f"{label}:2: holds an invisible or control character: " in err
    assert "\\u200b" in err and "\u200b" not in err


def test_a_fake_in_two_splits_is_refused(tmp_path, capsys):
    release = make_release(tmp_path / "release", conditions=("C1",))
    fake = next(r for r in release.rows if r.label_file == "train.txt" and r.label == "fake")
    shutil.copyfile(fake.path, release.root / "dev" / fake.file)
    dev = release.label_path("dev.txt")
    dev.write_text(dev.read_text() + f"{fake.file} fake 1\n")
    rc, _, err = prepare_cli(capsys, release.root, tmp_path / "out")
    assert rc == 1
    assert f"fake clip {fake.file!r} is in the validation split here but in the train" in err
    assert not (tmp_path / "out").exists()


def test_rerunning_a_finished_folder_rewrites_it_with_the_same_content(release, tmp_path, capsys):
    out = tmp_path / "out"
    assert prepare_cli(capsys, release.root, out)[0] == 0
    card = (out / "README.md").read_text()
    assert prepare_cli(capsys, release.root, out)[0] == 0
    assert (out / "README.md").read_text() == card
    assert np.all([not p.name.startswith(".") for p in out.rglob("*")])
