"""``codecfake detect``: your own audio files, scored and decided real or fake."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

from .options import (
    NEURAL_RUN_OPTIONS,
    add_common,
    baseline_model,
    refuse_for_baseline,
)

log = logging.getLogger("codecfake")


DETECT_EPILOG = """\
examples:
  codecfake detect my_clip.flac other.wav --model runs/w2v2-aasist
  codecfake detect recordings/ --model codec_mellcnn.pt --threshold 0.5

Prints `path<TAB>score<TAB>real|fake` per file (score = probability of real). The decision is
taken at the validation-EER threshold stored in the run. A published checkpoint stores none:
give --threshold, or 0.5 is used (and said). An lfcc-gmm score is a log-likelihood ratio: its
default threshold is 0. Files soundfile cannot read are named on stderr and skipped; the exit
status is then 1."""


class Detect:
    """Score your own audio files (any format soundfile reads, any rate) and decide real/fake."""

    EPILOG = DETECT_EPILOG

    @staticmethod
    def add_arguments(parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "audio", nargs="+", type=Path, metavar="AUDIO_OR_DIR", help="audio files or folders"
        )
        parser.add_argument(
            "--model", required=True, type=Path, help="run folder, .safetensors or published .pt"
        )
        parser.add_argument(
            "--threshold",
            type=float,
            default=None,
            help="decide real above this score (default: the run's validation-EER threshold)",
        )
        add_common(parser, batch_size=16)

    @staticmethod
    def run(args: argparse.Namespace) -> int:
        from codecfake import CodecfakeError

        from ..detect import audio_files, score_files

        files = audio_files(args.audio)
        if not files:
            raise CodecfakeError(f"no audio files in {', '.join(map(str, args.audio))}")
        scorer, threshold = _detect_scorer(args)
        failed = 0
        for verdict in score_files(files, scorer, args.batch_size):
            if verdict.score is None:
                failed += 1
                log.warning("codecfake detect: skipped %s", verdict.error)
                continue
            decision = "real" if verdict.score > threshold else "fake"
            print(f"{verdict.path}\t{verdict.score:.6f}\t{decision}", flush=True)
        if failed:
            log.warning("codecfake detect: %d of %d files unreadable", failed, len(files))
        return 1 if failed else 0


def _detect_scorer(args: argparse.Namespace) -> tuple[Any, float]:
    """The batch scorer ``--model`` names, and the threshold to decide at (said when assumed)."""
    import numpy as np

    baseline_path = baseline_model(args.model)
    if baseline_path is not None:
        from ..lfcc_gmm.gmm import load_model

        refuse_for_baseline(args, Detect.add_arguments, NEURAL_RUN_OPTIONS, "detect")
        gmm = load_model(baseline_path)
        threshold, stored = 0.0, "lfcc-gmm log-likelihood ratio"

        def scorer(batch: Any) -> Any:
            return np.array([gmm.score(w) for w in batch])

    else:
        from ..detect import neural_scorer
        from ..run import load_detector
        from ..runtime import torch_device

        device = torch_device(args.device)
        loaded = load_detector(args.model, args.ssl, device)
        scorer = neural_scorer(loaded.detector, device)
        threshold = loaded.threshold if loaded.threshold is not None else 0.5
        stored = "validation-EER threshold" if loaded.threshold is not None else ""
    if args.threshold is not None:
        return scorer, args.threshold
    if not stored:
        log.warning(
            "codecfake detect: %s stores no threshold (a published checkpoint); "
            "deciding at 0.5, give --threshold to choose",
            args.model,
        )
    else:
        log.info("codecfake detect: deciding at %.6g (%s)", threshold, stored)
    return scorer, threshold
