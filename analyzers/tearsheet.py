"""The standard tear sheet as pure functions of equity curves: what quantstats shows, computed the project's way.

Inputs are equity curves on a DatetimeIndex of trading days (as in `analyzers/performance.py`,
whose checks, drawdowns and period returns are reused); a benchmark curve must have a value on
every day of the strategy's. Returns are daily simple returns from those curves, risk-free rates
annual fractions turned into daily returns by `performance.daily_risk_free`.

Where a definition differs from quantstats 0.0.86 (`quantstats/stats.py`), the function's
docstring says how and why. The common differences: quantstats leaves out the risk-free rate
unless told (here alpha, beta and the rolling Sharpe are over the T-bill rate the project uses
for Sharpe everywhere), its information ratio is not annualised (here it is), its VaR and CVaR
are parametric by default (here historical), and it fills months without data with 0 (here
they are empty). Checked once on IWM against SPY, 2001-2025 (quantstats installed aside, not a
dependency): beta, alpha without a risk-free rate, skew, kurtosis, historical CVaR, the rolling
Sharpe, volatility and beta, and the monthly and yearly tables agree to 1e-12; the information
ratio differs by exactly sqrt(252); the drawdowns agree in depth with the dates shifted as
`top_drawdowns` says.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from fedcut.analyzers.performance import (
    TRADING_DAYS_PER_YEAR,
    ZERO_VOLATILITY,
    Drawdown,
    checked_equity,
    daily_risk_free,
    drawdown_series,
    max_drawdown,
    period_returns,
)
from fedcut.core.errors import DataError

ROLLING_DAYS = 252  # trading days in the rolling window: one year (quantstats defaults to 126)
TOP_DRAWDOWNS = 5  # drawdowns listed, deepest first
TAIL_PROBABILITY = 0.05  # daily VaR and CVaR are at the worst 5% of days
MIN_DAYS_BENCHMARK = 3  # days of equity (two returns) for a covariance with the benchmark
MIN_DAYS_TAILS = 5  # days of equity (four returns) for skewness and excess kurtosis
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def monthly_returns(equity: pd.Series) -> pd.DataFrame:
    """Return of each calendar month (columns Jan..Dec) and of the whole year (column Year), one row per year.

    Each month runs from the previous month's last value (`performance.period_returns`), so the
    months compound to the Year column; the first month and year run from the first value and
    may be partial. Months outside the data are NaN (quantstats writes 0, which reads as a flat
    month that never happened).
    """
    months = period_returns(equity, "M")
    table = pd.DataFrame({"year": months.index.year, "month": months.index.month, "ret": months.to_numpy()})
    table = table.pivot(index="year", columns="month", values="ret").reindex(columns=range(1, 13))
    table.columns = list(MONTHS)
    years = period_returns(equity, "Y")
    table["Year"] = pd.Series(years.to_numpy(), index=years.index.year)
    table.index.name = "year"
    return table


def yearly_returns(curves: dict[str, pd.Series]) -> pd.DataFrame:
    """Calendar-year returns of several curves side by side (one column per name, one row per year).

    Each curve's first year runs from its own first value; a year a curve does not cover is NaN.
    """
    columns = {}
    for name, equity in curves.items():
        years = period_returns(equity, "Y")
        columns[name] = pd.Series(years.to_numpy(), index=years.index.year)
    table = pd.DataFrame(columns)
    table.index.name = "year"
    return table


def rolling_statistics(
    equity: pd.Series, benchmark: pd.Series, rf_annual: pd.Series | float = 0.0, window: int = ROLLING_DAYS
) -> pd.DataFrame:
    """Rolling `window`-day Sharpe, volatility and beta to the benchmark, one row per day (NaN until a full window).

    On day D each uses the `window` daily returns ending on D. Sharpe: mean excess return over
    its std (ddof=1) x sqrt(252), as `performance.sharpe_ratio`; volatility: std of returns
    x sqrt(252); beta: cov(r, b) / var(b) of excess returns. quantstats' `rolling_sharpe` and
    `rolling_volatility` are the same formulas (default window 126, a constant rf); its
    `rolling_greeks` beta uses raw rather than excess returns.
    """
    returns, bench, rf = _aligned(equity, benchmark, rf_annual)
    excess, bench_excess = returns - rf, bench - rf
    roll = excess.rolling(window)
    std = roll.std(ddof=1)
    bench_var = bench_excess.rolling(window).var(ddof=1)
    root_year = math.sqrt(TRADING_DAYS_PER_YEAR)
    return pd.DataFrame(
        {
            "sharpe": (roll.mean() / std * root_year).where(std > ZERO_VOLATILITY),
            "volatility": returns.rolling(window).std(ddof=1) * root_year,
            "beta": (roll.cov(bench_excess, ddof=1) / bench_var).where(bench_var > ZERO_VOLATILITY**2),
        }
    )


def top_drawdowns(equity: pd.Series, n: int = TOP_DRAWDOWNS) -> list[Drawdown]:
    """The `n` deepest separate drawdowns, deepest first (of equal depth, the earlier).

    A drawdown is a spell below the running high, from the last day at the high (peak) to the
    first day back at it (recovery, None if not regained); days are calendar days from peak to
    recovery or to the series end, as `performance.max_drawdown` (whose result is the first
    row). quantstats' `drawdown_details` dates a spell by its first and last days under water
    and counts days inclusively, so its start is one trading day after our peak and its end one
    trading day before our recovery.
    """
    dd = drawdown_series(equity)
    at_high = dd.to_numpy() == 0.0
    spell = np.cumsum(at_high)  # spell k: the k-th day at a high and the days under water after it
    depth = pd.Series(dd.to_numpy()).groupby(spell).min()
    deepest = depth[depth < 0].sort_values(kind="stable").index[:n]
    highs = dd.index[at_high]
    out = []
    for k in deepest:
        peak = highs[k - 1]
        end = highs[k] if k < len(highs) else dd.index[-1]
        out.append(max_drawdown(equity.loc[peak:end]))
    return out


def benchmark_statistics(equity: pd.Series, benchmark: pd.Series, rf_annual: pd.Series | float = 0.0) -> dict:
    """Alpha, beta, information ratio and tracking error against a benchmark, JSON-able (None if undefined).

    - beta: cov / var of daily excess returns (ddof=1), the CAPM regression slope;
    - alpha: Jensen's alpha, (mean excess return - beta x mean benchmark excess return) x 252,
      arithmetic and annualised. quantstats' `greeks` uses raw returns (no risk-free rate), so
      its alpha is higher by (1 - beta) x the mean T-bill return for a strategy with beta < 1;
    - tracking_error: std (ddof=1) of the daily active return (strategy - benchmark) x sqrt(252);
    - information_ratio: mean daily active return / its std x sqrt(252), i.e. annualised.
      quantstats' `information_ratio` is the same ratio NOT annualised (daily), 1/sqrt(252) of ours.
    """
    returns, bench, rf = _aligned(equity, benchmark, rf_annual)
    excess, bench_excess = (returns - rf).to_numpy(), (bench - rf).to_numpy()
    active = (returns - bench).to_numpy()
    if len(active) < MIN_DAYS_BENCHMARK - 1:
        raise DataError(f"benchmark statistics: at least {MIN_DAYS_BENCHMARK} days of equity are needed")
    cov = np.cov(excess, bench_excess, ddof=1)
    beta = cov[0, 1] / cov[1, 1] if cov[1, 1] > ZERO_VOLATILITY**2 else None
    active_std = active.std(ddof=1)
    root_year = math.sqrt(TRADING_DAYS_PER_YEAR)
    return {
        "alpha": float((excess.mean() - beta * bench_excess.mean()) * TRADING_DAYS_PER_YEAR)
        if beta is not None
        else None,
        "beta": float(beta) if beta is not None else None,
        "information_ratio": float(active.mean() / active_std * root_year) if active_std > ZERO_VOLATILITY else None,
        "tracking_error": float(active_std * root_year),
    }


def time_in_market(exposure: pd.Series) -> float:
    """Share of days with any market exposure (exposure > 0), from a daily series of invested weight.

    `exposure` is the weight of the portfolio in anything but cash each day (e.g. the sum of the
    run's `w_` columns). quantstats' `exposure` instead counts days with a non-zero return and
    rounds up to a whole percent; that counts a day in T-bill cash, which earns interest, as in
    the market, so it is not used.
    """
    values = exposure.to_numpy(dtype=float)
    if len(values) == 0 or not np.isfinite(values).all():
        raise DataError("exposure: no values, or a missing (NaN) value")
    return float(np.mean(values > 0.0))


def tail_statistics(equity: pd.Series) -> dict:
    """Hit rate, skewness, excess kurtosis and historical daily VaR / CVaR at 5%, JSON-able.

    - hit_rate: positive days / all days with a return. quantstats' `win_rate` divides by the
      days with a non-zero return instead, which reads higher for a strategy often flat;
    - skew: the adjusted Fisher-Pearson sample skewness (pandas `skew`, as quantstats);
    - excess_kurtosis: the bias-corrected EXCESS kurtosis (pandas `kurt`, as quantstats):
      0 for normal returns;
    - var_5: the 5% quantile of daily returns (numpy/pandas linear interpolation), a return
      (negative = loss): on 1 day in 20 the loss was at least this. quantstats' default `var`
      is parametric (normal); this is the historical one;
    - cvar_5: the mean of the daily returns at or below var_5 (expected shortfall), as
      quantstats' `cvar(method="historical")`; its default is parametric.
    """
    returns = checked_equity(equity).pct_change().iloc[1:]
    if len(returns) < MIN_DAYS_TAILS - 1:
        raise DataError(f"tail statistics: at least {MIN_DAYS_TAILS} days of equity are needed")
    var = float(returns.quantile(TAIL_PROBABILITY))
    return {
        "hit_rate": float((returns > 0).mean()),
        "skew": float(returns.skew()),
        "excess_kurtosis": float(returns.kurt()),
        "var_5": var,
        "cvar_5": float(returns[returns <= var].mean()),
    }


def _aligned(
    equity: pd.Series, benchmark: pd.Series, rf_annual: pd.Series | float
) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Daily returns of the strategy and the benchmark on the strategy's days, and the risk-free return."""
    equity = checked_equity(equity)
    bench = checked_equity(benchmark).reindex(equity.index)
    if bench.isna().any():
        raise DataError(f"benchmark: no value on {bench.index[bench.isna()][0].date()}, a day the strategy has")
    rf = daily_risk_free(rf_annual, equity.index)
    return equity.pct_change().iloc[1:], bench.pct_change().iloc[1:], rf


# row of `statistics_table`: what it is, as the report's table says ({benchmark}: the benchmark's name, IWM
# or the small caps that stand in for it before 2000, `data.benchmark`)
STATISTICS = {
    "alpha": "Jensen's alpha to {benchmark} over T-bills, a year",
    "beta": "beta to {benchmark} (daily excess returns)",
    "information_ratio": "mean active return over {benchmark} / its std, annualised",
    "tracking_error": "std of the daily active return over {benchmark}, annualised",
    "time_in_market": "share of days with anything but cash held",
    "hit_rate": "share of days with a positive return",
    "skew": "skewness of daily returns",
    "excess_kurtosis": "excess kurtosis of daily returns (normal = 0)",
    "var_5": "daily VaR 5%: the 5% quantile of daily returns (historical)",
    "cvar_5": "daily CVaR 5%: mean daily return at or below the VaR",
}


def statistics_table(
    curves: dict[str, pd.Series],
    benchmark: pd.Series,
    exposure: dict[str, pd.Series],
    rf_annual: pd.Series | float = 0.0,
) -> pd.DataFrame:
    """The tear sheet's statistics of each curve (one column per name in `curves`, one row per key of
    STATISTICS): `benchmark_statistics` against `benchmark`, `time_in_market` of `exposure[name]`
    (daily invested weight) and `tail_statistics`; None where a statistic is undefined, also where
    the run is too short for it (fewer than MIN_DAYS_BENCHMARK or MIN_DAYS_TAILS days)."""
    columns = {}
    for name, curve in curves.items():
        columns[name] = {"time_in_market": time_in_market(exposure[name])}
        if len(curve) >= MIN_DAYS_BENCHMARK:
            columns[name].update(benchmark_statistics(curve, benchmark, rf_annual))
        if len(curve) >= MIN_DAYS_TAILS:
            columns[name].update(tail_statistics(curve))
    table = pd.DataFrame(columns, dtype=object).reindex(list(STATISTICS)).astype(object)
    table = table.where(table.notna(), None)
    table.index.name = "statistic"
    return table


TRAILING_YEARS = (1, 3, 5, 10)  # quantstats' trailing windows; 3 years and longer are annualised


def trailing_returns(equity: pd.Series) -> dict[str, float | None]:
    """Return over the windows ending on the curve's last day, as quantstats' tear sheet lists them:
    month to date and year to date (from the previous month's and year's last value), 1 year (total),
    3, 5 and 10 years and the whole curve (annualised by calendar days / 365.25). A window longer
    than the curve is None. Each window starts at the last value on or before its first day."""
    v = equity.dropna()
    end, last = v.index[-1], float(v.iloc[-1])

    def since(start: pd.Timestamp) -> float | None:
        before = v[v.index <= start]
        return None if before.empty else last / float(before.iloc[-1]) - 1.0

    out = {
        "MTD": since(end.replace(day=1) - pd.Timedelta(days=1)) if (v.index < end.replace(day=1)).any() else None,
        "YTD": since(pd.Timestamp(end.year - 1, 12, 31)) if (v.index.year < end.year).any() else None,
    }
    for years in TRAILING_YEARS:
        start = end - pd.DateOffset(years=years)
        total = since(start) if v.index[0] <= start else None
        out[f"{years}Y"] = total if total is None or years == 1 else (1 + total) ** (1 / years) - 1
    span = (end - v.index[0]).days / 365.25
    out["all (annualised)"] = (last / float(v.iloc[0])) ** (1 / span) - 1 if span > 0 else None
    return out


DISTRIBUTION_QUANTILES = (
    0.05,
    0.25,
    0.5,
    0.75,
    0.95,
)  # the monthly returns' spread, as a histogram's quartiles and tails


def distribution(equity: pd.Series) -> dict[str, float | None]:
    """The shape of the returns: monthly returns' 5th, 25th, 50th, 75th and 95th percentiles (linear
    interpolation, as numpy), and the daily returns' skewness and excess kurtosis (pandas' bias-corrected
    sample estimates, as quantstats reports them)."""
    monthly = period_returns(equity, "M").dropna()
    daily = equity.dropna().pct_change().iloc[1:]
    out: dict[str, float | None] = {
        f"month, {q:.0%} percentile": float(monthly.quantile(q)) if len(monthly) else None
        for q in DISTRIBUTION_QUANTILES
    }
    out["skewness, days"] = float(daily.skew()) if len(daily) > 2 else None
    out["excess kurtosis, days"] = float(daily.kurt()) if len(daily) > 3 else None
    return out


def win_loss(equity: pd.Series) -> dict[str, float | None]:
    """Win/loss statistics of daily and monthly returns (a month runs from the previous month's last
    value; the first is partial): share of positive periods among those not flat, average gain and
    loss, best and worst."""
    out = {}
    for name, returns in (("day", equity.dropna().pct_change().iloc[1:]), ("month", period_returns(equity, "M"))):
        moved = returns[returns != 0]
        wins, losses = moved[moved > 0], moved[moved < 0]
        out[f"win rate, {name}s"] = float(len(wins) / len(moved)) if len(moved) else None
        out[f"average winning {name}"] = float(wins.mean()) if len(wins) else None
        out[f"average losing {name}"] = float(losses.mean()) if len(losses) else None
        out[f"best {name}"] = float(returns.max()) if len(returns) else None
        out[f"worst {name}"] = float(returns.min()) if len(returns) else None
    return out
