"""Time regime signals per setting: CPU seconds of one process over random regime settings.

Usage: FEDCUT_DATA_DIR=../shared/data python benchmarks/bench_signals.py [--settings 200] [--history iwm|long]
The settings vary the four thresholds `bench_sweep.py --kind regime` sweeps (hy_widening,
vix_crisis, sahm_warning, capitulation_vix_peak), drawn with a fixed seed; the data and the
default setting's signals are computed first and not counted, as in a sweep's warm worker.
`--windows` also varies the credit window and the dwell, which change more of the frame.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fedcut.core.params import resolve  # noqa: E402
from fedcut.run.inputs import prepare, signals  # noqa: E402


def settings(n: int, windows: bool, seed: int = 3) -> list[dict]:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        s = {
            "regime.hy_widening": (1.0, 1.5)[i % 2],
            "regime.vix_crisis": float(rng.uniform(30.0, 50.0)),
            "regime.sahm_warning": float(rng.uniform(0.3, 0.7)),
            "regime.capitulation_vix_peak": float(rng.uniform(28.0, 45.0)),
        }
        if windows:
            s["regime.credit_window_days"] = int(rng.choice([42, 63, 126]))
            s["regime.min_dwell_days"] = int(rng.integers(1, 10))
        out.append(s)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--settings", type=int, default=200)
    ap.add_argument("--history", default=None)
    ap.add_argument("--windows", action="store_true")
    args = ap.parse_args()
    base = {"run.history": args.history} if args.history else {}
    cfg = resolve(base)
    prepared = prepare(cfg)
    signals(prepared, cfg, reasons=False)
    each = []
    for s in settings(args.settings, args.windows):
        c = resolve({**base, **s})
        t0 = time.process_time()
        signals(prepared, c, reasons=False)
        each.append(time.process_time() - t0)
    total = sum(each)
    print(
        f"{len(each)} regime settings ({cfg.run.history} history, {len(prepared.market.days)} days): "
        f"{1000 * total / len(each):.1f} ms CPU a setting (median {1000 * statistics.median(each):.1f} ms)"
    )


if __name__ == "__main__":
    main()
