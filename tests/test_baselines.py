"""Every run measures the strategy against simple rules, through the same execution, with a verdict.

The baselines' curves are checked against arithmetic done here from the data files (60/40
rebalanced monthly; the credit rule's days out of the market from the OAS file), a run of any
baseline as the strategy reproduces the curve the default run reports for it, and the verdict
is present, consistent and labelled with the number of easing cycles behind it.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fedcut.core.params import param, resolve
from fedcut.data.readers import read_fred_csv, read_price_csv
from fedcut.run.backtest import run
from fedcut.strategies.baselines import LABELS, NAMES

pytestmark = pytest.mark.slow  # whole runs and commands: not in the edit-test loop

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def default(shared_data):
    return run(resolve(), str(shared_data), True)


def _tr_open(frame: pd.DataFrame) -> pd.Series:
    return frame["open"] * (frame["adj_close"] / frame["close"])


def test_every_named_strategy_is_a_baseline_of_the_default_run(default):
    assert set(default.metrics["baselines"]) == set(NAMES) - {"fedcut"}
    assert set(param("run.strategy").choices) == set(NAMES)
    table = default.baselines
    assert table["name"].tolist() == ["fedcut", *[n for n in NAMES if n != "fedcut"]]
    assert table.loc[0, "role"] == "strategy" and (table.loc[1:, "role"] == "baseline").all()
    for row in table.itertuples():
        figures = default.metrics["baselines"].get(row.name) or {}
        for key in ("cagr", "sharpe", "max_drawdown", "time_in_iwm"):
            if figures:
                assert getattr(row, key) == figures[key]
    # the run's own row is the strategy's headline figures
    assert table.loc[0, "cagr"] == default.metrics["strategy"]["cagr"]
    assert table.loc[0, "max_drawdown"] == default.metrics["strategy"]["max_drawdown"]


def test_sixty_forty_is_iwm_rebalanced_monthly_against_tbill_cash(default, shared_data):
    """60/40 recomputed from IWM's file: month-end decisions traded at the next open with slippage
    and commission, whole shares, the 5-point band, cash at the T-bill rate of the day before."""
    cfg = default.config
    ex, w = cfg.execution, cfg.baseline.sixty_forty_iwm
    days = default.equity.index
    iwm = read_price_csv(shared_data / "prices" / "IWM.csv")
    close, opn = iwm["adj_close"].reindex(days).to_numpy(), _tr_open(iwm).reindex(days).to_numpy()
    rate = default.prepared.broker_inputs["cash_rate"].to_numpy()
    month = days.to_period("M")
    decide = np.r_[month[1:] != month[:-1], True]
    decide[0] = True
    slip, comm = ex.slippage_bps / 1e4, ex.commission_bps / 1e4
    cash, shares, value = ex.initial_cash, 0, np.empty(len(days))
    value[0] = cash
    for k in range(1, len(days)):
        v_prev = value[k - 1]
        cash *= math.exp(rate[k - 1] * (days[k] - days[k - 1]).days / 365.0)
        if decide[k - 1] and abs(shares * opn[k] / v_prev - w) > ex.rebalance_band:
            delta = math.floor(w * v_prev * (1 - ex.cash_buffer) / opn[k]) - shares
            price = opn[k] * (1 + slip if delta > 0 else 1 - slip)
            cash -= delta * price + abs(delta) * price * comm
            shares += delta
        value[k] = cash + shares * close[k]
    curve = _baseline_curve(default, "sixty_forty")
    np.testing.assert_allclose(curve, value, rtol=1e-9)


def _baseline_curve(result, name: str) -> np.ndarray:
    """A baseline's daily value, from a run of that baseline as the strategy over the same span."""
    cfg = result.config.with_overrides({"run.strategy": name})
    return run(cfg, result.data_dir, result.offline).equity["strategy"].to_numpy()


