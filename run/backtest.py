"""One run: data -> signals -> decisions -> execution (backtrader) -> analysis -> files.

`prepare` does what no strategy parameter changes (loading, aligning, option inputs) once per
process; `signals` is cached per regime configuration; `run` executes one configuration and
returns plain frames that `write_run` saves atomically.
"""
from __future__ import annotations

import dataclasses
import errno
import functools
import json
import logging
import math
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from fedcut.analyzers import performance
from fedcut.report.page import render as render_report
from fedcut.analyzers.episodes import cycle_windows, episode_table
from fedcut.analyzers.verdict import baseline_figures, baselines_frame, foresight, verdict
from fedcut.data.asof import asof_frame
from fedcut.data.catalog import BACKFILLED_LABEL, REGIME_SERIES
from fedcut.data.cuts import easing_cycles, rate_changes, target_series
from fedcut.data.market import Market, build_market
from fedcut.data.sources import DataSource, default_cache_dir, default_data_dir, offline_from_env
from fedcut.core.config import to_toml
from fedcut.core.errors import ConfigError, DataError, FedcutError
from fedcut.core.files import Helper, check_new_folder, free_name, remove_stale_temporaries, writing
from fedcut.core.params import ENGINES, Config, Section, resolve
from fedcut.hedging.pricing import dividend_yield, tbill_discount_to_continuous
from fedcut.plots.kit import png_bytes, preload, regimes_figure
from fedcut.signals.indicators import (
    BANK_ETFS, DERIVED_WINDOWS, bank_relative, derived_view, labelled_changes, raw_view,
)
from fedcut.signals.regime import ORACLE_LABEL, load_raw, regime_frame
from fedcut.strategies import baselines
from fedcut.execution.engine import buy_and_hold, execute, settings_for, tape_for
from fedcut.strategies.targets import holdings_for, target_weights

EQUITY_COLUMNS = ("date", "strategy", "benchmark", "regime", "cash", "option_value")
TRADE_COLUMNS = ("date", "instrument", "action", "quantity", "price", "value", "commission",
                 "strike", "expiry", "spot", "vol", "rate", "div_yield", "years_to_expiry",
                 "model_price", "fill_price")

log = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)  # hashed by identity: signals are cached per prepared data
class Prepared:
    """What every run over the same data and dates shares."""

    market: Market
    raw: dict
    broker_inputs: pd.DataFrame  # spot, vix, rate, div_yield, cash_rate per day, as known that day
    first_cuts: tuple[pd.Timestamp, ...]
    tickers: tuple[str, ...]
    fomc: pd.DataFrame | None = None  # the FOMC calendar: decision days, scheduled or unscheduled
    bank: pd.DataFrame | None = None  # the bank-stress gauge's inputs (`signals.indicators.bank_relative`)
    source: DataSource | None = None  # where every series was read from (its files stay loaded)


@dataclass(frozen=True)
class RunResult:
    config: Config
    prepared: Prepared
    signals: pd.DataFrame
    equity: pd.DataFrame
    trades: pd.DataFrame
    metrics: dict
    episodes: pd.DataFrame
    data_dir: str | None = None
    offline: bool | None = None
    baselines: pd.DataFrame | None = None  # baselines.csv: the run's strategy, then every baseline


def _source(data_dir: str | None, offline: bool | None) -> DataSource:
    kwargs = {}
    if data_dir:
        kwargs["data_dir"] = Path(data_dir)
    if offline is not None:
        kwargs["offline"] = offline
    return DataSource(**kwargs)


