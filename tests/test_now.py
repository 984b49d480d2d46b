"""`fedcut now`: today's call is the backtest's call.

On days picked from a default backtest where the history matters (a regime held by the dwell
filter, a crisis held by the stress hysteresis, IWM in the middle of its scaling in, a
capitulation, a bank run, puts held), `now --as-of D` gives the backtest's regime, raw regime,
target weights and hedge ratio; and on a data directory cut off after D, `now` without --as-of
gives the very same call. Each indicator's rule agrees with the signal frame's own flags,
staleness is checked on crafted files, the JSON keys are a contract, and every refusal is one line.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import fedcut.run.backtest as runmod
from fedcut.cli import main
from fedcut.core.params import defaults, resolve
from fedcut.data.catalog import INSTRUMENTS, MACRO, REGIME_SERIES
from fedcut.now import todays_call
from fedcut.now_indicators import indicators
from fedcut.now_inputs import STALE_GRACE, input_status
from fedcut.strategies.targets import target_weights

pytestmark = pytest.mark.slow  # whole runs and commands: not in the edit-test loop

ROOT = Path(__file__).resolve().parents[1]
LAST_DAY = "2025-09-26"  # the shared data's last trading day (IWM's file)
TOP_KEYS = [
    "as_of",
    "regime",
    "regime_raw",
    "action",
    "weights",
    "hedge",
    "reason",
    "indicators",
    "inputs",
    "requested",
    "data_end",
    "end_set_by",
    "regime_since",
    "days_in_regime",
    "raw_days",
    "case",
    "cash",
    "unlisted",
    "policy",
    "cut_pricing",
    "warnings",
    "config_hash",
    "today",
]
INDICATOR_KEYS = ["value", "threshold", "distance", "label", "group", "condition", "unit", "met", "note", "inputs"]
INPUT_KEYS = ["observation_date", "known_date", "stale", "kind", "next_due", "status", "note"]
INDICATORS = [
    "vix",
    "stlfsi4",
    "nfci",
    "ted_spread",
    "bank_move",
    "vix_calm",
    "stlfsi4_calm",
    "ted_calm",
    "bank_calm",
    "credit_damage",
    "iwm_drawdown",
    "credit_widening",
    "sahm",
    "claims_rise",
    "core_cpi_trend",
    "cpi_trend_3m",
    "real_yield_change",
    "two_year_gap",
    "bill_gap",
    "fed_funds",
    "cycle_damage",
    "vix_spike",
    "vix_fade",
    "iwm_rebound",
]
HEDGE_KEYS = [
    "hedge_ratio",
    "sizing",
    "spot",
    "moneyness",
    "strike",
    "expiry",
    "days_to_expiry",
    "vol",
    "model_price",
    "fill_price",
    "contracts_per_1m",
    "per",
    "premium_per_1m",
    "blocked",
]


# --- helpers ----------------------------------------------------------------------------------------


def now_json(capsys, *args) -> dict:
    assert main(["now", "--json", "--offline", *args]) == 0
    return json.loads(capsys.readouterr().out)


def refused(capsys, *args) -> str:
    """The one stderr line of a refused `now`."""
    assert main(["now", "--offline", *args]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "Traceback" not in captured.err
    lines = captured.err.splitlines()
    assert len(lines) == 1, lines
    return lines[0]


def copy_cut(shared: Path, dest: Path, every: str | None = None, files: dict[str, str] | None = None) -> Path:
    """A data directory like `shared` with the rows dated after a day removed: after `every` in every
    price and FRED file, or after the day given per file (`files`, e.g. {"macro/DGS2.csv": "2025-09-17"}).
    A file with nothing to remove is linked; one with no row by then is left out (it did not exist).
    The FOMC calendar keeps its scheduled meetings (published a year or more ahead) and loses the
    unscheduled calls after `every`."""
    files = files or {}
    (dest / "calendar").mkdir(parents=True)
    fomc = (shared / "calendar" / "FOMC.csv").read_text().splitlines(keepends=True)
    (dest / "calendar" / "FOMC.csv").write_text(
        "".join(fomc[:1] + [r for r in fomc[1:] if every is None or r[:10] <= every or "unscheduled" not in r])
    )
    for kind in ("prices", "macro", "cboe"):
        (dest / kind).mkdir()
        for src in sorted((shared / kind).glob("*.csv")):
            day = files.get(f"{kind}/{src.name}", every)
            lines = src.read_text().splitlines(keepends=True)
            kept = [r for r in lines[1:] if day is None or r[:10] <= day]
            if len(kept) == len(lines) - 1:
                (dest / kind / src.name).symlink_to(src)
            elif kept:
                (dest / kind / src.name).write_text("".join(lines[:1] + kept))
    return dest


# --- the backtest and the days to check -------------------------------------------------------------------


@pytest.fixture(scope="module")
def backtest(shared_data):
    """A default backtest on the shared data and its daily targets; then the per-process caches are
    emptied, so that every `now` below loads and computes on its own."""
    res = runmod.run(defaults(), data_dir=str(shared_data), offline=True)
    available = res.prepared.market.close[list(res.prepared.tickers)].notna()
    targets = target_weights(res.signals, available, res.config.strategy, res.config.hedge)
    runmod.clear_caches()
    return res.signals, targets


@pytest.fixture(scope="module")
def picked(backtest) -> dict[str, pd.Timestamp]:
    """Days from 2017 (every data file exists by then) where the call depends on the history."""
    sig, targets = backtest
    late = sig.index >= pd.Timestamp("2017-01-01")
    iwm = targets["w_IWM"]
    ramp = (iwm.shift(1) < iwm) & (iwm < iwm.shift(-1))
    found = {
        "dwell": late & (sig["regime"] != sig["regime_raw"]).to_numpy(),
        "hysteresis": late & (sig["regime"].eq("crisis") & sig["financial_stress"] & ~sig["stress_alarm"]).to_numpy(),
        "accumulating": late & ramp.to_numpy(),
        "capitulated": late & sig["capitulated"].to_numpy(),
        "bank_run": late & (sig["regime"].eq("crisis") & sig["bank_alarm"]).to_numpy(),
        "hedged": late & (targets["hedge_ratio"] > 0).to_numpy(),
    }
    for name, days in found.items():
        assert days.any(), f"no {name} day since 2017 in the default backtest"
    return {name: sig.index[np.flatnonzero(days)[0]] for name, days in found.items()}


def assert_backtest_call(call: dict, day: pd.Timestamp, backtest) -> None:
    sig, targets = backtest
    assert call["as_of"] == str(day.date())
    assert call["regime"] == sig.loc[day, "regime"]
    assert call["regime_raw"] == sig.loc[day, "regime_raw"]
    assert call["reason"] == sig.loc[day, "reason"]
    for ticker, weight in call["weights"].items():
        assert weight == targets.loc[day, f"w_{ticker}"], (day, ticker)  # exact: JSON keeps every bit
    assert len(call["weights"]) == sum(c.startswith("w_") for c in targets.columns)
    ratio = targets.loc[day, "hedge_ratio"]
    assert (call["hedge"] is None) == (ratio == 0)
    if call["hedge"] is not None:
        assert call["hedge"]["hedge_ratio"] == ratio


# --- the live call and the backtest cannot disagree ---------------------------------------------------------


def test_now_as_of_each_day_is_the_backtests_call(backtest, picked, shared_data, capsys):
    sig, _ = backtest
    first_of_each_regime = [sig.index[sig["regime"] == r][0] for r in sig["regime"].unique()]
    days = sorted(set(picked.values()) | set(first_of_each_regime) | {sig.index[-1]})
    assert len(first_of_each_regime) == 5  # crisis, late panic, recession risk, soft landing, neutral
    for day in days:
        assert_backtest_call(
            now_json(capsys, "--as-of", str(day.date()), "--data-dir", str(shared_data)), day, backtest
        )


def test_the_picked_days_show_what_the_history_decides(backtest, picked, shared_data, capsys):
    """The picks have substance: on each the call says what only the history explains."""
    _, targets = backtest

    def call(name):
        return now_json(capsys, "--as-of", str(picked[name].date()), "--data-dir", str(shared_data))

    dwell = call("dwell")
    assert dwell["regime"] != dwell["regime_raw"] and dwell["raw_days"] < defaults().regime.min_dwell_days
    held = call("hysteresis")
    assert held["regime"] == "crisis" and held["policy"]["financial_stress"]
    assert not any(i["met"] for i in held["indicators"].values() if i["group"].startswith("crisis alarm"))
    ramp = call("accumulating")
    day = picked["accumulating"]
    before, after = targets["w_IWM"].shift(1)[day], targets["w_IWM"].shift(-1)[day]
    assert before < ramp["weights"]["IWM"] < after
    cap = call("capitulated")
    assert cap["policy"]["capitulated"] and cap["regime"] == "late_panic"
    fails = {k: v for k, v in cap["indicators"].items() if v["group"] == "capitulation fails (either)"}
    assert set(fails) == {"capitulation_vix_fails", "capitulation_iwm_fails"} and not any(
        v["met"] for v in fails.values()
    )
    bank = call("bank_run")
    assert bank["regime"] == "crisis" and bank["indicators"]["bank_move"]["met"]
    assert call("hedged")["hedge"]["contracts_per_1m"] >= 0


@pytest.mark.parametrize("name", ["dwell", "hysteresis", "accumulating", "capitulated", "bank_run", "hedged"])
def test_now_on_data_cut_off_after_d_is_now_as_of_d(name, picked, backtest, shared_data, tmp_path, capsys, monkeypatch):
    """A data directory holding only what existed on D (every row dated after D removed): the call
    without --as-of, made on D (the clock set to D), is the call --as-of D on the whole data, key for
    key, and the backtest's."""
    day = picked[name]
    cut = copy_cut(shared_data, tmp_path / "cut", every=str(day.date()))
    monkeypatch.setenv("FEDCUT_TODAY", str(day.date()))
    live = now_json(capsys, "--data-dir", str(cut))
    past = now_json(capsys, "--as-of", str(day.date()), "--data-dir", str(shared_data))
    assert live["data_end"] == str(day.date()) and past["data_end"] == LAST_DAY
    assert (live["today"], past["today"]) == (str(day.date()), None)  # an --as-of call's age is not checked
    for key in ("data_end", "end_set_by", "today"):
        del live[key], past[key]
    assert live == past
    assert_backtest_call(live, day, backtest)


