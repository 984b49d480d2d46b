"""What a reader of report.html navigates: the interactive chart driven in a real headless browser,
the plain-language findings (page and console) recomputed from the run's CSVs, the answer on a run
with no complete easing cycle, and the terms explained where they appear."""

from __future__ import annotations

import html
import json
import re
import subprocess
import tempfile
from pathlib import Path

import pandas as pd
import pytest

from fedcut.report.chart import DAILY_UP_TO, chart_data

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = next((p for p in ("/usr/bin/chromium", "/usr/bin/chromium-browser") if Path(p).exists()), None)
pytestmark = pytest.mark.slow  # whole runs


@pytest.fixture(scope="module")
def runs(shared_data, tmp_path_factory):
    from fedcut.core.params import resolve
    from fedcut.run.backtest import run
    from fedcut.run.folder import write_run

    return {
        name: write_run(run(resolve(overrides), shared_data, True), tmp_path_factory.mktemp(name) / "r")
        for name, overrides in (("default", {}), ("short", {"run.start": "2021-01-04"}))
    }


def _equity(folder: Path) -> pd.DataFrame:
    return pd.read_csv(folder / "equity.csv", index_col="date", parse_dates=["date"])


def _week_ends(days: pd.DatetimeIndex) -> pd.DatetimeIndex:
    """The last trading day of each Saturday-to-Friday week, found from each day's coming Friday."""
    friday = days + pd.to_timedelta((4 - days.day_of_week) % 7, unit="D")
    following = pd.Series(days[1:].append(pd.DatetimeIndex([pd.Timestamp.max.normalize()])), index=days)
    return days[following.to_numpy() > friday]


def _browse(page: Path, fragment: str, width: int = 1280) -> dict[str, str]:
    """The chart's `<output id="chart-state">` after the page loads at `page#fragment`: its data- attributes
    and its text."""
    with tempfile.TemporaryDirectory(prefix="fedcut-chart-") as profile:
        dom = subprocess.run(
            [
                CHROMIUM,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                f"--user-data-dir={profile}",
                f"--window-size={width},1000",
                "--virtual-time-budget=5000",
                "--dump-dom",
                f"{page.as_uri()}#{fragment}",
            ],
            capture_output=True,
            text=True,
            timeout=120,
        ).stdout
    tag = re.search(r'<output id="chart-state"([^>]*)>(.*?)</output>', dom, re.S)
    assert tag, f"no chart state in the page at #{fragment}"
    state = {k: html.unescape(v) for k, v in re.findall(r'data-([a-z-]+)="([^"]*)"', tag.group(1))}
    dragged = re.search(r'<output id="dragged">(.*?)</output>', dom)
    return {**state, "text": html.unescape(tag.group(2)), **({"dragged": dragged.group(1)} if dragged else {})}


def test_the_chart_data_is_weekly_with_each_weeks_deepest_drawdown(runs):
    eq = _equity(runs["default"])
    episodes = pd.read_csv(runs["default"] / "episodes.csv")
    data = chart_data(eq, episodes, "x")
    assert len(eq) > DAILY_UP_TO and data["weekly"]
    ends = _week_ends(eq.index)
    assert data["dates"] == [d.strftime("%Y-%m-%d") for d in ends]
    drawdown = eq["benchmark"] / eq["benchmark"].cummax() - 1.0
    week = drawdown.groupby(ends.searchsorted(eq.index)).min()  # each day to the week end on or after it
    assert data["benchmark_drawdown"] == pytest.approx(list(week.round(5)), abs=1e-5)
    assert min(data["strategy_drawdown"]) == pytest.approx(
        (eq["strategy"] / eq["strategy"].cummax() - 1.0).min(), abs=1e-5
    )  # the deepest day is kept
    assert data["strategy"][-1] == pytest.approx(eq["strategy"].iloc[-1], abs=0.01)
    assert [c["name"] for c in data["cycles"]] == [str(c) for c in episodes["cycle"]]


def test_a_short_run_is_drawn_day_by_day(runs):
    eq = _equity(runs["short"])
    data = chart_data(eq, pd.read_csv(runs["short"] / "episodes.csv"), "x")
    assert len(eq) <= DAILY_UP_TO and not data["weekly"] and len(data["dates"]) == len(eq)


