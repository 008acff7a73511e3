"""``codecfake train``, ``codecfake score`` and ``codecfake detect``: the paper's detectors.

`train` fits Mel-LCNN, W2V2-LCNN or W2V2-AASIST with the paper's recipe straight from a prepared
dataset (no feature files), on CPU, a GPU or N ranks under torchrun, and resumes when rerun.
`score` writes the official `filename score label` file that `codecfake eval` reads. `detect`
scores your own audio files. `--model lfcc-gmm` (train) and an lfcc-gmm run folder (score,
detect) run the reference baseline under the same commands; `codecfake baseline train|score`
runs it with all of its own options (the work is :mod:`codecfake_detectors.lfcc_gmm`).

Each command is a class here (``codecfake_cli`` reads ``codecfake_detectors.cli:Train`` and so
on), so the four share their options and this one module.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

log = logging.getLogger("codecfake")

MODELS = ("mel-lcnn", "w2v2-lcnn", "w2v2-aasist", "lfcc-gmm")
XLSR = "facebook/wav2vec2-xls-r-300m"

TRAIN_EPILOG = f"""\
examples:
  codecfake train --model mel-lcnn --dataset codecfake-data/ --config all --out runs/mel-lcnn
  codecfake train --model w2v2-aasist --ssl {XLSR} --dataset codecfake-data/ \\
      --config all --out runs/w2v2-aasist --device cuda --num-workers 8
  codecfake train --model w2v2-aasist --ssl /models/xls-r-300m ... --optimizer sam
  torchrun --nproc-per-node 4 -m codecfake_cli train --model w2v2-aasist ... --device cuda
  codecfake train --model lfcc-gmm --dataset codecfake-data/ --config all --out runs/lfcc-gmm

The defaults are the paper's recipe: weighted cross-entropy (real 10 : fake 1), Adam lr 5e-4,
betas (0.9, 0.999), eps 1e-8, weight decay 5e-4, lr halved every 2 epochs, 10 epochs, batch 128
(global, split between ranks), seed 688, the best epoch on `validation` by EER kept.
Writes RUN_DIR/config.json, model.safetensors (best epoch, with its EER threshold) and
metrics.jsonl. Rerun the same command to resume a killed run from its last finished epoch; a
rerun with other settings is refused. --max-steps N stops after N optimiser steps (smoke runs).
lfcc-gmm trains the baseline with its own defaults (see `codecfake baseline train --help`)."""

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

DETECT_EPILOG = """\
examples:
  codecfake detect my_clip.flac other.wav --model runs/w2v2-aasist
  codecfake detect recordings/ --model codec_mellcnn.pt --threshold 0.5

Prints `path<TAB>score<TAB>real|fake` per file (score = probability of real). The decision is
taken at the validation-EER threshold stored in the run. A published checkpoint stores none:
give --threshold, or 0.5 is used (and said). An lfcc-gmm score is a log-likelihood ratio: its
default threshold is 0. Files soundfile cannot read are named on stderr and skipped; the exit
status is then 1."""

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

NEURAL_TRAIN_OPTIONS = (
    "--epochs",
    "--lr",
    "--max-steps",
    "--optimizer",
    "--rho",
    "--streaming",
    "--ssl",
    "--device",
    "--batch-size",
    "--num-workers",
)
"""Options of `train` that shape a neural detector's run; lfcc-gmm has its own (`baseline`)."""
NEURAL_RUN_OPTIONS = ("--ssl", "--device")
"""Options of `score` and `detect` that only a neural detector reads (lfcc-gmm runs on NumPy)."""


def _add_common(parser: argparse.ArgumentParser, batch_size: int) -> None:
    parser.add_argument(
        "--device",
        default="auto",
        help="torch device: cpu, cuda, cuda:1, mps... (default: cuda when present, else cpu)",
    )
    parser.add_argument(
        "--batch-size", type=int, default=batch_size, help=f"clips per batch (default {batch_size})"
    )
    parser.add_argument(
        "--ssl",
        default=None,
        help=f"W2V2 models: Hub id or local directory of the Wav2Vec2Model (the paper's: {XLSR})",
    )


