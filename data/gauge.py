"""The implied-volatility gauge by era: the series the regime reads as "vix", the VIX rule reads and
the puts are priced from.

- from 2003-09-22, VIX (Cboe launched today's index that day);
- from 1986-01-02, VXO (`macro/VXOCLS.csv`), the index Cboe published then; VIX's values before
  2003-09-22 are a back-calculation first published in 2003, read only with
  `data.vix_backcalculated` (from VIX's first day, 1990-01-02), and labelled;
- before 1986, when no implied volatility was published, a modelled gauge: the US market's realised
  volatility (Ken French's daily market return over `data.realised_vol_days`) times
  `data.realised_vol_multiplier`, matched to VIX on 1990-2025.

Beside it, Cboe's SKEW (`skew_index`): the puts' skew steepens with it (`hedging.surface`).

Every value is known at its day's close. A day an era's series lacks carries the day before's value,
named in the run's notes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from fedcut.core.errors import DataError
from fedcut.data.catalog import FRENCH_FACTORS, SKEW_PUBLISHED, VIX_PUBLISHED, VXO_FIRST
from fedcut.data.sources import DataSource

DAYS_A_YEAR = 252
MODELLED = "realised vol"  # the gauge's name before 1986 (a ProxySpan's stand-in)
BACKCALCULATED_LABEL = (
    f"VIX BEFORE {VIX_PUBLISHED} IS A BACK-CALCULATION (data.vix_backcalculated): Cboe first "
    "published it in September 2003; VXO is the index it published then"
)
SHOWN_DAYS = 5
WHY = {
    "VIX": "VIX has no proxy and is needed every day",
    "VXO": f"VXO is the volatility gauge from {VXO_FIRST} until VIX's launch on {VIX_PUBLISHED}",
    MODELLED: f"before {VXO_FIRST} the volatility gauge is the market's realised volatility",
}


@dataclass(frozen=True)
class Gauge:
    value: pd.Series  # VIX points, each day's close
    source: pd.Series  # "VIX", "VXO" or MODELLED, per day
    notes: tuple[str, ...]


def vix_from(data_params, vix_first: pd.Timestamp) -> pd.Timestamp:
    """The first day VIX itself is read: its launch, or its first back-calculated day when asked."""
    return vix_first if data_params.vix_backcalculated else pd.Timestamp(VIX_PUBLISHED)


def realised_gauge(source: DataSource, data_params) -> pd.Series:
    """The modelled gauge: the market's realised volatility (annualised, in points, log returns over
    `realised_vol_days`) times `realised_vol_multiplier`, on the French file's days."""
    factors = source.french(FRENCH_FACTORS)
    missing = [c for c in ("Mkt-RF", "RF") if c not in factors.columns]
    if missing:
        raise DataError(
            f"{source.origin.get(FRENCH_FACTORS, FRENCH_FACTORS)}: no column {missing[0]!r}; the "
            "volatility gauge before 1986 reads the market's daily return (Mkt-RF + RF)"
        )
    log_returns = np.log1p((factors["Mkt-RF"] + factors["RF"]) / 100.0)
    window = data_params.realised_vol_days
    vol = log_returns.rolling(window, min_periods=window).std() * np.sqrt(DAYS_A_YEAR) * 100.0
    return (vol * data_params.realised_vol_multiplier).rename(MODELLED)


def _carried(series: pd.Series, days: pd.DatetimeIndex) -> pd.Series:
    """`series` on `days`, a day it lacks carrying its value before (from before `days` too)."""
    return series.reindex(series.index.union(days)).ffill().reindex(days)


def _holes(path: str, name: str, series: pd.Series, days: pd.DatetimeIndex) -> str | None:
    """A note naming the days of `days` the series has no value for (carried from the day before)."""
    lacking = days[~days.isin(series.index)]
    if len(lacking) == 0:
        return None
    shown = ", ".join(str(d.date()) for d in lacking[:SHOWN_DAYS]) + (", ..." if len(lacking) > SHOWN_DAYS else "")
    return (
        f"{path} has no {name} value on {len(lacking)} trading day{'s' if len(lacking) > 1 else ''} "
        f"of the run ({shown}): the value of the day before is carried"
    )


