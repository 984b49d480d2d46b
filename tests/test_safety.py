"""Safety and reliability (issue 17, items 8-20): each case through the command line, as a user meets it.

Refusals end with exit status 2 and exactly one line on stderr, `error: <file or setting>: <problem>`,
with no traceback; where the case is about output, nothing is half-written and nothing outside the
output's own folder changes. The refusals and their messages are listed in docs/bad_inputs.md.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

import fedcut.run.backtest
import fedcut.run.folder
import fedcut.run.inputs
from fedcut.cli import main
from fedcut.core.errors import MAX_MESSAGE
from fedcut.core.files import TEMPORARY
from fedcut.core.params import resolve
from fedcut.execution.engines import ARRAY
from fedcut.sweeps.runner import LOCK, STORE, usable_cpus
from fedcut.sweeps.store import Store

pytestmark = pytest.mark.slow  # whole runs and commands: not in the edit-test loop

ROOT = Path(__file__).resolve().parents[1]
SHORT = ["--start", "2019-01-02", "--end", "2020-12-31"]
MARKUP = '<script>alert("x")</script><img src=x onerror=alert(1)>'
# the payload as a tag, not as escaped text (the report's own chart is an inline script: only the
# payload's is looked for)
RAW_MARKUP = re.compile(r"<script>alert|<img src=x", re.I)


# --- helpers --------------------------------------------------------------------------------------


def cli(args: list, capsys) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def refused(args: list, capsys) -> str:
    """Run the command; it must be refused with one line: return that line."""
    code, out, err = cli(args, capsys)
    assert code == 2, (code, err)
    assert "Traceback" not in out + err
    lines = err.splitlines()
    assert len(lines) == 1 and err.endswith("\n"), err[:2000]
    assert lines[0].startswith("error: ")
    return lines[0]


def snapshot(root: Path) -> dict:
    return {
        str(p.relative_to(root)): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.is_symlink()
    }


def no_run(*args, **kwargs):
    raise AssertionError("the run started although the command should have been refused first")


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


@pytest.fixture
def data_env(shared_data, monkeypatch, tmp_path):
    """A user's shell: the shared data, offline, in an empty working folder."""
    monkeypatch.setenv("FEDCUT_DATA_DIR", str(shared_data))
    monkeypatch.setenv("FEDCUT_OFFLINE", "1")
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture(scope="module")
def short_run(shared_data, tmp_path_factory):
    """A real run folder (2019-2020), written once; tests damage copies of it."""
    out = tmp_path_factory.mktemp("short") / "run"
    fedcut.run.folder.write_run(
        fedcut.run.backtest.run(resolve({"run.start": "2019-01-02", "run.end": "2020-12-31"}), str(shared_data), True),
        out,
    )
    return out


@pytest.fixture
def run_copy(short_run, tmp_path):
    folder = tmp_path / "sent" / "run"
    shutil.copytree(short_run, folder)
    return folder


# --- 14, 17: settings that used to give tracebacks or the wrong blame -----------------------------


@pytest.mark.parametrize("start, end", [("2008-W02-1", "2009-12-31"), ("20080102", "2007-12-31")])
def test_dates_other_than_yyyy_mm_dd_are_refused(data_env, capsys, monkeypatch, start, end):
    """Python reads both as dates; `20080102` then passed the start-after-end check, compared as text."""
    monkeypatch.setattr(fedcut.run.backtest, "run", no_run)
    line = refused(["--start", start, "--end", end], capsys)
    assert line == f"error: config: run.start must be a date YYYY-MM-DD, got '{start}'"
    assert not (data_env / "results").exists()


def test_integers_too_long_for_python_are_one_line(data_env, capsys, monkeypatch):
    monkeypatch.setattr(fedcut.run.backtest, "run", no_run)
    (data_env / "big.toml").write_text("[hedge]\ncontract_size = 1" + "0" * 4400 + "\n")
    line = refused(["--config", data_env / "big.toml"], capsys)
    assert line == f"error: {data_env / 'big.toml'}: not valid TOML (an integer of more than 4300 digits)"
    line = refused(["--set", "hedge.contract_size=" + "9" * 5000], capsys)  # read as text: not a number
    assert line.startswith("error: config: hedge.contract_size must be a whole number (shares), got '999")
    line = refused(["--set", "hedge.moneyness=1" + "0" * 400], capsys)  # an int beyond a float's range
    assert line.startswith("error: config: hedge.moneyness = 1000") and line.endswith(
        "is too large for a number (strike / spot)"
    )


