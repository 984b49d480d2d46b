"""Where a sweep's parent process spends its CPU, stage by stage, beside the workers' CPU.

Usage: FEDCUT_DATA_DIR=../shared/data python benchmarks/bench_sweep_stages.py [bench_sweep.py's options]
Runs `benchmarks/bench_sweep.py` (by default its 10,000-configuration random sweep, `--workers 2`)
with the parent's stages timed in CPU seconds of this process alone (`time.process_time`: waiting
for the workers costs nothing), then prints the parent's CPU and peak memory, the workers' CPU
(the finished children's, from the operating system) and each stage, largest first, with how much
it raised the parent's peak resident memory (the stage that sets the peak is the one to cut). Only
what runs inside the sweep counts: the benchmark's own reading of the store afterwards does not.
"""

from __future__ import annotations

import collections
import functools
import resource
import runpy
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import fedcut.sweeps.report as report  # noqa: E402
import fedcut.sweeps.runner as runner  # noqa: E402
import fedcut.sweeps.spec as spec  # noqa: E402
import fedcut.sweeps.store as store  # noqa: E402

CPU: collections.Counter = collections.Counter()
PEAK: collections.Counter = collections.Counter()  # MiB each stage added to the parent's peak
ACTIVE = [False]  # inside the sweep (spec loading and run_sweep)
STAGES = [  # (module or class, function, label)
    (spec, "load_spec", "expanding the spec"),
    (runner, "plan_for", "cutting the samples from the data"),
    (store.Store, "add", "storing results in SQLite"),
    (store.Store, "rows", "reading the stored rows back"),
    (store.Store, "returns", "reading the stored daily returns"),
    (report, "summary_frame", "the summary table"),
    (report, "overfitting_report", "overfitting statistics (DSR, CSCV)"),
    (report, "heatmaps", "pictures: heatmaps"),
    (report, "sensitivity", "pictures: sensitivity"),
    (report, "_top_equity", "pictures: top equity"),
    (report, "overfitting_figure", "pictures: overfitting"),
    (report, "render_html", "sweep.html"),
]


def timed(owner, name: str, label: str, always: bool = False) -> None:
    inner = getattr(owner, name)

    @functools.wraps(inner)
    def wrapper(*args, **kwargs):
        if not (ACTIVE[0] or always):
            return inner(*args, **kwargs)
        started, peak = time.process_time(), _peak_mib()
        try:
            return inner(*args, **kwargs)
        finally:
            CPU[label] += time.process_time() - started
            PEAK[label] += _peak_mib() - peak

    setattr(owner, name, wrapper)


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def received(execute):
    """The pool's results as the parent takes them (unpickling; waiting is not CPU)."""

    @functools.wraps(execute)
    def wrapper(*args, **kwargs):
        blocks = execute(*args, **kwargs)

        def each():
            while True:
                started = time.process_time()
                try:
                    block = next(blocks)
                except StopIteration:
                    return
                finally:
                    CPU["receiving results from the workers"] += time.process_time() - started
                yield block

        return each()

    return wrapper


def inside(function):
    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        ACTIVE[0] = True
        try:
            return function(*args, **kwargs)
        finally:
            ACTIVE[0] = False

    return wrapper


def main() -> None:
    for owner, name, label in STAGES:
        timed(owner, name, label, always=name == "load_spec")
    runner._execute = received(runner._execute)
    runner.run_sweep = inside(runner.run_sweep)
    sys.argv = [str(ROOT / "benchmarks" / "bench_sweep.py"), *sys.argv[1:]]
    runpy.run_path(sys.argv[0], run_name="__main__")
    me, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    print(
        f"parent: {me.ru_utime + me.ru_stime:.1f} s of CPU (imports and the benchmark's own reading included), "
        f"peak resident memory {me.ru_maxrss / 1024:.0f} MiB; workers: {children.ru_utime + children.ru_stime:.1f} s "
        "of CPU"
    )
    for label, seconds in CPU.most_common():
        print(f"  {label}: {seconds:.2f} s" + (f", peak +{PEAK[label]:.0f} MiB" if PEAK[label] >= 1 else ""))


if __name__ == "__main__":
    main()