def volatility_gauge(source: DataSource, days: pd.DatetimeIndex, data_params) -> Gauge:
    """The gauge on `days`: each era's series, checked to cover the days it is read on."""
    vix = source.prices("VIX")["close"]
    switch = vix_from(data_params, vix.index[0])
    value = pd.Series(np.nan, index=days)
    label = pd.Series("", index=days, dtype=object)
    notes = []
    eras = [
        ("VIX", days >= switch),
        ("VXO", (days >= pd.Timestamp(VXO_FIRST)) & (days < switch)),
        (MODELLED, days < pd.Timestamp(VXO_FIRST)),
    ]
    for name, inside in eras:
        if not inside.any():
            continue
        span = days[inside]
        if name == "VIX":
            series, path = vix, source.origin.get("VIX", "VIX")
        elif name == "VXO":
            series, path = source.macro("VXOCLS"), source.origin.get("VXOCLS", "VXOCLS")
        else:
            series, path = realised_gauge(source, data_params), source.origin.get(FRENCH_FACTORS, FRENCH_FACTORS)
        known = series.dropna()
        if known.empty or known.index[0] > span[0]:
            first = "has no value" if known.empty else f"starts {known.index[0].date()}"
            at = (
                f"the run's first day {span[0].date()}"
                if span[0] == days[0]
                else f"{span[0].date()}, the first day the run reads it"
            )
            raise DataError(f"{path}: {name} {first}, after {at}; {WHY[name]}")
        if known.index[-1] < span[-1] and name != "VIX":  # VIX's end bounds the run's (`natural_end`)
            raise DataError(
                f"{path}: {name} ends {known.index[-1].date()}, before {span[-1].date()}, the last day "
                "the run reads it as its volatility gauge"
            )
        value[inside] = _carried(known, span).to_numpy()
        label[inside] = name
        if name == "VXO":  # VIX's missing days are the price files' rule (`data.market.gap_note`)
            notes.append(_holes(path, name, known, span))
    if (label == MODELLED).any():
        notes.append(
            f"the stress gauge and the puts' volatility before {VXO_FIRST} are modelled: "
            f"{data_params.realised_vol_multiplier:g} x the market's {data_params.realised_vol_days}-day "
            "realised volatility (Ken French's daily returns); no implied volatility was published then"
        )
    if data_params.vix_backcalculated and ((label == "VIX") & (days < pd.Timestamp(VIX_PUBLISHED))).any():
        notes.append("warning: " + BACKCALCULATED_LABEL)
    return Gauge(value.rename("vix"), label.rename("vix_source"), tuple(n for n in notes if n))


def skew_index(source: DataSource, days: pd.DatetimeIndex, data_params) -> tuple[pd.Series, tuple[str, ...]]:
    """Cboe's SKEW on `days` (points, known at each day's close: Cboe publishes it at the end of the
    day, as VIX), NaN before Cboe first published it (2011-02-23; its back-calculation to 1990 with
    `data.skew_backcalculated`, labelled); the notes name the days it lacks (the day before's value
    is carried) and a file ending before the run does (its last close carried, with a warning: SKEW
    is not downloaded, so `fedcut now` still answers)."""
    series = source.macro("SKEW").dropna()
    if not data_params["skew_backcalculated"]:
        series = series[series.index >= pd.Timestamp(SKEW_PUBLISHED)]
    path = source.origin.get("SKEW", "SKEW")
    inside = days >= series.index[0]
    value = pd.Series(np.nan, index=days)
    value[inside] = _carried(series, days[inside]).to_numpy()
    notes = [_holes(path, "SKEW", series, days[inside & (days <= series.index[-1])])] if inside.any() else []
    if series.index[-1] < days[-1]:
        notes.append(
            f"warning: {path} ends {series.index[-1].date()}, before the run's last day {days[-1].date()}: "
            f"its last close is carried over {int((days > series.index[-1]).sum())} trading days (Cboe's "
            "SKEW is not downloaded; refresh the file)"
        )
    if (~inside).any():
        notes.append(
            f"before {series.index[0].date()} (no SKEW published) the puts' skew is read at SKEW = "
            "hedge.skew_index_centre"
        )
    if (inside & (days < pd.Timestamp(SKEW_PUBLISHED))).any():
        notes.append(
            f"warning: SKEW BEFORE {SKEW_PUBLISHED} IS A BACK-CALCULATION (data.skew_backcalculated): it "
            "prices the puts' skew from Cboe's later computation; no one could read it then"
        )
    return value.rename("skew"), tuple(n for n in notes if n)
