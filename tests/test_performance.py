import json
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fedcut.analyzers.kernels import drawdowns, pairwise_sum, sample_metrics
from fedcut.analyzers.performance import (
    cagr,
    daily_risk_free,
    drawdown_series,
    longest_drawdown_days,
    max_drawdown,
    period_returns,
    sharpe_ratio,
    sortino_ratio,
    summary,
    ulcer_index,
)
from fedcut.core.errors import DataError

D = pd.Timestamp


def curve(values, start="2020-01-01", freq="B"):
    return pd.Series(values, index=pd.date_range(start, periods=len(values), freq=freq), dtype=float)


def test_drawdown_series_is_fall_from_running_high():
    dd = drawdown_series(curve([100, 120, 90, 60, 150]))
    assert dd.tolist() == pytest.approx([0, 0, -0.25, -0.5, 0])


def test_max_drawdown_dates_and_recovery():
    eq = curve([100, 110, 99, 88, 110, 120])  # 2020-01-01 (Wed) ...
    dd = max_drawdown(eq)
    assert dd.depth == pytest.approx(-0.2)
    assert (dd.peak, dd.trough, dd.recovery) == (D("2020-01-02"), D("2020-01-06"), D("2020-01-07"))
    assert dd.days_under_water == 5
    assert dd.to_dict() == {
        "depth": dd.depth,
        "peak": "2020-01-02",
        "trough": "2020-01-06",
        "recovery": "2020-01-07",
        "days_under_water": 5,
    }


def test_unrecovered_drawdown_runs_to_series_end():
    eq = curve([100, 80, 90, 95], start="2020-01-06")
    dd = max_drawdown(eq)
    assert dd.recovery is None and dd.to_dict()["recovery"] is None
    assert dd.days_under_water == (D("2020-01-09") - D("2020-01-06")).days


def test_equal_troughs_pick_the_earliest_and_peak_is_last_day_at_the_high():
    dd = max_drawdown(curve([100, 100, 50, 100, 50], start="2020-01-06"))
    assert (dd.peak, dd.trough, dd.recovery) == (D("2020-01-07"), D("2020-01-08"), D("2020-01-09"))


def test_no_drawdown():
    dd = max_drawdown(curve([1, 2, 3]))
    assert dd.depth == 0.0 and dd.peak == dd.trough == dd.recovery == D("2020-01-01")
    assert dd.days_under_water == 0 and longest_drawdown_days(curve([1, 2, 3])) == 0


def test_longest_drawdown_is_not_the_deepest():
    # deep 2-day fall, then a shallow fall lasting to the end
    eq = curve([100, 50, 100, 99, 99, 99, 99, 99], start="2020-01-01", freq="D")
    assert max_drawdown(eq).days_under_water == 2
    assert longest_drawdown_days(eq) == 5  # 2020-01-03 (high) to 2020-01-08 (end)


def test_ulcer_index_by_hand():
    # drawdowns 0, -10%, -20%, 0 -> sqrt((0 + 100 + 400 + 0) / 4) percent
    assert ulcer_index(curve([100, 90, 80, 100])) == pytest.approx(math.sqrt(125))


def test_cagr_of_doubling_in_exactly_four_years():
    eq = pd.Series([1.0, 1.3, 2.0], index=pd.DatetimeIndex(["2000-01-01", "2001-06-01", "2004-01-01"]))
    assert cagr(eq) == pytest.approx(2**0.25 - 1)  # 1461 days = 4 x 365.25


def test_period_returns_chain_from_previous_period_close():
    eq = pd.Series(
        [100.0, 110.0, 99.0, 108.9], index=pd.DatetimeIndex(["2020-01-02", "2020-01-31", "2020-02-28", "2021-01-04"])
    )
    months = period_returns(eq, "M")
    assert [str(p) for p in months.index] == ["2020-01", "2020-02", "2021-01"]
    assert months.tolist() == pytest.approx([0.10, -0.10, 0.10])
    assert period_returns(eq, "Y").tolist() == pytest.approx([-0.01, 0.10])


def test_risk_free_accrues_over_calendar_days():
    """A continuous annual rate, as the broker pays it on cash: exp(r * days / 365) - 1."""
    days = pd.DatetimeIndex(["2020-01-09", "2020-01-10", "2020-01-13"])  # Thu, Fri, Mon
    rf = daily_risk_free(0.05, days)
    assert rf.index.tolist() == list(days[1:])
    assert rf.tolist() == pytest.approx([math.exp(0.05 / 365) - 1, math.exp(0.05 * 3 / 365) - 1], rel=1e-12)


