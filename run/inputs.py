"""A run's inputs: the data a configuration reads, aligned, and its regime signals, each cached.

`prepare` does what no strategy parameter changes (loading, aligning, option inputs) once per
process; `signals` is cached per data and regime configuration.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from fedcut.core.errors import DataError
from fedcut.core.params import Config, Section
from fedcut.data.asof import asof_frame
from fedcut.data.catalog import LONG_SERIES, REGIME_SERIES
from fedcut.data.coverage import bank_etfs, bank_prices, macro_notes
from fedcut.data.cuts import easing_cycles, policy_record
from fedcut.data.gauge import skew_index
from fedcut.data.market import Market, build_market
from fedcut.data.sources import DataSource, default_cache_dir, default_data_dir, offline_from_env
from fedcut.hedging.pricing import dividend_yield, realised_vol_ratio, tbill_discount_to_continuous
from fedcut.signals.indicators import (
    DERIVED_WINDOWS,
    bank_relative,
    derived_view,
    labelled_changes,
    raw_view,
)
from fedcut.signals.memo import Memo
from fedcut.signals.regime import load_raw, regime_frame
from fedcut.strategies.targets import holdings_for

log = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)  # hashed by identity: signals are cached per prepared data
class Prepared:
    """What every run over the same data and dates shares."""

    market: Market
    raw: dict
    broker_inputs: (
        pd.DataFrame
    )  # spot, vix, rate, div_yield, cash_rate, option_unit, skew, small_cap_vol_ratio per day, as known that day
    first_cuts: tuple[pd.Timestamp, ...]  # the easing cycles' chronology (`data.cuts.easing_cycles`)
    tickers: tuple[str, ...]
    fomc: pd.DataFrame | None = None  # the FOMC calendar: decision days, scheduled or unscheduled
    bank: pd.DataFrame | None = None  # the bank-stress gauge's inputs (`signals.indicators.bank_relative`)
    source: DataSource | None = None  # where every series was read from (its files stay loaded)
    policy: pd.DataFrame | None = None  # every policy-rate change and when it was known (`data.cuts.policy_record`)


def source_for(data_dir: str | None, offline: bool | None) -> DataSource:
    kwargs = {}
    if data_dir:
        kwargs["data_dir"] = Path(data_dir)
    if offline is not None:
        kwargs["offline"] = offline
    return DataSource(**kwargs)


@functools.lru_cache(maxsize=8)
def _prepare_cached(data_dir, cache_dir, offline, tickers, start, end, history, data_values) -> Prepared:
    data_params = dict(data_values)
    params = Section("data", data_params)
    source = DataSource(
        data_dir=Path(data_dir) if data_dir else None,
        cache_dir=Path(cache_dir),
        offline=offline,
        max_target_change=data_params["max_target_change"],
    )
    log.debug("loading and aligning %s (data directory %s, cache %s)", ", ".join(tickers), data_dir, cache_dir)
    market = build_market(
        source, tickers + ("SPY",), start, end, history, params, REGIME_SERIES, end_bounds=bank_etfs(source)[:1]
    )
    fallbacks = LONG_SERIES if history == "long" else ()
    raw = load_raw(source, REGIME_SERIES + tuple(s for s in fallbacks if s != "MDISCRT"))
    banks, bank_notes = bank_prices(source, market.days)
    notes = macro_notes(source, REGIME_SERIES + fallbacks, market.days) + bank_notes
    rates = asof_frame({"DTB3": raw["DTB3"]}, market.days, params)["DTB3"]
    if rates.isna().any():
        raise DataError(
            f"{source.origin.get('DTB3', 'DTB3')}: no T-bill rate known on "
            f"{rates.index[rates.isna().to_numpy()][0].date()} (the series starts later)"
        )
    rate = pd.Series(tbill_discount_to_continuous(rates.to_numpy()), index=market.days)
    iwm = source.prices("IWM")
    div = dividend_yield(iwm["adj_close"], iwm["close"], data_params["div_yield_window_days"])
    div = div.reindex(market.days).ffill().fillna(data_params["rut_dividend_yield"])
    div = div.where(~market.spot_total_return, 0.0)  # a total-return level holds its dividends
    skew, skew_notes = skew_index(source, market.days, data_params)
    notes += list(skew_notes)
    vol_ratio = realised_vol_ratio(market.close["IWM"], market.close["SPY"], data_params["small_cap_ratio_window"])
    inputs = pd.DataFrame(
        {
            "spot": market.spot,
            "vix": market.vix,
            "rate": rate,
            "div_yield": div,
            "cash_rate": rate,
            "option_unit": market.option_unit,
            "skew": skew,
            "small_cap_vol_ratio": vol_ratio,
        },
        index=market.days,
    )
    older = (source.macro("MDISCRT"), source.romer()) if history == "long" else (None, None)
    record = policy_record(raw["DFEDTAR"], raw["DFEDTARU"], params, *older)
    first_cuts = tuple(pd.Timestamp(d) for d in easing_cycles(record)["decision"])
    bank = bank_relative(banks, market.close["SPY"])
    if notes:
        market = dataclasses.replace(market, notes=market.notes + tuple(notes))
    return Prepared(market, raw, inputs, first_cuts, tickers, source.fomc(), bank, source, record)


def prepare(cfg: Config, data_dir: str | None = None, offline: bool | None = None) -> Prepared:
    """Load and align everything the configuration's parameters do not change (cached per process)."""
    data_values = dict(
        cfg.data.as_dict(),
        div_yield_window_days=cfg.hedge.div_yield_window_days,
        small_cap_ratio_window=cfg.hedge.small_cap_ratio_window,
    )
    # The cache key holds the folders and offline setting actually used, environment included, so a
    # later run in this process with another FEDCUT_DATA_DIR or FEDCUT_CACHE_DIR reads that one.
    data_dir = data_dir or default_data_dir()
    offline = offline_from_env() if offline is None else offline
    return _prepare_cached(
        str(data_dir) if data_dir else None,
        str(default_cache_dir()),
        offline,
        holdings_for(cfg.strategy),
        cfg.run.start,
        cfg.run.end,
        cfg.run.history,
        tuple(sorted(data_values.items())),
    )


