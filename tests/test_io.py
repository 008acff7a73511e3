"""codecfake_core.io: atomic writes leave no temporary, never show half a file, and survive races."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from codecfake_core.io import (
    atomic_open,
    atomic_path,
    atomic_write_bytes,
    atomic_write_json,
    atomic_write_text,
    create_exclusive,
    exclusive_lock,
    is_temporary,
    replace_durably,
    temporaries,
)

ROOT = Path(__file__).parents[1]


def leftovers(folder: Path) -> list[Path]:
    """Every file but the visible ones: what a writer left behind (found independently)."""
    return sorted(p for p in folder.rglob(".*") if p.is_file())


def test_each_writer_writes_its_content_and_leaves_no_temporary(tmp_path: Path) -> None:
    assert atomic_write_bytes(tmp_path / "new" / "deep" / "a.bin", b"\x00\x01") == (
        tmp_path / "new" / "deep" / "a.bin"
    )
    assert (tmp_path / "new" / "deep" / "a.bin").read_bytes() == b"\x00\x01"
    atomic_write_text(tmp_path / "b.txt", "zwölf\nlines\n")
    assert (tmp_path / "b.txt").read_bytes() == "zwölf\nlines\n".encode()
    atomic_write_json(tmp_path / "c.json", {"b": [1, 2], "a": None})
    assert (tmp_path / "c.json").read_text() == '{\n  "a": null,\n  "b": [\n    1,\n    2\n  ]\n}\n'
    with atomic_open(tmp_path / "d.npy", "wb") as handle:
        np.save(handle, np.arange(3))
    np.testing.assert_array_equal(np.load(tmp_path / "d.npy"), np.arange(3))
    with atomic_path(tmp_path / "e.npy") as temporary:
        np.save(temporary, np.arange(4))  # a library that wants a path (and keeps the name)
    np.testing.assert_array_equal(np.load(tmp_path / "e.npy"), np.arange(4))
    atomic_write_bytes(tmp_path / "b.txt", b"replaced")
    assert (tmp_path / "b.txt").read_bytes() == b"replaced"
    assert leftovers(tmp_path) == leftovers(tmp_path / "new" / "deep") == []


def test_new_files_get_the_usual_permissions(tmp_path: Path) -> None:
    """mkstemp would make 0600 files: a release shared on a cluster must stay readable."""
    (tmp_path / "plain").write_bytes(b"x")
    atomic_write_bytes(tmp_path / "atomic", b"x")
    mode = (tmp_path / "atomic").stat().st_mode & 0o777
    assert mode == (tmp_path / "plain").stat().st_mode & 0o777


def test_the_temporary_is_hidden_beside_its_target_until_the_end(tmp_path: Path) -> None:
    target = tmp_path / "shard.parquet"
    with atomic_open(target) as handle:
        handle.write(b"part")
        [temporary] = leftovers(tmp_path)
        assert temporary.name.startswith(".shard.parquet.")
        assert temporary.name.endswith(".tmp.parquet")  # libraries that look at the suffix
        assert temporaries(tmp_path) == [temporary] and is_temporary(temporary.name)
        assert not target.exists()
    assert target.read_bytes() == b"part" and leftovers(tmp_path) == []


@pytest.mark.parametrize("writer", ["atomic_open", "atomic_path"])
def test_an_error_mid_write_keeps_the_old_file_and_removes_the_temporary(
    tmp_path: Path, writer: str
) -> None:
    target = tmp_path / "scores.txt"
    target.write_bytes(b"old complete content\n")
    with pytest.raises(RuntimeError, match="disk full"):
        if writer == "atomic_open":
            with atomic_open(target, "w") as handle:
                handle.write("half of the new")
                raise RuntimeError("disk full")
        else:
            with atomic_path(target) as temporary:
                temporary.write_text("half of the new")
                raise RuntimeError("disk full")
    assert target.read_bytes() == b"old complete content\n"
    assert leftovers(tmp_path) == []


def test_an_error_on_a_new_target_leaves_nothing(tmp_path: Path) -> None:
    with pytest.raises(KeyboardInterrupt), atomic_open(tmp_path / "new.bin") as handle:
        handle.write(b"x" * 1000)
        raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []


def test_only_write_modes(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="mode 'w' or 'wb'"), atomic_open(tmp_path / "x", "a"):
        pass


def test_a_reader_never_sees_a_partial_file(tmp_path: Path) -> None:
    target = tmp_path / "big.bin"
    contents = [bytes([ord("a") + k]) * 2_000_000 for k in range(2)]
    atomic_write_bytes(target, contents[0])
    seen: list[bytes] = []
    stop = threading.Event()

    def read() -> None:
        while not stop.is_set():
            seen.append(target.read_bytes())

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for round_ in range(30):
            with atomic_open(target) as handle:
                for chunk in range(0, 2_000_000, 250_000):  # streamed in pieces
                    handle.write(contents[round_ % 2][chunk : chunk + 250_000])
    finally:
        stop.set()
        reader.join()
    assert seen and all(data in contents for data in seen)


def test_threads_writing_one_target_all_succeed(tmp_path: Path) -> None:
    target = tmp_path / "synthesis.json"
    contents = [f'{{"writer": {k}}}\n'.encode() * 1000 for k in range(4)]
    start = threading.Barrier(len(contents))
    errors: list[BaseException] = []

    def write(data: bytes) -> None:
        start.wait()
        try:
            for _ in range(50):
                atomic_write_bytes(target, data)
        except BaseException as error:  # reported by the assertion below
            errors.append(error)

    threads = [threading.Thread(target=write, args=(c,)) for c in contents]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert target.read_bytes() in contents
    assert leftovers(tmp_path) == []


WRITER = """
import sys, time
from pathlib import Path
from codecfake_core.io import atomic_write_bytes
target, go, data = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3].encode() * 100_000
while not go.exists():
    time.sleep(0.001)
