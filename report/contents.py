"""What lets a reader find their way round the run report: the contents list at the top, the
glossary it links to, and the trailing-return and win/loss tables of the tear sheet."""

from __future__ import annotations

import html
import re

from fedcut.analyzers import tearsheet
from fedcut.report.html import cell, escape, pct

SECTION = re.compile(r'<section id="([a-z0-9-]+)"><h2>(.*?)</h2>')
GLOSSARY = {
    "CAGR": "compound annual growth rate: the yearly return that compounds to the run's total return",
    "Sharpe ratio": "mean daily return over the T-bill rate divided by its standard deviation, annualised "
    "(x sqrt 252): return per unit of risk",
    "max drawdown": "the deepest fall from a running high to a later low, in % of the high",
    "Calmar ratio": "CAGR divided by the size of the max drawdown",
    "easing cycle": "a run of Fed rate cuts; its window runs from some months before the first cut to "
    "some months after",
    "regime": "the macro state the rules read each day from data published by then (soft landing, "
    "recession risk rising, crisis, late Fed panic, neutral); it decides the holdings",
    "baseline": "a simple rule run through the same execution, which the strategy has to beat",
    "95% interval": "the range that holds the true difference in 95% of bootstrap resamples of the daily "
    "returns; a difference whose interval spans zero is not distinguishable from luck",
    "minimum track record": "how many years of returns the observed Sharpe difference would need before it "
    "could be told apart from luck at 95%",
    "oracle": "a run that knows every cut in advance: what foresight is worth, not what anyone could earn",
    "time in market": "share of days with any position (cash only is out of the market); time in IWM is "
    "the share of days holding IWM itself",
    "the seed's claims": "three claims about IWM's falls that the project started from, checked on IWM's own prices",
    "ulcer index": "the root mean square of the drawdowns: depth and length of the falls together",
    "put hedge": "IWM put options bought when recession risk rises, priced by Black-Scholes on the day",
    "volatility": "standard deviation of daily returns, annualised (x sqrt 252)",
    "Sortino ratio": "like the Sharpe ratio, but dividing by the downside deviation only: losses count as risk, "
    "gains do not",
    "P(strategy's Sharpe higher)": "share of the bootstrap resamples in which the strategy's Sharpe ratio is the "
    "higher",
}
# Table headers that name a glossary term in short: "Sharpe" is the Sharpe ratio.
SHORT_NAMES = {
    "Sharpe": "Sharpe ratio",
    "Calmar": "Calmar ratio",
    "Sortino": "Sortino ratio",
    "time in IWM": "time in market",
    "time in small caps": "time in market",
}
_HEADER = re.compile(r"<th([^>]*)>([^<]*)</th>")
COLOURS = (
    'Colours mean one thing everywhere: <span class="pos">green</span> is better for the strategy, '
    '<span class="neg">red</span> worse (in the heat maps: a gain or a loss of the strategy\'s); '
    "a plain number is neither."
)


def contents(page: str) -> str:
    """The list of the page's sections (each `<section id=...><h2>`), linked, and the glossary."""
    items = "".join(f'<li><a href="#{sid}">{title}</a></li>' for sid, title in SECTION.findall(page))
    return f'<nav id="contents"><b>Contents</b><ol>{items}</ol><p class="note">{COLOURS}</p></nav>'


def _term_pattern() -> re.Pattern:
    names = sorted([*GLOSSARY, *SHORT_NAMES], key=len, reverse=True)  # "max drawdown" before "drawdown"
    return re.compile("|".join(rf"(?<![\w-]){re.escape(n)}(?![\w-])" for n in names), re.IGNORECASE)


TERM = _term_pattern()
_LOWER = {name.lower(): SHORT_NAMES.get(name, name) for name in [*GLOSSARY, *SHORT_NAMES]}


def explained(page: str, names: tuple[str, ...] = ()) -> str:
    """`page` with each table header that names a glossary term ("Sharpe", "max drawdown in window",
    "time in market") carrying the term's meaning as a tooltip: the glossary's own words. A header
    holding one of `names` (the strategies', which may hold a term: "fedcut regime strategy") is left alone."""

    def header(match: re.Match) -> str:
        attrs, text = match.groups()
        plain = html.unescape(text)
        found = TERM.search(plain)
        if found is None or "title=" in attrs or any(n and n in plain for n in names):
            return match.group(0)
        term = _LOWER[found.group(0).lower()]
        tip = escape(f"{term}: {GLOSSARY[term]}")
        attrs = attrs.replace('class="', 'class="term ', 1) if 'class="' in attrs else attrs + ' class="term"'
        return f'<th{attrs} title="{tip}">{text}</th>'

    return _HEADER.sub(header, page)


def glossary() -> str:
    rows = "".join(
        f'<dt id="term-{escape(re.sub("[^a-z0-9]+", "-", term.lower()))}">{escape(term)}</dt><dd>{escape(meaning)}</dd>'
        for term, meaning in GLOSSARY.items()
    )
    return f'<section id="glossary"><h2>Glossary</h2><dl>{rows}</dl></section>'


def returns_section(curves: list[tuple[str, str, object]]) -> str:
    """Trailing returns and win/loss statistics of each (key, label, equity curve)."""
    trailing = {key: tearsheet.trailing_returns(eq) for key, _, eq in curves}
    wins = {key: tearsheet.win_loss(eq) for key, _, eq in curves}
    shape = {key: tearsheet.distribution(eq) for key, _, eq in curves}
    head = "<thead><tr><th></th>" + "".join(f"<th>{escape(label)}</th>" for _, label, _ in curves) + "</tr></thead>"

    def table(rows: dict[str, dict]) -> str:
        names = list(next(iter(rows.values())))
        body = "".join(
            f"<tr><th>{escape(n)}</th>"
            + "".join(
                cell(f"{rows[k][n]:.2f}" if rows[k][n] is not None else "n/a")
                if n.startswith(("skewness", "excess kurtosis"))
                else cell(pct(rows[k][n], not n.startswith("win rate")))
                for k, _, _ in curves
            )
            + "</tr>"
            for n in names
        )
        return f"<table>{head}<tbody>{body}</tbody></table>"

    return (
        '<section id="trailing-returns"><h2>Trailing returns, wins and losses</h2><div class="row"><div>'
        f"<h3>Returns to the last day</h3>{table(trailing)}</div><div><h3>Wins and losses</h3>{table(wins)}"
        f"</div><div><h3>Distribution of returns</h3>{table(shape)}</div></div><p class=\"note\">MTD and YTD run from the previous month's and year's last close, 1Y is "
        "the total over the last year, 3Y, 5Y, 10Y and all are annualised; n/a: the run is shorter. Win rate: "
        "share of the days (months) that gained among those that moved. Distribution: percentiles of the monthly "
        "returns; skewness and excess kurtosis of the daily returns (0 for a normal distribution; fat tails "
        "above). quantstats' tear sheet lists the same rows.</p></section>"
    )
