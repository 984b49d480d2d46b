"""The aligned market a run trades: one calendar (IWM's trading days, and before them RUT's or the
French files' by history), total-return prices per holding with declared proxies or stand-ins
before inception, IWM's traded price for option strikes, the volatility gauge (`data.gauge`).

Proxies are chained forward: before an instrument's first day the run holds its proxy at the
proxy's own prices; from the first day on, the instrument's own returns continue from the
proxy's level. History is never rescaled to a later level (that would leak the future).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from fedcut.core.errors import DataError
from fedcut.data.catalog import (
    HISTORY_START,
    INSTRUMENTS,
    LONG_CALENDAR,
    LONG_CHAINS,
    MACRO,
    SMALL_CAP_SPOT_SCALE,
    STAND_INS,
    TRACKING_LIMIT,
)
from fedcut.data.gauge import volatility_gauge
from fedcut.data.plausible import check_tracking
from fedcut.data.sources import DataSource
from fedcut.data.splices import check_splice, stand_in_level, where

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
    vix_source: pd.Series | None = None  # the volatility gauge's series per day (`data.gauge`)
    # Where the spot is the small-cap total-return level scaled back (long history, before RUT): its
    # dividends are in it (no dividend yield in the pricing inputs) and its option unit is the scale.
    spot_total_return: pd.Series | None = None
    option_unit: pd.Series | None = None  # `hedging.book.MarketInputs.unit` per day

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


def _chain(proxy: pd.DataFrame, own: pd.DataFrame, first: pd.Timestamp, where: str = "proxy") -> pd.DataFrame:
    """Proxy before `first`; from `first` on, own returns continued from the proxy's level."""
    before = proxy[proxy.index < first]
    if before.empty:
        return own
    if first not in proxy.index:
        raise DataError(f"{where}: no price on the splice day {first.date()}, where the next series takes over")
    scale = proxy.loc[first, "close"] / own.loc[first, "close"]
    after = own[own.index >= first] * scale
    return pd.concat([before, after])


def missing_days(
    index: pd.DatetimeIndex, days: pd.DatetimeIndex, first: pd.Timestamp, last: pd.Timestamp
) -> pd.DatetimeIndex:
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
    days = (
        f"{n} day{'s' if n > 1 else ''} that every other file of the run has"
        if calendar
        else f"{n} trading day{'s' if n > 1 else ''} of the run"
    )
    if n > MAX_MISSING_DAYS:
        raise DataError(
            f"{path}: no row for {days} ({shown}): the file does not follow the run's trading "
            f"calendar (at most {MAX_MISSING_DAYS} missing days are allowed)"
        )
    effect = f"the run skips {'them' if n > 1 else 'it'}" if calendar else "the price of the day before is carried over"
    return f"warning: {path} has no row for {days} ({shown}): {effect}"


def tracking_note(source: DataSource, ticker: str) -> str | None:
    """Check an ETF's daily returns against its index's (an unadjusted split, a bad price); a note
    when the index file is not at hand, since that check then cannot be made."""
    inst = INSTRUMENTS[ticker]
    if inst.tracks is None:
        return None
    if source.price_path(inst.tracks) is None:
        return (
            f"warning: {ticker} not checked against {inst.tracks} (no {inst.tracks} file in the data "
            "directory or cache): an unadjusted split or a bad price would go unnoticed"
        )
    px, index = source.prices(ticker), source.prices(inst.tracks)["close"]
    for column in dict.fromkeys(c for c in (inst.traded, inst.total_return) if c):
        check_tracking(
            px[column],
            index,
            TRACKING_LIMIT,
            _where(source, ticker),
            _where(source, inst.tracks),
            (f"{ticker} {column}", inst.tracks),
        )
    return None


def natural_end(source: DataSource, tickers: tuple[str, ...], macro_ids: tuple[str, ...]) -> tuple[pd.Timestamp, str]:
    """The last day every required series covers, and the series that sets it."""
    ends = {t: source.prices(t).index[-1] for t in tickers}
    end_t = min(ends, key=ends.__getitem__)
    end = ends[end_t]
    for sid in macro_ids:
        last = source.macro(sid).index[-1]
        if last + pd.Timedelta(days=MACRO[sid].stale_days) < end:
            end, end_t = last + pd.Timedelta(days=MACRO[sid].stale_days), sid
    return end, end_t


