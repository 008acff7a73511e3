"""codecfake_core.archives: the release read straight from archives packed like the official one.

Archives are packed by the real Info-ZIP ``zip`` (testkit/official_archives.py); what a
member should hold is the file it was packed from, and where an entry's bytes lie is found in
the volumes' bytes by this file's own search, or asked of ``7z`` and ``unzip``.
"""

from __future__ import annotations

import os
import pickle
import re
import shutil
import struct
import subprocess
import tracemalloc
import zlib
from pathlib import Path

import pytest

from codecfake import ReleaseError
from codecfake_core.archives import ArchiveError, ReleaseArchives
from codecfake_core.archives.layout import place
from testkit.official_archives import ZIP, pack_official
from testkit.release_factory import make_release

pytestmark = pytest.mark.skipif(ZIP is None, reason="Info-ZIP zip is not installed")
SEVEN_ZIP = shutil.which("7z")
UNZIP = shutil.which("unzip")
VARIANTS = {
    "stored": {"nested": "stored"},
    "deflated": {"nested": "deflated"},
    "zip64": {"nested": "stored", "zip64": True},
    "zip64-deflated": {"nested": "deflated", "zip64": True},
}


@pytest.fixture(scope="module")
def release_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # Clips of a second and four Mandarin speakers: the train set's inner zip is then about
    # 1.5 MB, some twenty 64 KiB volumes.
    root = tmp_path_factory.mktemp("release") / "release"
    make_release(root, n_en=2, n_zh=4, seconds=1.0)
    return root


@pytest.fixture(scope="module")
def packed(release_root: Path, tmp_path_factory: pytest.TempPathFactory):
    """Variant name -> PackedRelease, packed once per module."""
    made = {}

    def pack(variant: str):
        if variant not in made:
            out = tmp_path_factory.mktemp(variant) / "downloads"
            made[variant] = pack_official(release_root, out, **VARIANTS[variant])
        return made[variant]

    return pack


def copy_of(packed_release, tmp_path: Path) -> Path:
    target = tmp_path / "downloads"
    shutil.copytree(packed_release.root, target)
    return target


def seven_zip_listing(volumes: list[Path], tmp_path: Path) -> str:
    """``7z l -slt`` of a split set (7z wants its volumes side by side: linked into one folder)."""
    together = tmp_path / "together"
    together.mkdir(exist_ok=True)
    for volume in volumes:
        (together / volume.name).symlink_to(volume)
    command = [SEVEN_ZIP, "l", "-slt", str(together / volumes[-1].name)]
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout


def release_files(root: Path) -> dict[str, Path]:
    """Release path -> source file, for every file of the tree the packer was given."""
    return {p.relative_to(root).as_posix(): p for p in root.rglob("*") if p.is_file()}


def expected_paths(root: Path) -> set[str]:
    # A3's real AudioCaps clips (Y<id>.wav) are not in the official A3.zip.
    return {p for p in release_files(root) if not re.match(r"test/A3/Y", p)}


def volume_at(volumes: list[Path], position: int) -> tuple[Path, int]:
    """The volume holding byte ``position`` of the volumes' concatenation, and its offset."""
    for volume in volumes:
        size = volume.stat().st_size
        if position < size:
            return volume, position
        position -= size
    raise AssertionError("past the last volume")


def find_local_entry(volumes: list[Path], name: str) -> tuple[int, int, int]:
    """(header start, data start, compressed size) of the local header named ``name`` in the
    volumes' concatenation, read by hand: local headers come before the central directory."""
    data = b"".join(v.read_bytes() for v in volumes)
    encoded = name.encode()
    header = data.find(b"PK\x03\x04")
    while header >= 0:
        (compressed,) = struct.unpack_from("<I", data, header + 18)
        name_length, extra_length = struct.unpack_from("<HH", data, header + 26)
        start = header + 30 + name_length + extra_length
        if data[header + 30 : header + 30 + name_length] == encoded:
            extra = header + 30 + name_length
            while compressed == 0xFFFFFFFF and extra < start:  # ZIP64: sizes in field 1
                field, length = struct.unpack_from("<HH", data, extra)
                if field == 1:
                    compressed = struct.unpack_from("<Q", data, extra + 12)[0]
                extra += 4 + length
            return header, start, compressed
        header = data.find(b"PK\x03\x04", header + 4)
    raise AssertionError(f"no local header for {name}")


