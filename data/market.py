"""The aligned market a run trades: one calendar (IWM's trading days), total-return prices per
holding with declared proxies before inception, IWM's traded price for option strikes, VIX.

Proxies are chained forward: before an instrument's first day the run holds its proxy at the
proxy's own prices; from the first day on, the instrument's own returns continue from the
proxy's level. History is never rescaled to a later level (that would leak the future).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from fedcut.data.catalog import INSTRUMENTS, MACRO, TRACKING_LIMIT
from fedcut.data.plausible import check_tracking
from fedcut.data.sources import DataSource
from fedcut.core.errors import DataError

EXTENDED_START = pd.Timestamp("1990-01-02")  # VIX's first day: the extended history's regimes need it
RUT_PER_IWM = 10.0  # IWM's split-adjusted close has tracked RUT / 10 (ratio 10.05-10.12 in the data)
# A price file may lack this many of the run's trading days: each is named in the run's notes and
# the day before's price is carried. The real files lack none; more means a damaged file or one
# on another calendar, and is an error.
MAX_MISSING_DAYS = 5
SHOWN_DAYS = 5  # missing days named in a note or an error


@dataclass(frozen=True)
class ProxySpan:
    ticker: str
    proxy: str
    start: pd.Timestamp
    end: pd.Timestamp  # last day the proxy stood in

    def describe(self) -> str:
        return f"{self.ticker} <- {self.proxy} {self.start.date()}..{self.end.date()}"


@dataclass(frozen=True)
class Market:
    days: pd.DatetimeIndex
    close: pd.DataFrame  # total-return close per ticker (NaN before a ticker without proxy exists)
    open: pd.DataFrame  # total-return open per ticker (= close for files with closes only)
    spot: pd.Series  # IWM traded close, for option strikes and moneyness
    vix: pd.Series
    proxies: tuple[ProxySpan, ...]
    end_set_by: str
    notes: tuple[str, ...] = field(default=())

    @property
    def tickers(self) -> tuple[str, ...]:
        return tuple(self.close.columns)


def _tr_frame(px: pd.DataFrame, ticker: str) -> pd.DataFrame:
    """Total-return close and open of one price file."""
    inst = INSTRUMENTS[ticker]
    close = px[inst.total_return]
    if {"open", "close"} <= set(px.columns):
        opn = px["open"] * (close / px["close"])
    else:
        opn = close
    return pd.DataFrame({"close": close, "open": opn})


def _with_dividends(source: DataSource, index: str, dividend_yield: float) -> pd.DataFrame:
    """A price index plus a dividend accrual at `dividend_yield` a year, compounded daily: the
    total-return stand-in for an ETF before it existed (RUT for IWM, the S&P 500 for SPY)."""
    px = source.prices(index)
    years = (px.index - px.index[0]).days.to_numpy() / 365.0
    accrual = (1.0 + dividend_yield) ** years
    opn = px["open"] if "open" in px else px["close"]
    return pd.DataFrame({"close": px["close"] * accrual, "open": opn * accrual})


def _chain(proxy: pd.DataFrame, own: pd.DataFrame, first: pd.Timestamp) -> pd.DataFrame:
    """Proxy before `first`; from `first` on, own returns continued from the proxy's level."""
    before = proxy[proxy.index < first]
    if before.empty:
        return own
    if first not in proxy.index:
        raise DataError(f"proxy has no price on the splice day {first.date()}")
    scale = proxy.loc[first, "close"] / own.loc[first, "close"]
    after = own[own.index >= first] * scale
    return pd.concat([before, after])


def missing_days(index: pd.DatetimeIndex, days: pd.DatetimeIndex, first: pd.Timestamp,
                 last: pd.Timestamp) -> pd.DatetimeIndex:
    """The run's trading days between `first` and `last` (the span a file supplies) that the file has no row for."""
    inside = days[(days >= first) & (days <= last)]
    return inside[~inside.isin(index)]


def calendar_gaps(days: pd.DatetimeIndex, files: list[pd.DatetimeIndex]) -> pd.DatetimeIndex:
    """Days inside the run that the calendar lacks although every other file covering them has a row."""
    inside = [f[(f >= days[0]) & (f <= days[-1])] for f in files]
    candidates = pd.DatetimeIndex(np.unique(np.concatenate([f.to_numpy() for f in inside])))
    candidates = candidates[~candidates.isin(days)]
    return pd.DatetimeIndex([d for d in candidates if all(d in f for f in files if f[0] <= d <= f[-1])])


def gap_note(path: str, missing: pd.DatetimeIndex, calendar: bool = False) -> str | None:
    """A run note naming the days `path` lacks (None if none), or an error when there are more than
    MAX_MISSING_DAYS. A price file's missing day carries the day before's price; the calendar's
    (`calendar=True`, days every other file has) is skipped by the run."""
    n = len(missing)
    if n == 0:
        return None
    shown = ", ".join(str(d.date()) for d in missing[:SHOWN_DAYS]) + (", ..." if n > SHOWN_DAYS else "")
    days = f"{n} day{'s' if n > 1 else ''} that every other file of the run has" if calendar else \
        f"{n} trading day{'s' if n > 1 else ''} of the run"
    if n > MAX_MISSING_DAYS:
        raise DataError(f"{path}: no row for {days} ({shown}): the file does not follow the run's trading "
                        f"calendar (at most {MAX_MISSING_DAYS} missing days are allowed)")
    effect = f"the run skips {'them' if n > 1 else 'it'}" if calendar else "the price of the day before is carried over"
    return f"warning: {path} has no row for {days} ({shown}): {effect}"