# --- the long history: now --as-of a day of the 1970s and 1980s is the long backtest's call ----------------------


@pytest.fixture(scope="module")
def long_backtest(shared_data):
    """The long history's backtest and its daily targets (caches emptied after, as for `backtest`)."""
    res = runmod.run(resolve({"run.history": "long"}), data_dir=str(shared_data), offline=True)
    available = res.prepared.market.close[list(res.prepared.tickers)].notna()
    targets = target_weights(res.signals, available, res.config.strategy, res.config.hedge)
    runmod.clear_caches()
    return res.signals, targets


@pytest.mark.parametrize("day", ["1974-04-08", "1974-09-13", "1981-06-05"])
def test_now_in_the_long_history_is_the_long_backtests_call(day, long_backtest, shared_data, capsys):
    """Puts held in a recession call (1974-04), the late cycle of 1974's cut, a recession call held by
    the dwell filter (1981-06): the call reads each input's era, as the backtest did."""
    call = now_json(capsys, "--history", "long", "--as-of", day, "--data-dir", str(shared_data))
    assert_backtest_call(call, pd.Timestamp(day), long_backtest)
    inputs = call["inputs"]
    stand_ins = {name: v["note"] for name, v in inputs.items() if v["kind"] == "price"}
    if day.startswith("1974"):
        assert stand_ins["Qnt 2"] == "stands in for IWM until 1978-12-28"
        assert stand_ins["realised vol"] == "stands in for VIX until 1985-12-31"
        assert {"GS1", "BAA10YM"} <= set(inputs) and "GS10" not in inputs  # the fallbacks of 1974, not 1961's
        assert call["cut_pricing"]["two_year_series"] == "1-year yield (GS1, monthly)"
        assert call["indicators"]["two_year_gap"]["threshold"] == -defaults().data.gs1_gap
        assert call["indicators"]["credit_damage"]["label"] == "BAA-10y (monthly)"
    else:
        assert stand_ins["RU2000TR"] == "stands in for IWM until 2000-05-25" and "GS1" not in inputs
        assert call["cut_pricing"]["two_year_series"] == "2-year yield"
        assert call["cut_pricing"]["three_month_series"] == "3-month bill (DTB3, discount)"
    if call["hedge"] is not None:
        assert call["hedge"]["strike"] / call["hedge"]["spot"] == pytest.approx(0.9, abs=0.01)


