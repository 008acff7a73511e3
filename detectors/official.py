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

import collections
import logging
import pickle
import sys
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import torch

import codecfake

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
STORAGE_DTYPES = {
    "FloatStorage": torch.float32,
    "DoubleStorage": torch.float64,
    "HalfStorage": torch.float16,
    "BFloat16Storage": torch.bfloat16,
    "LongStorage": torch.int64,
    "IntStorage": torch.int32,
    "ShortStorage": torch.int16,
    "CharStorage": torch.int8,
    "ByteStorage": torch.uint8,
    "BoolStorage": torch.bool,
}
DATA_PARALLEL_PREFIX = "module."


class Placeholder:
    """Stands in for a pickled module class: records the state the pickle gives it, runs nothing."""

    qualified_name = ""
    state: Any = None

    def __setstate__(self, state: Any) -> None:
        self.state = state


@dataclass(frozen=True)
class StorageType:
    """What a ``torch.XStorage`` global resolves to: only the element type it names."""

    dtype: torch.dtype


def _rebuild_tensor(
    storage: torch.Tensor, offset: int, size: tuple[int, ...], stride: tuple[int, ...], *_: Any
) -> torch.Tensor:
    """Our ``torch._utils._rebuild_tensor_v2``: a strided view of a storage read from the zip."""
    if not isinstance(storage, torch.Tensor):
        raise pickle.UnpicklingError("a tensor rebuild that does not name an archive storage")
    return storage.as_strided(tuple(size), tuple(stride), int(offset))


def _rebuild_parameter(data: torch.Tensor, *_: Any) -> torch.Tensor:
    """Our ``torch._utils._rebuild_parameter``: the tensor alone (it is copied into ours later)."""
    if not isinstance(data, torch.Tensor):
        raise pickle.UnpicklingError("a parameter rebuild without a tensor")
    return data


SAFE_GLOBALS = {
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    ("torch", "device"): torch.device,  # a DataParallel saved on a GPU records its device
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("builtins", "set"): set,
    ("__builtin__", "set"): set,  # protocol 2 pickles name Python 2's module
}


def _is_torch_module_class(module: str, name: str) -> bool:
    """A ``torch.nn`` module class, found among the modules torch has already imported."""
    if not (module.startswith("torch.nn.modules.") or module == "torch.nn.parallel.data_parallel"):
        return False
    candidate = getattr(sys.modules.get(module), name, None)
    return isinstance(candidate, type) and issubclass(candidate, torch.nn.Module)


class RestrictedUnpickler(pickle.Unpickler):
    """Unpickles a torch archive's ``data.pkl``, resolving only tensors and the module tree."""

    def __init__(self, file: Any, archive: zipfile.ZipFile, root: str, source: Path) -> None:
        super().__init__(file)
        self.archive = archive
        self.root = root
        self.source = source
        self.storages: dict[str, torch.Tensor] = {}
        self.placeholders: dict[str, type[Placeholder]] = {}

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in SAFE_GLOBALS:
            return SAFE_GLOBALS[module, name]
        if module == "torch" and name in STORAGE_DTYPES:
            return StorageType(STORAGE_DTYPES[name])
        if (module == AUTHORS_MODULE and name in AUTHORS_CLASSES) or _is_torch_module_class(
            module, name
        ):
            return self._placeholder(f"{module}.{name}")
        raise codecfake.CodecfakeError(
            f"{self.source}: refusing to load this checkpoint: its pickle asks for the global "
            f"{module}.{name}, which is neither a tensor nor a known module class, and unpickling "
            "it could run code. Nothing from the file was run. Use the file published by the "
            "official Codecfake repository, or a state dict saved with torch.save or safetensors"
        )

    def _placeholder(self, qualified_name: str) -> type[Placeholder]:
        if qualified_name not in self.placeholders:
            self.placeholders[qualified_name] = type(
                qualified_name.rpartition(".")[2],
                (Placeholder,),
                {"qualified_name": qualified_name},
            )
        return self.placeholders[qualified_name]

    def persistent_load(self, pid: Any) -> torch.Tensor:
        """A storage record ``('storage', type, key, location, numel)`` -> a 1-D CPU tensor."""
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage"):
            raise pickle.UnpicklingError(f"unsupported persistent id {pid!r:.80}")
        _, storage_type, key, _location, numel = pid
        if not isinstance(storage_type, StorageType):
            raise pickle.UnpicklingError(f"storage {key!r} has no known element type")
        if key not in self.storages:
            dtype = storage_type.dtype
            data = bytearray(self.archive.read(f"{self.root}data/{key}"))
            if len(data) != numel * torch.empty(0, dtype=dtype).element_size():
                raise pickle.UnpicklingError(f"storage {key!r} does not hold {numel} elements")
            self.storages[key] = (
                torch.frombuffer(data, dtype=dtype) if data else torch.empty(0, dtype=dtype)
            )
        return self.storages[key]


def _unpickle_archive(path: Path) -> Any:
    """The object a torch zip archive's ``data.pkl`` describes, through the restricted unpickler."""
    try:
        archive = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as error:
        raise codecfake.CodecfakeError(
            f"{path}: not a readable torch checkpoint (a zip archive written by torch.save): "
            f"{error}"
        ) from error
    with archive:
        pickles = [name for name in archive.namelist() if PurePosixPath(name).name == "data.pkl"]
        if len(pickles) != 1:
            raise codecfake.CodecfakeError(
                f"{path}: a torch checkpoint holds one data.pkl, this archive has {len(pickles)}"
            )
        root = pickles[0][: -len("data.pkl")]
        if f"{root}byteorder" in archive.namelist():
            byteorder = archive.read(f"{root}byteorder").decode(errors="replace").strip()
            if byteorder != sys.byteorder:
                raise codecfake.CodecfakeError(
                    f"{path}: tensors stored {byteorder}-endian; this machine is {sys.byteorder}"
                )
        with archive.open(pickles[0]) as file:
            try:
                return RestrictedUnpickler(file, archive, root, path).load()
            except codecfake.CodecfakeError:
                raise
            except Exception as error:  # a corrupt or hostile pickle: any failure is the file's
                raise codecfake.CodecfakeError(
                    f"{path}: cannot read the checkpoint's pickle: {type(error).__name__}: {error}"
                ) from error


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
    if (
        isinstance(obj, Mapping)
        and obj
        and all(
            isinstance(key, str) and isinstance(value, torch.Tensor) for key, value in obj.items()
        )
    ):
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
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        try:
            state = load_file(path)
        except (SafetensorError, OSError) as error:
            raise codecfake.CodecfakeError(
                f"{path}: not a readable safetensors file: {error}"
            ) from error
    else:
        state = _state_dict_of(_unpickle_archive(path), path)
    if state and all(key.startswith(DATA_PARALLEL_PREFIX) for key in state):
        state = {key[len(DATA_PARALLEL_PREFIX) :]: value for key, value in state.items()}
    return state


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