def test_risk_free_series_uses_rate_known_at_interval_start():
    days = pd.DatetimeIndex(["2020-01-09", "2020-01-10", "2020-01-13"])
    rates = pd.Series([0.02, 0.10], index=pd.DatetimeIndex(["2020-01-01", "2020-01-10"]))
    assert daily_risk_free(rates, days).tolist() == pytest.approx(
        [math.exp(0.02 / 365) - 1, math.exp(0.10 * 3 / 365) - 1], rel=1e-12
    )
    with pytest.raises(DataError, match="no value"):
        daily_risk_free(rates, pd.DatetimeIndex(["2019-12-31", "2020-01-02"]))
    with pytest.raises(DataError, match="percent"):
        daily_risk_free(5.0, days)


def test_sharpe_of_alternating_returns_against_rf():
    r, a, n = 0.001, 0.002, 100  # daily calendar index: every interval is one day
    returns = np.where(np.arange(n) % 2 == 0, r + a, r - a)
    eq = curve(100 * np.cumprod(np.r_[1.0, 1 + returns]), freq="D")
    excess_mean = r - math.expm1(0.05 / 365)
    expected = excess_mean / (a * math.sqrt(n / (n - 1))) * math.sqrt(252)
    assert sharpe_ratio(eq, 0.05) == pytest.approx(expected, rel=1e-9)
    downside = math.sqrt((n / 2) * (r - a - math.expm1(0.05 / 365)) ** 2 / n)
    assert sortino_ratio(eq, 0.05) == pytest.approx(excess_mean / downside * math.sqrt(252), rel=1e-9)


def test_constant_return_has_no_sharpe():
    eq = curve(100 * 1.001 ** np.arange(50), freq="D")
    assert sharpe_ratio(eq, 0.03) is None and sortino_ratio(eq, 0.0) is None


def test_cash_earning_the_risk_free_rate_has_zero_excess_return():
    """Cash grown as the broker grows it (continuous rate known the day before, over calendar days,
    weekends included) is worth exactly the risk-free rate: no excess return, so no Sharpe or Sortino
    (with (1 + r)^(d/365) - 1 instead, this curve scored a Sharpe in the hundreds)."""
    days = pd.bdate_range("2020-01-01", periods=300)
    rate = pd.Series(np.linspace(0.01, 0.05, len(days)), index=days)  # a rising T-bill rate
    gaps = np.diff(days.to_numpy()).astype("timedelta64[D]").astype(float)
    cash = 1e6 * np.exp(np.r_[0.0, np.cumsum(rate.to_numpy()[:-1] * gaps / 365)])
    eq = pd.Series(cash, index=days)
    excess = eq.pct_change().iloc[1:] - daily_risk_free(rate, days)
    assert np.abs(excess.to_numpy()).max() < 1e-14
    assert sharpe_ratio(eq, rate) is None and sortino_ratio(eq, rate) is None


def test_summary_is_plain_json_with_none_for_undefined():
    s = summary(curve(100 * 1.001 ** np.arange(30)))
    assert json.loads(json.dumps(s, allow_nan=False)) == s
    assert all(v is None or type(v) in (float, int, str) for v in s.values())
    assert s["volatility"] == pytest.approx(0.0, abs=1e-12)
    assert s["sharpe"] is None and s["sortino"] is None and s["calmar"] is None
    assert s["max_drawdown"] == 0.0 and s["max_drawdown_recovery"] == s["start"] == "2020-01-01"


def test_summary_on_a_crafted_crash():
    eq = pd.Series(
        [100.0, 120.0, 60.0, 90.0, 130.0],
        index=pd.DatetimeIndex(["2019-12-31", "2020-01-31", "2020-03-31", "2021-06-30", "2021-12-31"]),
    )
    turnover = pd.Series(0.5, index=eq.index)
    s = summary(eq, rf_annual=0.0, turnover=turnover)
    assert s["max_drawdown"] == pytest.approx(-0.5)
    assert (s["max_drawdown_peak"], s["max_drawdown_trough"], s["max_drawdown_recovery"]) == (
        "2020-01-31",
        "2020-03-31",
        "2021-12-31",
    )
    assert s["max_drawdown_days"] == (D("2021-12-31") - D("2020-01-31")).days
    assert (s["worst_month"], s["worst_month_period"]) == (pytest.approx(-0.5), "2020-03")
    assert (s["worst_year"], s["worst_year_period"]) == (pytest.approx(-0.4), "2020")
    assert s["total_return"] == pytest.approx(0.3) and s["final_value"] == 130.0
    years = (D("2021-12-31") - D("2019-12-31")).days / 365.25
    assert s["cagr"] == pytest.approx(1.3 ** (1 / years) - 1)
    assert s["calmar"] == pytest.approx(s["cagr"] / 0.5)
    assert s["annual_turnover"] == pytest.approx(2.5 / years)
    assert s["ulcer_index"] == pytest.approx(math.sqrt((50**2 + 25**2) / 5))


