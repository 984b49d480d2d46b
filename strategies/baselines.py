"""The simple rules fedcut has to beat, as daily target weights for the same execution.

Each is a pure function of what was known at each day's close, like the regime strategy's
targets, and runs through the same engine with the same costs, cash interest, next-day fills
and rebalance band. A NaN target means "no decision today": the holding is left as it is
(the monthly rebalances, and buy-and-hold's single purchase).

| name          | holds |
|---------------|-------|
| fedcut        | the regime strategy (`strategies.targets`) |
| buy_and_hold  | IWM, bought on the first day and held |
| spy           | SPY, bought on the first day and held |
| sixty_forty   | `baseline.sixty_forty_iwm` (60%) IWM, the rest T-bill cash, rebalanced monthly |
| static_mix    | the regime strategy's neutral mix (IWM, VO, OUSM), rebalanced monthly |
| credit_rule   | IWM, or cash while the HY OAS (BAA-10y before it exists) has widened too much or is too high |
| trend_200d    | IWM while its total return closes above its 200-day average, else cash |
| vix_rule      | IWM while VIX closes at or below `baseline.vix_exit`, else cash |
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from fedcut.data.asof import asof_frame

NAMES = ("fedcut", "buy_and_hold", "spy", "sixty_forty", "static_mix", "credit_rule", "trend_200d", "vix_rule")
LABELS = {
    "fedcut": "fedcut regime strategy",
    "buy_and_hold": "buy-and-hold IWM",
    "spy": "buy-and-hold SPY",
    "sixty_forty": "60/40 IWM / T-bills",
    "static_mix": "static neutral mix",
    "credit_rule": "credit rule",
    "trend_200d": "200-day trend rule",
    "vix_rule": "VIX rule",
}
HOLD = np.nan  # a target that leaves the holding as it is


def tickers_for(name: str, strategy_tickers: tuple[str, ...]) -> tuple[str, ...]:
    """The tickers a named strategy trades (IWM first), within the run's own where they fit."""
    return ("SPY",) if name == "spy" else strategy_tickers


def plan(name: str, tickers: tuple[str, ...], days: pd.DatetimeIndex, iwm_close: pd.Series, vix: pd.Series,
         raw: dict[str, pd.Series], data_params, strategy, baseline) -> np.ndarray:
    """Target weights (days x tickers) of a baseline; `fedcut` is `strategies.targets`' job."""
    n, col = len(days), {t: j for j, t in enumerate(tickers)}
    weights = np.zeros((n, len(tickers)))
    if name in ("buy_and_hold", "spy"):
        weights[1:] = HOLD
        weights[0, 0] = 1.0
        return weights
    if name in ("sixty_forty", "static_mix"):
        mix = {"IWM": baseline.sixty_forty_iwm} if name == "sixty_forty" else \
            {"IWM": strategy.neutral_iwm, "VO": strategy.neutral_vo, "OUSM": strategy.neutral_ousm}
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
    """True when credit says stay out, as known each day (FRED's next-business-day lag): the HY OAS
    up more than `credit_widening_pp` over `credit_window_days` trading days or above
    `credit_level`; before the HY OAS exists (1997), the BAA-10y spread with its own thresholds."""
    window = baseline.credit_window_days
    hy, baa = raw["BAMLH0A0HYM2"], raw["BAA10Y"]
    view = asof_frame({"BAMLH0A0HYM2": hy, "BAMLH0A0HYM2:change": (hy - hy.shift(window)).dropna(),
                       "BAA10Y": baa, "BAA10Y:change": (baa - baa.shift(window)).dropna()}, days, data_params)
    has_hy = view["BAMLH0A0HYM2"].notna().to_numpy()
    hy_out = ((view["BAMLH0A0HYM2:change"] > baseline.credit_widening_pp)
              | (view["BAMLH0A0HYM2"] > baseline.credit_level)).to_numpy()
    baa_out = ((view["BAA10Y:change"] > baseline.baa_widening_pp) | (view["BAA10Y"] > baseline.baa_level)).to_numpy()
    return np.where(has_hy, hy_out, baa_out)
