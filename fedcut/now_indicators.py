"""The rules' inputs against their thresholds on one day: each indicator's value, the threshold
it is compared with (read from `fedcut.signals.thresholds`, the table the rules use), how far it
stands from changing the call, and the input series it rests on."""

from __future__ import annotations

from dataclasses import dataclass, replace

import pandas as pd

from fedcut.data.catalog import MACRO
from fedcut.now_inputs import Input, as_number
from fedcut.signals.indicators import BILL_SOURCES, CREDIT_SOURCES, SAHM_SOURCES, TWO_YEAR_SOURCES
from fedcut.signals.thresholds import OPS, RULE, THRESHOLDS


@dataclass(frozen=True)
class Indicator:
    """One input of a rule against its threshold. `distance` is how far the value must move to
    reach the threshold, in the value's unit: positive while it has not, zero or negative once it
    has (`met` is the rule's own comparison, which settles a value exactly at a strict threshold)."""

    name: str
    label: str
    group: str  # the rule it feeds
    value: float | None
    threshold: float | None
    condition: str  # ">=", ">", "<=", "<": value <condition> threshold meets it
    unit: str  # points, index, %, pp, fraction, price
    met: bool
    note: str = ""
    inputs: tuple[str, ...] = ()  # the series it is computed from (`Call.inputs`)

    @property
    def distance(self) -> float | None:
        if self.value is None or self.threshold is None:
            return None
        return self.threshold - self.value if self.condition in (">=", ">") else self.value - self.threshold


def flag_inputs(measured: tuple[Indicator, ...], inputs: tuple[Input, ...]) -> tuple[Indicator, ...]:
    """Each indicator whose value rests on a stale or discontinued input says so in its note."""
    status = {s.series: s for s in inputs}
    out = []
    for ind in measured:
        old = [status[n] for n in ind.inputs if n in status and status[n].status in ("stale", "discontinued")]
        if ind.value is not None and old:
            why = "; ".join(f"{s.series} {s.status}, last observation {s.observation_date.date()}" for s in old)
            ind = replace(ind, note="; ".join(n for n in (ind.note, why) if n))
        out.append(ind)
    return tuple(out)


FAILS = "capitulation fails (either)"
VIX, IWM = ("VIX",), ("IWM",)


def _compare(value: float | None, condition: str, threshold: float) -> bool:
    """The rule's comparison; a missing value meets nothing (callers decide what missing means)."""
    return value is not None and bool(OPS[condition](value, threshold))


def _ind(name, label, group, value, condition, threshold, unit, src, met=None, note="") -> Indicator:
    value = as_number(value)
    return Indicator(
        name,
        label,
        group,
        value,
        threshold,
        condition,
        unit,
        _compare(value, condition, threshold) if met is None else bool(met),
        note,
        tuple(src),
    )


