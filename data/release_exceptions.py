"""Releases that came out later than the release rules say: the government shutdowns of 2013 and 2025.

`data.asof.known_dates` dates each observation by a rule (CPI on the 21st of the next month, the jobs
report on the first Friday on or after the 5th, the `data.*` lags). A release that a shutdown held
back is listed here with the day it actually came out; an observation of that release is known from
the later of the rule's day and that day, in the backtest and in `fedcut now` alike (both read macro
data only through `data.asof`). Only delays are applied: a release that came out earlier than the
rule says is still read on the rule's day, so this table can only remove information, never add it.

`release` is the lag rule the release's series follow (`jobs`: UNRATE, SAHMREALTIME; `cpi`:
CPIAUCSL, CPILFESL), `period` the month the observation refers to, `published` the day it came out.
Each row names where that date is stated. The October 2025 CPI and household survey were never
published (the data files have no value for that month), so they need no row.
"""

from __future__ import annotations

from typing import NamedTuple


class DelayedRelease(NamedTuple):
    release: str  # the lag rule of `data.asof.known_dates`
    period: str  # YYYY-MM: the month the observation refers to
    published: str  # YYYY-MM-DD: the day it actually came out
    source: str  # where that date is stated
    note: str


DELAYED_RELEASES = (
    DelayedRelease(
        "jobs",
        "2013-09",
        "2013-10-22",
        "https://www.bls.gov/blog/2013/post-government-shutdown-updates-new-bls-k-12-pages.htm",
        "September 2013 Employment Situation, due 2013-10-04; shutdown 2013-10-01..16",
    ),
    DelayedRelease(
        "cpi",
        "2013-09",
        "2013-10-30",
        "https://www.bls.gov/news.release/archives/cpi_10302013.htm",
        "September 2013 CPI, due 2013-10-16; shutdown 2013-10-01..16",
    ),
    DelayedRelease(
        "cpi",
        "2025-09",
        "2025-10-24",
        "https://trecome.info/articles/309ecff4-4704-435c-ae80-4ad659a69ef9",
        "September 2025 CPI, due 2025-10-15, published during the shutdown (2025-10-01..11-12)",
    ),
    DelayedRelease(
        "jobs",
        "2025-09",
        "2025-11-20",
        "https://www.livemint.com/economy/us-unemployment-rises-to-4-4-in-september-119-000-jobs-added-"
        "despite-government-shutdown-11763645440378.html",
        "September 2025 Employment Situation, due 2025-10-03",
    ),
    DelayedRelease(
        "jobs",
        "2025-10",
        "2025-12-16",
        "https://www.newsmax.com/finance/streettalk/october-jobs-report/2025/11/19/id/1235212/",
        "October 2025 payrolls, published with November's report; no October unemployment rate",
    ),
    DelayedRelease(
        "jobs",
        "2025-11",
        "2025-12-16",
        "https://twt-assets.washtimes.com/news/2025/nov/19/labor-department-skips-october-jobs-report-due-"
        "government-shutdown",
        "November 2025 Employment Situation, due 2025-12-05",
    ),
)
