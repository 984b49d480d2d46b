import math

import numpy as np
import pandas as pd
import pytest

from fedcut.analyzers.performance import max_drawdown
from fedcut.analyzers.tearsheet import (
    benchmark_statistics,
    monthly_returns,
    rolling_statistics,
    tail_statistics,
    time_in_market,
    top_drawdowns,
    yearly_returns,
)
from fedcut.core.errors import DataError

D = pd.Timestamp


def curve(values, start="2020-01-01", freq="B"):
    return pd.Series(values, index=pd.date_range(start, periods=len(values), freq=freq), dtype=float)


def from_returns(returns, start="2020-01-01"):
    return curve(100 * np.cumprod(np.r_[1.0, 1 + np.asarray(returns)]), start=start)


def test_monthly_table_by_hand():
    eq = pd.Series(
        [100.0, 110.0, 99.0, 99.0, 108.9, 120.0],
        index=pd.DatetimeIndex(["2020-11-27", "2020-11-30", "2020-12-31", "2021-02-01", "2021-02-26", "2021-03-15"]),
    )
    table = monthly_returns(eq)
    assert list(table.columns) == [
        "Jan",
        "Feb",
        "Mar",
        "Apr",
        "May",
        "Jun",
        "Jul",
        "Aug",
        "Sep",
        "Oct",
        "Nov",
        "Dec",
        "Year",
    ]
    assert list(table.index) == [2020, 2021]
    assert table.loc[2020, "Nov"] == pytest.approx(0.10)  # from the first value, 100 -> 110
    assert table.loc[2020, "Dec"] == pytest.approx(-0.10)
    assert table.loc[2020, "Year"] == pytest.approx(-0.01)
    assert math.isnan(table.loc[2021, "Jan"])  # no data in January 2021: empty, not 0
    assert table.loc[2021, "Feb"] == pytest.approx(0.10)  # from December's close, 99 -> 108.9
    assert table.loc[2021, "Mar"] == pytest.approx(120 / 108.9 - 1)
    assert table.loc[2021, "Year"] == pytest.approx(120 / 99 - 1)
    assert table.loc[2020, ["Jan", "Jun", "Oct"]].isna().all()


def test_months_compound_to_the_year():
    eq = from_returns(np.random.default_rng(0).normal(4e-4, 0.01, 700), start="2019-03-04")
    table = monthly_returns(eq)
    months = table.drop(columns="Year")
    assert ((1 + months.fillna(0)).prod(axis=1) - 1).tolist() == pytest.approx(table["Year"].tolist())
    assert table.loc[2020, "Year"] == pytest.approx(eq["2020"].iloc[-1] / eq["2019"].iloc[-1] - 1)


def test_yearly_returns_side_by_side_from_each_curves_start():
    a = curve(np.linspace(100, 150, 400), start="2020-01-01")
    b = curve(np.linspace(50, 40, 200), start="2020-09-01")
    table = yearly_returns({"strategy": a, "IWM": b})
    assert list(table.columns) == ["strategy", "IWM"] and list(table.index) == [2020, 2021]
    assert table.loc[2020, "strategy"] == pytest.approx(a["2020"].iloc[-1] / 100 - 1)
    assert table.loc[2020, "IWM"] == pytest.approx(b["2020"].iloc[-1] / 50 - 1)
    assert table.loc[2021, "IWM"] == pytest.approx(40 / b["2020"].iloc[-1] - 1)


def test_rolling_statistics_equal_the_window_computed_directly():
    rng = np.random.default_rng(1)
    bench_r = rng.normal(3e-4, 0.012, 300)
    strat_r = 0.7 * bench_r + rng.normal(1e-4, 0.004, 300)
    strategy, bench = from_returns(strat_r), from_returns(bench_r)
    rf_annual = 0.0365  # 1e-4 a calendar day
    rolled = rolling_statistics(strategy, bench, rf_annual, window=60)
    assert rolled.index[0] == strategy.index[1] and len(rolled) == 300
    assert rolled.iloc[:59].isna().all().all() and rolled.iloc[59:].notna().all().all()
    day = strategy.index[200]
    calendar_days = (strategy.index[141:201] - strategy.index[140:200]).days.to_numpy()
    rf = np.expm1(rf_annual * calendar_days / 365)  # a continuous rate, as the broker pays it
    window = slice(140, 200)  # the 60 returns ending on day 200
    excess, bench_excess = strat_r[window] - rf, bench_r[window] - rf
    assert rolled.loc[day, "sharpe"] == pytest.approx(excess.mean() / excess.std(ddof=1) * math.sqrt(252))
    assert rolled.loc[day, "volatility"] == pytest.approx(strat_r[window].std(ddof=1) * math.sqrt(252))
    assert rolled.loc[day, "beta"] == pytest.approx(np.polyfit(bench_excess, excess, 1)[0])


