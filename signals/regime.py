"""The daily regime: which of the strategy's playbook situations holds, and why.

Precedence when several hold (first wins):
1. crisis          financial-system stress (STLFSI4, NFCI or VIX alarm; ends only when calm)
2. late_panic      an easing cycle in which a cut came after the damage (credit spreads at
                   damage levels, small caps down 20% from their high, or financial stress); the
                   strategy waits for the capitulation signal, then buys
3. recession_risk  credit spreads widening or layoffs rising
4. soft_landing    inflation declining, employment resilient, no credit stress, and a cut
                   priced by markets (or an easing cycle under way that is not late)
5. neutral         none of the above

A new regime must hold `regime.min_dwell_days` trading days before it is called, except
crisis, which is called at once.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from fedcut.data.catalog import REGIME_SERIES
from fedcut.signals import indicators as ind

REGIMES = ("crisis", "late_panic", "recession_risk", "soft_landing", "neutral")
ORACLE_LABEL = "ORACLE MODE: regimes use the actual cut calendar (future information)"


def load_raw(source) -> dict[str, pd.Series]:
    return {sid: source.macro(sid) for sid in REGIME_SERIES}


def indicator_frame(raw: dict[str, pd.Series], iwm: pd.Series, vix: pd.Series, data_params, regime,
                    oracle: bool = False) -> tuple[pd.DataFrame, pd.DataFrame]:
    """All indicators on IWM's trading days, and the as-of view they came from."""
    days = iwm.index
    view = ind.macro_view(raw, days, data_params, regime)
    pol = ind.policy(raw, view, regime)
    cut_expected = ind.oracle_cut_expected(raw, days, regime) if oracle else pol["cut_priced"]
    frame = pd.concat([
        pol.assign(cut_expected=cut_expected.to_numpy()),
        ind.inflation(view), ind.labour(view, regime), ind.credit(view, regime),
        ind.stress(view, vix, regime), ind.real_yield(view), ind.market(iwm, vix, regime),
    ], axis=1)
    return frame, view


def _late_cycle(frame: pd.DataFrame, regime) -> np.ndarray:
    """True from the first cut of a cycle made after the damage, until the cycle ends."""
    damage = (frame["credit_damage"].to_numpy()
              | (frame["iwm_drawdown_252d"] <= regime.iwm_damage_drawdown).to_numpy()
              | frame["financial_stress"].to_numpy())
    easing = (frame["cycle_state"] == "easing").to_numpy()
    cuts = frame["cuts_in_cycle"].to_numpy()
    late = np.zeros(len(frame), dtype=bool)
    for i in range(len(frame)):
        if not easing[i]:
            continue
        new_cut = cuts[i] > (cuts[i - 1] if i > 0 and easing[i - 1] else 0)
        late[i] = (i > 0 and late[i - 1] and easing[i - 1]) or (new_cut and damage[i])
    return late


def _capitulated(late: np.ndarray, alarm: np.ndarray, event: np.ndarray) -> np.ndarray:
    """A capitulation event seen in this late cycle after the latest stress alarm."""
    out = np.zeros(len(late), dtype=bool)
    for i in range(len(late)):
        carried = i > 0 and out[i - 1] and late[i - 1]
        out[i] = late[i] and not alarm[i] and (carried or event[i])
    return out


def _dwell(raw: np.ndarray, min_dwell: int) -> np.ndarray:
    """Switch to a new regime only after it held `min_dwell` days; crisis switches at once."""
    out = raw.copy()
    current, candidate, count = raw[0], None, 0
    for i in range(len(raw)):
        r = raw[i]
        if r == current:
            candidate, count = None, 0
        elif r == "crisis" or min_dwell <= 1:
            current, candidate, count = r, None, 0
        else:
            count = count + 1 if r == candidate else 1
            candidate = r
            if count >= min_dwell:
                current, candidate, count = r, None, 0
        out[i] = current
    return out


