"""Every number that changes results: one registry with default, unit, range and why.

The run config, `config/default.toml`, the sweep spec validation and the report all read
these definitions. A resolved configuration is a frozen `Config` whose sections are
attribute namespaces (`cfg.hedge.moneyness`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import numbers
import re
from dataclasses import dataclass
from typing import Any

from fedcut.core.errors import ConfigError
from fedcut.core.user_code import BASELINES, is_ref, refs_in
from fedcut.core.user_code import SECTION as USER_SECTION
from fedcut.core.user_code import load as load_user


@dataclass(frozen=True)
class Param:
    key: str  # "section.name"
    default: Any
    unit: str
    why: str
    lo: float | None = None
    hi: float | None = None
    choices: tuple[str, ...] | None = None

    @property
    def section(self) -> str:
        return self.key.split(".", 1)[0]

    @property
    def name(self) -> str:
        return self.key.split(".", 1)[1]

    def check(self, value: Any, where: str = "config") -> Any:
        """Return `value` coerced to this parameter's type, or raise ConfigError naming the key."""
        kind = type(self.default)
        if kind is bool:
            if not is_flag(value):
                raise ConfigError(f"{where}: {self.key} must be true or false, got {value!r}")
            value = bool(value)
        elif kind is int:
            if not is_whole_number(value):
                raise ConfigError(f"{where}: {self.key} must be a whole number ({self.unit}), got {value!r}")
            value = int(value)
        elif kind is float:
            if is_flag(value) or not isinstance(value, numbers.Real):
                raise ConfigError(f"{where}: {self.key} must be a number ({self.unit}), got {value!r}")
            try:
                value = float(value)
            except OverflowError:  # an integer beyond a float's range (about 1.8e308)
                raise ConfigError(f"{where}: {self.key} = {value} is too large for a number ({self.unit})") from None
            if value != value:
                raise ConfigError(f"{where}: {self.key} must be a number, got NaN")
            if value == 0.0:
                value = 0.0  # -0.0 is the same setting: one value, one configuration hash
        elif kind is str:
            if isinstance(value, dt.date):
                value = value.isoformat()
            if not isinstance(value, str):
                raise ConfigError(f"{where}: {self.key} must be text, got {value!r}")
            if self.unit == "date" and value:
                iso_date(value, f"{where}: {self.key}")
        elif kind is tuple:
            if isinstance(value, str):
                value = tuple(v.strip() for v in value.split(",") if v.strip())
            if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
                raise ConfigError(f"{where}: {self.key} must be a list of names, got {value!r}")
            value = tuple(value)
        if self.choices is not None:
            items = value if isinstance(value, tuple) else (value,)
            bad = [v for v in items if v not in self.choices]
            if bad:
                raise ConfigError(f"{where}: {self.key} must be one of {', '.join(self.choices)}; got {bad[0]!r}")
        if self.lo is not None and value < self.lo:
            raise ConfigError(f"{where}: {self.key} = {value} is below its minimum {self.lo} ({self.unit})")
        if self.hi is not None and value > self.hi:
            raise ConfigError(f"{where}: {self.key} = {value} is above its maximum {self.hi} ({self.unit})")
        return value


def is_flag(value: Any) -> bool:
    """A true/false value: Python's bool or numpy's (never a number, though Python counts bool as one);
    told by its type's name, so that numpy is not imported to check a setting."""
    return isinstance(value, bool) or (type(value).__module__ == "numpy" and type(value).__name__ in ("bool", "bool_"))


def is_whole_number(value: Any) -> bool:
    """A whole number: Python's int or a numpy integer such as np.int64(3), never a bool."""
    return isinstance(value, numbers.Integral) and not is_flag(value)


_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def iso_date(value: str, what: str) -> dt.date:
    """A calendar date written YYYY-MM-DD, or a ConfigError naming `what`.

    Only this form: Python also reads `20080102` and `2008-W02-1`, which would then be compared
    with other dates as text, or fail later with a traceback.
    """
    if not isinstance(value, str) or not _ISO_DATE.fullmatch(value):
        raise ConfigError(f"{what} must be a date YYYY-MM-DD, got {value!r}")
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ConfigError(f"{what} must be a date YYYY-MM-DD, got {value!r}") from None


HISTORIES = ("iwm", "extended", "long")
# Keys that no longer exist, with what replaced them: a file or --set still using one is told the new key.
RENAMED = {
    "run.extended": 'run.history (write history = "extended" under [run], or --history extended)',
    "hedge.vix_multiplier": "hedge.atm_vix_ratio x hedge.small_cap_ratio (the calibrated SPY surface scaled to small caps)",
}

TICKERS = ("IWM", "VO", "OUSM", "XLP", "XLU", "IEF", "TLT", "SHY", "SPY")

