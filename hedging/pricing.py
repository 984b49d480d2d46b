"""Black-Scholes-Merton prices and greeks for the synthetic IWM puts, and their market inputs.

No option prices exist in the data, so the hedge is priced with a model: European
Black-Scholes-Merton with a continuous risk-free rate and a continuous dividend yield.
The functions are vectorised with numpy (arrays and scalars broadcast) because a
backtest prices thousands of contracts; `bsm_put_reference` wraps vollib's scalar
implementation so the tests can check the vectorised path against it (vollib comes with the
`dev` extra: a run never needs it).

Conventions: `years` is the time to expiry in years (calendar days / 365), `rate` and
`div_yield` are annual continuously compounded, `vol` is annual (0.20 = 20%).
Scalar inputs give a float, array inputs an ndarray. Invalid inputs raise
PricingInputError instead of returning NaN.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import ndtr

from fedcut.errors import PricingInputError

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


def _out(a: np.ndarray):
    """A float for 0-d results, the array otherwise."""
    return float(a) if a.ndim == 0 else a


def _d1_d2(s, k, t, r, q, v):
    """BSM d1 and d2 where t > 0; zero placeholders where t == 0 (callers mask them)."""
    live = t > 0
    sd = v * np.sqrt(np.where(live, t, 1.0))
    d1 = np.where(live, (np.log(s / k) + (r - q + 0.5 * v * v) * t) / sd, 0.0)
    return d1, d1 - sd, live


def bsm_put(spot, strike, years, rate, div_yield, vol):
    """European put value under BSM; at years == 0 the intrinsic value max(K - S, 0)."""
    s, k, t, r, q, v = validate_inputs(spot, strike, years, rate, div_yield, vol)
    d1, d2, live = _d1_d2(s, k, t, r, q, v)
    model = k * np.exp(-r * t) * ndtr(-d2) - s * np.exp(-q * t) * ndtr(-d1)
    return _out(np.where(live, model, np.maximum(k - s, 0.0)))


def bsm_call(spot, strike, years, rate, div_yield, vol):
    """European call value under BSM; at years == 0 the intrinsic value max(S - K, 0)."""
    s, k, t, r, q, v = validate_inputs(spot, strike, years, rate, div_yield, vol)
    d1, d2, live = _d1_d2(s, k, t, r, q, v)
    model = s * np.exp(-q * t) * ndtr(d1) - k * np.exp(-r * t) * ndtr(d2)
    return _out(np.where(live, model, np.maximum(s - k, 0.0)))


def put_delta(spot, strike, years, rate, div_yield, vol):
    """dPut/dSpot, between -1 and 0; at expiry -1 in the money and 0 otherwise (0 at S == K)."""
    s, k, t, r, q, v = validate_inputs(spot, strike, years, rate, div_yield, vol)
    d1, _, live = _d1_d2(s, k, t, r, q, v)
    return _out(np.where(live, -np.exp(-q * t) * ndtr(-d1), -(s < k).astype(float)))


def put_vega(spot, strike, years, rate, div_yield, vol):
    """dPut/dVol per 1.00 of annual vol (divide by 100 for one vol point); 0 at expiry."""
    s, k, t, r, q, v = validate_inputs(spot, strike, years, rate, div_yield, vol)
    d1, _, live = _d1_d2(s, k, t, r, q, v)
    density = np.exp(-0.5 * d1 * d1) / np.sqrt(2.0 * np.pi)
    return _out(np.where(live, s * np.exp(-q * t) * density * np.sqrt(t), 0.0))


def bsm_put_reference(spot, strike, years, rate, div_yield, vol) -> float:
    """Scalar put value from vollib (reference for the vectorised `bsm_put`)."""
    from vollib.black_scholes_merton import black_scholes_merton

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
