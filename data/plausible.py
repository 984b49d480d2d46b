"""Plausibility of valid-looking data: values outside physical ranges, one-day spikes, jumps, and
an ETF whose daily returns leave its index's.

A file can be well formed and still wrong (a 1000x print, an unadjusted split, a yield in basis
points, 1e308). Every check here raises `DataError` naming the file, the date and the value; the
limits are in `data/catalog.py`, each with the history it was measured against, and lie far
outside anything real, so a refusal always means a broken value, never a market event.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from fedcut.core.errors import DataError
from fedcut.data.catalog import Plausible


def check_range(values: pd.Series, valid: Plausible, path: Path, column: str) -> None:
    """Every value within `valid` (missing values are not checked)."""
    x = values.to_numpy(dtype=float)
    bad = (x < valid.lo) | (x > valid.hi)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataError(
            f"{path}: {values.index[i].date()}: {column} value {x[i]:g} is outside the plausible range "
            f"{valid.lo:g} to {valid.hi:g} ({valid.why})"
        )


def check_moves(prices: pd.Series, spike_move: float, max_move: float | None, path: Path, column: str) -> None:
    """No one-day log move beyond `spike_move` that the next day takes back by half or more (a
    spike), and none beyond `max_move` at all (a jump: an unadjusted split or a bad price)."""
    p = prices.dropna()
    move = np.diff(np.log(p.to_numpy(dtype=float)))  # move[i]: from row i to row i + 1
    back = np.append(move[1:], 0.0)  # the move of the day after
    spike = (np.abs(move) > spike_move) & (np.sign(back) == -np.sign(move)) & (np.abs(back) >= np.abs(move) / 2)
    if spike.any():
        i = int(np.flatnonzero(spike)[0])
        raise DataError(
            f"{path}: {p.index[i + 1].date()}: {column} {p.iloc[i + 1]:g} is a one-day spike "
            f"({p.iloc[i]:g} the day before, {p.iloc[i + 2]:g} the day after): a bad price"
        )
    if max_move is not None and (np.abs(move) > max_move).any():
        i = int(np.flatnonzero(np.abs(move) > max_move)[0])
        raise DataError(
            f"{path}: {p.index[i + 1].date()}: {column} moved {np.expm1(move[i]):+.1%} in one day "
            f"({p.iloc[i]:g} to {p.iloc[i + 1]:g}), more than any day of a diversified ETF or index "
            "(S&P 500 1987: -20.5%): an unadjusted split or a bad price"
        )


def check_tracking(
    etf: pd.Series, index: pd.Series, limit: float, etf_path: str, index_path: str, names: tuple[str, str]
) -> None:
    """On the days both have, the ETF's daily log return stays within `limit` of its index's."""
    both = pd.concat([etf, index], axis=1, join="inner").dropna()
    if len(both) < 2:
        return
    moves = np.diff(np.log(both.to_numpy(dtype=float)), axis=0)
    gap = np.abs(moves[:, 0] - moves[:, 1]) > limit
    if gap.any():
        i = int(np.flatnonzero(gap)[0])
        etf_name, index_name = names
        raise DataError(
            f"{etf_path}: {both.index[i + 1].date()}: {etf_name} moved {np.expm1(moves[i, 0]):+.1%} "
            f"while its index {index_name} moved {np.expm1(moves[i, 1]):+.1%} ({index_path}): an "
            f"unadjusted split or a bad price (they track within {limit:.0%} a day)"
        )
