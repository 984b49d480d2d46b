"""What fedcut says when the world around it fails: a reader that stops reading, a full disk, a kill
or a Ctrl-C at a bad moment, a warning from a library. One line naming the cause, or silence where
there is no one to tell; never a traceback, a library's own log lines or "Exception ignored".

Each case is listed in docs/bad_inputs.md.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_safety import cli, data_env, spec_file, sweep  # noqa: F401 (fixture)

from fedcut import cli as command_line
from fedcut.streams import READER_GONE

pytestmark = pytest.mark.slow  # whole runs and commands: not in the edit-test loop

ROOT = Path(__file__).resolve().parents[1]
SHORT = ["--start", "2019-01-02", "--end", "2019-12-31"]


def into_closed_pipe(args, cwd: Path, timeout=300) -> subprocess.CompletedProcess:
    """`python run_backtest.py ARGS | head -1` with head already gone: every write to stdout meets
    a pipe without a reader, whatever the timing (the reading end is closed before the start)."""
    read, write = os.pipe()
    os.close(read)
    try:
        return subprocess.run(
            [sys.executable, str(ROOT / "run_backtest.py"), *map(str, args)],
            cwd=cwd,
            env={**os.environ, "FEDCUT_OFFLINE": "1", "MPLBACKEND": "Agg"},
            stdout=write,
            stderr=subprocess.PIPE,
            text=True,
            timeout=timeout,
        )
    finally:
        os.close(write)


# --- a reader that stops reading ------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("command", ["run", "now", "now --json", "sweep"])
def test_a_closed_output_pipe_ends_quietly_with_141(command, tmp_path, shared_data):
    """`fedcut run | head -1`: no "error: Broken pipe", no "Exception ignored", the status a shell shows
    for `seq 99999 | head -1`; what the command writes to files is complete."""
    if command == "sweep":
        args = sweep(spec_file(tmp_path), tmp_path / "out", shared_data, "--workers", "2", "--force-workers")
    else:
        args = [*command.split(), "--data-dir", shared_data]
        if command == "run":
            args += [*SHORT, "--out", tmp_path / "out"]
    done = into_closed_pipe(args, tmp_path)
    assert (done.returncode, done.stderr) == (READER_GONE, "")
    assert READER_GONE == 128 + 13  # SIGPIPE is signal 13 on every POSIX system fedcut runs on
    if command in ("run", "sweep"):
        assert (tmp_path / "out" / ("summary.csv" if command == "sweep" else "metrics.json")).is_file()


def test_a_broken_pipe_that_is_not_the_output_is_still_an_error(data_env, capsys, monkeypatch):
    """Only a closed stdout or stderr is silence; a pipe to anything else that breaks is one line."""

    def broken(argv):
        raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setitem(command_line.COMMANDS, "now", command_line.Command(broken, ""))
    assert cli(["now"], capsys) == (2, "", "error: Broken pipe\n")


# --- FEDCUT_OFFLINE and offline= as a user types them ---------------------------------------------


@pytest.mark.parametrize(
    "text, offline",
    [
        ("false\n", False),
        (" 0 ", False),
        ("\n", False),
        ("Off", False),
        ("TRUE\n", True),
        (" 1", True),
        ("yes\r\n", True),
    ],
)
def test_fedcut_offline_is_read_whatever_the_spaces_and_case(monkeypatch, text, offline):
    """A value set from a file's line keeps its newline (a Windows file's, a carriage return too)."""
    from fedcut.data.sources import DataSource, offline_from_env

    monkeypatch.setenv("FEDCUT_OFFLINE", text)
    assert offline_from_env() is offline
    assert DataSource(data_dir=None).offline is offline


def test_fedcut_offline_false_with_a_newline_allows_downloads(tmp_path, monkeypatch, capsys, shared_data):
    """Read as online: a series missing offline is downloaded (the download faked here)."""
    calls = []

    def refresh(kind, name, cache_dir):
        calls.append((kind, name))
        target = Path(cache_dir) / kind / f"{name}.csv"
        target.parent.mkdir(parents=True)
        target.write_bytes((shared_data / kind / f"{name}.csv").read_bytes())
        return target

    monkeypatch.setattr("fedcut.data.fetch.refresh", refresh)
    data = tmp_path / "data"
    data.mkdir()
    for kind in ("prices", "macro", "calendar", "cboe"):
        (data / kind).mkdir()
        for f in (shared_data / kind).glob("*.csv"):
            (data / kind / f.name).symlink_to(f)
    (data / "prices" / "VIX.csv").unlink()
    monkeypatch.setenv("FEDCUT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("FEDCUT_OFFLINE", "false\n")
    code, out, err = cli(["now", "--data-dir", data, "--as-of", "2020-03-16", "--json"], capsys)
    assert code == 0, err
    assert calls == [("prices", "VIX")]


@pytest.mark.parametrize("text", ["maybe", "false\nrm -rf /", "ja"])
def test_an_unknown_fedcut_offline_is_one_line_naming_it(data_env, capsys, monkeypatch, text):
    monkeypatch.setenv("FEDCUT_OFFLINE", text)
    code, out, err = cli(["now"], capsys)
    assert (code, out) == (2, "")
    assert err == (
        f"error: FEDCUT_OFFLINE={text!r}: expected 1, true, yes or on (no downloads), or 0, false, no, off "
        "or empty (downloads allowed)\n"
    )  # one line: repr writes a newline out as \n


@pytest.mark.parametrize("call", ["backtest", "sweep"])
@pytest.mark.parametrize("offline", ["false", "false\n", 0, 1.0])
def test_the_api_refuses_an_offline_that_is_not_true_or_false(call, offline, tmp_path):
    """`fedcut.backtest(offline="false")` used to run offline: any non-empty text is true in Python."""
    import fedcut
    from fedcut.core.errors import ConfigError

    with pytest.raises(ConfigError) as raised:
        if call == "backtest":
            fedcut.backtest(offline=offline)
        else:
            fedcut.sweep(spec_file(tmp_path), out=tmp_path / "out", offline=offline)
    assert str(raised.value) == (
        f"fedcut.{call}: offline must be True, False or None (None: FEDCUT_OFFLINE decides), got {offline!r}"
    )
    assert not (tmp_path / "out").exists()


# --- warnings: told as one line, or not at all after an error -------------------------------------


def command(args, cwd: Path, timeout=300) -> subprocess.CompletedProcess:
    """`python run_backtest.py ARGS` in its own process: Python prints warnings there (under pytest they
    are only recorded), with the source line that raised them."""
    return subprocess.run(
        [sys.executable, str(ROOT / "run_backtest.py"), *map(str, args)],
        cwd=cwd,
        env={**os.environ, "FEDCUT_OFFLINE": "1", "MPLBACKEND": "Agg"},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def linked_data(shared_data: Path, into: Path, kinds=("prices", "macro", "calendar", "cboe")) -> Path:
    """A data directory of links to the real files, so that a test may replace one."""
    for kind in kinds:
        (into / kind).mkdir(parents=True)
        for f in (shared_data / kind).glob("*.csv"):
            (into / kind / f.name).symlink_to(f)
    return into


@pytest.fixture
def vix_without_june_2019(shared_data, tmp_path) -> Path:
    """The real data, VIX without its rows of June 2019: a 31-day gap, a `DataWarning` of the reader."""
    data = linked_data(shared_data, tmp_path / "data")
    lines = (shared_data / "prices" / "VIX.csv").read_text().splitlines(keepends=True)
    (data / "prices" / "VIX.csv").unlink()
    (data / "prices" / "VIX.csv").write_text("".join(line for line in lines if not line.startswith("2019-06")))
    return data


@pytest.mark.slow
@pytest.mark.parametrize("args", [["--start", "2019-01-02", "--end", "2019-12-31"], ["now", "--as-of", "2019-09-03"]])
def test_a_warning_is_not_printed_before_the_error(vix_without_june_2019, tmp_path, args):
    """The reader's gap warning came first, with the line of fedcut's source that raised it."""
    done = command([*args, "--data-dir", vix_without_june_2019], tmp_path)
    vix = vix_without_june_2019 / "prices" / "VIX.csv"
    assert done.returncode == 2
    assert done.stderr.startswith(f"error: {vix}: no row for 20 trading days of the run (2019-06-03, ")
    assert len(done.stderr.splitlines()) == 1, done.stderr


@pytest.mark.slow
def test_a_warning_of_a_run_that_succeeds_is_one_line(vix_without_june_2019, tmp_path):
    done = command(
        [
            "--start",
            "2019-07-02",
            "--end",
            "2019-12-31",
            "--out",
            tmp_path / "run",
            "--data-dir",
            vix_without_june_2019,
        ],
        tmp_path,
    )
    assert done.returncode == 0, done.stderr
    vix = vix_without_june_2019 / "prices" / "VIX.csv"
    assert done.stderr.splitlines().count(f"warning: {vix}: 31-day gap before 2019-07-01") == 1
    assert "DataWarning" not in done.stderr and "read_price_csv" not in done.stderr


@pytest.mark.slow
def test_sweep_workers_leave_the_warnings_to_the_parent(vix_without_june_2019, tmp_path):
    """Each worker reads the files again; the parent, which read them first, tells their warnings once."""
    done = command(
        sweep(spec_file(tmp_path), tmp_path / "out", vix_without_june_2019, "--workers", "2", "--force-workers"),
        tmp_path,
    )
    assert done.returncode == 0, done.stderr
    vix = vix_without_june_2019 / "prices" / "VIX.csv"
    assert done.stderr == f"warning: {vix}: 31-day gap before 2019-07-01\n"


# --- yfinance: never offline, and never its own lines -------------------------------------------


@pytest.fixture
def fake_yfinance(monkeypatch, tmp_path):
    """yfinance and the HTTP layer faked at their entry points: a download logs as yfinance does when it
    finds nothing (its "possibly delisted" lines) and returns an empty frame; every call is recorded."""
    import logging
    import urllib.request

    import pandas as pd
    import yfinance

    calls = []

    def download(symbol, **kwargs):
        calls.append(symbol)
        log = logging.getLogger("yfinance")
        log.error("\n1 Failed download:")
        log.error(
            f"['{symbol}']: YFPricesMissingError('possibly delisted; no price data found  (1d 1926-01-01 -> "
            "2026-12-07)')"
        )
        return pd.DataFrame()

    def urlopen(url, *args, **kwargs):
        calls.append(url)
        raise OSError("no network in a test")

    monkeypatch.setattr(yfinance, "download", download)
    monkeypatch.setattr(urllib.request, "urlopen", urlopen)
    monkeypatch.setenv("FEDCUT_CACHE_DIR", str(tmp_path / "cache"))
    return calls


@pytest.fixture
def without_vix(shared_data, tmp_path) -> Path:
    data = linked_data(shared_data, tmp_path / "data", ("prices", "macro", "calendar", "french", "policy", "cboe"))
    (data / "prices" / "VIX.csv").unlink()
    return data


@pytest.mark.parametrize(
    "args",
    [
        ["--start", "2019-01-02", "--end", "2019-12-31"],
        ["now"],
        ["now", "--fetch"],
        ["now", "--history", "long", "--as-of", "1974-09-13"],
        ["data", "status"],
        ["data", "fetch", "VIX"],
        "sweep",
    ],
)
@pytest.mark.parametrize("how", ["env", "option"])
def test_offline_never_calls_yfinance(fake_yfinance, without_vix, tmp_path, monkeypatch, capsys, args, how):
    """A missing price file offline is one line saying downloads are off; nothing is downloaded."""
    if args == "sweep":
        args = sweep(spec_file(tmp_path), tmp_path / "out", without_vix)[:-2]  # without --offline, added below
    monkeypatch.setenv("FEDCUT_OFFLINE", "1" if how == "env" else "0")
    monkeypatch.chdir(tmp_path)
    full = [*args, *(["--data-dir", without_vix] if args[0] != "sweep" else [])]
    code, out, err = cli(full + (["--offline"] if how == "option" else []), capsys)
    assert fake_yfinance == []
    assert "possibly delisted" not in out + err and "Failed download" not in out + err
    if args[:2] != ["data", "status"]:
        assert code == 2 and len(err.splitlines()) == 1, err
        assert "downloads are off" in err


def test_a_failed_download_online_is_one_fedcut_line(fake_yfinance, without_vix, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("FEDCUT_OFFLINE", "0")
    code, out, err = cli(["now", "--data-dir", without_vix], capsys)
    assert (code, out) == (2, "")
    assert err == (
        f"error: series VIX not found ({without_vix}; cache {tmp_path / 'cache'}) and the download failed: "
        "yfinance returned no rows for ^VIX: ['^VIX']: YFPricesMissingError('possibly delisted; no price data "
        "found  (1d 1926-01-01 -> 2026-12-07)'); set FEDCUT_DATA_DIR or --data-dir to a folder of "
        "yfinance/FRED CSVs (e.g. ../shared/data), or run `fedcut data fetch` online\n"
    )
    assert fake_yfinance == ["^VIX"]
    code, out, err = cli(["data", "fetch", "VIX", "DGS2"], capsys)
    assert code == 1 and err == ""
    assert out.splitlines() == [
        "VIX: FAILED yfinance returned no rows for ^VIX: ['^VIX']: YFPricesMissingError("
        "'possibly delisted; no price data found  (1d 1926-01-01 -> 2026-12-07)')",
        "DGS2: FAILED FRED download of DGS2 failed (OSError)",
    ]


# --- a full disk ----------------------------------------------------------------------------------


def on_a_full_disk(tmp_path: Path, leave_kb: int, args: list, copy_from: Path | None = None) -> dict:
    """ARGS (`run_backtest.py ...`, with MOUNT for the disk) on a real full disk: a private tmpfs (a user
    and mount namespace, no privilege needed) filled to leave `leave_kb` kB; `tests/full_disk.py`."""
    import json
    import shutil

    if not shutil.which("unshare"):
        pytest.skip("needs unshare (util-linux)")
    mount = tmp_path / "disk"
    mount.mkdir()
    script = 'mount -t tmpfs -o size=16m tmpfs "$1" || exit 99; shift; exec "$@"'
    done = subprocess.run(
        [
            "unshare",
            "-Urm",
            "sh",
            "-c",
            script,
            "sh",
            str(mount),
            sys.executable,
            str(ROOT / "tests" / "full_disk.py"),
            str(mount),
            str(leave_kb),
            str(copy_from or "-"),
            str(ROOT / "run_backtest.py"),
            *(str(a).replace("MOUNT", str(mount)) for a in args),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "FEDCUT_OFFLINE": "1", "MPLBACKEND": "Agg"},
    )
    if done.returncode == 99 or (done.returncode and "unshare" in done.stderr):
        pytest.skip(f"no private tmpfs here: {done.stderr.strip()}")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    result["stderr"] = result["stderr"].replace(str(mount), "MOUNT")
    return result


@pytest.mark.slow
@pytest.mark.parametrize("leave_kb", [8, 400])
def test_a_full_disk_under_a_run_folder_is_one_line_and_leaves_nothing(tmp_path, shared_data, leave_kb):
    done = on_a_full_disk(tmp_path, leave_kb, [*SHORT, "--out", "MOUNT/run", "--data-dir", shared_data])
    assert done["code"] == 2 and len(done["stderr"].splitlines()) == 1, done["stderr"]
    assert done["stderr"].startswith("error: MOUNT") and "No space left on device" in done["stderr"]
    assert ".tmp" not in done["stderr"]  # the file in its real place, never the temporary
    assert done["after"] == {}  # nothing half-written, no temporary left


@pytest.mark.slow
def test_a_full_disk_under_a_report_changes_nothing(tmp_path, shared_data):
    run = tmp_path / "run"
    assert command([*SHORT, "--out", run, "--data-dir", shared_data], tmp_path).returncode == 0
    done = on_a_full_disk(tmp_path, 200, ["report", "MOUNT/run", "--data-dir", shared_data], copy_from=run)
    assert done["code"] == 2 and len(done["stderr"].splitlines()) == 1, done["stderr"]
    assert done["stderr"].startswith("error: MOUNT/run/") and "No space left on device" in done["stderr"]
    assert ".tmp" not in done["stderr"]
    assert done["after"] == done["before"]  # the run folder as it was: no file replaced by half of one


@pytest.mark.slow
@pytest.mark.parametrize("leave_kb", [4, 80, 300])
def test_a_full_disk_under_a_sweep_is_one_line_never_a_damaged_store(tmp_path, shared_data, leave_kb):
    """Full when the store is made (4 kB), when results are stored (80 kB), when the outputs are written."""
    done = on_a_full_disk(tmp_path, leave_kb, sweep(spec_file(tmp_path), "MOUNT/out", shared_data))
    line = done["stderr"]
    assert done["code"] == 2 and len(line.splitlines()) == 1, line
    assert line.startswith("error: MOUNT/out/") and "no space left on device" in line.lower()
    assert "damaged" not in line and ".tmp" not in line
    assert not [name for name in done["after"] if ".tmp" in name]


def test_a_store_that_cannot_be_made_for_a_full_disk_says_so_and_resumes(tmp_path, shared_data, capsys, monkeypatch):
    """SQLite's "database or disk is full" (SQLITE_FULL) when the store is made, by capping it at one page:
    it used to be called "not a sweep store, or a damaged one". After room is made, --resume completes it."""
    import sqlite3

    from fedcut.sweeps import store

    real = sqlite3.connect

    def capped(path, *args, **kwargs):
        db = real(path, *args, **kwargs)
        db.execute("PRAGMA max_page_count = 1")
        return db

    monkeypatch.setattr(store.sqlite3, "connect", capped)
    spec, out = spec_file(tmp_path), tmp_path / "out"
    code, _, err = cli(sweep(spec, out, shared_data), capsys)
    assert (code, err) == (
        2,
        f"error: {out / 'sweep.sqlite'}: cannot write it: no space left on device (database or "
        "disk is full); make room and continue with --resume\n",
    )
    monkeypatch.undo()
    code, _, err = cli(sweep(spec, out, shared_data, "--resume"), capsys)
    assert code == 0, err
    assert (out / "spec.toml").read_text() == spec.read_text() and (out / "summary.csv").is_file()


# --- a multi-worker sweep killed ------------------------------------------------------------------


def children(pid: int) -> list[int]:
    """The processes whose parent is `pid` (Linux /proc): a sweep's workers and Python's resource tracker."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGKILL, signal.SIGTERM])
