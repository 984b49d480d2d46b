"""The array execution engine: backtrader's execution, for a block of configurations at once.

Both engines follow the same rules, stated here once; `tests/test_engine.py` runs them side by
side and requires identical equity, cash, option value, fills, refusals and option events.

1. Timing. The decision of day D's close (target weights, hedge ratio) trades on D+1: ETF orders
   at D+1's open, puts at D+1's close. Nothing trades on the first day.
2. Sizing. At D+1's open the portfolio value V is D's closing value, puts at their mark
   included, D+1's overnight interest not; investable = V x (1 - cash_buffer).
3. Band. A holding is traded only when |shares x open / V - target| > rebalance_band, or when its
   target is 0 while it is held (the forced sale to zero). A ticker without a price, or with a
   NaN target (no decision that day: a monthly rebalance's other days), is left as it is.
4. Whole shares. The order is floor(target x investable / open) - shares held.
5. Order of orders. Sells first, then buys, each group in ticker order.
6. Interest (`hedging.cash`). Before the orders are checked, cash earns the previous bar's T-bill
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
    commission per contract, sells get model x (1 - half-spread) less it; half-spread =
    half_spread_base + half_spread_per_vix x VIX. Option cash is never checked: it can take cash
    below zero, which rule 6 charges for and rule 7 then refuses buys against.
11. Contracts. New puts strike at the nearest `strike_tick` x unit (`hedging.book.MarketInputs`, it
    scales commissions too) to moneyness x spot and expire on the listed monthly expiry (third
    Friday, or the trading day before) nearest the tenor among those more than `roll_days` away.

Floating-point operations are written in backtrader's order (e.g. a sale credits cost basis plus
realised P&L, not shares x price), so the two engines agree to the last bit.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from fedcut.hedging.book import OptionEvent, expiry_ordinals, instrument_id, listed_expiries
from fedcut.execution.cash import interest_factors
from fedcut.hedging.pricing import bsm_put, put_delta

_EPOCH = pd.Timestamp("1970-01-01")
HEDGE_FIELDS = ("moneyness", "tenor_days", "roll_days", "annual_budget", "resize_band", "vix_multiplier",
                "skew_slope", "vol_floor", "vol_cap", "half_spread_base", "half_spread_per_vix",
                "commission_per_contract", "strike_tick", "contract_size")
DAILY = ("spot", "vix", "rate", "div_yield", "cash_rate", "option_unit")  # the tape's daily inputs, in order


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
    ordinals: np.ndarray = field(init=False)
    expiries: np.ndarray = field(init=False)

    def __post_init__(self):
        object.__setattr__(self, "ordinals", ((self.days - _EPOCH) // pd.Timedelta(days=1)).to_numpy().astype(np.int64))
        object.__setattr__(self, "expiries", listed_expiries(self.days))


def tape_for(market, broker_inputs: pd.DataFrame, tickers: tuple[str, ...]) -> Tape:
    """The tape of `tickers` from an aligned market, as `fedcut.run.backtest` feeds backtrader."""
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
        hedge={name: arr([getattr(h, name) for h in hedges]) for name in HEDGE_FIELDS},
    )


@dataclass
class Execution:
    """What the engine returns. `value`, `cash`, `option_value` are (K, days); the rest only when
    recorded: `option_delta`, `held` (K, days, tickers) in USD, and per configuration the ETF fills
    and refusals (dicts shaped like trades.csv rows) and the option events. Counters per configuration:
    `etf_trades`, `rejected_orders`, `option_trades`, `premium_paid`, `interest_earned`, `interest_paid`,
    `negative_cash_days`, `lowest_cash`."""

    value: np.ndarray
    cash: np.ndarray
    option_value: np.ndarray
    option_delta: np.ndarray | None = None
    held: np.ndarray | None = None
    fills: list[list[dict]] | None = None
    option_events: list[list[OptionEvent]] | None = None
    counts: dict[str, np.ndarray] = field(default_factory=dict)


def _interest(tape: Tape, settings: Settings) -> tuple[np.ndarray, np.ndarray]:
    """Rule 6's growth factors (days, K) for positive and negative cash, computed once per distinct
    (cash_interest, borrow_spread)."""
    n, K = len(tape.days), settings.size
    lend, borrow = np.empty((n, K)), np.empty((n, K))
    for on, spread in set(zip(settings.cash_interest.tolist(), settings.borrow_spread.tolist())):
        rows = np.flatnonzero((settings.cash_interest == on) & (settings.borrow_spread == spread))
        g, b = _factors(tape, bool(on), float(spread))
        lend[:, rows], borrow[:, rows] = g[:, None], b[:, None]
    return lend, borrow


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


class _Hedge:
    """The hedge parameters of some configurations, as attributes (arrays), like a config section."""

    def __init__(self, hedge: dict[str, np.ndarray], rows: np.ndarray):
        for name, values in hedge.items():
            setattr(self, name, values[rows])


def _implied_vol(vix: float, moneyness: np.ndarray, h: _Hedge) -> np.ndarray:
    """`hedging.surface.implied_vol`, element-wise over configurations."""
    vol = np.asarray(vix, dtype=float) / 100.0 * h.vix_multiplier + h.skew_slope * np.maximum(1.0 - moneyness, 0.0)
    return np.clip(vol, h.vol_floor, h.vol_cap)


def _floor_round9(x: np.ndarray) -> np.ndarray:
    """max(0, floor(round(x, 9))) with Python's decimal-exact `round`, element-wise: only values
    within 1e-9 below a whole number can differ from floor(x), and those take Python's path."""
    out = np.floor(x)
    for k in np.flatnonzero((out + 1.0 - x) <= 1e-9):
        out[k] = math.floor(round(float(x[k]), 9))
    return np.maximum(out, 0.0)


