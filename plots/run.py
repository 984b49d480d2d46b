"""The run report's pictures, drawn from a run's frames (equity, trades, episodes).

Each picture has a `*_figure` function that returns a matplotlib Figure (what a notebook shows,
`fedcut.Result.plot_*`) and a `plot_*` saver that writes that figure as a PNG and returns its
path (what the report embeds). They draw on matplotlib's Agg canvas directly (no pyplot, no
display, the global backend untouched), as `signals/plot.py` does, and share its regime colours,
fixed ticks and fixed margins: every figure is 1240 px wide, the report's column, so its text
shows at its size. `oracle=True` puts "ORACLE" in red in every title.
"""

from __future__ import annotations

import math
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from fedcut.analyzers.attribution import CONTRACT_SIZE, WEIGHT_PREFIX, hedge_by_year
from fedcut.analyzers.performance import drawdown_series, max_drawdown
from fedcut.analyzers.tearsheet import ROLLING_DAYS, rolling_statistics
from fedcut.data.benchmark import IWM as IWM_ONLY
from fedcut.data.benchmark import Benchmark
from fedcut.plots.kit import (
    CUT_COLOUR,
    MAX_CYCLES_SHOWN,
    cut_lines,
    day_numbers,
    few_ticks,
    fixed_ticks,
    log_ticks,
    month_axis,
    new_figure,
    regime_bands,
    regime_handles,
    save_png,
    year_axis,
)
from fedcut.strategies.baselines import LABELS

if TYPE_CHECKING:  # matplotlib is imported when a picture is drawn, not when the report module loads
    from matplotlib.figure import Figure

LABEL = LABELS["fedcut"]  # the regime strategy; a run of a baseline passes its own name
STRATEGY = dict(color="#1f3b73", lw=1.4, label=LABEL)
IWM = dict(color="#e07b00", lw=1.2, label=IWM_ONLY.label)  # the benchmark's line; its label is the run's
SPY = dict(color="#555555", lw=0.9, ls="--", label="buy-and-hold SPY")
SPLICE_WIDTH = 110  # characters a line of the benchmark's splice, written on the value picture
ORACLE_COLOUR = "#b00000"
ORACLE_PREFIX = "ORACLE MODE (future information) - "
LOSS, GAIN, PREMIUM = "#c0392b", "#2e8b57", "#f2b8b5"
# Holdings colours: small caps blue, rotation greens, defensives browns/teals, cyclicals indigo/olive/
# pink, cash sand, puts black: none of them a regime colour (neutral's grey included), so the
# regime strip above the holdings is not confused with them. A ticker not listed takes a spare.
HOLDING_COLOURS = {
    "IWM": "#1f77b4",
    "VO": "#006d2c",
    "OUSM": "#98df8a",
    "XLP": "#8c564b",
    "XLU": "#c49c94",
    "IEF": "#17becf",
    "TLT": "#9edae5",
    "SHY": "#bcbd22",
    "XLI": "#393b79",
    "XLF": "#637939",
    "ITB": "#e7969c",
    "XHB": "#d6616b",
    "cash": "#e9dcae",
    "puts (marked)": "#111111",
}
SPARE_COLOURS = ("#e377c2", "#7b4173", "#843c39", "#5254a3", "#8ca252", "#bd9e39", "#ad494a", "#a55194")


def plot_equity(
    equity: pd.DataFrame, first_cuts: list, path, oracle: bool = False, label: str = LABEL, benchmark=IWM_ONLY
) -> Path:
    """Write `equity_figure` as a PNG."""
    return save_png(equity_figure(equity, first_cuts, oracle, label, benchmark), path)