@pytest.mark.parametrize("values", [[], [100, float("nan")], [100, -1], [100, 0]])
def test_bad_equity_is_refused(values):
    with pytest.raises(DataError):
        max_drawdown(curve(values))


# --- properties --------------------------------------------------------------------------

daily_returns = st.lists(st.floats(-0.9, 1.0, allow_nan=False), min_size=0, max_size=60)


def from_returns(returns):
    return curve(100 * np.cumprod(np.r_[1.0, 1 + np.asarray(returns)]))


@settings(max_examples=150, deadline=None)
@given(daily_returns)
def test_max_drawdown_bounded_and_equals_worst_pairwise_fall(returns):
    eq = from_returns(returns)
    dd = max_drawdown(eq)
    assert -1.0 < dd.depth <= 0.0
    v = eq.to_numpy()
    worst = min((v[j] / v[i] - 1 for i in range(len(v)) for j in range(i, len(v))), default=0.0)
    assert dd.depth == pytest.approx(worst, abs=1e-12)
    if dd.depth < 0:
        assert dd.peak < dd.trough and (dd.recovery is None or dd.recovery > dd.trough)
        # near-ties (float noise) resolve to the earliest trough, so compare to 1e-12
        assert eq[dd.peak] == eq[: dd.trough].max()
        assert eq[dd.trough] == pytest.approx(eq[dd.peak :].min(), rel=1e-12)
    assert 0 <= dd.days_under_water <= longest_drawdown_days(eq)


@settings(max_examples=100, deadline=None)
@given(daily_returns, st.integers(-20, 20), st.floats(1e-3, 1e6))
def test_scaling_equity_changes_nothing(returns, power, factor):
    eq = from_returns(returns)
    # a power of two scales exactly, so even tie-breaks between equal values are unchanged
    assert max_drawdown(eq * 2.0**power) == max_drawdown(eq)
    scaled, base = summary(eq * factor), summary(eq)
    for key in ("max_drawdown", "cagr", "volatility", "sharpe", "ulcer_index", "worst_month", "total_return"):
        if base[key] is None:
            continue
        assert scaled[key] == pytest.approx(base[key], rel=1e-9, abs=1e-9), key