class _Block:
    """The state of K portfolios stepped together through the tape (one instance per `execute`)."""

    def __init__(self, tape: Tape, settings: Settings, record: bool):
        K, T = settings.size, len(tape.tickers)
        self.tape, self.s, self.h, self.record = tape, settings, settings.hedge, record
        self.lend, self.borrow = _interest(tape, settings)
        self.cash = settings.initial_cash.astype(float).copy()
        self.cached = np.zeros(K)  # backtrader's cached broker value: cash + positions, moved by option cash
        self.book = np.zeros(K)  # the puts at model mid
        self.delta = np.zeros(K)
        self.shares = np.zeros((K, T))
        self.basis = np.zeros((K, T))  # backtrader's position price (average cost)
        self.lot_n = np.zeros(K)  # contracts held: one lot at most, since the strategy sells before it buys
        self.lot_k = np.zeros(K)
        self.lot_e = np.zeros(K, dtype=np.int64)
        self.counts = {name: np.zeros(K) for name in ("etf_trades", "rejected_orders", "option_trades",
                                                       "premium_paid", "interest_earned", "interest_paid",
                                                       "negative_cash_days")}
        self.counts["lowest_cash"] = self.cash.copy()
        self.fills = [[] for _ in range(K)] if record else None
        self.events = [[] for _ in range(K)] if record else None
        self.dates = tape.days.date

    # --- ETFs: rules 2-8 -------------------------------------------------------------------------
    def orders(self, i: int, target: np.ndarray) -> np.ndarray:
        """Signed share orders at day i's open for the targets decided at day i-1 (rules 2-4)."""
        s, opn = self.s, self.tape.open[i]
        value = self.cached + self.book
        investable = value * (1.0 - s.cash_buffer)
        with np.errstate(divide="ignore", invalid="ignore"):
            current = self.shares * opn / value[:, None]
            wanted = np.floor(target * investable[:, None] / opn)
        keep = (np.abs(current - target) <= s.band[:, None]) & ~((target == 0) & (self.shares != 0))
        return np.where(keep | ~(opn > 0) | np.isnan(target), 0.0, wanted - self.shares)

    def interest(self, i: int) -> None:
        """Rule 6."""
        cash = self.cash
        lending = cash > 0
        accrued = cash * np.where(lending, self.lend[i], self.borrow[i])
        self.counts["interest_earned"] += np.where(lending, accrued, 0.0)
        self.counts["interest_paid"] -= np.where(lending, 0.0, accrued)
        self.cash = cash + accrued

    def trade(self, i: int, order: np.ndarray) -> None:
        """Rules 5, 7 and 8: check every order against the running cash, then fill the accepted ones."""
        s, opn, cls = self.s, self.tape.open[i], self.tape.close[i]
        T = order.shape[1]
        slots = [(j, True) for j in range(T)] + [(j, False) for j in range(T)]  # sells, then buys
        running = self.cash.copy()
        accepted = np.zeros(order.shape, dtype=bool)
        for j, sell in slots:
            rows = np.flatnonzero(order[:, j] < 0 if sell else order[:, j] > 0)
            if not len(rows):
                continue
            qty = np.abs(order[rows, j])
            if sell:
                running[rows] = (running[rows] + qty * opn[j]) - qty * s.commission[rows] * opn[j]
            else:
                running[rows] = (running[rows] - qty * opn[j]) - qty * s.commission[rows] * opn[j]
            ok = running[rows] >= 0.0
            accepted[rows[ok], j] = True
            self._refused(i, rows[~ok], j, -qty[~ok] if sell else qty[~ok], cls[j])
        for j, sell in slots:
            rows = np.flatnonzero(accepted[:, j] & (order[:, j] < 0 if sell else order[:, j] > 0))
            if len(rows):
                (self._sell if sell else self._buy)(i, rows, j, np.abs(order[rows, j]))

    def _sell(self, i, rows, j, qty):
        s = self.s
        price = self.tape.open[i, j] * (1 - s.slippage[rows])
        basis = self.basis[rows, j]
        pnl = qty * (price - basis) * 1.0
        commission = qty * s.commission[rows] * price
        self.cash[rows] = ((self.cash[rows] + (qty * basis + pnl)) - commission) + 0.0
        left = self.shares[rows, j] - qty
        self.shares[rows, j] = left
        self.basis[rows, j] = np.where(left == 0, 0.0, basis)
        self._filled(i, rows, j, -qty, price, commission)

    def _buy(self, i, rows, j, qty):
        s = self.s
        price = self.tape.open[i, j] * (1 + s.slippage[rows])
        commission = qty * s.commission[rows] * price
        after = (self.cash[rows] - qty * price) - commission
        paid = after >= 0.0
        self._refused(i, rows[~paid], j, qty[~paid], self.tape.close[i, j])
        rows, qty, price, commission, after = rows[paid], qty[paid], price[paid], commission[paid], after[paid]
        old = self.shares[rows, j]
        self.cash[rows] = np.where(old != 0, after + 0.0, after)
        new = old + qty
        self.basis[rows, j] = np.where(old == 0, price, (self.basis[rows, j] * old + qty * price) / new)
        self.shares[rows, j] = new
        self._filled(i, rows, j, qty, price, commission)

    def _filled(self, i, rows, j, signed, price, commission):
        self.counts["etf_trades"][rows] += 1
        if self.record:
            for k, q, p, c in zip(rows.tolist(), signed.tolist(), price.tolist(), (0.0 + commission).tolist()):
                self.fills[k].append(_fill_row(self.dates[i], self.tape.tickers[j], q, p, c, False))

    def _refused(self, i, rows, j, signed, created_price):
        if not len(rows):
            return
        self.counts["rejected_orders"][rows] += 1
        if self.record:
            for k, q in zip(rows.tolist(), signed.tolist()):
                self.fills[k].append(_fill_row(self.dates[i], self.tape.tickers[j], q, float(created_price), 0.0, True))

    def value(self, i: int) -> None:
        """Rule 9: backtrader's `_get_value`, position by position in ticker order."""
        cls = self.tape.close[i]
        total = np.zeros(len(self.cash))
        for j in range(len(cls)):
            held = self.shares[:, j] * cls[j]
            unrealised = self.shares[:, j] * (cls[j] - self.basis[:, j]) * 1.0
            total = np.where(held > 0, (total + (held - unrealised) / 1.0) + unrealised, total + held)
        self.cached = self.cash + total

    # --- puts: rules 10-11 -----------------------------------------------------------------------
    def _quote(self, rows, i, strike, expiry):
        tape = self.tape
        hh = _Hedge(self.h, rows)
        vol = _implied_vol(tape.vix[i], strike / tape.spot[i], hh)
        years = (expiry - tape.ordinals[i]) / 365.0
        model = np.atleast_1d(bsm_put(tape.spot[i], strike, years, tape.rate[i], tape.div_yield[i], vol))
        return model, vol, years, hh

    def _option_cash(self, rows, flows):
        self.cash[rows] += flows
        self.cached[rows] += flows

    def settle(self, i: int) -> None:
        """Expired puts pay their intrinsic value."""
        rows = np.flatnonzero((self.lot_n > 0) & (self.lot_e <= self.tape.ordinals[i]))
        if not len(rows):
            return
        hh = _Hedge(self.h, rows)
        intrinsic = np.maximum(self.lot_k[rows] - self.tape.spot[i], 0.0)
        flows = intrinsic * self.lot_n[rows] * hh.contract_size
        self._option_cash(rows, flows)
        vol = _implied_vol(self.tape.vix[i], self.lot_k[rows] / self.tape.spot[i], hh)
        zero = np.zeros(len(rows))
        self._log(rows, i, "expire", self.lot_n[rows], self.lot_k[rows], self.lot_e[rows], vol, zero, intrinsic,
                  intrinsic, zero, flows)
        self.lot_n[rows] = 0.0

    def mark(self, rows: np.ndarray, i: int) -> None:
        """The book of `rows` at model mid (0 without puts), and its delta when recording."""
        self.book[rows] = 0.0
        self.delta[rows] = 0.0
        held = rows[self.lot_n[rows] > 0]
        if not len(held):
            return
        model, vol, years, hh = self._quote(held, i, self.lot_k[held], self.lot_e[held])
        self.book[held] = 0 + model * self.lot_n[held] * hh.contract_size
        if self.record:
            tape = self.tape
            d = np.atleast_1d(put_delta(tape.spot[i], self.lot_k[held], years, tape.rate[i], tape.div_yield[i], vol))
            self.delta[held] = 0.0 + d * self.lot_n[held] * hh.contract_size

    def _sell_puts(self, rows, i, action):
        model, vol, years, hh = self._quote(rows, i, self.lot_k[rows], self.lot_e[rows])
        fill = model * (1.0 - (hh.half_spread_base + hh.half_spread_per_vix * self.tape.vix[i]))
        commission = hh.commission_per_contract * self.tape.unit[i] * self.lot_n[rows]
        flows = fill * self.lot_n[rows] * hh.contract_size - commission
        self._option_cash(rows, flows)
        self._log(rows, i, action, self.lot_n[rows], self.lot_k[rows], self.lot_e[rows], vol, years, model, fill,
                  commission, flows)
        self.lot_n[rows] = 0.0

    def _new_contract(self, rows, i):
        """Strike and expiry of a new put (rule 11)."""
        hh = _Hedge(self.h, rows)
        strike = np.rint(hh.moneyness * self.tape.spot[i] / (tick := hh.strike_tick * self.tape.unit[i])) * tick
        expiry = expiry_ordinals(np.full(len(rows), self.tape.ordinals[i]), hh.tenor_days.astype(np.int64),
                                 hh.roll_days.astype(np.int64), self.tape.expiries)
        return strike, expiry

    def _buy_puts(self, rows, i, contracts, action):
        strike, expiry = self._new_contract(rows, i)
        model, vol, years, hh = self._quote(rows, i, strike, expiry)
        fill = model * (1.0 + (hh.half_spread_base + hh.half_spread_per_vix * self.tape.vix[i]))
        commission = hh.commission_per_contract * self.tape.unit[i] * contracts
        flows = -(fill * contracts * hh.contract_size + commission)
        self._option_cash(rows, flows)
        self._log(rows, i, action, contracts, strike, expiry, vol, years, model, fill, commission, flows)
        self.lot_n[rows], self.lot_k[rows], self.lot_e[rows] = contracts, strike, expiry

    def hedge(self, i: int, ratio: np.ndarray) -> None:
        """Rule 10 for the decision of day i-1, at day i's close."""
        s, h, tape = self.s, self.h, self.tape
        off = np.flatnonzero((ratio <= 0) & (self.lot_n > 0))
        if len(off):
            self._sell_puts(off, i, "sell")
            self.mark(off, i)
        on = np.flatnonzero(ratio > 0)
        if not len(on):
            return
        value = self.cached[on] + self.book[on]
        size = h["contract_size"][on]
        exposure = self.shares[on, 0] * tape.close[i, 0]  # the IWM position actually held
        needed = _floor_round9(exposure * ratio[on] / tape.spot[i] / size)
        budget = np.flatnonzero(s.budget_sizing[on])
        if len(budget):
            rows = on[budget]
            strike, expiry = self._new_contract(rows, i)
            model, _, _, hh = self._quote(rows, i, strike, expiry)
            cash = h["annual_budget"][rows] * value[budget] * h["tenor_days"][rows] / 365.0
            per_contract = model * hh.contract_size + hh.commission_per_contract * tape.unit[i]
            needed[budget] = _floor_round9(cash / per_contract)
        held = self.lot_n[on]
        only_roll = (held > 0) & (np.abs(held - needed) <= h["resize_band"][on] * np.maximum(needed, 1))
        rolling = on[only_roll]
        due = rolling[(self.lot_e[rolling] - tape.ordinals[i]) < h["roll_days"][rolling]]
        if len(due):
            contracts = self.lot_n[due].copy()
            self._sell_puts(due, i, "roll_sell")
            self._buy_puts(due, i, contracts, "roll_buy")
        if len(rolling):
            self.mark(rolling, i)
        rest, need = on[~only_roll], needed[~only_roll]
        closing = rest[held[~only_roll] > 0]
        if len(closing):
            self._sell_puts(closing, i, "sell")
            self.mark(closing, i)
        buying = need > 0
        if buying.any():
            self._buy_puts(rest[buying], i, need[buying], "buy")
            self.mark(rest[buying], i)

    def _log(self, rows, i, action, contracts, strike, expiry, vol, years, model, fill, commission, flows):
        self.counts["option_trades"][rows] += 1
        if action != "expire":
            self.counts["premium_paid"][rows] += np.where(flows < 0, -flows, 0.0)
        if not self.record:
            return
        tape = self.tape
        for pos, k in enumerate(rows.tolist()):
            ex = (_EPOCH + pd.Timedelta(days=int(expiry[pos]))).date()
            self.events[k].append(OptionEvent(
                date=self.dates[i], instrument=instrument_id(float(strike[pos]), ex), action=action,
                contracts=int(contracts[pos]), strike=float(strike[pos]), expiry=ex, spot=float(tape.spot[i]),
                vol=float(vol[pos]), rate=float(tape.rate[i]), div_yield=float(tape.div_yield[i]),
                years_to_expiry=float(years[pos]), model_price=float(model[pos]), fill_price=float(fill[pos]),
                commission=float(commission[pos]), cash=float(flows[pos])))


