"""`codecfake prepare` straight from the archives as the official release is packed: Info-ZIP
split sets spread over record folders, one zip nested under an absolute path, per-condition zips
with differing inner layouts, loose label files, A3 without its reals.

The expectation is always the same release prepared from its extracted folder: the same
configurations, rows and audio bytes, worked out by the extracted path and by the label files.
"""

from __future__ import annotations

import json
import re
import shutil
import zipfile
from pathlib import Path

import pyarrow.parquet as pq
import pytest

import codecfake_cli
from testkit.official_archives import ZIP, pack_official
from testkit.release_factory import Release, assert_configs_match_labels, make_release

pytestmark = pytest.mark.skipif(ZIP is None, reason="Info-ZIP 'zip' is not installed")

CONDITIONS = ("C1", "C2", "C3", "C4", "A1", "A2")
COLUMNS = ("file", "label", "condition", "codec", "language", "speaker", "utterance")


def prepare_cli(capsys, *args: object) -> tuple[int, str, str]:
    rc = codecfake_cli.main(["prepare", *map(str, args)])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return rc, out, err


def rows(folder: Path) -> dict[str, set[tuple]]:
    """Every shard's rows, with their audio bytes, by the part folder and language."""
    found: dict[str, set[tuple]] = {}
    for shard in sorted(folder.glob("data/**/*.parquet")):
        part = shard.parent.relative_to(folder).as_posix() + "/" + shard.name.split("-")[0]
        found.setdefault(part, set()).update(
            (*(r[c] for c in COLUMNS), r["audio"]["bytes"])
            for r in pq.read_table(shard).to_pylist()
        )
    return found


def card_yaml(folder: Path, stamps: bool = True) -> str:
    """The card's YAML, its folder's path removed (and its shard stamps, unless ``stamps``)."""
    text = (folder / "README.md").read_text().split("---")[1].replace(str(folder), "")
    return text if stamps else re.sub(r"\(shards\s+[0-9a-f]+\)", "(shards)", text)


@pytest.fixture(scope="module")
def release(tmp_path_factory) -> Release:
    return make_release(tmp_path_factory.mktemp("archives") / "release", conditions=CONDITIONS)


