"""Which codec each condition runs: the paper's C1..C7 and C3-1..C4-3, plus conditions users add.

Rates, bitrates and quantizer counts of the paper's conditions come from :mod:`codecfake`; this
module only adds what building a codec needs on top (family, default checkpoint, options). New
conditions (C8 and up) are values: a one-line definition such as ``C8=mimi:kyutai/mimi@1.1kbps``
(or :func:`lossy_condition`) parses to a :class:`CodecSpec` that the caller keeps and passes on
(the synthesis settings carry them). Nothing is registered: the built-in table is read-only, so
one run's definitions never leak into another's, nor into a test. :func:`release_condition` turns
any spec into the :class:`codecfake.Condition` a release declares.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Any

import codecfake

from .base import CodecSpec
from .errors import CodecSpecError, UnknownConditionError
from .lossy import compression_level


@dataclass(frozen=True)
class Family:
    """A codec family: how it is named in releases, and how codecfake reaches its code.

    ``route`` is ``transformers`` (a direct backend on transformers' models), ``weight-free`` (a
    codec library with no weights), ``builtin``, or ``plugin`` (the family's own code, registered
    through the ``codecfake.codecs`` entry-point group). ``checkpoint`` is the default a codec
    loads by name; ``checkpoint_url`` is where a user fetches the weights codecfake does not
    download, under ``licence``. ``inferred``: the paper's authors did not publish their codec
    checkpoint, and this is the closest public one (a guess from the paper, not a fact).
    """

    name: str
    display: str
    route: str
    sample_rate: int
    checkpoint: str | None = None
    note: str = ""
    checkpoint_url: str | None = None
    licence: str = ""
    inferred: bool = False


# fmt: off
FAMILIES: Mapping[str, Family] = MappingProxyType({f.name: f for f in (
    Family("identity", "identity", "builtin", codecfake.SAMPLING_RATE,
           note="returns its input: measures the pipeline's own cost"),
    Family("encodec", "EnCodec", "transformers", 24_000, "facebook/encodec_24khz"),
    Family("dac", "DAC", "transformers", 44_100, "descript/dac_44khz"),
    Family("mimi", "Mimi", "transformers", 24_000, "kyutai/mimi"),
    Family("speechtokenizer", "SpeechTokenizer", "transformers", 16_000, "fnlp/SpeechTokenizer",
           note="speechtokenizer_hubert_avg/ (config.json + SpeechTokenizer.pt) on EncodecModel",
           checkpoint_url="https://huggingface.co/fnlp/SpeechTokenizer",
           licence="Apache-2.0 (the code repository's LICENSE; the Hub model card states none)",
           inferred=True),
    Family("opus", "Opus", "weight-free", codecfake.SAMPLING_RATE, note="libsndfile, OGG/Opus"),
    Family("mp3", "MP3", "weight-free", codecfake.SAMPLING_RATE, note="libsndfile, LAME ABR"),
    Family("soundstream", "SoundStream", "transformers", 16_000,
           note="AcademiCodec encodec_16k_320d.pth (class SoundStream) on EncodecModel",
           checkpoint_url="https://huggingface.co/Dongchao/AcademiCodec/resolve/main/"
                          "encodec_16k_320d.pth",
           licence="MIT (AcademiCodec README; its recipe README: 'the same as Encodec')",
           inferred=True),
    Family("funcodec", "FunCodec", "transformers", 16_000,
           note="FunCodec config.yaml + model.pth on EncodecModel",
           checkpoint_url="https://huggingface.co/alibaba-damo/"
                          "audio_codec-encodec-en-libritts-16k-nq32ds320-pytorch",
           licence="MIT", inferred=True),
    Family("audiodec", "AudioDec", "builtin", 24_000,
           note="closest public checkpoint (inferred): libritts_v1 = symAD_libritts_24000_hop300 "
                "+ AudioDec_v1 vocoder, from exp.zip",
           checkpoint_url="https://github.com/facebookresearch/AudioDec/releases/download/"
                          "pretrain_models_v02/exp.zip",
           licence="CC BY-NC 4.0", inferred=True),
    Family("academicodec", "AcademiCodec", "builtin", 24_000,
           note="closest public checkpoint (inferred): HiFi-Codec-24k-320d",
           checkpoint_url="https://huggingface.co/Dongchao/AcademiCodec",
           licence="MIT (the repository readme's; it has no LICENSE file)", inferred=True),
)})
# fmt: on

_FAMILY_OF_PAPER_CODEC = {f.display: f.name for f in FAMILIES.values()}

IDENTITY_CONDITION = "identity"
"""Not a release condition: ``load_codec("identity")`` is the do-nothing codec for benchmarks and
tests. To put identity copies into a release, define a numbered one: ``C8=identity``."""


def _paper_spec(condition: codecfake.Condition) -> CodecSpec:
    family = FAMILIES[_FAMILY_OF_PAPER_CODEC[condition.codec]]
    return CodecSpec(condition, family.name, checkpoint=family.checkpoint)


PAPER_SPECS: Mapping[str, CodecSpec] = MappingProxyType(
    {
        name: _paper_spec(c)
        for name, c in codecfake.CONDITIONS.items()
        if c.kind in ("codec", "codec-sub")
    }
)
BUILTIN_SPECS: Mapping[str, CodecSpec] = MappingProxyType(
    {
        **PAPER_SPECS,
        IDENTITY_CONDITION: CodecSpec(
            codecfake.Condition(
                IDENTITY_CONDITION, "codec", "identity", "", "", codecfake.SAMPLING_RATE
            ),
            "identity",
        ),
    }
)
"""Every condition codecfake knows without being told: the paper's and ``identity`` (read-only)."""

