"""A sweep's pictures, drawn from its summary frame (one row per configuration).

Heatmaps show the objective over each pair of swept parameters, averaged over the others, in
sample and out of sample on one colour scale; the sensitivity plot shows the objective against
each parameter alone. Only configurations with status "ok" are drawn. A numeric parameter with
more than MAX_LEVELS values (random sampling) is cut into quantile bins, so every picture shows
a few levels per parameter whatever the sampling. Like `analyzers/plots.py`, they draw on
matplotlib's Agg canvas (no pyplot, no display) and save PNGs without a timestamp.
"""
from __future__ import annotations

import itertools
import math
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd

from fedcut.analyzers.plots import IWM, STRATEGY, _figure, _save

MAX_LEVELS = 8  # a numeric parameter with more distinct values than this is binned
ROWS_PER_BIN = 6  # binned parameters get about this many configurations per bin (2 to MAX_LEVELS bins)
MAX_PAIRS = 6  # heatmaps drawn per sweep, for the first pairs in the order of the parameters
SAMPLES = (("objective_is", "in-sample", STRATEGY["color"]), ("objective_oos", "out-of-sample", IWM["color"]))
CMAP = "viridis"
MISSING_COLOUR = "#f0f0f0"  # heatmap cells where no configuration ran


def levels(values: pd.Series) -> tuple[pd.Series, list[str]]:
    """Each row's level label and the labels in display order.

    Numbers with at most MAX_LEVELS distinct values are their own levels, ascending; more are cut
    into quantile bins labelled by the range of values inside ("0.85–0.90"); strings and bools are
    categories, sorted. Missing values stay missing.
    """
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        numbers = values.astype(float)
        distinct = np.unique(numbers.dropna())
        if len(distinct) <= MAX_LEVELS:
            names = {x: _number(x, _exact_decimals(distinct)) for x in distinct}
            return numbers.map(names), list(names.values())
        bins = pd.qcut(numbers, _bin_count(len(numbers.dropna())), labels=False, duplicates="drop")
        by_bin = numbers.groupby(bins)
        lo, hi = by_bin.min(), by_bin.max()
        digits = max(_decimals(lo.to_numpy()), _decimals(hi.to_numpy()), _resolution(numbers.dropna()))
        names = {k: _number(lo[k], digits) if lo[k] == hi[k] else f"{_number(lo[k], digits)}–{_number(hi[k], digits)}"
                 for k in lo.index}
        return bins.map(names), [names[k] for k in sorted(names)]
    labels = values.map(str).where(values.notna())
    return labels, sorted(labels.dropna().unique())


def cell_means(summary: pd.DataFrame, a: str, b: str, column: str) -> pd.DataFrame:
    """Mean of `column` over the ok configurations per level of `a` (rows) and `b` (columns); NaN where none ran."""
    ok = _ok(summary)
    rows, row_order = levels(ok[a])
    cols, col_order = levels(ok[b])
    means = ok[column].astype(float).groupby([rows, cols]).mean().unstack()
    means = means.reindex(index=row_order, columns=col_order)
    means.index.name, means.columns.name = a, b
    return means


def heatmaps(summary: pd.DataFrame, params: list[str], out_dir, objective_label: str) -> list[Path]:
    """Write heatmap_<a>__<b>.png for the first MAX_PAIRS pairs of swept parameters; return the paths.

    None when fewer than two parameters are swept or no configuration ran.
    """
    paths = []
    pairs = itertools.combinations(params, 2) if len(_ok(summary)) else ()
    for a, b in itertools.islice(pairs, MAX_PAIRS):
        name = f"heatmap_{a.replace('.', '_')}__{b.replace('.', '_')}.png"
        paths.append(_save(heatmap_figure(summary, a, b, objective_label), Path(out_dir) / name))
    return paths


