"""The ``codecfake`` command: one entry point, one module per subcommand.

Each subcommand lives beside the code it drives and exposes ``add_arguments(parser)`` and
``run(args) -> int``. This file only wires them together, so adding a command is one line in
:data:`COMMANDS`. Subcommand modules import heavy stacks (torch, transformers) inside ``run``,
which keeps ``codecfake --help`` fast.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import logging
import sys
from collections.abc import Iterator, Sequence

COMMANDS: dict[str, tuple[str, str]] = {
    "info": ("codecfake_cli", "print the conditions and configurations with their expected sizes"),
    "prepare": (
        "codecfake_builder.folder.prepare",
        "turn an extracted official release into a loadable dataset folder",
    ),
    "synthesize": (
        "codecfake_builder.synthesis.cli",
        "rebuild or extend Codecfake from VCTK/AISHELL-3 via codecs",
    ),
    "codecs": (
        "codecfake_builder.codecs.cli",
        "list codec conditions, their checkpoints and what runs here",
    ),
    "merge-shards": (
        "codecfake_builder.synthesis.merge",
        "fold finished synthesize shards into label files + provenance",
    ),
    "publish": (
        "codecfake_builder.hub.publish",
        "validate a dataset folder and upload it to a Hub dataset repo",
    ),
    "baseline": (
        "codecfake_detectors.lfcc_gmm.cli",
        "train / score the reference LFCC-GMM countermeasure",
    ),
    "demo": (
        "codecfake_builder.demo.cli",
        "the whole pipeline on a synthetic corpus, offline, in minutes",
    ),
    "eval": ("codecfake_evaluation.cli", "EER per condition from score files, as in the paper"),
    "results": (
        "codecfake_evaluation.results_cli",
        "result records side by side, with the paper's; --check",
    ),
    "train": (
        "codecfake_detectors.cli:train",
        "train Mel-LCNN / W2V2-LCNN / W2V2-AASIST (paper recipe)",
    ),
    "score": (
        "codecfake_detectors.cli:score",
        "score a split with a trained or published detector",
    ),
    "detect": ("codecfake_detectors.cli:detect", "score your own audio files: real or fake"),
}
"""name -> (module providing add_arguments/run, or ``module:object`` for one of several
commands a module holds; one-line help)."""

EPILOG = """\
typical flow:
  codecfake info                                  what the benchmark contains
  codecfake prepare Codecfake/ codecfake-data/    official release -> loadable dataset folder
  python -c 'import datasets; print(datasets.load_dataset("codecfake-data", "en_C3"))'

run `codecfake COMMAND --help` for each command's options."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--json", action="store_true", help="print the same facts as JSON instead of tables"
    )


def run(args: argparse.Namespace) -> int:
    """``codecfake info``: the definition as tables, straight from :mod:`codecfake`."""
    import json

    import codecfake

    if args.json:
        print(
            json.dumps(
                {
                    "conditions": [c.to_dict() for c in codecfake.CONDITIONS.values()],
                    "configs": {
                        name: {"conditions": list(cfg.conditions), "sizes": cfg.expected_sizes()}
                        for name, cfg in codecfake.CONFIGS.items()
                    },
                },
                indent=2,
            )
        )
        return 0
    print("Conditions")
    header = f"  {'name':<6} {'codec':<16} {'rate':>7} {'kbps':>5} {'q':>3}  {'prefix':<7} splits"
    print(header)
    for c in codecfake.CONDITIONS.values():
        rate = f"{c.sample_rate / 1000:g}k" if c.sample_rate else "-"
        kbps = f"{c.bitrate_kbps:g}" if c.bitrate_kbps else "-"
        q = str(c.quantizers or "-")
        prefix = c.prefix or "(none)"
        print(
            f"  {c.name:<6} {c.codec:<16} {rate:>7} {kbps:>5} {q:>3}  {prefix:<7} {','.join(c.splits)}"
        )
    print("\nConfigurations (rows on the complete release)")
    print(f"  {'config':<9} {'train':>9} {'validation':>11} {'test':>9} {'total':>10}")
    for name, cfg in codecfake.CONFIGS.items():
        sizes = cfg.expected_sizes()
        cells = [f"{sizes[s]:,}" if s in sizes else "-" for s in codecfake.SPLITS]
        default = "  (default)" if name == codecfake.DEFAULT_CONFIG else ""
        print(
            f"  {name:<9} {cells[0]:>9} {cells[1]:>11} {cells[2]:>9} {sum(sizes.values()):>10,}{default}"
        )
    return 0


def build_parser() -> argparse.ArgumentParser:
    import codecfake

    parser = argparse.ArgumentParser(
        prog="codecfake",
        description="The Codecfake audio-deepfake benchmark: prepare, rebuild, publish and evaluate.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"codecfake {codecfake.__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (module_name, help_text) in COMMANDS.items():
        module_path, _, attribute = module_name.partition(":")
        module = importlib.import_module(module_path)
        if attribute:
            module = getattr(module, attribute)
        sub = commands.add_parser(
            name,
            help=help_text,
            description=(module.__doc__ or help_text).strip().split("\n\n")[0]
            if module_name != __name__
            else help_text,
            epilog=getattr(module, "EPILOG", None),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        module.add_arguments(sub)
        sub.set_defaults(_run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command. Exit codes: 0 done, 1 a domain error, 2 a usage error, 130 interrupted.

    Whatever goes wrong, the user gets one line naming the file and the remedy, never a
    traceback: an error we did not foresee is still reported in one line, as a bug to report.
    """
    args = build_parser().parse_args(argv)
    prefix = f"codecfake {args.command}: error:"
    with _log_to_stderr():
        return _run(args, prefix)


@contextlib.contextmanager
def _log_to_stderr() -> Iterator[None]:
    """The library logs to ``codecfake``; while a command runs, its records go to stderr."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger = logging.getLogger("codecfake")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        logger.removeHandler(handler)


def _run(args: argparse.Namespace, prefix: str) -> int:
    from codecfake import CodecfakeError

    try:
        return int(args._run(args) or 0)
    except CodecfakeError as error:
        print(f"{prefix} {error}", file=sys.stderr)
    except OSError as error:
        where = f"{error.filename}: " if error.filename else ""
        print(f"{prefix} {where}{error.strerror or error}", file=sys.stderr)
    except KeyboardInterrupt:
        print("interrupted; rerun the same command to resume", file=sys.stderr)
        return 130
    except Exception as error:  # a bug: still one line, with what to report
        print(
            f"{prefix} unexpected {type(error).__name__}: {error} (a bug in codecfake; "
            "please report it with the command you ran)",
            file=sys.stderr,
        )
    return 1


if __name__ == "__main__":
    sys.exit(main())
