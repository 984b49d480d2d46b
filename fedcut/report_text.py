"""The short text summary a run prints: the strategy against its baselines, the verdict, per cycle."""
from __future__ import annotations

from fedcut.signals.plot import MAX_CYCLES_SHOWN
from fedcut.strategies.baselines import LABELS


def _pct(x, signed: bool = True) -> str:
    if x is None:
        return "n/a"
    return f"{x:+.1%}" if signed else f"{x:.1%}"


def _usd(x: float) -> str:
    """-457953.2 -> '-$457,953'; an amount that rounds to nothing is '$0', never '$-0'."""
    whole = round(x)
    return f"{'-' if whole < 0 else ''}${abs(whole):,}"


def summary(metrics: dict) -> str:
    run = metrics["run"]
    lines = []
    if run["oracle"]:
        lines.append(f"*** {run['label']} ***")
    if run.get("backfilled_indices"):
        lines.append(f"*** {run['backfilled_label']} ***")
    own = run.get("strategy", "fedcut")
    lines.append(f"{LABELS.get(own, own)} {run['start']} .. {run['end']} (end set by {run['end_set_by']})")
    for p in run["proxies"]:
        lines.append(f"  proxy: {p}")
    for note in run.get("notes", []):
        lines.append(f"  {note}" if note.startswith("warning:") else f"  note: {note}")
    lines.append("")
    # columns are separated by a space even when a short run's CAGR is too wide for its column
    lines.append(f"{'':28}{'CAGR':>8} {'total':>9} {'vol':>7} {'max DD':>8} {'Sharpe':>7}")
    rows = [(f"{LABELS.get(own, own)} (this run)", metrics["strategy"])]
    rows += [(LABELS.get(name, name), figures) for name, figures in metrics.get("baselines", {}).items()]
    for label, s in rows:
        sharpe = "n/a" if s["sharpe"] is None else f"{s['sharpe']:.2f}"
        lines.append(f"{label:28}{_pct(s['cagr']):>8} {_pct(s['total_return']):>9} "
                     f"{_pct(s['volatility'], signed=False):>7} {_pct(s['max_drawdown']):>8} {sharpe:>7}")
    v = metrics.get("verdict")
    if v:
        lines.append("")
        lines.append(f"verdict (95% intervals, paired block bootstrap of daily returns; the evidence rests on "
                     f"{v['n_easing_cycles']} easing cycles, a small sample):")
        lines += [f"  {entry['sentence']}" for entry in v["against"].values()]
    f = metrics.get("foresight")
    if f and f["cagr_gain"] is not None:
        lines.append(f"  price of foresight: CAGR {f['oracle']['cagr']:+.1%} knowing every cut {f['oracle_lead_days']} "
                     f"days ahead (oracle), {f['real_time']['cagr']:+.1%} from market pricing: "
                     f"{100 * f['cagr_gain']:+.2f} pp a year")
    lines.append("")
    cycles = list(metrics["cycles"].items())
    shown = cycles[-MAX_CYCLES_SHOWN:]
    more = f" ({len(shown)} most recent of {len(cycles)})" if len(shown) < len(cycles) else ""
    lines.append(f"{'max drawdown by cycle':22}{'strategy':>10} {'IWM':>9}  window{more}")
    for cycle, c in shown:
        lines.append(f"{cycle:22}{_pct(c['strategy_max_drawdown']):>10} {_pct(c['benchmark_max_drawdown']):>9}  {c['window']}")
    h = metrics["hedge"]
    lines.append("")
    lines.append(f"puts: {h['option_trades']} trades, premium paid {_usd(h['premium_paid'])}, "
                 f"received {_usd(h['proceeds_and_settlements'])}, net {_usd(h['net_cash'])}")
    return "\n".join(lines)