def test_a_mistake_in_the_config_file_is_blamed_on_it_also_with_set(data_env, capsys, monkeypatch):
    monkeypatch.setattr(fedcut.run.backtest, "run", no_run)
    (data_env / "mine.toml").write_text("[hedge]\nmoneyness = 7\n")
    line = refused(["--config", data_env / "mine.toml", "--set", "hedge.tenor_days=120"], capsys)
    assert line == f"error: {data_env / 'mine.toml'}: hedge.moneyness = 7.0 is above its maximum 1.2 (strike / spot)"


def test_fedcut_offline_must_be_a_known_value(data_env, capsys, monkeypatch):
    monkeypatch.setenv("FEDCUT_OFFLINE", "maybe")
    monkeypatch.setattr(fedcut.run.backtest, "run", no_run)
    line = refused(SHORT, capsys)
    assert line.startswith("error: FEDCUT_OFFLINE='maybe': expected 1, true, yes or on")


# --- 11: long values are cut ----------------------------------------------------------------------


def test_long_values_are_cut_and_messages_stay_one_line(data_env, capsys, monkeypatch):
    monkeypatch.setattr(fedcut.run.backtest, "run", no_run)
    (data_env / "huge.toml").write_text('[hedge]\nsizing = "' + "x" * 5_000_000 + '"\n')
    line = refused(["--config", data_env / "huge.toml"], capsys)
    assert len(line) <= len("error: ") + MAX_MESSAGE + 60
    assert line.startswith(f"error: {data_env / 'huge.toml'}: hedge.sizing must be one of ratio, budget; got 'xxx")
    cut = int(re.search(r"\[([\d,]+) characters cut\]", line).group(1).replace(",", ""))
    assert cut > 4_990_000  # the value's middle, counted
    odd = data_env / "line\nbreak\x1b[31m.toml"  # a file name with a newline and a terminal escape
    line = refused(["--config", odd], capsys)
    assert line == f"error: {data_env}/line\\x0abreak\\x1b[31m.toml: config file not found"


# --- 15, 16, 17: where a run is written --------------------------------------------------------------


def test_the_default_command_twice_gives_two_folders(data_env, capsys):
    assert cli(SHORT, capsys)[0] == 0
    code, out, err = cli(SHORT, capsys)
    assert code == 0, err
    first, second = sorted((data_env / "results").iterdir())
    assert second.name == first.name + "-2"
    assert out.rstrip().splitlines()[-1] == f"run folder: {Path('results') / second.name}"
    assert (first / "metrics.json").read_bytes() == (second / "metrics.json").read_bytes()  # same config, same bytes


def test_an_existing_out_is_refused_before_any_work(data_env, capsys, monkeypatch):
    monkeypatch.setattr(fedcut.run.backtest, "run", no_run)
    (data_env / "mine").mkdir()
    (data_env / "mine" / "keep.txt").write_text("mine")
    line = refused(SHORT + ["--out", data_env / "mine"], capsys)
    assert line == f"error: --out {data_env / 'mine'}: already exists; a run never overwrites another"
    assert [p.name for p in (data_env / "mine").iterdir()] == ["keep.txt"]


@pytest.mark.parametrize("case", ["out-parent-is-a-file", "results-is-a-file", "out-unwritable", "results-unwritable"])
def test_output_locations_are_checked_before_the_run_and_named(data_env, capsys, monkeypatch, case):
    monkeypatch.setattr(fedcut.run.backtest, "run", no_run)
    unwritable = Path("/sys/kernel")  # even root cannot create anything in sysfs
    if "unwritable" in case and not unwritable.is_dir():
        pytest.skip("needs Linux sysfs")
    if case == "out-parent-is-a-file":
        (data_env / "file.txt").write_text("")
        line = refused(SHORT + ["--out", data_env / "file.txt" / "run"], capsys)
        assert (
            line
            == f"error: {data_env / 'file.txt'}: not a folder, so {data_env / 'file.txt' / 'run'} cannot be written"
        )
    elif case == "results-is-a-file":
        (data_env / "results").write_text("")
        line = refused(SHORT, capsys)
        assert line == "error: results: not a folder, so no run folder can be written in results"
    elif case == "out-unwritable":
        line = refused(SHORT + ["--out", unwritable / "fedcut" / "run"], capsys)
        assert re.fullmatch(
            rf"error: {unwritable}: cannot create anything there \((Operation not permitted|"
            rf"Permission denied)\), so {unwritable}/fedcut/run cannot be written",
            line,
        ), line
    else:
        (data_env / "results").symlink_to(unwritable)
        line = refused(SHORT, capsys)
        assert line.startswith("error: results: cannot create anything there (")
        assert line.endswith("so no run folder can be written in results")
    assert not list(data_env.rglob("*.partial*"))


