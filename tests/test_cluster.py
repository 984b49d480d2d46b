"""The documented cluster recipe (docs/sweeps.md, "More than one machine"), run as written: a
`dask scheduler`, two `dask worker` commands and `fedcut sweep --executor dask --scheduler ...`,
each a separate process group as on separate machines. One worker is killed (SIGKILL, the whole
machine) while the sweep runs: the sweep still finishes, the lost blocks run on the other worker,
the store equals a local one-worker run byte for byte, and the surviving workers' memory stays flat.
"""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_sweep import canonical  # the store's results in a fixed order, as the other sweep tests compare them

from fedcut.sweeps.runner import STORE

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent

# 2 grid points x 1,200 seeded draws = 2,400 distinct configurations on 2000-2009: about 20 s on one
# core, in 10 blocks of 256 (a worker can be killed with blocks stored and blocks to go).
SPEC = """
[sweep]
name = "cluster"
objective = "calmar"
seed = 11
samples = 1200

[base]
"run.end" = "2009-12-31"

[grid]
"strategy.recession_equity" = [0.4, 0.8]

[random]
"hedge.moneyness" = { low = 0.8, high = 0.97 }
"strategy.accumulate_days" = { low = 5, high = 80 }

[validation]
train_end = "2004-12-31"
walk_forward = { train_years = 3, test_years = 3 }
select_cycles = ["2001"]
test_cycles = ["2007"]
"""
TOTAL = 2400
DEADLINE = 240.0  # seconds for the whole distributed sweep: it takes well under a minute
GROWTH_MIB = 48  # a worker's recorded peak may rise this much from its first blocks to its last


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stored_rows(folder: Path) -> int:
    """Rows the sweep has stored so far, read the way another process would (0 before the store exists)."""
    path = folder / STORE
    if not path.is_file():
        return 0
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1.0) as db:
            return db.execute("SELECT count(*) FROM results").fetchone()[0]
    except sqlite3.OperationalError:  # created but not yet holding the table, or busy
        return 0


def peaks_by_worker(folder: Path) -> dict[int, float]:
    """Each worker process's highest peak RSS (MiB) recorded with the configurations stored so far."""
    path = folder / STORE
    if not path.is_file():
        return {}
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1.0) as db:
            return dict(db.execute("SELECT worker, max(peak_rss_mib) FROM timings GROUP BY worker"))
    except sqlite3.OperationalError:
        return {}


def descendants(pid: int) -> list[int]:
    """Every process under `pid`, from /proc (children of each thread)."""
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        try:
            tasks = os.listdir(f"/proc/{p}/task")
        except FileNotFoundError:
            continue
        for t in tasks:
            try:
                kids = [int(k) for k in Path(f"/proc/{p}/task/{t}/children").read_text().split()]
            except (FileNotFoundError, ProcessLookupError):
                continue
            found += kids
            todo += kids
    return found


def worker_processes(pid: int) -> list[int]:
    """The processes of one `dask worker --nworkers 2` command that run tasks: its leaves, not the
    nannies nor multiprocessing's resource tracker."""
    procs = descendants(pid)
    leaves = [p for p in procs if not descendants(p)]
    return [p for p in leaves if b"resource_tracker" not in Path(f"/proc/{p}/cmdline").read_bytes()]


def start(args: list[str], log: Path, env: dict, cwd: Path) -> subprocess.Popen:
    """A command in its own process group (as on its own machine), its output to `log`."""
    with open(log, "wb") as out:
        return subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=cwd, start_new_session=True)


def wait_for(predicate, seconds: float, what: str, procs=()) -> None:
    until = time.monotonic() + seconds
    while not predicate():
        for p in procs:
            assert p.poll() is None, f"{what}: {p.args[:2]} ended early with {p.returncode}"
        assert time.monotonic() < until, f"{what}: not within {seconds:g} s"
        time.sleep(0.1)


def test_the_documented_recipe_survives_a_killed_worker(shared_data, tmp_path):
    pytest.importorskip("distributed")
    spec = tmp_path / "spec.toml"
    spec.write_text(SPEC)
    shared = tmp_path / "shared"  # the path every machine sees: the workers' directory and the sweep's store
    shared.mkdir()
    env = {**os.environ, "FEDCUT_DATA_DIR": str(shared_data), "FEDCUT_OFFLINE": "1", "MPLBACKEND": "Agg"}
    env.pop("PYTEST_CURRENT_TEST", None)

    local = subprocess.run(
        [BIN / "fedcut", "sweep", "--spec", spec, "--out", tmp_path / "local", "--workers", "1"],
        env=env,
        capture_output=True,
        timeout=DEADLINE,
    )
    assert local.returncode == 0, local.stderr.decode()[-2000:]
    reference = canonical(tmp_path / "local")
    assert len(reference) == TOTAL

    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    procs: list[subprocess.Popen] = []
    try:
        scheduler = start(
            [BIN / "dask", "scheduler", "--host", "127.0.0.1", "--port", str(port),
             "--dashboard-address", "127.0.0.1:0"],
            tmp_path / "scheduler.log", env, tmp_path,
        )  # fmt: skip
        procs.append(scheduler)
        logs = [tmp_path / f"worker{k}.log" for k in range(2)]
        workers = []
        for log in logs:
            workers.append(
                start(
                    [
                        BIN / "dask",
                        "worker",
                        address,
                        "--host",
                        "127.0.0.1",
                        "--nworkers",
                        "2",
                        "--nthreads",
                        "1",
                        "--no-dashboard",
                        "--local-directory",
                        shared / "dask",
                    ],
                    log,
                    env,
                    shared,
                )  # fmt: skip
            )
            procs.append(workers[-1])
        wait_for(lambda: sum(log.read_text().count("Registered to") for log in logs) == 4, 90, "4 workers", procs)
        out = shared / "sweep"
        sweep = start(
            [BIN / "fedcut", "sweep", "--spec", spec, "--out", out, "--executor", "dask", "--scheduler", address],
            tmp_path / "sweep.log", env, tmp_path,
        )  # fmt: skip
        procs.append(sweep)

        killed, survivor = workers
        survivors = worker_processes(survivor.pid)
        assert len(survivors) == 2 and len(worker_processes(killed.pid)) == 2
        # a third stored, and each surviving worker has finished blocks: its memory with the data loaded
        wait_for(
            lambda: stored_rows(out) >= TOTAL // 3 and set(survivors) <= set(peaks_by_worker(out)),
            DEADLINE,
            "a third of the sweep stored by both surviving workers",
            procs,
        )
        at_third = peaks_by_worker(out)
        stored_at_kill = stored_rows(out)
        os.killpg(killed.pid, signal.SIGKILL)  # the whole machine: its nanny and both workers
        killed.wait(10)

        code = sweep.wait(DEADLINE)
        log = (tmp_path / "sweep.log").read_text()
        assert code == 0, log[-2000:]
        assert stored_at_kill < TOTAL, "the worker was killed after the sweep was over: nothing was lost"
        at_end = peaks_by_worker(out)  # the sweep's last blocks (the audit's backtrader runs come after)
        assert canonical(out) == reference  # every configuration once, the local numbers, byte for byte
        assert not worker_processes(killed.pid)  # that machine is gone: its blocks ran elsewhere
        for p in survivors:  # its peak after its first blocks, and after its last (with the blocks it re-ran)
            assert at_end[p] - at_third[p] <= GROWTH_MIB, f"worker {p}: peak {at_third[p]:.0f} -> {at_end[p]:.0f} MiB"
    finally:
        for p in reversed(procs):  # each group whole: a nanny's workers may outlive it
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            p.wait(10)
