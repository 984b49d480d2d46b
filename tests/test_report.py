"""The run report: P&L attribution that adds up, the pictures, the claims and one offline HTML page."""

from __future__ import annotations

import gc
import json
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fedcut.analyzers.attribution import attribution, daily_attribution, hedge_pnl
from fedcut.core.errors import DataError
from fedcut.report import pictures
from fedcut.report.page import render
from fedcut.report.schema import PICTURES, REPORT_FILES, read
from fedcut.signals.regime import ORACLE_LABEL
from fedcut.strategies.baselines import LABELS

pytestmark = pytest.mark.slow  # whole runs and commands: not in the edit-test loop

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
    equity = pd.DataFrame(
        {
            "date": days.strftime("%Y-%m-%d"),
            "strategy": value,
            "benchmark": 1000.0,
            "regime": "neutral",
            "cash": cash,
            "option_value": option,
            "w_IWM": [a / v for a, v in zip(iwm, value)],
            "w_XLP": [b / v for b, v in zip(xlp, value)],
        }
    )
    put = dict(instrument="IWM P 2020-04-06 K=150.0", strike=150.0, expiry="2020-04-06")
    trades = pd.DataFrame(
        [
            dict(
                date=days[1],
                instrument="IWM",
                action="buy",
                quantity=5,
                price=100.0,
                value=500.0,
                commission=1.0,
                **ETF_BLANKS,
            ),
            dict(date=days[1], action="buy", quantity=1, price=0.5, value=50.0, commission=0.65, **put),
            dict(date=days[2], action="sell", quantity=-1, price=0.8, value=-80.0, commission=0.65, **put),
            dict(
                date=days[2],
                instrument="XLP",
                action="buy",
                quantity=3,
                price=10.0,
                value=30.0,
                commission=0.3,
                **ETF_BLANKS,
            ),
            dict(
                date=days[3],
                instrument="IWM",
                action="sell",
                quantity=-5,
                price=99.0,
                value=-495.0,
                commission=0.5,
                **ETF_BLANKS,
            ),
            dict(
                date=days[3],
                instrument="IWM",
                action="rejected",
                quantity=7,
                price=99.0,
                value=0.0,
                commission=0.0,
                **ETF_BLANKS,
            ),
        ]
    )
    return equity, trades


def test_attribution_by_hand():
    equity, trades = hand_example()
    table = attribution(equity, trades).set_index("component")
    expected = {
        "IWM": -5.0,
        "rotation": 0.0,
        "defensives": 6.0,
        "cash interest": 3.6,
        "puts": 30.0,
        "costs": -(1.0 + 0.65 + 0.65 + 0.3 + 0.5),
    }
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
    from fedcut.core.params import resolve
    from fedcut.run.backtest import run
    from fedcut.run.folder import write_run

    return {
        name: write_run(run(resolve(overrides), shared_data, True), tmp_path_factory.mktemp(name) / "r")
        for name, overrides in (("default", {}), ("oracle", {"run.oracle": True}))
    }


@pytest.fixture(scope="module")
def fresh(runs):
    """Each run's report files as the run wrote them, rendered from memory."""
    return {name: {file: (folder / file).read_bytes() for file in REPORT_FILES} for name, folder in runs.items()}


@pytest.fixture(scope="module")
def rendered(runs, fresh, source):
    """Each run's report rendered again from its folder, as `fedcut report` does."""
    return {name: render(folder, read(folder), source) for name, folder in runs.items()}


def _without_images(page: str) -> str:
    return re.sub(r"base64,[A-Za-z0-9+/=]+", "base64,", page)


def test_attribution_adds_up_on_a_real_run(runs):
    saved = read(runs["default"])
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
        assert not list(folder.glob(".report*")), "scratch folder left behind"
        table = pd.read_csv(folder / "attribution.csv")
        parts, total = table.iloc[:-1], table.iloc[-1]
        assert total["component"].startswith("total")
        assert parts["pnl_usd"].sum() == pytest.approx(total["pnl_usd"], rel=1e-6)


