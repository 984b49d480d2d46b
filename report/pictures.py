"""The run report's pictures (`schema.PICTURES`), drawn from a run's files in memory (`RunData`).

`figure(name, data)` is one picture as a matplotlib Figure (what a notebook shows, `fedcut.Result`);
`png(name, data)` the same as the bytes of a PNG, and `draw(data)` all of them, in this process and
in turn, for the report to write and embed.
"""

from __future__ import annotations

import gc
from typing import TYPE_CHECKING

from fedcut.plots import run as plots
from fedcut.plots.kit import png_bytes, regimes_figure
from fedcut.report.schema import PICTURES, RunData

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def figure(name: str, data: RunData) -> Figure:
    """The picture `name` of the run `data`."""
    eq, oracle, label, cuts, bench = data.equity, data.oracle, data.label, data.first_cuts, data.benchmark
    if name == "equity":
        return plots.equity_figure(eq, cuts, oracle, label, bench)
    if name == "underwater":
        return plots.underwater_figure(eq, oracle, cuts, label, bench)
    if name == "rolling":
        return plots.rolling_figure(eq, data.risk_free, oracle, label, bench)
    if name == "holdings":
        return plots.holdings_figure(eq, oracle, label)
    if name == "cycles":
        return plots.cycles_figure(eq, data.episodes, oracle, label, bench)
    if name == "hedge":
        return plots.hedge_figure(eq, data.trades, oracle, data.contract_size, cuts)
    if name == "regimes":
        return regimes_figure(data.signals, data.signals["iwm"], cuts, oracle, bench.short)
    raise ValueError(f"no picture {name!r}; the pictures are {', '.join(PICTURES)}")


def png(name: str, data: RunData) -> bytes:
    """The picture `name` of the run `data` as the bytes of a PNG.

    A picture is some hundred thousand small objects that all live until it is encoded: the garbage
    collector, left on, would walk them (and the run's whole heap) again and again for nothing, so it
    waits until the picture is done (a sixth of the picture's time).
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        return png_bytes(figure(name, data))
    finally:
        if enabled:
            gc.enable()


def draw(data: RunData) -> dict[str, bytes]:
    """Every picture of the run as the bytes of a PNG, by name."""
    return {name: png(name, data) for name in PICTURES}
