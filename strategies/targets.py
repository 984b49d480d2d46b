"""Decisions: from the daily regime to target portfolio weights and a hedge ratio.

A pure function of the signal frame, computed once before the event loop. Each regime maps to
desired weights (the playbook below, every number a `strategy.*` parameter); IWM is then scaled
in (its weight rises by at most 1/N a day) while every cut in exposure happens at once.

| regime                      | holds |
|-----------------------------|-------|
| soft_landing                | IWM, accumulated over `accumulate_days` |
| neutral                     | IWM + VO + OUSM + large-cap cyclicals: less fragile exposure while no cut is in view |
| recession_risk              | `recession_action`: avoid (cash), hedge (IWM + puts), quality (OUSM), midcap (VO), cyclicals |
| crisis                      | defensives (`defensives`, equal weights) and cash at the T-bill rate; with `hedge.hold_through_crisis` the small caps already held stay, with puts |
| late_panic, before capitulation | as crisis: wait for the post-cut low |
| late_panic, after capitulation  | IWM, re-entered over `reentry_days`; with recession evidence as `capitulation_in_recession` says (with puts, wait, or bare) |

Puts are sized on the IWM position actually held (`hedge.hedge_ratio` of it), in every case with a
hedge ratio: recession risk hedged, a capitulation bought with recession evidence, and a crisis or
wait held through.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from fedcut.core.jit import jit

HOLDINGS = ("IWM", "VO", "OUSM", "XLI", "XLF", "ITB", "XLP", "XLU", "IEF", "TLT", "SHY")


def holdings_for(strategy) -> tuple[str, ...]:
    """The tickers this configuration can hold, IWM first."""
    names = ["IWM", "VO", "OUSM", *strategy.cyclicals, *strategy.defensives]
    return tuple(dict.fromkeys(names))


# The situations a day can be in, as far as holdings go: each regime, and late panic split by
# whether the post-cut capitulation has been seen, and if so with or without recession evidence.
CASES = (
    "soft_landing",
    "neutral",
    "recession_risk",
    "crisis",
    "late_panic",
    "late_panic_capitulated",
    "late_panic_capitulated_recession",
)


def case_codes(signals: pd.DataFrame) -> np.ndarray:
    """Each day's index into CASES."""
    regime = signals["regime"].to_numpy()
    code = np.select([regime == c for c in CASES[:5]], range(5), default=-1)
    capitulated = (regime == "late_panic") & signals["capitulated"].to_numpy()
    code[capitulated] = CASES.index("late_panic_capitulated")
    code[capitulated & signals["recession_evidence"].to_numpy()] = CASES.index("late_panic_capitulated_recession")
    if (code < 0).any():
        raise ValueError(f"unknown regime {regime[code < 0][0]!r}")
    return code


