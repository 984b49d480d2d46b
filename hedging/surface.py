"""Implied volatility and bid-ask spread of synthetic IWM puts, built from VIX.

There is no Russell 2000 vol index (RVX) in the data, so small-cap implied vol is
modelled as a multiple of VIX (it has run about 1.2-1.4 times VIX) plus a linear skew
that charges out-of-the-money puts more vol, clipped to a plausible range:

    vol = clip(VIX/100 * vix_multiplier + skew_slope * max(1 - K/S, 0), vol_floor, vol_cap)

Spreads widen in stress, so the half-spread paid on each fill grows with VIX. All
coefficients come from the `hedge` config section.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from fedcut.core.errors import PricingInputError


def _checked(name: str, value) -> np.ndarray:
    """`value` as a float array; PricingInputError if any element is NaN, infinite or <= 0."""
    a = np.asarray(value, dtype=float)
    bad = ~np.isfinite(a) | (a <= 0)
    if bad.any():
        where = "" if a.ndim == 0 else f" at index {int(np.flatnonzero(bad)[0])}"
        raise PricingInputError(f"{name} must be a positive number, got {a[bad].flat[0]!r}{where}")
    return a


def implied_vol(vix, moneyness, hedge):
    """Annual implied vol of an IWM put with strike/spot `moneyness` when VIX is `vix` (points)."""
    v = _checked("VIX", vix)
    m = _checked("moneyness (K/S)", moneyness)
    vol = v / 100.0 * hedge.vix_multiplier + hedge.skew_slope * np.maximum(1.0 - m, 0.0)
    vol = np.clip(vol, hedge.vol_floor, hedge.vol_cap)
    return float(vol) if vol.ndim == 0 else vol


def half_spread(vix, hedge):
    """Half of the bid-ask spread, as a fraction of the model price, paid on each option fill."""
    h = hedge.half_spread_base + hedge.half_spread_per_vix * _checked("VIX", vix)
    return float(h) if h.ndim == 0 else h


def plot_surface(path, hedge) -> Path:
    """Write a PNG of modelled vol against moneyness at VIX 12, 20, 40 and 80; return its path.

    Uses matplotlib's Agg canvas directly, so it needs no display and does not change
    the global pyplot backend.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    moneyness = np.linspace(0.7, 1.1, 161)
    fig = Figure(figsize=(8.2, 4.8), dpi=110)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    for vix in (12, 20, 40, 80):
        ax.plot(moneyness, 100 * implied_vol(vix, moneyness, hedge), lw=2, label=f"VIX {vix}")
    ax.axvline(hedge.moneyness, color="grey", ls="--", lw=1)
    ax.annotate(f"default strike\nK/S = {hedge.moneyness:.2f}", (hedge.moneyness, 0.97),
                xycoords=("data", "axes fraction"), xytext=(4, 0), textcoords="offset points",
                va="top", fontsize=8, color="dimgrey")
    ax.set_title(f"Modelled IWM put implied vol: VIX x {hedge.vix_multiplier} + skew "
                 f"{hedge.skew_slope} x (1 - K/S), clipped to "
                 f"[{100 * hedge.vol_floor:.0f}%, {100 * hedge.vol_cap:.0f}%]", fontsize=9.5)
    ax.set_xlabel("moneyness K/S (strike / spot)")
    ax.set_ylabel("implied volatility (% per year)")
    ax.set_xlim(0.7, 1.1)
    ax.set_ylim(0, None)
    ax.grid(alpha=0.3)
    ax.legend(title="VIX level", loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=9, title_fontsize=9)
    fig.tight_layout()
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    return out
