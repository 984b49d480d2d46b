"""What the project trades and reads: instruments, their inception and proxies, and macro series
with the rule that says when each observation became known.

Facts from `../shared/notes/domain.md`; the files themselves are the final word on first dates.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Plausible:
    """The range a series' values can take; outside it a value is broken, not a market event."""

    lo: float
    hi: float
    why: str


# Plausibility limits (`data/plausible.py`), each far outside everything in the real history
# (`../shared/data`, measured), so real data passes and only a broken value, a bad download or a
# wrong file is refused, with its file, date and value: a wrong number must never pass silently.
PRICE_RANGE = Plausible(
    0.01, 1e6, "every catalogued price has closed between $3.3 (XLU 1998, adjusted) and 7,800 (S&P 500 index)"
)
RATE_RANGE = Plausible(-5.0, 30.0, "US rates since 1954 stayed between -0.05% (DTB3 2020) and 22.4% (DFF 1981)")
# A one-day move (log return) this large that the next day takes back by half or more is a bad
# print; the largest reversed move in the data is 0.135 (IWM's open, 2008-10-10).
SPIKE_MOVE = 0.25
# A one-day move (log return) beyond this, reversed or not, is no market move of a diversified ETF
# or index (the largest in the data: S&P 500 -20.5% = -0.229 on 1987-10-19); an unadjusted 2:1
# split is -0.69, a 3:2 split -0.41.
MAX_MOVE = 0.5
# An ETF's close and its index's close moved within 0.03 (log) of each other every day (IWM
# against RUT at most 0.029, 2020-03-18); a 5:4 split not adjusted for is a 0.22 gap.
TRACKING_LIMIT = 0.10
CPI_RANGE = Plausible(1.0, 10_000.0, "a price index, 1982-84 = 100: 21.5 in 1947, 327 in 2026")
YIELD_FILES = ("IRX", "TNX")  # Yahoo yield indexes in %: zero or negative is possible, moves are not returns


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
    tracks: str | None = None  # index whose daily returns the ETF's must match (TRACKING_LIMIT)
    valid: Plausible = PRICE_RANGE
    spike_move: float = SPIKE_MOVE
    max_move: float | None = MAX_MOVE  # None: large moves are real for this series (VIX)


INSTRUMENTS: dict[str, Instrument] = {
    i.ticker: i
    for i in (
        Instrument("IWM", "small caps (Russell 2000)", "2000-05-26", proxy="RUT", traded="close", tracks="RUT"),
        Instrument("VO", "mid caps", "2004-01-30", proxy="MDY"),
        Instrument("OUSM", "quality small caps", "2016-12-30", proxy="IJR"),
        Instrument("IJH", "mid-cap proxy for VO", "2000-05-26"),
        Instrument("IJR", "S&P 600 small caps, proxy for OUSM", "2000-05-26"),
        Instrument("MDY", "mid-cap proxy", "1995-05-04", traded="close"),
        Instrument("SPY", "S&P 500, context benchmark", "1993-01-29", proxy="GSPC", traded="close"),
        Instrument(
            "GSPC",
            "S&P 500 price index (SPY proxy before 1993-01-29)",
            "1927-12-30",
            total_return="close",
            traded="close",
            kind="index",
            yahoo="^GSPC",
        ),
        Instrument("XLP", "consumer staples (defensive)", "1998-12-22"),
        Instrument("XLU", "utilities (defensive)", "1998-12-22"),
        Instrument("XLI", "industrials (large-cap cyclical)", "1998-12-22"),
        Instrument("XLF", "financials (large-cap cyclical; bank stress before KBE)", "1998-12-22"),
        Instrument("ITB", "home builders (large-cap cyclical)", "2006-05-05"),
        Instrument("KBE", "banks (bank stress before KRE)", "2005-11-15"),
        Instrument("KRE", "regional banks (bank stress)", "2006-06-22"),
        Instrument("TLT", "long Treasuries", "2002-07-30", traded="close"),
        Instrument("IEF", "7-10y Treasuries", "2002-07-30", traded="close"),
        Instrument("SHY", "1-3y Treasuries", "2002-07-30", traded="close"),
        Instrument(
            "RUT",
            "Russell 2000 price index (IWM proxy before 2000-05-26)",
            "1987-09-10",
            total_return="close",
            traded="close",
            kind="index",
            yahoo="^RUT",
        ),
        # VIX more than doubled in a day (2018-02-05, +115% = 0.77) and halves back within weeks: only
        # a fourfold-and-back spike is refused, and no single move; its level bounds it instead.
        Instrument(
            "VIX",
            "S&P 500 implied volatility",
            "1990-01-02",
            total_return="close",
            traded="close",
            kind="index",
            yahoo="^VIX",
            valid=Plausible(
                5.0,
                200.0,
                "VIX has closed between 9.1 (2017) and 82.7 (2020); the S&P 500's "
                "implied volatility outside 5..200 is not a market",
            ),
            spike_move=1.5,
            max_move=None,
        ),
    )
}