@pytest.fixture(scope="module")
def from_folder(release, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("folder") / "codecfake-data"
    assert codecfake_cli.main(["prepare", str(release.root), str(out)]) == 0
    return out


@pytest.mark.parametrize(
    ("nested", "zip64", "num_proc"),
    # deflated with workers: this process writes train and dev in one pass, they the rest
    [
        ("stored", False, "1"),
        ("stored", True, "2"),
        ("deflated", False, "1"),
        ("deflated", False, "2"),
    ],
)
def test_the_archives_prepare_to_the_extracted_folders_dataset(
    release, from_folder, tmp_path, capsys, nested, zip64, num_proc
):
    packed = pack_official(release.root, tmp_path / "zips", nested=nested, zip64=zip64)
    assert len(packed.split_sets["train_split"]) > 2  # the nested zip spans several volumes
    out = tmp_path / "codecfake-data"
    rc, printed, err = prepare_cli(capsys, packed.root, out, "--num-proc", num_proc)
    assert rc == 0, err
    assert rows(out) == rows(from_folder)
    # A zip deflated inside another is read forward, so its parts' rows follow the archive's
    # order, not the label files': the same rows, in shards of other digests.
    stamps = nested == "stored"
    assert card_yaml(out, stamps) == card_yaml(from_folder, stamps)
    assert_configs_match_labels(release.root, out)
    reconciled = [line for line in printed.splitlines() if line.startswith("reconciled:")]
    assert reconciled and reconciled[0] in _printed_by_folder(release, tmp_path, capsys)
    if nested == "stored":  # read in label order, as the folder is: the very same shards
        manifest = json.loads((out / "codecfake_folder.json").read_text())
        folder = json.loads((from_folder / "codecfake_folder.json").read_text())
        assert manifest["shards"] == folder["shards"]


def _printed_by_folder(release: Release, tmp_path: Path, capsys) -> str:
    rc, printed, err = prepare_cli(capsys, release.root, tmp_path / "again")
    assert rc == 0, err
    return printed


def test_a_corrupted_volume_is_named_and_leaves_no_output_folder(release, tmp_path, capsys):
    packed = pack_official(release.root, tmp_path / "zips")
    volume = packed.split_sets["train_split"][1]
    data = bytearray(volume.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 64] = bytes(b ^ 0x5A for b in data[middle : middle + 64])
    volume.write_bytes(bytes(data))
    out = tmp_path / "codecfake-data"
    rc, _, err = prepare_cli(capsys, packed.root, out)
    assert rc == 1
    errors = [line for line in err.splitlines() if line.startswith("codecfake prepare: error:")]
    assert len(errors) == 1 and errors[0] == err.strip().splitlines()[-1]
    assert f"{volume}:" in errors[0] and "download train_split.z02 again" in errors[0]
    assert not out.exists()


def test_a_folder_mixing_extracted_parts_and_archives(release, from_folder, tmp_path, capsys):
    packed = pack_official(release.root, tmp_path / "zips")
    packed.condition_zips["C2"].unlink()  # C2 extracted instead, in a folder of its own
    shutil.copytree(release.root / "test" / "C2", packed.root / "extracted" / "test" / "C2")
    out = tmp_path / "codecfake-data"
    rc, _, err = prepare_cli(capsys, packed.root, out)
    assert rc == 0, err
    assert rows(out) == rows(from_folder)


def test_a_file_in_two_archives_is_refused_naming_both(release, tmp_path, capsys):
    packed = pack_official(release.root, tmp_path / "zips")
    clip = next(r for r in release.rows if r.label_file == "C1.txt" and r.label == "fake")
    extra = packed.root / "record7" / "extra.zip"
    extra.parent.mkdir()
    with zipfile.ZipFile(extra, "w") as archive:
        archive.write(clip.path, f"C1/{clip.file}")
    rc, _, err = prepare_cli(capsys, packed.root, tmp_path / "out")
    assert rc == 1
    assert clip.file in err and "record7/extra.zip" in err and "record5/C1.zip" in err


def test_an_entry_no_label_names_is_reported_not_taken(release, tmp_path, capsys):
    packed = pack_official(release.root, tmp_path / "zips")
    stray = tmp_path / "F03_unlisted_999.wav"
    shutil.copyfile(release.rows[-1].path, stray)
    with zipfile.ZipFile(packed.root / "record5" / "C3.zip", "a") as archive:
        archive.write(stray, f"{packed.layouts.get('C3', '')}/F03_unlisted_999.wav".lstrip("/"))
    rc, _, err = prepare_cli(capsys, packed.root, tmp_path / "out")
    assert rc == 0, err
    assert "1 audio files on disk are named by no label file" in err
    assert "F03_unlisted_999.wav" in err


def test_a3_without_its_reals_is_said_plainly(tmp_path, capsys):
    release = make_release(tmp_path / "release", conditions=("C1", "A3"), with_train=False)
    packed = pack_official(release.root, tmp_path / "zips")
    reals = sum(r.label_file == "A3.txt" and r.label == "real" for r in release.rows)
    fakes = sum(r.label_file == "A3.txt" and r.label == "fake" for r in release.rows)
    rc, _, err = prepare_cli(capsys, packed.root, tmp_path / "out")
    assert rc == 1
    assert f"{reals} of them are A3's real AudioCaps clips, which the official A3.zip" in err
    assert f"the A3 configuration then holds its {fakes} fakes only" in err
    rc, printed, err = prepare_cli(capsys, packed.root, tmp_path / "out", "--allow-missing")
    assert rc == 0, err
    assert "A3's real AudioCaps clips" in err
    assert f"A3         test {fakes}" in printed


def test_a_resumed_run_rewrites_the_shards_of_a_re_downloaded_archive(tmp_path, capsys):
    """A damaged clip stops the first run with its finished shards kept; C1.zip is then
    downloaded again with one clip changed. The rerun rewrites that shard alone."""
    release = make_release(tmp_path / "release", conditions=("C1", "C2"), with_train=False)
    packed = pack_official(release.root, tmp_path / "zips")
    c2 = next(r for r in release.rows if r.label_file == "C2.txt" and r.label == "fake")
    _replace_in_zip(packed.condition_zips["C2"], c2.file, c2.path.read_bytes()[:200])
    out = tmp_path / "codecfake-data"
    rc, _, err = prepare_cli(capsys, packed.root, out, "--max-shard-size", "1B")
    assert rc == 1 and "is truncated" in err and "finished shards are kept" in err
    staging = tmp_path / ".codecfake-data.partial"
    before = {p.relative_to(staging): p.stat().st_ino for p in staging.rglob("*.parquet")}
    assert before
    c1 = next(r for r in release.rows if r.label_file == "C1.txt" and r.label == "fake")
    changed = c1.path.read_bytes()[:-2] + b"\x01\x02"  # same size, other samples
    _replace_in_zip(packed.condition_zips["C1"], c1.file, changed)
    _replace_in_zip(packed.condition_zips["C2"], c2.file, c2.path.read_bytes())
    rc, _, err = prepare_cli(capsys, packed.root, out, "--max-shard-size", "1B")
    assert rc == 0, err
    stored = {r[0]: r[-1] for part in rows(out).values() for r in part}
    assert stored[c1.file] == changed and stored[c2.file] == c2.path.read_bytes()
    after = {p.relative_to(out): p.stat().st_ino for p in out.rglob("*.parquet")}
    rewritten = {name for name in before if after.get(name) != before[name]}
    assert rewritten and all(_holds(out, name, c1.file) for name in rewritten)


def _holds(folder: Path, shard: Path, file: str) -> bool:
    return file in pq.read_table(folder / shard, columns=["file"]).column("file").to_pylist()


def _replace_in_zip(archive: Path, file: str, data: bytes) -> None:
    """Rewrite ``archive`` with ``file`` (wherever it lies inside) holding ``data``."""
    copy = archive.with_suffix(".tmp")
    with zipfile.ZipFile(archive) as source, zipfile.ZipFile(copy, "w") as target:
        for info in source.infolist():
            body = data if info.filename.rsplit("/", 1)[-1] == file else source.read(info)
            target.writestr(info, body)
    copy.replace(archive)
