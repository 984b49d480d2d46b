"""Black-Scholes-Merton put price and delta for the synthetic IWM puts, and their market inputs.

No option prices exist in the data, so the hedge is priced with a model: European
Black-Scholes-Merton with a continuous risk-free rate and a continuous dividend yield.
The pricer is written once, as compiled functions of one contract (`bsm_put_one`,
`put_delta_one`) that every engine and `fedcut now` call; `bsm_put` and `put_delta` are
the same functions for Python callers, checked and over arrays. `bsm_put_reference` wraps
vollib's implementation so the tests can check ours against it.

Conventions: `years` is the time to expiry in years (calendar days / 365), `rate` and
`div_yield` are annual continuously compounded, `vol` is annual (0.20 = 20%).
Scalar inputs give a float, array inputs an ndarray. Invalid inputs raise
PricingInputError instead of returning NaN.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from fedcut.core.errors import PricingInputError
from fedcut.core.jit import jit

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
                f"pricing input {name} must be positive, got {arrays[name][bad].flat[0]!r}{_where(bad)}"
            )
    bad = arrays["years"] < 0
    if bad.any():
        raise PricingInputError(
            f"pricing input years must not be negative (expired contract), "
            f"got {arrays['years'][bad].flat[0]!r}{_where(bad)}"
        )
    try:
        return tuple(np.broadcast_arrays(*arrays.values()))
    except ValueError:
        shapes = ", ".join(f"{n}{a.shape}" for n, a in arrays.items())
        raise PricingInputError(f"pricing inputs do not broadcast: {shapes}") from None


# Cephes' exp, log and ndtr (Moshier, Cephes Math Library 2.8 and 2.9, as in SciPy), with the
# polynomials written out by Horner's rule. The C library's exp and log differ between platforms
# in the last bit, and numpy's vector exp and log on CPUs with AVX-512 from both; with these, a
# put has the same price to the bit on every CPU, whichever engine prices it. exp and log are
# within 2 ulp of the correctly rounded value (tests/test_pricing.py).
_SQRT1_2 = 7.07106781186547524401e-1


@jit
def exp(x):
    """e**x (Cephes: x = n ln 2 + r, a rational function of r, times 2**n)."""
    if abs(x) > 1.0e4:  # 0 or inf long before 2**n leaves the exponents ldexp takes
        return 0.0 if x < 0 else math.inf
    n = math.floor(1.4426950408889634073599 * x + 0.5)
    r = x - n * 6.93145751953125e-1  # ln 2 in two parts, the first exact in few bits
    r = r - n * 1.42860682030941723212e-6
    rr = r * r
    p = r * ((1.26177193074810590878e-4 * rr + 3.02994407707441961300e-2) * rr + 9.99999999999999999910e-1)
    q = (
        (3.00198505138664455042e-6 * rr + 2.52448340349684104192e-3) * rr + 2.27265548208155028766e-1
    ) * rr + 2.00000000000000000009e0
    r = p / (q - p)
    r = 1.0 + 2.0 * r
    return math.ldexp(r, n)


@jit
def log(x):
    """Natural logarithm of a positive number (Cephes: mantissa and exponent apart)."""
    m, exponent = math.frexp(x)
    e = float(exponent)
    small = m < 0.70710678118654752440
    if small:
        e = e - 1.0
    if abs(float(exponent)) > 2.0:  # log((1 + u) / (1 - u)), u = (m - 1) / (m + 1), m in [sqrt(1/2), sqrt(2))
        z = m - 0.5 if small else (m - 0.5) - 0.5
        y = 0.5 * z + 0.5 if small else 0.5 * m + 0.5
        u = z / y
        uu = u * u
        num = (-7.89580278884799154124e-1 * uu + 1.63866645699558079767e1) * uu - 6.41409952958715622951e1
        den = ((uu - 3.56722798256324312549e1) * uu + 3.12093766372244180303e2) * uu - 7.69691943550460008604e2
        z = u * (uu * num / den)
        z = z - e * 2.121944400546905827679e-4  # ln 2 = 0.693359375 - 2.12194...E-4
        z = z + u
        return z + e * 0.693359375
    w = math.ldexp(m, 1) - 1.0 if small else m - 1.0  # log(1 + w)
    ww = w * w
    num = (
        (
            ((1.01875663804580931796e-4 * w + 4.97494994976747001425e-1) * w + 4.70579119878881725854e0) * w
            + 1.44989225341610930846e1
        )
        * w
        + 1.79368678507819816313e1
    ) * w + 7.70838733755885391666e0
    den = (
        (((w + 1.12873587189167450590e1) * w + 4.52279145837532221105e1) * w + 8.29875266912776603211e1) * w
        + 7.11544750618563894466e1
    ) * w + 2.31251620126765340583e1
    y = w * (ww * num / den)
    y = y - e * 2.121944400546905827679e-4
    y = y - math.ldexp(ww, -1)
    z = w + y
    return z + e * 0.693359375


@jit
def _erf_ratio(zz):
    """P(zz)/Q(zz) of Cephes' erf for |x| < 1 (zz = x^2)."""
    num = (
        ((9.60497373987051638749e0 * zz + 9.00260197203842689217e1) * zz + 2.23200534594684319226e3) * zz
        + 7.00332514112805075473e3
    ) * zz + 5.55923013010394962768e4
    den = (
        (((zz + 3.35617141647503099647e1) * zz + 5.21357949780152679795e2) * zz + 4.59432382970980127987e3) * zz
        + 2.26290000613890934246e4
    ) * zz + 4.92673942608635921086e4
    return num, den


