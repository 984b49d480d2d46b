"""Your own rules, run through fedcut's execution, baselines, verdict and sweeps (docs: own rules).

    fedcut run --strategy examples.user_rules:credit_rule
    fedcut run --baseline examples.user_rules:sell_in_may
    fedcut run --strategy examples.user_rules:credit_rule --set user.level=6.0

`credit_rule` is fedcut's own credit baseline (`strategies.baselines.credit_alarm`) written as a user
rule: its run gives the same equity, trades and cycles to the byte (tests/test_user_rules.py).
`sell_in_may` is a baseline of a different kind: small caps from November to April, cash otherwise.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from fedcut.strategies.user import rule, setting

MONTH = 21  # trading days in a month: a window in days read on a monthly average, in months


@rule(
    widening_pp=setting(0.5, "pp", "out of IWM when the HY OAS has risen this much over the window", 0.05, 5.0),
    level=setting(7.0, "%", "out of IWM while the HY OAS stands above this", 2.0, 25.0),
    window_days=setting(63, "trading days", "the widening is measured over about three months", 5, 260),
    baa_widening_pp=setting(0.15, "pp", "before the HY OAS exists (1997): BAA-10y widening", 0.01, 2.0),
    baa_level=setting(3.0, "%", "before the HY OAS exists: BAA-10y level", 1.0, 10.0),
    baa_monthly_widening_pp=setting(
        0.16, "pp", "before the daily BAA-10y (1986): its monthly average's widening", 0.01, 2.0
    ),
    baa_monthly_level=setting(3.0, "%", "before the daily BAA-10y: its monthly average's level", 1.0, 10.0),
)
def credit_rule(inputs, params) -> pd.DataFrame:
    """All in IWM, or all in cash while credit spreads have widened too much or stand too high, each
    spread read as it was known that day (FRED's daily series the next business day, a monthly
    average once its month is over)."""
    window, raw = params.window_days, inputs.raw
    hy, baa = raw["BAMLH0A0HYM2"], raw["BAA10Y"]
    series = {
        "BAMLH0A0HYM2": hy,
        "BAMLH0A0HYM2:change": (hy - hy.shift(window)).dropna(),
        "BAA10Y": baa,
        "BAA10Y:change": (baa - baa.shift(window)).dropna(),
    }
    monthly = raw.get("BAA10YM")
    if monthly is not None:
        months = max(1, round(window / MONTH))
        series.update({"BAA10YM": monthly, "BAA10YM:change": (monthly - monthly.shift(months)).dropna()})
    known = inputs.known(series)
    hy_out = (known["BAMLH0A0HYM2:change"] > params.widening_pp) | (known["BAMLH0A0HYM2"] > params.level)
    baa_out = (known["BAA10Y:change"] > params.baa_widening_pp) | (known["BAA10Y"] > params.baa_level)
    if monthly is None:
        monthly_out = np.zeros(len(inputs.days), dtype=bool)
    else:
        monthly_out = (
            (known["BAA10YM:change"] > params.baa_monthly_widening_pp) | (known["BAA10YM"] > params.baa_monthly_level)
        ).to_numpy()
    alarm = np.where(known["BAMLH0A0HYM2"].notna(), hy_out, np.where(known["BAA10Y"].notna(), baa_out, monthly_out))
    return pd.DataFrame({"w_IWM": np.where(alarm, 0.0, 1.0)}, index=inputs.days)


def sell_in_may(inputs, params) -> pd.DataFrame:
    """Small caps from November to April, T-bill cash from May to October: each day's decision reads
    only the calendar."""
    winter = ~inputs.days.month.isin([5, 6, 7, 8, 9, 10])
    return pd.DataFrame({"w_IWM": np.where(winter, 1.0, 0.0)}, index=inputs.days)
