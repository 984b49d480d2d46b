"""The run report: one self-contained HTML page, with its CSVs and pictures, from a run's files.

`render(run_dir, data, source)` writes the report of the run `data` (`schema.RunData`: a fresh
run's, in memory, or a saved folder's, `schema.read`) into its folder, reading besides only IWM's
price file for the claims and USREC (NBER's recession months, a label known only later) to say
what each easing cycle turned out to be, so a saved run can be re-reported at any time, to the
same bytes. It writes, and overwrites, only `schema.REPORT_FILES`; everything is built in a
scratch folder first and moved into place at the end, so a failed render leaves the previous
report intact. The page opens with the answer (`<section id="verdict">`: each easing cycle, the
verdict against the baselines, the price of foresight, the parameters changed), then the tear
sheet and the pictures. It embeds its images as base64 data URIs, uses inline CSS and links to
nothing, so it opens offline; it carries no timestamp, so the same run renders to the same bytes.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from fedcut.analyzers import tearsheet
from fedcut.core.files import check_own_entry, own_folder, temporary_folder, writing
from fedcut.data.benchmark import possessive
from fedcut.data.sources import DataSource
from fedcut.plots.kit import MAX_CYCLES_LISTED, MAX_CYCLES_SHOWN
from fedcut.report import pictures as drawing
from fedcut.report.answer import verdict_section, window_words
from fedcut.report.chart import CHART_CSS, interactive_chart
from fedcut.report.contents import GLOSSARY, contents, explained, glossary, returns_section
from fedcut.report.findings import Findings, findings
from fedcut.report.hedge import puts_tables
from fedcut.report.html import (
    CSS,
    cell,
    count,
    escape,
    figure,
    heat,
    judged,
    pct,
    ratio,
    signed,
    text_or_blank,
    usd,
)
from fedcut.report.in_short import in_short
from fedcut.report.schema import CASH_RATE, CURVES, FLOAT_FORMAT, PLOTS, REPORT_FILES, RunData

RESIDUAL_TOLERANCE = 1e-6  # attribution that misses the total P&L by more than this share is flagged
# the curves the tables compare besides the strategy, which the page names by its rules (`RunData.label`),
# and the benchmark, named by what it is in the run (`RunData.benchmark`)
CURVE_LABELS = {"spy": "buy-and-hold SPY"}


def render(run_dir: Path, data: RunData, source: DataSource) -> Path:
    """Write the report files of the run `data` into its folder `run_dir` (replacing earlier ones) and
    return the path of report.html. Everything happens in this process: the pictures are drawn in turn."""
    run_dir = Path(run_dir)
    for name in (PLOTS, *REPORT_FILES):  # all refused before anything is replaced
        check_own_entry(run_dir / name)
    with temporary_folder(run_dir, "report", run_dir) as scratch:
        pictures = drawing.draw(data)
        found = findings(data, source, run_dir)
        with writing(scratch / PLOTS):
            (scratch / PLOTS).mkdir(parents=True)
        for name, png in pictures.items():
            with writing(scratch / PLOTS / f"{name}.png"):
                (scratch / PLOTS / f"{name}.png").write_bytes(png)
        for name, frame in found.tables().items():
            with writing(scratch / name):
                frame.to_csv(scratch / name, index=False, float_format=FLOAT_FORMAT)
        with writing(scratch / "report.html"):
            (scratch / "report.html").write_text(_page(data, found, pictures), encoding="utf-8")
        own_folder(run_dir / PLOTS)
        for name in REPORT_FILES:
            with writing(run_dir / name):
                os.replace(scratch / name, run_dir / name)
    return run_dir / "report.html"


# ---- the page -------------------------------------------------------------------------------


def _page(data: RunData, found: Findings, pictures: dict[str, bytes]) -> str:
    def embedded(name: str, caption: str) -> str:
        return figure(name, pictures[name], caption)

    m, run, bench = data.metrics, data.metrics["run"], data.benchmark
    title = f"fedcut run report: {data.label}, {run['start']} to {run['end']} (config {run.get('config_hash', '')})"
    if data.oracle:
        title = "ORACLE - " + title
    parts = [
        f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)}</title>\n<style>{CSS}{CHART_CSS}</style>\n</head>\n<body>"
    ]
    if data.oracle:
        parts.append(
            f'<div class="oracle">{escape(run.get("label") or "ORACLE MODE: future information")}. '
            "These results use information no investor had at the time; they measure what foresight "
            "is worth, not what the strategy could have earned.</div>"
        )
    if run.get("backfilled_indices"):
        parts.append(
            f'<div class="oracle">{escape(run.get("backfilled_label"))}. The stress indices before '
            "those dates are full-sample reconstructions nobody could see at the time: these results "
            "are not what the rules could have done.</div>"
        )
    parts.append(f"<h1>{escape(title)}</h1>")
    parts.append(
        f'<p class="sub">{escape(data.label)} against {escape(bench.label)} (total return), SPY and the simple '
        "rules it has to beat, each starting with the same cash and trading through the same execution. "
        "The answer first; the tear sheet and the pictures below it.</p>"
    )
    shown = data.episodes.iloc[-MAX_CYCLES_LISTED:]  # bounded whatever the data; episodes.csv has them all
    more = (
        f" The {len(shown)} most recent of {len(data.episodes)} cycles; every cycle is in episodes.csv."
        if len(shown) < len(data.episodes)
        else ""
    )
    drawn = min(len(data.episodes), MAX_CYCLES_SHOWN)
    drawn_words = (
        f" The picture draws the {drawn} most recent of {len(data.episodes)} cycles; the table lists {len(shown)}."
        if drawn < len(data.episodes)
        else ""
    )
    findings_words = in_short(data.metrics, data.episodes)
    if findings_words:
        parts.append(
            '<section id="in-short"><h2>In short</h2><ul class="in-short">'
            + "".join(f"<li>{escape(s)}</li>" for s in findings_words)
            + "</ul></section>"
        )
    parts.append(verdict_section(data, found, shown, more))
    parts.append(_warnings(data, found))
    parts.append('<section id="performance"><h2>Strategy against buy-and-hold</h2>')
    parts.append(
        interactive_chart(
            data.equity,
            data.episodes,
            data.label,
            bench.label,
            embedded(
                "equity",
                "Value in USD, log scale; background = regime called that day; dashed lines = first cut of each "
                "easing cycle.",
            ),
        )
    )
    parts.append(_headline_table(data) + "</section>")
    parts.append('<section id="drawdowns"><h2>Drawdowns</h2>')
    parts.append(embedded("underwater", "Fall from the running high, %, on one scale for the three."))
    parts.append(
        f'<section id="top-drawdowns"><h3>The {tearsheet.TOP_DRAWDOWNS} deepest drawdowns</h3>'
        f"{_top_drawdowns(data)}</section></section>"
    )
    parts.append(_monthly_section(data))
    parts.append('<section id="rolling"><h2>Rolling one-year Sharpe, volatility and beta</h2>')
    parts.append(
        embedded(
            "rolling",
            f"Each day, the statistic over the {tearsheet.ROLLING_DAYS} trading days ending "
            "that day: Sharpe over the T-bill rate, annualised volatility, beta of daily "
            f"excess returns to {possessive(bench.short)}.",
        )
    )
    parts.append("</section>")
    parts.append(_statistics_section(data, found.statistics))
    parts.append(returns_section([(k, label, data.equity[k]) for k, label in _sides(data)]))
    parts.append('<section id="cycles"><h2>Easing cycles in detail</h2>')
    parts.append(
        embedded("cycles", f"Each cycle's window ({window_words(data)}), rebased to 100 at the cut.{drawn_words}")
    )
    parts.append(_cycles_table(shown, bench.short) + "</section>")
    parts.append('<section id="holdings"><h2>Holdings and where the P&amp;L came from</h2>')
    parts.append(embedded("holdings", "Share of strategy value per holding, cash and puts at their marked value."))
    parts.append(
        f'<div class="row"><div>{_attribution_table(found.attribution)}</div>'
        f"<div>{_regime_share_table(m)}</div></div></section>"
    )
    parts.append('<section id="hedge"><h2>Put hedge</h2>')
    parts.append(
        embedded(
            "hedge",
            "Top: the puts' marked value in % of portfolio value. Bottom: per calendar year, "
            "the premium paid and the hedge's P&L (change in marks plus premium, sales and "
            "settlements, after spread and commission), each day's amount in bp of the "
            "previous close's value, summed.",
        )
    )
    parts.append(puts_tables(data, found.attribution, shown) + "</section>")
    parts.append('<section id="regimes"><h2>Regime signal</h2>')
    parts.append(
        embedded(
            "regimes",
            f"{bench.short} total return with the regime called each day (the run's plots/regimes.png).",
        )
        + "</section>"
    )
    parts.append(
        '<section id="claims"><h2>The seed\'s claims, measured on IWM\'s data</h2><p class="note">'
        + escape(GLOSSARY["the seed's claims"]).capitalize()
        + ".</p>"
    )
    parts.append(_claims_table(found.claims) + "</section>")
    parts.append('<section id="provenance"><h2>Data provenance</h2>')
    parts.append(_provenance(data, found.iwm_last) + "</section>")
    parts.append('<section id="configuration"><h2>Resolved configuration (config.toml)</h2>')
    parts.append(f"<pre>{escape(data.config_text)}</pre></section>")
    parts.append(glossary())
    parts.append("</body>\n</html>\n")
    parts.insert(parts.index(f"<h1>{escape(title)}</h1>") + 2, contents("\n".join(parts)))
    return explained("\n".join(parts), names=tuple(label for _, label in _sides(data)))


def _warnings(data: RunData, found: Findings) -> str:
    m, run = data.metrics, data.metrics["run"]
    items = []
    if data.oracle:
        items.append("<b>ORACLE mode</b>: regimes use the actual cut calendar (future information).")
    if run.get("backfilled_indices"):
        items.append("<b>Backfilled indices</b>: " + escape(run.get("backfilled_label")) + ".")
    for proxy in run.get("proxies", []):
        items.append(f"Proxy used: {escape(proxy)} (the proxy's prices stand in before the instrument existed).")
    for note in run.get("notes", []):
        items.append(escape(note))
    configured_end = str(data.config.get("run", {}).get("end", "") or "")
    end = pd.Timestamp(run["end"])
    if configured_end:
        items.append(f"The run ends at run.end = {escape(configured_end)}, set in the configuration.")
    elif found.iwm_last > end:
        items.append(
            f"Data ends early: the run stops on {escape(run['end'])} because {escape(run['end_set_by'])} ends "
            f"there, while IWM has prices to {found.iwm_last.date()}."
        )
    elif run.get("end_set_by") not in (None, "IWM"):
        items.append(
            f"The run's end ({escape(run['end'])}) is set by {escape(run['end_set_by'])}, the series that ends first."
        )
    for row in data.episodes.itertuples():
        if str(getattr(row, "coverage", "full")) != "full":
            items.append(f"The {escape(row.cycle)} cycle is only partly covered: {escape(row.coverage)}.")
    rejected = m.get("rejected_orders", 0)
    notes = (
        [
            f"{count(rejected, 'order')} {'was' if rejected == 1 else 'were'} rejected by the broker (not enough "
            "cash at the next open for a buy sized at the close, the execution rules' normal outcome; the rest "
            "stays in cash); see trades.csv."
        ]
        if rejected
        else []
    )
    if data.cash_rate is None:
        items.append(
            f"No {CASH_RATE.name} (a run folder of an earlier version): alpha, beta and the rolling Sharpe "
            "are measured over a zero risk-free rate."
        )
    table = found.attribution
    total, residual = table.attrs["total_pnl"], table.attrs["residual_usd"]
    if total and abs(residual / total) > RESIDUAL_TOLERANCE:
        items.append(
            f"The P&amp;L attribution misses the total by {usd(residual)}: strategy value is not "
            "cash + positions + puts in equity.csv."
        )
    note = "".join(f'<p class="note">Note: {n}</p>' for n in notes)
    if not items:
        return note
    return (
        '<div class="warnings" id="warnings"><b>Warnings</b><ul>'
        + "".join(f"<li>{i}</li>" for i in items)
        + "</ul></div>"
        + note
    )


# ---- the tear sheet --------------------------------------------------------------------------


def _headline_table(data: RunData) -> str:
    """What the baselines table does not show, for the strategy, IWM and SPY."""
    m = data.metrics
    rows = [
        ("final value", lambda s: usd(s["final_value"])),
        ("total return", lambda s: pct(s["total_return"], True)),
        ("Sortino (over T-bills)", lambda s: ratio(s["sortino"])),
        ("max drawdown: peak → trough", lambda s: f"{s['max_drawdown_peak']} → {s['max_drawdown_trough']}"),
        ("recovered", lambda s: s["max_drawdown_recovery"] or "not recovered"),
        ("days under water (peak to recovery)", lambda s: f"{s['max_drawdown_days']:,}"),
        ("longest spell under water, days", lambda s: f"{s['longest_drawdown_days']:,}"),
        ("ulcer index (% points)", lambda s: ratio(s["ulcer_index"], 1)),
        ("worst month", lambda s: f"{pct(s['worst_month'], True)} ({s['worst_month_period']})"),
        ("worst year", lambda s: f"{pct(s['worst_year'], True)} ({s['worst_year_period']})"),
        ("annual turnover (one-way)", lambda s: pct(s.get("annual_turnover"))),
    ]
    sides = _sides(data)
    head = "<thead><tr><th></th>" + "".join(f"<th>{escape(label)}</th>" for _, label in sides) + "</tr></thead>"
    body = "".join(
        "<tr><th>" + escape(name) + "</th>" + "".join(cell(fn(m[k])) for k, _ in sides) + "</tr>" for name, fn in rows
    )
    return (
        f'<table>{head}<tbody>{body}</tbody></table><p class="note">CAGR, volatility, Sharpe, max drawdown '
        "and Calmar are in the baselines table above. Ulcer index: root mean square drawdown.</p>"
    )


def _top_drawdowns(data: RunData) -> str:
    tables = []
    for key, label in _sides(data):
        rows = (
            "".join(
                f"<tr>{cell(pct(d.depth, True))}<td>{d.peak.date()}</td><td>{d.trough.date()}</td>"
                f"<td>{d.recovery.date() if d.recovery is not None else 'not recovered'}</td>"
                f"{cell(f'{d.days_under_water:,}')}</tr>"
                for d in tearsheet.top_drawdowns(data.equity[key])
            )
            or '<tr><td colspan="5">no fall below a running high</td></tr>'
        )
        tables.append(
            f"<div><table><caption>{escape(label)}</caption><thead><tr><th>depth</th><th>peak</th>"
            f"<th>trough</th><th>recovered</th><th>days</th></tr></thead><tbody>{rows}</tbody></table></div>"
        )
    return (
        f'<div class="row">{"".join(tables)}</div><p class="note">Separate spells below the running high, '
        "deepest first; days are calendar days from the peak to the recovery (or to the end of the run).</p>"
    )


def _monthly_section(data: RunData) -> str:
    eq = data.equity
    months = tearsheet.monthly_returns(eq["strategy"])
    years = tearsheet.yearly_returns({k: eq[k] for k, _ in _sides(data)})
    labels = dict(_sides(data))
    head = (
        f'<thead><tr><th rowspan="2">year</th><th colspan="12">{escape(data.label)}, month by month</th>'
        f'<th colspan="{len(years.columns)}">calendar year</th><th rowspan="2">strategy - '
        f"{escape(data.benchmark.short)}, year</th></tr><tr>"
        + "".join(f"<th>{m}</th>" for m in tearsheet.MONTHS)
        + "".join(f"<th>{escape(labels[k])}</th>" for k in years.columns)
        + "</tr></thead>"
    )
    body = []
    for year, row in months.iterrows():
        cells = "".join(heat(row[m], MONTH_SCALE) for m in tearsheet.MONTHS)
        cells += "".join(heat(years.loc[year, k], YEAR_SCALE) for k in years.columns)
        cells += judged(years.loc[year, "strategy"] - years.loc[year, "benchmark"], good_if_positive=True)
        body.append(f"<tr><th>{year}</th>{cells}</tr>")
    return (
        f'<section id="monthly-returns"><h2>Monthly and yearly returns</h2><table class="full">{head}<tbody>'
        f'{"".join(body)}</tbody></table><p class="note">Months of {escape(data.label)}; each month and year '
        "runs "
        "from the previous one's last close (the first from the run's first day, so the first and last are "
        f"partial); empty: outside the run. Colour: green gains, red losses, full at ±{MONTH_SCALE:.0%} a month "
        f"and ±{YEAR_SCALE:.0%} a year.</p></section>"
    )


STATISTIC_NAMES = {
    "information_ratio": "information ratio",
    "tracking_error": "tracking error",
    "time_in_market": "time in market",
    "hit_rate": "hit rate",
    "excess_kurtosis": "excess kurtosis",
    "var_5": "daily VaR 5%",
    "cvar_5": "daily CVaR 5%",
}
MONTH_SCALE, YEAR_SCALE = 0.08, 0.35  # the returns at which a heat-map cell is at its full colour


def _statistics_section(data: RunData, stats: pd.DataFrame) -> str:
    formats = {
        "alpha": lambda x: pct(x, True),
        "beta": ratio,
        "information_ratio": signed,
        "tracking_error": pct,
        "time_in_market": pct,
        "hit_rate": pct,
        "skew": signed,
        "excess_kurtosis": ratio,
        "var_5": lambda x: pct(x, True, 2),
        "cvar_5": lambda x: pct(x, True, 2),
    }
    sides = [(k, label) for k, label in _sides(data) if k in stats.columns]
    head = (
        "<thead><tr><th>statistic</th>"
        + "".join(f"<th>{escape(label)}</th>" for _, label in sides)
        + "<th>definition</th></tr></thead>"
    )
    body = "".join(
        f"<tr><th>{escape(STATISTIC_NAMES.get(name, name))}</th>"
        + "".join(cell(formats[name](stats.loc[name, k])) for k, _ in sides)
        + f'<td class="note">{escape(tearsheet.STATISTICS[name].format(benchmark=data.benchmark.short))}</td></tr>'
        for name in stats.index
    )
    rf = "the T-bill rate the broker pays (cash_rate.csv)" if data.cash_rate is not None else "a zero rate"
    return (
        f'<section id="statistics"><h2>Tear-sheet statistics against {escape(data.benchmark.short)}</h2>'
        f"<table>{head}<tbody>{body}"
        f'</tbody></table><p class="note">From daily simple returns; excess returns over {rf}. Also in '
        "tearsheet.csv. Definitions and where they differ from quantstats: analyzers/tearsheet.py.</p></section>"
    )


# ---- details -----------------------------------------------------------------------------------


def _cycles_table(episodes: pd.DataFrame, short: str) -> str:
    if episodes.empty:
        return "<p>No easing cycle falls inside the data.</p>"
    horizons = (6, 12, 24)
    head = (
        '<thead><tr><th rowspan="2">cycle</th><th colspan="2">peak → trough in window</th>'
        + "".join(f'<th colspan="2">{k} months after the cut</th>' for k in horizons)
        + '<th rowspan="2">regimes called (share of days)</th>'
        f'<th rowspan="2">average holdings</th></tr><tr><th>strategy</th><th>{escape(short)}</th>'
        + f"<th>strategy</th><th>{escape(short)}</th>" * len(horizons)
        + "</tr></thead>"
    )
    body = []
    for _, e in episodes.iterrows():
        cells = "".join(
            f'<td class="d">{escape(e[f"{side}_peak"])} →<br>{escape(e[f"{side}_trough"])}</td>'
            for side in ("strategy", "benchmark")
        )
        for k in horizons:
            cells += cell(pct(e.get(f"strategy_return_{k}m"), True)) + cell(pct(e.get(f"benchmark_return_{k}m"), True))
        cells += (
            f"<td>{escape(text_or_blank(e.get('regime_mix')))}</td>"
            f"<td>{escape(text_or_blank(e.get('holdings_mix')))}</td>"
        )
        body.append(f"<tr><th>{escape(e['cycle'])}</th>{cells}</tr>")
    return (
        f'<table class="full">{head}<tbody>{"".join(body)}</tbody></table><p class="note">Drawdowns are '
        "measured inside each window; returns after the cut run from the close on the cut day; n/a = the data "
        "does not reach that far. Each cycle's return and drawdown in the window are in the answer above, its "
        "hedge P&amp;L in the put hedge section.</p>"
    )


def _attribution_table(table: pd.DataFrame) -> str:
    body = "".join(
        f"<tr><td>{escape(r.component)}</td>{cell(usd(r.pnl_usd))}{cell(pct(r.share_of_total, True))}"
        f'<td class="note">{escape(r.includes)}</td></tr>'
        for r in table.itertuples()
    )
    a = table.attrs
    body += (
        f'<tr class="total"><td>total P&amp;L</td>{cell(usd(a["total_pnl"]))}{cell("100.0%")}'
        f'<td class="note">final {usd(a["final_value"])} - initial {usd(a["initial_value"])}</td></tr>'
    )
    return (
        "<table><thead><tr><th>P&amp;L component</th><th>USD</th><th>share of total</th><th>what it holds</th>"
        f'</tr></thead><tbody>{body}</tbody></table><p class="note">ETF lines are valued at fill prices, so the '
        "slippage paid on ETF fills is inside them; the puts line includes the option bid-ask spread; costs are "
        "commissions only.</p>"
    )


def _regime_share_table(m: dict) -> str:
    shares = m.get("regime_share") or {}
    if not shares:
        return ""
    body = "".join(
        f"<tr><td>{escape(k)}</td>{cell(pct(v))}</tr>"
        for k, v in sorted(shares.items(), key=lambda kv: (-kv[1], kv[0]))
    )
    return f"<table><thead><tr><th>regime called</th><th>share of days</th></tr></thead><tbody>{body}</tbody></table>"


def _claims_table(claims: pd.DataFrame) -> str:
    head = (
        "<thead><tr><th>claim</th><th>claimed</th><th>measured (peak to trough, total return)</th><th>verdict</th>"
        "<th>peak</th><th>trough</th><th>calendar-year return</th><th>dates used</th><th>note</th></tr></thead>"
    )
    body = "".join(
        f"<tr><td>{escape(r.claim)}</td>{cell(pct(r.claimed, True))}{cell(pct(r.measured, True))}"
        f'<td class="verdict-{escape(r.verdict)}">{escape(r.verdict)}</td>'
        f'<td class="d">{escape(text_or_blank(r.peak))}</td>'
        f'<td class="d">{escape(text_or_blank(r.trough))}</td>{cell(pct(r.calendar_year_return, True))}'
        f'<td>{escape(text_or_blank(r.dates_used))}</td><td class="note">{escape(text_or_blank(r.note))}</td></tr>'
        for r in claims.itertuples()
    )
    return (
        f'<table>{head}<tbody>{body}</tbody></table><p class="note">Measured on IWM\'s adjusted close (total '
        "return) from the data directory; a claim holds within 5 percentage points.</p>"
    )


def _provenance(data: RunData, iwm_last: pd.Timestamp) -> str:
    run = data.metrics["run"]
    rows = [
        ("strategy", f"{data.label} ({run.get('strategy', 'fedcut')})"),
        ("first day", run["start"]),
        ("last day", run["end"]),
        ("end set by", f"{run.get('end_set_by', '')} (the required series that ends first)"),
        ("IWM prices in the data directory end", str(iwm_last.date())),
        ("oracle mode", "yes - ORACLE" if data.oracle else "no"),
        ("configuration hash", run.get("config_hash", "")),
        ("proxies", "; ".join(run.get("proxies", [])) or "none"),
        ("notes", "; ".join(run.get("notes", [])) or "none"),
    ]
    body = "".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in rows)
    return f"<table>{body}</table>"


def _sides(data: RunData) -> list[tuple[str, str]]:
    """(equity column, label) of the strategy, the benchmark and SPY, as far as the run has them."""
    labels = {"strategy": data.label, "benchmark": data.benchmark.label, **CURVE_LABELS}
    return [(k, labels[k]) for k in CURVES if k in data.metrics and k in data.equity.columns]
