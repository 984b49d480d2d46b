"""Failures that used to be a traceback, noise or a wait forever: each is now one line naming the cause.

Through the command line (in a subprocess where the process's own exit matters), each listed in
docs/bad_inputs.md.
"""

from __future__ import annotations

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

import pytest
from test_integrity import finished_sweep  # noqa: F401 (fixture)
from test_safety import canonical, cli, data_env, refused, run_copy, short_run, spec_file, sweep  # noqa: F401

pytestmark = pytest.mark.slow  # whole commands in processes of their own: not in the edit-test loop

ROOT = Path(__file__).resolve().parents[1]


def command(args, env=None, timeout=300, **kwargs) -> subprocess.CompletedProcess:
    """`python run_backtest.py ARGS` as a user runs it, offline, in its own process."""
    return subprocess.run(
        [sys.executable, str(ROOT / "run_backtest.py"), *map(str, args)],
        cwd=ROOT,
        env={**os.environ, "FEDCUT_OFFLINE": "1", "MPLBACKEND": "Agg", **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        **kwargs,
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# --- distributed sweeps -----------------------------------------------------------------------------


def test_a_dask_sweep_without_workers_stops_and_keeps_its_store(tmp_path, shared_data, capsys, finished_sweep):
    distributed = pytest.importorskip("distributed")
    spec = spec_file(tmp_path)
    out = tmp_path / "out"
    with distributed.LocalCluster(
        n_workers=0, processes=False, protocol="tcp", host="127.0.0.1", dashboard_address=None
    ) as cluster:
        started = time.monotonic()
        line = refused(
            sweep(
                spec,
                out,
                shared_data,
                "--executor",
                "dask",
                "--scheduler",
                cluster.scheduler_address,
                "--worker-wait",
                "2",
            ),
            capsys,
        )
        assert time.monotonic() - started < 60
    assert line == (
        f"error: --scheduler {cluster.scheduler_address}: no worker for 2 s (--worker-wait), the sweep "
        "stopped; start workers (dask worker ADDRESS); 0 of 6 configurations are stored: continue with "
        "--resume"
    )
    assert cli(sweep(spec, out, shared_data, "--resume"), capsys)[0] == 0  # the store it kept goes on
    assert canonical(out) == canonical(finished_sweep)


def test_a_killed_dask_scheduler_is_one_line(tmp_path, shared_data):
    pytest.importorskip("distributed")
    port = free_port()
    scheduler = subprocess.Popen(
        [sys.executable, "-m", "distributed.cli.dask_scheduler", "--port", str(port), "--no-dashboard"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        address = f"tcp://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # until it listens
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.2)
        out = tmp_path / "out"
        sweeping = subprocess.Popen(
            [
                sys.executable,
                str(ROOT / "run_backtest.py"),
                *map(str, sweep(spec_file(tmp_path), out, shared_data, "--executor", "dask", "--scheduler", address)),
            ],
            cwd=ROOT,
            env=dict(os.environ, FEDCUT_OFFLINE="1", MPLBACKEND="Agg"),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 120
        while not (out / "spec.toml").exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(1)
        scheduler.kill()
        _, err = sweeping.communicate(timeout=120)
    finally:
        scheduler.kill()
    assert sweeping.returncode == 2
    assert err == (
        f"error: --scheduler {address}: lost the connection to the scheduler (FuturesCancelledError), "
        "the sweep stopped; 0 of 6 configurations are stored: continue with --resume\n"
    )
    assert (out / "sweep.sqlite").is_file()


# --- one line instead of a traceback -----------------------------------------------------------------


def test_deeply_nested_metrics_are_one_line(run_copy, data_env, capsys):
    text = (run_copy / "metrics.json").read_text().rstrip()
    (run_copy / "metrics.json").write_text(text[:-1] + ', "deep": ' + "[" * 100000 + "]" * 100000 + "}")
    line = refused(["report", run_copy], capsys)
    assert line == f"error: {run_copy / 'metrics.json'}: nested too deeply to be a run's metrics"


def _edited_store(finished_sweep, tmp_path, sql: str) -> Path:
    out = tmp_path / "out"
    shutil.copytree(finished_sweep, out)
    with sqlite3.connect(out / "sweep.sqlite") as db:
        db.execute(sql)
    return out


def test_a_stored_result_that_is_not_json_is_one_line(finished_sweep, tmp_path, shared_data, capsys):
    out = _edited_store(finished_sweep, tmp_path, "UPDATE results SET result = '{not json' WHERE position = 0")
    (config_hash,) = (
        sqlite3.connect(out / "sweep.sqlite").execute("SELECT config_hash FROM results WHERE position = 0").fetchone()
    )
    line = refused(sweep(finished_sweep.parent / "tiny.toml", out, shared_data, "--resume"), capsys)
    assert line.startswith(
        f"error: {out / 'sweep.sqlite'}: the stored result of configuration {config_hash} is not JSON ("
    )


def test_a_store_without_its_spec_record_is_refused_not_mixed(finished_sweep, tmp_path, shared_data, capsys):
    """Resumed with another spec, it used to take that spec as its own and mix the two, exit 0."""
    out = _edited_store(finished_sweep, tmp_path, "DELETE FROM meta")
    other = tmp_path / "other.toml"
    other.write_text((finished_sweep.parent / "tiny.toml").read_text().replace("[0.85, 0.9, 0.95]", "[0.8, 0.9]"))
    line = refused(sweep(other, out, shared_data, "--resume"), capsys)
    assert line == (
        f"error: {out / 'sweep.sqlite'}: holds 6 result(s) but not the record of the spec, data and "
        "engine that made them (a damaged store): they cannot be told apart from another spec's; use a "
        "new --out"
    )


def test_ctrl_c_while_a_two_worker_sweep_starts_is_one_line(tmp_path, shared_data):
    """Ctrl-C reaches the whole process group, workers included, at any moment of the first seconds."""
    spec = spec_file(tmp_path)
    for delay in (0.3, 1.0, 1.5, 2.0, 2.5):
        out = tmp_path / f"out-{delay}"
        proc = subprocess.Popen(
            [
                sys.executable,
                str(ROOT / "run_backtest.py"),
                *map(str, sweep(spec, out, shared_data, "--workers", "2", "--force-workers")),
            ],
            cwd=ROOT,
            env=dict(os.environ, FEDCUT_OFFLINE="1", MPLBACKEND="Agg"),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        time.sleep(delay)
        os.killpg(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=120)
        if proc.returncode == 0:  # finished before the signal
            continue
        assert proc.returncode == 130, (delay, err)
        assert len(err.splitlines()) == 1 and "Traceback" not in err, (delay, err)
        assert err.startswith(("interrupted", "warning: interrupted: ")), (delay, err)


def test_an_unknown_matplotlib_backend_is_one_line_before_any_work(tmp_path, shared_data):
    done = command(
        ["--start", "2019-01-02", "--end", "2019-12-31", "--out", tmp_path / "run", "--data-dir", shared_data],
        env={"MPLBACKEND": "nosuchbackend"},
        timeout=60,
    )
    assert done.returncode == 2 and not (tmp_path / "run").exists()
    assert done.stderr.startswith(
        "error: MPLBACKEND='nosuchbackend': not a backend matplotlib knows; fedcut draws "
        "with Agg whatever it says: set MPLBACKEND=Agg or unset it ("
    )
    assert len(done.stderr.splitlines()) == 1


@pytest.mark.parametrize("workers", ["2", 2.0, True])
def test_sweep_api_checks_the_type_of_workers(tmp_path, workers):
    import fedcut
    from fedcut.core.errors import ConfigError

    with pytest.raises(ConfigError) as raised:
        fedcut.sweep(spec_file(tmp_path), out=tmp_path / "out", workers=workers)
    assert str(raised.value) == f"fedcut.sweep: workers must be a whole number of worker processes, got {workers!r}"
    assert not (tmp_path / "out").exists()


def test_a_prices_folder_that_is_a_link_loop_says_so(tmp_path, shared_data):
    data = tmp_path / "data"
    data.mkdir()
    for kind in ("macro", "calendar", "french", "policy", "cboe"):
        (data / kind).symlink_to(shared_data / kind)
    (data / "prices").symlink_to(data / "prices")
    done = command(
        ["--start", "2019-01-02", "--end", "2019-12-31", "--out", tmp_path / "run", "--data-dir", data],
        env={"FEDCUT_CACHE_DIR": str(tmp_path / "cache")},
        timeout=120,
    )
    assert done.returncode == 2
    assert done.stderr == f"error: {data / 'prices'}: a symbolic link loop (the link never reaches a file)\n"


def test_numpy_numbers_are_numbers_and_bools_are_not():
    import numpy as np

    from fedcut.api import resolve_config
    from fedcut.core.errors import ConfigError
    from fedcut.core.params import check

    config = resolve_config(None, {"hedge.moneyness": np.float64(0.85), "hedge.tenor_days": np.int64(120)}, {})
    flat = config.flat()
    assert flat["hedge.moneyness"] == 0.85 and type(flat["hedge.moneyness"]) is float
    assert flat["hedge.tenor_days"] == 120 and type(flat["hedge.tenor_days"]) is int
    assert config.digest() == resolve_config(None, {"hedge.moneyness": 0.85, "hedge.tenor_days": 120}, {}).digest()
    assert check("hedge.moneyness", np.int64(1)) == 1.0 and check("run.oracle", np.bool_(True)) is True
    for value in (True, np.bool_(True)):
        for key, kind in (("hedge.moneyness", "a number (strike / spot)"), ("hedge.tenor_days", "a whole number")):
            with pytest.raises(ConfigError, match=f"{key} must be {re.escape(kind)}"):
                check(key, value)


def test_result_metrics_are_a_copy_so_edits_are_not_saved(shared_data, tmp_path):
    import json

    import fedcut

    result = fedcut.backtest(start="2019-01-02", end="2019-06-28", data_dir=shared_data, offline=True)
    cagr = result.metrics["strategy"]["cagr"]
    result.metrics["strategy"]["cagr"] = 99.0
    result.metrics["run"].clear()
    assert result.metrics["strategy"]["cagr"] == cagr and result.metrics["run"]
    saved = json.loads((result.save(tmp_path / "run") / "metrics.json").read_text())
    assert saved["strategy"]["cagr"] == cagr
