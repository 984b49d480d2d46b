"""Decisions: from the daily regime to target portfolio weights and a hedge ratio.

A pure function of the signal frame, computed once before the event loop. Each regime maps to
desired weights (the playbook below, every number a `strategy.*` parameter); IWM is then scaled
in (its weight rises by at most 1/N a day) while every cut in exposure happens at once.

| regime                      | holds |
|-----------------------------|-------|
| soft_landing                | IWM, accumulated over `accumulate_days` |
| neutral                     | IWM + VO + OUSM: less fragile exposure while no cut is in view |
| recession_risk              | `recession_action`: avoid (cash), hedge (IWM + puts), quality (OUSM), midcap (VO) |
| crisis                      | defensives (`defensives`, equal weights) and cash at the T-bill rate |
| late_panic, before capitulation | as crisis: wait for the post-cut low |
| late_panic, after capitulation  | IWM, re-entered over `reentry_days` |
"""
from __future__ import annotations

import numpy as np
import pandas as pd

HOLDINGS = ("IWM", "VO", "OUSM", "XLP", "XLU", "IEF", "TLT", "SHY")


def holdings_for(strategy) -> tuple[str, ...]:
    """The tickers this configuration can hold, IWM first."""
    names = ["IWM", "VO", "OUSM", *strategy.defensives]
    return tuple(dict.fromkeys(names))


def desired_weights(signals: pd.DataFrame, strategy, hedge_ratio: float) -> tuple[pd.DataFrame, pd.Series]:
    """Per-day weights each regime asks for, before scaling in and availability."""
    tickers = holdings_for(strategy)
    regime = signals["regime"].to_numpy()
    capitulated = signals["capitulated"].to_numpy()
    w = {t: np.zeros(len(signals)) for t in tickers}
    hedge = np.zeros(len(signals))

    soft = regime == "soft_landing"
    w["IWM"][soft] = strategy.soft_landing_iwm

    neutral = regime == "neutral"
    w["IWM"][neutral] = strategy.neutral_iwm
    w["VO"][neutral] = strategy.neutral_vo
    w["OUSM"][neutral] = strategy.neutral_ousm

    recession = regime == "recession_risk"
    action = strategy.recession_action
    if action == "hedge":
        w["IWM"][recession] = strategy.recession_equity
        hedge[recession] = hedge_ratio
    elif action == "quality":
        w["OUSM"][recession] = strategy.recession_equity
    elif action == "midcap":
        w["VO"][recession] = strategy.recession_equity

    waiting = (regime == "crisis") | ((regime == "late_panic") & ~capitulated)
    for t in strategy.defensives:
        w[t][waiting] += strategy.defensive_weight / len(strategy.defensives)
    w["IWM"][(regime == "late_panic") & capitulated] = strategy.capitulation_iwm
    return pd.DataFrame(w, index=signals.index), pd.Series(hedge, index=signals.index, name="hedge_ratio")


def target_weights(signals: pd.DataFrame, available: pd.DataFrame, strategy, hedge_ratio: float) -> pd.DataFrame:
    """Target weights `w_<TICKER>` and `hedge_ratio` per day.

    `available` is a boolean frame (day x ticker): a ticker without a price (before its first
    day, no proxy) gets weight 0 and its share stays in cash.
    """
    desired, hedge = desired_weights(signals, strategy, hedge_ratio)
    desired = desired.where(available.reindex(columns=desired.columns, fill_value=False), 0.0)
    reentry = ((signals["regime"] == "late_panic") & signals["capitulated"]).to_numpy()
    step = np.where(reentry, 1.0 / strategy.reentry_days, 1.0 / strategy.accumulate_days)
    want = desired["IWM"].to_numpy()
    iwm = np.empty_like(want)
    prev = 0.0
    for i, target in enumerate(want):
        if target <= prev:
            prev = target
        else:
            step_up = prev + step[i]
            prev = target if step_up >= target - 1e-9 else step_up  # the last step lands exactly
        iwm[i] = prev
    desired["IWM"] = iwm
    out = desired.add_prefix("w_")
    out["hedge_ratio"] = np.where(iwm > 0, hedge.to_numpy(), 0.0)
    return out
