"""One run: data -> signals -> decisions -> execution -> analysis, in memory.

`run` executes one configuration, its benchmarks and baselines, and returns plain frames and
metrics (`RunResult`); `fedcut.run.folder.write_run` saves them.
"""

from __future__ import annotations

import functools
import logging
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from fedcut.analyzers import performance
from fedcut.analyzers.cycle_verdict import best_baseline, cycle_tally
from fedcut.analyzers.episodes import cycle_windows, episode_table
from fedcut.analyzers.hedge_outcome import hedge_outcome
from fedcut.analyzers.verdict import baseline_figures, baselines_frame, cycle_figures, foresight, verdict
from fedcut.core.params import Config, resolve
from fedcut.core.user_code import is_ref
from fedcut.core.user_code import load as load_user
from fedcut.data.benchmark import benchmark_of
from fedcut.data.catalog import BACKFILLED_LABEL
from fedcut.data.gauge import MODELLED
from fedcut.execution.engine import tape_for
from fedcut.execution.engines import ARRAY, Engine
from fedcut.run.inputs import Prepared, prepare, signals
from fedcut.run.inputs import clear_caches as clear_input_caches
from fedcut.signals.regime import ORACLE_LABEL
from fedcut.strategies import baselines
from fedcut.strategies.targets import target_weights
from fedcut.strategies.user import RuleInputs, decide

EQUITY_COLUMNS = ("date", "strategy", "benchmark", "regime", "cash", "option_value")
TRADE_COLUMNS = (
    "date",
    "instrument",
    "action",
    "quantity",
    "price",
    "value",
    "commission",
    "strike",
    "expiry",
    "spot",
    "vol",
    "rate",
    "div_yield",
    "years_to_expiry",
    "model_price",
    "fill_price",
)

log = logging.getLogger(__name__)


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


@dataclass(frozen=True)
class Executed:
    """One portfolio's execution, whichever engine ran it: daily `rows` (value, cash, option_value,
    option_delta, then the USD held per ticker), ETF fills and refusals, option events, and the
    cash counters (interest earned and paid, days below zero, the lowest cash)."""

    rows: pd.DataFrame
    fills: list
    option_events: list
    cash: dict


def execute_strategy(
    prepared: Prepared, cfg: Config, tickers, weights: np.ndarray, hedge_ratio: np.ndarray, engine: Engine = ARRAY
) -> Executed:
    """Follow daily target weights and hedge ratios with `engine` (every engine gives the same numbers)."""
    tape = tape_for(prepared.market, prepared.broker_inputs, tuple(tickers))
    ex = engine.execute(tape, [cfg], weights[None], hedge_ratio[None], record=True)
    rows = pd.DataFrame(
        {
            "value": ex.value[0],
            "cash": ex.cash[0],
            "option_value": ex.option_value[0],
            "option_delta": ex.option_delta[0],
        },
        index=prepared.market.days,
    )
    for j, t in enumerate(tickers):
        rows[t] = ex.held[0, :, j]
    rows.index.name = "date"
    c = ex.counts
    return Executed(
        rows,
        ex.fills[0],
        ex.option_events[0],
        {
            "interest_earned": float(c["interest_earned"][0]),
            "interest_paid": float(c["interest_paid"][0]),
            "negative_cash_days": int(c["negative_cash_days"][0]),
            "lowest_cash": float(c["lowest_cash"][0]),
        },
    )


@functools.lru_cache(maxsize=8)
def _benchmark_cached(prepared: Prepared, ticker: str, execution_values, engine: Engine) -> pd.Series:
    cfg = resolve({f"execution.{k}": v for k, v in execution_values})  # puts are never bought: hedge.* is moot
    tape = tape_for(prepared.market, prepared.broker_inputs, (ticker,))
    return pd.Series(engine.buy_and_hold(tape, [cfg])[0], index=prepared.market.days, name="value")


def benchmark(prepared: Prepared, cfg: Config, ticker: str, engine: Engine = ARRAY) -> pd.Series:
    """Buy-and-hold `ticker`'s daily value through the same execution; cached, since only
    execution.* settings change it."""
    return _benchmark_cached(prepared, ticker, tuple(sorted(cfg.execution.as_dict().items())), engine)