METHODS = ("auto", "block", "kernel")


def execute(tape: Tape, targets: np.ndarray, hedge_ratio: np.ndarray, settings: Settings,
            record: bool = False, method: str = "auto") -> Execution:
    """Run K configurations over the tape; each gets exactly what the backtrader engine gives it.

    `targets`: (K, days, tickers) weights decided at each day's close (ticker order = the tape's,
    IWM first); `hedge_ratio`: (K, days). `method`: `block` steps all K together in numpy,
    `kernel` runs them one by one through `strategies.kernel` (compiled when numba is installed);
    `auto` takes the kernel when it is compiled or K is small, the block otherwise.
    """
    from fedcut.execution import kernel

    if method == "auto":
        method = "kernel" if kernel.NUMBA or settings.size <= 4 else "block"
    if method == "kernel":
        return _execute_kernel(tape, targets, hedge_ratio, settings, record)
    return _execute_block(tape, targets, hedge_ratio, settings, record)


def _execute_kernel(tape: Tape, targets, hedge_ratio, settings: Settings, record: bool) -> Execution:
    from fedcut.execution import kernel as kn

    n, T = tape.close.shape
    K = settings.size
    lend, borrow = (np.ascontiguousarray(x.T) for x in _interest(tape, settings))  # a row per configuration
    value, cash, book = np.empty((K, n)), np.empty((K, n)), np.empty((K, n))
    delta = np.zeros((K, n)) if record else None
    held = np.zeros((K, n, T)) if record else None
    fills = [[] for _ in range(K)] if record else None
    events = [[] for _ in range(K)] if record else None
    counts = {name: np.zeros(K) for name in kn.COUNTS}
    fill_log = np.zeros((2 * n * T if record else 0, 6))
    event_log = np.zeros((4 * n if record else 0, 11))
    no_delta, no_held = np.zeros(0), np.zeros((0, T))
    dates = tape.days.date
    for k in range(K):
        c = np.zeros(len(kn.COUNTS))
        nf, ne = kn.kernel(tape.open, tape.close, tape.spot, tape.vix, tape.rate, tape.div_yield, tape.unit,
                           tape.ordinals, lend[k], borrow[k], tape.expiries,
                           np.ascontiguousarray(targets[k]), np.ascontiguousarray(hedge_ratio[k]),
                           kn.pack(settings, k), value[k], cash[k], book[k],
                           delta[k] if record else no_delta, held[k] if record else no_held, fill_log, event_log, c)
        for name, x in zip(kn.COUNTS, c):
            counts[name][k] = x
        if record:
            fills[k] = [_fill_row(dates[int(r[0])], tape.tickers[int(r[1])], r[2], r[3], r[4], bool(r[5]))
                        for r in fill_log[:nf].tolist()]
            events[k] = [_event(tape, r) for r in event_log[:ne].tolist()]
    return Execution(value, cash, book, delta, held, fills, events, counts)


