"""The simple rules fedcut has to beat, as daily target weights for the same execution.

Each is a pure function of what was known at each day's close, like the regime strategy's
targets, and runs through the same engine with the same costs, cash interest, next-day fills
and rebalance band. A NaN target means "no decision today": the holding is left as it is
(the monthly rebalances, and buy-and-hold's single purchase).

| name          | holds |
|---------------|-------|
| fedcut        | the regime strategy (`strategies.targets`) |
| buy_and_hold  | IWM, bought on the first day and held (its stand-ins before it: `data.benchmark`) |
| spy           | SPY, bought on the first day and held |
| sixty_forty   | `baseline.sixty_forty_iwm` (60%) IWM, the rest T-bill cash, rebalanced monthly |
| static_mix    | the regime strategy's neutral mix, rebalanced monthly: `strategy.neutral_iwm` IWM, `neutral_vo` VO, `neutral_ousm` OUSM (40/20/20 by default) and the rest, the cyclicals' share (20%), in T-bill cash |
| credit_rule   | IWM, or cash while the HY OAS (BAA-10y before it exists, its monthly average before 1986) has widened too much or is too high |
| trend_200d    | IWM while its total return closes above its 200-day average, else cash |
| vix_rule      | IWM while VIX closes at or below `baseline.vix_exit`, else cash |
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from fedcut.data.asof import asof_frame
from fedcut.data.benchmark import IWM, Benchmark
from fedcut.signals.indicators import TRADING_DAYS_A_MONTH

NAMES = ("fedcut", "buy_and_hold", "spy", "sixty_forty", "static_mix", "credit_rule", "trend_200d", "vix_rule")
LABELS = {
    "fedcut": "fedcut regime strategy",
    "buy_and_hold": IWM.label,  # on a history with stand-ins, `label_of` names it
    "spy": "buy-and-hold SPY",
    "sixty_forty": "60/40 IWM / T-bills",
    "static_mix": "static mix: IWM, VO, OUSM, rest T-bills",
    "credit_rule": "credit rule",
    "trend_200d": "200-day trend rule",
    "vix_rule": "VIX rule",
}
HOLD = np.nan  # a target that leaves the holding as it is


def label_of(name: str, benchmark: Benchmark = IWM) -> str:
    """A strategy's name on a page, IWM's slot named as the run's benchmark is (`data.benchmark`):
    "buy-and-hold small caps", "60/40 small caps / T-bills" where stand-ins hold it before IWM."""
    return LABELS.get(name, name).replace(IWM.short, benchmark.short) if name in LABELS else name


def tickers_for(name: str, strategy_tickers: tuple[str, ...]) -> tuple[str, ...]:
    """The tickers a named strategy trades (IWM first), within the run's own where they fit."""
    return ("SPY",) if name == "spy" else strategy_tickers


def plan(
    name: str,
    tickers: tuple[str, ...],
    days: pd.DatetimeIndex,
    iwm_close: pd.Series,
    vix: pd.Series,
    raw: dict[str, pd.Series],
    data_params,
    strategy,
    baseline,
) -> np.ndarray:
    """Target weights (days x tickers) of a baseline; `fedcut` is `strategies.targets`' job."""
    n, col = len(days), {t: j for j, t in enumerate(tickers)}
    weights = np.zeros((n, len(tickers)))
    if name in ("buy_and_hold", "spy"):
        weights[1:] = HOLD
        weights[0, 0] = 1.0
        return weights
    if name in ("sixty_forty", "static_mix"):
        mix = (
            {"IWM": baseline.sixty_forty_iwm}
            if name == "sixty_forty"
            else {"IWM": strategy.neutral_iwm, "VO": strategy.neutral_vo, "OUSM": strategy.neutral_ousm}
        )
        for t, w in mix.items():
            weights[:, col[t]] = w
        weights[~month_ends(days)] = HOLD
        return weights
    if name == "credit_rule":
        inside = ~credit_alarm(raw, days, data_params, baseline)
    elif name == "trend_200d":
        average = iwm_close.rolling(baseline.trend_days, min_periods=baseline.trend_days).mean()
        inside = (iwm_close > average).to_numpy()
    elif name == "vix_rule":
        inside = (vix <= baseline.vix_exit).to_numpy()
    else:
        raise ValueError(f"no baseline named {name!r}")
    weights[:, 0] = np.where(inside, 1.0, 0.0)
    return weights


def month_ends(days: pd.DatetimeIndex) -> np.ndarray:
    """True on the first day and on the last trading day of each month: monthly decisions, traded
    on the next month's first day."""
    period = days.to_period("M")
    last = np.r_[period[1:] != period[:-1], True]
    last[0] = True
    return last


def credit_alarm(raw: dict[str, pd.Series], days: pd.DatetimeIndex, data_params, baseline) -> np.ndarray:
    """True when credit says stay out, as known each day (FRED's next-business-day lag for the daily
    spreads, a month's end for a monthly average): the HY OAS up more than `credit_widening_pp` over
    `credit_window_days` trading days or above `credit_level`; before the HY OAS is known (1997), the
    daily BAA-10y spread with its own thresholds; before that is known (1986, the long history), its
    monthly average BAA10YM over the same window in months, with thresholds matched on the overlap."""
    window = baseline.credit_window_days
    hy, baa = raw["BAMLH0A0HYM2"], raw["BAA10Y"]
    series = {
        "BAMLH0A0HYM2": hy,
        "BAMLH0A0HYM2:change": (hy - hy.shift(window)).dropna(),
        "BAA10Y": baa,
        "BAA10Y:change": (baa - baa.shift(window)).dropna(),
    }
    monthly = raw.get("BAA10YM")
    if monthly is not None:
        months = max(1, round(window / TRADING_DAYS_A_MONTH))
        series.update({"BAA10YM": monthly, "BAA10YM:change": (monthly - monthly.shift(months)).dropna()})
    view = asof_frame(series, days, data_params)
    has_hy, has_baa = view["BAMLH0A0HYM2"].notna().to_numpy(), view["BAA10Y"].notna().to_numpy()
    hy_out = (
        (view["BAMLH0A0HYM2:change"] > baseline.credit_widening_pp) | (view["BAMLH0A0HYM2"] > baseline.credit_level)
    ).to_numpy()
    baa_out = ((view["BAA10Y:change"] > baseline.baa_widening_pp) | (view["BAA10Y"] > baseline.baa_level)).to_numpy()
    if monthly is None:
        monthly_out = np.zeros(len(days), dtype=bool)
    else:
        monthly_out = (
            (view["BAA10YM:change"] > baseline.baa_monthly_widening_pp) | (view["BAA10YM"] > baseline.baa_monthly_level)
        ).to_numpy()
    return np.where(has_hy, hy_out, np.where(has_baa, baa_out, monthly_out))
