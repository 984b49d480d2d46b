"""The run report's pictures, drawn from a run's frames (equity, trades, episodes).

Each picture has a `*_figure` function that returns a matplotlib Figure (what a notebook shows,
`fedcut.Result.plot_*`) and a `plot_*` saver that writes that figure as a PNG and returns its
path (what the report embeds). They draw on matplotlib's Agg canvas directly (no pyplot, no
display, the global backend untouched), as `signals/plot.py` does, and reuse its regime
colours. `oracle=True` puts "ORACLE" in red in every title.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from fedcut.analyzers.attribution import CONTRACT_SIZE, WEIGHT_PREFIX, hedge_pnl
from fedcut.analyzers.performance import drawdown_series, max_drawdown
from fedcut.signals.plot import BAND_ALPHA, MAX_CYCLES_SHOWN, REGIME_ALPHA, REGIME_COLOURS, regime_spans
from fedcut.signals.regime import REGIMES

if TYPE_CHECKING:  # matplotlib is imported when a picture is drawn, not when the report module loads
    from matplotlib.figure import Figure

DPI = 110
STRATEGY = dict(color="#1f3b73", lw=1.4, label="fedcut strategy")
IWM = dict(color="#e07b00", lw=1.2, label="buy-and-hold IWM")
SPY = dict(color="#555555", lw=0.8, ls="--", label="buy-and-hold SPY")
CUT_COLOUR = "#1f3b73"
ORACLE_COLOUR = "#b00000"
ORACLE_PREFIX = "ORACLE MODE (future information) - "
# Holdings colours: small caps blue, rotation greens, defensives browns/teals, cash grey, puts black
# (none of them a regime colour, so the regime strip above the holdings is not confused with them).
HOLDING_COLOURS = {
    "IWM": "#1f77b4", "VO": "#2ca02c", "OUSM": "#98df8a", "XLP": "#8c564b", "XLU": "#c49c94",
    "IEF": "#17becf", "TLT": "#9edae5", "SHY": "#bcbd22", "cash": "#d9d9d9", "puts (marked)": "#111111",
}
EXTRA_COLOURS = ("#17becf", "#e377c2", "#7f7f7f", "#ff9896")


def plot_equity(equity: pd.DataFrame, first_cuts: list, path, oracle: bool = False) -> Path:
    """Write `equity_figure` as a PNG."""
    return _save(equity_figure(equity, first_cuts, oracle), path)


def equity_figure(equity: pd.DataFrame, first_cuts: list, oracle: bool = False) -> Figure:
    """Strategy, buy-and-hold IWM and SPY (dashed) in USD on a log scale over the regime bands, first cuts marked."""
    eq = _dated(equity)
    fig, ax = _figure((14, 6.5))
    _regime_bands(ax, eq["regime"])
    for column, style, z in (("strategy", STRATEGY, 5), ("benchmark", IWM, 4), ("spy", SPY, 3)):
        if column in eq:
            ax.plot(eq.index, eq[column].to_numpy(), zorder=z, **style)
    ax.set_yscale("log")
    values = eq[[c for c in ("strategy", "benchmark", "spy") if c in eq]]
    lo, hi = float(values.min().min()), float(values.max().max())
    ax.set_ylim(lo / 1.1, math.exp(math.log(lo / 1.1) + (math.log(hi) - math.log(lo / 1.1)) / 0.8))
    _usd_log_axis(ax, hi / lo)
    _cut_lines(ax, eq.index, first_cuts, labelled=True)
    _year_axis(ax, eq.index)
    ax.set_ylabel("portfolio value, USD (log scale)")
    ax.grid(which="major", alpha=0.3, zorder=1)
    _title(ax, f"Strategy against buy-and-hold, {_span(eq.index)}", oracle)
    _legend_outside(ax, regimes=eq["regime"])
    fig.tight_layout()
    return fig


def plot_underwater(equity: pd.DataFrame, path, oracle: bool = False, first_cuts: list = ()) -> Path:
    """Write `underwater_figure` as a PNG."""
    return _save(underwater_figure(equity, oracle, first_cuts), path)


def underwater_figure(equity: pd.DataFrame, oracle: bool = False, first_cuts: list = ()) -> Figure:
    """Each curve's fall from its running high (%), strategy above IWM on one scale, the deepest point marked."""
    eq = _dated(equity)
    fig, axes = _figure((14, 6.4), rows=2, layout="constrained", sharex=True, sharey=True)
    low = min(100 * drawdown_series(eq[c]).min() for c in ("strategy", "benchmark"))
    for ax, column, style in ((axes[0], "strategy", STRATEGY), (axes[1], "benchmark", IWM)):
        dd = 100 * drawdown_series(eq[column])
        ax.fill_between(dd.index, dd.to_numpy(), 0.0, color=style["color"], alpha=0.30, lw=0, zorder=2)
        ax.plot(dd.index, dd.to_numpy(), zorder=3, **style)
        worst = max_drawdown(eq[column])
        ax.annotate(f"max drawdown {worst.depth:.1%}\n{worst.peak.date()} to {worst.trough.date()}",
                    (worst.trough, 100 * worst.depth), xytext=(8, 2), textcoords="offset points", va="bottom",
                    fontsize=9, color=style["color"],
                    bbox=dict(boxstyle="round,pad=0.2", fc="white", ec="none", alpha=0.85), zorder=5)
        _cut_lines(ax, eq.index, first_cuts, labelled=False)
        ax.axhline(0, color="black", lw=0.6)
        ax.set_ylim(low * 1.12 - 2, 2)
        ax.yaxis.set_major_formatter(_formatter(lambda v: f"{v:.0f}%"))
        ax.set_ylabel("below running high, %")
        ax.grid(alpha=0.3)
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=9, frameon=False)
    _year_axis(axes[1], eq.index)
    axes[0].set_xlabel("")
    _title(axes[0], f"Underwater: fall from the running high, {_span(eq.index)}", oracle)
    return fig


