"""Implied volatility and bid-ask spread of synthetic IWM puts: the SPY put surface calibrated on
real quotes (`fedcut calibrate`, `hedging.calibration`), scaled to small caps.

No Russell 2000 option quotes or RVX history exist in the data; SPY put quotes do
(`options/SPY_puts_2010_2019.csv`). The SPY surface is fitted on them:

    SPY vol = atm_vix_ratio x VIX/100 + slope x u,   u = max(1 - K/S, 0) x (30 / days)^skew_term_exponent
    slope = max(skew_slope + skew_index_slope x (SKEW - skew_index_centre) / 100, 0)

(the skew is quoted per unit of out-of-the-moneyness at 30 days to expiry, and steepens in
moneyness as expiry nears; it is steeper on days Cboe's SKEW index stands high, as the calibration
measured out of sample; on a day without a SKEW value, before its first on 1990-01-02, SKEW is taken
at `skew_index_centre`, the surface's level at SKEW's mean over the fit's quote days), and the IWM
surface is it times the small-cap ratio, clipped:

    IWM vol = clip(small_cap_ratio x SPY vol, vol_floor, vol_cap)

The half-spread paid on each fill, per share, is a tick-like dollar amount (scaled by the spot's
unit, as strikes and commissions are) plus a share of the model price that grows with VIX:

    half-spread = half_spread_dollars x unit + (half_spread_base + half_spread_per_vix x VIX) x model

Cheap far out-of-the-money puts thus pay a larger share of their price, as they do in the quotes.
The functions of one contract (`spy_vol_one`, `iwm_vol_one`, `fill_one`) are compiled and shared by
the array engine (`execution.kernel`), the reference (`hedging.book`) and the calibration, so every
caller gets the same bits. All coefficients come from the `hedge` config section.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from fedcut.core.errors import PricingInputError
from fedcut.core.jit import jit
from fedcut.hedging.pricing import exp, log

SKEW_REFERENCE_DAYS = 30.0  # hedge.skew_slope is the skew per unit of (1 - K/S) at this many days to expiry
MIN_DAYS = 1.0  # a put on its last day (or settling) reads the skew of one day, never of zero


@jit
def skew_slope_one(skew, skew_slope, skew_index_slope, skew_index_centre):
    """The skew per unit of out-of-the-moneyness at 30 days when Cboe's SKEW index is `skew` (points;
    NaN: not published, read at `skew_index_centre`)."""
    if skew != skew:
        return skew_slope
    return max(skew_slope + skew_index_slope * (skew - skew_index_centre) / 100.0, 0.0)


@jit
def spy_vol_one(
    vix, skew, moneyness, days, atm_vix_ratio, skew_slope, skew_term_exponent, skew_index_slope, skew_index_centre
):
    """SPY put implied vol (annual) at VIX `vix` and SKEW `skew` (points), strike/spot `moneyness`, `days` to expiry."""
    term = exp(skew_term_exponent * log(SKEW_REFERENCE_DAYS / max(days, MIN_DAYS)))
    slope = skew_slope_one(skew, skew_slope, skew_index_slope, skew_index_centre)
    return vix / 100.0 * atm_vix_ratio + slope * (max(1.0 - moneyness, 0.0) * term)


@jit
def small_cap_ratio_one(realised_mode, fixed, realised, lo, hi):
    """IWM's implied vol over SPY's: `fixed`, or with `realised_mode` the day's `realised` ratio of
    trailing realised vols clipped to [lo, hi] (`fixed` on a day without one, NaN)."""
    if not realised_mode or realised != realised:
        return fixed
    return min(max(realised, lo), hi)


@jit
def iwm_vol_one(
    vix,
    skew,
    moneyness,
    days,
    atm_vix_ratio,
    skew_slope,
    skew_term_exponent,
    skew_index_slope,
    skew_index_centre,
    ratio,
    floor,
    cap,
):
    """IWM put implied vol: `ratio` x the SPY surface, clipped to [floor, cap]."""
    vol = ratio * spy_vol_one(
        vix, skew, moneyness, days, atm_vix_ratio, skew_slope, skew_term_exponent, skew_index_slope, skew_index_centre
    )
    return min(max(vol, floor), cap)


@jit
def half_spread_one(model, vix, unit, dollars, base, per_vix):
    """Half the bid-ask spread per share of a put whose model mid is `model`."""
    return dollars * unit + (base + per_vix * vix) * model


@jit
def fill_one(model, vix, unit, dollars, base, per_vix, buying):
    """The fill per share: the model mid plus the half-spread for a buy, less it (not below 0) for a sale."""
    h = half_spread_one(model, vix, unit, dollars, base, per_vix)
    if buying:
        return model + h
    return max(model - h, 0.0)


def _checked(name: str, value) -> np.ndarray:
    """`value` as a float array; PricingInputError if any element is NaN, infinite or <= 0."""
    a = np.asarray(value, dtype=float)
    bad = ~np.isfinite(a) | (a <= 0)
    if bad.any():
        where = "" if a.ndim == 0 else f" at index {int(np.flatnonzero(bad)[0])}"
        raise PricingInputError(f"{name} must be a positive number, got {a[bad].flat[0]!r}{where}")
    return a


def _each(one, *arrays):
    """`one` over broadcast arrays: a float for scalars, else an array."""
    b = np.broadcast_arrays(*(np.asarray(a, dtype=float) for a in arrays))
    out = np.array([one(*x) for x in zip(*(a.ravel().tolist() for a in b))], dtype=float).reshape(b[0].shape)
    return float(out) if out.ndim == 0 else out


def spy_vol(
    vix, skew, moneyness, days, atm_vix_ratio, skew_slope, skew_term_exponent, skew_index_slope, skew_index_centre
):
    """`spy_vol_one` over arrays (checked; `skew` NaN where SKEW is not known): the SPY surface of the
    given coefficients."""
    return _each(
        lambda v, s, m, d: spy_vol_one(
            v, s, m, d, atm_vix_ratio, skew_slope, skew_term_exponent, skew_index_slope, skew_index_centre
        ),
        _checked("VIX", vix),
        np.asarray(skew, dtype=float),
        _checked("moneyness (K/S)", moneyness),
        np.asarray(days, dtype=float),
    )


def implied_vol(vix, moneyness, days, hedge, skew=np.nan, vol_ratio=np.nan):
    """Annual implied vol of an IWM put with strike/spot `moneyness` and `days` to expiry when VIX is
    `vix`, SKEW `skew` (NaN: not known, read at hedge.skew_index_centre) and IWM's over SPY's trailing
    realised vol `vol_ratio` (read with hedge.small_cap_ratio_mode = realised; NaN: not known)."""
    h = hedge
    realised = h.small_cap_ratio_mode == "realised"
    return _each(
        lambda v, s, r, m, d: iwm_vol_one(
            v,
            s,
            m,
            d,
            h.atm_vix_ratio,
            h.skew_slope,
            h.skew_term_exponent,
            h.skew_index_slope,
            h.skew_index_centre,
            small_cap_ratio_one(realised, h.small_cap_ratio, r, h.small_cap_ratio_min, h.small_cap_ratio_max),
            h.vol_floor,
            h.vol_cap,
        ),
        _checked("VIX", vix),
        np.asarray(skew, dtype=float),
        np.asarray(vol_ratio, dtype=float),
        _checked("moneyness (K/S)", moneyness),
        np.asarray(days, dtype=float),
    )


def half_spread(model, vix, unit, hedge):
    """Half the bid-ask spread per share (USD) paid on a fill of a put whose model mid is `model`."""
    h = hedge
    return _each(
        lambda p, v, u: half_spread_one(p, v, u, h.half_spread_dollars, h.half_spread_base, h.half_spread_per_vix),
        np.asarray(model, dtype=float),
        _checked("VIX", vix),
        _checked("unit", unit),
    )


def fill(model: float, vix: float, unit: float, hedge, buying: bool) -> float:
    """`fill_one` with the `hedge` section's spread coefficients."""
    return fill_one(
        float(model),
        float(vix),
        float(unit),
        hedge.half_spread_dollars,
        hedge.half_spread_base,
        hedge.half_spread_per_vix,
        buying,
    )


