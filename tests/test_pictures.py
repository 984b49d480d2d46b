"""The pictures drawn cheaply look exactly as matplotlib draws them: ticks as plain artists
(`plots.ticks`) change no pixel of the default run's seven pictures nor of crafted axes."""

from __future__ import annotations

import io

import matplotlib
import numpy as np
import pandas as pd
import pytest

from fedcut.core.params import resolve
from fedcut.plots.kit import TEXT_STYLE, new_figure, png_bytes, year_axis
from fedcut.plots.ticks import flatten_ticks
from fedcut.report import pictures
from fedcut.report.schema import PICTURES
from fedcut.run.backtest import run
from fedcut.run.folder import run_data


@pytest.fixture(scope="module")
def default_run(shared_data):
    return run_data(run(resolve({}), data_dir=str(shared_data), offline=True))


def matplotlib_pixels(fig) -> np.ndarray:
    """`fig` drawn by matplotlib with its own tick objects (as the PNG's text is drawn)."""
    with matplotlib.rc_context(TEXT_STYLE):
        fig.canvas.draw()
    return np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()


def png_pixels(fig) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(png_bytes(fig))))


@pytest.mark.parametrize("name", PICTURES)
def test_each_picture_of_the_default_run_is_the_one_matplotlib_draws(default_run, name):
    expected = matplotlib_pixels(pictures.figure(name, default_run))
    fig = pictures.figure(name, default_run)
    np.testing.assert_array_equal(png_pixels(fig), expected)
    # and the ticks were drawn as plain artists: each axis keeps only the one tick object it starts with
    assert all(len(ax.xaxis.majorTicks) <= 1 and len(ax.yaxis.majorTicks) <= 1 for ax in fig.axes)


def crafted(kind: str):
    """Axes that exercise each case: dates and a y label, a log scale with minor ticks, an offset,
    ticks pointing in and labels on the right, shared axes with inner labels hidden, rotated labels."""
    fig, axes = new_figure(4.0, rows=2, squeeze=False, sharex=True)
    days = pd.bdate_range("2001-01-01", periods=900)
    x = np.arange(len(days), dtype=float)
    for k, ax in enumerate(axes[:, 0]):
        ax.plot(x, 1e6 + 5e3 * np.sin(x / 40 + k) if kind == "offset" else 100 + 30 * np.sin(x / 40 + k))
        ax.set_ylabel(f"panel {k}")
        ax.grid(alpha=0.3)
    if kind == "dates":
        from fedcut.plots.kit import day_numbers

        for ax in axes[:, 0]:
            ax.lines[0].set_xdata(day_numbers(days))
        year_axis(axes[-1, 0], days[0], days[-1])
    if kind == "log":
        axes[0, 0].set_yscale("log")
    if kind == "inward":
        axes[0, 0].tick_params(direction="in", labelright=True)
    if kind == "rotated":
        axes[-1, 0].set_xticks(
            [100, 400, 700], ["one hundred", "four hundred", "seven hundred"], rotation=30, ha="right"
        )
        axes[-1, 0].set_xlabel("days")
    return fig


@pytest.mark.parametrize("kind", ["dates", "log", "offset", "inward", "rotated"])
def test_crafted_axes_draw_the_same_pixels_with_plain_ticks(kind):
    np.testing.assert_array_equal(png_pixels(crafted(kind)), matplotlib_pixels(crafted(kind)))


def test_plain_ticks_replace_the_tick_objects_only_where_they_can():
    drawn = crafted("log")
    matplotlib_pixels(drawn)
    expected = [
        t.get_text()
        for axis in (drawn.axes[1].xaxis, drawn.axes[1].yaxis)
        for t in axis.get_ticklabels()
        if min(axis.get_view_interval())
        <= (t.get_position()[0] if axis is drawn.axes[1].xaxis else t.get_position()[1])
        <= max(axis.get_view_interval())
    ]
    fig = crafted("log")
    flatten_ticks(fig)
    top, bottom = fig.axes
    assert type(top.yaxis.get_major_locator()).__name__ == "LogLocator"  # minor ticks: left to matplotlib
    assert type(top.xaxis.get_major_locator()).__name__ == "NullLocator"  # its shared x is plain
    assert type(bottom.yaxis.get_major_locator()).__name__ == "NullLocator"
    assert len(expected) > 6 and sorted(t.get_text() for t in bottom.texts) == sorted(expected)


def test_a_heatmap_with_plain_ticks_is_the_one_matplotlib_draws():
    """A fixed layout, a colour bar, fixed ticks with rotated labels, hatched cells and text in every
    cell: with its ticks made plain, the same pixels as matplotlib's drawing."""
    from fedcut.plots.heatmap import heatmap_figure

    rng = np.random.default_rng(4)
    n = 300
    summary = pd.DataFrame(
        {
            "status": "ok",
            "hedge.moneyness": rng.uniform(0.8, 1.0, n),
            "strategy.recession_action": rng.choice(["avoid", "hedge", "quality", "cyclicals"], n),
            "objective_is": rng.uniform(0.1, 0.6, n),
            "objective_oos": rng.uniform(0.0, 0.5, n),
            "is_sharpe": rng.uniform(0.2, 0.5, n),
        }
    )
    args = (summary, "strategy.recession_action", "hedge.moneyness", "calmar", {"objective_is": 0.3})
    noise = {"objective_is": {"sharpe_column": "is_sharpe", "benchmark_sharpe": 0.35, "years": 12.0}}
    expected = matplotlib_pixels(heatmap_figure(*args, noise=noise))
    fig = heatmap_figure(*args, noise=noise)
    np.testing.assert_array_equal(png_pixels(fig), expected)
    panels = [ax for ax in fig.axes if ax.images]
    assert len(panels) == 2 and all(
        type(axis.get_major_locator()).__name__ == "NullLocator" for ax in panels for axis in (ax.xaxis, ax.yaxis)
    )  # the ticks were drawn plain


def test_tick_labels_of_decades_of_growth_stay_narrow():
    """The long history's equity reaches billions and its growth of 100 millions: a label is a few
    digits and a unit (k, M, B) that reads back to the value it stands for, never 2e+06 or $10000M
    (wider than the picture's margin, which pushed the axis's own label off the picture)."""
    from fedcut.plots.kit import short_number
    from fedcut.plots.run import _usd

    units = {"k": 1e3, "M": 1e6, "B": 1e9}

    def value(label: str) -> float:
        return float(label[:-1]) * units[label[-1]] if label[-1] in units else float(label)

    for v in (1e6, 2e6, 5e6, 1e7, 1.5e6, 5e8, 1e9, 2e9, 5e9, 1e10, 1.5e9, 2.5e10):
        assert value(_usd(v)[1:]) == v and len(_usd(v)) <= 6, _usd(v)
    for v in (100, 500, 1e3, 2e3, 1.5e3, 1e4, 5e4, 1e5, 1e6, 2e6, 1.5e6):
        assert value(short_number(v)) == v and len(short_number(v)) <= 4, short_number(v)
