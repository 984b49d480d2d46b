"""Failures that used to be a traceback, noise or a wait forever: each is now one line naming the cause.

Through the command line (in a subprocess where the process's own exit matters), each listed in
docs/bad_inputs.md.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fedcut.cli import main
from test_integrity import finished_sweep  # noqa: F401 (fixture)
from test_safety import canonical, cli, refused, spec_file, sweep

ROOT = Path(__file__).resolve().parents[1]


def command(args, env=None, timeout=300, **kwargs) -> subprocess.CompletedProcess:
    """`python run_backtest.py ARGS` as a user runs it, offline, in its own process."""
    return subprocess.run([sys.executable, str(ROOT / "run_backtest.py"), *map(str, args)], cwd=ROOT,
                          env=dict(os.environ, FEDCUT_OFFLINE="1", MPLBACKEND="Agg", **(env or {})),
                          capture_output=True, text=True, timeout=timeout, **kwargs)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# --- distributed sweeps -----------------------------------------------------------------------------

def test_a_dask_sweep_without_workers_stops_and_keeps_its_store(tmp_path, shared_data, capsys, finished_sweep):
    distributed = pytest.importorskip("distributed")
    spec = spec_file(tmp_path)
    out = tmp_path / "out"
    with distributed.LocalCluster(n_workers=0, processes=False, protocol="tcp", host="127.0.0.1",
                                   dashboard_address=None) as cluster:
        started = time.monotonic()
        line = refused(sweep(spec, out, shared_data, "--executor", "dask", "--scheduler", cluster.scheduler_address,
                             "--worker-wait", "2"), capsys)
        assert time.monotonic() - started < 60
    assert line == (f"error: --scheduler {cluster.scheduler_address}: no worker for 2 s (--worker-wait), the sweep "
                    "stopped; start workers (dask worker ADDRESS); 0 of 6 configurations are stored: continue with "
                    "--resume")
    assert cli(sweep(spec, out, shared_data, "--resume"), capsys)[0] == 0  # the store it kept goes on
    assert canonical(out) == canonical(finished_sweep)


def test_a_killed_dask_scheduler_is_one_line(tmp_path, shared_data):
    pytest.importorskip("distributed")
    port = free_port()
    scheduler = subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_scheduler", "--port", str(port),
                                  "--no-dashboard"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
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
        sweeping = subprocess.Popen([sys.executable, str(ROOT / "run_backtest.py"),
                                     *map(str, sweep(spec_file(tmp_path), out, shared_data, "--executor", "dask",
                                                     "--scheduler", address))],
                                    cwd=ROOT, env=dict(os.environ, FEDCUT_OFFLINE="1", MPLBACKEND="Agg"),
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 120
        while not (out / "spec.toml").exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(1)
        scheduler.kill()
        _, err = sweeping.communicate(timeout=120)
    finally:
        scheduler.kill()
    assert sweeping.returncode == 2
    assert err == (f"error: --scheduler {address}: lost the connection to the scheduler (FuturesCancelledError), "
                   "the sweep stopped; 0 of 6 configurations are stored: continue with --resume\n")
    assert (out / "sweep.sqlite").is_file()
