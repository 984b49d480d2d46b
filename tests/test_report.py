"""The run report: P&L attribution that adds up, the pictures, the claims and one offline HTML page."""
from __future__ import annotations

import json
import re

import pandas as pd
import pytest

from fedcut.analyzers.attribution import attribution, daily_attribution, hedge_pnl
from fedcut.analyzers.report import PLOTS, REPORT_FILES, load_run, render
from fedcut.errors import DataError

D = pd.Timestamp
ETF_BLANKS = dict(strike=float("nan"), expiry=None)


def hand_example():
    """Four days, 1000 USD: IWM bought at 100 and sold at 99, XLP bought at 10, one put bought and sold.

    Cash: d1 +2 interest, -500 -1 (5 IWM), -50 -0.65 (1 put at 0.50) = 450.35
          d2 +1 interest, +80 -0.65 (put sold at 0.80), -30 -0.3 (3 XLP) = 500.40
          d3 +0.6 interest, +495 -0.5 (5 IWM at 99) = 995.50
    Closes: IWM 102, 98; XLP 11, 12; the put is marked at 40 USD on d1.
    """
    days = pd.bdate_range("2020-01-06", periods=4)
    cash = [1000.0, 450.35, 500.40, 995.50]
    iwm = [0.0, 510.0, 490.0, 0.0]
    xlp = [0.0, 0.0, 33.0, 36.0]
    option = [0.0, 40.0, 0.0, 0.0]
    value = [c + a + b + o for c, a, b, o in zip(cash, iwm, xlp, option)]
    equity = pd.DataFrame({"date": days.strftime("%Y-%m-%d"), "strategy": value, "benchmark": 1000.0,
                           "regime": "neutral", "cash": cash, "option_value": option,
                           "w_IWM": [a / v for a, v in zip(iwm, value)], "w_XLP": [b / v for b, v in zip(xlp, value)]})
    put = dict(instrument="IWM P 2020-04-06 K=150.0", strike=150.0, expiry="2020-04-06")
    trades = pd.DataFrame([
        dict(date=days[1], instrument="IWM", action="buy", quantity=5, price=100.0, value=500.0, commission=1.0, **ETF_BLANKS),
        dict(date=days[1], action="buy", quantity=1, price=0.5, value=50.0, commission=0.65, **put),
        dict(date=days[2], action="sell", quantity=-1, price=0.8, value=-80.0, commission=0.65, **put),
        dict(date=days[2], instrument="XLP", action="buy", quantity=3, price=10.0, value=30.0, commission=0.3, **ETF_BLANKS),
        dict(date=days[3], instrument="IWM", action="sell", quantity=-5, price=99.0, value=-495.0, commission=0.5, **ETF_BLANKS),
        dict(date=days[3], instrument="IWM", action="rejected", quantity=7, price=99.0, value=0.0, commission=0.0, **ETF_BLANKS),
    ])
    return equity, trades


def test_attribution_by_hand():
    equity, trades = hand_example()
    table = attribution(equity, trades).set_index("component")
    expected = {"IWM": -5.0, "rotation": 0.0, "defensives": 6.0, "cash interest": 3.6, "puts": 30.0,
                "costs": -(1.0 + 0.65 + 0.65 + 0.3 + 0.5)}
    assert list(table.index) == list(expected)
    for component, pnl in expected.items():
        assert table.loc[component, "pnl_usd"] == pytest.approx(pnl, abs=1e-9), component
    assert table.attrs["total_pnl"] == pytest.approx(31.5)
    assert table["pnl_usd"].sum() == pytest.approx(31.5, rel=1e-12)
    assert table.loc["puts", "share_of_total"] == pytest.approx(30.0 / 31.5)
    daily = daily_attribution(equity, trades)
    assert daily["IWM"].tolist() == pytest.approx([0.0, 10.0, -20.0, 5.0])
    assert daily["puts"].tolist() == pytest.approx([0.0, -10.0, 40.0, 0.0])
    assert hedge_pnl(equity, trades).iloc[-1] == pytest.approx(30.0 - 1.3)  # after option commissions


def test_attribution_refuses_a_trade_it_cannot_place():
    equity, trades = hand_example()
    with pytest.raises(DataError, match="VO was traded"):
        attribution(equity, pd.concat([trades, trades.iloc[[0]].assign(instrument="VO")]))


# ---- real runs ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def runs(shared_data, tmp_path_factory):
    from fedcut.params import resolve
    from fedcut.run import run, write_run
    return {name: write_run(run(resolve(overrides), shared_data, True), tmp_path_factory.mktemp(name) / "r")
            for name, overrides in (("default", {}), ("oracle", {"run.oracle": True}))}


