"""Property tests (hypothesis, deterministic): option pricing, performance analyzers, the as-of view.

Each property is a statement someone could break: the no-arbitrage bounds of the
Black-Scholes-Merton put, the price of an array against vollib, drawdown and CAGR identities,
cycle windows inside the data, and point in time: what a day's view holds depends only on
what was published by that day.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from fedcut.analyzers.episodes import cycle_windows
from fedcut.analyzers.performance import cagr, drawdown_series, max_drawdown, summary
from fedcut.core.params import PARAMS, defaults, resolve
from fedcut.data.asof import asof_frame, known_dates
from fedcut.data.asof import published as publication
from fedcut.data.catalog import MACRO
from fedcut.hedging.pricing import bsm_put, bsm_put_reference, dividend_yield, put_delta

PROPS = settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
FEW = settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])

# --- pricing -----------------------------------------------------------------------------------

spots = st.floats(1.0, 1000.0)
moneyness = st.floats(0.5, 1.5)
years = st.floats(1.0 / 365.0, 3.0)
rates = st.floats(-0.01, 0.10)
yields = st.floats(0.0, 0.05)
vols = st.floats(0.05, 1.5)


def tol(s, k) -> float:
    return 1e-10 * max(s, k)


@PROPS
@given(spots, moneyness, years, rates, yields, vols)
def test_put_within_no_arbitrage_bounds(s, m, t, r, q, v):
    k = s * m
    put = bsm_put(s, k, t, r, q, v)
    lower = max(k * math.exp(-r * t) - s * math.exp(-q * t), 0.0)
    upper = k * math.exp(-r * t)
    assert lower - tol(s, k) <= put <= upper + tol(s, k)


@PROPS
@given(spots, moneyness, st.floats(1.0001, 1.5), years, rates, yields, vols, st.floats(1.0001, 2.0))
def test_put_rises_with_strike_and_with_vol(s, m, k_up, t, r, q, v, v_up):
    k = s * m
    base = bsm_put(s, k, t, r, q, v)
    assert bsm_put(s, k * k_up, t, r, q, v) >= base - tol(s, k)
    assert bsm_put(s, k, t, r, q, min(v * v_up, 3.0)) >= base - tol(s, k)
    # and strictly when the put has any time value to gain (not vanishingly far out of the money)
    if base > 1e-6 * s:
        assert bsm_put(s, k * k_up, t, r, q, v) > base


@PROPS
@given(spots, moneyness, st.one_of(st.just(0.0), years), rates, yields, vols)
def test_put_delta_between_minus_one_and_zero(s, m, t, r, q, v):
    d = put_delta(s, s * m, t, r, q, v)
    assert -1.0 <= d <= 0.0
    assert d >= -math.exp(-q * t) - 1e-15  # a put on a dividend payer never moves more than e^{-qT}


@PROPS
@given(st.lists(st.tuples(spots, moneyness, years, rates, yields, vols), min_size=1, max_size=20))
def test_the_put_over_an_array_equals_vollib_reference(rows):
    s, m, t, r, q, v = (np.array(col) for col in zip(*rows))
    k = s * m
    prices = bsm_put(s, k, t, r, q, v)
    assert isinstance(prices, np.ndarray) and prices.shape == s.shape
    reference = np.array([bsm_put_reference(*args) for args in zip(s, k, t, r, q, v)])
    np.testing.assert_allclose(prices, reference, rtol=0, atol=1e-9)


@FEW
@given(st.integers(400, 1200), st.floats(0.0, 0.04), st.integers(0, 10_000))
def test_dividend_yield_uses_only_data_up_to_each_day(n, q, seed):
    """The trailing yield on day D is the same whether or not the data after D exists."""
    rng = np.random.default_rng(seed)
    days = pd.bdate_range("2010-01-04", periods=n)
    px = pd.Series(100.0 * np.exp(np.cumsum(rng.normal(0, 0.01, n))), index=days)
    years_elapsed = (days - days[0]).days.to_numpy() / 365.0
    tr = px * np.exp(q * years_elapsed) * (1 + rng.normal(0, 1e-4, n))
    full = dividend_yield(tr, px, 365)
    cut = int(rng.integers(1, n))
    part = dividend_yield(tr.iloc[:cut], px.iloc[:cut], 365)
    pd.testing.assert_series_equal(part, full.iloc[:cut], check_exact=True)
    assert full.iloc[:cut].isna().sum() == ((days[:cut] - pd.Timedelta(days=365)) < days[0]).sum()


# --- performance analyzers ---------------------------------------------------------------------

daily_returns = st.lists(st.floats(-0.2, 0.2), min_size=2, max_size=300)


def curve(returns, start="2015-01-02", level=100.0) -> pd.Series:
    index = pd.bdate_range(start, periods=len(returns) + 1)
    return pd.Series(level * np.cumprod(np.r_[1.0, 1.0 + np.array(returns)]), index=index)


@PROPS
@given(daily_returns)
def test_max_drawdown_is_between_minus_one_and_zero_and_is_the_worst_fall(returns):
    eq = curve(returns)
    dd = max_drawdown(eq)
    assert -1.0 < dd.depth <= 0.0
    assert dd.depth == pytest.approx((eq / eq.cummax() - 1.0).min(), abs=1e-15)
    assert dd.peak <= dd.trough
    if dd.depth < 0:
        assert eq[dd.peak] == eq[: dd.trough].max()  # the peak is the running high it fell from
        assert eq[dd.trough] / eq[dd.peak] - 1.0 == pytest.approx(dd.depth, rel=1e-12)
        if dd.recovery is not None:
            assert eq[dd.recovery] >= eq[dd.peak] and eq[dd.trough : dd.recovery].iloc[:-1].lt(eq[dd.peak]).all()


@PROPS
@given(daily_returns, st.floats(1e-4, 1e6))
def test_drawdown_is_invariant_to_scaling_the_curve(returns, c):
    eq = curve(returns)
    a, b = max_drawdown(eq), max_drawdown(eq * c)
    assert b.depth == pytest.approx(a.depth, rel=1e-9, abs=1e-12)
    assert (b.peak, b.trough) == (a.peak, a.trough) or abs(a.depth) < 1e-9
    np.testing.assert_allclose(drawdown_series(eq * c), drawdown_series(eq), atol=1e-12)


@PROPS
@given(st.lists(st.floats(0.0, 0.1), min_size=1, max_size=300), st.floats(1.0, 1e6))
def test_a_curve_that_never_falls_has_no_drawdown(gains, level):
    eq = curve(gains, level=level)
    assert max_drawdown(eq).depth == 0.0
    assert (drawdown_series(eq) == 0.0).all()
    assert summary(eq)["max_drawdown"] == 0.0 and summary(eq)["calmar"] is None


@PROPS
@given(st.floats(-0.5, 1.0), st.integers(30, 4000), st.integers(0, 3000))
def test_cagr_of_constant_growth_is_that_growth(g, span_days, offset):
    start = pd.Timestamp("2001-01-01") + pd.Timedelta(days=offset)
    index = pd.date_range(start, start + pd.Timedelta(days=span_days), freq="7D")
    assume(len(index) >= 2)
    years = (index - index[0]).days.to_numpy() / 365.25
    eq = pd.Series(1000.0 * (1.0 + g) ** years, index=index)
    assert cagr(eq) == pytest.approx(g, rel=1e-9, abs=1e-12)


@PROPS
@given(daily_returns, st.floats(1.0, 1e7))
def test_summary_total_return_and_final_value_are_the_curves(returns, level):
    eq = curve(returns, level=level)
    s = summary(eq)
    assert s["total_return"] == pytest.approx(eq.iloc[-1] / eq.iloc[0] - 1.0, rel=1e-12, abs=1e-15)
    assert s["final_value"] == eq.iloc[-1]
    assert s["max_drawdown"] == max_drawdown(eq).depth
    assert s["start"] == eq.index[0].date().isoformat() and s["end"] == eq.index[-1].date().isoformat()
    # a month (or year) is a fall from one close to a later one: never deeper than the worst drawdown
    assert s["worst_month"] >= s["max_drawdown"] - 1e-12 and s["worst_year"] >= s["max_drawdown"] - 1e-12


cut_days = st.dates(min_value=pd.Timestamp("1990-01-01").date(), max_value=pd.Timestamp("2030-12-31").date())


@PROPS
@given(
    st.lists(cut_days, min_size=0, max_size=8, unique=True),
    cut_days,
    st.integers(30, 9000),
    st.integers(0, 36),
    st.integers(1, 60),
)
def test_cycle_windows_are_clipped_to_the_data(cuts, start, span, before, after):
    data_start = pd.Timestamp(start)
    data_end = data_start + pd.Timedelta(days=span)
    cuts = [pd.Timestamp(c) for c in cuts]
    windows = cycle_windows(cuts, before, after, data_end=data_end, data_start=data_start)
    for w in windows:
        assert data_start <= w.start <= w.end <= data_end
        assert w.nominal_start <= w.start and w.end <= w.nominal_end
        assert w.nominal_start == w.first_cut - pd.DateOffset(months=before)
        assert w.nominal_end == w.first_cut + pd.DateOffset(months=after)
        twin = sum(c.year == w.first_cut.year for c in cuts) > 1  # two cycles in a year are named by date
        assert w.cycle == (str(w.first_cut.date()) if twin else str(w.first_cut.year))
        assert w.complete == (w.end == w.nominal_end) and w.complete == (w.nominal_end <= data_end)
    # exactly the cycles whose window overlaps the data, in order of their first cut
    overlapping = sorted(
        c
        for c in cuts
        if c - pd.DateOffset(months=before) <= data_end and c + pd.DateOffset(months=after) >= data_start
    )
    assert [w.first_cut for w in windows] == overlapping


# --- point in time: the as-of view ------------------------------------------------------------------

AS_OF_SERIES = ("CPIAUCSL", "UNRATE", "ICSA", "NFCI", "STLFSI4", "DGS2", "BAMLH0A0HYM2", "DFII10", "DFEDTARU")


@pytest.fixture(scope="module")
def as_of_inputs(source):
    """Real series, IWM's trading days and the full as-of view of each, computed once."""
    p = defaults().data
    series = {sid: source.macro(sid) for sid in AS_OF_SERIES}
    days = source.prices("IWM").index
    full = {sid: asof_frame({sid: s}, days, p) for sid, s in series.items()}
    return series, days, full, p


