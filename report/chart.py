"""The report's interactive equity and drawdown chart: the run's curves as JSON in the page, drawn
by a small self-written script (`chart.js`, shipped beside this module) as inline SVG.

It works offline from the one file: no library, no link. The reader zooms (drag across the chart,
or a button per easing cycle's window, or "all"), reads any week off it (date, the strategy's and
the buy-and-hold benchmark's value and drawdown, the regime called) and sees the regime bands. The page's
address can ask for a view: `report.html#zoom=2007` (a cycle's window), `#zoom=2008-01-01..2009-06-30`,
and `&hover=2008-10-10`; the script writes what it shows into `<output id="chart-state">`, which is
how a test reads the chart from a real browser. Without a script the static picture stands in.
"""

from __future__ import annotations

import json
from importlib import resources

import numpy as np
import pandas as pd

from fedcut.data.benchmark import IWM
from fedcut.plots.kit import CUT_COLOUR, regime_colour, regime_order
from fedcut.report.html import escape

DAILY_UP_TO = 1300  # trading days (about five years) drawn day by day; a longer run is drawn week by week
SIDES = {"strategy": "#1f3b73", "benchmark": "#ff7f0e"}  # the pictures' colours for the two curves


def weekly(equity: pd.DataFrame) -> pd.DataFrame:
    """The strategy's and IWM's value, drawdown and the regime called, one row per point drawn: each
    day of a run up to `DAILY_UP_TO` days, else each week's last trading day. A week's drawdown is
    its deepest day's (from the daily running high), so the chart shows every trough at its depth."""
    frame = pd.DataFrame(index=equity.index)
    for side in SIDES:
        value = equity[side].astype(float)
        frame[side] = value
        frame[f"{side}_drawdown"] = value / value.cummax() - 1.0
    frame["regime"] = equity["regime"].astype(str)
    if len(frame) <= DAILY_UP_TO:
        return frame
    week = frame.index.to_period("W-FRI")
    last = frame.groupby(week).tail(1)
    deepest = frame[[f"{side}_drawdown" for side in SIDES]].groupby(week).min()
    for side in SIDES:
        last[f"{side}_drawdown"] = deepest[f"{side}_drawdown"].to_numpy()
    return last


def chart_data(equity: pd.DataFrame, episodes: pd.DataFrame, label: str, benchmark: str = IWM.label) -> dict:
    """What the script draws, as plain data: dates, values (USD, cents), drawdowns (fractions) and
    regimes (indices into `regimes`), the easing cycles' windows and first cuts, names and colours."""
    points = weekly(equity)
    regimes = regime_order(set(points["regime"]))
    index = {r: k for k, r in enumerate(regimes)}
    cycles = (
        [
            {"name": str(e.cycle), "from": str(e.window_start), "to": str(e.window_end), "cut": str(e.first_cut)}
            for e in episodes.itertuples()
        ]
        if len(episodes)
        else []
    )
    out = {
        "dates": [d.strftime("%Y-%m-%d") for d in points.index],
        "weekly": len(points) < len(equity),
        "labels": {"strategy": label, "benchmark": benchmark},
        "colours": {**SIDES, "cut": CUT_COLOUR},
        "regimes": regimes,
        "regime_colours": [regime_colour(r) for r in regimes],
        "regime": [index[r] for r in points["regime"]],
        "cycles": cycles,
    }
    for side in SIDES:
        out[side] = [round(float(v), 2) for v in points[side]]
        out[f"{side}_drawdown"] = [round(float(v), 5) for v in np.minimum(points[f"{side}_drawdown"], 0.0)]
    return out


def script() -> str:
    """The chart's script, shipped as `chart.js` beside this module."""
    return resources.files("fedcut.report").joinpath("chart.js").read_text(encoding="utf-8")


def interactive_chart(equity: pd.DataFrame, episodes: pd.DataFrame, label: str, benchmark: str, fallback: str) -> str:
    """The chart's HTML: its buttons, the SVG the script fills, the read-out, the data as JSON and the
    script; `fallback` (the static picture's figure) shows where scripts do not run. `benchmark`: the
    benchmark's name in the run (`data.benchmark`)."""
    data = chart_data(equity, episodes, label, benchmark)
    # <, > and & as JSON escapes: no text of the run (a regime name, a date) can open or close a tag
    payload = (
        json.dumps(data, separators=(",", ":"), sort_keys=True)
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
    )
    buttons = "".join(
        f'<button type="button" data-zoom="{escape(c["name"])}">{escape(c["name"])}</button>' for c in data["cycles"]
    )
    step = "week by week (each week's last close; its deepest drawdown)" if data["weekly"] else "day by day"
    return (
        f'<div id="chart" class="chart"><div class="chart-bar">zoom: <button type="button" data-zoom="all">all'
        f'</button>{buttons}<span class="note"> or drag across the chart; double-click for all.</span></div>'
        f'<svg id="chart-svg" role="img" aria-label="value and drawdown of the strategy and {escape(benchmark)}">'
        '</svg><output id="chart-state" aria-live="polite"></output>'
        f'<p class="note">Interactive: value in USD (log scale) above, fall from the running high below, '
        f"drawn {step}; background = regime called; dashed lines = first cut of each easing cycle. Hover to "
        "read a date.</p></div>"
        f'<script type="application/json" id="chart-data">{payload}</script>'
        f"<script>{script()}</script><noscript>{fallback}</noscript>"
    )


CHART_CSS = """
.chart{margin:10px 0 16px}.chart svg{display:block;width:100%;height:460px;border:1px solid #ddd;user-select:none}
.chart-bar{font-size:.9em;margin:0 0 6px}.chart-bar button{margin:0 3px 3px 0;padding:2px 8px;font:inherit;cursor:pointer}
.chart-bar button.on{background:#1f3b73;color:#fff}
#chart-state{display:block;font-size:.88em;min-height:2.6em;margin:4px 0;font-variant-numeric:tabular-nums}
"""
