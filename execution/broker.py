"""A backtrader broker that also holds the put hedge and pays interest on idle cash.

Why inside the broker: every backtrader consumer of portfolio value (analyzers,
observers, the strategy's own sizing, the equity curve) asks `broker.getvalue()`.
Keeping the option book and the cash interest in the broker makes that one number
= cash + ETF positions + option book at model mid, so no consumer can forget the
hedge and no side ledger has to be reconciled afterwards.

Daily order of work in `next()` (called by cerebro before the strategy's `next`):
  1. interest (`execution.cash`): positive cash grows by exp(r * days / 365) for the calendar
     days since the previous bar, at the `cash_rate` known at that previous bar; negative
     cash (a margin loan: puts bought with money the account does not have) pays
     `cash_rate + borrow_spread`;
  2. `BackBroker.next()`: ETF orders fill, the ETF value is recomputed;
  3. expired puts cash-settle at intrinsic and the book is re-marked at today's inputs.
So the value seen on a bar by the strategy, analyzers and observers includes that
bar's option marks. Option trades requested by the strategy (`buy_puts`,
`close_puts`, `roll_puts`) fill immediately at the current bar's inputs (the close)
and move cash and the cached value at once; ETF orders still fill as backtrader
fills them.

Market inputs come from `set_market(frame)`: a DataFrame indexed by trading day
with columns spot (IWM `Close`), vix, rate, div_yield, optionally option_unit (see
`hedging.book.MarketInputs`; 1 without it), skew and small_cap_vol_ratio (NaN without them) and cash_rate (annual continuous rate earned by
idle cash), each already lagged to what was known on that day. Fund mode is not supported: backtrader's fund value would
leave the book out.
"""

from __future__ import annotations

import datetime as dt

import backtrader as bt
import numpy as np
import pandas as pd

from fedcut.core.errors import DataError, PricingInputError
from fedcut.execution.cash import interest_factors
from fedcut.hedging.book import MarketInputs, OptionBook, OptionEvent, expiry_for, listed_expiries, strike_for

MARKET_COLUMNS = ("spot", "vix", "rate", "div_yield", "cash_rate")


