"""``codecfake score``: a split into the official ``filename score label`` file."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from .options import (
    NEURAL_RUN_OPTIONS,
    add_common,
    add_source,
    baseline_model,
    baseline_score,
    refuse_for_baseline,
)

log = logging.getLogger("codecfake")


SCORE_EPILOG = """\
examples:
  codecfake score --model runs/w2v2-aasist --dataset codecfake-data/ --config all --split test \\
      --out runs/w2v2-aasist/test.txt
  codecfake eval runs/w2v2-aasist/test.txt

  # several configurations, shared real clips scored once; a published checkpoint
  codecfake score --model codec_w2v2aasist.pt --ssl facebook/wav2vec2-xls-r-300m \\
      --dataset codecfake-data/ --config all --config C8 --out official_test.txt

Score = softmax(logits)[:, 0], higher = more real. An interrupted run resumes when rerun.
--model takes a run folder of `codecfake train` (or its model.safetensors), a published
checkpoint (anti-spoofing_feat_model.pt, read without running its pickle), or an lfcc-gmm run."""


class Score:
    """Score a split into the official `filename score label` file; resumes when rerun."""

    EPILOG = SCORE_EPILOG

    @staticmethod
    def resumes(args: argparse.Namespace) -> bool:
        return True  # scored lines are kept in <out>.partial

    @staticmethod
    def add_arguments(parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--model", required=True, type=Path, help="run folder, .safetensors or published .pt"
        )
        add_source(parser)
        parser.add_argument(
            "--config",
            action="append",
            default=None,
            help="configuration (repeatable; shared clips scored once; default: the dataset's)",
        )
        parser.add_argument("--split", default="test", help="split (default: test)")
        parser.add_argument("--out", required=True, type=Path, help="score file to write")
        add_common(parser, batch_size=32)

    @staticmethod
    def run(args: argparse.Namespace) -> int:
        if baseline_model(args.model):
            refuse_for_baseline(
                args, Score.add_arguments, (*NEURAL_RUN_OPTIONS, "--num-workers"), "score"
            )
            from ..cut import OFFICIAL_INPUT_SAMPLES

            return baseline_score(args, OFFICIAL_INPUT_SAMPLES)
        from tqdm import tqdm

        from ..lfcc_gmm.score import run_identity
        from ..run import load_detector
        from ..runtime import torch_device
        from ..score import score_configs

        device = torch_device(args.device)
        loaded = load_detector(args.model, args.ssl, device)
        log.info("scoring with %s", loaded.description)
        configs = args.config or [None]
        source = {
            "dataset": str(args.dataset),
            "config": configs,
            "split": args.split,
            "ssl": getattr(loaded.detector, "ssl", None),
        }
        with tqdm(desc="scoring", unit="clip", mininterval=1.0, disable=not args.progress) as bar:
            out, scored = score_configs(
                loaded.detector,
                device,
                dataset=args.dataset,
                configs=configs,
                split=args.split,
                out=args.out,
                identity=run_identity(loaded.path, source),
                batch_size=args.batch_size,
                num_workers=args.num_workers,
                progress=bar,
            )
        print(f"scored {scored} clips; wrote {out}")
        return 0