def test_top_drawdowns_by_hand():
    # highs 100 (d0), 120 (d3), 130 (d7); falls -20% (d1-d2), -25% (d4-d6), -10% unrecovered (d8-)
    eq = curve([100, 90, 80, 120, 100, 90, 110, 130, 117, 120], start="2020-01-06")
    days = eq.index
    found = top_drawdowns(eq, n=5)
    assert [d.depth for d in found] == pytest.approx([-0.25, -0.20, -0.10])
    assert [(d.peak, d.trough, d.recovery) for d in found] == [
        (days[3], days[5], days[7]),
        (days[0], days[2], days[3]),
        (days[7], days[8], None),
    ]
    assert [d.days_under_water for d in found] == [
        (days[7] - days[3]).days,
        (days[3] - days[0]).days,
        (days[9] - days[7]).days,
    ]
    assert found[0] == max_drawdown(eq)
    assert top_drawdowns(eq, n=2) == found[:2]
    assert top_drawdowns(curve([1, 2, 3])) == []


def test_equally_deep_drawdowns_keep_time_order():
    eq = curve([100, 50, 100, 50, 100])
    assert [d.peak for d in top_drawdowns(eq)] == [eq.index[0], eq.index[2]]


def test_benchmark_statistics_of_a_known_alpha_and_beta():
    rng = np.random.default_rng(2)
    bench_r = rng.normal(4e-4, 0.012, 500)
    bench = from_returns(bench_r)
    rf_annual = 0.02
    calendar_days = bench.index.to_series().diff().dt.days.to_numpy()[1:]
    rf = np.expm1(rf_annual * calendar_days / 365)  # a continuous rate, as the broker pays it
    strat_r = rf + 0.5 * (bench_r - rf) + 2e-4  # beta 0.5 and 2 bp a day of alpha, exactly
    out = benchmark_statistics(from_returns(strat_r), bench, rf_annual)
    assert out["beta"] == pytest.approx(0.5)
    assert out["alpha"] == pytest.approx(2e-4 * 252)
    active = strat_r - bench_r
    assert out["tracking_error"] == pytest.approx(active.std(ddof=1) * math.sqrt(252))
    assert out["information_ratio"] == pytest.approx(active.mean() / active.std(ddof=1) * math.sqrt(252))


def test_benchmark_must_cover_every_strategy_day():
    strategy = curve(np.linspace(100, 110, 30))
    with pytest.raises(DataError, match="benchmark: no value on 2020-01-01"):
        benchmark_statistics(strategy, strategy.iloc[1:])
    assert benchmark_statistics(strategy.iloc[5:], strategy)["beta"] == pytest.approx(1.0)


def test_time_in_market_counts_days_with_any_exposure():
    exposure = pd.Series([0.0, 0.5, 1.0, 0.0, 0.01], index=pd.bdate_range("2020-01-01", periods=5))
    assert time_in_market(exposure) == pytest.approx(3 / 5)
    with pytest.raises(DataError):
        time_in_market(exposure.iloc[:0])


def test_tail_statistics_by_hand():
    returns = np.array(
        [
            -0.05,
            -0.03,
            0.02,
            0.01,
            0.0,
            0.04,
            -0.01,
            0.03,
            0.01,
            -0.02,
            0.02,
            0.01,
            -0.04,
            0.05,
            0.0,
            0.01,
            -0.01,
            0.02,
            0.03,
            -0.02,
        ]
    )
    out = tail_statistics(from_returns(returns))
    assert out["hit_rate"] == pytest.approx(11 / 20)
    ordered = np.sort(returns)
    var = ordered[0] + 0.95 * (ordered[1] - ordered[0])  # 5% quantile, linear: position 0.05 x 19
    assert out["var_5"] == pytest.approx(var)
    assert out["cvar_5"] == pytest.approx(-0.05)  # only the worst day is at or below it
    n, z = len(returns), returns - returns.mean()
    m2, m3, m4 = (z**2).mean(), (z**3).mean(), (z**4).mean()
    g1, g2 = m3 / m2**1.5, m4 / m2**2 - 3
    assert out["skew"] == pytest.approx(math.sqrt(n * (n - 1)) / (n - 2) * g1)
    assert out["excess_kurtosis"] == pytest.approx((n - 1) / ((n - 2) * (n - 3)) * ((n + 1) * g2 + 6))


