"""Time the whole default command against another checkout's, pair by pair.

Usage: FEDCUT_DATA_DIR=../shared/data FEDCUT_OFFLINE=1 python benchmarks/bench_vs.py OTHER [--python PY] [--pairs 21]
OTHER is a checkout of another version (e.g. `git worktree add ../old 223150a`) and PY the Python
of an environment with that version's dependencies (default: this one). Each pair runs this
checkout's `python run_backtest.py` and OTHER's, one after the other, each in a new empty folder
with its output discarded; taking the ratio pair by pair keeps it meaningful when the machine's
speed drifts. Prints each pair and the medians; one warm-up pair is not counted.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def wall(python: str, checkout: Path) -> float:
    """Seconds of one `run_backtest.py` of `checkout`, from start to exit, in a fresh folder."""
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        subprocess.run(
            [python, str(checkout / "run_backtest.py")],
            cwd=folder,
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("other", type=Path, help="a checkout of the version to compare with")
    ap.add_argument("--python", default=sys.executable, help="the other version's Python (default: this one)")
    ap.add_argument("--pairs", type=int, default=21)
    args = ap.parse_args()
    if not (args.other / "run_backtest.py").is_file():
        sys.exit(f"{args.other}: no run_backtest.py there (expected a checkout of fedcut)")
    wall(sys.executable, ROOT), wall(args.python, args.other)  # warm-up: caches, compiled code
    ours, theirs = [], []
    for k in range(args.pairs):
        ours.append(wall(sys.executable, ROOT))
        theirs.append(wall(args.python, args.other))
        print(
            f"pair {k + 1:2d}: this {ours[-1]:.2f} s, other {theirs[-1]:.2f} s, ratio {ours[-1] / theirs[-1]:.3f}",
            flush=True,
        )
    ratios = [a / b for a, b in zip(ours, theirs)]
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}, {os.cpu_count()} CPUs")
    print(
        f"median: this {statistics.median(ours):.2f} s, other {statistics.median(theirs):.2f} s, "
        f"ratio {statistics.median(ratios):.3f} (pairs {min(ratios):.3f} to {max(ratios):.3f})"
    )


if __name__ == "__main__":
    main()
