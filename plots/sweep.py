"""A sweep's pictures, drawn from its summary frame (one row per configuration) and stored returns.

The heatmaps (`plots.heatmap`) show the objective over the most telling pairs of swept parameters,
averaged over the others, in sample and out of sample, on one diverging colour scale centred on
buy-and-hold's value (so a spread of 0.185-0.207 stays a pale spread, not the whole range), each
cell's mean printed, the cells whose Sharpe is inside the sampling noise hatched and empty cells
said why; the sensitivity plot shows
the objective against each parameter alone beside buy-and-hold's; `top_equity_figure` draws the
best configurations' equity against buy-and-hold's; `overfitting_figure` the CSCV and the
Deflated Sharpe Ratio. Only configurations with status "ok" are drawn. A numeric parameter with
more than MAX_LEVELS values (random sampling) is cut into quantile bins, so every picture shows
a few levels per parameter whatever the sampling. Like `analyzers/plots.py`, they draw on
matplotlib's Agg canvas (no pyplot, no display) and save PNGs without a timestamp; they are
laid out in inches fixed in advance (as the run's pictures: `kit.new_figure`), never searched for.
"""

from __future__ import annotations

import math
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd

from fedcut.plots.kit import day_numbers, few_ticks, fixed_ticks, new_figure, save_png, year_axis
from fedcut.plots.run import IWM, STRATEGY

MAX_LEVELS = 8  # a numeric parameter with more distinct values than this is binned
ROWS_PER_BIN = 6  # binned parameters get about this many configurations per bin (2 to MAX_LEVELS bins)
SAMPLES = (("objective_is", "in-sample", STRATEGY["color"]), ("objective_oos", "out-of-sample", IWM["color"]))
REFERENCE = IWM["label"]  # the yardstick drawn on every picture; a sweep passes its own name (reference_name)
TOP_CURVES = 5  # equity curves of the best in-sample configurations
# Configurations drawn as dots in a sensitivity panel, at most (evenly spaced by rank when there are more):
# beyond it the dots are one blot that takes seconds to draw; the means per value use every configuration.
DOTS_MAX = 20_000
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


def sensitivity(
    summary: pd.DataFrame,
    params: list[str],
    out_path,
    objective_label: str,
    reference: dict[str, float] | None = None,
    reference_name: str = REFERENCE,
) -> Path:
    """Write one PNG with the objective against each swept parameter in its own panel; return its path."""
    return save_png(sensitivity_figure(summary, params, objective_label, reference, reference_name), out_path, up=False)


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
    ok = ok_rows(summary)
    samples = drawn_samples(summary)
    cols = min(3, len(params)) if len(params) != 4 else 2
    rows = math.ceil(len(params) / cols)
    width = min(max(4.6 * cols + 0.6, 8.0), MAX_WIDTH)
    orders = {key: levels(ok[key]) for key in params}
    title = _wrapped(
        width,
        f"{objective_label} against each swept parameter (line: mean over the other parameters; dashed: {reference_name})",
        counts_note(summary, params, {key: order for key, (_, order) in orders.items()}),
    )
    dots = np.linspace(0, len(ok) - 1, DOTS_MAX).round().astype(int) if len(ok) > DOTS_MAX else slice(None)
    handles = _sensitivity_handles(samples, reference, reference_name, len(ok))
    inch = SENSITIVITY_INCHES
    top = 0.15 + inch["title_line"] * (title.count("\n") + 1)
    bottom = inch["below"] + inch["legend_line"] * math.ceil(len(handles) / 3) + 0.1
    fig, axes = new_figure(
        top + rows * inch["panel"] + (rows - 1) * inch["below"] + bottom,
        rows,
        cols,
        width=width,
        left=inch["left"],
        right=0.2,
        top=top,
        bottom=bottom,
        hgap=inch["below"],
        wgap=0.2,
        squeeze=False,
        sharey=True,
    )
    values = [ok[column].astype(float).to_numpy() for column, _, _ in samples]
    values += [np.array([reference[c]]) for c, _, _ in samples if reference.get(c) is not None]
    finite = np.concatenate(values)
    finite = finite[np.isfinite(finite)]
    if len(finite):  # the shared limits set once, as matplotlib's margins would: no panel looks at the others'
        lo, hi = float(finite.min()), float(finite.max())
        pad = 0.05 * (hi - lo) or 0.5
        axes[0, 0].set_ylim(lo - pad, hi + pad)
    few_ticks(axes[0, 0].yaxis, SENSITIVITY_TICKS[1])  # the panels share it
    for k, ax in enumerate(axes.flat):
        if k >= len(params):
            ax.set_visible(False)
            continue
        key = params[k]
        labels, order = orders[key]
        categorical = not pd.api.types.is_numeric_dtype(ok[key]) or pd.api.types.is_bool_dtype(ok[key])
        x = labels.map({name: i for i, name in enumerate(order)}) if categorical else ok[key].astype(float)
        level_x = x.groupby(labels).mean().reindex(order)
        nudge = _nudge(level_x.to_numpy(), binned=len(order) < x.nunique())
        for s, (column, _, colour) in enumerate(samples):
            y = ok[column].astype(float)
            shift = nudge * (s - (len(samples) - 1) / 2)
            # numpy arrays, not pandas: matplotlib looks a pandas argument over for other array types
            ax.plot(
                (x + shift).to_numpy()[dots], y.to_numpy()[dots], "o", ms=4, mew=0, color=colour, alpha=0.28, zorder=2
            )
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
    fig.legend(handles=handles, loc="lower center", ncol=min(len(handles), 3), fontsize=9.5, frameon=False)
    fig.suptitle(title, fontsize=12, y=1 - 0.1 / fig.get_figheight(), va="top")
    return fig


