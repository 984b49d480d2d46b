"""The picture of `fedcut calibrate`: the fitted SPY put surface against the quotes it is judged on."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from fedcut.plots.kit import new_figure, save_png


def plot_calibration(priced: pd.DataFrame, split: str, path) -> Path:
    """Two panels over the out-of-sample quotes (`hedging.calibration.price` output, from `split` on):
    model IV against the vendor's IV, and the median IV by moneyness for each snapshot, quotes
    (dots) against model (lines)."""
    test = priced[priced["iv"].notna()]
    fig, (left, right) = new_figure(4.6, 1, 2, top=0.55, bottom=0.6, wgap=0.9)
    short = test["dte"] <= 35
    for mask, colour, label in ((~short, "C0", "about 45 days to expiry"), (short, "C3", "about 21 days")):
        left.scatter(
            100 * test["iv"][mask],
            100 * test["model_iv"][mask],
            s=3,
            alpha=0.35,
            color=colour,
            label=label,
            rasterized=True,
        )
    top = float(np.ceil(100 * max(test["iv"].max(), test["model_iv"].max()) / 10) * 10)
    left.plot([0, top], [0, top], color="black", lw=1)
    left.set_xlim(0, top)
    left.set_ylim(0, top)
    left.set_xlabel("quoted IV (vol points)")
    left.set_ylabel("model IV (vol points)")
    left.set_title(f"each quote from {split} on (out of sample)", fontsize=10)
    left.legend(fontsize=8, loc="upper left", markerscale=4)
    left.grid(alpha=0.3)
    otm = np.floor(test["otm_pct"])
    for mask, colour, label in ((~short, "C0", "about 45 days"), (short, "C3", "about 21 days")):
        by = test[mask].groupby(otm[mask])
        right.plot(by["otm_pct"].median(), 100 * by["iv"].median(), "o", ms=3.5, color=colour, label=f"quotes, {label}")
        right.plot(
            by["otm_pct"].median(), 100 * by["model_iv"].median(), "-", lw=1.8, color=colour, label=f"model, {label}"
        )
    right.set_xlabel("% out of the money (1 - K/S)")
    right.set_ylabel("median IV (vol points)")
    right.set_title("the skew: median IV by 1% of moneyness", fontsize=10)
    right.legend(fontsize=8, loc="upper left")
    right.grid(alpha=0.3)
    fig.suptitle("SPY put surface fitted on the early years, against the later years' quotes", fontsize=11)
    return save_png(fig, path)
