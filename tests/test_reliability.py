"""Numbers a user reads and the warnings beside them, through the command line (issues 17 and 19).

Runs use a data directory built from ../shared/data as in `test_bad_inputs.py` (links, with only
the changed files rewritten), the cache in a temporary folder, and never the network: where a
download would happen, the HTTP layer is faked.
"""

from __future__ import annotations

import json
import logging
import math
import warnings

import numpy as np
import pandas as pd
import pytest
from test_bad_inputs import _rewrite, drop_rows, env, fresh_prepare_cache  # noqa: F401 (fixtures)

from fedcut.cli import main
from fedcut.data import fetch, readers
from fedcut.data.cuts import cycle_names, offcalendar_changes
from fedcut.data.sources import DataSource
from fedcut.plots.kit import MAX_CYCLES_LISTED, MAX_CYCLES_SHOWN

pytestmark = pytest.mark.slow  # whole runs and commands: not in the edit-test loop

SHORT = ["--start", "2019-01-02", "--end", "2020-12-31"]
ALL_CASH = [
    f"strategy.{k}=0"
    for k in (
        "soft_landing_iwm",
        "neutral_iwm",
        "neutral_vo",
        "neutral_ousm",
        "neutral_cyclicals",
        "recession_equity",
        "defensive_weight",
        "capitulation_iwm",
    )
]


