"""The puts in words: the console's block and the report's put hedge tables (over the run, by cycle,
what they bought).

What the puts bought is `analyzers.hedge_outcome`'s, read from metrics.json's `hedge.by_vix` and
`hedge.drawdowns`; a run folder written before they existed shows nothing here.
"""

from __future__ import annotations

import pandas as pd

from fedcut.analyzers.attribution import OPTION_COMMISSIONS, PUTS, daily_attribution, hedge_by_year
from fedcut.analyzers.hedge_outcome import DEEP_DRAWDOWN
from fedcut.report.html import bp, cell, escape, pct, ratio, usd
from fedcut.report.schema import RunData

DRAWDOWN_WORDS = f"drawdowns of the strategy deeper than {DEEP_DRAWDOWN:.0%}"


def console_lines(hedge: dict) -> list[str]:
    """The console's short block: premium and what came back by VIX at purchase, and the puts' P&L
    in the strategy's deep drawdowns. Empty when the run bought no puts or predates these numbers."""
    by_vix, drawdowns = hedge.get("by_vix"), hedge.get("drawdowns")
    if not by_vix or not hedge.get("option_trades"):
        return []
    width = max(10, *(len(usd(b["premium_usd"])) + 2 for b in by_vix))
    lines = [
        f"  {'VIX at purchase':<17}" + "".join(f"{b['vix']:>{width}}" for b in by_vix),
        f"  {'premium paid':<17}" + "".join(f"{usd(b['premium_usd']):>{width}}" for b in by_vix),
        f"  {'brought back':<17}" + "".join(f"{usd(b['returned_usd']):>{width}}" for b in by_vix),
    ]
    if drawdowns:
        total = sum(d["puts_pnl_usd"] for d in drawdowns)
        deepest = min(drawdowns, key=lambda d: d["depth"])
        held = sum(d["days_with_puts"] > 0 for d in drawdowns)
        lines.append(
            f"  {DRAWDOWN_WORDS}: {len(drawdowns)}, puts held between peak and trough in {held}; their P&L "
            f"there {usd(total)} in all; in the deepest "
            f"({deepest['peak']}..{deepest['trough']}, {pct(deepest['depth'], True)}) {usd(deepest['puts_pnl_usd'])}"
        )
    else:
        lines.append(f"  no {DRAWDOWN_WORDS}")
    return lines


def outcome_tables(metrics: dict) -> str:
    """The report's tables: premium by VIX at purchase, and each deep drawdown with the puts' P&L over it."""
    h = metrics.get("hedge", {})
    by_vix, drawdowns = h.get("by_vix"), h.get("drawdowns")
    if not all(isinstance(rows, list) and all(isinstance(r, dict) for r in rows) for rows in (by_vix, drawdowns)):
        return ""  # an older run folder, or one whose metrics.json was edited: no tables rather than a traceback
    vix_rows = "".join(
        f"<tr><th>{escape(b['vix'])}</th>{cell(str(b['purchases']))}{cell(usd(b['premium_usd']))}"
        f"{cell(pct(b['premium_share']))}{cell(usd(b['returned_usd']))}{cell(usd(b['net_usd']))}</tr>"
        for b in by_vix
    )
    vix_table = (
        "<table><thead><tr><th>VIX at purchase</th><th>purchases</th><th>premium paid</th><th>share</th>"
        "<th>brought back (sales, settlements, marks at the end)</th><th>net</th></tr></thead>"
        f"<tbody>{vix_rows}</tbody></table>"
    )
    dd_rows = "".join(
        f'<tr><td class="d">{escape(d["peak"])}</td><td class="d">{escape(d["trough"])}</td>'
        f'<td class="d">{escape(d["recovery"] or "not yet")}</td>{cell(pct(d["depth"], True))}'
        f"{cell(pct(d['days_with_puts']))}{cell(usd(d['puts_pnl_usd']))}{cell(pct(d['puts_pnl_of_peak'], True, 2))}"
        f"{cell(pct(d['share_of_fall_offset'], True))}</tr>"
        for d in drawdowns
    )
    dd_table = (
        (
            "<table><thead><tr><th>peak</th><th>trough</th><th>recovered</th><th>depth</th><th>days with puts</th>"
            "<th>puts' P&amp;L, peak to trough</th><th>in % of value at the peak</th><th>share of the fall offset"
            f"</th></tr></thead><tbody>{dd_rows}</tbody></table>"
        )
        if drawdowns
        else f"<p>No {DRAWDOWN_WORDS}.</p>"
    )
    return (
        f'<h3>What the puts bought</h3><div class="row"><div>{vix_table}</div><div>{dd_table}</div></div>'
        '<p class="note">Left: every purchase of puts (a roll included) by the VIX at which it was bought, with '
        "what those puts brought back when sold, rolled out of or settled (after spread and commission), or their "
        f"marked value on the last day if still held. Right: the {DRAWDOWN_WORDS}, peak to trough, and the puts' P&amp;L "
        "over each (marks plus option cash flows).</p>"
    )


