import numpy as np
import pandas as pd
import pytest

from fedcut.analyzers.episodes import (
    cycle_windows,
    episode_table,
    holdings_mix,
    recession_label,
    regime_mix,
    return_after,
    return_before,
)
from fedcut.core.errors import DataError

D = pd.Timestamp
CUTS = [
    D("1995-07-06"),
    D("1998-09-29"),
    D("2001-01-03"),
    D("2007-09-18"),
    D("2019-07-31"),
    D("2024-09-18"),
    D("2030-01-02"),
]


def test_cycle_windows_select_clip_and_flag():
    windows = cycle_windows(CUTS, data_start=D("2000-05-26"), data_end=D("2025-09-26"))
    by_cycle = {w.cycle: w for w in windows}
    # 1995 ends (1997-07) before the data starts; 2030 starts after it ends
    assert list(by_cycle) == ["1998", "2001", "2007", "2019", "2024"]

    w98 = by_cycle["1998"]
    assert (w98.nominal_start, w98.start, w98.end) == (D("1998-03-29"), D("2000-05-26"), D("2000-09-29"))
    assert w98.complete and w98.partial and w98.coverage.startswith("data starts 2000-05-26")

    w01 = by_cycle["2001"]
    assert (w01.start, w01.end) == (D("2000-07-03"), D("2003-01-03"))
    assert w01.complete and not w01.partial and w01.coverage == "full"

    w24 = by_cycle["2024"]
    assert (w24.start, w24.end, w24.nominal_end) == (D("2024-03-18"), D("2025-09-26"), D("2026-09-18"))
    assert not w24.complete and w24.partial and "data ends 2025-09-26" in w24.coverage


def test_cycle_windows_custom_span_and_open_start():
    (w,) = cycle_windows([D("2019-07-31")], months_before=1, months_after=3, data_end=D("2025-01-01"))
    assert (w.start, w.end, w.complete) == (D("2019-06-30"), D("2019-10-31"), True)


def two_curves():
    """Business days 2018-2020; the strategy's all-time high is before the window."""
    days = pd.bdate_range("2018-01-01", "2020-12-31")
    strategy = pd.Series(100.0, index=days)
    strategy[:"2018-12-31"] = 200.0  # a high the window must not see
    strategy["2019-03-01":"2019-03-29"] = 80.0  # -20% inside the window
    benchmark = pd.Series(np.linspace(100, 150, len(days)), index=days)
    benchmark["2019-05-01":] *= 0.6  # -40%, never recovered
    return strategy, benchmark


def test_episode_table_drawdowns_inside_the_window():
    strategy, benchmark = two_curves()
    (window,) = cycle_windows([D("2019-07-31")], months_before=6, months_after=12, data_end=D("2020-12-31"))
    row = episode_table(strategy, benchmark, [window]).iloc[0]
    assert (row.cycle, row.first_cut, row.window_start, row.window_end) == (
        "2019",
        "2019-07-31",
        "2019-01-31",
        "2020-07-31",
    )
    assert row.strategy_max_drawdown == pytest.approx(-0.2)
    assert (row.strategy_peak, row.strategy_trough, row.strategy_recovery) == ("2019-02-28", "2019-03-01", "2019-04-01")
    assert row.strategy_days_under_water == 32
    assert row.strategy_return == pytest.approx(0.0)
    assert row.benchmark_max_drawdown == pytest.approx(-0.4, abs=1e-3)
    assert row.benchmark_peak == "2019-04-30" and pd.isna(row.benchmark_recovery)
    assert row.benchmark_days_under_water == (D("2020-07-31") - D("2019-04-30")).days
    assert pd.isna(row.hedge_pnl) and pd.isna(row.regime_mix)


def test_returns_from_the_first_cut_and_horizons_beyond_the_data():
    strategy, benchmark = two_curves()
    (window,) = cycle_windows([D("2019-07-31")], data_end=D("2020-12-31"))
    row = episode_table(strategy, benchmark, [window]).iloc[0]
    assert not row.complete and row.window_end == "2020-12-31"
    b = benchmark
    assert row.benchmark_return_6m == pytest.approx(b["2020-01-31"] / b["2019-07-31"] - 1)
    assert row.benchmark_return_12m == pytest.approx(b["2020-07-31"] / b["2019-07-31"] - 1)
    assert pd.isna(row.benchmark_return_24m) and pd.isna(row.strategy_return_24m)