def run_cycles(prepared: Prepared, cfg: Config) -> list:
    """The easing cycles a run reports on: each whose first cut lies in the run, and each that began
    before it of which the run holds at least `analysis.min_cycle_months_in_run` after the cut; windows
    clipped to the run (and flagged so)."""
    days = prepared.market.days
    a = cfg.analysis
    cuts = [
        d
        for d in prepared.first_cuts
        if d <= days[-1]
        and (
            d >= days[0]
            or d + pd.DateOffset(months=a.cycle_months_after)
            >= days[0] + pd.DateOffset(months=a.min_cycle_months_in_run)
        )
    ]
    return cycle_windows(cuts, a.cycle_months_before, a.cycle_months_after, data_end=days[-1], data_start=days[0])


def strategy_plan(
    name: str, prepared: Prepared, cfg: Config, sig: pd.DataFrame
) -> tuple[tuple[str, ...], np.ndarray, np.ndarray]:
    """Tickers, daily target weights and hedge ratios of a named strategy (`strategies.baselines`)."""
    m = prepared.market
    if is_ref(name):
        return prepared.tickers, *user_plan(name, prepared, cfg, sig)
    if name == "fedcut":
        available = m.close[list(prepared.tickers)].notna()
        t = target_weights(sig, available, cfg.strategy, cfg.hedge)
        return prepared.tickers, t[[f"w_{x}" for x in prepared.tickers]].to_numpy(), t["hedge_ratio"].to_numpy()
    tickers = baselines.tickers_for(name, prepared.tickers)
    weights = baselines.plan(
        name, tickers, m.days, m.close["IWM"], m.vix, prepared.raw, cfg.data, cfg.strategy, cfg.baseline
    )
    listed = m.close[list(tickers)].notna().to_numpy()
    weights = np.where(listed | np.isnan(weights), weights, 0.0)  # nothing is bought before it exists
    return tickers, weights, np.zeros(len(m.days))