@settings(max_examples=100, deadline=None)
@given(daily_returns.filter(lambda r: len(r) > 0))
def test_a_new_high_after_the_trough_sets_the_recovery(returns):
    eq = from_returns(returns)
    before = max_drawdown(eq)
    new_day = eq.index[-1] + pd.offsets.BDay()
    after = max_drawdown(pd.concat([eq, pd.Series([eq.max() * 1.01], index=[new_day])]))
    assert (after.depth, after.peak, after.trough) == (before.depth, before.peak, before.trough)
    if before.depth < 0:
        assert after.recovery == (before.recovery if before.recovery is not None else new_day)


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_compiled_drawdowns_equal_the_numpy_expression(seed):
    """Each sample's maximum drawdown in a sweep (`analyzers.kernels.drawdowns`, compiled) and the
    numpy expression give the same bits, on random curves with a zero, a NaN, and spans that overlap,
    start on the first day and end on the last; one row checked by hand."""
    rng = np.random.default_rng(seed)
    K, n = 6, 250
    values = 100 * np.cumprod(1 + rng.normal(0, 0.02, (K, n)), axis=1)
    values[1, rng.integers(0, n)] = np.nan
    values[2, rng.integers(0, n)] = 0.0
    starts = np.array([0, *rng.integers(0, n - 1, 5)], dtype=np.int64)
    ends = np.array([n - 1, *(min(n - 1, a + int(rng.integers(0, 120))) for a in starts[1:])], dtype=np.int64)
    compiled = np.empty((K, len(starts)))
    drawdowns(values, starts, ends, compiled)
    with np.errstate(invalid="ignore", divide="ignore"):
        for j, (a, b) in enumerate(zip(starts, ends)):
            v = values[:, a : b + 1]
            assert np.array_equal(
                compiled[:, j], (v / np.maximum.accumulate(v, axis=1) - 1.0).min(axis=1), equal_nan=True
            ), j
    row = values[0, starts[0] : ends[0] + 1]
    assert compiled[0, 0] == min(v / max(row[: i + 1]) - 1.0 for i, v in enumerate(row))
    assert np.isnan(compiled[1, 0])  # the whole history holds the NaN


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_compiled_sample_metrics_equal_numpys_mean_std_and_drawdown(seed):
    """A sweep's per-sample figures (`analyzers.kernels.sample_metrics`, compiled) give numpy's bits:
    growth, max drawdown and Sharpe (mean over std ddof=1 of the daily excess returns, each a numpy
    reduction along a row) on random curves with a NaN, a zero, a flat stretch (zero volatility) and
    a negative value, over spans of 0, 1, 2, under 8, under 128 and thousands of days."""
    rng = np.random.default_rng(seed)
    K, n = 7, 9000
    values = 100 * np.cumprod(1 + rng.normal(0.0003, 0.015, (K, n)), axis=1)
    values[1, rng.integers(0, n)] = np.nan
    values[2, rng.integers(0, n)] = 0.0
    values[3, 100:400] = values[3, 99]  # flat: excess returns all -rf
    values[4, rng.integers(0, n) :] *= -1.0  # through zero to a negative value
    values[5, rng.integers(1, n)] = np.inf
    rf = np.where(rng.random(n - 1) < 0.5, 1e-4, rng.uniform(0, 2e-4, n - 1))
    rf[100:400] = 1e-4
    lengths = [0, 1, 2, 5, 7, 8, 9, 100, 128, 129, 300, 1000, 8192, 8200, n - 1]
    starts = np.array([0, 100, 120, *(int(rng.integers(0, n - m)) for m in lengths)], dtype=np.int64)
    ends = np.array([n - 1, 399, 390, *(a + m for a, m in zip(starts[3:], lengths))], dtype=np.int64)
    out = np.empty((3, len(starts), K))
    sample_metrics(values, rf, starts, ends, 1e-12, math.sqrt(252), out)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        excess = values[:, 1:] / values[:, :-1] - 1.0 - rf[None, :]
        for j, (a, b) in enumerate(zip(starts, ends)):
            v = values[:, a : b + 1]
            assert np.array_equal(out[0, j], v[:, -1] / v[:, 0], equal_nan=True), j
            depth = (v / np.maximum.accumulate(v, axis=1) - 1.0).min(axis=1)
            assert np.array_equal(out[1, j], depth, equal_nan=True), j
            x = excess[:, a:b]
            if x.shape[1] > 1:
                std = x.std(axis=1, ddof=1)
                sharpe = np.where(std > 1e-12, x.mean(axis=1) / std * math.sqrt(252), np.nan)
            else:
                sharpe = np.full(K, np.nan)
            assert np.array_equal(out[2, j], sharpe, equal_nan=True), j
    assert np.isnan(out[2, 1, 3]) and np.isnan(out[2, 2, 3])  # the flat stretch has no Sharpe
    assert np.isnan(out[1, 0, 1]) and np.isnan(out[2, 0, 1])  # the NaN reaches the whole history's figures


def test_pairwise_sum_adds_in_numpys_order():
    """Sums whose last bits depend on the order of the additions: numpy's pairwise order is matched
    at every size (one by one under 8, eight running sums to 128, halves above), and a plain
    left-to-right sum differs from it somewhere, so the order is what the test checks."""
    rng = np.random.default_rng(7)
    plain_differs = False
    for n in [*range(0, 300), 1000, 4097, 8191, 8192, 8193, 17000, 40001]:
        x = rng.standard_normal(n + 9) * 10.0 ** rng.uniform(-6, 6, n + 9)
        a = int(rng.integers(0, 9))
        assert pairwise_sum(x, a, a + n) == np.stack([x, x])[:, a : a + n].sum(axis=1)[0], n
        plain_differs |= sum(x[a : a + n].tolist()) != x[a : a + n].sum()
    assert plain_differs