# --- indicators: the rules' own comparisons -----------------------------------------------------------------


def test_indicators_agree_with_the_signal_frames_flags_on_every_tenth_day(backtest):
    """Grouped as the rules combine them, the indicators' `met` reproduce the frame's flags; every
    distance is the gap to the threshold in the value's unit, positive until the threshold is reached."""
    sig, _ = backtest
    regime = defaults().regime
    for i in range(0, len(sig), 10):
        row = sig.iloc[i]
        ind = {x.name: x for x in indicators(row, regime)}
        assert list(ind)[: len(INDICATORS)] == INDICATORS
        alarm = [ind[k].met for k in ("vix", "stlfsi4", "nfci", "ted_spread", "bank_move")]
        assert any(alarm) == row["stress_alarm"], row.name
        assert any(ind[k].met for k in ("credit_widening", "sahm", "claims_rise")) == row["recession_evidence"], (
            row.name
        )
        assert (ind["sahm"].met or ind["claims_rise"].met) == row["layoffs_rising"], row.name
        assert any(ind[k].met for k in ("core_cpi_trend", "cpi_trend_3m")) == row["inflation_declining"], row.name
        assert all(ind[k].met for k in ("two_year_gap", "bill_gap", "fed_funds")) == row["cut_priced"], row.name
        assert (
            all(ind[k].met for k in ("cycle_damage", "vix_spike", "vix_fade", "iwm_rebound"))
            == row["capitulation_event"]
        ), row.name
        assert ind["real_yield_change"].met == row["real_yields_ok"]
        for x in ind.values():
            if x.value is None:
                continue
            gap = x.threshold - x.value if x.condition in (">=", ">") else x.value - x.threshold
            assert x.distance == gap
            if x.distance > 0:
                assert not x.met, (row.name, x.name)
            if x.distance < 0:
                assert x.met, (row.name, x.name)