def test_a_full_disk_names_the_file_where_it_was_going(data_env, capsys, monkeypatch):
    """metrics.json is written to /dev/full: the kernel's own "No space left on device"."""
    real = Path.write_text

    def onto_full_disk(self, data, *args, **kwargs):
        if self.name == "metrics.json":
            with open("/dev/full", "w") as full:
                full.write(data)
        return real(self, data, *args, **kwargs)

    if not Path("/dev/full").exists():
        pytest.skip("needs /dev/full")
    monkeypatch.setattr(Path, "write_text", onto_full_disk)
    out = data_env / "runs" / "mine"
    line = refused(SHORT + ["--out", out], capsys)
    assert line == f"error: {out / 'metrics.json'}: cannot write (No space left on device)"
    assert not out.exists() and not list(data_env.rglob("*.partial*"))


def killed_temporary(folder: Path, what: str) -> Path:
    """A temporary fedcut made in `folder` (name, token and marker) whose process then died mid-write."""
    code = (
        "import os, sys; from pathlib import Path; from fedcut.core.files import temporary_folder\n"
        "with temporary_folder(Path(sys.argv[1]), sys.argv[2], Path(sys.argv[1])) as t:\n"
        "    (t / 'plots').mkdir(); print(t.name, flush=True); os._exit(0)"
    )
    name = subprocess.run(
        [sys.executable, "-c", code, str(folder), what], capture_output=True, text=True, check=True
    ).stdout.strip()
    return folder / name


def test_temporaries_of_dead_processes_are_removed_by_the_next_run(data_env, capsys):
    results = data_env / "results"
    results.mkdir()
    dead = killed_temporary(results, "run-a.partial")
    (results / "keep-me").mkdir()
    assert cli(SHORT, capsys)[0] == 0
    names = sorted(p.name for p in results.iterdir())
    assert dead.name not in names  # fedcut's, and its process is gone
    assert "keep-me" in names and all(TEMPORARY.fullmatch(n) is None for n in names)


# --- 13: data fetch --------------------------------------------------------------------------------


@pytest.fixture
def fake_download(monkeypatch, tmp_path):
    """The HTTP layer faked: records what would have been downloaded."""
    calls = []

    def refresh(kind, name, cache_dir):
        calls.append((kind, name))
        return Path(cache_dir) / kind / f"{name}.csv"

    monkeypatch.setattr("fedcut.data.fetch.refresh", refresh)
    monkeypatch.setenv("FEDCUT_CACHE_DIR", str(tmp_path / "cache"))
    return calls


@pytest.mark.parametrize(
    "args, env",
    [
        (["data", "fetch", "IWM"], "1"),
        (["data", "fetch", "--offline", "IWM"], "0"),
        (["data", "fetch", "IWM", "--offline"], ""),
    ],
)
def test_data_fetch_honours_offline(fake_download, monkeypatch, capsys, args, env):
    monkeypatch.setenv("FEDCUT_OFFLINE", env)
    line = refused(args, capsys)
    assert (
        line
        == "error: data fetch: downloads are off (--offline or FEDCUT_OFFLINE); run it without them to refresh the cache"
    )
    assert fake_download == []


def test_data_fetch_online_reads_options_anywhere(fake_download, monkeypatch, capsys, shared_data):
    monkeypatch.setenv("FEDCUT_OFFLINE", "0")
    code, out, err = cli(["data", "fetch", "--data-dir", shared_data, "IWM", "DGS2"], capsys)
    assert code == 0, err
    assert fake_download == [("prices", "IWM"), ("macro", "DGS2")]


# --- 8, 14, 18: report on a folder someone sent -----------------------------------------------------


def _metrics(folder: Path, edit) -> None:
    m = json.loads((folder / "metrics.json").read_text())
    edit(m)
    (folder / "metrics.json").write_text(json.dumps(m))


def _mark_texts(value):
    """Every text in a JSON document replaced by markup, except the dates and the intervals (lists of
    numbers) the report computes with."""
    if isinstance(value, dict):
        return {k: v if k in ("start", "end") else _mark_texts(v) for k, v in value.items()}
    if isinstance(value, list):
        return value if all(isinstance(v, (int, float)) for v in value) else [MARKUP]
    return MARKUP if isinstance(value, str) else value