# ------------------------------------------------------------------------------------------------
# Reading everything back


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_every_member_equals_the_file_it_was_packed_from(variant, packed, release_root) -> None:
    archives = packed(variant)
    sources = release_files(release_root)
    with ReleaseArchives.scan(archives.root) as release:
        found = {m.path: m for folder in release.folders.values() for m in folder}
        assert set(found) == expected_paths(release_root)
        assert release.unplaced == []
        for path, member in found.items():
            content = sources[path].read_bytes()
            assert member.size == len(content)
            if not path.startswith("label/"):  # label files are loose: no CRC to carry
                assert member.crc == zlib.crc32(content)
        in_order = {}
        for folder in release.folders.values():
            for member, data in release.read_in_order(folder):
                in_order[member.path] = data
        assert in_order == {path: sources[path].read_bytes() for path in found}
        # One at a time, in any order, through the same members.
        for path in sorted(found, reverse=True)[:12]:
            assert release.read(found[path]) == sources[path].read_bytes()
        assert release.label("C4.txt") == (release_root / "label" / "C4.txt").read_bytes()
        assert release.label("C99.txt") is None


def test_the_packer_spreads_volumes_and_forces_zip64_as_asked(packed) -> None:
    stored, zip64 = packed("stored"), packed("zip64")
    train = stored.split_sets["train_split"]
    assert len(train) >= 6  # .z01 .. .zNN and .zip
    assert {v.parent.name for v in train} == {"record1", "record2", "record3"}
    assert train[0].read_bytes()[:4] == b"PK\x07\x08"  # Info-ZIP's split signature
    last = zip64.split_sets["train_split"][-1].read_bytes()
    assert b"PK\x06\x06" in last and b"PK\x06\x07" in last  # ZIP64 end record and locator
    assert b"PK\x06\x06" not in stored.split_sets["train_split"][-1].read_bytes()


@pytest.mark.skipif(SEVEN_ZIP is None, reason="7z is not installed")
def test_the_nested_zip_is_stored_by_default_and_deflated_on_request(packed, tmp_path) -> None:
    methods = {}
    for variant in ("stored", "deflated"):
        volumes = packed(variant).split_sets["train_split"]
        (tmp_path / variant).mkdir()
        listing = seven_zip_listing(volumes, tmp_path / variant)
        block = listing.split("Path = data7/xyk/codecfake/upload_zenodo/train.zip")[1]
        methods[variant] = re.search(r"Method = (\w+)", block).group(1)
    assert methods == {"stored": "Store", "deflated": "Deflate"}


def test_reader_reads_members_after_a_trip_through_pickle(packed, release_root) -> None:
    with ReleaseArchives.scan(packed("stored").root) as release:
        reader = pickle.loads(pickle.dumps(release.reader()))
        members = [m for folder in release.folders.values() for m in folder]
    try:
        for member in members:
            assert reader.read(member) == (release_root / member.path).read_bytes()
    finally:
        reader.close()


def test_members_of_a_deflated_nested_zip_are_read_where_they_were_listed(packed) -> None:
    with ReleaseArchives.scan(packed("deflated").root) as release:
        train = next(iter(release.folders["train"]))
        test = next(iter(release.folders["test/C1"]))
        assert not release.random_access(train)
        assert release.random_access(test)
        reader = release.reader()
        assert reader.read(test) == release.read(test)
        with pytest.raises(ValueError, match="in order"):
            reader.read(train)


# ------------------------------------------------------------------------------------------------
# Layouts