@functools.lru_cache(maxsize=8)
def _prepare_cached(data_dir, cache_dir, offline, tickers, start, end, extended, data_values) -> Prepared:
    data_params = dict(data_values)
    source = DataSource(data_dir=Path(data_dir) if data_dir else None, cache_dir=Path(cache_dir), offline=offline,
                        max_offcalendar_target_changes=data_params["max_offcalendar_target_changes"],
                        max_target_change=data_params["max_target_change"])
    log.debug("loading and aligning %s (data directory %s, cache %s)", ", ".join(tickers), data_dir, cache_dir)
    market = build_market(source, tickers + ("SPY",), start, end, extended,
                          data_params["rut_dividend_yield"], REGIME_SERIES,
                          spx_dividend_yield=data_params["spx_dividend_yield"])
    raw = load_raw(source)
    params = Section("data", data_params)
    rates = asof_frame({"DTB3": raw["DTB3"]}, market.days, params)["DTB3"]
    if rates.isna().any():
        raise DataError(f"{source.origin.get('DTB3', 'DTB3')}: no T-bill rate known on "
                        f"{rates.index[rates.isna().to_numpy()][0].date()} (the series starts later)")
    rate = pd.Series(tbill_discount_to_continuous(rates.to_numpy()), index=market.days)
    iwm = source.prices("IWM")
    div = dividend_yield(iwm["adj_close"], iwm["close"], data_params["div_yield_window_days"])
    div = div.reindex(market.days).ffill().fillna(data_params["rut_dividend_yield"])
    inputs = pd.DataFrame({"spot": market.spot, "vix": market.vix, "rate": rate,
                           "div_yield": div, "cash_rate": rate}, index=market.days)
    cycles = easing_cycles(rate_changes(target_series(raw["DFEDTAR"], raw["DFEDTARU"])))
    first_cuts = tuple(pd.Timestamp(d) for d in cycles["decision"])
    banks = {t: source.prices(t)["adj_close"] for t in BANK_ETFS if source.price_path(t) is not None}
    bank = bank_relative(banks, market.close["SPY"])
    missing = [t for t in BANK_ETFS if t not in banks]
    if missing:  # the gauge falls back to the next ETF: a different reading, so the run says so
        market = dataclasses.replace(market, notes=market.notes + (
            f"bank-stress gauge: no price file for {', '.join(missing)}; it reads "
            f"{', '.join(banks) or 'no bank ETF (the gauge is off)'} instead",))
    return Prepared(market, raw, inputs, first_cuts, tickers, source.fomc(), bank, source)


def prepare(cfg: Config, data_dir: str | None = None, offline: bool | None = None) -> Prepared:
    """Load and align everything the configuration's parameters do not change (cached per process)."""
    data_values = dict(cfg.data.as_dict(), div_yield_window_days=cfg.hedge.div_yield_window_days)
    # The cache key holds the folders and offline setting actually used, environment included, so a
    # later run in this process with another FEDCUT_DATA_DIR or FEDCUT_CACHE_DIR reads that one.
    data_dir = data_dir or default_data_dir()
    offline = offline_from_env() if offline is None else offline
    return _prepare_cached(str(data_dir) if data_dir else None, str(default_cache_dir()), offline,
                           holdings_for(cfg.strategy),
                           cfg.run.start, cfg.run.end, cfg.run.extended, tuple(sorted(data_values.items())))


@functools.lru_cache(maxsize=4)
def _raw_view_cached(prepared: Prepared, data_values) -> pd.DataFrame:
    """The as-of view of the raw macro series: no regime parameter changes it."""
    return raw_view(prepared.raw, prepared.market.days, Section("data", dict(data_values)))


@functools.lru_cache(maxsize=4)
def _view_cached(prepared: Prepared, data_values, windows) -> pd.DataFrame:
    """The as-of view of the raw and derived series side by side: besides the data settings, only
    the derived series' windows (`DERIVED_WINDOWS`) change it; a section holding nothing else makes
    reading another regime parameter an error, not a stale cache."""
    derived = derived_view(prepared.raw, prepared.market.days, Section("data", dict(data_values)),
                           Section("regime", dict(windows)))
    return pd.concat([_raw_view_cached(prepared, data_values), derived], axis=1)


@functools.lru_cache(maxsize=4)
def rate_changes_of(prepared: Prepared) -> pd.DataFrame:
    """Every fed-funds target change of the prepared data, labelled (`indicators.labelled_changes`):
    no parameter changes it, so a sweep of regime settings computes it once."""
    return labelled_changes(prepared.raw, prepared.fomc)


