"""The put book (trades, costs, settlement, rolls, marks) and the broker that carries it."""

import dataclasses
import datetime as dt
import math

import backtrader as bt
import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fedcut.core.errors import DataError, PricingInputError
from fedcut.core.params import defaults
from fedcut.execution.broker import HedgedBroker
from fedcut.hedging.book import (
    MarketInputs,
    OptionBook,
    OptionEvent,
    PutLot,
    contracts_for,
    contracts_for_budget,
    expiry_for,
    listed_expiries,
    strike_for,
)
from fedcut.hedging.pricing import bsm_put
from fedcut.hedging.surface import implied_vol

HEDGE = defaults().hedge
FREE = HEDGE.replace(
    half_spread_dollars=0.0, half_spread_base=0.0, half_spread_per_vix=0.0, commission_per_contract=0.0
)
D0 = dt.date(2008, 9, 15)


def mkt(date=D0, spot=70.0, vix=25.0, rate=0.02, div_yield=0.015):
    return MarketInputs(date, spot, vix, rate, div_yield)


def path(days, start_spot, daily_returns, vix):
    """Synthetic market inputs over business days: spot compounding `daily_returns`."""
    dates = pd.bdate_range(D0, periods=days).date
    spot = start_spot * np.cumprod(np.r_[1.0, 1.0 + np.asarray(daily_returns)[: days - 1]])
    vix = np.broadcast_to(vix, (days,))
    return [mkt(d, float(s), float(v)) for d, s, v in zip(dates, spot, vix)]


# --- one trade at a time ---------------------------------------------------------------------


def test_buy_records_model_fill_costs_and_cash():
    book = OptionBook(HEDGE)
    inputs = mkt()
    expiry = dt.date(2008, 12, 19)
    ev = book.buy(inputs, 10, 63.0, expiry)
    years = (expiry - D0).days / 365
    days = (expiry - D0).days  # 95: the skew is (30/95)^exponent of its 30-day slope
    h = HEDGE
    vol = h.small_cap_ratio * (
        0.25 * h.atm_vix_ratio + h.skew_slope * (1 - 63.0 / 70.0) * (30 / days) ** h.skew_term_exponent
    )
    model = bsm_put(70.0, 63.0, years, 0.02, 0.015, vol)
    assert ev.instrument == "IWM P 2008-12-19 K=63.0" and ev.action == "buy"
    assert (ev.vol, ev.years_to_expiry, ev.model_price) == (pytest.approx(vol), years, pytest.approx(model))
    half = h.half_spread_dollars + (h.half_spread_base + h.half_spread_per_vix * 25) * model
    assert ev.fill_price == pytest.approx(model + half)
    assert ev.commission == pytest.approx(6.5)
    assert ev.cash == pytest.approx(-(ev.fill_price * 10 * 100 + 6.5))
    assert book.lots == [PutLot(63.0, expiry, 10, D0, ev.fill_price)]


def test_sell_fills_below_model_and_removes_lot():
    book = OptionBook(HEDGE)
    book.buy(mkt(), 4, 63.0, dt.date(2008, 12, 19))
    later = mkt(dt.date(2008, 10, 10), spot=55.0, vix=60.0)
    ev = book.sell(book.lots[0], later)
    h = HEDGE
    half = h.half_spread_dollars + (h.half_spread_base + h.half_spread_per_vix * 60) * ev.model_price
    assert ev.action == "sell" and ev.fill_price == pytest.approx(ev.model_price - half)
    assert ev.cash == pytest.approx(ev.fill_price * 400 - 4 * 0.65)
    assert book.lots == [] and book.mark(later) == 0.0


def test_trade_costs_are_the_only_value_change_at_the_trade():
    book = OptionBook(HEDGE)
    inputs = mkt()
    ev = book.buy(inputs, 7, 63.0, dt.date(2008, 12, 19))
    cost = (ev.fill_price - ev.model_price) * 700 + ev.commission
    assert book.mark(inputs) + ev.cash == pytest.approx(-cost)
    free = OptionBook(FREE)
    ev = free.buy(inputs, 7, 63.0, dt.date(2008, 12, 19))
    assert free.mark(inputs) + ev.cash == pytest.approx(0.0, abs=1e-9)


