"""What the puts bought: the premium paid by VIX level at purchase, and the puts' P&L in each deep drawdown.

Pure functions of a saved run's `equity.csv` and `trades.csv` (and the VIX the puts were priced
at, signals.csv's `vix`), so a run folder can be re-analysed without re-running it.

- A **lot** is one purchase of puts (`buy` or `roll_buy`) followed by its closing (`sell`,
  `roll_sell` or `expire` of the same series, first bought first closed). Its premium is what the
  purchase cost (quantity x fill x contract size + commission: the spread is in it), its return
  what its closing brought in (after commission), or, for puts still held on the last day, their
  marked value then (shared among the open lots by contracts).
- **VIX buckets** at purchase: below 15 (calm), 15-20, 20-25, 25-30, 30-40, 40 and above (a
  crisis); each bucket holds the VIX values from its lower edge up to, not including, its upper one.
- **Deep drawdowns** are the strategy's own (the portfolio the puts protect, not IWM's: the rules
  often hold no IWM when IWM falls most) deeper than `DEEP_DRAWDOWN`, peak to trough as
  `analyzers.tearsheet.top_drawdowns` dates them; the puts' P&L over one is the change of their
  cumulative P&L (`analyzers.attribution.hedge_pnl`: marks plus every option cash flow after
  spread and commission) from the peak's close to the trough's.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from fedcut.analyzers.attribution import CONTRACT_SIZE, hedge_pnl
from fedcut.analyzers.performance import iso_date
from fedcut.analyzers.tearsheet import top_drawdowns
from fedcut.core.errors import DataError

VIX_EDGES = (15.0, 20.0, 25.0, 30.0, 40.0)  # VIX points: the buckets' inner edges
DEEP_DRAWDOWN = 0.10  # drawdowns of the strategy at least this deep (fraction) are listed
OPENING = ("buy", "roll_buy")
CLOSING = ("sell", "roll_sell", "expire")


def vix_bucket(vix: float) -> str:
    """The bucket label of a VIX level: '<15', '15-20', ..., '30-40', '>=40'."""
    if not math.isfinite(vix):
        raise DataError(f"VIX at a put purchase is {vix!r}: no bucket")
    at = int(np.searchsorted(VIX_EDGES, vix, side="right"))
    if at == 0:
        return f"<{VIX_EDGES[0]:g}"
    if at == len(VIX_EDGES):
        return f">={VIX_EDGES[-1]:g}"
    return f"{VIX_EDGES[at - 1]:g}-{VIX_EDGES[at]:g}"


BUCKETS = tuple(vix_bucket(v) for v in (VIX_EDGES[0] - 1, *VIX_EDGES))


def put_lots(trades: pd.DataFrame, final_mark: float) -> pd.DataFrame:
    """One row per purchase of puts: opened, instrument, contracts, premium_usd, closed (NaT while held
    at the end) and returned_usd (closing cash after commission, or the share of `final_mark`, the
    puts' marked value on the last day, of a lot still held)."""
    tr = trades.reset_index() if "date" not in trades.columns else trades
    options = tr[tr["strike"].notna()] if "strike" in tr else tr.iloc[:0]
    open_lots: dict[str, list[int]] = {}
    rows: list[dict] = []
    for r in options.itertuples(index=False):
        quantity, value, commission = float(r.quantity), float(r.value), float(r.commission)
        if r.action in OPENING:
            open_lots.setdefault(r.instrument, []).append(len(rows))
            rows.append(
                dict(
                    opened=pd.Timestamp(r.date),
                    instrument=r.instrument,
                    contracts=quantity,
                    premium_usd=value + commission,
                    closed=pd.NaT,
                    returned_usd=math.nan,
                )
            )
        elif r.action in CLOSING:
            held = open_lots.get(r.instrument)
            if not held:
                raise DataError(
                    f"trades: {r.action} of {r.instrument} on {pd.Timestamp(r.date).date()} "
                    "closes puts that were never bought"
                )
            lot = rows[held.pop(0)]
            if abs(lot["contracts"] + quantity) > 1e-9:
                raise DataError(
                    f"trades: {r.action} of {r.instrument} on {pd.Timestamp(r.date).date()} closes "
                    f"{-quantity:g} contracts of a lot of {lot['contracts']:g}"
                )
            lot.update(closed=pd.Timestamp(r.date), returned_usd=-value - commission)
        else:
            raise DataError(f"trades: unknown option action {r.action!r}")
    lots = pd.DataFrame(rows, columns=["opened", "instrument", "contracts", "premium_usd", "closed", "returned_usd"])
    still = lots["closed"].isna()
    if still.any():
        lots.loc[still, "returned_usd"] = final_mark * lots.loc[still, "contracts"] / lots.loc[still, "contracts"].sum()
    return lots.astype({"contracts": float, "premium_usd": float, "returned_usd": float})


def premium_by_vix(lots: pd.DataFrame, vix: pd.Series) -> list[dict]:
    """Per VIX bucket at purchase (every bucket, in order): purchases, contracts, premium_usd, its share
    of all premium, returned_usd (what those puts brought back) and net_usd = returned - premium."""
    at = pd.Series(vix, dtype=float).reindex(pd.DatetimeIndex(lots["opened"]))
    if at.isna().any():
        raise DataError(f"no VIX known on {at.index[at.isna().to_numpy()][0].date()}, a day puts were bought")
    labels = np.array([vix_bucket(v) for v in at.to_numpy()], dtype=object)
    total = float(lots["premium_usd"].sum())
    out = []
    for bucket in BUCKETS:
        mine = lots[labels == bucket] if len(lots) else lots
        premium, returned = float(mine["premium_usd"].sum()), float(mine["returned_usd"].sum())
        out.append(
            {
                "vix": bucket,
                "purchases": int(len(mine)),
                "contracts": int(mine["contracts"].sum()),
                "premium_usd": premium,
                "premium_share": premium / total if total > 0 else None,
                "returned_usd": returned,
                "net_usd": returned - premium,
            }
        )
    return out


def drawdown_payoffs(
    equity: pd.DataFrame, trades: pd.DataFrame, size: int = CONTRACT_SIZE, min_depth: float = DEEP_DRAWDOWN
) -> list[dict]:
    """Each drawdown of the strategy at least `min_depth` deep, in time order: peak, trough, recovery
    (None if not regained), depth, the puts' P&L from the peak's close to the trough's (USD and in %
    of the value at the peak), the share of the fall it offset (P&L / (peak - trough value)) and the
    share of those days with puts held."""
    eq = equity.set_index(pd.to_datetime(equity["date"])) if "date" in equity.columns else equity
    value = eq["strategy"].astype(float)
    pnl = hedge_pnl(equity, trades, size)
    pnl.index = value.index
    deep = [d for d in top_drawdowns(value, n=len(value)) if d.depth <= -min_depth]
    out = []
    for d in sorted(deep, key=lambda d: d.peak):
        top, low = float(value[d.peak]), float(value[d.trough])
        gained = float(pnl[d.trough] - pnl[d.peak])
        held = eq["option_value"].astype(float).loc[d.peak : d.trough] > 0
        out.append(
            {
                "peak": iso_date(d.peak),
                "trough": iso_date(d.trough),
                "recovery": iso_date(d.recovery),
                "depth": d.depth,
                "puts_pnl_usd": gained,
                "puts_pnl_of_peak": gained / top,
                "share_of_fall_offset": gained / (top - low),
                "days_with_puts": float(held.mean()),
            }
        )
    return out


def hedge_outcome(equity: pd.DataFrame, trades: pd.DataFrame, vix: pd.Series, size: int = CONTRACT_SIZE) -> dict:
    """metrics.json's `hedge.by_vix` and `hedge.drawdowns` (see the module docstring)."""
    eq = equity.set_index(pd.to_datetime(equity["date"])) if "date" in equity.columns else equity
    lots = put_lots(trades, float(eq["option_value"].iloc[-1]))
    return {"by_vix": premium_by_vix(lots, vix), "drawdowns": drawdown_payoffs(equity, trades, size)}
