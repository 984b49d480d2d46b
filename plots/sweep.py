"""A sweep's pictures, drawn from its summary frame (one row per configuration) and stored returns.

Heatmaps show the objective over each pair of swept parameters, averaged over the others, in
sample and out of sample, on one diverging colour scale centred on buy-and-hold's value (so a
spread of 0.185-0.207 stays a pale spread, not the whole range), with the number of
configurations per cell, the cells whose Sharpe is inside the sampling noise hatched and empty
cells said why; the sensitivity plot shows
the objective against each parameter alone beside buy-and-hold's; `top_equity_figure` draws the
best configurations' equity against buy-and-hold's; `overfitting_figure` the CSCV and the
Deflated Sharpe Ratio. Only configurations with status "ok" are drawn. A numeric parameter with
more than MAX_LEVELS values (random sampling) is cut into quantile bins, so every picture shows
a few levels per parameter whatever the sampling. Like `analyzers/plots.py`, they draw on
matplotlib's Agg canvas (no pyplot, no display) and save PNGs without a timestamp; they are
drawn once per sweep, so they let matplotlib's constrained layout place their parts.
"""

from __future__ import annotations

import itertools
import math
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd

from fedcut.analyzers.performance import sharpe_standard_error
from fedcut.data.benchmark import possessive
from fedcut.plots.kit import DPI, day_numbers, few_ticks, fixed_ticks, save_png, year_axis
from fedcut.plots.run import IWM, STRATEGY