def _where(source: DataSource, name: str) -> str:
    """The file a series was read from (its name, or its catalogued file, if it was not read from one)."""
    return where(source, name)


def _ends_before(source: DataSource, name: str, usable_to: pd.Timestamp, stop: pd.Timestamp) -> str:
    if name in MACRO:  # a macro series counts as current for `stale_days` after its last observation
        last_obs = source.macro(name).index[-1]
        return (
            f"{_where(source, name)}: {name}'s last observation is {last_obs.date()} (current for "
            f"{MACRO[name].stale_days} days, to {usable_to.date()}), before the requested end {stop.date()}"
        )
    return f"{_where(source, name)}: {name} ends {usable_to.date()}, before the requested end {stop.date()}"


def _starts_after(source: DataSource, name: str, first: pd.Timestamp, day: pd.Timestamp, why: str) -> str:
    return f"{_where(source, name)}: {name} starts {first.date()}, after the run's first day {day.date()}; {why}"


# A file may start a few days after the catalog's first day (a listing's first quotes); later than
# that it has been cut short, and a proxy standing in would invent the instrument's prices on days
# it traded, so the run is refused. (Without a proxy the weight is held in cash, declared.)
FILE_START_SLACK = pd.Timedelta(days=7)

# Valued from a run's first day: SPY (the buy-and-hold SPY benchmark, bought on the second day; the
# S&P 500 index before 1993, the whole market before it in the long history) and the volatility gauge
# (`data.gauge`). A later start must be refused: filling the days before it would carry a price from the future.
REQUIRED_FROM_FIRST_DAY = {"SPY": "the buy-and-hold SPY benchmark needs a price from the first day"}


def links_of(ticker: str, history: str) -> tuple[str, ...]:
    """What stands in for `ticker` before its first day in `history`, oldest first: the long history's
    chain (`LONG_CHAINS`), else the catalogued proxy (RUT stands in for IWM only in the extended history)."""
    if history == "long" and ticker in LONG_CHAINS:
        return LONG_CHAINS[ticker]
    proxy = INSTRUMENTS[ticker].proxy
    return (proxy,) if proxy and (ticker != "IWM" or history == "extended") else ()


def _link_frame(source: DataSource, name: str, data_params) -> pd.DataFrame:
    """Total-return close and open of a stand-in, an index with its dividend accrual, or an ETF."""
    if name in STAND_INS:
        level = stand_in_level(source, name)
        return pd.DataFrame({"close": level, "open": level})
    if INSTRUMENTS[name].kind == "index":
        dividend_yield = data_params.rut_dividend_yield if name == "RUT" else data_params.spx_dividend_yield
        return _with_dividends(source, name, dividend_yield)
    return _tr_frame(source.prices(name), name)


def _calendar(
    source: DataSource, history: str, start: str, iwm_px: pd.DataFrame
) -> tuple[pd.DatetimeIndex, pd.Timestamp]:
    """The history's trading days and its first day: IWM's; RUT's before IWM's first day (extended);
    the French files' before it (long, `LONG_CALENDAR`)."""
    iwm_first = iwm_px.index[0]
    if history == "iwm":
        first_day = pd.Timestamp(start) if start else iwm_first
        if first_day < iwm_first:
            raise DataError(
                f"IWM: starts {iwm_first.date()}, after the requested start {first_day.date()}; use "
                "run.history extended or long (--history) for a history before it, with IWM's stand-ins"
            )
        return iwm_px.index, first_day
    first_day = pd.Timestamp(start) if start else pd.Timestamp(HISTORY_START[history])
    if history == "extended":
        rut = source.prices("RUT")
        if rut.index[0] > first_day and first_day < iwm_first:
            raise DataError(
                f"{_where(source, 'RUT')}: RUT starts {rut.index[0].date()}, after the requested start "
                f"{first_day.date()}; the extended history (IWM's proxy) cannot start earlier"
            )
        return rut.index[rut.index < iwm_first].union(iwm_px.index), first_day
    earliest = pd.Timestamp(HISTORY_START["long"])
    if first_day < earliest:
        raise DataError(
            f"run.start {first_day.date()}: before {earliest.date()}, the long history's first day (fed "
            "funds, DFF, begins 1954-07-01 and is known the next business day)"
        )
    french = stand_in_level(source, LONG_CALENDAR)
    return french.index[french.index < iwm_first].union(iwm_px.index), first_day