@jit
def _erfc_mid(z):
    """P(z)/Q(z) of Cephes' erfc for 1 <= z < 8."""
    num = (
        (
            (
                (
                    (
                        ((2.46196981473530512524e-10 * z + 5.64189564831068821977e-1) * z + 7.46321056442269912687e0)
                        * z
                        + 4.86371970985681366614e1
                    )
                    * z
                    + 1.96520832956077098242e2
                )
                * z
                + 5.26445194995477358631e2
            )
            * z
            + 9.34528527171957607540e2
        )
        * z
        + 1.02755188689515710272e3
    ) * z + 5.57535335369399327526e2
    den = (
        (
            (
                (
                    (((z + 1.32281951154744992508e1) * z + 8.67072140885989742329e1) * z + 3.54937778887819891062e2) * z
                    + 9.75708501743205489753e2
                )
                * z
                + 1.82390916687909736289e3
            )
            * z
            + 2.24633760818710981792e3
        )
        * z
        + 1.65666309194161350182e3
    ) * z + 5.57535340817727675546e2
    return num, den


@jit
def _erfc_far(z):
    """R(z)/S(z) of Cephes' erfc for z >= 8."""
    num = (
        (
            ((5.64189583547755073984e-1 * z + 1.27536670759978104416e0) * z + 5.01905042251180477414e0) * z
            + 6.16021097993053585195e0
        )
        * z
        + 7.40974269950448939160e0
    ) * z + 2.97886665372100240670e0
    den = (
        (
            (((z + 2.26052863220117276590e0) * z + 9.39603524938001434673e0) * z + 1.20489539808096656605e1) * z
            + 1.70814450747565897222e1
        )
        * z
        + 9.60896809063285878198e0
    ) * z + 3.36907645100081516050e0
    return num, den


@jit
def ndtr(a):
    """Standard normal CDF (Cephes: erf below 1/sqrt(2) in |a|, erfc beyond; relative error below 5e-14
    for |a| <= 10, growing with a^2 in the far tail)."""
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
        erfc = exp(-z * z) * num / den
    tail = 0.5 * erfc
    return 1.0 - tail if x > 0 else tail


@jit
def _d1(spot, strike, years, rate, div_yield, vol):
    """BSM's d1 and vol x sqrt(years) of a live contract."""
    sd = vol * math.sqrt(years)
    return (log(spot / strike) + (rate - div_yield + 0.5 * vol * vol) * years) / sd, sd


@jit
def bsm_put_one(spot, strike, years, rate, div_yield, vol):
    """European put value of one contract, inputs unchecked; at years <= 0 the intrinsic value."""
    if years <= 0.0:
        return max(strike - spot, 0.0)
    d1, sd = _d1(spot, strike, years, rate, div_yield, vol)
    d2 = d1 - sd
    return strike * exp(-rate * years) * ndtr(-d2) - spot * exp(-div_yield * years) * ndtr(-d1)


@jit
def put_delta_one(spot, strike, years, rate, div_yield, vol):
    """dPut/dSpot of one contract, inputs unchecked; at years <= 0: -1 in the money, else 0."""
    if years <= 0.0:
        return -1.0 if spot < strike else 0.0
    d1, _ = _d1(spot, strike, years, rate, div_yield, vol)
    return -exp(-div_yield * years) * ndtr(-d1)


def _each(one, inputs: tuple) -> float | np.ndarray:
    """`one` on each element of the checked, broadcast inputs: a float for scalars, else an array."""
    arrays = validate_inputs(*inputs)
    values = [one(*x) for x in zip(*(a.ravel().tolist() for a in arrays))]
    return _out(np.array(values, dtype=float).reshape(arrays[0].shape))


def _out(a: np.ndarray):
    """A float for 0-d results, the array otherwise."""
    return float(a) if a.ndim == 0 else a


def bsm_put(spot, strike, years, rate, div_yield, vol):
    """European put value under BSM (`bsm_put_one`, checked, any shape); at years == 0 max(K - S, 0)."""
    return _each(bsm_put_one, (spot, strike, years, rate, div_yield, vol))


def put_delta(spot, strike, years, rate, div_yield, vol):
    """dPut/dSpot (`put_delta_one`, checked, any shape), between -1 and 0; at expiry -1 in the money,
    0 otherwise (0 at S == K)."""
    return _each(put_delta_one, (spot, strike, years, rate, div_yield, vol))


def bsm_put_reference(spot, strike, years, rate, div_yield, vol) -> float:
    """Scalar put value from vollib (the reference the tests check `bsm_put` against)."""
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
            f"T-bill discount yield {d[bad].flat[0]}% over {days} days gives a non-positive price{_where(bad)}"
        )
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


def realised_vol_ratio(small: pd.Series, large: pd.Series, window: int) -> pd.Series:
    """IWM's over SPY's trailing realised volatility (log returns of the total-return closes over
    `window` trading days, both ending at the day's close, so known then); NaN until both have
    `window` returns (`hedge.small_cap_ratio_mode` = realised falls back to the fixed ratio)."""

    def vol(close):
        return np.log(close).diff().rolling(window, min_periods=window).std()

    return (vol(small) / vol(large)).rename("small_cap_vol_ratio")
