"""Reading ``torch.save`` files without running their pickle.

A ``torch.save`` file is a zip archive: ``data.pkl`` describes the object, and each tensor's
storage is a separate entry. ``torch.load(weights_only=False)`` runs whatever ``data.pkl`` asks
for; so the pickle is read here by an unpickler that resolves only an allow-list of globals:
tensors are rebuilt from the archive's storages by our own code, a caller may turn named module
classes into inert :class:`Placeholder` objects that merely record their state, and every other
global (``os.system``, ``builtins.eval``, ...) is refused before anything is called.

Sizes are checked before bytes are read: a storage entry must hold exactly the elements its
record claims and may not inflate beyond what an honest archive holds, so a crafted file cannot
make us allocate more than its own size. Detector checkpoints (:mod:`codecfake_detectors.official`)
and codec checkpoints (SoundStream, FunCodec, AudioDec, HiFi-Codec) are read through here.
"""

from __future__ import annotations

import collections
import pickle
import sys
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import torch

from codecfake import CodecfakeError

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
MAX_PICKLE_BYTES = 64 * 2**20
"""``data.pkl`` of a state dict is kilobytes; a larger one is not a checkpoint we read."""
MAX_INFLATION = 32
"""``torch.save`` stores entries uncompressed. A compressed storage entry may grow this much when
read (already far beyond what deflate gains on float weights), and no more: a zip bomb stops
before its bytes are inflated."""


class CheckpointError(CodecfakeError):
    """A checkpoint file that cannot or must not be read; the message names the file."""


class Placeholder:
    """Stands in for a pickled class: records the state the pickle gives it, runs nothing."""

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
    size, stride, offset = tuple(size), tuple(stride), int(offset)
    if size:
        last = offset + sum((n - 1) * s for n, s in zip(size, stride, strict=True) if n)
        if min(size) > 0 and (offset < 0 or last >= storage.numel()):
            raise pickle.UnpicklingError("a tensor view reaches beyond its storage")
    return storage.as_strided(size, stride, offset)


def _rebuild_parameter(data: torch.Tensor, *_: Any) -> torch.Tensor:
    """Our ``torch._utils._rebuild_parameter``: the tensor alone (it is copied into ours later)."""
    if not isinstance(data, torch.Tensor):
        raise pickle.UnpicklingError("a parameter rebuild without a tensor")
    return data


SAFE_GLOBALS: Mapping[tuple[str, str], Any] = {
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    ("torch", "device"): torch.device,  # a DataParallel saved on a GPU records its device
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("builtins", "set"): set,
    ("__builtin__", "set"): set,  # protocol 2 pickles name Python 2's module
}

PlaceholderRule = Callable[[str, str], bool]
"""``(module, name) -> bool``: which pickled classes become :class:`Placeholder` objects."""


def torch_module_class(module: str, name: str) -> bool:
    """A ``torch.nn`` module class, found among the modules torch has already imported."""
    if not (module.startswith("torch.nn.modules.") or module == "torch.nn.parallel.data_parallel"):
        return False
    candidate = getattr(sys.modules.get(module), name, None)
    return isinstance(candidate, type) and issubclass(candidate, torch.nn.Module)


class _Unpickler(pickle.Unpickler):
    """Unpickles a torch archive's ``data.pkl``, resolving only tensors (and placeholders)."""

    def __init__(
        self,
        file: Any,
        archive: zipfile.ZipFile,
        root: str,
        source: Path,
        placeholders: PlaceholderRule | None,
    ) -> None:
        super().__init__(file)
        self.archive = archive
        self.root = root
        self.source = source
        self.rule = placeholders
        self.storages: dict[str, torch.Tensor] = {}
        self.classes: dict[str, type[Placeholder]] = {}

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in SAFE_GLOBALS:
            return SAFE_GLOBALS[module, name]
        if module == "torch" and name in STORAGE_DTYPES:
            return StorageType(STORAGE_DTYPES[name])
        if self.rule is not None and self.rule(module, name):
            qualified = f"{module}.{name}"
            if qualified not in self.classes:
                self.classes[qualified] = type(name, (Placeholder,), {"qualified_name": qualified})
            return self.classes[qualified]
        raise CheckpointError(
            f"{self.source}: refusing to load this checkpoint: its pickle asks for the global "
            f"{module}.{name}, which is neither a tensor nor a known module class, and unpickling "
            "it could run code. Nothing from the file was run. Use the file as its authors "
            "published it, or a state dict saved with torch.save or safetensors"
        )

    def persistent_load(self, pid: Any) -> torch.Tensor:
        """A storage record ``('storage', type, key, location, numel)`` -> a 1-D CPU tensor."""
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage"):
            raise pickle.UnpicklingError(f"unsupported persistent id {pid!r:.80}")
        _, storage_type, key, _location, numel = pid
        if not isinstance(storage_type, StorageType):
            raise pickle.UnpicklingError(f"storage {key!r} has no known element type")
        if key not in self.storages:
            self.storages[key] = self._read_storage(str(key), storage_type.dtype, numel)
        return self.storages[key]

    def _read_storage(self, key: str, dtype: torch.dtype, numel: Any) -> torch.Tensor:
        name = f"{self.root}data/{key}"
        try:
            info = self.archive.getinfo(name)
        except KeyError:
            raise pickle.UnpicklingError(f"storage {key!r} is not in the archive") from None
        itemsize = torch.empty(0, dtype=dtype).element_size()
        if not isinstance(numel, int) or numel < 0 or info.file_size != numel * itemsize:
            raise pickle.UnpicklingError(
                f"storage {key!r} claims {numel} elements of {itemsize} bytes, its entry holds "
                f"{info.file_size} bytes"
            )
        _check_inflation(info)
        data = bytearray(info.file_size)
        with self.archive.open(info) as entry:
            if entry.readinto(data) != info.file_size:  # type: ignore[attr-defined]
                raise pickle.UnpicklingError(f"storage {key!r} is truncated")
        return torch.frombuffer(data, dtype=dtype) if data else torch.empty(0, dtype=dtype)