def plot_holdings(equity: pd.DataFrame, path, oracle: bool = False) -> Path:
    """Write `holdings_figure` as a PNG."""
    return _save(holdings_figure(equity, oracle), path)


def holdings_figure(equity: pd.DataFrame, oracle: bool = False) -> Figure:
    """What the strategy held each day as a share of its value: ETFs, cash and marked puts, with the regime strip above."""
    from matplotlib.patches import Patch

    eq = _dated(equity)
    shares = holding_shares(eq)
    fig, (strip, ax) = _figure((14, 6.2), rows=2, height_ratios=(1, 11), layout="constrained", sharex=True)
    _regime_bands(strip, eq["regime"], alpha=0.75)
    strip.set_xlim(eq.index[0], eq.index[-1])
    strip.set_yticks([])
    strip.tick_params(labelbottom=False, bottom=False)
    strip.set_ylabel("regime", rotation=0, ha="right", va="center", fontsize=9)
    colours = _holding_colours(shares.columns)
    positive = shares.clip(lower=0.0)
    ax.stackplot(shares.index, positive.T.to_numpy(), colors=colours, labels=list(shares.columns), lw=0)
    ax.set_ylim(0, max(1.0, float(positive.sum(axis=1).max())) * 1.02)
    ax.yaxis.set_major_formatter(_formatter(lambda v: f"{v:.0%}"))
    _year_axis(ax, eq.index)
    ax.set_ylabel("share of strategy value, %")
    ax.grid(alpha=0.25)
    _title(strip, f"Holdings: share of portfolio value, {_span(eq.index)}", oracle)
    handles, labels = ax.get_legend_handles_labels()
    held = ax.legend(handles[::-1], labels[::-1], loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=9,
                     frameon=False, title="held (top to bottom)", title_fontsize=9.5, alignment="left")
    ax.add_artist(held)
    bands = [Patch(facecolor=REGIME_COLOURS[r], alpha=0.75, label=r) for r in REGIMES if (eq["regime"] == r).any()]
    ax.legend(handles=bands, loc="lower left", bbox_to_anchor=(1.01, 0.0), fontsize=9, frameon=False,
              title="regime (strip above)", title_fontsize=9.5, alignment="left")
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