def test_a_threshold_set_on_the_command_line_is_the_one_measured(shared_data, capsys):
    call = now_json(
        capsys, "--data-dir", str(shared_data), "--set", "regime.vix_crisis=20", "--set", "regime.hy_damage=3.5"
    )
    vix = pd.read_csv(shared_data / "prices" / "VIX.csv", index_col=0)["Close"]
    assert call["indicators"]["vix"]["threshold"] == 20.0
    assert call["indicators"]["vix"]["distance"] == pytest.approx(20.0 - vix[LAST_DAY], abs=1e-6)
    assert call["indicators"]["credit_damage"]["threshold"] == 3.5


def test_text_reads_values_and_distances_from_the_files(shared_data, capsys):
    """What a reader sees, recomputed from the CSV files: VIX at the day's close against the crisis
    level, the HY OAS known that morning (yesterday's FRED value) against the damage level."""
    assert main(["now", "--offline", "--data-dir", str(shared_data)]) == 0
    text = capsys.readouterr().out
    regime = defaults().regime
    vix = pd.read_csv(shared_data / "prices" / "VIX.csv", index_col=0)["Close"][LAST_DAY]
    hy = pd.read_csv(shared_data / "macro" / "BAMLH0A0HYM2.csv", index_col=0)["BAMLH0A0HYM2"].dropna()
    hy_known = hy[hy.index <= "2025-09-25"].iloc[-1]  # published the business day after
    assert text.startswith(f"fedcut now: the call for Friday {LAST_DAY}, from the last trading day the data covers")
    vix_line = next(line for line in text.splitlines() if line.strip().startswith("VIX ") and ">=" in line)
    assert f"{vix:.2f}" in vix_line and f"{regime.vix_crisis - vix:.2f} points away" in vix_line
    hy_line = next(line for line in text.splitlines() if line.strip().startswith("HY OAS ") and "rise" not in line)
    assert f"{hy_known:.2f}%" in hy_line and f"{regime.hy_damage - hy_known:.2f} pp away" in hy_line
    for heading in (
        "regime ",
        "action ",
        "weights ",
        "hedge ",
        "reason ",
        "policy ",
        "what would change the call",
        "inputs (last observation",
    ):
        assert f"\n{heading}" in text or f"\n  {heading}" in text or heading in text


def test_the_hedge_is_struck_and_sized_as_the_backtest_would(picked, shared_data, capsys):
    """Puts recomputed from IWM's file: strike at moneyness x close to the nearest tick, the monthly
    expiry nearest the tenor (a third Friday: the holidays after D are not in the data of D), whole
    contracts on the target IWM weight less the cash buffer."""
    day = picked["hedged"]
    call = now_json(capsys, "--as-of", str(day.date()), "--data-dir", str(shared_data))
    h, cfg = call["hedge"], defaults()
    close = pd.read_csv(shared_data / "prices" / "IWM.csv", index_col=0, parse_dates=True)["Close"]
    spot = close[day]
    assert h["spot"] == spot
    assert h["strike"] == round(cfg.hedge.moneyness * spot / cfg.hedge.strike_tick) * cfg.hedge.strike_tick
    want = day + pd.Timedelta(days=cfg.hedge.tenor_days)
    fridays = [d for d in pd.date_range(day, want + pd.Timedelta(days=60), freq="W-FRI") if 15 <= d.day <= 21]
    fridays = [d for d in fridays if (d - day).days > cfg.hedge.roll_days]
    # on D the trading days after D are unknown: the third Friday stands, even a holiday (2019-04-19)
    nearest = min(fridays, key=lambda d: (abs((d - want).days), -d.toordinal()))
    assert h["expiry"] == str(nearest.date())
    notional = call["weights"]["IWM"] * (1 - cfg.execution.cash_buffer) * 1e6
    assert h["contracts_per_1m"] == math.floor(notional * cfg.hedge.hedge_ratio / spot / cfg.hedge.contract_size)
    assert h["per"] == "portfolio" and h["model_price"] > 0 and h["fill_price"] > h["model_price"]
    assert h["premium_per_1m"] == pytest.approx(
        h["contracts_per_1m"] * (h["fill_price"] * cfg.hedge.contract_size + cfg.hedge.commission_per_contract)
    )


def test_with_budget_sizing_the_puts_are_what_the_premium_budget_buys(picked, shared_data, capsys):
    """hedge.sizing = budget: annual_budget x tenor / 365 of each $1M of portfolio buys whole
    contracts at the model price plus commission, as the backtest counts them."""
    call = now_json(
        capsys, "--as-of", str(picked["hedged"].date()), "--data-dir", str(shared_data), "--set", "hedge.sizing=budget"
    )
    h, hedge = call["hedge"], defaults().hedge
    budget = hedge.annual_budget * 1e6 * hedge.tenor_days / 365
    assert h["sizing"] == "budget" and h["per"] == "portfolio" and h["contracts_per_1m"] > 0
    assert h["contracts_per_1m"] == math.floor(
        budget / (h["model_price"] * hedge.contract_size + hedge.commission_per_contract)
    )


