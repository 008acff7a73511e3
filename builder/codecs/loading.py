"""From a codec spec (or a built-in condition's name) to a loaded codec: the one entry point the
pipeline calls.

Built-in families map to their backend module; every other family is looked up as a plugin
(entry points are read, never changed).
Weights are either ``pretrained`` (a checkpoint: the user's override, else the spec's default
Hub id) or ``random`` (the family's real architecture with seeded random weights, for offline
tests and smoke runs; the provenance says so).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from importlib import import_module

from .base import Codec, CodecSpec
from .errors import CodecSpecError
from .plugins import checked, find_factory
from .registry import get_spec, with_checkpoint

WEIGHTS = ("pretrained", "random")
SIZES = ("small", "full")

_BACKENDS = {
    "identity": "codecfake_builder.codecs.backends.weight_free",
    "encodec": "codecfake_builder.codecs.backends.transformers_codecs",
    "dac": "codecfake_builder.codecs.backends.transformers_codecs",
    "mimi": "codecfake_builder.codecs.backends.transformers_codecs",
    "speechtokenizer": "codecfake_builder.codecs.backends.speechtokenizer",
    "soundstream": "codecfake_builder.codecs.backends.soundstream",
    "funcodec": "codecfake_builder.codecs.backends.funcodec",
    "opus": "codecfake_builder.codecs.backends.weight_free",
    "mp3": "codecfake_builder.codecs.backends.weight_free",
    "audiodec": "codecfake_builder.codecs.backends.audiodec",
    "academicodec": "codecfake_builder.codecs.backends.academicodec",
}
"""Families with a backend in codecfake; the rest go through plugins (:mod:`.plugins`). Every
backend's ``build`` takes the plugin factory's arguments plus ``size``; those that have no use for
one (weight-free codecs have no weights) ignore it."""


def load_codec(
    codec: str | CodecSpec,
    *,
    checkpoint: str | None = None,
    weights: str = "pretrained",
    device: str = "cpu",
    seed: int = 0,
    size: str = "small",
) -> Codec:
    """Build ``codec`` ready to :meth:`~codecfake_builder.codecs.base.Codec.resynthesize`: a spec
    (an added condition, from :func:`~codecfake_builder.codecs.registry.parse_codec_definition`),
    or the name of a built-in one (``C4``, ``identity``).

    ``checkpoint`` overrides the spec's default (a local path or a Hub id) and only applies to
    pretrained weights. ``size`` picks the random-weights architecture width: ``small`` keeps the
    real codec's rate, hop and codebooks with fewer channels; ``full`` is the real checkpoint's
    size (for timing).
    """
    if weights not in WEIGHTS:
        raise CodecSpecError(f"weights are {' or '.join(WEIGHTS)}, not {weights!r}")
    if size not in SIZES:
        raise CodecSpecError(f"random weights come in sizes {' and '.join(SIZES)}, not {size!r}")
    spec = _spec(codec)
    if weights == "pretrained":
        spec = with_checkpoint(spec, checkpoint)
        resolved = spec.checkpoint
    else:
        resolved = None
    backend = _BACKENDS.get(spec.family)
    if backend is not None:
        return import_module(backend).build(spec, resolved, weights, device, seed, size)
    factory, origin = find_factory(spec)
    return checked(factory(spec, resolved, weights, device, seed), spec, origin)


def _spec(codec: str | CodecSpec) -> CodecSpec:
    return codec if isinstance(codec, CodecSpec) else get_spec(codec)


def parse_checkpoint_overrides(
    values: Iterable[str], defined: Mapping[str, CodecSpec] | None = None
) -> dict[str, str]:
    """``["C4=PATH_OR_HUB_ID", ...]`` (the repeated ``--checkpoint`` option) as a dict; a
    condition must be built in or among ``defined`` (the run's added ones)."""
    overrides: dict[str, str] = {}
    for value in values:
        condition, sep, checkpoint = value.partition("=")
        condition, checkpoint = condition.strip(), checkpoint.strip()
        if not sep or not condition or not checkpoint:
            raise CodecSpecError(
                f"--checkpoint {value!r}: expected CONDITION=PATH_OR_HUB_ID, "
                "e.g. C4=facebook/encodec_24khz"
            )
        get_spec(condition, defined)  # an unknown condition fails here, before any work
        if condition in overrides and overrides[condition] != checkpoint:
            raise CodecSpecError(
                f"--checkpoint gives {condition} twice: {overrides[condition]!r} and {checkpoint!r}"
            )
        overrides[condition] = checkpoint
    return overrides


def check_loadable(codecs: Iterable[str | CodecSpec]) -> None:
    """Fail before a long run when a codec's plugin is missing (no model is built)."""
    for codec in codecs:
        spec = _spec(codec)
        if spec.family not in _BACKENDS:
            find_factory(spec)
