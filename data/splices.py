"""The long history's stand-ins: total-return levels built from Ken French's daily returns and the
Russell 2000 total-return index, and the check of every splice on its overlap.

A stand-in's level is 100 on its file's first day compounded by its daily returns (French), or the
index itself (FRED); `data.market` chains it forward into the next series by returns, as it chains
every proxy. Before one series hands over to the next, both must have followed each other on the
days they share (`data.catalog.SPLICE_LIMITS`): a wrong column, another file or a damaged one is
refused with one line naming both files and the figures.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from fedcut.core.errors import DataError
from fedcut.data.catalog import DRAWDOWN_SPAN, HISTORY_START, SPLICE_LIMITS, STAND_INS
from fedcut.data.sources import DataSource

# A French stand-in's level on the long history's first day: its equity curves start at 100.
BASE_LEVEL, BASE_DAY = 100.0, pd.Timestamp(HISTORY_START["long"])
START_SLACK = pd.Timedelta(days=7)  # a file starting later than its catalogued first day is cut short
DAYS_A_YEAR = 252


def where(source: DataSource, name: str) -> str:
    """The file a stand-in or instrument was read from (its catalogued path before it is read)."""
    if name in STAND_INS:
        stand_in = STAND_INS[name]
        key = stand_in.columns[0] if stand_in.path.startswith("macro/") else stand_in.path
        return source.origin.get(key, stand_in.path)
    return source.origin.get(name, name)


def stand_in_level(source: DataSource, name: str) -> pd.Series:
    """The total-return level of a stand-in (`data.catalog.STAND_INS`), on its own file's days: a
    French one compounded from its file's first day and 100 on the long history's first day (a
    constant scale: no later return moves an earlier level)."""
    stand_in = STAND_INS[name]
    if stand_in.path.startswith("macro/"):
        level = source.macro(stand_in.columns[0])
    else:
        table = source.french(stand_in.path)
        missing = [c for c in stand_in.columns if c not in table.columns]
        if missing:
            raise DataError(
                f"{where(source, name)}: no column {missing[0]!r} ({name}: {stand_in.about}); "
                f"the file has {', '.join(table.columns)}"
            )
        growth = np.cumprod(1.0 + table[list(stand_in.columns)].sum(axis=1).to_numpy() / 100.0)
        base = growth[max(table.index.searchsorted(BASE_DAY, side="right") - 1, 0)]
        level = pd.Series(BASE_LEVEL * (growth / base), index=table.index)
    first = pd.Timestamp(stand_in.first_date)
    if level.index[0] - first > START_SLACK:
        raise DataError(
            f"{where(source, name)}: {name} starts {level.index[0].date()}, but its history begins "
            f"{first.date()} (data/catalog.py): the file is cut short"
        )
    return level.rename(name)


@dataclass(frozen=True)
class Splice:
    """How two series followed each other on the days both have: the figures `SPLICE_LIMITS` judges."""

    before: str
    after: str
    first: pd.Timestamp
    last: pd.Timestamp
    correlation: float
    tracking_error: float  # a year
    drawdowns: tuple[float, float]  # the deepest fall of each within DRAWDOWN_SPAN

    def failures(self) -> list[str]:
        """The limits this splice misses (empty: it passes)."""
        out = []
        if not self.correlation >= SPLICE_LIMITS.min_correlation:
            out.append("correlation")
        if not self.tracking_error <= SPLICE_LIMITS.max_tracking_error:
            out.append("tracking error")
        if not abs(self.drawdowns[0] - self.drawdowns[1]) <= SPLICE_LIMITS.max_drawdown_gap:
            out.append("drawdown")
        return out

    def describe(self) -> str:
        return (
            f"{self.before} into {self.after} over {self.first.date()}..{self.last.date()}: daily correlation "
            f"{self.correlation:.3f}, tracking error {self.tracking_error:.1%} a year, "
            f"{DRAWDOWN_SPAN[0][:4]}-{DRAWDOWN_SPAN[1][2:4]} drawdowns {self.drawdowns[0]:.1%} and "
            f"{self.drawdowns[1]:.1%}"
        )


def measure(before: pd.Series, after: pd.Series) -> Splice:
    """The splice figures of two levels on the days both have (their common dates, in order)."""
    common = before.index.intersection(after.index)
    a, b = before.reindex(common).to_numpy(float), after.reindex(common).to_numpy(float)
    ra, rb = a[1:] / a[:-1] - 1.0, b[1:] / b[:-1] - 1.0
    inside = (common >= pd.Timestamp(DRAWDOWN_SPAN[0])) & (common <= pd.Timestamp(DRAWDOWN_SPAN[1]))

    def deepest(x: np.ndarray) -> float:
        return float(np.min(x[inside] / np.maximum.accumulate(x[inside]) - 1.0)) if inside.any() else np.nan

    correlation = float(np.corrcoef(ra, rb)[0, 1]) if len(ra) > 2 else np.nan
    return Splice(
        str(before.name),
        str(after.name),
        common[0] if len(common) else pd.NaT,
        common[-1] if len(common) else pd.NaT,
        correlation,
        float(np.std(ra - rb, ddof=1) * np.sqrt(DAYS_A_YEAR)) if len(ra) > 2 else np.nan,
        (deepest(a), deepest(b)),
    )


def check_splice(source: DataSource, ticker: str, before: str, after: str, levels: dict[str, pd.Series]) -> Splice:
    """The splice of `before` into `after` (a stand-in, or an instrument's total return) measured on
    their overlap, or one DataError naming both files and every figure against its limit."""
    splice = measure(levels[before], levels[after])
    failed = splice.failures()
    if len(levels[before].index.intersection(levels[after].index)) < 2 * DAYS_A_YEAR:
        failed = ["overlap"]
    if failed:
        limits = SPLICE_LIMITS
        raise DataError(
            f"{where(source, before)} ({before}) against {where(source, after)} ({after}), the splice of {ticker}: "
            + (f"{splice.describe()}; " if failed != ["overlap"] else "they share less than two years of days; ")
            + f"limits: correlation at least {limits.min_correlation:g}, tracking error at most "
            f"{limits.max_tracking_error:.0%} a year, drawdowns at most {limits.max_drawdown_gap * 100:g} points apart "
            f"(data/catalog.py SPLICE_LIMITS): not the same market ({', '.join(failed)})"
        )
    return splice
