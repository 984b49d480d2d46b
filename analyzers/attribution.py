"""Where the strategy's profit came from: the total P&L split by holding, hedge, interest and costs.

Pure functions of a saved run's `equity.csv` and `trades.csv`, so a run can be re-analysed
without re-running it. Between two daily snapshots (closes t-1 and t):

- an ETF's P&L is its position value's change less the net value traded in it that day
  (buys positive): posval_T = w_T * strategy, P&L_T = posval_T(t) - posval_T(t-1) - traded_T(t).
  Fills include slippage, so the slippage paid is inside these lines;
- the puts' P&L is the change in their marked value plus their cash flows before commission
  (premium paid, sale proceeds, settlement): the hedge net of the bid-ask spread;
- costs are the commissions of ETF and option fills;
- cash interest is the change in cash that no trade explains.

These add up to the change in strategy value whenever strategy = cash + ETF positions + puts
(the broker's identity), to the rounding of the saved files. The period starts at the first
row's close: a trade dated on the first row is part of the starting state (a run never fills
on its first bar).
"""

from __future__ import annotations

import pandas as pd

from fedcut.core.errors import DataError
from fedcut.core.params import param

WEIGHT_PREFIX = "w_"
CONTRACT_SIZE = param("hedge.contract_size").default  # when a saved run's config does not say

# Component name -> the tickers it holds; a ticker in none of them gets a row of its own.
GROUPS: dict[str, tuple[str, ...]] = {
    "IWM": ("IWM",),
    "rotation": ("VO", "OUSM"),
    "defensives": ("XLP", "XLU", "IEF", "TLT", "SHY"),
}
INTEREST = "cash interest"
PUTS = "puts"
COSTS = "costs"
ETF_COMMISSIONS = "ETF commissions"
OPTION_COMMISSIONS = "option commissions"

DESCRIPTIONS = {
    "IWM": "IWM position, at fill prices (ETF slippage included)",
    "rotation": "VO + OUSM positions, at fill prices (ETF slippage included)",
    "defensives": "XLP, XLU, IEF, TLT, SHY positions, at fill prices (ETF slippage included)",
    INTEREST: "T-bill interest on idle cash",
    PUTS: "IWM puts: marked value change + premium, sales and settlements (bid-ask spread included, commission not)",
    COSTS: "commissions: ETF fills + option contracts",
}
OPTION_ACTIONS = frozenset({"buy", "sell", "roll_buy", "roll_sell", "expire"})
ETF_ACTIONS = frozenset({"buy", "sell"})  # "rejected" orders moved nothing


def daily_attribution(equity: pd.DataFrame, trades: pd.DataFrame, size: int = CONTRACT_SIZE) -> pd.DataFrame:
    """Each day's P&L in USD per ticker, cash interest, puts and the two commission kinds.

    `equity` has strategy, cash, option_value and w_<TICKER> columns, dated by its index or a
    `date` column; `trades` is trades.csv (options are the rows with a strike; option value is
    quantity * price * `size`). The first row is the starting snapshot, so its P&L is 0.
    Columns: one per ticker (in equity's order), then cash interest, puts, ETF commissions,
    option commissions (negative: they cost).
    """
    eq = _dated(equity, "equity").sort_index()
    days = eq.index
    weights = eq.filter(regex=f"^{WEIGHT_PREFIX}")
    tickers = [c.removeprefix(WEIGHT_PREFIX) for c in weights.columns]
    posval = weights.mul(eq["strategy"].astype(float), axis=0)
    posval.columns = tickers

    tr = _dated(trades, "trades").reset_index()
    is_option = tr["strike"].notna() if "strike" in tr else pd.Series(False, index=tr.index)
    options = tr[is_option]
    etf = tr[~is_option & tr["action"].isin(ETF_ACTIONS)]
    unknown_actions = set(options["action"]) - OPTION_ACTIONS
    if unknown_actions:
        raise DataError(f"trades: unknown option action {sorted(unknown_actions)[0]!r}")
    unknown = sorted(set(etf["instrument"]) - set(tickers))
    if unknown:
        raise DataError(f"trades: {unknown[0]} was traded but equity has no {WEIGHT_PREFIX}{unknown[0]} column")
    outside = pd.DatetimeIndex(tr.loc[~tr["action"].eq("rejected"), "date"]).difference(days)
    if len(outside):
        raise DataError(f"trades: a fill on {outside[0].date()}, which is not a day of the equity curve")

    traded = (
        etf.groupby(["date", "instrument"])["value"]
        .sum()
        .unstack("instrument")
        .reindex(index=days, columns=tickers)
        .fillna(0.0)
    )
    option_traded = options["quantity"].astype(float) * options["price"].astype(float) * size
    option_traded = _per_day(option_traded, options["date"], days)
    etf_commission = _per_day(etf["commission"].astype(float), etf["date"], days)
    option_commission = _per_day(options["commission"].astype(float), options["date"], days)
    trade_cash = -(traded.sum(axis=1) + etf_commission + option_traded + option_commission)

    out = posval.diff() - traded
    out[INTEREST] = eq["cash"].astype(float).diff() - trade_cash
    out[PUTS] = eq["option_value"].astype(float).diff() - option_traded
    out[ETF_COMMISSIONS] = -etf_commission
    out[OPTION_COMMISSIONS] = -option_commission
    out.iloc[0] = 0.0  # the starting snapshot
    return out