# A sensitivity plot's layout in inches, fixed instead of searched for: each panel's height, the room left
# of the panels (tick labels and the axis's name) and below each row (its numbers and the parameter's
# name), a title's and a legend's line.
SENSITIVITY_INCHES = dict(panel=2.9, left=0.8, below=0.7, title_line=0.22, legend_line=0.22)


def _sensitivity_handles(samples, reference: dict[str, float], reference_name: str, n: int) -> list:
    from matplotlib.lines import Line2D

    handles = [
        Line2D([], [], color=colour, lw=1.8, marker="o", ms=5, label=f"{label}: mean per value or bin")
        for _, label, colour in samples
    ]
    handles += [
        Line2D([], [], color=colour, lw=1.2, ls="--", label=f"{reference_name}, {label}")
        for column, label, colour in samples
        if reference.get(column) is not None
    ]
    dot = "one configuration" if n <= DOTS_MAX else f"one configuration ({DOTS_MAX:,} of {n:,}, evenly spaced by rank)"
    return handles + [Line2D([], [], color="#777777", lw=0, marker="o", ms=4, alpha=0.5, label=dot)]


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

    fig, ax = new_figure(5.6, width=MAX_WIDTH, left=0.8, top=0.45, bottom=0.45)
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
        f"The {len(curves)} best configurations by in-sample {objective_label} against {reference_name}",
        fontsize=11.5,
        y=1.0,  # placed, not looked for (matplotlib would measure the axis below to place it)
    )
    return fig


def ok_rows(summary: pd.DataFrame) -> pd.DataFrame:
    """The configurations that ran. A sweep's summary ranks the failed last, so they are its first rows,
    taken as a slice: a million rows are not copied for each picture and table that reads them."""
    ok = (summary["status"] == "ok").to_numpy()
    n = int(ok.sum())
    return summary.iloc[:n] if ok[:n].all() else summary[ok]


def drawn_samples(summary: pd.DataFrame) -> tuple:
    """In-sample always; out-of-sample only when some ok configuration has an out-of-sample objective."""
    has_oos = "objective_oos" in summary and ok_rows(summary)["objective_oos"].notna().any()
    return SAMPLES if has_oos else SAMPLES[:1]


def _wrapped(width: float, *lines: str) -> str:
    """`lines` wrapped to a figure `width` inches wide (about 11 characters per inch at 12 points)."""
    return "\n".join(textwrap.fill(line, int(width * 11)) for line in lines)


