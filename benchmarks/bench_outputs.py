"""Time the output stage of the default run: its seven pictures, `write_run` and the whole command;
or a finished sweep's pictures.

Usage: FEDCUT_DATA_DIR=../shared/data FEDCUT_OFFLINE=1 python benchmarks/bench_outputs.py [--repeat 5]
Prints the CPU seconds of drawing the report's seven PNGs (`fedcut.report.pictures.draw`, from the
run's files in memory): the first time in this process, matplotlib's import included, as a run
pays it, then the median of --repeat more, in all and picture by picture; then the median wall
and CPU time of `write_run` (CSVs, PNGs, report.html, each into a new folder) and of the whole
`python run_backtest.py` command (a fresh process each time, as a user runs it). Other processes
on the machine slow every figure down: read the load average printed with them.

  --sweep FOLDER  a finished sweep's folder instead (e.g. one of `fedcut sweep`, or a copy): writes
                  its outputs again into a copy, --repeat + 1 times, and prints the CPU seconds of
                  its pictures (heatmaps, sensitivity, top equity, overfitting; the first time with
                  matplotlib's import, then the median and the least of the others). A sweep's
                  pictures cost about the same at 500 configurations as at 10,000.
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


SWEEP_PICTURES = (  # (function in fedcut.sweeps.report, the picture it draws)
    ("telling_pairs", "heatmaps"),  # which pairs get a heatmap
    ("heatmaps", "heatmaps"),
    ("sensitivity", "sensitivity"),
    ("top_equity_figure", "top equity"),
    ("save_png", "top equity"),  # its only use in sweeps.report: top_equity.png
    ("overfitting_figure", "overfitting"),
)


def sweep_picture_seconds(folder: Path, repeat: int) -> None:
    """The CPU seconds of a sweep's pictures, timed inside `write_outputs` on a copy of `folder`."""
    import shutil

    import fedcut.sweeps.report as report
    from fedcut.sweeps.runner import STORE
    from fedcut.sweeps.spec import load_spec
    from fedcut.sweeps.store import Store

    spent: dict[str, float] = {}

    def timed(inner, label):
        def wrapper(*a, **k):
            start = time.process_time()
            try:
                return inner(*a, **k)
            finally:
                spent[label] = spent.get(label, 0.0) + time.process_time() - start

        return wrapper

    for name, label in SWEEP_PICTURES:
        setattr(report, name, timed(getattr(report, name), label))
    passes = []
    with tempfile.TemporaryDirectory() as tmp:
        for k in range(repeat + 1):
            out = Path(tmp) / f"sweep-{k}"
            shutil.copytree(folder, out)
            store = Store(out / STORE)
            spent.clear()
            report.write_outputs(load_spec(out / "spec.toml"), out, store, None, None)
            store.close()
            passes.append(dict(spent))
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}, {os.cpu_count()} CPUs")
    totals = [sum(p.values()) for p in passes[1:]]
    print(
        f"sweep pictures of {folder}: first {sum(passes[0].values()):.2f} s CPU (matplotlib's import included), "
        f"then median of {repeat}: {statistics.median(totals):.2f} s CPU (min {min(totals):.2f} s)"
    )
    labels = dict.fromkeys(label for _, label in SWEEP_PICTURES)
    print(
        "  " + ", ".join(f"{label} {statistics.median(p.get(label, 0.0) for p in passes[1:]):.3f}" for label in labels)
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--commands", type=int, default=3, help="whole-command runs (0: none)")
    ap.add_argument("--sweep", type=Path, help="a finished sweep's folder: time its pictures instead")
    args = ap.parse_args()
    if args.sweep:
        sweep_picture_seconds(args.sweep, args.repeat)
        return
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