def test_report_escapes_every_text_of_a_folder_full_of_markup(run_copy, capsys, data_env):
    m = _mark_texts(json.loads((run_copy / "metrics.json").read_text()))
    m["run"]["oracle"] = True  # the banner shows run.label
    m["regime_share"][MARKUP] = 0.0
    (run_copy / "metrics.json").write_text(json.dumps(m))
    config = (run_copy / "config.toml").read_text()
    assert 'end = "2020-12-31"' in config and 'defensives = ["XLP", "XLU", "IEF"]' in config
    config = f"# {MARKUP}\n" + config.replace('end = "2020-12-31"', f"end = {json.dumps(MARKUP)}")
    (run_copy / "config.toml").write_text(
        config.replace('defensives = ["XLP", "XLU", "IEF"]', f"defensives = [{json.dumps(MARKUP)}]")
    )
    for name, columns in (
        (
            "episodes.csv",
            (
                "coverage",
                "regime_mix",
                "holdings_mix",
                "strategy_peak",
                "strategy_trough",
                "benchmark_peak",
                "benchmark_trough",
            ),
        ),
        ("equity.csv", ("regime",)),
    ):
        frame = pd.read_csv(run_copy / name, dtype=str, keep_default_na=False)
        frame[list(columns)] = MARKUP
        frame.to_csv(run_copy / name, index=False)
    trades = pd.read_csv(run_copy / "trades.csv", dtype=str, keep_default_na=False)
    trades.loc[trades["strike"] != "", ["instrument", "expiry"]] = MARKUP  # option rows
    trades.to_csv(run_copy / "trades.csv", index=False)
    code, out, err = cli(["report", run_copy], capsys)
    assert code == 0, err
    page = (run_copy / "report.html").read_text()
    assert not RAW_MARKUP.search(page)
    assert page.count("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;") >= 15


def test_report_refuses_markup_where_a_number_belongs(run_copy, capsys, data_env):
    """The issue's case: metrics.json's rejected_orders was written into the page as it stood."""
    before = snapshot(run_copy)
    _metrics(run_copy, lambda m: m.update(rejected_orders=MARKUP))
    line = refused(["report", run_copy], capsys)
    assert line.startswith(f"error: {run_copy / 'metrics.json'}: rejected_orders must be a whole number, got '<script>")
    assert {k: v for k, v in snapshot(run_copy).items() if k != "metrics.json"} == {
        k: v for k, v in before.items() if k != "metrics.json"
    }  # nothing rewritten
    assert not RAW_MARKUP.search((run_copy / "report.html").read_text())


def _csv_edit(name, old, new, count=1):
    return lambda folder: (folder / name).write_text((folder / name).read_text().replace(old, new, count))


def _csv_drop(name, start):
    """Remove the lines of a CSV file that start with `start`."""
    return lambda folder: (folder / name).write_text(
        "".join(line for line in (folder / name).read_text().splitlines(keepends=True) if not line.startswith(start))
    )


def _csv_field(name, row, column, value):
    """Set one field of a CSV file (row 1 is the header)."""

    def edit(folder):
        lines = (folder / name).read_text().splitlines(keepends=True)
        fields = lines[row - 1].rstrip("\n").split(",")
        fields[column] = value
        lines[row - 1] = ",".join(fields) + "\n"
        (folder / name).write_text("".join(lines))

    return edit


def _csv_cell(name, row, column, value):
    """Set one cell of a CSV file, found by its column's name (row 0 is the first under the header)."""

    def edit(folder):
        frame = pd.read_csv(folder / name, dtype=str, keep_default_na=False)
        frame.loc[row, column] = value
        frame.to_csv(folder / name, index=False)

    return edit


