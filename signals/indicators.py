"""Macro and market indicators, each a small pure function of what was known on each day.

Monthly and weekly transforms (CPI y/y, claims' 4-week average, spread widening) are computed
on the series' own observation dates and then published with the parent series' lag, so a
derived value is never known before the newest observation it uses. Prices (IWM, VIX, the bank
ETFs against SPY) are known at each day's close. The as-of view of the raw series does not
depend on any regime parameter, so callers compute it once (`raw_view`) and only the derived
series a regime setting changes are recomputed (`derived_view`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from fedcut.core.jit import jit
from fedcut.data.asof import asof_frame, first_known
from fedcut.data.catalog import BANK_ETFS
from fedcut.data.cuts import ANNOUNCED_FROM, EFFECTIVE_NEXT_DAY_FROM
from fedcut.signals.thresholds import RULE

TRADING_DAYS_A_MONTH = 21  # a window in trading days, read on a monthly series (BAA10YM), in months


def raw_view(raw: dict[str, pd.Series], days: pd.DatetimeIndex, data_params) -> pd.DataFrame:
    """The as-of view of every raw macro series on each trading day (no regime parameter)."""
    return asof_frame(raw, days, data_params)


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
    baa_months = max(1, round(window / TRADING_DAYS_A_MONTH))
    unrate_3m = unrate.rolling(3, min_periods=3).mean()
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
        "DFII10:change": tips - tips.shift(regime.real_yield_window_days),
        # The Sahm rule on today's vintage of unemployment, before the real-time series (1959-12):
        # the 3-month average against the lowest 3-month average of the 12 months before.
        "UNRATE:sahm": unrate_3m - unrate_3m.rolling(12, min_periods=12).min().shift(1),
    }
    if "BAA10YM" in raw:  # the long history's credit before the daily spread (1986)
        baa_m = raw["BAA10YM"]
        out["BAA10YM:widening"] = baa_m - baa_m.rolling(baa_months, min_periods=1).min()
    return {k: v.dropna().rename(k) for k, v in out.items()}


# The only regime parameters `derived_series` reads: callers may cache a derived view by these.
DERIVED_WINDOWS = ("inflation_trend_months", "credit_window_days", "real_yield_window_days")


def derived_view(raw: dict[str, pd.Series], days: pd.DatetimeIndex, data_params, regime) -> pd.DataFrame:
    """The as-of view of the derived series (their windows are regime parameters)."""
    return asof_frame(derived_series(raw, regime), days, data_params)


def macro_view(raw: dict[str, pd.Series], days: pd.DatetimeIndex, data_params, regime) -> pd.DataFrame:
    """The as-of view of every raw and derived macro series on each trading day."""
    return pd.concat([raw_view(raw, days, data_params), derived_view(raw, days, data_params, regime)], axis=1)


def labelled_changes(changes: pd.DataFrame, fomc: pd.DataFrame) -> pd.DataFrame:
    """Every policy-rate change (`data.cuts.policy_record`) with `intermeeting`: decided on a day that
    was no scheduled FOMC decision day. Before 1994-02-04 the FOMC did not announce its decisions and
    moves between meetings were routine, so no change before then is flagged; nor is one after the
    calendar's last day, which the calendar cannot place (a calendar not yet extended must not turn
    every later cut into a panic)."""
    changes = changes.copy()
    scheduled = fomc.index[(fomc["kind"] == "scheduled").to_numpy()]
    decision = changes["decision"]
    # FRED dates an evening call's move the next morning; since 2017 every move on its effective day.
    on_meeting = decision.isin(scheduled) | (
        (changes["effective"] >= EFFECTIVE_NEXT_DAY_FROM) & changes["effective"].isin(scheduled)
    )
    known = decision <= fomc.index.max() if len(fomc) else decision < decision.min()
    changes["intermeeting"] = (~on_meeting & (decision >= ANNOUNCED_FROM) & known).to_numpy()
    return changes


def era(days: pd.DatetimeIndex, data_params, *preferred: str) -> np.ndarray:
    """Per day, which series of an input's eras the rules read: 0 from the day `preferred[0]`'s first
    observation was known, 1 from `preferred[1]`'s (before the first), ..., len(preferred) before all."""
    out = np.full(len(days), len(preferred))
    for k in reversed(range(len(preferred))):
        out[days >= first_known(preferred[k], data_params)] = k
    return out