def counts_note(summary: pd.DataFrame, params: list[str], orders: dict[str, list[str]]) -> str:
    """How many configurations are drawn, how many failed, and which parameters are binned (`orders`:
    each parameter's levels, as `levels` gives them): named while there are at most two, else counted
    (each panel names its own; a title line per parameter was an eighth of the sensitivity plot's cost)."""
    ok = ok_rows(summary)
    failed = len(summary) - len(ok)
    bins = {key: len(orders[key]) for key in params if len(orders[key]) < ok[key].nunique()}
    if len(bins) <= 2:
        binned = [f"{key} in {n} quantile bins" for key, n in bins.items()]
    else:
        low, high = min(bins.values()), max(bins.values())
        binned = [
            f"{len(bins)} parameters with more values in {low if low == high else f'{low}-{high}'} quantile bins each"
        ]
    return "; ".join([f"{len(ok):,} configurations", *([f"{failed:,} failed, left out"] if failed else []), *binned])


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
    title = _overfitting_title(pbo, deflated, against_benchmark, reference_name)
    top = 0.45 + (0.15 + 0.22 * (title.count("\n") + 1) if title else 0.0)  # the panels' titles, the figure's
    fig, (left, right) = new_figure(top + 4.0, cols=2, width=MAX_WIDTH, left=0.8, top=top, bottom=0.6, wgap=1.0)
    counts, edges = np.histogram(pbo.logits, bins=40)
    left.stairs(counts, edges, fill=True, color="#1f3b73", alpha=0.8)  # hist's bars as one artist
    left.axvline(0.0, color="#b00000", lw=1.2, ls="--")
    left.set_xlabel("logit of the out-of-sample rank (<= 0: below the median)")
    left.set_ylabel("splits")
    left.set_title(f"PBO = {pbo.pbo:.2f} ({len(pbo.logits):,} splits, {pbo.n_blocks} blocks)", fontsize=11, y=1.0)
    right.plot(pbo.is_sharpe, pbo.oos_sharpe, "o", ms=2, mew=0, alpha=0.25, color="#1f3b73")  # markers of one line
    lo = float(min(pbo.is_sharpe.min(), pbo.oos_sharpe.min(), 0.0))
    hi = float(max(pbo.is_sharpe.max(), pbo.oos_sharpe.max(), 0.0))
    right.plot([lo, hi], [lo, hi], color="grey", lw=0.8, ls=":", label="no degradation")
    right.axhline(0.0, color="#b00000", lw=0.8)
    right.set_xlabel("Sharpe of the in-sample best, in sample")
    right.set_ylabel("its Sharpe out of sample")
    right.set_title("Performance degradation", fontsize=11, y=1.0)
    right.legend(fontsize=9, loc="upper left")
    for ax in (left, right):
        ax.grid(alpha=0.3)
    if title:
        fig.suptitle(title, fontsize=12, y=1 - 0.1 / fig.get_figheight(), va="top")
    return save_png(fig, out_path, up=False)


def _overfitting_title(pbo, deflated: dict | None, against_benchmark: dict | None, reference_name: str) -> str:
    """The Deflated Sharpe Ratios and the PBO, wrapped to the figure's width; empty without `deflated`."""
    if not deflated:
        return ""
    bench = (
        ""
        if against_benchmark is None
        else (
            f", {against_benchmark['dsr']:.2f} against {reference_name} (a bar of "
            f"{against_benchmark['expected_max_sharpe']:.2f}: its Sharpe {against_benchmark['benchmark_sharpe']:.2f} "
            "plus the same luck)"
        )
    )
    return _wrapped(
        MAX_WIDTH,
        f"Deflated Sharpe Ratio of the in-sample choice: {deflated['dsr']:.2f} against zero "
        f"(its Sharpe {deflated['sharpe']:.2f} against {deflated['expected_max_sharpe']:.2f}, what "
        f"the best of {deflated['n_trials']:,} unskilled trials would reach by luck){bench}; above "
        f"0.95 is significant. Probability of backtest overfitting: {pbo.pbo:.2f} (0.5 = no "
        "better than chance).",
    )