def plot_cycles(equity: pd.DataFrame, episodes: pd.DataFrame, path, oracle: bool = False) -> Path:
    """Write `cycles_figure` as a PNG."""
    return _save(cycles_figure(equity, episodes, oracle), path)


def cycles_figure(equity: pd.DataFrame, episodes: pd.DataFrame, oracle: bool = False) -> Figure:
    """One small panel per easing cycle: strategy and buy-and-hold IWM rebased to 100 at the first cut
    (the `MAX_CYCLES_SHOWN` most recent cycles, said in the title when there are more)."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    eq = _dated(equity)
    total = len(episodes)
    episodes = episodes.iloc[-MAX_CYCLES_SHOWN:]
    n = max(len(episodes), 1)
    cols = min(3, n) if n != 4 else 2
    rows = math.ceil(n / cols)
    fig, axes = _figure((max(4.9 * cols + 1.2, 12.5), 3.9 * rows + 1.0), rows=rows, cols=cols, squeeze=False,
                        layout="constrained")
    seen_regimes = set()
    if episodes.empty:
        axes[0, 0].text(0.5, 0.5, f"No easing cycle's first cut falls in {_span(eq.index)}", ha="center",
                        va="center", fontsize=11, transform=axes[0, 0].transAxes)
        axes[0, 0].set_axis_off()
    for k, ax in enumerate(axes.flat):
        if k >= len(episodes):
            ax.set_visible(bool(episodes.empty))
            continue
        ep = episodes.iloc[k]
        cut, start, end = (pd.Timestamp(ep[c]) for c in ("first_cut", "window_start", "window_end"))
        window = eq.loc[start:end]
        seen_regimes |= set(window["regime"].dropna())
        _regime_bands(ax, window["regime"])
        for column, style in (("benchmark", IWM), ("strategy", STRATEGY)):
            base = eq[column].asof(cut)
            rebased = 100 * window[column] / base
            ax.plot(rebased.index, rebased.to_numpy(), zorder=3, **{**style, "label": None})
            ax.annotate(f"{rebased.iloc[-1]:.0f}", (rebased.index[-1], rebased.iloc[-1]), xytext=(3, 0),
                        textcoords="offset points", va="center", fontsize=8.5, color=style["color"])
        ax.axvline(cut, color=CUT_COLOUR, ls="--", lw=1.0, zorder=4)
        ax.axhline(100, color="black", lw=0.5, alpha=0.6)
        ax.set_xlim(start, end + (end - start) * 0.08)
        _month_ticks(ax, start, end)
        ax.tick_params(labelsize=8.5)
        ax.grid(alpha=0.3)
        partial = "" if str(ep.get("complete", True)) == "True" else " (data ends)"
        ax.set_title(f"{ep['cycle']}: first cut {cut.date()}{partial}\nmax drawdown in window: strategy "
                     f"{_pct(ep.get('strategy_max_drawdown'))}, IWM {_pct(ep.get('benchmark_max_drawdown'))}",
                     fontsize=9.5)
        if k % cols == 0:
            ax.set_ylabel("value, first cut = 100")
    handles = [Line2D([], [], **STRATEGY), Line2D([], [], **IWM),
               Line2D([], [], color=CUT_COLOUR, ls="--", lw=1.0, label="first cut")]
    handles += [Patch(facecolor=REGIME_COLOURS[r], alpha=max(REGIME_ALPHA.get(r, BAND_ALPHA), 0.45), label=r)
                for r in REGIMES if r in seen_regimes]
    fig.legend(handles=handles, loc="outside lower center", ncol=min(len(handles), 8), fontsize=9, frameon=False)
    title = "Each easing cycle: strategy against buy-and-hold IWM, rebased to 100 at the first cut"
    if total > len(episodes):
        title += f"\nthe {len(episodes)} most recent of {total} cycles (every cycle is in episodes.csv)"
    fig.suptitle((ORACLE_PREFIX + title) if oracle else title, fontsize=12,
                 color=ORACLE_COLOUR if oracle else "black")
    return fig


def plot_hedge(equity: pd.DataFrame, trades: pd.DataFrame, path, oracle: bool = False,
               size: int = CONTRACT_SIZE, first_cuts: list = ()) -> Path:
    """Write `hedge_figure` as a PNG."""
    return _save(hedge_figure(equity, trades, oracle, size, first_cuts), path)


def hedge_figure(equity: pd.DataFrame, trades: pd.DataFrame, oracle: bool = False, size: int = CONTRACT_SIZE,
                 first_cuts: list = ()) -> Figure:
    """The puts' cumulative P&L in USD (after spread and commission) and the marked value of the puts held."""
    eq = _dated(equity)
    pnl = hedge_pnl(equity, trades, size)
    fig, ax = _figure((14, 5))
    _regime_bands(ax, eq["regime"])
    ax.plot(pnl.index, pnl.to_numpy(), color="#d62728", lw=1.4, zorder=4,
            label="cumulative hedge P&L (marked value + cash flows)")
    ax.fill_between(eq.index, eq["option_value"].to_numpy(), 0.0, color="#1f3b73", alpha=0.55, lw=0, zorder=3,
                    label="marked value of puts held")
    ax.axhline(0, color="black", lw=0.6)
    _cut_lines(ax, eq.index, first_cuts, labelled=False)
    ax.annotate(f"end: {_usd(pnl.iloc[-1])}", (pnl.index[-1], pnl.iloc[-1]), xytext=(-6, 8),
                textcoords="offset points", ha="right", fontsize=9, color="#d62728",
                bbox=dict(boxstyle="round,pad=0.2", fc="white", ec="none", alpha=0.8), zorder=6)
    if not (pnl.abs().max() > 0 or eq["option_value"].abs().max() > 0):
        ax.set_ylim(-1000, 1000)
        ax.text(0.5, 0.6, "no puts were held in this run", transform=ax.transAxes, ha="center", fontsize=11)
    ax.yaxis.set_major_formatter(_formatter(_usd))
    _year_axis(ax, eq.index)
    ax.set_ylabel("USD")
    ax.grid(alpha=0.3)
    _title(ax, f"Put hedge: cumulative P&L after spread and commission, {_span(eq.index)}", oracle)
    _legend_outside(ax, regimes=eq["regime"])
    fig.tight_layout()
    return fig