def policy(changes: pd.DataFrame, view: pd.DataFrame, fomc: pd.DataFrame, regime, data_params) -> pd.DataFrame:
    """Cycle state, days since the first cut, cut sizes, intermeeting cuts, the next scheduled
    meeting, and whether markets price a cut. A change is read from the day it became known
    (`known`: FRED's date for the target, on or after the decision, never early; later for the
    long history's older records); the schedule of meetings is published a year or more ahead,
    and before the calendar's first meeting (1987) there is none. Cuts are priced by the 2-year
    yield (the 1-year's monthly average, GS1, before DGS2) and the 3-month yield (the bill's
    discount yield, DTB3, before DGS3MO) against fed funds."""
    days = view.index
    known = changes["known"].to_numpy()
    pos = np.searchsorted(known, days.to_numpy(), side="right") - 1
    # A last placeholder change stands in on days before any change is known (masked by `seen`).
    bp = np.append(changes["change_bp"].to_numpy(), 0)
    dec = np.append(changes["decision"].to_numpy(), np.datetime64("NaT"))
    inter = np.append(changes["intermeeting"].to_numpy(), False)
    run_start, big_run, inter_run = _cut_runs(bp, inter)
    seen = pos >= 0
    j = np.where(seen, pos, len(bp) - 1)
    age = days.to_numpy() - dec[j]  # time since the latest change known that day
    recent = seen & (age <= np.timedelta64(regime.easing_hold_days, "D"))
    hike = bp[j] > 0
    easing = recent & ~hike
    k = run_start[j]
    state = np.where(easing, "easing", np.where(recent & hike, "tightening", "on_hold")).astype(object)
    first_cut = np.where(easing, dec[k], np.datetime64("NaT")).astype("datetime64[ns]")
    scheduled = fomc.index[(fomc["kind"] == "scheduled").to_numpy()].to_numpy()
    nxt = np.searchsorted(scheduled, days.to_numpy(), side="right")
    listed = (nxt < len(scheduled)) & (days.to_numpy() >= (scheduled[0] if len(scheduled) else np.datetime64("NaT")))
    next_meeting = np.where(listed, scheduled[np.minimum(nxt, len(scheduled) - 1)], np.datetime64("NaT"))
    ff = view["DFF"]
    two_era, bill_era = era(days, data_params, "DGS2"), era(days, data_params, "DGS3MO")
    two_year_gap = (view["DGS2"] - ff).where(two_era == 0, _column(view, "GS1") - ff)
    bill_gap = (view["DGS3MO"] - ff).where(bill_era == 0, view["DTB3"] - ff)
    priced = (
        RULE["two_year_gap"].check(two_year_gap, regime, era=two_era, data=data_params)
        & RULE["bill_gap"].check(bill_gap, regime, era=bill_era, data=data_params)
        & RULE["fed_funds"].check(ff, regime)
    )
    first = pd.DatetimeIndex(first_cut)
    return pd.DataFrame(
        {
            "cycle_state": state,
            "cycle_first_cut": first,
            "days_since_first_cut": (days - first).days.astype(float),
            "cuts_in_cycle": np.where(easing, j - k + 1, 0),
            "last_change_bp": np.where(seen, bp[j], 0).astype(float),
            "big_cut_in_cycle": easing & big_run[j],
            "intermeeting_cut": easing & inter_run[j],
            "days_to_next_meeting": (pd.DatetimeIndex(next_meeting) - days).days.astype(float),
            "fed_funds": ff,
            "two_year_gap": two_year_gap,
            "two_year_source": np.array(TWO_YEAR_SOURCES)[two_era],
            "bill_gap": bill_gap,
            "bill_source": np.array(BILL_SOURCES)[bill_era],
            "cut_priced": priced,
        },
        index=days,
    )


TWO_YEAR_SOURCES = ("2-year yield", "1-year yield (GS1, monthly)")
BILL_SOURCES = ("3-month yield", "3-month bill (DTB3, discount)")
CREDIT_SOURCES = ("HY OAS", "BAA-10y", "BAA-10y (monthly)")
SAHM_SOURCES = ("Sahm rule (real time)", "Sahm rule (UNRATE, today's vintage)")


def _column(view: pd.DataFrame, series_id: str) -> pd.Series:
    """A fallback's as-of column; all missing in a history that does not read it."""
    return view[series_id] if series_id in view else pd.Series(np.nan, index=view.index)