@functools.lru_cache(maxsize=16)
def _signals_cached(prepared: Prepared, data_values, regime_values, oracle, reasons) -> pd.DataFrame:
    m = prepared.market
    regime = Section("regime", dict(regime_values))
    windows = tuple((k, getattr(regime, k)) for k in DERIVED_WINDOWS)
    return regime_frame(prepared.raw, m.close["IWM"], m.vix, Section("data", dict(data_values)), regime, oracle,
                        reasons, fomc=prepared.fomc, bank=prepared.bank, view=_view_cached(prepared, data_values, windows),
                        changes=rate_changes_of(prepared))


def clear_caches() -> None:
    """Empty this process's caches (data, as-of views, signals, benchmarks): the next run loads and
    computes everything again (cold timings, tests that must not share state)."""
    for cached in (_prepare_cached, _raw_view_cached, _view_cached, rate_changes_of, _signals_cached, _benchmark_cached):
        cached.cache_clear()


def signals(prepared: Prepared, cfg: Config, reasons: bool = True) -> pd.DataFrame:
    """The regime frame of `cfg`'s data and regime settings (cached); `reasons=False` leaves out the
    readable reason text, which only signals.csv needs (sweeps never read it)."""
    return _signals_cached(prepared, tuple(sorted(cfg.data.as_dict().items())),
                           tuple(sorted(cfg.regime.as_dict().items())), cfg.run.oracle, reasons)


@dataclass(frozen=True)
class Executed:
    """One portfolio's execution, whichever engine ran it: daily `rows` (value, cash, option_value,
    option_delta, then the USD held per ticker), ETF fills and refusals, option events, and the
    cash counters (interest earned and paid, days below zero, the lowest cash)."""

    rows: pd.DataFrame
    fills: list
    option_events: list
    cash: dict


def _backtrader(prepared: Prepared, cfg: Config, tickers, strategy: str, **kwargs) -> Executed:
    """The reference engine: backtrader with the hedged broker (imported only when asked for)."""
    from fedcut.execution.reference import run_cerebro

    rows, fills, broker = run_cerebro(prepared.market, _cash_inputs(prepared, cfg), cfg, tickers, strategy, **kwargs)
    rows.index = prepared.market.days.rename("date")
    cash = rows["cash"]
    return Executed(rows, fills, list(broker.option_events),
                    {"interest_earned": float(broker.interest_earned), "interest_paid": float(broker.interest_paid),
                     "negative_cash_days": int((cash < 0).sum()),
                     "lowest_cash": float(min(cash.min(), cfg.execution.initial_cash))})


def _fast(prepared: Prepared, cfg: Config, tickers, weights: np.ndarray, hedge_ratio: np.ndarray) -> Executed:
    """The array engine (`strategies.engine`): the same rules, the same numbers."""
    tape = tape_for(prepared.market, _cash_inputs(prepared, cfg), tickers)
    ex = execute(tape, weights[None], hedge_ratio[None], settings_for([cfg]), record=True)
    rows = pd.DataFrame({"value": ex.value[0], "cash": ex.cash[0], "option_value": ex.option_value[0],
                         "option_delta": ex.option_delta[0]}, index=prepared.market.days)
    for j, t in enumerate(tickers):
        rows[t] = ex.held[0, :, j]
    rows.index.name = "date"
    c = ex.counts
    return Executed(rows, ex.fills[0], ex.option_events[0],
                    {"interest_earned": float(c["interest_earned"][0]), "interest_paid": float(c["interest_paid"][0]),
                     "negative_cash_days": int(c["negative_cash_days"][0]), "lowest_cash": float(c["lowest_cash"][0])})


def _cash_inputs(prepared: Prepared, cfg: Config) -> pd.DataFrame:
    inputs = prepared.broker_inputs
    return inputs if cfg.execution.cash_interest else inputs.assign(cash_rate=0.0)


def execute_strategy(prepared: Prepared, cfg: Config, tickers, weights: np.ndarray, hedge_ratio: np.ndarray,
                     engine: str = "fast") -> Executed:
    """Follow daily target weights and hedge ratios with `engine` (both give identical results)."""
    if engine == "backtrader":
        return _backtrader(prepared, cfg, tickers, "fedcut", targets=weights, hedge_ratio=hedge_ratio,
                           band=cfg.execution.rebalance_band, cash_buffer=cfg.execution.cash_buffer, hedge=cfg.hedge)
    return _fast(prepared, cfg, tickers, weights, hedge_ratio)


