"""Does every series a run reads cover the days the run needs it?

Price files are checked in `data.market` as they are aligned; this module checks the macro series
and the bank-stress gauge's ETFs the same way: a file that starts later than its catalogued first
observation (cut short), ends before the run (see `data.market.natural_end`) or has a hole is
named in the run's notes, and past the catalogue's tolerance (`data.catalog`: GAP_LIMIT_DAYS,
START_SLACK_DAYS, `data.market.MAX_MISSING_DAYS`) refused with one line naming the file and the
days. A less sensitive bank ETF stands in only before a more sensitive one existed, never for a
file that is short or holed: a silent switch would move the regime (March 2023's bank run seen
through XLF is no crisis).
"""

from __future__ import annotations

import pandas as pd

from fedcut.core.errors import DataError
from fedcut.data.catalog import (
    BANK_ETFS,
    GAP_LIMIT_DAYS,
    GAP_NOTE_DAYS,
    INSTRUMENTS,
    MACRO,
    START_SLACK_DAYS,
    successor_first,
)
from fedcut.data.market import FILE_START_SLACK, gap_note, missing_days
from fedcut.data.sources import DataSource


def needed_span(series_id: str, days: pd.DatetimeIndex) -> tuple[pd.Timestamp, pd.Timestamp] | None:
    """The days of the run on which `series_id` can be read: from its first catalogued observation
    (or the run's start) to its discontinuation, its successor's first day (a fallback of the long
    history) or the run's end; None if the run has none."""
    meta = MACRO[series_id]
    start = max(days[0], pd.Timestamp(meta.first_date))
    end = (
        days[-1] if meta.discontinued is None else min(days[-1], pd.Timestamp(meta.discontinued) - pd.Timedelta(days=1))
    )
    until = successor_first(series_id)  # a fallback: read until its successor existed
    end = end if until is None else min(end, pd.Timestamp(until))
    return (start, end) if start <= end else None


def macro_notes(source: DataSource, series_ids: tuple[str, ...], days: pd.DatetimeIndex) -> list[str]:
    """A note for each macro series with a hole in the span the run reads it; a DataError for a
    file cut short at its start or a hole longer than the catalogue allows."""
    notes = []
    for sid in series_ids:
        span = needed_span(sid, days)
        if span is None:
            continue
        meta, series = MACRO[sid], source.macro(sid)
        where = source.origin.get(sid, sid)
        first = series.index[0]
        if first > span[0] and first > pd.Timestamp(meta.first_date) + pd.Timedelta(
            days=START_SLACK_DAYS[meta.frequency]
        ):
            raise DataError(
                f"{where}: {sid} starts {first.date()}, but its history begins {meta.first_date} "
                f"(data/catalog.py) and the run reads it from {span[0].date()}: the file is cut short; "
                f"fetch it again (fedcut data fetch {sid})"
            )
        observed = series.index[(series.index <= span[1])]
        before = observed[observed < span[0]]
        inside = observed[observed >= span[0]]
        dates = inside if before.empty else before[-1:].append(inside)
        gaps = pd.Series(dates[1:] - dates[:-1], index=dates[1:]).dt.days
        note_days, limit = GAP_NOTE_DAYS[meta.frequency], GAP_LIMIT_DAYS[meta.frequency]
        holes = gaps[gaps > note_days]
        if holes.empty:
            continue
        worst = holes.idxmax()
        after = dates[dates.get_loc(worst) - 1]
        shown = f"{after.date()} to {worst.date()} ({holes[worst]} days)"
        if holes[worst] > limit:
            raise DataError(
                f"{where}: no {sid} observation from {after.date()} to {worst.date()} ({holes[worst]} "
                f"days), inside the span the run reads it: a hole longer than {limit} days "
                f"(data/catalog.py GAP_LIMIT_DAYS) would carry one value across it"
            )
        more = f" and {len(holes) - 1} more" if len(holes) > 1 else ""
        notes.append(f"warning: {where}: no {sid} observation from {shown}{more}: the value before is carried")
    return notes


def bank_etfs(source: DataSource) -> tuple[str, ...]:
    """The gauge's ETFs that have a file, most sensitive first: the first is in use at the run's
    end, so it bounds the run's end like the holdings (`data.market.natural_end`)."""
    return tuple(t for t in BANK_ETFS if source.price_path(t) is not None)


def bank_prices(source: DataSource, days: pd.DatetimeIndex) -> tuple[dict[str, pd.Series], list[str]]:
    """The bank-stress gauge's ETFs on the run's days (total return, NaN before each one's file
    starts, a missing day carrying the day before's price) and the notes.

    Each ETF is needed from its first day (`Instrument.first_date`) until a more sensitive one with
    a file exists; a file cut short at its start, or missing more than `MAX_MISSING_DAYS` of those
    days, is refused. A missing file is noted: the gauge reads the next ETF, said in the notes."""
    present = bank_etfs(source)
    notes: list[str | None] = []
    missing = [t for t in BANK_ETFS if t not in present]
    if missing:
        notes.append(
            f"warning: bank-stress gauge: no price file for {', '.join(missing)}; it reads "
            f"{', '.join(present) or 'no bank ETF (the gauge is off)'} instead"
        )
    prices = {}
    for k, t in enumerate(present):
        listed = pd.Timestamp(INSTRUMENTS[t].first_date)
        successor = [pd.Timestamp(INSTRUMENTS[s].first_date) for s in present[:k]]
        last_needed = min([days[-1]] + [d - pd.Timedelta(days=1) for d in successor])
        first_needed = max(days[0], listed)
        px = source.prices(t)["adj_close"]
        where = source.origin.get(t, t)
        if first_needed <= last_needed:
            if px.index[0] > first_needed and px.index[0] - listed > FILE_START_SLACK:
                raise DataError(
                    f"{where}: {t} starts {px.index[0].date()}, but {t} traded from {listed.date()} "
                    f"(data/catalog.py): the file is cut short and the bank-stress gauge may not read "
                    f"another ETF for days {t} traded; fetch it again (fedcut data fetch {t})"
                )
            needed = days[(days >= first_needed) & (days <= last_needed)]
            notes.append(gap_note(where, missing_days(px.index, needed, needed[0], needed[-1])))
        aligned = px.reindex(days)
        prices[t] = aligned.ffill().where(aligned.notna().cummax())
    return prices, [n for n in notes if n]
