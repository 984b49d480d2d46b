"""No dead parameters: every key in `fedcut.core.params.PARAMS`, set to another allowed value, changes
something a user sees.

One test per key (the test id is the key), built from `PARAMS` itself, so a parameter added later
is tested without anyone remembering to. Each run is a short real-data run compared with the same
span and settings at the defaults: the signals frame, equity, trades, episodes, baselines table and
`metrics.json` (verdict, baselines, foresight and cycles included; numbers that merely echo a setting,
like the configuration hash or the bootstrap seed, are left out, or every key would "change" the
metrics). It must change what its section acts on (`SHOWS`): the holdings, for every key a run
trades by, the baselines, the verdict or the episodes for the others. The input checks on the data
change results by refusing data: shown by a refusal. A key that changes nothing fails its test: it
should be removed, not skipped here.

The other value is, unless `CASES` says otherwise, the flipped flag, another choice, one name fewer
in a list, or halfway from the default to its farther bound.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

from fedcut.core.errors import DataError, FedcutError
from fedcut.core.params import PARAMS, Param, defaults
from fedcut.run.backtest import run

pytestmark = pytest.mark.slow  # whole runs and commands: not in the edit-test loop

# Short spans of real history; each holds what the parameters tested on it act on.
SPANS = {
    "crisis": {"run.start": "2006-01-03", "run.end": "2009-12-31"},  # the 2007 cycle: cuts, 2008's crisis, puts
    "covid": {"run.start": "2019-01-02", "run.end": "2023-12-29"},  # STLFSI4 and NFCI published, 2020, March 2023
    "dotcom": {"run.start": "2000-06-01", "run.end": "2004-12-31"},  # the 2001 cycle; XLF is the bank gauge before 2005
    "early": {"run.start": "1990-01-02", "run.end": "1993-12-31", "run.history": "extended"},  # RUT, SPX, BAA, VXO
    "to_2001": {"run.start": "", "run.end": "2001-12-31"},  # starts on IWM's first day in the iwm history
    # the long history's fallbacks: Romer and Romer's meetings, GS1, DTB3, BAA10YM, the modelled volatility
    "long_1970s": {"run.history": "long", "run.start": "1969-01-02", "run.end": "1976-05-28"},
    "late_start": {"run.start": "2008-06-02", "run.end": "2009-12-31"},  # begins inside the 2007 cycle
}

# The keys that need another value, a span other than "crisis", companion settings (in both runs)
# or a refusal to show; each with why.
CASES: dict[str, dict] = {
    "run.start": dict(value="2007-01-03", why="a year later: fewer days"),
    "run.end": dict(value="2008-12-31", why="a year earlier: fewer days"),
    "run.history": dict(span="to_2001", why="from 1990 with RUT as IWM instead of from IWM's first day"),
    "data.vix_backcalculated": dict(span="early", why="VIX and VXO differ only before 2003-09-22"),
    "hedge.skew_index_slope": dict(
        span="covid",
        why="SKEW prices the puts only from 2011-02-23, when Cboe first "
        "published it (before, the surface is read at the centre)",
    ),
    "hedge.skew_index_centre": dict(
        span="covid",
        why="SKEW prices the puts only from 2011-02-23, when Cboe first "
        "published it (before, the surface is read at the centre)",
    ),
    "data.realised_vol_days": dict(span="long_1970s", why="the modelled volatility is read only before 1986"),
    "data.realised_vol_multiplier": dict(span="long_1970s", why="the modelled volatility is read only before 1986"),
    "data.monthly_average_lag_days": dict(
        span="long_1970s", why="GS1, GS10 and BAA10YM are read only before 1976, 1962 and 1986"
    ),
    "data.romer_lag_days": dict(span="long_1970s", why="Romer and Romer's meetings are read only in 1969-1982"),
    "data.gs1_gap": dict(span="long_1970s", why="GS1 prices cuts only before DGS2 (1976)"),
    "data.dtb3_gap": dict(span="long_1970s", why="DTB3 prices a cut only before DGS3MO (1981)"),
    "data.baa_monthly_widening": dict(span="long_1970s", why="BAA10YM is the credit gauge only before 1986"),
    "data.baa_monthly_damage": dict(
        value=1.5, span="long_1970s", why="BAA10YM stayed below 2.99 (and 6.5, halfway up) in 1969-1976"
    ),
    "data.spx_dividend_yield": dict(span="early", why="SPX stands in for SPY only before 1993-01-29"),
    "data.rut_dividend_yield": dict(span="early", why="RUT stands in for IWM only before 2000-05-26"),
    "data.jobs_release_min_day": dict(span="covid", why="2020's jobs reports decide a recession call"),
    "data.weekly_claims_lag_days": dict(span="covid", why="2020's claims decide a recession call"),
    "data.nfci_lag_days": dict(
        span="covid",
        also={"regime.nfci_crisis": -0.5},
        why="NFCI is read only from May 2011, and alarms at 0.5 in none of it",
    ),
    "data.stlfsi_lag_days": dict(span="covid", why="STLFSI4 is read only from its first publication (2010)"),
    "data.max_target_change": dict(
        value=0.25, refused="real", why="the real target moved 0.5 pp in a day (1982): refused at 0.25"
    ),
    "data.allow_backfilled_indices": dict(
        shows="signals",
        why="the reconstructed STLFSI4 and NFCI alarm only when other gauges do: "
        "they show in signals.csv, the regime is unchanged",
    ),
    "regime.zero_bound": dict(value=3.0, span="covid", why="fed funds stood below 3% through the 2019 cuts"),
    "regime.oracle_lead_days": dict(shows="metrics.foresight", why="read only by the oracle run beside this one"),
    "regime.sahm_warning": dict(
        value=0.25, span="covid", why="a lower bar changes the 2019-23 calls; halfway (1.25) only columns"
    ),
    "regime.claims_rise": dict(value=0.1, why="a lower bar changes the 2006-09 calls; halfway (110%) only columns"),
    "regime.credit_window_days": dict(
        value=34, why="a shorter window changes the calls; halfway (162 days) only columns"
    ),
    "regime.hy_damage": dict(value=4.0, span="covid", why="the HY OAS stood near 4% in 2019, below 6% and 13%"),
    "regime.vix_crisis": dict(value=25.0, why="a lower bar changes the calls; at 70 other gauges call 2008's crises"),
    "regime.vix_calm": dict(value=20.0, why="a lower bar changes the calls; at 65 other gauges hold 2008-09's crises"),
    "regime.bank_stress_days": dict(span="covid", why="March 2023 is the bank run in the data"),
    "regime.bank_stress_drop": dict(span="covid", why="March 2023 is the bank run in the data"),
    "regime.bank_calm_drop": dict(span="covid", why="March 2023 is the bank run in the data"),
    "regime.capitulation_lookback_days": dict(
        value=32, why="a shorter lookback changes the calls; halfway (155 days) only columns"
    ),
    "regime.intermeeting_late": dict(
        span="dotcom",
        also={"regime.hy_damage": 20.0},
        why="the 2001 intermeeting cut is late also by its HY spread; without that gauge the intermeeting flag decides",
    ),
    "regime.iwm_damage_drawdown": dict(
        value=-0.03,
        span="covid",
        why="IWM stood 3.7% below its high at the 2019 cut; 2008 and 2020 were late by other gauges",
    ),
    "regime.baa_widening": dict(value=0.1, span="early", why="BAA is the credit gauge before the HY OAS (1997)"),
    "regime.baa_damage": dict(value=1.5, span="early", why="BAA is the credit gauge before the HY OAS (1997)"),
    "regime.stlfsi_crisis": dict(value=0.5, span="covid", why="STLFSI4 is read only from 2010"),
    "regime.nfci_crisis": dict(value=-0.5, span="covid", why="NFCI is read only from May 2011"),
    "regime.stlfsi_calm": dict(value=-1.0, span="covid", why="STLFSI4 is read only from 2010"),
    "regime.xlf_scale": dict(value=0.1, span="dotcom", why="XLF is the bank gauge only before KBE (2005)"),
    "strategy.neutral_iwm": dict(value=0.2, why="the four neutral weights may not add to more than 1"),
    "strategy.neutral_vo": dict(value=0.0, why="the four neutral weights may not add to more than 1"),
    "strategy.neutral_ousm": dict(value=0.0, why="the four neutral weights may not add to more than 1"),
    "strategy.neutral_cyclicals": dict(value=0.0, why="the four neutral weights may not add to more than 1"),
    "baseline.baa_widening_pp": dict(span="early", why="the credit rule reads BAA only before 1997"),
    "baseline.baa_level": dict(value=2.0, span="early", why="the credit rule reads BAA only before 1997"),
    "baseline.baa_monthly_widening_pp": dict(span="long_1970s", why="the credit rule reads BAA10YM only before 1986"),
    "baseline.baa_monthly_level": dict(
        value=2.0,
        span="long_1970s",
        why="the credit rule reads BAA10YM only before 1986; it stayed below 3% in 1969-1976",
    ),
    "verdict.resamples": dict(value=500, why="fewer, for speed (halfway would be 51,000)"),
    "analysis.min_cycle_months_in_run": dict(
        value=24, span="late_start", why="only a cycle that began before the run is subject to it"
    ),
    "execution.borrow_spread_bps": dict(
        value=1000.0,
        also={"hedge.hold_through_crisis": True},
        why="cash goes negative only when puts are bought on a full position",
    ),
    "hedge.roll_days": dict(
        value=60,
        also={"hedge.hold_through_crisis": True},
        why="below hedge.tenor_days; puts held through 2008 live long enough to roll",
    ),
    "hedge.annual_budget": dict(value=0.1, also={"hedge.sizing": "budget"}, why="read only with budget sizing"),
    "hedge.vol_cap": dict(value=0.3, why="the modelled vol never reached 1.5 (halfway up would change nothing)"),
    "hedge.buy_vix_floor": dict(value=30.0, why="a floor halfway up its range (50) would stop every purchase"),
    "hedge.buy_vix_ceiling": dict(value=25.0, why="0 is none; halfway up (100) is above every VIX the puts met"),
    "hedge.small_cap_ratio_window": dict(
        value=21, also={"hedge.small_cap_ratio_mode": "realised"}, why="read only with the realised small-cap ratio"
    ),
    "hedge.small_cap_ratio_min": dict(
        value=1.4,
        also={"hedge.small_cap_ratio_mode": "realised"},
        why="read only with the realised ratio; a floor it crosses",
    ),
    "hedge.small_cap_ratio_max": dict(
        value=1.2,
        also={"hedge.small_cap_ratio_mode": "realised", "hedge.small_cap_ratio_min": 0.8},
        why="read only with the realised ratio; a cap it crosses",
    ),
}

# Where each section's keys must show: what the run trades, or the figures the section feeds
# (CASES's `shows` for a key that acts elsewhere).
SHOWS = {
    "run": "equity",
    "data": "equity",
    "regime": "equity",
    "strategy": "equity",
    "execution": "equity",
    "hedge": "equity",
    "baseline": "metrics.baselines",
    "verdict": "metrics.verdict",
    "analysis": "episodes",
}

# Figures in metrics.json that repeat a setting rather than result from it.
ECHOES = {
    "run": ("config_hash", "oracle", "label", "backfilled_indices", "backfilled_label", "strategy"),
    "verdict": ("mean_block_days", "resamples", "seed"),
    "foresight": ("oracle_lead_days",),
}


def other_value(p: Param):
    """The value a key is tested at: CASES's, else the automatic one (None: there is none)."""
    if "value" in CASES.get(p.key, {}):
        return CASES[p.key]["value"]
    d = p.default
    if isinstance(d, bool):
        return not d
    if isinstance(d, str) and p.choices:
        return next(c for c in p.choices if c != d)
    if isinstance(d, tuple):
        return d[:-1]
    if isinstance(d, (int, float)) and p.lo is not None and p.hi is not None:
        v = d + (p.hi - d) / 2 if p.hi - d >= d - p.lo else d - (d - p.lo) / 2
        return int(round(v)) if isinstance(d, int) else float(v)
    return None


