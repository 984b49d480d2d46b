"""How old today's call is: the call's day and each input's newest observation against today's date.

`fedcut now` without `--as-of` answers for the last day the data covers. When that day lies further
back than the inputs' publication lags allow (a newer observation of some input was due, by the
release rules and `now_inputs.STALE_GRACE`, before today), the call is old: `age_warnings` says so and names
each file to refresh. Today is the machine's date, or `FEDCUT_TODAY` (YYYY-MM-DD) when set, so tests
and reproductions can fix the clock. A call `--as-of` a day is a question about the past: its age is
not checked.
"""

from __future__ import annotations

import datetime as dt
import os

import pandas as pd

from fedcut.core.errors import DataError
from fedcut.core.params import Config, iso_date
from fedcut.data.asof import published
from fedcut.now_inputs import Input, input_status, price_status

TODAY = "FEDCUT_TODAY"  # the environment variable that sets the clock


def today(value: str | None = None) -> pd.Timestamp:
    """`value` (YYYY-MM-DD), else $FEDCUT_TODAY, else the machine's date; a malformed date is one
    ConfigError line naming where it came from."""
    where = "today"
    if value is None:
        value, where = os.environ.get(TODAY) or None, TODAY
    if value is None:
        return pd.Timestamp(dt.date.today())
    return pd.Timestamp(iso_date(value, where))


def overdue(inputs: tuple[Input, ...], prepared, cfg: Config, now: pd.Timestamp) -> list[tuple[Input, str]]:
    """Each input whose file's newest observation should have been followed by a newer one before
    `now` (its status on `now`, as `input_status` and `price_status` judge a day), with the file."""
    source = prepared.source
    out = []
    for s in inputs:
        if s.kind == "macro" and s.series in prepared.raw:
            series = prepared.raw[s.series].dropna()
            if series.empty:
                continue
            newest = published(series.iloc[-1:].rename(s.series), cfg.data).iloc[0]
            status = input_status(
                s.series, pd.Timestamp(newest["obs_date"]), pd.Timestamp(newest["known_date"]), now, cfg.data
            )
        elif s.kind == "price":
            try:
                status = price_status(s.series, source.prices(s.series).index, now)
            except DataError:  # a stand-in that is no price file (VXO, a modelled volatility): past history
                continue
        else:
            continue
        if status.stale:
            out.append((status, str(source.origin.get(s.series, s.series))))
    return out


def age_warnings(day: pd.Timestamp, now: pd.Timestamp, inputs: tuple[Input, ...], prepared, cfg: Config) -> list[str]:
    """The warnings of a call for `day` made on `now`: none while every input is as new as its
    release rule allows; else one line saying how old the call is, then one per file to refresh."""
    late = overdue(inputs, prepared, cfg, now) if now > day else []
    if not late:
        return []
    lines = [
        f"the call is for {day.date()}, {(now - day).days} days before today ({now.date()}): by the release "
        f"rules {len(late)} of its inputs should have newer data by now; refresh the files below (`fedcut data "
        f"fetch`, online, or a newer copy), or set {TODAY}=YYYY-MM-DD if today is not the day meant"
    ]
    lines += [
        f"{s.series}: newest observation {s.observation_date.date()} (known {s.known_date.date()}), the next "
        f"was due {s.next_due.date()}: refresh {path}"
        for s, path in late
    ]
    return lines
