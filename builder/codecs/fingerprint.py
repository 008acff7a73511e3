"""What a codec's provenance records about its weights and software.

The weights hash is over tensor *content* in name order, not over a checkpoint file: the same
weights saved as ``.bin`` or ``.safetensors``, or built from a seed, hash the same, and any
changed weight changes it. That is what makes "these fakes came from these weights" checkable.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any


def state_dict_sha256(state_dict: dict[str, Any]) -> str:
    """sha256 over (name, dtype, shape, bytes) of every tensor, in sorted name order."""
    import torch

    digest = hashlib.sha256()
    for name in sorted(state_dict):
        tensor = state_dict[name].detach().to("cpu").contiguous()
        digest.update(f"{name}|{tensor.dtype}|{tuple(tensor.shape)}\n".encode())
        digest.update(tensor.view(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def provenance(
    spec: Any, *, weights: str, weights_sha256: str | None, seed: int | None, **extra: Any
) -> dict[str, Any]:
    """The provenance record every backend returns; ``extra`` adds backend-specific fields."""
    return {
        "condition": spec.condition,
        "family": spec.family,
        "checkpoint": spec.checkpoint if weights == "pretrained" else None,
        "weights": weights,
        "weights_sha256": weights_sha256,
        "seed": seed if weights == "random" else None,
        "sample_rate": spec.sample_rate,
        "bitrate_kbps": spec.bitrate_kbps,
        "quantizers": spec.quantizers,
        "options": dict(spec.options),
        **extra,
    }


def weights_fingerprint(provenance: Mapping[str, Any]) -> str:
    """A codec's weights as one comparable string, from its provenance record.

    The content hash where the backend computed one (it also catches a checkpoint retrained in
    place under the same path); else the seed of random weights, or the checkpoint named;
    ``none`` for codecs without weights.
    """
    digest = provenance.get("weights_sha256")
    if digest:
        return f"sha256:{digest}"
    weights = provenance.get("weights")
    if weights == "random":
        return f"random:seed={provenance.get('seed')}"
    if weights == "none":
        return "none"
    checkpoint = provenance.get("checkpoint")
    return f"checkpoint:{checkpoint}" if checkpoint else f"unhashed:{weights}"
