"""A sweep's heatmaps: the objective over each of the most telling pairs of swept parameters,
averaged over the others, in sample and out of sample (see `plots.sweep` for the levels and the
other pictures), and the numbers behind each cell for sweep.html's table."""

from __future__ import annotations

import itertools
import textwrap
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from fedcut.analyzers.performance import sharpe_standard_error
from fedcut.data.benchmark import possessive
from fedcut.plots.kit import DPI, fixed_ticks, save_png
from fedcut.plots.sweep import MAX_WIDTH, REFERENCE, counts_note, drawn_samples, levels, ok_rows

MAX_PAIRS = 3  # heatmaps drawn per sweep: the pairs `telling_pairs` puts first
MISSING_COLOUR = "#f0f0f0"  # heatmap cells where no configuration ran


def cell_means(summary: pd.DataFrame, a: str, b: str, column: str) -> pd.DataFrame:
    """Mean of `column` over the ok configurations per level of `a` (rows) and `b` (columns); NaN where none ran."""
    return _Cells(summary, a, b).means(column)


def cell_counts(summary: pd.DataFrame, a: str, b: str) -> pd.DataFrame:
    """How many ok configurations fall in each cell of `cell_means`' grid (0 where none)."""
    return _Cells(summary, a, b).counts()


class _Cells:
    """The ok configurations of `summary` by level of `a` (rows) and `b` (columns): the levels found
    once, for every figure a heatmap shows."""

    def __init__(self, summary: pd.DataFrame, a: str, b: str):
        self.a, self.b, self.ok = a, b, ok_rows(summary)
        self.rows, self.row_order = levels(self.ok[a])
        self.cols, self.col_order = levels(self.ok[b])

    def means(self, column: str) -> pd.DataFrame:
        means = self.ok[column].astype(float).groupby([self.rows, self.cols]).mean().unstack()
        means = means.reindex(index=self.row_order, columns=self.col_order)
        means.index.name, means.columns.name = self.a, self.b
        return means

    def counts(self) -> pd.DataFrame:
        counts = self.ok.groupby([self.rows, self.cols]).size().unstack()
        return counts.reindex(index=self.row_order, columns=self.col_order).fillna(0).astype(int)


def heatmaps(
    summary: pd.DataFrame,
    params: list[str],
    out_dir,
    objective_label: str,
    reference: dict[str, float] | None = None,
    empty_reason=None,
    noise: dict[str, dict] | None = None,
    pairs: list[tuple[str, str]] | None = None,
    reference_name: str = REFERENCE,
) -> list[Path]:
    """Write heatmap_<a>__<b>.png for the MAX_PAIRS pairs of swept parameters that `telling_pairs`
    puts first (or for `pairs`, when the caller chose them); return the paths.

    None when fewer than two parameters are swept or no configuration ran. `reference` is
    buy-and-hold's objective per sample column; `empty_reason(a, b)` says why a cell of that
    pair can hold no configuration.
    """
    out = []
    for a, b in telling_pairs(summary, params)[:MAX_PAIRS] if pairs is None else pairs:
        path = Path(out_dir) / f"heatmap_{a.replace('.', '_')}__{b.replace('.', '_')}.png"
        reason = empty_reason(a, b) if empty_reason else "none ran"
        figure = heatmap_figure(summary, a, b, objective_label, reference, reason, noise, reference_name)
        out.append(save_png(figure, path, up=False))
    return out


def heatmap_cells(
    summary: pd.DataFrame,
    a: str,
    b: str,
    reference: dict[str, float] | None = None,
    noise: dict[str, dict] | None = None,
    reference_name: str = REFERENCE,
) -> pd.DataFrame:
    """Every cell of the heatmap of `a` and `b`, one row each, in the picture's order (rows of `a`, then
    columns of `b`, from the bottom left): the two levels, n (its configurations), and per sample its
    mean, the mean minus buy-and-hold's (`reference`) and whether it is inside the noise (`noise`, as the
    hatching). What a cell holds beyond the mean its picture prints."""
    reference, noise = reference or {}, noise or {}
    cells = _Cells(summary, a, b)
    frame = cells.counts().stack().rename("n").reset_index()
    frame.columns = [a, b, "n"]
    for column, label, _ in drawn_samples(summary):
        frame[f"{label} mean"] = cells.means(column).stack(future_stack=True).to_numpy()
        frame[f"{label} minus {reference_name}"] = frame[f"{label} mean"] - reference.get(column, np.nan)
        if column in noise:
            got = noise[column]
            inside = _inside_noise(cells.means(got["sharpe_column"]), got["benchmark_sharpe"], got["years"])
            frame[f"{label} inside the noise"] = inside.stack(future_stack=True).to_numpy()
    return frame


