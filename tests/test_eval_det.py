"""DET plots never hide a curve: EER 0% and 100% are drawn on the axis edge, checked as pixels."""

from __future__ import annotations

import warnings
from pathlib import Path
from statistics import NormalDist

import numpy as np
import pytest

from codecfake_evaluation.det import RATE_RANGE, det_figure, plot_det
from codecfake_evaluation.eer import PolarityWarning
from codecfake_evaluation.table import POOLED, Group, evaluate_groups

pytest.importorskip("matplotlib")

RNG = np.random.default_rng(7)
SEPARATED = Group("C1", POOLED, RNG.normal(5, 1, 200), RNG.normal(-5, 1, 300))  # no overlap
INVERTED = Group("C2", POOLED, RNG.normal(-5, 1, 200), RNG.normal(5, 1, 300))  # higher = fake
OVERLAPPING = Group("C3", POOLED, RNG.normal(1, 1, 200), RNG.normal(0, 1, 300))
GROUPS = [SEPARATED, INVERTED, OVERLAPPING]


@pytest.fixture(scope="module")
def rows():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PolarityWarning)  # C2's scores are inverted on purpose
        return evaluate_groups(GROUPS, polarity="fixed", resamples=0)


@pytest.fixture(scope="module")
def picture(rows, tmp_path_factory: pytest.TempPathFactory):
    """The figure, its PNG's pixels (top row first), and the pixel of a point in data units."""
    import matplotlib.image

    figure = det_figure(GROUPS, rows)
    path = tmp_path_factory.mktemp("det") / "det.png"
    figure.savefig(path, format="png")
    pixels = matplotlib.image.imread(path)[..., :3]
    ax = figure.axes[0]

    def pixel(x: float, y: float) -> tuple[int, int]:
        column, row_from_bottom = ax.transData.transform((x, y))
        return round(pixels.shape[0] - row_from_bottom), round(column)

    return figure, pixels, pixel


def colour_near(pixels: np.ndarray, where: tuple[int, int], colour, reach: int = 3) -> bool:
    row, column = where
    patch = pixels[row - reach : row + reach + 1, column - reach : column + reach + 1]
    return bool((np.abs(patch - np.asarray(colour)).max(axis=-1) < 0.08).any())


def curve_colour(figure, condition: str):
    from matplotlib.colors import to_rgb

    [line] = [line for line in figure.axes[0].get_lines() if line.get_label().startswith(condition)]
    return to_rgb(line.get_color())


def test_the_scores_are_what_the_test_needs(rows) -> None:
    assert [r.eer for r in rows[:3]][:2] == [0.0, 100.0]
    assert 5 < rows[2].eer < 50


def test_edge_curves_are_drawn_on_the_axis_edges(picture) -> None:
    figure, pixels, pixel = picture
    edge_low, edge_high = (NormalDist().inv_cdf(rate) for rate in RATE_RANGE)
    separated, inverted = curve_colour(figure, "C1"), curve_colour(figure, "C2")
    assert separated != inverted
    # EER 0%: along the bottom (no misses) and the left edge (no false alarms), at every part
    for x in (-2.0, 0.0, 0.5):  # C3 shares the edges beyond 1.2 deviates
        assert colour_near(pixels, pixel(x, edge_low), separated), x
        assert colour_near(pixels, pixel(edge_low, x), separated), x
        assert not colour_near(pixels, pixel(x, edge_low), inverted), x
    # EER 100%: along the right edge (every fake accepted) and the top edge (every real missed)
    for y in (-2.0, 0.0, 0.5):
        assert colour_near(pixels, pixel(edge_high, y), inverted), y
        assert colour_near(pixels, pixel(y, edge_high), inverted), y
        assert not colour_near(pixels, pixel(edge_high, y), separated), y
    # each EER dot sits in its corner, inside the frame
    assert colour_near(pixels, pixel(edge_low, edge_low), separated)
    assert colour_near(pixels, pixel(edge_high, edge_high), inverted)


def test_edge_lines_lie_inside_the_frame(picture) -> None:
    figure, _, _ = picture
    ax = figure.axes[0]
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    for line in ax.get_lines():
        x, y = line.get_xdata(), line.get_ydata()
        assert x.min() > x0 and x.max() < x1 and y.min() > y0 and y.max() < y1


def test_the_legend_gives_every_eer(picture, rows) -> None:
    figure, _, _ = picture
    texts = [t.get_text() for t in figure.axes[0].get_legend().get_texts()]
    assert len(texts) == 3
    assert texts[0].startswith("C1 (0.000%") and "edge" in texts[0]
    assert texts[1].startswith("C2 (100.000%") and "edge" in texts[1]
    assert texts[2] == f"C3 ({rows[2].eer:.3f}%)"


def test_plot_det_writes_the_same_picture(picture, rows, tmp_path: Path) -> None:
    import matplotlib.image

    _, pixels, _ = picture
    path = plot_det(GROUPS, rows, tmp_path / "plots" / "det.png")
    assert path == tmp_path / "plots" / "det.png"
    np.testing.assert_array_equal(matplotlib.image.imread(path)[..., :3], pixels)
    assert [p.name for p in path.parent.iterdir()] == ["det.png"]  # no temporary left
