"""The daily regime: which of the strategy's playbook situations holds, and why.

The state machine (docs/state_machine.png, drawn by `signals.diagram`), evaluated at each day's close on what was known:

1. A stress alarm (VIX, bank ETFs against SPY, the TED spread while it exists, STLFSI4 and NFCI
   once published) puts the day in **crisis** at once; crisis lasts until every gauge is calm.
2. An easing cycle is **late** from a cut made after the damage: credit spreads at damage levels,
   small caps down `iwm_damage_drawdown` from their 252-day high, financial stress, or a cut
   between FOMC meetings (`intermeeting_late`). A late cycle is **late_panic**: the strategy waits
   in defensives for the post-cut capitulation.
3. A **capitulation** needs damage first (small caps `capitulation_damage` below their high since
   the cycle began), a VIX spike of at least `capitulation_vix_peak` that has faded by
   `capitulation_vix_fade`, and small caps `capitulation_rebound` above their low since the
   spike. It holds while the cycle is late, until it fails: VIX above the spike's peak or small
   caps below that low. With `capitulation_ends_crisis` it ends a crisis-driven wait at once,
   even while the gauges are still fading (else crisis outranks it).
4. Otherwise **recession_risk** (credit widening or layoffs rising), **soft_landing** (inflation
   declining, no layoff or credit warning, real yields not rising, and a cut priced by markets or
   an easing cycle under way that is not late) or **neutral**.

A new regime must hold `regime.min_dwell_days` trading days before it is called, except a crisis
and a capitulation's re-entry, which are called at once. A capitulation seen while layoffs
rise or credit widens carries `recession_evidence`; the playbook (`strategies.targets`) acts on
it as `strategy.capitulation_in_recession` says (bought bare by default, with puts, or not yet).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from fedcut.core.jit import jit
from fedcut.data.catalog import REGIME_SERIES
from fedcut.data.cuts import policy_record
from fedcut.signals import indicators as ind
from fedcut.signals.memo import Memo, direct
from fedcut.signals.thresholds import RULE

REGIMES = ("crisis", "late_panic", "recession_risk", "soft_landing", "neutral")
ORACLE_LABEL = "ORACLE MODE: regimes use the actual cut calendar (future information)"


def load_raw(source, series: tuple[str, ...] = REGIME_SERIES) -> dict[str, pd.Series]:
    """The macro series the rules read (`data.catalog.REGIME_SERIES`, and the long history's
    fallbacks `LONG_SERIES` when asked), each as its file holds it."""
    return {sid: source.macro(sid) for sid in series}


def indicator_frame(
    raw: dict[str, pd.Series],
    iwm: pd.Series,
    vix: pd.Series,
    data_params,
    regime,
    oracle: bool = False,
    *,
    fomc: pd.DataFrame,
    bank: pd.DataFrame,
    view: pd.DataFrame | None = None,
    changes: pd.DataFrame | None = None,
    memo: Memo | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """All indicators on IWM's trading days, and the as-of view they came from. `view` (the raw
    and derived series' as-of views side by side, `indicators.macro_view`) and `changes`
    (`indicators.labelled_changes` of the policy record; by default the target's) are taken as
    given when the caller already has them: a sweep of regime settings reuses them for every
    setting with the same data and windows, and with a `memo` (`signals.memo`) each group's
    result for every setting that leaves the parameters it read unchanged."""
    days = iwm.index
    view = ind.macro_view(raw, days, data_params, regime) if view is None else view
    if changes is None:
        changes = ind.labelled_changes(policy_record(raw["DFEDTAR"], raw["DFEDTARU"], data_params), fomc)
    call = direct if memo is None else memo
    pol = call(ind.policy, changes, view, fomc, regime, data_params)
    cut_expected = ind.oracle_cut_expected(changes, days, regime) if oracle else pol["cut_priced"]
    frame = pd.concat(
        [
            pol.assign(cut_expected=cut_expected.to_numpy()),
            call(ind.inflation, view),
            call(ind.labour, call(ind.labour_levels, view, data_params), regime),
            call(ind.credit, call(ind.credit_levels, view, data_params), regime, data_params),
            call(ind.stress, call(ind.stress_levels, view, vix, bank, regime), regime),
            call(ind.real_yield, view, regime, data_params),
            call(ind.market, call(ind.market_levels, iwm, vix, pol, regime), vix, regime),
        ],
        axis=1,
    )
    return frame, view


def _late_cycle(frame: pd.DataFrame, regime, easing: np.ndarray) -> np.ndarray:
    """True from a cycle's first cut made after the damage, until the cycle ends (`easing`: the
    days of an easing cycle)."""
    damage = (
        frame["credit_damage"].to_numpy()
        | RULE["iwm_drawdown"].check(frame["iwm_drawdown_252d"], regime)
        | frame["financial_stress"].to_numpy()
    )
    if regime.intermeeting_late:
        damage = damage | frame["intermeeting_cut"].to_numpy()
    return _late_days(easing, frame["cuts_in_cycle"].to_numpy(), damage)


@jit
def _late_days(easing: np.ndarray, cuts: np.ndarray, damage: np.ndarray) -> np.ndarray:
    """Per day, whether its easing cycle is late: a new cut on a day of damage, or late the day before."""
    late = np.zeros(len(easing), dtype=np.bool_)
    for i in range(len(easing)):
        if not easing[i]:
            continue
        new_cut = cuts[i] > (cuts[i - 1] if i > 0 and easing[i - 1] else 0)
        late[i] = (i > 0 and late[i - 1] and easing[i - 1]) or (new_cut and damage[i])
    return late


def _capitulated(late: np.ndarray, frame: pd.DataFrame) -> pd.DataFrame:
    """A capitulation seen in this late cycle that has not failed since: VIX back above the spike's
    peak, or small caps below the low they rebounded from. Besides the flag, while one holds, the
    day it was seen and the two levels at which it fails (NaN/NaT otherwise)."""
    out, fail_vix, fail_iwm, seen = _capitulation_days(
        late,
        frame["capitulation_event"].to_numpy(),
        frame["vix"].to_numpy(),
        frame["iwm"].to_numpy(),
        frame["vix_peak_recent"].to_numpy(),
        frame["capitulation_low"].to_numpy(),
    )
    seen_on = pd.Series(frame.index[np.maximum(seen, 0)], index=frame.index).where(seen >= 0)
    return pd.DataFrame(
        {
            "capitulated": out,
            "capitulation_seen": seen_on,
            "capitulation_fail_vix": fail_vix,
            "capitulation_fail_iwm": fail_iwm,
        },
        index=frame.index,
    )


@jit
def _capitulation_days(late, event, vix, iwm, peak, low):
    """`_capitulated`'s walk over the days: the flag, the two failure levels and the day seen."""
    n = len(late)
    out = np.zeros(n, dtype=np.bool_)
    fail_vix, fail_iwm = np.full(n, np.nan), np.full(n, np.nan)
    seen = np.full(n, -1, dtype=np.int64)
    on, ref_peak, ref_low, ref_day = False, 0.0, 0.0, -1
    for i in range(n):
        if not late[i]:
            on = False
            continue
        if on and (vix[i] > ref_peak or iwm[i] < ref_low):
            on = False
        if not on and event[i]:
            on, ref_peak, ref_low, ref_day = True, peak[i], low[i], i
        if on:
            out[i], fail_vix[i], fail_iwm[i], seen[i] = True, ref_peak, ref_low, ref_day
    return out, fail_vix, fail_iwm, seen