@pytest.mark.skipif(UNZIP is None, reason="unzip is not installed")
def test_inner_layouts_all_map_to_the_release_folder(packed, release_root) -> None:
    archives = packed("stored")
    listed = {}
    for condition, path in archives.condition_zips.items():
        names = subprocess.run(
            [UNZIP, "-Z1", str(path)], capture_output=True, text=True, check=True
        ).stdout.split()
        listed[condition] = [n for n in names if not n.endswith("/")]
    # The packer's layouts really differ (read back with unzip), C1 .. C4 as in the brief.
    assert all(n.startswith("C1/") for n in listed["C1"])
    assert all(n.startswith("data7/xyk/codecfake/upload_zenodo/C2/") for n in listed["C2"])
    assert all("/" not in n for n in listed["C3"])
    assert all(n.startswith("test/C4/") for n in listed["C4"])
    assert all(n.startswith("A3_fake/") for n in listed["A3"])
    with ReleaseArchives.scan(archives.root) as release:
        for condition, names in listed.items():
            folder = release.folders[f"test/{condition}"]
            assert sorted(m.location.name for m in folder) == sorted(names)
            assert {m.path for m in folder} == {
                f"test/{condition}/{n.rpartition('/')[2]}" for n in names
            }
        member = release.folders["train"].get("F01_p227_001.wav")
        assert member is not None and member.path == "train/F01_p227_001.wav"
        assert "F01_p227_001.wav" in release.folders["train"]
        assert "F01_p227_001.wav" not in release.folders["dev"]
        where = release.describe(member)
        assert where.startswith(str(archives.root / "record1" / "train_split.zip"))
        assert where.endswith(
            "> data7/xyk/codecfake/upload_zenodo/train.zip > train/F01_p227_001.wav"
        )
        dev = release.folders["dev"].get("F02_p228_102.wav")  # dev.zip holds its files flat
        assert dev is not None and dev.location.name == "F02_p228_102.wav"


@pytest.mark.skipif(UNZIP is None, reason="unzip is not installed")
def test_a_folder_mixing_extracted_parts_and_archives(packed, release_root, tmp_path) -> None:
    root = copy_of(packed("stored"), tmp_path)
    c1 = root / "record5" / "C1.zip"
    subprocess.run([UNZIP, "-q", str(c1), "-d", str(root / "extracted")], check=True)
    c1.unlink()
    labels = root / "record1" / "label"
    subprocess.run(
        [ZIP, "-q", "-r", str(root / "record1" / "label.zip"), "label"],
        cwd=labels.parent,
        check=True,
    )
    shutil.rmtree(labels)
    with ReleaseArchives.scan(root) as release:
        c1_members = list(release.folders["test/C1"])
        assert c1_members and all(m.crc is None for m in c1_members)  # loose files now
        for member in c1_members:
            assert release.read(member) == (release_root / member.path).read_bytes()
        label = release.folders["label"].get("train.txt")
        assert label is not None and label.crc is not None  # from label.zip now
        assert release.label("train.txt") == (release_root / "label" / "train.txt").read_bytes()


@pytest.mark.skipif(UNZIP is None, reason="unzip is not installed")
def test_a_file_found_twice_is_reported_with_both_places(packed, tmp_path) -> None:
    root = copy_of(packed("stored"), tmp_path)
    subprocess.run(
        [UNZIP, "-q", str(root / "record5" / "C1.zip"), "-d", str(root / "extracted")], check=True
    )
    with pytest.raises(ReleaseError) as caught:
        ReleaseArchives.scan(root)
    message = str(caught.value)
    assert "found twice" in message
    assert str(root / "record5" / "C1.zip") in message
    assert str(root / "extracted" / "C1") in message


def test_audio_no_name_places_is_set_aside(packed, release_root, tmp_path) -> None:
    root = copy_of(packed("stored"), tmp_path)
    (root / "misc").mkdir()
    shutil.copyfile(release_root / "test" / "C1" / "F01_p226_201.wav", root / "misc" / "x.wav")
    with ReleaseArchives.scan(root) as release:
        assert release.unplaced == [f"{root} > misc/x.wav"]
        assert all(m.file != "x.wav" for f in release.folders.values() for m in f)


# ------------------------------------------------------------------------------------------------
# Damage


@pytest.mark.parametrize("variant", ["stored", "zip64"])
@pytest.mark.parametrize("where", ["data", "header"])
def test_a_damaged_byte_names_its_volume_and_entry(
    variant, where, packed, release_root, tmp_path
) -> None:
    archives = packed(variant)
    root = copy_of(archives, tmp_path)
    volumes = [root / p.relative_to(archives.root) for p in archives.split_sets["train_split"]]
    # An entry whose data lies in one volume, after the first (so in another record's folder).
    for source in sorted((release_root / "train").iterdir()):
        name = f"train/{source.name}"
        header, start, compressed = find_local_entry(volumes, name)
        volume = volume_at(volumes, header)[0]
        if volume != volumes[0] and volume == volume_at(volumes, start + compressed - 1)[0]:
            break
    else:
        raise AssertionError("no entry lies within one volume")
    target = start + compressed // 2 if where == "data" else header + 1
    volume, offset = volume_at(volumes, target)
    with volume.open("r+b") as handle:
        handle.seek(offset)
        byte = handle.read(1)
        handle.seek(offset)
        handle.write(bytes([byte[0] ^ 0xFF]))
    with ReleaseArchives.scan(root) as release:
        member = release.folders["train"].get(source.name)
        with pytest.raises(ArchiveError) as caught:
            release.read(member)
    error = caught.value
    assert error.path == str(volume)
    assert error.entry == f"data7/xyk/codecfake/upload_zenodo/train.zip > {name}"
    message = str(error)
    assert "\n" not in message
    assert message.endswith(f"download {volume.name} again")
    if where == "header":
        assert "bad local header" in message
    else:
        assert "CRC" in message or "damaged" in message