MAX_LEVELS = 8  # a numeric parameter with more distinct values than this is binned
ROWS_PER_BIN = 6  # binned parameters get about this many configurations per bin (2 to MAX_LEVELS bins)
MAX_PAIRS = 6  # heatmaps drawn per sweep, for the first pairs in the order of the parameters
SAMPLES = (("objective_is", "in-sample", STRATEGY["color"]), ("objective_oos", "out-of-sample", IWM["color"]))
MISSING_COLOUR = "#f0f0f0"  # heatmap cells where no configuration ran
REFERENCE = IWM["label"]  # the yardstick drawn on every picture; a sweep passes its own name (reference_name)
TOP_CURVES = 5  # equity curves of the best in-sample configurations
MAX_WIDTH = 12.4  # inches: 1240 px, the pages' column, so figure text shows at its size
# At most about this many ticks along a sensitivity panel's numbers and up its shared objective axis:
# as many as matplotlib fits in a 3.6-inch panel, chosen whatever the panel's size (`kit.few_ticks`).
SENSITIVITY_TICKS = (8, 8)


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
        names = {
            k: _number(lo[k], digits) if lo[k] == hi[k] else f"{_number(lo[k], digits)}–{_number(hi[k], digits)}"
            for k in lo.index
        }
        return bins.map(names), [names[k] for k in sorted(names)]
    labels = values.map(str).where(values.notna())
    return labels, sorted(labels.dropna().unique())


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
        self.a, self.b, self.ok = a, b, _ok(summary)
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
    reference_name: str = REFERENCE,
) -> list[Path]:
    """Write heatmap_<a>__<b>.png for the first MAX_PAIRS pairs of swept parameters; return the paths.

    None when fewer than two parameters are swept or no configuration ran. `reference` is
    buy-and-hold's objective per sample column; `empty_reason(a, b)` says why a cell of that
    pair can hold no configuration.
    """
    out = []
    pairs = itertools.combinations(params, 2) if len(_ok(summary)) else ()
    for a, b in itertools.islice(pairs, MAX_PAIRS):
        path = Path(out_dir) / f"heatmap_{a.replace('.', '_')}__{b.replace('.', '_')}.png"
        reason = empty_reason(a, b) if empty_reason else "none ran"
        out.append(
            save_png(heatmap_figure(summary, a, b, objective_label, reference, reason, noise, reference_name), path)
        )
    return out


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
    red worse), every cell with its value, its difference and its count; with `noise` ({sample column:
    {"sharpe_column", "benchmark_sharpe", "years"}}) the cells inside the sampling noise hatched."""
    from matplotlib.collections import PatchCollection
    from matplotlib.colors import LinearSegmentedColormap, Normalize
    from matplotlib.patches import Patch, Rectangle

    reference, noise = reference or {}, noise or {}
    samples = _samples(summary)
    cells = _Cells(summary, a, b)
    means_of = {column: cells.means(column) for column, _, _ in samples}
    grid = means_of[samples[0][0]]
    counts = cells.counts()
    panel = (max(5.2, 0.8 * grid.shape[1] + 2.6), max(3.8, 0.6 * grid.shape[0] + 2.2))
    stacked = len(samples) * panel[0] + 1.0 > MAX_WIDTH  # side by side only while they fit the page's column
    width = panel[0] + 1.0 if stacked else len(samples) * panel[0] + 1.0
    height = (len(samples) if stacked else 1) * panel[1] + 1.8
    fig, axes = _figure((width, height), rows=len(samples) if stacked else 1, cols=1 if stacked else len(samples))
    cmap = LinearSegmentedColormap.from_list("better_worse", DIVERGING).with_extremes(bad=MISSING_COLOUR)
    diffs = {column: means_of[column] - reference.get(column, 0.0) for column, _, _ in samples}
    spread = max([float(np.nanmax(np.abs(d.to_numpy()))) for d in diffs.values() if d.notna().any().any()] or [1.0])
    norm = Normalize(-(spread or 1.0), spread or 1.0)  # one scale for every panel, buy-and-hold at its centre
    long_labels = sum(len(str(c)) for c in grid.columns) > 36
    hatched = False
    image = None
    for ax, (column, label, _) in zip(axes.flat, samples):
        means, diff = means_of[column], diffs[column].to_numpy()
        inside = (
            _inside_noise(
                cells.means(noise[column]["sharpe_column"]),
                noise[column]["benchmark_sharpe"],
                noise[column]["years"],
            ).to_numpy()
            if column in noise
            else np.zeros(diff.shape, dtype=bool)
        )
        image = ax.imshow(diff, cmap=cmap, norm=norm, origin="lower", aspect="auto")
        if inside.any():  # the cells inside the noise, hatched: one collection, drawn at once
            hatched = True
            ax.add_collection(
                PatchCollection(
                    [Rectangle((j - 0.5, i - 0.5), 1, 1) for i, j in zip(*np.nonzero(inside))],
                    facecolor="white",
                    alpha=0.55,
                    hatch="///",
                    edgecolor="#888888",
                    lw=0,
                    in_layout=False,
                ),
                autolim=False,
            )
        for (i, j), v in np.ndenumerate(means.to_numpy()):
            if np.isnan(v):
                ax.text(j, i, "none", ha="center", va="center", fontsize=9, color="#777777", in_layout=False)
                continue
            sign = f"\n{diff[i, j]:+.2g}" if column in reference else ""
            ax.text(
                j,
                i,
                f"{v:.3g}{sign}\nn={int(counts.iloc[i, j])}",
                ha="center",
                va="center",
                fontsize=9,
                color="white" if not inside[i, j] and _dark(cmap(norm(diff[i, j]))) else "black",
                in_layout=False,  # inside its cell: the layout need not measure it
            )
        fixed_ticks(ax.xaxis, range(means.shape[1]), list(means.columns))
        fixed_ticks(ax.yaxis, range(means.shape[0]), list(means.index))
        ax.tick_params(length=0, axis="both")
        if long_labels:  # on the first tick's label: every other tick copies it
            ax.tick_params(axis="x", labelrotation=30)
            ax.xaxis.majorTicks[0].label1.set_horizontalalignment("right")
        ax.set_xlabel(b)
        ax.set_ylabel(a)
        bench = reference.get(column)
        ax.set_title(
            f"{label}: {reference_name} {bench:.3g}" if bench is not None and np.isfinite(bench) else label, fontsize=11
        )
    bar = fig.colorbar(image, ax=list(axes.flat), shrink=0.92, pad=0.03)
    bar.set_label(f"{objective_label} minus {possessive(reference_name)} in that sample")
    handles = []
    if hatched:
        handles.append(
            Patch(
                facecolor="white",
                edgecolor="#888888",
                hatch="///",
                label=textwrap.fill(
                    f"hatched: inside the sampling noise, the cell's mean Sharpe within {NOISE_Z} standard errors (Lo 2002, "
                    f"i.i.d. returns over the sample's years) of {possessive(reference_name)}",
                    int(width * 12),
                ),
            )
        )
    if (counts.to_numpy() == 0).any():
        handles.append(
            Patch(
                facecolor=MISSING_COLOUR,
                edgecolor="#999999",
                label=textwrap.fill(f"none: no configuration ran in the cell ({empty_reason})", int(width * 12)),
            )
        )
    if handles:
        fig.legend(handles=handles, loc="outside lower center", ncol=1, fontsize=9, frameon=False)
    _suptitle(
        fig,
        width,
        f"{objective_label} by {a} and {b}: mean over the other parameters",
        f"{_counts(summary, [a, b], {a: cells.row_order, b: cells.col_order})}; each cell: the mean, its difference from {reference_name} and n, the "
        "configurations in it; one colour scale for every panel, white at buy-and-hold",
    )
    return fig


def sensitivity(
    summary: pd.DataFrame,
    params: list[str],
    out_path,
    objective_label: str,
    reference: dict[str, float] | None = None,
    reference_name: str = REFERENCE,
) -> Path:
    """Write one PNG with the objective against each swept parameter in its own panel; return its path."""
    return save_png(sensitivity_figure(summary, params, objective_label, reference, reference_name), out_path)


def sensitivity_figure(
    summary: pd.DataFrame,
    params: list[str],
    objective_label: str,
    reference: dict[str, float] | None = None,
    reference_name: str = REFERENCE,
):
    """One panel per parameter: every ok configuration as a faint dot, the mean per level as a line,
    buy-and-hold's objective in each sample as a dashed line."""
    from matplotlib.lines import Line2D

    reference = reference or {}
    ok = _ok(summary)
    samples = _samples(summary)
    cols = min(3, len(params)) if len(params) != 4 else 2
    rows = math.ceil(len(params) / cols)
    width = min(max(4.6 * cols + 0.6, 8.0), MAX_WIDTH)
    fig, axes = _figure((width, 3.6 * rows + 1.4), rows=rows, cols=cols, sharey=True)
    orders: dict[str, list[str]] = {}
    few_ticks(axes[0, 0].yaxis, SENSITIVITY_TICKS[1])  # the panels share it
    for k, ax in enumerate(axes.flat):
        if k >= len(params):
            ax.set_visible(False)
            continue
        key = params[k]
        labels, order = levels(ok[key])
        orders[key] = order
        categorical = not pd.api.types.is_numeric_dtype(ok[key]) or pd.api.types.is_bool_dtype(ok[key])
        x = labels.map({name: i for i, name in enumerate(order)}) if categorical else ok[key].astype(float)
        level_x = x.groupby(labels).mean().reindex(order)
        nudge = _nudge(level_x.to_numpy(), binned=len(order) < x.nunique())
        for s, (column, _, colour) in enumerate(samples):
            y = ok[column].astype(float)
            shift = nudge * (s - (len(samples) - 1) / 2)
            # numpy arrays, not pandas: matplotlib looks a pandas argument over for other array types
            ax.scatter((x + shift).to_numpy(), y.to_numpy(), s=16, color=colour, alpha=0.28, lw=0, zorder=2)
            ax.plot(
                (level_x + shift).to_numpy(),
                y.groupby(labels).mean().reindex(order).to_numpy(),
                color=colour,
                lw=1.8,
                marker="o",
                ms=5,
                zorder=3,
            )
            if reference.get(column) is not None and np.isfinite(reference[column]):
                # axhline's line, without axhline's look at the shared limits (every panel's data) each time
                ax.add_line(
                    Line2D(
                        [0, 1],
                        [reference[column]] * 2,
                        transform=ax.get_yaxis_transform(which="grid"),
                        color=colour,
                        lw=1.2,
                        ls="--",
                        zorder=1,
                    )
                )
        if categorical or len(order) == x.nunique():
            fixed_ticks(ax.xaxis, level_x.to_numpy(), order)
        else:
            few_ticks(ax.xaxis, SENSITIVITY_TICKS[0])
        if categorical:
            ax.set_xlim(-0.5, len(order) - 0.5)
        else:
            ax.margins(x=0.06)
        ax.set_xlabel(key)
        ax.grid(alpha=0.3)
        if k % cols == 0:
            ax.set_ylabel(objective_label)
    handles = [
        Line2D([], [], color=colour, lw=1.8, marker="o", ms=5, label=f"{label}: mean per value or bin")
        for _, label, colour in samples
    ]
    handles += [
        Line2D([], [], color=colour, lw=1.2, ls="--", label=f"{reference_name}, {label}")
        for column, label, colour in samples
        if reference.get(column) is not None
    ]
    handles += [Line2D([], [], color="#777777", lw=0, marker="o", ms=4, alpha=0.5, label="one configuration")]
    fig.legend(handles=handles, loc="outside lower center", ncol=min(len(handles), 3), fontsize=9.5, frameon=False)
    _suptitle(
        fig,
        width,
        f"{objective_label} against each swept parameter (line: mean over the other parameters; dashed: {reference_name})",
        _counts(summary, params, orders),
    )
    return fig


