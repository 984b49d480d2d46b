"""The seed's claims about IWM's falls after the 2000, 2007 and 2019 cuts, measured on the data.

Each claim is measured two ways: the calendar-year return the wording suggests, and the
peak-to-trough drawdown of IWM's total return (`Adj Close`) in a window around the fall,
with its dates. The verdict compares the claimed fall with the peak-to-trough:

- "holds": the measured fall is within CLAIM_TOLERANCE of the claim;
- "overstated": the measured fall is shallower than claimed by more than CLAIM_TOLERANCE;
- "understated": the measured fall is deeper than claimed by more than CLAIM_TOLERANCE.

The note says when the calendar-year return tells a different story, when the data starts
after the window opens, and (given a price-only series) what the fall was without dividends.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from fedcut.analyzers.performance import iso_date, max_drawdown

# 5 percentage points: the seed quotes round numbers, and price vs total return or the
# choice of index vs ETF moves a multi-year fall by a few points.
CLAIM_TOLERANCE = 0.05


@dataclass(frozen=True)
class Claim:
    """One stated fall and where to look for it."""

    text: str  # as the seed words it
    claimed: float  # the fall it asserts, as a negative fraction
    window: tuple[str, str]  # first and last month searched for the peak and the trough
    year: int  # calendar year whose return is shown beside it
    to_low_in: str | None = None  # month: the year's return runs only to this month's low


COLUMNS = [
    "claim",
    "claimed",
    "measured",
    "verdict",
    "calendar_year_return",
    "peak",
    "trough",
    "peak_to_trough",
    "dates_used",
    "note",
]

SEED_CLAIMS = (
    Claim("IWM fell -44% in 2001", -0.44, ("2000-01", "2002-12"), 2001),
    Claim("IWM fell -50% by early 2009", -0.50, ("2007-01", "2009-06"), 2008),
    Claim("IWM fell -40% by Mar 2020", -0.40, ("2019-07", "2020-06"), 2020, to_low_in="2020-03"),
)


def verdict(claimed: float, measured: float, tolerance: float = CLAIM_TOLERANCE) -> str:
    """'holds', 'overstated' (measured fall shallower by more than tolerance) or 'understated' (deeper).

    Both are negative fractions; 'holds' includes a gap of exactly the tolerance."""
    shallower_by = measured - claimed
    if shallower_by > tolerance:
        return "overstated"
    if shallower_by < -tolerance:
        return "understated"
    return "holds"


def check_claims(iwm_total_return: pd.Series, iwm_price: pd.Series | None = None) -> pd.DataFrame:
    """One row per seed claim: the claimed and measured fall, the verdict, the calendar-year
    return, and the peak and trough dates. `measured` is the total-return peak-to-trough (the
    same number as `peak_to_trough`): the one figure the verdict compares.

    `iwm_price` is an optional price-only series (IWM `Close`, or the Russell 2000 index,
    which also covers the months before IWM's 2000-05-26 inception); its fall is reported in
    the note, not used for the verdict.
    """
    rows = [_check(claim, iwm_total_return, iwm_price) for claim in SEED_CLAIMS]
    return pd.DataFrame(rows, columns=COLUMNS)


def calendar_year_return(series: pd.Series, claim: Claim) -> tuple[float | None, str]:
    """The claim year's return from the previous year's last close to its last close (or to
    the lowest close of `claim.to_low_in`), and the dates it used."""
    before = series.loc[: f"{claim.year - 1}-12-31"]
    span = claim.to_low_in or str(claim.year)
    period = series.loc[span:span]
    if before.empty or period.empty:
        return None, f"{_year_label(claim)}: not covered by the data"
    end = period.idxmin() if claim.to_low_in else period.index[-1]
    used = f"{_year_label(claim)}: {iso_date(before.index[-1])} to {iso_date(end)}"
    return float(series[end] / before.iloc[-1] - 1.0), used


def _verb(said: str) -> str:
    return said if said == "holds" else f"is {said}"


def _year_label(claim: Claim) -> str:
    return f"{claim.year} to its {claim.to_low_in} low" if claim.to_low_in else f"{claim.year} calendar year"


def _check(claim: Claim, total_return: pd.Series, price: pd.Series | None) -> dict:
    first, last = claim.window
    searched = total_return.loc[first:last]
    year_return, year_used = calendar_year_return(total_return, claim)
    row = {"claim": claim.text, "claimed": claim.claimed, "calendar_year_return": year_return}
    if searched.empty:
        return row | {"verdict": "no data", "dates_used": year_used, "note": f"no data in {first} to {last}"}
    fall = max_drawdown(searched)
    gap = fall.depth - claim.claimed
    notes = [f"measured fall {abs(gap) * 100:.1f} pp {'shallower' if gap > 0 else 'deeper'} than claimed"]
    if total_return.index[0] > pd.Period(first, "M").start_time:
        notes.append(
            f"data starts {iso_date(searched.index[0])}, after the window opens ({first}): an earlier peak is not seen"
        )
    if year_return is not None and abs(year_return - claim.claimed) > CLAIM_TOLERANCE:
        notes.append(
            f"{_year_label(claim)} return {year_return:+.1%} differs from the claim: "
            f"the fall ran from {iso_date(fall.peak)} to {iso_date(fall.trough)}"
        )
    if price is not None and not price.loc[first:last].empty:
        price_fall = max_drawdown(price.loc[first:last])
        notes.append(
            f"price only (no dividends): {price_fall.depth:.1%} from {iso_date(price_fall.peak)} "
            f"to {iso_date(price_fall.trough)}, on which the claim {_verb(verdict(claim.claimed, price_fall.depth))}"
        )
    return row | {
        "measured": fall.depth,
        "verdict": verdict(claim.claimed, fall.depth),
        "peak": iso_date(fall.peak),
        "trough": iso_date(fall.trough),
        "peak_to_trough": fall.depth,
        "dates_used": f"{year_used}; fall searched {iso_date(searched.index[0])} to {iso_date(searched.index[-1])}",
        "note": "; ".join(notes),
    }
