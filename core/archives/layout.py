"""Where a file found in the archives belongs in the release: ``train/``, ``test/C4/``, ``label/``.

The official archives agree on no inner layout: the split sets hold one zip under an absolute
path (``data7/xyk/codecfake/upload_zenodo/train.zip``), per-condition zips may hold
``C1/x.wav``, ``test/C4/x.wav`` or their files at the root, and ``A3.zip`` has been seen with an
``A3_fake/`` folder (official issue #11). So no prefix is relied on. A file's *context* is every
name from ARCHIVES_DIR down to it, archives included (``record1``, ``train_split``, ``data7``,
..., ``train``, ...), and the innermost name that tells a release folder decides:

* ``train`` or ``dev``, as a folder name or as an archive's name (``train_split`` counts as
  ``train``: a split set is named after its part);
* a test condition, ``C<k>`` or ``C<k>-<j>`` (codec sub-configurations) or ``A<k>``, also with a
  word after an underscore (``A3_fake``): its files go to ``test/<condition>/``.

Label files are known by name wherever they are: ``train.txt``, ``dev.txt`` and
``<condition>.txt`` go to ``label/``, as does ``conditions.json`` in a folder named ``label``.
Audio is WAV (FLAC accepted); other files are not part of the release. macOS resource forks
(``__MACOSX/``, ``._x.wav``) are ignored.
"""

from __future__ import annotations

import re

from codecfake import CONDITIONS_FILE

LABEL = "label"
UNPLACED = ""
"""The folder of an audio file whose context names no release folder."""
AUDIO_SUFFIXES = (".wav", ".flac")
SPLIT_FOLDERS = ("train", "dev")
_CONDITION = re.compile(r"^(C\d+(?:-\d+)?|A\d+)(?:_[A-Za-z]+)?$")
_LABEL_FILE = re.compile(r"^(?:train|dev|C\d+(?:-\d+)?|A\d+)\.txt$")
_SPLIT_SET_SUFFIX = "_split"


def folder_named(name: str) -> str | None:
    """The release folder one folder or archive name tells, if any."""
    name = name.removesuffix(_SPLIT_SET_SUFFIX)
    if name in SPLIT_FOLDERS:
        return name
    match = _CONDITION.match(name)
    return f"test/{match.group(1)}" if match else None


def folder_of(context: tuple[str, ...]) -> str:
    """The release folder the innermost telling name of ``context`` gives (or :data:`UNPLACED`)."""
    for name in reversed(context):
        folder = folder_named(name)
        if folder is not None:
            return folder
    return UNPLACED


def place(context: tuple[str, ...], file: str, folder: str | None = None) -> str | None:
    """The release folder of ``file`` found under ``context``; ``None`` if it is not release
    content, :data:`UNPLACED` for audio whose context tells no folder. ``folder`` is
    ``folder_of(context)`` when the caller knows it already (a listing has few folders and
    many files)."""
    audio = file.endswith(AUDIO_SUFFIXES) or file.lower().endswith(AUDIO_SUFFIXES)
    label = not audio and (
        _LABEL_FILE.match(file) is not None
        or (file == CONDITIONS_FILE and bool(context) and context[-1] == LABEL)
    )
    if not (audio or label) or file.startswith("._") or "__MACOSX" in context:
        return None
    if label:
        return LABEL
    return folder if folder is not None else folder_of(context)