def test_html_is_self_contained(rendered):
    page = rendered["default"].read_text()
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", page, re.I)
    assert "url(" not in page and "<link" not in page
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", page, re.S)  # the chart's, inline: its data and code
    assert [attrs for attrs, _ in scripts] == [' type="application/json" id="chart-data"', ""]
    code = scripts[1][1].replace('"http://www.w3.org/2000/svg"', "")  # SVG's namespace: a name, never fetched
    assert not re.search(r"fetch\(|XMLHttpRequest|import\(|https?:", code)
    images = re.findall(r'<img alt="([^"]+)" src="data:image/png;base64,[A-Za-z0-9+/=]{1000,}"', page)
    assert set(PICTURES) <= set(images)
    text = _without_images(page)
    assert "ORACLE" not in text
    for heading in (
        "Strategy against buy-and-hold",
        "Easing cycles",
        "P&amp;L came from",
        "Put hedge",
        "claims",
        "Data provenance",
        "Resolved configuration",
        "Warnings",
    ):
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
    facts = [
        ("IWM fell -44% in 2001", "2000-07-17", "2002-10-09", -0.387, "overstated"),
        ("IWM fell -50% by early 2009", "2007-07-13", "2009-03-09", -0.586, "understated"),
        ("IWM fell -40% by Mar 2020", "2020-01-16", "2020-03-23", -0.411, "holds"),
    ]
    assert len(claims) == 3
    for claim, peak, trough, fall, said in facts:
        row = claims.loc[claim]
        assert (row.peak, row.trough, row.verdict) == (peak, trough, said)
        assert row.measured == pytest.approx(fall, abs=0.0005)


def test_a_rerender_from_the_folder_is_the_fresh_report_byte_for_byte(runs, fresh, rendered):
    """A run's report is rendered from memory; `fedcut report` renders it from the folder's files
    (schema.read): every file the same bytes, pictures included."""
    for name, folder in runs.items():
        assert sorted(p.name for p in (folder / "plots").iterdir()) == sorted(f"{p}.png" for p in PICTURES)
        for file in REPORT_FILES:
            assert (folder / file).read_bytes() == fresh[name][file], (name, file)


def test_rerender_owns_only_its_files_and_is_deterministic(runs, rendered, source):
    folder = runs["default"]
    kept = {
        p: (p.read_bytes(), p.stat().st_mtime_ns)
        for p in folder.rglob("*")
        if p.is_file() and p.relative_to(folder).as_posix() not in REPORT_FILES
    }
    assert {"metrics.json", "equity.csv", "trades.csv", "signals.csv"} <= {p.name for p in kept}
    before = (folder / "report.html").read_bytes()
    render(folder, read(folder), source)
    assert (folder / "report.html").read_bytes() == before
    for path, (data, mtime) in kept.items():
        assert path.read_bytes() == data and path.stat().st_mtime_ns == mtime, path.name
    assert json.loads((folder / "metrics.json").read_text())["run"]["oracle"] is False


