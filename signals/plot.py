"""A picture of the regime signal: IWM's total return with the called regime behind it.

`regimes_figure` returns the matplotlib Figure (what a notebook shows); `plot_regimes` writes it
as a PNG for the run folder. Uses matplotlib's Agg canvas directly, so it needs no display and
does not change the global pyplot backend.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from fedcut.signals.regime import REGIMES

if TYPE_CHECKING:  # matplotlib is imported when the picture is drawn
    from matplotlib.figure import Figure

REGIME_COLOURS = {
    "crisis": "#d62728",
    "late_panic": "#9467bd",
    "recession_risk": "#ff9f1c",
    "soft_landing": "#2ca02c",
    "neutral": "#d9d9d9",
}
REGIME_ALPHA = {"neutral": 0.25, "recession_risk": 0.35}  # neutral stays in the background; orange is pale
BAND_ALPHA = 0.22
LINE_TOP = 0.78  # the line's high sits this far up the axis; the cut labels use the space above
IWM_INCEPTION = pd.Timestamp("2000-05-26")  # before it the extended market holds the RUT proxy
# Pictures, the report and the console summary show at most this many easing cycles (the most
# recent, and say so) and label at most this many first cuts, so their cost and size stay bounded
# whatever the data; metrics.json and episodes.csv hold every cycle.
MAX_CYCLES_SHOWN = 12


def regime_spans(regime: pd.Series) -> list[tuple[str, pd.Timestamp, pd.Timestamp]]:
    """Runs of one regime as (regime, first day, first day of the next run or the last day)."""
    values = regime.to_numpy()
    days = regime.index
    starts = np.flatnonzero(np.r_[True, values[1:] != values[:-1]])
    ends = np.r_[starts[1:], len(values) - 1]
    return [(values[s], days[s], days[e]) for s, e in zip(starts, ends)]


def plot_regimes(sig: pd.DataFrame, iwm: pd.Series, cut_dates: list[pd.Timestamp], path,
                 title_suffix: str = "") -> Path:
    """Write `regimes_figure` as a PNG; return its path."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    regimes_figure(sig, iwm, cut_dates, title_suffix).savefig(out)
    return out


def regimes_figure(sig: pd.DataFrame, iwm: pd.Series, cut_dates: list[pd.Timestamp],
                   title_suffix: str = "") -> Figure:
    """IWM total return (log scale) over regime bands.

    Vertical lines mark the first cut of each easing cycle; triangles mark the days a late
    cycle's capitulation was seen (the strategy's buy signal). An oracle frame
    (`sig.attrs["oracle"]`) says so in the title.
    """
    import matplotlib.dates as mdates
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch
    from matplotlib.ticker import FuncFormatter, LogLocator

    iwm = iwm.reindex(sig.index)
    growth = 100 * iwm / iwm.dropna().iloc[0]
    fig = Figure(figsize=(14, 6), dpi=110)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()

    for name, start, end in regime_spans(sig["regime"]):
        ax.axvspan(start, end, color=REGIME_COLOURS[name], alpha=REGIME_ALPHA.get(name, BAND_ALPHA),
                   lw=0, zorder=0)
    ax.plot(growth.index, growth.to_numpy(), color="black", lw=1.0, zorder=3, label="IWM total return")
    ax.set_yscale("log")
    lo, hi = growth.min(), growth.max()
    # Head room above the line so the cut labels never sit on it.
    ax.set_ylim(lo / 1.15, np.exp(np.log(lo / 1.15) + (np.log(hi) - np.log(lo / 1.15)) / LINE_TOP))
    ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0), numticks=20))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.yaxis.set_minor_formatter(FuncFormatter(lambda v, _: ""))

    onset = sig["capitulated"] & ~sig["capitulated"].shift(1, fill_value=False).astype(bool)
    buy = growth[onset.to_numpy()]
    ax.scatter(buy.index, buy.to_numpy(), marker="^", s=70, color="#1f77b4", edgecolor="white",
               linewidth=0.8, zorder=5, label="capitulation seen (late cycle)")

    first, last = sig.index[0], sig.index[-1]
    shown = [pd.Timestamp(c) for c in cut_dates if first <= pd.Timestamp(c) <= last]
    span = (last - first).days
    for k, cut in enumerate(shown):
        ax.axvline(cut, color="#1f3b73", ls="--", lw=1.1, zorder=4)
        if len(shown) > MAX_CYCLES_SHOWN:  # more labels would only overlap
            continue
        near_end = (last - cut).days < 0.08 * span
        ax.annotate(f"first cut\n{cut.date()}", (cut, 0.98 if k % 2 == 0 else 0.885),
                    xycoords=("data", "axes fraction"), xytext=(-4 if near_end else 4, 0),
                    textcoords="offset points", va="top", ha="right" if near_end else "left",
                    fontsize=9, color="#1f3b73",
                    bbox=dict(boxstyle="round,pad=0.2", fc="white", ec="none", alpha=0.8), zorder=6)

    ax.set_xlim(first, last)
    ax.xaxis.set_major_locator(mdates.YearLocator(2))
    ax.xaxis.set_minor_locator(mdates.YearLocator(1))
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%Y"))
    ax.tick_params(labelsize=10)
    label = "IWM total return, growth of 100 (log scale)"
    if first < IWM_INCEPTION:
        label += f"\nRussell 2000 index + dividends before {IWM_INCEPTION.date()}"
    ax.set_ylabel(label, fontsize=10)
    ax.grid(which="major", alpha=0.3, zorder=1)

    oracle = bool(sig.attrs.get("oracle", False))
    title = f"Regime signal and IWM total return, {first.date()} to {last.date()}"
    if oracle:
        title = "ORACLE MODE (future information: actual cut calendar) - " + title
    if title_suffix:
        title += f" {title_suffix}"
    ax.set_title(title, fontsize=12, color="#b00000" if oracle else "black")

    bands = [Patch(facecolor=REGIME_COLOURS[r], alpha=max(REGIME_ALPHA.get(r, BAND_ALPHA), 0.45), label=r)
             for r in REGIMES]
    lines, _ = ax.get_legend_handles_labels()
    cut_handle = Line2D([], [], color="#1f3b73", ls="--", lw=1.1, label="first cut of an easing cycle")
    ax.legend(handles=bands + lines + [cut_handle], loc="upper left", bbox_to_anchor=(1.01, 1.0),
              fontsize=9.5, title="regime (called)", title_fontsize=10, frameon=False)
    fig.tight_layout()
    return fig