def tracking_note(source: DataSource, ticker: str) -> str | None:
    """Check an ETF's daily returns against its index's (an unadjusted split, a bad price); a note
    when the index file is not at hand, since that check then cannot be made."""
    inst = INSTRUMENTS[ticker]
    if inst.tracks is None:
        return None
    if source.price_path(inst.tracks) is None:
        return (f"warning: {ticker} not checked against {inst.tracks} (no {inst.tracks} file in the data "
                "directory or cache): an unadjusted split or a bad price would go unnoticed")
    px, index = source.prices(ticker), source.prices(inst.tracks)["close"]
    for column in dict.fromkeys(c for c in (inst.traded, inst.total_return) if c):
        check_tracking(px[column], index, TRACKING_LIMIT, _where(source, ticker), _where(source, inst.tracks),
                       (f"{ticker} {column}", inst.tracks))
    return None


def natural_end(source: DataSource, tickers: tuple[str, ...], macro_ids: tuple[str, ...]) -> tuple[pd.Timestamp, str]:
    """The last day every required series covers, and the series that sets it."""
    ends = {t: source.prices(t).index[-1] for t in tickers}
    end_t = min(ends, key=ends.get)
    end = ends[end_t]
    for sid in macro_ids:
        last = source.macro(sid).index[-1]
        if last + pd.Timedelta(days=MACRO[sid].stale_days) < end:
            end, end_t = last + pd.Timedelta(days=MACRO[sid].stale_days), sid
    return end, end_t


def _where(source: DataSource, name: str) -> str:
    """The file a series was read from (its name if it was not read from a file)."""
    return source.origin.get(name, name)


def _ends_before(source: DataSource, name: str, usable_to: pd.Timestamp, stop: pd.Timestamp) -> str:
    if name in MACRO:  # a macro series counts as current for `stale_days` after its last observation
        last_obs = source.macro(name).index[-1]
        return (f"{_where(source, name)}: {name}'s last observation is {last_obs.date()} (current for "
                f"{MACRO[name].stale_days} days, to {usable_to.date()}), before the requested end {stop.date()}")
    return f"{_where(source, name)}: {name} ends {usable_to.date()}, before the requested end {stop.date()}"


def _starts_after(source: DataSource, name: str, first: pd.Timestamp, day: pd.Timestamp, why: str) -> str:
    return f"{_where(source, name)}: {name} starts {first.date()}, after the run's first day {day.date()}; {why}"


# A file may start a few days after the catalog's first day (a listing's first quotes); later than
# that it has been cut short, and a proxy standing in would invent the instrument's prices on days
# it traded, so the run is refused. (Without a proxy the weight is held in cash, declared.)
FILE_START_SLACK = pd.Timedelta(days=7)

# Valued from a run's first day: VIX (volatility, the regime and option prices; no proxy) and SPY
# (the buy-and-hold SPY benchmark, bought on the second day; the S&P 500 index before 1993). A
# later start must be refused: filling the days before it would carry a price from the future.
REQUIRED_FROM_FIRST_DAY = {"VIX": "VIX has no proxy and is needed every day",
                           "SPY": "the buy-and-hold SPY benchmark needs a price from the first day"}


