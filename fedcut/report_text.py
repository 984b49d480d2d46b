"""The short text summary a run prints: strategy against buy-and-hold, overall and per cycle."""
from __future__ import annotations


def _pct(x) -> str:
    return "    n/a" if x is None else f"{x:+7.1%}"


def summary(metrics: dict) -> str:
    run = metrics["run"]
    lines = []
    if run["oracle"]:
        lines.append(f"*** {run['label']} ***")
    if run.get("backfilled_indices"):
        lines.append(f"*** {run['backfilled_label']} ***")
    lines.append(f"fedcut {run['start']} .. {run['end']} (end set by {run['end_set_by']})")
    for p in run["proxies"]:
        lines.append(f"  proxy: {p}")
    lines.append("")
    lines.append(f"{'':22}{'CAGR':>8}{'vol':>8}{'max DD':>9}{'Sharpe':>8}")
    for key, label in (("strategy", "strategy"), ("benchmark", "buy-and-hold IWM"), ("spy", "buy-and-hold SPY")):
        s = metrics[key]
        sharpe = "n/a" if s["sharpe"] is None else f"{s['sharpe']:.2f}"
        lines.append(f"{label:22}{_pct(s['cagr']):>8}{_pct(s['volatility']):>8}{_pct(s['max_drawdown']):>9}{sharpe:>8}")
    lines.append("")
    lines.append(f"{'max drawdown by cycle':22}{'strategy':>10}{'IWM':>10}  window")
    for cycle, c in metrics["cycles"].items():
        lines.append(f"{cycle:22}{_pct(c['strategy_max_drawdown']):>10}{_pct(c['benchmark_max_drawdown']):>10}  {c['window']}")
    h = metrics["hedge"]
    lines.append("")
    lines.append(f"puts: {h['option_trades']} trades, premium paid ${h['premium_paid']:,.0f}, "
                 f"received ${h['proceeds_and_settlements']:,.0f}, net ${h['net_cash']:,.0f}")
    return "\n".join(lines)