def attribution(equity: pd.DataFrame, trades: pd.DataFrame, size: int = CONTRACT_SIZE) -> pd.DataFrame:
    """The strategy's total P&L (last value - first value) split into components.

    Rows: IWM, rotation (VO + OUSM), defensives, any other ticker held, cash interest, puts,
    costs (ETF + option commissions). Columns: component, pnl_usd, share_of_total (of the
    total P&L; NaN when that is 0), includes (what the line holds). `attrs` carries
    total_pnl, initial_value, final_value and residual_usd (total minus the components' sum:
    rounding of the saved files, about 1e-3 USD on a run).
    """
    daily = daily_attribution(equity, trades, size)
    summed = daily.sum()
    tickers = [c for c in daily.columns if c not in (INTEREST, PUTS, ETF_COMMISSIONS, OPTION_COMMISSIONS)]
    rows = []
    for name, members in GROUPS.items():
        rows.append((name, float(sum(summed[t] for t in members if t in summed.index))))
    grouped = {t for members in GROUPS.values() for t in members}
    rows += [(t, float(summed[t])) for t in tickers if t not in grouped]
    rows += [
        (INTEREST, float(summed[INTEREST])),
        (PUTS, float(summed[PUTS])),
        (COSTS, float(summed[ETF_COMMISSIONS] + summed[OPTION_COMMISSIONS])),
    ]
    value = _dated(equity, "equity").sort_index()["strategy"].astype(float)
    total = float(value.iloc[-1] - value.iloc[0])
    table = pd.DataFrame(rows, columns=["component", "pnl_usd"])
    table["share_of_total"] = table["pnl_usd"] / total if total != 0 else float("nan")
    table["includes"] = [
        DESCRIPTIONS.get(name, f"{name} position, at fill prices (ETF slippage included)")
        for name in table["component"]
    ]
    table.attrs.update(
        total_pnl=total,
        initial_value=float(value.iloc[0]),
        final_value=float(value.iloc[-1]),
        residual_usd=total - float(table["pnl_usd"].sum()),
    )
    return table


def hedge_pnl(equity: pd.DataFrame, trades: pd.DataFrame, size: int = CONTRACT_SIZE) -> pd.Series:
    """The puts' cumulative P&L in USD after spread and commission: marked value + all option cash flows to date."""
    daily = daily_attribution(equity, trades, size)
    return (daily[PUTS] + daily[OPTION_COMMISSIONS]).cumsum().rename("hedge_pnl")


def hedge_by_year(equity: pd.DataFrame, trades: pd.DataFrame, size: int = CONTRACT_SIZE) -> pd.DataFrame:
    """The puts in proportion to the portfolio, per calendar year (the first and last may be partial).

    Each day's premium paid (puts bought or rolled into: quantity x fill price x `size` + commission,
    so the bid-ask spread is in it) and each day's hedge P&L (`hedge_pnl`'s change: marks, premium,
    sales and settlements after commission) are divided by the previous close's portfolio value and
    summed: `premium_bp` and `pnl_bp` are in basis points of portfolio value, `premium_usd` and
    `pnl_usd` in USD, one row per year (index `year`). `attrs` holds the same sums over the whole run
    per year of its calendar span (`premium_bp_per_year`, `pnl_bp_per_year`), the share of days with
    puts held (`days_held`) and the mean marked value of the puts on those days in % of portfolio
    value (`mean_share_held`, None when none were held).
    """
    eq = _dated(equity, "equity").sort_index()
    value = eq["strategy"].astype(float)
    days = eq.index
    tr = _dated(trades, "trades").reset_index()
    bought = tr[tr["strike"].notna() & (tr["quantity"].astype(float) > 0)] if "strike" in tr else tr.iloc[:0]
    paid = bought["quantity"].astype(float) * bought["price"].astype(float) * size + bought["commission"].astype(float)
    premium = _per_day(paid, bought["date"], days)
    pnl = hedge_pnl(equity, trades, size).diff().fillna(0.0)
    previous = value.shift(1).fillna(value.iloc[0])
    daily = pd.DataFrame(
        {
            "premium_usd": premium,
            "pnl_usd": pnl,
            "premium_bp": 1e4 * premium / previous,
            "pnl_bp": 1e4 * pnl / previous,
        },
        index=days,
    )
    table = daily.groupby(days.year).sum()
    table.index.name = "year"
    years = max((days[-1] - days[0]).days, 1) / 365.25
    held = eq["option_value"].astype(float) > 0
    table.attrs.update(
        premium_bp_per_year=float(daily["premium_bp"].sum() / years),
        pnl_bp_per_year=float(daily["pnl_bp"].sum() / years),
        days_held=float(held.mean()),
        mean_share_held=float((eq["option_value"] / value)[held].mean()) if held.any() else None,
    )
    return table


def _per_day(values: pd.Series, dates: pd.Series, days: pd.DatetimeIndex) -> pd.Series:
    return values.groupby(pd.DatetimeIndex(dates).to_numpy()).sum().reindex(days, fill_value=0.0)


def _dated(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    """The frame on a DatetimeIndex named date (from its index or its `date` column)."""
    if "date" in frame.columns:
        frame = frame.set_index(pd.to_datetime(frame["date"])).drop(columns="date")
    elif isinstance(frame.index, pd.DatetimeIndex):
        frame = frame.copy()
    else:
        raise DataError(f"{name}: needs a date column or a DatetimeIndex")
    frame.index = pd.DatetimeIndex(frame.index).as_unit("ns")
    frame.index.name = "date"
    return frame
