"""Black-Scholes-Merton pricing, its inputs (rates, dividend yield) and the VIX vol surface."""

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fedcut.core.errors import PricingInputError
from fedcut.core.params import defaults
from fedcut.hedging.pricing import (
    bsm_put,
    bsm_put_one,
    bsm_put_reference,
    dividend_yield,
    exp,
    log,
    ndtr,
    put_delta,
    put_delta_one,
    tbill_discount_to_continuous,
    validate_inputs,
)
from fedcut.hedging.surface import half_spread, implied_vol, plot_surface

HEDGE = defaults().hedge

spots = st.floats(20.0, 400.0)
moneyness = st.floats(0.5, 1.5)
years = st.floats(0.01, 3.0)
rates = st.floats(-0.01, 0.10)
yields = st.floats(0.0, 0.05)
vols = st.floats(0.05, 1.5)


# --- textbook values -----------------------------------------------------------------------


def _call_by_parity(s, k, t, r, q, v) -> float:
    return bsm_put(s, k, t, r, q, v) + s * math.exp(-q * t) - k * math.exp(-r * t)


def test_hull_example_without_dividends():
    # Hull, Options, Futures and Other Derivatives: S=42, K=40, r=10%, sigma=20%, T=0.5.
    assert bsm_put(42, 40, 0.5, 0.10, 0.0, 0.2) == pytest.approx(0.81, abs=0.005)
    assert _call_by_parity(42, 40, 0.5, 0.10, 0.0, 0.2) == pytest.approx(4.76, abs=0.005)


def test_hull_index_option_with_dividend_yield():
    # Hull: two-month call on an index at 930, strike 900, r=8%, q=3%, sigma=20% -> 51.83 (the put
    # through put-call parity).
    assert _call_by_parity(930, 900, 2 / 12, 0.08, 0.03, 0.2) == pytest.approx(51.83, abs=0.005)


def test_ndtr_against_the_c_library_erfc():
    """The normal CDF against 0.5 erfc(-x / sqrt 2): close where pricing reads it (|d| <= 10, each
    branch and its edges), loose far in the tail (the relative error of exp(-x^2) grows with x^2)."""
    near = np.concatenate([np.linspace(-10.0, 10.0, 20_001), [0.0, -1.0, 1.0, -0.70710678, 8.0 * math.sqrt(2)]])
    for x, rtol in ((near, 5e-14), (np.linspace(-37.0, -10.0, 5_001), 1e-12)):
        want = np.array([0.5 * math.erfc(-v / math.sqrt(2)) for v in x])
        np.testing.assert_allclose(np.array([ndtr(v) for v in x]), want, rtol=rtol, atol=0)
    assert ndtr(0.0) == 0.5 and ndtr(-40.0) == 0.0 and ndtr(40.0) == 1.0


def _ulps(got: np.ndarray, exact: np.ndarray) -> np.ndarray:
    return np.abs(got - exact) / np.spacing(np.abs(exact))


def test_cephes_exp_and_log_are_within_two_ulp_compiled_and_as_python():
    """The pricer's exp and log: within 2 ulp of the C library's over the ranges pricing uses and
    far beyond, and the same bits compiled as their source gives run by CPython (numba keeps to
    IEEE arithmetic: no fused or reordered operations)."""
    rng = np.random.default_rng(7)
    x = np.concatenate([rng.uniform(-700.0, 700.0, 20_000), rng.uniform(-1e-3, 1e-3, 5_000), [0.0, -1.0, 1.0]])
    got = np.array([exp(v) for v in x])
    assert _ulps(got, np.array([math.exp(v) for v in x])).max() <= 2.0
    assert np.array_equal(got, np.array([exp.py_func(v) for v in x]))
    y = np.concatenate(
        [
            np.exp(rng.uniform(-700.0, 700.0, 20_000)),
            rng.uniform(0.3, 3.0, 20_000),
            1.0 + rng.uniform(-1e-9, 1e-9, 1_000),
            [1.0, 0.5, 2.0, 4.0, 0.25],
        ]
    )
    got, want = np.array([log(v) for v in y]), np.array([math.log(v) for v in y])
    nonzero = want != 0
    assert _ulps(got[nonzero], want[nonzero]).max() <= 2.0 and (got[~nonzero] == 0).all()
    assert np.array_equal(got, np.array([log.py_func(v) for v in y]))
    assert exp(-745.2) == 0.0 and exp(-1444.0) == 0.0  # deep in the tail of ndtr: 0, as the C library gives
    assert exp(-6e10) == 0.0 and exp(6e10) == math.inf and exp(710.0) == math.inf  # a put a second from expiry


