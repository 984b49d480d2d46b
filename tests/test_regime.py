"""The regime signal: no look-ahead, known history, every regime and its precedence, hysteresis, plot."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fedcut.core.params import defaults, resolve
from fedcut.data.asof import known_dates
from fedcut.data.catalog import BANK_ETFS, MACRO, REGIME_SERIES
from fedcut.data.cuts import easing_cycles, policy_record, rate_changes, target_series
from fedcut.data.market import build_market
from fedcut.signals.indicators import bank_relative
from fedcut.signals.regime import REGIMES, classify, indicator_frame, load_raw, regime_frame

CFG = defaults()
DWELL = CFG.regime.min_dwell_days


@pytest.fixture(scope="module")
def inputs(source):
    """The real inputs on the extended market (from 1990): macro series, IWM, VIX, the FOMC
    calendar and the bank ETFs against SPY."""
    m = build_market(source, ("SPY",), "", "", "extended", CFG.data, REGIME_SERIES)
    bank = bank_relative({t: source.prices(t)["adj_close"] for t in BANK_ETFS}, m.close["SPY"])
    return load_raw(source), m.close["IWM"], m.vix, source.fomc(), bank


def frame_of_inputs(inputs, **changes):
    raw, iwm, vix, fomc, bank = inputs
    args = dict(raw=raw, iwm=iwm, vix=vix, bank=bank) | changes
    return regime_frame(
        args["raw"],
        args["iwm"],
        args["vix"],
        CFG.data,
        CFG.regime,
        oracle=changes.get("oracle", False),
        fomc=fomc,
        bank=args["bank"],
    )


@pytest.fixture(scope="module")
def real(inputs):
    """The real inputs and the default signal frame built from them."""
    raw, iwm, vix, _, _ = inputs
    return raw, iwm, vix, frame_of_inputs(inputs)


@pytest.fixture(scope="module")
def oracle_sig(inputs):
    return frame_of_inputs(inputs, oracle=True)


def runs(labels: pd.Series) -> pd.DataFrame:
    """Consecutive runs of one label: `label`, `start` (position), `length`."""
    values = labels.to_numpy()
    starts = np.flatnonzero(np.r_[True, values[1:] != values[:-1]])
    lengths = np.diff(np.r_[starts, len(values)])
    return pd.DataFrame({"label": values[starts], "start": starts, "length": lengths})


def check_dwell(called: pd.Series, raw: pd.Series, dwell: int, reentry: pd.Series | None = None) -> None:
    """The hysteresis contract, stated on outputs only (a capitulation's re-entry, like a crisis,
    is called at once)."""
    c, r = called.to_numpy(), raw.to_numpy()
    now = np.zeros(len(c), dtype=bool) if reentry is None else reentry.to_numpy()
    # crisis is called on the very day it is raw (the alarm day), never later
    assert (c[r == "crisis"] == "crisis").all()
    # a called regime is always one that held raw on some day; a switch away from crisis or
    # between calm regimes needs `dwell` consecutive raw days of the new regime, ending that day
    for i in np.flatnonzero(c[1:] != c[:-1]) + 1:
        if c[i] == "crisis":
            assert r[i] == "crisis"
        elif now[i]:
            assert c[i] == r[i] == "late_panic"
        else:
            assert i + 1 >= dwell and (r[i + 1 - dwell : i + 1] == c[i]).all(), (
                f"{called.index[i].date()}: switched to {c[i]} without {dwell} raw days"
            )
    # so a called run shorter than `dwell` is cut short by a crisis (or by the end of the data)
    spans = runs(called)
    for k in range(len(spans) - 1):
        if spans["length"].iat[k] < dwell:
            assert spans["label"].iat[k + 1] == "crisis" or now[spans["start"].iat[k + 1]], (
                f"{spans['label'].iat[k]} at {called.index[spans['start'].iat[k]].date()} lasted "
                f"{spans['length'].iat[k]} < {dwell} days and was not ended by a crisis"
            )


# --- look-ahead ------------------------------------------------------------------------------

CUTOFFS = ["2001-03-01", "2007-10-15", "2008-10-01", "2019-06-15", "2020-03-20", "2024-08-01"]


def perturb_after(raw, iwm, vix, cutoff: pd.Timestamp, rng):
    """Every input that became known after `cutoff`, scrambled; everything known by then untouched."""
    out = {}
    for sid, s in raw.items():
        later = known_dates(s.index, MACRO[sid].lag_rule, CFG.data) > cutoff
        n = int(later.sum())
        values = s.to_numpy(dtype=float).copy()
        noise = rng.uniform(0.3, 3.0, n) * values[later] + rng.normal(0, 1.0, n)
        if n:
            noise[rng.integers(0, n)] += 25.0 * (1 + abs(values[later]).mean())  # a crash / spike
        values[later] = noise
        out[sid] = pd.Series(values, index=s.index, name=s.name)
    after = iwm.index > cutoff
    k = int(after.sum())
    walk = np.exp(np.cumsum(rng.normal(0, 0.03, k)))
    walk[5:] *= 0.6  # a -40% crash a week after the cut-off
    iwm2 = iwm.copy()
    iwm2[after] = iwm[after].to_numpy() * walk
    vix2 = vix.copy()
    vix2[after] = vix[after].to_numpy() * rng.uniform(0.5, 2.0, k)
    vix2.iloc[np.flatnonzero(after)[5]] = 90.0  # panic on the crash day
    return out, iwm2, vix2, iwm.index[after][5]


@pytest.mark.parametrize("cutoff", CUTOFFS)
def test_nothing_known_after_a_day_changes_that_day_or_before(inputs, real, cutoff):
    raw, iwm, vix, sig = real
    d = pd.Timestamp(cutoff)
    rng = np.random.default_rng(d.toordinal())
    raw2, iwm2, vix2, crash_day = perturb_after(raw, iwm, vix, d, rng)
    bank = inputs[4].copy()
    later_days = bank.index > d
    bank.loc[later_days, "bank_ratio"] *= rng.uniform(0.5, 1.5, int(later_days.sum()))
    sig2 = frame_of_inputs(inputs, raw=raw2, iwm=iwm2, vix=vix2, bank=bank)

    pd.testing.assert_frame_equal(sig2.loc[:d], sig.loc[:d])
    # the perturbation is real: market and macro inputs, and the regime, move after the cut-off
    later = sig.index > d
    for col in (
        "vix",
        "iwm_drawdown_252d",
        "fed_funds",
        "two_year_gap",
        "cpi_yoy",
        "sahm",
        "claims_rise",
        "stlfsi",
        "nfci",
        "credit_spread",
        "bank_move",
    ):
        assert not sig2.loc[later, col].equals(sig.loc[later, col]), col
    assert sig2.loc[crash_day, "regime"] == "crisis" and sig2.loc[crash_day, "stress_alarm"]


# --- history ---------------------------------------------------------------------------------


def test_autumn_2008_and_march_2020_are_crisis_until_the_capitulation(real):
    sig = real[3]
    autumn = sig.loc["2008-09-15":"2008-10-29", "regime"]
    march = sig.loc["2020-03-09":"2020-03-24", "regime"]
    assert len(autumn) > 30 and (autumn == "crisis").all()
    assert len(march) == 12 and (march == "crisis").all()


def test_the_capitulation_re_enters_while_the_stress_alarm_is_still_fading(real):
    """2009 and 2020: the post-cut low is bought while VIX is still above its crisis level or the
    stress gauges are not yet calm, not months later."""
    sig = real[3]
    for start, end in (("2009-03-02", "2009-04-30"), ("2020-03-16", "2020-04-30")):
        window = sig.loc[start:end]
        reentry = window.index[(window["regime"] == "late_panic") & window["capitulated"]]
        assert len(reentry), start
        day = reentry[0]
        assert window.loc[day, "financial_stress"]  # the gauges are not calm yet
        assert window.loc[day, "vix"] <= window.loc[day, "vix_peak_recent"] * (1 - CFG.regime.capitulation_vix_fade)
        assert window.loc[day, "iwm"] >= window.loc[day, "capitulation_low"] * (1 + CFG.regime.capitulation_rebound)
    assert sig.loc["2020-03-26", "vix"] >= CFG.regime.vix_crisis  # bought with VIX still above 40


@pytest.mark.parametrize("ends_crisis", [True, False])
def test_a_held_capitulation_carries_the_levels_it_fails_at(inputs, ends_crisis):
    """While a capitulation holds, the frame names the day it was seen and its failure levels: that
    day's VIX peak and IWM low; no later day of the spell has broken them (VIX above, IWM below),
    with or without `regime.capitulation_ends_crisis` (today's call reads them either way)."""
    raw, iwm, vix, fomc, bank = inputs
    regime = CFG.regime.replace(capitulation_ends_crisis=ends_crisis)
    sig = regime_frame(raw, iwm, vix, CFG.data, regime, fomc=fomc, bank=bank)
    held = sig[sig["capitulation_seen"].notna()]
    assert len(held) > 100 and sig.loc[sig["capitulated"], "capitulation_seen"].notna().all()
    seen = held["capitulation_seen"]
    assert (seen <= held.index).all()
    assert sig.loc[seen, "capitulation_event"].all()
    assert np.array_equal(held["capitulation_fail_vix"].to_numpy(), sig.loc[seen, "vix_peak_recent"].to_numpy())
    assert np.array_equal(held["capitulation_fail_iwm"].to_numpy(), sig.loc[seen, "capitulation_low"].to_numpy())
    assert (held["vix"] <= held["capitulation_fail_vix"]).all() and (held["iwm"] >= held["capitulation_fail_iwm"]).all()
    assert (
        sig.loc[sig["capitulation_seen"].isna(), ["capitulation_fail_vix", "capitulation_fail_iwm"]].isna().all().all()
    )


def test_no_capitulation_without_prior_damage_the_2001_01_18_case(real):
    """A day after the January 2001 cycle was flagged late, the volatility gauge had faded from its
    December peak with IWM at a 10-day high. VXO, the index published then, had reached 35.7 (the
    back-calculated VIX 31.7): the spike alone would qualify, but small caps had not fallen far
    enough: no damage, no capitulation."""
    sig = real[3]
    day = sig.loc["2001-01-18"]
    assert day["late_cycle"] and not day["capitulation_event"] and not day["capitulated"]
    assert day["cycle_worst_drawdown"] > -CFG.regime.capitulation_damage
    assert day["vix_peak_recent"] >= CFG.regime.capitulation_vix_peak  # the damage rule alone decides
    assert not sig.loc["2001-01-03":"2001-03-31", "capitulated"].any()


def test_march_2023_bank_failures_are_stress_and_calm_years_are_not(real):
    sig = real[3]
    march = sig.loc["2023-03-09":"2023-03-31"]
    assert ((march["regime"] == "crisis") | march["financial_stress"]).sum() >= 5
    assert march["bank_alarm"].any() and (march.loc[march["bank_alarm"], "bank_source"] == "KRE").all()
    for calm in (sig.loc["2004":"2006"], sig.loc["2013":"2019"]):
        assert not calm["bank_alarm"].any()


def test_intermeeting_cuts_are_labelled_from_the_fomc_calendar(real):
    sig = real[3]
    for day in ("2001-01-03", "2008-01-22"):
        assert sig.loc[day, "intermeeting_cut"], day
    assert (
        sig.loc["2020-03-04", "intermeeting_cut"] and not sig.loc["2020-03-03", "intermeeting_cut"]
    )  # FRED dates it a day later
    for day in ("2019-07-31", "2019-08-01", "2024-09-18", "2024-09-19"):
        assert not sig.loc[day, "intermeeting_cut"], day
    assert sig.loc["2020-03-04":"2020-12-31", "intermeeting_cut"].all()  # for the rest of that cycle
    assert (
        not sig.loc["1998-10-01":"1998-10-14", "intermeeting_cut"].any() and sig.loc["1998-10-16", "intermeeting_cut"]
    )
    # the next scheduled meeting is counted in calendar days and is never in the past
    assert sig.loc["2024-09-17", "days_to_next_meeting"] == 1 and sig.loc["2024-09-18", "days_to_next_meeting"] == 50
    assert (sig["days_to_next_meeting"] >= 1).all()


def test_cuts_after_the_calendar_ends_are_not_called_intermeeting(inputs):
    """A calendar that stops in June 2024 cannot place the September 2024 cut: it is not flagged
    (the full calendar knows it was a scheduled meeting), while 2020's intermeeting cut still is."""
    from fedcut.signals.indicators import labelled_changes

    raw, _, _, fomc, _ = inputs
    record = policy_record(raw["DFEDTAR"], raw["DFEDTARU"], CFG.data)
    full, cut_short = labelled_changes(record, fomc), labelled_changes(record, fomc.loc[:"2024-06-30"])
    later = cut_short["decision"] > pd.Timestamp("2024-06-30")
    assert later.any() and not cut_short.loc[later, "intermeeting"].any()
    assert not full.loc[later, "intermeeting"].any()  # the same answer the full calendar gives
    assert cut_short.loc[~later, "intermeeting"].equals(full.loc[~later, "intermeeting"])
    assert cut_short.loc[cut_short["decision"] == pd.Timestamp("2020-03-03"), "intermeeting"].tolist() == [True]


def test_before_the_2019_cut_markets_price_it_and_the_regime_is_soft_landing(real):
    sig = real[3]
    window = sig.loc["2019-06-15":"2019-07-30"]
    assert window["cut_expected"].mean() >= 0.8
    assert (window["regime_raw"] == "soft_landing").all()
    # the called regime follows once the dwell has run; the days before it say they are held
    called = window["regime"]
    assert (called.loc["2019-07-01":] == "soft_landing").all()
    assert (called == "soft_landing").mean() >= 0.75
    held = window[called != "soft_landing"]
    assert held["reason"].str.contains("held by dwell").all()


def test_the_2001_cuts_came_after_the_damage(real):
    sig = real[3]
    early_2001 = sig.loc["2001-02-01":"2001-03-31"]
    assert early_2001["late_cycle"].all()
    assert (early_2001["cycle_first_cut"] == pd.Timestamp("2001-01-03")).all()
    assert (early_2001["regime"] == "late_panic").all()


def test_real_history_obeys_the_dwell_rule(real):
    sig = real[3]
    assert set(sig["regime"]) <= set(REGIMES)
    check_dwell(sig["regime"], sig["regime_raw"], DWELL, sig["capitulated"])


def test_reasons_are_readable(real, oracle_sig):
    for sig in (real[3], oracle_sig):
        reason = sig["reason"]
        assert reason.str.split(":").str[0].str.replace("[ORACLE] ", "").eq(sig["regime"]).all()
        bad = reason[reason.str.contains(r"\bNaT\b|\bnan\b")]
        assert bad.empty, f"{len(bad)} reasons show a missing value, e.g. {bad.index[0].date()}: {bad.iloc[0]}"


def test_oracle_mode_is_labelled_and_reads_the_calendar(real, oracle_sig):
    raw, _, _, sig = real
    assert sig.attrs["oracle"] is False and not sig["reason"].str.contains("ORACLE").any()
    assert oracle_sig.attrs["oracle"] is True
    assert oracle_sig["reason"].str.startswith("[ORACLE] ").all()
    # 2019-06-01 (a Saturday) is 60 days before the 2019-07-31 cut: the oracle knows it is coming
    assert oracle_sig.loc["2019-05-31", "cut_expected"] and oracle_sig.loc["2019-06-03", "cut_expected"]
    # ...and it is blind more than `oracle_lead_days` ahead of any cut (Mar 2019: next cut in July)
    assert not oracle_sig.loc["2019-03-01", "cut_expected"]
    # exactly the days with an actual cut decision within the lead
    cuts = rate_changes(target_series(raw["DFEDTAR"], raw["DFEDTARU"]))
    cuts = cuts.loc[cuts["change_bp"] < 0, "decision"]
    days = oracle_sig.index.to_series()
    lead = pd.Timedelta(days=CFG.regime.oracle_lead_days)
    expected = days.apply(lambda d: ((cuts >= d) & (cuts - d <= lead)).any())
    assert (oracle_sig["cut_expected"] == expected).all()


def test_default_mode_never_reads_the_cut_calendar(inputs, real, oracle_sig):
    raw, iwm, vix, sig = real
    fomc, bank = inputs[3], inputs[4]
    # move the 2019-07-31 cut three months later: the range stays 2.25-2.50 until 2019-10-30
    upper = raw["DFEDTARU"].copy()
    upper.loc["2019-08-01":"2019-10-30"] = 2.50
    moved = {**raw, "DFEDTARU": upper}
    default_moved, _ = indicator_frame(moved, iwm, vix, CFG.data, CFG.regime, fomc=fomc, bank=bank)
    oracle_moved, _ = indicator_frame(moved, iwm, vix, CFG.data, CFG.regime, oracle=True, fomc=fomc, bank=bank)
    pd.testing.assert_series_equal(default_moved["cut_expected"], sig["cut_expected"])
    assert oracle_sig.loc["2019-06-03", "cut_expected"] and not oracle_moved.loc["2019-06-03", "cut_expected"]


# --- synthetic scenarios: one per regime, and precedence -------------------------------------

CALM = dict(
    financial_stress=False,
    stress_alarm=False,
    cycle_state="on_hold",
    cuts_in_cycle=0,
    credit_widening=False,
    credit_damage=False,
    layoffs_rising=False,
    inflation_declining=False,
    cut_expected=False,
    iwm_drawdown_252d=-0.05,
    capitulation_event=False,
    intermeeting_cut=False,
    real_yields_ok=True,
    real_yield_change=0.0,
    iwm=100.0,
    iwm_drawdown_cycle=0.0,
    vix_peak_recent=15.0,
    capitulation_low=95.0,
    ted_spread=np.nan,
    bank_source="KRE",
    bank_move=0.0,
    stlfsi=-0.5,
    nfci=-0.4,
    vix=15.0,
    cycle_first_cut=pd.NaT,
    credit_spread=3.5,
    credit_source="HY OAS",
    credit_widening_pp=0.2,
    sahm=0.1,
    claims_rise=0.05,
    core_cpi_trend=0.1,
    two_year_gap=0.1,
    bill_gap=0.0,
)
SOFT = dict(inflation_declining=True, cut_expected=True, core_cpi_trend=-0.3, two_year_gap=-0.6, bill_gap=-0.2)
STRESS = dict(financial_stress=True, stress_alarm=True, stlfsi=3.0, nfci=0.9, vix=55.0)


def frame(n: int, **columns) -> pd.DataFrame:
    """`n` calm days; a keyword sets a column (a scalar for all days, or a list per day)."""
    data = {**CALM, **columns}
    index = pd.bdate_range("2030-01-01", periods=n, name="date")
    out = pd.DataFrame(
        {k: (list(v) if isinstance(v, (list, np.ndarray)) else [v] * n) for k, v in data.items()}, index=index
    )
    out["cycle_first_cut"] = pd.to_datetime(out["cycle_first_cut"])
    return out


def easing_from(n: int, cuts: dict[int, int], first_cut="2029-12-01") -> dict:
    """Columns of an easing cycle over `n` days: `cuts` maps day -> cuts made so far from that day."""
    count = np.zeros(n, dtype=int)
    for day, k in sorted(cuts.items()):
        count[day:] = k
    state = np.where(count > 0, "easing", "on_hold")
    first = [pd.Timestamp(first_cut) if k > 0 else pd.NaT for k in count]
    return dict(cycle_state=state, cuts_in_cycle=count, cycle_first_cut=first)


def called(f: pd.DataFrame, dwell: int = 1) -> pd.DataFrame:
    return classify(f, CFG.regime.replace(min_dwell_days=dwell))


def test_calm_days_are_neutral():
    out = called(frame(5))
    assert (out["regime"] == "neutral").all() and out["reason"].str.startswith("neutral: no easing in view").all()
    # falling inflation alone is not a soft landing: a cut must be in view
    assert (called(frame(5, inflation_declining=True))["regime"] == "neutral").all()


def test_soft_landing_by_pricing_or_by_an_early_cycle():
    priced = called(frame(5, **SOFT))
    assert (priced["regime"] == "soft_landing").all() and priced["reason"].str.contains("cut priced").all()
    cycle = called(frame(5, inflation_declining=True, **easing_from(5, {0: 1})))
    assert (cycle["regime"] == "soft_landing").all() and cycle["reason"].str.contains("easing since 2029-12-01").all()
    # each missing condition breaks it
    for spoil in (
        dict(inflation_declining=False),
        dict(layoffs_rising=True),
        dict(credit_damage=True),
        dict(credit_widening=True),
        dict(cut_expected=False),
    ):
        assert (called(frame(5, **{**SOFT, **spoil}))["regime"] != "soft_landing").all(), spoil


def test_recession_risk_from_credit_or_layoffs_beats_soft_landing():
    credit = called(frame(5, **SOFT, credit_widening=True, credit_widening_pp=1.8))
    assert (credit["regime"] == "recession_risk").all() and credit["reason"].str.contains("HY OAS widened").all()
    jobs = called(frame(5, **SOFT, layoffs_rising=True, sahm=0.6))
    assert (jobs["regime"] == "recession_risk").all() and jobs["reason"].str.contains("layoffs: Sahm 0.60").all()


def test_crisis_beats_everything_and_enters_at_once():
    everything = dict(
        **SOFT,
        credit_widening=True,
        credit_damage=True,
        layoffs_rising=True,
        iwm_drawdown_252d=-0.35,
        **easing_from(5, {0: 1}),
    )
    both = called(frame(5, **everything, **STRESS), dwell=DWELL)
    assert (both["regime"] == "crisis").all() and both["reason"].str.startswith("crisis: stress: STLFSI4 3.00").all()
    # one alarm day inside a calm stretch is called on that day even with the default dwell
    f = frame(30, **SOFT)
    f.iloc[20, [f.columns.get_loc(c) for c in STRESS]] = list(STRESS.values())
    out = called(f, dwell=DWELL)
    assert out["regime"].iat[20] == "crisis" and out["regime"].iat[19] == "soft_landing"
    assert (out["regime"].iloc[21:] == "crisis").all()  # and held: calm must last the dwell to be called again


def test_late_panic_beats_recession_risk_and_waits_for_capitulation():
    n = 60
    cols = easing_from(n, {5: 1, 15: 2})
    stress = np.zeros(n, dtype=bool)
    stress[30:33] = True
    vix = np.full(n, 30.0)
    vix[30:33] = 60.0  # a new high above the spike the first capitulation faded from: it failed
    event = np.zeros(n, dtype=bool)
    event[[20, 40]] = True
    f = frame(
        n,
        credit_damage=True,
        credit_spread=7.5,
        credit_widening=True,
        layoffs_rising=True,
        financial_stress=stress,
        stress_alarm=stress,
        capitulation_event=event,
        vix=vix,
        vix_peak_recent=np.where(np.arange(n) < 30, 45.0, 60.0),
        **cols,
    )
    out = called(f)
    late = out["late_cycle"].to_numpy()
    assert not late[:5].any() and late[5:].all()  # from the cut made while spreads showed damage
    regime = out["regime"].to_numpy()
    assert (regime[:5] == "recession_risk").all()
    assert (regime[5:30] == "late_panic").all() and (regime[30:33] == "crisis").all()
    assert (regime[33:] == "late_panic").all()
    cap = out["capitulated"].to_numpy()
    assert not cap[:20].any() and cap[20:30].all()  # only after the event
    assert not cap[30:40].any() and cap[40:].all()  # VIX above the spike's peak: failed, until the next event
    assert out["recession_evidence"].all()
    assert out["reason"].iat[10].endswith("awaiting capitulation")
    assert out["reason"].iat[25].endswith("capitulation seen (recession evidence)")


def test_a_capitulation_fails_on_a_new_low_and_can_end_a_crisis_at_once():
    n = 40
    cols = easing_from(n, {2: 1})
    stress = np.zeros(n, dtype=bool)
    stress[5:] = True  # the gauges stay in alarm or not yet calm all along
    event = np.zeros(n, dtype=bool)
    event[12] = True
    iwm = np.full(n, 100.0)
    iwm[25:] = 80.0  # below the low it rebounded from (90): the capitulation failed
    f = frame(
        n,
        credit_damage=True,
        financial_stress=stress,
        stress_alarm=stress,
        capitulation_event=event,
        iwm=iwm,
        capitulation_low=90.0,
        vix_peak_recent=50.0,
        vix=35.0,
        **cols,
    )
    out = called(f, dwell=DWELL)
    regime = out["regime"].to_numpy()
    assert (regime[5:12] == "crisis").all()
    assert (regime[12:25] == "late_panic").all() and out["capitulated"].to_numpy()[12:25].all()  # at once
    assert (regime[25:] == "crisis").all() and not out["capitulated"].to_numpy()[25:].any()
    # without capitulation_ends_crisis the wait lasts as long as the stress does
    kept = classify(f, CFG.regime.replace(min_dwell_days=DWELL, capitulation_ends_crisis=False))
    assert (kept["regime"].to_numpy()[5:] == "crisis").all() and not kept["capitulated"].any()


def test_an_intermeeting_cut_marks_the_cycle_late():
    n = 10
    f = frame(n, intermeeting_cut=[False] * 3 + [True] * 7, **easing_from(n, {0: 1, 3: 2}))
    assert called(f)["late_cycle"].to_numpy().tolist() == [False] * 3 + [True] * 7
    plain = classify(f, CFG.regime.replace(min_dwell_days=1, intermeeting_late=False))
    assert not plain["late_cycle"].any()


def test_a_soft_landing_needs_real_yields_not_rising():
    assert (called(frame(5, **SOFT))["regime"] == "soft_landing").all()
    assert (called(frame(5, **SOFT, real_yields_ok=False))["regime"] == "neutral").all()


def test_a_cut_before_the_damage_is_not_late_but_a_cut_after_it_is():
    n = 30
    damage = np.zeros(n, dtype=bool)
    damage[10:] = True
    f = frame(n, credit_damage=damage, **easing_from(n, {0: 1, 20: 2}))
    late = called(f)["late_cycle"].to_numpy()
    assert not late[:20].any() and late[20:].all()
    # small caps in a bear market when the Fed cuts count as damage too
    dd = frame(10, iwm_drawdown_252d=-0.25, **easing_from(10, {3: 1}))
    assert called(dd)["late_cycle"].to_numpy().tolist() == [False] * 3 + [True] * 7
    # the late cycle ends with the cycle, and capitulation with it
    ends = easing_from(20, {2: 1})
    ends["cycle_state"][12:] = "on_hold"
    event = np.zeros(20, dtype=bool)
    event[6] = True
    out = called(frame(20, credit_damage=True, capitulation_event=event, **ends))
    assert out["late_cycle"].to_numpy()[2:12].all() and not out["late_cycle"].to_numpy()[12:].any()
    assert out["capitulated"].to_numpy()[6:12].all() and not out["capitulated"].to_numpy()[12:].any()


# --- hysteresis ------------------------------------------------------------------------------

CONDITIONS = {"neutral": {}, "soft_landing": SOFT, "recession_risk": dict(layoffs_rising=True), "crisis": STRESS}


def frame_of(days: list[str]) -> pd.DataFrame:
    f = frame(len(days))
    for name, cols in CONDITIONS.items():
        rows = np.array(days) == name
        for col, value in cols.items():
            f.loc[rows, col] = value
    return f


def test_flicker_shorter_than_the_dwell_is_not_called():
    pattern = ["soft_landing"] * 3 + ["neutral"] * 4 + ["soft_landing"] * 2 + ["neutral"] * 5
    days = ["neutral"] * DWELL + pattern * 20 + ["soft_landing"] * (DWELL + 5)
    out = called(frame_of(days), dwell=DWELL)
    raw_changes = (out["regime_raw"] != out["regime_raw"].shift()).sum() - 1
    changes = (out["regime"] != out["regime"].shift()).sum() - 1
    assert raw_changes > 70 and changes == 1
    assert out["regime"].iat[-1] == "soft_landing" and out["regime"].iat[-6] == "soft_landing"
    assert out["regime"].iat[-7] == "neutral"  # called on the dwell-th day of the lasting run
    check_dwell(out["regime"], out["regime_raw"], DWELL)


segment = st.tuples(st.sampled_from(sorted(CONDITIONS)), st.integers(1, DWELL - 1)) | st.tuples(
    st.sampled_from(["neutral", "soft_landing", "recession_risk"]), st.integers(DWELL, 3 * DWELL)
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(segment, min_size=2, max_size=30), st.integers(2, 15))
def test_hysteresis_on_noisy_conditions(segments, dwell):
    days = [name for name, length in segments for _ in range(length)]
    out = called(frame_of(days), dwell=dwell)
    assert (out["regime_raw"].to_numpy() == np.array(days)).all()
    check_dwell(out["regime"], out["regime_raw"], dwell)
    raw_changes = (out["regime_raw"] != out["regime_raw"].shift()).sum()
    assert (out["regime"] != out["regime"].shift()).sum() <= raw_changes


# --- plot ------------------------------------------------------------------------------------


def test_plot_writes_a_png(real, oracle_sig, tmp_path):
    import matplotlib.image as mpimg

    from fedcut.plots.kit import plot_regimes

    raw, iwm, _, sig = real
    cycles = easing_cycles(rate_changes(target_series(raw["DFEDTAR"], raw["DFEDTARU"])))
    cuts = list(cycles.loc[cycles["decision"] >= "1995-01-01", "decision"])
    assert [c.year for c in cuts][:6] == [1995, 1998, 2001, 2007, 2019, 2024]
    for name, frame_, oracle in (("default.png", sig, False), ("oracle.png", oracle_sig, True)):
        path = plot_regimes(frame_, iwm, cuts, tmp_path / name, oracle)
        assert path.stat().st_size > 10_000
        image = mpimg.imread(path)
        assert image.ndim == 3 and image.shape[1] > 1.8 * image.shape[0] > 600


def test_the_state_machine_picture_states_the_thresholds_the_rules_use():
    """signals.diagram reads its labels' thresholds from the regime parameters: changed ones show."""
    from fedcut.plots.diagram import edges

    changed = resolve(
        {
            "regime.vix_crisis": 45.0,
            "regime.bank_stress_drop": 0.2,
            "regime.ted_crisis": 2.0,
            "regime.iwm_damage_drawdown": -0.3,
            "regime.capitulation_damage": 0.35,
            "regime.capitulation_vix_peak": 30.0,
            "regime.capitulation_rebound": 0.15,
        }
    ).regime
    text = " ".join(label for _, _, label, _, _ in edges(changed))
    for shown in (
        "VIX >= 45",
        "banks vs SPY -20%",
        "TED >= 2",
        "IWM -30%",
        "damage (-35%",
        "spike >= 30",
        "IWM +15% off",
    ):
        assert shown in text, shown
    default = " ".join(label for _, _, label, _, _ in edges(resolve({}).regime))
    assert "VIX >= 40" in default and "VIX >= 45" not in default
