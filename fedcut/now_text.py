"""Printing today's call (`fedcut.now.Call`): readable text, or JSON with stable keys.

JSON keys (a contract, tested): `as_of`, `regime`, `regime_raw`, `action`, `weights`, `hedge`,
`reason`, `indicators` (per name: `value`, `threshold`, `distance`, and `label`, `group`,
`condition`, `unit`, `met`, `note`, `inputs`), `inputs` (per series: `observation_date`, `known_date`,
`stale`, and `kind`, `next_due`, `status`, `note`), then `requested`, `data_end`, `end_set_by`,
`regime_since`, `days_in_regime`, `raw_days`, `case`, `cash`, `unlisted`, `policy`, `cut_pricing`,
`warnings`, `config_hash`, `today` (the date the call's age was checked against; null for an
`--as-of` call). Dates are `YYYY-MM-DD`, a missing value is null, numbers are in the
units the rules use (fractions as fractions; `unit` says which).
"""

from __future__ import annotations

import datetime as dt
import json
import math

import pandas as pd

from fedcut.now import Call
from fedcut.now_indicators import Indicator
from fedcut.now_inputs import Input

# How each unit is shown: the value, and the distance to a threshold.
UNIT_FORMATS = {
    "points": ("{:.2f}", "{:.2f} points"),
    "index": ("{:.2f}", "{:.2f}"),
    "%": ("{:.2f}%", "{:.2f} pp"),
    "pp": ("{:+.2f} pp", "{:.2f} pp"),
    "fraction": ("{:+.1%}", "{:.1f} pp"),
    "price": ("{:.2f}", "{:.2f}"),
}


def _jsonable(value):
    """Dates as YYYY-MM-DD, NaN as null, numpy scalars as Python numbers."""
    if isinstance(value, (pd.Timestamp, dt.date)):
        return value.strftime("%Y-%m-%d")
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "item"):  # numpy scalar
        return _jsonable(value.item())
    return value


def _indicator(ind: Indicator) -> dict:
    return {
        "value": ind.value,
        "threshold": ind.threshold,
        "distance": ind.distance,
        "label": ind.label,
        "group": ind.group,
        "condition": ind.condition,
        "unit": ind.unit,
        "met": ind.met,
        "note": ind.note,
        "inputs": list(ind.inputs),
    }


def _input(s: Input) -> dict:
    return {
        "observation_date": s.observation_date,
        "known_date": s.known_date,
        "stale": s.stale,
        "kind": s.kind,
        "next_due": s.next_due,
        "status": s.status,
        "note": s.note,
    }


def as_dict(call: Call) -> dict:
    """The call as plain JSON-ready data, the issue's keys first."""
    hedge = None if call.hedge is None else dict(vars(call.hedge))
    out = {
        "as_of": call.as_of,
        "regime": call.regime,
        "regime_raw": call.regime_raw,
        "action": call.action,
        "weights": call.weights,
        "hedge": hedge,
        "reason": call.reason,
        "indicators": {i.name: _indicator(i) for i in call.indicators},
        "inputs": {s.series: _input(s) for s in call.inputs},
        "requested": call.requested,
        "data_end": call.data_end,
        "end_set_by": call.end_set_by,
        "regime_since": call.regime_since,
        "days_in_regime": call.days_in_regime,
        "raw_days": call.raw_days,
        "case": call.case,
        "cash": call.cash,
        "unlisted": list(call.unlisted),
        "policy": call.policy,
        "cut_pricing": call.cut_pricing,
        "warnings": list(call.warnings),
        "config_hash": call.config_hash,
        "today": call.today,
    }
    return _jsonable(out)


def to_json(call: Call) -> str:
    return json.dumps(as_dict(call), indent=2, allow_nan=False)


# --- text ---------------------------------------------------------------------------------------------


def _value(value: float | None, unit: str) -> str:
    return "n/a" if value is None else UNIT_FORMATS[unit][0].format(value)


def _distance(ind: Indicator) -> str:
    d = ind.distance
    if d is None:
        return ind.note or "n/a"
    size = abs(d) * (100 if ind.unit == "fraction" else 1)
    amount = UNIT_FORMATS[ind.unit][1].format(size)
    if ind.met:
        return f"reached, {amount} past" if d < 0 else "reached"
    return f"{amount} away" if d > 0 else "at the threshold, not past it"


def _pct(w: float) -> str:
    return "keep what is held" if math.isnan(w) else f"{w:.1%}"


def _days(n: int, unit: str = "day") -> str:
    return f"{n} {unit}{'' if n == 1 else 's'}"


def _day(value) -> str:
    return "n/a" if value is None else str(pd.Timestamp(value).date())