def test_scalar_inputs_give_float_and_arrays_broadcast_to_the_compiled_price():
    assert isinstance(bsm_put(100, 90, 0.25, 0.02, 0.01, 0.3), float)
    grid = bsm_put(100.0, np.array([[80.0], [90.0], [100.0]]), np.array([0.1, 0.5]), 0.02, 0.01, 0.3)
    assert grid.shape == (3, 2)
    assert grid[1, 1] == bsm_put(100, 90, 0.5, 0.02, 0.01, 0.3) == bsm_put_one(100.0, 90.0, 0.5, 0.02, 0.01, 0.3)
    delta = put_delta(np.array([80.0, 120.0]), 100.0, np.array([0.25, 0.0]), 0.02, 0.01, 0.3)
    assert delta.tolist() == [put_delta_one(80.0, 100.0, 0.25, 0.02, 0.01, 0.3), 0.0]
    assert bsm_put(100.0, np.empty((0, 2)), 0.5, 0.02, 0.01, 0.3).shape == (0, 2)


def test_the_pricer_matches_vollib_on_random_grid():
    rng = np.random.default_rng(7)
    n = 500
    s = rng.uniform(20, 400, n)
    k = s * rng.uniform(0.5, 1.5, n)
    t = rng.uniform(0.01, 3.0, n)
    r = rng.uniform(-0.01, 0.10, n)
    q = rng.uniform(0.0, 0.05, n)
    v = rng.uniform(0.05, 1.5, n)
    ours = bsm_put(s, k, t, r, q, v)
    ref = np.array([bsm_put_reference(*args) for args in zip(s, k, t, r, q, v)])
    np.testing.assert_allclose(ours, ref, rtol=1e-10, atol=1e-10)


# --- no-arbitrage and shape properties ------------------------------------------------------


@given(spots, moneyness, st.floats(1.001, 1.2), years, rates, yields, vols)
def test_put_rises_with_strike(s, m, bump, t, r, q, v):
    assert bsm_put(s, s * m * bump, t, r, q, v) >= bsm_put(s, s * m, t, r, q, v) - 1e-12 * s


@given(spots, moneyness, years, rates, yields, vols, st.floats(1.001, 2.0))
def test_put_rises_with_vol(s, m, t, r, q, v, bump):
    assert bsm_put(s, s * m, t, r, q, v * bump) >= bsm_put(s, s * m, t, r, q, v) - 1e-12 * s


@given(spots, moneyness, years, yields, vols, st.floats(1.001, 2.0))
def test_put_rises_with_time_when_rate_is_zero(s, m, t, q, v, bump):
    # With r > 0 a deep in-the-money European put can lose value with more time
    # (the strike is received later), so the property is checked at r = 0, q >= 0.
    assert bsm_put(s, s * m, t * bump, 0.0, q, v) >= bsm_put(s, s * m, t, 0.0, q, v) - 1e-12 * s


@given(spots, moneyness, rates, yields, vols)
def test_value_at_expiry_is_intrinsic(s, m, r, q, v):
    k = s * m
    assert bsm_put(s, k, 0.0, r, q, v) == max(k - s, 0.0)
    assert bsm_put(s, k, 1e-9, r, q, v) == pytest.approx(max(k - s, 0.0), abs=1e-3 * s)


@given(spots, st.floats(0.6, 1.4), st.floats(0.05, 2.0), rates, yields, st.floats(0.08, 1.0))
def test_delta_matches_finite_differences(s, m, t, r, q, v):
    k = s * m
    h = 1e-5 * s
    fd_delta = (bsm_put(s + h, k, t, r, q, v) - bsm_put(s - h, k, t, r, q, v)) / (2 * h)
    assert put_delta(s, k, t, r, q, v) == pytest.approx(fd_delta, abs=1e-6)


