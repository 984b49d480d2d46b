"""Time the output stage of the default run: its seven pictures, `write_run` and the whole command.

Usage: FEDCUT_DATA_DIR=../shared/data FEDCUT_OFFLINE=1 python benchmarks/bench_outputs.py [--repeat 5]
Prints the CPU seconds of drawing the report's seven PNGs (`fedcut.report.pictures.draw`, from the
run's files in memory): the first time in this process, matplotlib's import included, as a run
pays it, then the median of --repeat more, in all and picture by picture; then the median wall
and CPU time of `write_run` (CSVs, PNGs, report.html, each into a new folder) and of the whole
`python run_backtest.py` command (a fresh process each time, as a user runs it). Other processes
on the machine slow every figure down: read the load average printed with them.
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
from fedcut.report import pictures  # noqa: E402
from fedcut.report.schema import PICTURES  # noqa: E402
from fedcut.run.backtest import run  # noqa: E402
from fedcut.run.folder import run_data, write_run  # noqa: E402


def cpu_seconds() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def picture_seconds(data) -> dict[str, float]:
    """CPU seconds of each picture: built, drawn and encoded as a PNG."""
    spent = {}
    for name in PICTURES:
        start = time.process_time()
        pictures.png(name, data)
        spent[name] = time.process_time() - start
    return spent


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--commands", type=int, default=3, help="whole-command runs (0: none)")
    args = ap.parse_args()
    result = run(resolve({}))
    data = run_data(result)
    start = time.process_time()
    pictures.draw(data)  # imports matplotlib, fills the font caches
    first = time.process_time() - start
    drawn = [picture_seconds(data) for _ in range(args.repeat)]
    walls, cpus = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for k in range(args.repeat):
            c0, t0 = cpu_seconds(), time.perf_counter()
            write_run(result, Path(tmp) / f"run-{k}")
            walls.append(time.perf_counter() - t0)
            cpus.append(cpu_seconds() - c0)
        commands = []
        for k in range(args.commands):
            t0 = time.perf_counter()
            subprocess.run(
                [sys.executable, str(ROOT / "run_backtest.py"), "-q", "--out", str(Path(tmp) / f"cli-{k}")],
                check=True,
                stdout=subprocess.DEVNULL,
                cwd=ROOT,
            )
            commands.append(time.perf_counter() - t0)
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}, {os.cpu_count()} CPUs")
    totals = [sum(d.values()) for d in drawn]
    print(
        f"pictures ({len(PICTURES)} PNGs): first {first:.2f} s CPU (matplotlib's import included), then median of "
        f"{args.repeat}: {statistics.median(totals):.2f} s CPU (min {min(totals):.2f} s)"
    )
    print("  " + ", ".join(f"{name} {statistics.median(d[name] for d in drawn):.3f}" for name in PICTURES))
    print(
        f"write_run (CSVs, PNGs, report.html), median of {args.repeat}: {statistics.median(walls):.2f} s wall, "
        f"{statistics.median(cpus):.2f} s CPU (min {min(walls):.2f} s wall)"
    )
    if commands:
        print(
            f"python run_backtest.py, median of {args.commands}: {statistics.median(commands):.2f} s wall "
            f"(min {min(commands):.2f} s)"
        )


if __name__ == "__main__":
    main()