def playbook(strategy, hedge, tickers: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One configuration's holdings per case: weights (cases x tickers; NaN = keep what is held),
    hedge ratio, and the IWM step per day (1/accumulate_days, or 1/reentry_days when re-entering
    after a capitulation). `hedge` is the configuration's hedge section."""
    col = {t: j for j, t in enumerate(tickers)}
    w = np.zeros((len(CASES), len(tickers)))
    ratio = np.zeros(len(CASES))
    case = {c: k for k, c in enumerate(CASES)}

    def spread(row: str, names, weight: float) -> None:
        for t in names:
            w[case[row], col[t]] += weight / len(names)

    w[case["soft_landing"], col["IWM"]] = strategy.soft_landing_iwm
    for t, value in (("IWM", strategy.neutral_iwm), ("VO", strategy.neutral_vo), ("OUSM", strategy.neutral_ousm)):
        w[case["neutral"], col[t]] = value
    spread("neutral", strategy.cyclicals, strategy.neutral_cyclicals)
    action = strategy.recession_action
    if action == "hedge":
        w[case["recession_risk"], col["IWM"]] = strategy.recession_equity
        ratio[case["recession_risk"]] = hedge.hedge_ratio
    elif action == "quality":
        w[case["recession_risk"], col["OUSM"]] = strategy.recession_equity
    elif action == "midcap":
        w[case["recession_risk"], col["VO"]] = strategy.recession_equity
    elif action == "cyclicals":
        spread("recession_risk", strategy.cyclicals, strategy.recession_equity)
    for waiting in ("crisis", "late_panic"):
        if hedge.hold_through_crisis:  # the small caps held stay, with puts; no new defensives
            w[case[waiting], col["IWM"]] = np.nan
            ratio[case[waiting]] = hedge.hedge_ratio
        else:
            spread(waiting, strategy.defensives, strategy.defensive_weight)
    w[case["late_panic_capitulated"], col["IWM"]] = strategy.capitulation_iwm
    in_recession = strategy.capitulation_in_recession
    if in_recession == "wait":
        w[case["late_panic_capitulated_recession"]] = w[case["late_panic"]]
        ratio[case["late_panic_capitulated_recession"]] = ratio[case["late_panic"]]
    else:
        w[case["late_panic_capitulated_recession"], col["IWM"]] = strategy.capitulation_iwm
        ratio[case["late_panic_capitulated_recession"]] = hedge.hedge_ratio if in_recession == "hedge" else 0.0
    step = np.full(len(CASES), 1.0 / strategy.accumulate_days)
    step[[case["late_panic_capitulated"], case["late_panic_capitulated_recession"]]] = 1.0 / strategy.reentry_days
    return w, ratio, step


def target_block(
    signals: pd.DataFrame, available: np.ndarray, strategies: list, hedges: list, tickers: tuple[str, ...]
) -> tuple[np.ndarray, np.ndarray]:
    """Target weights (configs x days x tickers) and hedge ratios (configs x days) of several
    configurations that share one signal frame.

    `available` (days x tickers, bool): a ticker without a price (before its first day, no proxy)
    gets weight 0 and its share stays in cash. IWM is scaled in: its weight rises by at most one
    step a day, while every cut happens at once (the last step lands exactly on the target); a NaN
    (keep what is held) passes through and the scaling resumes from the last target before it.
    Puts are sized later on the IWM actually held, so a hedge ratio stands on every day of its case.
    """
    codes = case_codes(signals)
    books = [playbook(s, h, tickers) for s, h in zip(strategies, hedges)]
    # configurations outermost: each one's days contiguous, as the engine reads them
    weights = np.empty((len(books), len(codes), len(tickers)))
    ratios = np.empty((len(books), len(codes)))
    expand(
        np.stack([b[0] for b in books]),
        np.stack([b[1] for b in books]),
        np.stack([b[2] for b in books]),
        codes.astype(np.int64),
        np.ascontiguousarray(available, dtype=np.bool_),
        weights,
        ratios,
    )
    return weights, ratios


@jit
def expand(book, ratio, step, codes, available, weights, ratios):
    """`target_block`'s one pass over the days: configuration k's weights on day i are its playbook's
    row for the day's case (`book[k, codes[i]]`), 0 for a ticker without a price unless NaN (keep),
    IWM scaled in (`scale_in`); `ratios[k, i]` the case's hedge ratio."""
    K, n, T = weights.shape
    for k in range(K):
        prev = 0.0
        for i in range(n):
            c = codes[i]
            for t in range(T):
                w = book[k, c, t]
                weights[k, i, t] = w if available[i, t] or w != w else 0.0
            ratios[k, i] = ratio[k, c]
            held = weights[k, i, 0] = _scaled(weights[k, i, 0], prev, step[k, c])
            if held == held:  # a NaN (keep) is the day's weight only
                prev = held


@jit
def scale_in(want, steps, out):
    """IWM's scaling in: row k of `out` is row k of `want` (configurations x days) raised by at most
    `steps[k, i]` a day, every cut at once, a step within 1e-9 of the target landing on it; a NaN
    (keep what is held) passes through and the scaling resumes from the last target before it."""
    K, n = want.shape
    for k in range(K):
        prev = 0.0
        for i in range(n):
            held = out[k, i] = _scaled(want[k, i], prev, steps[k, i])
            if held == held:  # a NaN (keep) is the day's weight only
                prev = held


@jit
def _scaled(target, prev, step):
    """One day of `scale_in`: the weight held after `prev` towards `target`; a NaN passes through."""
    if target != target:
        return target
    step_up = prev + step
    if target <= prev or step_up >= target - 1e-9:
        return target
    return step_up


def target_weights(signals: pd.DataFrame, available: pd.DataFrame, strategy, hedge) -> pd.DataFrame:
    """One configuration's target weights `w_<TICKER>` and `hedge_ratio` per day (`target_block`)."""
    tickers = holdings_for(strategy)
    mask = available.reindex(columns=list(tickers), fill_value=False).to_numpy(dtype=bool)
    weights, hedge = target_block(signals, mask, [strategy], [hedge], tickers)
    out = pd.DataFrame(weights[0], index=signals.index, columns=[f"w_{t}" for t in tickers])
    out["hedge_ratio"] = hedge[0]
    return out
