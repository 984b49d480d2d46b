"""Time sweeps of the full 2000-2025 history, with in/out-of-sample, walk-forward and cycle
validation, and record each worker's peak memory.

Usage: FEDCUT_DATA_DIR=../shared/data python benchmarks/bench_sweep.py [--kind random] [--workers 2]
  --kind random   10,000 random configurations over strategy, hedge and execution parameters
                  (`--configurations` changes the count; the default kind)
  --kind regime   1,000 random configurations of regime thresholds: each its own signal frame
  --kind grid     the 64-configuration grid of hedge and strategy parameters measured before
  --audit         keep the default 1% audit in backtrader (off by default: it measures backtrader)
  --span short    2016-2021 only (`train_end` 2019-06-30, no walk-forward or cycle tests): the
                  parent's memory and CPU per configuration at 100,000 and 1,000,000, in a sixth of
                  the workers' time and store
  --write-spec F  only write the spec to F (to run it with `fedcut sweep F`, e.g. on a Dask cluster)
Reports the wall time including worker start-up, the store and the outputs, configurations per
minute, and for each worker its peak resident memory after its first, its middle and its last
block: equal figures for the last two mean memory does not grow with the number of configurations.
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

SHORT = """
[base]
"run.start" = "2016-01-01"
"run.end" = "2021-12-31"

[validation]
train_end = "2019-06-30"
{audit}
"""

VALIDATION = """
[validation]
train_end = "2012-12-31"
walk_forward = {{ train_years = 8, test_years = 4 }}
select_cycles = ["2001", "2007"]
test_cycles = ["2019", "2024"]
{audit}
"""

SPECS = {
    # 10 grid points x `samples` draws of 14 strategy, hedge and execution parameters
    "random": (
        """
[sweep]
name = "bench-random"
objective = "calmar"
seed = 7
samples = {samples}

[grid]
"strategy.recession_action" = ["avoid", "hedge", "quality", "midcap", "cyclicals"]
"hedge.sizing" = ["ratio", "budget"]

[random]
"strategy.accumulate_days" = {{ low = 5, high = 60 }}
"strategy.recession_equity" = {{ low = 0.2, high = 1.0 }}
"strategy.neutral_iwm" = {{ low = 0.2, high = 0.4 }}
"strategy.capitulation_in_recession" = {{ choices = ["buy", "hedge", "wait"] }}
"strategy.reentry_days" = {{ low = 5, high = 30 }}
"hedge.moneyness" = {{ low = 0.75, high = 1.0 }}
"hedge.tenor_days" = {{ low = 45, high = 182 }}
"hedge.hedge_ratio" = {{ low = 0.25, high = 1.5 }}
"hedge.annual_budget" = {{ low = 0.005, high = 0.05 }}
"hedge.hold_through_crisis" = {{ choices = [true, false] }}
"execution.rebalance_band" = {{ low = 0.0, high = 0.15 }}
"execution.slippage_bps" = {{ low = 0.0, high = 10.0 }}
"execution.commission_bps" = {{ low = 0.0, high = 5.0 }}
"execution.cash_buffer" = {{ low = 0.0, high = 0.05 }}
""",
        10,
    ),
    # 2 grid points x `samples` draws of three regime thresholds
    "regime": (
        """
[sweep]
name = "bench-regime"
objective = "calmar"
seed = 3
samples = {samples}

[grid]
"regime.hy_widening" = [1.0, 1.5]

[random]
"regime.vix_crisis" = {{ low = 30.0, high = 50.0 }}
"regime.sahm_warning" = {{ low = 0.3, high = 0.7 }}
"regime.capitulation_vix_peak" = {{ low = 28.0, high = 45.0 }}
""",
        2,
    ),
    "grid": (
        """
[sweep]
name = "bench-grid"
objective = "calmar"
seed = 1
samples = 1

[grid]
"hedge.moneyness" = [0.80, 0.85, 0.90, 0.95]
"strategy.recession_equity" = [0.2, 0.4, 0.6, 0.8]
"hedge.tenor_days" = [63, 91, 126, 182]

[random]
"strategy.accumulate_days" = {{ low = 10, high = 60 }}
""",
        64,
    ),
}
DEFAULT_COUNT = {"random": 10_000, "regime": 1_000, "grid": 64}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--kind", choices=tuple(SPECS), default="random")
    ap.add_argument("--configurations", type=int, help="how many (random and regime kinds; rounded to the grid)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--audit", action="store_true", help="keep the default 1%% audit in backtrader")
    ap.add_argument("--span", choices=("full", "short"), default="full", help="2000-2025, or 2016-2021")
    ap.add_argument("--write-spec", type=Path, help="only write the spec to this file")
    args = ap.parse_args()
    template, grid_points = SPECS[args.kind]
    count = args.configurations or DEFAULT_COUNT[args.kind]
    validation = SHORT if args.span == "short" else VALIDATION
    text = template.format(samples=max(1, count // grid_points)) + validation.format(
        audit="" if args.audit else "audit_share = 0.0"
    )
    if args.write_spec:
        args.write_spec.write_text(text)
        return
    with tempfile.TemporaryDirectory() as tmp:
        spec_path = Path(tmp) / "bench.toml"
        spec_path.write_text(text)
        started = time.perf_counter()
        spec = load_spec(spec_path)
        out = run_sweep(spec, Path(tmp) / "sweep", workers=args.workers, progress=True)
        wall = time.perf_counter() - started
        store = Store(out / STORE)
        timings, (n, failed), audits = store.timings(), store.counts(), store.audits()
        store.close()
    print(
        f"{args.kind}: {n} configurations ({failed} failed), {args.workers} workers, "
        f"{len(audits)} audited in backtrader: {wall:.1f} s wall = {60 * n / wall:,.0f} configurations/minute "
        "(including the spec, worker start-up, the store and the outputs)"
    )
    by_worker: dict[int, list[dict]] = {}
    for t in timings:  # stored in completion order
        by_worker.setdefault(t["worker"], []).append(t)
    for worker, ts in sorted(by_worker.items()):
        print(
            f"  worker {worker}: {len(ts)} configurations, {sum(t['seconds'] for t in ts):.1f} s of work, peak "
            f"resident memory {ts[0]['peak_rss_mib']:.0f} MiB after the first, "
            f"{ts[len(ts) // 2 - 1]['peak_rss_mib']:.0f} MiB after half, {ts[-1]['peak_rss_mib']:.0f} MiB after the last"
        )


if __name__ == "__main__":
    main()
