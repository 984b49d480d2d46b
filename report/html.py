"""The HTML kit the pages share: their CSS, escaping, number formats and cells, and embedded figures.

Every text a page shows goes through `escape` (a run folder someone sent may hold anything);
numbers are formatted here once, so the run report and the sweep page write them alike.
"""

from __future__ import annotations

import base64
import html
import math
import re

NUMBER = re.compile(r"^([-+]?\$?[\d.,]+( pp|%)?|n/a|[-+]?[\d.,]+ bp)$")  # a cell holding one number (right-aligned)
CSS = """
body{font-family:-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;margin:0 auto;max-width:1300px;padding:0 18px 40px;color:#1b1b1b;line-height:1.4}
h1{font-size:1.5em;margin:18px 0 4px}h2{font-size:1.25em;margin:34px 0 8px;border-bottom:2px solid #1f3b73;padding-bottom:3px}
h3{font-size:1.05em;margin:18px 0 6px}
.sub{color:#555;margin:0 0 12px}
.oracle{background:#b00000;color:#fff;font-weight:700;font-size:1.15em;padding:12px 18px;margin:14px 0;border-radius:4px;text-align:center}
#verdict{background:#f4f7fb;border:1px solid #c9d3e3;border-radius:6px;padding:4px 18px 12px;margin:14px 0}
#verdict h2{margin-top:14px}
.answer{font-size:1.05em;margin:8px 0}
.warnings{background:#fff6e0;border-left:5px solid #e08a00;padding:8px 14px;margin:12px 0}
.warnings ul{margin:4px 0 4px 18px;padding:0}
.row{display:flex;flex-wrap:wrap;gap:12px 28px;align-items:flex-start}.row>div{min-width:0;max-width:100%}
figure{margin:10px 0 16px}figure img{display:block;width:auto;max-width:100%;height:auto;border:1px solid #ddd}
figcaption{font-size:.88em;color:#555;margin-top:3px;max-width:1240px}
table{border-collapse:collapse;font-size:.88em;margin:0 0 10px}
table.full{width:100%}
th,td{border:1px solid #d5d5d5;padding:3px 6px;vertical-align:top}
th{background:#eef1f6;text-align:left;font-weight:600}thead th{vertical-align:bottom}
td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.d{white-space:nowrap}td.good{color:#116611}td.bad{color:#a40000}
td.heat{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap;font-size:.95em}
tr.total td{font-weight:700;background:#f6f6f6}tr.own td,tr.own th{font-weight:700;background:#fffbe8}
td.neg{color:inherit}.neg{color:#a40000}.pos{color:#116611}
#contents{background:#f7f7f7;border:1px solid #ddd;border-radius:6px;padding:6px 16px;margin:10px 0}
#contents ol{columns:3;margin:4px 0;padding-left:20px}dl dt{font-weight:600;margin-top:6px}dl dd{margin:0 0 0 18px}.flag{color:#a40000;font-weight:600}
.verdict-holds{color:#116611;font-weight:700}.verdict-overstated,.verdict-understated{color:#a40000;font-weight:700}
pre{background:#f6f6f6;border:1px solid #ddd;padding:10px;font-size:.8em;white-space:pre-wrap;overflow-wrap:anywhere;max-height:520px;overflow-y:auto}
.note{font-size:.88em;color:#444;max-width:1240px}
th.term{text-decoration:underline dotted #888;cursor:help}
"""


def figure(name: str, png: bytes, caption: str) -> str:
    """A PNG embedded in the page (a data URI, so the page links to nothing), named by `name`."""
    data = base64.b64encode(png).decode("ascii")
    return (
        f'<figure><img alt="{escape(name)}" src="data:image/png;base64,{data}">'
        f"<figcaption>{escape(caption)}</figcaption></figure>"
    )


def cell(text: str) -> str:
    """A table cell: numbers right-aligned on one line, text wrapped. A negative number keeps its
    sign only: red means worse for the strategy (`judged`), which a sign alone does not say."""
    text = "" if text is None else str(text)
    classes = ["n"] if NUMBER.match(text) else []
    if text.startswith("-") and len(text) > 1:
        classes.append("neg")
    return f'<td class="{" ".join(classes)}">{escape(text)}</td>' if classes else f"<td>{escape(text)}</td>"


def judged(x, good_if_positive: bool) -> str:
    """A difference in percentage points coloured by what it means (green good, red bad), not by its sign."""
    text = pp(x)
    if missing(x) or text.lstrip("+-").startswith("0.0 "):
        return cell(text)
    good = (float(x) > 0) == good_if_positive
    return f'<td class="n {"good" if good else "bad"}">{escape(text)}</td>'


def heat(x, scale: float) -> str:
    """A right-aligned return cell whose background runs from white to red (losses) or green (gains),
    full at +-`scale`; empty when missing."""
    if missing(x):
        return '<td class="heat"></td>'
    strength = min(abs(float(x)) / scale, 1.0) * 0.55
    base = (46, 139, 87) if x >= 0 else (192, 57, 43)
    rgb = "".join(f"{round(255 - strength * (255 - c)):02x}" for c in base)
    return f'<td class="heat" style="background:#{rgb}">{pct(x, True)}</td>'


def escape(x) -> str:
    """Any value as text safe in HTML (None as nothing)."""
    return html.escape("" if x is None else str(x))


def missing(x) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def text_or_blank(x) -> str:
    """A cell's text, blank when missing."""
    return "" if missing(x) else str(x)


def count(n: int, noun: str) -> str:
    """'1 order', '4 orders'."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def pct(x, signed: bool = False, digits: int = 1) -> str:
    """0.071 -> '7.1%' ('+7.1%' when signed); None/NaN -> 'n/a'; never '-0.0%'."""
    if missing(x):
        return "n/a"
    return number(100 * float(x), f"{'+' if signed else ''}.{digits}f") + "%"


def pp(x) -> str:
    """A difference of two fractions in percentage points: 0.044 -> '+4.4 pp'."""
    return "n/a" if missing(x) else number(100 * float(x), "+.1f") + " pp"


def bp(x, signed: bool = True) -> str:
    return "n/a" if missing(x) else number(float(x), f"{'+' if signed else ''},.0f") + " bp"


def number(x: float, spec: str) -> str:
    """`x` formatted by `spec`, with what rounds to zero written as zero (no '-0.0')."""
    text = format(x, spec)
    return format(0.0, spec) if not any(c in "123456789" for c in text) else text


def difference(a, b) -> float | None:
    """a - b, or None when either is missing."""
    return None if missing(a) or missing(b) else float(a) - float(b)


def ratio(x, digits: int = 2) -> str:
    return "n/a" if missing(x) else f"{float(x):.{digits}f}"


def signed(x, digits: int = 2) -> str:
    return "n/a" if missing(x) else number(float(x), f"+.{digits}f")


def setting(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ", ".join(map(str, value))
    return "(empty)" if value == "" else str(value)


def usd(x) -> str:
    """-423026.07 -> '-$423,026'."""
    if missing(x):
        return "n/a"
    return f"{'-' if round(float(x)) < 0 else ''}${abs(float(x)):,.0f}"
