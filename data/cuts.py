"""The federal funds target's history: every change, and the first cut of each easing cycle.

Built from the data, never from a list: DFEDTAR (to 2008-12-15, dated on the decision day)
then the range's upper bound DFEDTARU (from 2008-12-16, dated on the day the new range took
effect, which since 2017 is the day after the decision). An easing cycle starts with a cut
whose previous change was a hike.
"""
from __future__ import annotations

import pandas as pd

from fedcut.errors import DataError

EFFECTIVE_NEXT_DAY_FROM = pd.Timestamp("2017-01-01")  # FRED dates range changes on the effective day from 2017


def target_series(dfedtar: pd.Series, dfedtaru: pd.Series) -> pd.Series:
    """One daily target: the single target to 2008-12-15, then the range's upper bound."""
    if dfedtar.empty or dfedtaru.empty:
        raise DataError("DFEDTAR/DFEDTARU: empty, cannot build the fed funds target")
    late = dfedtaru[dfedtaru.index > dfedtar.index[-1]]
    return pd.concat([dfedtar, late]).rename("target")


def rate_changes(target: pd.Series) -> pd.DataFrame:
    """Every change of the target: `effective` (FRED's date), `decision` (FOMC decision day),
    `before`, `after`, `change_bp` (negative for cuts), `days_since_previous`."""
    step = target.diff()
    moved = step[step.fillna(0) != 0]
    effective = moved.index
    decision = effective.where(effective < EFFECTIVE_NEXT_DAY_FROM, effective - pd.Timedelta(days=1))
    out = pd.DataFrame({
        "effective": effective,
        "decision": decision,
        "before": target.shift(1).loc[effective].to_numpy(),
        "after": target.loc[effective].to_numpy(),
    })
    out["change_bp"] = ((out["after"] - out["before"]) * 100).round().astype(int)
    out["days_since_previous"] = out["decision"].diff().dt.days
    return out


def easing_cycles(changes: pd.DataFrame) -> pd.DataFrame:
    """First cut of each easing cycle: a cut whose previous change was a hike (or the first change)."""
    prev = changes["change_bp"].shift(1)
    first = (changes["change_bp"] < 0) & ((prev > 0) | prev.isna())
    cycles = changes[first].copy()
    cycles["cycle"] = cycles["decision"].dt.year.astype(str)
    return cycles.reset_index(drop=True)[["cycle", "decision", "effective", "before", "after", "change_bp"]]
