"""The ``codecfake`` command: one entry point; each room's commands live in its one ``cli.py``.

Each subcommand lives beside the code it drives, as a class of its room's ``cli.py`` with
``add_arguments(parser)`` and ``run(args) -> int``. This file only wires them together, so adding
a command is one line in :data:`COMMANDS`, and owns what every command shares: the log level
(``-q``/``-v``), the progress-bar policy (:func:`progress_wanted`, handed to each command as
``args.progress``) and the exit codes. Commands import heavy stacks (torch, transformers) inside
``run``, which keeps ``codecfake --help`` fast.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import inspect
import logging
import os
import sys
import traceback
from collections.abc import Iterator, Sequence
from typing import IO

COMMANDS: dict[str, tuple[str, str]] = {
    "download": (
        "codecfake_builder.zenodo.cli:Download",
        "fetch the official release from Zenodo: resumable, md5-verified",
    ),
    "info": (
        "codecfake_cli:Info",
        "print the conditions and configurations with their expected sizes",
    ),
    "prepare": (
        "codecfake_builder.folder.cli:Prepare",
        "turn an extracted official release into a loadable dataset folder",
    ),
    "synthesize": (
        "codecfake_builder.synthesis.cli:Synthesize",
        "rebuild or extend Codecfake from VCTK/AISHELL-3 via codecs",
    ),
    "codecs": (
        "codecfake_builder.codecs.cli:Codecs",
        "list codec conditions, their checkpoints and what runs here",
    ),
    "merge-shards": (
        "codecfake_builder.synthesis.cli:MergeShards",
        "fold finished synthesize shards into label files + provenance",
    ),
    "publish": (
        "codecfake_builder.hub.cli:Publish",
        "validate a dataset folder and upload it to a Hub dataset repo",
    ),
    "baseline": (
        "codecfake_detectors.cli:Baseline",
        "train / score the reference LFCC-GMM countermeasure",
    ),
    "demo": (
        "codecfake_demo.cli:Demo",
        "the whole pipeline on a synthetic corpus, offline, in minutes",
    ),
    "eval": (
        "codecfake_evaluation.cli:Eval",
        "EER per condition from score files, as in the paper",
    ),
    "results": (
        "codecfake_evaluation.cli:Results",
        "result records side by side, with the paper's; --check",
    ),
    "train": (
        "codecfake_detectors.cli:Train",
        "train Mel-LCNN / W2V2-LCNN / W2V2-AASIST (paper recipe)",
    ),
    "score": (
        "codecfake_detectors.cli:Score",
        "score a split with a trained or published detector",
    ),
    "detect": ("codecfake_detectors.cli:Detect", "score your own audio files: real or fake"),
}
"""name -> (``module:command``, one-line help). The command is an object of its room's one
``cli.py`` (a CamelCase class named after the command, such as ``Prepare``) with ``add_arguments(parser)``, ``run(args) -> int``,
a docstring whose first paragraph is the description, an ``EPILOG`` and, for a command that
resumes when rerun, ``resumes(args) -> bool`` (what Ctrl-C then tells the user)."""

EPILOG = """\
typical flow:
  codecfake info                                  what the benchmark contains
  codecfake download Codecfake-zips/              the official release's archives, verified
  codecfake prepare Codecfake-zips/ codecfake-data/   the archives -> loadable dataset folder
  python -c 'import datasets; print(datasets.load_dataset("codecfake-data", "en_C3"))'

global options (-q, -v, --progress) go before COMMAND; results always go to stdout.
exit status: 0 done, 1 an error (one line, naming the file), 2 a usage error, 130 interrupted.

run `codecfake COMMAND --help` for each command's options."""

log = logging.getLogger("codecfake")