def test_settlement_at_intrinsic_without_costs():
    book = OptionBook(HEDGE)
    book.buy(mkt(), 3, 63.0, dt.date(2008, 12, 19))
    book.buy(mkt(), 2, 50.0, dt.date(2008, 12, 19))
    book.buy(mkt(), 1, 60.0, dt.date(2009, 3, 20))
    assert book.settle_expired(mkt(dt.date(2008, 12, 18), spot=55.0)) == []
    events = book.settle_expired(mkt(dt.date(2008, 12, 19), spot=55.0))
    assert [(e.action, e.strike, e.cash, e.commission) for e in events] == [
        ("expire", 63.0, pytest.approx(8.0 * 300), 0.0),
        ("expire", 50.0, 0.0, 0.0),
    ]
    assert all(e.fill_price == e.model_price == max(e.strike - 55.0, 0) for e in events)
    assert [lot.strike for lot in book.lots] == [60.0]


def test_weekend_expiry_settles_on_next_trading_day():
    book = OptionBook(HEDGE)
    book.buy(mkt(), 1, 63.0, dt.date(2008, 12, 20))  # a Saturday
    (ev,) = book.settle_expired(mkt(dt.date(2008, 12, 22), spot=60.0))
    assert ev.cash == pytest.approx(300.0) and ev.years_to_expiry == 0.0


def test_roll_replaces_short_dated_lots_only():
    book = OptionBook(HEDGE, listed_expiries(pd.bdate_range("2008-01-02", "2009-12-31")))
    book.buy(mkt(), 5, 63.0, dt.date(2008, 10, 17))
    book.buy(mkt(), 2, 63.0, dt.date(2008, 12, 19))
    today = mkt(dt.date(2008, 9, 22), spot=66.3)
    events = book.roll(today, 0.9, 90)
    assert [(e.action, e.contracts) for e in events] == [("roll_sell", 5), ("roll_buy", 5)]
    new = events[1]
    assert new.strike == 59.5  # 0.9 * 66.3 = 59.67 -> nearest 0.5
    assert new.expiry == dt.date(2008, 12, 19)  # the third Friday nearest 90 days after Monday 09-22 (Sunday 12-21)
    assert sorted((lot.expiry, lot.contracts) for lot in book.lots) == [
        (dt.date(2008, 12, 19), 2),
        (dt.date(2008, 12, 19), 5),
    ]


@given(st.floats(10, 500), st.floats(0.5, 1.2))
def test_strike_for_is_on_the_tick_and_nearest(spot, m):
    tick = defaults().hedge.strike_tick
    k = strike_for(spot, m, tick)
    assert k / tick == round(k / tick)
    assert abs(k - m * spot) <= tick / 2 + 1e-9


CALENDAR = pd.bdate_range("1995-01-02", "2027-12-31").difference(
    pd.DatetimeIndex(["2008-03-21", "2016-03-25", "2024-03-29"])
)  # Good Fridays on third Fridays: closed


def _third_friday(year: int, month: int) -> dt.date:
    first = dt.date(year, month, 1)
    return first + dt.timedelta(days=(4 - first.weekday()) % 7 + 14)


@given(st.dates(dt.date(1995, 1, 2), dt.date(2025, 12, 31)), st.integers(7, 730), st.integers(0, 60))
def test_new_puts_expire_on_the_listed_monthly_expiry_nearest_the_tenor(date, tenor, roll):
    roll = min(roll, tenor - 1)
    expiries = listed_expiries(CALENDAR)
    e = expiry_for(date, tenor, roll, expiries)
    third = _third_friday(e.year, e.month)
    assert e == third or (e == third - dt.timedelta(days=1) and pd.Timestamp(third) not in CALENDAR)
    assert (e - date).days > roll  # never due for a roll the day it is bought
    want = date + dt.timedelta(days=tenor)
    for month in pd.period_range(pd.Timestamp(date), pd.Timestamp(want) + pd.DateOffset(months=2), freq="M"):
        other = _third_friday(month.year, month.month)
        if pd.Timestamp(other) not in CALENDAR:
            other -= dt.timedelta(days=1)
        if (other - date).days > roll:
            assert abs((e - want).days) <= abs((other - want).days)


def test_expiries_on_the_real_calendar_avoid_holidays(shared_data):
    from fedcut.data.readers import read_price_csv

    days = read_price_csv(shared_data / "prices" / "IWM.csv").index
    listed = pd.to_datetime(listed_expiries(days), unit="D")
    inside = listed[listed <= days[-1]]
    assert inside.isin(days).all()  # every expiry inside the data is a trading day
    assert pd.Timestamp("2008-03-20") in listed  # Good Friday 2008-03-21: the Thursday before
    assert (listed.day_of_week[listed != pd.Timestamp("2008-03-20")] <= 4).all()
    assert not listed.isin(pd.DatetimeIndex(["2023-11-23"])).any()  # no Thanksgiving expiry


