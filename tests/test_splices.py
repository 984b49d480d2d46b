"""The long history's market: every real splice passes its overlap check with the figures the
provenance measured, a wrong series fails it, the stand-ins are chained forward by returns on the
French calendar, and the option spot before RUT meets RUT / 10 on its first day."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fedcut.core.errors import DataError
from fedcut.core.params import defaults
from fedcut.data.catalog import FRENCH_FACTORS, FRENCH_SIZE, LONG_CHAINS, SMALL_CAP_SPOT_SCALE, SPLICE_LIMITS
from fedcut.data.market import build_market
from fedcut.data.splices import check_splice, stand_in_level

HOLDINGS = ("VO", "OUSM", "XLP", "XLU", "IEF", "XLI", "XLF", "ITB", "SPY")


@pytest.fixture(scope="module")
def long_market(source):
    return build_market(source, HOLDINGS, "", "", "long", defaults().data)


def _read(path) -> pd.DataFrame:
    return pd.read_csv(path, index_col=0, parse_dates=True, na_values=["."])


def _figures(a: pd.Series, b: pd.Series) -> tuple[float, float, float, float]:
    """Daily correlation, tracking error a year and 2007-09 drawdowns of two levels on shared days,
    computed here without the package."""
    both = pd.concat([a, b], axis=1, join="inner").dropna()
    r = both.pct_change().dropna()
    span = both.loc["2007-01-01":"2009-12-31"]
    dd = (span / span.cummax() - 1).min()
    return (r.iloc[:, 0].corr(r.iloc[:, 1]), (r.iloc[:, 0] - r.iloc[:, 1]).std() * np.sqrt(252), dd.iloc[0], dd.iloc[1])


def test_every_real_splice_passes_with_the_figures_measured_by_hand(source, shared_data):
    """Qnt 2 -> RU2000TR -> IWM, Qnt 3 -> MDY -> VO, the market -> SPY: each within the limits; the
    small caps' figures are the provenance's (correlation 0.993, 2.3% a year, -57.6% against -58.9%)."""
    french = _read(shared_data / FRENCH_SIZE)
    factors = _read(shared_data / FRENCH_FACTORS)
    by_hand = {
        "Qnt 2": (1 + french["Qnt 2"] / 100).cumprod(),
        "Qnt 3": (1 + french["Qnt 3"] / 100).cumprod(),
        "market": (1 + (factors["Mkt-RF"] + factors["RF"]) / 100).cumprod(),
        "RU2000TR": _read(shared_data / "macro" / "RU2000TR.csv").iloc[:, 0].dropna(),
    }
    for ticker in ("IWM", "VO", "SPY", "MDY"):
        by_hand[ticker] = _read(shared_data / "prices" / f"{ticker}.csv")["Adj Close"]
    pairs = [(t, chain[k], (*chain, t)[k + 1]) for t, chain in LONG_CHAINS.items() for k in range(len(chain))]
    assert len(pairs) == 5
    for ticker, before, after in pairs:
        levels = {
            n: (
                stand_in_level(source, n)
                if n in ("Qnt 2", "Qnt 3", "market", "RU2000TR")
                else source.prices(n)["adj_close"].rename(n)
            )
            for n in (before, after)
        }
        splice = check_splice(source, ticker, before, after, levels)
        corr, te, dd_before, dd_after = _figures(by_hand[before], by_hand[after])
        assert splice.correlation == pytest.approx(corr, abs=1e-9), (before, after)
        assert splice.tracking_error == pytest.approx(te, rel=1e-9), (before, after)
        assert splice.drawdowns == pytest.approx((dd_before, dd_after), abs=1e-9), (before, after)
        assert corr >= SPLICE_LIMITS.min_correlation and te <= SPLICE_LIMITS.max_tracking_error
        assert abs(dd_before - dd_after) <= SPLICE_LIMITS.max_drawdown_gap
    small = check_splice(
        source, "IWM", "Qnt 2", "RU2000TR", {n: stand_in_level(source, n) for n in ("Qnt 2", "RU2000TR")}
    )
    assert (round(small.correlation, 3), round(small.tracking_error, 3)) == (0.993, 0.023)
    assert (round(small.drawdowns[0], 3), round(small.drawdowns[1], 3)) == (-0.576, -0.589)


def test_a_wrong_series_fails_its_splice_with_both_files_and_every_figure(source):
    """Micro caps (`Lo 10`) standing in for small caps fail on every count: one line, both files."""
    wrong = source.french(FRENCH_SIZE)["Lo 10"]
    levels = {
        "Qnt 2": (100 * (1 + wrong / 100).cumprod()).rename("Qnt 2"),
        "RU2000TR": stand_in_level(source, "RU2000TR"),
    }
    with pytest.raises(DataError) as refused:
        check_splice(source, "IWM", "Qnt 2", "RU2000TR", levels)
    line = str(refused.value)
    assert "\n" not in line
    for fragment in (
        FRENCH_SIZE,
        "macro/RU2000TR.csv",
        "daily correlation 0.913",
        "tracking error 8.1% a year",
        "drawdowns -66.4% and -58.9%",
        "(correlation, tracking error, drawdown)",
    ):
        assert fragment in line, line


def test_stand_ins_are_chained_forward_by_returns_on_the_french_calendar(long_market, source, shared_data):
    m = long_market
    french = _read(shared_data / FRENCH_SIZE)
    assert m.days[0] == pd.Timestamp("1954-07-02") and m.close.loc[m.days[0], ["IWM", "VO", "SPY"]].eq(100.0).all()
    assert m.close.loc[m.days[0], ["OUSM", "XLP", "IEF"]].isna().all()  # no stand-in: cash until they exist
    before_iwm = m.days[m.days < pd.Timestamp("2000-05-26")]
    assert before_iwm.equals(
        pd.DatetimeIndex(french.index[(french.index >= m.days[0]) & (french.index < "2000-05-26")]).rename(
            before_iwm.name
        )
    )
    ret = m.close["IWM"].pct_change()
    early = m.days[(m.days > m.days[0]) & (m.days < pd.Timestamp("1978-12-29"))]
    np.testing.assert_allclose(ret[early], french["Qnt 2"].reindex(early) / 100, atol=1e-12)
    russell = _read(shared_data / "macro" / "RU2000TR.csv").iloc[:, 0].dropna()
    middle = m.days[(m.days >= pd.Timestamp("1979-01-02")) & (m.days < pd.Timestamp("2000-05-26"))]
    np.testing.assert_allclose(ret[middle], (russell / russell.shift(1)).reindex(middle) - 1, rtol=1e-9)
    spy = m.close["SPY"].pct_change()
    factors = _read(shared_data / FRENCH_FACTORS)
    market_days = m.days[(m.days > m.days[0]) & (m.days < pd.Timestamp("1993-01-29"))]
    np.testing.assert_allclose(
        spy[market_days], (factors["Mkt-RF"] + factors["RF"]).reindex(market_days) / 100, atol=1e-12
    )
    spans = [p.describe() for p in m.proxies]
    assert spans[:2] == ["IWM <- Qnt 2 1954-07-02..1978-12-28", "IWM <- RU2000TR 1978-12-29..2000-05-25"]
    assert "SPY <- market 1954-07-02..1993-01-28" in spans and "VO <- Qnt 3 1954-07-02..1995-05-03" in spans
    assert sum(n.startswith("splice checked: ") for n in m.notes) == 5


def test_the_spot_before_rut_is_the_small_cap_level_scaled_to_meet_rut_over_ten(long_market, source):
    """The constant is refitted from the data: the chained small-cap level on RUT's first day against
    RUT / 10 there. Before that day the spot holds dividends (yield 0) and its option unit is the scale."""
    m = long_market
    first = source.prices("RUT").index[0]
    fitted = source.prices("RUT")["close"][first] / 10 / m.close["IWM"][first]
    assert SMALL_CAP_SPOT_SCALE == pytest.approx(fitted, rel=1e-5)
    before = m.days < first
    np.testing.assert_array_equal(m.spot[before], m.close["IWM"][before] * SMALL_CAP_SPOT_SCALE)
    assert (
        m.spot[~before & (m.days < pd.Timestamp("2000-05-26"))]
        == source.prices("RUT")["close"].reindex(m.days[~before & (m.days < pd.Timestamp("2000-05-26"))]) / 10
    ).all()
    assert m.spot_total_return[before].all() and not m.spot_total_return[~before].any()
    assert (m.option_unit[before] == SMALL_CAP_SPOT_SCALE).all() and (m.option_unit[~before] == 1.0).all()
    day_before = m.days[before][-1]
    assert abs(m.spot[day_before] / m.spot[first] - 1) < 0.05  # continuous: one day's move apart
