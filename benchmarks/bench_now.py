"""Time `fedcut now` as a user meets it: whole commands in fresh processes, then the stages in one.

Usage: FEDCUT_DATA_DIR=../shared/data FEDCUT_OFFLINE=1 python benchmarks/bench_now.py [--repeat 5]
The target (issue 15) is under 3 s for the whole command on the shared data.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

COMMANDS = (["now"], ["now", "--json"], ["now", "--as-of", "2020-03-16"])


def wall(args: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "run_backtest.py", "-q", *args], cwd=ROOT, check=True, capture_output=True)
    return time.perf_counter() - t0


def stages() -> dict[str, float]:
    """One cold call in this process, by stage (imports excluded)."""
    from fedcut import now, now_text
    from fedcut.core.params import defaults
    from fedcut.run import backtest as runmod
    from fedcut.run import inputs

    cfg = defaults()
    runmod.clear_caches()
    t0 = time.perf_counter()
    prepared = inputs.prepare(cfg)
    t1 = time.perf_counter()
    sig = inputs.signals(prepared, cfg)
    t2 = time.perf_counter()
    runmod.strategy_plan("fedcut", prepared, cfg, sig)
    t3 = time.perf_counter()
    now_text.render(now.todays_call(cfg))  # cached data and signals: the call's own work
    t4 = time.perf_counter()
    return {
        "load and align (prepare)": t1 - t0,
        "signals": t2 - t1,
        "targets": t3 - t2,
        "the call: inputs, indicators, hedge, text": t4 - t3,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    print(f"whole command, fresh process each time (median and slowest of {args.repeat}):")
    for command in COMMANDS:
        times = [wall(command) for _ in range(args.repeat)]
        print(
            f"  python run_backtest.py {' '.join(command):<28} {statistics.median(times):5.2f} s  (max {max(times):.2f} s)"
        )
    t0 = time.perf_counter()
    import fedcut.now  # noqa: F401
    import fedcut.now_text  # noqa: F401

    print(f"\nimports {time.perf_counter() - t0:.2f} s; stages of one cold call in this process:")
    for stage, seconds in stages().items():
        print(f"  {stage:<44} {seconds:5.2f} s")


if __name__ == "__main__":
    main()
