"""Macro and market indicators, each a small pure function of what was known on each day.

Monthly and weekly transforms (CPI y/y, claims' 4-week average, spread widening) are computed
on the series' own observation dates and then published with the parent series' lag, so a
derived value is never known before the newest observation it uses.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from fedcut.data.asof import asof_frame
from fedcut.data.cuts import rate_changes, target_series


def derived_series(raw: dict[str, pd.Series], regime) -> dict[str, pd.Series]:
    """Transforms on observation dates; named `<PARENT>:<what>` so they inherit the parent's lag."""
    cpi, core = raw["CPIAUCSL"], raw["CPILFESL"]
    cpi_yoy = (cpi / cpi.shift(12, freq="MS").reindex(cpi.index) - 1) * 100
    core_yoy = (core / core.shift(12, freq="MS").reindex(core.index) - 1) * 100
    months = regime.inflation_trend_months
    claims_4w = raw["ICSA"].rolling(4).mean()
    claims_low = claims_4w.rolling(52, min_periods=26).min()
    unrate = raw["UNRATE"]
    window = regime.credit_window_days
    hy, baa = raw["BAMLH0A0HYM2"], raw["BAA10Y"]
    tips = raw["DFII10"]
    out = {
        "CPIAUCSL:yoy": cpi_yoy,
        "CPILFESL:yoy": core_yoy,
        "CPILFESL:yoy_change": core_yoy - core_yoy.shift(months, freq="MS").reindex(core_yoy.index),
        "CPIAUCSL:yoy_change_3m": cpi_yoy - cpi_yoy.shift(3, freq="MS").reindex(cpi_yoy.index),
        "ICSA:avg4w": claims_4w,
        "ICSA:rise": claims_4w / claims_low - 1,
        "UNRATE:rise_12m": unrate - unrate.rolling(12, min_periods=12).min(),
        "BAMLH0A0HYM2:widening": hy - hy.rolling(window, min_periods=window // 2).min(),
        "BAA10Y:widening": baa - baa.rolling(window, min_periods=window // 2).min(),
        "DFII10:change_3m": tips - tips.shift(63),
    }
    return {k: v.dropna().rename(k) for k, v in out.items()}


def macro_view(raw: dict[str, pd.Series], days: pd.DatetimeIndex, data_params, regime) -> pd.DataFrame:
    """The as-of view of every raw and derived macro series on each trading day."""
    series = {k: v for k, v in raw.items()}
    series.update(derived_series(raw, regime))
    return asof_frame(series, days, data_params)


def policy(raw: dict[str, pd.Series], view: pd.DataFrame, regime) -> pd.DataFrame:
    """Cycle state, days since the first cut, cut sizes, and whether markets price a cut."""
    days = view.index
    changes = rate_changes(target_series(raw["DFEDTAR"], raw["DFEDTARU"]))
    known = changes["effective"].to_numpy()  # FRED's date is on or after the decision: never early
    pos = np.searchsorted(known, days.to_numpy(), side="right") - 1
    # A last placeholder change stands in on days before any change is known (masked by `seen`).
    bp = np.append(changes["change_bp"].to_numpy(), 0)
    dec = np.append(changes["decision"].to_numpy(), np.datetime64("NaT"))
    gap = np.append(changes["days_since_previous"].to_numpy(), np.nan)
    run_start, big_run, rapid_run = _cut_runs(bp, gap, regime.rapid_cut_days)
    seen = pos >= 0
    j = np.where(seen, pos, len(bp) - 1)
    age = days.to_numpy() - dec[j]  # time since the latest change known that day
    recent = seen & (age <= np.timedelta64(regime.easing_hold_days, "D"))
    hike = bp[j] > 0
    easing = recent & ~hike
    k = run_start[j]
    state = np.where(easing, "easing", np.where(recent & hike, "tightening", "on_hold")).astype(object)
    first_cut = np.where(easing, dec[k], np.datetime64("NaT")).astype("datetime64[ns]")
    cuts_in_cycle = np.where(easing, j - k + 1, 0)
    big_cut = easing & big_run[j]
    rapid_cut = easing & rapid_run[j]
    last_change = np.where(seen, bp[j], 0).astype(float)
    ff = view["DFF"]
    two_year_gap = view["DGS2"] - ff
    bill_gap = view["DGS3MO"] - ff
    priced = (two_year_gap <= -regime.two_year_gap) & (bill_gap <= -regime.bill_gap) & (ff >= regime.zero_bound)
    first = pd.DatetimeIndex(first_cut)
    return pd.DataFrame({
        "cycle_state": state,
        "cycle_first_cut": first,
        "days_since_first_cut": (days - first).days.astype(float),
        "cuts_in_cycle": cuts_in_cycle,
        "last_change_bp": last_change,
        "big_cut_in_cycle": big_cut,
        "rapid_cut_in_cycle": rapid_cut,
        "fed_funds": ff,
        "two_year_gap": two_year_gap,
        "bill_gap": bill_gap,
        "cut_priced": priced.to_numpy(),
    }, index=days)


def _cut_runs(bp: np.ndarray, gap: np.ndarray, rapid_days: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per change: where its run of consecutive cuts began, and whether that run so far held a cut
    of 50 bp or more, or a cut within `rapid_days` of the change before (one pass over the changes,
    so the cost grows with their number, never with its square)."""
    n = len(bp)
    start = np.arange(n)
    big = bp <= -50
    rapid = np.zeros(n, dtype=bool)
    for m in range(1, n):
        if bp[m - 1] < 0:  # the previous change was a cut: the same run continues
            start[m] = start[m - 1]
            big[m] = big[m] or big[m - 1]
            rapid[m] = rapid[m - 1] or (gap[m] <= rapid_days and bp[m] < 0)
    return start, big, rapid


def oracle_cut_expected(raw: dict[str, pd.Series], days: pd.DatetimeIndex, regime) -> pd.Series:
    """FUTURE INFORMATION: True when an actual cut comes within `oracle_lead_days`. Oracle mode only."""
    changes = rate_changes(target_series(raw["DFEDTAR"], raw["DFEDTARU"]))
    cuts = changes.loc[changes["change_bp"] < 0, "decision"].to_numpy()
    nxt = np.searchsorted(cuts, days.to_numpy(), side="left")
    ahead = np.where(nxt < len(cuts), cuts[np.minimum(nxt, len(cuts) - 1)] - days.to_numpy(), np.timedelta64(10**6, "D"))
    return pd.Series(ahead <= np.timedelta64(regime.oracle_lead_days, "D"), index=days, name="cut_expected_oracle")


def inflation(view: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({
        "cpi_yoy": view["CPIAUCSL:yoy"],
        "core_cpi_yoy": view["CPILFESL:yoy"],
        "core_cpi_trend": view["CPILFESL:yoy_change"],
        "cpi_trend_3m": view["CPIAUCSL:yoy_change_3m"],
        "inflation_declining": (view["CPILFESL:yoy_change"] < 0) | (view["CPIAUCSL:yoy_change_3m"] < 0),
    })


def labour(view: pd.DataFrame, regime) -> pd.DataFrame:
    sahm, rise = view["SAHMREALTIME"], view["ICSA:rise"]
    return pd.DataFrame({
        "unemployment": view["UNRATE"],
        "unemployment_rise_12m": view["UNRATE:rise_12m"],
        "sahm": sahm,
        "claims_4w": view["ICSA:avg4w"],
        "claims_rise": rise,
        "layoffs_rising": (sahm >= regime.sahm_warning) | (rise >= regime.claims_rise),
    })


def credit(view: pd.DataFrame, regime) -> pd.DataFrame:
    """HY OAS where it exists (from 1997), the BAA-10y spread before."""
    has_hy = view["BAMLH0A0HYM2"].notna()
    widening = np.where(has_hy, view["BAMLH0A0HYM2:widening"] >= regime.hy_widening,
                        view["BAA10Y:widening"] >= regime.baa_widening)
    damage = np.where(has_hy, view["BAMLH0A0HYM2"] >= regime.hy_damage, view["BAA10Y"] >= regime.baa_damage)
    return pd.DataFrame({
        "credit_source": np.where(has_hy, "HY OAS", "BAA-10y"),
        "credit_spread": view["BAMLH0A0HYM2"].where(has_hy, view["BAA10Y"]),
        "credit_widening_pp": view["BAMLH0A0HYM2:widening"].where(has_hy, view["BAA10Y:widening"]),
        "credit_widening": widening,
        "credit_damage": damage,
    }, index=view.index)


def stress(view: pd.DataFrame, vix: pd.Series, regime) -> pd.DataFrame:
    """Financial-system stress with hysteresis: enters on any alarm, ends only when all are calm."""
    stl, nfci = view["STLFSI4"], view["NFCI"]
    alarm = ((stl >= regime.stlfsi_crisis) | (nfci >= regime.nfci_crisis) | (vix >= regime.vix_crisis)).to_numpy()
    calm = ((stl.fillna(-np.inf) < regime.stlfsi_calm) & (vix < regime.vix_calm)).to_numpy()
    on = np.zeros(len(alarm), dtype=bool)
    for i in range(len(alarm)):
        on[i] = alarm[i] or (i > 0 and on[i - 1] and not calm[i])
    return pd.DataFrame({"stlfsi": stl, "nfci": nfci, "vix": vix, "stress_alarm": alarm,
                         "financial_stress": on}, index=view.index)


def real_yield(view: pd.DataFrame) -> pd.DataFrame:
    """10-year TIPS yield from 2003; before, the 10-year yield minus CPI inflation y/y."""
    proxy = view["DGS10"] - view["CPIAUCSL:yoy"]
    has_tips = view["DFII10"].notna()
    level = view["DFII10"].where(has_tips, proxy)
    return pd.DataFrame({"real_yield_10y": level,
                         "real_yield_source": np.where(has_tips, "TIPS", "DGS10 - CPI y/y"),
                         "real_yield_change_3m": view["DFII10:change_3m"].where(has_tips, proxy - proxy.shift(63))},
                        index=view.index)


def market(iwm: pd.Series, vix: pd.Series, regime) -> pd.DataFrame:
    """Small-cap drawdown and the capitulation event (a faded VIX spike while IWM makes a short-term high)."""
    drawdown = iwm / iwm.rolling(252, min_periods=1).max() - 1
    peak = vix.rolling(regime.capitulation_lookback_days, min_periods=1).max()
    capitulation = ((peak >= regime.capitulation_vix_peak)
                    & (vix <= peak * (1 - regime.capitulation_vix_fade))
                    & (iwm >= iwm.rolling(regime.capitulation_high_days, min_periods=1).max()))
    return pd.DataFrame({"iwm_drawdown_252d": drawdown, "vix_peak_recent": peak,
                         "capitulation_event": capitulation.to_numpy()}, index=iwm.index)