def test_sizing_helpers_floor_to_whole_contracts():
    assert contracts_for(1_000_000, 200.0, 1.0, 100) == 50
    assert contracts_for(1_000_000, 199.0, 1.0, 100) == 50  # 50.25
    assert contracts_for(1_000_000, 200.0, 0.5, 100) == 25
    assert contracts_for(19_999, 200.0, 1.0, 100) == 0
    assert contracts_for(300 * 0.7 * 100, 0.7, 1.0, 100) == 300  # no float shortfall
    assert contracts_for_budget(30_000, 2.5, 100) == 120
    assert contracts_for_budget(30_000, 2.5, 100, commission_per_contract=0.65) == 119
    with pytest.raises(PricingInputError):
        contracts_for(1e6, float("nan"), 1.0, 100)
    with pytest.raises(PricingInputError):
        contracts_for_budget(30_000, 0.0, 100)


def test_event_row_has_exactly_the_trade_columns():
    ev = OptionBook(HEDGE).buy(mkt(), 1, 63.0, dt.date(2008, 12, 19))
    row = ev.as_row()
    assert list(row) == [
        "date",
        "instrument",
        "action",
        "contracts",
        "strike",
        "expiry",
        "spot",
        "vol",
        "rate",
        "div_yield",
        "years_to_expiry",
        "model_price",
        "fill_price",
        "commission",
        "cash",
    ]
    assert row["date"] == "2008-09-15" and row["expiry"] == "2008-12-19"
    assert [f.name for f in dataclasses.fields(OptionEvent)] == list(row)


# --- bad inputs ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "field, value",
    [
        ("spot", float("nan")),
        ("spot", 0.0),
        ("vix", -1.0),
        ("vix", float("nan")),
        ("rate", float("inf")),
        ("div_yield", None),
    ],
)
def test_bad_market_inputs_raise(field, value):
    with pytest.raises(PricingInputError, match=field):
        mkt(**{field: value})


def test_expired_or_invalid_contracts_raise():
    book = OptionBook(HEDGE)
    with pytest.raises(PricingInputError, match="expired"):
        book.buy(mkt(), 1, 63.0, D0)
    with pytest.raises(PricingInputError, match="contracts"):
        book.buy(mkt(), 0, 63.0, dt.date(2008, 12, 19))
    with pytest.raises(PricingInputError, match="strike"):
        book.buy(mkt(), 1, float("nan"), dt.date(2008, 12, 19))
    book.buy(mkt(), 1, 63.0, dt.date(2008, 12, 19))
    book.expiries = listed_expiries(pd.bdate_range("2008-01-02", "2009-12-31"))
    after = mkt(dt.date(2008, 12, 22))
    for action in (book.mark, book.delta, lambda i: book.roll(i, 0.9, 91)):
        with pytest.raises(PricingInputError, match="expired"):
            action(after)
    assert book.settle_expired(after) and book.mark(after) == 0.0


# --- P&L over a path -------------------------------------------------------------------------------


def run_hedge(book, inputs, contracts):
    """Buy at the first day, settle and roll daily, close at the last: (marks, cash flows, events)."""
    book.expiries = listed_expiries(pd.DatetimeIndex([i.date for i in inputs]))
    expiry = expiry_for(inputs[0].date, 91, book.hedge.roll_days, book.expiries)
    events = [book.buy(inputs[0], contracts, strike_for(inputs[0].spot, 0.9, 0.5), expiry)]
    marks, flows = [book.mark(inputs[0])], [events[0].cash]
    for day in inputs[1:-1]:
        todays = book.settle_expired(day) + book.roll(day, 0.9, 91)
        events += todays
        marks.append(book.mark(day))
        flows.append(sum(e.cash for e in todays))
    last = book.sell_all(inputs[-1])
    events += last
    marks.append(book.mark(inputs[-1]))
    flows.append(sum(e.cash for e in last))
    return np.array(marks), np.array(flows), events