def telling_pairs(summary: pd.DataFrame, params: list[str], column: str = "objective_is") -> list[tuple[str, str]]:
    """Every pair of `params`, the pairs whose cells tell most about `column` (the in-sample objective:
    out-of-sample numbers choose nothing) first.

    A pair's score is the adjusted R² of its cells (each parameter's levels as `levels` gives them): the
    share of the variance of `column` over the ok configurations that the cells' means explain, less
    what as many cells would explain by chance, 1 - (within-cell sum of squares / (n - k)) / (total sum
    of squares / (n - 1)) for n configurations in k non-empty cells. A pair that cannot be scored (no
    two configurations in one cell, or a constant objective) comes after those that can; ties keep the
    order of the parameters. Empty when nothing ran."""
    ok = ok_rows(summary)
    y = ok[column].astype(float).to_numpy() if column in ok else np.array([])
    keep = np.isfinite(y)
    if not keep.any() or len(params) < 2:
        return []
    y = y[keep]
    codes = {}
    for key in params:
        labels, order = levels(ok[key])
        codes[key] = labels.map({name: i for i, name in enumerate(order)}).to_numpy()[keep]
    scored = []
    for a, b in itertools.combinations(params, 2):
        ca, cb = codes[a], codes[b]
        found = ~(pd.isna(ca) | pd.isna(cb))
        n = int(found.sum())
        values = y[found] - y[found].mean() if n else y[found]  # centred: the sums of squares keep their digits
        total = float((values**2).sum())
        cell = ca[found].astype(int) * (int(np.nanmax(cb[found])) + 1 if n else 1) + cb[found].astype(int)
        count = np.bincount(cell)
        k = int((count > 0).sum())
        sums = np.bincount(cell, weights=values)
        within = total - float(np.divide(sums**2, count, where=count > 0, out=np.zeros_like(sums)).sum())
        score = 1 - (within / (n - k)) / (total / (n - 1)) if n > k and total > 0 else -np.inf
        scored.append((score, (a, b)))
    return [pair for _, pair in sorted(scored, key=lambda s: -s[0])]  # sorted() is stable: ties keep the order


NOISE_Z = 1.96  # a cell within this many standard errors of buy-and-hold's Sharpe is inside the sampling noise
DIVERGING = ("#b2182b", "#f7f7f7", "#1a9850")  # worse than buy-and-hold, the same, better


def noise_cells(
    summary: pd.DataFrame, a: str, b: str, sharpe_column: str, benchmark_sharpe: float, years: float
) -> pd.DataFrame:
    """True where a cell's mean Sharpe lies within NOISE_Z standard errors (`performance.sharpe_standard_error`,
    Lo 2002, over the sample's `years`) of buy-and-hold's Sharpe over the same days: a difference the
    sample cannot tell from luck."""
    return _inside_noise(cell_means(summary, a, b, sharpe_column), benchmark_sharpe, years)


def _inside_noise(sharpe: pd.DataFrame, benchmark_sharpe: float, years: float) -> pd.DataFrame:
    inside = (sharpe - benchmark_sharpe).abs() < NOISE_Z * sharpe_standard_error(sharpe, years)
    return inside & sharpe.notna()


