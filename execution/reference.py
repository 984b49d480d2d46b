"""Execution in backtrader: follow precomputed target weights and the hedge ratio.

Everything computable before the event loop (regime, targets) arrives as arrays; the strategy
only does what needs the broker: sizing against the live portfolio value, a rebalance band
against churn, and the put hedge.

Timing (cerebro runs with `cheat_on_open`): the decision made at D's close is traded on D+1.
In `next_open` of D+1 the strategy sizes ETF orders for D's targets at D+1's open price (an
order for a dollar amount at the open, as a broker would take it) and they fill at that open
with slippage and commission; in `next` of D+1 it trades puts for D's hedge ratio at D+1's
close inputs. Nothing fills on its signal bar.
"""

from __future__ import annotations

import math

import backtrader as bt
import numpy as np
import pandas as pd

from fedcut.execution.broker import HedgedBroker
from fedcut.execution.engine import buy_and_hold_shares
from fedcut.execution.feeds import FrameFeed
from fedcut.execution.kernel import buying_allowed
from fedcut.hedging.book import contracts_for, contracts_for_budget, expiry_for, strike_for


class _Recorder(bt.Strategy):
    """Records the broker's view of each day and every filled ETF order."""

    def start(self):
        self.rows: list[tuple] = []
        self.fills: list[dict] = []

    def notify_order(self, order):
        if order.status == order.Completed:
            ex = order.executed
            self.fills.append(
                dict(
                    date=bt.num2date(ex.dt).date(),
                    instrument=order.data._name,
                    action="buy" if ex.size > 0 else "sell",
                    quantity=ex.size,
                    price=ex.price,
                    value=ex.size * ex.price,
                    commission=ex.comm,
                )
            )
        elif order.status in (order.Margin, order.Rejected):
            self.fills.append(
                dict(
                    date=self.datas[0].datetime.date(0),
                    instrument=order.data._name,
                    action="rejected",
                    quantity=order.created.size,
                    price=order.created.price,
                    value=0.0,
                    commission=0.0,
                )
            )

    def record(self):
        broker = self.broker
        value = broker.getvalue()
        held = [self.getposition(d).size * d.close[0] if self.getposition(d).size else 0.0 for d in self.datas]
        self.rows.append(
            (self.datas[0].datetime.date(0), value, broker.getcash(), getattr(broker, "book_value", 0.0), *held)
        )


class FedcutStrategy(_Recorder):
    """Trades the target weights (`targets`: days x tickers, same order as the feeds) and hedges IWM."""

    params = dict(targets=None, hedge_ratio=None, band=0.05, cash_buffer=0.01, hedge=None)

    def next_open(self):
        i = len(self.datas[0]) - 1  # today's bar: the strategy itself only advances after next_open
        if i > 0:
            self._rebalance(self.p.targets[i - 1])

    def start(self):
        super().start()
        self._decided_vix = None  # the VIX of the previous close, when its hedge ratio was decided

    def next(self):
        i = len(self) - 1
        if i > 0 and self.p.hedge_ratio is not None:
            self._hedge(float(self.p.hedge_ratio[i - 1]), self._decided_vix)
        if self.p.hedge_ratio is not None:
            self._decided_vix = self.broker.inputs().vix
        self.record()

    def _rebalance(self, targets: np.ndarray) -> None:
        """Orders towards `targets`, sized at today's open against yesterday's closing value."""
        value = self.broker.getvalue()
        investable = value * (1.0 - self.p.cash_buffer)
        orders = []
        for data, target in zip(self.datas, targets):
            price = data.open[0]
            size = self.getposition(data).size
            if not price > 0 or target != target:  # not yet listed, or no decision today (NaN): hold
                continue
            current = size * price / value
            if abs(current - target) <= self.p.band and not (target == 0 and size != 0):
                continue
            delta = math.floor(target * investable / price) - size
            if delta:
                orders.append((delta, data))
        for delta, data in sorted(orders, key=lambda o: o[0] > 0):  # sells first: their cash pays for buys
            (self.buy if delta > 0 else self.sell)(data=data, size=abs(delta))

    def _hedge(self, hedge_ratio: float, decided_vix: float) -> None:
        """Hold puts on `hedge_ratio` of the IWM position actually held (the first feed), bought only
        within the VIX bounds at the deciding close (`decided_vix`)."""
        broker, hedge = self.broker, self.p.hedge
        if hedge_ratio <= 0:
            if broker.book.lots:
                broker.close_puts()
            return
        if not buying_allowed(decided_vix, hedge.buy_vix_floor, hedge.buy_vix_ceiling):
            return
        inputs = broker.inputs()
        exposure = self.getposition(self.datas[0]).size * self.datas[0].close[0]
        if hedge.sizing == "budget":
            strike = strike_for(inputs.spot, hedge.moneyness, hedge.strike_tick * inputs.unit)
            expiry = expiry_for(inputs.date, hedge.tenor_days, hedge.roll_days, broker.expiries)
            model, _, _ = broker.book.quote(inputs, strike, expiry)
            budget = hedge.annual_budget * broker.getvalue() * hedge.tenor_days / 365.0
            needed = contracts_for_budget(
                budget, model, hedge.contract_size, hedge.commission_per_contract * inputs.unit
            )
        else:
            needed = contracts_for(exposure, inputs.spot, hedge_ratio, hedge.contract_size)
        held = sum(lot.contracts for lot in broker.book.lots)
        if held and abs(held - needed) <= hedge.resize_band * max(needed, 1):
            broker.roll_puts()
            return
        if held:
            broker.close_puts()
        if needed > 0:
            broker.buy_puts(needed)