def heatmap_figure(summary: pd.DataFrame, a: str, b: str, objective_label: str):
    """The objective's mean per level of `a` and `b`: in-sample and out-of-sample panels on one colour scale."""
    from matplotlib import colormaps
    from matplotlib.colors import Normalize

    panels = [(label, cell_means(summary, a, b, column)) for column, label, _ in _samples(summary)]
    grid = panels[0][1]
    width = max(5.2, 0.75 * grid.shape[1] + 2.2) * len(panels) + 1.6
    fig, axes = _figure((width, max(4.4, 0.5 * grid.shape[0] + 3.2)), cols=len(panels), squeeze=False,
                        layout="constrained", sharey=True)
    values = np.concatenate([m.to_numpy().ravel() for _, m in panels])
    norm = Normalize(*_colour_range(values[~np.isnan(values)]))
    cmap = colormaps[CMAP].with_extremes(bad=MISSING_COLOUR)
    long_labels = sum(len(str(c)) for c in grid.columns) > 36
    for ax, (label, means) in zip(axes[0], panels):
        image = ax.imshow(means.to_numpy(), cmap=cmap, norm=norm, origin="lower", aspect="auto")
        for (i, j), v in np.ndenumerate(means.to_numpy()):
            if not np.isnan(v):
                ax.text(j, i, f"{v:.3g}", ha="center", va="center", fontsize=10,
                        color="white" if _dark(cmap(norm(v))) else "black")
        ax.set_xticks(range(means.shape[1]), list(means.columns), rotation=30 if long_labels else 0,
                      ha="right" if long_labels else "center")
        ax.set_yticks(range(means.shape[0]), list(means.index))
        ax.tick_params(length=0)
        ax.set_xlabel(b)
        ax.set_title(label, fontsize=11)
    axes[0, 0].set_ylabel(a)
    bar = fig.colorbar(image, ax=list(axes[0]), shrink=0.9, pad=0.02)
    bar.set_label(f"{objective_label} (mean per cell)")
    _suptitle(fig, width, f"{objective_label} by {a} and {b}: mean over the other parameters",
              _counts(summary, [a, b]))
    return fig


def sensitivity(summary: pd.DataFrame, params: list[str], out_path, objective_label: str) -> Path:
    """Write one PNG with the objective against each swept parameter in its own panel; return its path."""
    return _save(sensitivity_figure(summary, params, objective_label), out_path)


def sensitivity_figure(summary: pd.DataFrame, params: list[str], objective_label: str):
    """One panel per parameter: every ok configuration as a faint dot, the mean per level as a line."""
    from matplotlib.lines import Line2D

    ok = _ok(summary)
    samples = _samples(summary)
    cols = min(3, len(params)) if len(params) != 4 else 2
    rows = math.ceil(len(params) / cols)
    width = max(4.6 * cols + 0.6, 8.0)
    fig, axes = _figure((width, 3.6 * rows + 1.3), rows=rows, cols=cols, squeeze=False, layout="constrained",
                        sharey=True)
    for k, ax in enumerate(axes.flat):
        if k >= len(params):
            ax.set_visible(False)
            continue
        key = params[k]
        labels, order = levels(ok[key])
        categorical = not pd.api.types.is_numeric_dtype(ok[key]) or pd.api.types.is_bool_dtype(ok[key])
        x = labels.map({name: i for i, name in enumerate(order)}) if categorical else ok[key].astype(float)
        level_x = x.groupby(labels).mean().reindex(order)
        nudge = _nudge(level_x.to_numpy(), binned=len(order) < x.nunique())
        for s, (column, _, colour) in enumerate(samples):
            y = ok[column].astype(float)
            shift = nudge * (s - (len(samples) - 1) / 2)
            ax.scatter(x + shift, y, s=16, color=colour, alpha=0.28, lw=0, zorder=2)
            ax.plot(level_x + shift, y.groupby(labels).mean().reindex(order), color=colour, lw=1.8, marker="o",
                    ms=5, zorder=3)
        if categorical or len(order) == x.nunique():
            ax.set_xticks(level_x.to_numpy(), order)
        if categorical:
            ax.set_xlim(-0.5, len(order) - 0.5)
        else:
            ax.margins(x=0.06)
        ax.set_xlabel(key)
        ax.grid(alpha=0.3)
        if k % cols == 0:
            ax.set_ylabel(objective_label)
    handles = [Line2D([], [], color=colour, lw=1.8, marker="o", ms=5, label=f"{label}: mean per value or bin")
               for _, label, colour in samples]
    handles += [Line2D([], [], color="#777777", lw=0, marker="o", ms=4, alpha=0.5, label="one configuration")]
    fig.legend(handles=handles, loc="outside lower center", ncol=len(handles), fontsize=9.5, frameon=False)
    _suptitle(fig, width, f"{objective_label} against each swept parameter (line: mean over the other parameters)",
              _counts(summary, params))
    return fig


def _ok(summary: pd.DataFrame) -> pd.DataFrame:
    return summary[summary["status"] == "ok"]