class Info:
    """Print the conditions and configurations with their expected sizes.

    The definition as tables, straight from :mod:`codecfake`.
    """

    @staticmethod
    def add_arguments(parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--json", action="store_true", help="print the same facts as JSON instead of tables"
        )

    @staticmethod
    def run(args: argparse.Namespace) -> int:
        import json

        import codecfake

        if args.json:
            print(
                json.dumps(
                    {
                        "conditions": [c.to_dict() for c in codecfake.CONDITIONS.values()],
                        "configs": {
                            name: {
                                "conditions": list(cfg.conditions),
                                "sizes": cfg.expected_sizes(),
                            }
                            for name, cfg in codecfake.CONFIGS.items()
                        },
                    },
                    indent=2,
                )
            )
            return 0
        print("Conditions")
        header = (
            f"  {'name':<6} {'codec':<16} {'rate':>7} {'kbps':>5} {'q':>3}  {'prefix':<7} splits"
        )
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
    verbosity = parser.add_mutually_exclusive_group()
    verbosity.add_argument(
        "-q", "--quiet", action="store_true", help="log warnings and errors only (stderr)"
    )
    verbosity.add_argument("-v", "--verbose", action="store_true", help="also log debug messages")
    parser.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="progress bars on or off (default: on when stderr is a terminal and not --quiet)",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (target, help_text) in COMMANDS.items():
        module_path, _, attribute = target.partition(":")
        command = getattr(importlib.import_module(module_path), attribute)
        sub = commands.add_parser(
            name,
            help=help_text,
            description=inspect.cleandoc(command.__doc__ or help_text).split("\n\n")[0],
            epilog=getattr(command, "EPILOG", None),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        command.add_arguments(sub)
        sub.set_defaults(_run=command.run, _resumes=getattr(command, "resumes", None))
    return parser


def progress_wanted(asked: bool | None, quiet: bool, stream: IO[str]) -> bool:
    """The one progress-bar policy of every command: what ``--progress``/``--no-progress`` ask,
    else bars on a terminal only, and none under ``--quiet``. A batch job's log (stderr not a
    terminal) would otherwise fill with a bar's redraws."""
    if asked is not None:
        return asked
    return not quiet and stream.isatty()


def interrupted_message(args: argparse.Namespace) -> str:
    """What Ctrl-C tells the user: to rerun only where the command keeps its finished work."""
    resumes = args._resumes
    if resumes is not None and resumes(args):
        return "interrupted; rerun the same command to resume"
    return "interrupted"


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command. Exit codes: 0 done, 1 a domain error, 2 a usage error, 130 interrupted,
    141 stdout closed early (``codecfake info | head``), as Unix tools end.

    Whatever goes wrong, the user gets one line naming the file and the remedy; ``-v`` adds the
    traceback. Every line printed, by us or a library, has credentials in URLs masked.
    """
    import codecfake
    from codecfake_core.progress import library_bars
    from codecfake_core.redact import redacted_streams

    try:
        args = build_parser().parse_args(argv)
    except KeyboardInterrupt:  # while the commands were being imported: nothing ran yet
        print("interrupted", file=sys.stderr)
        return 130
    args.progress = progress_wanted(args.progress, args.quiet, sys.stderr)
    prefix = f"codecfake {args.command}: error:"
    level = logging.WARNING if args.quiet else logging.DEBUG if args.verbose else logging.INFO
    with redacted_streams(), _log_to_stderr(level), library_bars(args.progress):
        options = {k: v for k, v in vars(args).items() if not k.startswith("_")}
        log.debug("codecfake %s %s, options %s", codecfake.__version__, args.command, options)
        return _run(args, prefix)


@contextlib.contextmanager
def _log_to_stderr(level: int) -> Iterator[None]:
    """The library logs to ``codecfake``; while a command runs, its records of ``level`` and
    above go to stderr (stdout carries only results: tables, score lines)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    previous = log.level
    log.addHandler(handler)
    log.setLevel(level)
    try:
        yield
    finally:
        log.removeHandler(handler)
        log.setLevel(previous)


def _run(args: argparse.Namespace, prefix: str) -> int:
    from codecfake import CodecfakeError
    from codecfake_core.extras import missing_package_message

    def fail(message: str) -> int:
        if args.verbose:  # the traceback first, so the one line stays the last thing printed
            print(traceback.format_exc(), file=sys.stderr, end="")
        print(f"{prefix} {message}", file=sys.stderr)
        return 1

    try:
        code = int(args._run(args) or 0)
        sys.stdout.flush()  # a reader gone by now is a closed pipe, handled here, not at exit
        return code
    except BrokenPipeError:
        return _closed_pipe()
    except CodecfakeError as error:
        return fail(str(error))
    except OSError as error:
        where = f"{error.filename}: " if error.filename else ""
        return fail(f"{where}{error.strerror or error}")
    except KeyboardInterrupt:
        print(interrupted_message(args), file=sys.stderr)
        return 130
    except Exception as error:  # a bug: still one line, with what to report
        missing = (
            missing_package_message(error, args.command) if isinstance(error, ImportError) else None
        )
        if missing is not None:  # an extra left out: the pip install that brings it
            return fail(missing)
        return fail(
            f"unexpected {type(error).__name__}: {error} (a bug in codecfake; please report it "
            "with the command you ran and the output of the same command with -v)"
        )


def _closed_pipe() -> int:
    """The reader of stdout went away (``| head``): stop quietly, as Unix tools do.

    Whatever is still buffered for stdout can go nowhere; pointing stdout at /dev/null keeps
    Python from reporting the same broken pipe again when it flushes at exit.
    """
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return 141


if __name__ == "__main__":
    sys.exit(main())