# The registry is a table, one parameter to a row (the formatter would spread each over 5-9 lines).
# fmt: off
PARAMS: tuple[Param, ...] = (
    # --- run -------------------------------------------------------------------------------
    Param("run.start", "", "date", "first trading day; empty = the first day of the history (run.history)"),
    Param("run.end", "", "date", "last trading day; empty = the last day every required series covers"),
    Param("run.history", "iwm", "choice", "the history the run covers: iwm, from IWM's first day (2000-05-26); extended, from "
          "1990-01-02 (VIX's first day) with IWM proxied by the Russell 2000 index plus a dividend accrual; long, from "
          "1954-07-02 (fed funds' first day) with small caps, mid caps and the market from Ken French's portfolios and "
          "the Russell 2000 total-return index, and each regime input's declared fallback (data.*) before its series "
          "existed. Before 2000 is history the rules were not designed on", choices=HISTORIES),
    Param("run.oracle", False, "flag", "use the actual cut calendar (future information) to measure what foresight is worth; never the default"),
    Param("run.strategy", "fedcut", "choice", "which rules the run follows: the fedcut regime strategy, one of the simple baselines it is measured against, or your own rule as package.module:function (docs: own rules)",
          choices=("fedcut", "buy_and_hold", "spy", "sixty_forty", "static_mix", "credit_rule", "trend_200d", "vix_rule")),
    # --- data --------------------------------------------------------------------------------
    Param("data.spx_dividend_yield", 0.03, "fraction/year", "dividends added to the S&P 500 price index when it stands in for SPY before 1993-01-29 (its yield ran 2.8-3.7% in 1990-1993)", 0.0, 0.08),
    Param("data.rut_dividend_yield", 0.013, "fraction/year", "dividends added to the RUT price index when it stands in for IWM before 2000-05-26 (Russell 2000 yield ran 1.2-1.5% in 1995-2000)", 0.0, 0.05),
    Param("data.cpi_release_day", 21, "day of next month", "CPI for month M is treated as known from this day of M+1 (BLS released it between the 10th and the 21st since 1995)", 1, 28),
    Param("data.jobs_release_min_day", 5, "day of next month", "the jobs report (UNRATE, SAHMREALTIME) is treated as known from the first Friday on or after this day of M+1 (it came out as late as Jan 10, 2020)", 1, 28),
    Param("data.daily_market_lag_days", 1, "business days", "FRED daily market series (yields, spreads) for day D are used from D+1: FRED posts them after the close", 0, 5),
    Param("data.weekly_claims_lag_days", 5, "calendar days", "ICSA for the week ending Saturday is published the following Thursday", 0, 14),
    Param("data.nfci_lag_days", 5, "calendar days", "NFCI for the week ending Friday is published the following Wednesday", 0, 14),
    Param("data.stlfsi_lag_days", 6, "calendar days", "STLFSI4 for the week ending Friday is published the following Thursday", 0, 14),
    Param("data.allow_backfilled_indices", False, "flag", "use STLFSI4 before 2010 and NFCI before May 2011: full-sample reconstructions nobody had then; for research only, and labelled"),
    Param("data.vix_backcalculated", False, "flag", "read Cboe's VIX back-calculated to 1990 (first published in "
          "September 2003) before 2003-09-22 instead of VXO, the implied-volatility index Cboe published then: for "
          "comparison with earlier results only, and labelled"),
    Param("data.skew_backcalculated", False, "flag", "read Cboe's SKEW back-calculated to 1990 (first published "
          "2011-02-23) for the puts' skew before then, instead of pricing it at hedge.skew_index_centre: no one "
          "could read SKEW before Cboe published it; for comparison only, and labelled"),
    Param("data.realised_vol_days", 21, "trading days", "before 1986-01-02 no implied volatility was published: the "
          "stress gauge and the puts read the US market's realised volatility (Ken French's daily market return) over "
          "this window, about the 30 calendar days VIX looks ahead", 5, 252),
    Param("data.realised_vol_multiplier", 1.045, "x realised vol", "realised volatility times this is the VIX-scale "
          "gauge before 1986: matched on 1990-2025 so that as many days reach 35 as VIX did (4.0% of days; "
          "tests/test_fallbacks.py refits it); calm days read lower than VIX did (median VIX / gauge 1.28)", 0.5, 3.0),
    Param("data.monthly_average_lag_days", 1, "business days", "a monthly average (GS1, GS10, BAA10YM, MDISCRT) is known "
          "only once its month has ended: from this many business days after the month's last day, when every daily "
          "value it averages has been published", 0, 25),
    Param("data.romer_lag_days", 2, "calendar days", "before 1994 the FOMC did not announce its decisions: a change of "
          "Romer and Romer's intended rate at a meeting (1969-1982) is known this long after the meeting, the median "
          "delay from a meeting to FRED's target change in the same direction over 1982-10..1994-01 (35 decisions)",
          0, 45),
    Param("data.gs1_gap", 0.24, "pp below fed funds", "before DGS2 (1976-06-01) the 1-year yield's monthly average "
          "(GS1) stands in: this far below fed funds prices cuts as regime.two_year_gap does with DGS2, matched on "
          "1976-2023 (both on 17% of days)", 0.0, 3.0),
    Param("data.dtb3_gap", 0.18, "pp below fed funds", "before DGS3MO (1981-09-01) the 3-month bill's discount yield "
          "(DTB3, below the bond-equivalent yield) stands in: this far below fed funds prices a cut as regime.bill_gap "
          "does with DGS3MO, matched on 1981-2025 (both on 45% of days)", 0.0, 2.0),
    Param("data.baa_monthly_widening", 0.22, "pp", "before the daily BAA-10y spread (1986-01-02) its monthly average "
          "(BAA10YM) stands in: a rise this large over regime.credit_window_days (in months of 21 trading days) is "
          "widening, matched on 1986-2023 to regime.baa_widening (both on 14% of days)", 0.01, 5.0),
    Param("data.baa_monthly_damage", 2.99, "%", "and BAA10YM at or above this is damage, matched on 1986-2023 to "
          "regime.baa_damage (both on 13% of days)", 0.5, 10.0),
    Param("data.max_target_change", 1.5, "pp per day",
          "a fed funds target move larger than this in one day is a broken file: the largest since 1982 is 1.125 pp (1984), since 1994 1.0 pp (2020-03-15)", 0.25, 10.0),
    # --- regime: policy -------------------------------------------------------------------------
    Param("regime.two_year_gap", 0.25, "pp below fed funds", "the 2-year yield this far below fed funds means markets price cuts within two years", 0.0, 3.0),
    Param("regime.bill_gap", 0.10, "pp below fed funds", "the 3-month yield this far below fed funds means a cut is priced within about three months", 0.0, 2.0),
    Param("regime.zero_bound", 0.5, "% fed funds", "below this fed funds rate there is no room to cut, so no cut is 'expected'", 0.0, 3.0),
    Param("regime.easing_hold_days", 365, "calendar days", "an easing cycle stays open this long after its last cut (a hike closes it at once)", 30, 1095),
    Param("regime.intermeeting_late", True, "flag", "a cut between FOMC meetings (from 1994, when decisions were first announced) marks the cycle as late: the Fed reacting to damage (2001, 2008, 2020)"),
    Param("regime.oracle_lead_days", 90, "calendar days", "oracle mode only: a cut is 'expected' this many days before it actually happens", 1, 365),
    # --- regime: inflation, labour, credit, stress -----------------------------------------------
    Param("regime.inflation_trend_months", 6, "months", "inflation is declining when core CPI y/y is below its value this many months earlier", 1, 12),
    Param("regime.sahm_warning", 0.50, "pp", "the Sahm rule: real-time unemployment 0.5pp above its recent low means layoffs are rising", 0.0, 2.0),
    Param("regime.claims_rise", 0.20, "fraction above 52-week low", "4-week average claims this far above their 52-week low means layoffs are rising", 0.0, 2.0),
    Param("regime.credit_window_days", 63, "trading days", "window over which spread widening is measured (about 3 months)", 5, 260),
    Param("regime.hy_widening", 1.50, "pp", "HY OAS this far above its low of the window means credit is widening", 0.1, 10.0),
    Param("regime.baa_widening", 0.40, "pp", "BAA-10y spread widening that counts as credit widening before the HY OAS exists (1997)", 0.05, 5.0),
    Param("regime.hy_damage", 6.0, "%", "HY OAS at or above this level when the Fed cuts means the cut comes after the damage", 2.0, 20.0),
    Param("regime.baa_damage", 3.0, "%", "BAA-10y spread equivalent of regime.hy_damage before 1997", 1.0, 10.0),
    Param("regime.iwm_damage_drawdown", -0.20, "fraction from 252-day high", "small caps already in a bear market when the Fed cuts: the cut comes after the damage", -0.9, 0.0),
    Param("regime.stlfsi_crisis", 1.5, "index", "St. Louis Fed stress at this level is financial-system stress (2008: 9.6, 2020: 5.7)", 0.0, 10.0),
    Param("regime.nfci_crisis", 0.5, "index", "NFCI this far above average (0) is a crisis in financial conditions", -1.0, 5.0),
    Param("regime.vix_crisis", 40.0, "VIX points", "VIX at or above 40 has marked every systemic panic since 1990", 10.0, 100.0),
    Param("regime.stlfsi_calm", 0.5, "index", "crisis ends only when stress is back below this (hysteresis)", -2.0, 10.0),
    Param("regime.vix_calm", 30.0, "VIX points", "crisis ends only when VIX is back below this (hysteresis)", 10.0, 100.0),
    Param("regime.bank_stress_days", 10, "trading days", "bank stress is measured as banks' return relative to the S&P 500 over about two weeks: runs on banks are fast (March 2023)", 2, 63),
    Param("regime.bank_stress_drop", 0.15, "fraction", "regional banks (KRE, KBE before it) falling this much against SPY over the window is a bank run: -26% in March 2023, never below -11% in 2004-2006 or 2013-2019", 0.02, 0.9),
    Param("regime.bank_calm_drop", 0.05, "fraction", "the bank gauge is calm again once the relative fall over the window is less than this", 0.0, 0.5),
    Param("regime.xlf_scale", 0.55, "ratio", "before regional-bank ETFs exist (2005), XLF stands in: its relative moves are about 0.55 times KRE's (March 2023: -11% against -26%), so both thresholds scale by this", 0.1, 1.0),
    Param("regime.ted_crisis", 1.5, "pp", "the TED spread (LIBOR over T-bills, to 2022) at or above this is a funding crisis: 1990, 1998, 2007-08 reached it, calm years stayed below 0.7", 0.2, 5.0),
    Param("regime.ted_calm", 0.75, "pp", "and crisis ends only when the TED spread is back below this", 0.0, 5.0),
    Param("regime.min_dwell_days", 10, "trading days", "a new regime (other than crisis, which enters at once) must hold this long before it is called", 0, 60),
    # --- regime: capitulation after a late cut ---------------------------------------------------
    Param("regime.capitulation_damage", 0.25, "fraction below the 252-day high", "a capitulation needs damage first: since the easing cycle began, small caps stood this far below their 252-day high (1998: -37% in the crash that brought the cut; January 2001: -19%, no capitulation)", 0.0, 0.9),
    Param("regime.capitulation_vix_peak", 35.0, "VIX points", "and a volatility spike at least this high: panic, not a wobble", 10.0, 100.0),
    Param("regime.capitulation_lookback_days", 60, "trading days", "the spike must be this recent", 5, 250),
    Param("regime.capitulation_vix_fade", 0.25, "fraction below peak", "the spike has faded by this much", 0.0, 0.9),
    Param("regime.capitulation_rebound", 0.10, "fraction above the low", "and small caps stand this far above their lowest close since the spike: the low held", 0.0, 0.5),
    Param("regime.capitulation_ends_crisis", True, "flag", "a capitulation in a late cycle ends a crisis-driven wait while the stress gauges are still fading (else re-entry waits for every gauge to be calm)"),
    # --- regime: soft landing -----------------------------------------------------------------------
    Param("regime.real_yield_window_days", 63, "trading days", "real yields are compared with their level this long ago (about three months)", 5, 260),
    Param("regime.real_yield_max_rise", 0.25, "pp", "a soft landing needs real yields not to have risen more than this over the window: small caps work after cuts when real yields compress", -2.0, 10.0),
    # --- strategy: what each regime holds --------------------------------------------------------
    Param("strategy.soft_landing_iwm", 1.0, "portfolio weight", "soft landing: small caps are the trade", 0.0, 1.0),
    Param("strategy.accumulate_days", 30, "trading days", "IWM is scaled in over about six weeks rather than bought at once", 1, 250),
    Param("strategy.neutral_iwm", 0.4, "portfolio weight", "no easing in view: a baseline small-cap weight", 0.0, 1.0),
    Param("strategy.neutral_vo", 0.2, "portfolio weight", "no easing in view: mid caps are less fragile than small caps", 0.0, 1.0),
    Param("strategy.neutral_ousm", 0.2, "portfolio weight", "no easing in view: quality small caps (profitable, dividend-paying)", 0.0, 1.0),
    Param("strategy.neutral_cyclicals", 0.2, "portfolio weight", "no easing in view: large-cap cyclicals (industrials, banks, home builders), the seed's third safer alternative", 0.0, 1.0),
    Param("strategy.cyclicals", ("XLI", "XLF", "ITB"), "tickers", "large-cap cyclicals held in equal weights, each from its first day (no proxy before: cash)",
          choices=("XLI", "XLF", "ITB")),
    Param("strategy.recession_action", "hedge", "choice", "recession risk rising: avoid IWM, hold it hedged with puts, or rotate into quality (OUSM), mid caps (VO) or large-cap cyclicals",
          choices=("avoid", "hedge", "quality", "midcap", "cyclicals")),
    Param("strategy.recession_equity", 0.6, "portfolio weight", "equity kept when recession risk rises (hedged, or rotated); the rest is cash", 0.0, 1.0),
    Param("strategy.defensives", ("XLP", "XLU", "IEF"), "tickers", "crisis and late panic before capitulation: the defensive basket, equal weights, each from its first day",
          choices=("XLP", "XLU", "IEF", "TLT", "SHY")),
    Param("strategy.defensive_weight", 0.5, "portfolio weight", "share of the portfolio in defensives during a crisis; the rest earns the T-bill rate", 0.0, 1.0),
    Param("strategy.capitulation_iwm", 1.0, "portfolio weight", "after the post-cut capitulation low: back into small caps", 0.0, 1.0),
    Param("strategy.capitulation_in_recession", "buy", "choice", "a capitulation while layoffs rise or credit widens: buy it bare (buy: it is sold again on a new low; best out of sample), with puts (hedge: puts bought at VIX 40-60 cost about 2 pp a year) or wait until the evidence eases (wait)",
          choices=("hedge", "wait", "buy")),
    Param("strategy.reentry_days", 10, "trading days", "IWM bought after capitulation is scaled in over two weeks", 1, 120),
    # --- baselines: the simple rules every run is measured against ---------------------------------
    Param("baseline.sixty_forty_iwm", 0.6, "portfolio weight", "the balanced baseline: 60% small caps, 40% T-bill cash, rebalanced monthly", 0.0, 1.0),
    Param("baseline.credit_widening_pp", 0.5, "pp", "credit rule: out of IWM when the HY OAS has risen this much over the window (about one standard deviation of its 3-month change is 1.5 pp)", 0.05, 5.0),
    Param("baseline.credit_level", 7.0, "%", "credit rule: out of IWM while the HY OAS stands above this (it did 17% of days since 1997: 2001-03, 2008-09, 2020)", 2.0, 25.0),
    Param("baseline.credit_window_days", 63, "trading days", "credit rule: the widening is measured over about three months", 5, 260),
    Param("baseline.baa_widening_pp", 0.15, "pp", "credit rule before the HY OAS exists (1997): the BAA-10y spread moves about 3.5 times less than the HY OAS over three months", 0.01, 2.0),
    Param("baseline.baa_level", 3.0, "%", "credit rule before 1997: BAA-10y above 3% was as rare (17% of days since 1997) as HY OAS above 7%", 1.0, 10.0),
    Param("baseline.baa_monthly_widening_pp", 0.16, "pp", "credit rule before the daily BAA-10y spread (1986-01-02): its monthly average (BAA10YM, known once its month is over) up this much over three months flags as many days on 1986-2023 as baseline.baa_widening_pp does on the daily spread (24%; tests/test_fallbacks.py refits it)", 0.01, 2.0),
    Param("baseline.baa_monthly_level", 3.0, "%", "credit rule before 1986: BAA10YM above this flags as many days on 1986-2023 as baseline.baa_level on the daily spread (13%)", 1.0, 10.0),
    Param("baseline.trend_days", 200, "trading days", "trend rule: IWM while its total return is above this moving average, the classic 200-day filter", 20, 400),
    Param("baseline.vix_exit", 35.0, "VIX points", "VIX rule: IWM while VIX closes at or below this, cash above: a level reached in stress spells only (1990-91, 1997-98, 2001-02, 2008-11, 2015, 2018, 2020-22, 2024-25)", 10.0, 100.0),
    # --- verdict: how sure "better than the baseline" is ---------------------------------------------
    Param("verdict.mean_block_days", 63, "trading days", "stationary bootstrap blocks average three months, keeping a volatility regime together while 25 years still hold about 100 blocks", 1, 504),
    Param("verdict.resamples", 2000, "resamples", "each end of a 95% interval then rests on 50 resamples", 100, 100_000),
    Param("verdict.seed", 1994, "seed", "fixed, so the same run gives the same intervals (1994: Politis and Romano's stationary bootstrap)", 0, 2**31 - 1),
    # --- analysis --------------------------------------------------------------------------------
    Param("analysis.cycle_months_before", 6, "months", "each easing cycle's window opens this long before the first cut: the run-up is where anticipation pays", 0, 36),
    Param("analysis.min_cycle_months_in_run", 12, "months", "a cycle whose first cut came before the run began is an episode only if the run holds this much of its window after the cut: the 1989 cycle in the extended history (17 months, with the 1990-91 recession), not the 1998 cycle in the default history (4)", 1, 60),
    Param("analysis.cycle_months_after", 24, "months", "and closes this long after it: long enough to include the 2001-02 and 2008-09 declines", 1, 60),
    # --- execution -------------------------------------------------------------------------
    Param("execution.initial_cash", 1_000_000.0, "USD", "starting capital of the strategy and of each benchmark", 1_000.0, 1e12),
    Param("execution.commission_bps", 1.0, "bp of traded value", "ETF commission; most brokers charge nothing, 1 bp stands for fees", 0.0, 100.0),
    Param("execution.slippage_bps", 2.0, "bp of price", "half-spread plus impact paid on each ETF fill; IWM trades at about 1 bp spread", 0.0, 100.0),
    Param("execution.rebalance_band", 0.05, "portfolio weight", "a holding is traded only when its weight is this far from target, against churn", 0.0, 0.5),
    Param("execution.cash_buffer", 0.01, "portfolio weight", "kept in cash so slippage and commission on a full-size order can be paid", 0.0, 0.2),
    Param("execution.cash_interest", True, "flag", "idle cash accrues the 3-month T-bill rate known that day"),
    Param("execution.borrow_spread_bps", 100.0, "bp/year over T-bills", "negative cash (puts bought with money the account does not have) is a margin loan; low-cost brokers charge about the T-bill rate plus 1 pp", 0.0, 2000.0),
    # --- hedge -----------------------------------------------------------------------------
    Param("hedge.moneyness", 0.90, "strike / spot", "10% out-of-the-money puts: cheap protection against crashes, not corrections", 0.5, 1.2),
    Param("hedge.tenor_days", 91, "calendar days", "3-month puts: liquid, and long enough that time decay is moderate", 7, 730),
    Param("hedge.roll_days", 30, "calendar days", "roll when less life remains: the last month's decay and gamma are costly", 0, 365),
    Param("hedge.sizing", "ratio", "choice", "size puts by a hedge ratio of the IWM exposure, or by a yearly premium budget", choices=("ratio", "budget")),
    Param("hedge.hedge_ratio", 1.0, "fraction of IWM notional", "share of the IWM position actually held covered by puts when hedged", 0.0, 2.0),
    Param("hedge.hold_through_crisis", False, "flag", "in a crisis or a late-cycle wait, keep the small caps held and their puts (sized on what is held) instead of selling both for defensives"),
    Param("hedge.annual_budget", 0.03, "fraction of portfolio/year", "premium budget when hedge.sizing = budget", 0.0, 0.5),
    Param("hedge.resize_band", 0.25, "fraction of contracts", "held puts are resized only when the count needed differs by more than this (else just rolled)", 0.0, 5.0),
    Param("hedge.atm_vix_ratio", 0.832, "x VIX", "SPY at-the-money put IV per unit of VIX (VIX, a variance-swap rate, sits above at-the-money vol): fitted by `fedcut calibrate` on the SPY put quotes before hedge.calibration_split", 0.3, 2.0),
    Param("hedge.skew_slope", 0.995, "vol per unit of (1 - K/S) at 30 days", "SPY out-of-the-money puts trade at higher vol, the more so the nearer expiry: fitted by `fedcut calibrate`", 0.0, 5.0),
    Param("hedge.skew_term_exponent", 0.43, "power of 30/days", "the skew in moneyness steepens as expiry nears, as (30 / days to expiry) to this power: fitted by `fedcut calibrate` on 21-51 days, extrapolated to the 91-day tenor", 0.0, 1.0),
    Param("hedge.skew_index_slope", 0.709, "vol per unit of (1 - K/S) at 30 days per 100 SKEW points", "the skew steepens on days Cboe's SKEW index stands high (it lowered the out-of-sample IV error, median 0.88 -> 0.74 vol points): fitted by `fedcut calibrate`", 0.0, 5.0),
    Param("hedge.skew_index_centre", 123.9, "SKEW points", "SKEW's mean over the fitted quotes: the SKEW term is 0 there, and a day without SKEW (before Cboe first published it, 2011-02-23: data.skew_backcalculated) is priced at it, so the surface then is the fit's at an average SKEW: computed by `fedcut calibrate`", 100.0, 200.0),
    Param("hedge.small_cap_ratio", 1.25, "x SPY implied vol", "IWM implied vol over SPY's: no IWM quotes or RVX history are in the data; RVX/VIX has run about 1.1-1.4, and 1.25 is its middle (never fitted, least of all on pre-1990 data)", 0.5, 3.0),
    Param("hedge.small_cap_ratio_mode", "fixed", "choice", "the small-cap ratio is hedge.small_cap_ratio (fixed), or point in time (realised): IWM's over SPY's trailing realised volatility, clipped to [hedge.small_cap_ratio_min, hedge.small_cap_ratio_max]; fixed until leave-one-cycle-out evidence says otherwise", choices=("fixed", "realised")),
    Param("hedge.small_cap_ratio_window", 63, "trading days", "the realised ratio's window: about a quarter, the puts' tenor (a day without that much history of both prices falls back to hedge.small_cap_ratio)", 10, 504),
    Param("hedge.small_cap_ratio_min", 1.0, "x SPY implied vol", "the realised ratio is clipped here: small caps have not been less volatile than the S&P 500 for long", 0.5, 3.0),
    Param("hedge.small_cap_ratio_max", 1.6, "x SPY implied vol", "and here: RVX/VIX has run about 1.1-1.4, a realised ratio far above it is noise of a short window", 0.5, 3.0),
    Param("hedge.vol_floor", 0.12, "annual vol", "small-cap implied vol has not traded below about 12%", 0.01, 1.0),
    Param("hedge.vol_cap", 1.5, "annual vol", "cap on the modelled vol so a VIX spike cannot give absurd prices", 0.1, 5.0),
    Param("hedge.div_yield_window_days", 365, "calendar days", "IWM dividend yield is measured from total return minus price return over this trailing window", 30, 1825),
    Param("hedge.half_spread_dollars", 0.0054, "USD per share", "half the bid-ask spread has a tick-like floor in dollars (scaled by the spot's unit as strikes are): fitted by `fedcut calibrate`", 0.0, 1.0),
    Param("hedge.half_spread_base", 0.0044, "fraction of model price", "and a share of the put's price: fitted by `fedcut calibrate`", 0.0, 0.5),
    Param("hedge.half_spread_per_vix", 0.0001, "fraction per VIX point", "a share that grows with VIX: fitted by `fedcut calibrate`", 0.0, 0.05),
    Param("hedge.commission_per_contract", 0.65, "USD per contract", "a typical retail option commission", 0.0, 20.0),
    Param("hedge.strike_tick", 0.5, "USD", "new puts take the nearest listed strike; IWM strikes are $0.5-1 apart (0.5 on the split-adjusted price = $1 before 2005)", 0.01, 10.0),
    Param("hedge.buy_vix_floor", 0.0, "VIX points", "puts are bought (or rolled) only when the VIX of the deciding close is at least this: cheap puts in a calm market may be worth skipping (0 = no floor, the default; a timing sweep judges it)", 0.0, 100.0),
    Param("hedge.buy_vix_ceiling", 0.0, "VIX points", "puts are bought (or rolled) only when the VIX of the deciding close is below this: puts bought in a panic are dear (0 = no ceiling, the default; a timing sweep judges it)", 0.0, 200.0),
    Param("hedge.contract_size", 100, "shares", "one listed equity option covers 100 shares", 1, 1000),
)