def test_credit_rule_is_out_of_iwm_exactly_when_the_oas_file_says(default, shared_data):
    b = default.config.baseline
    oas = read_fred_csv(shared_data / "macro" / "BAMLH0A0HYM2.csv")
    change = oas - oas.shift(b.credit_window_days)
    days = default.equity.index
    known = oas.index + pd.offsets.BDay(1)  # FRED's daily series are known the next business day
    last = np.searchsorted(known.values, days.values, side="right") - 1
    out = (oas.to_numpy()[last] > b.credit_level) | (change.to_numpy()[last] > b.credit_widening_pp)
    result = run(default.config.with_overrides({"run.strategy": "credit_rule"}), default.data_dir, default.offline)
    held = (result.equity["w_IWM"] > 0).to_numpy()
    # decided at day k's close, held from day k+1 (the first day buys nothing)
    assert (held[1:] == ~out[:-1]).all()
    assert 0.1 < out.mean() < 0.6  # it does step out, and not always
    assert set(result.equity.columns) >= {"strategy", "benchmark", "w_IWM"}


def test_a_baseline_run_is_the_curve_the_default_run_reports(default):
    """`--strategy NAME` runs exactly the rules the default run measures itself against."""
    for name in ("trend_200d", "vix_rule", "static_mix"):
        curve = _baseline_curve(default, name)
        figures = default.metrics["baselines"][name]
        cagr = (curve[-1] / curve[0]) ** (365.25 / (default.equity.index[-1] - default.equity.index[0]).days) - 1
        assert cagr == pytest.approx(figures["cagr"], rel=1e-12)
    spy = run(default.config.with_overrides({"run.strategy": "spy"}), default.data_dir, default.offline)
    np.testing.assert_array_equal(spy.equity["strategy"].to_numpy(), default.equity["spy"].to_numpy())
    bh = run(default.config.with_overrides({"run.strategy": "buy_and_hold"}), default.data_dir, default.offline)
    np.testing.assert_array_equal(bh.equity["strategy"].to_numpy(), default.equity["benchmark"].to_numpy())
    assert "buy_and_hold" not in bh.metrics["baselines"] and "fedcut" in bh.metrics["baselines"]


def test_the_verdict_compares_the_strategy_with_every_baseline(default):
    v = default.metrics["verdict"]
    assert v["n_easing_cycles"] == len(default.episodes) == 4
    assert set(v["against"]) == set(default.metrics["baselines"])
    s = default.metrics["strategy"]
    for name, entry in v["against"].items():
        base = default.metrics["baselines"][name]
        assert entry["sharpe_diff"] == pytest.approx(s["sharpe"] - base["sharpe"], abs=1e-9)
        assert entry["cagr_diff"] == pytest.approx(s["cagr"] - base["cagr"], abs=1e-9)
        lo, hi = entry["sharpe_diff_ci"]
        assert lo < entry["sharpe_diff"] < hi and 0.0 <= entry["p_better"] <= 1.0
        assert LABELS[name] in entry["sentence"]
        word = "better than" if lo > 0 else "worse than" if hi < 0 else "not distinguishable from"
        assert entry["sentence"].startswith(word)


def test_foresight_is_the_oracle_run_beside_the_real_time_one(default, shared_data):
    f = default.metrics["foresight"]
    assert f["real_time"]["cagr"] == default.metrics["strategy"]["cagr"]
    oracle = run(default.config.with_overrides({"run.oracle": True}), str(shared_data), True)
    assert f["oracle"]["cagr"] == oracle.metrics["strategy"]["cagr"]
    assert f["cagr_gain"] == pytest.approx(f["oracle"]["cagr"] - f["real_time"]["cagr"])
    assert oracle.metrics["foresight"]["oracle"]["cagr"] == f["oracle"]["cagr"]  # the same pair, seen from either side


def test_baselines_csv_and_verdict_are_written_and_printed(shared_data, tmp_path):
    out = tmp_path / "run"
    cmd = [
        sys.executable,
        str(ROOT / "run_backtest.py"),
        "--strategy",
        "credit_rule",
        "--start",
        "2006-01-03",
        "--end",
        "2010-12-31",
        "--data-dir",
        str(shared_data),
        "--out",
        str(out),
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "credit rule (this run)" in done.stdout and "fedcut regime strategy" in done.stdout
    assert "not distinguishable from" in done.stdout or "better than" in done.stdout or "worse than" in done.stdout
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["run"]["strategy"] == "credit_rule" and "fedcut" in metrics["verdict"]["against"]
    table = pd.read_csv(out / "baselines.csv")
    assert table["name"].iloc[0] == "credit_rule" and "cycle_2007_max_drawdown" in table
    assert "foresight" not in metrics  # the price of foresight is the regime strategy's
