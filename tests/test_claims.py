from pathlib import Path

import pandas as pd
import pytest

from fedcut.analyzers.claims import CLAIM_TOLERANCE, COLUMNS, check_claims, verdict
from fedcut.data.sources import DataSource, default_data_dir

DATA_DIR = default_data_dir() or Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture(scope="module")
def prices():
    return DataSource(data_dir=DATA_DIR, offline=True)


@pytest.fixture(scope="module")
def table(prices):
    return check_claims(prices.prices("IWM")["adj_close"], prices.prices("RUT")["close"]).set_index("claim")


def test_verdict_rule():
    assert CLAIM_TOLERANCE == 0.05
    assert verdict(-0.44, -0.40) == "holds"
    assert verdict(-0.44, -0.48) == "holds"
    assert verdict(-0.44, -0.38) == "overstated"
    assert verdict(-0.50, -0.586) == "understated"
    assert verdict(-0.40, -0.30, tolerance=0.15) == "holds"


# Facts (IWM Adj Close): 2000-07-17 -> 2002-10-09 -38.7%; 2007-07-13 -> 2009-03-09 -58.6%;
# 2020-01-16 -> 2020-03-23 -41.1%; RUT price 2000-03-09 -> 2002-10-09 -46.0%.
@pytest.mark.parametrize(
    "claim, peak, trough, fall, said",
    [
        ("IWM fell -44% in 2001", "2000-07-17", "2002-10-09", -0.387, "overstated"),
        ("IWM fell -50% by early 2009", "2007-07-13", "2009-03-09", -0.586, "understated"),
        ("IWM fell -40% by Mar 2020", "2020-01-16", "2020-03-23", -0.411, "holds"),
    ],
)
def test_claims_on_real_iwm(table, claim, peak, trough, fall, said):
    row = table.loc[claim]
    assert (row.peak, row.trough, row.verdict) == (peak, trough, said)
    assert row.peak_to_trough == pytest.approx(fall, abs=0.002)
    assert row.measured == row.peak_to_trough


def test_calendar_year_returns_and_notes(table, prices):
    adj = prices.prices("IWM")["adj_close"]
    y2001, y2008, y2020 = (table.loc[c] for c in table.index)
    assert y2001.calendar_year_return == pytest.approx(adj["2001"].iloc[-1] / adj["2000"].iloc[-1] - 1)
    assert y2001.calendar_year_return > 0  # 2001 itself was no -44% year
    assert "2001 calendar year return +1.8% differs from the claim" in y2001.note
    assert "data starts 2000-05-26" in y2001.note
    assert "price only (no dividends): -46.0% from 2000-03-09 to 2002-10-09, on which the claim holds" in y2001.note
    assert y2008.calendar_year_return == pytest.approx(-0.341, abs=0.002)
    assert y2020.calendar_year_return == pytest.approx(adj["2020-03-23"] / adj["2019-12-31"] - 1)
    assert y2020.dates_used.startswith("2020 to its 2020-03 low: 2019-12-31 to 2020-03-23")


def test_table_shape_without_price():
    days = pd.bdate_range("2019-01-01", "2020-12-31")
    flat = pd.Series(100.0, index=days)
    flat["2020-02-03":"2020-02-28"] = 62.0
    table = check_claims(flat)
    assert list(table.columns) == COLUMNS
    assert table.verdict.tolist() == ["no data", "no data", "holds"]
    last = table.iloc[-1]
    assert (last.peak, last.trough, last.measured) == ("2020-01-31", "2020-02-03", pytest.approx(-0.38))
    assert "price only" not in last.note