def test_held_through_a_crisis_the_puts_are_sized_per_million_of_iwm_held(backtest, shared_data, capsys):
    """With hedge.hold_through_crisis the small caps held stay: no IWM weight, so no cash share, and
    the puts are counted per $1M of IWM held."""
    sig, _ = backtest
    day = sig.index[sig["regime"].eq("crisis")][-1]
    call = now_json(
        capsys, "--as-of", str(day.date()), "--data-dir", str(shared_data), "--set", "hedge.hold_through_crisis=true"
    )
    assert call["regime"] == "crisis" and call["weights"]["IWM"] is None and call["cash"] is None
    h = call["hedge"]
    assert h["per"] == "IWM held"
    assert h["contracts_per_1m"] == math.floor(1e6 * h["hedge_ratio"] / h["spot"] / defaults().hedge.contract_size)


# --- inputs and staleness ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "series, observation, current_on, stale_on",
    [
        # a daily FRED series: the next observation (Thu) is known Fri; stale 3 business days later
        ("DGS2", "2025-09-17", "2025-09-24", "2025-09-25"),
        # weekly claims for the week ending Sat 09-06: the next week's on Thu 09-18; stale after Sun 09-21
        ("ICSA", "2025-09-06", "2025-09-21", "2025-09-22"),
        # monthly CPI for June: July's is known on the 21st of August (data.cpi_release_day); stale after the 24th
        ("CPIAUCSL", "2025-06-01", "2025-08-24", "2025-08-25"),
        # the jobs report for June: July's comes the first Friday on or after Aug 5, the 8th; stale after the 11th
        ("UNRATE", "2025-06-01", "2025-08-11", "2025-08-12"),
        # the fed funds target range, a 7-day series known on its date: stale 3 business days after the next day
        ("DFEDTARU", "2025-09-10", "2025-09-16", "2025-09-17"),
    ],
)
def test_a_series_is_stale_once_its_next_release_is_overdue(series, observation, current_on, stale_on):
    data = defaults().data
    obs = pd.Timestamp(observation)
    for day, status in ((current_on, "current"), (stale_on, "stale")):
        got = input_status(series, obs, obs, pd.Timestamp(day), data)
        assert got.status == status, (series, day, got)
    assert set(STALE_GRACE) == {m.frequency for m in MACRO.values()}


def test_discontinued_and_not_yet_published_series_are_not_stale():
    data = defaults().data
    ted = input_status(
        "TEDRATE", pd.Timestamp("2022-01-21"), pd.Timestamp("2022-01-24"), pd.Timestamp("2025-09-26"), data
    )
    assert ted.status == "discontinued" and not ted.stale
    stl = input_status("STLFSI4", None, None, pd.Timestamp("2008-10-10"), data)
    assert stl.status == "not yet published" and "2010-01-01" in stl.note and not stl.stale


def test_stale_files_are_flagged_and_named_in_the_warnings(shared_data, tmp_path, capsys):
    """DGS2 cut after 2025-09-17 (7 business days before the data's last day) and claims after the
    week of 2025-09-06: both stale, nothing else; the data still ends 2025-09-26."""
    folder = copy_cut(
        shared_data, tmp_path / "data", files={"macro/DGS2.csv": "2025-09-17", "macro/ICSA.csv": "2025-09-06"}
    )
    call = now_json(capsys, "--data-dir", str(folder))
    assert call["as_of"] == LAST_DAY
    stale = sorted(k for k, v in call["inputs"].items() if v["stale"])
    assert stale == ["DGS2", "ICSA"]
    assert call["inputs"]["DGS2"]["observation_date"] == "2025-09-17"
    assert call["inputs"]["DGS2"]["next_due"] == "2025-09-19"
    assert any(w.startswith("DGS2 is stale: its last observation 2025-09-17") for w in call["warnings"])
    assert any(w.startswith("ICSA is stale") for w in call["warnings"])
    assert "DGS2 stale" in call["indicators"]["two_year_gap"]["note"]
    # with --json the warnings go to stderr too, so a pipe reading the JSON still shows them
    assert main(["now", "--json", "--offline", "--data-dir", str(folder)]) == 0
    assert "warning: DGS2 is stale: its last observation 2025-09-17" in capsys.readouterr().err
    # offline, --fetch refreshes nothing and names what a fetch online would refresh
    assert main(["now", "--fetch", "--offline", "--data-dir", str(folder)]) == 0
    err = capsys.readouterr().err
    assert "nothing was refreshed; stale: DGS2, ICSA; `fedcut data fetch` online would refresh them" in err


