"""mkdocs hook: the parameter reference (docs/parameters.md) is written from the registry at build time.

`core/params.py`'s `PARAMS` is the one definition of every parameter (default, unit, range, why);
the page holds the marker `MARKER` and this hook puts one table per section in its place, so the
reference cannot drift from the code. `tables()` is a pure function, tested in tests/test_docs.py.
"""

from __future__ import annotations

import json

from fedcut.core.params import PARAMS, Param

MARKER = "<!-- parameter tables: written by docs/hooks/parameters.py -->"
PAGE = "parameters.md"


def _value(value) -> str:
    """A value as it is written in a config file (TOML)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, tuple)):
        return json.dumps(list(value) if isinstance(value, tuple) else value)
    return repr(value)


def allowed(p: Param) -> str:
    """What a config file may set the parameter to."""
    if p.choices is not None:
        return ("any of " if isinstance(p.default, tuple) else "one of ") + ", ".join(p.choices)
    if isinstance(p.default, bool):
        return "true or false"
    if p.unit == "date":
        return "YYYY-MM-DD, or empty"
    if p.lo is not None or p.hi is not None:
        return f"{_value(p.lo) if p.lo is not None else ''} .. {_value(p.hi) if p.hi is not None else ''}".strip()
    return "any"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def tables() -> str:
    """One Markdown table per section of the registry, in its order."""
    out: list[str] = []
    section = None
    for p in PARAMS:
        if p.section != section:
            section = p.section
            out += ["", f"## `{section}`", "", "| key | default | unit | range | why |", "|---|---|---|---|---|"]
        out.append(
            f"| `{p.key}` | `{_cell(_value(p.default))}` | {_cell(p.unit)} | {_cell(allowed(p))} | {_cell(p.why)} |"
        )
    return "\n".join(out).lstrip("\n") + "\n"


def on_page_markdown(markdown: str, page, **kwargs) -> str:
    if page.file.src_uri != PAGE:
        return markdown
    if MARKER not in markdown:
        raise ValueError(f"docs/{PAGE} lacks the marker {MARKER!r} where the parameter tables go")
    return markdown.replace(MARKER, tables())
