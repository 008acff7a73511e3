"""Where a command runs: the torch device it asked for, and the ranks of a ``torchrun`` launch.

A device that is not there is refused up front, in one line, instead of failing mid-run in
whatever kernel first touches it. Under ``torchrun`` every rank runs the same command: the
environment (``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``) says which one this is, ``gloo`` serves
CPU runs and ``nccl`` GPU runs, and each rank takes the GPU of its local rank.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import torch

from codecfake_core.environment import resolve_device


def torch_device(text: str) -> torch.device:
    """``--device`` (``cpu``, ``cuda:1``, ``mps``, ``auto``...) checked to exist here, as the
    :class:`torch.device` the detectors compute on (see :func:`resolve_device`)."""
    return torch.device(resolve_device(text))


@dataclass(frozen=True)
class Ranks:
    """This process's place in a (possibly one-process) run."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def launched_ranks() -> Ranks:
    """The ranks ``torchrun`` set in the environment; one process when it did not."""
    if "WORLD_SIZE" not in os.environ:
        return Ranks()
    return Ranks(
        int(os.environ.get("RANK", 0)),
        int(os.environ["WORLD_SIZE"]),
        int(os.environ.get("LOCAL_RANK", 0)),
    )


def start_ranks(device_text: str) -> tuple[Ranks, torch.device]:
    """Join the process group when launched by ``torchrun``; the device this rank computes on.

    ``--device cuda`` under torchrun means one GPU per rank, ``cuda:<local rank>``.
    """
    ranks = launched_ranks()
    device = torch_device(device_text)
    if device.type == "cuda" and ranks.distributed and device.index is None:
        device = torch_device(f"cuda:{ranks.local_rank}")
    if ranks.distributed and not torch.distributed.is_initialized():
        backend = "nccl" if device.type == "cuda" else "gloo"
        if device.type == "cuda":
            torch.cuda.set_device(device)
        torch.distributed.init_process_group(backend, rank=ranks.rank, world_size=ranks.world_size)
    return ranks, device


def stop_ranks(ranks: Ranks) -> None:
    if ranks.distributed and torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()


def all_ranks_have(has_batch: bool, ranks: Ranks, device: torch.device) -> bool:
    """True while every rank still has a batch: ranks stop an epoch together.

    A streamed split divides into parts that can differ by a few clips, and DDP hangs when one
    rank steps while another has finished. One tiny all-reduce a step keeps them in lockstep.
    """
    if not ranks.distributed:
        return has_batch
    flag = torch.tensor([1 if has_batch else 0], device=device)
    torch.distributed.all_reduce(flag, op=torch.distributed.ReduceOp.MIN)
    return bool(flag.item())


def gather(value: Any, ranks: Ranks) -> list[Any]:
    """``value`` from every rank, in rank order (a list of one without distribution)."""
    if not ranks.distributed:
        return [value]
    out: list[Any] = [None] * ranks.world_size
    torch.distributed.all_gather_object(out, value)
    return out


def barrier(ranks: Ranks) -> None:
    if ranks.distributed:
        torch.distributed.barrier()