def test_a_macro_series_too_old_ends_the_data_and_says_so(shared_data, tmp_path, capsys):
    """UNRATE cut after June 2025: it counts as current for 75 days (the catalog's stale_days), so the
    data ends 2025-08-15; on that day July's jobs report (due Aug 8) is overdue: UNRATE is stale."""
    folder = copy_cut(shared_data, tmp_path / "data", files={"macro/UNRATE.csv": "2025-06-01"})
    call = now_json(capsys, "--data-dir", str(folder))
    assert call["as_of"] == "2025-08-15" and call["end_set_by"] == "UNRATE"
    assert [k for k, v in call["inputs"].items() if v["stale"]] == ["UNRATE"]
    assert any(
        w.startswith(
            "the data ends 2025-08-15 though IWM's prices go on to 2025-09-26: UNRATE's last observation, 2025-06-01"
        )
        for w in call["warnings"]
    )


def test_inputs_are_what_the_signal_frame_read_that_day(backtest, picked, shared_data, capsys):
    sig, _ = backtest
    day = picked["bank_run"]
    call = now_json(capsys, "--as-of", str(day.date()), "--data-dir", str(shared_data))
    for sid in REGIME_SERIES:
        obs = sig.loc[day, f"{sid}_obs"]
        assert call["inputs"][sid]["observation_date"] == (None if pd.isna(obs) else str(obs.date()))
    assert list(call["inputs"]) == list(REGIME_SERIES) + ["IWM", "VIX", "SPY", sig.loc[day, "bank_source"]]
    assert all(call["inputs"][t]["observation_date"] == str(day.date()) for t in ("IWM", "VIX", "SPY"))


# --- JSON keys, the text, the command ---------------------------------------------------------------------


def test_json_keys_are_stable(shared_data, capsys):
    call = now_json(capsys, "--data-dir", str(shared_data))
    assert list(call) == TOP_KEYS
    assert list(call["indicators"]) == INDICATORS  # no capitulation holds on the last day
    assert all(list(v) == INDICATOR_KEYS for v in call["indicators"].values())
    assert all(list(v) == INPUT_KEYS for v in call["inputs"].values())
    assert set(call["weights"]) == {"IWM", "VO", "OUSM", "XLI", "XLF", "ITB", "XLP", "XLU", "IEF"}
    assert call["cash"] == pytest.approx(1 - sum(call["weights"].values()))
    assert list(call["policy"]) == [
        "cycle_state",
        "cycle_first_cut",
        "cuts_in_cycle",
        "intermeeting_cut",
        "late_cycle",
        "capitulated",
        "recession_evidence",
        "financial_stress",
        "last_change",
        "next_meeting",
        "days_to_next_meeting",
    ]
    assert list(call["cut_pricing"]) == [
        "fed_funds",
        "two_year",
        "three_month",
        "two_year_gap",
        "bill_gap",
        "two_year_needed",
        "bill_needed",
        "zero_bound",
        "cut_priced",
        "two_year_series",
        "three_month_series",
    ]


def test_json_hedge_keys(picked, shared_data, capsys):
    call = now_json(capsys, "--as-of", str(picked["hedged"].date()), "--data-dir", str(shared_data))
    assert list(call["hedge"]) == HEDGE_KEYS


def test_the_cut_pricing_is_the_files_yields_against_fed_funds(shared_data, capsys):
    call = now_json(capsys, "--data-dir", str(shared_data))
    c = call["cut_pricing"]
    dgs2 = pd.read_csv(shared_data / "macro" / "DGS2.csv", index_col=0)["DGS2"].dropna()
    dff = pd.read_csv(shared_data / "macro" / "DFF.csv", index_col=0)["DFF"].dropna()
    assert c["two_year"] == dgs2["2025-09-25"] and c["fed_funds"] == dff["2025-09-25"]
    assert c["two_year_gap"] == pytest.approx(dgs2["2025-09-25"] - dff["2025-09-25"])
    p = call["policy"]
    fomc = pd.read_csv(shared_data / "calendar" / "FOMC.csv", parse_dates=["date"])
    nxt = fomc[(fomc["kind"] == "scheduled") & (fomc["date"] > LAST_DAY)]["date"].iloc[0]
    assert p["next_meeting"] == str(nxt.date()) and p["days_to_next_meeting"] == (nxt - pd.Timestamp(LAST_DAY)).days


def test_a_day_without_trading_gives_the_trading_day_before(shared_data, capsys):
    call = now_json(capsys, "--as-of", "2020-04-10", "--data-dir", str(shared_data))  # Good Friday
    assert call["as_of"] == "2020-04-09" and call["requested"] == "2020-04-10"


