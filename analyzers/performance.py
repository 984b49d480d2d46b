"""Performance statistics as pure functions of an equity curve.

`equity` is a portfolio value in USD on a DatetimeIndex of trading days, so every number
here can be tested on a hand-made curve without running a backtest. Drawdowns are negative
fractions (-0.25 = a 25% fall from the running high); dates in `summary` are ISO strings.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from fedcut.core.errors import DataError

TRADING_DAYS_PER_YEAR = 252  # annualises daily volatility, Sharpe and Sortino
DAYS_PER_YEAR = 365.25  # calendar days per year for CAGR and turnover
RATE_DAY_COUNT = 365  # the risk-free rate accrues per calendar day, as the broker pays interest on cash
ZERO_VOLATILITY = 1e-12  # a daily std below this is float noise of a constant return: ratios are undefined


@dataclass(frozen=True)
class Drawdown:
    """One fall from a running high: depth, the high it fell from, its low, and when it was regained."""

    depth: float  # negative fraction; 0.0 when the curve never fell
    peak: pd.Timestamp  # last day at the running high before the trough
    trough: pd.Timestamp
    recovery: pd.Timestamp | None  # first day back at the peak's value; None = not recovered
    days_under_water: int  # calendar days from peak to recovery, or to the series end

    def to_dict(self) -> dict:
        return {
            "depth": self.depth,
            "peak": iso_date(self.peak),
            "trough": iso_date(self.trough),
            "recovery": iso_date(self.recovery),
            "days_under_water": self.days_under_water,
        }


def drawdown_series(equity: pd.Series) -> pd.Series:
    """Each day's fall from the highest value so far (0 at a new high)."""
    equity = checked_equity(equity)
    return equity / equity.cummax() - 1.0


def max_drawdown(equity: pd.Series) -> Drawdown:
    """The deepest drawdown; of equally deep troughs, the earliest."""
    dd = drawdown_series(equity)
    trough = dd.idxmin()
    depth = float(dd[trough])
    if depth == 0.0:
        first = dd.index[0]
        return Drawdown(0.0, first, first, first, 0)
    at_high = dd.index[dd == 0.0]
    peak = at_high[at_high < trough][-1]
    regained = at_high[at_high > trough]
    recovery = regained[0] if len(regained) else None
    until = recovery if recovery is not None else dd.index[-1]
    return Drawdown(depth, peak, trough, recovery, (until - peak).days)


def longest_drawdown_days(equity: pd.Series) -> int:
    """Calendar days of the longest spell below a running high (to the series end if not regained)."""
    dd = drawdown_series(equity)
    highs = dd.index[dd == 0.0]
    ends = highs[1:].append(dd.index[-1:])
    spell_has_loss = (dd < 0).groupby((dd == 0.0).cumsum()).any().to_numpy()
    spans = (ends - highs).days[spell_has_loss]
    return int(spans.max()) if len(spans) else 0


def ulcer_index(equity: pd.Series) -> float:
    """Martin's Ulcer Index: root mean square of the daily drawdowns, in PERCENT (5.0 = 5%).

    Unlike the drawdown fractions elsewhere, this follows Peter Martin's definition in
    percentage points, so it compares with published values. It punishes deep and long
    drawdowns alike.
    """
    pct = 100.0 * drawdown_series(equity)
    return float(np.sqrt(np.mean(pct.to_numpy() ** 2)))


def period_returns(equity: pd.Series, freq: str) -> pd.Series:
    """Simple return of each calendar period (`"M"` month, `"Y"` year), labelled by the period.

    Each period runs from the previous period's last value; the first runs from the first
    value, so the first and last periods can be partial.
    """
    equity = checked_equity(equity)
    closes = equity.groupby(equity.index.to_period(freq)).last()
    opens = closes.shift(1)
    opens.iloc[0] = equity.iloc[0]
    return closes / opens - 1.0


def daily_risk_free(rf_annual: pd.Series | float, index: pd.DatetimeIndex) -> pd.Series:
    """The risk-free return earned over each interval of `index` (first interval ends at index[1]).

    `rf_annual` is an annual continuously compounded rate as a fraction (0.05 = 5%), the
    convention of the broker's `cash_rate`: the rate known at the start of each interval earns
    exp(r * days / 365) - 1 over its actual calendar days, exactly what idle cash earns, so a
    Friday-to-Monday return is charged three days of interest and a cash-only curve has zero
    excess return.
    """
    if isinstance(rf_annual, pd.Series):
        rate = rf_annual.reindex(index, method="ffill")
        if rate.isna().any():
            raise DataError(f"risk-free rate: no value on or before {rate.index[rate.isna()][0].date()}")
    else:
        rate = pd.Series(float(rf_annual), index=index)
    if (rate.abs() > 1.0).any():
        raise DataError("risk-free rate: values above 100% a year; expected a fraction, not percent")
    days = index.to_series().diff().dt.days.to_numpy()[1:]
    start_rate = rate.to_numpy()[:-1]
    return pd.Series(np.expm1(start_rate * days / RATE_DAY_COUNT), index=index[1:])


