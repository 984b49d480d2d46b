"""Issue check on the real data: hold IWM and roll 90%-moneyness 3-month puts through 2007-2009."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fedcut.core.params import resolve
from fedcut.execution.engine import tape_for
from fedcut.execution.reference import run_cerebro
from fedcut.run.inputs import prepare

pytestmark = pytest.mark.slow  # whole runs and commands: not in the edit-test loop


@pytest.fixture(scope="module")
def hedged(shared_data):
    cfg = resolve({"run.start": "2007-01-03", "run.end": "2009-12-31"})
    prepared = prepare(cfg, str(shared_data), True)
    n = len(prepared.market.days)
    weights = np.zeros((n, len(prepared.tickers)))
    weights[:, 0] = 1.0  # IWM only
    args = dict(band=cfg.execution.rebalance_band, cash_buffer=cfg.execution.cash_buffer, hedge=cfg.hedge)
    tape = tape_for(prepared.market, prepared.broker_inputs, prepared.tickers)
    rows, _, broker = run_cerebro(tape, cfg, "fedcut", targets=weights, hedge_ratio=np.ones(n), **args)
    bare, _, _ = run_cerebro(tape, cfg, "fedcut", targets=weights, hedge_ratio=np.zeros(n), **args)
    return cfg, rows, bare, broker


def test_puts_are_bought_rolled_and_settled_with_costs(hedged):
    cfg, rows, _, broker = hedged
    actions = {e.action for e in broker.option_events}
    assert {"buy", "roll_sell", "roll_buy"} <= actions
    assert all(
        e.strike == pytest.approx(round(0.9 * e.spot * 2) / 2)
        for e in broker.option_events
        if e.action in ("buy", "roll_buy")
    )
    for e in broker.option_events:
        if e.action in ("buy", "roll_buy"):
            assert e.fill_price > e.model_price and e.commission == pytest.approx(e.contracts * 0.65)
        elif e.action in ("sell", "roll_sell"):
            assert e.fill_price < e.model_price
    premium = -sum(e.cash for e in broker.option_events if e.cash < 0)
    assert premium > 0


def test_broker_value_is_cash_plus_etfs_plus_book_every_day(hedged):
    _, rows, _, _ = hedged
    held = rows.drop(columns=["value", "cash", "option_value", "option_delta"]).sum(axis=1)
    np.testing.assert_allclose(rows["value"], rows["cash"] + held + rows["option_value"], rtol=1e-9)


def test_the_hedge_pays_in_the_crash_and_cuts_the_drawdown(hedged):
    _, rows, bare, broker = hedged
    flows = (
        pd.Series(
            [e.cash for e in broker.option_events], index=pd.DatetimeIndex([e.date for e in broker.option_events])
        )
        .groupby(level=0)
        .sum()
    )
    pnl = rows["option_value"] + flows.reindex(rows.index, fill_value=0.0).cumsum()
    assert pnl.loc["2008-11-20"] - pnl.loc["2008-08-29"] > 0.05 * rows["value"].loc["2008-08-29"]
    dd = lambda v: (v / v.cummax() - 1).min()  # noqa: E731
    assert dd(rows["value"]) > dd(bare["value"]) + 0.05  # at least 5 points shallower
    assert rows["value"].iloc[-1] < bare["value"].iloc[-1] * 1.5  # and not a free lunch


def test_the_hedges_own_line_is_the_run_with_puts_off(shared_data):
    """metrics.json's hedge.without_puts is what `--set hedge.hedge_ratio=0` earns: the same decisions
    with no puts, whatever engine ran the main run."""
    from fedcut.execution.engines import BACKTRADER
    from fedcut.run.backtest import run

    span = {"run.start": "2007-01-03", "run.end": "2009-12-31"}
    hedged = run(resolve(span), str(shared_data), True, engine=BACKTRADER)
    bare = run(resolve({**span, "hedge.hedge_ratio": 0.0}), str(shared_data), True)
    assert hedged.metrics["hedge"]["option_trades"] > 0 and bare.metrics["hedge"]["option_trades"] == 0
    without, s = hedged.metrics["hedge"]["without_puts"], bare.metrics["strategy"]
    for key in ("cagr", "sharpe", "max_drawdown"):
        assert without[key] == pytest.approx(s[key], rel=1e-9), key
    for cycle, c in bare.metrics["cycles"].items():
        assert without["cycles"][cycle]["return"] == pytest.approx(c["strategy_return"], rel=1e-9)
        assert without["cycles"][cycle]["max_drawdown"] == pytest.approx(c["strategy_max_drawdown"], rel=1e-9)
    assert without["cagr"] != pytest.approx(hedged.metrics["strategy"]["cagr"], rel=1e-6)  # the puts did something
    assert hedged.metrics["hedge"]["volatility_modelled_to"] is None  # VIX/VXO were published then
