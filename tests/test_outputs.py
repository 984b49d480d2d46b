"""The output stage's parts: files written in two processes, the hedge per year, the parameters a run
changed, and the pictures' colours and sizes."""
from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fedcut.analyzers.attribution import hedge_by_year
from fedcut.plots.run import HOLDING_COLOURS, SPARE_COLOURS, holding_colours, underwater_figure
from fedcut.cli import main
from fedcut.core.config import changed_parameters, flatten
from fedcut.core.errors import FedcutError
from fedcut.core.files import Output, write_all
from fedcut.core.params import resolve
from fedcut.plots.kit import DPI, REGIME_COLOURS, SPARE_REGIME_COLOURS, WIDTH, regime_colour, regime_order
from fedcut.signals.regime import REGIMES
from test_report import hand_example

ROOT = Path(__file__).resolve().parents[1]


def writer(path, text):
    return Output(path, 1.0, lambda: path.write_text(f"{text} written by {os.getpid()}"))


def test_write_all_shares_the_files_between_two_processes_and_waits_for_both(tmp_path):
    """In a fresh process, as the command line runs (a test process may hold other libraries' threads,
    and then write_all rightly writes everything itself)."""
    script = f"""
import os, sys
from pathlib import Path
from fedcut.core.files import Output, write_all
out = Path({str(tmp_path)!r})
def writer(k):
    path = out / f"{{k}}.txt"
    return Output(path, 1.0, lambda: path.write_text(str(os.getpid())))
print(write_all([writer(k) for k in range(4)], meanwhile=lambda: "tables", meanwhile_cost=0.5), os.getpid())
try:
    os.waitpid(-1, os.WNOHANG)
except ChildProcessError:
    print("no child left")
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    result, parent, left = done.stdout.split(maxsplit=2)
    writers = {p.read_text() for p in tmp_path.iterdir()}
    assert result == "tables" and len(list(tmp_path.iterdir())) == 4
    assert len(writers) == 2 and parent in writers  # this process and one child, each a share
    assert left.strip() == "no child left"  # waited for: nothing left running


HELPER = """
import os, sys, threading, time
from pathlib import Path
from fedcut.core.files import Helper
out = Path(sys.argv[1])
def ahead():
    time.sleep(float(os.environ.get("AHEAD_SLEEP", "0")))
    if os.environ.get("AHEAD_FAILS"):
        raise ValueError("ahead failed")
    return {"ahead.txt": str(os.getpid()).encode()}
def work(name, pause):
    time.sleep(pause)
    (out / name).write_text(str(os.getpid()))