def equity_figure(
    equity: pd.DataFrame, first_cuts: list, oracle: bool = False, label: str = LABEL, benchmark: Benchmark = IWM_ONLY
) -> Figure:
    """Strategy, the buy-and-hold benchmark (`benchmark`, its splice written in the top left when it is
    one) and SPY (dashed) in USD on a log scale over the regime bands, first cuts marked."""
    eq = _dated(equity)
    fig, ax = new_figure(5.8, left=0.85, top=0.45, bottom=0.85)
    regime_bands(ax, eq["regime"])
    x = day_numbers(eq.index)
    for column, style, z in (
        ("strategy", {**STRATEGY, "label": label}, 5),
        ("benchmark", benchmark_style(benchmark), 4),
        ("spy", SPY, 3),
    ):
        if column in eq:
            ax.plot(x, eq[column].to_numpy(), zorder=z, **style)
    ax.set_yscale("log")
    values = eq[[c for c in ("strategy", "benchmark", "spy") if c in eq]]
    lo, hi = float(values.min().min()), float(values.max().max())
    ax.set_ylim(lo / 1.1, math.exp(math.log(lo / 1.1) + (math.log(hi) - math.log(lo / 1.1)) / 0.8))
    _usd_log_axis(ax, hi / lo)
    cut_lines(ax, eq.index[0], eq.index[-1], first_cuts, labelled=True)
    year_axis(ax, eq.index[0], eq.index[-1])
    ax.set_ylabel("portfolio value, USD (log scale)")
    ax.grid(which="major", alpha=0.3, zorder=1)
    _title(ax, f"Strategy against buy-and-hold, {_span(eq.index)}", oracle)
    if benchmark.spliced:
        ax.text(
            0.01,
            0.985,
            textwrap.fill(benchmark.splice, SPLICE_WIDTH),
            transform=ax.transAxes,
            ha="left",
            va="top",
            fontsize=8.5,
            color=IWM["color"],
            bbox=dict(boxstyle="round,pad=0.25", fc="white", ec="none", alpha=0.85),
            zorder=6,
        )
    _legend_below(fig, ax, regimes=eq["regime"])
    return fig


def plot_underwater(
    equity: pd.DataFrame, path, oracle: bool = False, first_cuts: list = (), label: str = LABEL, benchmark=IWM_ONLY
) -> Path:
    """Write `underwater_figure` as a PNG."""
    return save_png(underwater_figure(equity, oracle, first_cuts, label, benchmark), path)


