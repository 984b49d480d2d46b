"""The execution rules of `execution.engine`, one configuration at a time in compiled scalar code.

The rules of `execution.engine`'s docstring, in backtrader's floating-point order, written as plain
loops over days that numba compiles (`fedcut.core.jit`): one configuration over 25 years takes well
under a millisecond. `execution.engine.execute` calls `kernel` through `pack` and turns its logs
into the shapes `execution.engine.Execution` uses. The hedge's rules for one day (`new_put`,
`quote`, `fill_price`, `contracts_needed`) are functions of their own, which `fedcut now` calls
too, so today's call strikes, prices and counts its puts as the backtest does.
"""

from __future__ import annotations

import math

import numpy as np

from fedcut.core.jit import jit
from fedcut.hedging.pricing import bsm_put_one, put_delta_one
from fedcut.hedging.surface import fill_one, iwm_vol_one, small_cap_ratio_one

# Parameter vector layout (one float per entry), see `pack`.
(
    P_CASH,
    P_COMM,
    P_SLIP,
    P_BAND,
    P_BUFFER,
    P_BUDGET,
    P_MONEYNESS,
    P_TENOR,
    P_ROLL,
    P_ANNUAL,
    P_RESIZE,
    P_ATM,
    P_SKEW,
    P_SKEW_TERM,
    P_RATIO,
    P_FLOOR,
    P_CAP,
    P_HS_DOLLARS,
    P_HS_BASE,
    P_HS_VIX,
    P_CPC,
    P_TICK,
    P_SIZE,
    P_VIX_FLOOR,
    P_VIX_CEILING,
    P_SKEW_INDEX,
    P_SKEW_CENTRE,
    P_RATIO_MODE,
    P_RATIO_MIN,
    P_RATIO_MAX,
) = range(30)
N_PARAMS = 30
# Option event actions (codes in the event log).
ACTIONS = ("buy", "sell", "roll_sell", "roll_buy", "expire")
A_BUY, A_SELL, A_ROLL_SELL, A_ROLL_BUY, A_EXPIRE = range(5)
# Counters.
COUNTS = (
    "etf_trades",
    "rejected_orders",
    "option_trades",
    "premium_paid",
    "interest_earned",
    "interest_paid",
    "negative_cash_days",
    "lowest_cash",
    "near_boundary",
)
C_ETF, C_REJ, C_OPT, C_PREMIUM, C_EARNED, C_PAID, C_NEG, C_LOW, C_NEAR = range(9)


@jit
def put_vol(vix, skew, scr, moneyness, days, p):
    """`hedging.surface.implied_vol` of a put with strike / spot `moneyness` and `days` to expiry;
    `scr`: the day's realised small-cap vol ratio (`hedging.book.MarketInputs.small_cap_vol_ratio`)."""
    ratio = small_cap_ratio_one(p[P_RATIO_MODE] > 0, p[P_RATIO], scr, p[P_RATIO_MIN], p[P_RATIO_MAX])
    return iwm_vol_one(
        vix,
        skew,
        moneyness,
        days,
        p[P_ATM],
        p[P_SKEW],
        p[P_SKEW_TERM],
        p[P_SKEW_INDEX],
        p[P_SKEW_CENTRE],
        ratio,
        p[P_FLOOR],
        p[P_CAP],
    )


@jit
def _floor_round9(x, counts):
    """max(0, floor(round(x, 9))): whole contracts, forgiving float noise below a whole number.
    A value within 1e-9 of a whole number is counted: compiled code does not promise CPython's
    decimal `round` there, so a sweep re-runs such a configuration in backtrader (its audit)."""
    c = math.floor(x)
    if c + 1.0 - x <= 1e-9:
        counts[C_NEAR] += 1.0
        c = math.floor(round(x, 9))
    return max(c, 0.0)


@jit
def _expiry(day, tenor, roll, expiries):
    """`hedging.book.expiry_for` for one day ordinal."""
    first = np.searchsorted(expiries, day + roll, side="right")
    want = day + tenor
    at = max(np.searchsorted(expiries, want, side="left"), first)
    after = expiries[min(at, len(expiries) - 1)]
    before = expiries[max(at - 1, 0)]
    if at - 1 >= first and want - before < after - want:
        return before
    return after