"""


def _helper(tmp_path, body, **env):
    done = subprocess.run([sys.executable, "-c", HELPER + body + "\nprint(os.getpid())\ntry:\n    os.waitpid(-1, os.WNOHANG)\n"
                           "except ChildProcessError:\n    print('no child left')\n", str(tmp_path)],
                          capture_output=True, text=True, env=os.environ | env, timeout=60)
    return done


def test_helper_works_ahead_then_writes_its_files_and_does_the_order_in_another_process(tmp_path):
    done = _helper(tmp_path, "h = Helper(ahead)\nh.go(out, work, 'order.txt', 0.0)\nh.join()")
    parent, left = done.stdout.split(maxsplit=1)
    assert done.returncode == 0 and left.strip() == "no child left"
    helper = (tmp_path / "ahead.txt").read_text()
    assert helper != parent and (tmp_path / "order.txt").read_text() == helper


def test_helper_failure_ahead_is_raised_here_when_the_order_is_given(tmp_path):
    done = _helper(tmp_path, "h = Helper(ahead)\nh.go(out, work, 'order.txt', 0.0)\nh.join()", AHEAD_FAILS="1")
    assert done.returncode == 1 and done.stderr.strip().endswith("ValueError: ahead failed")
    assert not list(tmp_path.iterdir())  # neither its files nor the order


def test_helper_closed_before_the_order_ends_at_once_and_writes_nothing(tmp_path):
    start = time.monotonic()
    done = _helper(tmp_path, "with Helper(ahead):\n    pass", AHEAD_SLEEP="30")
    assert done.returncode == 0 and done.stdout.split()[1:] == ["no", "child", "left"]
    assert time.monotonic() - start < 20 and not list(tmp_path.iterdir())


def test_helper_closed_after_the_order_waits_so_nothing_lands_later(tmp_path):
    done = _helper(tmp_path, "h = Helper(ahead)\nh.go(out, work, 'order.txt', 1.0)\nh.close()\n"
                             "print(sorted(p.name for p in out.iterdir()))")
    assert done.returncode == 0 and "['ahead.txt', 'order.txt']" in done.stdout


def test_helper_first_result_comes_back_and_is_handed_to_the_work_ahead(tmp_path):
    body = ("def made(value):\n    return {'ahead.txt': f'{value} {os.getpid()}'.encode()}\n"
            "with Helper(made, first=lambda: os.getpid()) as h:\n    print(h.first_result())\n"
            "    h.go(out, work, 'order.txt', 0.0)\n    h.join()")
    done = _helper(tmp_path, body)
    helper, parent = done.stdout.split()[:2]
    assert done.returncode == 0 and helper != parent
    assert (tmp_path / "ahead.txt").read_text() == f"{helper} {helper}"  # computed there, handed on there


def test_helper_failure_first_is_raised_here_and_leaves_no_process(tmp_path):
    body = ("def bad():\n    raise LookupError('no data')\n"
            "with Helper(ahead, first=bad) as h:\n    try:\n        h.first_result()\n"
            "    except LookupError as exc:\n        print('raised:', exc)")
    done = _helper(tmp_path, body)
    assert done.returncode == 0 and done.stdout.startswith("raised: no data") and "no child left" in done.stdout
    assert not list(tmp_path.iterdir())


def test_helper_with_other_threads_running_does_everything_here(tmp_path):
    done = _helper(tmp_path, "stop = threading.Event()\nt = threading.Thread(target=stop.wait)\nt.start()\n"
                             "h = Helper(ahead)\nh.go(out, work, 'order.txt', 0.0)\nh.join()\nstop.set()\nt.join()")
    parent = done.stdout.split()[0]
    assert done.returncode == 0 and (tmp_path / "ahead.txt").read_text() == parent
    assert (tmp_path / "order.txt").read_text() == parent


def test_write_all_raises_the_childs_failure_as_one_line_naming_the_file(tmp_path):
    def fail():
        raise OSError(28, "No space left on device")

    outputs = [writer(tmp_path / "small.txt", "x"), Output(tmp_path / "big.png", 9.0, fail)]
    with pytest.raises(FedcutError, match=f"^{tmp_path / 'big.png'}: cannot write \\(No space left on device\\)$"):
        write_all(outputs, meanwhile_cost=5.0)  # this process has 5 to do: the big one goes to the child
    assert (tmp_path / "small.txt").read_text().endswith(str(os.getpid()))  # this process's share is done
    assert not (tmp_path / "big.png").exists()


def test_write_all_with_other_threads_running_writes_everything_here(tmp_path):
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        write_all([writer(tmp_path / f"{k}.txt", k) for k in range(3)])
    finally:
        stop.set()
        thread.join()
    assert {p.read_text().split(" written by ")[1] for p in tmp_path.iterdir()} == {str(os.getpid())}


def test_hedge_by_year_by_hand():
    """The hand example's put: bought on day 2 for 0.50 x 100 + 0.65 commission, marked at 40 that
    close, sold on day 3 for 0.80 x 100 - 0.65. Amounts are divided by the previous close's value."""
    equity, trades = hand_example()
    years = hedge_by_year(equity, trades)
    value = equity["strategy"].to_numpy()
    assert list(years.index) == [2020]
    assert years.loc[2020, "premium_usd"] == pytest.approx(50.65)
    assert years.loc[2020, "premium_bp"] == pytest.approx(1e4 * 50.65 / value[0])
    day2, day3 = 40.0 - 50.0 - 0.65, -40.0 + 80.0 - 0.65  # marks + cash flows after commission
    assert years.loc[2020, "pnl_usd"] == pytest.approx(day2 + day3)
    assert years.loc[2020, "pnl_bp"] == pytest.approx(1e4 * (day2 / value[0] + day3 / value[1]))
    span = (pd.Timestamp(equity["date"].iloc[-1]) - pd.Timestamp(equity["date"].iloc[0])).days / 365.25
    assert years.attrs["pnl_bp_per_year"] == pytest.approx(years.loc[2020, "pnl_bp"] / span)
    assert years.attrs["days_held"] == pytest.approx(0.25)  # one of four closes holds the put
    assert years.attrs["mean_share_held"] == pytest.approx(40.0 / value[1])