@functools.lru_cache(maxsize=8)
def _benchmark_cached(prepared: Prepared, ticker: str, execution_values, engine: str) -> pd.Series:
    cfg = resolve({f"execution.{k}": v for k, v in execution_values})  # puts are never bought: hedge.* is moot
    ex = cfg.execution
    if engine == "backtrader":
        run = _backtrader(prepared, cfg, (ticker,), "buy_and_hold", cash_buffer=ex.cash_buffer,
                          slippage=ex.slippage_bps / 1e4, commission=ex.commission_bps / 1e4)
        refused = [f for f in run.fills if f["action"] == "rejected"]
        if refused:
            raise FedcutError(f"buy-and-hold {ticker}: the broker refused its order on {refused[0]['date']}; "
                              "the benchmark would be all cash")
        return run.rows["value"].rename("value")
    tape = tape_for(prepared.market, _cash_inputs(prepared, cfg), (ticker,))
    return pd.Series(buy_and_hold(tape, 0, settings_for([cfg]))[0], index=prepared.market.days, name="value")


def benchmark(prepared: Prepared, cfg: Config, ticker: str, engine: str = "fast") -> pd.Series:
    """Buy-and-hold `ticker`'s daily value through the same execution; cached, since only
    execution.* settings change it."""
    return _benchmark_cached(prepared, ticker, tuple(sorted(cfg.execution.as_dict().items())), engine)


def run_cycles(prepared: Prepared, cfg: Config) -> list:
    """The easing cycles a run reports on: each whose first cut lies in the run, and each that began
    before it of which the run holds at least `analysis.min_cycle_months_in_run` after the cut; windows
    clipped to the run (and flagged so)."""
    days = prepared.market.days
    a = cfg.analysis
    cuts = [d for d in prepared.first_cuts if d <= days[-1]
            and (d >= days[0] or d + pd.DateOffset(months=a.cycle_months_after)
                 >= days[0] + pd.DateOffset(months=a.min_cycle_months_in_run))]
    return cycle_windows(cuts, a.cycle_months_before, a.cycle_months_after, data_end=days[-1], data_start=days[0])


def strategy_plan(name: str, prepared: Prepared, cfg: Config, sig: pd.DataFrame) -> tuple[tuple[str, ...], np.ndarray, np.ndarray]:
    """Tickers, daily target weights and hedge ratios of a named strategy (`strategies.baselines`)."""
    m = prepared.market
    if name == "fedcut":
        available = m.close[list(prepared.tickers)].notna()
        t = target_weights(sig, available, cfg.strategy, cfg.hedge)
        return prepared.tickers, t[[f"w_{x}" for x in prepared.tickers]].to_numpy(), t["hedge_ratio"].to_numpy()
    tickers = baselines.tickers_for(name, prepared.tickers)
    weights = baselines.plan(name, tickers, m.days, m.close["IWM"], m.vix, prepared.raw, cfg.data, cfg.strategy,
                             cfg.baseline)
    listed = m.close[list(tickers)].notna().to_numpy()
    weights = np.where(listed | np.isnan(weights), weights, 0.0)  # nothing is bought before it exists
    return tickers, weights, np.zeros(len(m.days))