# --- the long history's files outside prices/ and macro/ ----------------------------------------------------
FRENCH_SIZE = "french/size_deciles_vw_daily.csv"  # Ken French's size portfolios, daily returns in %
FRENCH_FACTORS = "french/ff3_factors_daily_202505.csv"  # Fama-French factors of the same CRSP vintage (202505)
ROMER_FILE = "policy/romer_romer_fomc_1969_1996.csv"  # Romer and Romer (2004): the intended rate at each meeting
ROMER_COLUMNS = ("date", "DTARG", "OLDTARG")
ROMER_FIRST = "1969-01-14"  # the record's first meeting
# A daily return of a size portfolio or the market, in percent: the files' extremes are -19.7% (Hi 10,
# 1987-10-19) and +34.6% (Lo 10, 1939-09-05); -99.99 is French's own missing-value marker.
FRENCH_RETURN = Plausible(
    -50.0, 100.0, "daily returns in the French files stayed between -19.7% and +34.6%; -99.99 marks a missing return"
)


@dataclass(frozen=True)
class MacroSeries:
    series_id: str
    first_date: str  # first observation in the reference data: a file starting later is cut short
    frequency: str  # D, W, M
    units: str
    lag_rule: str  # see data.asof.known_dates
    stale_days: int  # a series whose last observation is older than this at the run's end is stale
    about: str
    valid: Plausible | None = None  # values outside are refused when the file is read
    # The day the series itself was first published, for a model index whose earlier history is a
    # reconstruction nobody could see at the time (only the month is known: its first day).
    first_published: str | None = None
    # The day after the last observation of a series that is no longer published: past it the
    # series is discontinued, not stale (`fedcut now` says so).
    discontinued: str | None = None
    # A fallback of the long history: the series the rules read instead from the day its first
    # observation was known (`data.asof.first_known`); this one is read only before then.
    successor: str | None = None


