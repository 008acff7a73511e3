"""List every condition a codec can be loaded for, its family and checkpoint, and whether it
runs here (its package or plugin is installed). For a family whose weights codecfake does not
download, a second line says where to fetch them, under which licence, and whether that checkpoint
is only the closest public one (inferred: the paper's own was never published).

Weight-free and added conditions are defined with --codec, exactly as `codecfake synthesize`
takes them, so this is also how to check a definition before a long run.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .registry import Family

CODECS_EPILOG = """\
examples:
  codecfake codecs
  codecfake codecs --codec C8=mimi:kyutai/mimi@1.1kbps --codec C9=opus@12kbps --codec C10=mp3@16kbps
  codecfake codecs --json"""


INFERRED = "closest public checkpoint (inferred)"


def fetch_note(family: str) -> str | None:
    """``fetch <address>; licence <licence>; closest public checkpoint (inferred)`` for a family
    with a published checkpoint to fetch by hand, else ``None``."""
    from .registry import FAMILIES

    known = FAMILIES.get(family)
    if known is None or known.checkpoint_url is None:
        return None
    parts = [f"fetch {known.checkpoint_url}", f"licence {known.licence or 'not stated'}"]
    if known.inferred:
        parts.append(INFERRED)
    return "; ".join(parts)


def status(family: str) -> str:
    """``ready``, or what is missing for ``family`` to run here (no model is built)."""
    from importlib.util import find_spec

    from .plugins import ENTRY_POINT_GROUP, installed_plugins
    from .registry import FAMILIES

    route = FAMILIES[family].route if family in FAMILIES else "plugin"
    if route == "transformers" and (
        find_spec("torch") is None or find_spec("transformers") is None
    ):
        return "missing: pip install 'codecfake[codecs]'"
    if route == "plugin":
        plugin = installed_plugins().get(family)
        if plugin is None:
            return f"needs a plugin: '{family}' in entry-point group {ENTRY_POINT_GROUP}"
        return f"plugin {plugin.value}"
    return "ready"


class Codecs:
    """List every condition a codec can be loaded for, its family and checkpoint, and whether it
    runs here (its package or plugin is installed); where codecfake does not download a family's
    weights, where to fetch them, their licence, and whether they are only the closest public
    checkpoint (inferred).
    """

    EPILOG = CODECS_EPILOG

    @staticmethod
    def add_arguments(parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--codec",
            action="append",
            default=[],
            metavar="NAME=FAMILY[:CHECKPOINT][@SETTING,...]",
            help="also define a new condition (C8 and up), e.g. C8=mimi:kyutai/mimi@1.1kbps",
        )
        parser.add_argument(
            "--json", action="store_true", help="print the specs and status as JSON"
        )

    @staticmethod
    def run(args: argparse.Namespace) -> int:
        import json

        from .registry import BUILTIN_SPECS, FAMILIES, parse_codec_definitions

        specs = [*BUILTIN_SPECS.values(), *parse_codec_definitions(args.codec).values()]
        states = {spec.family: status(spec.family) for spec in specs}
        if args.json:
            rows = [
                {
                    **spec.to_record(),
                    **_fetch_fields(FAMILIES.get(spec.family)),
                    "status": states[spec.family],
                }
                for spec in specs
            ]
            print(json.dumps(rows, indent=2))
            return 0
        print(
            f"{'name':<9} {'family':<16} {'rate':>6} {'kbps':>5} {'q':>3}  {'default checkpoint':<24} status"
        )
        for spec in specs:
            rate = f"{spec.sample_rate / 1000:g}k"
            kbps = f"{spec.bitrate_kbps:g}" if spec.bitrate_kbps is not None else "-"
            q = str(spec.quantizers or "-")
            checkpoint = spec.checkpoint or "-"
            print(
                f"{spec.condition:<9} {spec.family:<16} {rate:>6} {kbps:>5} {q:>3}  {checkpoint:<24} "
                f"{states[spec.family]}"
            )
            note = fetch_note(spec.family)
            if note:
                print(f"{'':<9} {note}")
        return 0


def _fetch_fields(family: Family | None) -> dict[str, Any]:
    """The JSON listing's fields of :func:`fetch_note`."""
    return {
        "checkpoint_url": family.checkpoint_url if family else None,
        "licence": family.licence if family else "",
        "inferred": family.inferred if family else False,
    }
