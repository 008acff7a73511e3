"""Third-party progress bars under the package's one policy.

codecfake draws its own bars only when asked (a terminal, or ``--progress``), but ``datasets``
("Generating split", "Loading dataset shards") and ``huggingface_hub`` (downloads, uploads) draw
theirs regardless, so a batch job's log or a pipe would fill with redraws. :func:`library_bars`
turns theirs off for a block when ours are off: a library already imported through its switch,
turned back on after the block; one imported inside the block through its environment variable,
which it reads once at import, so its bars stay off in this process (a command's process ends
with the command).
"""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class _Library:
    module: str
    environment: str
    switches: str  # where its enable/disable functions live
    enabled: str  # the name of its "are bars on" test, True when on


_LIBRARIES = (
    _Library(
        "datasets", "HF_DATASETS_DISABLE_PROGRESS_BARS", "datasets", "is_progress_bar_enabled"
    ),
    _Library(
        "huggingface_hub",
        "HF_HUB_DISABLE_PROGRESS_BARS",
        "huggingface_hub.utils",
        "are_progress_bars_disabled",
    ),
)


def _bars_on(library: _Library) -> bool:
    switches = importlib.import_module(library.switches)
    test = getattr(switches, library.enabled)()
    return not test if library.enabled.startswith("are_") else bool(test)


def _turn(library: _Library, on: bool) -> None:
    switches = importlib.import_module(library.switches)
    name = "enable_progress_bars" if on else "disable_progress_bars"
    getattr(switches, name)()


@contextlib.contextmanager
def library_bars(enabled: bool) -> Iterator[None]:
    """``datasets``' and ``huggingface_hub``'s bars on or off for the block, as ours are."""
    if enabled:
        yield
        return
    before = {lib: _bars_on(lib) if lib.module in sys.modules else None for lib in _LIBRARIES}
    saved = {lib.environment: os.environ.get(lib.environment) for lib in _LIBRARIES}
    os.environ.update({lib.environment: "1" for lib in _LIBRARIES})
    for lib, on in before.items():
        if on:
            _turn(lib, False)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        for lib, on in before.items():
            if on:
                _turn(lib, True)
