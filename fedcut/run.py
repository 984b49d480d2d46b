"""One run: data -> signals -> decisions -> execution (backtrader) -> analysis -> files.

`prepare` does what no strategy parameter changes (loading, aligning, option inputs) once per
process; `signals` is cached per regime configuration; `run` executes one configuration and
returns plain frames that `write_run` saves atomically.
"""
from __future__ import annotations

import functools
import json
import math
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import backtrader as bt
import numpy as np
import pandas as pd

from fedcut.analyzers import performance
from fedcut.analyzers.report import render as render_report
from fedcut.analyzers.episodes import cycle_windows, episode_table
from fedcut.data.asof import asof_frame
from fedcut.data.catalog import REGIME_SERIES
from fedcut.data.cuts import easing_cycles, rate_changes, target_series
from fedcut.data.market import Market, build_market
from fedcut.data.sources import DataSource, default_cache_dir, default_data_dir, offline_from_env
from fedcut.config import to_toml
from fedcut.errors import DataError, FedcutError
from fedcut.params import Config, Section, resolve
from fedcut.hedging.broker import HedgedBroker
from fedcut.hedging.pricing import dividend_yield, tbill_discount_to_continuous
from fedcut.signals.plot import plot_regimes
from fedcut.signals.regime import ORACLE_LABEL, load_raw, regime_frame
from fedcut.strategies.feeds import FrameFeed
from fedcut.strategies.fedcut_strategy import BuyAndHold, FedcutStrategy
from fedcut.strategies.targets import holdings_for, target_weights

EQUITY_COLUMNS = ("date", "strategy", "benchmark", "regime", "cash", "option_value")
TRADE_COLUMNS = ("date", "instrument", "action", "quantity", "price", "value", "commission",
                 "strike", "expiry", "spot", "vol", "rate", "div_yield", "years_to_expiry",
                 "model_price", "fill_price")


@dataclass(frozen=True, eq=False)  # hashed by identity: signals are cached per prepared data
class Prepared:
    """What every run over the same data and dates shares."""

    market: Market
    raw: dict
    broker_inputs: pd.DataFrame  # spot, vix, rate, div_yield, cash_rate per day, as known that day
    first_cuts: tuple[pd.Timestamp, ...]
    tickers: tuple[str, ...]


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
    market = build_market(source, tickers + ("SPY",), start, end, extended,
                          data_params["rut_dividend_yield"], REGIME_SERIES)
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
    return Prepared(market, raw, inputs, first_cuts, tickers)


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


@functools.lru_cache(maxsize=16)
def _signals_cached(prepared: Prepared, data_values, regime_values, oracle) -> pd.DataFrame:
    m = prepared.market
    return regime_frame(prepared.raw, m.close["IWM"], m.vix, Section("data", dict(data_values)),
                        Section("regime", dict(regime_values)), oracle)


def signals(prepared: Prepared, cfg: Config) -> pd.DataFrame:
    return _signals_cached(prepared, tuple(sorted(cfg.data.as_dict().items())),
                           tuple(sorted(cfg.regime.as_dict().items())), cfg.run.oracle)


def _cerebro(prepared: Prepared, tickers: tuple[str, ...], cfg: Config) -> tuple[bt.Cerebro, HedgedBroker]:
    m = prepared.market
    cerebro = bt.Cerebro(stdstats=False, preload=True, runonce=True, cheat_on_open=True)
    broker = HedgedBroker(cfg.hedge)
    broker.set_cash(cfg.execution.initial_cash)
    inputs = prepared.broker_inputs
    if not cfg.execution.cash_interest:
        inputs = inputs.assign(cash_rate=0.0)
    broker.set_market(inputs)
    broker.setcommission(commission=cfg.execution.commission_bps / 1e4)
    broker.set_slippage_perc(cfg.execution.slippage_bps / 1e4, slip_open=True, slip_match=True, slip_out=True)
    cerebro.broker = broker
    for t in tickers:
        # Before a ticker exists its target weight is 0 (targets.target_weights), so it is never
        # traded; the feed carries its first price (or 0 if it has none in the run, which
        # `_rebalance` skips) only so that a zero position values to 0, not NaN.
        close, opn = m.close[t].bfill().fillna(0.0), m.open[t].bfill().fillna(0.0)
        frame = pd.DataFrame({"open": opn, "high": np.fmax(opn, close), "low": np.fmin(opn, close),
                              "close": close, "volume": 0.0}, index=m.days)
        cerebro.adddata(FrameFeed(frame=frame), name=t)
    return cerebro, broker