def seen(result) -> dict:
    """Everything of a run a user sees, as comparable parts: frames, and metrics.json by section."""
    metrics = json.loads(json.dumps(result.metrics, default=str))
    for section, keys in ECHOES.items():
        for k in keys:
            metrics.get(section, {}).pop(k, None)
    parts = {
        "signals": result.signals,
        "equity": result.equity,
        "trades": result.trades,
        "episodes": result.episodes,
        "baselines.csv": result.baselines,
    }
    parts.update({f"metrics.{k}": json.dumps(v, sort_keys=True) for k, v in metrics.items()})
    return parts


def changed(a, b) -> list[str]:
    """The parts that differ between two runs."""
    pa, pb = seen(a), seen(b)
    out = []
    for name in sorted(set(pa) | set(pb)):
        x, y = pa.get(name), pb.get(name)
        same = x.equals(y) if isinstance(x, pd.DataFrame) and isinstance(y, pd.DataFrame) else x == y
        if not same:
            out.append(name)
    return out


@pytest.fixture(scope="module")
def runs(shared_data, tmp_path_factory):
    """`runs(settings, folder)`: the run of the defaults with `settings` on the real data (or the
    crafted folder named), kept for the module, so each span's default run is made once."""
    done: dict = {}
    folders = {"real": shared_data}

    def get(settings: dict, folder: str = "real"):
        key = (folder, tuple(sorted(settings.items())))
        if key not in done:
            done[key] = run(defaults().with_overrides(settings), data_dir=str(folders[folder]), offline=True)
        return done[key]

    return get