def test_delta_at_expiry():
    assert put_delta(80, 100, 0.0, 0.02, 0.0, 0.3) == -1.0
    assert put_delta(120, 100, 0.0, 0.02, 0.0, 0.3) == 0.0
    assert put_delta(100, 100, 0.0, 0.02, 0.0, 0.3) == 0.0


# --- invalid inputs --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, args",
    [
        ("spot", (0.0, 100, 0.5, 0.02, 0.01, 0.3)),
        ("strike", (100, -5, 0.5, 0.02, 0.01, 0.3)),
        ("vol", (100, 90, 0.5, 0.02, 0.01, 0.0)),
        ("years", (100, 90, -0.01, 0.02, 0.01, 0.3)),
        ("rate", (100, 90, 0.5, float("nan"), 0.01, 0.3)),
        ("div_yield", (100, 90, 0.5, 0.02, float("inf"), 0.3)),
        ("spot", (float("nan"), 90, 0.5, 0.02, 0.01, 0.3)),
    ],
)
def test_bad_inputs_raise_naming_the_input(name, args):
    for fn in (bsm_put, put_delta, bsm_put_reference):
        with pytest.raises(PricingInputError, match=rf"\b{name}\b"):
            fn(*args)


def test_bad_array_input_names_first_bad_index():
    with pytest.raises(PricingInputError, match=r"vol .*index 2"):
        bsm_put(100, 90, 0.5, 0.02, 0.01, np.array([0.2, 0.3, np.nan, -1.0]))
    with pytest.raises(PricingInputError, match="broadcast"):
        validate_inputs(np.ones(3), np.ones(2), 0.5, 0.02, 0.01, 0.3)


# --- rates and dividends -------------------------------------------------------------------------


def test_tbill_discount_to_continuous_by_hand():
    # DTB3 = 5.00 over 91 days: price = 1 - 0.05 * 91 / 360 = 0.98736111...
    # -ln(price) = x + x^2/2 + x^3/3 + ... with x = 0.01263889 -> 0.01271941; / (91/365) -> 0.0510174
    assert tbill_discount_to_continuous(5.0) == pytest.approx(0.0510174, abs=1e-6)
    assert tbill_discount_to_continuous(0.0) == 0.0
    # a 182-day bill at 4%: x = 0.0202222, -ln(1 - x) = 0.0204294, / (182/365) -> 0.0409711
    assert tbill_discount_to_continuous(4.0, days=182) == pytest.approx(0.0409711, abs=1e-6)


def test_tbill_conversion_keeps_series_index_and_missing_days():
    idx = pd.to_datetime(["2008-10-08", "2008-10-09", "2008-10-10"])
    out = tbill_discount_to_continuous(pd.Series([0.5, np.nan, 0.2], index=idx, name="DTB3"))
    assert isinstance(out, pd.Series) and list(out.index) == list(idx) and out.name == "DTB3"
    assert np.isnan(out.iloc[1]) and out.iloc[0] > 0.005
    np.testing.assert_allclose(tbill_discount_to_continuous(np.array([5.0, 0.0])), [0.0510174, 0.0], atol=1e-6)


def _constant_yield_series(q, start="2015-01-01", end="2018-12-31", growth=0.05):
    days = pd.bdate_range(start, end)
    t = (days - days[0]).days.to_numpy() / 365.0
    price = pd.Series(50 * np.exp(growth * t + 0.1 * np.sin(t * 7)), index=days)
    total = price * np.exp(q * t)
    return total, price


def test_dividend_yield_recovers_a_known_continuous_yield():
    total, price = _constant_yield_series(0.015)
    q = dividend_yield(total, price, window_days=365)
    assert q.index.equals(price.index)
    assert q[:"2015-12-31"].isna().all()  # less than a full window of history
    np.testing.assert_allclose(q["2016-01-05":].to_numpy(), 0.015, atol=1e-12)


