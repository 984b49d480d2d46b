"""Time the output stage of the default run (`write_run`: CSVs, PNGs, report.html) and the whole command.

Usage: FEDCUT_DATA_DIR=../shared/data FEDCUT_OFFLINE=1 python benchmarks/bench_outputs.py [--repeat 5]
Prints the median wall time of `write_run` on one computed run (--repeat times, each into a new
folder), the CPU time it used (this process and its children), and the median wall time of the
whole `python run_backtest.py` command (a fresh process each time, as a user runs it). Other
processes on the machine slow every figure down: read the load average printed with them.
"""
from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fedcut.core.params import resolve  # noqa: E402
from fedcut.run.backtest import run  # noqa: E402
from fedcut.run.folder import write_run  # noqa: E402


def cpu_seconds() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--commands", type=int, default=3, help="whole-command runs (0: none)")
    args = ap.parse_args()
    result = run(resolve({}))
    walls, cpus = [], []
    with tempfile.TemporaryDirectory() as tmp:
        write_run(result, Path(tmp) / "warm-up")  # imports matplotlib, fills font caches
        for k in range(args.repeat):
            c0, t0 = cpu_seconds(), time.perf_counter()
            write_run(result, Path(tmp) / f"run-{k}")
            walls.append(time.perf_counter() - t0)
            cpus.append(cpu_seconds() - c0)
        commands = []
        for k in range(args.commands):
            t0 = time.perf_counter()
            subprocess.run([sys.executable, str(ROOT / "run_backtest.py"), "-q", "--out", str(Path(tmp) / f"cli-{k}")],
                           check=True, stdout=subprocess.DEVNULL, cwd=ROOT)
            commands.append(time.perf_counter() - t0)
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}, {os.cpu_count()} CPUs")
    print(f"write_run (CSVs, PNGs, report.html), median of {args.repeat}: {statistics.median(walls):.2f} s wall, "
          f"{statistics.median(cpus):.2f} s CPU (min {min(walls):.2f} s wall)")
    if commands:
        print(f"python run_backtest.py, median of {args.commands}: {statistics.median(commands):.2f} s wall "
              f"(min {min(commands):.2f} s)")


if __name__ == "__main__":
    main()
