"""Strategy against benchmark around each easing cycle: one row per first cut.

A cycle's window runs from some months before its first cut to some months after, clipped
to the data. Drawdowns are measured on each series restricted to the window, so the peak
lies inside the window; returns from the first cut run on the whole series, from the close
on (or last before) the cut day to the close on (or last before) the horizon. The run-up
(`*_return_before_3m`) is the "buy before the cuts" half of the question: the return over the
RUNUP_MONTHS before the cut, to the close on (or last before) the cut day.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from fedcut.analyzers.performance import iso_date, max_drawdown
from fedcut.core.errors import DataError
from fedcut.data.cuts import cycle_names

HORIZON_MONTHS = (6, 12, 24)  # returns from the first cut over these horizons
RUNUP_MONTHS = 3  # the run-up measured before the first cut: about one FOMC meeting cycle and a half of anticipation
WEIGHT_PREFIX = "w_"  # weight columns are named w_<TICKER>


@dataclass(frozen=True)
class Window:
    """The span of data analysed for one easing cycle."""

    cycle: str  # year of the first cut, e.g. "2001" (its date when two cycles start in one year)
    first_cut: pd.Timestamp
    start: pd.Timestamp  # nominal start clipped to the data
    end: pd.Timestamp  # nominal end clipped to the data
    nominal_start: pd.Timestamp
    nominal_end: pd.Timestamp

    @property
    def complete(self) -> bool:
        """The data reaches the window's nominal end."""
        return self.end == self.nominal_end

    @property
    def partial(self) -> bool:
        """The data covers less than the nominal window, at either end."""
        return not self.complete or self.start != self.nominal_start

    @property
    def coverage(self) -> str:
        """'full', or which end of the window the data cuts off."""
        cut = []
        if self.start != self.nominal_start:
            cut.append(f"data starts {self.start.date()} (window from {self.nominal_start.date()})")
        if not self.complete:
            cut.append(f"data ends {self.end.date()} (window to {self.nominal_end.date()})")
        return "; ".join(cut) or "full"


def cycle_windows(
    first_cuts: list[pd.Timestamp],
    months_before: int = 6,
    months_after: int = 24,
    *,
    data_end: pd.Timestamp,
    data_start: pd.Timestamp | None = None,
) -> list[Window]:
    """A window per first cut, clipped to [data_start, data_end]; cycles wholly outside the data are left out."""
    data_end = pd.Timestamp(data_end)
    data_start = pd.Timestamp(data_start) if data_start is not None else None
    windows = []
    cuts = sorted(pd.Timestamp(c) for c in first_cuts)
    for cut, name in zip(cuts, cycle_names(cuts)):
        nominal_start = cut - pd.DateOffset(months=months_before)
        nominal_end = cut + pd.DateOffset(months=months_after)
        if nominal_start > data_end or (data_start is not None and nominal_end < data_start):
            continue
        start = max(nominal_start, data_start) if data_start is not None else nominal_start
        windows.append(Window(name, cut, start, min(nominal_end, data_end), nominal_start, nominal_end))
    return windows


