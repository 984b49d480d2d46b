"""A sweep worker's CPU per configuration, in this process: no pool, no store, no pictures.

Usage: FEDCUT_DATA_DIR=../shared/data python benchmarks/bench_worker.py [CONFIGURATIONS] [--prof [SORT]]
Expands `benchmarks/bench_sweep.py`'s random spec (14 strategy, hedge and execution parameters,
the full validation, no audit) to CONFIGURATIONS (default 2,000), warms the worker up as a sweep's
worker does (`sweeps.evaluate.warm_up`: data, signals, compiled code), then runs
`sweeps.evaluate.task` on blocks of 256, as the runner sends them, and prints the CPU seconds of
this process per configuration (`time.process_time`). `--prof` profiles the blocks (cProfile,
sorted by `tottime` or the given key, 25 rows).
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import bench_sweep  # noqa: E402

from fedcut.core.params import resolve  # noqa: E402
from fedcut.sweeps.evaluate import plan_for, task, warm_up  # noqa: E402
from fedcut.sweeps.spec import load_spec  # noqa: E402

BLOCK = 256  # configurations a task gets, as the runner sends them


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("configurations", nargs="?", type=int, default=2000)
    ap.add_argument("--prof", nargs="?", const="tottime", help="profile the blocks, sorted by this key")
    args = ap.parse_args()
    template, grid_points = bench_sweep.SPECS["random"]
    text = template.format(samples=max(1, args.configurations // grid_points))
    text += bench_sweep.VALIDATION.format(audit="audit_share = 0.0")
    data_dir = os.environ.get("FEDCUT_DATA_DIR")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.toml"
        path.write_text(text)
        spec = load_spec(path)
    base = resolve(spec.base)
    plan = plan_for(base, spec.validation, data_dir, True)
    warm_up(base, data_dir, True)
    points = list(spec.points.at(np.arange(len(spec.points))))
    blocks = [[(q.position, q.config, q.error) for q in points[k : k + BLOCK]] for k in range(0, len(points), BLOCK)]
    profile = cProfile.Profile() if args.prof else None
    started = time.process_time()
    if profile:
        profile.enable()
    for block in blocks:
        task(block, plan)
    if profile:
        profile.disable()
    cpu = time.process_time() - started
    print(f"{len(points)} configurations: {cpu:.2f} s of CPU = {1000 * cpu / len(points):.2f} ms a configuration")
    if profile:
        pstats.Stats(profile).sort_stats(args.prof).print_stats(25)


if __name__ == "__main__":
    main()