def indicators(row: pd.Series, regime, data=None) -> tuple[Indicator, ...]:
    """Each numeric input of the rules on the day (`row` of the signal frame) against its threshold
    (`signals.thresholds`) in the day's era (`data`: the data section, for the long history's
    fallbacks), grouped by the rule it feeds, in the table's order."""
    eras = {
        "credit": CREDIT_SOURCES.index(row["credit_source"]),
        "two_year": TWO_YEAR_SOURCES.index(row["two_year_source"]),
        "bill": BILL_SOURCES.index(row["bill_source"]),
    }
    bank = row["bank_source"]
    scale = regime.xlf_scale if bank == "XLF" else 1.0
    peak, low = as_number(row["vix_peak_recent"]), as_number(row["capitulation_low"])
    names = {
        "bank": f"{bank} vs SPY, {regime.bank_stress_days} days" if bank else "bank ETFs vs SPY",
        "credit": row["credit_source"],
        "real": row["real_yield_source"],
        "sahm": row["sahm_source"],
        "two_year": row["two_year_source"],
        "bill": row["bill_source"],
        "regime": regime,
    }
    values = {
        "vix": row["vix"],
        "stlfsi4": row["stlfsi"],
        "nfci": row["nfci"],
        "ted_spread": row["ted_spread"],
        "bank_move": row["bank_move"],
        "vix_calm": row["vix"],
        "stlfsi4_calm": row["stlfsi"],
        "ted_calm": row["ted_spread"],
        "bank_calm": row["bank_move"],
        "credit_damage": row["credit_spread"],
        "iwm_drawdown": row["iwm_drawdown_252d"],
        "credit_widening": row["credit_widening_pp"],
        "sahm": row["sahm"],
        "claims_rise": row["claims_rise"],
        "core_cpi_trend": row["core_cpi_trend"],
        "cpi_trend_3m": row["cpi_trend_3m"],
        "real_yield_change": row["real_yield_change"],
        "two_year_gap": row["two_year_gap"],
        "bill_gap": row["bill_gap"],
        "fed_funds": row["fed_funds"],
        "cycle_damage": row["cycle_worst_drawdown"],
        "vix_spike": peak,
        "vix_fade": row["vix"],
        "iwm_rebound": row["iwm"] / low - 1,
    }
    level = {
        "bank_move": {"scale": scale},
        "bank_calm": {"scale": scale},
        "credit_damage": {"era": eras["credit"], "data": data},
        "credit_widening": {"era": eras["credit"], "data": data},
        "vix_fade": {"base": peak},
        "two_year_gap": {"era": eras["two_year"], "data": data},
        "bill_gap": {"era": eras["bill"], "data": data},
    }
    decided = {
        "bank_move": row["bank_alarm"],
        "credit_damage": row["credit_damage"],  # the frame's own flags
        "credit_widening": row["credit_widening"],
        "real_yield_change": row["real_yields_ok"],
        "iwm_rebound": RULE["iwm_rebound"].check(row["iwm"], regime, base=low),
    }
    spread = (("BAMLH0A0HYM2",), ("BAA10Y",), ("BAA10YM",))[eras["credit"]]
    inputs = {
        "bank_move": (bank, "SPY") if bank else (),
        "bank_calm": (bank, "SPY") if bank else (),
        "credit_damage": spread,
        "credit_widening": spread,
        "real_yield_change": ("DFII10",)
        if row["real_yield_source"] == "TIPS"
        else (row["real_yield_source"].split(" ")[0], "CPIAUCSL"),
        "sahm": ("SAHMREALTIME",) if row["sahm_source"] == SAHM_SOURCES[0] else ("UNRATE",),
        "two_year_gap": (("DGS2", "DFF"), ("GS1", "DFF"))[eras["two_year"]],
        "bill_gap": (("DGS3MO", "DFF"), ("DTB3", "DFF"))[eras["bill"]],
    }
    notes = _notes(row, values, regime)
    out = []
    for rule in THRESHOLDS:
        value = as_number(values[rule.name])
        threshold = (
            rule.parameter(regime)
            if rule.name == "iwm_rebound"  # shown as the rebound itself
            else rule.level(regime, **level.get(rule.name, {}))
        )
        met = decided.get(rule.name, rule.met(value, threshold))
        out.append(
            _ind(
                rule.name,
                rule.label.format(**names),
                rule.group,
                value,
                rule.op,
                threshold,
                rule.unit,
                inputs.get(rule.name, rule.inputs),
                met=met,
                note=notes.get(rule.name, ""),
            )
        )
    return tuple(out + capitulation_failure(row))


def _notes(row: pd.Series, values: dict, regime) -> dict[str, str]:
    """Why an indicator shows no value (or what its level means)."""
    missing = {name: values[name] is None or values[name] != values[name] for name in values}
    calm = "missing: does not block calm"
    ted_end = MACRO["TEDRATE"].discontinued
    ted = f"discontinued from {ted_end}: neither alarms nor blocks calm" if row.name >= pd.Timestamp(ted_end) else None
    no_bank = "" if row["bank_source"] else "no bank ETF yet (XLF from 1998-12-22)"
    return {
        "stlfsi4": "not published on this day" if missing["stlfsi4"] else "",
        "nfci": "not published on this day" if missing["nfci"] else "",
        "ted_spread": (ted or "not published on this day") if missing["ted_spread"] else "",
        "bank_move": no_bank,
        "stlfsi4_calm": calm if missing["stlfsi4_calm"] else "",
        "ted_calm": (ted or calm) if missing["ted_calm"] else "",
        "bank_calm": no_bank or (calm if missing["bank_calm"] else ""),
        "real_yield_change": "missing: no objection" if missing["real_yield_change"] else "",
        "cycle_damage": "no easing cycle" if missing["cycle_damage"] else "",
        "vix_fade": f"{RULE['vix_fade'].parameter(regime):.0%} below the peak {as_number(row['vix_peak_recent']):.1f}",
    }


def capitulation_failure(row: pd.Series) -> list[Indicator]:
    """While a capitulation holds: the levels at which it fails (VIX above the spike's peak, or IWM
    below the low it rebounded from), those of the event that set them (`signals.regime._capitulated`)."""
    if not row["capitulated"] or pd.isna(row["capitulation_seen"]):
        return []
    note = f"levels of the capitulation seen {row['capitulation_seen'].date()}"
    return [
        _ind(
            "capitulation_vix_fails",
            "VIX",
            FAILS,
            row["vix"],
            ">",
            float(row["capitulation_fail_vix"]),
            "points",
            VIX,
            note=note,
        ),
        _ind(
            "capitulation_iwm_fails",
            "IWM (total return)",
            FAILS,
            row["iwm"],
            "<",
            float(row["capitulation_fail_iwm"]),
            "price",
            IWM,
            note=note,
        ),
    ]
