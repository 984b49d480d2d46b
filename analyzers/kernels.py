"""The analyzers' compiled loops (numba), for arrays of many curves at once, as a sweep has them.

`analyzers.performance` defines each figure for one curve in pandas; these give the same numbers
for every row of a (curves x days) array without a Python loop over rows.
"""

from __future__ import annotations

from fedcut.core.jit import jit_ieee


@jit_ieee
def drawdowns(values, starts, ends, out):
    """Maximum drawdowns: out[k, j] is the lowest value / running peak - 1 of row k of `values` from
    day starts[j] to ends[j] (inclusive), the peak restarting at each span's first day. A NaN in a
    span makes its drawdown NaN, as np.maximum.accumulate and np.min carry it."""
    K = values.shape[0]
    for k in range(K):
        for j in range(len(starts)):
            peak = values[k, starts[j]]
            depth = peak / peak - 1.0
            for i in range(starts[j] + 1, ends[j] + 1):
                v = values[k, i]
                if v > peak or v != v:
                    peak = v
                r = v / peak - 1.0
                if r < depth or r != r:
                    depth = r
                if depth != depth:
                    break
            out[k, j] = depth
