"""The small-cap benchmark is named for what it is: IWM where it is IWM, small caps with the splice
stated where stand-ins hold IWM's place (the long and extended histories), in every output."""

from __future__ import annotations

import html
import json
import re

import pandas as pd
import pytest
from matplotlib.text import Text

from fedcut.core.params import defaults, resolve
from fedcut.data.benchmark import benchmark_of
from fedcut.data.market import build_market
from fedcut.report import pictures
from fedcut.report.console import summary
from fedcut.report.in_short import in_short
from fedcut.report.schema import read
from fedcut.run.backtest import run
from fedcut.run.folder import write_run

DATA = defaults().data
DRAWN = ("equity", "underwater", "rolling", "cycles")  # the pictures with the benchmark's curve


def _handover_days(source, history: str) -> tuple[pd.DatetimeIndex, list[pd.Timestamp]]:
    """The market's days and the first day of each series holding IWM's place, IWM's own first row last,
    from what the data layer built (its proxy spans) and IWM's price file: not from the catalog."""
    market = build_market(source, (), "", "", history, DATA)
    spans = [p for p in market.proxies if p.ticker == "IWM"]
    return market.days, [p.start for p in spans] + [source.prices("IWM").index[0]]


@pytest.mark.parametrize("history", ["long", "extended"])
def test_the_splice_names_each_series_from_the_day_it_took_over(source, history):
    days, starts = _handover_days(source, history)
    assert len(starts) == {"long": 3, "extended": 2}[history]
    bench = benchmark_of(history, days[0], days[-1])
    assert bench.label == "buy-and-hold small caps" and "IWM" not in bench.label
    froms = re.findall(r"from (\d{4}-\d{2}-\d{2})", bench.splice)
    assert froms == [str(d.date()) for d in starts]
    assert bench.splice.endswith(f"then IWM from {starts[-1].date()}")
    if history == "long":  # NYSE quintile 2, then the Russell 2000 total return (not Lo 10, not ^RUT)
        assert "NYSE size quintile 2" in bench.splice and "Ken French" in bench.splice
        assert "Russell 2000 total-return" in bench.splice
    else:
        assert bench.splice.startswith("small caps: Russell 2000 price index plus a dividend accrual")


def test_a_run_inside_one_series_names_only_that_one():
    before = benchmark_of("long", "1960-01-04", "1975-12-31")
    assert before.splice == "small caps: NYSE size quintile 2, value-weighted (Ken French) from 1960-01-04"
    assert "IWM" not in before.splice + before.label
    after = benchmark_of("long", "2001-01-02", "2020-12-31")  # IWM throughout: named IWM
    assert after.label == "buy-and-hold IWM" and not after.spliced
    assert benchmark_of("iwm", "2000-05-26", "2025-09-26").label == "buy-and-hold IWM"


def _figure_texts(fig) -> list[str]:
    return [t.get_text() for t in fig.findobj(Text) if t.get_text()]


def _legend_labels(fig) -> list[str]:
    legends = list(fig.legends) + [ax.get_legend() for ax in fig.axes if ax.get_legend()]
    return [t.get_text() for legend in legends for t in legend.get_texts()]


