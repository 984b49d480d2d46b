"""The execution rules of `strategies.engine`, one configuration at a time in scalar code.

The same rules, in the same floating-point order, as the numpy block engine and backtrader, but
written as plain loops over days, so that numba can compile them (`pip install "fedcut[fast]"`):
then one configuration over 25 years takes well under a millisecond. Without numba the same
function runs as ordinary Python, which is still quicker than numpy for a single run (a numpy
operation on one number costs a microsecond). `strategies.engine.execute` calls
it through `pack` and turns its logs into the shapes `strategies.engine.Execution` uses, so
callers do not see which path ran. `FEDCUT_NUMBA=0` turns the compiler off.
"""
from __future__ import annotations

import math
import os

import numpy as np

try:  # an optional accelerator: the code below is valid Python either way
    if os.environ.get("FEDCUT_NUMBA", "1").strip() == "0":
        raise ImportError
    # Compiled code is cached where caches belong (the user's cache folder), never in site-packages.
    from platformdirs import user_cache_dir

    os.environ.setdefault("NUMBA_CACHE_DIR", os.path.join(user_cache_dir("fedcut", appauthor=False), "numba"))
    from numba import njit as _njit

    NUMBA = True
except ImportError:  # pragma: no cover - depends on the installation
    NUMBA = False


def _jit(fn):
    return _njit(cache=True, nogil=True)(fn) if NUMBA else fn


def _jit_ieee(fn):
    """`_jit` with IEEE division (x / 0 is inf or NaN, as in numpy) instead of Python's ZeroDivisionError."""
    return _njit(cache=True, nogil=True, error_model="numpy")(fn) if NUMBA else fn


def warm_up() -> None:
    """Load numba and the compiled code's cache now: about 0.4 s once per process, mostly the
    compiler's start, which a single run can spend while another process reads the data
    (`fedcut.run.backtest.run_ahead`). `scale_in` on a 1 x 1 block has the types a run calls it with, so
    nothing new is compiled. Without numba it does nothing."""
    if NUMBA:
        block = np.zeros((1, 1))
        scale_in(block, block, np.empty((1, 1)))


# Parameter vector layout (one float per entry), see `pack`.
P_CASH, P_COMM, P_SLIP, P_BAND, P_BUFFER, P_BUDGET, P_MONEYNESS, P_TENOR, P_ROLL, P_ANNUAL, P_RESIZE, \
    P_VIXMULT, P_SKEW, P_FLOOR, P_CAP, P_HS_BASE, P_HS_VIX, P_CPC, P_TICK, P_SIZE = range(20)
N_PARAMS = 20
# Option event actions (codes in the event log).
ACTIONS = ("buy", "sell", "roll_sell", "roll_buy", "expire")
A_BUY, A_SELL, A_ROLL_SELL, A_ROLL_BUY, A_EXPIRE = range(5)
# Counters.
COUNTS = ("etf_trades", "rejected_orders", "option_trades", "premium_paid", "interest_earned", "interest_paid",
          "negative_cash_days", "lowest_cash", "near_boundary")
C_ETF, C_REJ, C_OPT, C_PREMIUM, C_EARNED, C_PAID, C_NEG, C_LOW, C_NEAR = range(9)

_SQRT1_2 = 7.07106781186547524401E-1


@_jit
def _erf_ratio(zz):
    """P(zz)/Q(zz) of Cephes' erf for |x| < 1 (zz = x^2), Horner's rule written out."""
    num = (((9.60497373987051638749E0 * zz + 9.00260197203842689217E1) * zz + 2.23200534594684319226E3) * zz
           + 7.00332514112805075473E3) * zz + 5.55923013010394962768E4
    den = ((((zz + 3.35617141647503099647E1) * zz + 5.21357949780152679795E2) * zz + 4.59432382970980127987E3) * zz
           + 2.26290000613890934246E4) * zz + 4.92673942608635921086E4
    return num, den


