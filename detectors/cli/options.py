"""What the detector commands share: their options, and running the LFCC-GMM baseline under them.

``train --model lfcc-gmm`` and ``score``/``detect`` given an lfcc-gmm run run the reference
baseline; ``codecfake baseline`` runs it with all of its own options. The baseline's work is
:mod:`codecfake_detectors.lfcc_gmm`; here is only what turns options into its calls.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

MODELS = ("mel-lcnn", "w2v2-lcnn", "w2v2-aasist", "lfcc-gmm")
XLSR = "facebook/wav2vec2-xls-r-300m"

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


def add_common(parser: argparse.ArgumentParser, batch_size: int) -> None:
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


def add_source(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dataset", required=True, help="prepared dataset folder or Hub id")
    parser.add_argument(
        "--num-workers", type=int, default=2, help="DataLoader worker processes (default 2)"
    )


def refuse_for_baseline(
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


def positive(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive, not {value}")
    return value


def baseline_train(
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
    from ..lfcc_gmm.train import describe_training, train_baseline

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


def baseline_score(args: argparse.Namespace, max_samples: int) -> int:
    """The baseline's scoring run (`baseline score`, `score` with an lfcc-gmm model)."""
    from ..lfcc_gmm.score import score_split

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


def baseline_model(model: Path) -> Path | None:
    """The lfcc-gmm model file that ``--model`` names, if it names one."""
    from ..lfcc_gmm.train import MODEL_FILE

    if model.is_dir() and (model / MODEL_FILE).is_file():
        return model / MODEL_FILE
    return model if model.suffix == ".npz" else None


def add_baseline_source(parser: argparse.ArgumentParser, default_split: str) -> None:
    from ..cut import OFFICIAL_INPUT_SAMPLES

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
