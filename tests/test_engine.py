"""The array engines against backtrader: the same rules must give the same numbers.

On the real data (2000-2025, 1990-2025 extended, and 1954-1990 of the long history, where the
puts before 1987 strike and pay commissions in the scaled spot's unit) for fixed configurations that reach every
rule (each recession action, no band, no cash buffer, leveraged puts, budget sizing, extreme
tenors and strikes, heavy costs, no interest, oracle signals), and on random synthetic markets:
equity, cash, option value and option delta are identical, bit for bit, for the numpy block
engine and the scalar kernel (compiled by numba when installed): all price puts with the same
Cephes exp, log and ndtr (`hedging.pricing`), not numpy's vector exp and log, which on CPUs with
AVX-512 round differently in the last bit from the C library's; fills, refusals and option
events are the same streams.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fedcut.core.params import resolve
from fedcut.data.catalog import SMALL_CAP_SPOT_SCALE
from fedcut.run.backtest import execute_strategy
from fedcut.run.inputs import Prepared, prepare, signals
from fedcut.execution.engine import execute, settings_for, tape_for
from fedcut.strategies.targets import target_weights

CONFIGS = {
    "default": {},
    "avoid": {"strategy.recession_action": "avoid"},
    "quality": {"strategy.recession_action": "quality"},
    "midcap": {"strategy.recession_action": "midcap"},
    "no band": {"execution.rebalance_band": 0.0},
    "no cash buffer": {"execution.cash_buffer": 0.0},
    "double puts on full equity": {"strategy.recession_equity": 1.0, "hedge.hedge_ratio": 2.0},
    "budget sizing": {"hedge.sizing": "budget", "hedge.annual_budget": 0.05},
    "weekly puts": {"hedge.tenor_days": 7, "hedge.roll_days": 0, "hedge.resize_band": 0.0},
    "two-year puts": {"hedge.tenor_days": 730, "hedge.roll_days": 364},
    "far strikes": {"hedge.moneyness": 0.5, "strategy.recession_equity": 0.9},
    "in the money, costly, no interest": {"hedge.moneyness": 1.2, "execution.slippage_bps": 100.0,
                                          "execution.commission_bps": 100.0, "execution.cash_interest": False},
    "oracle": {"run.oracle": True},
}
# Other calendars, each a block of its own: the extended history (from 1990), and the long one to 1990
# (the modelled volatility, the spot scaled back before RUT with its option unit, then RUT / 10).
OTHER_HISTORIES = {
    "extended history": {"extended": {"run.history": "extended"}},
    "long history": {"long": {"run.history": "long", "run.end": "1990-12-31"},
                     "long, budget sizing": {"run.history": "long", "run.end": "1990-12-31", "hedge.sizing": "budget",
                                             "hedge.annual_budget": 0.05}},
}


def _plan(prepared: Prepared, cfg):
    sig = signals(prepared, cfg)
    available = prepared.market.close[list(prepared.tickers)].notna()
    t = target_weights(sig, available, cfg.strategy, cfg.hedge)
    return t[[f"w_{x}" for x in prepared.tickers]].to_numpy(), t["hedge_ratio"].to_numpy()


def _same(reference, fast, k: int, label: str) -> None:
    """Engine output k equals the reference `Executed`, bit for bit."""
    rows = reference.rows
    check = np.testing.assert_array_equal
    for name, got in (("value", fast.value[k]), ("cash", fast.cash[k]), ("option_value", fast.option_value[k]),
                      ("option_delta", fast.option_delta[k])):
        check(rows[name].to_numpy(), got), f"{label}: {name}"
    check(rows.iloc[:, 4:].to_numpy(), fast.held[k])
    ref_fills, got_fills = pd.DataFrame(reference.fills), pd.DataFrame(fast.fills[k])
    assert len(ref_fills) == len(got_fills), label
    if len(ref_fills):
        for col in ("date", "instrument", "action", "quantity"):
            assert ref_fills[col].tolist() == got_fills[col].tolist(), (label, col)
        for col in ("price", "value", "commission"):
            check(ref_fills[col].to_numpy(dtype=float), got_fills[col].to_numpy(dtype=float))
    ref_ev = [e.as_row() for e in reference.option_events]
    got_ev = [e.as_row() for e in fast.option_events[k]]
    assert len(ref_ev) == len(got_ev), label
    for a, b in zip(ref_ev, got_ev):
        for key, value in a.items():
            if isinstance(value, float):
                check(np.array([value]), np.array([b[key]]))
            else:
                assert value == b[key], (label, key, a, b)


@pytest.fixture(scope="module", params=["default history", *OTHER_HISTORIES])
def history(request, shared_data):
    group = CONFIGS if request.param == "default history" else OTHER_HISTORIES[request.param]
    configs = {name: resolve(o) for name, o in group.items()}
    prepared = prepare(next(iter(configs.values())), str(shared_data), True)
    plans = {name: _plan(prepared, cfg) for name, cfg in configs.items()}
    references = {name: execute_strategy(prepared, cfg, prepared.tickers, *plans[name], engine="backtrader")
                  for name, cfg in configs.items()}
    return request.param, prepared, configs, plans, references


@pytest.mark.parametrize("method", ["block", "kernel"])
def test_array_engines_reproduce_backtrader_on_real_history(history, method):
    label, prepared, configs, plans, references = history
    names = list(configs)
    tape = tape_for(prepared.market, prepared.broker_inputs, prepared.tickers)
    weights = np.stack([plans[n][0] for n in names])
    ratios = np.stack([plans[n][1] for n in names])
    # One block: every configuration steps through the same days together.
    got = execute(tape, weights, ratios, settings_for([configs[n] for n in names]), record=True, method=method)
    for k, name in enumerate(names):
        _same(references[name], got, k, label=f"{label}, {name}, {method}")
    if label == "default history":  # the configurations reach the rules they are meant to reach
        count = {key: dict(zip(names, values)) for key, values in got.counts.items()}
        assert count["rejected_orders"]["no cash buffer"] > count["rejected_orders"]["default"]
        assert count["negative_cash_days"]["double puts on full equity"] > 0  # a margin loan, charged
        assert count["interest_paid"]["double puts on full equity"] > 0
        assert count["option_trades"]["weekly puts"] > 2 * count["option_trades"]["default"]
        assert count["interest_earned"]["in the money, costly, no interest"] == 0
    if label == "long history":  # puts were traded in the scaled unit, before RUT's first day
        unit = prepared.broker_inputs["option_unit"]
        for name in names:
            cost = configs[name].hedge.commission_per_contract
            early = [e for e in references[name].option_events if unit[pd.Timestamp(e.date)] != 1.0]
            assert len(early) > 10, name
            assert all(e.commission == cost * SMALL_CAP_SPOT_SCALE * e.contracts for e in early if e.commission), name


def test_a_run_is_the_same_through_either_engine(shared_data):
    from fedcut.run.backtest import run

    cfg = resolve({"run.start": "2018-01-02", "run.end": "2021-06-30", "strategy.recession_equity": 1.0})
    fast, slow = run(cfg, str(shared_data), True), run(cfg, str(shared_data), True, engine="backtrader")
    pd.testing.assert_frame_equal(fast.equity, slow.equity, check_exact=True)
    pd.testing.assert_frame_equal(fast.trades, slow.trades, check_exact=True)
    assert fast.metrics == slow.metrics


# --- random synthetic markets -----------------------------------------------------------------------

TICKERS = ("IWM", "VO", "IEF")


def _synthetic(seed: int, n: int):
    from fedcut.data.market import Market

    rng = np.random.default_rng(seed)
    days = pd.bdate_range("2020-01-06", periods=n)
    close, opn = {}, {}
    for j, t in enumerate(TICKERS):
        c = (50.0 + 30 * j) * np.cumprod(1.0 + 0.02 * rng.standard_normal(n))
        o = np.r_[c[0], c[:-1]] * (1.0 + 0.01 * rng.standard_normal(n))
        close[t], opn[t] = c, o
    close, opn = pd.DataFrame(close, index=days), pd.DataFrame(opn, index=days)
    late = int(rng.integers(0, n // 2))
    close.iloc[:late, 2] = np.nan  # IEF lists late
    opn.iloc[:late, 2] = np.nan
    spot = close["IWM"] * 0.5
    vix = pd.Series(15 + 40 * rng.random(n), index=days)
    rate = pd.Series(rng.uniform(-0.005, 0.06), index=days)
    unit = np.where(np.arange(n) < int(rng.integers(0, n)), 0.002, 1.0)  # a spot scaled back, then quoted
    inputs = pd.DataFrame({"spot": spot, "vix": vix, "rate": rate, "div_yield": 0.012, "cash_rate": rate,
                           "option_unit": unit}, index=days)
    market = Market(days=days, close=close, open=opn, spot=spot.rename("spot"), vix=vix.rename("vix"),
                    proxies=(), end_set_by="test")
    weights = np.round(rng.dirichlet(np.ones(4), size=n)[:, :3] * rng.integers(0, 2, size=(n, 1)), 2)
    weights[:, 2] = np.where(close["IEF"].notna(), weights[:, 2], 0.0)
    switch = rng.integers(0, 2, size=n).cumsum() % 3 == 0  # hedge on and off in spells
    ratios = np.where(switch, rng.choice([0.5, 1.0, 2.0]), 0.0)
    return Prepared(market, {}, inputs, (), TICKERS), weights, ratios


@settings(max_examples=12, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), n=st.integers(30, 90), band=st.sampled_from([0.0, 0.05]),
       buffer=st.sampled_from([0.0, 0.01]), budget=st.booleans(), tenor=st.sampled_from([14, 35, 91]))
def test_engines_agree_on_random_synthetic_markets(seed, n, band, buffer, budget, tenor):
    prepared, weights, ratios = _synthetic(seed, n)
    cfg = resolve({"execution.rebalance_band": band, "execution.cash_buffer": buffer,
                   "hedge.sizing": "budget" if budget else "ratio", "hedge.tenor_days": tenor,
                   "hedge.roll_days": tenor // 3, "execution.initial_cash": 100_000.0})
    reference = execute_strategy(prepared, cfg, TICKERS, weights, ratios, engine="backtrader")
    tape = tape_for(prepared.market, prepared.broker_inputs, TICKERS)
    for method in ("block", "kernel"):
        got = execute(tape, weights[None], ratios[None], settings_for([cfg]), record=True, method=method)
        _same(reference, got, 0, label=f"seed {seed}, {method}")


def test_settings_stack_one_array_entry_per_configuration():
    a, b = resolve(), resolve({"hedge.sizing": "budget", "execution.slippage_bps": 7.0})
    s = settings_for([a, b])
    assert s.size == 2 and s.slippage.tolist() == [2e-4, 7e-4] and s.budget_sizing.tolist() == [False, True]