# fmt: on
_BY_KEY = {p.key: p for p in PARAMS}
# Present in a configuration only when it names user code, so every other configuration's hash stays as it was.
USER_BASELINES = Param(
    BASELINES,
    (),
    "package.module:function list",
    "your own baselines, each added to the comparison table and the verdict beside the built-in ones (docs: own rules)",
)


def param(key: str) -> Param:
    if key not in _BY_KEY:
        _unknown(key, "config")
    return _BY_KEY[key]


def _unknown(key: str, where: str):
    """Refuse a key the registry does not hold, naming its successor when it was renamed."""
    if key in RENAMED:
        raise ConfigError(f"{where}: {key} was replaced by {RENAMED[key]}")
    raise ConfigError(f"{where}: unknown key {key!r}")


class Section:
    """A read-only namespace of one section's resolved values."""

    def __init__(self, name: str, values: dict[str, Any]):
        object.__setattr__(self, "_name", name)
        object.__setattr__(self, "_values", dict(values))

    def __getattr__(self, item: str) -> Any:
        try:
            return self._values[item]
        except KeyError:
            raise AttributeError(f"{self._name}.{item}") from None

    def __setattr__(self, key, value):
        raise AttributeError("configuration sections are read-only")

    def as_dict(self) -> dict[str, Any]:
        return dict(self._values)

    def replace(self, **changes: Any) -> Section:
        unknown = set(changes) - set(self._values)
        if unknown:
            raise ConfigError(f"config: unknown key {self._name}.{sorted(unknown)[0]}")
        return Section(self._name, {**self._values, **changes})


