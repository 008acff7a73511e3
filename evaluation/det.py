"""DET curves: miss rate against false-alarm rate on normal-deviate axes, one curve per condition.

On these axes two Gaussian score distributions give a straight line, so curves of detectors that
are far apart (0.03% against 45% EER) stay readable on one plot. matplotlib is imported only
here, inside :func:`plot_det` (install the ``plot`` extra).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from statistics import NormalDist

import numpy as np

from codecfake import CONDITIONS
from evaluation.eer import SortedTrials
from evaluation.table import Group, Row

TICKS_PERCENT = (0.01, 0.05, 0.2, 1, 2, 5, 10, 20, 40, 60, 80, 95, 99)
_INV_CDF = np.vectorize(NormalDist().inv_cdf, otypes=[float])
_LINE_STYLES = {"codec": "-", "codec-sub": "--", "alm": "-."}
_CELLS_PER_DEVIATE = 100  # merge points closer than 1/100 of a deviate: finer than a pixel


def det_points(group: Group, flipped: bool, floor: float) -> tuple[np.ndarray, np.ndarray]:
    """Normal deviates of (false-alarm rate, miss rate) along the sweep, in the row's polarity.

    Rates are clipped to ``[floor, 1 - floor]`` (0 has no deviate), and points closer than the
    plot can show are merged, so a 100,000-trial curve stays a light PNG without losing its tails.
    """
    sign = -1.0 if flipped else 1.0
    frr, far, _ = SortedTrials.from_classes(sign * group.real, sign * group.fake).error_rates()
    x = _probit(np.clip(far, floor, 1 - floor))
    y = _probit(np.clip(frr, floor, 1 - floor))
    cells = np.round(np.column_stack((x, y)) * _CELLS_PER_DEVIATE)
    _, keep = np.unique(cells, axis=0, return_index=True)
    keep.sort()
    return x[keep], y[keep]


def _probit(rates: np.ndarray) -> np.ndarray:
    """Normal deviates; a rate takes at most n + 1 values, so each is computed once."""
    values, positions = np.unique(rates, return_inverse=True)
    return _INV_CDF(values)[positions]


def plot_det(
    groups: Sequence[Group],
    rows: Sequence[Row],
    path: os.PathLike[str] | str,
    title: str = "DET curves",
) -> Path:
    """Write a PNG with one DET curve per pooled group and its EER point marked; returns the path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    by_key = {(row.condition, row.language): row for row in rows}
    floor = min(TICKS_PERCENT) / 100 / 2
    figure, ax = plt.subplots(figsize=(8.2, 6.0), dpi=100)
    colours = plt.get_cmap("tab20" if len(groups) > 10 else "tab10")
    for index, group in enumerate(groups):
        row = by_key[(group.condition, group.language)]
        x, y = det_points(group, bool(row.flipped), floor)
        spec = CONDITIONS.get(group.condition)
        style = _LINE_STYLES.get(spec.kind if spec else "", "-")
        label = f"{group.condition} ({row.eer:.3f}%)"
        colour = colours(index % colours.N)
        ax.plot(x, y, style, color=colour, linewidth=1.4, label=label)
        point = _probit(np.clip(np.array([row.eer / 100]), floor, 1 - floor))
        ax.plot(point, point, "o", color=colour, markersize=5)
    ticks = _probit(np.array(TICKS_PERCENT) / 100)
    labels = [f"{t:g}" for t in TICKS_PERCENT]
    ax.set_xticks(ticks, labels)
    ax.set_yticks(ticks, labels)
    ax.set_xlim(ticks[0], ticks[-1])
    ax.set_ylim(ticks[0], ticks[-1])
    ax.plot([ticks[0], ticks[-1]], [ticks[0], ticks[-1]], ":", color="grey", linewidth=0.8)
    ax.set_xlabel("false alarm rate: fakes accepted as real (%)")
    ax.set_ylabel("miss rate: reals rejected (%)")
    ax.set_title(title)
    ax.grid(True, linewidth=0.4, alpha=0.6)
    ax.legend(
        title="condition (EER = dot)", fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1.0)
    )
    figure.tight_layout()
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial")
    figure.savefig(partial, format="png")
    plt.close(figure)
    os.replace(partial, target)
    return target
