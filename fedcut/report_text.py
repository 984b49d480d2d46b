"""The short text summary a run prints: the strategy against its baselines, the verdict, per cycle."""
from __future__ import annotations

from fedcut.strategies.baselines import LABELS


def _pct(x) -> str:
    return "    n/a" if x is None else f"{x:+7.1%}"


def _ratio(x) -> str:
    return "n/a" if x is None else f"{x:.2f}"


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
    lines.append("")
    lines.append(f"{'':26}{'CAGR':>8}{'vol':>8}{'max DD':>9}{'Sharpe':>8}")
    rows = [(f"{LABELS.get(own, own)} (this run)", metrics["strategy"])]
    rows += [(LABELS.get(name, name), figures) for name, figures in metrics.get("baselines", {}).items()]
    for label, s in rows:
        lines.append(f"{label:26}{_pct(s['cagr']):>8}{_pct(s['volatility']):>8}{_pct(s['max_drawdown']):>9}"
                     f"{_ratio(s['sharpe']):>8}")
    v = metrics.get("verdict")
    if v:
        lines.append("")
        lines.append(f"verdict (95% intervals, paired block bootstrap of daily returns; the evidence rests on "
                     f"{v['n_easing_cycles']} easing cycles, a small sample):")
        lines += [f"  {entry['sentence']}" for entry in v["against"].values()]
    f = metrics.get("foresight")
    if f and f["cagr_gain"] is not None:
        lines.append(f"  price of foresight: CAGR {f['oracle']['cagr']:+.1%} knowing every cut {f['oracle_lead_days']} days ahead (oracle), "
                     f"{f['real_time']['cagr']:+.1%} from market pricing: {100 * f['cagr_gain']:+.2f} pp a year")
    lines.append("")
    lines.append(f"{'max drawdown by cycle':22}{'strategy':>10}{'IWM':>10}  window")
    for cycle, c in metrics["cycles"].items():
        lines.append(f"{cycle:22}{_pct(c['strategy_max_drawdown']):>10}{_pct(c['benchmark_max_drawdown']):>10}  {c['window']}")
    h = metrics["hedge"]
    lines.append("")
    lines.append(f"puts: {h['option_trades']} trades, premium paid ${h['premium_paid']:,.0f}, "
                 f"received ${h['proceeds_and_settlements']:,.0f}, net ${h['net_cash']:,.0f}")
    return "\n".join(lines)
