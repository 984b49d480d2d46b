"""The rules' thresholds live in one table (`signals.thresholds`) that the indicators, today's call
and the state-machine picture all read: a changed parameter moves all three together, and no
other module reads a threshold parameter itself."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fedcut.core.params import PARAMS, resolve
from fedcut.plots.diagram import edges
from fedcut.signals import indicators
from fedcut.signals.thresholds import RULE, THRESHOLDS

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = (
    "core",
    "data",
    "signals",
    "hedging",
    "strategies",
    "execution",
    "analyzers",
    "plots",
    "report",
    "run",
    "sweeps",
    "fedcut",
)


def _parameters() -> set[str]:
    """Every parameter name a row reads (a `data.*` fallback by its name in the data section)."""
    return {name.removeprefix("data.") for t in THRESHOLDS for name in (t.param, *t.fallbacks) if name}


def test_every_row_reads_a_regime_parameter_of_the_registry():
    """Each row's level is a `regime.*` parameter; its fallbacks before the preferred series existed
    are `regime.*` or, matched on the overlap in the long history, `data.*` parameters."""
    keys = {p.key for p in PARAMS}
    for t in THRESHOLDS:
        assert t.param is None or f"regime.{t.param}" in keys, t.name
        for name in t.fallbacks:
            assert (name if name.startswith("data.") else f"regime.{name}") in keys, (t.name, name)
    assert len({t.name for t in THRESHOLDS}) == len(THRESHOLDS)
    assert {
        "vix_crisis",
        "bank_stress_drop",
        "hy_damage",
        "baa_damage",
        "capitulation_rebound",
        "gs1_gap",
        "baa_monthly_damage",
    } <= _parameters()


def test_no_module_but_the_table_reads_a_threshold_parameter():
    """`regime.vix_crisis` (or `r.vix_crisis`, `getattr(regime, "vix_crisis")`) appears nowhere in the
    package outside signals/thresholds.py: each threshold is read in one place."""
    found = []
    for folder in PACKAGE:
        for path in (ROOT / folder).glob("*.py"):
            if path == ROOT / "signals" / "thresholds.py":
                continue
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Attribute) and node.attr in _parameters():
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno} .{node.attr}")
    assert not found, found


@given(
    st.lists(st.one_of(st.none(), st.floats(-5, 5, allow_nan=False)), min_size=1, max_size=8),
    st.sampled_from([t.name for t in THRESHOLDS if not t.relative]),
)
def test_one_value_and_an_array_are_judged_alike(values, name):
    rule, regime = RULE[name], resolve().regime
    level = rule.level(regime)
    array = np.array([np.nan if v is None else v for v in values])
    assert list(rule.met(array, level)) == [rule.met(v, level) for v in values]
    assert all(rule.met(None, level) == rule.missing_meets for _ in values)


def test_levels_negate_scale_fall_back_and_stand_relative():
    cfg = resolve(
        {
            "regime.bank_stress_drop": 0.2,
            "regime.hy_damage": 7.0,
            "regime.baa_damage": 2.5,
            "regime.capitulation_vix_fade": 0.3,
            "data.baa_monthly_damage": 2.75,
            "data.gs1_gap": 0.3,
        }
    )
    regime, data = cfg.regime, cfg.data
    assert RULE["bank_move"].level(regime) == -0.2
    assert RULE["bank_move"].level(regime, scale=0.5) == pytest.approx(-0.1)
    assert list(RULE["credit_damage"].level(regime, era=np.array([0, 1, 2, 1]), data=data)) == [7.0, 2.5, 2.75, 2.5]
    assert RULE["credit_damage"].level(regime, era=2, data=data) == 2.75
    assert RULE["two_year_gap"].level(regime, era=1, data=data) == -0.3  # GS1 before DGS2, below fed funds
    assert RULE["vix_fade"].level(regime, base=50.0) == pytest.approx(35.0)
    assert RULE["core_cpi_trend"].level(regime) == 0.0


def test_a_changed_threshold_moves_the_rules_the_call_and_the_picture_together():
    regime = resolve({"regime.vix_crisis": 25.0}).regime
    days = pd.bdate_range("2020-01-01", periods=4)
    view = pd.DataFrame({"STLFSI4": np.nan, "NFCI": np.nan, "TEDRATE": np.nan}, index=days)
    vix = pd.Series([20.0, 25.0, 30.0, 24.9], index=days)
    bank = pd.DataFrame({"bank_source": "", "bank_ratio": np.nan}, index=days)
    alarm = indicators.stress(indicators.stress_levels(view, vix, bank, regime), regime)["stress_alarm"]
    assert list(alarm) == [False, True, True, False]
    assert "VIX >= 25" in edges(regime)[0][2]
    assert RULE["vix"].text(regime) == "VIX >= 25"


def test_todays_call_shows_each_row_against_the_level_the_rules_used():
    from fedcut.now_indicators import indicators as call_indicators

    regime = resolve({"regime.sahm_warning": 0.3, "regime.bill_gap": 0.2}).regime
    row = pd.Series(
        {
            "credit_source": "HY OAS",
            "bank_source": "XLF",
            "two_year_source": "2-year yield",
            "bill_source": "3-month yield",
            "sahm_source": "Sahm rule (real time)",
            "vix_peak_recent": 50.0,
            "capitulation_low": 100.0,
            "vix": 30.0,
            "stlfsi": np.nan,
            "nfci": np.nan,
            "ted_spread": 0.5,
            "bank_move": -0.07,
            "credit_spread": 5.0,
            "iwm_drawdown_252d": -0.1,
            "credit_widening_pp": 1.0,
            "sahm": 0.35,
            "claims_rise": 0.1,
            "core_cpi_trend": -0.1,
            "cpi_trend_3m": 0.1,
            "real_yield_change": np.nan,
            "two_year_gap": -0.5,
            "bill_gap": -0.15,
            "fed_funds": 4.0,
            "cycle_worst_drawdown": -0.3,
            "iwm": 111.0,
            "bank_alarm": False,
            "credit_damage": False,
            "credit_widening": False,
            "real_yields_ok": True,
            "real_yield_source": "TIPS",
            "capitulated": False,
            "capitulation_seen": pd.NaT,
        },
        name=pd.Timestamp("2020-03-20"),
    )
    shown = {i.name: i for i in call_indicators(row, regime)}
    assert [i for i in shown] == [t.name for t in THRESHOLDS]
    assert shown["sahm"].threshold == 0.3 and shown["sahm"].met
    assert shown["bill_gap"].threshold == -0.2 and not shown["bill_gap"].met
    assert shown["bank_calm"].threshold == pytest.approx(-0.05 * regime.xlf_scale)  # XLF stands in: scaled
    assert shown["bank_calm"].met is False  # -0.07 is not above -0.0275
    assert shown["stlfsi4_calm"].met and shown["real_yield_change"].met  # missing: does not block
    assert shown["vix_fade"].threshold == pytest.approx(37.5) and shown["vix_fade"].met
    assert shown["iwm_rebound"].threshold == 0.1 and shown["iwm_rebound"].met
