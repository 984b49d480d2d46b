"""What the puts bought, in words: the console's block and the report's tables.

The numbers are `analyzers.hedge_outcome`'s, read from metrics.json's `hedge.by_vix` and
`hedge.drawdowns`; a run folder written before they existed shows nothing here.
"""

from __future__ import annotations

from fedcut.analyzers.hedge_outcome import DEEP_DRAWDOWN
from fedcut.report.html import cell, escape, pct, usd

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