@jit
def buying_allowed(vix, floor, ceiling):
    """Rule 12: puts may be bought, resized or rolled when the deciding close's `vix` is at least `floor`
    and below `ceiling` (a bound of 0 is none)."""
    return vix >= floor and (ceiling <= 0 or vix < ceiling)


@jit
def new_put(p, day, spot, unit, expiries):
    """Rule 11: the strike and expiry (a day ordinal) of a put bought on `day` at `spot`; strikes
    lie `strike_tick` x `unit` apart (`hedging.book.MarketInputs.unit`)."""
    tick = p[P_TICK] * unit
    strike = round(p[P_MONEYNESS] * spot / tick) * tick
    return strike, _expiry(day, int(p[P_TENOR]), int(p[P_ROLL]), expiries)


@jit
def quote(p, day, strike, expiry, spot, vix, skew, scr, rate, divy):
    """(model mid price per share, vol, years to expiry) of a live put on `day`."""
    years = (expiry - day) / 365.0
    vol = put_vol(vix, skew, scr, strike / spot, float(expiry - day), p)
    return bsm_put_one(spot, strike, years, rate, divy, vol), vol, years


@jit
def fill_price(p, model, vix, unit, buying):
    """Rule 10's fill per share: the model price plus the half-spread for a buy, less it for a sale."""
    return fill_one(model, vix, unit, p[P_HS_DOLLARS], p[P_HS_BASE], p[P_HS_VIX], buying)


@jit
def contracts_needed(p, value, exposure, ratio, spot, unit, model, counts):
    """Rule 10's contracts: `ratio` of the IWM `exposure` held (USD), or with budget sizing what the
    budget on portfolio `value` buys at the new put's `model` price (read only then), a contract's
    commission scaled by `unit`."""
    if p[P_BUDGET] > 0:
        budget = p[P_ANNUAL] * value * p[P_TENOR] / 365.0
        return _floor_round9(budget / (model * p[P_SIZE] + p[P_CPC] * unit), counts)
    return _floor_round9(exposure * ratio / spot / p[P_SIZE], counts)


@jit
def _log_event(log, ne, i, action, contracts, strike, expiry, vol, years, model, fill, commission, cash, counts):
    counts[C_OPT] += 1.0
    if action != A_EXPIRE and cash < 0:
        counts[C_PREMIUM] -= cash
    if log.shape[0]:
        log[ne, 0], log[ne, 1], log[ne, 2], log[ne, 3], log[ne, 4] = i, action, contracts, strike, expiry
        log[ne, 5], log[ne, 6], log[ne, 7], log[ne, 8], log[ne, 9], log[ne, 10] = (
            vol,
            years,
            model,
            fill,
            commission,
            cash,
        )
    return ne + 1


