import json
import math

import numpy as np
import pandas as pd
import pytest

from fedcut.analyzers.bootstrap import bootstrap_blocks, paired_bootstrap, verdict_sentence
from fedcut.analyzers.performance import cagr, daily_risk_free, sharpe_ratio
from fedcut.core.errors import ConfigError, DataError


def noise(n, seed, mean=3e-4, std=0.01):
    return np.random.default_rng(seed).normal(mean, std, n)


def test_point_estimates_are_performance_sharpe_and_cagr():
    days = pd.bdate_range("2001-01-02", periods=800)
    rf_annual = pd.Series(np.linspace(0.05, 0.01, len(days)), index=days)
    strategy = pd.Series(100 * np.cumprod(1 + noise(800, 1)), index=days)
    baseline = pd.Series(100 * np.cumprod(1 + noise(800, 2, mean=1e-4)), index=days)
    rf = daily_risk_free(rf_annual, days).to_numpy()
    out = paired_bootstrap(
        strategy.pct_change().iloc[1:].to_numpy(),
        {"iwm": baseline.pct_change().iloc[1:].to_numpy()},
        rf,
        (days[-1] - days[0]).days,
        n_resamples=50,
    )["iwm"]
    assert out["sharpe_diff"] == pytest.approx(
        sharpe_ratio(strategy, rf_annual) - sharpe_ratio(baseline, rf_annual), abs=1e-12
    )
    assert out["cagr_diff"] == pytest.approx(cagr(strategy) - cagr(baseline), abs=1e-12)


def test_identical_series_differ_by_exactly_zero():
    r = noise(1500, 3)
    out = paired_bootstrap(r, {"same": r.copy()}, np.full(1500, 1e-4), 2100)["same"]
    assert out["sharpe_diff"] == 0.0 and out["sharpe_diff_ci"] == [0.0, 0.0]
    assert out["cagr_diff"] == 0.0 and out["cagr_diff_ci"] == [0.0, 0.0]
    assert out["p_better"] == 0.5  # every resample a tie, counted half
    assert verdict_sentence("itself", out).startswith("not distinguishable from itself: Sharpe difference +0.00")


def test_large_known_edge_is_detected_both_ways():
    base = noise(2500, 4)
    edge = 0.002  # a day: Sharpe higher by 0.002 / 0.01 * sqrt(252) = 3.2
    rf = np.zeros(2500)
    out = paired_bootstrap(base + edge, {"base": base}, rf, 3600)["base"]
    true_diff = edge / base.std(ddof=1) * math.sqrt(252)
    assert out["sharpe_diff"] == pytest.approx(true_diff, rel=0.01)
    lo, hi = out["sharpe_diff_ci"]
    assert 0 < lo <= out["sharpe_diff"] <= hi
    assert out["p_better"] == 1.0
    assert out["cagr_diff_ci"][0] > 0
    assert verdict_sentence("the base", out).startswith("better than the base: ")
    worse = paired_bootstrap(base, {"edge": base + edge}, rf, 3600)["edge"]
    assert worse["sharpe_diff_ci"][1] < 0 and worse["p_better"] == 0.0
    assert verdict_sentence("the edge", worse).startswith("worse than the edge: ")


def test_resampled_statistics_equal_direct_computation_on_the_resampled_days():
    """The cumulative-sum shortcut against gathering each resample's days and computing by hand."""
    n, mean_block, n_resamples, seed = 300, 10, 200, 7
    strategy, base, rf = noise(n, 5), noise(n, 6, mean=-2e-4, std=0.02), np.full(n, 1e-4)
    span = 420
    out = paired_bootstrap(strategy, {"b": base}, rf, span, mean_block=mean_block, n_resamples=n_resamples, seed=seed)[
        "b"
    ]
    # 200 resamples of 300 days fit in one chunk, so the blocks are the first draws of the seed
    starts, lengths = bootstrap_blocks(n, mean_block, n_resamples, np.random.default_rng(seed))
    sharpe_diffs, cagr_diffs = [], []
    for row_starts, row_lengths in zip(starts, lengths):
        days = np.concatenate([(s + np.arange(k)) % n for s, k in zip(row_starts, row_lengths)])
        stats = []
        for r in (strategy, base):
            excess = r[days] - rf[days]
            stats.append(
                (excess.mean() / excess.std(ddof=1) * math.sqrt(252), np.prod(1 + r[days]) ** (365.25 / span) - 1)
            )
        sharpe_diffs.append(stats[0][0] - stats[1][0])
        cagr_diffs.append(stats[0][1] - stats[1][1])
    assert out["sharpe_diff_ci"] == pytest.approx(list(np.percentile(sharpe_diffs, [2.5, 97.5])), abs=1e-9)
    assert out["cagr_diff_ci"] == pytest.approx(list(np.percentile(cagr_diffs, [2.5, 97.5])), abs=1e-9)
    assert out["p_better"] == pytest.approx(np.mean(np.array(sharpe_diffs) > 0))


def test_blocks_fill_each_resample_exactly_with_geometric_lengths():
    starts, lengths = bootstrap_blocks(1000, 25, 400, np.random.default_rng(0))
    assert (lengths.sum(axis=1) == 1000).all()
    assert starts.min() >= 0 and starts.max() < 1000
    last = (lengths > 0).sum(axis=1) - 1  # the last used block of a row is cut short
    whole = np.ones_like(lengths, dtype=bool)
    whole[np.arange(len(last)), last] = False
    assert lengths[whole & (lengths > 0)].mean() == pytest.approx(25, rel=0.05)