def heatmap_figure(
    summary: pd.DataFrame,
    a: str,
    b: str,
    objective_label: str,
    reference: dict[str, float] | None = None,
    empty_reason: str = "none ran",
    noise: dict[str, dict] | None = None,
    reference_name: str = REFERENCE,
):
    """The objective's mean per level of `a` and `b`, in-sample and out-of-sample panels on one shared
    diverging colour scale centred on buy-and-hold's objective in each panel's sample (green better,
    red worse), every cell with its mean; with `noise` ({sample column: {"sharpe_column",
    "benchmark_sharpe", "years"}}) the cells inside the sampling noise hatched. Each cell's count and
    difference from buy-and-hold are in `heatmap_cells` (sweep.html's table), not in the picture: a
    cell's three lines of text were nearly a third of the picture's cost. Laid out in inches, never searched
    for: the margins follow from the labels' lengths (HEATMAP_INCHES)."""
    from matplotlib.collections import LineCollection, PatchCollection
    from matplotlib.colors import LinearSegmentedColormap, Normalize
    from matplotlib.patches import Patch, Rectangle

    reference, noise = reference or {}, noise or {}
    samples = drawn_samples(summary)
    cells = _Cells(summary, a, b)
    means_of = {column: cells.means(column) for column, _, _ in samples}
    grid = means_of[samples[0][0]]
    counts = cells.counts()
    rotate = sum(len(str(c)) for c in grid.columns) > 36
    size = _heatmap_size(
        grid, len(samples), rotate, f"{objective_label} minus {possessive(reference_name)} in that sample"
    )
    cmap = LinearSegmentedColormap.from_list("better_worse", DIVERGING).with_extremes(bad=MISSING_COLOUR)
    diffs = {column: means_of[column] - reference.get(column, 0.0) for column, _, _ in samples}
    spread = max([float(np.nanmax(np.abs(d.to_numpy()))) for d in diffs.values() if d.notna().any().any()] or [1.0])
    norm = Normalize(-(spread or 1.0), spread or 1.0)  # one scale for every panel, buy-and-hold at its centre
    insides = {
        column: (
            _inside_noise(
                cells.means(noise[column]["sharpe_column"]), noise[column]["benchmark_sharpe"], noise[column]["years"]
            ).to_numpy()
            if column in noise
            else np.zeros(grid.shape, dtype=bool)
        )
        for column, _, _ in samples
    }
    handles = []
    if any(inside.any() for inside in insides.values()):
        handles.append(
            Patch(
                facecolor="white",
                edgecolor="#888888",
                hatch="///",
                label=f"hatched: inside the sampling noise, the cell's mean Sharpe within {NOISE_Z} standard errors "
                f"(Lo 2002, i.i.d. returns over the sample's years) of {possessive(reference_name)}",
            )
        )
    if (counts.to_numpy() == 0).any():
        handles.append(
            Patch(
                facecolor=MISSING_COLOUR,
                edgecolor="#999999",
                label=f"none: no configuration ran in the cell ({empty_reason})",
            )
        )
    for handle in handles:
        handle.set_label(textwrap.fill(handle.get_label(), int(size.width * 12)))
    title = [
        textwrap.fill(line, int(size.width * 11))
        for line in (
            f"{objective_label} by {a} and {b}: mean over the other parameters",
            f"{counts_note(summary, [a, b], {a: cells.row_order, b: cells.col_order})}; each cell's n and difference "
            "in sweep.html's tables",
        )
    ]
    fig, panels, bar_axes = _heatmap_axes(size, "\n".join(title), sum(h.get_label().count("\n") + 1 for h in handles))
    image = None
    for ax, (column, label, _) in zip(panels, samples):
        means, diff, inside = means_of[column], diffs[column].to_numpy(), insides[column]
        image = ax.imshow(diff, cmap=cmap, norm=norm, origin="lower", aspect="auto", interpolation="nearest")
        if inside.any():  # the cells inside the noise: washed out and hatched, each one collection
            where = list(zip(*np.nonzero(inside)))
            ax.add_collection(
                PatchCollection(
                    [Rectangle((j - 0.5, i - 0.5), 1, 1) for i, j in where],
                    facecolor="white",
                    alpha=0.55,
                    lw=0,
                    gid="inside the noise",
                ),
                autolim=False,
            )
            cell = (size.panel[0] / grid.shape[1], size.panel[1] / grid.shape[0])
            ax.add_collection(LineCollection(hatch_lines(where, cell), color="#888888", lw=0.7), autolim=False)
        for (i, j), v in np.ndenumerate(means.to_numpy()):
            dark = not np.isnan(v) and not inside[i, j] and _dark(cmap(norm(diff[i, j])))
            ax.text(
                j,
                i,
                "none" if np.isnan(v) else f"{v:.3g}",
                ha="center",
                va="center",
                fontsize=9,
                color="#777777" if np.isnan(v) else "white" if dark else "black",
            )
        fixed_ticks(ax.xaxis, range(means.shape[1]), list(means.columns))
        fixed_ticks(ax.yaxis, range(means.shape[0]), list(means.index))
        ax.tick_params(length=0, axis="both")
        if rotate:  # on the first tick's label: every other tick copies it
            ax.tick_params(axis="x", labelrotation=30)
            ax.xaxis.majorTicks[0].label1.set_horizontalalignment("right")
        ax.set_xlabel(b)
        ax.set_ylabel(a)
        bench = reference.get(column)
        ax.set_title(
            f"{label}: {reference_name} {bench:.3g}" if bench is not None and np.isfinite(bench) else label,
            fontsize=11,
            y=1.0,  # placed, not looked for: nothing is drawn above the panel
        )
    bar = fig.colorbar(image, cax=bar_axes)
    bar.set_label(size.bar_label)
    if handles:
        fig.legend(handles=handles, loc="lower center", bbox_to_anchor=(0.5, 0.0), ncol=1, fontsize=9, frameon=False)
    return fig


HATCH_INCHES = 0.1  # between the lines hatching a cell inside the noise, as matplotlib's "///" at 100 dpi