class BuyAndHold(_Recorder):
    """Buys the first feed at the second bar's open with all cash but the buffer, never more
    than the cash can pay for with slippage and commission, then holds."""

    params = dict(cash_buffer=0.01, slippage=0.0, commission=0.0)

    def next_open(self):
        if len(self.datas[0]) == 2:  # the second bar (len(self) still counts the bars before it)
            data = self.datas[0]
            self.buy(
                data=data,
                size=buy_and_hold_shares(
                    self.broker.getvalue(), data.open[0], self.p.cash_buffer, self.p.slippage, self.p.commission
                ),
            )

    def next(self):
        self.record()


STRATEGIES = {"fedcut": FedcutStrategy, "buy_and_hold": BuyAndHold}


def run_cerebro(tape, cfg, strategy: str, **kwargs):
    """Run a strategy (`STRATEGIES`) over the tape's tickers (`execution.engine.Tape`) in cerebro with
    the hedged broker; return the daily rows (value, cash, option_value, option_delta, USD held per
    ticker), the recorded ETF fills and refusals, and the broker (option events, interest)."""
    cerebro = bt.Cerebro(stdstats=False, preload=True, runonce=True, cheat_on_open=True)
    broker = HedgedBroker(cfg.hedge, borrow_spread=cfg.execution.borrow_spread_bps / 1e4)
    broker.set_cash(cfg.execution.initial_cash)
    broker.set_market(
        pd.DataFrame(
            {
                "spot": tape.spot,
                "vix": tape.vix,
                "rate": tape.rate,
                "div_yield": tape.div_yield,
                "cash_rate": tape.cash_rate if cfg.execution.cash_interest else 0.0,
                "option_unit": tape.unit,
                "skew": tape.skew,
                "small_cap_vol_ratio": tape.small_cap_vol_ratio,
            },
            index=tape.days,
        )
    )
    broker.setcommission(commission=cfg.execution.commission_bps / 1e4)
    broker.set_slippage_perc(cfg.execution.slippage_bps / 1e4, slip_open=True, slip_match=True, slip_out=True)
    cerebro.broker = broker
    for j, t in enumerate(tape.tickers):
        # Before a ticker exists its target weight is 0 (targets.target_weights), so it is never
        # traded; the tape carries its first price (or 0 if it has none in the run, which
        # `_rebalance` skips) only so that a zero position values to 0, not NaN.
        opn, close = tape.open[:, j], tape.close[:, j]
        frame = pd.DataFrame(
            {"open": opn, "high": np.fmax(opn, close), "low": np.fmin(opn, close), "close": close, "volume": 0.0},
            index=tape.days,
        )
        cerebro.adddata(FrameFeed(frame=frame), name=t)
    cerebro.addstrategy(STRATEGIES[strategy], **kwargs)
    strat = cerebro.run()[0]
    rows = pd.DataFrame(strat.rows, columns=["date", "value", "cash", "option_value", *tape.tickers])
    rows["date"] = pd.to_datetime(rows["date"])
    rows = rows.set_index("date")
    rows.insert(3, "option_delta", pd.DataFrame(broker.book_history)["option_delta"].to_numpy())
    return rows, strat.fills, broker