def test_a_folder_moved_to_a_machine_without_data_rerenders_the_same(runs, fresh, tmp_path):
    """`fedcut report` on a copy of a run folder, with no data directory and an empty cache: every
    report file the same bytes as the run wrote (IWM's prices and USREC travel in the folder)."""
    import os
    import subprocess
    import sys

    moved = tmp_path / "elsewhere" / "run"
    shutil.copytree(runs["default"], moved)
    for name in REPORT_FILES:
        (moved / name).unlink()
    empty = tmp_path / "empty"
    empty.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "FEDCUT_DATA_DIR"}
    env.update(FEDCUT_CACHE_DIR=str(empty), FEDCUT_OFFLINE="1", HOME=str(empty), MPLBACKEND="Agg")
    done = subprocess.run(
        [sys.executable, str(Path(__file__).resolve().parents[1] / "run_backtest.py"), "report", str(moved)],
        cwd=empty,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    for name in REPORT_FILES:
        assert (moved / name).read_bytes() == fresh["default"][name], name
    saved = read(moved)  # and the inputs it rendered from are IWM's and NBER's own
    assert saved.iwm.index[0] == D("2000-05-26") and saved.usrec.loc["2008-12-01"] == 1.0


def test_reading_refuses_a_folder_that_is_not_a_run(tmp_path):
    with pytest.raises(DataError, match="no metrics.json"):
        read(tmp_path)


# ---- the page: the answer first, the tear sheet, each number recomputed from the run's files ------


class _Tables(HTMLParser):
    """Every table of a page as rows of cell texts, with the id of the section it is in."""

    def __init__(self):
        super().__init__()
        self.tables, self.sections, self._cell = [], [], None

    def handle_starttag(self, tag, attrs):
        if tag == "section":
            self.sections.append(dict(attrs).get("id"))
        elif tag == "table":
            self.tables.append((self.sections[-1] if self.sections else None, []))
        elif tag == "tr" and self.tables:
            self.tables[-1][1].append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.tables[-1][1][-1].append(" ".join("".join(self._cell).split()))
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def tables_of(page: str, section: str) -> list[list[list[str]]]:
    parser = _Tables()
    parser.feed(page)
    return [rows for where, rows in parser.tables if where == section]


def pct(x: float, digits: int = 1) -> str:
    return f"{x:+.{digits}%}"


def test_the_page_opens_with_the_answer_then_the_tear_sheet(rendered):
    page = _without_images(rendered["default"].read_text())
    order = [
        page.index(marker)
        for marker in (
            '<section id="verdict">',
            'id="warnings"',
            '<img alt="equity"',
            'id="top-drawdowns"',
            'id="monthly-returns"',
            'id="rolling"',
            'id="statistics"',
            'id="cycles"',
            'id="hedge"',
        )
    ]
    assert order == sorted(order)
    assert "a small sample" in page and "Parameters changed" in page
    oracle = _without_images(rendered["oracle"].read_text())
    assert f'<div class="oracle">{ORACLE_LABEL}. ' in oracle and "ORACLE - ORACLE" not in oracle


def test_each_cycle_in_the_answer_is_recomputed_from_equity_csv(runs, rendered):
    folder = runs["default"]
    equity = pd.read_csv(folder / "equity.csv", parse_dates=["date"], index_col="date")
    episodes = pd.read_csv(folder / "episodes.csv", dtype={"cycle": str})
    baselines = pd.read_csv(folder / "baselines.csv")
    baselines = baselines[(baselines["role"] == "baseline") & (baselines["name"] != "buy_and_hold")]
    (answer, *_) = tables_of(rendered["default"].read_text(), "verdict")
    rows = {row[0]: row for row in answer[2:]}  # two header rows
    assert list(rows) == list(episodes["cycle"])
    nber = {
        "2001": "NBER recession 2001-04 to 2001-11",
        "2007": "NBER recession 2008-01 to 2009-06",
        "2019": "NBER recession 2020-03 to 2020-04",
        "2024": "no NBER recession",
    }  # NBER's dates
    for ep in episodes.itertuples():
        row = rows[ep.cycle]
        cut = pd.Timestamp(ep.first_cut)
        inside = equity[ep.window_start : ep.window_end]
        iwm, strategy = inside["benchmark"].to_numpy(), inside["strategy"].to_numpy()
        runup = equity["benchmark"][:cut].iloc[-1] / equity["benchmark"][: cut - pd.DateOffset(months=3)].iloc[-1] - 1
        ret = strategy[-1] / strategy[0] - 1, iwm[-1] / iwm[0] - 1
        dd = (strategy / np.maximum.accumulate(strategy) - 1).min(), (iwm / np.maximum.accumulate(iwm) - 1).min()
        assert row[1] == ep.first_cut and row[2] == pct(runup)
        assert row[3].startswith(f"{ep.window_start} to {ep.window_end}")
        best = baselines.loc[baselines["sharpe"].idxmax()]  # the best baseline: highest Sharpe, IWM aside
        best_ret, best_dd = best[f"cycle_{ep.cycle}_return"], best[f"cycle_{ep.cycle}_max_drawdown"]
        assert row[4:10] == [pct(ret[0]), pct(ret[1]), pct(best_ret), pct(dd[0]), pct(dd[1]), pct(best_dd)]
        assert row[10] == f"{100 * (dd[0] - dd[1]):+.1f} pp" and row[11] == f"{100 * (ret[0] - ret[1]):+.1f} pp"
        assert row[12].startswith(nber[ep.cycle] + "; rules called mostly ")
    assert "partial: data ends 2025-09-26" in rows["2024"][3]


def test_the_baselines_table_holds_the_verdict_and_its_intervals(runs, rendered):
    m = json.loads((runs["default"] / "metrics.json").read_text())
    (_, baselines, *_) = tables_of(rendered["default"].read_text(), "verdict")
    rows = {row[0]: row for row in baselines[2:]}
    assert list(rows) == ["fedcut regime strategy", *(LABELS[n] for n in m["baselines"])]
    for name, v in m["verdict"]["against"].items():
        row = rows[LABELS[name]]
        lo, hi = v["sharpe_diff_ci"]
        assert row[7:9] == [f"{v['sharpe_diff']:+.2f}", f"{lo:+.2f} to {hi:+.2f}"]
        assert row[9] == f"{100 * v['cagr_diff']:+.1f} pp" and row[11] == f"{v['p_better']:.1%}"
        assert row[12] == ("better" if lo > 0 else "worse" if hi < 0 else "not distinguishable")
        years = v["sharpe_diff"] > 0 and (1.959963984540054 * v["sharpe_diff_se"] / v["sharpe_diff"]) ** 2 * (
            (pd.Timestamp(m["run"]["end"]) - pd.Timestamp(m["run"]["start"])).days / 365.25
        )
        assert row[13] == (
            "never"
            if not years
            else "> 1,000 years"
            if years > 1000
            else f"{years:.0f} years ({years * m['verdict']['n_easing_cycles'] / ((pd.Timestamp(m['run']['end']) - pd.Timestamp(m['run']['start'])).days / 365.25):.0f} cycles)"
        )
        assert row[1] == pct(m["baselines"][name]["cagr"]) and row[3] == f"{m['baselines'][name]['sharpe']:.2f}"


def test_tear_sheet_statistics_equal_independent_arithmetic(runs, rendered):
    folder = runs["default"]
    equity = pd.read_csv(folder / "equity.csv", parse_dates=["date"], index_col="date")
    rate = pd.read_csv(folder / "cash_rate.csv", parse_dates=["date"], index_col="date")["cash_rate"]
    stats = pd.read_csv(folder / "tearsheet.csv").set_index("statistic")
    assert list(stats.columns) == ["strategy", "benchmark", "spy"]
    days = np.diff(equity.index.to_numpy()).astype("timedelta64[D]").astype(float)
    rf = np.expm1(rate.to_numpy()[:-1] * days / 365)  # the broker's continuous rate over each interval
    v, b = equity["strategy"].to_numpy(), equity["benchmark"].to_numpy()
    r, rb = v[1:] / v[:-1] - 1, b[1:] / b[:-1] - 1
    beta, _ = np.polyfit(rb - rf, r - rf, 1)
    active = r - rb
    n, z = len(r), (r - r.mean()) / r.std(ddof=1)
    expected = {
        "beta": beta,
        "alpha": ((r - rf).mean() - beta * (rb - rf).mean()) * 252,
        "tracking_error": active.std(ddof=1) * np.sqrt(252),
        "information_ratio": active.mean() / active.std(ddof=1) * np.sqrt(252),
        "time_in_market": (equity.filter(like="w_").sum(axis=1) > 0).mean(),
        "hit_rate": (r > 0).mean(),
        "skew": n / ((n - 1) * (n - 2)) * (z**3).sum(),
        "excess_kurtosis": n * (n + 1) / ((n - 1) * (n - 2) * (n - 3)) * (z**4).sum()
        - 3 * (n - 1) ** 2 / ((n - 2) * (n - 3)),
        "var_5": np.quantile(r, 0.05),
        "cvar_5": r[r <= np.quantile(r, 0.05)].mean(),
    }
    for name, value in expected.items():
        assert stats.loc[name, "strategy"] == pytest.approx(value, rel=1e-6, abs=1e-12), name
    assert stats.loc["beta", "benchmark"] == pytest.approx(1.0) and stats.loc["tracking_error", "benchmark"] == 0
    (table,) = tables_of(rendered["default"].read_text(), "statistics")
    shown = {row[0]: row[1] for row in table[1:]}
    assert shown["alpha"] == pct(expected["alpha"]) and shown["daily VaR 5%"] == pct(expected["var_5"], 2)


def test_monthly_and_yearly_returns_and_the_deepest_drawdowns(runs, rendered):
    equity = pd.read_csv(runs["default"] / "equity.csv", parse_dates=["date"], index_col="date")
    page = rendered["default"].read_text()
    (months,) = tables_of(page, "monthly-returns")
    row = next(r for r in months if r[0] == "2008")
    v, b = equity["strategy"], equity["benchmark"]
    assert row[10] == pct(v[:"2008-10-31"].iloc[-1] / v[:"2008-09-30"].iloc[-1] - 1)  # October
    year, iwm_year = v[:"2008"].iloc[-1] / v[:"2007"].iloc[-1] - 1, b[:"2008"].iloc[-1] / b[:"2007"].iloc[-1] - 1
    assert row[13:15] == [pct(year), pct(iwm_year)]
    assert row[16] == f"{100 * (year - iwm_year):+.1f} pp"
    deepest = tables_of(page, "top-drawdowns")[0][1]  # the strategy's first row
    m = json.loads((runs["default"] / "metrics.json").read_text())["strategy"]
    assert deepest[:3] == [pct(m["max_drawdown"]), m["max_drawdown_peak"], m["max_drawdown_trough"]]


def test_hedge_in_basis_points_a_year_from_trades_csv(runs, rendered):
    folder = runs["default"]
    equity = pd.read_csv(folder / "equity.csv", parse_dates=["date"], index_col="date")
    trades = pd.read_csv(folder / "trades.csv", parse_dates=["date"])
    bought = trades[trades["strike"].notna() & (trades["quantity"] > 0)]
    previous = equity["strategy"].shift(1).fillna(equity["strategy"].iloc[0])
    paid = (bought["value"] + bought["commission"]).to_numpy() / previous.loc[bought["date"]].to_numpy()
    years = (equity.index[-1] - equity.index[0]).days / 365.25
    table = next(t for t in tables_of(rendered["default"].read_text(), "hedge") if t[0][0] == "the puts over the run")
    row = next(r for r in table if r[0].startswith("premium paid"))
    assert row[2] == f"{1e4 * paid.sum() / years:,.0f} bp"


def test_plurals_and_changed_parameters_on_a_rerendered_copy(runs, source, tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(runs["default"], copy)
    metrics = json.loads((copy / "metrics.json").read_text())
    for count, words in ((1, "1 order was rejected"), (3, "3 orders were rejected")):
        (copy / "metrics.json").write_text(json.dumps({**metrics, "rejected_orders": count}))
        assert words in render(copy, read(copy), source).read_text()
    config = (copy / "config.toml").read_text()
    (copy / "config.toml").write_text(config.replace("\nmoneyness = 0.9\n", "\nmoneyness = 0.85\n"))
    changed = tables_of(render(copy, read(copy), source).read_text(), "verdict")[-1]
    assert changed == [
        ["parameter", "this run", "default", "unit"],
        ["hedge.moneyness", "0.85", "0.9", "strike / spot"],
    ]


def test_a_picture_pauses_the_garbage_collector_and_gives_it_back(runs, monkeypatch):
    """Each picture is drawn with the collector off (pictures.png), and the collector is left as it
    was found: on, off, or on again after a drawing that failed."""
    data = read(runs["default"])
    assert gc.isenabled()
    assert pictures.png("regimes", data).startswith(b"\x89PNG\r\n") and gc.isenabled()
    gc.disable()
    try:
        pictures.png("regimes", data)
        assert not gc.isenabled()
    finally:
        gc.enable()

    def fails(fig):
        assert not gc.isenabled()
        raise OSError("disk full")

    monkeypatch.setattr(pictures, "png_bytes", fails)
    with pytest.raises(OSError):
        pictures.png("regimes", data)
    assert gc.isenabled()


@pytest.mark.parametrize("mark", [4.0, 28.0, 40.0, 400.0])
def test_hedge_panel_tick_labels_are_distinct_and_exact(mark):
    """The puts' share of value is labelled with as many decimals as its ticks need: no two ticks
    print the same label (a 2.9% peak once read 0%, 0%, 1%, 2%, 2%, 2%, 3%)."""
    from fedcut.plots.run import hedge_figure

    equity, trades = hand_example()
    equity["option_value"] = [0.0, mark, 0.0, 0.0]
    equity["strategy"] = equity["cash"] + equity["option_value"] + 510.0 * (equity["option_value"] > 0)
    fig = hedge_figure(equity, trades)
    top = fig.axes[0]
    fig.canvas.draw()
    ticks = [t for t in top.get_yticks() if top.get_ylim()[0] <= t <= top.get_ylim()[1]]
    labels = [top.yaxis.get_major_formatter()(t, k) for k, t in enumerate(ticks)]
    assert len(set(labels)) == len(labels), labels
    assert all(float(label.rstrip("%")) == pytest.approx(t) for label, t in zip(labels, ticks)), labels
