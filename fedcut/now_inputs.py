"""The inputs of today's call and their age: which series the rules read on a day, when each
observation became known, and whether the next one is overdue.

Staleness: a series is stale on day D when its next observation should have been published, by
the project's own release rule (`data.asof.known_dates`, the `data.*` lags), more than
`STALE_GRACE` before D, and the data does not have it. Daily series: more than 5 business days
old; weekly claims: from 16 days after their week's date; monthly CPI: past the 24th of the
second month after its month (the jobs report: 3 days after the first Friday on or after the 5th).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from pandas.tseries.offsets import BDay

from fedcut.data.asof import first_known, published
from fedcut.data.catalog import FRENCH_FACTORS, INSTRUMENTS, MACRO, REGIME_SERIES, ROMER_FILE, ROMER_FIRST, STAND_INS
from fedcut.data.gauge import MODELLED
from fedcut.data.sources import DataSource
from fedcut.data.splices import stand_in_level

# How long past its due date (by the release rule) a missing observation is tolerated before the
# series is called stale: FRED posts the day's market series the next morning and holidays move
# releases by a day or two; display only, no decision reads it.
STALE_GRACE = {"D": BDay(3), "W": pd.Timedelta(days=3), "M": pd.Timedelta(days=3)}
# The step from one observation to the next: daily market series and prices on business days,
# the fed funds target on every calendar day (a 7-day series), weekly, monthly.
NEXT_OBSERVATION = {
    "D": BDay(1),
    "policy": pd.Timedelta(days=1),
    "W": pd.Timedelta(days=7),
    "M": pd.offsets.MonthBegin(1),
}
# The prices the regime reads at each day's close (the bank ETF in use is added on the day).
PRICE_INPUTS = ("IWM", "VIX", "SPY")


@dataclass(frozen=True)
class Input:
    """One series the call reads: its newest observation known on the day and when it became known."""

    series: str
    kind: str  # macro | price | policy (the long history's meeting record)
    observation_date: pd.Timestamp | None
    known_date: pd.Timestamp | None
    next_due: pd.Timestamp | None  # when the next observation is due by the release rule
    status: str  # current | stale | discontinued | not yet published
    note: str = ""

    @property
    def stale(self) -> bool:
        return self.status == "stale"


def as_date(value) -> pd.Timestamp | None:
    """A date from the signal frame, or None where it is missing."""
    return None if pd.isna(value) else pd.Timestamp(value)


def as_number(value) -> float | None:
    """A number from the signal frame, or None where it is missing."""
    return None if value is None or pd.isna(value) else float(value)


def next_due(series_id: str, observation: pd.Timestamp, data_params) -> pd.Timestamp:
    """When the observation after `observation` becomes known by the release rule."""
    meta = MACRO[series_id]
    step = NEXT_OBSERVATION["policy" if meta.lag_rule == "policy" else meta.frequency]
    nxt = pd.Series([np.nan], index=pd.DatetimeIndex([observation + step]), name=series_id)
    return pd.Timestamp(published(nxt, data_params)["known_date"].iloc[0])


def input_status(
    series_id: str, observation: pd.Timestamp | None, known: pd.Timestamp | None, day: pd.Timestamp, data_params
) -> Input:
    """A macro series on `day`: current, stale (its next observation overdue by more than
    STALE_GRACE), discontinued, or not yet published."""
    meta = MACRO[series_id]
    if meta.discontinued and day >= pd.Timestamp(meta.discontinued):
        last = f"after {observation.date()}" if observation is not None else f"from {meta.discontinued}"
        return Input(series_id, "macro", observation, known, None, "discontinued", f"no longer published {last}")
    if observation is None:
        first = meta.first_published if meta.first_published and not data_params.allow_backfilled_indices else None
        why = f"first published {first}" if first else "the data has no observation published by this day"
        return Input(series_id, "macro", None, None, None, "not yet published", why)
    due = next_due(series_id, observation, data_params)
    stale = day > due + STALE_GRACE[meta.frequency]
    return Input(series_id, "macro", observation, known, due, "stale" if stale else "current")


def price_status(ticker: str, rows: pd.DatetimeIndex, day: pd.Timestamp) -> Input:
    """A price file on `day`: its last row on or before the day, known at that close; stale when
    the next trading day's row is overdue by more than STALE_GRACE (more than 4 business days old)."""
    held = rows[rows <= day]
    if held.empty:
        return Input(ticker, "price", None, None, None, "not yet published", "no price by this day")
    last = held[-1]
    due = last + BDay(1)
    return Input(ticker, "price", last, last, due, "stale" if day > due + STALE_GRACE["D"] else "current")


