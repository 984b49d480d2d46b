"""The policy rate's history: every change, when it became known, and the first cut of each easing cycle.

Built from the data, never from a list: DFEDTAR (to 2008-12-15, dated on the decision day)
then the range's upper bound DFEDTARU (from 2008-12-16, dated on the day the new range took
effect, which since 2017 is the day after the decision); in the long history, before them,
Romer and Romer's record of each FOMC meeting and the discount rate (`policy_record`). The
chronology of easing cycles is an ex-post rule on that record (`easing_cycles`).

Each target file is checked against the FOMC calendar when it is read (`check_policy_series`):
the target changes a few times a year on decision days, so a file that moves on other days, or
by an implausible step, is a corrupt download, another series or a calendar missing a decision,
and is refused; the calendar itself must hold every scheduled meeting (`check_calendar`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pandas.tseries.offsets import BDay

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
            raise DataError(
                f"{path}: {year} has {have} scheduled meetings, {want} expected (eight a year since "
                "1981, seven in 2020): a decision day is missing or added; restore the calendar "
                "from ../shared/data/calendar/FOMC.csv or the Federal Reserve's list"
            )


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
    explained = (
        moved.isin(decisions) | before.isin(calls) | ((moved >= EFFECTIVE_NEXT_DAY_FROM) & before.isin(decisions))
    )
    return moved[~explained]


def check_policy_series(target: pd.Series, fomc: pd.DataFrame, path, fomc_path: str, max_change: float) -> None:
    """Refuse a target file that moves on a day no FOMC decision explains, or by more than
    `max_change` percentage points in a day; one line naming the file and dates."""
    off = offcalendar_changes(target, fomc)
    if len(off):
        shown = ", ".join(str(d.date()) for d in off[:SHOWN_DATES])
        raise DataError(
            f"{path}: the target changes on {len(off):,} day{'s' if len(off) > 1 else ''} that no FOMC "
            f"decision explains ({shown}{', ...' if len(off) > SHOWN_DATES else ''}; calendar {fomc_path}, "
            f"{fomc.index[0].date()}..{fomc.index[-1].date()}): a decision missing from the calendar, "
            "or not a policy-rate series"
        )
    step = target.diff().abs()
    big = step[step > max_change + 1e-9]
    if len(big):
        day = big.index[0]
        before = target.iloc[target.index.get_loc(day) - 1]
        raise DataError(
            f"{path}: {day.date()}: the target moves from {before:g} to {target[day]:g}, more than "
            f"data.max_target_change = {max_change:g} pp in one day: not a policy-rate series"
        )


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
    out = pd.DataFrame(
        {
            "effective": effective,
            "decision": decision,
            "before": target.shift(1).loc[effective].to_numpy(),
            "after": target.loc[effective].to_numpy(),
        }
    )
    out["change_bp"] = ((out["after"] - out["before"]) * 100).round().astype(int)
    out["days_since_previous"] = out["decision"].diff().dt.days
    return out


# The easing-cycle chronology a run reports on (episode windows, the verdict's count): ex post, on the
# best policy record of each era, like the NBER's recession dates; never a signal. A cycle's first cut
# follows a hike and leads at least CYCLE_MIN_CUTS of cuts within CYCLE_MONTHS (itself included):
# the 1957-2024 record gives 26 starts, splitting the mid-1980s' fine-tuning (docs/long_history.md).
# A fixed rule, not a setting: a run or a sweep must not choose the cycles it is judged on.
CYCLE_MIN_CUTS = 0.75  # pp
CYCLE_MONTHS = 12


def easing_cycles(changes: pd.DataFrame) -> pd.DataFrame:
    """First cut of each easing cycle (`CYCLE_MIN_CUTS`, `CYCLE_MONTHS`): a cut whose previous change
    was a hike (or the first change), with at least 0.75 pp of cuts decided within 12 months of it."""
    step = changes["after"].to_numpy() - changes["before"].to_numpy()
    prev = changes["change_bp"].shift(1)
    first = ((changes["change_bp"] < 0) & ((prev > 0) | prev.isna())).to_numpy().copy()
    decision = changes["decision"].reset_index(drop=True)
    ends = decision + pd.DateOffset(months=CYCLE_MONTHS)
    for i in first.nonzero()[0]:
        inside = ((decision >= decision[i]) & (decision < ends[i])).to_numpy()
        first[i] = -step[inside & (step < 0)].sum() >= CYCLE_MIN_CUTS - 1e-9
    cycles = changes[first].copy()
    cycles["cycle"] = cycle_names(cycles["decision"])
    return cycles.reset_index(drop=True)[["cycle", "decision", "effective", "before", "after", "change_bp"]]


def policy_record(
    dfedtar: pd.Series,
    dfedtaru: pd.Series,
    data_params,
    mdiscrt: pd.Series | None = None,
    romer: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Every change of the policy rate, era by era, and the day each became known (`known`):

    - the discount rate's monthly average (MDISCRT) for months before Romer and Romer's first meeting:
      a change of the average, dated on its month's first day, known once the month is over
      (`data.monthly_average_lag_days`);
    - Romer and Romer's intended rate (`romer`) at each meeting before DFEDTAR's first day: the change
      decided there, known `data.romer_lag_days` after (decisions were not announced before 1994);
    - DFEDTAR, then DFEDTARU (`rate_changes`), known on FRED's date.

    Without `mdiscrt` and `romer` (the iwm and extended histories) it is `rate_changes` of the target
    with `known` = `effective`. A change is never known before an earlier one."""
    target = rate_changes(target_series(dfedtar, dfedtaru))
    parts = []
    if romer is not None:
        meetings = romer[(romer["DTARG"] != 0) & (romer.index < dfedtar.index[0])]
        when = pd.Series(meetings.index)
        parts.append(
            pd.DataFrame(
                {
                    "effective": when,
                    "decision": when,
                    "known": when + pd.Timedelta(days=data_params.romer_lag_days),
                    "before": meetings["OLDTARG"].to_numpy(),
                    "after": (meetings["OLDTARG"] + meetings["DTARG"]).to_numpy(),
                }
            )
        )
        if mdiscrt is not None:
            months = mdiscrt[mdiscrt.index < romer.index[0].to_period("M").to_timestamp()]
            step = months.diff()
            moved = step[step.fillna(0) != 0].index
            month = pd.Series(moved)
            parts.insert(
                0,
                pd.DataFrame(
                    {
                        "effective": month,
                        "decision": month,
                        "known": month + pd.offsets.MonthEnd(0) + BDay(data_params.monthly_average_lag_days),
                        "before": months.shift(1).loc[moved].to_numpy(),
                        "after": months.loc[moved].to_numpy(),
                    }
                ),
            )
    if not parts:
        return target.assign(known=target["effective"])
    early = pd.concat(parts, ignore_index=True)
    early["change_bp"] = ((early["after"] - early["before"]) * 100).round().astype(int)
    out = pd.concat(
        [early, target.drop(columns="days_since_previous").assign(known=target["effective"])], ignore_index=True
    )
    out["known"] = pd.DatetimeIndex(np.maximum.accumulate(out["known"].to_numpy()))
    out["days_since_previous"] = out["decision"].diff().dt.days
    return out[list(target.columns) + ["known"]]


def cycle_names(first_cuts) -> list[str]:
    """A cycle is named by the year of its first cut ("2019"), or by the cut's date when another
    cycle starts in the same year ("2019-07-31"), so names stay unique whatever the data."""
    days = pd.DatetimeIndex(first_cuts)
    years = pd.Series(days.year)
    shared = years.duplicated(keep=False).to_numpy()
    return [str(d.date()) if twin else str(d.year) for d, twin in zip(days, shared)]
