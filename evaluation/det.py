"""DET curves: miss rate against false-alarm rate on normal-deviate axes, one curve per condition.

On these axes two Gaussian score distributions give a straight line, so curves of detectors that
are far apart (0.03% against 45% EER) stay readable on one plot. matplotlib is imported only
here, inside :func:`det_figure` (install the ``plot`` extra).

Rates outside the axes (0 and 100% have no deviate at all) are clamped onto the axis edge, which
sits a few pixels inside the frame: a perfectly separated condition (EER 0%) then runs along the
bottom and left edges and an inverted one (EER 100%) along the top and right, instead of
vanishing, and its legend entry says it is off the scale.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from statistics import NormalDist
from typing import TYPE_CHECKING

import numpy as np

from codecfake import CONDITIONS
from codecfake_core.io import atomic_path

from .eer import EvaluationError, SortedTrials
from .table import Group, Row

if TYPE_CHECKING:
    from matplotlib.figure import Figure

TICKS_PERCENT = (0.01, 0.05, 0.2, 1, 2, 5, 10, 20, 40, 60, 80, 95, 99)
_INV_CDF = np.vectorize(NormalDist().inv_cdf, otypes=[float])
_LINE_STYLES = {"codec": "-", "codec-sub": "--", "alm": "-."}
_CELLS_PER_DEVIATE = 100  # merge points closer than 1/100 of a deviate: finer than a pixel
RATE_RANGE = (TICKS_PERCENT[0] / 100, TICKS_PERCENT[-1] / 100)
"""The rates the axes span; rates beyond are drawn on the edge."""
_EDGE_MARGIN = 0.06  # deviates (about 4 pixels) between an edge curve and the frame


def det_points(
    group: Group, flipped: bool, rates: tuple[float, float] = RATE_RANGE
) -> tuple[np.ndarray, np.ndarray]:
    """Normal deviates of (false-alarm rate, miss rate) along the sweep, in the row's polarity.

    Rates are clamped to ``rates`` (the axes' span, so nothing falls outside the picture), and
    points closer than the plot can show are merged, so a 100,000-trial curve stays a light PNG
    without losing its tails.
    """
    sign = -1.0 if flipped else 1.0
    frr, far, _ = SortedTrials.from_classes(sign * group.real, sign * group.fake).error_rates()
    x = _probit(np.clip(far, *rates))
    y = _probit(np.clip(frr, *rates))
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
    target = Path(path)
    figure = det_figure(groups, rows, title)
    with atomic_path(target) as temporary:
        figure.savefig(temporary, format="png")
    return target


def det_figure(groups: Sequence[Group], rows: Sequence[Row], title: str = "DET curves") -> Figure:
    """The DET plot as a matplotlib figure (no pyplot: nothing global is touched)."""
    try:
        import matplotlib
        from matplotlib.figure import Figure
    except ModuleNotFoundError as error:
        if (error.name or "").partition(".")[0] != "matplotlib":
            raise
        raise EvaluationError("DET curves need matplotlib: pip install 'codecfake[plot]'") from None

    by_key = {(row.condition, row.language): row for row in rows}
    low, high = RATE_RANGE
    figure = Figure(figsize=(8.2, 6.0), dpi=100)
    ax = figure.subplots()
    colours = matplotlib.colormaps["tab20" if len(groups) > 10 else "tab10"]
    for index, group in enumerate(groups):
        row = by_key[(group.condition, group.language)]
        x, y = det_points(group, bool(row.flipped))
        spec = CONDITIONS.get(group.condition)
        style = _LINE_STYLES.get(spec.kind if spec else "", "-")
        colour = colours(index % colours.N)
        ax.plot(x, y, style, color=colour, linewidth=1.4, label=legend_label(row))
        point = _probit(np.clip(np.array([row.eer / 100]), low, high))
        ax.plot(point, point, "o", color=colour, markersize=5)
    ticks = _probit(np.array(TICKS_PERCENT) / 100)
    labels = [f"{t:g}" for t in TICKS_PERCENT]
    ax.set_xticks(ticks, labels)
    ax.set_yticks(ticks, labels)
    ax.set_xlim(ticks[0] - _EDGE_MARGIN, ticks[-1] + _EDGE_MARGIN)
    ax.set_ylim(ticks[0] - _EDGE_MARGIN, ticks[-1] + _EDGE_MARGIN)
    ax.plot([ticks[0], ticks[-1]], [ticks[0], ticks[-1]], ":", color="grey", linewidth=0.8)
    ax.set_xlabel("false alarm rate: fakes accepted as real (%)")
    ax.set_ylabel("miss rate: reals rejected (%)")
    ax.set_title(title)
    ax.grid(True, linewidth=0.4, alpha=0.6)
    ax.legend(
        title="condition (EER = dot)", fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1.0)
    )
    figure.tight_layout()
    return figure


def legend_label(row: Row) -> str:
    """``C1 (3.125%)``; an EER beyond the axes (0% for perfectly separated scores) says so."""
    low, high = RATE_RANGE
    edge = " on the edge" if not low <= row.eer / 100 <= high else ""
    return f"{row.condition} ({row.eer:.3f}%{edge})"
