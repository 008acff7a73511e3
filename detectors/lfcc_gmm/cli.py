"""Train and run the reference countermeasure (LFCC features + a GMM pair), on CPU, from a stream.

`train` streams a split of any configuration, fits one Gaussian mixture to the LFCC frames of real
clips and one to those of fakes, and writes DIR/model.npz (plain arrays, no pickle) with the run's
DIR/config.json beside it. `score` streams a split and writes `filename score label` lines
(higher = more real), the official format that `codecfake eval` reads.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

EPILOG = """\
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


def _add_source(parser: argparse.ArgumentParser, default_split: str) -> None:
    from .stream import OFFICIAL_INPUT_SAMPLES

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


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    train = actions.add_parser(
        "train",
        help="fit the GMM pair on a streamed split",
        description="Fit the LFCC-GMM pair on a streamed split and save DIR/model.npz.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_source(train, "train")
    train.add_argument("--out", required=True, type=Path, help="run folder for model + config")
    train.add_argument("--components", type=int, default=64, help="mixture components per class")
    train.add_argument(
        "--max-clips", type=int, default=2_000, help="clips per class to learn from; 0 = all"
    )
    train.add_argument(
        "--max-frames", type=int, default=200_000, help="LFCC frames per class fed to EM; 0 = all"
    )
    train.add_argument("--seed", type=int, default=0, help="seed for shuffling, subsampling, EM")
    score = actions.add_parser(
        "score",
        help="score a streamed split into 'filename score label' lines",
        description="Score a streamed split with a trained model; resumes an interrupted run.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_source(score, "test")
    score.add_argument("--model", required=True, type=Path, help="model.npz or its run folder")
    score.add_argument("--out", required=True, type=Path, help="score file to write")


def run(args: argparse.Namespace) -> int:
    return {"train": run_train, "score": run_score}[args.action](args)


def run_train(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from codecfake import CodecfakeError

    from .lfcc import LfccConfig
    from .stream import iter_clips, open_split
    from .train import fit, gather_frames, write_run

    features = LfccConfig()
    if args.config and len(args.config) > 1:
        raise CodecfakeError("train takes one --config")
    config = args.config[0] if args.config else None
    stream = open_split(args.dataset, config, args.split, shuffle_seed=args.seed)
    with tqdm(desc="LFCC", unit="clip", file=sys.stderr) as bar:
        gathered = gather_frames(
            iter_clips(stream, args.max_samples), features, args.max_clips, bar
        )
    source = {"dataset": str(args.dataset), "config": config, "split": args.split}
    print(f"fitting two {args.components}-component GMMs (EM)...", file=sys.stderr, flush=True)
    try:
        model = fit(gathered, features, args.components, args.max_frames, args.seed, source)
    except ValueError as error:
        raise CodecfakeError(f"cannot train on {source}: {error}") from error
    run_config = {
        **source,
        "max_samples": args.max_samples,
        "components": args.components,
        "max_clips": args.max_clips,
        "max_frames": args.max_frames,
        "seed": args.seed,
    }
    path = write_run(model, args.out, run_config)
    seen = model.metadata["trained_on"]
    print(
        f"trained on {seen['clips']['real']} real + {seen['clips']['fake']} fake clips "
        f"({seen['frames']['real']:,} + {seen['frames']['fake']:,} frames); wrote {path}"
    )
    return 0


def run_score(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from .gmm import load_model
    from .score import run_identity, score_clips
    from .stream import iter_clips, open_split, unique_clips
    from .train import MODEL_FILE

    model_path = args.model / MODEL_FILE if args.model.is_dir() else args.model
    model = load_model(model_path)
    configs = args.config or [None]
    streams = [open_split(args.dataset, config, args.split) for config in configs]
    clips = unique_clips(iter_clips(stream, args.max_samples) for stream in streams)
    source = {
        "dataset": str(args.dataset),
        "config": configs,
        "split": args.split,
        "max_samples": args.max_samples,
    }
    with tqdm(desc="scoring", unit="clip", file=sys.stderr) as bar:
        out, scored = score_clips(
            model,
            clips,
            args.out,
            run_identity(model_path, source),
            bar,
        )
    print(f"scored {scored} clips; wrote {out}")
    return 0
