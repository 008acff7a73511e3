"""Score a detector: the EER per condition, as in the paper, from one or more score files.

Score files are the official `filename score label` text (plain or .gz; labels real/fake or
bonafide/spoof), or `filename score` text, CSV or Parquet (file,score columns) whose labels come
from --labels or --dataset. Higher scores must mean "more likely real". --metrics adds the
ASVspoof 5 measures (minDCF, actDCF, CLLR), and --record keeps the table as a result record.
"""

from __future__ import annotations

import argparse
import json
import sys

from .eer import DEFAULT_RESAMPLES, POLARITIES
from .llr import SCORE_KINDS
from .table import METRICS

EPILOG = f"""\
examples:
  # the paper's table for a released model (one official score file per condition)
  codecfake eval --polarity free ../shared/fixtures/official_scores/codec_w2v2lcnn/*.txt.gz

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
        "--dataset", metavar="DIR", help="prepared dataset folder whose Parquet shards label them"
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


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .pipeline import EvalSettings, score
    from .table import POOLED, format_table

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
    scored = score(settings)
    rows, groups = scored.rows, scored.groups
    for warning in scored.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if args.json:  # the rows' schema is fixed, so the polarity goes to stderr
        print(f"polarity: {args.polarity}", file=sys.stderr)
        print(json.dumps([row.to_json() for row in rows], indent=2))
    else:
        print(format_table(rows, args.polarity))
    if args.det:
        from .det import plot_det

        pooled = [g for g in groups if g.language == POOLED]
        written = plot_det(pooled, rows, args.det, title=f"DET curves ({args.polarity} polarity)")
        print(f"DET plot written to {written}", file=sys.stderr)
    if args.record:
        from .records import make_record, write_record

        target = Path(args.record)
        write_record(target, make_record(settings, rows, target))
        print(f"result record written to {target}", file=sys.stderr)
    return 0