def plot_surface(path, hedge) -> Path:
    """Write a PNG of modelled IWM vol against moneyness at VIX 12, 20, 40 and 80 for a put with the
    default tenor (solid) and 30 days left (dashed); return its path.

    Uses matplotlib's Agg canvas directly, so it needs no display and does not change
    the global pyplot backend.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    moneyness = np.linspace(0.7, 1.1, 161)
    fig = Figure(figsize=(8.2, 4.8), dpi=110)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    for vix, color in zip((12, 20, 40, 80), ("C0", "C1", "C2", "C3")):
        ax.plot(
            moneyness, 100 * implied_vol(vix, moneyness, hedge.tenor_days, hedge), lw=2, color=color, label=f"VIX {vix}"
        )
        ax.plot(moneyness, 100 * implied_vol(vix, moneyness, hedge.roll_days, hedge), lw=1, ls="--", color=color)
    ax.axvline(hedge.moneyness, color="grey", ls="--", lw=1)
    ax.annotate(
        f"default strike\nK/S = {hedge.moneyness:.2f}",
        (hedge.moneyness, 0.97),
        xycoords=("data", "axes fraction"),
        xytext=(4, 0),
        textcoords="offset points",
        va="top",
        fontsize=8,
        color="dimgrey",
    )
    ax.set_title(
        f"Modelled IWM put implied vol: {hedge.small_cap_ratio} x (VIX x {hedge.atm_vix_ratio} + "
        f"{hedge.skew_slope} x (1 - K/S) x (30/days)^{hedge.skew_term_exponent}), "
        f"SKEW at {hedge.skew_index_centre:g}\n"
        f"solid: {hedge.tenor_days} days to expiry, dashed: {hedge.roll_days} days; clipped to "
        f"[{100 * hedge.vol_floor:.0f}%, {100 * hedge.vol_cap:.0f}%]",
        fontsize=9,
    )
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
