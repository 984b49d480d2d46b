"""The analyzers' compiled loops (numba), for arrays of many curves at once, as a sweep has them.

`analyzers.performance` defines each figure for one curve in pandas; these give the same numbers
for every row of a (curves x days) array without a Python loop over rows, to the bit: where numpy
would sum, the sums are added in numpy's order.
"""

from __future__ import annotations

import numpy as np
from numba import uint64

from fedcut.core.jit import jit_ieee

STACK = 128  # pending spans of a pairwise sum: about twice its halvings, 30 of them for 10^11 values


@jit_ieee
def drawdowns(values, starts, ends, out):
    """Maximum drawdowns: out[k, j] is the lowest value / running peak - 1 of row k of `values` from
    day starts[j] to ends[j] (inclusive), the peak restarting at each span's first day. A NaN in a
    span makes its drawdown NaN, as np.maximum.accumulate and np.min carry it."""
    for k in range(values.shape[0]):
        finite = np.isfinite(values[k]).all()
        for j in range(len(starts)):
            out[k, j] = _drawdown(values[k], starts[j], ends[j], finite)


@jit_ieee
def _drawdown(row, a, b, finite):
    """`drawdowns` of one row and span; `finite`: the row holds no NaN or infinity. Under a positive
    peak, value / peak - 1 rises with the value (division and subtraction round monotonically), so
    the lowest value since the peak gives the deepest ratio: one division per new peak, not per day,
    the same bits; eight days at a time while none passes the peak. Any other row or span is left
    to the day-by-day rule (`_drawdown_daily`)."""
    peak = row[a]
    if not (finite and peak > 0.0):
        return _drawdown_daily(row, a, b)
    depth, low = 0.0, peak
    y = row[a + 1 : b + 1]
    n = len(y)
    q = 0
    while q + 8 <= n:
        u = uint64(q)  # unsigned: no negative-index check, twice as fast
        y0, y1, y2, y3 = y[u], y[u + uint64(1)], y[u + uint64(2)], y[u + uint64(3)]
        y4, y5, y6, y7 = y[u + uint64(4)], y[u + uint64(5)], y[u + uint64(6)], y[u + uint64(7)]
        if _top(_top(_top(y0, y1), _top(y2, y3)), _top(_top(y4, y5), _top(y6, y7))) <= peak:
            low = _bottom(
                low, _bottom(_bottom(_bottom(y0, y1), _bottom(y2, y3)), _bottom(_bottom(y4, y5), _bottom(y6, y7)))
            )
            q += 8
            continue
        for i in range(q, q + 8):
            if y[i] > peak:
                depth = min(depth, low / peak - 1.0)
                peak = low = y[i]
            low = _bottom(low, y[i])
        q += 8
    for i in range(q, n):
        if y[i] > peak:
            depth = min(depth, low / peak - 1.0)
            peak = low = y[i]
        low = _bottom(low, y[i])
    return min(depth, low / peak - 1.0)


@jit_ieee
def _top(a, b):
    return a if a > b else b


@jit_ieee
def _bottom(a, b):
    return a if a < b else b


@jit_ieee
def _drawdown_daily(row, a, b):
    """`_drawdown` day by day: a NaN makes the peak and the drawdown NaN, as numpy carries it."""
    peak = row[a]
    depth = peak / peak - 1.0
    for i in range(a + 1, b + 1):
        v = row[i]
        if v > peak or v != v:
            peak = v
        r = v / peak - 1.0
        if r < depth or r != r:
            depth = r
        if depth != depth:
            break
    return depth


@jit_ieee
def pairwise_sum(x, start, stop):
    """The sum of x[start:stop] added in numpy's order (`pairwise_sum` of its add reduction): under
    8 values one by one, up to 128 in eight running sums combined pairwise, above that the two
    halves (split at a multiple of 8) summed so and added; the same bits as `np.sum` along a row."""
    return _pairwise(x, start, stop, 0.0, False, np.empty((STACK, 2), dtype=np.int64), np.empty(STACK))


@jit_ieee
def _pairwise(x, start, stop, mean, squares, tasks, sums):
    """`pairwise_sum` of x[start:stop], or with `squares` of (x - mean) ** 2 as numpy's variance sums
    them, its recursion on explicit stacks (numba cannot load a cached recursive function):
    `tasks` holds the spans still to sum, a stop of -1 meaning "add the last two sums"."""
    tasks[0, 0], tasks[0, 1] = start, stop
    pending, done = 1, 0
    while pending > 0:
        pending -= 1
        a, b = tasks[pending, 0], tasks[pending, 1]
        if b < 0:
            done -= 1
            sums[done - 1] = sums[done - 1] + sums[done]
        elif b - a > 128:
            half = (b - a) // 2
            half -= half % 8
            tasks[pending, 0], tasks[pending, 1] = 0, -1
            tasks[pending + 1, 0], tasks[pending + 1, 1] = a + half, b
            tasks[pending + 2, 0], tasks[pending + 2, 1] = a, a + half  # on top: summed first
            pending += 3
        else:
            sums[done] = _block_squares(x[a:b], mean) if squares else _block_sum(x[a:b])
            done += 1
    return sums[0]