def _samples(summary: pd.DataFrame) -> tuple:
    """In-sample always; out-of-sample only when some ok configuration has an out-of-sample objective."""
    has_oos = "objective_oos" in summary and _ok(summary)["objective_oos"].notna().any()
    return SAMPLES if has_oos else SAMPLES[:1]


def _suptitle(fig, width: float, *lines: str) -> None:
    """Title lines wrapped to the figure's width (about 11 characters per inch at 12 points)."""
    fig.suptitle("\n".join(textwrap.fill(line, int(width * 11)) for line in lines), fontsize=12)


def _counts(summary: pd.DataFrame, params: list[str]) -> str:
    """How many configurations are drawn, how many failed, and which parameters are binned."""
    ok = _ok(summary)
    failed = len(summary) - len(ok)
    binned = [f"{key} in {len(order)} quantile bins" for key in params
              for order in [levels(ok[key])[1]] if len(order) < ok[key].nunique()]
    return "; ".join([f"{len(ok)} configurations", *([f"{failed} failed, left out"] if failed else []), *binned])


def _bin_count(n: int) -> int:
    return max(2, min(MAX_LEVELS, n // ROWS_PER_BIN))


def _decimals(values) -> int:
    """The fewest decimals (0-12) that keep distinct values distinct (bin starts apart, bin ends apart)."""
    distinct = len(np.unique(values))
    return next((d for d in range(13) if len({_number(v, d) for v in values}) == distinct), 12)


def _exact_decimals(values: np.ndarray) -> int:
    """The fewest decimals (up to 6) that write every value exactly: 0.75 is never shown as 0.8."""
    return next((d for d in range(7) if np.allclose(np.round(values, d), values, rtol=0, atol=1e-9)), 6)


def _resolution(values: pd.Series) -> int:
    """Decimals that resolve a hundredth of the values' spread; none for whole numbers."""
    if (values == values.round()).all():
        return 0
    return max(0, math.ceil(-math.log10(values.max() - values.min())) + 2)


def _number(x: float, decimals: int) -> str:
    return f"{x:.{decimals}f}"


def _colour_range(values: np.ndarray) -> tuple[float, float]:
    if values.size == 0:
        return 0.0, 1.0
    lo, hi = float(values.min()), float(values.max())
    return (lo - 0.5, hi + 0.5) if lo == hi else (lo, hi)


def _dark(rgba) -> bool:
    r, g, b, _ = rgba
    return 0.299 * r + 0.587 * g + 0.114 * b < 0.5


def _nudge(xs: np.ndarray, binned: bool) -> float:
    """Horizontal offset between in- and out-of-sample at one level: a tenth of the gap between levels."""
    if binned or len(xs) < 2:
        return 0.0
    return 0.1 * float(np.min(np.diff(np.sort(xs))))


def overfitting_figure(pbo, out_path) -> Path:
    """The CSCV picture: the logits of the in-sample best's out-of-sample rank, and its Sharpe in
    against out of sample, one dot per split (`analyzers.overfitting.BacktestOverfitting`)."""
    fig, (left, right) = _figure((12.5, 4.6), cols=2)
    left.hist(pbo.logits, bins=40, color="#1f3b73", alpha=0.8)
    left.axvline(0.0, color="#b00000", lw=1.2, ls="--")
    left.set_xlabel("logit of the out-of-sample rank (<= 0: below the median)")
    left.set_ylabel("splits")
    left.set_title(f"PBO = {pbo.pbo:.2f} ({len(pbo.logits):,} splits, {pbo.n_blocks} blocks)", fontsize=11)
    right.scatter(pbo.is_sharpe, pbo.oos_sharpe, s=4, alpha=0.25, color="#1f3b73", lw=0)
    lo = float(min(pbo.is_sharpe.min(), pbo.oos_sharpe.min(), 0.0))
    hi = float(max(pbo.is_sharpe.max(), pbo.oos_sharpe.max(), 0.0))
    right.plot([lo, hi], [lo, hi], color="grey", lw=0.8, ls=":", label="no degradation")
    right.axhline(0.0, color="#b00000", lw=0.8)
    right.set_xlabel("Sharpe of the in-sample best, in sample")
    right.set_ylabel("its Sharpe out of sample")
    right.set_title("Performance degradation", fontsize=11)
    right.legend(fontsize=9, loc="upper left")
    for ax in (left, right):
        ax.grid(alpha=0.3)
    return _save(fig, out_path)
