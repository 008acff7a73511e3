"""Names a package offers from its own submodules, imported on first use.

``codecfake --help``, ``codecfake eval`` and ``import codecfake_evaluation`` must not pay for
torch, ``datasets`` or pandas, yet users reach for ``codecfake_builder.load_codec`` or
``codecfake_core.with_fast_audio``. A package lists those names here, each with the submodule
that defines it (always its own: a package never re-exports from a layer above it).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(
    package: str, names: Mapping[str, str], present: Callable[[], dict[str, Any]]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package``: ``names`` maps each public name to the
    relative submodule that defines it (``".audio"``); ``present`` is the package's
    ``globals``."""

    def getattr_(name: str) -> Any:
        module = names.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(module, package), name)

    def dir_() -> list[str]:
        return sorted([*present(), *names])

    return getattr_, dir_