def hatch_lines(cells, inches: tuple[float, float]) -> np.ndarray:
    """Lines rising at 45 degrees, HATCH_INCHES apart, across each (row, column) of `cells` of an image
    whose cells are `inches` wide and high: matplotlib's hatching ("///") as one collection of plain
    lines, a fifth of the hatch's cost. In data units (a cell is 1 by 1, centred on its indices)."""
    width, height = inches
    offsets = np.arange(-height + HATCH_INCHES / 2, width, HATCH_INCHES)  # each line: x - y = offset, in inches
    start = np.c_[np.maximum(offsets, 0.0), np.maximum(-offsets, 0.0)]
    end = np.c_[np.minimum(offsets + height, width), np.minimum(offsets + height, width) - offsets]
    unit = np.stack([start, end], axis=1) / (width, height)  # (lines, 2 ends, x y) inside a unit cell
    return np.concatenate([unit + (j - 0.5, i - 0.5) for i, j in cells]) if cells else np.empty((0, 2, 2))


# A heatmap's layout in inches, fixed from its labels instead of searched for (constrained layout was a
# fifth of a heatmap's cost): a cell's size, the width of a 10-point tick label's character (an upper
# bound for DejaVu Sans), the room of an axis name, of a panel's title, of a title's and a legend's line,
# and the colour bar's gap, width, room for its ticks and for each line of its name (10 points, about 12
# characters an inch along the bar).
HEATMAP_INCHES = dict(
    cell=(0.8, 0.42),
    char=0.09,
    name=0.35,
    title=0.4,
    title_line=0.22,
    legend_line=0.17,
    bar=(0.25, 0.2, 0.55, 0.18),
)


class _HeatmapSize(NamedTuple):
    width: float
    height: float
    left: float  # each panel's room for its tick labels and axis name, left of it
    below: float  # and below it
    panel: tuple[float, float]
    panels: int
    stacked: bool
    bar_label: str  # wrapped to the bar's height


def _heatmap_size(grid: pd.DataFrame, panels: int, rotate: bool, bar_label: str) -> _HeatmapSize:
    """The figure's size and its panels' room for a grid of `grid`'s shape and labels, `panels` of them
    side by side while they fit MAX_WIDTH, else one above the other, and a colour bar named `bar_label`."""
    inch = HEATMAP_INCHES
    panel = (max(3.0, inch["cell"][0] * grid.shape[1]), max(1.7, inch["cell"][1] * grid.shape[0]))
    gap, bar_width, ticks, line = inch["bar"]
    left = inch["name"] + inch["char"] * max(len(str(r)) for r in grid.index) + 0.15
    longest = max(len(str(c)) for c in grid.columns)
    below = inch["name"] + 0.15 + (inch["char"] * longest * 0.5 + 0.1 if rotate else 0.2)
    stacked = panels * (left + panel[0]) + gap + bar_width + ticks + 3 * line > MAX_WIDTH
    bar_height = panels * panel[1] + (panels - 1) * (inch["title"] + below) if stacked else panel[1]
    bar_label = textwrap.fill(bar_label, int(12 * bar_height))  # the bar spans the panels
    right = gap + bar_width + ticks + line * (bar_label.count("\n") + 1)
    width = left + panel[0] + right if stacked else panels * (left + panel[0]) + right
    height = (panels if stacked else 1) * (inch["title"] + panel[1] + below)
    return _HeatmapSize(width, height, left, below, panel, panels, stacked, bar_label)


def _heatmap_axes(size: _HeatmapSize, title: str, legend_lines: int):
    """The figure, its panels and its colour bar's axes, placed in inches: the title's lines above, the
    legend's below."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    inch = HEATMAP_INCHES
    top = 0.15 + inch["title_line"] * (title.count("\n") + 1)
    bottom = 0.1 + inch["legend_line"] * legend_lines + (0.1 if legend_lines else 0.0)
    width, height = size.width, size.height + top + bottom
    fig = Figure(figsize=(width, height), dpi=DPI)
    FigureCanvasAgg(fig)
    w, h = size.panel
    step = inch["title"] + h + size.below
    rects = [
        (size.left, height - top - inch["title"] - h - k * step)
        if size.stacked
        else (size.left + k * (size.left + w), height - top - inch["title"] - h)
        for k in range(size.panels)
    ]
    panels = [fig.add_axes((x / width, y / height, w / width, h / height)) for x, y in rects]
    gap, bar_width, _, _ = inch["bar"]
    low, high = min(y for _, y in rects), max(y for _, y in rects) + h
    bar = fig.add_axes(((rects[-1][0] + w + gap) / width, low / height, bar_width / width, (high - low) / height))
    fig.suptitle(title, fontsize=12, y=1 - 0.1 / height, va="top")
    return fig, panels, bar


def _dark(rgba) -> bool:
    r, g, b, _ = rgba
    return 0.299 * r + 0.587 * g + 0.114 * b < 0.5
