"""Pack a release tree the way the official Codecfake release is packed, with Info-ZIP ``zip``.

What the official archives look like (the repository's README and issues #8, #9 and #11):

* ``train_split.zip`` + ``.z01`` .. ``.z16``: an Info-ZIP split set (``zip -s``) holding one
  zip under an absolute path, ``data7/xyk/codecfake/upload_zenodo/train.zip``, which holds the
  training audio. Its volumes are spread over three Zenodo records (``.zip`` + ``.z01`` ..
  ``.z05`` with the labels, ``.z06`` .. ``.z10``, ``.z11`` .. ``.z16``); ``dev_split.zip`` +
  ``.z01``, ``.z02`` likewise, in a record of its own. ``zip`` stores a ``.zip`` file it adds
  without compressing it (``.zip`` is on its default ``-n`` list), so the inner zip is stored;
  ``nested="deflated"`` empties that list (``-n :``) to deflate it instead.
* ``C1.zip`` .. ``C7.zip``, ``A1.zip`` .. ``A3.zip`` (sub-configurations such as ``C3-1`` get a
  zip of their own here) with undocumented inner layouts: packed here in four different ones in
  turn, ``C1/x.wav``, ``test/C4/x.wav``, an absolute prefix ``data7/.../C2/x.wav``, and files at
  the root. ``A3.zip`` holds only A3's generated clips, in ``A3_fake/`` (issue #11: the real
  AudioCaps clips are not distributed, issue #8).
* Label files are loose, in ``record1/label/``.

:func:`pack_official` takes paths and returns what it wrote, so a benchmark can reuse it.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

ZIP = shutil.which("zip")
ABSOLUTE_PREFIX = Path("data7/xyk/codecfake/upload_zenodo")
LAYOUTS = ("folder", "test-folder", "absolute", "flat")
"""Inner layouts of the per-condition zips: ``C1/x.wav``, ``test/C1/x.wav``,
``data7/.../C1/x.wav``, ``x.wav``. C1 to C4 get :data:`FIRST_LAYOUTS`, the others these in turn."""
FIRST_LAYOUTS = {"C1": "folder", "C2": "absolute", "C3": "flat", "C4": "test-folder"}
RECORDS = ("record1", "record2", "record3")


@dataclass
class PackedRelease:
    """What :func:`pack_official` wrote under ``root``."""

    root: Path
    split_sets: dict[str, list[Path]] = field(default_factory=dict)  # stem -> volumes, .z01 first
    condition_zips: dict[str, Path] = field(default_factory=dict)
    layouts: dict[str, str] = field(default_factory=dict)  # condition -> one of LAYOUTS
    packed: set[str] = field(default_factory=set)  # release paths of every file packed or copied


def pack_official(
    release_root: Path,
    out_dir: Path,
    *,
    nested: Literal["stored", "deflated"] = "stored",
    zip64: bool = False,
    volume_kib: int = 64,
) -> PackedRelease:
    """Pack the release at ``release_root`` (official layout) into ``out_dir``.

    ``volume_kib`` is the split size (``zip -s``; Info-ZIP's smallest is 64 KiB); ``zip64``
    forces ZIP64 records everywhere (``zip -fz``).
    """
    if ZIP is None:
        raise RuntimeError("the Info-ZIP 'zip' program is not installed")
    out_dir.mkdir(parents=True, exist_ok=True)
    packed = PackedRelease(out_dir)
    flags = ["-q", "-r", *(["-fz"] if zip64 else [])]
    labels = out_dir / RECORDS[0] / "label"
    labels.mkdir(parents=True)
    for label in sorted((release_root / "label").iterdir()):
        shutil.copyfile(label, labels / label.name)
        packed.packed.add(f"label/{label.name}")
    with tempfile.TemporaryDirectory(dir=out_dir.parent) as staging:
        for part, inner_layout in (("train", "folder"), ("dev", "flat")):
            if (release_root / part).is_dir():
                options = (inner_layout, nested, flags, volume_kib)
                _pack_split_set(release_root, Path(staging), out_dir, part, *options, packed)
    test = release_root / "test"
    conditions = sorted(p.name for p in test.iterdir()) if test.is_dir() else []
    for number, condition in enumerate(conditions):
        layout = FIRST_LAYOUTS.get(condition, LAYOUTS[number % len(LAYOUTS)])
        target = out_dir / ("record6" if condition == "C7" else "record5") / f"{condition}.zip"
        target.parent.mkdir(parents=True, exist_ok=True)
        files = sorted((test / condition).iterdir())
        if condition == "A3":  # only the generated clips: AudioCaps reals are not distributed
            files = [f for f in files if not f.name.startswith("Y")]
            layout = "A3_fake"
        _zip_files(files, target, layout, condition, flags)
        packed.condition_zips[condition] = target
        packed.layouts[condition] = layout
        packed.packed.update(f"test/{condition}/{f.name}" for f in files)
    return packed


def _pack_split_set(
    release_root: Path,
    staging: Path,
    out_dir: Path,
    part: str,
    inner_layout: str,
    nested: str,
    flags: list[str],
    volume_kib: int,
    packed: PackedRelease,
) -> None:
    """``<part>_split.zip`` + volumes, holding ``data7/.../<part>.zip``, spread over records."""
    files = sorted((release_root / part).iterdir())
    inner = staging / part / ABSOLUTE_PREFIX / f"{part}.zip"
    inner.parent.mkdir(parents=True)
    _zip_files(files, inner, inner_layout, part, flags)
    stem = f"{part}_split"
    built = staging / f"{stem}-volumes"
    built.mkdir()
    compress = ["-n", ":"] if nested == "deflated" else []
    split = ["-s", f"{volume_kib}k"]
    _run([*flags, *compress, *split, str(built / f"{stem}.zip"), "data7"], cwd=staging / part)
    volumes = [*sorted(built.glob(f"{stem}.z[0-9]*")), built / f"{stem}.zip"]
    # Like the train set's three records: the .zip and the first third, then the other two.
    records = RECORDS if part == "train" else ("record4",)
    per_record = -(-(len(volumes) - 1) // len(records))
    placed = []
    for index, volume in enumerate(volumes):
        record = records[0] if volume.suffix == ".zip" else records[index // per_record]
        target = out_dir / record / volume.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(volume, target)
        placed.append(target)
    packed.split_sets[stem] = placed
    packed.packed.update(f"{part}/{f.name}" for f in files)


def _zip_files(files: list[Path], target: Path, layout: str, name: str, flags: list[str]) -> None:
    """Zip ``files`` (of release folder ``name``) into ``target`` under the inner ``layout``."""
    inner_folder = {
        "folder": Path(name),
        "test-folder": Path("test") / name,
        "absolute": ABSOLUTE_PREFIX / name,
        "flat": Path(),
        "A3_fake": Path("A3_fake"),
    }[layout]
    with tempfile.TemporaryDirectory(dir=target.parent) as staging:
        folder = Path(staging) / inner_folder
        folder.mkdir(parents=True, exist_ok=True)
        for file in files:
            try:
                (folder / file.name).hardlink_to(file)
            except OSError:  # another file system
                shutil.copyfile(file, folder / file.name)
        top = [str(p.relative_to(staging)) for p in sorted(Path(staging).iterdir())]
        _run([*flags, str(target.resolve()), "-@"], cwd=Path(staging), names=top)


def _run(arguments: list[str], cwd: Path, names: list[str] | None = None) -> None:
    """``zip`` with ``arguments``; ``names`` go to its standard input (``-@``): a flat layout of
    the complete release puts 90,000 names at the top, past the kernel's argument limit."""
    assert ZIP is not None
    listed = "".join(f"{name}\n" for name in names).encode() if names is not None else None
    subprocess.run([ZIP, *arguments], cwd=cwd, check=True, input=listed)