@jit
def _dwell(raw: np.ndarray, immediate: np.ndarray, min_dwell: int) -> np.ndarray:
    """Switch to a new regime (a code) only after it held `min_dwell` days, except where `immediate`."""
    out = raw.copy()
    current, candidate, count = raw[0], -1, 0
    for i in range(len(raw)):
        r = raw[i]
        if r == current:
            candidate, count = -1, 0
        elif immediate[i] or min_dwell <= 1:
            current, candidate, count = r, -1, 0
        else:
            count = count + 1 if r == candidate else 1
            candidate = r
            if count >= min_dwell:
                current, candidate, count = r, -1, 0
        out[i] = current
    return out


def classify(frame: pd.DataFrame, regime, reasons: bool = True) -> pd.DataFrame:
    """Regime (called), regime_raw, the late-cycle, capitulation and recession-evidence flags and
    (unless `reasons` is False) a readable reason per day."""
    stress = frame["financial_stress"].to_numpy()
    easing = (frame["cycle_state"] == "easing").to_numpy()
    late = _late_cycle(frame, regime, easing)
    capitulation = _capitulated(late, frame)
    capitulated = capitulation["capitulated"].to_numpy()
    widening = frame["credit_widening"].to_numpy()
    credit_ok = ~(widening | frame["credit_damage"].to_numpy())
    jobs_ok = ~frame["layoffs_rising"].to_numpy()
    recession = widening | ~jobs_ok
    cut_in_view = frame["cut_expected"].to_numpy() | (easing & ~late)
    soft = (
        frame["inflation_declining"].to_numpy() & jobs_ok & credit_ok & cut_in_view & frame["real_yields_ok"].to_numpy()
    )
    reentry = late & capitulated & bool(regime.capitulation_ends_crisis)
    # Each day's regime as its place in REGIMES (crisis 0, late_panic 1, ..., neutral 4).
    codes = np.select([reentry, stress, late, recession, soft], [1, 0, 1, 2, 3], default=4)
    names = np.array(REGIMES, dtype=object)
    raw, called = names[codes], names[_dwell(codes, (codes == 0) | reentry, regime.min_dwell_days)]
    out = pd.DataFrame(
        {
            "regime": called,
            "regime_raw": raw,
            "late_cycle": late,
            "capitulated": capitulated & (called == "late_panic"),
            "recession_evidence": recession,
        },
        index=frame.index,
    )
    out = pd.concat([out, capitulation.drop(columns="capitulated")], axis=1)  # the levels it fails at
    if reasons:
        out["reason"] = _reasons(frame, out)
    return out


