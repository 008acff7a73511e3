"""``codecfake train``: the paper's recipe, straight from a prepared dataset; resumes when rerun."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from .options import (
    MODELS,
    NEURAL_TRAIN_OPTIONS,
    XLSR,
    add_common,
    add_source,
    baseline_train,
    positive,
    refuse_for_baseline,
)

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


class Train:
    """Train a detector with the paper's recipe, from the loader; resumes when rerun."""

    EPILOG = TRAIN_EPILOG

    @staticmethod
    def resumes(args: argparse.Namespace) -> bool:
        return args.model != "lfcc-gmm"  # neural runs resume from their last finished epoch

    @staticmethod
    def add_arguments(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--model", required=True, choices=MODELS, help="detector to train")
        add_source(parser)
        parser.add_argument("--config", default=None, help="configuration (default: the dataset's)")
        parser.add_argument("--out", required=True, type=Path, help="run folder")
        parser.add_argument("--epochs", type=positive, default=10, help="epochs (default 10)")
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
        add_common(parser, batch_size=128)

    @staticmethod
    def run(args: argparse.Namespace) -> int:
        from codecfake import CodecfakeError

        if args.model == "lfcc-gmm":
            from ..cut import OFFICIAL_INPUT_SAMPLES

            refuse_for_baseline(args, Train.add_arguments, NEURAL_TRAIN_OPTIONS, "train")
            return baseline_train(
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

        from ..runtime import launched_ranks
        from ..train import TrainSettings
        from ..train import train as train_run

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