def cli(env, args, capsys, out=None):
    """Run the command as a user would; return exit code, stdout, stderr and the warnings raised."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        code = main(list(args) + ["--out", str(out or env.out)])
    printed = capsys.readouterr()
    return code, printed.out, printed.err, caught


def metrics(folder) -> dict:
    return json.loads((folder / "metrics.json").read_text())


# --- item 2: one risk-free convention, the broker's ----------------------------------------------


def test_an_all_cash_strategy_has_no_excess_return_and_no_sharpe(env, capsys):
    """Every weight 0: the strategy is cash earning the T-bill rate, so its excess return over that
    rate is zero and Sharpe and Sortino are undefined (before: Sharpe 8.85 on the full history)."""
    sets = [a for k in ALL_CASH for a in ("--set", k)]
    code, out, err, _ = cli(env, SHORT + sets, capsys)
    assert code == 0, err
    equity = pd.read_csv(env.out / "equity.csv", parse_dates=["date"], index_col="date")
    assert (equity["cash"] == equity["strategy"]).all()  # nothing but cash, no puts
    assert pd.read_csv(env.out / "trades.csv").empty
    s = metrics(env.out)["strategy"]
    assert s["sharpe"] is None and s["sortino"] is None
    assert s["volatility"] < 1e-3 and s["total_return"] > 0.01  # it earned T-bill interest (2019-2020)
    line = next(x for x in out.splitlines() if x.startswith("fedcut regime strategy (this run)"))
    assert line.split()[-1] == "n/a"


# --- item 6: a day missing from one price file is named, not filled silently -------------------


def test_a_day_missing_from_one_price_file_is_named_in_the_summary_and_metrics(env, capsys):
    drop_rows("prices/VO.csv", "2019-06-04")(env.data)
    code, out, err, _ = cli(env, SHORT, capsys)
    assert code == 0, err
    note = (
        f"warning: {env.data}/prices/VO.csv has no row for 1 trading day of the run (2019-06-04): "
        "the price of the day before is carried over"
    )
    assert f"  {note}" in out.splitlines()
    assert note in metrics(env.out)["run"]["notes"]
    equity = pd.read_csv(env.out / "equity.csv", parse_dates=["date"], index_col="date")
    assert pd.Timestamp("2019-06-04") in equity.index  # the run keeps IWM's calendar


def test_a_day_missing_from_the_calendar_file_is_named(env, capsys):
    drop_rows("prices/IWM.csv", "2019-06-04")(env.data)
    code, out, err, _ = cli(env, SHORT, capsys)
    assert code == 0, err
    notes = metrics(env.out)["run"]["notes"]
    assert (
        f"warning: {env.data}/prices/IWM.csv has no row for 1 day that every other file of the run has "
        "(2019-06-04): the run skips it"
    ) in notes
    equity = pd.read_csv(env.out / "equity.csv", parse_dates=["date"], index_col="date")
    assert pd.Timestamp("2019-06-04") not in equity.index and pd.Timestamp("2019-06-05") in equity.index


def test_the_real_files_miss_no_trading_day(env, capsys):
    code, out, err, _ = cli(env, ["--history", "extended", "--end", "2001-12-31"], capsys)
    assert code == 0, err
    assert not [n for n in metrics(env.out)["run"]["notes"] if "has no row" in n]


# --- item 5: the related-series check needs its index -------------------------------------------


def test_without_rut_the_run_says_iwm_was_not_cross_checked(env, capsys):
    (env.data / "prices" / "RUT.csv").unlink()
    code, out, err, _ = cli(env, SHORT, capsys)
    assert code == 0, err
    note = (
        "warning: IWM not checked against RUT (no RUT file in the data directory or cache): "
        "an unadjusted split or a bad price would go unnoticed"
    )
    assert note in metrics(env.out)["run"]["notes"] and note in out


# --- item 18: what the summary prints -------------------------------------------------------------


def test_a_run_shorter_than_a_year_warns_and_shows_total_return(env, capsys):
    code, out, err, _ = cli(env, ["--start", "2019-01-02", "--end", "2019-01-04"], capsys)
    assert code == 0, err
    warning = (
        "warning: the run spans 2 calendar days (3 trading days), less than a year: CAGR, volatility, "
        "Sharpe and Sortino extrapolate it to a year; the total return is what it earned"
    )
    assert warning in metrics(env.out)["run"]["notes"] and warning in out
    header = next(x for x in out.splitlines() if x.strip().startswith("CAGR")).split()
    assert header == ["CAGR", "total", "vol", "max", "DD", "Sharpe"]
    equity = pd.read_csv(env.out / "equity.csv")
    for label, column in (("buy-and-hold IWM", "benchmark"), ("fedcut regime strategy (this run)", "strategy")):
        row = next(x for x in out.splitlines() if x.startswith(label)).removeprefix(label).split()
        values = equity[column]
        total = values.iloc[-1] / values.iloc[0] - 1
        years = 2 / 365.25
        assert row[0] == f"{(1 + total) ** (1 / years) - 1:+.1%}"  # CAGR, annualised from two days
        assert row[1] == f"{total:+.1%}"
        volatility = values.pct_change().std() * math.sqrt(252)
        assert row[2] == f"{volatility:.1%}"  # no sign


def test_premium_of_nothing_is_zero_dollars_and_a_loss_is_minus_dollars(env, capsys):
    days = ["--start", "2019-01-02", "--end", "2019-01-04"]
    sets = [a for k in ALL_CASH for a in ("--set", k)]
    code, out, err, _ = cli(env, days + sets, capsys)  # no puts at all: the premium is -0.0 in metrics.json
    assert code == 0, err
    puts = [line for line in out.splitlines() if line.startswith("puts:")]
    assert puts == ["puts: 0 trades, premium paid $0, received $0, net $0"]
    assert "without puts" not in out  # nothing to compare: the run bought none
    code, out, err, _ = cli(env, days, capsys, out=env.results / "hedged")  # puts bought: net option cash < 0
    assert code == 0, err
    h = metrics(env.results / "hedged")["hedge"]
    assert h["net_cash"] < 0
    puts = next(line for line in out.splitlines() if line.startswith("puts:"))
    assert puts.endswith(f", net -${-h['net_cash']:,.0f}") and "$-" not in out
    w = h["without_puts"]
    assert f"without puts the run would have earned CAGR {w['cagr']:+.1%}" in out


def test_zero_and_minus_zero_are_one_configuration(env, capsys):
    hashes, texts = [], []
    for i, value in enumerate(("0.0", "-0.0", "-0")):
        out = env.results / f"zero-{i}"
        code, _, err, _ = cli(
            env,
            ["--start", "2019-01-02", "--end", "2019-01-31", "--set", f"hedge.hedge_ratio={value}"],
            capsys,
            out=out,
        )
        assert code == 0, err
        hashes.append(metrics(out)["run"]["config_hash"])
        texts.append((out / "config.toml").read_text())
    assert len(set(hashes)) == 1 and len(set(texts)) == 1
    assert "\nhedge_ratio = 0.0\n" in texts[0]


# --- item 17: what a path is, and downloads that fail -------------------------------------------


@pytest.mark.parametrize(
    "make, problem",
    [
        (lambda p: p.symlink_to(p.name), "a symbolic link loop"),
        (lambda p: p.mkdir(), "a folder, not a CSV file"),
    ],
)
def test_a_path_that_is_not_a_file_never_triggers_a_download(env, capsys, monkeypatch, make, problem):
    monkeypatch.setenv("FEDCUT_OFFLINE", "0")
    calls = []
    monkeypatch.setattr(fetch, "refresh", lambda *args, **kwargs: calls.append(args))
    (env.data / "prices" / "IWM.csv").unlink()
    make(env.data / "prices" / "IWM.csv")
    code, out, err, _ = cli(env, SHORT, capsys)
    assert code == 2 and calls == []
    assert err.startswith(f"error: {env.data}/prices/IWM.csv: {problem}")
    assert err.count("\n") == 1 and "not found" not in err


def test_a_failed_yfinance_download_prints_one_line_and_no_warnings(env, capsys, monkeypatch):
    """yfinance logs its failures and pandas warns inside it; the user sees one line with the reason."""
    monkeypatch.setenv("FEDCUT_OFFLINE", "0")

    def failing_yahoo(symbol):
        log = logging.getLogger("yfinance")
        log.error("\n1 Failed download:")
        log.error(f"['{symbol}']: DNSError('Could not resolve host: query2.finance.yahoo.com')")
        for _ in range(12):
            warnings.warn("The inplace keyword in DataFrame.rename is deprecated", FutureWarning, stacklevel=2)
        return pd.DataFrame()

    monkeypatch.setattr(fetch, "yahoo_download", failing_yahoo)
    (env.data / "prices" / "VIX.csv").unlink()
    code, out, err, caught = cli(env, SHORT, capsys)
    assert code == 2 and out == ""
    assert caught == [], [str(w.message) for w in caught]
    assert err.count("\n") == 1, err
    assert err.startswith(
        f"error: series VIX not found ({env.data}; cache {env.cache}) and the download failed: "
        "yfinance returned no rows for ^VIX: ['^VIX']: DNSError('Could not resolve host"
    )
    assert logging.getLogger("yfinance").handlers == [] and logging.getLogger("yfinance").propagate


# --- issue 19: the FOMC calendar and the policy-rate check ---------------------------------------


def test_the_fomc_calendar_is_read_through_the_data_layer(shared_data, tmp_path):
    source = DataSource(data_dir=shared_data, cache_dir=tmp_path / "cache", offline=True)
    fomc = source.fomc()
    raw = pd.read_csv(shared_data / "calendar" / "FOMC.csv")
    assert len(fomc) == len(raw) and list(fomc.columns) == ["kind"]
    assert fomc.loc["2020-03-15", "kind"] == "unscheduled" and fomc.loc["2024-09-18", "kind"] == "scheduled"
    assert source.origin["FOMC"] == str(shared_data / "calendar" / "FOMC.csv")
    flat = tmp_path / "flat"  # found flat in the folder too, like every other file
    flat.mkdir()
    (flat / "FOMC.csv").symlink_to(shared_data / "calendar" / "FOMC.csv")
    assert DataSource(data_dir=flat, cache_dir=tmp_path / "cache", offline=True).fomc().equals(fomc)


def test_every_real_target_change_since_1994_is_explained_by_the_calendar(source):
    """The nine intermeeting moves are on unscheduled calls; FRED dates 2008-01-22 and 2008-10-08 the
    morning after the evening calls and, since 2017, every change the day after the decision."""
    fomc = source.fomc()
    for sid in ("DFEDTAR", "DFEDTARU", "DFEDTARL"):
        assert offcalendar_changes(source.macro(sid), fomc).empty, sid
    scheduled = fomc.index[fomc["kind"] == "scheduled"]
    target = source.macro("DFEDTAR")
    moved = target.index[(target.diff().fillna(0) != 0).to_numpy()]
    intermeeting = moved[(moved >= "1994-02-04") & ~moved.isin(scheduled)]
    assert [str(d.date()) for d in intermeeting] == [
        "1994-04-18",
        "1998-10-15",
        "2001-01-03",
        "2001-04-18",
        "2001-09-17",
        "2008-01-22",
        "2008-10-08",
    ]
    # the same change one day off (no call the evening before) is not explained
    shifted = target.copy()
    shifted.loc["2001-08-21"] = shifted.loc["2001-08-20"]  # the 2001-08-21 cut shown a day late
    assert [str(d.date()) for d in offcalendar_changes(shifted, fomc)] == ["2001-08-22"]


def test_cycle_names_are_unique_whatever_the_data():
    cuts = pd.to_datetime(["2001-01-03", "2019-07-31", "2019-10-30", "2024-09-18"])
    assert cycle_names(cuts) == ["2001", "2019-07-31", "2019-10-30", "2024"]


def legitimate_cycles(shared, data):
    """Fed funds targets that move 25 bp at every scheduled FOMC meeting since 1994, up then down:
    a new easing cycle every second meeting, each on the calendar (FRED's next day since 2017)."""
    fomc = pd.read_csv(shared / "calendar" / "FOMC.csv", parse_dates=["date"])
    meetings = pd.DatetimeIndex(fomc.loc[fomc["kind"] == "scheduled", "date"])
    meetings = meetings[meetings >= "1994-02-04"]
    effective = meetings.where(meetings < "2017-01-01", meetings + pd.Timedelta(days=1))
    for sid, base in (("DFEDTAR", 3.0), ("DFEDTARU", 0.25), ("DFEDTARL", 0.0)):

        def edit(lines, base=base):
            out = lines[:1]
            for line in lines[1:]:
                day, value = line.rstrip("\n").split(",")
                if day >= "1994-02-04":
                    value = f"{base + 0.25 * (np.searchsorted(effective, pd.Timestamp(day), side='right') % 2):.2f}"
                out.append(f"{day},{value}\n")
            return out

        _rewrite(data, f"macro/{sid}.csv", edit)


def test_a_run_with_many_legitimate_cycles_shows_the_most_recent_and_keeps_them_all(env, shared_data, capsys):
    legitimate_cycles(shared_data, env.data)
    code, out, err, _ = cli(env, ["--start", "2012-01-03"], capsys)
    assert code == 0, err
    episodes = pd.read_csv(env.out / "episodes.csv", dtype={"cycle": str})
    n = len(episodes)
    assert n > MAX_CYCLES_LISTED > MAX_CYCLES_SHOWN and episodes["cycle"].is_unique
    assert len(metrics(env.out)["cycles"]) == n  # metrics.json keeps every cycle too
    run_end = pd.Timestamp(metrics(env.out)["run"]["end"])
    assert (pd.to_datetime(episodes["first_cut"]) <= run_end).all()  # no cycle that starts after the run
    assert f"window ({MAX_CYCLES_LISTED} most recent of {n})" in out
    listed = [line.split()[0] for line in out.splitlines() if line[:4].isdigit() and ".." in line]
    assert listed == list(episodes["cycle"].iloc[-MAX_CYCLES_LISTED:])
    report = (env.out / "report.html").read_text()
    assert f"The {MAX_CYCLES_LISTED} most recent of {n} cycles; every cycle is in episodes.csv." in report
    assert f"The picture draws the {MAX_CYCLES_SHOWN} most recent of {n} cycles" in report
    for section in ("verdict", "cycles"):  # one row per cycle listed, in the answer and in the details
        body = report.split(f'<section id="{section}">')[1].split("<tbody>")[1].split("</tbody>")[0]
        assert body.count("<tr>") == MAX_CYCLES_LISTED, section
    assert math.isclose(
        episodes["benchmark_return"].iloc[-1],
        metrics(env.out)["cycles"][episodes["cycle"].iloc[-1]]["benchmark_return"],
    )


def test_the_file_name_decides_which_series_a_file_holds(tmp_path):
    assert readers.series_name(tmp_path / "DGS2.csv") == "DGS2"
    assert readers.series_name(tmp_path / "DGS2.csv.part") == "DGS2"  # a download being validated
    assert readers.series_name(tmp_path / "^VIX.csv") == "VIX"