def _cut_runs(bp: np.ndarray, intermeeting: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per change: where its run of consecutive cuts began, and whether that run so far held a cut
    of 50 bp or more, or an intermeeting cut (one pass over the changes, so the cost grows with
    their number, never with its square)."""
    n = len(bp)
    start = np.arange(n)
    big = bp <= -50
    inter = intermeeting & (bp < 0)
    for m in range(1, n):
        if bp[m - 1] < 0:  # the previous change was a cut: the same run continues
            start[m] = start[m - 1]
            big[m] = big[m] or big[m - 1]
            inter[m] = inter[m] or inter[m - 1]
    return start, big, inter


def oracle_cut_expected(changes: pd.DataFrame, days: pd.DatetimeIndex, regime) -> pd.Series:
    """FUTURE INFORMATION: True when an actual cut comes within `oracle_lead_days`. Oracle mode only."""
    cuts = changes.loc[changes["change_bp"] < 0, "decision"].to_numpy()
    nxt = np.searchsorted(cuts, days.to_numpy(), side="left")
    ahead = np.where(
        nxt < len(cuts), cuts[np.minimum(nxt, len(cuts) - 1)] - days.to_numpy(), np.timedelta64(10**6, "D")
    )
    return pd.Series(ahead <= np.timedelta64(regime.oracle_lead_days, "D"), index=days, name="cut_expected_oracle")


def inflation(view: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "cpi_yoy": view["CPIAUCSL:yoy"],
            "core_cpi_yoy": view["CPILFESL:yoy"],
            "core_cpi_trend": view["CPILFESL:yoy_change"],
            "cpi_trend_3m": view["CPIAUCSL:yoy_change_3m"],
            "inflation_declining": (
                RULE["core_cpi_trend"].check(view["CPILFESL:yoy_change"], None)
                | RULE["cpi_trend_3m"].check(view["CPIAUCSL:yoy_change_3m"], None)
            ),
        },
        index=view.index,
    )


def labour_levels(view: pd.DataFrame, data_params) -> pd.DataFrame:
    """The Sahm rule (in real time from 1959-12; before, computed on today's vintage of UNRATE) and
    initial claims (from 1967; missing before, so they never alarm): no regime parameter."""
    sahm_era = era(view.index, data_params, "SAHMREALTIME")
    return pd.DataFrame(
        {
            "unemployment": view["UNRATE"],
            "unemployment_rise_12m": view["UNRATE:rise_12m"],
            "sahm": view["SAHMREALTIME"].where(sahm_era == 0, view["UNRATE:sahm"]),
            "sahm_source": np.array(SAHM_SOURCES)[sahm_era],
            "claims_4w": view["ICSA:avg4w"],
            "claims_rise": view["ICSA:rise"],
        },
        index=view.index,
    )


def labour(levels: pd.DataFrame, regime) -> pd.DataFrame:
    """`labour_levels` and whether layoffs are rising (either the Sahm rule or claims)."""
    rising = RULE["sahm"].check(levels["sahm"], regime) | RULE["claims_rise"].check(levels["claims_rise"], regime)
    return levels.assign(layoffs_rising=rising)


def credit_levels(view: pd.DataFrame, data_params) -> tuple[pd.DataFrame, np.ndarray]:
    """HY OAS from its first publication (1997), the daily BAA-10y spread before (from 1986), its
    monthly average (BAA10YM) before that: the spread and its widening, and the era of each day
    (which of them it reads, and so which thresholds)."""
    eras = era(view.index, data_params, "BAMLH0A0HYM2", "BAA10Y")
    spread = view["BAMLH0A0HYM2"].where(eras == 0, view["BAA10Y"].where(eras == 1, _column(view, "BAA10YM")))
    widening = view["BAMLH0A0HYM2:widening"].where(
        eras == 0, view["BAA10Y:widening"].where(eras == 1, _column(view, "BAA10YM:widening"))
    )
    frame = pd.DataFrame(
        {"credit_source": np.array(CREDIT_SOURCES)[eras], "credit_spread": spread, "credit_widening_pp": widening},
        index=view.index,
    )
    return frame, eras


def credit(levels: tuple[pd.DataFrame, np.ndarray], regime, data_params) -> pd.DataFrame:
    """`credit_levels` and the two alarms, each against its era's threshold."""
    frame, eras = levels
    return frame.assign(
        credit_widening=RULE["credit_widening"].check(frame["credit_widening_pp"], regime, era=eras, data=data_params),
        credit_damage=RULE["credit_damage"].check(frame["credit_spread"], regime, era=eras, data=data_params),
    )


def bank_relative(banks: dict[str, pd.Series], spy: pd.Series) -> pd.DataFrame:
    """Each day, the most sensitive bank ETF that exists (`BANK_ETFS`) against SPY: its name and
    its total-return level relative to SPY's, both as of that day's close (no parameter)."""
    source = pd.Series("", index=spy.index, dtype=object)
    ratio = pd.Series(np.nan, index=spy.index)
    for ticker in reversed(BANK_ETFS):  # later ones overwrite: the most sensitive wins where it exists
        if ticker not in banks:
            continue
        level = banks[ticker].reindex(spy.index)
        has = level.notna().to_numpy()
        ratio[has] = (level / spy)[has]
        source[has] = ticker
    return pd.DataFrame({"bank_source": source, "bank_ratio": ratio})


def stress_levels(view: pd.DataFrame, vix: pd.Series, bank: pd.DataFrame, regime) -> tuple[pd.DataFrame, np.ndarray]:
    """The gauges of financial-system stress: VIX always; the bank ETFs against SPY from 1998 (XLF;
    regional banks from 2005) over `bank_stress_days`; the TED spread to 2022; STLFSI4 and NFCI
    once published (missing before, so they neither alarm nor block calm). Besides, the days on
    which XLF stands in for the regional banks."""
    days = regime.bank_stress_days
    ratio = bank["bank_ratio"]
    same = bank["bank_source"].eq(bank["bank_source"].shift(days))  # no change of ETF inside the window
    frame = pd.DataFrame(
        {
            "stlfsi": view["STLFSI4"],
            "nfci": view["NFCI"],
            "vix": vix,
            "ted_spread": view["TEDRATE"],
            "bank_source": bank["bank_source"],
            "bank_move": (ratio / ratio.shift(days) - 1).where(same),
        },
        index=view.index,
    )
    return frame, bank["bank_source"].eq("XLF").to_numpy()


def stress(levels: tuple[pd.DataFrame, np.ndarray], regime) -> pd.DataFrame:
    """`stress_levels` and stress with hysteresis: it enters on any alarm and ends only when every
    gauge is calm (the bank thresholds scaled up by 1/xlf_scale while XLF stands in)."""
    frame, xlf = levels
    stl, nfci, vix, ted, bank_move = (frame[c] for c in ("stlfsi", "nfci", "vix", "ted_spread", "bank_move"))
    scale = np.where(xlf, regime.xlf_scale, 1.0)
    bank_alarm = RULE["bank_move"].check(bank_move, regime, scale=scale)
    alarm = (
        RULE["stlfsi4"].check(stl, regime)
        | RULE["nfci"].check(nfci, regime)
        | RULE["vix"].check(vix, regime)
        | RULE["ted_spread"].check(ted, regime)
        | bank_alarm
    )
    calm = (
        RULE["stlfsi4_calm"].check(stl, regime)
        & RULE["vix_calm"].check(vix, regime)
        & RULE["ted_calm"].check(ted, regime)
        & RULE["bank_calm"].check(bank_move, regime, scale=scale)
    )
    return frame.assign(bank_alarm=bank_alarm, stress_alarm=alarm, financial_stress=_held(alarm, calm))


@jit
def _held(alarm: np.ndarray, calm: np.ndarray) -> np.ndarray:
    """On from a day with an alarm until a calm day without one."""
    on = np.zeros(len(alarm), dtype=np.bool_)
    held = False
    for i in range(len(alarm)):
        held = alarm[i] or (held and not calm[i])
        on[i] = held
    return on


def real_yield(view: pd.DataFrame, regime, data_params) -> pd.DataFrame:
    """10-year TIPS yield from 2003; before, the 10-year yield (its monthly average, GS10, before DGS10
    in 1962) minus CPI inflation y/y. `real_yields_ok`: not risen more than `real_yield_max_rise`
    over the window (missing: no objection)."""
    nominal = view["DGS10"].where(era(view.index, data_params, "DGS10") == 0, _column(view, "GS10"))
    proxy = nominal - view["CPIAUCSL:yoy"]
    has_tips = view["DFII10"].notna()
    level = view["DFII10"].where(has_tips, proxy)
    change = view["DFII10:change"].where(has_tips, proxy - proxy.shift(regime.real_yield_window_days))
    return pd.DataFrame(
        {
            "real_yield_10y": level,
            "real_yield_source": np.where(
                has_tips,
                "TIPS",
                np.where(era(view.index, data_params, "DGS10") == 0, "DGS10 - CPI y/y", "GS10 - CPI y/y"),
            ),
            "real_yield_change": change,
            "real_yields_ok": RULE["real_yield_change"].check(change, regime),
        },
        index=view.index,
    )


def market_levels(iwm: pd.Series, vix: pd.Series, cycles: pd.DataFrame, regime) -> pd.DataFrame:
    """Small-cap drawdowns (from the 252-day high, and from the high since the easing cycle began),
    the deepest since the cycle began, VIX's peak within `capitulation_lookback_days` and small
    caps' lowest close since that peak: what a capitulation is measured by (`market`), and
    `capitulation_low` and `vix_peak_recent` what a later failure is measured against."""
    drawdown = iwm / iwm.rolling(252, min_periods=1).max() - 1
    cycle = cycles["cycle_first_cut"].to_numpy()  # each day's easing cycle (`policy`'s frame)
    values, dd = iwm.to_numpy(), drawdown.to_numpy()
    cycle_high = np.full(len(values), np.nan)
    worst = np.full(len(values), np.nan)  # the deepest 252-day drawdown since the cycle began
    inside = ~pd.isna(cycle)  # NaT: outside an easing cycle
    if inside.any():
        # A spell of days in one cycle starts where the cycle changes or one begins after days outside.
        starts = inside & np.r_[True, (cycle[1:] != cycle[:-1]) | ~inside[:-1]]
        spell = np.cumsum(starts)[inside]
        cycle_high[inside] = pd.Series(values[inside]).groupby(spell).cummax().to_numpy()
        worst[inside] = np.minimum(pd.Series(dd[inside]).groupby(spell).cummin().to_numpy(), 0.0)
    lookback = regime.capitulation_lookback_days
    peak = vix.rolling(lookback, min_periods=1).max()
    spike_day = _rolling_argmax(vix.to_numpy(), lookback)
    return pd.DataFrame(
        {
            "iwm": values,
            "iwm_drawdown_252d": drawdown,
            "iwm_drawdown_cycle": values / cycle_high - 1,
            "cycle_worst_drawdown": worst,
            "vix_peak_recent": peak,
            "capitulation_low": _low_since(values, spike_day, lookback),  # IWM's low since the spike
        },
        index=iwm.index,
    )


def market(levels: pd.DataFrame, vix: pd.Series, regime) -> pd.DataFrame:
    """`market_levels` and the capitulation event: damage first (since the cycle began, small caps
    stood at least `capitulation_damage` below their 252-day high: a crash just before a late
    first cut counts), a VIX spike of at least `capitulation_vix_peak` within the lookback that has
    faded by `capitulation_vix_fade`, and IWM `capitulation_rebound` above its lowest close since
    that spike."""
    peak = levels["vix_peak_recent"]
    event = (
        RULE["cycle_damage"].check(levels["cycle_worst_drawdown"].to_numpy(), regime)
        & RULE["vix_spike"].check(peak, regime)
        & RULE["vix_fade"].check(vix, regime, base=peak)
        & RULE["iwm_rebound"].check(levels["iwm"].to_numpy(), regime, base=levels["capitulation_low"].to_numpy())
    )
    return levels.assign(capitulation_event=event)


def _low_since(x: np.ndarray, start: np.ndarray, window: int) -> np.ndarray:
    """Per day i, the lowest of x[start[i]..i], for starts at most `window` - 1 days back."""
    padded = np.concatenate([np.full(window - 1, np.inf), x])
    frames = np.lib.stride_tricks.sliding_window_view(padded, window)  # day i's last `window` values
    first = np.arange(len(x)) - (window - 1)  # the day in each frame's first column
    before = np.arange(window)[None, :] < (start - first)[:, None]
    return np.where(before, np.inf, frames).min(axis=1)


def _rolling_argmax(x: np.ndarray, window: int) -> np.ndarray:
    """Per day i, the position of the highest value among the last `window` days up to i (the
    earliest of equal highs)."""
    padded = np.concatenate([np.full(window - 1, -np.inf), x])
    frames = np.lib.stride_tricks.sliding_window_view(padded, window)
    return np.argmax(frames, axis=1) + np.arange(len(x)) - (window - 1)