def _page_text(page: str) -> str:
    """report.html as a reader sees it: no images, no script, no tags."""
    page = re.sub(r"<script.*?</script>", "", page, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


@pytest.fixture(scope="module")
def folders(shared_data, tmp_path_factory):
    overrides = {
        "long": {"run.history": "long"},
        "default": {"run.start": "2018-01-02", "run.end": "2020-12-31"},
    }
    return {
        name: write_run(run(resolve(o), shared_data, True), tmp_path_factory.mktemp(name) / "r")
        for name, o in overrides.items()
    }


def test_a_long_run_never_calls_the_spliced_series_iwm(folders):
    data = read(folders["long"])
    bench = data.benchmark
    assert bench.spliced and bench.label == "buy-and-hold small caps"
    splice = bench.splice

    for name in DRAWN:
        fig = pictures.figure(name, data)
        texts = _figure_texts(fig)
        assert not [t for t in texts if "IWM" in t and splice not in t.replace("\n", " ")], name
        if name != "underwater":  # the underwater panels are labelled in place, not by a legend
            assert "buy-and-hold small caps" in _legend_labels(fig), name
        if name == "equity":  # the splice stated once, in the picture of the whole history
            assert [t for t in texts if t.replace("\n", " ") == splice]
        if name == "cycles":
            assert "against buy-and-hold small caps" in fig._suptitle.get_text()

    regimes = pictures.figure("regimes", data)  # the signal's picture draws the same series
    assert "small caps total return" in _legend_labels(regimes)
    assert regimes.axes[0].get_title().startswith("Regime signal and small caps total return")

    page = (folders["long"] / "report.html").read_text()
    text = _page_text(page)
    assert "buy-and-hold IWM" not in text and "buy-and-hold IWM" not in page
    assert text.count(splice) == 1  # stated once, first in short
    chart = json.loads(re.search(r'<script type="application/json"[^>]*>(.*?)</script>', page, re.S).group(1))
    assert chart["labels"]["benchmark"] == "buy-and-hold small caps"
    assert 'aria-label="value and drawdown of the strategy and buy-and-hold small caps"' in page

    lines = in_short(data.metrics, data.episodes)
    assert lines[0].startswith(f"The benchmark is spliced ({splice})")
    assert not [s for s in lines[1:] if "IWM" in s]
    assert [s for s in lines if s.startswith("Verdict:") and "buy-and-hold small caps" in s]

    console = summary(data.metrics, data.episodes)
    assert "buy-and-hold IWM" not in console and "IWM 3m" not in console
    assert "buy-and-hold small caps" in console and splice in console
    against = data.metrics["verdict"]["against"]["buy_and_hold"]["sentence"]
    assert "from buy-and-hold small caps" in against or "than buy-and-hold small caps" in against


def test_the_default_history_still_says_iwm(folders):
    data = read(folders["default"])
    assert not data.benchmark.spliced
    for name in ("equity", "cycles"):
        fig = pictures.figure(name, data)
        assert "buy-and-hold IWM" in _legend_labels(fig)
        assert not [t for t in _figure_texts(fig) if "small caps" in t]
    text = _page_text((folders["default"] / "report.html").read_text())
    assert "against buy-and-hold IWM (total return)" in text and "spliced" not in text
    lines = in_short(data.metrics, data.episodes)
    assert not [s for s in lines if "small caps" in s or "spliced" in s]
    assert "buy-and-hold IWM" in summary(data.metrics, data.episodes)


LONG_SWEEP = """
[sweep]
name = "long-names"
objective = "excess_cagr"

[base]
"run.history" = "long"
"run.start" = "1985-01-02"
"run.end" = "2009-12-31"

[grid]
"hedge.moneyness" = [0.85, 0.95]
"strategy.recession_equity" = [0.4, 0.8]

[validation]
train_end = "1999-12-31"
"""


def test_a_long_history_sweep_names_its_yardstick_small_caps(shared_data, tmp_path, capsys):
    from fedcut.cli import main

    spec = tmp_path / "long.toml"
    spec.write_text(LONG_SWEEP)
    out = tmp_path / "sweep"
    assert main(["sweep", "--spec", str(spec), "--out", str(out), "--data-dir", str(shared_data), "--offline"]) == 0
    console = capsys.readouterr().out
    splice = benchmark_of("long", "1985-01-02", "2009-12-31").splice
    assert splice.startswith("small caps: Russell 2000 total-return index (FRED's copy) from 1985-01-02")
    text = _page_text(re.sub(r'src="data:[^"]*"', "", (out / "sweep.html").read_text()))
    for words in (text, console):
        assert "buy-and-hold IWM" not in words and "against buy-and-hold small caps" in words
    assert f"buy-and-hold small caps, spliced: {splice}" in text
    assert "CAGR minus buy-and-hold small caps' CAGR" in text
