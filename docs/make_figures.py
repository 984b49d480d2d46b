"""Rebuild every PNG in docs/ (the README's pictures) from the data, so they never go stale.

Usage: FEDCUT_DATA_DIR=../shared/data FEDCUT_OFFLINE=1 python docs/make_figures.py [--workers 2]

`FIGURES` says what draws each picture: the default run (its regime picture and its easing
cycles), the modelled put volatility of the default hedge settings, and the example sweep
(examples/sweep.toml, run into a temporary folder) for the heatmap. A PNG in docs/ that no entry
draws is refused: it would go stale (tests/test_outputs.py checks the same). The same data and
code give the same bytes.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
EXAMPLE_SWEEP = ROOT / "examples" / "sweep.toml"
SWEEP_HEATMAP = "heatmap_hedge_moneyness__strategy_recession_equity.png"  # the pair the README discusses

# picture in docs/ -> what draws it (the README says which figure of a run or sweep it is)
FIGURES = {
    "regimes.png": "the default run's plots/regimes.png",
    "cycles.png": "the default run's plots/cycles.png",
    "vol_surface.png": "hedging.surface.plot_surface with the default hedge settings",
    "sweep_heatmap.png": f"examples/sweep.toml's plots/{SWEEP_HEATMAP}",
    "state_machine.png": "signals.diagram.plot_state_machine",
}


def make(out: Path, workers: int, data_dir: str | None = None) -> list[Path]:
    """Draw every picture of FIGURES into `out`; return their paths."""
    from fedcut.core.params import resolve
    from fedcut.hedging.surface import plot_surface
    from fedcut.plots.diagram import plot_state_machine
    from fedcut.plots.kit import plot_regimes
    from fedcut.plots.run import plot_cycles
    from fedcut.run.backtest import run
    from fedcut.sweeps.runner import run_sweep
    from fedcut.sweeps.spec import load_spec

    cfg = resolve()
    result = run(cfg, data_dir, True)
    m = result.prepared.market
    written = [
        plot_regimes(
            result.signals,
            m.close["IWM"],
            [d for d in result.prepared.first_cuts if d >= m.days[0]],
            out / "regimes.png",
        ),
        plot_cycles(result.equity, result.episodes, out / "cycles.png"),
        plot_surface(out / "vol_surface.png", cfg.hedge),
        plot_state_machine(out / "state_machine.png"),
    ]
    with tempfile.TemporaryDirectory(prefix="fedcut-figures-") as tmp:
        folder = run_sweep(
            load_spec(EXAMPLE_SWEEP, top=0),
            Path(tmp) / "sweep",
            workers=workers,
            data_dir=data_dir,
            offline=True,
            progress=False,
        )
        written.append(Path(shutil.copyfile(folder / "plots" / SWEEP_HEATMAP, out / "sweep_heatmap.png")))
    return written


def stale(folder: Path = DOCS) -> list[str]:
    """PNGs in `folder` that no entry of FIGURES draws."""
    return sorted(p.name for p in folder.glob("*.png") if p.name not in FIGURES)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Rebuild every PNG in docs/ from the data.")
    ap.add_argument("--workers", type=int, default=2, help="sweep worker processes (default 2)")
    ap.add_argument("--data-dir", help="folder of yfinance/FRED CSVs (default: $FEDCUT_DATA_DIR)")
    args = ap.parse_args(argv)
    unknown = stale()
    if unknown:
        print(
            f"error: docs/{unknown[0]} is drawn by nothing in docs/make_figures.py's FIGURES: add what draws it, "
            "or remove it",
            file=sys.stderr,
        )
        return 2
    for path in make(DOCS, args.workers, args.data_dir):
        print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