def test_daily_marks_add_up_to_realised_pnl():
    rng = np.random.default_rng(3)
    inputs = path(300, 70.0, rng.normal(0, 0.02, 300), 20 + 10 * rng.random(300))
    book = OptionBook(HEDGE)
    marks, flows, events = run_hedge(book, inputs, 10)
    assert {e.action for e in events} >= {"buy", "roll_sell", "roll_buy", "sell"}
    daily_pnl = np.diff(np.r_[0.0, marks]) + flows
    realised = sum(e.cash for e in events)
    assert marks[-1] == 0.0 and book.lots == []
    assert daily_pnl.sum() == pytest.approx(realised, abs=1e-6)
    # the same trades without spread and commission realise exactly the recorded costs more
    free = OptionBook(FREE)
    marks_f, flows_f, events_f = run_hedge(free, inputs, 10)
    costs = sum(
        (e.fill_price - e.model_price) * e.contracts * 100 * (1 if e.cash < 0 else -1) + e.commission
        for e in events
        if e.action != "expire"
    )
    assert realised == pytest.approx(sum(e.cash for e in events_f) - costs, rel=1e-9)


def test_crash_hedge_pays():
    # IWM falls 40% over 30 trading days with VIX from 20 to 70, then stays there.
    returns = np.r_[np.zeros(5), np.full(30, 0.6 ** (1 / 30) - 1), np.zeros(25)]
    vix = np.r_[np.full(5, 20.0), np.linspace(20, 70, 30), np.full(25, 70.0)]
    inputs = path(60, 100.0, returns, vix)
    shares = 10_000
    contracts = contracts_for(shares * 100.0, 100.0, HEDGE.hedge_ratio, HEDGE.contract_size)
    book = OptionBook(HEDGE)
    marks, flows, _ = run_hedge(book, inputs, contracts)
    option_pnl = flows.sum()
    etf_pnl = shares * (inputs[-1].spot - inputs[0].spot)
    assert contracts == 100 and etf_pnl == pytest.approx(-400_000)
    assert option_pnl > 200_000  # the 90-strike puts end 30 points in the money
    assert etf_pnl + option_pnl > 0.6 * etf_pnl
    calm = path(60, 100.0, np.zeros(60), 15.0)
    _, calm_flows, _ = run_hedge(OptionBook(HEDGE), calm, contracts)
    assert calm_flows.sum() < 0  # in a calm market the hedge only costs premium


# --- the broker --------------------------------------------------------------------------------------


class Recorder(bt.Analyzer):
    """Records, after the strategy has acted, value and its parts on every bar."""

    def start(self):
        self.rows = []

    def next(self):
        broker = self.strategy.broker
        data = self.strategy.data
        date = data.datetime.date(0)
        inputs = broker.inputs()
        book_value = sum(
            bsm_put(
                inputs.spot,
                lot.strike,
                (lot.expiry - date).days / 365,
                inputs.rate,
                inputs.div_yield,
                implied_vol(inputs.vix, lot.strike / inputs.spot, (lot.expiry - date).days, HEDGE),
            )
            * lot.contracts
            * 100
            for lot in broker.book.lots
        )
        position = broker.getposition(data).size * data.close[0]
        self.rows.append(
            dict(date=date, value=broker.getvalue(), cash=broker.getcash(), position=position, book=book_value)
        )


class BuyAndHedge(bt.Strategy):
    params = dict(shares=1000, contracts=10)

    def next(self):
        if len(self) == 1:
            self.buy(size=self.p.shares)
            self.broker.buy_puts(self.p.contracts, expiry=self.data.datetime.date(0) + dt.timedelta(days=45))
        elif len(self) == 40:
            self.broker.close_puts()
            self.broker.buy_puts(self.p.contracts, expiry=self.data.datetime.date(0) + dt.timedelta(days=14))
        elif len(self) < 40:
            self.broker.roll_puts()


def market_frame(days=80, crash_at=30, cash_rate=0.04):
    dates = pd.bdate_range("2008-09-01", periods=days)
    spot = 70.0 * np.r_[np.ones(crash_at), np.linspace(1.0, 0.7, days - crash_at)]
    spot = spot * (1 + 0.003 * np.sin(np.arange(days)))  # moves every day, so stale marks would show
    vix = np.r_[np.full(crash_at, 22.0), np.linspace(22.0, 65.0, days - crash_at)]
    return pd.DataFrame(dict(spot=spot, vix=vix, rate=0.02, div_yield=0.015, cash_rate=cash_rate), index=dates)


def run_broker(frame, strategy=BuyAndHedge, runonce=True, cash=100_000.0):
    prices = pd.DataFrame(
        dict(open=frame.spot, high=frame.spot, low=frame.spot, close=frame.spot, volume=1e6), index=frame.index
    )
    cerebro = bt.Cerebro(stdstats=False, runonce=runonce)
    cerebro.adddata(bt.feeds.PandasData(dataname=prices))
    broker = HedgedBroker(HEDGE)
    broker.setcash(cash)
    broker.set_market(frame)
    cerebro.setbroker(broker)
    cerebro.addstrategy(strategy)
    cerebro.addanalyzer(Recorder, _name="rec")
    (strat,) = cerebro.run()
    return broker, pd.DataFrame(strat.analyzers.rec.rows)


