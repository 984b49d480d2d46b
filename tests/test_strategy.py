"""Decisions (strategies.targets) on hand-made regime paths, and execution (FedcutStrategy in
backtrader with the HedgedBroker) on a synthetic market: timing, fill prices, hedge, value identity.

Everything here is synthetic and fast; the real-data run is tested in tests/test_run.py.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fedcut.core.params import defaults, resolve
from fedcut.data.market import Market
from fedcut.execution.engine import tape_for
from fedcut.execution.reference import run_cerebro
from fedcut.hedging.pricing import bsm_put
from fedcut.hedging.surface import half_spread, implied_vol
from fedcut.run.inputs import Prepared
from fedcut.strategies.targets import (
    HOLDINGS,
    case_codes,
    holdings_for,
    playbook,
    scale_in,
    target_block,
    target_weights,
)

STRATEGY = defaults().strategy
TICKERS = holdings_for(STRATEGY)  # IWM, VO, OUSM, XLP, XLU, IEF with the defaults
EPS = 1e-12


def signals_of(*spans, start="2021-01-04") -> pd.DataFrame:
    """Signal frame from (regime, days[, capitulated[, recession evidence]]) spans, on consecutive
    business days."""
    regime, capitulated, evidence = [], [], []
    for span in spans:
        label, days = span[0], span[1]
        regime += [label] * days
        capitulated += [span[2] if len(span) > 2 else False] * days
        evidence += [span[3] if len(span) > 3 else False] * days
    index = pd.bdate_range(start, periods=len(regime))
    return pd.DataFrame({"regime": regime, "capitulated": capitulated, "recession_evidence": evidence}, index=index)


def const(series, value) -> bool:
    """Every element equals `value` (to float noise)."""
    return bool(np.allclose(np.asarray(series, dtype=float), value, rtol=0, atol=1e-12))


def all_available(sig: pd.DataFrame, tickers=TICKERS) -> pd.DataFrame:
    return pd.DataFrame(True, index=sig.index, columns=list(tickers))


def targets_for(sig, strategy=STRATEGY, hedge_ratio=1.0, available=None, **hedge):
    tickers = holdings_for(strategy)
    available = all_available(sig, tickers) if available is None else available
    return target_weights(sig, available, strategy, defaults().hedge.replace(hedge_ratio=hedge_ratio, **hedge))


# --- decisions: targets.target_weights -----------------------------------------------------------


def test_holdings_start_with_iwm_and_are_known_tickers():
    assert TICKERS[0] == "IWM" and len(set(TICKERS)) == len(TICKERS)
    assert set(TICKERS) <= set(HOLDINGS)
    assert set(STRATEGY.defensives) <= set(TICKERS) and set(STRATEGY.cyclicals) <= set(TICKERS)


def test_soft_landing_scales_iwm_in_by_one_step_a_day_to_its_target():
    n = STRATEGY.accumulate_days + 15
    out = targets_for(signals_of(("soft_landing", n)))
    iwm = out["w_IWM"].to_numpy()
    step = 1.0 / STRATEGY.accumulate_days
    expected = np.minimum(np.arange(1, n + 1) * step, STRATEGY.soft_landing_iwm)
    np.testing.assert_allclose(iwm, expected, rtol=0, atol=1e-12)
    assert np.diff(np.r_[0.0, iwm]).max() <= step + EPS  # gradual: never more than one step a day
    assert iwm[-1] == STRATEGY.soft_landing_iwm
    others = out.drop(columns=["w_IWM", "hedge_ratio"])
    assert (others == 0).all().all() and (out["hedge_ratio"] == 0).all()


def test_soft_landing_after_neutral_continues_from_the_held_weight():
    n_neutral = 40
    out = targets_for(signals_of(("neutral", n_neutral), ("soft_landing", 40)))
    iwm = out["w_IWM"].to_numpy()
    step = 1.0 / STRATEGY.accumulate_days
    assert iwm[n_neutral - 1] == pytest.approx(STRATEGY.neutral_iwm)
    rise = iwm[n_neutral:] - np.r_[iwm[n_neutral - 1], iwm[n_neutral:-1]]
    assert rise.max() <= step + EPS and rise[0] == pytest.approx(step)
    assert iwm[-1] == STRATEGY.soft_landing_iwm
    assert (out["w_VO"].iloc[n_neutral:] == 0).all() and (out["w_OUSM"].iloc[n_neutral:] == 0).all()


def test_neutral_holds_the_baseline_with_iwm_scaled_in():
    out = targets_for(signals_of(("neutral", 30)))
    assert (out["w_VO"] == STRATEGY.neutral_vo).all() and (out["w_OUSM"] == STRATEGY.neutral_ousm).all()
    iwm = out["w_IWM"].to_numpy()
    expected = np.minimum(np.arange(1, 31) / STRATEGY.accumulate_days, STRATEGY.neutral_iwm)
    np.testing.assert_allclose(iwm, expected, atol=1e-12)
    for t in STRATEGY.defensives:
        assert (out[f"w_{t}"] == 0).all()
    total = out.drop(columns="hedge_ratio").sum(axis=1)
    assert total.max() <= 1.0 + EPS


def test_crisis_holds_only_equal_weight_defensives_and_cuts_iwm_at_once():
    out = targets_for(signals_of(("soft_landing", 40), ("crisis", 10)))
    crisis = out.iloc[40:]
    n_def = len(STRATEGY.defensives)
    for t in TICKERS:
        want = STRATEGY.defensive_weight / n_def if t in STRATEGY.defensives else 0.0
        assert const(crisis[f"w_{t}"], want), t
    assert crisis[[f"w_{t}" for t in STRATEGY.defensives]].sum(axis=1).to_numpy() == pytest.approx(
        [STRATEGY.defensive_weight] * len(crisis)
    )
    assert out["w_IWM"].iloc[39] == STRATEGY.soft_landing_iwm and out["w_IWM"].iloc[40] == 0.0  # no scaling out
    assert (out["hedge_ratio"] == 0).all()


def test_late_panic_waits_in_defensives_then_reenters_iwm_over_reentry_days():
    wait, after = 8, STRATEGY.reentry_days + 5
    out = targets_for(signals_of(("late_panic", wait, False), ("late_panic", after, True)))
    before = out.iloc[:wait]
    for t in STRATEGY.defensives:
        assert const(before[f"w_{t}"], STRATEGY.defensive_weight / len(STRATEGY.defensives))
        assert (out[f"w_{t}"].iloc[wait:] == 0).all()
    assert (before["w_IWM"] == 0).all()
    iwm = out["w_IWM"].to_numpy()[wait:]
    expected = np.minimum(np.arange(1, after + 1) / STRATEGY.reentry_days, STRATEGY.capitulation_iwm)
    np.testing.assert_allclose(iwm, expected, atol=1e-12)
    assert iwm[STRATEGY.reentry_days - 1] == pytest.approx(STRATEGY.capitulation_iwm)
    assert iwm[0] < STRATEGY.capitulation_iwm  # scaled in, not bought at once


@pytest.mark.parametrize("action, holding", [("avoid", None), ("hedge", "IWM"), ("quality", "OUSM"), ("midcap", "VO")])
def test_recession_risk_follows_recession_action(action, holding):
    strategy = resolve({"strategy.recession_action": action}).strategy
    n = STRATEGY.accumulate_days + 5
    out = targets_for(signals_of(("recession_risk", n)), strategy=strategy, hedge_ratio=0.8)
    for t in holdings_for(strategy):
        w = out[f"w_{t}"]
        if t != holding:
            assert (w == 0).all(), t
        elif t == "IWM":  # scaled in like any IWM purchase
            assert w.iloc[0] == pytest.approx(1.0 / strategy.accumulate_days)
            assert w.iloc[-1] == pytest.approx(strategy.recession_equity)
            assert w.diff().max() <= 1.0 / strategy.accumulate_days + EPS
        else:
            assert (w == strategy.recession_equity).all(), t
    if action == "hedge":
        assert (out["hedge_ratio"] == 0.8).all()
    else:
        assert (out["hedge_ratio"] == 0).all()


def test_the_hedge_ratio_stands_for_its_case_and_puts_follow_what_is_held():
    """Puts are sized on the IWM actually held (the engines), so a hedged case keeps its ratio even
    while IWM is still being scaled in, or is not bought at all."""
    strategy = resolve({"strategy.recession_action": "hedge", "strategy.recession_equity": 0.0}).strategy
    out = targets_for(signals_of(("recession_risk", 5)), strategy=strategy, hedge_ratio=1.0)
    assert (out["w_IWM"] == 0).all() and (out["hedge_ratio"] == 1.0).all()


def test_holding_through_a_crisis_keeps_iwm_and_its_puts():
    sig = signals_of(("soft_landing", 40), ("crisis", 10), ("late_panic", 5), ("neutral", 5))
    out = targets_for(sig, hold_through_crisis=True, hedge_ratio=0.7)
    crisis = out.iloc[40:55]
    assert crisis["w_IWM"].isna().all() and (crisis["hedge_ratio"] == 0.7).all()  # NaN: keep what is held
    assert (crisis[[f"w_{t}" for t in STRATEGY.defensives]] == 0).all().all()
    assert (out["hedge_ratio"].iloc[:40] == 0).all() and (out["hedge_ratio"].iloc[55:] == 0).all()
    assert out["w_IWM"].iloc[55] == STRATEGY.neutral_iwm  # after the hold, a cut to the neutral weight at once


def test_a_capitulation_with_recession_evidence_follows_capitulation_in_recession():
    sig = signals_of(("late_panic", 5, False, True), ("late_panic", 20, True, True))
    for choice, iwm, ratio in (
        ("buy", STRATEGY.capitulation_iwm, 0.0),
        ("hedge", STRATEGY.capitulation_iwm, 1.0),
        ("wait", 0.0, 0.0),
    ):
        strategy = resolve({"strategy.capitulation_in_recession": choice}).strategy
        out = targets_for(sig, strategy=strategy)
        assert out["w_IWM"].iloc[-1] == pytest.approx(iwm), choice
        assert (out["hedge_ratio"].iloc[5:] == ratio).all(), choice
        if choice == "wait":
            assert out["w_XLP"].iloc[-1] > 0  # still waiting in defensives


def test_unavailable_ticker_gets_zero_weight_and_its_share_stays_in_cash():
    sig = signals_of(("crisis", 10), ("neutral", 20))
    available = all_available(sig)
    available.loc[sig.index[:5], "IEF"] = False  # IEF not listed yet
    available.loc[:, "VO"] = False  # VO never available
    out = targets_for(sig, available=available)
    share = STRATEGY.defensive_weight / len(STRATEGY.defensives)
    assert (out["w_IEF"].iloc[:5] == 0).all() and const(out["w_IEF"].iloc[5:10], share)
    assert const(out["w_XLP"].iloc[:5], share)  # not redistributed to the others
    assert out.drop(columns="hedge_ratio").iloc[:5].sum(axis=1).to_numpy() == pytest.approx([2 * share] * 5)
    assert (out["w_VO"] == 0).all()
    assert (out["w_OUSM"].iloc[10:] == STRATEGY.neutral_ousm).all()


def test_targets_never_lever_and_are_index_aligned():
    sig = signals_of(
        ("neutral", 20),
        ("soft_landing", 35),
        ("recession_risk", 15),
        ("crisis", 10),
        ("late_panic", 5, False),
        ("late_panic", 15, True),
        ("neutral", 10),
    )
    out = targets_for(sig)
    assert out.index.equals(sig.index)
    assert list(out.columns) == [f"w_{t}" for t in TICKERS] + ["hedge_ratio"]
    weights = out.drop(columns="hedge_ratio")
    assert (weights >= 0).all().all() and weights.sum(axis=1).max() <= 1.0 + EPS


# --- execution: FedcutStrategy + HedgedBroker on a synthetic market ------------------------------

SYN_TICKERS = ("IWM", "VO", "IEF")
N_DAYS = 70
BUY_DAY, HEDGE_ON, HEDGE_OFF, SWITCH_DAY, IEF_FIRST = 10, 20, 40, 45, 15
RATE = 0.02
HEDGE_OVERRIDES = {"hedge.tenor_days": 21, "hedge.roll_days": 0}  # short puts, never rolled: they expire


def synthetic_prepared() -> Prepared:
    rng = np.random.default_rng(20240918)
    days = pd.bdate_range("2021-03-01", periods=N_DAYS)
    close, opn = {}, {}
    for j, t in enumerate(SYN_TICKERS):
        c = (100.0 + 20 * j) * np.cumprod(1.0 + 0.01 * rng.standard_normal(N_DAYS))
        o = np.r_[c[0], c[:-1]] * (1.0 + 0.004 * rng.standard_normal(N_DAYS))
        close[t], opn[t] = pd.Series(c, index=days), pd.Series(o, index=days)
    close, opn = pd.DataFrame(close), pd.DataFrame(opn)
    close.loc[days[:IEF_FIRST], "IEF"] = np.nan  # IEF lists on day 15
    opn.loc[days[:IEF_FIRST], "IEF"] = np.nan
    spot = (close["IWM"] * 0.5).rename("spot")  # traded price differs from the total-return level
    vix = pd.Series(18.0 + 6.0 * np.sin(np.arange(N_DAYS) / 7.0), index=days, name="vix")
    market = Market(days=days, close=close, open=opn, spot=spot, vix=vix, proxies=(), end_set_by="test")
    inputs = pd.DataFrame(
        {
            "spot": spot,
            "vix": vix,
            "rate": RATE,
            "div_yield": 0.012,
            "cash_rate": RATE,
            "option_unit": 1.0,
            "skew": np.nan,  # no SKEW: the surface at its centre
            "small_cap_vol_ratio": np.nan,
        },
        index=days,
    )
    return Prepared(market, {}, inputs, (), SYN_TICKERS)


def synthetic_plan():
    targets = np.zeros((N_DAYS, len(SYN_TICKERS)))
    targets[BUY_DAY:SWITCH_DAY, 0] = 0.5  # IWM
    targets[BUY_DAY:SWITCH_DAY, 1] = 0.3  # VO
    targets[SWITCH_DAY:, 2] = 0.6  # IEF
    hedge_ratio = np.zeros(N_DAYS)
    hedge_ratio[HEDGE_ON:HEDGE_OFF] = 1.0
    return targets, hedge_ratio


@pytest.fixture(scope="module")
def synthetic_run():
    cfg = resolve(HEDGE_OVERRIDES)
    prepared = synthetic_prepared()
    targets, hedge_ratio = synthetic_plan()
    rows, fills, broker = run_cerebro(
        tape_for(prepared.market, prepared.broker_inputs, SYN_TICKERS),
        cfg,
        "fedcut",
        targets=targets,
        hedge_ratio=hedge_ratio,
        band=cfg.execution.rebalance_band,
        cash_buffer=cfg.execution.cash_buffer,
        hedge=cfg.hedge,
    )
    fills = pd.DataFrame(fills)
    fills["date"] = pd.to_datetime(fills["date"])
    return cfg, prepared, rows, fills, broker


def test_synthetic_run_records_every_day(synthetic_run):
    _, prepared, rows, _, _ = synthetic_run
    assert rows.index.equals(prepared.market.days)
    assert rows.notna().all().all()


def test_broker_value_is_cash_plus_positions_plus_book_every_day(synthetic_run):
    _, _, rows, _, _ = synthetic_run
    held = rows[list(SYN_TICKERS)].sum(axis=1)
    np.testing.assert_allclose(rows["value"], rows["cash"] + held + rows["option_value"], rtol=1e-12)
    assert (rows["option_value"].iloc[HEDGE_ON + 1 : HEDGE_OFF + 1] > 0).all()


def test_idle_cash_earns_the_rate_known_the_previous_day(synthetic_run):
    cfg, prepared, rows, _, _ = synthetic_run
    days = prepared.market.days
    assert rows["value"].iloc[0] == cfg.execution.initial_cash
    for k in range(1, BUY_DAY + 1):  # nothing held yet: value is cash compounding at RATE
        growth = math.exp(RATE * (days[k] - days[k - 1]).days / 365.0)
        assert rows["cash"].iloc[k] == pytest.approx(rows["cash"].iloc[k - 1] * growth, rel=1e-13)


def test_target_change_decided_on_day_k_fills_at_the_open_of_day_k_plus_1(synthetic_run):
    cfg, prepared, rows, fills, _ = synthetic_run
    days, opn = prepared.market.days, prepared.market.open
    slip = cfg.execution.slippage_bps / 1e4
    first = fills.groupby("instrument")["date"].min()
    assert first["IWM"] == days[BUY_DAY + 1] and first["VO"] == days[BUY_DAY + 1]
    assert first["IEF"] == days[SWITCH_DAY + 1]
    assert not (fills["date"] <= days[BUY_DAY]).any()
    switch = fills[fills["date"] == days[SWITCH_DAY + 1]].set_index("instrument")
    assert set(switch.index) == {"IWM", "VO", "IEF"}
    assert switch.loc["IWM", "action"] == "sell" and switch.loc["VO", "action"] == "sell"
    assert switch.loc["IEF", "action"] == "buy"
    bought = fills[fills["date"] == days[BUY_DAY + 1]].set_index("instrument")
    investable = rows["value"].iloc[BUY_DAY] * (1 - cfg.execution.cash_buffer)  # day k's closing value
    for t, w in (("IWM", 0.5), ("VO", 0.3)):
        o = opn.loc[days[BUY_DAY + 1], t]
        assert bought.loc[t, "quantity"] == math.floor(w * investable / o)
        assert bought.loc[t, "price"] == pytest.approx(o * (1 + slip), rel=1e-12)
    for row in fills.itertuples():
        o = opn.loc[row.date, row.instrument]
        sign = 1 if row.action == "buy" else -1
        assert row.price == pytest.approx(o * (1 + sign * slip), rel=1e-12), (row.date, row.instrument)
        assert row.commission == pytest.approx(abs(row.value) * cfg.execution.commission_bps / 1e4, rel=1e-12)
    # positions after the switch: VO and IWM gone, IEF held
    assert rows["IWM"].iloc[SWITCH_DAY + 1] == 0 and rows["VO"].iloc[SWITCH_DAY + 1] == 0
    assert rows["IEF"].iloc[SWITCH_DAY] == 0 and rows["IEF"].iloc[SWITCH_DAY + 1] > 0


def test_hedge_ratio_on_day_k_buys_puts_on_day_k_plus_1_and_they_settle_or_close(synthetic_run):
    cfg, prepared, rows, _, broker = synthetic_run
    hedge, days = cfg.hedge, prepared.market.days
    inputs = prepared.broker_inputs
    events = broker.option_events
    assert events, "no option trades"
    dates = [pd.Timestamp(e.date) for e in events]
    assert min(dates) == days[HEDGE_ON + 1]
    first = events[0]
    assert first.action == "buy"
    spot = inputs["spot"].iloc[HEDGE_ON + 1]
    assert first.spot == spot and first.strike == round(hedge.moneyness * spot / hedge.strike_tick) * hedge.strike_tick
    value_before = rows["value"].iloc[HEDGE_ON + 1] - first.cash - rows["option_value"].iloc[HEDGE_ON + 1]
    assert first.contracts == math.floor(0.5 * value_before / (spot * hedge.contract_size))  # ratio 1 of IWM 0.5
    # a 21-day put not rolled expires: settled at intrinsic on the first trading day on/after expiry ...
    expiries = [e for e in events if e.action == "expire"]
    assert expiries
    for e in expiries:
        day = pd.Timestamp(e.date)
        k = days.get_loc(day)
        assert day >= pd.Timestamp(e.expiry) > days[k - 1]
        assert e.fill_price == max(e.strike - inputs["spot"].iloc[k], 0.0) and e.commission == 0.0
        assert e.cash == pytest.approx(e.fill_price * e.contracts * hedge.contract_size)
        # ... and, still hedged, the strategy buys new puts the same day
        assert HEDGE_ON < k <= HEDGE_OFF and any(x.action == "buy" and x.date == e.date for x in events)
    # the decision to stop (hedge ratio 0 on day HEDGE_OFF) closes the book on day HEDGE_OFF + 1, at the bid
    sells = [e for e in events if e.action == "sell"]
    assert sells and {pd.Timestamp(e.date) for e in sells} == {days[HEDGE_OFF + 1]}
    assert all(pd.Timestamp(e.date) <= days[HEDGE_OFF + 1] for e in events)
    assert (rows["option_value"].iloc[HEDGE_OFF + 1 :] == 0).all()
    assert (rows["option_value"].iloc[: HEDGE_ON + 1] == 0).all()
    for e in events:
        k = days.get_loc(pd.Timestamp(e.date))
        if e.action != "expire":
            model = bsm_put(
                e.spot,
                e.strike,
                (e.expiry - e.date).days / 365.0,
                RATE,
                0.012,
                implied_vol(inputs["vix"].iloc[k], e.strike / e.spot, (e.expiry - e.date).days, hedge),
            )
            hs = half_spread(model, inputs["vix"].iloc[k], 1.0, hedge)
            assert e.model_price == pytest.approx(model, rel=1e-12)
            assert e.fill_price == pytest.approx(model + hs if e.action == "buy" else model - hs, rel=1e-12)


def test_option_value_is_the_model_mark_of_the_lots_held(synthetic_run):
    cfg, prepared, rows, _, broker = synthetic_run
    hedge, days, inputs = cfg.hedge, prepared.market.days, prepared.broker_inputs
    lots: dict[tuple, int] = {}
    by_day: dict[dt.date, list] = {}
    for e in broker.option_events:
        by_day.setdefault(e.date, []).append(e)
    for k, day in enumerate(days):
        for e in by_day.get(day.date(), []):
            key = (e.strike, e.expiry)
            lots[key] = lots.get(key, 0) + (e.contracts if e.action == "buy" else -e.contracts)
            if lots[key] == 0:
                del lots[key]
        spot, vix = inputs["spot"].iloc[k], inputs["vix"].iloc[k]
        mark = sum(
            n
            * hedge.contract_size
            * bsm_put(
                spot,
                strike,
                (expiry - day.date()).days / 365.0,
                RATE,
                0.012,
                implied_vol(vix, strike / spot, (expiry - day.date()).days, hedge),
            )
            for (strike, expiry), n in lots.items()
        )
        assert rows["option_value"].iloc[k] == pytest.approx(mark, rel=1e-12, abs=1e-9), day


def test_frame_feed_gives_the_bars_backtraders_pandas_feed_gives(synthetic_run, monkeypatch):
    """The bulk-loaded feed is a speed change only: same equity, cash and fills as PandasData."""
    import backtrader as bt

    import fedcut.execution.reference as bt_engine

    cfg, prepared, rows, fills, _ = synthetic_run
    monkeypatch.setattr(bt_engine, "FrameFeed", lambda frame: bt.feeds.PandasData(dataname=frame, openinterest=None))
    targets, hedge_ratio = synthetic_plan()
    rows_pd, fills_pd, _ = run_cerebro(
        tape_for(prepared.market, prepared.broker_inputs, SYN_TICKERS),
        cfg,
        "fedcut",
        targets=targets,
        hedge_ratio=hedge_ratio,
        band=cfg.execution.rebalance_band,
        cash_buffer=cfg.execution.cash_buffer,
        hedge=cfg.hedge,
    )
    pd.testing.assert_frame_equal(rows_pd, rows)
    fills_pd = pd.DataFrame(fills_pd)
    fills_pd["date"] = pd.to_datetime(fills_pd["date"])
    pd.testing.assert_frame_equal(fills_pd, fills)


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_target_block_is_the_playbooks_rows_masked_then_scaled_in(seed):
    """`target_block` (one compiled pass) against its rule in numpy, for several configurations at
    once: each day's playbook row for its case, 0 for a ticker without a price unless NaN (keep,
    with hold_through_crisis), then IWM scaled in by `scale_in`; the same bits, hedge ratios too."""
    rng = np.random.default_rng(seed)
    labels = ["soft_landing", "neutral", "recession_risk", "crisis", "late_panic"]
    spans = [
        (labels[int(rng.integers(0, 5))], int(rng.integers(1, 40)), bool(rng.random() < 0.5), bool(rng.random() < 0.5))
        for _ in range(12)
    ]
    sig = signals_of(*spans)
    configs = [
        resolve(
            {
                "strategy.recession_action": str(rng.choice(["avoid", "hedge", "quality", "midcap", "cyclicals"])),
                "strategy.accumulate_days": int(rng.integers(2, 30)),
                "strategy.reentry_days": int(rng.integers(2, 30)),
                "strategy.capitulation_in_recession": str(rng.choice(["buy", "hedge", "wait"])),
                "hedge.hold_through_crisis": bool(rng.random() < 0.5),
                "hedge.hedge_ratio": float(rng.uniform(0.2, 1.5)),
            }
        )
        for _ in range(4)
    ]
    available = rng.random((len(sig), len(TICKERS))) < 0.8
    weights, ratios = target_block(sig, available, [c.strategy for c in configs], [c.hedge for c in configs], TICKERS)
    codes = case_codes(sig)
    for k, c in enumerate(configs):
        book, ratio, step = playbook(c.strategy, c.hedge, TICKERS)
        want = book[codes]
        want = np.where(available | np.isnan(want), want, 0.0)
        iwm = np.empty((1, len(sig)))
        scale_in(want[None, :, 0].copy(), step[codes][None, :].copy(), iwm)
        want[:, 0] = iwm[0]
        assert np.array_equal(weights[k], want, equal_nan=True), k
        assert np.array_equal(ratios[k], ratio[codes]), k


def test_scale_in_by_hand():
    """IWM's scaling in (`scale_in`, compiled) on days worked out by hand: steps up, a cut at once,
    a hold (NaN) that resumes from the last target, a step short of the target by float noise."""
    want = np.array(
        [
            [0.4, 0.4, 0.4, 0.4, 0.4],
            [1.0, 1.0, 0.2, 0.6, 0.6],
            [0.5, np.nan, np.nan, 0.5, 0.5],
            [0.4, 0.4, 0.4, 0.4, 0.4],
        ]
    )
    steps = np.array([[0.1] * 5, [0.5] * 5, [0.25] * 5, [0.4 - 1e-10] * 5])
    out = np.empty_like(want)
    scale_in(want, steps, out)
    expected = [
        [0.1, 0.1 + 0.1, 0.1 + 0.1 + 0.1, 0.4, 0.4],
        [0.5, 1.0, 0.2, 0.6, 0.6],
        [0.25, np.nan, np.nan, 0.5, 0.5],
        [0.4] * 5,
    ]
    assert np.array_equal(out, np.array(expected), equal_nan=True)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_compiled_scale_in_follows_its_rule_on_random_targets(seed):
    """`scale_in` compiled against the rule spelled out for one configuration at a time, on random
    targets with holds (NaN), cuts and steps that land within 1e-9 of the target: the same bits."""
    rng = np.random.default_rng(seed)
    want = rng.choice([0.0, 0.2, 0.4, 1.0, np.nan], size=(7, 300))
    steps = rng.choice([0.1, 1 / 3, 0.4 - 1e-10, 0.25], size=(7, 300))
    compiled = np.empty_like(want)
    scale_in(want, steps, compiled)
    for k in range(len(want)):
        held = 0.0
        for i, (target, step) in enumerate(zip(want[k].tolist(), steps[k].tolist())):
            if math.isnan(target):
                assert math.isnan(compiled[k, i])
                continue
            held = target if target <= held or held + step >= target - 1e-9 else held + step
            assert compiled[k, i] == held, (k, i)


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_buy_and_hold_cash_day_by_day(seed):
    """Buy-and-hold's value (`kernel.hold_value`, compiled) equals its cash worked through day by day
    in numpy, with interest on positive cash and the margin rate on negative cash (a purchase that
    costs more than the cash), each configuration at its own row of rates, plus the shares marked
    at the close the way backtrader values a position (nothing held on the first day)."""
    from fedcut.execution.kernel import hold_value

    rng = np.random.default_rng(seed)
    K, n = 5, 200
    cash = rng.uniform(1e3, 1e6, K)
    lend, borrow = rng.uniform(0, 2e-4, (2, n)), rng.uniform(2e-4, 5e-4, (2, n))
    row = rng.integers(0, 2, K)
    cost = np.stack([cash * rng.uniform(0.5, 1.2, K), cash * rng.uniform(0, 1e-3, K)])
    qty, price = np.floor(rng.uniform(0, 1e4, K)), rng.uniform(50, 150, K)
    close = 100 * np.cumprod(1 + rng.normal(0, 0.02, n))
    compiled = np.empty((K, n))
    hold_value(cash, lend, borrow, row, cost, qty, price, close, compiled)
    held = cash.copy()
    for i in range(1, n):
        held = held + held * np.where(held > 0, lend[row, i], borrow[row, i])
        if i == 1:
            held = (held - cost[0]) - cost[1]
        marked = qty * close[i]
        unrealised = qty * (close[i] - price) * 1.0
        position = np.where(marked > 0, (0.0 + (marked - unrealised) / 1.0) + unrealised, 0.0 + marked)
        assert np.array_equal(compiled[:, i], held + position), i
    day_one = (cash + cash * lend[row, 1] - cost[0]) - cost[1]  # by hand: a day's interest, then the purchase
    assert np.array_equal(compiled[:, 0], cash)
    assert np.allclose(compiled[:, 1], day_one + qty * close[1], rtol=1e-12)
    below = day_one < 0  # a purchase dearer than the cash: the next day pays the margin rate
    two = day_one[below] + day_one[below] * borrow[row[below], 2]
    assert np.allclose(compiled[below, 2], two + qty[below] * close[2], rtol=1e-12)