for _ in range(40):
    atomic_write_bytes(target, data)
"""


def test_processes_writing_one_target_all_succeed(tmp_path: Path) -> None:
    target, go = tmp_path / "shared" / "out.bin", tmp_path / "go"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    writers = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(target), str(go), letter], env=env)
        for letter in "xy"
    ]
    go.touch()  # both start writing at once
    assert [w.wait(timeout=120) for w in writers] == [0, 0]
    assert target.read_bytes() in {b"x" * 100_000, b"y" * 100_000}
    assert leftovers(target.parent) == []


def test_create_exclusive_has_one_winner(tmp_path: Path) -> None:
    target = tmp_path / "record.json"
    start = threading.Barrier(8)
    won: dict[int, bool] = {}

    def create(k: int) -> None:
        start.wait()
        won[k] = create_exclusive(target, f"writer {k}\n".encode())

    threads = [threading.Thread(target=create, args=(k,)) for k in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    [winner] = [k for k, w in won.items() if w]
    assert target.read_bytes() == f"writer {winner}\n".encode()
    assert create_exclusive(target, b"late") is False
    assert target.read_bytes() == f"writer {winner}\n".encode()
    assert leftovers(tmp_path) == []


def test_exclusive_lock_serialises_read_modify_write(tmp_path: Path) -> None:
    counter, lock = tmp_path / "counter", tmp_path / "state" / "counter.lock"
    atomic_write_text(counter, "0")

    def add() -> None:
        for _ in range(25):
            with exclusive_lock(lock):
                value = int(counter.read_text())
                atomic_write_text(counter, str(value + 1))

    threads = [threading.Thread(target=add) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert counter.read_text() == "100"  # no update lost


def test_replace_durably_moves_a_finished_partial(tmp_path: Path) -> None:
    partial = tmp_path / "scores.txt.partial"
    partial.write_text("a 1.0 real\n")
    replace_durably(partial, tmp_path / "scores.txt")
    assert not partial.exists() and (tmp_path / "scores.txt").read_text() == "a 1.0 real\n"


def test_temporaries_finds_what_killed_writers_left(tmp_path: Path) -> None:
    left = [
        tmp_path / "test" / "C1" / ".F01_p225_001.wav.0123456789ab.tmp.wav",
        tmp_path / "label" / ".C1.txt.tmp",  # the name of the writers before this module
    ]
    kept = [tmp_path / ".synthesize" / "settings.lock", tmp_path / "x.tmp", tmp_path / ".hidden"]
    for path in left + kept:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"")
    assert temporaries(tmp_path) == sorted(left)
