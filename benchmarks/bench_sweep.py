"""Time a 64-configuration sweep of the full history and record each worker's peak memory.

Usage: FEDCUT_DATA_DIR=../shared/data python benchmarks/bench_sweep.py [--workers 2] [--samples 1]
The spec is examples/sweep.toml's validation with a 4 x 4 x 4 grid of hedge and strategy
parameters (`--samples` random draws of strategy.accumulate_days per grid point multiply it).
Reports the wall time including worker start-up, configurations per minute, and for each
worker its peak resident memory after its first, its middle and its last configuration:
equal figures for the last two mean memory does not grow with the number of configurations.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fedcut.sweeps.runner import STORE, run_sweep  # noqa: E402
from fedcut.sweeps.spec import load_spec  # noqa: E402
from fedcut.sweeps.store import Store  # noqa: E402

SPEC = """
[sweep]
name = "bench"
objective = "calmar"
seed = 1
samples = {samples}

[grid]
"hedge.moneyness" = [0.80, 0.85, 0.90, 0.95]
"strategy.recession_equity" = [0.2, 0.4, 0.6, 0.8]
"hedge.tenor_days" = [63, 91, 126, 182]

[random]
"strategy.accumulate_days" = {{ low = 10, high = 60 }}

[validation]
train_end = "2012-12-31"
walk_forward = {{ train_years = 8, test_years = 4 }}
select_cycles = ["2001", "2007"]
test_cycles = ["2019", "2024"]
"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--samples", type=int, default=1)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        spec_path = Path(tmp) / "bench.toml"
        spec_path.write_text(SPEC.format(samples=args.samples))
        spec = load_spec(spec_path)
        started = time.perf_counter()
        out = run_sweep(spec, Path(tmp) / "sweep", workers=args.workers, progress=True)
        wall = time.perf_counter() - started
        store = Store(out / STORE)
        timings, rows = store.timings(), store.rows()
        store.close()
    n = len(rows)
    failed = sum(r["status"] != "ok" for r in rows)
    print(f"{n} configurations ({failed} failed), {args.workers} workers: {wall:.1f} s wall "
          f"= {60 * n / wall:.0f} configurations/minute (including worker start-up and the outputs)")
    print(f"  per configuration in a worker: median {sorted(t['seconds'] for t in timings)[n // 2]:.2f} s")
    by_worker: dict[int, list[dict]] = {}
    for t in timings:  # stored in completion order
        by_worker.setdefault(t["worker"], []).append(t)
    for worker, ts in sorted(by_worker.items()):
        print(f"  worker {worker}: {len(ts)} configurations, peak resident memory "
              f"{ts[0]['peak_rss_mib']:.0f} MiB after the first, {ts[len(ts) // 2 - 1]['peak_rss_mib']:.0f} MiB "
              f"after half, {ts[-1]['peak_rss_mib']:.0f} MiB after the last")


if __name__ == "__main__":
    main()