def run(cfg: Config, data_dir: str | None = None, offline: bool | None = None, engine: str = "fast",
        inputs: Ahead | None = None) -> RunResult:
    """Execute one configuration, its benchmarks and baselines; return frames and metrics (nothing
    written). `engine`: "fast" (the array engine) or "backtrader" (the reference); same numbers.
    `inputs`: `run_ahead(cfg, data_dir, offline)`'s data and signals (else read and computed here)."""
    if engine not in ENGINES:
        raise ConfigError(f"engine must be one of {', '.join(ENGINES)}, got {engine!r}")
    if inputs is not None:
        if inputs.made_for != _ahead_key(cfg, data_dir, offline):
            raise ValueError("run: the inputs were read for another configuration, data directory or offline setting")
        prepared, sig = inputs.prepared, inputs.signals
    else:
        prepared = prepare(cfg, data_dir, offline)
        sig = signals(prepared, cfg)
    own = cfg.run.strategy
    tickers, weights, ratio = strategy_plan(own, prepared, cfg, sig)
    done = execute_strategy(prepared, cfg, tickers, weights, ratio, engine)
    rows = done.rows
    bench, spy = benchmark(prepared, cfg, "IWM", engine), benchmark(prepared, cfg, "SPY", engine)

    equity = pd.DataFrame({"strategy": rows["value"], "benchmark": bench,
                           "regime": sig["regime"].reindex(rows.index), "cash": rows["cash"],
                           "option_value": rows["option_value"]})
    for t in tickers:
        equity[f"w_{t}"] = rows[t] / rows["value"]
    equity["spy"] = spy
    equity["option_delta"] = rows["option_delta"]
    equity.index.name = "date"
    trades = _trades(done.fills, done.option_events, cfg.hedge.contract_size)
    rf = prepared.broker_inputs["cash_rate"]
    windows = run_cycles(prepared, cfg)
    cum_hedge_pnl = _hedge_pnl(equity, done.option_events)
    hedge_pnl = cum_hedge_pnl.diff().fillna(cum_hedge_pnl.iloc[0])  # episode_table sums daily P&L
    episodes = episode_table(equity["strategy"], equity["benchmark"], windows, hedge_pnl=hedge_pnl,
                             regimes=equity["regime"], weights=equity[[f"w_{t}" for t in tickers]])
    metrics = _metrics(cfg, prepared, equity, trades, rf, episodes, done)

    curves = _baseline_curves(prepared, cfg, sig, own, engine, bench, spy)
    iwm_held = rows["IWM"] > 0 if "IWM" in rows else pd.Series(False, index=rows.index)
    figures = {name: baseline_figures(value, held, rf, windows) for name, (value, held) in curves.items()}
    own_figures = baseline_figures(equity["strategy"], iwm_held, rf, windows)
    table = baselines_frame(own, own_figures, figures, baselines.LABELS)
    metrics["baselines"] = figures
    metrics["verdict"] = verdict(equity["strategy"], {n: v for n, (v, _) in curves.items()}, rf, len(windows),
                                 baselines.LABELS, cfg.verdict)
    if own == "fedcut":
        metrics["foresight"] = _foresight(prepared, cfg, engine, equity["strategy"], rf, windows,
                                          inputs.other_signals if inputs is not None else None)
    metrics["run"]["strategy"] = own
    return RunResult(cfg, prepared, sig, equity, trades, metrics, episodes, data_dir, offline, table)


def _baseline_curves(prepared: Prepared, cfg: Config, sig: pd.DataFrame, own: str, engine: str,
                     bench: pd.Series, spy: pd.Series) -> dict[str, tuple[pd.Series, pd.Series]]:
    """Every named strategy but the run's own: daily value and whether IWM is held, through the
    same execution (one block of the array engine, or backtrader one by one)."""
    days = prepared.market.days
    out: dict[str, tuple[pd.Series, pd.Series]] = {}
    names = [n for n in baselines.NAMES if n != own]
    if "buy_and_hold" in names:
        out["buy_and_hold"] = (bench, pd.Series(np.arange(len(days)) >= 1, index=days))  # bought on day 2's open
    if "spy" in names:
        out["spy"] = (spy, pd.Series(False, index=days))
    rest = [n for n in names if n not in out]
    plans = {n: strategy_plan(n, prepared, cfg, sig) for n in rest}
    if engine == "backtrader":
        for n in rest:
            rows = execute_strategy(prepared, cfg, *plans[n], engine="backtrader").rows
            out[n] = (rows["value"].rename("value"), rows["IWM"] > 0)
    elif rest:
        tape = tape_for(prepared.market, _cash_inputs(prepared, cfg), prepared.tickers)
        ex = execute(tape, np.stack([plans[n][1] for n in rest]), np.stack([plans[n][2] for n in rest]),
                     settings_for([cfg] * len(rest)), record=True)
        for k, n in enumerate(rest):
            out[n] = (pd.Series(ex.value[k], index=days, name="value"), pd.Series(ex.held[k, :, 0] > 0, index=days))
    return {n: out[n] for n in names}