@FEW
@given(st.data())
def test_asof_from_only_what_was_published_by_d_equals_the_full_view_up_to_d(as_of_inputs, data):
    series, days, full, p = as_of_inputs
    sid = data.draw(st.sampled_from(AS_OF_SERIES), label="series")
    d = days[data.draw(st.integers(0, len(days) - 1), label="day index")]
    s = series[sid]
    published = (publication(s, p)["known_date"] <= d).to_numpy()  # by its lag, and not before the series existed
    view = asof_frame({sid: s[published]}, days[days <= d], p)
    pd.testing.assert_frame_equal(view, full[sid].loc[:d], check_exact=True)
    # and what the view holds on D was indeed published by D, and is the latest such observation
    row = view.iloc[-1]
    if pd.notna(row[f"{sid}_known"]):
        assert row[f"{sid}_known"] <= d and row[f"{sid}_obs"] <= d
        assert row[f"{sid}_obs"] == s[published].index.max()
    else:
        assert not published.any()


data_param_values = st.fixed_dictionaries(
    {
        p.key: (st.integers(int(p.lo), int(p.hi)) if isinstance(p.default, int) else st.floats(p.lo, p.hi))
        for p in PARAMS
        if p.section == "data" and p.key != "data.rut_dividend_yield" and not isinstance(p.default, bool)
    }
)


@PROPS
@given(
    st.lists(
        st.dates(min_value=pd.Timestamp("1950-01-01").date(), max_value=pd.Timestamp("2030-12-31").date()),
        min_size=1,
        max_size=40,
    ),
    data_param_values,
)
def test_known_dates_never_precede_the_observation_and_keep_its_order(obs, values):
    p = resolve(values).data
    obs = pd.DatetimeIndex(sorted(set(pd.Timestamp(o) for o in obs)))
    for rule in sorted({m.lag_rule for m in MACRO.values() if m.lag_rule != "label"}):
        known = known_dates(obs, rule, p)
        assert len(known) == len(obs)
        assert (known >= obs).all(), rule
        assert known.is_monotonic_increasing, rule  # a later period is never published earlier
        if rule == "market_daily" and p.daily_market_lag_days > 0:
            assert (known > obs).all() and (known.day_of_week < 5).all()  # next business day or later
        if rule in ("cpi", "jobs"):
            assert ((known.year * 12 + known.month) > (obs.year * 12 + obs.month)).all()  # never in its own month
        if rule == "jobs":
            assert (known.day_of_week == 4).all()