@jit
def kernel(
    opn,
    cls,
    spot,
    vix,
    skew,
    scr,
    rate,
    divy,
    unit,
    ordinals,
    lend,
    borrow,
    expiries,
    targets,
    hedge_ratio,
    p,
    out_value,
    out_cash,
    out_book,
    out_delta,
    out_held,
    fill_log,
    event_log,
    counts,
):
    """One configuration through the tape; fills the outputs in place, returns (fills, events)."""
    n, T = cls.shape
    record = fill_log.shape[0] > 0
    cash = p[P_CASH]
    cached = 0.0
    book = 0.0
    delta = 0.0
    shares = np.zeros(T)
    basis = np.zeros(T)
    order = np.zeros(T)
    accepted = np.zeros(T, dtype=np.bool_)
    lot_n, lot_k, lot_e = 0.0, 0.0, 0
    nf, ne = 0, 0
    size = p[P_SIZE]
    counts[C_LOW] = cash
    for i in range(n):
        if i:
            # Rules 2-4: orders at the open for yesterday's targets.
            value = cached + book
            investable = value * (1.0 - p[P_BUFFER])
            any_order = False
            for j in range(T):
                order[j] = 0.0
                price = opn[i, j]
                target = targets[i - 1, j]
                if not price > 0 or target != target:
                    continue
                current = shares[j] * price / value
                if abs(current - target) <= p[P_BAND] and not (target == 0 and shares[j] != 0):
                    continue
                order[j] = math.floor(target * investable / price) - shares[j]
                if order[j] != 0:
                    any_order = True
            # Rule 6.
            if cash > 0:
                accrued = cash * lend[i]
                counts[C_EARNED] += accrued
                cash += accrued
            elif cash < 0:
                accrued = cash * borrow[i]
                counts[C_PAID] -= accrued
                cash += accrued
            if any_order:
                # Rule 7: the check at the unslipped open, sells then buys.
                running = cash
                for side in range(2):
                    for j in range(T):
                        q = order[j]
                        if (side == 0 and q >= 0) or (side == 1 and q <= 0):
                            continue
                        qty = abs(q)
                        if side == 0:
                            running = (running + qty * opn[i, j]) - qty * p[P_COMM] * opn[i, j]
                        else:
                            running = (running - qty * opn[i, j]) - qty * p[P_COMM] * opn[i, j]
                        accepted[j] = running >= 0.0
                        if not accepted[j]:
                            counts[C_REJ] += 1.0
                            if record:
                                fill_log[nf, 0], fill_log[nf, 1], fill_log[nf, 2] = i, j, q
                                fill_log[nf, 3], fill_log[nf, 4], fill_log[nf, 5] = cls[i, j], 0.0, 1.0
                            nf += 1
                # Rule 8: fills in the same order.
                for side in range(2):
                    for j in range(T):
                        q = order[j]
                        if (side == 0 and q >= 0) or (side == 1 and q <= 0) or not accepted[j]:
                            continue
                        qty = abs(q)
                        if side == 0:
                            price = opn[i, j] * (1 - p[P_SLIP])
                            pnl = qty * (price - basis[j]) * 1.0
                            commission = qty * p[P_COMM] * price
                            cash = ((cash + (qty * basis[j] + pnl)) - commission) + 0.0
                            shares[j] -= qty
                            if shares[j] == 0:
                                basis[j] = 0.0
                        else:
                            price = opn[i, j] * (1 + p[P_SLIP])
                            commission = qty * p[P_COMM] * price
                            after = (cash - qty * price) - commission
                            if not after >= 0.0:
                                counts[C_REJ] += 1.0
                                if record:
                                    fill_log[nf, 0], fill_log[nf, 1], fill_log[nf, 2] = i, j, q
                                    fill_log[nf, 3], fill_log[nf, 4], fill_log[nf, 5] = cls[i, j], 0.0, 1.0
                                nf += 1
                                continue
                            old = shares[j]
                            cash = after + 0.0 if old != 0 else after
                            new = old + qty
                            basis[j] = price if old == 0 else (basis[j] * old + qty * price) / new
                            shares[j] = new
                        counts[C_ETF] += 1.0
                        if record:
                            fill_log[nf, 0], fill_log[nf, 1], fill_log[nf, 2] = i, j, q
                            fill_log[nf, 3], fill_log[nf, 4], fill_log[nf, 5] = price, 0.0 + commission, 0.0
                        nf += 1
        # Rule 9: backtrader's value, position by position.
        total = 0.0
        for j in range(T):
            if shares[j] == 0:
                continue
            held = shares[j] * cls[i, j]
            unrealised = shares[j] * (cls[i, j] - basis[j]) * 1.0
            if held > 0:
                total = (total + (held - unrealised) / 1.0) + unrealised
            else:
                total = total + held
        cached = cash + total
        # Rule 10: settle expired puts, then mark.
        if lot_n > 0 and lot_e <= ordinals[i]:
            intrinsic = max(lot_k - spot[i], 0.0)
            flow = intrinsic * lot_n * size
            cash += flow
            cached += flow
            ne = _log_event(
                event_log,
                ne,
                i,
                A_EXPIRE,
                lot_n,
                lot_k,
                lot_e,
                put_vol(vix[i], skew[i], scr[i], lot_k / spot[i], float(lot_e - ordinals[i]), p),
                0.0,
                intrinsic,
                intrinsic,
                0.0,
                flow,
                counts,
            )
            lot_n = 0.0
        book, delta = _mark(lot_n, lot_k, lot_e, i, spot, vix, skew, scr, rate, divy, ordinals, p, record)
        if i:
            ratio = hedge_ratio[i - 1]
            if ratio <= 0:
                if lot_n > 0:
                    flow, ne = _sell_puts(
                        lot_n,
                        lot_k,
                        lot_e,
                        i,
                        A_SELL,
                        spot,
                        vix,
                        skew,
                        scr,
                        rate,
                        divy,
                        unit,
                        ordinals,
                        p,
                        event_log,
                        ne,
                        counts,
                    )
                    cash += flow
                    cached += flow
                    lot_n = 0.0
                    book, delta = 0.0, 0.0
            elif buying_allowed(vix[i - 1], p[P_VIX_FLOOR], p[P_VIX_CEILING]):
                model = 0.0
                if p[P_BUDGET] > 0:
                    strike, expiry = new_put(p, ordinals[i], spot[i], unit[i], expiries)
                    model = quote(p, ordinals[i], strike, expiry, spot[i], vix[i], skew[i], scr[i], rate[i], divy[i])[0]
                needed = contracts_needed(
                    p, cached + book, shares[0] * cls[i, 0], ratio, spot[i], unit[i], model, counts
                )
                if lot_n > 0 and abs(lot_n - needed) <= p[P_RESIZE] * max(needed, 1.0):
                    if lot_e - ordinals[i] < p[P_ROLL]:
                        contracts = lot_n
                        flow, ne = _sell_puts(
                            lot_n,
                            lot_k,
                            lot_e,
                            i,
                            A_ROLL_SELL,
                            spot,
                            vix,
                            skew,
                            scr,
                            rate,
                            divy,
                            unit,
                            ordinals,
                            p,
                            event_log,
                            ne,
                            counts,
                        )
                        cash += flow
                        cached += flow
                        flow, lot_k, lot_e, ne = _buy_puts(
                            contracts,
                            i,
                            A_ROLL_BUY,
                            spot,
                            vix,
                            skew,
                            scr,
                            rate,
                            divy,
                            unit,
                            ordinals,
                            expiries,
                            p,
                            event_log,
                            ne,
                            counts,
                        )
                        cash += flow
                        cached += flow
                        book, delta = _mark(
                            lot_n, lot_k, lot_e, i, spot, vix, skew, scr, rate, divy, ordinals, p, record
                        )  # a lot kept as it was is already marked (rule 10)
                else:
                    if lot_n > 0:
                        flow, ne = _sell_puts(
                            lot_n,
                            lot_k,
                            lot_e,
                            i,
                            A_SELL,
                            spot,
                            vix,
                            skew,
                            scr,
                            rate,
                            divy,
                            unit,
                            ordinals,
                            p,
                            event_log,
                            ne,
                            counts,
                        )
                        cash += flow
                        cached += flow
                        lot_n = 0.0
                        book, delta = 0.0, 0.0
                    if needed > 0:
                        flow, lot_k, lot_e, ne = _buy_puts(
                            needed,
                            i,
                            A_BUY,
                            spot,
                            vix,
                            skew,
                            scr,
                            rate,
                            divy,
                            unit,
                            ordinals,
                            expiries,
                            p,
                            event_log,
                            ne,
                            counts,
                        )
                        cash += flow
                        cached += flow
                        lot_n = needed
                        book, delta = _mark(
                            lot_n, lot_k, lot_e, i, spot, vix, skew, scr, rate, divy, ordinals, p, record
                        )
        out_value[i] = cached + book
        out_cash[i] = cash
        out_book[i] = book
        if cash < 0:
            counts[C_NEG] += 1.0
        counts[C_LOW] = min(counts[C_LOW], cash)
        if record:
            out_delta[i] = delta
            for j in range(T):
                out_held[i, j] = shares[j] * cls[i, j] if shares[j] != 0 else 0.0
    return nf, ne


