import math
from itertools import combinations

import numpy as np
import pytest

from fedcut.analyzers.overfitting import (
    Curves,
    backtest_overfitting,
    deflated_sharpe_ratio,
    expected_max_sharpe,
    normal_cdf,
    normal_quantile,
    overfitting_summary,
    probabilistic_sharpe,
    trial_sharpe_ratios,
)
from fedcut.core.errors import ConfigError, DataError


def trials(n_days, n_configs, seed, skilled=None, edge=0.0):
    """Pure-noise daily returns (1% a day, no mean); column `skilled` gets `edge` a day on top."""
    m = np.random.default_rng(seed).normal(0.0, 0.01, (n_days, n_configs))
    if skilled is not None:
        m[:, skilled] += edge
    return m


def test_normal_quantile_inverts_the_cdf_to_full_precision():
    assert normal_quantile(0.975) == pytest.approx(1.959963984540054, abs=1e-14)
    assert normal_quantile(0.01) == pytest.approx(-2.3263478740408408, abs=1e-14)
    assert normal_quantile(0.5) == 0.0
    for p in [1e-12, 1e-6, 0.0242, 0.0243, 0.3, 0.9, 0.9758, 1 - 1e-9]:
        assert normal_cdf(normal_quantile(p)) == pytest.approx(p, rel=1e-12)
    with pytest.raises(ValueError):
        normal_quantile(1.0)


def test_expected_max_sharpe_approximates_the_mean_maximum_of_normals():
    """The paper's approximation overstates E[max] by ~2% at 10 trials and less with more."""
    rng = np.random.default_rng(0)
    errors = []
    for n in (10, 100, 1000):
        simulated = rng.standard_normal((4000, n)).max(axis=1).mean()
        errors.append(expected_max_sharpe(n, 1.0) / simulated - 1)
    assert 0 < errors[2] < errors[1] < errors[0] < 0.03
    assert expected_max_sharpe(100, 4.0) == pytest.approx(2 * expected_max_sharpe(100, 1.0))
    assert expected_max_sharpe(1, 4.0) == 0.0


def test_the_papers_numerical_example():
    """Bailey & Lopez de Prado (2014), numerical example: 100 trials, annualised V[SR] = 0.5,
    selected SR = 2.5 annualised, 1,250 daily returns, skew -3, kurtosis 10, 250 days a year:
    SR_0 = 0.1132 per day and DSR = 0.9004."""
    sr0 = expected_max_sharpe(100, 0.5 / 250)
    assert sr0 == pytest.approx(0.1132, abs=5e-5)
    assert probabilistic_sharpe(2.5 / math.sqrt(250), sr0, 1250, -3.0, 10.0) == pytest.approx(0.9004, abs=5e-5)


def test_deflated_sharpe_with_one_trial_is_the_probabilistic_sharpe_against_zero():
    r = np.random.default_rng(1).normal(4e-4, 0.01, 2000)
    rf = np.full(2000, 1e-4)
    out = deflated_sharpe_ratio(r, [1.0, 0.2], risk_free=rf, n_trials=2)
    excess = r - rf
    sr = excess.mean() / excess.std(ddof=1)
    assert out.sharpe == pytest.approx(sr * math.sqrt(252))
    z = excess - excess.mean()
    skew, kurt = (z**3).mean() / (z**2).mean() ** 1.5, (z**4).mean() / (z**2).mean() ** 2
    assert (out.skew, out.kurtosis) == pytest.approx((skew, kurt))
    psr0 = 0.5 * math.erfc(-sr * math.sqrt(1999) / math.sqrt(1 - skew * sr + (kurt - 1) / 4 * sr**2) / math.sqrt(2))
    # two trials whose Sharpe ratios differ: SR_0 > 0, so the DSR is below the PSR against 0
    assert out.dsr < psr0
    sd_daily = np.std([1.0, 0.2], ddof=1) / math.sqrt(252)
    z2 = (1 - 0.5772156649015329) * normal_quantile(0.5) + 0.5772156649015329 * normal_quantile(1 - 1 / (2 * math.e))
    assert out.expected_max_sharpe == pytest.approx(sd_daily * z2 * math.sqrt(252))