def _check_inflation(info: zipfile.ZipInfo) -> None:
    if info.compress_type != zipfile.ZIP_STORED and info.file_size > MAX_INFLATION * max(
        info.compress_size, 1
    ):
        raise pickle.UnpicklingError(
            f"entry {info.filename!r} inflates from {info.compress_size:,} to "
            f"{info.file_size:,} bytes, which no torch.save archive does"
        )


def read_torch_file(path: str | Path, placeholders: PlaceholderRule | None = None) -> Any:
    """The object a ``torch.save`` file holds, with tensors, through the restricted unpickler.

    ``placeholders`` names the classes (a detector's own ``nn.Module`` classes, say) that may
    appear and become :class:`Placeholder` objects recording their pickled state; nothing else
    than tensors, dicts, lists, numbers and strings is resolved.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint file")
    try:
        archive = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as error:
        raise CheckpointError(
            f"{path}: not a readable torch checkpoint (a zip archive written by torch.save; "
            f"re-download it): {error}"
        ) from error
    with archive:
        pickles = [
            info for info in archive.infolist() if PurePosixPath(info.filename).name == "data.pkl"
        ]
        if len(pickles) != 1:
            raise CheckpointError(
                f"{path}: a torch checkpoint holds one data.pkl, this archive has {len(pickles)}"
            )
        info = pickles[0]
        root = info.filename[: -len("data.pkl")]
        if f"{root}byteorder" in archive.namelist():
            byteorder = archive.read(f"{root}byteorder").decode(errors="replace").strip()
            if byteorder != sys.byteorder:
                raise CheckpointError(
                    f"{path}: tensors stored {byteorder}-endian; this machine is {sys.byteorder}"
                )
        try:
            if info.file_size > MAX_PICKLE_BYTES:
                raise pickle.UnpicklingError(
                    f"data.pkl is {info.file_size:,} bytes, more than a checkpoint's description"
                )
            _check_inflation(info)
            with archive.open(info) as file:
                return _Unpickler(file, archive, root, path, placeholders).load()
        except CodecfakeError:
            raise
        except Exception as error:  # a corrupt or hostile pickle: any failure is the file's
            raise CheckpointError(
                f"{path}: cannot read the checkpoint (damaged or not a torch.save file; "
                f"re-download it): {type(error).__name__}: {error}"
            ) from error


def is_state_dict(value: Any) -> bool:
    """A non-empty mapping of names to tensors."""
    return (
        isinstance(value, Mapping)
        and bool(value)
        and all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in value.items())
    )


def strip_data_parallel(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """A state dict saved from a ``DataParallel``/DDP wrapper, without its ``module.`` prefix."""
    if state and all(key.startswith(DATA_PARALLEL_PREFIX) for key in state):
        return {key[len(DATA_PARALLEL_PREFIX) :]: value for key, value in state.items()}
    return dict(state)


def read_safetensors(path: str | Path) -> dict[str, torch.Tensor]:
    """The tensors of a ``.safetensors`` file; a damaged one is a one-line error naming it."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        return load_file(Path(path))
    except (SafetensorError, OSError, ValueError) as error:
        raise CheckpointError(
            f"{path}: not a readable safetensors file (damaged or truncated? re-download or "
            f"re-save it): {error}"
        ) from error