def growth(returns: np.ndarray) -> np.ndarray:
    """Value of 100 invested, day by day, from daily returns (the first day's value is 100)."""
    return 100.0 * np.r_[1.0, np.cumprod(1.0 + np.asarray(returns, dtype=float))]


def top_equity_figure(
    days: pd.DatetimeIndex,
    curves: list[tuple[str, np.ndarray]],
    benchmark: np.ndarray,
    split: pd.Timestamp | None,
    objective_label: str,
    reference_name: str = REFERENCE,
):
    """The best in-sample configurations' growth of 100 (log scale, darkest = best) against the
    buy-and-hold benchmark's (`reference_name`), the in-sample / out-of-sample split marked."""
    from matplotlib import colormaps
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    fig, axes = _figure((MAX_WIDTH, 5.6))
    ax = axes[0, 0]
    x = day_numbers(days)
    shades = colormaps["Blues"](np.linspace(0.95, 0.45, max(len(curves), 1)))
    for (label, values), shade in zip(curves, shades):
        ax.plot(x, values, color=shade, lw=1.3, label=label, zorder=3)
    ax.plot(x, benchmark, color=IWM["color"], lw=1.6, label=reference_name, zorder=4)
    ax.set_yscale("log")
    ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 1.5, 2.0, 3.0, 5.0, 7.0), numticks=20))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.yaxis.set_minor_formatter(NullFormatter())
    year_axis(ax, days[0], days[-1])
    if split is not None and days[0] < split < days[-1]:
        ax.axvline(day_numbers([split])[0], color="black", lw=1.0, ls="--", zorder=5)
        ax.annotate(
            "in-sample ← | → out-of-sample",
            (day_numbers([split])[0], 0.97),
            xycoords=("data", "axes fraction"),
            ha="center",
            va="top",
            fontsize=9.5,
            bbox=dict(boxstyle="round,pad=0.2", fc="white", ec="none"),
        )
    ax.set_ylabel("growth of 100 (log scale)")
    ax.grid(alpha=0.3, which="major")
    ax.legend(loc="upper left", fontsize=9, frameon=False)
    ax.set_title(
        f"The {len(curves)} best configurations by in-sample {objective_label} against {reference_name}", fontsize=11.5
    )
    return fig


