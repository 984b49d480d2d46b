"""The run in short: a few plain sentences computed from the run's figures, printed right after the
console's header and shown at the top of report.html (the same sentences in both).

What each says, and where its numbers come from:
The benchmark is named as the run holds it (`data.benchmark`: IWM, or small caps on a spliced history).
- the benchmark's fall before the first cut: in how many easing cycles its total return over the
  `RUNUP_MONTHS` before the first cut was negative (episodes.csv, `benchmark_return_before_3m`);
- the collapses: each cycle's worst fall inside its window, the rules against the benchmark (metrics.json
  `cycles`, the same figures as the answer table), and in how many the rules fell less;
- the puts: the run against the same decisions without puts (metrics.json `hedge.without_puts`);
  they paid when the CAGR with them is the higher;
- the verdict against the buy-and-hold benchmark: the Sharpe difference's 95% interval (metrics.json `verdict`).
"""

from __future__ import annotations

import pandas as pd

from fedcut.analyzers.bootstrap import verdict_word
from fedcut.analyzers.episodes import RUNUP_MONTHS
from fedcut.data.benchmark import Benchmark, of_run
from fedcut.report.html import count, missing, pct, signed

CYCLES_NAMED = 6  # the sentences name at most this many cycles, the most recent, and say so


def in_short(metrics: dict, episodes: pd.DataFrame | None) -> list[str]:
    """The run's findings in plain sentences, each computed from `metrics` (metrics.json) and
    `episodes` (episodes.csv); a sentence whose figures the run lacks is left out."""
    bench = of_run(metrics.get("run"))
    # a spliced benchmark is said once, before the sentences that name it
    said = [f'The benchmark is spliced ({bench.splice}); "{bench.short}" below means that series.']
    sentences = (
        _runup(episodes, bench),
        _collapses(metrics, episodes, bench),
        _puts(metrics),
        _verdict(metrics, bench),
    )
    return said * bench.spliced + [s for s in sentences if s]


def _named(items: list[str], total: int) -> str:
    shown = ", ".join(items[-CYCLES_NAMED:])
    return shown + (f"; the {CYCLES_NAMED} most recent of {total} named" if total > CYCLES_NAMED else "")


def _runup(episodes: pd.DataFrame | None, bench: Benchmark) -> str:
    column = f"benchmark_return_before_{RUNUP_MONTHS}m"
    if episodes is None or column not in episodes or not len(episodes):
        return ""
    known = [(str(e["cycle"]), float(e[column])) for _, e in episodes.iterrows() if not missing(e[column])]
    if not known:
        return ""
    fell = sum(r < 0 for _, r in known)
    return (
        f"{bench.short[0].upper()}{bench.short[1:]} fell in the {RUNUP_MONTHS} months before the first cut in "
        f"{fell} of {count(len(known), 'easing cycle')} ({_named([f'{c} {pct(r, True)}' for c, r in known], len(known))})."
    )


def _collapses(metrics: dict, episodes: pd.DataFrame | None, bench: Benchmark) -> str:
    partial = (
        set()
        if episodes is None or "coverage" not in episodes
        else {str(e["cycle"]) for _, e in episodes.iterrows() if str(e["coverage"]) != "full"}
    )
    rows = [
        (c, v["strategy_max_drawdown"], v["benchmark_max_drawdown"])
        for c, v in metrics.get("cycles", {}).items()
        if not (missing(v.get("strategy_max_drawdown")) or missing(v.get("benchmark_max_drawdown")))
    ]
    if not rows:
        return ""
    less = sum(s > b for _, s, b in rows)
    items = [f"{c}{' (partial)' if c in partial else ''} {pct(s, True)} against {pct(b, True)}" for c, s, b in rows]
    return (
        f"The worst fall inside each easing cycle's window, the rules against {bench.short}: "
        f"{_named(items, len(rows))}; "
        f"the rules fell less in {less} of {len(rows)}."
    )


def _puts(metrics: dict) -> str:
    h, s = metrics.get("hedge", {}), metrics["strategy"]
    w = h.get("without_puts")
    if not h.get("option_trades"):
        return "No puts were bought."
    if not w or missing(w.get("cagr")) or missing(s.get("cagr")):
        return ""
    paid = "paid for themselves" if s["cagr"] > w["cagr"] else "did not pay for themselves"
    return (
        f"The puts {paid}: CAGR {pct(s['cagr'], True)} and max drawdown {pct(s['max_drawdown'], True)} with "
        f"them, {pct(w['cagr'], True)} and {pct(w['max_drawdown'], True)} for the same decisions without them."
    )


def _verdict(metrics: dict, bench: Benchmark) -> str:
    v = metrics.get("verdict") or {}
    entry = (v.get("against") or {}).get("buy_and_hold")
    if not entry:
        return ""
    word = verdict_word(entry)
    if word == "undefined":
        return f"Verdict: {entry['sentence']}."
    lo, hi = entry["sharpe_diff_ci"]
    relation = {"better": "better than", "worse": "worse than", "not distinguishable": "not distinguishable from"}[word]
    return (
        f"Verdict: {relation} {bench.label} (Sharpe difference {signed(entry['sharpe_diff'])}, 95% CI "
        f"{signed(lo)} to {signed(hi)}), on {count(v['n_easing_cycles'], 'easing cycle')}: a small sample."
    )