def build_market(source: DataSource, tickers: tuple[str, ...], start: str, end: str,
                 extended: bool, rut_dividend_yield: float, macro_ids: tuple[str, ...] = (), *,
                 spx_dividend_yield: float, end_bounds: tuple[str, ...] = ()) -> Market:
    """Align `tickers` (IWM first) on IWM's trading days between `start` and `end`; before an
    instrument existed its declared proxy stands in (an index with `*_dividend_yield` accrued).
    `end_bounds`: other price series the run reads to its last day (the bank ETF in use)."""
    tickers = tuple(dict.fromkeys(("IWM",) + tuple(tickers)))
    unknown = [t for t in tickers if t not in INSTRUMENTS]
    if unknown:
        raise DataError(f"instrument {unknown[0]}: not in the catalog (data/catalog.py)")
    iwm_px = source.prices("IWM")
    iwm_first = iwm_px.index[0]
    own = {t: _tr_frame(source.prices(t), t) for t in tickers}
    vix_px = source.prices("VIX")
    notes = [n for n in (tracking_note(source, t) for t in tickers) if n]

    last, end_by = natural_end(source, tickers + ("VIX",) + tuple(end_bounds), macro_ids)
    if extended:
        rut = _with_dividends(source, "RUT", rut_dividend_yield)
        first_day = pd.Timestamp(start) if start else EXTENDED_START
        calendar = rut.index[rut.index < iwm_first].union(iwm_px.index)
        if rut.index[0] > first_day and first_day < iwm_first:
            raise DataError(f"{_where(source, 'RUT')}: RUT starts {rut.index[0].date()}, after the requested start "
                            f"{first_day.date()}; the extended history (IWM's proxy) cannot start earlier")
    else:
        first_day = pd.Timestamp(start) if start else iwm_first
        calendar = iwm_px.index
        if first_day < iwm_first:
            raise DataError(f"IWM: starts {iwm_first.date()}, after the requested start {first_day.date()}; "
                            "use run.extended (--extended) for the RUT proxy")
    stop = pd.Timestamp(end) if end else last
    if stop > last:
        raise DataError(_ends_before(source, end_by, last, stop))
    days = calendar[(calendar >= first_day) & (calendar <= stop)]
    if len(days) < 2:
        raise DataError(f"run.start {first_day.date()} .. run.end {stop.date()}: fewer than two trading days")
    for name, why in REQUIRED_FROM_FIRST_DAY.items():
        if name == "VIX" or name in tickers:
            first = vix_px.index[0] if name == "VIX" else own[name].index[0]
            proxy = INSTRUMENTS[name].proxy if name != "VIX" else None
            if first > days[0] and proxy and source.price_path(proxy) is not None:
                first = min(first, source.prices(proxy).index[0])
            if first > days[0]:
                raise DataError(_starts_after(source, name, first, days[0], why))

    files = [own[t].index for t in tickers if t != "IWM"] + [vix_px.index]
    notes.append(gap_note(_where(source, "IWM"), calendar_gaps(days, files), calendar=True))
    notes.append(gap_note(_where(source, "VIX"), missing_days(vix_px.index, days, vix_px.index[0], vix_px.index[-1])))
    proxies = []
    close, opn = {}, {}
    for t in tickers:
        series = own[t]
        inst = INSTRUMENTS[t]
        first = series.index[0]
        if t != "IWM":
            notes.append(gap_note(_where(source, t), missing_days(series.index, days, first, series.index[-1])))
        if first > days[0]:
            listed = pd.Timestamp(inst.first_date)
            if inst.proxy and first - listed > FILE_START_SLACK:
                raise DataError(f"{_where(source, t)}: {t} starts {first.date()}, but {t} traded from {listed.date()} "
                                f"(data/catalog.py): the file is cut short and no proxy may stand in for days {t} "
                                f"traded; fetch it again (fedcut data fetch {t})")
            if t == "IWM":
                proxy_frame, proxy_name = rut, "RUT"
            elif inst.proxy and INSTRUMENTS[inst.proxy].kind == "index":
                proxy_frame, proxy_name = _with_dividends(source, inst.proxy, spx_dividend_yield), inst.proxy
            elif inst.proxy:
                proxy_frame, proxy_name = _tr_frame(source.prices(inst.proxy), inst.proxy), inst.proxy
                if proxy_frame.index[0] > days[0]:
                    notes.append(f"{t}: proxy {proxy_name} starts {proxy_frame.index[0].date()}; {t} is not held before")
            else:
                proxy_frame = None
                notes.append(f"{t}: no data before {first.date()} and no proxy; its weight is held in cash before then")
            if proxy_frame is not None:
                if t != "IWM":  # RUT is the calendar before IWM's first day
                    notes.append(gap_note(_where(source, proxy_name), missing_days(
                        proxy_frame.index, days, proxy_frame.index[0], first - pd.Timedelta(days=1))))
                series = _chain(proxy_frame, series, first)
                span_start = max(days[0], proxy_frame.index[0])
                proxies.append(ProxySpan(t, proxy_name, span_start, days[days < first][-1]))
        aligned = series.reindex(days)
        # A holiday in one file (a closed market elsewhere) carries the last known price.
        inside = aligned["close"].notna().cummax()
        close[t] = aligned["close"].ffill().where(inside)
        opn[t] = aligned["open"].fillna(close[t]).where(inside)

    spot = iwm_px["close"].reindex(days)
    if extended:
        rut_close = source.prices("RUT")["close"].reindex(days)
        spot = spot.fillna(rut_close / RUT_PER_IWM)
    vix = vix_px["close"].reindex(days).ffill()
    for name, s in (("IWM close", spot), ("VIX", vix)):
        if s.isna().any():
            raise DataError(f"{name}: no value on {s.index[s.isna().to_numpy()][0].date()}")
    return Market(days=days, close=pd.DataFrame(close), open=pd.DataFrame(opn), spot=spot.rename("spot"),
                  vix=vix.rename("vix"), proxies=tuple(proxies), end_set_by=end_by, notes=tuple(n for n in notes if n))


def coverage(market: Market) -> dict[str, tuple[str, str] | None]:
    """First and last day each ticker has a price in the run (None if never)."""
    out = {}
    for t in market.close:
        s = market.close[t].dropna()
        out[t] = (str(s.index[0].date()), str(s.index[-1].date())) if len(s) else None
    return out
