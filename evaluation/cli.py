"""The evaluation room's command line: ``codecfake eval`` and ``codecfake results``.

`eval` scores a detector: the EER per condition, as in the paper, from one or more score files.
`results` compares result records side by side, the paper's first, and re-checks them. The work
is :mod:`codecfake_evaluation.pipeline` and :mod:`codecfake_evaluation.compare`; this module
turns options into their settings and prints. Each command is a class here (``codecfake_cli``
reads ``codecfake_evaluation.cli:Eval`` and ``codecfake_evaluation.cli:Results``).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys

from .compare import COMPARABLE
from .eer import DEFAULT_RESAMPLES, POLARITIES
from .llr import SCORE_KINDS
from .table import METRICS, NEEDS_LLR

log = logging.getLogger("codecfake")

EVAL_EPILOG = f"""\
examples:
  # the paper's table for a released model: the authors' score files, one per condition
  # (pretrained_model/<model>/result/ in the official countermeasure repository)
  codecfake eval --polarity free codec_w2v2lcnn/result/*_result.txt

  # per-language rows, JSON for scripts, and a DET plot
  codecfake eval --by condition,language --json --det det.png scores/C*_result.txt

  # a score file without labels, over a whole test split: labels from the release or dataset
  codecfake eval --labels Codecfake/ my_scores.txt
  codecfake eval --dataset codecfake-data/ my_scores.parquet

  # ASVspoof 5 metrics beside the EER, on softmax outputs, kept as a result record
  codecfake eval --metrics eer,mindcf,actdcf,cllr --scores prob --record results/mine.json \
      scores/*_result.txt
  codecfake results --paper results/*.json        # side by side with the paper's detectors

polarity:
  fixed  ASVspoof 2021 definition (default): higher score = more real, never flipped.
         The official repository's script does this; an EER above 50% is flagged.
  free   the paper's min(EER(s), EER(-s)): the table's 'sign' column says when -s was lower.

A condition comes from each clip's name prefix (F05_ = C5, C3-1_ = C3-1, L1_ = A1), else from the
score file's name (C5_result.txt, L3_result.txt = A3), else from --labels/--dataset. Reals not
tied to one condition are shared: every codec condition is scored against them.
Intervals: percentile bootstrap over {DEFAULT_RESAMPLES} resamples (reals and fakes resampled
separately), seeded by --seed; --bootstrap 0 turns them off.

metrics (bona fide is the target class; each row's scores turned as its EER took them):
  eer     equal error rate, % (always computed)
  mindcf  lowest normalised detection cost over all thresholds, ASVspoof 5 costs (P_spoof 0.05,
          C_miss 1, C_fa 10); 1 = the better of accept-all and reject-all. Any score.
  actdcf  the same cost at the Bayes threshold log(C_fa P_spoof / (C_miss P_bona)) = -0.642:
          needs log-likelihood ratios.
  cllr    log-likelihood-ratio cost in bits (1 = always "can't tell"): needs LLRs. Adds
          mincllr, the CLLR after the best monotone (PAV) recalibration; any score.
actdcf and cllr refuse scores that all lie in [0, 1] unless --scores says what they are:
llr as they are, or prob (probabilities of real, turned into LLRs by logit)."""

RESULTS_EPILOG = """\
examples:
  # record two detectors, then compare them with the paper's
  codecfake eval --polarity free --record results/lcnn.json codec_w2v2lcnn/result/*_result.txt
  codecfake eval --polarity free --record results/mine.json scores/*_result.txt
  codecfake results --paper results/*.json

  # the same table as Markdown, for a README or a dataset card
  codecfake results --paper results/*.json --markdown results/README.md

  # another metric (records made with --metrics mindcf,...; the paper reports only EERs)
  codecfake results --metric mindcf results/*.json

  # before citing a table: re-score every record from its files
  codecfake results --check results/*.json

Cells are the pooled rows (language 'all'). '-' means the record has no such row or metric.
Published averages are computed, like measured ones, over the conditions present; where the
paper quotes an average over other conditions, a note under the table says so."""


BY_KEYS = ("condition", "language")


def _metrics(text: str) -> tuple[str, ...]:
    names = tuple(dict.fromkeys(m.strip() for m in text.split(",") if m.strip()))
    unknown = [m for m in names if m not in METRICS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"expected a comma-separated list of {', '.join(METRICS)}, got {text!r}"
        )
    return names


def _by(text: str) -> tuple[str, ...]:
    keys = tuple(k.strip() for k in text.split(",") if k.strip())
    unknown = [k for k in keys if k not in BY_KEYS]
    if unknown or "condition" not in keys:
        raise argparse.ArgumentTypeError(
            f"expected 'condition' or 'condition,language', got {text!r}"
        )
    return keys


class Eval:
    """Score a detector: the EER per condition, as in the paper, from one or more score files.

    Score files are the official `filename score label` text (plain or .gz; labels real/fake or
    bonafide/spoof), or `filename score` text, CSV or Parquet (file,score columns) whose labels
    come from --labels or --dataset. Higher scores must mean "more likely real". --metrics adds
    the ASVspoof 5 measures (minDCF, actDCF, CLLR), and --record keeps the table as a result
    record.
    """

    EPILOG = EVAL_EPILOG

    @staticmethod
    def add_arguments(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("scores", nargs="+", metavar="SCORES", help="score files to evaluate")
        parser.add_argument(
            "--polarity",
            choices=POLARITIES,
            default="fixed",
            help="fixed: higher = more real (default); free: the paper's min(EER(s), EER(-s))",
        )
        parser.add_argument(
            "--by",
            type=_by,
            default=("condition",),
            metavar="KEYS",
            help="'condition' (default) or 'condition,language' to add per-language rows",
        )
        parser.add_argument("--json", action="store_true", help="print the rows as a JSON list")
        parser.add_argument("--det", metavar="PLOT.png", help="also write DET curves to this PNG")
        source = parser.add_mutually_exclusive_group()
        source.add_argument(
            "--labels", metavar="DIR", help="extracted release whose label/*.txt label the scores"
        )
        source.add_argument(
            "--dataset",
            metavar="DIR",
            help="prepared dataset folder whose Parquet shards label them",
        )
        parser.add_argument(
            "--bootstrap",
            type=int,
            default=DEFAULT_RESAMPLES,
            metavar="N",
            help=f"bootstrap resamples per 95%% interval (default {DEFAULT_RESAMPLES}; 0 = none)",
        )
        parser.add_argument("--seed", type=int, default=0, help="seed of the bootstrap (default 0)")
        parser.add_argument(
            "--metrics",
            type=_metrics,
            default=("eer",),
            metavar="LIST",
            help=f"comma-separated, of {','.join(METRICS)} (default eer: the paper's table)",
        )
        parser.add_argument(
            "--scores",
            dest="score_kind",
            choices=SCORE_KINDS,
            help="what the scores are, for actdcf and cllr: llr, or prob (turned into LLRs by logit)",
        )
        parser.add_argument(
            "--record",
            metavar="NAME.json",
            help="also write a result record: the table, score-file checksums, data, versions",
        )

    @staticmethod
    def run(args: argparse.Namespace) -> int:
        from pathlib import Path

        from codecfake import CodecfakeError

        from .pipeline import EvalSettings, score
        from .table import POOLED, format_table

        if args.bootstrap == 0 and args.seed != 0:
            raise CodecfakeError("--seed seeds the bootstrap, which --bootstrap 0 turns off")
        if args.score_kind and not set(NEEDS_LLR) & set(args.metrics):
            raise CodecfakeError(
                f"--scores says how to read scores as LLRs, which only {' and '.join(NEEDS_LLR)} "
                "do: add them to --metrics, or drop --scores"
            )
        settings = EvalSettings(
            scores=tuple(args.scores),
            polarity=args.polarity,
            by_language="language" in args.by,
            metrics=args.metrics,
            score_kind=args.score_kind,
            labels=args.labels,
            dataset=args.dataset,
            resamples=args.bootstrap,
            seed=args.seed,
        )
        scored = score(settings, progress=args.progress)
        rows, groups = scored.rows, scored.groups
        for warning in scored.warnings:
            log.warning("warning: %s", warning)
        if args.json:  # the rows' schema is fixed, so the polarity goes to stderr
            log.info("polarity: %s", args.polarity)
            print(json.dumps([row.to_json() for row in rows], indent=2))
        else:
            print(format_table(rows, args.polarity))
        if args.det:
            from .det import plot_det

            pooled = [g for g in groups if g.language == POOLED]
            written = plot_det(
                pooled, rows, args.det, title=f"DET curves ({args.polarity} polarity)"
            )
            log.info("DET plot written to %s", written)
        if args.record:
            from .records import make_record, write_record

            target = Path(args.record)
            write_record(target, make_record(settings, rows, target))
            log.info("result record written to %s", target)
        return 0


def _check(paths: list[str]) -> int:
    from .records import check_record

    failed = 0
    for path in paths:
        problems = check_record(path)
        if problems:
            failed += 1
            for problem in problems:
                print(f"{path}: {problem}", file=sys.stderr)
        else:
            print(f"{path}: ok")
    if failed:
        print(f"{failed} of {len(paths)} record(s) no longer hold", file=sys.stderr)
    return 1 if failed else 0


_TABLE_OPTIONS = {
    "--paper": lambda args: args.paper,
    "--metric": lambda args: args.metric != "eer",
    "--columns": lambda args: args.columns is not None,
    "--markdown": lambda args: args.markdown is not None,
}
"""The options that shape the comparison table, each with whether a run gave it."""


class Results:
    """Compare detectors: result records side by side, the paper's as the first rows, re-checked.

    Each record is a JSON written by `codecfake eval --record`. The table has one row per record
    and one column per condition, then CAVG and LAVG. --paper puts the paper's published EERs
    first, marked "as published". --check re-scores every record from its files and fails,
    naming the file, when a checksum or a number has moved.
    """

    EPILOG = RESULTS_EPILOG

    @staticmethod
    def add_arguments(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("records", nargs="*", metavar="RECORD.json", help="result records")
        parser.add_argument(
            "--paper", action="store_true", help="put the paper's published EERs first, as records"
        )
        parser.add_argument(
            "--metric",
            choices=COMPARABLE,
            default="eer",
            help="the metric in the cells (default eer)",
        )
        parser.add_argument(
            "--columns",
            type=lambda text: tuple(c.strip() for c in text.split(",") if c.strip()),
            metavar="LIST",
            help="only these conditions (and CAVG/LAVG), e.g. C1,C2,C3,A3,CAVG (default: all present)",
        )
        parser.add_argument(
            "--markdown", metavar="FILE.md", help="also write the table as Markdown"
        )
        parser.add_argument(
            "--check",
            action="store_true",
            help="re-score each record from its files; exit 1 if a checksum or number moved",
        )

    @staticmethod
    def run(args: argparse.Namespace) -> int:
        from pathlib import Path

        from codecfake import CodecfakeError
        from codecfake_core.io import atomic_write_text

        from .compare import format_markdown, format_text
        from .paper import published_records
        from .records import read_record

        if args.check:
            if not args.records:
                raise CodecfakeError("--check needs record files to re-score")
            table = [o for o, given in _TABLE_OPTIONS.items() if given(args)]
            if table:
                raise CodecfakeError(
                    f"--check re-scores records and prints no table, so {', '.join(table)} "
                    "would do nothing: run the comparison without --check"
                )
            return _check(args.records)
        if not args.records and not args.paper:
            raise CodecfakeError("nothing to compare: give result records, --paper, or both")
        records = (published_records() if args.paper else []) + [
            read_record(p) for p in args.records
        ]
        print(format_text(records, args.metric, args.columns))
        if args.markdown:
            markdown = format_markdown(records, args.metric, args.columns)
            atomic_write_text(Path(args.markdown), markdown)
            log.info("Markdown table written to %s", args.markdown)
        return 0
