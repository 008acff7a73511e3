"""Codec registry and backends: which codec each condition runs, and how it is loaded.

The pipeline needs only this package's top level::

    spec = get_spec("C4")                             # what C4 is
    codec = load_codec("C4", weights="random")        # or checkpoint="facebook/encodec_24khz"
    c8 = parse_codec_definition("C8=opus@12kbps")     # a new condition: a value, not registered
    opus = load_codec(c8)
    fakes = codec.resynthesize([wave_24k, ...])       # same lengths, float32
    codec.provenance                                  # checkpoint, weights hash, versions

Backends: EnCodec, DAC and Mimi through transformers; SoundStream, SpeechTokenizer and FunCodec
as their published weights mapped onto transformers' EnCodec model; AudioDec and HiFi-Codec
(AcademiCodec) built in, on torch (these five also ``encode`` to their codes, see
:class:`DiscreteCodec`); Opus and MP3 through libsndfile; an identity codec; and plugins
(entry-point group ``codecfake.codecs``) for anything else.
"""

from .base import Codec, CodecSpec, DiscreteCodec
from .errors import (
    CheckpointLoadError,
    CheckpointMismatchError,
    CodecError,
    CodecSpecError,
    MissingPackageError,
    MissingPluginError,
    UnknownConditionError,
)
from .loading import (
    WEIGHTS,
    check_loadable,
    load_codec,
    parse_checkpoint_overrides,
)
from .plugins import ENTRY_POINT_GROUP, installed_plugins
from .registry import (
    BUILTIN_SPECS,
    FAMILIES,
    IDENTITY_CONDITION,
    PAPER_SPECS,
    collect_specs,
    condition_names,
    define_condition,
    describe,
    get_spec,
    is_paper_condition,
    lossy_condition,
    parse_codec_definition,
    parse_codec_definitions,
    release_condition,
)

__all__ = [
    "BUILTIN_SPECS",
    "ENTRY_POINT_GROUP",
    "FAMILIES",
    "IDENTITY_CONDITION",
    "PAPER_SPECS",
    "WEIGHTS",
    "CheckpointLoadError",
    "CheckpointMismatchError",
    "Codec",
    "CodecError",
    "CodecSpec",
    "CodecSpecError",
    "DiscreteCodec",
    "MissingPackageError",
    "MissingPluginError",
    "UnknownConditionError",
    "check_loadable",
    "collect_specs",
    "condition_names",
    "define_condition",
    "describe",
    "get_spec",
    "installed_plugins",
    "is_paper_condition",
    "load_codec",
    "lossy_condition",
    "parse_checkpoint_overrides",
    "parse_codec_definition",
    "parse_codec_definitions",
    "release_condition",
]