def _spot(
    source: DataSource, history: str, days: pd.DatetimeIndex, iwm_px: pd.DataFrame, small_caps: pd.Series
) -> tuple[pd.Series, pd.Series]:
    """IWM's traded close for option strikes; RUT / 10 before IWM's first day; the small-cap
    total-return level times `SMALL_CAP_SPOT_SCALE` before RUT's (long). And where the spot is such a
    total-return level (its dividends are in it: the pricing inputs' dividend yield is zero there)."""
    spot = iwm_px["close"].reindex(days)
    total_return = pd.Series(False, index=days)
    if history != "iwm":
        rut = source.prices("RUT")["close"]
        spot = spot.fillna(rut.reindex(days) / RUT_PER_IWM)
        if history == "long":
            total_return = pd.Series(days < rut.index[0], index=days)
            spot = spot.where(~total_return, small_caps * SMALL_CAP_SPOT_SCALE)
    return spot, total_return


def build_market(
    source: DataSource,
    tickers: tuple[str, ...],
    start: str,
    end: str,
    history: str,
    data_params,
    macro_ids: tuple[str, ...] = (),
    *,
    end_bounds: tuple[str, ...] = (),
) -> Market:
    """Align `tickers` (IWM first) on the history's trading days between `start` and `end`; before an
    instrument existed what the history declares stands in for it (`links_of`), chained forward by
    returns. `data_params`: the `data` section (dividend accruals, the volatility gauge's settings).
    `end_bounds`: other price series the run reads to its last day (the bank ETF in use)."""
    tickers = tuple(dict.fromkeys(("IWM",) + tuple(tickers)))
    unknown = [t for t in tickers if t not in INSTRUMENTS]
    if unknown:
        raise DataError(f"instrument {unknown[0]}: not in the catalog (data/catalog.py)")
    iwm_px = source.prices("IWM")
    own = {t: _tr_frame(source.prices(t), t) for t in tickers}
    vix_px = source.prices("VIX")
    notes: list[str | None] = [n for n in (tracking_note(source, t) for t in tickers) if n]

    last, end_by = natural_end(source, tickers + ("VIX",) + tuple(end_bounds), macro_ids)
    calendar, first_day = _calendar(source, history, start, iwm_px)
    stop = pd.Timestamp(end) if end else last
    if stop > last:
        raise DataError(_ends_before(source, end_by, last, stop))
    days = calendar[(calendar >= first_day) & (calendar <= stop)]
    if len(days) < 2:
        raise DataError(f"run.start {first_day.date()} .. run.end {stop.date()}: fewer than two trading days")
    gauge = volatility_gauge(source, days, data_params)
    vix_days = days[(gauge.source == "VIX").to_numpy()]
    for name, why in REQUIRED_FROM_FIRST_DAY.items():
        if name in tickers:
            first = own[name].index[0]
            for link in links_of(name, history) if first > days[0] else ():
                if link in STAND_INS or source.price_path(link) is not None:
                    first = min(first, _link_frame(source, link, data_params).index[0])
            if first > days[0]:
                raise DataError(_starts_after(source, name, first, days[0], why))

    files = [own[t].index for t in tickers if t != "IWM"] + [vix_px.index]
    notes.append(gap_note(_where(source, "IWM"), calendar_gaps(days, files), calendar=True))
    if len(vix_days):
        notes.append(
            gap_note(_where(source, "VIX"), missing_days(vix_px.index, vix_days, vix_px.index[0], vix_px.index[-1]))
        )
    proxies, splices, close, opn = [], [], {}, {}
    for t in tickers:
        series, spans, checked, chain_notes = _chained(source, t, own[t], history, days, data_params)
        proxies += spans
        splices += checked
        notes += chain_notes
        aligned = series.reindex(days)
        # A holiday in one file (a closed market elsewhere) carries the last known price.
        inside = aligned["close"].notna().cummax()
        close[t] = aligned["close"].ffill().where(inside)
        opn[t] = aligned["open"].fillna(close[t]).where(inside)

    spot, total_return = _spot(source, history, days, iwm_px, close["IWM"])
    for name in dict.fromkeys(gauge.source):  # each era of the volatility gauge is one span of days
        era = days[(gauge.source == name).to_numpy()]
        if name != "VIX":
            proxies.append(ProxySpan("VIX", name, era[0], era[-1]))
    notes += [f"splice checked: {s.describe()}" for s in splices] + list(gauge.notes)
    for name, s in (("IWM close", spot), ("VIX", gauge.value)):
        if s.isna().any():
            raise DataError(f"{name}: no value on {s.index[s.isna().to_numpy()][0].date()}")
    return Market(
        days=days,
        close=pd.DataFrame(close),
        open=pd.DataFrame(opn),
        spot=spot.rename("spot"),
        vix=gauge.value,
        proxies=tuple(proxies),
        end_set_by=end_by,
        notes=tuple(n for n in notes if n),
        vix_source=gauge.source,
        spot_total_return=total_return,
        option_unit=pd.Series(np.where(total_return, SMALL_CAP_SPOT_SCALE, 1.0), index=days),
    )


