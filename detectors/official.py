"""The published Codecfake checkpoints, read without running their pickle.

The official repository publishes each detector as a whole pickled module of the authors'
classes (``model.LCNN``, ``model.W2VAASIST``, ...): ``torch.load(weights_only=False)`` would run
whatever the pickle asks for, and ``weights_only=True`` refuses the file. So the archive's
``data.pkl`` is read by an unpickler that resolves only an allow-list of globals: the authors'
classes and ``torch.nn`` module classes become inert placeholders that merely record their state,
tensors are rebuilt from the archive's storages by our own code, and every other global (``os``,
``builtins.eval``, ``subprocess``, ...) is refused before anything is called. The module tree
recorded by the placeholders is then flattened into a state dict and loaded, strictly, into our
own classes.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

import codecfake
from codecfake_core.checkpoints import (
    Placeholder,
    is_state_dict,
    read_safetensors,
    read_torch_file,
    strip_data_parallel,
    torch_module_class,
)

from .models.detector import MODEL_NAMES, Detector, build_backend, build_frontend
from .models.lcnn import MEL_SHAPE, XLSR_SHAPE, flat_features

logger = logging.getLogger("codecfake")

AUTHORS_MODULE = "model"
AUTHORS_CLASSES = frozenset(
    {
        "LCNN",
        "W2VAASIST",
        "MaxFeatureMap2D",
        "Residual_block",
        "GraphAttentionLayer",
        "HtrgGraphAttentionLayer",
        "GraphPool",
    }
)


def _module_class(module: str, name: str) -> bool:
    """The authors' classes and ``torch.nn`` modules: what a whole pickled detector holds."""
    return (module == AUTHORS_MODULE and name in AUTHORS_CLASSES) or torch_module_class(
        module, name
    )


def _module_state(node: Placeholder, prefix: str, into: dict[str, torch.Tensor]) -> None:
    """Flatten a placeholder module tree the way ``Module.state_dict`` would."""
    state = node.state if isinstance(node.state, Mapping) else {}
    skipped = state.get("_non_persistent_buffers_set") or set()
    for kind in ("_parameters", "_buffers"):
        for name, tensor in (state.get(kind) or {}).items():
            if tensor is not None and name not in skipped:
                into[prefix + name] = tensor
    for name, child in (state.get("_modules") or {}).items():
        if isinstance(child, Placeholder):
            _module_state(child, f"{prefix}{name}.", into)


def _state_dict_of(obj: Any, path: Path) -> dict[str, torch.Tensor]:
    """The tensors of a pickled module, or of a pickled state dict."""
    if isinstance(obj, Placeholder):
        state: dict[str, torch.Tensor] = {}
        _module_state(obj, "", state)
        logger.debug("%s: %s module with %d tensors", path, obj.qualified_name, len(state))
        return state
    if is_state_dict(obj):
        return dict(obj)
    raise codecfake.CodecfakeError(
        f"{path}: the checkpoint holds a {type(obj).__name__}, not a module or a state dict"
    )


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """The tensors of a published checkpoint, a torch state dict or a safetensors file.

    A ``DataParallel`` wrapper's ``module.`` prefix is removed.
    """
    path = Path(path)
    if not path.is_file():
        raise codecfake.CodecfakeError(f"{path}: no such checkpoint file")
    if path.suffix == ".safetensors":
        state = read_safetensors(path)
    else:
        state = _state_dict_of(read_torch_file(path, _module_class), path)
    return strip_data_parallel(state)


def model_name_of(state: Mapping[str, torch.Tensor], path: Path) -> str:
    """Which of :data:`MODEL_NAMES` a back-end state dict belongs to, from its tensors."""
    if "fc_mu.weight" in state and "out.1.weight" in state:
        width = state["out.1.weight"].shape[-1]
        names = {flat_features(*MEL_SHAPE): "mel-lcnn", flat_features(*XLSR_SHAPE): "w2v2-lcnn"}
        if width in names:
            return names[width]
    if "LL.weight" in state and "out_layer.weight" in state:
        return "w2v2-aasist"
    sample = ", ".join(sorted(state)[:6])
    raise codecfake.CodecfakeError(
        f"{path}: the tensors ({len(state)}: {sample}, ...) are not those of a "
        f"{' / '.join(MODEL_NAMES)} back-end"
    )


def _official_backend(path: str | Path) -> tuple[str, torch.nn.Module]:
    path = Path(path)
    state = read_state_dict(path)
    name = model_name_of(state, path)
    backend = build_backend(name)
    try:
        backend.load_state_dict(state, strict=True)
    except RuntimeError as error:
        raise codecfake.CodecfakeError(
            f"{path}: the tensors do not fit our {name} back-end: {error}"
        ) from error
    return name, backend.eval()


def load_official_checkpoint(path: str | Path) -> torch.nn.Module:
    """Our back-end with the checkpoint's tensors, in eval mode: ``forward(features)`` -> (B, 2).

    Features take the authors' layout: (B, 1, 505, 80) mel for the Mel-LCNN, (B, 1, 1024, 201)
    XLS-R hidden state 5 for the W2V2 back-ends.
    """
    return _official_backend(path)[1]


def detector_from_official(path: str | Path, ssl: str | None = None) -> Detector:
    """A whole detector (front-end + the checkpoint's back-end) in eval mode; ``ssl`` for W2V2."""
    name, backend = _official_backend(path)
    return Detector(name, build_frontend(name, ssl), backend, ssl).eval()