def test_normal_returns_have_excess_kurtosis_near_zero():
    out = tail_statistics(from_returns(np.random.default_rng(3).normal(0, 0.01, 20_000)))
    assert out["excess_kurtosis"] == pytest.approx(0.0, abs=0.1)
    assert out["var_5"] == pytest.approx(-1.645 * 0.01, rel=0.05)
    assert out["cvar_5"] == pytest.approx(-2.063 * 0.01, rel=0.05)  # phi(1.645) / 0.05 sigma


def test_the_statistics_table_leaves_what_a_short_run_cannot_give_empty():
    from fedcut.analyzers.tearsheet import STATISTICS, statistics_table

    eq = curve([100.0, 101.0, 100.5])  # three days: a beta, no skew or kurtosis
    table = statistics_table({"strategy": eq}, eq * 2, {"strategy": pd.Series(1.0, index=eq.index)})
    assert list(table.index) == list(STATISTICS)
    assert table.loc["beta", "strategy"] == pytest.approx(1.0) and table.loc["time_in_market", "strategy"] == 1.0
    assert all(table.loc[k, "strategy"] is None for k in ("hit_rate", "skew", "excess_kurtosis", "var_5", "cvar_5"))


def test_trailing_returns_and_win_loss_equal_a_pandas_recomputation(shared_data):
    """On IWM's adjusted close: every window recomputed with plain pandas lookups."""
    from fedcut.analyzers.tearsheet import trailing_returns, win_loss

    iwm = pd.read_csv(shared_data / "prices" / "IWM.csv", index_col=0, parse_dates=True)["Adj Close"].dropna()
    got = trailing_returns(iwm)
    end = iwm.index[-1]
    at = lambda day: iwm.loc[:day].iloc[-1]  # noqa: E731 - the last close on or before a day
    assert got["MTD"] == pytest.approx(
        iwm.iloc[-1] / at(pd.Timestamp(end.year, end.month, 1) - pd.Timedelta(days=1)) - 1
    )
    assert got["YTD"] == pytest.approx(iwm.iloc[-1] / at(pd.Timestamp(f"{end.year - 1}-12-31")) - 1)
    assert got["1Y"] == pytest.approx(iwm.iloc[-1] / at(end - pd.DateOffset(years=1)) - 1)
    for years in (3, 5, 10):
        assert got[f"{years}Y"] == pytest.approx(
            (iwm.iloc[-1] / at(end - pd.DateOffset(years=years))) ** (1 / years) - 1
        )
    span = (end - iwm.index[0]).days / 365.25
    assert got["all (annualised)"] == pytest.approx((iwm.iloc[-1] / iwm.iloc[0]) ** (1 / span) - 1)
    assert trailing_returns(iwm.loc[:"2001-12-31"])["3Y"] is None  # a window longer than the curve
    days = iwm.pct_change().dropna()
    month_ends = iwm.groupby(iwm.index.to_period("M")).last()
    months = month_ends.pct_change()
    months.iloc[0] = month_ends.iloc[0] / iwm.iloc[0] - 1
    w = win_loss(iwm)
    for name, r in (("day", days), ("month", months)):
        moved = r[r != 0]
        assert w[f"win rate, {name}s"] == pytest.approx((moved > 0).mean())
        assert w[f"average winning {name}"] == pytest.approx(moved[moved > 0].mean())
        assert w[f"average losing {name}"] == pytest.approx(moved[moved < 0].mean())
        assert (w[f"best {name}"], w[f"worst {name}"]) == pytest.approx((r.max(), r.min()))


def test_the_distribution_of_returns_equals_numpy_and_scipy(shared_data):
    """Monthly percentiles as numpy's linear percentile, daily skewness and excess kurtosis as
    scipy's bias-corrected estimates, on IWM's file (months from the month-end closes)."""
    from scipy import stats

    from fedcut.analyzers.tearsheet import DISTRIBUTION_QUANTILES, distribution

    iwm = pd.read_csv(shared_data / "prices" / "IWM.csv", index_col=0, parse_dates=True)["Adj Close"].dropna()
    days = iwm.pct_change().dropna().to_numpy()
    month_ends = iwm.groupby(iwm.index.to_period("M")).last()
    months = month_ends.pct_change()
    months.iloc[0] = month_ends.iloc[0] / iwm.iloc[0] - 1
    got = distribution(iwm)
    for q in DISTRIBUTION_QUANTILES:
        assert got[f"month, {q:.0%} percentile"] == pytest.approx(np.percentile(months.to_numpy(), 100 * q), rel=1e-9)
    assert got["skewness, days"] == pytest.approx(stats.skew(days, bias=False), rel=1e-9)
    assert got["excess kurtosis, days"] == pytest.approx(stats.kurtosis(days, bias=False), rel=1e-9)
    assert got["excess kurtosis, days"] > 3  # small caps' daily returns have fat tails