@_jit
def _erfc_mid(z):
    num = (((((((2.46196981473530512524E-10 * z + 5.64189564831068821977E-1) * z + 7.46321056442269912687E0) * z
               + 4.86371970985681366614E1) * z + 1.96520832956077098242E2) * z + 5.26445194995477358631E2) * z
            + 9.34528527171957607540E2) * z + 1.02755188689515710272E3) * z + 5.57535335369399327526E2
    den = (((((((z + 1.32281951154744992508E1) * z + 8.67072140885989742329E1) * z + 3.54937778887819891062E2) * z
              + 9.75708501743205489753E2) * z + 1.82390916687909736289E3) * z + 2.24633760818710981792E3) * z
           + 1.65666309194161350182E3) * z + 5.57535340817727675546E2
    return num, den


@_jit
def _erfc_far(z):
    num = ((((5.64189583547755073984E-1 * z + 1.27536670759978104416E0) * z + 5.01905042251180477414E0) * z
            + 6.16021097993053585195E0) * z + 7.40974269950448939160E0) * z + 2.97886665372100240670E0
    den = (((((z + 2.26052863220117276590E0) * z + 9.39603524938001434673E0) * z + 1.20489539808096656605E1) * z
            + 1.70814450747565897222E1) * z + 9.60896809063285878198E0) * z + 3.36907645100081516050E0
    return num, den


@_jit
def _exp(x):
    """`hedging.pricing.exp` for one number (Cephes; the same operations, so the same bits)."""
    n = math.floor(1.4426950408889634073599 * x + 0.5)
    r = x - n * 6.93145751953125E-1
    r = r - n * 1.42860682030941723212E-6
    rr = r * r
    p = r * ((1.26177193074810590878E-4 * rr + 3.02994407707441961300E-2) * rr + 9.99999999999999999910E-1)
    q = ((3.00198505138664455042E-6 * rr + 2.52448340349684104192E-3) * rr + 2.27265548208155028766E-1) * rr \
        + 2.00000000000000000009E0
    r = p / (q - p)
    r = 1.0 + 2.0 * r
    return math.ldexp(r, n)


@_jit
def _log(x):
    """`hedging.pricing.log` for one positive number (Cephes; the same operations)."""
    m, exponent = math.frexp(x)
    e = float(exponent)
    small = m < 0.70710678118654752440
    if small:
        e = e - 1.0
    if abs(float(exponent)) > 2.0:
        z = m - 0.5 if small else (m - 0.5) - 0.5
        y = 0.5 * z + 0.5 if small else 0.5 * m + 0.5
        u = z / y
        uu = u * u
        num = ((-7.89580278884799154124E-1 * uu + 1.63866645699558079767E1) * uu - 6.41409952958715622951E1)
        den = ((uu - 3.56722798256324312549E1) * uu + 3.12093766372244180303E2) * uu - 7.69691943550460008604E2
        z = u * (uu * num / den)
        z = z - e * 2.121944400546905827679E-4
        z = z + u
        return z + e * 0.693359375
    w = math.ldexp(m, 1) - 1.0 if small else m - 1.0
    ww = w * w
    num = ((((1.01875663804580931796E-4 * w + 4.97494994976747001425E-1) * w + 4.70579119878881725854E0) * w
            + 1.44989225341610930846E1) * w + 1.79368678507819816313E1) * w + 7.70838733755885391666E0
    den = ((((w + 1.12873587189167450590E1) * w + 4.52279145837532221105E1) * w + 8.29875266912776603211E1) * w
           + 7.11544750618563894466E1) * w + 2.31251620126765340583E1
    y = w * (ww * num / den)
    y = y - e * 2.121944400546905827679E-4
    y = y - math.ldexp(ww, -1)
    z = w + y
    return z + e * 0.693359375