@functools.lru_cache(maxsize=4)
def _raw_view_cached(prepared: Prepared, data_values) -> pd.DataFrame:
    """The as-of view of the raw macro series: no regime parameter changes it."""
    return raw_view(prepared.raw, prepared.market.days, Section("data", dict(data_values)))


@functools.lru_cache(maxsize=4)
def _view_cached(prepared: Prepared, data_values, windows) -> pd.DataFrame:
    """The as-of view of the raw and derived series side by side: besides the data settings, only
    the derived series' windows (`DERIVED_WINDOWS`) change it; a section holding nothing else makes
    reading another regime parameter an error, not a stale cache."""
    derived = derived_view(
        prepared.raw, prepared.market.days, Section("data", dict(data_values)), Section("regime", dict(windows))
    )
    return pd.concat([_raw_view_cached(prepared, data_values), derived], axis=1)


@functools.lru_cache(maxsize=4)
def rate_changes_of(prepared: Prepared) -> pd.DataFrame:
    """Every policy-rate change of the prepared data, labelled (`indicators.labelled_changes`): no
    regime parameter changes it, so a sweep of regime settings computes it once."""
    return labelled_changes(prepared.policy, prepared.fomc)


@functools.lru_cache(maxsize=4)
def _groups_of(prepared: Prepared) -> tuple[Memo, pd.Series]:
    """The indicator groups' results kept for the prepared data (`signals.memo`: each reused for
    every regime setting that leaves the parameters it read unchanged), and IWM's closes, one
    object, so the memo knows them again."""
    return Memo(), prepared.market.close["IWM"]


@functools.lru_cache(maxsize=16)
def _signals_cached(prepared: Prepared, data_values, regime_values, oracle, reasons) -> pd.DataFrame:
    m = prepared.market
    regime = Section("regime", dict(regime_values))
    windows = tuple((k, getattr(regime, k)) for k in DERIVED_WINDOWS)
    memo, iwm = _groups_of(prepared)
    return regime_frame(
        prepared.raw,
        iwm,
        m.vix,
        Section("data", dict(data_values)),
        regime,
        oracle,
        reasons,
        fomc=prepared.fomc,
        bank=prepared.bank,
        view=_view_cached(prepared, data_values, windows),
        changes=rate_changes_of(prepared),
        memo=memo,
    )


def clear_caches() -> None:
    """Empty this process's caches (data, as-of views, signals, benchmarks): the next run loads and
    computes everything again (cold timings, tests that must not share state)."""
    for cached in (_prepare_cached, _raw_view_cached, _view_cached, rate_changes_of, _groups_of, _signals_cached):
        cached.cache_clear()


def signals(prepared: Prepared, cfg: Config, reasons: bool = True) -> pd.DataFrame:
    """The regime frame of `cfg`'s data and regime settings (cached); `reasons=False` leaves out the
    readable reason text, which only signals.csv needs (sweeps never read it)."""
    return _signals_cached(
        prepared,
        tuple(sorted(cfg.data.as_dict().items())),
        tuple(sorted(cfg.regime.as_dict().items())),
        cfg.run.oracle,
        reasons,
    )