@jit
def _mark(lot_n, lot_k, lot_e, i, spot, vix, skew, scr, rate, divy, ordinals, p, record):
    if lot_n <= 0:
        return 0.0, 0.0
    model, vol, years = quote(p, ordinals[i], lot_k, lot_e, spot[i], vix[i], skew[i], scr[i], rate[i], divy[i])
    book = 0 + model * lot_n * p[P_SIZE]
    delta = 0.0
    if record:
        delta = 0.0 + put_delta_one(spot[i], lot_k, years, rate[i], divy[i], vol) * lot_n * p[P_SIZE]
    return book, delta


@jit
def _sell_puts(lot_n, lot_k, lot_e, i, action, spot, vix, skew, scr, rate, divy, unit, ordinals, p, log, ne, counts):
    model, vol, years = quote(p, ordinals[i], lot_k, lot_e, spot[i], vix[i], skew[i], scr[i], rate[i], divy[i])
    fill = fill_price(p, model, vix[i], unit[i], False)
    commission = p[P_CPC] * unit[i] * lot_n
    flow = fill * lot_n * p[P_SIZE] - commission
    ne = _log_event(log, ne, i, action, lot_n, lot_k, lot_e, vol, years, model, fill, commission, flow, counts)
    return flow, ne


@jit
def _buy_puts(contracts, i, action, spot, vix, skew, scr, rate, divy, unit, ordinals, expiries, p, log, ne, counts):
    strike, expiry = new_put(p, ordinals[i], spot[i], unit[i], expiries)
    model, vol, years = quote(p, ordinals[i], strike, expiry, spot[i], vix[i], skew[i], scr[i], rate[i], divy[i])
    fill = fill_price(p, model, vix[i], unit[i], True)
    commission = p[P_CPC] * unit[i] * contracts
    flow = -(fill * contracts * p[P_SIZE] + commission)
    ne = _log_event(log, ne, i, action, contracts, strike, expiry, vol, years, model, fill, commission, flow, counts)
    return flow, strike, expiry, ne


