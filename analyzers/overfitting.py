"""Did the sweep find skill or luck? The Deflated Sharpe Ratio and the Probability of Backtest Overfitting.

Both take the daily returns of every configuration a sweep tried (a T x N matrix, one column
per configuration) and ask how much of the best one's Sharpe ratio the search itself explains:

- the Deflated Sharpe Ratio (Bailey & Lopez de Prado 2014, "The Deflated Sharpe Ratio:
  Correcting for Selection Bias, Backtest Overfitting and Non-Normality", J. Portfolio
  Management 40(5):94-107) is the probability that the selected configuration's true Sharpe
  exceeds the Sharpe the best of `n_trials` unskilled configurations would show by chance;
  "unskilled" means a true Sharpe of zero in the paper, or of a benchmark's (buy-and-hold's)
  when one is given: the bar a rule must clear to be worth more than holding the index;
- the Probability of Backtest Overfitting (Bailey, Borwein, Lopez de Prado & Zhu 2015, "The
  Probability of Backtest Overfitting", J. Computational Finance 20(4)) is, over every way of
  splitting the history's S blocks into two halves, the share of splits in which the
  configuration that is best in one half ranks at or below the median in the other.

Sharpe ratios are the project's (mean daily excess return / std with ddof=1, x sqrt(252) where
annualised). No scipy: the normal CDF comes from `math.erfc`, its inverse from Acklam's rational
approximation polished by one Halley step to full double precision.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import combinations

import numpy as np

from fedcut.analyzers.performance import TRADING_DAYS_PER_YEAR, ZERO_VOLATILITY
from fedcut.core.errors import ConfigError, DataError

CSCV_BLOCKS = (
    16  # time blocks S of the CSCV: C(16, 8) = 12,870 splits, the paper's choice; each block of 25 years is ~1.6 years
)
CHUNK_CONFIGURATIONS = 256  # configurations read at once (`_excess_chunks`): memory stays flat whatever N
SPLITS_PER_CHUNK = 16  # pairs of splits evaluated at once: arrays of 128 kB per 1,000 configurations stay in cache
# At most this many (pair of splits, configuration) cells at once: beyond 131,072 configurations fewer pairs
# are taken together, so each of the arrays of a chunk stays at 16 MB (the sums are the same, to the bit)
SPLIT_CELLS = 2**21
EULER_GAMMA = 0.5772156649015329  # Euler-Mascheroni constant, in the expected maximum of N normals

# Acklam's rational approximation of the inverse normal CDF (relative error < 1.15e-9 before refinement)
_A = (
    -3.969683028665376e01,
    2.209460984245205e02,
    -2.759285104469687e02,
    1.383577518672690e02,
    -3.066479806614716e01,
    2.506628277459239e00,
)
_B = (-5.447609879822406e01, 1.615858368580409e02, -1.556989798598866e02, 6.680131188771972e01, -1.328068155288572e01)
_C = (
    -7.784894002430293e-03,
    -3.223964580411365e-01,
    -2.400758277161838e00,
    -2.549732539343734e00,
    4.374664141464968e00,
    2.938163982698783e00,
)
_D = (7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e00, 3.754408661907416e00)
_P_LOW = 0.02425  # below this (and above 1 - it) the tail form of the approximation applies


def normal_cdf(x: float) -> float:
    """Standard normal distribution function, accurate in both tails."""
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


def normal_quantile(p: float) -> float:
    """Inverse of `normal_cdf` for 0 < p < 1 (Acklam's algorithm plus one Halley step)."""
    if not 0.0 < p < 1.0:
        raise ValueError(f"normal_quantile: p must lie strictly between 0 and 1, got {p!r}")
    if p < _P_LOW or p > 1.0 - _P_LOW:
        q = math.sqrt(-2.0 * math.log(min(p, 1.0 - p)))
        x = (((((_C[0] * q + _C[1]) * q + _C[2]) * q + _C[3]) * q + _C[4]) * q + _C[5]) / (
            (((_D[0] * q + _D[1]) * q + _D[2]) * q + _D[3]) * q + 1.0
        )
        x = x if p < _P_LOW else -x
    else:
        q = p - 0.5
        r = q * q
        x = (
            (((((_A[0] * r + _A[1]) * r + _A[2]) * r + _A[3]) * r + _A[4]) * r + _A[5])
            * q
            / (((((_B[0] * r + _B[1]) * r + _B[2]) * r + _B[3]) * r + _B[4]) * r + 1.0)
        )
    error = normal_cdf(x) - p
    u = error * math.sqrt(2.0 * math.pi) * math.exp(x * x / 2.0)
    return x - u / (1.0 + x * u / 2.0)


def expected_max_sharpe(n_trials: int, sharpe_variance: float) -> float:
    """Expected maximum Sharpe of `n_trials` unskilled trials whose Sharpe ratios vary with `sharpe_variance`.

    Bailey & Lopez de Prado (2014), eq. for SR_0 (from the False Strategy theorem):
    sqrt(V[SR_n]) * ((1 - gamma) * Z^-1[1 - 1/N] + gamma * Z^-1[1 - 1/(N e)]), with gamma the
    Euler-Mascheroni constant and the true Sharpe of every trial 0. One trial: 0 (no selection).
    In whatever units `sharpe_variance` is (per day, or annualised).
    """
    if n_trials < 1:
        raise ValueError(f"expected_max_sharpe: n_trials must be at least 1, got {n_trials}")
    if n_trials == 1:
        return 0.0
    z = (1.0 - EULER_GAMMA) * normal_quantile(1.0 - 1.0 / n_trials) + EULER_GAMMA * normal_quantile(
        1.0 - 1.0 / (n_trials * math.e)
    )
    return math.sqrt(sharpe_variance) * z


def probabilistic_sharpe(sharpe: float, benchmark: float, n_obs: int, skew: float, kurtosis: float) -> float:
    """Probability that the true Sharpe exceeds `benchmark`, given an observed `sharpe` (both PER OBSERVATION).

    Bailey & Lopez de Prado (2012, 2014), PSR:
    Z[(SR - SR*) sqrt(T - 1) / sqrt(1 - skew SR + (kurtosis - 1) / 4 SR^2)], with `kurtosis` the
    plain (non-excess) fourth standardised moment, 3 for normal returns.
    """
    spread = 1.0 - skew * sharpe + (kurtosis - 1.0) / 4.0 * sharpe**2
    return normal_cdf((sharpe - benchmark) * math.sqrt(n_obs - 1) / math.sqrt(spread))


@dataclass(frozen=True)
class DeflatedSharpe:
    """The Deflated Sharpe Ratio of one selected configuration and what it was computed from."""

    dsr: float  # probability (0-1) that the true Sharpe exceeds expected_max_sharpe
    sharpe: float  # the selected configuration's Sharpe, annualised
    expected_max_sharpe: float  # best Sharpe expected from n_trials unskilled trials, annualised
    benchmark_sharpe: float  # an unskilled trial's true Sharpe, annualised: 0, or buy-and-hold's
    n_trials: int
    sharpe_std: float  # standard deviation (ddof=1) of the trials' annualised Sharpe ratios
    n_obs: int  # days of returns
    skew: float  # of the daily excess returns (moment estimator)
    kurtosis: float  # plain, not excess (normal = 3), of the daily excess returns (moment estimator)

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def deflated_sharpe_ratio(
    returns: np.ndarray,
    trial_sharpes: np.ndarray,
    risk_free: np.ndarray | None = None,
    n_trials: int | None = None,
    benchmark_sharpe: float = 0.0,
) -> DeflatedSharpe:
    """Deflated Sharpe Ratio of the selected configuration's daily `returns`.

    `trial_sharpes` holds the annualised Sharpe of every configuration tried (the selected one
    included, e.g. from `trial_sharpe_ratios`); `n_trials` defaults to their count and may be
    set higher when more was tried than was kept. Implements Bailey & Lopez de Prado (2014),
    DSR = PSR(SR_0) with SR_0 = `expected_max_sharpe(n_trials, V[SR_n])`, all on per-day Sharpe
    ratios (annualised ones divided by sqrt(252)); skewness and kurtosis are the moment
    estimators (m3 / m2^1.5, m4 / m2^2) of the daily excess returns, as in the paper.
    V[SR_n] uses ddof=1 (mlfinlab uses ddof=0; at N >= 100 trials the two differ by < 1%).

    `benchmark_sharpe` (annualised) is the true Sharpe of an unskilled trial: the paper's 0 by
    default; buy-and-hold's over the same days asks whether the choice beats holding the index
    once the search is allowed for. The False Strategy theorem then centres the trials' Sharpe
    ratios there, so SR_0 = benchmark + `expected_max_sharpe(n_trials, V[SR_n])`. The benchmark's
    Sharpe is taken as known, as a PSR's benchmark is (its own estimation error is not added).
    """
    _, excess = next(_excess_chunks(np.asarray(returns, dtype=float)[:, None], risk_free))
    excess = excess[0]
    sharpes = np.asarray(trial_sharpes, dtype=float)
    n_trials = len(sharpes) if n_trials is None else n_trials
    if len(sharpes) < 2 or not np.isfinite(sharpes).all():
        raise DataError(f"deflated Sharpe: {len(sharpes)} finite trial Sharpe ratios given; at least 2 are needed")
    if n_trials < len(sharpes):
        raise ConfigError(f"deflated Sharpe: n_trials = {n_trials} is below the {len(sharpes)} trials given")
    std = excess.std(ddof=1)
    if std <= ZERO_VOLATILITY:
        raise DataError("deflated Sharpe: the selected returns have zero volatility; Sharpe is undefined")
    daily = excess.mean() / std
    centred = excess - excess.mean()
    m2 = np.mean(centred**2)
    skew = float(np.mean(centred**3) / m2**1.5)
    kurtosis = float(np.mean(centred**4) / m2**2)
    root_year = math.sqrt(TRADING_DAYS_PER_YEAR)
    sharpe_std = float(sharpes.std(ddof=1))
    if not math.isfinite(benchmark_sharpe):
        raise DataError(f"deflated Sharpe: the benchmark's Sharpe must be a finite number, got {benchmark_sharpe!r}")
    threshold = benchmark_sharpe / root_year + expected_max_sharpe(n_trials, (sharpe_std / root_year) ** 2)
    return DeflatedSharpe(
        dsr=probabilistic_sharpe(daily, threshold, len(excess), skew, kurtosis),
        sharpe=float(daily * root_year),
        expected_max_sharpe=threshold * root_year,
        benchmark_sharpe=float(benchmark_sharpe),
        n_trials=n_trials,
        sharpe_std=sharpe_std,
        n_obs=len(excess),
        skew=skew,
        kurtosis=kurtosis,
    )


@dataclass(frozen=True)
class Curves:
    """Daily returns of `n_curves` configurations over `n_days` days, read a chunk of configurations
    at a time: `chunks()` yields, in configuration order, arrays of at most CHUNK_CONFIGURATIONS
    curves x `n_days` (float32 or float64). The statistics below read nothing else, so their memory
    is that of one chunk plus a few numbers per configuration, however many there are."""

    n_days: int
    n_curves: int
    chunks: Callable[[], Iterator[np.ndarray]]

    @classmethod
    def of(cls, returns) -> Curves:
        """A T x N matrix (one column per configuration) as `Curves`, read without copying it."""
        if isinstance(returns, Curves):
            return returns
        matrix = np.asarray(returns)
        if matrix.dtype not in (np.float32, np.float64):  # float32 is read as it is, each chunk made float64
            matrix = matrix.astype(float)
        if matrix.ndim != 2:
            raise DataError(f"overfitting: returns must be a days x configurations matrix, got shape {matrix.shape}")
        curves = matrix.T
        return cls(
            matrix.shape[0],
            matrix.shape[1],
            lambda: (curves[k : k + CHUNK_CONFIGURATIONS] for k in range(0, len(curves), CHUNK_CONFIGURATIONS)),
        )


def trial_sharpe_ratios(
    returns: np.ndarray | Curves, risk_free: np.ndarray | None = None, days: slice = slice(None)
) -> np.ndarray:
    """Annualised Sharpe of each column of a T x N matrix of daily returns (or of each of `Curves`)
    over `days` (`risk_free` covers all T); 0 where a column has zero volatility.

    A zero-volatility column (one that only ever earned the risk-free rate) has no excess return
    to reward, so it counts as Sharpe 0 rather than undefined, which keeps the trials comparable.
    """
    curves = Curves.of(returns)
    sharpes = np.empty(curves.n_curves)
    for first, excess in _excess_chunks(curves, risk_free, days):
        sharpes[first : first + len(excess)] = _sharpe(excess.mean(axis=1), excess.std(axis=1, ddof=1))
    return sharpes


@dataclass(frozen=True)
class BacktestOverfitting:
    """CSCV result: the PBO and, per split, the logit and the selected configuration's IS and OOS Sharpe."""

    pbo: float  # share of splits whose in-sample best ranks at or below the out-of-sample median
    logits: np.ndarray  # per split: log(w / (1 - w)), w = out-of-sample rank / (N + 1)
    is_sharpe: np.ndarray  # per split: annualised in-sample Sharpe of the in-sample best ...
    oos_sharpe: np.ndarray  # ... and its out-of-sample Sharpe (the performance degradation pairs)
    prob_oos_loss: float  # share of splits in which the in-sample best has a negative out-of-sample Sharpe
    n_blocks: int
    n_days_used: int  # the oldest T mod S days are left out so the blocks are equal

    @property
    def n_splits(self) -> int:
        return len(self.logits)

    def to_dict(self) -> dict:
        """The scalars, JSON-able (the per-split arrays are attributes)."""
        return {
            "pbo": self.pbo,
            "prob_oos_loss": self.prob_oos_loss,
            "n_splits": self.n_splits,
            "n_blocks": self.n_blocks,
            "n_days_used": self.n_days_used,
        }


def backtest_overfitting(
    returns: np.ndarray | Curves, risk_free: np.ndarray | None = None, n_blocks: int = CSCV_BLOCKS
) -> BacktestOverfitting:
    """Probability of Backtest Overfitting by combinatorially symmetric cross-validation (CSCV).

    `returns` is a T x N matrix of daily returns, one column per configuration; `risk_free`
    the daily risk-free return (length T) or None for 0. Implements Bailey, Borwein, Lopez de
    Prado & Zhu (2015), section 2: the oldest T mod S rows are dropped and the rest cut into S
    equal blocks in time order; for each of the C(S, S/2) sets J of S/2 blocks (in-sample) and
    its complement (out-of-sample), n* = the configuration with the highest in-sample Sharpe
    (the first of equals), w = its out-of-sample rank among the N (1 = worst, ties averaged)
    / (N + 1), logit = ln(w / (1 - w)); PBO = the share of splits with logit <= 0, as in pypbo
    (esvhd/pypbo). Sharpe as `trial_sharpe_ratios` (a zero-volatility half counts as 0).
    Vectorised over splits from per-block sums, so S = 16, T = 6,400, N = 1,000 takes about a second;
    `returns` may be `Curves`, read a chunk at a time, so only the per-block sums (2 S numbers per
    configuration) are held.
    """
    if isinstance(n_blocks, bool) or not isinstance(n_blocks, int) or n_blocks < 2 or n_blocks % 2:
        raise ConfigError(f"overfitting: n_blocks must be an even whole number of at least 2, got {n_blocks!r}")
    curves = Curves.of(returns)
    if curves.n_curves < 2:
        raise DataError(
            f"overfitting: returns must be a days x configurations matrix with at least 2 configurations, "
            f"got shape {(curves.n_days, curves.n_curves)}"
        )
    n_days = curves.n_days - curves.n_days % n_blocks
    block_days = n_days // n_blocks
    if block_days < 2:
        raise DataError(f"overfitting: {curves.n_days} days cannot be cut into {n_blocks} blocks of at least 2 days")
    mean = np.empty(curves.n_curves)
    block_sums, block_squares = np.empty((n_blocks, curves.n_curves)), np.empty((n_blocks, curves.n_curves))
    for first, excess in _excess_chunks(curves, risk_free, slice(curves.n_days - n_days, None)):
        columns = slice(first, first + len(excess))
        mean[columns] = excess.mean(axis=1)
        centred = (excess - mean[columns, None]).reshape(len(excess), n_blocks, block_days)  # no cancellation
        block_sums[:, columns], block_squares[:, columns] = centred.sum(axis=2).T, (centred * centred).sum(axis=2).T
    # The complement of a set holding block 0 is a set without it: each such set and its
    # complement make two splits (A in-sample, B out; then B in, A out) from one computation.
    first_half = np.array(
        [
            [b in chosen for b in range(n_blocks)]
            for chosen in combinations(range(n_blocks), n_blocks // 2)
            if 0 in chosen
        ],
        dtype=float,
    )
    half = n_days // 2
    total_sums, total_squares = block_sums.sum(axis=0), block_squares.sum(axis=0)
    forward, backward = [], []  # per set of blocks: (logit, IS, OOS) with it in-sample, then out of sample
    step = max(1, min(SPLITS_PER_CHUNK, SPLIT_CELLS // curves.n_curves))
    for first in range(0, len(first_half), step):
        chosen = first_half[first : first + step]
        # einsum's own loop, not BLAS: the same sums to the bit, without a thread pool that, for
        # these 16-row products, cost five times the work on a machine whose cores are busy
        sums, squares = np.einsum("sk,kn->sn", chosen, block_sums), np.einsum("sk,kn->sn", chosen, block_squares)
        a = _half_sharpe(mean, sums, squares, half)
        b = _half_sharpe(mean, total_sums - sums, total_squares - squares, half)
        forward.append(np.stack(_selected(a, b)))
        backward.append(np.stack(_selected(b, a)))
    forward, backward = np.concatenate(forward, axis=1), np.concatenate(backward, axis=1)
    # the splits in one order whatever the step: SPLITS_PER_CHUNK sets one way, then the same the other way
    cuts = range(0, forward.shape[1], SPLITS_PER_CHUNK)
    ordered = np.concatenate([part[:, k : k + SPLITS_PER_CHUNK] for k in cuts for part in (forward, backward)], axis=1)
    logits, is_sharpe, oos_sharpe = ordered
    return BacktestOverfitting(
        pbo=float(np.mean(logits <= 0.0)),
        logits=logits,
        is_sharpe=is_sharpe,
        oos_sharpe=oos_sharpe,
        prob_oos_loss=float(np.mean(oos_sharpe < 0.0)),
        n_blocks=n_blocks,
        n_days_used=n_days,
    )


def overfitting_summary(returns: np.ndarray, risk_free: np.ndarray | None = None, n_blocks: int = CSCV_BLOCKS) -> dict:
    """What a sweep reports about its own overfitting, JSON-able.

    `n_trials` (columns), `best_column` and `best_sharpe` (the highest full-sample Sharpe), its
    `deflated_sharpe` (`DeflatedSharpe.to_dict`) and `pbo` (`BacktestOverfitting.to_dict`).
    """
    matrix = np.asarray(returns, dtype=float)
    sharpes = trial_sharpe_ratios(matrix, risk_free)
    best = int(np.argmax(sharpes))
    return {
        "n_trials": int(matrix.shape[1]),
        "best_column": best,
        "best_sharpe": float(sharpes[best]),
        "deflated_sharpe": deflated_sharpe_ratio(matrix[:, best], sharpes, risk_free).to_dict(),
        "pbo": backtest_overfitting(matrix, risk_free, n_blocks).to_dict(),
    }


def _selected(train: np.ndarray, test: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per split (row): logit of the in-sample best's out-of-sample rank, its IS and its OOS Sharpe."""
    rows = np.arange(len(train))
    best = np.argmax(train, axis=1)
    best_test = test[rows, best][:, None]
    below = np.count_nonzero(test < best_test, axis=1)
    level = np.count_nonzero(test == best_test, axis=1)  # itself and any exact ties
    w = (1.0 + below + (level - 1) / 2.0) / (test.shape[1] + 1)
    return np.log(w / (1.0 - w)), train[rows, best], best_test[:, 0]


def _half_sharpe(mean: np.ndarray, sums: np.ndarray, squares: np.ndarray, n: int) -> np.ndarray:
    """Annualised Sharpe of each configuration on each half, from centred sums over its n days
    (`_sharpe`'s arithmetic, in place: this runs over every split and configuration)."""
    std = sums * sums
    std /= n
    np.subtract(squares, std, out=std)
    np.maximum(std, 0.0, out=std)
    std /= n - 1
    np.sqrt(std, out=std)
    sharpe = sums / n
    sharpe += mean
    with np.errstate(divide="ignore", invalid="ignore"):
        sharpe /= std
    sharpe *= math.sqrt(TRADING_DAYS_PER_YEAR)
    sharpe[std <= ZERO_VOLATILITY] = 0.0
    return sharpe


def _sharpe(mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(std > ZERO_VOLATILITY, mean / std * math.sqrt(TRADING_DAYS_PER_YEAR), 0.0)


def _excess_chunks(returns: np.ndarray | Curves, risk_free: np.ndarray | None, days: slice = slice(None)):
    """(first configuration, daily excess returns) of each chunk of `Curves` (or of CHUNK_CONFIGURATIONS
    columns of a T x N matrix) over `days`, as a C-ordered configurations x days float64 array, after
    checking the inputs are finite and aligned. Chunks bound the memory (a 10,000-configuration matrix
    is 0.5 GB in float64; each chunk 13 MB); C order makes every sum independent of the caller's
    memory layout and of how the configurations are cut into chunks."""
    curves = Curves.of(returns)
    if curves.n_days < 3:
        raise DataError(
            f"overfitting: at least 3 days of returns are needed, got shape {(curves.n_days, curves.n_curves)}"
        )
    rf = np.zeros(curves.n_days) if risk_free is None else np.asarray(risk_free, dtype=float)
    if rf.shape != (curves.n_days,) or not np.isfinite(rf).all():
        raise DataError(f"overfitting: risk_free must be {curves.n_days} finite daily returns, got shape {rf.shape}")
    rf, first = rf[days], 0
    for chunk in curves.chunks():
        if chunk.shape[1:] != (curves.n_days,):
            raise DataError(
                f"overfitting: a chunk of curves has shape {chunk.shape}, not curves x {curves.n_days} days"
            )
        excess = np.subtract(chunk[:, days], rf, order="C")
        if not np.isfinite(excess).all():
            raise DataError("overfitting: returns hold a missing (NaN) or infinite value")
        yield first, excess
        first += len(excess)
    if first != curves.n_curves:
        raise DataError(f"overfitting: {first} curves read, {curves.n_curves} expected")
