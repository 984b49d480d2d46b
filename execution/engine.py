"""The array execution engine: backtrader's execution, compiled, for many configurations at a time.

Both engines (`execution.engines`) follow the same rules, stated here once: this engine in
`execution.kernel`, the backtrader reference in `execution.reference`, `execution.broker` and
`hedging.book`. `tests/test_engine.py` runs them side by side and requires identical equity,
cash, option value, fills, refusals and option events.

1. Timing. The decision of day D's close (target weights, hedge ratio) trades on D+1: ETF orders
   at D+1's open, puts at D+1's close. Nothing trades on the first day.
2. Sizing. At D+1's open the portfolio value V is D's closing value, puts at their mark
   included, D+1's overnight interest not; investable = V x (1 - cash_buffer).
3. Band. A holding is traded only when |shares x open / V - target| > rebalance_band, or when its
   target is 0 while it is held (the forced sale to zero). A ticker without a price, or with a
   NaN target (no decision that day: a monthly rebalance's other days), is left as it is.
4. Whole shares. The order is floor(target x investable / open) - shares held.
5. Order of orders. Sells first, then buys, each group in ticker order.
6. Interest (`execution.cash`). Before the orders are checked, cash earns the previous bar's T-bill
   rate over the calendar days since; negative cash pays that rate plus
   `execution.borrow_spread_bps`.
7. Cash check at the open (backtrader's `check_submitted`). The orders are tried in order against
   a running cash at the unslipped open: a sell adds shares x open less commission, a buy takes
   shares x open plus commission. An order that leaves the running cash below zero is refused,
   and its amount stays in the running cash, so every later buy of the day is refused too, and
   with negative cash even a sell can be. This is a backtrader quirk, kept in both engines: it
   only bites when cash is short, and a refusal is reported.
8. Fills. Accepted orders fill in that order at open x (1 + slippage) for buys and
   open x (1 - slippage) for sells, with commission |shares| x commission x fill. A buy that
   the cash cannot pay at the slipped price is refused at the fill.
9. Valuation. Each close: cash + every position at the close, summed position by position as
   backtrader does (cost basis and unrealised P&L apart) + the puts at model mid.
10. Puts, at D+1's close, after ETF fills and after expired puts settled at intrinsic (no spread,
    no commission): a hedge ratio <= 0 sells every put at the bid. Otherwise the contracts
    needed are floor(IWM held x ratio / (spot x contract size)), IWM held = shares x today's
    close (`hedge.sizing = "ratio"`)
    or floor(budget / (model x contract size + commission)) with budget = annual_budget x V x
    tenor / 365 (`"budget"`); held puts within `resize_band` of the need are only rolled (with
    fewer than `roll_days` left they are sold and as many bought at the new strike and expiry),
    otherwise the book is sold and the need bought. Buys pay model x (1 + half-spread) plus
    commission per contract, sells get model - half-spread (not below 0) less it; half-spread per share =
    half_spread_dollars x unit + (half_spread_base + half_spread_per_vix x VIX) x model
    (`hedging.surface`). Option cash is never checked: it can take cash
    below zero, which rule 6 charges for and rule 7 then refuses buys against.
11. Contracts. New puts strike at the nearest `strike_tick` x unit (`hedging.book.MarketInputs`, it
    scales commissions too) to moneyness x spot and expire on the listed monthly expiry (third
    Friday, or the trading day before) nearest the tenor among those more than `roll_days` away.
12. VIX bounds (`execution.kernel.buying_allowed`). With a hedge ratio > 0, puts are bought, resized
    or rolled only when the VIX of the deciding close D lies in [buy_vix_floor, buy_vix_ceiling)
    (0 = no bound); otherwise the book is left as it is: held puts stay, settle at expiry, and are
    sold only when the hedge ratio falls to 0.

Floating-point operations are written in backtrader's order (e.g. a sale credits cost basis plus
realised P&L, not shares x price), so the two engines agree to the last bit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from fedcut.execution import kernel
from fedcut.execution.cash import interest_factors
from fedcut.hedging.book import OptionEvent, instrument_id, listed_expiries, ordinal_date

_EPOCH = pd.Timestamp("1970-01-01")
HEDGE_FIELDS = (
    "moneyness",
    "tenor_days",
    "roll_days",
    "annual_budget",
    "resize_band",
    "atm_vix_ratio",
    "skew_slope",
    "skew_term_exponent",
    "small_cap_ratio",
    "vol_floor",
    "vol_cap",
    "half_spread_dollars",
    "half_spread_base",
    "half_spread_per_vix",
    "commission_per_contract",
    "strike_tick",
    "contract_size",
    "buy_vix_floor",
    "buy_vix_ceiling",
    "skew_index_slope",
    "skew_index_centre",
    "small_cap_ratio_min",
    "small_cap_ratio_max",
)
DAILY = (
    "spot",
    "vix",
    "rate",
    "div_yield",
    "cash_rate",
    "option_unit",
    "skew",
    "small_cap_vol_ratio",
)  # the tape's daily inputs, in order


@dataclass(frozen=True)
class Tape:
    """What execution reads each day, shared by every configuration of a run: the feeds' open and
    close per ticker (a ticker's first price carried back before it exists, 0 if it never trades
    in the run) and the pricing and cash-rate inputs as known that day."""

    days: pd.DatetimeIndex
    tickers: tuple[str, ...]
    open: np.ndarray  # (days, tickers)
    close: np.ndarray
    spot: np.ndarray  # (days,)
    vix: np.ndarray
    rate: np.ndarray
    div_yield: np.ndarray
    cash_rate: np.ndarray
    unit: np.ndarray  # `hedging.book.MarketInputs.unit`
    skew: np.ndarray  # Cboe's SKEW index at the close, NaN before it exists (`hedging.book.MarketInputs.skew`)
    small_cap_vol_ratio: np.ndarray  # IWM's over SPY's trailing realised vol, NaN without the history
    ordinals: np.ndarray = field(init=False)
    expiries: np.ndarray = field(init=False)

    def __post_init__(self):
        object.__setattr__(self, "ordinals", ((self.days - _EPOCH) // pd.Timedelta(days=1)).to_numpy().astype(np.int64))
        object.__setattr__(self, "expiries", listed_expiries(self.days))


def tape_for(market, broker_inputs: pd.DataFrame, tickers: tuple[str, ...]) -> Tape:
    """The tape of `tickers` from an aligned market and its broker inputs: what either engine reads."""
    close = np.column_stack([market.close[t].bfill().fillna(0.0).to_numpy(dtype=float) for t in tickers])
    opn = np.column_stack([market.open[t].bfill().fillna(0.0).to_numpy(dtype=float) for t in tickers])
    return Tape(market.days, tuple(tickers), opn, close, *(broker_inputs[c].to_numpy(dtype=float) for c in DAILY))


@dataclass(frozen=True)
class Settings:
    """Execution and hedge parameters of K configurations, one array entry each."""

    initial_cash: np.ndarray
    commission: np.ndarray  # fraction of traded value
    slippage: np.ndarray  # fraction of price
    band: np.ndarray
    cash_buffer: np.ndarray
    cash_interest: np.ndarray  # bool
    borrow_spread: np.ndarray  # annual rate
    budget_sizing: np.ndarray  # bool: hedge.sizing == "budget"
    hedge: dict[str, np.ndarray]

    @property
    def size(self) -> int:
        return len(self.initial_cash)


def settings_for(configs) -> Settings:
    """Stack the execution and hedge sections of resolved configurations."""
    ex = [c.execution for c in configs]
    hedges = [c.hedge for c in configs]
    arr = lambda values, dtype=float: np.array(values, dtype=dtype)  # noqa: E731
    return Settings(
        initial_cash=arr([e.initial_cash for e in ex]),
        commission=arr([e.commission_bps / 1e4 for e in ex]),
        slippage=arr([e.slippage_bps / 1e4 for e in ex]),
        band=arr([e.rebalance_band for e in ex]),
        cash_buffer=arr([e.cash_buffer for e in ex]),
        cash_interest=arr([e.cash_interest for e in ex], bool),
        borrow_spread=arr([e.borrow_spread_bps / 1e4 for e in ex]),
        budget_sizing=arr([h.sizing == "budget" for h in hedges], bool),
        hedge={
            **{name: arr([getattr(h, name) for h in hedges]) for name in HEDGE_FIELDS},
            "realised_ratio": arr([h.small_cap_ratio_mode == "realised" for h in hedges]),
        },
    )


@dataclass
class Execution:
    """What an engine returns. `value`, `cash`, `option_value` are (K, days); the rest only when
    recorded: `option_delta`, `held` (K, days, tickers) in USD, and per configuration the ETF fills
    and refusals (dicts shaped like trades.csv rows) and the option events. Counters per configuration:
    `etf_trades`, `rejected_orders`, `option_trades`, `premium_paid`, `interest_earned`, `interest_paid`,
    `negative_cash_days`, `lowest_cash`, and `near_boundary`: contract counts that came within 1e-9
    of a whole number, where compiled rounding may differ from CPython's (a sweep audits them)."""

    value: np.ndarray
    cash: np.ndarray
    option_value: np.ndarray
    option_delta: np.ndarray | None = None
    held: np.ndarray | None = None
    fills: list[list[dict]] | None = None
    option_events: list[list[OptionEvent]] | None = None
    counts: dict[str, np.ndarray] = field(default_factory=dict)