DAMAGED = [
    ("metrics-not-json", lambda f: (f / "metrics.json").write_text('{"run": '), "metrics.json: not valid JSON ("),
    ("metrics-not-an-object", lambda f: (f / "metrics.json").write_text("[]"), "metrics.json: must hold a JSON object"),
    ("metrics-not-utf8", lambda f: (f / "metrics.json").write_bytes(b"\xff\xfe{}"), "metrics.json: not UTF-8 text ("),
    ("metrics-without-run", lambda f: _metrics(f, lambda m: m.pop("run")), "metrics.json: run must be an object"),
    (
        "metrics-text-for-number",
        lambda f: _metrics(f, lambda m: m["strategy"].update(cagr="high")),
        "metrics.json: strategy.cagr must be a number, got 'high'",
    ),
    (
        "metrics-bad-end",
        lambda f: _metrics(f, lambda m: m["run"].update(end="31/12/2020")),
        "metrics.json: run.end must be a date YYYY-MM-DD, got '31/12/2020'",
    ),
    (
        "metrics-baseline-text-for-number",
        lambda f: _metrics(f, lambda m: m["baselines"]["credit_rule"].update(cagr="high")),
        "metrics.json: baselines.credit_rule.cagr must be a number, got 'high'",
    ),
    (
        "metrics-verdict-bad-interval",
        lambda f: _metrics(f, lambda m: m["verdict"]["against"]["buy_and_hold"].update(sharpe_diff_ci="wide")),
        "metrics.json: verdict.against.buy_and_hold.sharpe_diff_ci must be a [low, high] pair or null, got 'wide'",
    ),
    (
        "cash-rate-missing-day",
        _csv_drop("cash_rate.csv", "2019-01-03,"),
        "cash_rate.csv: no rate (an annual fraction) for 2019-01-03, a day of equity.csv",
    ),
    (
        "cash-rate-not-a-number",
        _csv_field("cash_rate.csv", 3, 1, "high"),
        "cash_rate.csv: row 3: cash_rate 'high' is not a number",
    ),
    ("config-not-toml", lambda f: (f / "config.toml").write_text("[hedge\n"), "config.toml: not valid TOML ("),
    (
        "equity-missing-column",
        _csv_edit("equity.csv", "date,strategy,", "date,strat,"),
        "equity.csv: no 'strategy' column",
    ),
    ("equity-not-a-number", _csv_field("equity.csv", 3, 1, "abc"), "equity.csv: row 3: strategy 'abc' is not a number"),
    (
        "equity-bad-date",
        _csv_field("equity.csv", 3, 0, "2019-13-03"),
        "equity.csv: row 3: date '2019-13-03' is not a date YYYY-MM-DD",
    ),
    (
        "equity-not-positive",
        _csv_field("equity.csv", 4, 2, "0"),
        "equity.csv: row 4: benchmark 0.0 is not a positive portfolio value",
    ),
    ("equity-empty", lambda f: (f / "equity.csv").write_text(""), "equity.csv: not a readable CSV table ("),
    (
        "equity-header-only",
        lambda f: (f / "equity.csv").write_text((f / "equity.csv").read_text().splitlines()[0] + "\n"),
        "equity.csv: needs two or more rows with dates in increasing order",
    ),
    ("trades-missing-column", _csv_edit("trades.csv", ",action,", ",act,"), "trades.csv: no 'action' column"),
    (
        "episodes-missing-column",
        _csv_edit("episodes.csv", ",window_end,", ",wend,"),
        "episodes.csv: no 'window_end' column",
    ),
    (
        "episodes-cycle-not-a-year",
        _csv_field("episodes.csv", 2, 0, "$\\frac{1}{0}$"),
        "episodes.csv: row 2: cycle '$\\\\frac{1}{0}$' is not the year (or date) of a first cut",
    ),
    ("plots-is-a-file", lambda f: (shutil.rmtree(f / "plots"), (f / "plots").write_text("")), "plots: not a folder"),
]
# The report draws the regime picture from signals.csv (docs/bad_inputs.md does not list these yet).
DAMAGED_SIGNALS = [
    (
        "signals-missing-column",
        _csv_edit("signals.csv", ",capitulated,", ",capitulation,"),
        "signals.csv: no 'capitulated' column",
    ),
    (
        "signals-capitulated-not-true-or-false",
        _csv_cell("signals.csv", 5, "capitulated", "maybe"),
        "signals.csv: capitulated must be True or False on every row",
    ),
    (
        "signals-iwm-not-a-number",
        _csv_cell("signals.csv", 5, "iwm", "high"),
        "signals.csv: row 7: iwm 'high' is not a number",
    ),
]


@pytest.mark.parametrize(
    "case, damage, message", DAMAGED + DAMAGED_SIGNALS, ids=[c[0] for c in DAMAGED + DAMAGED_SIGNALS]
)
def test_report_on_a_damaged_run_folder_is_one_line(run_copy, capsys, data_env, case, damage, message):
    damage(run_copy)
    before = snapshot(run_copy)
    line = refused(["report", run_copy], capsys)
    assert line.startswith(f"error: {run_copy}/") and message in line, line
    assert snapshot(run_copy) == before  # the earlier report is left as it was
    assert not list(run_copy.glob(".report*"))