@jit_ieee
def _block_sum(y):
    """numpy's sum of at most 128 values: one by one under 8, else eight running sums (unsigned
    indices: numba then drops its negative-index check and the loop runs twice as fast)."""
    n = len(y)
    if n < 8:
        res = 0.0
        for i in range(n):
            res += y[i]
        return res
    r0, r1, r2, r3, r4, r5, r6, r7 = y[0], y[1], y[2], y[3], y[4], y[5], y[6], y[7]
    for q in range(1, n // 8):
        i = uint64(8 * q)
        r0 += y[i]
        r1 += y[i + uint64(1)]
        r2 += y[i + uint64(2)]
        r3 += y[i + uint64(3)]
        r4 += y[i + uint64(4)]
        r5 += y[i + uint64(5)]
        r6 += y[i + uint64(6)]
        r7 += y[i + uint64(7)]
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    for i in range(n - n % 8, n):
        res += y[i]
    return res


@jit_ieee
def _block_squares(y, mean):
    """`_block_sum` of (y - mean) ** 2, each term rounded as numpy's `x = arr - mean; x * x` rounds it."""
    n = len(y)
    if n < 8:
        res = 0.0
        for i in range(n):
            d = y[i] - mean
            res += d * d
        return res
    d0, d1, d2, d3 = y[0] - mean, y[1] - mean, y[2] - mean, y[3] - mean
    d4, d5, d6, d7 = y[4] - mean, y[5] - mean, y[6] - mean, y[7] - mean
    r0, r1, r2, r3, r4, r5, r6, r7 = d0 * d0, d1 * d1, d2 * d2, d3 * d3, d4 * d4, d5 * d5, d6 * d6, d7 * d7
    for q in range(1, n // 8):
        i = uint64(8 * q)
        d0 = y[i] - mean
        d1 = y[i + uint64(1)] - mean
        d2 = y[i + uint64(2)] - mean
        d3 = y[i + uint64(3)] - mean
        d4 = y[i + uint64(4)] - mean
        d5 = y[i + uint64(5)] - mean
        d6 = y[i + uint64(6)] - mean
        d7 = y[i + uint64(7)] - mean
        r0 += d0 * d0
        r1 += d1 * d1
        r2 += d2 * d2
        r3 += d3 * d3
        r4 += d4 * d4
        r5 += d5 * d5
        r6 += d6 * d6
        r7 += d7 * d7
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    for i in range(n - n % 8, n):
        d = y[i] - mean
        res += d * d
    return res


@jit_ieee
def sample_metrics(values, rf_daily, starts, ends, zero_volatility, annualise, out):
    """Per row k of `values` (curves x days) and span j (days starts[j] to ends[j], inclusive):
    out[0, j, k] the growth factor (last / first value), out[1, j, k] the max drawdown
    (`drawdowns`), out[2, j, k] the Sharpe ratio: the mean daily excess return over `rf_daily`
    (aligned with days 1..n-1) over its std (ddof=1), times `annualise`, NaN under
    `zero_volatility` or over fewer than two returns. Mean and std are numpy's `mean` and
    `std(ddof=1)` to the bit: the sum over n, then the squared deviations from it summed over n - 1."""
    K, n = values.shape
    excess = np.empty(max(n - 1, 0))
    tasks, sums = np.empty((STACK, 2), dtype=np.int64), np.empty(STACK)
    for k in range(K):
        row = values[k]
        finite = np.isfinite(row).all()
        for i in range(n - 1):
            excess[i] = row[i + 1] / row[i] - 1.0 - rf_daily[i]
        for j in range(len(starts)):
            a, b = starts[j], ends[j]
            out[0, j, k] = row[b] / row[a]
            out[1, j, k] = _drawdown(row, a, b, finite)
            m = b - a
            sharpe = np.nan
            if m > 1:
                mean = _pairwise(excess, a, b, 0.0, False, tasks, sums) / m
                std = np.sqrt(_pairwise(excess, a, b, mean, True, tasks, sums) / (m - 1))
                if std > zero_volatility:
                    sharpe = mean / std * annualise
            out[2, j, k] = sharpe