def _interest(tape: Tape, settings: Settings) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rule 6's growth factors for positive and for negative cash, (distinct settings, days) each,
    one row per distinct (cash_interest, borrow_spread), and each configuration's row."""
    pairs = list(zip(settings.cash_interest.tolist(), settings.borrow_spread.tolist()))
    rows = {pair: r for r, pair in enumerate(dict.fromkeys(pairs))}
    factors = [_factors(tape, bool(on), float(spread)) for on, spread in rows]
    lend, borrow = np.stack([f[0] for f in factors]), np.stack([f[1] for f in factors])
    return lend, borrow, np.array([rows[pair] for pair in pairs], dtype=np.int64)


_FACTORS: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}


def _factors(tape: Tape, on: bool, spread: float) -> tuple[np.ndarray, np.ndarray]:
    """`interest_factors` for the tape's days and cash rate, kept for the process: a sweep worker
    asks for the same few thousand factors for every configuration (a loop over days, ~10 ms)."""
    key = (tape.days.asi8.tobytes(), tape.cash_rate.tobytes(), on, spread)  # the bytes: no two tapes share a key
    if key not in _FACTORS:
        if len(_FACTORS) >= 16:
            _FACTORS.clear()
        _FACTORS[key] = interest_factors(tape.days, tape.cash_rate if on else np.zeros(len(tape.days)), spread)
    return _FACTORS[key]