def _reasons(f: pd.DataFrame, out: pd.DataFrame) -> list[str]:
    """One readable line per day (plain loops over arrays: a few tens of milliseconds)."""
    col = {
        c: f[c].tolist()
        for c in (
            "stlfsi",
            "nfci",
            "vix",
            "ted_spread",
            "bank_source",
            "bank_move",
            "cycle_first_cut",
            "credit_spread",
            "credit_source",
            "credit_widening_pp",
            "credit_widening",
            "layoffs_rising",
            "sahm",
            "claims_rise",
            "core_cpi_trend",
            "two_year_gap",
            "bill_gap",
            "cut_expected",
            "cycle_state",
            "iwm_drawdown_cycle",
            "intermeeting_cut",
            "real_yield_change",
        )
    }
    regime, raw = out["regime"].tolist(), out["regime_raw"].tolist()
    capitulated, evidence = out["capitulated"].tolist(), out["recession_evidence"].tolist()
    text = []
    for i, r in enumerate(regime):
        g = {k: v[i] for k, v in col.items()}
        if r == "crisis":
            gauges = [
                f"{name} {g[key]:.2f}"
                for name, key in (("STLFSI4", "stlfsi"), ("NFCI", "nfci"), ("TED", "ted_spread"))
                if g[key] == g[key]
            ]
            if g["bank_move"] == g["bank_move"]:
                gauges.append(f"{g['bank_source']} vs SPY {g['bank_move']:+.0%}")
            why = "stress: " + ", ".join(gauges + [f"VIX {g['vix']:.1f}"])
        elif r == "late_panic":
            how = "intermeeting cut, " if g["intermeeting_cut"] else ""
            fall = (
                f", IWM {g['iwm_drawdown_cycle']:+.0%} from the cycle's high"
                if g["iwm_drawdown_cycle"] == g["iwm_drawdown_cycle"]
                else ""
            )
            why = (
                f"late cut: {_since(g['cycle_first_cut'], 'cycle from')} ({how}spread {g['credit_spread']:.2f}{fall}); "
            )
            if capitulated[i]:
                # The regime names the evidence; strategy.capitulation_in_recession decides what it means.
                why += "capitulation seen" + (" (recession evidence)" if evidence[i] else "")
            else:
                why += "awaiting capitulation"
        elif r == "recession_risk":
            parts = []
            if g["credit_widening"]:
                parts.append(f"{g['credit_source']} widened {g['credit_widening_pp']:+.2f}pp")
            if g["layoffs_rising"]:
                parts.append(f"layoffs: Sahm {g['sahm']:.2f}, claims {g['claims_rise']:+.0%} vs 52w low")
            why = "; ".join(parts) or "held by dwell"
        elif r == "soft_landing":
            why = (
                f"core CPI trend {g['core_cpi_trend']:+.2f}pp, Sahm {g['sahm']:.2f}, {g['credit_source']} "
                f"{g['credit_spread']:.2f}, real yield {g['real_yield_change']:+.2f}pp; "
                + (
                    f"cut priced: 2y {g['two_year_gap']:+.2f}, 3m {g['bill_gap']:+.2f} vs funds"
                    if g["cut_expected"]
                    else f"easing {_since(g['cycle_first_cut'])}"
                )
            )
        else:
            why = f"no easing in view (cycle {g['cycle_state']}, 2y {g['two_year_gap']:+.2f} vs funds)"
        if raw[i] != r:
            why += f" [raw {raw[i]}, held by dwell]"
        text.append(f"{r}: {why}")
    return text


def _since(first_cut, word: str = "since") -> str:
    """The cycle's first cut; a regime held by dwell can outlast its cycle (then there is none)."""
    return f"{word} {first_cut.date()}" if pd.notna(first_cut) else "cycle ended"


def regime_frame(
    raw: dict[str, pd.Series],
    iwm: pd.Series,
    vix: pd.Series,
    data_params,
    regime,
    oracle: bool = False,
    reasons: bool = True,
    *,
    fomc: pd.DataFrame,
    bank: pd.DataFrame,
    view: pd.DataFrame | None = None,
    changes: pd.DataFrame | None = None,
    memo: Memo | None = None,
) -> pd.DataFrame:
    """The daily signal frame: date index, `regime`, `reason`, flags, every indicator and the
    as-of date of each input (`<ID>_obs`); `view`, `changes` and `memo` as `indicator_frame` takes them."""
    frame, view = indicator_frame(
        raw, iwm, vix, data_params, regime, oracle, fomc=fomc, bank=bank, view=view, changes=changes, memo=memo
    )
    called = classify(frame, regime, reasons)
    obs = view[[c for c in view.columns if c.endswith("_obs") and ":" not in c]]
    out = pd.concat([called, frame, obs], axis=1)
    out.attrs["oracle"] = oracle
    if oracle and reasons:
        out["reason"] = "[ORACLE] " + out["reason"]
    return out