def _engine(prepared: Prepared, cfg: Config, tickers, strategy, **kwargs) -> tuple[pd.DataFrame, list, HedgedBroker]:
    cerebro, broker = _cerebro(prepared, tickers, cfg)
    cerebro.addstrategy(strategy, **kwargs)
    strat = cerebro.run()[0]
    rows = pd.DataFrame(strat.rows, columns=["date", "value", "cash", "option_value", *tickers])
    rows["date"] = pd.to_datetime(rows["date"])
    return rows.set_index("date"), strat.fills, broker


@functools.lru_cache(maxsize=8)
def _benchmark_cached(prepared: Prepared, ticker: str, execution_values) -> pd.DataFrame:
    cfg = resolve({f"execution.{k}": v for k, v in execution_values})  # puts are never bought: hedge.* is moot
    rows, _, _ = _engine(prepared, cfg, (ticker,), BuyAndHold, cash_buffer=cfg.execution.cash_buffer)
    return rows


def benchmark(prepared: Prepared, cfg: Config, ticker: str) -> pd.DataFrame:
    """Buy-and-hold `ticker` through the same engine; cached, since only execution.* settings change it."""
    return _benchmark_cached(prepared, ticker, tuple(sorted(cfg.execution.as_dict().items())))


def run(cfg: Config, data_dir: str | None = None, offline: bool | None = None) -> RunResult:
    """Execute one configuration and its benchmarks; return frames and metrics (nothing written)."""
    prepared = prepare(cfg, data_dir, offline)
    m = prepared.market
    sig = signals(prepared, cfg)
    tickers = prepared.tickers
    available = m.close[list(tickers)].notna()
    targets = target_weights(sig, available, cfg.strategy, cfg.hedge.hedge_ratio)
    weights = targets[[f"w_{t}" for t in tickers]].to_numpy()
    buffer = cfg.execution.cash_buffer
    rows, fills, broker = _engine(prepared, cfg, tickers, FedcutStrategy, targets=weights,
                                  hedge_ratio=targets["hedge_ratio"].to_numpy(), band=cfg.execution.rebalance_band,
                                  cash_buffer=buffer, hedge=cfg.hedge)
    bench, spy = benchmark(prepared, cfg, "IWM"), benchmark(prepared, cfg, "SPY")

    equity = pd.DataFrame({"strategy": rows["value"], "benchmark": bench["value"],
                           "regime": sig["regime"].reindex(rows.index), "cash": rows["cash"],
                           "option_value": rows["option_value"]})
    for t in tickers:
        equity[f"w_{t}"] = rows[t] / rows["value"]
    equity["spy"] = spy["value"]
    book = pd.DataFrame(broker.book_history)
    equity["option_delta"] = book.set_index(pd.to_datetime(book["date"]))["option_delta"].reindex(equity.index)
    equity.index.name = "date"
    trades = _trades(fills, broker)
    rf = prepared.broker_inputs["cash_rate"]
    cuts_in_data = [d for d in prepared.first_cuts if m.days[0] <= d <= m.days[-1]]  # a cycle needs its first cut in the run
    windows = cycle_windows(cuts_in_data, cfg.analysis.cycle_months_before, cfg.analysis.cycle_months_after,
                            data_end=m.days[-1], data_start=m.days[0])
    cum_hedge_pnl = _hedge_pnl(equity, broker)
    hedge_pnl = cum_hedge_pnl.diff().fillna(cum_hedge_pnl.iloc[0])  # episode_table sums daily P&L
    episodes = episode_table(equity["strategy"], equity["benchmark"], windows, hedge_pnl=hedge_pnl,
                             regimes=equity["regime"], weights=equity[[f"w_{t}" for t in tickers]])
    metrics = _metrics(cfg, prepared, equity, trades, rf, episodes, broker)
    return RunResult(cfg, prepared, sig, equity, trades, metrics, episodes, data_dir, offline)