def underwater_figure(
    equity: pd.DataFrame, oracle: bool = False, first_cuts: list = (), label: str = LABEL, benchmark=IWM_ONLY
) -> Figure:
    """Each curve's fall from its running high (%): strategy, the benchmark and SPY on one scale, the
    deepest point marked."""
    eq = _dated(equity)
    sides = _sides(eq, label, benchmark)
    fig, axes = new_figure(
        2.15 * len(sides) + 0.95,
        rows=len(sides),
        top=0.45,
        bottom=0.5,
        hgap=0.15,
        sharex=True,
        sharey=True,
        squeeze=False,
    )
    low = min(100 * drawdown_series(eq[c]).min() for c, _ in sides)
    x = day_numbers(eq.index)
    for ax, (column, style) in zip(axes[:, 0], sides):
        dd = 100 * drawdown_series(eq[column]).to_numpy()
        ax.fill_between(x, dd, 0.0, color=style["color"], alpha=0.30, lw=0, zorder=2)
        ax.plot(x, dd, zorder=3, **{**style, "ls": "-"})
        worst = max_drawdown(eq[column])
        ax.annotate(
            f"max drawdown {worst.depth:.1%}\n{worst.peak.date()} to {worst.trough.date()}",
            (day_numbers([worst.trough])[0], 100 * worst.depth),
            xytext=(8, 2),
            textcoords="offset points",
            va="bottom",
            fontsize=9,
            color=style["color"],
            bbox=dict(boxstyle="round,pad=0.2", fc="white", ec="none", alpha=0.85),
            zorder=5,
        )
        ax.text(
            0.995,
            0.06,
            style["label"],
            transform=ax.transAxes,
            ha="right",
            va="bottom",
            fontsize=10,
            fontweight="bold",
            color=style["color"],
            bbox=dict(boxstyle="round,pad=0.25", fc="white", ec="none", alpha=0.85),
            zorder=6,
        )
        cut_lines(ax, eq.index[0], eq.index[-1], first_cuts, labelled=False)
        ax.axhline(0, color="black", lw=0.6)
        ax.set_ylim(low * 1.12 - 2, 2)
        ax.grid(alpha=0.3)
    few_ticks(axes[0, 0].yaxis, 4)  # the panels share it: 20% steps for a fall of 60%
    axes[0, 0].yaxis.set_major_formatter(_formatter(lambda v: f"{v:.0f}%"))
    axes[len(sides) // 2, 0].set_ylabel("below the running high, %")
    year_axis(axes[-1, 0], eq.index[0], eq.index[-1])
    _title(
        axes[0, 0],
        f"Underwater: fall from the running high, {_span(eq.index)} (dashed lines: first cut of each easing cycle)",
        oracle,
    )
    return fig


def plot_holdings(equity: pd.DataFrame, path, oracle: bool = False, label: str = LABEL) -> Path:
    """Write `holdings_figure` as a PNG."""
    return save_png(holdings_figure(equity, oracle, label), path)


def holdings_figure(equity: pd.DataFrame, oracle: bool = False, label: str = LABEL) -> Figure:
    """What the strategy held each day as a share of its value: ETFs, cash and marked puts, with the regime strip above."""
    eq = _dated(equity)
    shares = holding_shares(eq)
    fig, (strip, ax) = new_figure(
        6.3, rows=2, right=2.1, top=0.45, bottom=0.5, hgap=0.08, height_ratios=(1, 11), sharex=True
    )
    regime_bands(strip, eq["regime"], alpha=0.75)
    strip.set_yticks([])
    strip.xaxis.set_visible(False)  # the dates are the holdings' below
    strip.set_ylabel("regime", rotation=0, ha="right", va="center", fontsize=9)
    colours = holding_colours(shares.columns)
    positive = shares.clip(lower=0.0)
    ax.stackplot(day_numbers(shares.index), positive.T.to_numpy(), colors=colours, labels=list(shares.columns), lw=0)
    ax.set_ylim(0, max(1.0, float(positive.sum(axis=1).max())) * 1.02)
    ax.yaxis.set_major_formatter(_formatter(lambda v: f"{v:.0%}"))
    year_axis(ax, eq.index[0], eq.index[-1])
    ax.set_ylabel("share of strategy value")
    ax.grid(alpha=0.25)
    _title(strip, f"Holdings of the {label}: share of portfolio value, {_span(eq.index)}", oracle)
    handles, labels = ax.get_legend_handles_labels()
    held = ax.legend(
        handles[::-1],
        labels[::-1],
        loc="upper left",
        bbox_to_anchor=(1.01, 1.0),
        fontsize=9,
        frameon=False,
        title="held (top to bottom)",
        title_fontsize=9.5,
        alignment="left",
    )
    ax.add_artist(held)
    ax.legend(
        handles=regime_handles(eq["regime"].dropna().unique(), alpha=0.75),
        loc="lower left",
        bbox_to_anchor=(1.01, 0.0),
        fontsize=9,
        frameon=False,
        title="regime (strip above)",
        title_fontsize=9.5,
        alignment="left",
    )
    return fig


def holding_shares(equity: pd.DataFrame) -> pd.DataFrame:
    """Daily weight per ticker, cash and marked puts as fractions of strategy value (they sum to 1)."""
    eq = _dated(equity)
    weights = eq.filter(regex=f"^{WEIGHT_PREFIX}")
    weights.columns = [c.removeprefix(WEIGHT_PREFIX) for c in weights.columns]
    weights = weights.loc[:, (weights.abs() > 1e-9).any()]
    weights["cash"] = eq["cash"] / eq["strategy"]
    weights["puts (marked)"] = eq["option_value"] / eq["strategy"]
    return weights


def holding_colours(names) -> list[str]:
    """A colour per holding: the table's, else the next spare (in order, then repeating)."""
    spare = iter(SPARE_COLOURS * (1 + len(list(names)) // len(SPARE_COLOURS)))
    return [HOLDING_COLOURS.get(n) or next(spare) for n in names]


def plot_cycles(
    equity: pd.DataFrame, episodes: pd.DataFrame, path, oracle: bool = False, label: str = LABEL, benchmark=IWM_ONLY
) -> Path:
    """Write `cycles_figure` as a PNG."""
    return save_png(cycles_figure(equity, episodes, oracle, label, benchmark), path)


def cycles_figure(
    equity: pd.DataFrame, episodes: pd.DataFrame, oracle: bool = False, label: str = LABEL, benchmark=IWM_ONLY
) -> Figure:
    """One small panel per easing cycle: strategy and the buy-and-hold benchmark rebased to 100 at the first cut
    (the `MAX_CYCLES_SHOWN` most recent cycles, said in the title when there are more)."""
    from matplotlib.lines import Line2D

    eq = _dated(equity)
    bench, short = benchmark_style(benchmark), benchmark.short
    total = len(episodes)
    episodes = episodes.iloc[-MAX_CYCLES_SHOWN:]
    n = max(len(episodes), 1)
    cols = min(3, n) if n != 4 else 2
    rows = math.ceil(n / cols)
    more = total > len(episodes)
    top = 1.2 if more else 1.0
    fig, axes = new_figure(
        2.9 * rows + 1.15 * (rows - 1) + top + 0.75,
        rows=rows,
        cols=cols,
        left=0.8,
        right=0.45,
        top=top,
        bottom=0.75,
        hgap=1.15,
        wgap=0.75,
        squeeze=False,
    )
    seen_regimes = set()
    if episodes.empty:
        axes[0, 0].text(
            0.5,
            0.5,
            f"No easing cycle's first cut falls in {_span(eq.index)}",
            ha="center",
            va="center",
            fontsize=11,
            transform=axes[0, 0].transAxes,
        )
        axes[0, 0].set_axis_off()
    for k, ax in enumerate(axes.flat):
        if k >= len(episodes):
            ax.set_visible(bool(episodes.empty))
            continue
        ep = episodes.iloc[k]
        cut, start, end = (pd.Timestamp(ep[c]) for c in ("first_cut", "window_start", "window_end"))
        window = eq.loc[start:end]
        seen_regimes |= set(window["regime"].dropna())
        regime_bands(ax, window["regime"])
        x = day_numbers(window.index)
        for column, style in (("benchmark", bench), ("strategy", STRATEGY)):
            rebased = 100 * window[column].to_numpy() / eq[column].asof(cut)
            ax.plot(x, rebased, zorder=3, **{**style, "label": None})
            ax.annotate(
                f"{rebased[-1]:.0f}",
                (x[-1], rebased[-1]),
                xytext=(3, 0),
                textcoords="offset points",
                va="center",
                fontsize=9,
                color=style["color"],
            )
        ax.axvline(day_numbers([cut])[0], color=CUT_COLOUR, ls="--", lw=1.0, zorder=4)
        ax.axhline(100, color="black", lw=0.5, alpha=0.6)
        month_axis(ax, start, end)
        ax.set_xlim(*day_numbers([start, end + (end - start) * 0.08]))
        ax.tick_params(labelsize=9)
        ax.grid(alpha=0.3)
        partial = "" if str(ep.get("complete", True)) == "True" else " (data ends)"
        ax.set_title(
            f"{ep['cycle']}: first cut {cut.date()}{partial}\nreturn in window: strategy "
            f"{_pct(ep.get('strategy_return'))}, {short} {_pct(ep.get('benchmark_return'))}\nmax drawdown: "
            f"strategy {_pct(ep.get('strategy_max_drawdown'))}, {short} {_pct(ep.get('benchmark_max_drawdown'))}",
            fontsize=9.5,
            y=1.0,
        )
        if k % cols == 0:
            ax.set_ylabel("value, first cut = 100")
    handles = [
        Line2D([], [], **{**STRATEGY, "label": label}),
        Line2D([], [], **bench),
        Line2D([], [], color=CUT_COLOUR, ls="--", lw=1.0, label="first cut"),
    ]
    handles += regime_handles(seen_regimes)
    fig.legend(
        handles=handles,
        loc="lower center",
        bbox_to_anchor=(0.5, 0.0),
        ncol=min(len(handles), 8),
        fontsize=9.5,
        frameon=False,
    )
    title = f"Each easing cycle: {label} against {benchmark.label}, rebased to 100 at the first cut"
    if more:
        title += f"\nthe {len(episodes)} most recent of {total} cycles (every cycle is in episodes.csv)"
    fig.suptitle(
        (ORACLE_PREFIX + title) if oracle else title,
        fontsize=11.5,
        y=1 - 0.12 / fig.get_figheight(),
        va="top",
        color=ORACLE_COLOUR if oracle else "black",
    )
    return fig


def plot_hedge(
    equity: pd.DataFrame,
    trades: pd.DataFrame,
    path,
    oracle: bool = False,
    size: int = CONTRACT_SIZE,
    first_cuts: list = (),
) -> Path:
    """Write `hedge_figure` as a PNG."""
    return save_png(hedge_figure(equity, trades, oracle, size, first_cuts), path)


def hedge_figure(
    equity: pd.DataFrame, trades: pd.DataFrame, oracle: bool = False, size: int = CONTRACT_SIZE, first_cuts: list = ()
) -> Figure:
    """The puts in proportion to the portfolio: their marked value in % of portfolio value day by day, and
    per calendar year the premium paid and the hedge's P&L (after spread and commission) in bp of value."""
    eq = _dated(equity)
    years = hedge_by_year(equity, trades, size)
    fig, (top, bars) = new_figure(7.0, rows=2, left=0.85, top=0.45, bottom=1.0, hgap=0.75)
    share = 100 * eq["option_value"] / eq["strategy"]
    regime_bands(top, eq["regime"])
    top.fill_between(day_numbers(eq.index), share.to_numpy(), 0.0, color="#1f3b73", alpha=0.6, lw=0, zorder=3)
    cut_lines(top, eq.index[0], eq.index[-1], first_cuts, labelled=False)
    year_axis(top, eq.index[0], eq.index[-1])
    top.set_ylim(0, max(float(share.max()) * 1.15, 0.5))
    few_ticks(top.yaxis)
    ticks = top.yaxis.get_major_locator().tick_values(*top.get_ylim())
    decimals = next((d for d in (0, 1, 2) if np.allclose(ticks, np.round(ticks, d))), 3)  # as many as the ticks need
    top.yaxis.set_major_formatter(_formatter(lambda v: f"{v:.{decimals}f}%"))
    top.set_ylabel("puts held, % of value")
    top.grid(alpha=0.3)
    _title(top, f"Put hedge: marked value of the puts held, in % of portfolio value, {_span(eq.index)}", oracle)

    x = years.index.to_numpy()
    bars.bar(
        x - 0.2,
        -years["premium_bp"].to_numpy(),
        width=0.4,
        color=PREMIUM,
        zorder=3,
        label="premium paid (incl. spread and commission)",
    )
    pnl = years["pnl_bp"].to_numpy()
    bars.bar(
        x + 0.2,
        pnl,
        width=0.4,
        color=np.where(pnl >= 0, GAIN, LOSS),
        zorder=3,
        label="hedge P&L: marks + premium + sales + settlements",
    )
    bars.axhline(0, color="black", lw=0.6)
    if len(years):
        mean = float(years.attrs["pnl_bp_per_year"])
        bars.axhline(
            mean, color="#333333", lw=1.0, ls=":", zorder=4, label=f"hedge P&L over the run: {mean:+.0f} bp a year"
        )
        fixed_ticks(bars.xaxis, x, [f"'{y % 100:02d}" for y in x])
        bars.set_xlim(x[0] - 0.7, x[-1] + 0.7)
    else:
        bars.text(0.5, 0.5, "no puts were held in this run", transform=bars.transAxes, ha="center", fontsize=11)
    bars.set_ylabel("bp of the year's portfolio value")
    few_ticks(bars.yaxis)
    bars.grid(axis="y", alpha=0.3)
    bars.set_title(
        "Each calendar year (first and last partial): premium paid (drawn below 0) and the hedge's P&L",
        fontsize=10.5,
        y=1.0,
    )
    fig.legend(
        *bars.get_legend_handles_labels(),
        loc="lower center",
        bbox_to_anchor=(0.5, 0.0),
        ncol=3,
        fontsize=9.5,
        frameon=False,
    )
    return fig


def plot_rolling(
    equity: pd.DataFrame, path, rf_annual: pd.Series | float = 0.0, oracle=False, label=LABEL, benchmark=IWM_ONLY
) -> Path:
    """Write `rolling_figure` as a PNG."""
    return save_png(rolling_figure(equity, rf_annual, oracle, label, benchmark), path)


def rolling_figure(
    equity: pd.DataFrame, rf_annual: pd.Series | float = 0.0, oracle=False, label=LABEL, benchmark=IWM_ONLY
) -> Figure:
    """Rolling one-year Sharpe, volatility and beta to the benchmark (`tearsheet.rolling_statistics`,
    excess returns over `rf_annual`): strategy, benchmark and SPY for Sharpe and volatility; the
    strategy's and SPY's beta to the benchmark."""
    eq = _dated(equity)
    sides = _sides(eq, label, benchmark)
    stats = {c: rolling_statistics(eq[c], eq["benchmark"], rf_annual) for c, _ in sides}
    fig, axes = new_figure(8.0, rows=3, top=0.45, bottom=0.8, hgap=0.2, sharex=True)
    panels = (
        ("sharpe", "Sharpe (over T-bills)", lambda v: f"{v:.1f}"),
        ("volatility", "volatility, % a year", lambda v: f"{100 * v:.0f}%"),
        ("beta", f"beta to {benchmark.short}", lambda v: f"{v:.1f}"),
    )
    x = day_numbers(eq.index)
    too_short = len(eq) <= ROLLING_DAYS
    for ax, (key, label, fmt) in zip(axes, panels):
        for column, style in sides:
            if key == "beta" and column == "benchmark":
                continue
            series = stats[column][key].reindex(eq.index)
            ax.plot(x, series.to_numpy(), zorder=3, **style)
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        if too_short:
            ax.text(
                0.5,
                0.5,
                f"the run has {len(eq)} days: not one full {ROLLING_DAYS}-day window",
                ha="center",
                va="center",
                fontsize=10,
                transform=ax.transAxes,
            )
            ax.set_yticks([])
            continue
        ax.axhline(1.0 if key == "beta" else 0.0, color="black", lw=0.6)
        ax.yaxis.set_major_formatter(_formatter(fmt))
    year_axis(axes[-1], eq.index[0], eq.index[-1])
    _title(axes[0], f"Rolling {ROLLING_DAYS}-day (one-year) statistics, {_span(eq.index)}", oracle)
    fig.legend(
        handles=axes[0].get_legend_handles_labels()[0],
        loc="lower center",
        bbox_to_anchor=(0.5, 0.0),
        ncol=3,
        fontsize=9.5,
        frameon=False,
    )
    return fig


def benchmark_style(benchmark: Benchmark) -> dict:
    """The benchmark's line, labelled with its name in the run (`data.benchmark`)."""
    return {**IWM, "label": benchmark.label}


def _sides(eq: pd.DataFrame, label: str, benchmark: Benchmark) -> list[tuple[str, dict]]:
    """(column, line style) of the strategy, the benchmark and SPY, as far as `eq` has them."""
    sides = (("strategy", {**STRATEGY, "label": label}), ("benchmark", benchmark_style(benchmark)), ("spy", SPY))
    return [(c, s) for c, s in sides if c in eq]


def _dated(frame: pd.DataFrame) -> pd.DataFrame:
    if "date" in frame.columns:
        return frame.set_index(pd.to_datetime(frame["date"])).drop(columns="date")
    return frame


def _usd_log_axis(ax, ratio: float) -> None:
    """USD labels on a log axis: 1-2-5 steps, or evenly spaced values when the curve spans under 4x."""
    from matplotlib.ticker import MaxNLocator

    log_ticks(ax.yaxis, _formatter(_usd))
    if ratio < 4:
        ax.yaxis.set_major_locator(MaxNLocator(nbins=7))


def _formatter(fn):
    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(lambda v, _: fn(v))


def _usd(v: float) -> str:
    """$2.5B, $1.2M, $350k, -$40k, $0 (billions for the long history's decades of growth: "$10000M"
    was too wide for the picture's margin)."""
    sign = "-" if v < 0 else ""
    a = abs(v)
    for scale, suffix in ((1e9, "B"), (1e6, "M")):
        if a >= scale:
            digits = (
                0
                if a >= 10 * scale and a % scale == 0
                else 1
                if round(a / (scale / 10)) * scale / 10 == round(a)
                else 2
            )
            return f"{sign}${a / scale:.{digits}f}{suffix}"
    if a >= 1e3:
        return f"{sign}${a / 1e3:.0f}k"
    return f"{sign}${a:.0f}"


def _pct(x) -> str:
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{float(x):+.1%}"


def _span(days: pd.DatetimeIndex) -> str:
    return f"{days[0].date()} to {days[-1].date()}"


def _title(ax, text: str, oracle: bool) -> None:
    ax.set_title(
        (ORACLE_PREFIX + text) if oracle else text,
        fontsize=11.5,
        y=1.0,  # a fixed place: not searched
        color=ORACLE_COLOUR if oracle else "black",
    )


def _legend_below(fig, ax, regimes: pd.Series | None = None) -> None:
    """The axes' lines and the regimes seen, in rows along the bottom of the figure."""
    handles, _ = ax.get_legend_handles_labels()
    if regimes is not None:
        handles += regime_handles(regimes.dropna().unique(), prefix="regime: ")
    fig.legend(
        handles=handles,
        loc="lower center",
        bbox_to_anchor=(0.5, 0.0),
        ncol=min(5, len(handles)),
        fontsize=9.5,
        frameon=False,
    )
