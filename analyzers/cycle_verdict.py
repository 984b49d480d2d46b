"""The verdict cycle by cycle, and how much history the verdict would need.

- `best_baseline`: the comparison a reader should fear most. Among the baselines other than
  buy-and-hold small caps (shown on its own), the one with the highest Sharpe ratio over the whole
  run, chosen after the fact: a deliberately hard yardstick, never a flattering one.
- `cycle_tally`: in how many complete easing cycles the rules had the shallower drawdown, and the
  higher window return, than buy-and-hold, each share with an exact (Clopper-Pearson) 95% interval.
  A cycle whose window the data cuts off is left out of the count and named.
- `min_track_record`: the minimum track record length (Bailey & Lopez de Prado 2012, "The Sharpe
  ratio efficient frontier", J. of Risk 15(2)): the length at which the observed Sharpe difference
  would be distinguishable from zero, its standard error shrinking as one over the square root of
  the length. The standard error is the verdict's own (the standard deviation of the Sharpe
  difference over the paired block bootstrap's resamples), not the closed form for one i.i.d.
  series: the difference of two correlated, autocorrelated and fat-tailed return series has no such
  closed form, and with the bootstrap's error the length is shorter than the run exactly when the
  normal interval of the same resamples excludes zero.

All are pure functions of plain numbers.
"""

from __future__ import annotations

import math

from scipy import special

from fedcut.analyzers.bootstrap import CONFIDENCE

BENCHMARK = "buy_and_hold"
LONGEST_SAID_YEARS = 1000  # a longer track record is said as "more than 1,000 years" (metrics.json keeps the figure)  # the per-cycle verdict is against buy-and-hold small caps


def clopper_pearson(k: int, n: int, confidence: float = CONFIDENCE) -> list[float] | None:
    """The exact two-sided interval of a binomial share k/n (Clopper & Pearson 1934), from the beta
    distribution's quantiles (`betaincinv`, what `scipy.stats.beta.ppf` returns, to the bit, without
    importing scipy.stats: about a tenth of a run's time); None when there is no trial."""
    if n <= 0:
        return None
    tail = (1.0 - confidence) / 2.0
    lo = 0.0 if k == 0 else float(special.betaincinv(k, n - k + 1, tail))
    hi = 1.0 if k == n else float(special.betaincinv(k + 1, n - k, 1.0 - tail))
    return [lo, hi]


def best_baseline(figures: dict[str, dict], exclude: tuple[str, ...] = (BENCHMARK,)) -> str | None:
    """The baseline with the highest full-run Sharpe ratio, `exclude`d ones and undefined Sharpe ratios
    left out; a tie goes to the first in `figures`' order."""
    best, best_sharpe = None, -math.inf
    for name, f in figures.items():
        sharpe = f.get("sharpe")
        if name in exclude or sharpe is None or not math.isfinite(sharpe):
            continue
        if sharpe > best_sharpe:
            best, best_sharpe = name, sharpe
    return best


def cycle_tally(rows: list[dict], confidence: float = CONFIDENCE) -> dict:
    """`rows`: one dict per easing cycle with `cycle`, `complete`, `window_start`, `window_end` (ISO
    dates), `strategy_max_drawdown`, `benchmark_max_drawdown`, `strategy_return`, `benchmark_return`.
    Counts over the complete cycles (a tie is not a win); partial ones are listed in `excluded`.
    `overlapping` counts the complete cycles whose window shares days with another's: such cycles are
    not independent trials, and the binomial interval then claims more certainty than they hold."""
    counted = [r for r in rows if r["complete"]]
    n = len(counted)
    overlapping = sum(
        any(
            o is not r and o["window_start"] <= r["window_end"] and r["window_start"] <= o["window_end"]
            for o in counted
        )
        for r in counted
    )
    shallower = sum(r["strategy_max_drawdown"] > r["benchmark_max_drawdown"] for r in counted)
    higher = sum(r["strategy_return"] > r["benchmark_return"] for r in counted)
    return {
        "n": n,
        "excluded": [str(r["cycle"]) for r in rows if not r["complete"]],
        "confidence": confidence,
        "overlapping": int(overlapping),
        "shallower_drawdown": {
            "k": int(shallower),
            "share": shallower / n if n else None,
            "ci": clopper_pearson(shallower, n, confidence),
        },
        "higher_return": {
            "k": int(higher),
            "share": higher / n if n else None,
            "ci": clopper_pearson(higher, n, confidence),
        },
    }


def min_track_record(
    sharpe_diff: float | None, sharpe_diff_se: float | None, years: float, n_cycles: int, confidence: float = CONFIDENCE
) -> dict:
    """Years (and easing cycles at the run's rate of `n_cycles` in `years`) a track record needs for
    `sharpe_diff` to lie `z` standard errors from zero, z the two-sided normal quantile of
    `confidence` (1.96 at 95%, the verdict's rule): years * (z * se / diff)**2. `never` when the
    difference is not positive; None figures when it cannot be computed."""
    z = float(special.ndtri(1.0 - (1.0 - confidence) / 2.0))
    out = {"years": None, "cycles": None, "never": False, "z": z, "method": "bootstrap standard error"}
    if sharpe_diff is None or sharpe_diff_se is None or not years > 0:
        return out
    if sharpe_diff <= 0:
        return {**out, "never": True}
    need = years * (z * sharpe_diff_se / sharpe_diff) ** 2
    return {**out, "years": need, "cycles": need * n_cycles / years}


def track_record_words(entry: dict | None) -> str:
    """'distinguishable at 95% after 154 years (56 easing cycles) of track record (minimum track record)',
    or 'never' when the difference is not positive."""
    if not entry or (entry["years"] is None and not entry["never"]):
        return "minimum track record n/a"
    if entry["never"]:
        return "minimum track record: never (the Sharpe difference is not positive)"
    if entry["years"] > LONGEST_SAID_YEARS:
        return f"distinguishable at 95% only after more than {LONGEST_SAID_YEARS:,} years of track record (minimum track record)"
    return (
        f"distinguishable at 95% after {entry['years']:.0f} years ({entry['cycles']:.0f} easing cycles) of "
        "track record (minimum track record)"
    )


def tally_words(tally: dict, benchmark_label: str) -> str:
    """The count of cycles in words, with the intervals and what was left out."""
    n = tally["n"]
    if not n:
        left = (
            f"; left out, the data ends inside the window: {', '.join(tally['excluded'])}" if tally["excluded"] else ""
        )
        return f"no complete easing cycle to count against {benchmark_label}{left}"

    def share(key: str, what: str) -> str:
        t = tally[key]
        lo, hi = t["ci"]
        return f"{what} in {t['k']} of {n} ({t['share']:.0%}, 95% CI {lo:.0%} to {hi:.0%})"

    text = (
        f"complete easing cycles against {benchmark_label}: {share('shallower_drawdown', 'shallower drawdown')}, "
        f"{share('higher_return', 'higher window return')} (exact binomial intervals)"
    )
    if tally["excluded"]:
        text += f"; left out, the data ends inside the window: {', '.join(tally['excluded'])}"
    if tally["overlapping"]:
        text += (
            f"; {tally['overlapping']} of the {n} windows overlap another, so these are not independent "
            "trials and the intervals are too narrow"
        )
    return text