def user_plan(ref: str, prepared: Prepared, cfg: Config, sig: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Daily target weights (over the run's tickers) and hedge ratios of user code (`strategies.user`),
    checked and its look-ahead tested; nothing is bought before it exists, as for the built-in rules."""
    m = prepared.market
    role = "user rule" if ref == cfg.run.strategy else "user baseline"
    inputs = RuleInputs(
        m.days, sig.drop(columns=["reason"], errors="ignore"), m.close, prepared.raw, prepared.tickers, cfg.data
    )
    weights, ratio = decide(load_user(ref), inputs, cfg.user.as_dict(), role)
    listed = m.close[list(prepared.tickers)].notna().to_numpy()
    return np.where(listed, weights, 0.0), ratio


def labels_for(cfg: Config, days: pd.DatetimeIndex) -> dict[str, str]:
    """Every strategy's name in tables: the built-in labels, buy-and-hold named as the run's benchmark
    is (`data.benchmark`: small caps where stand-ins hold IWM's place), and user code by its reference."""
    bench = benchmark_of(cfg.run.history, days[0], days[-1])
    return {**{n: baselines.label_of(n, bench) for n in baselines.LABELS}, **{ref: ref for ref in cfg.user_refs()}}


def run(cfg: Config, data_dir: str | None = None, offline: bool | None = None, engine: Engine = ARRAY) -> RunResult:
    """Execute one configuration, its benchmarks and baselines; return frames and metrics (nothing
    written). Every engine (`execution.engines`) gives the same numbers."""
    prepared = prepare(cfg, data_dir, offline)
    sig = signals(prepared, cfg)
    own = cfg.run.strategy
    tickers, weights, ratio = strategy_plan(own, prepared, cfg, sig)
    done = execute_strategy(prepared, cfg, tickers, weights, ratio, engine)
    rows = done.rows
    bench, spy = benchmark(prepared, cfg, "IWM", engine), benchmark(prepared, cfg, "SPY", engine)

    equity = pd.DataFrame(
        {
            "strategy": rows["value"],
            "benchmark": bench,
            "regime": sig["regime"].reindex(rows.index),
            "cash": rows["cash"],
            "option_value": rows["option_value"],
        }
    )
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
    episodes = episode_table(
        equity["strategy"],
        equity["benchmark"],
        windows,
        hedge_pnl=hedge_pnl,
        regimes=equity["regime"],
        weights=equity[[f"w_{t}" for t in tickers]],
    )
    metrics = _metrics(cfg, prepared, equity, trades, rf, episodes, done)
    metrics["hedge"].update(hedge_outcome(equity, trades, prepared.broker_inputs["vix"], cfg.hedge.contract_size))

    curves = baseline_curves(prepared, cfg, sig, own, engine, bench, spy)
    iwm_held = rows["IWM"] > 0 if "IWM" in rows else pd.Series(False, index=rows.index)
    figures = {name: baseline_figures(value, held, rf, windows) for name, (value, held) in curves.items()}
    own_figures = baseline_figures(equity["strategy"], iwm_held, rf, windows)
    labels = labels_for(cfg, equity.index)
    table = baselines_frame(own, own_figures, figures, labels)
    metrics["baselines"] = figures
    metrics["verdict"] = verdict(
        equity["strategy"], {n: v for n, (v, _) in curves.items()}, rf, len(windows), labels, cfg.verdict
    )
    best = best_baseline(figures)
    episodes = _with_best_baseline(episodes, figures.get(best, {}).get("cycles", {}), metrics["cycles"])
    metrics["cycle_verdict"] = {"best_baseline": best, **cycle_tally(episodes.to_dict("records"))}
    if own == "fedcut":
        metrics["foresight"] = _foresight(prepared, cfg, engine, equity["strategy"], rf, windows)
        without = execute_strategy(prepared, cfg, tickers, weights, np.zeros_like(ratio)).rows["value"]
        s = performance.summary(without, rf)
        metrics["hedge"]["without_puts"] = {
            "cagr": s["cagr"],
            "sharpe": s["sharpe"],
            "max_drawdown": s["max_drawdown"],
            "cycles": cycle_figures(without, windows),
        }
    metrics["run"]["strategy"] = own
    if cfg.user_refs():  # which code, and which version of its file, made these numbers
        metrics["run"]["user_code"] = {ref: load_user(ref).source_hash for ref in cfg.user_refs()}
    return RunResult(cfg, prepared, sig, equity, trades, metrics, episodes, data_dir, offline, table)


def _with_best_baseline(episodes: pd.DataFrame, best: dict[str, dict], cycles: dict[str, dict]) -> pd.DataFrame:
    """Each cycle's return and drawdown of the best baseline (`cycle_verdict.best_baseline`), as columns
    of episodes.csv and entries of metrics.json's cycles."""
    if episodes.empty:  # no easing cycle in the run: episodes.csv stays empty
        return episodes
    out = episodes.copy()
    for key in ("return", "max_drawdown"):
        out[f"best_baseline_{key}"] = [best.get(str(c), {}).get(key, math.nan) for c in out["cycle"]]
    for c, entry in cycles.items():
        entry.update({f"best_baseline_{k}": _num(best.get(c, {}).get(k)) for k in ("return", "max_drawdown")})
    return out


def baseline_curves(
    prepared: Prepared, cfg: Config, sig: pd.DataFrame, own: str, engine: Engine, bench: pd.Series, spy: pd.Series
) -> dict[str, tuple[pd.Series, pd.Series]]:
    """Every named strategy but the run's own, then the user baselines: daily value and whether IWM is
    held, through the same execution (one call of the engine for all of them)."""
    days = prepared.market.days
    out: dict[str, tuple[pd.Series, pd.Series]] = {}
    names = [n for n in (*baselines.NAMES, *cfg.user_refs()) if n != own]
    if "buy_and_hold" in names:
        out["buy_and_hold"] = (bench, pd.Series(np.arange(len(days)) >= 1, index=days))  # bought on day 2's open
    if "spy" in names:
        out["spy"] = (spy, pd.Series(False, index=days))
    rest = [n for n in names if n not in out]
    if rest:
        plans = [strategy_plan(n, prepared, cfg, sig) for n in rest]  # each trades the run's tickers
        tape = tape_for(prepared.market, prepared.broker_inputs, prepared.tickers)
        ex = engine.execute(
            tape, [cfg] * len(rest), np.stack([p[1] for p in plans]), np.stack([p[2] for p in plans]), record=True
        )
        for k, n in enumerate(rest):
            out[n] = (pd.Series(ex.value[k], index=days, name="value"), pd.Series(ex.held[k, :, 0] > 0, index=days))
    return {n: out[n] for n in names}


def _foresight(prepared: Prepared, cfg: Config, engine: Engine, curve: pd.Series, rf: pd.Series, windows) -> dict:
    """The regime strategy with the other cut expectation (the actual calendar, or the market's)."""
    other = _other(cfg)
    sig = signals(prepared, other, reasons=False)  # no one reads its reasons
    value = execute_strategy(prepared, other, *strategy_plan("fedcut", prepared, other, sig), engine=engine).rows[
        "value"
    ]
    real, oracle = (value, curve) if cfg.run.oracle else (curve, value)
    return {**foresight(real, oracle, rf, windows), "oracle_lead_days": cfg.regime.oracle_lead_days}


def _other(cfg: Config) -> Config:
    """`cfg` with the other cut expectation: the price of foresight compares the two."""
    return cfg.with_overrides({"run.oracle": not cfg.run.oracle})


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
    flows = pd.Series(
        [e.cash for e in option_events], index=pd.DatetimeIndex([e.date for e in option_events]), dtype=float
    )
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
        cycles[row.cycle] = {
            "strategy_max_drawdown": _num(row.strategy_max_drawdown),
            "benchmark_max_drawdown": _num(row.benchmark_max_drawdown),
            "strategy_return": _num(row.strategy_return),
            "benchmark_return": _num(row.benchmark_return),
            "window": f"{row.window_start}..{row.window_end}",
        }
    regimes = equity["regime"].value_counts(normalize=True).sort_index()
    return {
        "strategy": performance.summary(equity["strategy"], rf, turnover),
        "benchmark": performance.summary(equity["benchmark"], rf),
        "spy": performance.summary(equity["spy"], rf),
        "cycles": cycles,
        "hedge": {
            "premium_paid": premium,
            "proceeds_and_settlements": proceeds,
            "commission_included": hedge_commission,
            "net_cash": proceeds - premium,
            "option_trades": len(done.option_events),
            "volatility_modelled_to": _modelled_to(m),
        },
        "etf_trades": int((trades["strike"].isna() & (trades["action"] != "rejected")).sum()),
        "rejected_orders": int((trades["action"] == "rejected").sum()),
        "interest_earned": done.cash["interest_earned"],
        "cash": {
            "interest_paid": done.cash["interest_paid"],
            "negative_cash_days": done.cash["negative_cash_days"],
            "lowest_cash": done.cash["lowest_cash"],
        },
        "regime_share": {k: float(v) for k, v in regimes.items()},
        "run": {
            "start": str(m.days[0].date()),
            "end": str(m.days[-1].date()),
            "history": cfg.run.history,
            "end_set_by": m.end_set_by,
            "proxies": [p.describe() for p in m.proxies],
            "notes": list(m.notes) + _span_notes(m.days),
            "oracle": bool(cfg.run.oracle),
            "label": ORACLE_LABEL if cfg.run.oracle else "",
            "backfilled_indices": bool(cfg.data.allow_backfilled_indices),
            "backfilled_label": BACKFILLED_LABEL if cfg.data.allow_backfilled_indices else "",
            "config_hash": cfg.digest(),
        },
    }


def _modelled_to(market) -> str | None:
    """The last day the puts' volatility was modelled from realised volatility (no implied volatility
    published yet), or None when every day of the run had a published index."""
    spans = [p.end for p in market.proxies if p.ticker == "VIX" and p.proxy == MODELLED]
    return str(max(spans).date()) if spans else None


def _span_notes(days: pd.DatetimeIndex) -> list[str]:
    """A warning when the run is shorter than a year: annualised figures then extrapolate a short span."""
    span = (days[-1] - days[0]).days
    if span >= performance.DAYS_PER_YEAR:
        return []
    return [
        f"warning: the run spans {span} calendar days ({len(days)} trading days), less than a year: CAGR, "
        "volatility, Sharpe and Sortino extrapolate it to a year; the total return is what it earned"
    ]


def _turnover(trades: pd.DataFrame, value: pd.Series) -> pd.Series:
    etf = trades[trades["strike"].isna() & (trades["action"] != "rejected")]
    traded = etf["value"].abs().groupby(etf["date"]).sum().reindex(value.index, fill_value=0.0)
    return traded / value


def _num(x):
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else float(x)


def clear_caches() -> None:
    """Empty this process's caches (data, as-of views, signals, benchmarks): the next run loads and
    computes everything again (cold timings, tests that must not share state)."""
    clear_input_caches()
    _benchmark_cached.cache_clear()