def _fill_row(date, ticker: str, signed: float, price: float, commission: float, refused: bool) -> dict:
    """A trades.csv row as backtrader's recorder writes it: a refused order at its created price
    (that day's close), a fill at backtrader's executed price (an average over one fill)."""
    if refused:
        return dict(date=date, instrument=ticker, action="rejected", quantity=int(signed), price=price,
                    value=0.0, commission=0.0)
    recorded = (0.0 + signed * price) / signed
    return dict(date=date, instrument=ticker, action="buy" if signed > 0 else "sell", quantity=int(signed),
                price=recorded, value=signed * recorded, commission=commission)


def _event(tape: Tape, row: list) -> OptionEvent:
    from fedcut.execution.kernel import ACTIONS

    i, action, contracts, strike, expiry, vol, years, model, fill, commission, flow = row
    i = int(i)
    ex = (_EPOCH + pd.Timedelta(days=int(expiry))).date()
    return OptionEvent(date=tape.days[i].date(), instrument=instrument_id(strike, ex), action=ACTIONS[int(action)],
                       contracts=int(contracts), strike=strike, expiry=ex, spot=float(tape.spot[i]),
                       vol=vol, rate=float(tape.rate[i]), div_yield=float(tape.div_yield[i]),
                       years_to_expiry=years, model_price=model, fill_price=fill, commission=commission, cash=flow)