def puts_tables(data: RunData, table: pd.DataFrame, episodes: pd.DataFrame) -> str:
    """The put hedge section's tables: the puts over the run beside the run without them, their P&L
    in each cycle's window (`episodes`; `table` is the P&L attribution), and what they bought."""
    by_cycle = _by_cycle(data, episodes)
    h = data.metrics.get("hedge", {})
    years = hedge_by_year(data.equity, data.trades, data.contract_size)
    a = years.attrs
    puts = float(table.loc[table["component"] == PUTS, "pnl_usd"].sum())
    rows = [
        ("option trades", f"{h.get('option_trades', 0):,}", ""),
        (
            "premium paid (incl. spread and commission)",
            usd(h.get("premium_paid")),
            bp(a["premium_bp_per_year"], signed=False),
        ),
        ("sales and settlements received (after commission)", usd(h.get("proceeds_and_settlements")), ""),
        ("net option cash", usd(h.get("net_cash")), ""),
        ("option commissions", usd(h.get("commission_included")), ""),
        (
            "hedge P&L after spread and commission (incl. puts still held)",
            usd(float(years["pnl_usd"].sum())),
            bp(a["pnl_bp_per_year"]),
        ),
        ("puts P&L before commission (attribution)", usd(puts), ""),
        ("days with puts held", pct(a["days_held"]), ""),
        (
            "marked value of the puts on those days, mean",
            pct(a["mean_share_held"], digits=2) + " of value" if a["mean_share_held"] is not None else "n/a",
            "",
        ),
    ]
    summary = "".join(f"<tr><th>{escape(k)}</th>{cell(v)}{cell(w)}</tr>" for k, v, w in rows)
    without = h.get("without_puts")
    twin = (without or {}).get("cycles", {})
    own = data.metrics.get("cycles", {})
    cycles = "".join(
        f"<tr><th>{escape(c)}</th>{cell(usd(dollars))}{cell(pct(share, True, 2))}"
        + (
            cell(pct(own.get(c, {}).get("strategy_return"), True))
            + cell(pct(twin.get(c, {}).get("return"), True))
            + cell(pct(own.get(c, {}).get("strategy_max_drawdown"), True))
            + cell(pct(twin.get(c, {}).get("max_drawdown"), True))
            if without
            else ""
        )
        + "</tr>"
        for c, (dollars, share) in by_cycle.items()
    )
    twin_head = (
        (
            "<th>return in window, with puts</th><th>without</th><th>max drawdown in window, with puts</th>"
            "<th>without</th>"
        )
        if without
        else ""
    )
    cycle_table = (
        (
            f"<div><table><thead><tr><th>cycle</th><th>hedge P&amp;L in window</th><th>in % of value at the "
            f"window's start</th>{twin_head}</tr></thead><tbody>{cycles}</tbody></table></div>"
        )
        if cycles
        else ""
    )
    return (
        f'<div class="row"><div><table><thead><tr><th>the puts over the run</th><th>USD</th><th>bp of value a '
        f"year</th></tr></thead><tbody>{summary}</tbody></table>{_without_puts_table(data.metrics)}</div>"
        f'{cycle_table}</div><p class="note">bp a year: each '
        "day's amount in basis points of the previous close's portfolio value, summed over the run and divided "
        f"by its length in years.{_modelled_words(h)}</p>" + outcome_tables(data.metrics)
    )


def _without_puts_table(m: dict) -> str:
    """The run beside the same run with its puts left out: what the puts bought."""
    without = m.get("hedge", {}).get("without_puts")
    if not without:
        return ""
    s = m["strategy"]
    body = "".join(
        f"<tr><th>{name}</th>{cell(a)}{cell(b)}</tr>"
        for name, a, b in (
            ("CAGR", pct(s["cagr"], True), pct(without["cagr"], True)),
            ("Sharpe", ratio(s["sharpe"]), ratio(without["sharpe"])),
            ("max drawdown", pct(s["max_drawdown"], True), pct(without["max_drawdown"], True)),
        )
    )
    return (
        "<table><thead><tr><th>the hedge's own line</th><th>this run</th><th>the same decisions without puts"
        f"</th></tr></thead><tbody>{body}</tbody></table>"
    )


def _modelled_words(h: dict) -> str:
    """Whether the puts were priced, on some days, from modelled rather than published volatility."""
    to = h.get("volatility_modelled_to")
    return (
        f" Until {escape(to)} no implied volatility was published: the puts' volatility on those days is modelled "
        "from the market's realised volatility."
        if to
        else ""
    )


def _by_cycle(data: RunData, episodes: pd.DataFrame) -> dict[str, tuple[float, float]]:
    """The puts' P&L (after spread and commission) inside each of `episodes`' windows: USD, and as a
    fraction of the strategy's value on the window's first day."""
    daily = daily_attribution(data.equity, data.trades, data.contract_size)
    pnl = daily[PUTS] + daily[OPTION_COMMISSIONS]
    value = data.equity["strategy"]
    out = {}
    for ep in episodes.itertuples():
        dollars = float(pnl[ep.window_start : ep.window_end].sum())
        out[str(ep.cycle)] = (dollars, dollars / float(value[ep.window_start :].iloc[0]))
    return out