def _figure(size, rows: int = 1, cols: int = 1, height_ratios=None, squeeze: bool = True,
            layout: str | None = None, sharex: bool = False, sharey: bool = False):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=size, dpi=DPI, layout=layout)
    FigureCanvasAgg(fig)
    axes = fig.subplots(rows, cols, squeeze=squeeze, sharex=sharex, sharey=sharey,
                        height_ratios=height_ratios)
    return fig, axes


def _save(fig: Figure, path) -> Path:
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, metadata={"Software": None})
    return out


def _dated(frame: pd.DataFrame) -> pd.DataFrame:
    if "date" in frame.columns:
        return frame.set_index(pd.to_datetime(frame["date"])).drop(columns="date")
    return frame


def _regime_bands(ax, regime: pd.Series, alpha: float | None = None) -> None:
    regime = regime.dropna()
    if regime.empty:
        return
    for name, start, end in regime_spans(regime):
        ax.axvspan(start, end, color=REGIME_COLOURS.get(name, "#ffffff"),
                   alpha=alpha if alpha is not None else REGIME_ALPHA.get(name, BAND_ALPHA), lw=0, zorder=0)


def _cut_lines(ax, days: pd.DatetimeIndex, first_cuts, labelled: bool) -> None:
    shown = [pd.Timestamp(c) for c in first_cuts if days[0] <= pd.Timestamp(c) <= days[-1]]
    span = (days[-1] - days[0]).days
    for k, cut in enumerate(shown):
        ax.axvline(cut, color=CUT_COLOUR, ls="--", lw=1.0, zorder=4,
                   label="first cut of an easing cycle" if k == 0 else None)
        if labelled and len(shown) <= MAX_CYCLES_SHOWN:  # more labels would only overlap
            near_end = (days[-1] - cut).days < 0.08 * span
            ax.annotate(f"first cut\n{cut.date()}", (cut, 0.98 if k % 2 == 0 else 0.885),
                        xycoords=("data", "axes fraction"), xytext=(-4 if near_end else 4, 0),
                        textcoords="offset points", va="top", ha="right" if near_end else "left",
                        fontsize=9, color=CUT_COLOUR,
                        bbox=dict(boxstyle="round,pad=0.2", fc="white", ec="none", alpha=0.8), zorder=6)