@pytest.mark.parametrize("runonce", [True, False])
def test_broker_value_is_cash_plus_positions_plus_marked_book_every_day(runonce):
    broker, rows = run_broker(market_frame(), runonce=runonce)
    assert len(rows) == 80 and (rows.book > 0).any() and (rows.position > 0).any()
    np.testing.assert_allclose(rows.value, rows.cash + rows.position + rows.book, rtol=0, atol=1e-6)
    history = pd.DataFrame(broker.book_history)
    assert list(history.date) == list(rows.date)
    np.testing.assert_allclose(history.option_value, rows.book, atol=1e-6)
    np.testing.assert_allclose(history.cash, rows.cash, atol=1e-6)
    assert (history.option_delta <= 0).all() and (history.option_delta < 0).any()
    actions = [e.action for e in broker.option_events]
    assert actions[0] == "buy" and {"roll_sell", "roll_buy", "sell", "expire"} <= set(actions)
    # the final value decomposes into ETF P&L (bought at bar 2's open), option cash flows and interest
    frame = market_frame()
    etf_pnl = 1000 * (frame.spot.iloc[-1] - frame.spot.iloc[1])
    option_pnl = sum(e.cash for e in broker.option_events) + rows.book.iloc[-1]
    assert rows.value.iloc[-1] - 100_000 == pytest.approx(etf_pnl + option_pnl + broker.interest_earned, abs=1e-6)
    assert broker.interest_earned > 0


def test_broker_settles_expired_puts_within_that_bars_value():
    frame = market_frame()
    broker, rows = run_broker(frame)
    expire = [e for e in broker.option_events if e.action == "expire"]
    assert len(expire) == 1
    (day,) = rows.index[rows.date == expire[0].date]
    assert rows.book[day] == 0.0 and rows.book[day - 1] > 0  # settled at that bar, not the next
    assert expire[0].cash == pytest.approx(max(expire[0].strike - frame.spot.iloc[day], 0) * 1000)


class Idle(bt.Strategy):
    pass


def test_interest_accrues_on_cash_at_the_previous_bars_rate():
    frame = market_frame(days=40)
    frame["cash_rate"] = np.where(np.arange(40) < 20, 0.05, 0.01)
    broker, rows = run_broker(frame, strategy=Idle)
    dates = frame.index
    expected = 100_000.0 * math.exp(
        sum(frame.cash_rate.iloc[i - 1] * (dates[i] - dates[i - 1]).days / 365 for i in range(1, 40))
    )
    assert rows.cash.iloc[-1] == pytest.approx(expected, rel=1e-12)
    assert rows.value.iloc[-1] == pytest.approx(expected, rel=1e-12)
    assert broker.interest_earned == pytest.approx(expected - 100_000.0, rel=1e-9)
    # a weekend earns three days: Friday 2008-09-05 -> Monday 2008-09-08
    assert rows.cash[rows.date == dt.date(2008, 9, 8)].item() == pytest.approx(
        rows.cash[rows.date == dt.date(2008, 9, 5)].item() * math.exp(0.05 * 3 / 365)
    )


def test_broker_rejects_bad_or_missing_market_inputs():
    frame = market_frame()
    broker = HedgedBroker(HEDGE)
    with pytest.raises(DataError, match="cash_rate"):
        broker.set_market(frame.drop(columns="cash_rate"))
    bad = frame.copy()
    bad.iloc[5, bad.columns.get_loc("vix")] = np.nan
    with pytest.raises(PricingInputError, match=r"vix on 2008-09-08"):
        broker.set_market(bad)
    with pytest.raises(DataError, match="no market inputs for 2008-09-01"):
        _run_with_gap(frame)


def _run_with_gap(frame):
    """Prices cover every day but the market frame lacks the first one."""
    prices = pd.DataFrame(dict(open=frame.spot, high=frame.spot, low=frame.spot, close=frame.spot, volume=1e6))
    cerebro = bt.Cerebro(stdstats=False)
    cerebro.adddata(bt.feeds.PandasData(dataname=prices))
    broker = HedgedBroker(HEDGE)
    broker.set_market(frame.iloc[1:])
    cerebro.setbroker(broker)
    cerebro.addstrategy(Idle)
    cerebro.run()