@pytest.fixture(scope="module")
def rendered(runs, source):
    return {name: render(folder, source) for name, folder in runs.items()}


def _without_images(page: str) -> str:
    return re.sub(r"base64,[A-Za-z0-9+/=]+", "base64,", page)


def test_attribution_adds_up_on_a_real_run(runs):
    saved = load_run(runs["default"])
    table = attribution(saved.equity, saved.trades)
    total = saved.metrics["strategy"]["final_value"] - saved.equity["strategy"].iloc[0]
    assert table["pnl_usd"].sum() == pytest.approx(total, rel=1e-6)
    assert table.attrs["total_pnl"] == pytest.approx(total, rel=1e-9)
    parts = table.set_index("component")["pnl_usd"]
    assert parts["cash interest"] == pytest.approx(saved.metrics["interest_earned"], abs=1.0)
    hedge = saved.metrics["hedge"]
    final_marks = saved.equity["option_value"].iloc[-1]
    assert hedge_pnl(saved.equity, saved.trades).iloc[-1] == pytest.approx(hedge["net_cash"] + final_marks, abs=1.0)
    assert parts["costs"] < 0  # commissions cost something


def test_report_writes_every_file(runs, rendered):
    for name, folder in runs.items():
        assert rendered[name] == folder / "report.html"
        for file in REPORT_FILES:
            assert (folder / file).is_file() and (folder / file).stat().st_size > 0, f"{name}: {file}"
        assert not list(folder.glob(".report-*")), "scratch folder left behind"
        table = pd.read_csv(folder / "attribution.csv")
        parts, total = table.iloc[:-1], table.iloc[-1]
        assert total["component"].startswith("total")
        assert parts["pnl_usd"].sum() == pytest.approx(total["pnl_usd"], rel=1e-6)


def test_html_is_self_contained(rendered):
    page = rendered["default"].read_text()
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", page, re.I)
    assert "url(" not in page and "<link" not in page and "<script" not in page
    images = re.findall(r'<img alt="([^"]+)" src="data:image/png;base64,[A-Za-z0-9+/=]{1000,}"', page)
    assert set(PLOTS) <= set(images)
    text = _without_images(page)
    assert "ORACLE" not in text
    for heading in ("Strategy against buy-and-hold", "Easing cycles", "P&amp;L came from", "Put hedge",
                    "claims", "Data provenance", "Resolved configuration", "Warnings"):
        assert heading in text
    assert "VO &lt;- MDY" in text  # the proxy is warned about
    assert re.search(r"[-+]\d+\.\d%", text)  # percentages formatted as such


def test_oracle_report_says_so(rendered):
    text = _without_images(rendered["oracle"].read_text())
    assert '<div class="oracle">ORACLE' in text
    assert "<title>ORACLE" in text


def test_claims_on_the_data(runs, rendered):
    claims = pd.read_csv(runs["default"] / "claims.csv").set_index("claim")
    assert {"measured", "verdict", "peak", "trough", "dates_used"} <= set(claims.columns)
    facts = [("IWM fell -44% in 2001", "2000-07-17", "2002-10-09", -0.387, "overstated"),
             ("IWM fell -50% by early 2009", "2007-07-13", "2009-03-09", -0.586, "understated"),
             ("IWM fell -40% by Mar 2020", "2020-01-16", "2020-03-23", -0.411, "holds")]
    assert len(claims) == 3
    for claim, peak, trough, fall, said in facts:
        row = claims.loc[claim]
        assert (row.peak, row.trough, row.verdict) == (peak, trough, said)
        assert row.measured == pytest.approx(fall, abs=0.0005)


def test_rerender_owns_only_its_files_and_is_deterministic(runs, rendered, source):
    folder = runs["default"]
    kept = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in folder.rglob("*")
            if p.is_file() and p.relative_to(folder).as_posix() not in REPORT_FILES}
    assert {"metrics.json", "equity.csv", "trades.csv", "signals.csv"} <= {p.name for p in kept}
    before = (folder / "report.html").read_bytes()
    render(folder, source)
    assert (folder / "report.html").read_bytes() == before
    for path, (data, mtime) in kept.items():
        assert path.read_bytes() == data and path.stat().st_mtime_ns == mtime, path.name
    assert json.loads((folder / "metrics.json").read_text())["run"]["oracle"] is False


def test_render_refuses_a_folder_that_is_not_a_run(tmp_path, source):
    with pytest.raises(DataError, match="no metrics.json"):
        render(tmp_path, source)