def _execute_block(tape: Tape, targets: np.ndarray, hedge_ratio: np.ndarray, settings: Settings,
                   record: bool = False) -> Execution:
    n, T = tape.close.shape
    K = settings.size
    b = _Block(tape, settings, record)
    every = np.arange(K)
    value, cash, book = np.empty((K, n)), np.empty((K, n)), np.empty((K, n))
    delta = np.empty((K, n)) if record else None
    held = np.empty((K, n, T)) if record else None
    for i in range(n):
        if i:
            order = b.orders(i, targets[:, i - 1])
            b.interest(i)
            if order.any():
                b.trade(i, order)
        b.value(i)
        b.settle(i)
        b.mark(every, i)
        if i:
            b.hedge(i, hedge_ratio[:, i - 1])
        value[:, i] = b.cached + b.book
        cash[:, i] = b.cash
        book[:, i] = b.book
        b.counts["negative_cash_days"] += b.cash < 0
        b.counts["lowest_cash"] = np.minimum(b.counts["lowest_cash"], b.cash)
        if record:
            delta[:, i] = b.delta
            held[:, i, :] = np.where(b.shares != 0, b.shares * tape.close[i], 0.0)
    return Execution(value, cash, book, delta, held, b.fills, b.events, b.counts)


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
    engine's `BuyAndHold` in closed form (one order, then interest and the close), the K
    configurations stepped together (the same operations on each, so the same bits as one by one)."""
    s = settings
    n, K = len(tape.days), s.size
    opn, cls = tape.open[1, column], tape.close[:, column]
    lend, borrow = _interest(tape, s)
    qty = np.array([buy_and_hold_shares(float(s.initial_cash[k]) + 0.0, opn, s.cash_buffer[k], s.slippage[k],
                                        s.commission[k]) for k in range(K)], dtype=float)
    price = opn * (1 + s.slippage)
    flows = np.empty((K, n))
    cost = np.stack([qty * price, qty * s.commission * price])  # the shares, then the commission
    from fedcut.execution import kernel

    (kernel.hold_cash if kernel.NUMBA else _hold_cash)(s.initial_cash.astype(float), lend, borrow, cost, flows)
    held = qty[:, None] * cls[None, :]
    unrealised = qty[:, None] * (cls[None, :] - price[:, None]) * 1.0
    positions = np.where(held > 0, (0.0 + (held - unrealised) / 1.0) + unrealised, 0.0 + held)
    positions[:, 0] = 0.0
    return flows + positions


def _hold_cash(cash: np.ndarray, lend: np.ndarray, borrow: np.ndarray, cost: np.ndarray, out: np.ndarray) -> None:
    """`strategies.kernel.hold_cash` without numba: the days in turn, the configurations together."""
    cash = cash.copy()
    out[:, 0] = cash
    for i in range(1, out.shape[1]):
        cash = cash + cash * np.where(cash > 0, lend[i], borrow[i])
        if i == 1:
            cash = (cash - cost[0]) - cost[1]
        out[:, i] = cash
