"""``codecfake baseline train|score``: the reference LFCC-GMM countermeasure with all its options."""

from __future__ import annotations

import argparse
from pathlib import Path

from .options import (
    add_baseline_source,
    baseline_score,
    baseline_train,
)

BASELINE_EPILOG = """\
examples:
  codecfake baseline train --dataset codecfake-data/ --config en_C3 --out runs/lfcc-gmm
  codecfake baseline score --model runs/lfcc-gmm --dataset codecfake-data/ --config en_C3 \\
      --split test --out runs/lfcc-gmm/en_C3_test.txt
  codecfake eval runs/lfcc-gmm/en_C3_test.txt

  # several configurations into one score file; their shared real clips are scored once
  codecfake baseline score --model runs/lfcc-gmm --dataset codecfake-data/ --config all \\
      --config C8 --config C9 --split test --out runs/lfcc-gmm/test.txt

--dataset takes a prepared folder (from `codecfake prepare` or `codecfake demo`) or a Hub id.
Clips are cropped to their first 64,600 samples (4 s), as the official detectors read them;
--max-samples 0 keeps whole clips."""


class Baseline:
    """Train and run the reference countermeasure (LFCC features + a GMM pair), on CPU, from a stream.

    `train` streams a split of any configuration, fits one Gaussian mixture to the LFCC frames of
    real clips and one to those of fakes, and writes DIR/model.npz (plain arrays, no pickle) with
    the run's DIR/config.json beside it. `score` streams a split and writes `filename score label`
    lines (higher = more real), the official format that `codecfake eval` reads.
    """

    EPILOG = BASELINE_EPILOG

    @staticmethod
    def resumes(args: argparse.Namespace) -> bool:
        return args.action == "score"  # training is one EM fit; scoring keeps its partial file

    @staticmethod
    def add_arguments(parser: argparse.ArgumentParser) -> None:
        actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
        fit = actions.add_parser(
            "train",
            help="fit the GMM pair on a streamed split",
            description="Fit the LFCC-GMM pair on a streamed split and save DIR/model.npz.",
            epilog=BASELINE_EPILOG,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        add_baseline_source(fit, "train")
        fit.add_argument("--out", required=True, type=Path, help="run folder for model + config")
        fit.add_argument("--components", type=int, default=64, help="mixture components per class")
        fit.add_argument(
            "--max-clips", type=int, default=2_000, help="clips per class to learn from; 0 = all"
        )
        fit.add_argument(
            "--max-frames",
            type=int,
            default=200_000,
            help="LFCC frames per class fed to EM; 0 = all",
        )
        fit.add_argument("--seed", type=int, default=0, help="seed for shuffling, subsampling, EM")
        scoring = actions.add_parser(
            "score",
            help="score a streamed split into 'filename score label' lines",
            description="Score a streamed split with a trained model; resumes an interrupted run.",
            epilog=BASELINE_EPILOG,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        add_baseline_source(scoring, "test")
        scoring.add_argument(
            "--model", required=True, type=Path, help="model.npz or its run folder"
        )
        scoring.add_argument("--out", required=True, type=Path, help="score file to write")

    @staticmethod
    def run(args: argparse.Namespace) -> int:
        from codecfake import CodecfakeError

        if args.action == "score":
            return baseline_score(args, args.max_samples)
        if args.config and len(args.config) > 1:
            raise CodecfakeError("train takes one --config")
        return baseline_train(
            args.dataset,
            args.config[0] if args.config else None,
            args.split,
            args.max_samples,
            args.out,
            components=args.components,
            max_clips=args.max_clips,
            max_frames=args.max_frames,
            seed=args.seed,
            progress=args.progress,
        )