@dataclass(frozen=True)
class Config:
    """A fully resolved configuration: every parameter has a value."""

    values: tuple[tuple[str, Any], ...]

    def __getattr__(self, section: str) -> Section:
        if section.startswith("_"):
            raise AttributeError(section)
        sections = self.__dict__.get("_sections")
        if sections is None:  # built on first use and kept (sweeps read sections thousands of times)
            grouped: dict[str, dict[str, Any]] = {}
            for k, v in self.values:
                name, key = k.split(".", 1)
                grouped.setdefault(name, {})[key] = v
            sections = {name: Section(name, found) for name, found in grouped.items()}
            self.__dict__["_sections"] = sections
        if section not in sections:
            raise AttributeError(section)
        return sections[section]

    def __reduce__(self):
        return Config, (self.values,)  # the values only, never the sections built from them

    def get(self, key: str) -> Any:
        return dict(self.values)[key]

    def flat(self) -> dict[str, Any]:
        return dict(self.values)

    def nested(self) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for k, v in self.values:
            s, n = k.split(".", 1)
            out.setdefault(s, {})[n] = list(v) if isinstance(v, tuple) else v
        return out

    def with_overrides(self, overrides: dict[str, Any], where: str = "config") -> Config:
        return resolve({**self.flat(), **overrides}, where=where)

    def digest(self) -> str:
        """A short stable hash of the resolved values (names runs, keys sweep results); with user code,
        of each reference's source file too, so results of an edited rule are never mixed."""
        doc: dict[str, Any] = self.nested()
        refs = refs_in(self.flat(), "run.strategy")
        if refs:
            doc["user_code"] = {ref: load_user(ref).source_hash for ref in refs}
        blob = json.dumps(doc, sort_keys=True, default=str).encode()
        return hashlib.sha256(blob).hexdigest()[:12]

    def user_refs(self) -> tuple[str, ...]:
        """The user code this configuration names: its strategy, then its user baselines."""
        return refs_in(self.flat(), "run.strategy")