def classify(frame: pd.DataFrame, regime, reasons: bool = True) -> pd.DataFrame:
    """Regime, capitulation flag and (unless `reasons` is False) a readable reason per day."""
    stress = frame["financial_stress"].to_numpy()
    late = _late_cycle(frame, regime)
    credit_ok = ~(frame["credit_widening"].to_numpy() | frame["credit_damage"].to_numpy())
    jobs_ok = ~frame["layoffs_rising"].to_numpy()
    recession = ~credit_ok & frame["credit_widening"].to_numpy() | ~jobs_ok
    easing = (frame["cycle_state"] == "easing").to_numpy()
    cut_in_view = frame["cut_expected"].to_numpy() | (easing & ~late)
    soft = frame["inflation_declining"].to_numpy() & jobs_ok & credit_ok & cut_in_view
    raw = np.select([stress, late, recession, soft], list(REGIMES[:4]), default="neutral").astype(object)
    called = _dwell(raw, regime.min_dwell_days)
    capitulated = _capitulated(late, frame["stress_alarm"].to_numpy(), frame["capitulation_event"].to_numpy())
    out = pd.DataFrame({"regime": called, "regime_raw": raw, "late_cycle": late,
                        "capitulated": capitulated}, index=frame.index)
    if reasons:
        out["reason"] = _reasons(frame, out, regime)
    return out


def _reasons(frame: pd.DataFrame, out: pd.DataFrame, regime) -> list[str]:
    f = frame
    text = []
    for i, (day, row) in enumerate(f.iterrows()):
        r = out["regime"].iat[i]
        if r == "crisis":
            gauges = [f"{name} {value:.2f}" for name, value in (("STLFSI4", row.stlfsi), ("NFCI", row.nfci))
                      if pd.notna(value)]  # missing before they were first published
            why = "stress: " + ", ".join(gauges + [f"VIX {row.vix:.1f}"])
        elif r == "late_panic":
            why = (f"late cut: {_since(row.cycle_first_cut, 'cycle from')} with damage (spread {row.credit_spread:.2f}, "
                   f"IWM {row.iwm_drawdown_252d:+.0%} from high); "
                   + ("capitulation seen: buy" if out["capitulated"].iat[i] else "awaiting capitulation"))
        elif r == "recession_risk":
            parts = []
            if row.credit_widening:
                parts.append(f"{row.credit_source} widened {row.credit_widening_pp:+.2f}pp")
            if row.layoffs_rising:
                parts.append(f"layoffs: Sahm {row.sahm:.2f}, claims {row.claims_rise:+.0%} vs 52w low")
            why = "; ".join(parts) or "held by dwell"
        elif r == "soft_landing":
            why = (f"core CPI trend {row.core_cpi_trend:+.2f}pp, Sahm {row.sahm:.2f}, {row.credit_source} "
                   f"{row.credit_spread:.2f}; " + ("cut priced: 2y {:+.2f}, 3m {:+.2f} vs funds".format(
                       row.two_year_gap, row.bill_gap) if row.cut_expected else f"easing {_since(row.cycle_first_cut)}"))
        else:
            why = f"no easing in view (cycle {row.cycle_state}, 2y {row.two_year_gap:+.2f} vs funds)"
        if out["regime_raw"].iat[i] != r:
            why += f" [raw {out['regime_raw'].iat[i]}, held by dwell]"
        text.append(f"{r}: {why}")
    return text


def _since(first_cut, word: str = "since") -> str:
    """The cycle's first cut; a regime held by dwell can outlast its cycle (then there is none)."""
    return f"{word} {first_cut.date()}" if pd.notna(first_cut) else "cycle ended"


def regime_frame(raw: dict[str, pd.Series], iwm: pd.Series, vix: pd.Series, data_params, regime,
                 oracle: bool = False, reasons: bool = True) -> pd.DataFrame:
    """The daily signal frame: date index, `regime`, `reason`, flags, every indicator and the
    as-of date of each input (`<ID>_obs`)."""
    frame, view = indicator_frame(raw, iwm, vix, data_params, regime, oracle)
    called = classify(frame, regime, reasons)
    obs = view[[c for c in view.columns if c.endswith("_obs") and ":" not in c]]
    out = pd.concat([called, frame, obs], axis=1)
    out.attrs["oracle"] = oracle
    if oracle and reasons:
        out["reason"] = "[ORACLE] " + out["reason"]
    return out