MACRO: dict[str, MacroSeries] = {
    m.series_id: m
    for m in (
        MacroSeries(
            "DFEDTAR",
            "1982-09-27",
            "D",
            "%",
            "policy",
            10_000,
            "fed funds target (to 2008-12-15), dated on the decision day",
            valid=RATE_RANGE,
            discontinued="2008-12-16",
        ),
        MacroSeries(
            "DFEDTARU",
            "2008-12-16",
            "D",
            "%",
            "policy",
            14,
            "fed funds target range upper bound (from 2008-12-16), dated on the effective day",
            valid=RATE_RANGE,
        ),
        MacroSeries(
            "DFEDTARL",
            "2008-12-16",
            "D",
            "%",
            "policy",
            14,
            "fed funds target range lower bound (from 2008-12-16)",
            valid=RATE_RANGE,
        ),
        MacroSeries("DFF", "1954-07-01", "D", "%", "market_daily", 10, "effective fed funds rate", valid=RATE_RANGE),
        MacroSeries(
            "DTB3",
            "1954-01-04",
            "D",
            "% discount",
            "market_daily",
            10,
            "3-month T-bill, bank-discount yield",
            valid=RATE_RANGE,
        ),
        MacroSeries("DGS2", "1976-06-01", "D", "%", "market_daily", 10, "2-year Treasury yield", valid=RATE_RANGE),
        MacroSeries(
            "DGS3MO",
            "1981-09-01",
            "D",
            "%",
            "market_daily",
            10,
            "3-month Treasury yield (constant maturity)",
            valid=RATE_RANGE,
        ),
        MacroSeries("DGS10", "1962-01-02", "D", "%", "market_daily", 10, "10-year Treasury yield", valid=RATE_RANGE),
        MacroSeries(
            "DFII10",
            "2003-01-02",
            "D",
            "%",
            "market_daily",
            10,
            "10-year TIPS real yield (from 2003)",
            valid=Plausible(-10.0, 20.0, "the TIPS real yield stayed between -1.2% (2021) and 3.2% (2008)"),
        ),
        MacroSeries(
            "BAMLH0A0HYM2",
            "1996-12-31",
            "D",
            "%",
            "market_daily",
            10,
            "ICE BofA high-yield OAS (from 1996-12-31)",
            valid=Plausible(0.0, 50.0, "the HY OAS stayed between 2.4% (2007) and 21.8% (2008)"),
        ),
        MacroSeries(
            "BAA10Y",
            "1986-01-02",
            "D",
            "%",
            "market_daily",
            10,
            "Moody's Baa minus 10-year yield",
            valid=Plausible(0.0, 20.0, "Baa minus the 10-year yield stayed between 1.2 and 6.2 pp"),
        ),
        MacroSeries("CPIAUCSL", "1947-01-01", "M", "index", "cpi", 75, "CPI, all items", valid=CPI_RANGE),
        MacroSeries("CPILFESL", "1957-01-01", "M", "index", "cpi", 75, "core CPI", valid=CPI_RANGE),
        MacroSeries(
            "UNRATE",
            "1948-01-01",
            "M",
            "%",
            "jobs",
            75,
            "unemployment rate",
            valid=Plausible(0.0, 100.0, "a share of the labour force, in %"),
        ),
        MacroSeries(
            "SAHMREALTIME",
            "1959-12-01",
            "M",
            "pp",
            "jobs",
            75,
            "real-time Sahm rule indicator",
            valid=Plausible(-10.0, 50.0, "unemployment above its 12-month low: -0.4 to 9.5 pp since 1959"),
        ),
        MacroSeries(
            "ICSA",
            "1967-01-07",
            "W",
            "claims",
            "weekly_claims",
            21,
            "initial jobless claims, week ending Saturday",
            valid=Plausible(
                1e3, 5e7, "weekly initial claims stayed between 162 thousand (1968) and 6.1 million (2020)"
            ),
        ),
        MacroSeries(
            "NFCI",
            "1971-01-08",
            "W",
            "index",
            "weekly_nfci",
            21,
            "Chicago Fed financial conditions (first published May 2011)",
            valid=Plausible(-10.0, 30.0, "a standardised index: -1.1 to 5.2 since 1971"),
            first_published="2011-05-01",
        ),
        MacroSeries(
            "STLFSI4",
            "1993-12-31",
            "W",
            "index",
            "weekly_stlfsi",
            21,
            "St. Louis Fed financial stress (data from 1993-12-31; first published January 2010)",
            valid=Plausible(-10.0, 50.0, "a standardised index: -1.1 to 9.6 (2008) since 1993"),
            first_published="2010-01-01",
        ),
        MacroSeries(
            "TEDRATE",
            "1986-01-02",
            "D",
            "pp",
            "market_daily",
            100_000,
            "TED spread: 3-month LIBOR minus T-bill, a funding-stress gauge; discontinued 2022-01 (missing after, never a reason to end a run)",
            valid=Plausible(-2.0, 10.0, "the TED spread stayed between -0.1 and 4.6 pp (2008) since 1986"),
            discontinued="2022-01-22",
        ),
        # The long history's fallbacks (run.history = "long"), each read only before its successor existed.
        MacroSeries(
            "GS1",
            "1953-04-01",
            "M",
            "%",
            "monthly_average",
            75,
            "1-year Treasury yield, monthly average (cuts priced before DGS2)",
            valid=RATE_RANGE,
            successor="DGS2",
        ),
        MacroSeries(
            "GS10",
            "1953-04-01",
            "M",
            "%",
            "monthly_average",
            75,
            "10-year Treasury yield, monthly average (real yields before DGS10)",
            valid=RATE_RANGE,
            successor="DGS10",
        ),
        MacroSeries(
            "BAA10YM",
            "1953-04-01",
            "M",
            "pp",
            "monthly_average",
            75,
            "Moody's Baa minus the 10-year yield, monthly average (credit before BAA10Y)",
            valid=Plausible(0.0, 20.0, "Baa minus the 10-year yield stayed between 0.3 and 6.0 pp since 1953"),
            successor="BAA10Y",
        ),
        MacroSeries(
            "MDISCRT",
            "1950-01-01",
            "M",
            "%",
            "monthly_average",
            75,
            "discount rate, monthly average (the policy rate before Romer and Romer's record)",
            valid=RATE_RANGE,
            successor=ROMER_FILE,
        ),
        MacroSeries(
            "USREC",
            "1854-12-01",
            "M",
            "0/1",
            "label",
            10_000,
            "NBER recession months: evaluation label only, never a signal",
            valid=Plausible(0.0, 1.0, "a 0/1 label"),
        ),
    )
}