def macro_read(prepared, day: pd.Timestamp, data_params) -> dict[str, pd.Series]:
    """The macro series the rules read on `day`: every regime series, and the long history's
    fallbacks until their successors were known (`MacroSeries.successor`)."""
    read = {sid: prepared.raw[sid] for sid in REGIME_SERIES}
    for sid, series in prepared.raw.items():
        successor = MACRO[sid].successor
        if successor is not None and sid not in read and day < first_known(successor, data_params):
            read[sid] = series
    return read


def policy_inputs(prepared, day: pd.Timestamp, data_params) -> list[Input]:
    """The long history's older policy records on a day of their era: the discount rate's monthly
    average before Romer and Romer's first meeting, their meetings before DFEDTAR's first day."""
    record, out = prepared.policy, []
    if (
        record is None
        or day >= pd.Timestamp(MACRO["DFEDTAR"].first_date)
        or record["decision"].iloc[0] >= pd.Timestamp(MACRO["DFEDTAR"].first_date)
    ):
        return out
    if day < pd.Timestamp(ROMER_FIRST):
        rate = prepared.source.macro("MDISCRT")
        pub = published(rate, data_params)
        pub = pub[pub["known_date"] <= day]
        last = pub.iloc[-1] if len(pub) else None
        out.append(
            input_status(
                "MDISCRT",
                None if last is None else pd.Timestamp(last["obs_date"]),
                None if last is None else pd.Timestamp(last["known_date"]),
                day,
                data_params,
            )
        )
    else:
        meetings = prepared.source.romer().index
        known = meetings[meetings + pd.Timedelta(days=data_params.romer_lag_days) <= day]
        last = known[-1] if len(known) else None
        out.append(
            Input(
                "Romer-Romer",
                "policy",
                last,
                None if last is None else last + pd.Timedelta(days=data_params.romer_lag_days),
                None,
                "current",
                f"the intended rate at each FOMC meeting ({ROMER_FILE}), known "
                f"{data_params.romer_lag_days} days after it",
            )
        )
    return out


def price_input(source: DataSource, ticker: str, day: pd.Timestamp, market=None) -> Input:
    """A price input on `day`: the ticker's own file, or before its first day what stands in for it
    in the run's history (`market.proxies`: RUT for IWM, the S&P 500 index for SPY, the long
    history's French portfolios and indices; VXO or the modelled volatility for VIX)."""
    span = next(
        (p for p in (market.proxies if market is not None else ()) if p.ticker == ticker and p.start <= day <= p.end),
        None,
    )
    if span is not None:
        if span.proxy in STAND_INS:
            rows = stand_in_level(source, span.proxy).index
        elif span.proxy == "VXO":
            rows = source.macro("VXOCLS").index
        elif span.proxy == MODELLED:
            rows = source.french(FRENCH_FACTORS).index
        else:
            rows = source.prices(span.proxy).index
        return replace(price_status(span.proxy, rows, day), note=f"stands in for {ticker} until {span.end.date()}")
    rows = source.prices(ticker).index
    proxy = INSTRUMENTS[ticker].proxy
    if rows[0] > day and proxy and source.price_path(proxy) is not None:
        return replace(
            price_status(proxy, source.prices(proxy).index, day), note=f"stands in for {ticker} before {rows[0].date()}"
        )
    return price_status(ticker, rows, day)
