"""Time the default run by stage: load, signals, engine, outputs (median of --repeat cold runs).

Usage: FEDCUT_DATA_DIR=../shared/data python benchmarks/bench_run.py [--repeat 3] [--history iwm|extended|long]
Each repetition clears the per-process caches, so every stage is measured cold.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fedcut.core.params import resolve  # noqa: E402
from fedcut.execution.engines import ARRAY, ENGINES, Engine, engine_named  # noqa: E402
from fedcut.run import backtest as runmod  # noqa: E402
from fedcut.run import folder, inputs


def once(cfg, engine: Engine) -> dict[str, float]:
    runmod.clear_caches()
    t0 = time.perf_counter()
    prepared = inputs.prepare(cfg)
    t1 = time.perf_counter()
    sig = inputs.signals(prepared, cfg)
    t2 = time.perf_counter()
    runmod.execute_strategy(prepared, cfg, *runmod.strategy_plan("fedcut", prepared, cfg, sig), engine)
    t3 = time.perf_counter()
    runmod.benchmark(prepared, cfg, "IWM", engine)
    runmod.benchmark(prepared, cfg, "SPY", engine)
    t4 = time.perf_counter()
    result = runmod.run(cfg, engine=engine)  # cached data, signals and benchmarks: strategy engine + analysis only
    t5 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        folder.write_run(result, Path(tmp) / "run")
    t6 = time.perf_counter()
    return {
        "load": t1 - t0,
        "signals": t2 - t1,
        "engine (strategy)": t3 - t2,
        "engine (2 benchmarks)": t4 - t3,
        "warm run (cached data, signals, benchmarks)": t5 - t4,
        "outputs": t6 - t5,
        "one run, cold (load + signals + benchmarks + warm run + outputs)": (t2 - t0)
        + (t4 - t3)
        + (t5 - t4)
        + (t6 - t5),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--history", default="iwm", choices=("iwm", "extended", "long"))
    ap.add_argument("--engine", default=ARRAY.name, choices=tuple(ENGINES))
    args = ap.parse_args()
    cfg = resolve({"run.history": args.history})
    runs = [once(cfg, engine_named(args.engine, "--engine")) for _ in range(args.repeat)]
    print(f"median of {args.repeat} runs ({args.history} history)")
    for stage in runs[0]:
        print(f"  {stage:<52} {statistics.median(r[stage] for r in runs):6.2f} s")


if __name__ == "__main__":
    main()