def episode_table(
    strategy: pd.Series,
    benchmark: pd.Series,
    windows: list[Window],
    hedge_pnl: pd.Series | None = None,
    regimes: pd.Series | None = None,
    weights: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row per cycle window comparing the strategy's equity with the benchmark's.

    `hedge_pnl` is the hedge's daily profit in USD (summed over the window, and as a fraction
    of the strategy's value on the window's first day); `regimes` one label per trading day;
    `weights` the daily portfolio weights in `w_<TICKER>` columns. Dates are ISO strings;
    a drawdown not recovered within the window and a horizon the data does not reach are
    missing (NaN).
    """
    rows = []
    for window in windows:
        in_strategy = _inside(strategy, window, "strategy")
        days = in_strategy.index
        row = {
            "cycle": window.cycle,
            "first_cut": iso_date(window.first_cut),
            "window_start": iso_date(days[0]),
            "window_end": iso_date(days[-1]),
            "complete": window.complete,
            "coverage": window.coverage,
        }
        for name, equity in (("strategy", strategy), ("benchmark", benchmark)):
            row.update(_side(name, equity, window))
        if hedge_pnl is not None:
            pnl = float(hedge_pnl[window.start : window.end].sum())
            row["hedge_pnl"] = pnl
            row["hedge_pnl_fraction"] = pnl / float(in_strategy.iloc[0])
        else:
            row["hedge_pnl"] = row["hedge_pnl_fraction"] = None
        row["regime_mix"] = regime_mix(regimes.reindex(days)) if regimes is not None else None
        if weights is not None:
            average = weights.filter(regex=f"^{WEIGHT_PREFIX}").reindex(days).mean()
            row["holdings_mix"] = holdings_mix(average)
            row.update(average.to_dict())
        rows.append(row)
    return pd.DataFrame(rows)


def regime_mix(labels: pd.Series) -> str:
    """Share of days per regime, largest first: 'soft_landing 60%, neutral 40%' (missing = 'unknown')."""
    shares = labels.fillna("unknown").value_counts(normalize=True)
    return ", ".join(f"{name} {share:.0%}" for name, share in _largest_first(shares))


def holdings_mix(average_weights: pd.Series) -> str:
    """Average weight per ticker, largest first: 'IWM 62%, SHY 38%' (weights under 0.5% left out)."""
    named = average_weights.rename(lambda c: c.removeprefix(WEIGHT_PREFIX))
    return ", ".join(f"{name} {w:.0%}" for name, w in _largest_first(named) if abs(w) >= 0.005)


def _side(name: str, equity: pd.Series, window: Window) -> dict:
    """Drawdown inside the window, window return and returns from the first cut for one series."""
    inside = _inside(equity, window, name)
    dd = max_drawdown(inside)
    out = {
        f"{name}_max_drawdown": dd.depth,
        f"{name}_peak": iso_date(dd.peak),
        f"{name}_trough": iso_date(dd.trough),
        f"{name}_recovery": iso_date(dd.recovery),
        f"{name}_days_under_water": dd.days_under_water,
        f"{name}_return": float(inside.iloc[-1] / inside.iloc[0] - 1.0),
        f"{name}_return_before_{RUNUP_MONTHS}m": return_before(equity, window.first_cut, RUNUP_MONTHS),
    }
    for months in HORIZON_MONTHS:
        out[f"{name}_return_{months}m"] = return_after(equity, window.first_cut, months)
    return out


def return_after(equity: pd.Series, start: pd.Timestamp, months: int) -> float | None:
    """Return from the close on (or last before) `start` to the close `months` later; None if the data does not span it."""
    end = start + pd.DateOffset(months=months)
    if start < equity.index[0] or end > equity.index[-1]:
        return None
    return float(equity.asof(end) / equity.asof(start) - 1.0)


def return_before(equity: pd.Series, end: pd.Timestamp, months: int) -> float | None:
    """Return from the close on (or last before) `months` before `end` to the close on (or last before)
    `end`; None if the data does not span it."""
    start = end - pd.DateOffset(months=months)
    if start < equity.index[0] or end > equity.index[-1]:
        return None
    return float(equity.asof(end) / equity.asof(start) - 1.0)


def recession_label(usrec: pd.Series, start: pd.Timestamp, end: pd.Timestamp) -> str:
    """What NBER's recession months say about the days `start`..`end`: "NBER recession 2001-04 to
    2001-11" (each spell of months flagged 1 that touches the span, whole), or "no NBER recession";
    "USREC known to YYYY-MM" is added when the series stops before `end`. USREC is dated months or
    years after the fact: a label to evaluate a cycle with, never an input to the rules."""
    months = usrec.dropna().sort_index()
    if months.empty:
        return "USREC has no values"
    flagged = (months > 0.5).to_numpy()
    starts = np.flatnonzero(flagged & ~np.r_[False, flagged[:-1]])
    ends = np.flatnonzero(flagged & ~np.r_[flagged[1:], False])
    spells = [
        (months.index[a], months.index[b])
        for a, b in zip(starts, ends)
        if months.index[a] <= end and months.index[b] + pd.offsets.MonthEnd(0) >= start
    ]
    text = "; ".join(f"NBER recession {a:%Y-%m} to {b:%Y-%m}" for a, b in spells) or "no NBER recession"
    last = months.index[-1]
    if last + pd.offsets.MonthEnd(0) < end:
        text += f" (USREC known to {last:%Y-%m})"
    return text


def _inside(equity: pd.Series, window: Window, name: str) -> pd.Series:
    inside = equity[window.start : window.end]
    if inside.empty:
        raise DataError(f"{name}: no values in the {window.cycle} window {window.start.date()} to {window.end.date()}")
    return inside


def _largest_first(shares: pd.Series) -> list[tuple[str, float]]:
    return sorted(shares.items(), key=lambda item: (-item[1], str(item[0])))