Defined = Mapping[str, CodecSpec]
"""Added conditions by name, as :func:`parse_codec_definitions` returns them."""


def is_paper_condition(name: str) -> bool:
    return name in PAPER_SPECS


def condition_names(defined: Defined | None = None) -> list[str]:
    """Every condition a codec can be loaded for: the paper's, ``identity``, then ``defined``."""
    return [*BUILTIN_SPECS, *(defined or {})]


def get_spec(condition: str, defined: Defined | None = None) -> CodecSpec:
    """The codec spec of ``condition``, built in or among ``defined``;
    :class:`UnknownConditionError` names the known ones."""
    spec = BUILTIN_SPECS.get(condition) or (defined or {}).get(condition)
    if spec is not None:
        return spec
    known = codecfake.CONDITIONS.get(condition)
    if known is not None:
        raise UnknownConditionError(
            f"{condition} is {known.codec} ({known.description}), not a codec: it cannot be "
            "resynthesised; its clips come only from the official release"
        )
    raise UnknownConditionError(
        f"unknown condition {condition!r}; known: {', '.join(condition_names(defined))}. "
        "Add a new codec as C8 and up, e.g. --codec C8=mimi:kyutai/mimi@1.1kbps"
    )


def collect_specs(specs: Iterable[CodecSpec]) -> dict[str, CodecSpec]:
    """Added conditions by name; one name defined twice in two ways is refused (the same
    definition twice is kept once)."""
    collected: dict[str, CodecSpec] = {}
    for spec in specs:
        previous = collected.get(spec.condition)
        if previous is not None and previous != spec:
            raise CodecSpecError(
                f"{spec.condition} is defined twice, as {describe(previous)} and as "
                f"{describe(spec)}; pick another number for one of them"
            )
        collected[spec.condition] = spec
    return collected


def _release_name_check(name: str) -> None:
    try:
        codecfake.user_condition(name, "check")
    except ValueError as error:
        raise CodecSpecError(str(error)) from None


def define_condition(
    name: str,
    family: str,
    *,
    checkpoint: str | None = None,
    bitrate_kbps: float | None = None,
    quantizers: int | None = None,
    sample_rate: int | None = None,
    description: str = "",
    options: dict[str, Any] | None = None,
) -> CodecSpec:
    """The spec of condition ``name`` (C8 and up) as ``family`` at the given checkpoint and bitrate.

    A neural family with a bitrate but no quantizer count gets its quantizers from the loaded
    checkpoint's frame rate and codebook size; its rate defaults to the family's usual one and
    follows the checkpoint's config when that differs.
    """
    _release_name_check(name)
    known = FAMILIES.get(family)
    if not re.fullmatch(r"[a-z][a-z0-9_]*", family):
        raise CodecSpecError(f"codec family names are lower-case identifiers; got {family!r}")
    if sample_rate is None:
        if known is None:
            raise CodecSpecError(
                f"family {family!r} is not built in (a plugin?): give its rate, e.g. @16khz"
            )
        sample_rate = known.sample_rate
    display = known.display if known else family
    if known is not None and known.route == "weight-free":
        if bitrate_kbps is None:
            raise CodecSpecError(f"{name}: {display} needs a bitrate, e.g. {name}={family}@12kbps")
        compression_level(family, sample_rate, bitrate_kbps)  # fails now, not mid-run
        display = f"{display} {bitrate_kbps:g} kbps"
        description = description or (
            f"{known.display} at {bitrate_kbps:g} kbps through libsndfile: a weight-free lossy "
            "codec added for demos and robustness tests, not one of the paper's codecs"
        )
    description = description or f"{display} (added condition, not in the paper)"
    condition = codecfake.user_condition(
        name,
        display,
        sample_rate=sample_rate,
        bitrate_kbps=bitrate_kbps,
        quantizers=quantizers,
        description=description,
    )
    return CodecSpec(
        condition,
        family,
        checkpoint=checkpoint if checkpoint is not None else (known.checkpoint if known else None),
        # kept in the flat record too, so that a release's recorded spec rebuilds its condition
        options={**(options or {}), "display": display, "description": description},
    )


