"""The paper's optimisers: Adam, and Adam made sharpness-aware (SAM, ASAM).

SAM (Foret et al., ICLR 2021) minimises the loss at the worst point of a small ball around the
weights: it takes the gradient g at w, moves to w + e with e = rho * g / ||g||, takes the
gradient there, comes back to w and lets the base optimiser (Adam here) step with that second
gradient. ASAM (Kwon et al., ICML 2021) makes the ball scale-invariant: with T = |w| + eta
elementwise, e = rho * T^2 g / ||T g||. Both cost a second forward and backward pass per step.
The paper's CSAM takes the SAM perturbation per dataset domain; it needs co-training batches
from two datasets and is not implemented.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch

import codecfake

OPTIMIZERS = ("adam", "sam", "asam")
DEFAULT_RHO = {"sam": 0.05, "asam": 0.5}
"""The neighbourhood sizes the SAM and ASAM papers use with their own optimisers."""
ASAM_ETA = 0.01


class SharpnessAware:
    """Wraps a base optimiser; :meth:`step` takes a closure that recomputes loss and gradients.

    The base optimiser's state is all there is to save: the perturbation lives only within a step.
    """

    def __init__(self, base: torch.optim.Optimizer, rho: float, adaptive: bool) -> None:
        if rho <= 0:
            raise codecfake.CodecfakeError(f"--rho must be positive, not {rho}")
        self.base = base
        self.rho = rho
        self.adaptive = adaptive

    def _parameters(self) -> list[torch.nn.Parameter]:
        return [
            p for group in self.base.param_groups for p in group["params"] if p.grad is not None
        ]

    @torch.no_grad()
    def _perturb(self) -> list[tuple[torch.nn.Parameter, torch.Tensor]]:
        params = self._parameters()
        if not params:
            return []
        scales = [p.abs() + ASAM_ETA if self.adaptive else None for p in params]
        scaled = [
            g if s is None else s * g for g, s in zip((p.grad for p in params), scales, strict=True)
        ]
        norm = torch.norm(torch.stack([g.norm(2) for g in scaled]), 2)
        factor = self.rho / (norm + 1e-12)
        moves = []
        for p, g, s in zip(params, scaled, scales, strict=True):
            move = g * factor if s is None else s * g * factor
            p.add_(move)
            moves.append((p, move))
        return moves

    def step(self, closure: Callable[[], torch.Tensor]) -> None:
        """Gradients of the current loss must be in ``.grad``; ``closure`` redoes them at w + e."""
        moves = self._perturb()
        self.base.zero_grad(set_to_none=True)
        closure()
        with torch.no_grad():
            for p, move in moves:
                p.sub_(move)
        self.base.step()

    def zero_grad(self, set_to_none: bool = True) -> None:
        self.base.zero_grad(set_to_none=set_to_none)


def build_optimizer(
    kind: str,
    params: Iterable[torch.nn.Parameter],
    *,
    lr: float,
    betas: tuple[float, float],
    eps: float,
    weight_decay: float,
    rho: float | None = None,
) -> tuple[torch.optim.Adam, SharpnessAware | None]:
    """The Adam that holds the state, and the sharpness-aware wrapper around it when asked for."""
    if kind not in OPTIMIZERS:
        raise codecfake.CodecfakeError(
            f"unknown optimizer {kind!r}; choose {', '.join(OPTIMIZERS)}"
        )
    adam = torch.optim.Adam(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)
    if kind == "adam":
        return adam, None
    return adam, SharpnessAware(adam, rho or DEFAULT_RHO[kind], adaptive=kind == "asam")