def resolve(overrides: dict[str, Any] | None = None, where: str = "config") -> Config:
    """Defaults overlaid with `overrides` (flat "section.name" keys), each checked; with the
    parameters (`user.*`) of the user code that `run.strategy` and `user.baselines` name."""
    overrides = overrides or {}
    user = user_params(overrides, where)
    values = {p.key: p.default for p in (*PARAMS, *user.values())}
    for key, value in overrides.items():
        values[key] = check(key, value, where, user)
    _check_cross(values, where)
    return Config(tuple(sorted(values.items())))


def check(key: str, value: Any, where: str = "config", user: dict[str, Param] | None = None) -> Any:
    """One parameter's value checked alone (key, type, range; not against other parameters). A
    `user.*` key is checked against `user` (`user_params`), or left to `resolve` when it is None."""
    if key == "run.strategy" and is_ref(value):
        _user_function(value, where, key)
        return value
    choices = _BY_KEY["run.strategy"].choices or ()
    if key == "run.strategy" and value not in choices:
        raise ConfigError(
            f"{where}: run.strategy must be one of {', '.join(choices)}, or your own "
            f"rule as package.module:function; got {value!r}"
        )
    if key.startswith(USER_SECTION + "."):
        if user is None:
            return value
        if key not in user:
            raise ConfigError(
                f"{where}: unknown key {key!r}: no user rule that run.strategy or user.baselines names declares it"
            )
        return user[key].check(value, where)
    if key not in _BY_KEY:
        _unknown(key, where)
    return _BY_KEY[key].check(value, where)