def _year_axis(ax, days: pd.DatetimeIndex) -> None:
    """Dates along x over the whole run: years, or months for a run shorter than four years."""
    ax.set_xlim(days[0], days[-1])
    years = (days[-1] - days[0]).days / 365.25
    if years < 4:
        _month_ticks(ax, days[0], days[-1])
        ax.set_xlabel("date")
        return
    import matplotlib.dates as mdates

    step = 1 if years <= 12 else 2 if years <= 32 else 5
    ax.xaxis.set_major_locator(mdates.YearLocator(step))
    ax.xaxis.set_minor_locator(mdates.YearLocator(1))
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%Y"))
    ax.set_xlabel("year")


def _month_ticks(ax, start: pd.Timestamp, end: pd.Timestamp) -> None:
    """About five to eight month ticks, labelled with the year where it changes."""
    from matplotlib.dates import ConciseDateFormatter, MonthLocator

    months = (end - start).days / 30.44
    step = next((m for m in (1, 2, 3, 4, 6, 12) if months / m <= 8), 12)
    locator = MonthLocator(bymonth=range(1, 13, step))
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))


def _usd_log_axis(ax, ratio: float) -> None:
    """USD labels on a log axis: 1-2-5 steps, or evenly spaced values when the curve spans under 4x."""
    from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator

    if ratio < 4:
        ax.yaxis.set_major_locator(MaxNLocator(nbins=7))
    else:
        ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0), numticks=20))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: _usd(v)))
    ax.yaxis.set_minor_formatter(FuncFormatter(lambda v, _: ""))


def _formatter(fn):
    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(lambda v, _: fn(v))


def _usd(v: float) -> str:
    """$1.2M, $350k, -$40k, $0."""
    sign = "-" if v < 0 else ""
    a = abs(v)
    if a >= 1e6:
        digits = 0 if a >= 1e7 and a % 1e6 == 0 else 1 if round(a / 1e5) * 1e5 == round(a) else 2
        return f"{sign}${a / 1e6:.{digits}f}M"
    if a >= 1e3:
        return f"{sign}${a / 1e3:.0f}k"
    return f"{sign}${a:.0f}"


def _pct(x) -> str:
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{float(x):.1%}"


def _span(days: pd.DatetimeIndex) -> str:
    return f"{days[0].date()} to {days[-1].date()}"


def _title(ax, text: str, oracle: bool) -> None:
    ax.set_title((ORACLE_PREFIX + text) if oracle else text, fontsize=12,
                 color=ORACLE_COLOUR if oracle else "black")


def _legend_outside(ax, regimes: pd.Series | None = None) -> None:
    from matplotlib.patches import Patch

    handles, _ = ax.get_legend_handles_labels()
    if regimes is not None:
        handles += [Patch(facecolor=REGIME_COLOURS[r], alpha=max(REGIME_ALPHA.get(r, BAND_ALPHA), 0.45),
                          label=f"regime: {r}") for r in REGIMES if (regimes == r).any()]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=9, frameon=False)


def _holding_colours(names) -> list[str]:
    extra = iter(EXTRA_COLOURS * 4)
    return [HOLDING_COLOURS.get(n) or next(extra) for n in names]