class HedgedBroker(bt.brokers.BackBroker):
    """BackBroker + an `OptionBook` of IWM puts + interest on cash; `hedge` is the config section."""

    def __init__(self, hedge, borrow_spread: float = 0.0):
        self.hedge = hedge  # before super().__init__, which calls init()
        self.borrow_spread = borrow_spread
        self._market: dict[dt.date, tuple[float, ...]] = {}
        self._units: dict[dt.date, float] = {}
        self._optional: dict[str, dict[dt.date, float]] = {}  # the optional daily inputs, NaN where absent
        self._expiries = None
        super().__init__()

    def init(self):
        """Reset the run state (backtrader calls this at construction and at start)."""
        super().init()
        self.book = OptionBook(self.hedge, self._expiries)
        self.option_events: list[OptionEvent] = []
        self.book_history: list[dict] = []
        self.book_value = 0.0
        self.book_delta = 0.0
        self.interest_earned = 0.0
        self.interest_paid = 0.0
        self._date: dt.date | None = None

    def set_market(self, frame: pd.DataFrame) -> None:
        """Give the per-day pricing and cash-rate inputs: all finite, spot and vix positive."""
        missing = [c for c in MARKET_COLUMNS if c not in frame.columns]
        if missing:
            raise DataError(f"hedged broker market frame lacks column {missing[0]!r}")
        values = frame[list(MARKET_COLUMNS)].to_numpy(dtype=float)
        dates = pd.DatetimeIndex(frame.index).date
        for j, column in enumerate(MARKET_COLUMNS):
            bad = ~np.isfinite(values[:, j])
            if column in ("spot", "vix"):
                bad |= values[:, j] <= 0
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                raise PricingInputError(f"market input {column} on {dates[i]} is {values[i, j]!r}")
        lend, borrow = interest_factors(frame.index, values[:, MARKET_COLUMNS.index("cash_rate")], self.borrow_spread)
        self._market = {d: (*row, g, b) for d, row, g, b in zip(dates, values.tolist(), lend.tolist(), borrow.tolist())}
        units = frame["option_unit"].to_numpy(dtype=float) if "option_unit" in frame else np.ones(len(frame))
        self._units = dict(zip(dates, units.tolist()))
        self._optional = {
            c: dict(
                zip(dates, (frame[c].to_numpy(dtype=float) if c in frame else np.full(len(frame), np.nan)).tolist())
            )
            for c in ("skew", "small_cap_vol_ratio")
        }
        self._expiries = self.book.expiries = listed_expiries(frame.index)

    def _row(self, date: dt.date) -> tuple[float, ...]:
        try:
            return self._market[date]
        except KeyError:
            raise DataError(f"hedged broker has no market inputs for {date}") from None

    @property
    def expiries(self):
        """Listed monthly expiries over the run (day ordinals), set with the market inputs."""
        return self._expiries

    def inputs(self) -> MarketInputs:
        """Today's pricing inputs."""
        if self._date is None:
            raise DataError("hedged broker has no current bar yet: option trades start in next()")
        spot, vix, rate, div_yield = self._row(self._date)[:4]
        return MarketInputs(
            self._date,
            spot,
            vix,
            rate,
            div_yield,
            self._units[self._date],
            self._optional["skew"][self._date],
            self._optional["small_cap_vol_ratio"][self._date],
        )

    def next(self):
        """Accrue interest, run the ETF broker, settle expired puts and re-mark (see module docstring)."""
        today = bt.num2date(max(d.datetime[0] for d in self.cerebro.datas if len(d))).date()
        lend, borrow = self._row(today)[5:]  # also refuses a bar without market inputs
        if self._date is not None and today > self._date and self.cash != 0:
            if self.cash > 0:
                interest = self.cash * lend
                self.interest_earned += interest
            else:
                interest = self.cash * borrow
                self.interest_paid -= interest
            self.cash += interest
        self._date = today
        super().next()
        if self.book.lots:
            self._apply(self.book.settle_expired(self.inputs()))
        self._mark()

    def _mark(self) -> None:
        """Re-mark the book at today's inputs and record the day's row (replacing an earlier one today)."""
        if self.book.lots:
            inputs = self.inputs()
            self.book_value, self.book_delta = self.book.mark(inputs), self.book.delta(inputs)
        else:
            self.book_value, self.book_delta = 0.0, 0.0
        row = dict(date=self._date, option_value=self.book_value, option_delta=self.book_delta, cash=self.cash)
        if self.book_history and self.book_history[-1]["date"] == self._date:
            self.book_history[-1] = row
        else:
            self.book_history.append(row)

    def _apply(self, events: list[OptionEvent]) -> list[OptionEvent]:
        """Book the events' cash flows in cash and in the cached value, and log them."""
        for event in events:
            self.cash += event.cash
            self._value += event.cash
            self._valuelever += event.cash
            self.option_events.append(event)
        return events

    def get_value(self, datas=None, mkt=False, lever=False):
        """Portfolio value; with datas None and mkt False it includes the option book at mid."""
        value = super().get_value(datas=datas, mkt=mkt, lever=lever)
        return value + self.book_value if datas is None and not mkt else value

    getvalue = get_value

    def buy_puts(self, contracts: int, strike: float | None = None, expiry: dt.date | None = None) -> OptionEvent:
        """Buy puts at today's close; strike and expiry default to hedge.moneyness and hedge.tenor_days."""
        inputs = self.inputs()
        strike = (
            strike_for(inputs.spot, self.hedge.moneyness, self.hedge.strike_tick * inputs.unit)
            if strike is None
            else strike
        )
        if expiry is None:
            expiry = expiry_for(inputs.date, self.hedge.tenor_days, self.hedge.roll_days, self._expiries)
        event = self._apply([self.book.buy(inputs, contracts, strike, expiry)])[0]
        self._mark()
        return event

    def close_puts(self) -> list[OptionEvent]:
        """Sell every held put at today's close."""
        events = self._apply(self.book.sell_all(self.inputs())) if self.book.lots else []
        self._mark()
        return events

    def roll_puts(self, moneyness: float | None = None, tenor_days: int | None = None) -> list[OptionEvent]:
        """Roll puts with less than hedge.roll_days left into new ones (defaults from the hedge section)."""
        moneyness = self.hedge.moneyness if moneyness is None else moneyness
        tenor_days = self.hedge.tenor_days if tenor_days is None else tenor_days
        events = self._apply(self.book.roll(self.inputs(), moneyness, tenor_days)) if self.book.lots else []
        self._mark()
        return events
