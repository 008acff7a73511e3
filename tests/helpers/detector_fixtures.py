"""What the detector tests train and score on: a prepared dataset and a tiny random XLS-R.

The dataset is a real ``codecfake prepare`` run over a release written by
:mod:`release_factory` (speech-like reals, codec-like fakes at 16/24/44.1 kHz). The SSL model is
the real ``Wav2Vec2Model`` architecture with random weights, as small as the back-ends allow:
they read 1024-dim features (LL is Linear(1024, 128) and the LCNN's first linear has 24,576 =
32 x 64 x 12 inputs, fixed by the published checkpoints), so the hidden size stays 1024, while
the feed-forward width and the conv channels shrink. The conv kernels and strides are XLS-R's,
which is what makes 64,600 samples give 201 frames.
"""

from __future__ import annotations

from pathlib import Path

from codecfake_builder.folder.prepare import prepare
from testkit.release_factory import make_release

CONDITIONS = ("C1",)
CONFIG = "C1"


def make_dataset(root: Path, n_en: int = 2, n_zh: int = 2, seconds: float = 1.0) -> Path:
    """A prepared folder: config C1, with train / validation / test (n_en + n_zh reals each)."""
    release = make_release(
        root / "release", conditions=CONDITIONS, n_en=n_en, n_zh=n_zh, seconds=seconds
    )
    prepare(release.root, root / "codecfake", size_check=False, progress=False)
    return root / "codecfake"


def make_tiny_ssl(folder: Path) -> Path:
    """``save_pretrained`` of a random-weight Wav2Vec2Model (stable layer norm, as XLS-R)."""
    import torch
    from transformers import Wav2Vec2Config, Wav2Vec2Model

    config = Wav2Vec2Config(
        hidden_size=1024,
        num_hidden_layers=6,
        num_attention_heads=4,
        intermediate_size=32,
        conv_dim=(8,) * 7,
        num_conv_pos_embeddings=16,
        num_conv_pos_embedding_groups=16,
        do_stable_layer_norm=True,
        feat_extract_norm="layer",
    )
    torch.manual_seed(0)
    Wav2Vec2Model(config).save_pretrained(folder)
    return folder