def test_changed_parameters_list_what_differs_from_the_defaults():
    cfg = resolve({"hedge.moneyness": 0.85, "run.start": "2007-01-03", "strategy.defensives": ["XLP", "TLT"]})
    changed = changed_parameters(cfg.flat())
    assert [(k, v, d) for k, v, d, _ in changed] == [("run.start", "2007-01-03", ""),
                                                     ("strategy.defensives", ("XLP", "TLT"), ("XLP", "XLU", "IEF")),
                                                     ("hedge.moneyness", 0.85, 0.9)]
    assert changed_parameters(resolve().flat()) == []
    # a saved config.toml read back: lists for tuples, an unknown key listed, not hidden
    saved = flatten({"strategy": {"defensives": ["XLP", "XLU", "IEF"]}, "old": {"knob": 1}, "run": {"oracle": True}})
    assert changed_parameters(saved) == [("run.oracle", True, False, "flag"), ("old.knob", 1, None, "unknown parameter")]


def test_regime_and_holding_colours_are_distinct_and_cover_new_names():
    assert HOLDING_COLOURS["cash"] != REGIME_COLOURS["neutral"]  # cash and neutral are not one grey
    assert not set(HOLDING_COLOURS.values()) & set(REGIME_COLOURS.values())
    assert regime_order(["neutral", "new_state", "crisis"]) == ["crisis", "neutral", "new_state"]
    assert regime_colour("new_state") in SPARE_REGIME_COLOURS and regime_colour("new_state") == regime_colour("new_state")
    assert [regime_colour(r) for r in REGIMES if r in REGIME_COLOURS] == [REGIME_COLOURS[r] for r in REGIMES
                                                                          if r in REGIME_COLOURS]
    assert holding_colours(["IWM", "XLI", "NEW1", "NEW2"]) == [HOLDING_COLOURS["IWM"], HOLDING_COLOURS["XLI"],
                                                             *SPARE_COLOURS[:2]]


def test_the_underwater_figure_has_spy_and_every_figure_fits_the_page():
    days = pd.bdate_range("2019-01-01", periods=400)
    curve = pd.Series(100 * np.exp(np.cumsum(np.random.default_rng(3).normal(0, 0.01, 400))), index=days)
    equity = pd.DataFrame({"strategy": curve, "benchmark": curve * 1.01, "spy": curve ** 0.5, "regime": "neutral"})
    fig = underwater_figure(equity)
    assert [t.get_text() for ax in fig.axes for t in ax.texts if "buy-and-hold" in t.get_text() or "fedcut" in
            t.get_text()] == ["fedcut regime strategy", "buy-and-hold IWM", "buy-and-hold SPY"]
    assert round(fig.get_figwidth() * fig.get_dpi()) == round(WIDTH * DPI) == 1240


def test_the_console_summary_shows_each_cycles_run_up_return_and_drawdown_and_the_changes(shared_data, tmp_path,
                                                                                          capsys):
    out = tmp_path / "run"
    assert main(["--start", "2019-01-02", "--end", "2020-12-31", "--set", "hedge.moneyness=0.85",
                 "--data-dir", str(shared_data), "--offline", "--out", str(out)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1] == ('parameters changed: run.start = 2019-01-02 (default ""); run.end = 2020-12-31 (default ""); '
                        "hedge.moneyness = 0.85 (default 0.9)")
    assert "  warning: the 2019 cycle is only partly covered: data ends 2020-12-31 (window to 2021-07-31)" in lines
    m = json.loads((out / "metrics.json").read_text())
    equity = pd.read_csv(out / "equity.csv", parse_dates=["date"], index_col="date")["benchmark"]
    runup = equity[:"2019-07-31"].iloc[-1] / equity[:"2019-04-30"].iloc[-1] - 1
    c = m["cycles"]["2019"]
    row = next(line for line in lines if line.startswith("2019 (partial)")).split()
    assert row[2:7] == [f"{x:+.1%}" for x in (runup, c["strategy_return"], c["benchmark_return"],
                                              c["strategy_max_drawdown"], c["benchmark_max_drawdown"])]
    assert row[7] == c["window"]


def test_every_picture_in_docs_is_drawn_by_make_figures_and_shown_on_a_page():
    """The README and the site's pages show only pictures docs/make_figures.py redraws, and each of them somewhere."""
    make_figures = _module(ROOT / "docs" / "make_figures.py")
    assert make_figures.stale() == []  # a PNG nothing redraws would go stale
    shown = set()
    for page in [ROOT / "README.md", *(ROOT / "docs").rglob("*.md")]:
        for target in re.findall(r"!\[[^]]*\]\(([^)]+\.png)\)", page.read_text()):
            picture = (page.parent / target).resolve()
            assert picture.parent == ROOT / "docs" and picture.is_file(), (page, target)
            shown.add(picture.name)
    assert shown == set(make_figures.FIGURES)


def _module(path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