def test_python_run_backtest_now_works(shared_data):
    env = {**os.environ, "FEDCUT_DATA_DIR": str(shared_data), "FEDCUT_OFFLINE": "1"}
    done = subprocess.run(
        [sys.executable, "run_backtest.py", "now", "--as-of", "2024-09-20", "--json"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["as_of"] == "2024-09-20"


def test_fetch_online_refreshes_every_series_then_calls(shared_data, tmp_path, monkeypatch, capsys):
    """--fetch online refreshes the download cache (the downloads faked here) and reads it; a data
    directory holding only the FOMC calendar (which has no download) is fine."""
    from fedcut.data import fetch

    cache, calendar_only = tmp_path / "cache", tmp_path / "data"
    for kind in ("prices", "macro", "cboe"):
        (cache / kind).mkdir(parents=True)
        for src in (shared_data / kind).glob("*.csv"):
            (cache / kind / src.name).symlink_to(src)
    (calendar_only / "calendar").mkdir(parents=True)
    (calendar_only / "calendar" / "FOMC.csv").symlink_to(shared_data / "calendar" / "FOMC.csv")
    refreshed = []

    def fake_refresh(kind, name, cache_dir, *args, **kwargs):
        refreshed.append(name)
        return Path(cache_dir) / kind / f"{name}.csv"

    def no_network(*args, **kwargs):
        raise AssertionError("no test touches the network")

    monkeypatch.setattr(fetch, "refresh", fake_refresh)
    monkeypatch.setattr(fetch, "http_get", no_network)
    monkeypatch.setattr(fetch, "yahoo_download", no_network)
    monkeypatch.setenv("FEDCUT_DATA_DIR", str(calendar_only))
    monkeypatch.setenv("FEDCUT_OFFLINE", "0")
    monkeypatch.setenv("FEDCUT_CACHE_DIR", str(cache))
    assert main(["now", "--fetch", "--json"]) == 0
    assert refreshed == list(INSTRUMENTS) + list(MACRO)
    assert json.loads(capsys.readouterr().out)["as_of"] == LAST_DAY


# --- refusals: one line each, documented ------------------------------------------------------------------


@pytest.mark.parametrize(
    "args, message",
    [
        (
            ["--as-of", "2030-01-02"],
            "error: --as-of 2030-01-02: after the last day the data covers, 2025-09-26 (end set by IWM)",
        ),
        (
            ["--as-of", "1999-01-04"],
            "error: --as-of 1999-01-04: before the history's first day, 2000-05-26 "
            "(run.start, or --history extended or long for an earlier history)",
        ),
        (["--as-of", "2020-02-30"], "error: --as-of must be a date YYYY-MM-DD, got '2020-02-30'"),
        (["--as-of", "20200302"], "error: --as-of must be a date YYYY-MM-DD, got '20200302'"),
        (
            ["--set", "run.oracle=true"],
            "error: now: run.oracle reads the actual cut calendar (future information); "
            "today's call cannot know it: drop --oracle / run.oracle",
        ),
        (
            ["--set", "run.strategy=credit_rule"],
            "error: now: run.strategy = credit_rule: today's call is the fedcut rules' only",
        ),
    ],
)
def test_refusals_are_one_documented_line(args, message, shared_data, capsys):
    assert refused(capsys, "--data-dir", str(shared_data), *args) == message
    assert f"`{message}`" in (ROOT / "docs" / "bad_inputs.md").read_text()


def test_fetch_with_a_data_directory_is_refused_before_any_download(shared_data, monkeypatch, capsys):
    from fedcut.data import fetch

    monkeypatch.setattr(fetch, "refresh", lambda *a, **k: pytest.fail("nothing may be downloaded"))
    monkeypatch.setenv("FEDCUT_OFFLINE", "0")
    assert main(["now", "--fetch", "--data-dir", str(shared_data)]) == 2
    line = capsys.readouterr().err.strip()
    documented = (
        "error: --fetch: the data directory DATA (--data-dir or FEDCUT_DATA_DIR) holds N of the series "
        "(IWM, VO, OUSM, ...) and is read before the download cache, so their refresh would not be used: "
        "unset it, or keep only calendar/FOMC.csv there"
    )
    held = [n for n in INSTRUMENTS if (shared_data / "prices" / f"{n}.csv").is_file()]
    held += [n for n in MACRO if (shared_data / "macro" / f"{n}.csv").is_file()]
    assert line == documented.replace(" DATA ", f" {shared_data} ").replace(" N ", f" {len(held)} ")
    assert f"`{documented}`" in (ROOT / "docs" / "bad_inputs.md").read_text()


def test_todays_call_from_python(shared_data):
    call = todays_call(defaults(), "2024-09-20", data_dir=shared_data, offline=True)
    assert str(call.as_of.date()) == "2024-09-20" and call.regime in (
        "crisis",
        "late_panic",
        "recession_risk",
        "soft_landing",
        "neutral",
    )


# --- a call that knows its age --------------------------------------------------------------------


def test_a_call_older_than_the_release_lags_allow_warns_in_text_and_json(shared_data, monkeypatch, capsys):
    """The data ends 2025-09-26; on 2026-12-07 the call is 437 days old and every file whose next
    observation was due by then is named; on the next Monday nothing is overdue yet."""
    monkeypatch.setenv("FEDCUT_TODAY", "2026-12-07")
    call = now_json(capsys, "--data-dir", str(shared_data))
    assert call["today"] == "2026-12-07" and call["as_of"] == LAST_DAY
    assert call["warnings"][-22].startswith(f"the call is for {LAST_DAY}, 437 days before today (2026-12-07)")
    iwm = next(w for w in call["warnings"] if w.startswith("IWM: "))
    assert iwm == (
        f"IWM: newest observation {LAST_DAY} (known {LAST_DAY}), the next was due 2025-09-29: refresh "
        f"{shared_data / 'prices' / 'IWM.csv'}"
    )
    unrate = pd.read_csv(shared_data / "macro" / "UNRATE.csv", na_values=".").dropna()
    assert any(w.startswith(f"UNRATE: newest observation {unrate['DATE'].iloc[-1]}") for w in call["warnings"])
    assert main(["now", "--offline", "--data-dir", str(shared_data)]) == 0
    text = capsys.readouterr()
    assert "437 days before today (2026-12-07)" in text.out  # the text's own warnings block
    monkeypatch.setenv("FEDCUT_TODAY", "2025-09-29")  # the next trading day: IWM's next row is not overdue yet
    calm = now_json(capsys, "--data-dir", str(shared_data))
    assert not any("before today" in w or "refresh /" in w for w in calm["warnings"])
    assert now_json(capsys, "--as-of", "2025-09-25", "--data-dir", str(shared_data))["today"] is None


def test_a_malformed_clock_is_one_line(shared_data, monkeypatch, capsys):
    monkeypatch.setenv("FEDCUT_TODAY", "2025-13-01")
    assert main(["now", "--offline", "--data-dir", str(shared_data)]) == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        "error: FEDCUT_TODAY must be a date YYYY-MM-DD, got '2025-13-01'"
    ]


@pytest.mark.parametrize("release", ["jobs", "cpi"])
def test_delayed_releases_are_read_only_from_the_day_they_came_out(release, source):
    """The backtest's as-of view (the one the regime reads) on the shutdowns' days: each delayed
    report is read from its real day, not the rule's. The rule's days are worked out here by hand."""
    from fedcut.data.asof import asof_frame
    from fedcut.data.release_exceptions import DELAYED_RELEASES

    series = {"jobs": "UNRATE", "cpi": "CPIAUCSL"}[release]
    days = pd.DatetimeIndex(
        [
            "2013-10-21",
            "2013-10-22",
            "2013-10-29",
            "2013-10-30",
            "2025-10-10",
            "2025-11-19",
            "2025-11-20",
            "2025-10-23",
            "2025-10-24",
        ]
    )
    seen = asof_frame({series: source.macro(series)}, days, defaults().data)[f"{series}_obs"].dt.strftime("%Y-%m")
    if release == "jobs":  # by the rule, first Friday on or after the 5th: 2013-10-11 and 2025-10-10
        assert list(seen[:2]) == ["2013-08", "2013-09"]  # came out 2013-10-22
        assert list(seen[4:7]) == ["2025-08", "2025-08", "2025-09"]  # came out 2025-11-20, not on 2025-10-10
    else:  # by the rule, the 21st of the next month
        assert list(seen[2:4]) == ["2013-08", "2013-09"]  # came out 2013-10-30
        assert list(seen[7:]) == ["2025-08", "2025-09"]  # came out 2025-10-24
    rows = [r for r in DELAYED_RELEASES if r.release == release]
    assert rows and all(r.source.startswith("https://") for r in rows)
    for r in rows:  # each row is a delay past the rule's day (the table only ever removes information)
        month = pd.Timestamp(r.period + "-01")
        rule = month + pd.offsets.MonthBegin(1) + pd.Timedelta(days=(4 if release == "jobs" else 20))
        if release == "jobs":
            rule += pd.Timedelta(days=(4 - rule.day_of_week) % 7)
        assert pd.Timestamp(r.published) > rule, r


def test_the_vix_bounds_say_when_no_put_is_bought(picked, shared_data, capsys):
    """Rule 12 (`execution.kernel.buying_allowed`) in today's call: the VIX of the day against the bounds."""
    day = str(picked["hedged"].date())
    vix = pd.read_csv(shared_data / "prices" / "VIX.csv", index_col="Date", parse_dates=True)
    level = float(vix["Close"].loc[:day].iloc[-1])
    assert now_json(capsys, "--as-of", day, "--data-dir", str(shared_data))["hedge"]["blocked"] == ""
    below = now_json(
        capsys, "--as-of", day, "--data-dir", str(shared_data), "--set", f"hedge.buy_vix_ceiling={level - 0.5}"
    )["hedge"]
    assert f"VIX {level:.1f} is outside" in below["blocked"] and below["contracts_per_1m"] > 0
    inside = now_json(
        capsys,
        "--as-of",
        day,
        "--data-dir",
        str(shared_data),
        "--set",
        f"hedge.buy_vix_floor={level - 0.5}",
        "--set",
        f"hedge.buy_vix_ceiling={level + 0.5}",
    )["hedge"]
    assert inside["blocked"] == ""
