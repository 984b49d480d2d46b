"""What the project trades and reads: instruments, their inception and proxies, and macro series
with the rule that says when each observation became known.

Facts from `../shared/notes/domain.md`; the files themselves are the final word on first dates.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Instrument:
    ticker: str
    role: str
    first_date: str  # first row in the reference data (documented, checked by `data status`)
    proxy: str | None = None  # instrument that stands in before first_date
    total_return: str = "adj_close"  # column with dividends folded in
    traded: str | None = None  # column with the price that really traded (split-adjusted), if any
    kind: str = "etf"  # etf | index | yield
    yahoo: str | None = None  # Yahoo symbol when it differs from the ticker


INSTRUMENTS: dict[str, Instrument] = {i.ticker: i for i in (
    Instrument("IWM", "small caps (Russell 2000)", "2000-05-26", proxy="RUT", traded="close"),
    Instrument("VO", "mid caps", "2004-01-30", proxy="MDY"),
    Instrument("OUSM", "quality small caps", "2016-12-30", proxy="IJR"),
    Instrument("IJH", "mid-cap proxy for VO", "2000-05-26"),
    Instrument("IJR", "S&P 600 small caps, proxy for OUSM", "2000-05-26"),
    Instrument("MDY", "mid-cap proxy", "1995-05-04", traded="close"),
    Instrument("SPY", "S&P 500, context benchmark", "1993-01-29", traded="close"),
    Instrument("XLP", "consumer staples (defensive)", "1998-12-22"),
    Instrument("XLU", "utilities (defensive)", "1998-12-22"),
    Instrument("TLT", "long Treasuries", "2002-07-30", traded="close"),
    Instrument("IEF", "7-10y Treasuries", "2002-07-30", traded="close"),
    Instrument("SHY", "1-3y Treasuries", "2002-07-30", traded="close"),
    Instrument("RUT", "Russell 2000 price index (IWM proxy before 2000-05-26)", "1987-09-10",
               total_return="close", traded="close", kind="index", yahoo="^RUT"),
    Instrument("VIX", "S&P 500 implied volatility", "1990-01-02",
               total_return="close", traded="close", kind="index", yahoo="^VIX"),
)}


@dataclass(frozen=True)
class MacroSeries:
    series_id: str
    frequency: str  # D, W, M
    units: str
    lag_rule: str  # see data.asof.known_dates
    stale_days: int  # a series whose last observation is older than this at the run's end is stale
    about: str
    # The day the series itself was first published, for a model index whose earlier history is a
    # reconstruction nobody could see at the time (only the month is known: its first day).
    first_published: str | None = None


MACRO: dict[str, MacroSeries] = {m.series_id: m for m in (
    MacroSeries("DFEDTAR", "D", "%", "policy", 10_000, "fed funds target (to 2008-12-15), dated on the decision day"),
    MacroSeries("DFEDTARU", "D", "%", "policy", 14, "fed funds target range upper bound (from 2008-12-16), dated on the effective day"),
    MacroSeries("DFEDTARL", "D", "%", "policy", 14, "fed funds target range lower bound (from 2008-12-16)"),
    MacroSeries("DFF", "D", "%", "market_daily", 10, "effective fed funds rate"),
    MacroSeries("DTB3", "D", "% discount", "market_daily", 10, "3-month T-bill, bank-discount yield"),
    MacroSeries("DGS2", "D", "%", "market_daily", 10, "2-year Treasury yield"),
    MacroSeries("DGS3MO", "D", "%", "market_daily", 10, "3-month Treasury yield (constant maturity)"),
    MacroSeries("DGS10", "D", "%", "market_daily", 10, "10-year Treasury yield"),
    MacroSeries("DFII10", "D", "%", "market_daily", 10, "10-year TIPS real yield (from 2003)"),
    MacroSeries("BAMLH0A0HYM2", "D", "%", "market_daily", 10, "ICE BofA high-yield OAS (from 1996-12-31)"),
    MacroSeries("BAA10Y", "D", "%", "market_daily", 10, "Moody's Baa minus 10-year yield"),
    MacroSeries("CPIAUCSL", "M", "index", "cpi", 75, "CPI, all items"),
    MacroSeries("CPILFESL", "M", "index", "cpi", 75, "core CPI"),
    MacroSeries("UNRATE", "M", "%", "jobs", 75, "unemployment rate"),
    MacroSeries("SAHMREALTIME", "M", "pp", "jobs", 75, "real-time Sahm rule indicator"),
    MacroSeries("ICSA", "W", "claims", "weekly_claims", 21, "initial jobless claims, week ending Saturday"),
    MacroSeries("NFCI", "W", "index", "weekly_nfci", 21, "Chicago Fed financial conditions (first published May 2011)",
                first_published="2011-05-01"),
    MacroSeries("STLFSI4", "W", "index", "weekly_stlfsi", 21,
                "St. Louis Fed financial stress (data from 1993-12-31; first published January 2010)",
                first_published="2010-01-01"),
    MacroSeries("USREC", "M", "0/1", "label", 10_000, "NBER recession months: evaluation label only, never a signal"),
)}

# Series whose early history is a later reconstruction (see MacroSeries.first_published).
BACKFILLED = {sid: m.first_published for sid, m in MACRO.items() if m.first_published}
BACKFILLED_LABEL = ("BACKFILLED INDICES: " + ", ".join(f"{sid} before {day}" for sid, day in BACKFILLED.items())
                    + " are reconstructions published later (data.allow_backfilled_indices)")

# The FRED series the regime signal needs (USREC is only a label for evaluation).
REGIME_SERIES = tuple(s for s in MACRO if MACRO[s].lag_rule != "label")
