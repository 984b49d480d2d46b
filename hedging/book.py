"""A book of long synthetic IWM puts: buy, sell, roll, cash-settle at expiry, mark, delta.

Pure Python, independent of backtrader, so the hedge mechanics can be tested on
hand-made market paths; `execution.broker.HedgedBroker` embeds one book in the broker: this is
the backtrader reference's hedge (the array engine's is `execution.kernel`).

Pricing: the one BSM pricer (`hedging.pricing`) on IWM's traded `Close`, with the vol from
`hedging.surface.implied_vol` at the contract's own moneyness K/S and
time to expiry in calendar days / 365. Contracts are treated as European and
cash-settled: real IWM options are American, which matters little for 3-month OTM puts.

Costs: a buy fills at model + half-spread, a sell at model - half-spread (`hedging.surface.fill_one`),
each paying `commission_per_contract`; settlement at expiry pays the intrinsic value
max(K - S, 0) without spread or commission. Every action returns an `OptionEvent`
whose `cash` is the signed cash flow (negative when paying), which the owner applies.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import numbers
from dataclasses import dataclass

import numpy as np
import pandas as pd

from fedcut.core.errors import PricingInputError
from fedcut.hedging.pricing import bsm_put, put_delta
from fedcut.hedging.surface import fill, implied_vol

_EPOCH = dt.date(1970, 1, 1)  # day ordinals count from here


@dataclass(frozen=True)
class MarketInputs:
    """What the hedge is priced from on one day, all known at that day's close.

    spot: IWM traded `Close` (USD); vix: VIX close (points); rate: risk-free rate and
    div_yield: IWM dividend yield, both annual, continuously compounded; unit: the spot's scale
    against the one `hedge.strike_tick` and `hedge.commission_per_contract` are written for (1 but
    where the spot is a level scaled back in time, `data.market.Market.option_unit`): strikes round
    to strike_tick x unit and a contract pays commission_per_contract x unit; skew: Cboe's SKEW index
    at the close (points), NaN on a day it has no value (before 1990-01-02): the surface then reads it
    at `hedge.skew_index_centre` (`hedging.surface`); small_cap_vol_ratio: IWM's over SPY's trailing
    realised vol (`hedge.small_cap_ratio_mode` = realised), NaN without the history.
    """

    date: dt.date
    spot: float
    vix: float
    rate: float
    div_yield: float
    unit: float = 1.0
    skew: float = math.nan
    small_cap_vol_ratio: float = math.nan

    def __post_init__(self):
        if isinstance(self.date, dt.datetime):
            object.__setattr__(self, "date", self.date.date())
        for name in ("spot", "vix", "rate", "div_yield", "unit"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
                raise PricingInputError(f"market input {name} on {self.date} must be a finite number, got {value!r}")
        for name in ("spot", "vix", "unit"):
            if getattr(self, name) <= 0:
                raise PricingInputError(
                    f"market input {name} on {self.date} must be positive, got {getattr(self, name)!r}"
                )
        for name in ("skew", "small_cap_vol_ratio"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Real) or math.isinf(value) or value <= 0:
                raise PricingInputError(
                    f"market input {name} on {self.date} must be a positive number or NaN, got {value!r}"
                )


@dataclass(frozen=True)
class PutLot:
    """Contracts of one put series held in the book; entry_price is the fill paid per share."""

    strike: float
    expiry: dt.date
    contracts: int
    entry_date: dt.date
    entry_price: float

    @property
    def instrument(self) -> str:
        return instrument_id(self.strike, self.expiry)


@dataclass(frozen=True)
class OptionEvent:
    """One option trade or settlement, as a row of trades.csv.

    Prices are per share (one contract covers `contract_size` shares); vol, rate and
    div_yield are the annual inputs used; commission is in USD; cash is the signed cash
    flow to the account (negative for a purchase).
    """

    date: dt.date
    instrument: str
    action: str  # buy, sell, roll_sell, roll_buy, expire
    contracts: int
    strike: float
    expiry: dt.date
    spot: float
    vol: float
    rate: float
    div_yield: float
    years_to_expiry: float
    model_price: float
    fill_price: float
    commission: float
    cash: float

    def as_row(self) -> dict:
        """The event as a flat dict with ISO dates, ready for csv.DictWriter or pandas."""
        row = dataclasses.asdict(self)
        row["date"] = self.date.isoformat()
        row["expiry"] = self.expiry.isoformat()
        return row


def instrument_id(strike: float, expiry: dt.date) -> str:
    """Readable series id, e.g. 'IWM P 2008-12-19 K=65.0'."""
    return f"IWM P {expiry.isoformat()} K={strike:.1f}"


def strike_for(spot: float, moneyness: float, tick: float) -> float:
    """moneyness * spot rounded to the nearest listed strike (`hedge.strike_tick` apart)."""
    return round(moneyness * spot / tick) * tick


def listed_expiries(trading_days, years_ahead: int = 3) -> np.ndarray:
    """Monthly IWM option expiries as day ordinals (days since 1970-01-01): each month's third
    Friday, or the trading day before it when the market is closed that Friday (e.g. Good Friday),
    from the calendar's first month to `years_ahead` years past its last day. Beyond the calendar
    no holiday is known, so the third Friday stands."""
    days = pd.DatetimeIndex(trading_days)
    traded = days.values.astype("datetime64[D]").astype(np.int64)
    months = pd.period_range(
        days[0].to_period("M"), (days[-1] + pd.DateOffset(years=years_ahead)).to_period("M"), freq="M"
    )
    month_start = months.to_timestamp().values.astype("datetime64[D]").astype(np.int64)
    weekday = (month_start + 3) % 7  # 1970-01-01 was a Thursday: Monday = 0
    third_friday = month_start + (4 - weekday) % 7 + 14
    third_friday = third_friday[third_friday >= traded[0]]
    at = np.searchsorted(traded, third_friday, side="right") - 1  # last trading day on or before
    return np.where(third_friday <= traded[-1], traded[at], third_friday)


def day_ordinal(date: dt.date) -> int:
    """Days since 1970-01-01: how listed expiries and the array engine count days."""
    return (date - _EPOCH).days


def ordinal_date(ordinal) -> dt.date:
    """The date of a day ordinal (`day_ordinal`)."""
    return _EPOCH + dt.timedelta(days=int(ordinal))


def expiry_for(date: dt.date, tenor_days: int, roll_days: int, expiries: np.ndarray) -> dt.date:
    """The listed monthly expiry nearest `date + tenor_days` among those more than `roll_days` away
    (so a new put is never due for a roll at once); of two equally near, the later."""
    day = day_ordinal(date)
    first = int(np.searchsorted(expiries, day + roll_days, side="right"))  # the first more than roll_days away
    want = day + tenor_days
    at = max(int(np.searchsorted(expiries, want, side="left")), first)  # the first on or after want, allowed
    if at >= len(expiries):
        raise PricingInputError("no listed expiry far enough ahead: the expiry calendar is too short")
    after = expiries[at]
    if at - 1 >= first and want - expiries[at - 1] < after - want:
        return ordinal_date(expiries[at - 1])
    return ordinal_date(after)


def contracts_for(notional: float, spot: float, hedge_ratio: float, size: int) -> int:
    """Whole contracts (floored) covering hedge_ratio of an IWM position worth `notional` USD."""
    if not (math.isfinite(spot) and spot > 0):
        raise PricingInputError(f"spot must be a positive number to size puts, got {spot!r}")
    if not (math.isfinite(notional) and math.isfinite(hedge_ratio)):
        raise PricingInputError(f"notional and hedge_ratio must be finite, got {notional!r} and {hedge_ratio!r}")
    shares = notional * hedge_ratio / spot
    return max(0, math.floor(round(shares / size, 9)))


def contracts_for_budget(
    budget_cash: float, model_price: float, size: int, commission_per_contract: float = 0.0
) -> int:
    """Whole contracts (floored) that `budget_cash` USD buys at `model_price` per share.

    Pass the fill price (model * (1 + half_spread)) and the commission to keep the
    whole outlay within the budget.
    """
    if not (math.isfinite(model_price) and model_price > 0):
        raise PricingInputError(f"option price must be positive to size by budget, got {model_price!r}")
    if not math.isfinite(budget_cash):
        raise PricingInputError(f"premium budget must be finite, got {budget_cash!r}")
    per_contract = model_price * size + commission_per_contract
    return max(0, math.floor(round(budget_cash / per_contract, 9)))


class OptionBook:
    """Long IWM puts held as `PutLot`s; priced and traded with the `hedge` config section."""

    def __init__(self, hedge, expiries: np.ndarray | None = None):
        self.hedge = hedge
        self.expiries = expiries  # listed expiries (`listed_expiries`), needed to roll
        self.lots: list[PutLot] = []

    def _vol_years(self, inputs: MarketInputs, strike: float, expiry: dt.date) -> tuple[float, float]:
        """(vol, years to expiry) of a live put series; PricingInputError once it has expired."""
        years = (expiry - inputs.date).days / 365.0
        if years <= 0:
            raise PricingInputError(
                f"{instrument_id(strike, expiry)} has expired on {inputs.date}: settle it, do not price it"
            )
        return implied_vol(
            inputs.vix,
            strike / inputs.spot,
            (expiry - inputs.date).days,
            self.hedge,
            inputs.skew,
            inputs.small_cap_vol_ratio,
        ), years

    def quote(self, inputs: MarketInputs, strike: float, expiry: dt.date) -> tuple[float, float, float]:
        """(model mid price per share, vol, years to expiry) of a live put series."""
        vol, years = self._vol_years(inputs, strike, expiry)
        return bsm_put(inputs.spot, strike, years, inputs.rate, inputs.div_yield, vol), vol, years

    def _event(self, inputs, action, contracts, strike, expiry, model, vol, years, fill, commission, cash):
        return OptionEvent(
            date=inputs.date,
            instrument=instrument_id(strike, expiry),
            action=action,
            contracts=contracts,
            strike=strike,
            expiry=expiry,
            spot=inputs.spot,
            vol=vol,
            rate=inputs.rate,
            div_yield=inputs.div_yield,
            years_to_expiry=years,
            model_price=model,
            fill_price=fill,
            commission=commission,
            cash=cash,
        )

    def buy(
        self, inputs: MarketInputs, contracts: int, strike: float, expiry: dt.date, action: str = "buy"
    ) -> OptionEvent:
        """Buy `contracts` puts at model + half-spread plus commission; add the lot."""
        if isinstance(contracts, bool) or not isinstance(contracts, int) or contracts <= 0:
            raise PricingInputError(f"contracts to buy must be a positive whole number, got {contracts!r}")
        if not (math.isfinite(strike) and strike > 0):
            raise PricingInputError(f"strike must be a positive number, got {strike!r}")
        model, vol, years = self.quote(inputs, strike, expiry)
        price = fill(model, inputs.vix, inputs.unit, self.hedge, True)
        commission = self.hedge.commission_per_contract * inputs.unit * contracts
        cash = -(price * contracts * self.hedge.contract_size + commission)
        self.lots.append(PutLot(strike, expiry, contracts, inputs.date, price))
        return self._event(inputs, action, contracts, strike, expiry, model, vol, years, price, commission, cash)

    def sell(self, lot: PutLot, inputs: MarketInputs, action: str = "sell") -> OptionEvent:
        """Sell a held lot at model - half-spread less commission; remove it."""
        if lot not in self.lots:
            raise ValueError(f"{lot.instrument} x{lot.contracts} is not in the book")
        model, vol, years = self.quote(inputs, lot.strike, lot.expiry)
        price = fill(model, inputs.vix, inputs.unit, self.hedge, False)
        commission = self.hedge.commission_per_contract * inputs.unit * lot.contracts
        cash = price * lot.contracts * self.hedge.contract_size - commission
        self.lots.remove(lot)
        return self._event(
            inputs, action, lot.contracts, lot.strike, lot.expiry, model, vol, years, price, commission, cash
        )

    def sell_all(self, inputs: MarketInputs) -> list[OptionEvent]:
        """Close the whole book at today's bid."""
        return [self.sell(lot, inputs) for lot in list(self.lots)]

    def settle_expired(self, inputs: MarketInputs) -> list[OptionEvent]:
        """Cash-settle lots with expiry <= date at intrinsic max(K - S, 0); no spread, no commission.

        A lot whose expiry fell on a holiday or weekend settles at the next day's spot.
        """
        events = []
        for lot in [lot for lot in self.lots if lot.expiry <= inputs.date]:
            intrinsic = max(lot.strike - inputs.spot, 0.0)
            vol = implied_vol(
                inputs.vix,
                lot.strike / inputs.spot,
                (lot.expiry - inputs.date).days,
                self.hedge,
                inputs.skew,
                inputs.small_cap_vol_ratio,
            )
            cash = intrinsic * lot.contracts * self.hedge.contract_size
            self.lots.remove(lot)
            events.append(
                self._event(
                    inputs, "expire", lot.contracts, lot.strike, lot.expiry, intrinsic, vol, 0.0, intrinsic, 0.0, cash
                )
            )
        return events

    def roll(self, inputs: MarketInputs, moneyness: float, tenor_days: int) -> list[OptionEvent]:
        """Replace each lot with less than `roll_days` of life by the same number of new puts.

        The new strike is `strike_for(spot, moneyness)` and the new expiry the listed one
        `expiry_for` gives. Returns roll_sell / roll_buy events in pairs.
        """
        due = [lot for lot in self.lots if (lot.expiry - inputs.date).days < self.hedge.roll_days]
        expiries = self.expiries
        if not due:
            return []
        if expiries is None:
            raise ValueError("OptionBook.roll needs the listed expiries (OptionBook(hedge, expiries))")
        events = []
        for lot in due:
            events.append(self.sell(lot, inputs, action="roll_sell"))
            events.append(
                self.buy(
                    inputs,
                    lot.contracts,
                    strike_for(inputs.spot, moneyness, self.hedge.strike_tick * inputs.unit),
                    expiry_for(inputs.date, tenor_days, self.hedge.roll_days, expiries),
                    action="roll_buy",
                )
            )
        return events

    def mark(self, inputs: MarketInputs) -> float:
        """Book value in USD at model mid prices (no spread): what the portfolio reports as held."""
        return sum(
            self.quote(inputs, lot.strike, lot.expiry)[0] * lot.contracts * self.hedge.contract_size
            for lot in self.lots
        )

    def delta(self, inputs: MarketInputs) -> float:
        """Book delta in IWM shares (negative: the puts gain when IWM falls)."""
        total = 0.0
        for lot in self.lots:
            vol, years = self._vol_years(inputs, lot.strike, lot.expiry)
            d = put_delta(inputs.spot, lot.strike, years, inputs.rate, inputs.div_yield, vol)
            total += d * lot.contracts * self.hedge.contract_size
        return total