def test_report_never_writes_through_a_symlinked_plots_folder(run_copy, capsys, data_env, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    shutil.move(run_copy / "plots", elsewhere)
    (elsewhere / "victim.png").write_bytes(b"mine")
    (run_copy / "plots").symlink_to(elsewhere)
    before = snapshot(elsewhere)
    line = refused(["report", run_copy], capsys)
    assert line == (
        f"error: {run_copy / 'plots'}: a symbolic link; the report reads and writes only the run folder's own files"
    )
    assert snapshot(elsewhere) == before


def test_a_killed_reports_scratch_folder_is_removed_by_the_next_report(run_copy, capsys, data_env):
    dead = killed_temporary(run_copy, "report")
    assert cli(["report", run_copy], capsys)[0] == 0
    assert not dead.exists()


# --- sweeps: 9, 10, 12, 14, 16 -------------------------------------------------------------------------

TINY = """
[sweep]
{head}
[base]
"run.end" = "2003-12-31"
[grid]
"hedge.moneyness" = [0.85, 0.9, 0.95]
"strategy.recession_equity" = [0.4, 0.8]
{more}
[validation]
train_end = "2001-12-31"
{validation}
"""


def spec_file(
    folder: Path, head: str = 'name = "tiny"', more: str = "", validation: str = "", name: str = "tiny.toml"
) -> Path:
    path = folder / name
    path.write_text(TINY.format(head=head, more=more, validation=validation))
    return path


def sweep(spec: Path, out: Path, shared_data: Path, *extra) -> list:
    return ["sweep", "--spec", spec, "--out", out, "--data-dir", shared_data, "--offline", "--no-progress", *extra]


@pytest.fixture(scope="module")
def tiny_reference(tmp_path_factory, shared_data):
    """The tiny sweep, run once without trouble: the store every other run of it must equal."""
    folder = tmp_path_factory.mktemp("tiny")
    assert main([str(a) for a in sweep(spec_file(folder), folder / "reference", shared_data)]) == 0
    return folder / "reference"


def canonical(folder: Path) -> list:
    store = Store(folder / STORE)
    try:
        return store.canonical()
    finally:
        store.close()


@pytest.mark.parametrize(
    "name",
    ['"/../../../tmp/x"', '"a/b"', '".."', '""', '"' + "x" * 65 + '"', "5", '"-rf"'],
    ids=["path", "slash", "dots", "empty", "65-characters", "number", "dash-first"],
)
def test_a_sweep_name_must_be_a_slug(tmp_path, shared_data, capsys, name):
    spec = spec_file(tmp_path, head=f"name = {name}")
    line = refused(sweep(spec, tmp_path / "out", shared_data), capsys)
    assert line.startswith(f"error: {spec}: [sweep] name must be 1-64 letters, digits, '.', '_' or '-'")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiny.toml"]


def test_a_default_sweep_name_is_the_file_name_made_a_slug(tmp_path):
    from fedcut.sweeps.spec import load_spec

    assert load_spec(spec_file(tmp_path, head="", name="my sweep (v2).toml")).name == "my-sweep-v2"


def test_workers_beyond_the_cpus_need_force(tmp_path, shared_data, capsys):
    spec = spec_file(tmp_path)
    too_many = usable_cpus() + 1
    line = refused(sweep(spec, tmp_path / "out", shared_data, "--workers", too_many), capsys)
    assert line.startswith(f"error: --workers {too_many} is more than the {usable_cpus()} CPUs")
    assert "--force-workers" in line and not (tmp_path / "out").exists()
    one = spec_file(tmp_path, more="", name="one.toml")  # one configuration: runs in this process
    one.write_text(one.read_text().replace("[0.85, 0.9, 0.95]", "[0.9]").replace("[0.4, 0.8]", "[0.6]"))
    code, _, err = cli(sweep(one, tmp_path / "forced", shared_data, "--workers", too_many, "--force-workers"), capsys)
    assert code == 0, err


@pytest.mark.parametrize(
    "more, message",
    ids=["samples", "grid"],
    argvalues=[
        (
            '[random]\n"strategy.accumulate_days" = { low = 5, high = 80 }',
            "[sweep] samples = 100000000 is more than the 1,000,000 configurations a sweep may have",
        ),
        (
            '"hedge.tenor_days" = [' + ", ".join(str(d) for d in range(40, 240)) + "]\n"
            '"hedge.atm_vix_ratio" = [' + ", ".join(f"{0.5 + i / 100:.2f}" for i in range(20)) + "]\n"
            '"strategy.accumulate_days" = [' + ", ".join(str(d) for d in range(5, 55)) + "]",
            "3 x 2 x 200 x 20 x 50 = 1,200,000 configurations, more than the 1,000,000 a sweep may have",
        ),
    ],
)
def test_a_spec_too_big_is_refused_before_it_is_expanded(tmp_path, shared_data, capsys, monkeypatch, more, message):
    monkeypatch.setattr("fedcut.sweeps.spec.expand", lambda spec: pytest.fail("expanded"))
    head = 'name = "tiny"\nsamples = 100000000' if "random" in more else 'name = "tiny"'
    spec = spec_file(tmp_path, head=head, more=more)
    line = refused(sweep(spec, tmp_path / "out", shared_data), capsys)
    assert line == f"error: {spec}: {message}" + (
        "" if "samples" in message else "; split it into several specs or sample it with [random]"
    )


@pytest.mark.parametrize(
    "rule, problem",
    ids=["zero-division", "text-arithmetic", "too-deep", "too-long"],
    argvalues=[
        ("hedge.moneyness / (hedge.roll_days - 30) > 0", "division by zero"),  # roll_days is 30 by default
        ("strategy.recession_action * 1000000000000 == 'x'", "+ - * / take numbers, got 'hedge'"),  # a terabyte of text
        ("-" * 490 + "1 < 0", "nested too deeply to evaluate"),  # RecursionError
        ("-" * 5000 + "1 < 0", "longer than 500 characters"),  # RecursionError in Python's parser
    ],
)
def test_rules_that_would_raise_or_allocate_are_one_line(tmp_path, shared_data, capsys, rule, problem):
    spec = spec_file(tmp_path, more=f"\n[constraints]\nrules = [{json.dumps(rule)}]")
    line = refused(sweep(spec, tmp_path / "out", shared_data), capsys)
    assert line.startswith(f"error: {spec}: [constraints]: rule ") and problem in line, line


def test_a_rule_dividing_by_a_swept_zero_names_the_point(tmp_path, shared_data, capsys):
    spec = spec_file(tmp_path, more='"hedge.roll_days" = [0, 10]\n[constraints]\nrules = ["1 / hedge.roll_days > 0"]')
    line = refused(sweep(spec, tmp_path / "out", shared_data), capsys)
    assert line == (
        f"error: {spec}: [constraints]: rule '1 / hedge.roll_days > 0': division by zero, at the point "
        "{'hedge.moneyness': 0.85, 'strategy.recession_equity': 0.4, 'hedge.roll_days': 0}"
    )


def test_a_walk_forward_window_under_half_a_month_is_refused(tmp_path, shared_data, capsys):
    spec = spec_file(tmp_path, validation="walk_forward = { train_years = 0.01, test_years = 1 }")
    line = refused(sweep(spec, tmp_path / "out", shared_data), capsys)
    assert line == (
        f"error: {spec}: [validation]: walk_forward train_years = 0.01 is less than half a month; "
        "windows are whole months, so it would be empty"
    )


def test_a_scheduler_that_is_no_address_is_refused_before_any_work(tmp_path, shared_data, capsys, monkeypatch):
    pytest.importorskip("distributed")
    monkeypatch.setattr("fedcut.sweeps.runner.plan_for", no_run)
    line = refused(
        sweep(
            spec_file(tmp_path), tmp_path / "out", shared_data, "--executor", "dask", "--scheduler", "not an address"
        ),
        capsys,
    )
    assert line.startswith("error: --scheduler 'not an address': not a scheduler address (")
    assert not (tmp_path / "out").exists()


def test_an_unreachable_scheduler_leaves_no_folder_and_the_retry_says_the_same(
    tmp_path, shared_data, capsys, monkeypatch
):
    pytest.importorskip("distributed")
    monkeypatch.setattr("fedcut.sweeps.runner.SCHEDULER_TIMEOUT", "1s")
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    args = sweep(
        spec_file(tmp_path),
        tmp_path / "out",
        shared_data,
        "--executor",
        "dask",
        "--scheduler",
        f"tcp://127.0.0.1:{port}",
    )
    for _ in range(2):
        line = refused(args, capsys)
        assert line.startswith(f"error: --scheduler tcp://127.0.0.1:{port}: cannot connect (")
        assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_a_damaged_store_is_one_line_naming_it(tiny_reference, tmp_path, shared_data, capsys, damage):
    out = tmp_path / "out"
    shutil.copytree(tiny_reference, out)
    store = out / STORE
    if damage == "garbage":
        store.write_bytes(b"this is not a database\n" * 100)
    else:
        with open(store, "r+b") as f:
            f.truncate(store.stat().st_size // 2)
    before = store.read_bytes()
    line = refused(sweep(tiny_reference.parent / "tiny.toml", out, shared_data, "--resume"), capsys)
    assert line.startswith(f"error: {store}: not a sweep store, or a damaged one (")
    assert store.read_bytes() == before


def test_a_full_disk_during_a_sweep_is_one_line_and_the_store_stays_consistent(
    tiny_reference, tmp_path, shared_data, capsys, monkeypatch
):
    """SQLite's own "database or disk is full" (SQLITE_FULL), by capping the file at its size after two
    results; the sweep then resumes to the same store as one that never failed."""

    class FillingStore(Store):
        def add(self, *args, **kwargs):
            if len(self.done()) == 2:
                pages = self.db.execute("PRAGMA page_count").fetchone()[0]
                self.db.execute(f"PRAGMA max_page_count = {pages}")
            super().add(*args, **kwargs)

    monkeypatch.setattr("fedcut.sweeps.runner.Store", FillingStore)
    out = tmp_path / "out"
    spec = tiny_reference.parent / "tiny.toml"
    line = refused(sweep(spec, out, shared_data), capsys)
    assert line == (
        f"error: {out / STORE}: cannot store a result in it: no space left on device (database or disk "
        "is full); 2 of 6 configurations are stored: make room and continue with --resume"
    )
    with sqlite3.connect(out / STORE) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert db.execute("SELECT COUNT(*) FROM results").fetchone()[0] == 2
        assert db.execute("SELECT COUNT(*) FROM timings").fetchone()[0] == 2
    monkeypatch.undo()
    code, _, err = cli(sweep(spec, out, shared_data, "--resume"), capsys)
    assert code == 0, err
    assert canonical(out) == canonical(tiny_reference)


def test_a_second_sweep_in_the_same_folder_is_refused_while_one_runs(tmp_path, shared_data, capsys):
    """Two --resume at once: the second is refused (a lock on the folder), the first finishes its store."""
    from fedcut.sweeps.spec import load_spec

    spec = spec_file(
        tmp_path,
        head='name = "tiny"\nsamples = 3',
        more='[random]\n"strategy.accumulate_days" = { low = 5, high = 80 }',
    )
    out = tmp_path / "out"
    out.mkdir()
    (out / "spec.toml").write_text(spec.read_text())
    loaded = load_spec(spec)
    store = Store(out / STORE)  # an empty store made by this spec: a sweep to resume
    store.claim(loaded.digest(), spec.read_text(), str(shared_data.resolve()), ARRAY.name)
    store.close()
    env = dict(os.environ, FEDCUT_OFFLINE="1", MPLBACKEND="Agg")
    first = subprocess.Popen(
        [sys.executable, str(ROOT / "run_backtest.py"), *map(str, sweep(spec, out, shared_data, "--resume"))],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 300
        while first.poll() is None and time.monotonic() < deadline:
            with sqlite3.connect(out / STORE) as db:
                if db.execute("SELECT COUNT(*) FROM results").fetchone()[0] >= 1:
                    break
            time.sleep(0.05)
        assert first.poll() is None, first.communicate()
        line = refused(sweep(spec, out, shared_data, "--resume"), capsys)
        assert line == (
            f"error: {out}: another sweep (process {first.pid}) is running in this folder; wait for it to finish"
        )
        _, err = first.communicate(timeout=300)
    finally:
        if first.poll() is None:
            first.send_signal(signal.SIGKILL)
    assert first.returncode == 0, err
    assert len(canonical(out)) == len(loaded.points)
    with open(out / LOCK) as handle:  # released when the first ended
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)


DOCUMENTED = (
    "date-iso-week",
    "date-basic-format",
    "toml-integer-too-long",
    "number-too-large",
    "config-blamed-with-set",
    "offline-unknown-value",
    "long-value",
    "out-exists",
    "out-parent-is-a-file",
    "results-is-a-file",
    "out-unwritable",
    "disk-full",
    "fetch-offline",
    "report-plots-symlink",
    *(f"report-{case}" for case, _, _ in DAMAGED),
    "sweep-name-not-a-slug",
    "sweep-workers-beyond-cpus",
    "sweep-too-many-samples",
    "sweep-grid-too-big",
    "rule-division-by-zero",
    "rule-division-by-swept-zero",
    "rule-text-arithmetic",
    "rule-too-deep",
    "rule-too-long",
    "walk-forward-empty-window",
    "scheduler-not-an-address",
    "scheduler-unreachable",
    "store-not-a-database",
    "store-truncated",
    "store-disk-full",
    "sweep-running-here",
)


def test_every_refusal_here_is_documented():
    documented = (ROOT / "docs" / "bad_inputs.md").read_text()
    for case in DOCUMENTED:
        assert f"| `{case}` |" in documented, case
