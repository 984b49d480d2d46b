"""The verdict cycle by cycle: the exact binomial interval against scipy's, the count of cycles won
(partial ones left out, ties no win, overlapping windows counted), the best baseline's rule, and the
minimum track record against the closed-form standard error of a Sharpe difference."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from fedcut.analyzers.bootstrap import paired_bootstrap
from fedcut.analyzers.cycle_verdict import (
    best_baseline,
    clopper_pearson,
    cycle_tally,
    min_track_record,
    tally_words,
    track_record_words,
)


@pytest.mark.parametrize("k,n", [(0, 1), (1, 1), (0, 7), (3, 7), (7, 7), (15, 25), (25, 25), (1, 26), (12, 40)])
def test_the_interval_is_scipys_exact_clopper_pearson(k, n):
    expected = stats.binomtest(k, n).proportion_ci(confidence_level=0.95, method="exact")
    assert clopper_pearson(k, n) == pytest.approx([expected.low, expected.high], abs=1e-12)
    assert clopper_pearson(k, n, 0.9) == pytest.approx(
        list(stats.binomtest(k, n).proportion_ci(confidence_level=0.9, method="exact")), abs=1e-12
    )


def test_no_cycle_has_no_interval():
    assert clopper_pearson(0, 0) is None
    tally = cycle_tally([])
    assert tally["n"] == 0 and tally["shallower_drawdown"]["ci"] is None
    assert tally_words(tally, "IWM") == "no complete easing cycle to count against IWM"


def _row(cycle, start, end, s_dd, b_dd, s_ret, b_ret, complete=True):
    return {
        "cycle": cycle,
        "window_start": start,
        "window_end": end,
        "complete": complete,
        "strategy_max_drawdown": s_dd,
        "benchmark_max_drawdown": b_dd,
        "strategy_return": s_ret,
        "benchmark_return": b_ret,
    }


def test_the_tally_counts_complete_cycles_only_and_a_tie_is_no_win():
    rows = [
        _row("1990", "1990-01-02", "1991-12-31", -0.10, -0.30, 0.20, 0.10),  # both won
        _row("1995", "1995-01-03", "1996-12-31", -0.20, -0.20, 0.10, 0.10),  # tie on both: neither
        _row("1998", "1996-06-03", "1998-12-31", -0.25, -0.20, 0.05, 0.30),  # lost both; overlaps 1995
        _row("2024", "2024-01-02", "2025-09-26", -0.01, -0.50, 0.90, 0.00, complete=False),
    ]  # would win: left out
    t = cycle_tally(rows)
    assert t["n"] == 3 and t["excluded"] == ["2024"] and t["overlapping"] == 2
    assert (t["shallower_drawdown"]["k"], t["higher_return"]["k"]) == (1, 1)
    assert t["shallower_drawdown"]["share"] == pytest.approx(1 / 3)
    assert t["higher_return"]["ci"] == pytest.approx(
        list(stats.binomtest(1, 3).proportion_ci(method="exact")), abs=1e-12
    )
    words = tally_words(t, "buy-and-hold IWM")
    assert "shallower drawdown in 1 of 3 (33%" in words and "left out" in words and "2024" in words
    assert "2 of the 3 windows overlap" in words


def test_the_best_baseline_is_the_highest_sharpe_other_than_buy_and_hold():
    figures = {
        "buy_and_hold": {"sharpe": 0.9},
        "spy": {"sharpe": 0.4},
        "credit_rule": {"sharpe": 0.53},
        "trend_200d": {"sharpe": 0.53},
        "vix_rule": {"sharpe": None},
    }
    assert best_baseline(figures) == "credit_rule"  # the tie goes to the first listed
    assert best_baseline({"buy_and_hold": {"sharpe": 1.0}}) is None


def test_the_track_record_is_never_when_the_difference_is_not_positive():
    for diff in (0.0, -0.1):
        entry = min_track_record(diff, 0.05, 25.0, 4)
        assert entry["never"] and entry["years"] is None
    assert min_track_record(None, None, 25.0, 4)["years"] is None


def test_the_track_record_is_shorter_than_the_run_exactly_when_the_difference_is_z_errors_from_zero():
    z = stats.norm.ppf(0.975)
    for diff, se in ((0.12, 0.09), (0.30, 0.10), (0.196, 0.1)):
        entry = min_track_record(diff, se, 71.0, 26)
        assert entry["years"] == pytest.approx(71.0 * (z * se / diff) ** 2, rel=1e-12)
        assert entry["cycles"] == pytest.approx(entry["years"] * 26 / 71.0, rel=1e-12)
        assert (entry["years"] < 71.0) == (diff - z * se > 1e-12)


def test_the_bootstrap_error_of_a_sharpe_difference_matches_the_closed_form():
    """For i.i.d. normal returns, an i.i.d. bootstrap (mean block 1 day) gives the standard error of
    the Sharpe difference that Jobson-Korkie's formula as corrected by Memmel (2003) gives; the track
    record from it is then that formula's minimum track record length."""
    rng = np.random.default_rng(7)
    n, rho = 5000, 0.8
    sr_a, sr_b, vol = 0.06, 0.03, 0.01  # per day
    common = rng.standard_normal(n)
    a = vol * (rho**0.5 * common + (1 - rho) ** 0.5 * rng.standard_normal(n)) + sr_a * vol
    b = vol * (rho**0.5 * common + (1 - rho) ** 0.5 * rng.standard_normal(n)) + sr_b * vol
    rf = np.zeros(n)
    out = paired_bootstrap(a, {"b": b}, rf, span_days=n * 365.25 / 252, mean_block=1, n_resamples=4000, seed=3)["b"]
    # the closed form, on the sample's own moments (per day), annualised by sqrt(252)
    s_a, s_b = a.mean() / a.std(ddof=1), b.mean() / b.std(ddof=1)
    r = np.corrcoef(a, b)[0, 1]
    variance = (2 * (1 - r) + 0.5 * (s_a**2 + s_b**2 - 2 * s_a * s_b * r**2)) / n
    closed_se = math.sqrt(variance * 252)
    assert out["sharpe_diff_se"] == pytest.approx(closed_se, rel=0.05)
    years = n / 252
    closed = min_track_record(out["sharpe_diff"], closed_se, years, 1)["years"]
    boot = min_track_record(out["sharpe_diff"], out["sharpe_diff_se"], years, 1)["years"]
    assert boot == pytest.approx(closed, rel=0.1)


def test_a_track_record_beyond_a_thousand_years_is_said_so():
    assert track_record_words(min_track_record(0.001, 0.1, 25.0, 4)) == (
        "distinguishable at 95% only after more than 1,000 years of track record (minimum track record)"
    )
    assert track_record_words(min_track_record(-0.1, 0.1, 25.0, 4)) == (
        "minimum track record: never (the Sharpe difference is not positive)"
    )
    assert track_record_words(min_track_record(0.12, 0.09, 71.0, 26)).startswith(
        "distinguishable at 95% after 153 years (56 easing cycles)"
    )