def _figure(size, rows: int = 1, cols: int = 1, sharey: bool = False):
    """A sweep picture: constrained layout (drawn once per sweep), axes always a 2-d array."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=size, dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig, fig.subplots(rows, cols, squeeze=False, sharey=sharey)


def _ok(summary: pd.DataFrame) -> pd.DataFrame:
    return summary[summary["status"] == "ok"]


def _samples(summary: pd.DataFrame) -> tuple:
    """In-sample always; out-of-sample only when some ok configuration has an out-of-sample objective."""
    has_oos = "objective_oos" in summary and _ok(summary)["objective_oos"].notna().any()
    return SAMPLES if has_oos else SAMPLES[:1]


def _suptitle(fig, width: float, *lines: str) -> None:
    """Title lines wrapped to the figure's width (about 11 characters per inch at 12 points)."""
    fig.suptitle("\n".join(textwrap.fill(line, int(width * 11)) for line in lines), fontsize=12)


def _counts(summary: pd.DataFrame, params: list[str], orders: dict[str, list[str]]) -> str:
    """How many configurations are drawn, how many failed, and which parameters are binned (`orders`:
    each parameter's levels, as `levels` gives them)."""
    ok = _ok(summary)
    failed = len(summary) - len(ok)
    binned = [f"{key} in {len(orders[key])} quantile bins" for key in params if len(orders[key]) < ok[key].nunique()]
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


def _dark(rgba) -> bool:
    r, g, b, _ = rgba
    return 0.299 * r + 0.587 * g + 0.114 * b < 0.5


def _nudge(xs: np.ndarray, binned: bool) -> float:
    """Horizontal offset between in- and out-of-sample at one level: a tenth of the gap between levels."""
    if binned or len(xs) < 2:
        return 0.0
    return 0.1 * float(np.min(np.diff(np.sort(xs))))


def overfitting_figure(
    pbo, out_path, deflated: dict | None = None, against_benchmark: dict | None = None, reference_name: str = REFERENCE
) -> Path:
    """The CSCV picture: the logits of the in-sample best's out-of-sample rank, and its Sharpe in
    against out of sample, one dot per split (`analyzers.overfitting.BacktestOverfitting`); with
    `deflated` (`overfitting_report`'s deflated_sharpe, against zero) and `against_benchmark` (its
    deflated_sharpe_vs_buy_and_hold), the Deflated Sharpe Ratios in the title."""
    fig, axes = _figure((MAX_WIDTH, 5.0), cols=2)
    left, right = axes[0]
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
    if deflated:
        bench = (
            ""
            if against_benchmark is None
            else (
                f", {against_benchmark['dsr']:.2f} against {reference_name} (a bar of "
                f"{against_benchmark['expected_max_sharpe']:.2f}: its Sharpe {against_benchmark['benchmark_sharpe']:.2f} "
                "plus the same luck)"
            )
        )
        _suptitle(
            fig,
            MAX_WIDTH,
            f"Deflated Sharpe Ratio of the in-sample choice: {deflated['dsr']:.2f} against zero "
            f"(its Sharpe {deflated['sharpe']:.2f} against {deflated['expected_max_sharpe']:.2f}, what "
            f"the best of {deflated['n_trials']} unskilled trials would reach by luck){bench}; above "
            f"0.95 is significant. Probability of backtest overfitting: {pbo.pbo:.2f} (0.5 = no "
            "better than chance).",
        )
    return save_png(fig, out_path)
