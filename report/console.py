"""The short text summary a run prints: what was run, the warnings, the strategy against its
baselines, the verdict, and each easing cycle's run-up, return and drawdown.

It says in a few lines what `report.html` opens with (`analyzers/report.py`'s verdict section).
"""

from __future__ import annotations

import math

import pandas as pd

from fedcut.analyzers.cycle_verdict import tally_words
from fedcut.analyzers.episodes import RUNUP_MONTHS
from fedcut.data.benchmark import Benchmark, of_run
from fedcut.plots.kit import MAX_CYCLES_LISTED
from fedcut.report.hedge import console_lines as hedge_lines
from fedcut.report.in_short import in_short
from fedcut.strategies.baselines import label_of


def _pct(x, signed: bool = True) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    text = f"{x:+.1%}" if signed else f"{x:.1%}"
    return text if any(c in "123456789" for c in text) else f"{0.0:+.1%}" if signed else f"{0.0:.1%}"


def _ratio(x) -> str:
    return "n/a" if x is None else f"{x:.2f}"


def _usd(x: float) -> str:
    """-457953.2 -> '-$457,953'; an amount that rounds to nothing is '$0', never '$-0'."""
    whole = round(x)
    return f"{'-' if whole < 0 else ''}${abs(whole):,}"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _setting(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(map(str, value)) + "]"
    return '""' if value == "" else str(value)


def summary(
    metrics: dict, episodes: pd.DataFrame | None = None, changed: list[tuple[str, object, object, str]] | None = None
) -> str:
    """The summary of a run's `metrics` (metrics.json); with its `episodes` (episodes.csv) each cycle's
    run-up and whether its window is complete, with `changed` (`config.changed_parameters`) the
    parameters that differ from their defaults."""
    run = metrics["run"]
    lines = []
    if run["oracle"]:
        lines.append(f"*** {run['label']} ***")
    if run.get("backfilled_indices"):
        lines.append(f"*** {run['backfilled_label']} ***")
    own, bench = run.get("strategy", "fedcut"), of_run(run)
    lines.append(f"{label_of(own, bench)} {run['start']} .. {run['end']} (end set by {run['end_set_by']})")
    if changed is not None:
        lines.append(
            "parameters changed: "
            + (
                "; ".join(
                    f"{key} = {_setting(value)} (default {_setting(default)})" for key, value, default, _ in changed
                )
                or "none, every parameter at its default"
            )
        )
    findings = in_short(metrics, episodes)
    if findings:
        lines += ["In short:", *(f"  {sentence}" for sentence in findings), ""]
    for p in run["proxies"]:
        lines.append(f"  proxy: {p}")
    for note in run.get("notes", []):
        lines.append(f"  {note}" if note.startswith("warning:") else f"  note: {note}")
    rejected = metrics.get("rejected_orders", 0)
    if rejected:
        lines.append(
            f"  warning: {_count(rejected, 'order')} {'was' if rejected == 1 else 'were'} rejected by the "
            "broker (not enough cash); see trades.csv"
        )
    partial = (
        [] if episodes is None else [e for _, e in episodes.iterrows() if str(e.get("coverage", "full")) != "full"]
    )
    for e in partial:
        lines.append(f"  warning: the {e['cycle']} cycle is only partly covered: {e['coverage']}")
    lines.append("")
    rows = [(f"{label_of(own, bench)} (this run)", metrics["strategy"])]
    rows += [(label_of(name, bench), figures) for name, figures in metrics.get("baselines", {}).items()]
    width = max(28, *(len(label) + 2 for label, _ in rows))
    # columns are separated by a space even when a short run's CAGR is too wide for its column
    lines.append(f"{'':{width}}{'CAGR':>8} {'total':>9} {'vol':>7} {'max DD':>8} {'Sharpe':>7}")
    for label, s in rows:
        sharpe = _ratio(s["sharpe"])
        lines.append(
            f"{label:{width}}{_pct(s['cagr']):>8} {_pct(s['total_return']):>9} "
            f"{_pct(s['volatility'], signed=False):>7} {_pct(s['max_drawdown']):>8} {sharpe:>7}"
        )
    v = metrics.get("verdict")
    if v:
        lines.append("")
        lines.append(
            f"verdict (95% intervals, paired block bootstrap of daily returns; the evidence rests on "
            f"{_count(v['n_easing_cycles'], 'easing cycle')}, a small sample):"
        )
        lines += [f"  {entry['sentence']}" for entry in v["against"].values()]
    tally = metrics.get("cycle_verdict")
    if tally:
        lines.append(f"  {tally_words(tally, bench.label)}")
    f = metrics.get("foresight")
    if f and f["cagr_gain"] is not None:
        lines.append(
            f"  price of foresight: CAGR {f['oracle']['cagr']:+.1%} knowing every cut {f['oracle_lead_days']} "
            f"days ahead (oracle), {f['real_time']['cagr']:+.1%} from market pricing: "
            f"{100 * f['cagr_gain']:+.2f} pp a year"
        )
    lines.append("")
    lines += _cycle_lines(metrics, episodes, bench)
    h = metrics["hedge"]
    lines.append("")
    lines.append(
        f"puts: {h['option_trades']} trades, premium paid {_usd(h['premium_paid'])}, "
        f"received {_usd(h['proceeds_and_settlements'])}, net {_usd(h['net_cash'])}"
    )
    w = h.get("without_puts")
    if w and h["option_trades"]:
        s = metrics["strategy"]
        lines.append(
            f"  without puts the run would have earned CAGR {_pct(w['cagr'])}, Sharpe {_ratio(w['sharpe'])}, "
            f"max DD {_pct(w['max_drawdown'])} (with them {_pct(s['cagr'])}, {_ratio(s['sharpe'])}, "
            f"{_pct(s['max_drawdown'])}): the same decisions, the puts left out"
        )
    lines += hedge_lines(h)
    if h.get("volatility_modelled_to"):
        lines.append(
            f"  note: until {h['volatility_modelled_to']} the puts' volatility is modelled from the market's "
            "realised volatility (no implied volatility was published)"
        )
    return "\n".join(lines)


def _cycle_lines(metrics: dict, episodes: pd.DataFrame | None, bench: Benchmark) -> list[str]:
    """Per easing cycle: the benchmark's run-up before the first cut (with `episodes`), the window's
    return and max drawdown of the strategy, the benchmark and the best baseline, and the window
    (flagged when the data ends inside it). The benchmark's columns are as wide as its name."""
    cycles = list(metrics["cycles"].items())
    shown = cycles[-MAX_CYCLES_LISTED:]
    more = f" ({len(shown)} most recent of {len(cycles)})" if len(shown) < len(cycles) else ""
    by_cycle = {} if episodes is None else {str(e["cycle"]): e for _, e in episodes.iterrows()}
    best = (metrics.get("cycle_verdict") or {}).get("best_baseline")
    sides = ("strategy", "benchmark", *(("best_baseline",) if best else ()))
    lines = []
    if best:
        lines.append(
            f"best baseline: {label_of(best, bench)} (the highest Sharpe over the run among the baselines "
            f"other than {bench.label}, picked after the fact)"
        )
    col, runup_col = max(8, len(bench.short) + 1), max(9, len(bench.short) + len(f" {RUNUP_MONTHS}m") + 1)
    width = {"strategy": 9, "benchmark": col, "best_baseline": 8}
    names = f"{'strategy':>9}{bench.short:>{col}}" + (f"{'best':>8}" if best else "")
    lines += [
        f"{'easing cycle':18}{f'{bench.short} {RUNUP_MONTHS}m':>{runup_col}} {'return in window':^{len(names)}} "
        f"{'max drawdown in window':^{len(names)}}",
        f"{'':18}{'pre-cut':>{runup_col}} {names} {names}  window{more}",
    ]
    for cycle, c in shown:
        e = by_cycle.get(str(cycle))
        runup = _pct(e.get(f"benchmark_return_before_{RUNUP_MONTHS}m")) if e is not None else "n/a"
        name = f"{cycle} (partial)" if e is not None and str(e.get("coverage", "full")) != "full" else str(cycle)
        returns = "".join(f"{_pct(c.get(f'{side}_return')):>{width[side]}}" for side in sides)
        drawdowns = "".join(f"{_pct(c.get(f'{side}_max_drawdown')):>{width[side]}}" for side in sides)
        lines.append(f"{name:18}{runup:>{runup_col}} {returns} {drawdowns}  {c['window']}")
    return lines
