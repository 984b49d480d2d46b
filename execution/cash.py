"""How cash grows between two bars, shared by both execution engines.

Cash held from bar i-1 to bar i earns the annual continuous rate known at bar i-1 over the
calendar days between them: cash *= 1 + expm1(rate * days / 365). Positive cash earns
`cash_rate`; negative cash (puts paid for with money the account does not have) is a margin
loan and pays `cash_rate + borrow_spread`. The factors are computed once per run with
`math.expm1`, so the backtrader broker and the array engine apply the same numbers.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd


def interest_factors(
    days: pd.DatetimeIndex, cash_rate: np.ndarray, borrow_spread: float
) -> tuple[np.ndarray, np.ndarray]:
    """(lend, borrow): per bar i, the growth factor minus one for positive and for negative cash
    held since bar i-1 (0 on the first bar)."""
    gaps = np.diff(pd.DatetimeIndex(days).values.astype("datetime64[D]").astype(np.int64))
    rate = np.asarray(cash_rate, dtype=float)
    lend, borrow = np.zeros(len(rate)), np.zeros(len(rate))
    for i in range(1, len(rate)):
        lend[i] = math.expm1(rate[i - 1] * int(gaps[i - 1]) / 365.0)
        borrow[i] = math.expm1((rate[i - 1] + borrow_spread) * int(gaps[i - 1]) / 365.0)
    return lend, borrow
