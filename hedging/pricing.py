"""Black-Scholes-Merton prices and greeks for the synthetic IWM puts, and their market inputs.

No option prices exist in the data, so the hedge is priced with a model: European
Black-Scholes-Merton with a continuous risk-free rate and a continuous dividend yield.
The functions are vectorised with numpy (arrays and scalars broadcast) because a
backtest prices thousands of contracts; `bsm_put_reference` wraps vollib's scalar
implementation so the tests can check the vectorised path against it.

Conventions: `years` is the time to expiry in years (calendar days / 365), `rate` and
`div_yield` are annual continuously compounded, `vol` is annual (0.20 = 20%).
Scalar inputs give a float, array inputs an ndarray. Invalid inputs raise
PricingInputError instead of returning NaN.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from fedcut.core.errors import PricingInputError

_INPUT_NAMES = ("spot", "strike", "years", "rate", "div_yield", "vol")


def _where(bad: np.ndarray) -> str:
    """' at index i' for the first True element of an array, '' for a scalar."""
    if bad.ndim == 0:
        return ""
    first = np.argwhere(bad)[0]
    return f" at index {int(first[0]) if bad.ndim == 1 else tuple(int(i) for i in first)}"


def validate_inputs(spot, strike, years, rate, div_yield, vol) -> tuple[np.ndarray, ...]:
    """Check pricing inputs and return them as broadcast float arrays.

    Raises PricingInputError naming the first offending input (and its first bad index
    for arrays): any NaN or infinity, a non-positive spot, strike or vol, or negative
    years (an expired contract). Rates and dividend yields may be negative.
    """
    values = dict(zip(_INPUT_NAMES, (spot, strike, years, rate, div_yield, vol)))
    arrays = {}
    for name, value in values.items():
        try:
            arrays[name] = np.asarray(value, dtype=float)
        except (TypeError, ValueError):
            raise PricingInputError(f"pricing input {name} must be numeric, got {value!r}") from None
    for name, a in arrays.items():
        bad = ~np.isfinite(a)
        if bad.any():
            raise PricingInputError(f"pricing input {name} is NaN or infinite{_where(bad)}")
    for name in ("spot", "strike", "vol"):
        bad = arrays[name] <= 0
        if bad.any():
            raise PricingInputError(
                f"pricing input {name} must be positive, got {arrays[name][bad].flat[0]!r}{_where(bad)}")
    bad = arrays["years"] < 0
    if bad.any():
        raise PricingInputError(
            f"pricing input years must not be negative (expired contract), "
            f"got {arrays['years'][bad].flat[0]!r}{_where(bad)}")
    try:
        return tuple(np.broadcast_arrays(*arrays.values()))
    except ValueError:
        shapes = ", ".join(f"{n}{a.shape}" for n, a in arrays.items())
        raise PricingInputError(f"pricing inputs do not broadcast: {shapes}") from None


# Cephes' ndtr (Moshier, Cephes Math Library 2.9, as in SciPy): erf by a rational function of
# x^2 for |x| < 1, erfc by rational functions of x on [1, 8) and [8, inf). Written with numpy
# element-wise operations only, so a scalar and an array give the same bits (the two execution
# engines price the same puts one by one and in blocks) and no SciPy import is needed.
_ERF_T = (9.60497373987051638749E0, 9.00260197203842689217E1, 2.23200534594684319226E3,
          7.00332514112805075473E3, 5.55923013010394962768E4)
_ERF_U = (3.35617141647503099647E1, 5.21357949780152679795E2, 4.59432382970980127987E3,
          2.26290000613890934246E4, 4.92673942608635921086E4)
_ERFC_P = (2.46196981473530512524E-10, 5.64189564831068821977E-1, 7.46321056442269912687E0,
           4.86371970985681366614E1, 1.96520832956077098242E2, 5.26445194995477358631E2,
           9.34528527171957607540E2, 1.02755188689515710272E3, 5.57535335369399327526E2)
_ERFC_Q = (1.32281951154744992508E1, 8.67072140885989742329E1, 3.54937778887819891062E2,
           9.75708501743205489753E2, 1.82390916687909736289E3, 2.24633760818710981792E3,
           1.65666309194161350182E3, 5.57535340817727675546E2)
_ERFC_R = (5.64189583547755073984E-1, 1.27536670759978104416E0, 5.01905042251180477414E0,
           6.16021097993053585195E0, 7.40974269950448939160E0, 2.97886665372100240670E0)
_ERFC_S = (2.26052863220117276590E0, 9.39603524938001434673E0, 1.20489539808096656605E1,
           1.70814450747565897222E1, 9.60896809063285878198E0, 3.36907645100081516050E0)
_SQRT1_2 = 7.07106781186547524401E-1


def _polevl(x, coef):
    out = coef[0] * np.ones_like(x)
    for c in coef[1:]:
        out = out * x + c
    return out


def _p1evl(x, coef):
    out = x + coef[0]
    for c in coef[1:]:
        out = out * x + c
    return out


# Cephes' exp and log (Moshier, Cephes Math Library 2.8), in the same element-wise operations as
# `strategies.kernel._exp` and `_log`. numpy's own exp and log are vector code that on CPUs with
# AVX-512 rounds about one value in twenty differently in the last bit from the C library the
# compiled kernel calls; with these, every engine prices every put to the same bits on every
# CPU. Both are within 2 ulp of the correctly rounded value (tests/test_pricing.py).
_EXP_P = (1.26177193074810590878E-4, 3.02994407707441961300E-2, 9.99999999999999999910E-1)
_EXP_Q = (3.00198505138664455042E-6, 2.52448340349684104192E-3, 2.27265548208155028766E-1,
          2.00000000000000000009E0)
_LOG2E = 1.4426950408889634073599
_LN2_C1, _LN2_C2 = 6.93145751953125E-1, 1.42860682030941723212E-6  # C1 + C2 = ln 2, C1 exact in few bits
_LOG_P = (1.01875663804580931796E-4, 4.97494994976747001425E-1, 4.70579119878881725854E0,
          1.44989225341610930846E1, 1.79368678507819816313E1, 7.70838733755885391666E0)
_LOG_Q = (1.12873587189167450590E1, 4.52279145837532221105E1, 8.29875266912776603211E1,
          7.11544750618563894466E1, 2.31251620126765340583E1)
_LOG_R = (-7.89580278884799154124E-1, 1.63866645699558079767E1, -6.41409952958715622951E1)
_LOG_S = (-3.56722798256324312549E1, 3.12093766372244180303E2, -7.69691943550460008604E2)
_LN2_HI, _LN2_LO = 0.693359375, 2.121944400546905827679E-4  # ln 2 = HI - LO
_SQRTH = 0.70710678118654752440


def exp(x):
    """e**x for a float array (Cephes: x = n ln 2 + r, a rational function of r, times 2**n)."""
    x = np.asarray(x, dtype=float)
    n = np.floor(_LOG2E * x + 0.5)
    r = x - n * _LN2_C1
    r = r - n * _LN2_C2
    rr = r * r
    p = r * _polevl(rr, _EXP_P)
    r = p / (_polevl(rr, _EXP_Q) - p)
    r = 1.0 + 2.0 * r
    with np.errstate(under="ignore", over="ignore"):
        return np.ldexp(r, n.astype(np.int64))


def log(x):
    """Natural logarithm of a positive float array (Cephes: mantissa and exponent apart)."""
    m, e = np.frexp(np.asarray(x, dtype=float))
    e = e.astype(float)
    small = m < _SQRTH
    e = np.where(small, e - 1.0, e)
    # |e| > 2: log((1 + u) / (1 - u)) with u = (m - 1) / (m + 1), m taken in [sqrt(1/2), sqrt(2))
    z = np.where(small, m - 0.5, (m - 0.5) - 0.5)
    y = np.where(small, 0.5 * z + 0.5, 0.5 * m + 0.5)
    u = z / y
    uu = u * u
    far = u * (uu * _polevl(uu, _LOG_R) / _p1evl(uu, _LOG_S))
    far = far - e * _LN2_LO
    far = far + u
    far = far + e * _LN2_HI
    # |e| <= 2: log(1 + w) with w = m - 1 (or 2m - 1)
    w = np.where(small, np.ldexp(m, 1) - 1.0, m - 1.0)
    ww = w * w
    near = w * (ww * _polevl(w, _LOG_P) / _p1evl(w, _LOG_Q))
    near = near - e * _LN2_LO
    near = near - np.ldexp(ww, -1)
    near = w + near
    near = near + e * _LN2_HI
    return np.where(np.abs(np.where(small, e + 1.0, e)) > 2, far, near)


def ndtr(a):
    """Standard normal CDF of a float array (Cephes' algorithm; relative error about 1e-15)."""
    a = np.asarray(a, dtype=float)
    x = a * _SQRT1_2
    z = np.abs(x)
    zz = x * x
    erf_small = x * _polevl(zz, _ERF_T) / _p1evl(zz, _ERF_U)  # erf(x) for |x| < 1
    with np.errstate(under="ignore"):
        e = exp(-z * z)
    erfc_mid = e * _polevl(z, _ERFC_P) / _p1evl(z, _ERFC_Q)  # erfc(z) for 1 <= z < 8
    erfc_far = e * _polevl(z, _ERFC_R) / _p1evl(z, _ERFC_S)  # erfc(z) for z >= 8
    erf_z = z * _polevl(zz, _ERF_T) / _p1evl(zz, _ERF_U)
    erfc_z = np.where(z < 1.0, 1.0 - erf_z, np.where(z < 8.0, erfc_mid, erfc_far))
    tail = 0.5 * erfc_z
    return np.where(z < _SQRT1_2, 0.5 + 0.5 * erf_small, np.where(x > 0, 1.0 - tail, tail))


def _out(a: np.ndarray):
    """A float for 0-d results, the array otherwise."""
    return float(a) if a.ndim == 0 else a


def _d1_d2(s, k, t, r, q, v):
    """BSM d1 and d2 where t > 0; zero placeholders where t == 0 (callers mask them)."""
    live = t > 0
    sd = v * np.sqrt(np.where(live, t, 1.0))
    d1 = np.where(live, (log(s / k) + (r - q + 0.5 * v * v) * t) / sd, 0.0)
    return d1, d1 - sd, live


def bsm_put(spot, strike, years, rate, div_yield, vol):
    """European put value under BSM; at years == 0 the intrinsic value max(K - S, 0)."""
    s, k, t, r, q, v = validate_inputs(spot, strike, years, rate, div_yield, vol)
    d1, d2, live = _d1_d2(s, k, t, r, q, v)
    model = k * exp(-r * t) * ndtr(-d2) - s * exp(-q * t) * ndtr(-d1)
    return _out(np.where(live, model, np.maximum(k - s, 0.0)))


def bsm_call(spot, strike, years, rate, div_yield, vol):
    """European call value under BSM; at years == 0 the intrinsic value max(S - K, 0)."""
    s, k, t, r, q, v = validate_inputs(spot, strike, years, rate, div_yield, vol)
    d1, d2, live = _d1_d2(s, k, t, r, q, v)
    model = s * exp(-q * t) * ndtr(d1) - k * exp(-r * t) * ndtr(d2)
    return _out(np.where(live, model, np.maximum(s - k, 0.0)))


def put_delta(spot, strike, years, rate, div_yield, vol):
    """dPut/dSpot, between -1 and 0; at expiry -1 in the money and 0 otherwise (0 at S == K)."""
    s, k, t, r, q, v = validate_inputs(spot, strike, years, rate, div_yield, vol)
    d1, _, live = _d1_d2(s, k, t, r, q, v)
    return _out(np.where(live, -exp(-q * t) * ndtr(-d1), -(s < k).astype(float)))


def put_vega(spot, strike, years, rate, div_yield, vol):
    """dPut/dVol per 1.00 of annual vol (divide by 100 for one vol point); 0 at expiry."""
    s, k, t, r, q, v = validate_inputs(spot, strike, years, rate, div_yield, vol)
    d1, _, live = _d1_d2(s, k, t, r, q, v)
    density = exp(-0.5 * d1 * d1) / np.sqrt(2.0 * np.pi)
    return _out(np.where(live, s * exp(-q * t) * density * np.sqrt(t), 0.0))


def bsm_put_reference(spot, strike, years, rate, div_yield, vol) -> float:
    """Scalar put value from vollib (reference for the vectorised `bsm_put`)."""
    from vollib.black_scholes_merton import black_scholes_merton  # a test reference only (dev extra)

    s, k, t, r, q, v = (float(x) for x in validate_inputs(spot, strike, years, rate, div_yield, vol))
    return float(black_scholes_merton("p", s, k, t, r, v, q))


def tbill_discount_to_continuous(discount_pct, days: int = 91):
    """Continuous annual rate from a T-bill bank-discount yield in percent (FRED DTB3).

    The discount yield d quotes price = 1 - d/100 * days/360; the continuous rate is
    r = -ln(price) / (days/365). A Series keeps its index; missing observations (NaN)
    stay missing so the caller decides how to fill them before pricing.
    """
    d = np.asarray(discount_pct, dtype=float)
    price = 1.0 - d / 100.0 * days / 360.0
    bad = np.isfinite(price) & (price <= 0)
    if bad.any():
        raise PricingInputError(
            f"T-bill discount yield {d[bad].flat[0]}% over {days} days gives a non-positive price{_where(bad)}")
    rate = -np.log(price) / (days / 365.0)
    if isinstance(discount_pct, pd.Series):
        return pd.Series(rate, index=discount_pct.index, name=discount_pct.name)
    return _out(rate)


def dividend_yield(total_return: pd.Series, price: pd.Series, window_days: int) -> pd.Series:
    """Trailing continuous annual dividend yield from total-return vs price series.

    At each date D the yield is ln[(TR_D / TR_s) / (P_D / P_s)] * 365 / (D - s).days,
    where s is the last date on or before D - window_days: the part of the total
    return not explained by the price move, annualised. Only data up to D is used.
    Dates without a full window of history are NaN (missing, not zero); negative
    estimates (data noise) are clipped to 0. Indexed like `price`.
    """
    both = pd.concat([total_return.rename("tr"), price.rename("px")], axis=1, join="inner").dropna()
    both = both.sort_index()
    dates = pd.DatetimeIndex(both.index)
    start = np.searchsorted(dates.values, (dates - pd.Timedelta(days=window_days)).values, side="right") - 1
    has_window = start >= 0
    s = np.where(has_window, start, 0)
    tr = both["tr"].to_numpy()
    px = both["px"].to_numpy()
    span = (dates.values - dates.values[s]) / np.timedelta64(1, "D")
    with np.errstate(divide="ignore", invalid="ignore"):
        q = np.log((tr / tr[s]) / (px / px[s])) * 365.0 / span
    q = np.where(has_window, np.maximum(q, 0.0), np.nan)
    return pd.Series(q, index=both.index, name="div_yield").reindex(price.index)