def execute(
    tape: Tape, targets: np.ndarray, hedge_ratio: np.ndarray, settings: Settings, record: bool = False
) -> Execution:
    """Run K configurations over the tape, one by one through the compiled `execution.kernel`; each
    gets exactly what the backtrader engine gives it.

    `targets`: (K, days, tickers) weights decided at each day's close (ticker order = the tape's,
    IWM first); `hedge_ratio`: (K, days).
    """
    n, T = tape.close.shape
    K = settings.size
    lend, borrow, row = _interest(tape, settings)
    value, cash, book = np.empty((K, n)), np.empty((K, n)), np.empty((K, n))
    delta = np.zeros((K, n)) if record else None
    held = np.zeros((K, n, T)) if record else None
    fills = [[] for _ in range(K)] if record else None
    events = [[] for _ in range(K)] if record else None
    counts = {name: np.zeros(K) for name in kernel.COUNTS}
    fill_log = np.zeros((2 * n * T if record else 0, 6))
    event_log = np.zeros((4 * n if record else 0, 11))
    no_delta, no_held = np.zeros(0), np.zeros((0, T))
    dates = tape.days.date if record else None
    for k in range(K):
        c = np.zeros(len(kernel.COUNTS))
        nf, ne = kernel.kernel(
            tape.open,
            tape.close,
            tape.spot,
            tape.vix,
            tape.skew,
            tape.small_cap_vol_ratio,
            tape.rate,
            tape.div_yield,
            tape.unit,
            tape.ordinals,
            lend[row[k]],
            borrow[row[k]],
            tape.expiries,
            np.ascontiguousarray(targets[k]),
            np.ascontiguousarray(hedge_ratio[k]),
            kernel.pack(settings, k),
            value[k],
            cash[k],
            book[k],
            delta[k] if record else no_delta,
            held[k] if record else no_held,
            fill_log,
            event_log,
            c,
        )
        for name, x in zip(kernel.COUNTS, c):
            counts[name][k] = x
        if record:
            fills[k] = [
                _fill_row(dates[int(r[0])], tape.tickers[int(r[1])], r[2], r[3], r[4], bool(r[5]))
                for r in fill_log[:nf].tolist()
            ]
            events[k] = [_event(tape, r) for r in event_log[:ne].tolist()]
    return Execution(value, cash, book, delta, held, fills, events, counts)


