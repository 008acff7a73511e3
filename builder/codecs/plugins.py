"""Codec families codecfake does not ship: any new one (every paper family is built in).

A plugin is any installed distribution that declares an entry point in the ``codecfake.codecs``
group, named after the family and pointing at a factory::

    [options.entry_points]
    codecfake.codecs =
        mycodec = my_codec.codecfake_plugin:make_codec

The factory is called as ``factory(spec, checkpoint, weights, device, seed)`` and returns an object
with ``spec``, ``sample_rate``, ``provenance`` and ``resynthesize`` (see
:class:`codecfake_builder.codecs.base.Codec`). Entry points are the standard packaging mechanism, so a
plugin needs no change to codecfake and is found the moment it is installed.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import metadata
from typing import Any

from .base import Codec, CodecSpec
from .errors import CodecError, MissingPluginError
from .registry import FAMILIES

ENTRY_POINT_GROUP = "codecfake.codecs"

Factory = Callable[[CodecSpec, "str | None", str, str, int], Codec]


def installed_plugins() -> dict[str, metadata.EntryPoint]:
    """Family name -> entry point, for every installed plugin (the first one wins on a clash)."""
    found: dict[str, metadata.EntryPoint] = {}
    for entry in metadata.entry_points(group=ENTRY_POINT_GROUP):
        found.setdefault(entry.name, entry)
    return found


def find_factory(spec: CodecSpec) -> tuple[Factory, dict[str, Any]]:
    """The installed factory for ``spec.family`` and where it came from, or a clear error."""
    entry = installed_plugins().get(spec.family)
    if entry is None:
        raise MissingPluginError(_missing_message(spec))
    try:
        factory = entry.load()
    except Exception as error:  # a broken plugin must not look like a codecfake bug
        raise CodecError(
            f"{spec.condition}: the {spec.family} plugin {entry.value!r} failed to import: "
            f"{type(error).__name__}: {error}"
        ) from error
    origin = {"entry_point": f"{entry.name} = {entry.value}"}
    if entry.dist is not None:
        origin["plugin"] = f"{entry.dist.name}=={entry.dist.version}"
    return factory, origin


def _missing_message(spec: CodecSpec) -> str:
    family = FAMILIES.get(spec.family)
    what = family.display if family else spec.family
    why = f" ({family.note})" if family and family.note else ""
    have = ", ".join(sorted(installed_plugins())) or "none"
    return (
        f"{spec.condition} needs the {what} codec{why}, which codecfake runs through a plugin. "
        f"Install a package that registers the entry point '{spec.family} = "
        f"your_module:make_codec' in the group '{ENTRY_POINT_GROUP}' (docs/codecs.md, "
        f"'Families of your own', has a complete example). Installed plugins: {have}."
    )


def checked(codec: Any, spec: CodecSpec, origin: dict[str, Any]) -> Codec:
    """A plugin's codec, checked against the contract and stamped with where it came from."""
    if not isinstance(codec, Codec):
        raise CodecError(
            f"{spec.condition}: the {spec.family} plugin returned {type(codec).__name__}, "
            "which lacks spec, sample_rate, provenance or resynthesize"
        )
    if codec.sample_rate != spec.sample_rate:
        raise CodecError(
            f"{spec.condition}: the {spec.family} plugin runs at {codec.sample_rate} Hz, "
            f"the condition at {spec.sample_rate} Hz"
        )
    codec.provenance = {
        "family": spec.family,
        "condition": spec.condition,
        **codec.provenance,
        **origin,
    }
    return codec