@_jit
def _ndtr(a):
    """`hedging.pricing.ndtr` for one number (the same operations)."""
    x = a * _SQRT1_2
    z = abs(x)
    zz = x * x
    if z < 1.0:
        num, den = _erf_ratio(zz)
        if z < _SQRT1_2:
            return 0.5 + 0.5 * (x * num / den)
        erfc = 1.0 - z * num / den
    else:
        num, den = _erfc_mid(z) if z < 8.0 else _erfc_far(z)
        erfc = _exp(-z * z) * num / den
    tail = 0.5 * erfc
    return 1.0 - tail if x > 0 else tail


@_jit
def _put(s, k, t, r, q, v, want_delta):
    """`hedging.pricing.bsm_put` (or `put_delta`) for one live contract, same operations."""
    sd = v * math.sqrt(t)
    d1 = (_log(s / k) + (r - q + 0.5 * v * v) * t) / sd
    if want_delta:
        return -_exp(-q * t) * _ndtr(-d1)
    d2 = d1 - sd
    return k * _exp(-r * t) * _ndtr(-d2) - s * _exp(-q * t) * _ndtr(-d1)


@_jit
def _vol(vix, moneyness, p):
    vol = vix / 100.0 * p[P_VIXMULT] + p[P_SKEW] * max(1.0 - moneyness, 0.0)
    return min(max(vol, p[P_FLOOR]), p[P_CAP])


@_jit
def _floor_round9(x, counts):
    """max(0, floor(round(x, 9))): whole contracts, forgiving float noise below a whole number.
    A value within 1e-9 of a whole number is counted: compiled code does not promise CPython's
    decimal `round` there, so the caller re-runs such a configuration in Python."""
    c = math.floor(x)
    if c + 1.0 - x <= 1e-9:
        counts[C_NEAR] += 1.0
        c = math.floor(round(x, 9))
    return max(c, 0.0)


@_jit
def _expiry(day, tenor, roll, expiries):
    """`hedging.book.expiry_ordinals` for one day."""
    first = np.searchsorted(expiries, day + roll, side="right")
    want = day + tenor
    at = max(np.searchsorted(expiries, want, side="left"), first)
    after = expiries[min(at, len(expiries) - 1)]
    before = expiries[max(at - 1, 0)]
    if at - 1 >= first and want - before < after - want:
        return before
    return after


@_jit
def _log_event(log, ne, i, action, contracts, strike, expiry, vol, years, model, fill, commission, cash, counts):
    counts[C_OPT] += 1.0
    if action != A_EXPIRE and cash < 0:
        counts[C_PREMIUM] -= cash
    if log.shape[0]:
        log[ne, 0], log[ne, 1], log[ne, 2], log[ne, 3], log[ne, 4] = i, action, contracts, strike, expiry
        log[ne, 5], log[ne, 6], log[ne, 7], log[ne, 8], log[ne, 9], log[ne, 10] = vol, years, model, fill, commission, cash
    return ne + 1