def test_a_killed_two_worker_sweep_leaves_no_noise_and_no_worker(tmp_path, shared_data, signum):
    """`kill -9` (or a plain `kill`) of the sweep while its two workers compute: the resource tracker used to
    warn of "6 leaked semaphore objects" and the orphaned workers to compute on, then print a traceback."""
    if not Path("/proc/self/stat").exists():
        pytest.skip("needs /proc")
    proc = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "run_backtest.py"),
            *map(str, sweep(spec_file(tmp_path), tmp_path / "out", shared_data, "--workers", "2", "--force-workers")),
        ],
        cwd=tmp_path,
        env={**os.environ, "FEDCUT_OFFLINE": "1", "MPLBACKEND": "Agg"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while len(children(proc.pid)) < 3 and time.monotonic() < deadline:  # two workers and the tracker
        time.sleep(0.1)
    helpers = children(proc.pid)
    assert len(helpers) >= 3, helpers
    time.sleep(1.0)  # the workers warm up and compute
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=120)
    deadline = time.monotonic() + 30
    while any(Path(f"/proc/{pid}").exists() for pid in helpers) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not [pid for pid in helpers if Path(f"/proc/{pid}").exists()]
    if signum == signal.SIGKILL:
        assert (proc.returncode, err) == (-signal.SIGKILL, "")
    else:
        assert proc.returncode == 130 and len(err.splitlines()) == 1, err
        assert err.startswith(("interrupted", "warning: interrupted: ")), err
    assert "leaked" not in err and "Traceback" not in err


DOCUMENTED = (
    "stdout-closed",
    "offline-with-newline",
    "warning-before-error",
    "offline-never-downloads",
    "disk-full-run",
    "disk-full-report",
    "disk-full-store-made",
    "disk-full-sweep-outputs",
    "sweep-killed",
    "ctrl-c-while-python-starts",
)


def test_every_case_here_is_documented():
    documented = (ROOT / "docs" / "bad_inputs.md").read_text()
    for case in DOCUMENTED:
        assert f"| `{case}` |" in documented or f"| `{case}` (a limit) |" in documented, case