def lossy_condition(
    codec: str, *, kbps: float, name: str, sample_rate: int = codecfake.SAMPLING_RATE
) -> CodecSpec:
    """The spec of a weight-free lossy codec (``opus`` or ``mp3``) at ``kbps`` as condition ``name``."""
    family = FAMILIES.get(codec)
    if family is None or family.route != "weight-free":
        weight_free = [f.name for f in FAMILIES.values() if f.route == "weight-free"]
        raise CodecSpecError(f"weight-free codecs are {weight_free}; got {codec!r}")
    return define_condition(name, codec, bitrate_kbps=float(kbps), sample_rate=sample_rate)


_DEFINITION = re.compile(
    r"^(?P<name>[^=\s]+)=(?P<family>[^:@\s]+)(?::(?P<checkpoint>[^@]+))?(?:@(?P<settings>\S+))?$"
)
_KBPS = re.compile(r"^(\d+(?:\.\d+)?)kbps$")
_QUANTIZERS = re.compile(r"^q(\d+)$")
_RATE = re.compile(r"^(\d+(?:\.\d+)?)(k?)hz$")


def parse_codec_definition(text: str) -> CodecSpec:
    """The spec of the condition that ``NAME=FAMILY[:CHECKPOINT][@SETTING,...]`` defines.

    Settings: a bitrate (``1.1kbps``), a quantizer count (``q8``), a rate (``16khz``).
    Examples: ``C8=mimi:kyutai/mimi@1.1kbps``, ``C9=opus@12kbps``, ``C10=mp3@24kbps,24khz``.
    """
    match = _DEFINITION.match(text.strip())
    if not match:
        raise CodecSpecError(
            f"codec definition {text!r} is not NAME=FAMILY[:CHECKPOINT][@SETTING,...], "
            "e.g. C8=mimi:kyutai/mimi@1.1kbps"
        )
    values: dict[str, Any] = {}
    for setting in filter(None, (match["settings"] or "").lower().split(",")):
        if m := _KBPS.match(setting):
            values["bitrate_kbps"] = float(m[1])
        elif m := _QUANTIZERS.match(setting):
            values["quantizers"] = int(m[1])
        elif m := _RATE.match(setting):
            values["sample_rate"] = round(float(m[1]) * (1000 if m[2] else 1))
        else:
            raise CodecSpecError(
                f"codec definition {text!r}: unknown setting {setting!r} "
                "(expected e.g. 1.1kbps, q8 or 16khz)"
            )
    return define_condition(
        match["name"], match["family"].lower(), checkpoint=match["checkpoint"], **values
    )


def parse_codec_definitions(texts: Iterable[str]) -> dict[str, CodecSpec]:
    """The repeated ``--codec`` option as added conditions by name (see :func:`collect_specs`)."""
    return collect_specs(parse_codec_definition(text) for text in texts)


def describe(spec: CodecSpec) -> str:
    """One line for logs and errors: ``C4: encodec at 6 kbps, 8 quantizers, 24000 Hz (...)``."""
    head = spec.family
    if spec.bitrate_kbps is not None:
        head += f" at {spec.bitrate_kbps:g} kbps"
    parts = [head]
    if spec.quantizers is not None:
        parts.append(f"{spec.quantizers} quantizers")
    parts.append(f"{spec.sample_rate} Hz")
    where = f" ({spec.checkpoint})" if spec.checkpoint else ""
    return f"{spec.condition}: {', '.join(parts)}{where}"


def release_condition(spec: CodecSpec) -> codecfake.Condition:
    """The :class:`codecfake.Condition` a release declares for ``spec``: the paper's own for its
    conditions (whatever rate a checkpoint settled), ``spec.release`` for added ones (C8+)."""
    if spec.condition in codecfake.CONDITIONS:
        return codecfake.CONDITIONS[spec.condition]
    if spec.condition == IDENTITY_CONDITION:
        raise CodecSpecError(
            "'identity' is not a release condition; define a numbered one: C8=identity"
        )
    return spec.release


def spec_from_record(record: Mapping[str, Any]) -> CodecSpec:
    """The spec a :meth:`CodecSpec.to_record` record (provenance, ``synthesis.json``) holds."""
    options = dict(record.get("options") or {})
    facts = {k: record.get(k) for k in ("sample_rate", "bitrate_kbps", "quantizers")}
    name, family, checkpoint = record["condition"], record["family"], record.get("checkpoint")
    known = BUILTIN_SPECS.get(name)
    if known is not None:
        return replace(known, family=family, checkpoint=checkpoint, options=options).resolved(
            **facts
        )
    display = options.get("display") or (FAMILIES[family].display if family in FAMILIES else family)
    condition = codecfake.user_condition(
        name, display, description=options.get("description", ""), **facts
    )
    return CodecSpec(condition, family, checkpoint=checkpoint, options=options)


def with_checkpoint(spec: CodecSpec, checkpoint: str | None) -> CodecSpec:
    """``spec`` loaded from ``checkpoint`` instead of its default (when one is given)."""
    return spec if checkpoint is None else replace(spec, checkpoint=checkpoint)