def sharpe_ratio(equity: pd.Series, rf_annual: pd.Series | float = 0.0) -> float | None:
    """Annualised mean daily excess return over its standard deviation; None at zero volatility."""
    excess = _excess_returns(equity, rf_annual)
    if len(excess) < 2:
        return None
    std = excess.std(ddof=1)
    return _finite(excess.mean() / std * math.sqrt(TRADING_DAYS_PER_YEAR)) if std > ZERO_VOLATILITY else None


def sortino_ratio(equity: pd.Series, rf_annual: pd.Series | float = 0.0) -> float | None:
    """Like Sharpe but over the downside deviation (root mean square of excess returns below 0)."""
    excess = _excess_returns(equity, rf_annual)
    if len(excess) < 2:
        return None
    downside = math.sqrt(float(np.mean(np.minimum(excess.to_numpy(), 0.0) ** 2)))
    return _finite(excess.mean() / downside * math.sqrt(TRADING_DAYS_PER_YEAR)) if downside > ZERO_VOLATILITY else None


def cagr(equity: pd.Series) -> float | None:
    """Compound annual growth over calendar years (days / 365.25); None for a single day."""
    equity = checked_equity(equity)
    years = (equity.index[-1] - equity.index[0]).days / DAYS_PER_YEAR
    return _finite((equity.iloc[-1] / equity.iloc[0]) ** (1.0 / years) - 1.0) if years > 0 else None


def summary(equity: pd.Series, rf_annual: pd.Series | float = 0.0, turnover: pd.Series | None = None) -> dict:
    """Headline statistics of one equity curve as a JSON-able dict (floats, ints, str, None).

    `turnover` is the value traded each day as a fraction of portfolio value (one-way);
    `annual_turnover` is its sum per calendar year. Ratios that are undefined (zero
    volatility, no drawdown, a single day) are None, never NaN. Sharpe and Sortino are over
    the risk-free rate as `daily_risk_free` accrues it (continuous, per calendar day, as cash).
    """
    equity = checked_equity(equity)
    returns = equity.pct_change().iloc[1:]
    growth = cagr(equity)
    worst_dd = max_drawdown(equity)
    months = period_returns(equity, "M")
    years = period_returns(equity, "Y")
    volatility = returns.std(ddof=1) * math.sqrt(TRADING_DAYS_PER_YEAR) if len(returns) > 1 else None
    span_years = (equity.index[-1] - equity.index[0]).days / DAYS_PER_YEAR
    return {
        "start": iso_date(equity.index[0]),
        "end": iso_date(equity.index[-1]),
        "final_value": float(equity.iloc[-1]),
        "total_return": float(equity.iloc[-1] / equity.iloc[0] - 1.0),
        "cagr": growth,
        "volatility": _finite(volatility),
        "sharpe": sharpe_ratio(equity, rf_annual),
        "sortino": sortino_ratio(equity, rf_annual),
        "calmar": _finite(growth / abs(worst_dd.depth)) if growth is not None and worst_dd.depth < 0 else None,
        "max_drawdown": worst_dd.depth,
        "max_drawdown_peak": iso_date(worst_dd.peak),
        "max_drawdown_trough": iso_date(worst_dd.trough),
        "max_drawdown_recovery": iso_date(worst_dd.recovery),
        "max_drawdown_days": worst_dd.days_under_water,
        "longest_drawdown_days": longest_drawdown_days(equity),
        "ulcer_index": ulcer_index(equity),
        "worst_month": float(months.min()),
        "worst_month_period": str(months.idxmin()),
        "worst_year": float(years.min()),
        "worst_year_period": str(years.idxmin()),
        "annual_turnover": _finite(float(turnover.loc[equity.index[0] : equity.index[-1]].sum()) / span_years)
        if turnover is not None and span_years > 0
        else None,
    }


def _excess_returns(equity: pd.Series, rf_annual: pd.Series | float) -> pd.Series:
    equity = checked_equity(equity)
    return equity.pct_change().iloc[1:] - daily_risk_free(rf_annual, equity.index)


def checked_equity(equity: pd.Series) -> pd.Series:
    """The curve as floats, after checking it can be analysed: dated, ordered, positive, no NaN."""
    if not isinstance(equity.index, pd.DatetimeIndex):
        raise DataError("equity: index must be dates (DatetimeIndex)")
    if equity.empty:
        raise DataError("equity: no values")
    if not equity.index.is_monotonic_increasing or equity.index.has_duplicates:
        raise DataError("equity: dates must be strictly increasing")
    values = equity.to_numpy(dtype=float)
    if not np.isfinite(values).all() or (values <= 0).any():
        raise DataError("equity: values must be positive and finite (no NaN)")
    return equity.astype(float)


def _finite(x) -> float | None:
    """A plain float, or None for NaN/inf/None."""
    return float(x) if x is not None and math.isfinite(x) else None


def iso_date(day: pd.Timestamp | None) -> str | None:
    """YYYY-MM-DD, or None for no date (e.g. not recovered)."""
    return day.date().isoformat() if day is not None else None


def sharpe_standard_error(sharpe: float | np.ndarray, years: float) -> float | np.ndarray:
    """The standard error of an annualised Sharpe ratio estimated over `years` of i.i.d. returns
    (Lo 2002): sqrt((1 + SR^2 / 2) / years)."""
    return np.sqrt((1.0 + np.square(sharpe) / 2.0) / years)