def _foresight(prepared: Prepared, cfg: Config, engine: str, curve: pd.Series, rf: pd.Series, windows,
               other_signals: pd.DataFrame | None = None) -> dict:
    """The regime strategy with the other cut expectation (the actual calendar, or the market's);
    `other_signals`: its signals, if already computed (`_other_signals`)."""
    other = _other(cfg)
    sig = other_signals if other_signals is not None else _other_signals(prepared, cfg)
    value = execute_strategy(prepared, other, *strategy_plan("fedcut", prepared, other, sig), engine=engine).rows["value"]
    real, oracle = (value, curve) if cfg.run.oracle else (curve, value)
    return {**foresight(real, oracle, rf, windows), "oracle_lead_days": cfg.regime.oracle_lead_days}


def _other(cfg: Config) -> Config:
    """`cfg` with the other cut expectation: the price of foresight compares the two."""
    return cfg.with_overrides({"run.oracle": not cfg.run.oracle})


def _other_signals(prepared: Prepared, cfg: Config) -> pd.DataFrame:
    return signals(prepared, _other(cfg), reasons=False)  # no one reads its reasons


def _trades(fills: list[dict], option_events: list, size: int) -> pd.DataFrame:
    etf = pd.DataFrame(fills)
    options = pd.DataFrame([e.as_row() for e in option_events])
    if len(options):
        sign = np.where(options["action"].isin(["buy", "roll_buy"]), 1, -1)
        options["quantity"] = sign * options["contracts"]
        options["price"] = options["fill_price"]
        options["value"] = options["quantity"] * options["fill_price"] * size
    out = pd.concat([etf, options], ignore_index=True) if len(options) else etf
    out = out.reindex(columns=TRADE_COLUMNS)
    out["date"] = pd.to_datetime(out["date"])
    return out.sort_values("date", kind="stable").reset_index(drop=True)


def _hedge_pnl(equity: pd.DataFrame, option_events: list) -> pd.Series:
    """Cumulative P&L of the puts: marked value plus every option cash flow (after costs) to date."""
    flows = pd.Series([e.cash for e in option_events],
                      index=pd.DatetimeIndex([e.date for e in option_events]), dtype=float)
    cum = flows.groupby(level=0).sum().reindex(equity.index, fill_value=0.0).cumsum()
    return (equity["option_value"] + cum).rename("hedge_pnl")


def _metrics(cfg, prepared, equity, trades, rf, episodes, done: Executed) -> dict:
    m = prepared.market
    turnover = _turnover(trades, equity["strategy"])
    flows = np.array([e.cash for e in done.option_events])
    premium, proceeds = float(-flows[flows < 0].sum()), float(flows[flows > 0].sum())
    hedge_commission = float(sum(e.commission for e in done.option_events))
    cycles = {}
    for row in episodes.itertuples():
        cycles[row.cycle] = {"strategy_max_drawdown": _num(row.strategy_max_drawdown),
                             "benchmark_max_drawdown": _num(row.benchmark_max_drawdown),
                             "strategy_return": _num(row.strategy_return),
                             "benchmark_return": _num(row.benchmark_return),
                             "window": f"{row.window_start}..{row.window_end}"}
    regimes = equity["regime"].value_counts(normalize=True).sort_index()
    return {
        "strategy": performance.summary(equity["strategy"], rf, turnover),
        "benchmark": performance.summary(equity["benchmark"], rf),
        "spy": performance.summary(equity["spy"], rf),
        "cycles": cycles,
        "hedge": {"premium_paid": premium, "proceeds_and_settlements": proceeds,
                  "commission_included": hedge_commission, "net_cash": proceeds - premium,
                  "option_trades": len(done.option_events)},
        "etf_trades": int((trades["strike"].isna() & (trades["action"] != "rejected")).sum()),
        "rejected_orders": int((trades["action"] == "rejected").sum()),
        "interest_earned": done.cash["interest_earned"],
        "cash": {"interest_paid": done.cash["interest_paid"], "negative_cash_days": done.cash["negative_cash_days"],
                 "lowest_cash": done.cash["lowest_cash"]},
        "regime_share": {k: float(v) for k, v in regimes.items()},
        "run": {"start": str(m.days[0].date()), "end": str(m.days[-1].date()), "end_set_by": m.end_set_by,
                "proxies": [p.describe() for p in m.proxies], "notes": list(m.notes) + _span_notes(m.days),
                "oracle": bool(cfg.run.oracle), "label": ORACLE_LABEL if cfg.run.oracle else "",
                "backfilled_indices": bool(cfg.data.allow_backfilled_indices),
                "backfilled_label": BACKFILLED_LABEL if cfg.data.allow_backfilled_indices else "",
                "config_hash": cfg.digest()},
    }