def render(call: Call) -> str:
    """The call as text: the answer first, then why, what would change it, and the inputs' age."""
    lines = []
    when = (
        f"the last trading day the data covers (end set by {call.end_set_by})"
        if call.as_of == call.data_end
        else f"data published by then (the data runs to {call.data_end.date()})"
    )
    lines.append(f"fedcut now: the call for {call.as_of:%A %Y-%m-%d}, from {when}")
    if call.requested is not None:
        lines.append(f"  ({call.requested.date()} is no trading day: the call of the trading day before)")
    lines.append("")
    raw = (
        f"raw {call.regime_raw} (the same)"
        if call.regime_raw == call.regime
        else f"raw {call.regime_raw} for {_days(call.raw_days, 'trading day')} (a new regime is called once it has "
        f"held {_days(call.min_dwell_days, 'trading day')}; a crisis and a capitulation's re-entry at once)"
    )
    lines.append(
        f"regime    {call.regime} since {call.regime_since.date()} ({_days(call.days_in_regime, 'trading day')}); {raw}"
    )
    lines.append(f"action    {call.action}")
    held = {t: w for t, w in call.weights.items() if math.isnan(w) or w > 0}
    weights = ", ".join(f"{t} {_pct(w)}" for t, w in held.items()) or "none"
    unlisted = f"; not listed yet (their weight is cash): {', '.join(call.unlisted)}" if call.unlisted else ""
    cash = "the rest" if math.isnan(call.cash) else f"{call.cash:.1%}"
    lines.append(f"weights   {weights}; cash {cash}{unlisted}")
    lines.append(f"hedge     {_hedge(call)}")
    lines.append(f"reason    {call.reason}")
    lines.append("")
    lines += _policy(call)
    lines.append("")
    lines.append("what would change the call (value; rule; distance to its threshold):")
    group = None
    for ind in call.indicators:
        if ind.group != group:
            group = ind.group
            lines.append(f"  {group}")
        rule = f"{ind.condition} {_value(ind.threshold, ind.unit)}"
        note = f"  [{ind.note}]" if ind.note and ind.distance is not None else ""
        lines.append(f"    {ind.label:<42} {_value(ind.value, ind.unit):>10}  {rule:<14} {_distance(ind)}{note}")
    lines.append("")
    lines.append("inputs (last observation known on the day, when it became known, status):")
    for s in call.inputs:
        status = s.status + (f", next due {s.next_due.date()}" if s.next_due is not None else "")
        note = f"; {s.note}" if s.note else ""
        lines.append(f"  {s.series:<13} {_day(s.observation_date):<11} {_day(s.known_date):<11} {status}{note}")
    if call.warnings:
        lines.append("")
        lines.append("warnings:")
        lines += [f"  {w}" for w in call.warnings]
    return "\n".join(lines)


def _hedge(call: Call) -> str:
    h = call.hedge
    if h is None:
        return "none"
    size = f"{h.contracts_per_1m} contracts per $1M of {'portfolio' if h.per == 'portfolio' else 'IWM held'}" + (
        f" (a {h.hedge_ratio:.0%} hedge ratio)" if h.sizing == "ratio" else " (sized by the premium budget)"
    )
    return (
        f"IWM puts, strike {h.strike:g} ({h.moneyness:.0%} of {_price(h.spot)}), expiry {h.expiry} "
        f"({h.days_to_expiry} days); {size}; model {_price(h.model_price)} a share at vol {h.vol:.1%}, "
        f"${h.premium_per_1m:,.0f} with spread and commission (at this close; the backtest buys at the next)"
        + (f"; but {h.blocked}" if h.blocked else "")
    )


def _price(x: float) -> str:
    """Cents; below ten cents (the long history's spot scaled back before 1987) three significant digits."""
    return f"{x:.2f}" if x >= 0.1 else f"{x:.3g}"


def _policy(call: Call) -> list[str]:
    p, c = call.policy, call.cut_pricing
    if p["cycle_state"] == "easing":
        n = p["cuts_in_cycle"]
        cycle = f"easing since {_day(p['cycle_first_cut'])}: {n} cut{'s' if n != 1 else ''}"
    else:
        cycle = p["cycle_state"].replace("_", " ")
    flags = [
        ("late cycle" if p["late_cycle"] else "not late"),
        ("intermeeting cut in the cycle" if p["intermeeting_cut"] else "no intermeeting cut"),
        ("capitulation seen" if p["capitulated"] else "no capitulation"),
        ("recession evidence" if p["recession_evidence"] else "no recession evidence"),
        ("financial stress" if p["financial_stress"] else "no financial stress"),
    ]
    lines = [f"policy    {cycle}; {', '.join(flags)}"]
    last = p["last_change"]
    if last is not None:
        kind = "intermeeting" if last["intermeeting"] else "at a meeting"
        lines.append(
            f"          last target change {last['change_bp']:+d} bp decided {_day(last['decision'])} "
            f"({kind}), {_days(last['days_since'])} ago"
        )
    if p["next_meeting"] is not None:
        lines.append(
            f"          next scheduled FOMC meeting {_day(p['next_meeting'])}, in {_days(p['days_to_next_meeting'])}"
        )
    else:
        lines.append("          next scheduled FOMC meeting: not in the calendar")

    def gap(label, level, value, needed):
        if value is None:
            return f"{label} n/a"
        return f"{label} {level:.2f}% ({value:+.2f} pp; priced at <= {needed:+.2f})"

    lines.append(
        f"cut priced {'yes' if c['cut_priced'] else 'no'}: fed funds {_value(c['fed_funds'], '%')} "
        f"(room to cut from {c['zero_bound']:.2f}%), "
        f"{gap(c['two_year_series'], c['two_year'], c['two_year_gap'], c['two_year_needed'])}, "
        f"{gap(c['three_month_series'], c['three_month'], c['bill_gap'], c['bill_needed'])}"
    )
    return lines
