"""Put a staged dataset folder in place, replacing only the files ``prepare`` owns.

A dataset folder is also where people keep things of their own: a Hub dataset repo's ``.git``
and ``.gitattributes``, a notebook, notes. ``prepare`` owns exactly what its manifest lists
(the shards, the copied provenance files) plus the card and the manifest itself; everything
else in the folder is the user's and is never touched, even inside ``data/``. A file of the
user's standing where a file of ours must go stops the run before anything changes.

The owned trees (``data/``, ``provenance/``) are swapped in by renaming whole folders, so a
reader never sees old and new shards mixed; the user's files inside them are carried over.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable
from pathlib import Path

from codecfake import CodecfakeError
from codecfake_core.dataset_folder import LEGACY_MANIFEST, MANIFEST, FolderManifest, manifest_path

OWNED_TREES = ("data", "provenance")
CARD = "README.md"


def owned_files(folder: Path) -> set[str]:
    """Folder-relative paths of the files ``prepare`` wrote into ``folder`` (none if it made
    no dataset there).

    A folder from before shard digests were recorded lists no shards: every file under the
    owned trees is then ours, because those versions replaced the whole folder on every run.
    """
    if not manifest_path(folder).is_file():
        return set()
    manifest = FolderManifest.read(folder)
    owned = {CARD, manifest_path(folder).name}
    owned.update(manifest.shard_digests)
    owned.update(m for origin in manifest.provenance.values() for m in origin.manifests)
    if not manifest.shard_digests:
        owned.update(_files_under(folder, OWNED_TREES))
    return owned


def check_collisions(staging: Path, out: Path, owned: set[str]) -> None:
    """Refuse when a file or folder of the user's stands where one of ours must go."""
    for relative in sorted(_files_under(staging, (*OWNED_TREES, CARD, MANIFEST))):
        target = out / relative
        for parent in list(Path(relative).parents)[:-1]:
            if (out / parent).is_file() or (out / parent).is_symlink():
                raise CodecfakeError(
                    f"{out / parent}: a file stands where prepare keeps the folder "
                    f"{parent.as_posix()}/; move it away, then rerun"
                )
        if (target.exists() or target.is_symlink()) and relative not in owned:
            raise CodecfakeError(
                f"{target}: stands where prepare writes {relative}, and prepare did not write it "
                "(it is not in the folder's manifest); move it away, then rerun"
            )


def install(staging: Path, out: Path, owned: set[str]) -> None:
    """Move the staged trees, card and manifest into ``out``; keep every file not in ``owned``.

    ``owned`` is :func:`owned_files` of ``out`` before the run. Collisions were refused by
    :func:`check_collisions`, so the user's files moved into the staged trees land on no name.
    """
    out.mkdir(parents=True, exist_ok=True)
    trash = out.parent / f".{out.name}.old"
    shutil.rmtree(trash, ignore_errors=True)  # ours: a swap interrupted earlier
    trash.mkdir()
    for tree in OWNED_TREES:
        old, new = out / tree, staging / tree
        if old.is_dir():
            for relative in _files_under(out, [tree]) - owned:  # the user's, kept
                kept = staging / relative
                kept.parent.mkdir(parents=True, exist_ok=True)
                os.rename(out / relative, kept)
            os.rename(old, trash / tree)
        if new.is_dir():
            os.rename(new, old)
    os.replace(staging / CARD, out / CARD)
    if (out / LEGACY_MANIFEST).is_file() and LEGACY_MANIFEST in owned:
        os.rename(out / LEGACY_MANIFEST, trash / LEGACY_MANIFEST)
    os.replace(staging / MANIFEST, out / MANIFEST)  # last: the folder is now the new dataset
    shutil.rmtree(trash)


def _files_under(root: Path, names: Iterable[str]) -> set[str]:
    """Root-relative POSIX paths of the files at or below each of ``names``."""
    found: set[str] = set()
    for name in names:
        path = root / name
        if path.is_file():
            found.add(name)
        elif path.is_dir():
            found.update(p.relative_to(root).as_posix() for p in path.rglob("*") if p.is_file())
    return found