@_jit
def kernel(opn, cls, spot, vix, rate, divy, unit, ordinals, lend, borrow, expiries, targets, hedge_ratio, p,
           out_value, out_cash, out_book, out_delta, out_held, fill_log, event_log, counts):
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
            ne = _log_event(event_log, ne, i, A_EXPIRE, lot_n, lot_k, lot_e, _vol(vix[i], lot_k / spot[i], p), 0.0,
                            intrinsic, intrinsic, 0.0, flow, counts)
            lot_n = 0.0
        book, delta = _mark(lot_n, lot_k, lot_e, i, spot, vix, rate, divy, ordinals, p, record)
        if i:
            ratio = hedge_ratio[i - 1]
            if ratio <= 0:
                if lot_n > 0:
                    flow, ne = _sell_puts(lot_n, lot_k, lot_e, i, A_SELL, spot, vix, rate, divy, unit, ordinals, p,
                                          event_log, ne, counts)
                    cash += flow
                    cached += flow
                    lot_n = 0.0
                    book, delta = 0.0, 0.0
            else:
                value = cached + book
                if p[P_BUDGET] > 0:
                    tick = p[P_TICK] * unit[i]
                    strike = round(p[P_MONEYNESS] * spot[i] / tick) * tick
                    expiry = _expiry(ordinals[i], int(p[P_TENOR]), int(p[P_ROLL]), expiries)
                    years = (expiry - ordinals[i]) / 365.0
                    model = _put(spot[i], strike, years, rate[i], divy[i], _vol(vix[i], strike / spot[i], p), False)
                    budget = p[P_ANNUAL] * value * p[P_TENOR] / 365.0
                    needed = _floor_round9(budget / (model * size + p[P_CPC] * unit[i]), counts)
                else:
                    needed = _floor_round9(shares[0] * cls[i, 0] * ratio / spot[i] / size, counts)
                if lot_n > 0 and abs(lot_n - needed) <= p[P_RESIZE] * max(needed, 1.0):
                    if lot_e - ordinals[i] < p[P_ROLL]:
                        contracts = lot_n
                        flow, ne = _sell_puts(lot_n, lot_k, lot_e, i, A_ROLL_SELL, spot, vix, rate, divy, unit,
                                              ordinals, p, event_log, ne, counts)
                        cash += flow
                        cached += flow
                        flow, lot_k, lot_e, ne = _buy_puts(contracts, i, A_ROLL_BUY, spot, vix, rate, divy, unit,
                                                           ordinals, expiries, p, event_log, ne, counts)
                        cash += flow
                        cached += flow
                    book, delta = _mark(lot_n, lot_k, lot_e, i, spot, vix, rate, divy, ordinals, p, record)
                else:
                    if lot_n > 0:
                        flow, ne = _sell_puts(lot_n, lot_k, lot_e, i, A_SELL, spot, vix, rate, divy, unit, ordinals, p,
                                              event_log, ne, counts)
                        cash += flow
                        cached += flow
                        lot_n = 0.0
                        book, delta = 0.0, 0.0
                    if needed > 0:
                        flow, lot_k, lot_e, ne = _buy_puts(needed, i, A_BUY, spot, vix, rate, divy, unit, ordinals,
                                                           expiries, p, event_log, ne, counts)
                        cash += flow
                        cached += flow
                        lot_n = needed
                        book, delta = _mark(lot_n, lot_k, lot_e, i, spot, vix, rate, divy, ordinals, p, record)
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


@_jit
def _mark(lot_n, lot_k, lot_e, i, spot, vix, rate, divy, ordinals, p, record):
    if lot_n <= 0:
        return 0.0, 0.0
    years = (lot_e - ordinals[i]) / 365.0
    vol = _vol(vix[i], lot_k / spot[i], p)
    book = 0 + _put(spot[i], lot_k, years, rate[i], divy[i], vol, False) * lot_n * p[P_SIZE]
    delta = 0.0
    if record:
        delta = 0.0 + _put(spot[i], lot_k, years, rate[i], divy[i], vol, True) * lot_n * p[P_SIZE]
    return book, delta


@_jit
def _sell_puts(lot_n, lot_k, lot_e, i, action, spot, vix, rate, divy, unit, ordinals, p, log, ne, counts):
    years = (lot_e - ordinals[i]) / 365.0
    vol = _vol(vix[i], lot_k / spot[i], p)
    model = _put(spot[i], lot_k, years, rate[i], divy[i], vol, False)
    fill = model * (1.0 - (p[P_HS_BASE] + p[P_HS_VIX] * vix[i]))
    commission = p[P_CPC] * unit[i] * lot_n
    flow = fill * lot_n * p[P_SIZE] - commission
    ne = _log_event(log, ne, i, action, lot_n, lot_k, lot_e, vol, years, model, fill, commission, flow, counts)
    return flow, ne


