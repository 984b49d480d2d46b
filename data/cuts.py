"""The federal funds target's history: every change, and the first cut of each easing cycle.

Built from the data, never from a list: DFEDTAR (to 2008-12-15, dated on the decision day)
then the range's upper bound DFEDTARU (from 2008-12-16, dated on the day the new range took
effect, which since 2017 is the day after the decision). An easing cycle starts with a cut
whose previous change was a hike.

Each target file is checked against the FOMC calendar when it is read (`check_policy_series`):
the target changes a few times a year on decision days, so a file that moves on other days, or
by an implausible step, is a corrupt download, another series or a calendar missing a decision,
and is refused; the calendar itself must hold every scheduled meeting (`check_calendar`).
"""
from __future__ import annotations

import pandas as pd

from fedcut.core.errors import DataError

EFFECTIVE_NEXT_DAY_FROM = pd.Timestamp("2017-01-01")  # FRED dates range changes on the effective day from 2017
# The first announced decision: before it the FOMC did not announce its moves and changes between
# meetings were routine, so a change off the calendar says nothing about the file.
ANNOUNCED_FROM = pd.Timestamp("1994-02-04")
SHOWN_DATES = 3  # offending dates named in an error


# The FOMC has held eight scheduled meetings a year since 1981; a calendar with fewer in a year
# since decisions were announced has lost a row, and a lost decision day turns a scheduled cut
# into an "intermeeting" one (a late panic) in silence. The one exception since 1994:
SCHEDULED_PER_YEAR = 8
SCHEDULED_EXCEPTIONS = {2020: 7}  # the March 17-18 meeting was replaced by the calls of March 3 and 15


def check_calendar(fomc: pd.DataFrame, path) -> None:
    """Refuse an FOMC calendar that lacks a scheduled meeting in a year it covers since 1994: one
    line naming the year and the count. A year counts when the calendar starts before it and
    reaches its December."""
    scheduled = fomc.index[(fomc["kind"] == "scheduled").to_numpy()]
    if scheduled.empty:
        raise DataError(f"{path}: no scheduled meeting")
    first = max(ANNOUNCED_FROM.year, fomc.index[0].year + (fomc.index[0] > pd.Timestamp(fomc.index[0].year, 1, 1)))
    last = scheduled[-1].year - (scheduled[-1].month < 12)
    counts = pd.Series(scheduled.year).value_counts()
    for year in range(first, last + 1):
        want = SCHEDULED_EXCEPTIONS.get(year, SCHEDULED_PER_YEAR)
        have = int(counts.get(year, 0))
        if have != want:
            raise DataError(f"{path}: {year} has {have} scheduled meetings, {want} expected (eight a year since "
                            "1981, seven in 2020): a decision day is missing or added; restore the calendar "
                            "from ../shared/data/calendar/FOMC.csv or the Federal Reserve's list")


def offcalendar_changes(target: pd.Series, fomc: pd.DataFrame) -> pd.DatetimeIndex:
    """Days from 1994-02-04 to the calendar's last day on which `target` changes but no FOMC
    decision explains it.

    A change is explained on a decision day (scheduled or unscheduled), on the day after one
    since 2017 (FRED's effective date), and on the day after an unscheduled call (evening calls
    announced the next morning: FRED dates the 2008-01-21 and 2008-10-07 cuts a day later).
    """
    step = target.diff()
    moved = target.index[(step.fillna(0) != 0).to_numpy()]
    moved = moved[(moved >= ANNOUNCED_FROM) & (moved <= fomc.index.max())]
    decisions = fomc.index
    calls = fomc.index[(fomc["kind"] == "unscheduled").to_numpy()]
    before = moved - pd.Timedelta(days=1)
    explained = (moved.isin(decisions) | before.isin(calls)
                 | ((moved >= EFFECTIVE_NEXT_DAY_FROM) & before.isin(decisions)))
    return moved[~explained]


def check_policy_series(target: pd.Series, fomc: pd.DataFrame, path, fomc_path: str, max_change: float) -> None:
    """Refuse a target file that moves on a day no FOMC decision explains, or by more than
    `max_change` percentage points in a day; one line naming the file and dates."""
    off = offcalendar_changes(target, fomc)
    if len(off):
        shown = ", ".join(str(d.date()) for d in off[:SHOWN_DATES])
        raise DataError(f"{path}: the target changes on {len(off):,} day{'s' if len(off) > 1 else ''} that no FOMC "
                        f"decision explains ({shown}{', ...' if len(off) > SHOWN_DATES else ''}; calendar {fomc_path}, "
                        f"{fomc.index[0].date()}..{fomc.index[-1].date()}): a decision missing from the calendar, "
                        "or not a policy-rate series")
    step = target.diff().abs()
    big = step[step > max_change + 1e-9]
    if len(big):
        day = big.index[0]
        before = target.iloc[target.index.get_loc(day) - 1]
        raise DataError(f"{path}: {day.date()}: the target moves from {before:g} to {target[day]:g}, more than "
                        f"data.max_target_change = {max_change:g} pp in one day: not a policy-rate series")


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
    cycles["cycle"] = cycle_names(cycles["decision"])
    return cycles.reset_index(drop=True)[["cycle", "decision", "effective", "before", "after", "change_bp"]]


def cycle_names(first_cuts) -> list[str]:
    """A cycle is named by the year of its first cut ("2019"), or by the cut's date when another
    cycle starts in the same year ("2019-07-31"), so names stay unique whatever the data."""
    days = pd.DatetimeIndex(first_cuts)
    years = pd.Series(days.year)
    shared = years.duplicated(keep=False).to_numpy()
    return [str(d.date()) if twin else str(d.year) for d, twin in zip(days, shared)]
