"""Training-step clips/s of each detector, against its fixed front-end alone, in one process.

Each model takes real optimiser steps (weighted cross-entropy, Adam; the paper's recipe) on
(B, 64600) batches of random audio, at the real sizes: the W2V2 models read a random-weight
Wav2Vec2Model of XLS-R 300M's architecture with the 5 transformer layers hidden state 5 needs
(what the truncated front-end runs). The baseline row is the same front-end's forward on the
same batch, so the ratio says how much of a step the trainable back-end adds: near 1, a faster
back-end would not help, and on a GPU the loader decides the speed.

    python -m benchmarks.bench_train_step                     # CPU, batch 8
    python -m benchmarks.bench_train_step --device cuda --batch-size 128
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch

from codecfake_detectors.models import MODEL_NAMES, build_detector
from codecfake_detectors.runtime import torch_device


def xlsr_like(folder: Path) -> Path:
    """XLS-R 300M's architecture, random weights, the first 5 transformer layers only."""
    from transformers import Wav2Vec2Config, Wav2Vec2Model

    config = Wav2Vec2Config(
        hidden_size=1024,
        num_hidden_layers=5,
        num_attention_heads=16,
        intermediate_size=4096,
        conv_dim=(512,) * 7,
        conv_bias=True,
        do_stable_layer_norm=True,
        feat_extract_norm="layer",
        num_conv_pos_embeddings=128,
        num_conv_pos_embedding_groups=16,
    )
    Wav2Vec2Model(config).save_pretrained(folder)
    return folder


def timed(step, repeats: int, device: torch.device) -> float:
    step()  # warm-up: allocations, kernels
    if device.type == "cuda":
        torch.cuda.synchronize()
    started = time.perf_counter()
    for _ in range(repeats):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return (time.perf_counter() - started) / repeats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--models", default=",".join(MODEL_NAMES))
    args = parser.parse_args()
    device = torch_device(args.device)
    torch.manual_seed(0)
    waveforms = (0.1 * torch.randn(args.batch_size, 64_600)).to(device)
    labels = (torch.arange(args.batch_size) % 2).to(device)
    criterion = torch.nn.CrossEntropyLoss(weight=torch.tensor([10.0, 1.0], device=device))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        ssl = None
        for name in args.models.split(","):
            if name != "mel-lcnn" and ssl is None:
                ssl = str(xlsr_like(Path(tmp) / "xlsr"))
            detector = build_detector(name, ssl).to(device)
            adam = torch.optim.Adam(detector.backend.parameters(), lr=5e-4, weight_decay=5e-4)

            def frontend_only(detector=detector) -> None:
                with torch.no_grad():
                    detector.frontend(waveforms)

            def train_step(detector=detector, adam=adam) -> None:
                with torch.no_grad():
                    features = detector.frontend(waveforms)
                adam.zero_grad(set_to_none=True)
                criterion(detector.backend(features), labels).backward()
                adam.step()

            detector.backend.train()
            front = timed(frontend_only, args.repeats, device)
            step = timed(train_step, args.repeats, device)
            rows.append((name, args.batch_size / front, args.batch_size / step, step / front))
    threads = torch.get_num_threads()
    print(f"device {device}, batch {args.batch_size}, torch threads {threads}")
    print(
        f"{'model':<12} {'front-end clips/s':>18} {'train step clips/s':>19} {'step / front':>13}"
    )
    for name, front, step, ratio in rows:
        print(f"{name:<12} {front:>18,.1f} {step:>19,.1f} {ratio:>13.2f}")


if __name__ == "__main__":
    main()
