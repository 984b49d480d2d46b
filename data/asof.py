"""Point in time: when each macro observation became known, and what was known on each day.

An observation has two dates: the period it refers to (`obs_date`, FRED's date) and the day it
was published (`known_date`). The regime reads macro data only through `asof_frame`, which on
trading day D returns, per series, the latest observation with known_date <= D. This is the
project's main defence against look-ahead (the FRED files are today's vintage: revisions to
PAYEMS, UNRATE and ICSA since first release are not undone; no ALFRED vintages are available).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pandas.tseries.offsets import BDay

from fedcut.core.errors import DataError
from fedcut.data.catalog import MACRO
from fedcut.data.release_exceptions import DELAYED_RELEASES


def known_dates(obs_dates: pd.DatetimeIndex, lag_rule: str, data_params) -> pd.DatetimeIndex:
    """The publication date of each observation under `lag_rule` (see `data.catalog.MACRO`), never
    before the day a delayed release actually came out (`data.release_exceptions`)."""
    d = pd.DatetimeIndex(obs_dates)
    rule = _rule_dates(d, lag_rule, data_params)
    delayed = [r for r in DELAYED_RELEASES if r.release == lag_rule]
    if not delayed or not len(d):
        return rule
    months = d.strftime("%Y-%m")
    later = rule.to_numpy().copy()
    for r in delayed:
        hit = months == r.period
        later[hit] = np.maximum(later[hit], np.datetime64(r.published, "ns").astype(later.dtype))
    return pd.DatetimeIndex(later)


def _rule_dates(d: pd.DatetimeIndex, lag_rule: str, data_params) -> pd.DatetimeIndex:
    """The publication date of each observation by the release rule alone."""
    if lag_rule == "policy":
        return d  # announced at 2:15 pm on the decision day (DFEDTARU dates the next day: later, so safe)
    if lag_rule == "market_daily":
        return d + BDay(data_params.daily_market_lag_days)
    if lag_rule == "cpi":
        return d + pd.offsets.MonthBegin(1) + pd.to_timedelta(data_params.cpi_release_day - 1, "D")
    if lag_rule == "jobs":
        earliest = d + pd.offsets.MonthBegin(1) + pd.to_timedelta(data_params.jobs_release_min_day - 1, "D")
        return earliest + pd.to_timedelta((4 - earliest.day_of_week) % 7, "D")  # next Friday on or after
    if lag_rule == "monthly_average":  # known once the month is over and its last daily value published
        return d + pd.offsets.MonthEnd(0) + BDay(data_params.monthly_average_lag_days)
    if lag_rule == "weekly_claims":
        return d + pd.to_timedelta(data_params.weekly_claims_lag_days, "D")
    if lag_rule == "weekly_nfci":
        return d + pd.to_timedelta(data_params.nfci_lag_days, "D")
    if lag_rule == "weekly_stlfsi":
        return d + pd.to_timedelta(data_params.stlfsi_lag_days, "D")
    if lag_rule == "label":
        raise DataError("lag rule 'label': recession dates are known only long after; they are never a signal")
    raise DataError(f"unknown lag rule {lag_rule!r}")


def first_known(series_id: str, data_params) -> pd.Timestamp:
    """The day a catalogued series' first observation (`MacroSeries.first_date`) became known: from
    then on the rules read it, before then its fallback (`MacroSeries.successor`)."""
    meta = MACRO[series_id]
    return pd.Timestamp(known_dates(pd.DatetimeIndex([meta.first_date]), meta.lag_rule, data_params)[0])


def published(series: pd.Series, data_params) -> pd.DataFrame:
    """Observations of one catalogued (or derived `ID:what`) series with `obs_date`, `known_date`, `value`.

    A model index published only from a later day (`MacroSeries.first_published`: STLFSI4 from
    2010, NFCI from May 2011) is known from that day on, with its whole reconstructed history, and
    is missing before it, unless `data.allow_backfilled_indices` asks for the reconstruction."""
    meta = MACRO.get(str(series.name).split(":")[0])  # a derived "ID:what" inherits ID's lag
    if meta is None:
        raise DataError(f"series {series.name}: not in the macro catalog, so its publication lag is unknown")
    known = known_dates(series.index, meta.lag_rule, data_params)
    if meta.first_published and not data_params.allow_backfilled_indices:
        known = pd.DatetimeIndex(
            np.maximum(known.values, np.datetime64(meta.first_published, "ns").astype(known.values.dtype))
        )
    return pd.DataFrame({"obs_date": series.index, "known_date": known, "value": series.to_numpy()})


def asof_frame(series: dict[str, pd.Series], days: pd.DatetimeIndex, data_params) -> pd.DataFrame:
    """Per trading day, each series' latest value known by that day and its obs/known dates.

    Columns: `<ID>`, `<ID>_obs`, `<ID>_known`. A series not yet published on a day is NaN there
    (missing, not zero); so is a discontinued series (`MacroSeries.discontinued`) from the day it
    stopped: its last value is history, not today's reading (the TED spread's 0.09 of January 2022
    would otherwise be read forever). `_obs` and `_known` still name that last observation.
    """
    days = pd.DatetimeIndex(days)
    cols = {}
    for sid, s in series.items():
        pub = published(s, data_params).sort_values("known_date", kind="stable")
        # Several observations can share a publication day; the latest period wins.
        pub = pub.drop_duplicates("known_date", keep="last")
        idx = np.searchsorted(pub["known_date"].to_numpy(), days.to_numpy(), side="right") - 1
        valid = idx >= 0
        take = np.where(valid, idx, 0)
        if pub.empty:  # nothing observed (yet): every day is missing, not an index error
            value = np.full(len(days), np.nan)
            obs = np.full(len(days), np.datetime64("NaT"), dtype=pub["obs_date"].to_numpy().dtype)
            known = np.full(len(days), np.datetime64("NaT"), dtype=pub["known_date"].to_numpy().dtype)
        else:
            value = np.where(valid, pub["value"].to_numpy()[take], np.nan)
            obs = np.where(valid, pub["obs_date"].to_numpy()[take], np.datetime64("NaT"))
            known = np.where(valid, pub["known_date"].to_numpy()[take], np.datetime64("NaT"))
        meta = MACRO.get(str(sid).split(":")[0])
        if meta is not None and meta.discontinued:
            value = np.where(days.to_numpy() >= np.datetime64(meta.discontinued), np.nan, value)
        cols[sid] = value
        cols[f"{sid}_obs"] = pd.DatetimeIndex(obs)
        cols[f"{sid}_known"] = pd.DatetimeIndex(known)
    return pd.DataFrame(cols, index=days)