def _user_function(ref: Any, where: str, key: str):
    try:
        return load_user(ref)
    except ConfigError as exc:
        raise ConfigError(f"{where}: {key} = {exc}") from None


def user_params(values: dict[str, Any], where: str = "config") -> dict[str, Param]:
    """The registry entries of the user code `values` names: `user.baselines` and each function's
    declared parameters as `user.<name>` (two functions may share a name only with one definition)."""
    listed = USER_BASELINES.check(values.get(BASELINES, ()), where)
    for ref in listed:
        if not is_ref(ref):
            raise ConfigError(f"{where}: {BASELINES}: {ref!r} is not package.module:function")
    refs = refs_in({**values, BASELINES: listed}, "run.strategy")
    if not refs:
        return {}
    out = {BASELINES: USER_BASELINES}
    owner: dict[str, str] = {}
    for ref in refs:
        fn = _user_function(ref, where, BASELINES if ref in listed else "run.strategy")
        for name, s in fn.settings.items():
            p = Param(f"{USER_SECTION}.{name}", **s)
            if p.key in out and out[p.key] != p:
                raise ConfigError(f"{where}: {ref} and {owner[p.key]} both declare {p.key}, differently")
            out[p.key], owner[p.key] = p, ref
    return out


def params_for(values: dict[str, Any], where: str = "config") -> dict[str, Param]:
    """Every registry entry a configuration with `values` can set: the registry's and its user code's."""
    return {**_BY_KEY, **user_params(values, where)}


