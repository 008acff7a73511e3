"""Where a run happens: the device it computes on, and the software versions it records.

Every room (synthesis, codecs, evaluation, detectors) records the same versions and resolves
``--device`` the same way, so this module is the one place for both. It imports nothing heavy:
torch is imported inside :func:`resolve_device`, only for a device other than ``cpu``, and is
optional there: the weight-free codecs and the evaluation run without torch installed.
"""

from __future__ import annotations

import platform
from importlib import metadata

from codecfake import CodecfakeError

RECORDED_PACKAGES = (
    "codecfake",
    "numpy",
    "soundfile",
    "soxr",
    "pyarrow",
    "datasets",
    "torch",
    "transformers",
    "safetensors",
)
"""The packages whose versions can change a result: audio bytes, shards, scores or weights."""


def package_versions(*extra: str) -> dict[str, str]:
    """Python's version and those of :data:`RECORDED_PACKAGES` plus ``extra`` (a backend's own
    package, a plugin's distribution); packages not installed are left out, so a record says
    exactly what ran."""
    versions = {"python": platform.python_version()}
    for name in dict.fromkeys((*RECORDED_PACKAGES, *extra)):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def resolve_device(text: str) -> str:
    """``--device`` as torch spells it (``cpu``, ``cuda``, ``cuda:1``, ``mps``, ...), checked to
    exist here; ``auto`` is the first GPU when torch sees one, else the CPU.

    A device that is not there is refused now, in one line, rather than mid-run in whatever kernel
    first touches it. The result is a string, so records store it and torch takes it as is.
    """
    if text == "cpu":
        return "cpu"
    try:
        import torch
    except ImportError:  # the weight-free codecs run without torch, on the CPU
        if text == "auto":
            return "cpu"
        raise CodecfakeError(
            f"--device {text}: torch is not installed, so only the CPU is available; "
            "install torch (pip install 'codecfake[codecs]') or use --device cpu"
        ) from None
    if text == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    try:
        device = torch.device(text)
    except RuntimeError as error:
        raise CodecfakeError(f"--device {text!r}: not a torch device ({error})") from None
    if device.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        wanted = "CUDA GPU" if device.index is None else f"CUDA device {device.index}"
        if count == 0:
            raise CodecfakeError(
                f"--device {text}: this machine has no {wanted} (torch {torch.__version__} "
                "sees no CUDA GPU); use --device cpu"
            )
        if device.index is not None and device.index >= count:
            raise CodecfakeError(
                f"--device {text}: this machine has no {wanted} "
                f"(it has {count}: cuda:0..cuda:{count - 1})"
            )
    elif device.type == "mps":
        if not torch.backends.mps.is_available():
            raise CodecfakeError(f"--device {text}: MPS is not available here; use --device cpu")
    elif device.type != "cpu":
        available = getattr(getattr(torch, device.type, None), "is_available", None)
        if available is None or not available():
            raise CodecfakeError(f"--device {text}: no {device.type} device on this machine")
    return str(device)
