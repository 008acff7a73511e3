"""The one error every archive problem raises: which file to fetch again, and which entry showed it.

A damaged download is the usual cause, and the useful remedy is concrete: the *file* to download
again. For an Info-ZIP split set that is the volume holding the bad bytes (``train_split.z07``),
not the set, since each volume is a download of its own.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from codecfake import ReleaseError


class ArchiveError(ReleaseError):
    """An unreadable archive: ``path`` is the file to fix, ``entry`` the member that showed it.

    The message is one line: ``<path>: <entry>: <reason>; <remedy>``. The remedy defaults to
    downloading ``path`` again; errors about a set as a whole (a missing volume) give their own.
    """

    def __init__(
        self,
        path: os.PathLike[str] | str,
        reason: str,
        entry: str | None = None,
        remedy: str | None = None,
    ):
        self.entry = entry
        self.remedy = remedy if remedy is not None else f"download {Path(path).name} again"
        where = f"{entry}: " if entry else ""
        super().__init__(path, f"{where}{reason}; {self.remedy}")
        self.reason = reason  # without the entry and remedy, as given

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.path, self.reason, self.entry, self.remedy))