def _check_cross(values: dict[str, Any], where: str) -> None:
    start, end = values["run.start"], values["run.end"]
    if start and end and dt.date.fromisoformat(start) > dt.date.fromisoformat(end):
        raise ConfigError(f"{where}: run.start {start} is after run.end {end}")
    if values["hedge.roll_days"] >= values["hedge.tenor_days"]:
        raise ConfigError(f"{where}: hedge.roll_days must be below hedge.tenor_days")
    neutral = (
        values["strategy.neutral_iwm"]
        + values["strategy.neutral_vo"]
        + values["strategy.neutral_ousm"]
        + values["strategy.neutral_cyclicals"]
    )
    if neutral > 1.0 + 1e-9:
        raise ConfigError(
            f"{where}: strategy.neutral_iwm + neutral_vo + neutral_ousm + neutral_cyclicals = {neutral:g} "
            "exceeds 1 (no leverage)"
        )
    floor, ceiling = values["hedge.buy_vix_floor"], values["hedge.buy_vix_ceiling"]
    if ceiling > 0 and floor >= ceiling:
        raise ConfigError(
            f"{where}: hedge.buy_vix_floor {floor:g} must be below hedge.buy_vix_ceiling {ceiling:g} "
            "(else no put is ever bought; hedge.hedge_ratio = 0 says that)"
        )
    if values["hedge.small_cap_ratio_min"] > values["hedge.small_cap_ratio_max"]:
        raise ConfigError(f"{where}: hedge.small_cap_ratio_min must not exceed hedge.small_cap_ratio_max")
    if values["hedge.vol_floor"] > values["hedge.vol_cap"]:
        raise ConfigError(f"{where}: hedge.vol_floor must not exceed hedge.vol_cap")


def defaults() -> Config:
    return resolve()