# How far apart a series' observations may lie, in calendar days, by frequency. The real files'
# longest gaps: 6 days (daily: the TED spread over a year's end), 7 (weekly), 61 (monthly: the
# October 2025 CPI and jobs reports, never published after the shutdown, the one missing month).
# A longer gap than GAP_NOTE_DAYS inside the span a run reads is named in its notes (more than a
# week of a daily series, a missing week or month); beyond GAP_LIMIT_DAYS (two weeks of a daily
# series, two missing weeks or months) the run is refused: one value would be carried across
# months in silence (DTB3 with a year deleted).
GAP_NOTE_DAYS = {"D": 7, "W": 7, "M": 31}
GAP_LIMIT_DAYS = {"D": 14, "W": 14, "M": 62}
# A macro file may start this long after its catalogued first observation (a download's first
# rows); later, it has been cut short, and a run that needs the missing start is refused.
START_SLACK_DAYS = {"D": 7, "W": 14, "M": 62}

# The bank-stress gauge's ETFs, most sensitive first: regional banks, banks, then all financials.
# Each is read from its first day (`Instrument.first_date`); a less sensitive one stands in only
# before a more sensitive one existed, never for a file that is short or holed.
BANK_ETFS = ("KRE", "KBE", "XLF")

# Series whose early history is a later reconstruction (see MacroSeries.first_published).
BACKFILLED = {sid: m.first_published for sid, m in MACRO.items() if m.first_published}
BACKFILLED_LABEL = (
    "BACKFILLED INDICES: "
    + ", ".join(f"{sid} before {day}" for sid, day in BACKFILLED.items())
    + " are reconstructions published later (data.allow_backfilled_indices)"
)

# The FRED series the regime signal needs in every history (USREC is only a label for evaluation),
# and those the long history reads besides, before their successors existed.
REGIME_SERIES = tuple(s for s in MACRO if MACRO[s].lag_rule != "label" and MACRO[s].successor is None)
LONG_SERIES = tuple(s for s in MACRO if MACRO[s].successor is not None)


def successor_first(series_id: str) -> str | None:
    """The first day of a fallback's successor (None for a series that has none): the fallback is
    read on days before it, at the latest until the successor's first observation is known."""
    successor = MACRO[series_id].successor
    if successor is None:
        return None
    return MACRO[successor].first_date if successor in MACRO else ROMER_FIRST


# --- the histories a run can cover (run.history) ----------------------------------------------------------
# iwm: from IWM's first day. extended: from VIX's first day, IWM proxied by the Russell 2000 price index
# plus dividends. long: from the first day on which every rule input has its series or its declared
# fallback: fed funds (DFF, from 1954-07-01) known the next business day; the bills (DTB3) start
# 1954-01-04, the monthly fallbacks (GS1, GS10, BAA10YM, MDISCRT) in 1950-1953, unemployment in 1948,
# the French portfolios in 1926. Core CPI's 6-month trend is first known in 1958-08: before it the
# headline CPI's 3-month trend alone says whether inflation is declining (either one may, `signals`).
HISTORY_START = {"extended": "1990-01-02", "long": "1954-07-02"}


@dataclass(frozen=True)
class StandIn:
    """A series the long history holds in an instrument's place before the instrument (or its modern
    proxy) existed: daily returns in percent summed over `columns` (French) or a FRED level (one column)."""

    name: str
    about: str
    path: str  # under the data directory
    columns: tuple[str, ...]
    first_date: str