def test_one_endless_block_is_a_rotation_so_the_interval_collapses():
    """With blocks longer than the series every resample is the series rotated: same Sharpe, same CAGR."""
    a, b = noise(500, 8), noise(500, 9)
    out = paired_bootstrap(a, {"b": b}, np.zeros(500), 700, mean_block=1e12, n_resamples=100)["b"]
    assert out["sharpe_diff_ci"] == pytest.approx([out["sharpe_diff"]] * 2, abs=1e-9)
    assert out["cagr_diff_ci"] == pytest.approx([out["cagr_diff"]] * 2, abs=1e-9)


def test_single_day_blocks_give_the_iid_sampling_error_of_sharpe():
    """Independent normal series: var(SR_a - SR_b) ~ 2 (1 + SR^2 / 2) / n per day (Lo 2002)."""
    n = 1000
    a, b = noise(n, 10, mean=0.0), noise(n, 11, mean=0.0)
    out = paired_bootstrap(a, {"b": b}, np.zeros(n), 1400, mean_block=1)["b"]
    lo, hi = out["sharpe_diff_ci"]
    expected_width = 2 * 1.96 * math.sqrt(2 / n) * math.sqrt(252)
    assert hi - lo == pytest.approx(expected_width, rel=0.1)


def test_same_seed_same_bytes_other_seed_other_interval():
    a, b, c = noise(900, 12), noise(900, 13), noise(900, 14)

    def run(seed):
        return json.dumps(paired_bootstrap(a, {"b": b, "c": c}, np.zeros(900), 1300, seed=seed), sort_keys=True)

    assert run(1) == run(1)
    assert json.loads(run(1))["b"]["sharpe_diff_ci"] != json.loads(run(2))["b"]["sharpe_diff_ci"]


def test_a_baseline_result_does_not_depend_on_the_other_baselines():
    a, b, c = noise(900, 15), noise(900, 16), noise(900, 17)
    alone = paired_bootstrap(a, {"b": b}, np.zeros(900), 1300)["b"]
    together = paired_bootstrap(a, {"c": c, "b": b}, np.zeros(900), 1300)["b"]
    assert alone == together


def test_verdict_sentence_wording():
    entry = {"sharpe_diff": 0.031, "sharpe_diff_ci": [-0.19, 0.25], "cagr_diff": 0.004, "cagr_diff_ci": [-0.021, 0.029]}
    assert verdict_sentence("buy-and-hold IWM", entry) == (
        "not distinguishable from buy-and-hold IWM: Sharpe difference +0.03 (95% CI -0.19 to +0.25), "
        "CAGR difference +0.4 pp (95% CI -2.1 to +2.9 pp)"
    )
    undefined = {**entry, "sharpe_diff": None, "sharpe_diff_ci": None}
    assert (
        verdict_sentence("cash", undefined)
        == "cannot be compared with cash: a Sharpe ratio is undefined (zero volatility)"
    )


def test_zero_volatility_baseline_has_no_sharpe_verdict_but_a_cagr_one():
    rf = np.full(400, 1e-4)
    out = paired_bootstrap(noise(400, 18), {"cash": rf.copy()}, rf, 560, n_resamples=100)["cash"]
    assert out["sharpe_diff"] is None and out["sharpe_diff_ci"] is None and out["p_better"] is None
    assert out["n_resamples"] == 0 and out["cagr_diff_ci"][0] < out["cagr_diff_ci"][1]


def test_series_on_other_dates_are_refused_not_paired_by_position():
    days = pd.bdate_range("2020-01-01", periods=100)
    strategy = pd.Series(noise(100, 21), index=days)
    shifted = pd.Series(noise(100, 22), index=days + pd.offsets.BDay(1))
    with pytest.raises(DataError, match="bootstrap: iwm is not dated like strategy"):
        paired_bootstrap(strategy, {"iwm": shifted}, pd.Series(0.0, index=days), 140)
    same = paired_bootstrap(strategy, {"iwm": shifted.set_axis(days)}, pd.Series(0.0, index=days), 140, n_resamples=20)
    assert same == paired_bootstrap(
        strategy.to_numpy(), {"iwm": shifted.to_numpy()}, np.zeros(100), 140, n_resamples=20
    )


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"baselines": {"iwm": np.zeros(99)}}, DataError, "iwm has 99 returns, the risk-free rate 100"),
        ({"baselines": {"iwm": np.r_[np.nan, np.zeros(99)]}}, DataError, "iwm has a missing (NaN) or infinite return"),
        ({"baselines": {"iwm": np.r_[-1.0, np.zeros(99)]}}, DataError, "iwm has a return of -100% or worse"),
        ({"mean_block": 0.5}, ConfigError, "mean_block must be at least 1 trading day"),
        ({"n_resamples": 0}, ConfigError, "n_resamples must be a whole number of at least 1"),
        ({"span_days": 0}, DataError, "span_days must be positive"),
    ],
)
def test_bad_inputs_are_refused_with_one_clear_line(kwargs, error, message):
    args = {
        "strategy": noise(100, 19),
        "baselines": {"iwm": noise(100, 20)},
        "risk_free": np.zeros(100),
        "span_days": 140,
        **kwargs,
    }
    with pytest.raises(error) as caught:
        paired_bootstrap(**args)
    assert message in str(caught.value) and "\n" not in str(caught.value)