def _span_notes(days: pd.DatetimeIndex) -> list[str]:
    """A warning when the run is shorter than a year: annualised figures then extrapolate a short span."""
    span = (days[-1] - days[0]).days
    if span >= performance.DAYS_PER_YEAR:
        return []
    return [f"warning: the run spans {span} calendar days ({len(days)} trading days), less than a year: CAGR, "
            "volatility, Sharpe and Sortino extrapolate it to a year; the total return is what it earned"]


def _turnover(trades: pd.DataFrame, value: pd.Series) -> pd.Series:
    etf = trades[trades["strike"].isna() & (trades["action"] != "rejected")]
    traded = etf["value"].abs().groupby(etf["date"]).sum().reindex(value.index, fill_value=0.0)
    return traded / value


def _num(x):
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else float(x)


@dataclass(frozen=True)
class Ahead:
    """What `run_ahead` gives: `cfg`'s data and signals (also those of the other cut expectation, for
    the price of foresight), and the helper process making files of them."""

    prepared: Prepared
    signals: pd.DataFrame
    other_signals: pd.DataFrame
    helper: Helper
    made_for: tuple  # `_ahead_key` of the run these are for: `run` refuses them for another


def _ahead_key(cfg: Config, data_dir: str | None, offline: bool | None) -> tuple:
    return cfg.digest(), str(data_dir) if data_dir else None, offline


@contextmanager
def run_ahead(cfg: Config, data_dir: str | None = None, offline: bool | None = None) -> Iterator[Ahead]:
    """A helper process for `write_run(run(cfg, data_dir, offline, inputs=ahead), out, ahead=ahead)`,
    started before the run. It reads the data and computes the signals while this process loads
    the compiled engine (numba's start, which no process can hand to another), sends them here,
    then imports matplotlib and draws the regime picture, which needs only the data and the
    signals (`_ahead_files`), while the run computes; the report's pictures are left for when the
    run is done. A single run takes about 0.9 s less."""
    with Helper(functools.partial(_ahead_files, cfg.run.oracle),
                first=functools.partial(_inputs, cfg, data_dir, offline)) as helper:
        from fedcut.execution import kernel  # numba, imported here only: a report never needs it

        kernel.warm_up()
        prepared, sig, other = helper.first_result()
        yield Ahead(prepared, sig, other, helper, _ahead_key(cfg, data_dir, offline))


def _inputs(cfg: Config, data_dir: str | None, offline: bool | None) -> tuple[Prepared, pd.DataFrame, pd.DataFrame]:
    """The helper's first work. The data source, with every file it read, stays there (a run does
    not read it): 12 MB cross between the processes instead of 15."""
    prepared = prepare(cfg, data_dir, offline)
    return dataclasses.replace(prepared, source=None), signals(prepared, cfg), _other_signals(prepared, cfg)