def _trades(fills: list[dict], broker: HedgedBroker) -> pd.DataFrame:
    etf = pd.DataFrame(fills)
    options = pd.DataFrame([e.as_row() for e in broker.option_events])
    if len(options):
        size = broker.hedge.contract_size
        sign = np.where(options["action"].isin(["buy", "roll_buy"]), 1, -1)
        options["quantity"] = sign * options["contracts"]
        options["price"] = options["fill_price"]
        options["value"] = options["quantity"] * options["fill_price"] * size
    out = pd.concat([etf, options], ignore_index=True) if len(options) else etf
    out = out.reindex(columns=TRADE_COLUMNS)
    out["date"] = pd.to_datetime(out["date"])
    return out.sort_values("date", kind="stable").reset_index(drop=True)


def _hedge_pnl(equity: pd.DataFrame, broker: HedgedBroker) -> pd.Series:
    """Cumulative P&L of the puts: marked value plus every option cash flow (after costs) to date."""
    flows = pd.Series([e.cash for e in broker.option_events],
                      index=pd.DatetimeIndex([e.date for e in broker.option_events]), dtype=float)
    cum = flows.groupby(level=0).sum().reindex(equity.index, fill_value=0.0).cumsum()
    return (equity["option_value"] + cum).rename("hedge_pnl")


def _metrics(cfg, prepared, equity, trades, rf, episodes, broker) -> dict:
    m = prepared.market
    turnover = _turnover(trades, equity["strategy"])
    flows = np.array([e.cash for e in broker.option_events])
    premium, proceeds = float(-flows[flows < 0].sum()), float(flows[flows > 0].sum())
    hedge_commission = float(sum(e.commission for e in broker.option_events))
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
                  "option_trades": len(broker.option_events)},
        "etf_trades": int((trades["strike"].isna() & (trades["action"] != "rejected")).sum()),
        "rejected_orders": int((trades["action"] == "rejected").sum()),
        "interest_earned": float(broker.interest_earned),
        "regime_share": {k: float(v) for k, v in regimes.items()},
        "run": {"start": str(m.days[0].date()), "end": str(m.days[-1].date()), "end_set_by": m.end_set_by,
                "proxies": [p.describe() for p in m.proxies], "notes": list(m.notes) + _span_notes(m.days),
                "oracle": bool(cfg.run.oracle), "label": ORACLE_LABEL if cfg.run.oracle else "",
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


def write_run(result: RunResult, out: Path) -> Path:
    """Write the run folder atomically: into a temporary sibling, renamed when complete."""
    out = Path(out)
    if out.exists():
        raise FedcutError(f"--out {out}: already exists; a run never overwrites another")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.partial-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        (tmp / "config.toml").write_text(to_toml(result.config, header=_header(result)))
        (tmp / "metrics.json").write_text(json.dumps(result.metrics, indent=2, sort_keys=True, allow_nan=False) + "\n")
        eq = result.equity.reset_index()
        eq["date"] = eq["date"].dt.strftime("%Y-%m-%d")
        eq.to_csv(tmp / "equity.csv", index=False, float_format="%.10g")
        tr = result.trades.copy()
        tr["date"] = tr["date"].dt.strftime("%Y-%m-%d")
        tr.to_csv(tmp / "trades.csv", index=False, float_format="%.10g")
        sig = result.signals.copy()
        sig.index = sig.index.strftime("%Y-%m-%d")
        sig.index.name = "date"
        sig.to_csv(tmp / "signals.csv", float_format="%.10g", date_format="%Y-%m-%d")
        result.episodes.to_csv(tmp / "episodes.csv", index=False, float_format="%.10g")
        (tmp / "plots").mkdir()
        m = result.prepared.market
        plot_regimes(result.signals, m.close["IWM"], [d for d in result.prepared.first_cuts if d >= m.days[0]],
                     tmp / "plots" / "regimes.png",
                     title_suffix=" (oracle)" if result.config.run.oracle else "")
        render_report(tmp, _source(result.data_dir, result.offline))
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def _header(result: RunResult) -> str:
    lines = [f"fedcut run configuration (hash {result.config.digest()}): reproduce with",
             "python run_backtest.py --config config.toml"]
    if result.config.run.oracle:
        lines.insert(0, ORACLE_LABEL)
    return "\n".join(lines)
