"""A sweep's HTML page: facts, tables and pictures on one self-contained page.

It looks like the run report (the same HTML kit, `fedcut.report.html`): images
are embedded as base64 data URIs and nothing is linked, so the page opens offline; it carries no
timestamp, so the same inputs give the same bytes. Every text is escaped. The page is written to
a temporary folder beside its destination and moved into place, so a reader never sees half a page.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from fedcut.core.files import write_whole
from fedcut.report.html import CSS, cell, escape, figure

DATES = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}(\.\.[0-9]{4}-[0-9]{2}-[0-9]{2})?")  # a date or a span: one line
SWEEP_CSS = (
    CSS
    + """
figure{margin:12px 0 22px}figure img{width:auto;max-width:100%}
.wide{overflow-x:auto;max-width:100%}
table.facts{font-size:.9em}
"""
)


def render_html(
    path,
    title: str,
    facts: list[tuple[str, object]],
    tables: list[tuple[str, pd.DataFrame, str]],
    figures: list[tuple[Path, str]],
) -> Path:
    """Write the page to `path` (replacing it) and return the path.

    `facts` are (label, value) rows shown first; `tables` are (heading, frame, caption), drawn
    column by column without the index, each cell as str(cell) except floats (4 significant digits)
    and missing values (n/a in a number column, blank elsewhere), so callers format fractions;
    `figures` are (png path, caption), in order after the tables.
    """
    path = Path(path)
    parts = [
        f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>{escape(title)}</title>\n'
        f"<style>{SWEEP_CSS}</style>\n</head>\n<body>",
        f"<h1>{escape(title)}</h1>",
    ]
    if facts:
        rows = "".join(f"<tr><th>{escape(label)}</th>{cell(_text(value))}</tr>" for label, value in facts)
        parts.append(f'<table class="facts">{rows}</table>')
    for heading, frame, caption in tables:
        parts.append(f"<h2>{escape(heading)}</h2>")
        parts.append(_table(frame))
        if caption:
            parts.append(f'<p class="note">{escape(caption)}</p>')
    for png, caption in figures:
        parts.append(figure(Path(png).stem, Path(png).read_bytes(), caption))
    parts.append("</body>\n</html>\n")
    return write_whole(path, "\n".join(parts))


def _table(frame: pd.DataFrame) -> str:
    head = "<tr>" + "".join(f"<th>{escape(c)}</th>" for c in frame.columns) + "</tr>"
    numeric = [pd.api.types.is_numeric_dtype(frame[c]) for c in frame.columns]
    body = "".join(
        "<tr>"
        + "".join(
            _date_cell(text) if DATES.fullmatch(text := _text(v, n)) else cell(text) for v, n in zip(row, numeric)
        )
        + "</tr>"
        for row in frame.itertuples(index=False)
    )
    return f'<div class="wide"><table>{head}{body}</table></div>'


def _date_cell(text: str) -> str:
    return f'<td class="d">{escape(text)}</td>'


def _text(value, numeric: bool = False) -> str:
    """A cell's text: floats to 4 significant digits (thousands with separators); missing is n/a in a number
    column and empty elsewhere; anything else str()."""
    if value is None or (pd.api.types.is_scalar(value) and pd.isna(value)):
        return "n/a" if numeric else ""
    if isinstance(value, float):
        return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.4g}"
    return str(value)