def test_return_after_uses_last_close_on_or_before_each_date():
    eq = pd.Series([100.0, 110.0, 121.0], index=pd.DatetimeIndex(["2020-01-03", "2020-07-02", "2020-07-06"]))
    assert return_after(eq, D("2020-01-04"), 6) == pytest.approx(0.10)  # Sat -> Fri close; 2020-07-04 -> 07-02
    assert return_after(eq, D("2020-01-02"), 6) is None  # the cut is before the data
    assert return_after(eq, D("2020-01-10"), 6) is None  # the horizon is after the data


def test_the_run_up_before_the_cut_is_the_3_months_to_the_cut_day():
    """2019-07-31's three months start on 2019-04-30 (not 07-30 shifted back and forth), so the
    run-up ends exactly at the cut's close."""
    strategy, benchmark = two_curves()
    (window,) = cycle_windows([D("2019-07-31")], data_end=D("2020-12-31"))
    row = episode_table(strategy, benchmark, [window]).iloc[0]
    b = benchmark
    assert row.benchmark_return_before_3m == pytest.approx(b["2019-07-31"] / b["2019-04-30"] - 1)
    assert row.strategy_return_before_3m == pytest.approx(0.0)  # 100 on both days
    eq = pd.Series(
        [100.0, 90.0, 99.0, 98.0], index=pd.DatetimeIndex(["2020-01-03", "2020-04-02", "2020-07-03", "2020-07-06"])
    )
    assert return_before(eq, D("2020-07-04"), 3) == pytest.approx(0.10)  # Sat -> Fri; 2020-04-04 -> 04-02
    assert return_before(eq, D("2020-04-02"), 3) is None  # three months before is before the data
    assert return_before(eq, D("2020-07-07"), 3) is None  # the cut is after the data


def test_recession_label_names_each_spell_touching_the_span():
    months = pd.date_range("2000-01-01", "2009-12-01", freq="MS")
    usrec = pd.Series(0.0, index=months)
    usrec["2001-04-01":"2001-11-01"] = 1.0
    usrec["2008-01-01":"2009-06-01"] = 1.0
    assert recession_label(usrec, D("2000-07-03"), D("2003-01-03")) == "NBER recession 2001-04 to 2001-11"
    assert (
        recession_label(usrec, D("2001-11-30"), D("2008-01-02"))
        == "NBER recession 2001-04 to 2001-11; NBER recession 2008-01 to 2009-06"
    )  # each spell whole
    assert recession_label(usrec, D("2002-01-01"), D("2007-12-31")) == "no NBER recession"
    assert (
        recession_label(usrec, D("2009-01-01"), D("2010-03-31"))
        == "NBER recession 2008-01 to 2009-06 (USREC known to 2009-12)"
    )


def test_hedge_regimes_and_holdings_columns():
    strategy, benchmark = two_curves()
    (window,) = cycle_windows([D("2019-07-31")], months_before=0, months_after=1, data_end=D("2020-12-31"))
    days = strategy.index
    hedge = pd.Series(10.0, index=days)
    regimes = pd.Series("neutral", index=days)
    regimes["2019-08-01":"2019-08-12"] = "soft_landing"
    regimes["2019-08-13":"2019-08-16"] = None
    weights = pd.DataFrame({"w_IWM": 0.6, "w_SHY": 0.4, "w_XLP": 0.0, "cash": 1.0}, index=days)
    row = episode_table(strategy, benchmark, [window], hedge_pnl=hedge, regimes=regimes, weights=weights).iloc[0]
    n = len(strategy["2019-07-31":"2019-08-31"])
    assert n == 23
    assert row.hedge_pnl == pytest.approx(10.0 * n)
    assert row.hedge_pnl_fraction == pytest.approx(10.0 * n / 100.0)
    assert row.regime_mix == "neutral 48%, soft_landing 35%, unknown 17%"  # 11, 8 and 4 of 23 days
    assert row.holdings_mix == "IWM 60%, SHY 40%"
    assert (row.w_IWM, row.w_SHY, row.w_XLP) == (pytest.approx(0.6), pytest.approx(0.4), 0.0)
    assert "cash" not in row.index


def test_mix_strings():
    assert regime_mix(pd.Series(["a", "b", "b", None])) == "b 50%, a 25%, unknown 25%"
    assert holdings_mix(pd.Series({"w_IWM": 0.25, "w_TLT": 0.75, "w_VO": 0.001})) == "TLT 75%, IWM 25%"


def test_series_missing_from_a_window_is_an_error():
    strategy, benchmark = two_curves()
    (window,) = cycle_windows([D("2019-07-31")], data_end=D("2020-12-31"))
    with pytest.raises(DataError, match="benchmark: no values in the 2019 window"):
        episode_table(strategy, benchmark["2021":], [window])
