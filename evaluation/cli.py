"""Score a detector: the EER per condition, as in the paper, from one or more score files.

Score files are the official `filename score label` text (plain or .gz; labels real/fake or
bonafide/spoof), or `filename score` text, CSV or Parquet (file,score columns) whose labels come
from --labels or --dataset. Higher scores must mean "more likely real".
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings

from evaluation.eer import DEFAULT_RESAMPLES, POLARITIES, EvaluationError

EPILOG = f"""\
examples:
  # the paper's table for a released model (one official score file per condition)
  codecfake eval --polarity free ../shared/fixtures/official_scores/codec_w2v2lcnn/*.txt.gz

  # per-language rows, JSON for scripts, and a DET plot
  codecfake eval --by condition,language --json --det det.png scores/C*_result.txt

  # a score file without labels, over a whole test split: labels from the release or dataset
  codecfake eval --labels Codecfake/ my_scores.txt
  codecfake eval --dataset codecfake/ my_scores.parquet

polarity:
  fixed  ASVspoof 2021 definition (default): higher score = more real, never flipped.
         The official repository's script does this; an EER above 50% is flagged.
  free   the paper's min(EER(s), EER(-s)): the table's 'sign' column says when -s was lower.

A condition comes from each clip's name prefix (F05_ = C5, C3-1_ = C3-1, L1_ = A1), else from the
score file's name (C5_result.txt, L3_result.txt = A3), else from --labels/--dataset. Reals not
tied to one condition are shared: every codec condition is scored against them.
Intervals: percentile bootstrap over {DEFAULT_RESAMPLES} resamples (reals and fakes resampled
separately), seeded by --seed; --bootstrap 0 turns them off."""

BY_KEYS = ("condition", "language")


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


def run(args: argparse.Namespace) -> int:
    from codecfake import CONDITIONS, release_conditions
    from evaluation.scores import dataset_label_index, read_score_files, release_label_index
    from evaluation.table import POOLED, evaluate_groups, format_table, make_groups

    if args.bootstrap < 0:
        raise EvaluationError(f"--bootstrap must be 0 or more, got {args.bootstrap}")
    labels = None
    conditions = CONDITIONS
    if args.labels:
        labels = release_label_index(args.labels)
        conditions = release_conditions(args.labels)
    elif args.dataset:
        labels = dataset_label_index(args.dataset)
    trials = read_score_files(args.scores, labels)
    groups = make_groups(trials, by_language="language" in args.by, conditions=conditions)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rows = evaluate_groups(groups, args.polarity, args.bootstrap, args.seed)
    for warning in caught:
        print(f"warning: {warning.message}", file=sys.stderr)
    if args.json:  # the rows' schema is fixed, so the polarity goes to stderr
        print(f"polarity: {args.polarity}", file=sys.stderr)
        print(json.dumps([row.to_json() for row in rows], indent=2))
    else:
        print(format_table(rows, args.polarity))
    if args.det:
        from evaluation.det import plot_det

        pooled = [g for g in groups if g.language == POOLED]
        written = plot_det(pooled, rows, args.det, title=f"DET curves ({args.polarity} polarity)")
        print(f"DET plot written to {written}", file=sys.stderr)
    return 0