def test_a_damaged_byte_in_a_deflated_nested_zip_names_its_volume(packed, tmp_path) -> None:
    archives = packed("deflated")
    root = copy_of(archives, tmp_path)
    volumes = [root / p.relative_to(archives.root) for p in archives.split_sets["train_split"]]
    middle = volumes[len(volumes) // 2]
    with middle.open("r+b") as handle:
        handle.seek(1000)
        byte = handle.read(1)
        handle.seek(1000)
        handle.write(bytes([byte[0] ^ 0xFF]))
    with pytest.raises(ArchiveError) as caught:
        ReleaseArchives.scan(root)  # listing inflates the whole inner zip
    message = str(caught.value)
    assert middle.name in message
    assert "train.zip" in message


def test_a_missing_volume_is_named(packed, tmp_path) -> None:
    archives = packed("stored")
    root = copy_of(archives, tmp_path)
    (root / archives.split_sets["train_split"][2].relative_to(archives.root)).unlink()
    with pytest.raises(ArchiveError) as caught:
        ReleaseArchives.scan(root)
    error = caught.value
    assert error.path == str(root / "record1" / "train_split.zip")
    assert "train_split.z03 is missing" in str(error)


def test_a_volume_without_its_zip_is_named(packed, tmp_path) -> None:
    root = copy_of(packed("stored"), tmp_path)
    (root / "record4" / "dev_split.zip").unlink()
    with pytest.raises(ArchiveError, match=r"dev_split\.z01: is a volume of the split archive"):
        ReleaseArchives.scan(root)


def test_an_extra_volume_is_named(packed, tmp_path) -> None:
    root = copy_of(packed("stored"), tmp_path)
    volumes = packed("stored").split_sets["dev_split"]
    extra = root / "record4" / f"dev_split.z{len(volumes) + 3:02d}"
    shutil.copyfile(root / "record4" / "dev_split.z01", extra)
    with pytest.raises(ArchiveError) as caught:
        ReleaseArchives.scan(root)
    assert caught.value.path == str(extra)
    assert "is not a volume of dev_split.zip" in str(caught.value)


def test_a_volume_of_the_wrong_size_is_named(packed, tmp_path) -> None:
    archives = packed("stored")
    root = copy_of(archives, tmp_path)
    volume = root / archives.split_sets["train_split"][2].relative_to(archives.root)
    size = volume.stat().st_size
    with volume.open("r+b") as handle:
        handle.truncate(size - 100)
    with pytest.raises(ArchiveError) as caught:
        ReleaseArchives.scan(root)
    assert caught.value.path == str(volume)
    assert (
        f"is {size - 100:,} bytes where the other volumes of train_split.zip are {size:,}"
        in str(caught.value)
    )


def test_a_volume_truncated_after_the_scan_is_named_when_read(packed, tmp_path) -> None:
    root = copy_of(packed("stored"), tmp_path)
    with ReleaseArchives.scan(root) as release:
        members = list(release.folders["train"])
        last_volume = root / "record3" / sorted(p.name for p in (root / "record3").iterdir())[-1]
        with last_volume.open("r+b") as handle:
            handle.truncate(10)
        with pytest.raises(ArchiveError) as caught:
            for _ in release.read_in_order(members):
                pass
    assert caught.value.path == str(last_volume)
    assert "truncated" in str(caught.value)


def test_archive_errors_survive_pickling() -> None:
    error = ArchiveError("/d/train_split.z07", "fails its CRC check", "train.zip > train/x.wav")
    again = pickle.loads(pickle.dumps(error))
    assert (again.path, again.entry, again.reason, str(again)) == (
        error.path,
        error.entry,
        error.reason,
        str(error),
    )
    assert str(error) == (
        "/d/train_split.z07: train.zip > train/x.wav: fails its CRC check; "
        "download train_split.z07 again"
    )


# ------------------------------------------------------------------------------------------------
# Costs


@pytest.mark.skipif(SEVEN_ZIP is None, reason="7z is not installed")
def test_a_deflated_nested_zip_read_in_order_reads_each_compressed_byte_once(
    packed, tmp_path
) -> None:
    archives = packed("deflated")
    listing = seven_zip_listing(archives.split_sets["train_split"], tmp_path)
    block = listing.split("Path = data7/xyk/codecfake/upload_zenodo/train.zip")[1]
    compressed = int(re.search(r"Packed Size = (\d+)", block).group(1))
    with ReleaseArchives.scan(archives.root) as release:
        members = list(release.folders["train"])
        before = release.bytes_read
        count = sum(1 for _ in release.read_in_order(reversed(members)))
        forward = release.bytes_read - before
        assert count == len(members)
        # Every compressed byte up to the last member, each once (the central directory that
        # follows it may be left unread).
        assert compressed - 64 * 1024 < forward <= compressed
        before = release.bytes_read
        for member in reversed(members):  # one at a time, backwards: each restarts inflation
            release.read(member)
        assert release.bytes_read - before > 3 * compressed


@pytest.fixture(scope="module")
def many_entries(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    """A zip of 70,000 empty WAV files (ZIP64 entry counts), packed by zip."""
    root = tmp_path_factory.mktemp("many")
    folder = root / "files" / "C8"
    folder.mkdir(parents=True)
    names = [f"F08_p{n // 1000:03d}_{n % 1000:03d}.wav" for n in range(70_000)]
    for name in names:
        os.close(os.open(folder / name, os.O_CREAT | os.O_WRONLY))
    archives = root / "downloads"
    archives.mkdir()
    subprocess.run([ZIP, "-q", "-r", str(archives / "C8.zip"), "C8"], cwd=folder.parent, check=True)
    shutil.rmtree(root / "files")
    return archives, names


@pytest.mark.slow
def test_a_zip_of_more_than_65535_entries_lists_exactly(many_entries) -> None:
    archives, names = many_entries
    tail = (archives / "C8.zip").read_bytes()[-200:]
    assert b"PK\x06\x06" in tail  # zip wrote ZIP64 end records for the count
    tracemalloc.start()
    try:
        before = tracemalloc.take_snapshot()
        release = ReleaseArchives.scan(archives)
        after = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    with release:
        folder = release.folders["test/C8"]
        assert len(folder) == len(names)
        assert sorted(m.file for m in folder) == names
        assert folder.get(names[-1]).location.name == f"C8/{names[-1]}"
        retained = sum(s.size_diff for s in after.compare_to(before, "filename"))
        # Flat arrays: the entry's 36 bytes, its 19-byte name and the folder's 18 bytes of index,
        # with the arrays' growth slack; a zipfile.ZipInfo alone is over 400 bytes.
        assert retained / len(names) < 110


@pytest.mark.parametrize(
    ("context", "file", "folder"),
    [
        (
            (
                "record1",
                "train_split",
                "data7",
                "xyk",
                "codecfake",
                "upload_zenodo",
                "train",
                "train",
            ),
            "F01_p225_001.wav",
            "train",
        ),
        (
            ("record4", "dev_split", "data7", "xyk", "codecfake", "upload_zenodo", "dev"),
            "p228_102.wav",
            "dev",
        ),
        (("Codecfake", "test", "C4"), "F04_p225_001.wav", "test/C4"),
        (("C4", "test"), "F04_p225_001.wav", "test/C4"),
        (("C3-1",), "C3-1_p225_001.wav", "test/C3-1"),
        (("A3", "A3_fake"), "7001.wav", "test/A3"),
        (("C12", "data2", "C1"), "F01_p225_001.wav", "test/C1"),
        (("downloads",), "p225_001.wav", ""),
        (("record1", "label"), "C3-1.txt", "label"),
        (("anywhere",), "train.txt", "label"),
        (("label",), "conditions.json", "label"),
        (("elsewhere",), "conditions.json", None),
        (("C1",), "README.txt", None),
        (("C1", "__MACOSX", "C1"), "._F01_p225_001.wav", None),
        (("C1",), "F01_p225_001.FLAC", "test/C1"),
    ],
)
def test_a_file_is_placed_by_the_innermost_telling_name(context, file, folder) -> None:
    assert place(context, file) == folder