def test_moments_of_a_two_point_series():
    """Returns alternating +a, -a around their mean: skew 0 and plain kurtosis exactly 1."""
    r = np.tile([0.011, -0.009], 500)
    out = deflated_sharpe_ratio(r, [0.5, 0.1, 0.3])
    assert out.skew == pytest.approx(0.0, abs=1e-9) and out.kurtosis == pytest.approx(1.0)


def test_more_trials_deflate_more():
    r = trials(1500, 1, 2, skilled=0, edge=0.001)[:, 0]
    dsr = [deflated_sharpe_ratio(r, [0.0, 1.0], n_trials=n).dsr for n in (2, 10, 100, 10_000)]
    assert dsr == sorted(dsr, reverse=True) and dsr[0] > dsr[-1]


def scipy_deflated_sharpe(returns, risk_free, trial_sharpes, benchmark_sharpe):
    """Bailey & Lopez de Prado (2014), eq. 2 and the SR_0 of the False Strategy theorem, written out
    with scipy: the trials' Sharpe ratios centred on `benchmark_sharpe` (annualised) instead of 0."""
    from scipy.stats import kurtosis, norm, skew

    excess = returns - risk_free
    sr = excess.mean() / excess.std(ddof=1)
    n = len(trial_sharpes)
    spread = np.std(trial_sharpes, ddof=1) / math.sqrt(252)
    gamma = 0.5772156649015329
    sr0 = benchmark_sharpe / math.sqrt(252) + spread * (
        (1 - gamma) * norm.ppf(1 - 1 / n) + gamma * norm.ppf(1 - 1 / (n * math.e))
    )
    g3, g4 = skew(excess), kurtosis(excess, fisher=False)
    return norm.cdf((sr - sr0) * math.sqrt(len(excess) - 1) / math.sqrt(1 - g3 * sr + (g4 - 1) / 4 * sr**2)), sr0


def test_deflated_sharpe_against_buy_and_hold_equals_the_paper_recomputed_with_scipy():
    """Skewed, fat-tailed crafted returns (a calm normal day or, 3% of days, a crash), a risk-free
    rate that moves, 50 trials: the DSR against zero and against a benchmark's Sharpe of 0.4."""
    rng = np.random.default_rng(21)
    crash = rng.random(3000) < 0.03
    r = np.where(crash, rng.normal(-0.03, 0.02, 3000), rng.normal(0.0012, 0.008, 3000))
    rf = np.linspace(1e-4, 2e-5, 3000)
    trial = rng.normal(0.3, 0.25, 50)
    for bench in (0.0, 0.4):
        expected, sr0 = scipy_deflated_sharpe(r, rf, trial, bench)
        out = deflated_sharpe_ratio(r, trial, risk_free=rf, benchmark_sharpe=bench)
        assert out.dsr == pytest.approx(expected, rel=1e-9, abs=1e-12)
        assert out.expected_max_sharpe == pytest.approx(sr0 * math.sqrt(252), rel=1e-12)
        assert out.benchmark_sharpe == bench
    assert out.skew < -1 and out.kurtosis > 6  # the crafted tails matter to the result
    assert deflated_sharpe_ratio(r, trial, risk_free=rf).dsr > out.dsr > 0.0  # a higher bar, a lower probability
    with pytest.raises(DataError, match="benchmark's Sharpe must be a finite number"):
        deflated_sharpe_ratio(r, trial, risk_free=rf, benchmark_sharpe=math.nan)