def pack(settings, k: int) -> np.ndarray:
    """Configuration k of `execution.engine.Settings` as the kernel's parameter vector."""
    h = settings.hedge
    p = np.empty(N_PARAMS)
    p[P_CASH], p[P_COMM], p[P_SLIP] = settings.initial_cash[k], settings.commission[k], settings.slippage[k]
    p[P_BAND], p[P_BUFFER], p[P_BUDGET] = settings.band[k], settings.cash_buffer[k], float(settings.budget_sizing[k])
    p[P_MONEYNESS], p[P_TENOR], p[P_ROLL] = h["moneyness"][k], h["tenor_days"][k], h["roll_days"][k]
    p[P_ANNUAL], p[P_RESIZE], p[P_ATM] = h["annual_budget"][k], h["resize_band"][k], h["atm_vix_ratio"][k]
    p[P_SKEW], p[P_SKEW_TERM], p[P_RATIO] = h["skew_slope"][k], h["skew_term_exponent"][k], h["small_cap_ratio"][k]
    p[P_FLOOR], p[P_CAP], p[P_HS_DOLLARS] = h["vol_floor"][k], h["vol_cap"][k], h["half_spread_dollars"][k]
    p[P_HS_BASE], p[P_HS_VIX], p[P_CPC] = (
        h["half_spread_base"][k],
        h["half_spread_per_vix"][k],
        h["commission_per_contract"][k],
    )
    p[P_TICK], p[P_SIZE] = h["strike_tick"][k], h["contract_size"][k]
    p[P_VIX_FLOOR], p[P_VIX_CEILING] = h["buy_vix_floor"][k], h["buy_vix_ceiling"][k]
    p[P_SKEW_INDEX], p[P_SKEW_CENTRE] = h["skew_index_slope"][k], h["skew_index_centre"][k]
    p[P_RATIO_MODE], p[P_RATIO_MIN] = h["realised_ratio"][k], h["small_cap_ratio_min"][k]
    p[P_RATIO_MAX] = h["small_cap_ratio_max"][k]
    return p


@jit
def hold_value(cash, lend, borrow, row, cost, qty, price, close, out):
    """`execution.engine.buy_and_hold`'s value: row k of `out` is configuration k's cash each day
    (interest on it at the growth factors of row `row[k]` of `lend` and `borrow`, for positive and
    negative cash; the purchase's `cost[:, k]` paid on the second day) plus its `qty[k]` shares
    bought at `price[k]` marked at `close`, as backtrader values a position (none on the first day)."""
    K, n = out.shape
    for k in range(K):
        c, q, p, r = cash[k], qty[k], price[k], row[k]
        out[k, 0] = c + 0.0
        for i in range(1, n):
            c = c + c * (lend[r, i] if c > 0 else borrow[r, i])
            if i == 1:
                c = (c - cost[0, k]) - cost[1, k]
            held = q * close[i]
            unrealised = q * (close[i] - p) * 1.0
            out[k, i] = c + ((0.0 + (held - unrealised) / 1.0) + unrealised if held > 0 else 0.0 + held)