def write_run(result: RunResult, out: Path, unique: bool = False, ahead: Ahead | None = None) -> Path:
    """Write the run folder atomically: into a temporary sibling, renamed when complete; returns
    its path. With `unique`, a taken `out` becomes the first free `out-2`, `out-3`, ... (default
    names never collide); otherwise an existing `out` is refused. A failure names the file in the
    folder's real location and leaves nothing behind. `ahead`: the `run_ahead` this result was
    computed from, whose helper then draws the pictures (one for other signals is refused)."""
    out = Path(out)
    if ahead is not None and ahead.signals is not result.signals:
        raise ValueError("write_run: the helper was started for another run's signals")
    if not unique:
        check_new_folder(out, "a run never overwrites another")
    tmp = out.parent / f".{out.name}.partial-{os.getpid()}"
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_temporaries(out.parent)
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        _write_files(result, tmp, ahead.helper if ahead is not None else None)
        while True:
            final = free_name(out) if unique else out
            try:
                os.rename(tmp, final)  # fails onto a folder with files in it: nothing is overwritten
                log.debug("wrote %s", final)
                return final
            except OSError as exc:
                if not (unique and exc.errno in (errno.EEXIST, errno.ENOTEMPTY)):  # else another run took the name
                    raise
    except OSError as exc:  # the temporary folder's name is ours: messages name the real place
        shutil.rmtree(tmp, ignore_errors=True)
        message = f"{exc.filename or out}: cannot write ({exc.strerror or exc})"
        raise FedcutError(message.replace(str(tmp), str(out))) from None
    except FedcutError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise type(exc)(str(exc).replace(str(tmp), str(out))) from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _write_files(result: RunResult, folder: Path, helper: Helper | None) -> None:
    """Every file of a run folder, each write failure naming its file."""
    if helper is None:
        helper = Helper(functools.partial(_ahead_files, result.config.run.oracle, (result.prepared, result.signals)))
    with helper:
        with writing(folder / "config.toml"):
            (folder / "config.toml").write_text(to_toml(result.config, header=_header(result)))
        with writing(folder / "metrics.json"):
            (folder / "metrics.json").write_text(json.dumps(result.metrics, indent=2, sort_keys=True, allow_nan=False) + "\n")
        eq = result.equity.reset_index()
        eq["date"] = eq["date"].dt.strftime("%Y-%m-%d")
        with writing(folder / "equity.csv"):
            eq.to_csv(folder / "equity.csv", index=False, float_format="%.10g")
        tr = result.trades.copy()
        tr["date"] = tr["date"].dt.strftime("%Y-%m-%d")
        with writing(folder / "trades.csv"):
            tr.to_csv(folder / "trades.csv", index=False, float_format="%.10g")
        with writing(folder / "episodes.csv"):
            result.episodes.to_csv(folder / "episodes.csv", index=False, float_format="%.10g")
        if result.baselines is not None:
            with writing(folder / "baselines.csv"):
                result.baselines.to_csv(folder / "baselines.csv", index=False, float_format="%.10g")
        rate = result.prepared.broker_inputs["cash_rate"].rename("cash_rate")  # the Sharpe ratios' risk-free rate
        rate.index = rate.index.strftime("%Y-%m-%d")  # as text first: with date_format, to_csv takes 3 times as long
        with writing(folder / "cash_rate.csv"):
            rate.to_csv(folder / "cash_rate.csv", float_format="%.10g", index_label="date")
        with writing(folder / "plots"):
            (folder / "plots").mkdir()
        render_report(folder, _source(result.data_dir, result.offline), helper,
                      meanwhile=lambda: _signals_csv(result.signals, folder / "signals.csv"))


def _ahead_files(oracle: bool, inputs: tuple) -> dict[str, bytes]:
    """The run folder's regime picture, made from the data and the signals alone, `inputs`' first
    two (by the helper, while the run computes); matplotlib is imported first."""
    prepared, sig = inputs[:2]
    preload()
    m = prepared.market
    picture = regimes_figure(sig, m.close["IWM"], [d for d in prepared.first_cuts if d >= m.days[0]],
                             title_suffix=" (oracle)" if oracle else "")
    return {"plots/regimes.png": png_bytes(picture)}


def _signals_csv(sig: pd.DataFrame, path: Path) -> None:
    table = sig.copy()
    table.index = table.index.strftime("%Y-%m-%d")
    table.index.name = "date"
    with writing(path):
        table.to_csv(path, float_format="%.10g", date_format="%Y-%m-%d")


def _header(result: RunResult) -> str:
    lines = [f"fedcut run configuration (hash {result.config.digest()}): reproduce with",
             "fedcut run --config config.toml"]
    if result.config.data.allow_backfilled_indices:
        lines.insert(0, BACKFILLED_LABEL)
    if result.config.run.oracle:
        lines.insert(0, ORACLE_LABEL)
    return "\n".join(lines)