@pytest.mark.skipif(CHROMIUM is None, reason="no Chromium installed (apt-get install chromium)")
def test_the_chart_zooms_and_reads_out_in_a_real_browser(runs):
    folder = runs["default"]
    eq = _equity(folder)
    ends = _week_ends(eq.index)
    episodes = pd.read_csv(folder / "episodes.csv", parse_dates=["window_start", "window_end"]).set_index("cycle")
    start, end = episodes.loc[2007, "window_start"], episodes.loc[2007, "window_end"]

    state = _browse(folder / "report.html", "zoom=2007&hover=2008-10-10")
    assert state["zoom"] == "2007"
    assert state["from"] == str(ends[ends >= start][0].date()) and state["to"] == str(ends[ends <= end][-1].date())
    assert int(state["points"]) == ((ends >= start) & (ends <= end)).sum()
    day = pd.Timestamp("2008-10-10")  # a Friday: the week's last trading day
    assert state["hover"] == "2008-10-10"
    assert float(state["strategy"]) == pytest.approx(eq.loc[day, "strategy"], abs=0.01)
    assert float(state["benchmark"]) == pytest.approx(eq.loc[day, "benchmark"], abs=0.01)
    week = eq.loc["2008-10-04":"2008-10-10", "benchmark"]
    deepest = (week / eq.loc[:"2008-10-10", "benchmark"].cummax().loc[week.index] - 1.0).min()
    assert float(state["benchmark-drawdown"]) == pytest.approx(deepest, abs=1e-5)
    assert state["regime"] == eq.loc[day, "regime"]
    assert "2008-10-10" in state["text"] and "buy-and-hold IWM $" in state["text"]

    everything = _browse(folder / "report.html", "", width=1920)
    assert (everything["zoom"], everything["from"], everything["to"]) == (
        "all",
        str(ends[0].date()),
        str(ends[-1].date()),
    )
    assert "hover" not in everything

    span = _browse(folder / "report.html", "zoom=2008-01-01..2009-06-30&hover=2008-10-12")  # a Sunday
    assert (span["from"], span["to"]) == (
        str(ends[ends >= "2008-01-01"][0].date()),
        str(ends[ends <= "2009-06-30"][-1].date()),
    )
    assert span["hover"] == "2008-10-10"  # the last week's end on or before the day asked


def test_the_answer_on_a_run_without_a_complete_cycle_says_there_is_none(runs):
    from fedcut.report.schema import read

    folder = runs["short"]
    episodes = pd.read_csv(folder / "episodes.csv")
    assert not episodes["complete"].any()  # the premise: 2021 on holds only the 2024 cycle, cut short
    left = ", ".join(str(c) for c in episodes["cycle"])
    answer = re.search(r'<p class="answer">(.*?)</p>', (folder / "report.html").read_text(encoding="utf-8"), re.S)
    text = html.unescape(answer.group(1))
    assert "In the no" not in text
    assert (
        "There is no complete easing cycle to count against buy-and-hold IWM; left out, the data ends inside "
        f"the window: {left}."
    ) in text
    assert read(folder).metrics["cycle_verdict"]["n"] == 0


def test_table_headers_explain_their_terms_in_the_glossarys_words(runs):
    page = (runs["default"] / "report.html").read_text(encoding="utf-8")
    defined = {html.unescape(t): html.unescape(d) for t, d in re.findall(r"<dt[^>]*>(.*?)</dt><dd>(.*?)</dd>", page)}
    tips = {}
    for attrs, text in re.findall(r"<th([^>]*)>([^<]*)</th>", page):
        title = re.search(r'title="([^"]*)"', attrs)
        tips.setdefault(html.unescape(text), set()).add(html.unescape(title.group(1)) if title else None)
    expected = {
        "Calmar": "Calmar ratio",
        "Sharpe": "Sharpe ratio",
        "max drawdown": "max drawdown",
        "time in market": "time in market",
        "time in IWM": "time in market",
        "CAGR": "CAGR",
        "max drawdown in window": "max drawdown",
        "95% interval": "95% interval",
        "ulcer index (% points)": "ulcer index",
        "volatility": "volatility",
    }
    for header, term in expected.items():
        assert tips[header] == {f"{term}: {defined[term]}"}, header
    strategy = "fedcut regime strategy"  # holds the word "regime", but names a strategy
    assert tips[strategy] == {None} and tips["buy-and-hold IWM"] == {None} and tips["peak"] == {None}


def _in_short(folder: Path) -> tuple[list[str], list[str]]:
    """The run's findings as the console prints them and as report.html lists them."""
    from fedcut.report.console import summary
    from fedcut.report.schema import read

    data = read(folder)
    lines = summary(data.metrics, data.episodes, []).splitlines()
    start = lines.index("In short:") + 1
    console = [line.strip() for line in lines[start : lines.index("", start)]]
    block = re.search(
        r'<section id="in-short"><h2>In short</h2><ul class="in-short">(.*?)</ul>',
        (folder / "report.html").read_text(encoding="utf-8"),
        re.S,
    ).group(1)
    return console, [html.unescape(x) for x in re.findall(r"<li>(.*?)</li>", block)]


def _asof(series: pd.Series, day: pd.Timestamp) -> float:
    return float(series[series.index <= day].iloc[-1])