def _fill_row(date, ticker: str, signed: float, price: float, commission: float, refused: bool) -> dict:
    """A trades.csv row as backtrader's recorder writes it: a refused order at its created price
    (that day's close), a fill at backtrader's executed price (an average over one fill)."""
    if refused:
        return dict(
            date=date,
            instrument=ticker,
            action="rejected",
            quantity=int(signed),
            price=price,
            value=0.0,
            commission=0.0,
        )
    recorded = (0.0 + signed * price) / signed
    return dict(
        date=date,
        instrument=ticker,
        action="buy" if signed > 0 else "sell",
        quantity=int(signed),
        price=recorded,
        value=signed * recorded,
        commission=commission,
    )


def _event(tape: Tape, row: list) -> OptionEvent:
    i, action, contracts, strike, expiry, vol, years, model, fill, commission, flow = row
    i = int(i)
    ex = ordinal_date(expiry)
    return OptionEvent(
        date=tape.days[i].date(),
        instrument=instrument_id(strike, ex),
        action=kernel.ACTIONS[int(action)],
        contracts=int(contracts),
        strike=strike,
        expiry=ex,
        spot=float(tape.spot[i]),
        vol=vol,
        rate=float(tape.rate[i]),
        div_yield=float(tape.div_yield[i]),
        years_to_expiry=years,
        model_price=model,
        fill_price=fill,
        commission=commission,
        cash=flow,
    )


def buy_and_hold_shares(cash: float, price: float, cash_buffer: float, slippage: float, commission: float) -> int:
    """Whole shares for all cash but the buffer at `price`, capped at what the cash pays for at the
    slipped fill plus commission (the broker's own check), so the benchmark's order is never refused."""
    shares = math.floor(cash * (1 - cash_buffer) / price)
    fill = price * (1 + slippage)
    shares = min(shares, math.floor(cash / (fill * (1 + commission))))
    while shares > 0 and (cash - shares * fill) - shares * commission * fill < 0.0:
        shares -= 1
    return max(shares, 0)


def buy_and_hold(tape: Tape, column: int, settings: Settings) -> np.ndarray:
    """Value (K, days) of buying one ticker at the second day's open and holding it: the backtrader
    engine's `BuyAndHold` in closed form (one order, then interest and the close)."""
    s = settings
    n, K = len(tape.days), s.size
    opn, cls = tape.open[1, column], tape.close[:, column]
    lend, borrow, row = _interest(tape, s)
    qty = np.array(
        [
            buy_and_hold_shares(float(s.initial_cash[k]) + 0.0, opn, s.cash_buffer[k], s.slippage[k], s.commission[k])
            for k in range(K)
        ],
        dtype=float,
    )
    price = opn * (1 + s.slippage)
    cost = np.stack([qty * price, qty * s.commission * price])  # the shares, then the commission
    value = np.empty((K, n))
    kernel.hold_value(s.initial_cash.astype(float), lend, borrow, row, cost, qty, price, cls, value)
    return value
