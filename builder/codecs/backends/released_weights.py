"""Released codec checkpoints onto our modules: read safely, unwrap, fit by name, fail in one line.

The AudioDec and HiFi-Codec files are ``torch.save`` pickles of nested dicts of state dicts. They
are read through :func:`codecfake_core.checkpoints.read_torch_file`, which runs nothing from the
pickle. Their keys are the official module names, which our modules keep, so fitting is by name;
old-style weight norm (``X.weight_g`` + ``X.weight_v``) is folded into ``X.weight`` on the way.
Anything else (a missing key, a wrong shape, a key no layer takes) is a
:class:`~codecfake_builder.codecs.errors.CheckpointMismatchError` naming the file and the first
such key, with the shape expected and the shape found: the usual cause is a checkpoint of another
model size or family, which a traceback from ``load_state_dict`` would bury.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import torch

from codecfake_core.checkpoints import (
    CheckpointError,
    is_state_dict,
    read_torch_file,
    strip_data_parallel,
)

from ..errors import CheckpointLoadError, CheckpointMismatchError
from .hifigan_layers import fold_weight_norm, weight_norm_gain_shape

Shape = tuple[int, ...]


def read_checkpoint(path: Path, condition: str) -> Any:
    """What the ``torch.save`` file at ``path`` holds, through the restricted unpickler."""
    try:
        return read_torch_file(path)
    except CheckpointError as error:
        raise CheckpointLoadError(f"{condition}: {error}") from None


def state_dict_at(value: Any, nesting: tuple[str, ...], source: str) -> dict[str, torch.Tensor]:
    """The state dict at ``value[nesting[0]][nesting[1]]...`` (a bare state dict is taken as is),
    without a DataParallel ``module.`` prefix."""
    found = value
    for key in nesting:
        if is_state_dict(found) or not isinstance(found, Mapping) or key not in found:
            break
        found = found[key]
    if not is_state_dict(found):
        where = "".join(f"[{key!r}]" for key in nesting)
        held = sorted(found)[:8] if isinstance(found, Mapping) else type(found).__name__
        raise CheckpointMismatchError(
            f"{source}: expected a state dict at {where} (the released layout), found {held}"
        )
    return strip_data_parallel(found)


def _format(shape: Shape | None) -> str:
    return "missing" if shape is None else f"[{', '.join(map(str, shape))}]"


def match_state_dict(
    expected: Mapping[str, Shape],
    state: Mapping[str, torch.Tensor],
    source: str,
    remedy: str,
    ignored: Callable[[str], bool] = lambda key: False,
) -> dict[str, torch.Tensor]:
    """``state`` as a state dict with exactly the keys and shapes of ``expected``.

    ``X.weight`` is taken as stored or folded from ``X.weight_g`` and ``X.weight_v``. Keys for
    which ``ignored`` is true (parts of a released file that inference does not use) are read
    past. The first key that is missing, of another shape, or left over raises
    :class:`CheckpointMismatchError` in one line: ``source``, the key, both shapes, ``remedy``.
    """

    def mismatch(key: str, want: Shape | None, found: Shape | None) -> CheckpointMismatchError:
        return CheckpointMismatchError(
            f"{source}: {key} should be {_format(want)} and is {_format(found)}; {remedy}"
        )

    fitted: dict[str, torch.Tensor] = {}
    used: set[str] = set()
    for key, shape in expected.items():
        gain_key, direction_key = f"{key}_g", f"{key}_v"
        if key in state:
            if tuple(state[key].shape) != shape:
                raise mismatch(key, shape, tuple(state[key].shape))
            fitted[key] = state[key]
            used.add(key)
        elif key.endswith(".weight") and gain_key in state and direction_key in state:
            gain, direction = state[gain_key], state[direction_key]
            if tuple(direction.shape) != shape:
                raise mismatch(direction_key, shape, tuple(direction.shape))
            if tuple(gain.shape) != weight_norm_gain_shape(shape):
                raise mismatch(gain_key, weight_norm_gain_shape(shape), tuple(gain.shape))
            fitted[key] = fold_weight_norm(gain, direction)
            used.update((gain_key, direction_key))
        else:
            raise mismatch(key, shape, None)
    for key, tensor in state.items():
        if key not in used and not ignored(key):
            raise CheckpointMismatchError(
                f"{source}: {key} {_format(tuple(tensor.shape))} fits no layer of this "
                f"architecture; {remedy}"
            )
    return fitted


def load_matching(
    module: torch.nn.Module,
    state: Mapping[str, torch.Tensor],
    source: str,
    remedy: str,
    ignored: Callable[[str], bool] = lambda key: False,
) -> None:
    """Load ``state`` into ``module`` through :func:`match_state_dict`."""
    expected = {key: tuple(value.shape) for key, value in module.state_dict().items()}
    module.load_state_dict(match_state_dict(expected, state, source, remedy, ignored))