@_jit
def _buy_puts(contracts, i, action, spot, vix, rate, divy, unit, ordinals, expiries, p, log, ne, counts):
    tick = p[P_TICK] * unit[i]
    strike = round(p[P_MONEYNESS] * spot[i] / tick) * tick
    expiry = _expiry(ordinals[i], int(p[P_TENOR]), int(p[P_ROLL]), expiries)
    years = (expiry - ordinals[i]) / 365.0
    vol = _vol(vix[i], strike / spot[i], p)
    model = _put(spot[i], strike, years, rate[i], divy[i], vol, False)
    fill = model * (1.0 + (p[P_HS_BASE] + p[P_HS_VIX] * vix[i]))
    commission = p[P_CPC] * unit[i] * contracts
    flow = -(fill * contracts * p[P_SIZE] + commission)
    ne = _log_event(log, ne, i, action, contracts, strike, expiry, vol, years, model, fill, commission, flow, counts)
    return flow, strike, expiry, ne


def pack(settings, k: int) -> np.ndarray:
    """Configuration k of `strategies.engine.Settings` as the kernel's parameter vector."""
    h = settings.hedge
    p = np.empty(N_PARAMS)
    p[P_CASH], p[P_COMM], p[P_SLIP] = settings.initial_cash[k], settings.commission[k], settings.slippage[k]
    p[P_BAND], p[P_BUFFER], p[P_BUDGET] = settings.band[k], settings.cash_buffer[k], float(settings.budget_sizing[k])
    p[P_MONEYNESS], p[P_TENOR], p[P_ROLL] = h["moneyness"][k], h["tenor_days"][k], h["roll_days"][k]
    p[P_ANNUAL], p[P_RESIZE], p[P_VIXMULT] = h["annual_budget"][k], h["resize_band"][k], h["vix_multiplier"][k]
    p[P_SKEW], p[P_FLOOR], p[P_CAP] = h["skew_slope"][k], h["vol_floor"][k], h["vol_cap"][k]
    p[P_HS_BASE], p[P_HS_VIX], p[P_CPC] = h["half_spread_base"][k], h["half_spread_per_vix"][k], h["commission_per_contract"][k]
    p[P_TICK], p[P_SIZE] = h["strike_tick"][k], h["contract_size"][k]
    return p


@_jit
def scale_in(want, steps, out):
    """`strategies.targets.target_block`'s IWM scaling, compiled: row k of `out` is row k of
    `want` (configurations x days) raised by at most `steps[k, i]` a day, cuts at once, NaN
    (keep what is held) passed through; the same comparisons as the numpy loop, so the same bits."""
    K, n = want.shape
    for k in range(K):
        prev = 0.0
        for i in range(n):
            target = want[k, i]
            if target != target:
                out[k, i] = np.nan
                continue
            step_up = prev + steps[k, i]
            if target <= prev or step_up >= target - 1e-9:
                prev = target
            else:
                prev = step_up
            out[k, i] = prev


@_jit
def hold_cash(cash, lend, borrow, cost, out):
    """`strategies.engine.buy_and_hold`'s cash, compiled: row k of `out` is configuration k's cash
    each day (interest on it, the purchase's `cost[k]` paid on the second day); `lend` and
    `borrow` are (days, K) growth factors. The same operations as the numpy loop, so the same bits."""
    K, n = out.shape
    for k in range(K):
        c = cash[k]
        out[k, 0] = c
        for i in range(1, n):
            c = c + c * (lend[i, k] if c > 0 else borrow[i, k])
            if i == 1:
                c = (c - cost[0, k]) - cost[1, k]
            out[k, i] = c


@_jit_ieee
def drawdowns(values, starts, ends, out):
    """`sweeps.evaluate.segment_block`'s maximum drawdowns, compiled: out[k, j] is the lowest
    value / running peak - 1 of row k of `values` from day starts[j] to ends[j] (inclusive), the
    peak restarting at each span's first day; a NaN carried as np.maximum.accumulate and np.min
    carry it, so the same bits as the numpy expression."""
    K = values.shape[0]
    for k in range(K):
        for j in range(len(starts)):
            peak = values[k, starts[j]]
            depth = peak / peak - 1.0
            for i in range(starts[j] + 1, ends[j] + 1):
                v = values[k, i]
                if v > peak or v != v:
                    peak = v
                r = v / peak - 1.0
                if r < depth or r != r:
                    depth = r
                if depth != depth:
                    break
            out[k, j] = depth