@pytest.mark.parametrize("name", ["default", "short"])
def test_the_findings_are_recomputed_from_the_runs_csvs(runs, name):
    folder = runs[name]
    console, page = _in_short(folder)
    assert console == page and 3 <= len(console) <= 5  # the same sentences, right after the header
    lines = (folder / "report.html").read_text(encoding="utf-8")
    assert lines.index('id="in-short"') < lines.index('<section id="verdict">')
    eq = _equity(folder)
    episodes = pd.read_csv(folder / "episodes.csv", parse_dates=["first_cut", "window_start", "window_end"])

    # IWM's run-up: buy-and-hold IWM's value 3 months before each first cut against the cut day's close
    runup = {
        str(e.cycle): _asof(eq["benchmark"], e.first_cut)
        / _asof(eq["benchmark"], e.first_cut - pd.DateOffset(months=3))
        - 1
        for e in episodes.itertuples()
    }
    fell = sum(r < 0 for r in runup.values())
    words = "easing cycle" if len(runup) == 1 else "easing cycles"
    assert console[0].startswith(f"IWM fell in the 3 months before the first cut in {fell} of {len(runup)} {words} (")
    for cycle, r in runup.items():
        assert f"{cycle} {100 * r:+.1f}%" in console[0]

    # the collapses: the worst fall inside each window, from its own start, of the rules and of IWM
    said = {
        c: (float(s), float(b))
        for c, s, b in re.findall(r"(\d{4})(?: \(partial\))? ([-+]\d+\.\d)% against ([-+]\d+\.\d)%", console[1])
    }
    less = 0
    for e in episodes.itertuples():
        span = eq.loc[e.window_start : e.window_end]
        worst = {side: (span[side] / span[side].cummax() - 1).min() for side in ("strategy", "benchmark")}
        assert said[str(e.cycle)] == pytest.approx(
            (round(100 * worst["strategy"], 1), round(100 * worst["benchmark"], 1))
        )
        less += worst["strategy"] > worst["benchmark"]
        assert ("(partial)" in console[1].split(f"{e.cycle}")[1][:11]) == (e.coverage != "full")
    assert console[1].endswith(f"the rules fell less in {less} of {len(episodes)}.")

    # the puts: this run's CAGR and drawdown from equity.csv against the same decisions without puts
    without = json.loads((folder / "metrics.json").read_text())["hedge"]["without_puts"]
    years = (eq.index[-1] - eq.index[0]).days / 365.25
    cagr = (eq["strategy"].iloc[-1] / eq["strategy"].iloc[0]) ** (1 / years) - 1
    worst = (eq["strategy"] / eq["strategy"].cummax() - 1).min()
    paid = "paid for themselves" if cagr > without["cagr"] else "did not pay for themselves"
    assert console[2] == (
        f"The puts {paid}: CAGR {100 * cagr:+.1f}% and max drawdown {100 * worst:+.1f}% with them, "
        f"{100 * without['cagr']:+.1f}% and {100 * without['max_drawdown']:+.1f}% for the same "
        "decisions without them."
    )

    # the verdict: the word follows from where the Sharpe interval lies
    lo, hi = map(float, re.search(r"95% CI ([-+][\d.]+) to ([-+][\d.]+)\)", console[3]).groups())
    word = "better than" if lo > 0 else "worse than" if hi < 0 else "not distinguishable from"
    assert console[3].startswith(f"Verdict: {word} buy-and-hold IWM (Sharpe difference ")


DRAG = """<script>
addEventListener("load", () => {
  const svg = document.getElementById("chart-svg"), box = svg.getBoundingClientRect();
  const left = box.left + svg.clientLeft + 86, width = svg.clientWidth - 86 - 14;  // chart.js's margins
  const x = (share) => Math.round(left + share * width);  // a mouse event's position is whole pixels
  const at = (share) => ({clientX: x(share), clientY: box.top + 120, bubbles: true});
  svg.dispatchEvent(new MouseEvent("mousedown", at(0.3)));
  svg.dispatchEvent(new MouseEvent("mousemove", at(0.6)));
  window.dispatchEvent(new MouseEvent("mouseup", at(0.6)));
  const out = document.createElement("output");
  out.id = "dragged";
  out.textContent = [0.3, 0.6].map((s) => (x(s) - left) / width).join(" ");
  document.body.appendChild(out);
});
</script>"""


@pytest.mark.skipif(CHROMIUM is None, reason="no Chromium installed (apt-get install chromium)")
def test_dragging_across_the_chart_zooms_to_the_span(runs, tmp_path):
    page = tmp_path / "report.html"  # the report with a script that drags from 30% to 60% of the chart's width
    page.write_text(
        (runs["default"] / "report.html").read_text(encoding="utf-8").replace("</body>", DRAG + "</body>"),
        encoding="utf-8",
    )
    ends = _week_ends(_equity(runs["default"]).index)
    first, last = ends[0].value, ends[-1].value

    def nearest(share: float) -> str:
        return str(ends[abs(ends.as_unit("ns").asi8 - (first + share * (last - first))).argmin()].date())

    state = _browse(page, "")
    a, b = map(float, state["dragged"].split())  # the shares of the width the whole-pixel drag covered
    assert 0.29 < a < 0.31 and 0.59 < b < 0.61
    assert (state["from"], state["to"]) == (nearest(a), nearest(b))
    assert state["zoom"] == f"{nearest(a)}..{nearest(b)}" and state["hover"] == nearest(b)