STAND_INS: dict[str, StandIn] = {
    s.name: s
    for s in (
        StandIn("Qnt 2", "NYSE size quintile 2, value-weighted (Ken French)", FRENCH_SIZE, ("Qnt 2",), "1926-07-01"),
        StandIn("Qnt 3", "NYSE size quintile 3, value-weighted (Ken French)", FRENCH_SIZE, ("Qnt 3",), "1926-07-01"),
        StandIn("market", "US stock market, Mkt-RF + RF (Ken French)", FRENCH_FACTORS, ("Mkt-RF", "RF"), "1926-07-01"),
        StandIn(
            "RU2000TR",
            "Russell 2000 total-return index (FRED's copy)",
            "macro/RU2000TR.csv",
            ("RU2000TR",),
            "1978-12-29",
        ),
    )
}
# What holds each instrument's place in the long history, oldest first: each from its own first day
# until the next one's, then the instrument itself (`data.market` chains them forward by returns).
# Small caps: NYSE quintile 2, not `Lo 10` (micro caps, stale prices), until the Russell 2000
# total-return index (cleaner than Yahoo's ^RUT before 2002); mid caps: quintile 3 until MDY; the
# S&P 500 ETF: the whole market. Every other holding is cash before it (or its proxy) existed.
LONG_CHAINS = {"IWM": ("Qnt 2", "RU2000TR"), "VO": ("Qnt 3", "MDY"), "SPY": ("market",)}
# The long history's trading days before IWM's first day are the French files' (CRSP's NYSE days);
# RU2000TR's rows on other days (Sundays of 1999, 1992-04-17, 1994-04-27, 1997-12-25) are skipped.
LONG_CALENDAR = "Qnt 2"
# The option strike's spot before RUT's first day (1987-09-10) in the long history: the small-cap
# total-return level of the chain above (100 on the history's first day) times this constant, so that it
# meets RUT / 10 on that day (measured on the shared data; tests/test_splices.py refits it). A constant
# fixed here, not fitted on each run's data: contract counts before 1987 must not move with prices of
# 1987. Moneyness, returns and option values per dollar do not depend on a scale; the strike grid and
# the commission per contract would, so they are written per unit of this scale
# (`hedging.book.MarketInputs.unit`): puts before 1987 strike and pay as on the level itself.
SMALL_CAP_SPOT_SCALE = 0.00186933


@dataclass(frozen=True)
class SpliceLimits:
    """How closely a stand-in must follow the series it hands over to, on their overlap."""

    min_correlation: float  # of daily returns
    max_tracking_error: float  # standard deviation of the daily return difference, a year
    max_drawdown_gap: float  # between their deepest drawdowns of DRAWDOWN_SPAN, fraction points


# Measured on every real splice (daily correlation / tracking error / 2007-09 drawdowns): Qnt 2 into
# RU2000TR 0.993 / 2.3% / -57.6% against -58.9%; RU2000TR into IWM 0.986 / 4.0% / -58.9% against
# -58.6%; Qnt 3 into MDY 0.957 / 6.4% / -54.1% against -55.3%; MDY into VO 0.970 / 5.4% / -55.3% against
# -58.9%; the market into SPY 0.978 / 3.9% / -54.7% against -55.2%. A wrong series fails: micro caps
# (Lo 10) against RU2000TR 0.913 / 8.1% / -66.4%, the market against it 0.894 / 8.5%, large caps
# (Hi 20) 0.834 / 10.6%, quintile 1 (Lo 20) 0.958 / 5.5% but -65.3%.
SPLICE_LIMITS = SpliceLimits(min_correlation=0.95, max_tracking_error=0.07, max_drawdown_gap=0.05)
DRAWDOWN_SPAN = ("2007-01-01", "2009-12-31")

# --- the stress gauge and the puts' volatility by era ------------------------------------------------------
VXO_FIRST = "1986-01-02"  # Cboe's VXO (`macro/VXOCLS.csv`), the implied-volatility index it published then
VIX_PUBLISHED = "2003-09-22"  # Cboe's present VIX was launched: its values before are a back-calculation

# FRED-format files that hold market series, not macro inputs: their plausible values, and whether a
# one-day move is checked like a price's (`data.plausible.check_moves`).
MARKET_FRED = {
    "RU2000TR": (Plausible(1.0, 1e6, "the index stood between 100 (1978-12-29) and 8,632 (2018)"), True),
    "VXOCLS": (
        Plausible(
            5.0,
            200.0,
            "VXO closed between 6.3 and 150.2 (1987-10-19); an implied volatility outside 5..200 is not a market",
        ),
        False,
    ),
    "SKEW": (
        Plausible(
            50.0,
            300.0,
            "Cboe's SKEW closed between 101.2 (1991) and 183.1 (2021); 100 is a "
            "lognormal market, a value outside 50..300 is not a SKEW close",
        ),
        False,
    ),
}
# Market series of Cboe's own downloads (`cboe/<NAME>.csv`, FRED format): read from that folder.
CBOE_SERIES = ("SKEW",)
SKEW_PUBLISHED = "2011-02-23"  # Cboe began publishing SKEW on 2011-02-23 (its press release of 2011-02-07); its values before were computed then, each from its own day's S&P 500 option quotes