def _add_source(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dataset", required=True, help="prepared dataset folder or Hub id")
    parser.add_argument(
        "--num-workers", type=int, default=2, help="DataLoader worker processes (default 2)"
    )


def _refuse_for_baseline(
    args: argparse.Namespace, add_arguments: Any, options: tuple[str, ...], command: str
) -> None:
    """An lfcc-gmm run given an option only a neural detector reads is refused, not ignored.

    An option counts as given when its value differs from the command's own default, read from
    a parser built by the same ``add_arguments``, so the defaults live in one place.
    """
    from codecfake import CodecfakeError

    parser = argparse.ArgumentParser(add_help=False)
    add_arguments(parser)
    given = [
        option
        for option in options
        if getattr(args, dest := option[2:].replace("-", "_")) != parser.get_default(dest)
    ]
    if given:
        raise CodecfakeError(
            f"{', '.join(given)} only change(s) a neural detector, and {command} here runs the "
            "lfcc-gmm baseline: drop them (its own options: codecfake baseline --help)"
        )


def _positive(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive, not {value}")
    return value


class Train:
    """Train a detector with the paper's recipe, from the loader; resumes when rerun."""

    EPILOG = TRAIN_EPILOG

    @staticmethod
    def resumes(args: argparse.Namespace) -> bool:
        return args.model != "lfcc-gmm"  # neural runs resume from their last finished epoch

    @staticmethod
    def add_arguments(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--model", required=True, choices=MODELS, help="detector to train")
        _add_source(parser)
        parser.add_argument("--config", default=None, help="configuration (default: the dataset's)")
        parser.add_argument("--out", required=True, type=Path, help="run folder")
        parser.add_argument("--epochs", type=_positive, default=10, help="epochs (default 10)")
        parser.add_argument("--lr", type=float, default=5e-4, help="Adam learning rate (5e-4)")
        parser.add_argument(
            "--max-steps", type=int, default=0, help="stop after N optimiser steps (0: no limit)"
        )
        parser.add_argument(
            "--optimizer",
            choices=("adam", "sam", "asam"),
            default="adam",
            help="adam (default), or Adam made sharpness-aware: sam, asam",
        )
        parser.add_argument(
            "--rho", type=float, default=None, help="SAM/ASAM neighbourhood (0.05 / 0.5)"
        )
        parser.add_argument("--seed", type=int, default=688, help="seed (default 688)")
        parser.add_argument(
            "--streaming",
            action="store_true",
            help="stream the shards (no Arrow cache copy; shuffle by a 1,000-clip buffer)",
        )
        _add_common(parser, batch_size=128)

    @staticmethod
    def run(args: argparse.Namespace) -> int:
        from codecfake import CodecfakeError

        if args.model == "lfcc-gmm":
            from .cut import OFFICIAL_INPUT_SAMPLES

            _refuse_for_baseline(args, Train.add_arguments, NEURAL_TRAIN_OPTIONS, "train")
            return _baseline_train(
                args.dataset,
                args.config,
                "train",
                OFFICIAL_INPUT_SAMPLES,
                args.out,
                seed=args.seed,
                progress=args.progress,
            )
        if args.rho is not None and args.optimizer == "adam":
            raise CodecfakeError(
                "--rho is the SAM/ASAM neighbourhood; --optimizer adam has none: drop --rho or "
                "choose --optimizer sam or asam"
            )
        if args.ssl is not None and args.model == "mel-lcnn":
            raise CodecfakeError("--ssl names the W2V2 model; mel-lcnn reads mel spectra: drop it")
        from functools import partial

        from tqdm import tqdm

        from .runtime import launched_ranks
        from .train import TrainSettings
        from .train import train as train_run

        settings = TrainSettings(
            model=args.model,
            dataset=args.dataset,
            config=args.config,
            out=args.out,
            ssl=args.ssl,
            epochs=args.epochs,
            batch_size=args.batch_size,
            lr=args.lr,
            seed=args.seed,
            optimizer=args.optimizer,
            rho=args.rho,
            max_steps=args.max_steps,
            streaming=args.streaming,
            device=args.device,
            num_workers=args.num_workers,
        )
        bar = partial(
            tqdm, unit="clip", mininterval=1.0, dynamic_ncols=True, disable=not args.progress
        )
        result = train_run(settings, progress=bar, on_epoch=_print_epoch)
        if not launched_ranks().is_main or result.best is None:  # other ranks stay quiet
            return 0
        if result.already_finished:
            print(f"{args.out}: already trained ({result.resumed_after} epochs); nothing to do")
        elif result.resumed_after:
            print(f"resumed after epoch {result.resumed_after}")
        print(
            f"best epoch {result.best['epoch']} "
            f"(validation EER {_percent(result.best['validation_eer'])}); "
            f"wrote {args.out / 'model.safetensors'}, metrics in {args.out / 'metrics.jsonl'}"
        )
        return 0


def _percent(eer: float | None) -> str:
    return f"{100 * eer:.3f}%" if eer is not None else "n/a"


def _print_epoch(record: dict[str, Any]) -> None:
    loss = record["train_loss"]
    parts = [
        f"epoch {record['epoch']}: {record['steps']} steps",
        f"loss {loss:.4f}" if loss is not None else "no batches",
        f"lr {record['lr']:g}",
        f"{record['clips_per_second'] or 0:.1f} clips/s",
        f"validation EER {_percent(record['validation_eer'])} on {record['validation_clips']} clips"
        + (" (best)" if record.get("best") else ""),
    ]
    print(", ".join(parts), flush=True)


def _baseline_train(
    dataset: str,
    config: str | None,
    split: str,
    max_samples: int,
    out: Path,
    *,
    progress: bool,
    **options: Any,
) -> int:
    """The baseline's training run (`baseline train`, `train --model lfcc-gmm`), and its line."""
    from .lfcc_gmm.train import describe_training, train_baseline

    path, model = train_baseline(
        dataset,
        out,
        config=config,
        split=split,
        max_samples=max_samples,
        progress=progress,
        **options,
    )
    print(describe_training(model, path))
    return 0


def _baseline_score(args: argparse.Namespace, max_samples: int) -> int:
    """The baseline's scoring run (`baseline score`, `score` with an lfcc-gmm model)."""
    from .lfcc_gmm.score import score_split

    out, scored = score_split(
        args.model,
        args.dataset,
        args.out,
        configs=args.config or [None],
        split=args.split,
        max_samples=max_samples,
        progress=args.progress,
    )
    print(f"scored {scored} clips; wrote {out}")
    return 0


def _baseline_model(model: Path) -> Path | None:
    """The lfcc-gmm model file that ``--model`` names, if it names one."""
    from .lfcc_gmm.train import MODEL_FILE

    if model.is_dir() and (model / MODEL_FILE).is_file():
        return model / MODEL_FILE
    return model if model.suffix == ".npz" else None


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
        _add_source(parser)
        parser.add_argument(
            "--config",
            action="append",
            default=None,
            help="configuration (repeatable; shared clips scored once; default: the dataset's)",
        )
        parser.add_argument("--split", default="test", help="split (default: test)")
        parser.add_argument("--out", required=True, type=Path, help="score file to write")
        _add_common(parser, batch_size=32)

    @staticmethod
    def run(args: argparse.Namespace) -> int:
        if _baseline_model(args.model):
            _refuse_for_baseline(
                args, Score.add_arguments, (*NEURAL_RUN_OPTIONS, "--num-workers"), "score"
            )
            from .cut import OFFICIAL_INPUT_SAMPLES

            return _baseline_score(args, OFFICIAL_INPUT_SAMPLES)
        from tqdm import tqdm

        from .lfcc_gmm.score import run_identity
        from .run import load_detector
        from .runtime import torch_device
        from .score import score_configs

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
        _add_common(parser, batch_size=16)

    @staticmethod
    def run(args: argparse.Namespace) -> int:
        from codecfake import CodecfakeError

        from .detect import audio_files, score_files

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

    baseline_path = _baseline_model(args.model)
    if baseline_path is not None:
        from .lfcc_gmm.gmm import load_model

        _refuse_for_baseline(args, Detect.add_arguments, NEURAL_RUN_OPTIONS, "detect")
        gmm = load_model(baseline_path)
        threshold, stored = 0.0, "lfcc-gmm log-likelihood ratio"

        def scorer(batch: Any) -> Any:
            return np.array([gmm.score(w) for w in batch])

    else:
        from .detect import neural_scorer
        from .run import load_detector
        from .runtime import torch_device

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


def _add_baseline_source(parser: argparse.ArgumentParser, default_split: str) -> None:
    from .cut import OFFICIAL_INPUT_SAMPLES

    parser.add_argument("--dataset", required=True, help="prepared dataset folder or Hub id")
    parser.add_argument(
        "--config",
        action="append",
        default=None,
        help="configuration name (default: the dataset's default); score takes several, "
        "each clip scored once",
    )
    parser.add_argument("--split", default=default_split, help=f"split (default: {default_split})")
    parser.add_argument(
        "--max-samples",
        type=int,
        default=OFFICIAL_INPUT_SAMPLES,
        help="read at most this many 16 kHz samples of each clip; 0 = whole clip",
    )


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
        _add_baseline_source(fit, "train")
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
        _add_baseline_source(scoring, "test")
        scoring.add_argument(
            "--model", required=True, type=Path, help="model.npz or its run folder"
        )
        scoring.add_argument("--out", required=True, type=Path, help="score file to write")

    @staticmethod
    def run(args: argparse.Namespace) -> int:
        from codecfake import CodecfakeError

        if args.action == "score":
            return _baseline_score(args, args.max_samples)
        if args.config and len(args.config) > 1:
            raise CodecfakeError("train takes one --config")
        return _baseline_train(
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