def test_dividend_yield_from_quarterly_cash_dividends():
    days = pd.bdate_range("2016-01-01", "2018-12-31")
    price = pd.Series(100.0, index=days)  # flat price, 0.40 paid each quarter = 1.6% a year
    paid = pd.Series(days.is_quarter_end, index=days).cumsum()
    total = price * (1.004**paid)
    q = dividend_yield(total, price, window_days=365)["2017-06-30":]
    assert q.median() == pytest.approx(4 * math.log(1.004), rel=1e-9)
    # A 365-day window ending on a payment day can also hold last year's payment when the
    # business-day quarter end moved: 5 payments, never fewer than 4 or more than 5.
    assert q.between(4 * math.log(1.004) * 365 / 369, 5 * math.log(1.004)).all()


def test_dividend_yield_uses_no_data_after_the_date():
    total, price = _constant_yield_series(0.02)
    d = pd.Timestamp("2017-06-15")
    before = dividend_yield(total, price, 365)[d]
    later = price.index > d
    total2, price2 = total.copy(), price.copy()
    total2[later] *= 3.0
    price2[later] *= 0.5
    total2 = total2.drop(total2.index[later][::3])
    assert dividend_yield(total2, price2, 365)[d] == before
    assert dividend_yield(total[:d], price[:d], 365)[d] == before


def test_dividend_yield_is_clipped_at_zero():
    total, price = _constant_yield_series(-0.01)
    assert (dividend_yield(total, price, 365).dropna() == 0.0).all()


# --- vol surface and spreads ------------------------------------------------------------------------


def test_implied_vol_formula_floor_and_cap():
    h = HEDGE
    at_30 = h.small_cap_ratio * (0.20 * h.atm_vix_ratio + h.skew_slope * 0.1)  # at 30 days the term factor is 1
    assert implied_vol(20, 0.9, 30, HEDGE) == pytest.approx(at_30)
    at_91 = h.small_cap_ratio * (0.20 * h.atm_vix_ratio + h.skew_slope * 0.1 * (30 / 91) ** h.skew_term_exponent)
    assert implied_vol(20, 0.9, 91, HEDGE) == pytest.approx(at_91) and at_91 < at_30  # flatter further out
    assert implied_vol(20, 1.05, 91, HEDGE) == pytest.approx(
        h.small_cap_ratio * 0.20 * h.atm_vix_ratio
    )  # no skew above
    assert implied_vol(20, 0.9, 0, HEDGE) == implied_vol(20, 0.9, 1, HEDGE)  # a settling put reads one day's skew
    assert implied_vol(5, 1.0, 91, HEDGE) == HEDGE.vol_floor
    assert implied_vol(150, 0.8, 91, HEDGE) == HEDGE.vol_cap
    grid = implied_vol(np.array([[12.0], [40.0]]), np.array([0.8, 0.9, 1.0]), 91, HEDGE)
    assert grid.shape == (2, 3) and (np.diff(grid, axis=1) <= 0).all()


@pytest.mark.parametrize("vix", [float("nan"), 0.0, -3.0, np.array([20.0, np.nan])])
def test_implied_vol_rejects_bad_vix(vix):
    with pytest.raises(PricingInputError, match="VIX"):
        implied_vol(vix, 0.9, 91, HEDGE)


def test_half_spread_widens_with_vix_and_has_a_dollar_floor():
    h = HEDGE
    assert half_spread(1.5, 20, 1.0, HEDGE) == pytest.approx(
        h.half_spread_dollars + (h.half_spread_base + h.half_spread_per_vix * 20) * 1.5
    )
    assert half_spread(1.5, 80, 1.0, HEDGE) > half_spread(1.5, 12, 1.0, HEDGE)
    assert half_spread(0.0, 20, 2.0, HEDGE) == pytest.approx(2 * h.half_spread_dollars)  # scaled by the spot's unit
    cheap, dear = half_spread(0.05, 20, 1.0, HEDGE) / 0.05, half_spread(3.0, 20, 1.0, HEDGE) / 3.0
    assert cheap > 2 * dear  # far out-of-the-money puts pay a larger share of their price, as quoted


def test_plot_surface_writes_png(tmp_path):
    out = plot_surface(tmp_path / "docs" / "surface.png", HEDGE)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