def _chained(
    source: DataSource, ticker: str, series: pd.DataFrame, history: str, days: pd.DatetimeIndex, data_params
) -> tuple[pd.DataFrame, list[ProxySpan], list, list[str | None]]:
    """`ticker`'s total return with what stands in before its first day chained in (`links_of`), the
    spans each stand-in covers in the run, the splices checked (the long history's) and the notes.

    The long history chains every link from the oldest, so a level never depends on the run's first
    day; the other histories chain a proxy only when the instrument starts after the run's first day."""
    inst = INSTRUMENTS[ticker]
    first = series.index[0]
    notes: list[str | None] = (
        []
        if ticker == "IWM"
        else [gap_note(_where(source, ticker), missing_days(series.index, days, first, series.index[-1]))]
    )
    links = links_of(ticker, history)
    if first <= days[0] and not (history == "long" and ticker in LONG_CHAINS):
        return series, [], [], notes
    listed = pd.Timestamp(inst.first_date)
    if first > days[0] and links and first - listed > FILE_START_SLACK:
        raise DataError(
            f"{_where(source, ticker)}: {ticker} starts {first.date()}, but {ticker} traded from "
            f"{listed.date()} (data/catalog.py): the file is cut short and no proxy may stand in for days "
            f"{ticker} traded; fetch it again (fedcut data fetch {ticker})"
        )
    if not links:
        notes.append(f"{ticker}: no data before {first.date()} and no proxy; its weight is held in cash before then")
        return series, [], [], notes
    frames = {name: _link_frame(source, name, data_params) for name in links}
    frames[ticker] = series
    order = list(links) + [ticker]
    starts = [frames[name].index[0] for name in order]
    if starts[0] > days[0]:
        notes.append(f"{ticker}: proxy {order[0]} starts {starts[0].date()}; {ticker} is not held before")
    spans, checked = [], []
    chained = frames[order[0]]
    for k, name in enumerate(order[:-1]):
        used = days[(days >= starts[k]) & (days < starts[k + 1])]
        if len(used):
            spans.append(ProxySpan(ticker, name, used[0], used[-1]))
            if name in STAND_INS:
                notes.append(
                    f"{ticker} <- {name}: {STAND_INS[name].about} ({_where(source, name)}), "
                    f"{used[0].date()}..{used[-1].date()}"
                )
            notes.append(gap_note(_where(source, name), missing_days(frames[name].index, used, used[0], used[-1])))
            if history == "long" and ticker in LONG_CHAINS:  # the splices the long history adds
                levels = {n: frames[n]["close"].rename(n) for n in order[k : k + 2]}
                checked.append(check_splice(source, ticker, name, order[k + 1], levels))
        chained = _chain(chained, frames[order[k + 1]], starts[k + 1], _where(source, name))
    return chained, spans, checked, notes


def coverage(market: Market) -> dict[str, tuple[str, str] | None]:
    """First and last day each ticker has a price in the run (None if never)."""
    out = {}
    for t in market.close:
        s = market.close[t].dropna()
        out[t] = (str(s.index[0].date()), str(s.index[-1].date())) if len(s) else None
    return out