def test_every_case_is_a_parameter_with_a_reason():
    """CASES names only real keys and spans, each with a reason: no stale entry hides a removed key."""
    keys = {p.key for p in PARAMS}
    for key, case in CASES.items():
        assert key in keys, key
        assert case.get("why"), key
        assert case.get("span", "crisis") in SPANS, key
        assert set(case) <= {"value", "span", "also", "refused", "shows", "why"}, key


def test_the_comparison_sees_no_change_where_there_is_none(runs):
    """The check can pass only on a real difference: a default value set explicitly, and a rerun in
    a fresh configuration object, compare as unchanged, and a known change is found where it acts."""
    base = runs(SPANS["crisis"])
    again = run(
        defaults().with_overrides({**SPANS["crisis"], "hedge.moneyness": 0.90}), data_dir=base.data_dir, offline=True
    )
    assert changed(base, again) == []
    seed = runs({**SPANS["crisis"], "verdict.seed": 7})
    assert changed(base, seed) == ["metrics.verdict"]


@pytest.mark.parametrize("key", [p.key for p in PARAMS])
def test_every_parameter_changes_what_a_user_sees(key, runs):
    """Setting `key` to another allowed value changes the signals, equity, trades, episodes,
    baselines or metrics of a real run, or makes a check refuse the data; else it is dead weight."""
    p = next(p for p in PARAMS if p.key == key)
    case = CASES.get(key, {})
    value = other_value(p)
    assert value is not None, f"{key}: no automatic other value for a {type(p.default).__name__}; add it to CASES"
    assert value != p.default, f"{key}: the value tested is the default"
    base_settings = {**SPANS[case.get("span", "crisis")], **case.get("also", {})}
    assert key not in base_settings or base_settings[key] != value
    folder = case.get("refused", "real")
    base = runs(base_settings, folder)
    if case.get("refused"):
        with pytest.raises(DataError, match=key.replace(".", r"\.")):
            runs({**base_settings, key: value}, folder)
        return
    try:
        other = runs({**base_settings, key: value}, folder)
    except FedcutError as exc:
        pytest.fail(f"{key} = {value!r} was refused ({exc}); if refusing is its point, say so in CASES (`refused`)")
    differ = changed(base, other)
    assert differ, (
        f"{key} = {value!r} (default {p.default!r}) changes nothing a user sees over "
        f"{base_settings}: find a setting that does, or remove the parameter"
    )
    assert p.section in SHOWS, f"{key}: say in SHOWS where the section {p.section!r} must show"
    shows = case.get("shows", SHOWS[p.section])
    assert shows in differ, f"{key} = {value!r} changes only {differ}, not {shows}"