def naive_cscv(m, s):
    """The paper's procedure written out: concatenate the chosen blocks, compute every Sharpe directly."""
    t, n = m.shape
    m = m[t % s :]
    blocks = np.split(m, s)
    logits, pairs = [], []
    for chosen in combinations(range(s), s // 2):
        train = np.concatenate([blocks[i] for i in chosen])
        test = np.concatenate([blocks[i] for i in range(s) if i not in chosen])
        sr_train = train.mean(0) / train.std(0, ddof=1) * math.sqrt(252)
        sr_test = test.mean(0) / test.std(0, ddof=1) * math.sqrt(252)
        best = int(np.argmax(sr_train))
        rank = 1 + sum(sr_test < sr_test[best]) + (sum(sr_test == sr_test[best]) - 1) / 2
        w = rank / (n + 1)
        logits.append(math.log(w / (1 - w)))
        pairs.append((sr_train[best], sr_test[best]))
    return np.array(logits), np.array(pairs)


def test_cscv_equals_the_procedure_written_out():
    m = trials(6 * 40 + 3, 7, 3)
    m[:, 5] = m[:, 2]  # an exact duplicate: tied ranks are averaged
    m[:, 6] += 0.0005
    out = backtest_overfitting(m, n_blocks=6)
    logits, pairs = naive_cscv(m, 6)
    assert out.n_splits == math.comb(6, 3) and out.n_days_used == 240
    assert np.sort(out.logits) == pytest.approx(np.sort(logits), abs=1e-9)
    got = np.column_stack([out.is_sharpe, out.oos_sharpe])
    assert got[np.lexsort(got.T[::-1])] == pytest.approx(pairs[np.lexsort(pairs.T[::-1])], abs=1e-9)
    assert out.pbo == pytest.approx(np.mean(logits <= 0))
    assert out.prob_oos_loss == pytest.approx(np.mean(pairs[:, 1] < 0))


def test_curves_read_in_uneven_chunks_give_the_matrix_figures_to_the_bit():
    """A sweep reads its configurations' returns from the store a chunk at a time: however they
    are cut, every configuration's Sharpe and every split of the CSCV come out the same, bit for bit,
    as from the whole float32 matrix; a chunk too few or of the wrong length is refused."""
    m = trials(16 * 25 + 7, 11, 8).astype(np.float32)
    rf = np.linspace(1e-4, 3e-5, len(m))
    inside = slice(30, 300)
    cuts = [0, 4, 5, 11]  # chunks of 4, 1 and 6 configurations

    def chunks():
        return (np.ascontiguousarray(m.T[a:b]) for a, b in zip(cuts, cuts[1:]))

    curves = Curves(len(m), m.shape[1], chunks)
    whole, streamed = backtest_overfitting(m, rf), backtest_overfitting(curves, rf)
    for name in ("logits", "is_sharpe", "oos_sharpe"):
        assert np.array_equal(getattr(whole, name), getattr(streamed, name))
    assert whole.pbo == streamed.pbo
    assert np.array_equal(trial_sharpe_ratios(curves, rf, inside), trial_sharpe_ratios(m[inside], rf[inside]))
    # each Sharpe recomputed by hand, column by column in float64
    excess = m[inside].astype(float) - rf[inside, None]
    assert trial_sharpe_ratios(curves, rf, inside) == pytest.approx(
        excess.mean(axis=0) / excess.std(axis=0, ddof=1) * math.sqrt(252), rel=1e-12
    )
    with pytest.raises(DataError, match="10 curves read, 11 expected"):
        trial_sharpe_ratios(Curves(len(m), 11, lambda: iter([m.T[:10]])), rf)
    with pytest.raises(DataError, match="not curves x"):
        trial_sharpe_ratios(Curves(len(m), 11, lambda: iter([m.T[:, 1:]])), rf)


def test_fewer_splits_at_once_for_many_configurations_give_the_same_splits_to_the_bit(monkeypatch):
    """Past SPLIT_CELLS (pair of splits, configuration) cells the CSCV takes fewer pairs of splits at a
    time, so its memory stays bounded at a million configurations: every split comes out the same."""
    import fedcut.analyzers.overfitting as overfitting

    m = trials(16 * 25 + 3, 13, 9)
    whole = backtest_overfitting(m)
    monkeypatch.setattr(overfitting, "SPLIT_CELLS", 13 * 3)  # 3 pairs of splits at a time, not 16
    fewer = backtest_overfitting(m)
    for name in ("logits", "is_sharpe", "oos_sharpe"):
        assert np.array_equal(getattr(whole, name), getattr(fewer, name))
    assert fewer.n_splits == math.comb(16, 8)


def test_cscv_drops_the_oldest_days_and_subtracts_the_risk_free_rate():
    m = trials(16 * 30 + 11, 12, 4)
    rf = np.linspace(2e-4, 0.0, len(m))
    with_rf = backtest_overfitting(m, risk_free=rf)
    by_hand = backtest_overfitting((m - rf[:, None])[11:])
    assert with_rf.n_days_used == 480 and np.array_equal(with_rf.logits, by_hand.logits)
    assert np.array_equal(with_rf.oos_sharpe, by_hand.oos_sharpe)


def test_pure_noise_trials_overfit_and_do_not_deflate_to_significance():
    """Without skill the in-sample best lands at or below the out-of-sample median half of the
    time (PBO 0.5 in expectation) and its Sharpe is what the number of trials predicts."""
    pbos, dsrs = [], []
    for seed in range(12):
        summary = overfitting_summary(trials(1600, 40, 100 + seed), n_blocks=8)
        pbos.append(summary["pbo"]["pbo"])
        dsrs.append(summary["deflated_sharpe"]["dsr"])
    assert 0.4 <= np.mean(pbos) <= 0.65
    assert max(dsrs) < 0.95 and np.median(dsrs) < 0.8


def test_one_skilled_trial_among_noise_is_found_not_overfit_and_significant():
    m = trials(2000, 40, 5, skilled=17, edge=0.002)  # Sharpe ~3.2 a year against 0 for the rest
    summary = overfitting_summary(m)
    assert summary["best_column"] == 17
    assert summary["pbo"]["pbo"] < 0.05
    assert summary["deflated_sharpe"]["dsr"] > 0.99
    assert summary["best_sharpe"] == pytest.approx(trial_sharpe_ratios(m)[17])
    assert summary["n_trials"] == 40 and summary["pbo"]["n_splits"] == math.comb(16, 8)


def test_zero_volatility_configuration_counts_as_sharpe_zero():
    m = trials(800, 4, 6)
    m[:, 0] = 0.0  # never leaves cash: no excess return at all
    assert trial_sharpe_ratios(m)[0] == 0.0
    assert np.isfinite(backtest_overfitting(m, n_blocks=4).logits).all()


@pytest.mark.parametrize(
    "call, error, message",
    [
        (
            lambda: backtest_overfitting(trials(320, 5, 0), n_blocks=5),
            ConfigError,
            "n_blocks must be an even whole number",
        ),
        (
            lambda: backtest_overfitting(trials(20, 5, 0), n_blocks=16),
            DataError,
            "20 days cannot be cut into 16 blocks",
        ),
        (lambda: backtest_overfitting(trials(320, 1, 0)), DataError, "at least 2 configurations"),
        (lambda: backtest_overfitting(np.where(np.eye(320, 5) > 0, np.nan, 0.01)), DataError, "missing (NaN)"),
        (lambda: backtest_overfitting(trials(320, 5, 0), risk_free=np.zeros(319)), DataError, "risk_free must be 320"),
        (lambda: deflated_sharpe_ratio(np.zeros(100) + 0.01, [0.1, 0.2]), DataError, "zero volatility"),
        (lambda: deflated_sharpe_ratio(trials(100, 1, 0)[:, 0], [0.1]), DataError, "at least 2 are needed"),
        (
            lambda: deflated_sharpe_ratio(trials(100, 1, 0)[:, 0], [0.1, 0.2, 0.3], n_trials=2),
            ConfigError,
            "n_trials = 2 is below",
        ),
    ],
)
def test_bad_inputs_are_refused_with_one_clear_line(call, error, message):
    with pytest.raises(error) as caught:
        call()
    assert message in str(caught.value) and "\n" not in str(caught.value)
