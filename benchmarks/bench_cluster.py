"""Time the documented cluster recipe at scale and record the memory of the sweep and its workers.

Usage: FEDCUT_DATA_DIR=../shared/data FEDCUT_OFFLINE=1 python benchmarks/bench_cluster.py \
           --configurations 1000000 [--span short] [--machines 2] [--nworkers 1] [--out FOLDER]
Starts the recipe of docs/sweeps.md ("More than one machine") on this machine: a `dask scheduler`
on 127.0.0.1, `--machines` `dask worker ... --nworkers N --nthreads 1` commands (each its own
process group, as on its own machine) and `fedcut sweep --spec SPEC --executor dask --scheduler
ADDRESS` on `benchmarks/bench_sweep.py`'s random spec (`--span short`: 2016-2021, the default here).
Prints the sweep's wall time, its own CPU and peak resident memory (from the operating system,
the sweep process alone), the scheduler's peak resident memory, and each worker's recorded peak memory after its first, middle and last
block (from the store's timings): equal figures for the last two mean a worker's memory does not
grow with the number of configurations. The store is kept in --out (a million configurations over
2016-2021 take about 8 GB); without it, a temporary folder that is removed.
"""

from __future__ import annotations

import argparse
import os
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(args: list, log: Path, cwd: Path) -> subprocess.Popen:
    """A command in its own process group (as on its own machine), its output to `log`."""
    with open(log, "wb") as out:
        return subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, cwd=cwd, start_new_session=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--configurations", type=int, default=100_000)
    ap.add_argument("--span", choices=("full", "short"), default="short")
    ap.add_argument("--machines", type=int, default=2, help="`dask worker` commands, each as its own machine")
    ap.add_argument("--nworkers", type=int, default=1, help="worker processes per command")
    ap.add_argument("--out", type=Path, help="keep the sweep here (a new folder)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        spec = work / "spec.toml"
        subprocess.run(
            [sys.executable, ROOT / "benchmarks" / "bench_sweep.py", "--span", args.span,
             "--configurations", str(args.configurations), "--write-spec", spec],
            check=True,
        )  # fmt: skip
        out = args.out or work / "sweep"
        port = free_port()
        address = f"tcp://127.0.0.1:{port}"
        procs = [
            start(
                [BIN / "dask", "scheduler", "--host", "127.0.0.1", "--port", str(port),
                 "--dashboard-address", "127.0.0.1:0"],
                work / "scheduler.log", work,
            )
        ]  # fmt: skip
        logs = [work / f"worker{k}.log" for k in range(args.machines)]
        try:
            for log in logs:
                procs.append(
                    start(
                        [BIN / "dask", "worker", address, "--host", "127.0.0.1", "--nworkers", str(args.nworkers),
                         "--nthreads", "1", "--no-dashboard", "--local-directory", work / "dask"],
                        log, work,
                    )
                )  # fmt: skip
            wanted = args.machines * args.nworkers
            until = time.monotonic() + 120
            while sum(log.read_text().count("Registered to") for log in logs) < wanted:
                if time.monotonic() > until:
                    sys.exit(f"bench_cluster: {wanted} workers did not register within 120 s (logs in {work})")
                time.sleep(0.2)
            started = time.perf_counter()
            sweep = subprocess.Popen(
                [BIN / "fedcut", "sweep", "--spec", spec, "--out", out, "--executor", "dask", "--scheduler", address],
                cwd=work,
            )
            _, status, usage = os.wait4(sweep.pid, 0)
            wall = time.perf_counter() - started
            if status:
                sys.exit(f"bench_cluster: the sweep failed ({status})")
            rows = _timings(out)
            scheduler_peak = _peak_mib(procs[0].pid)
        finally:
            for p in procs:
                try:
                    os.killpg(p.pid, 15)
                except ProcessLookupError:
                    pass
            for p in procs:
                p.wait()
    n = sum(len(r) for r in rows.values())
    print(
        f"{n:,} configurations ({args.span} span) on {wanted} Dask workers ({args.machines} x --nworkers "
        f"{args.nworkers}): {wall:.0f} s wall = {60 * n / wall:,.0f} configurations/minute; the sweep process: "
        f"{usage.ru_utime + usage.ru_stime:.0f} s of CPU, peak resident memory {usage.ru_maxrss / 1024:.0f} MiB"
    )
    print(f"  the scheduler: peak resident memory {scheduler_peak:.0f} MiB")
    for worker, peaks in sorted(rows.items()):
        print(
            f"  worker {worker}: {len(peaks):,} configurations, peak resident memory {peaks[0]:.0f} MiB after its "
            f"first block, {peaks[len(peaks) // 2]:.0f} MiB after half, {peaks[-1]:.0f} MiB after its last"
        )


def _peak_mib(pid: int) -> float:
    """A live process's peak resident memory (VmHWM), from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _timings(out: Path) -> dict[int, list[float]]:
    """Each worker's recorded peak memory, configuration by configuration, in the order they were stored."""
    with sqlite3.connect(f"file:{out / 'sweep.sqlite'}?mode=ro", uri=True) as db:
        found: dict[int, list[float]] = {}
        for worker, peak in db.execute("SELECT worker, peak_rss_mib FROM timings ORDER BY rowid"):
            found.setdefault(worker, []).append(peak)
    return found


if __name__ == "__main__":
    main()
