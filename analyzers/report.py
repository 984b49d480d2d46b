"""The run report: one self-contained HTML page (plus its CSVs and PNGs) from a saved run folder.

`render(run_dir, source)` reads only the files a run wrote (metrics.json, equity.csv,
trades.csv, episodes.csv, config.toml, plots/regimes.png) and IWM's price file for the claims,
so a saved run can be re-reported at any time. It writes, and overwrites, only the files in
`REPORT_FILES`; everything is built in a scratch folder first and moved into place at the end,
so a failed render leaves the previous report intact. The page embeds its images as base64
data URIs, uses inline CSS and links to nothing, so it opens offline; it carries no timestamp,
so the same run renders to the same bytes.
"""
from __future__ import annotations

import base64
import html
import json
import math
import os
import re
import shutil
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from fedcut.analyzers import plots
from fedcut.analyzers.attribution import CONTRACT_SIZE, OPTION_COMMISSIONS, PUTS, attribution, daily_attribution
from fedcut.analyzers.claims import check_claims
from fedcut.data.sources import DataSource
from fedcut.errors import DataError
from fedcut.files import own_folder, remove_stale_temporaries, writing
from fedcut.params import iso_date
from fedcut.signals.plot import MAX_CYCLES_SHOWN

PLOTS = ("equity", "underwater", "holdings", "cycles", "hedge")
REPORT_FILES = ("report.html", "claims.csv", "attribution.csv", *(f"plots/{p}.png" for p in PLOTS))
RUN_FILES = ("metrics.json", "equity.csv", "trades.csv", "episodes.csv", "config.toml")
RESIDUAL_TOLERANCE = 1e-6  # attribution that misses the total P&L by more than this share is flagged
NUMBER = re.compile(r"^([-+]?\$?[\d.,]+%?|n/a)$")  # a cell holding one number (right-aligned)
SIDES = (("strategy", "fedcut strategy"), ("benchmark", "buy-and-hold IWM"), ("spy", "buy-and-hold SPY"))
# What the report reads from a run folder, checked before it is used (load_run).
REQUIRED_SECTIONS = ("run", "hedge", "strategy", "benchmark")
SIDE_NUMBERS = ("final_value", "total_return", "cagr", "volatility", "sharpe", "sortino", "calmar", "max_drawdown",
                "ulcer_index", "worst_month", "worst_year", "annual_turnover")
SIDE_DAYS = ("max_drawdown_days", "longest_drawdown_days")
HEDGE_NUMBERS = ("option_trades", "premium_paid", "proceeds_and_settlements", "net_cash", "commission_included")
EQUITY_READ = ("date", "strategy", "benchmark", "regime", "cash", "option_value")
EQUITY_NUMBERS = ("strategy", "benchmark", "cash", "option_value", "spy", "option_delta")
TRADES_READ = ("date", "instrument", "action", "quantity", "price", "value", "commission", "strike")
TRADES_NUMBERS = ("quantity", "price", "value", "commission", "strike")
EPISODES_READ = ("cycle", "first_cut", "window_start", "window_end", "strategy_max_drawdown", "benchmark_max_drawdown",
                 "strategy_peak", "strategy_trough", "benchmark_peak", "benchmark_trough", "strategy_return",
                 "benchmark_return")
EPISODES_DATES = ("first_cut", "window_start", "window_end")
EPISODES_NUMBERS = ("strategy_max_drawdown", "benchmark_max_drawdown", "strategy_return", "benchmark_return",
                    *(f"{side}_return_{k}m" for side in ("strategy", "benchmark") for k in (6, 12, 24)))
CYCLE = re.compile(r"\d{4}(-\d{2}-\d{2})?")  # a cycle is named by its first cut's year, or date when two share a year
TICKER = re.compile(r"[A-Za-z0-9.^-]{1,15}")  # plain text in a plot legend (no $...$ maths)


@dataclass(frozen=True)
class SavedRun:
    """A run folder's files, read back."""

    folder: Path
    metrics: dict
    equity: pd.DataFrame  # dated index
    trades: pd.DataFrame
    episodes: pd.DataFrame
    config_text: str
    config: dict

    @property
    def oracle(self) -> bool:
        return bool(self.metrics["run"].get("oracle", False))

    @property
    def contract_size(self) -> int:
        return int(self.config.get("hedge", {}).get("contract_size", CONTRACT_SIZE))


def load_run(run_dir: Path) -> SavedRun:
    """Read a run folder back, checking what the report reads: a missing, malformed or damaged
    file is one DataError naming it and the problem, never a traceback. A folder someone sent
    may hold anything: text is only ever shown escaped, and the report reads and writes no file
    through a symbolic link (which could point anywhere, e.g. at a key to be embedded)."""
    run_dir = Path(run_dir)
    for name in (*RUN_FILES, "plots", "plots/regimes.png"):
        if (run_dir / name).is_symlink():
            raise DataError(f"{run_dir / name}: a symbolic link; the report reads and writes only the run "
                            "folder's own files")
    missing = [name for name in RUN_FILES if not (run_dir / name).is_file()]
    if missing:
        raise DataError(f"{run_dir}: not a complete run folder (no {missing[0]})")
    if (run_dir / "plots").exists() and not (run_dir / "plots").is_dir():
        raise DataError(f"{run_dir / 'plots'}: not a folder")
    equity = _table(run_dir / "equity.csv", EQUITY_READ, dates=("date",), numbers=EQUITY_NUMBERS)
    if len(equity) < 2 or not equity["date"].is_monotonic_increasing or equity["date"].duplicated().any():
        raise DataError(f"{run_dir / 'equity.csv'}: needs two or more rows with dates in increasing order")
    for column in equity.columns:
        if column.startswith("w_") and not TICKER.fullmatch(column[2:]):
            raise DataError(f"{run_dir / 'equity.csv'}: column {column!r} does not name a ticker")
    for column in ("strategy", "benchmark", "spy"):  # portfolio values, drawn on a log scale
        values = equity.get(column, pd.Series(1.0, index=equity.index))
        bad = ~((values > 0) & (values < math.inf))
        if bad.any():
            row = int(bad.to_numpy().argmax())
            raise DataError(f"{run_dir / 'equity.csv'}: row {row + 2}: {column} {values.iloc[row]} is not a positive "
                            "portfolio value")
    equity = equity.set_index("date")
    trades = _table(run_dir / "trades.csv", TRADES_READ, dates=("date",), numbers=TRADES_NUMBERS)
    if (run_dir / "episodes.csv").read_bytes().strip():
        episodes = _table(run_dir / "episodes.csv", EPISODES_READ, dates=EPISODES_DATES, numbers=EPISODES_NUMBERS,
                          text=("cycle",), parse_dates=False)
        _check_episodes(episodes, equity.index, run_dir / "episodes.csv")
    else:  # no easing cycle falls inside the run
        episodes = pd.DataFrame(columns=["cycle", "first_cut", "window_start", "window_end", "coverage"])
    text = _text_file(run_dir / "config.toml")
    try:
        config = tomllib.loads(text)
    except ValueError as exc:  # TOMLDecodeError, or an integer of more than 4300 digits
        raise DataError(f"{run_dir / 'config.toml'}: not valid TOML ({exc})") from None
    _check_config(config, run_dir / "config.toml")
    try:
        metrics = json.loads(_text_file(run_dir / "metrics.json"))
    except ValueError as exc:
        raise DataError(f"{run_dir / 'metrics.json'}: not valid JSON ({exc})") from None
    _check_metrics(metrics, run_dir / "metrics.json")
    return SavedRun(run_dir, metrics, equity, trades, episodes, text, config)


def _text_file(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None


def _table(path: Path, columns: tuple[str, ...], dates: tuple[str, ...], numbers: tuple[str, ...],
           text: tuple[str, ...] = (), parse_dates: bool = True) -> pd.DataFrame:
    """A CSV file with at least `columns`; `dates` dates YYYY-MM-DD (parsed, unless not
    `parse_dates`), `numbers` (and every `w_` weight column) numeric or empty."""
    try:
        frame = pd.read_csv(path, dtype=dict.fromkeys(text, str))
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, ValueError) as exc:
        raise DataError(f"{path}: not a readable CSV table ({' '.join(str(exc).split())})") from None
    absent = [c for c in columns if c not in frame.columns]
    if absent:
        raise DataError(f"{path}: no {absent[0]!r} column")
    for column in (*numbers, *(c for c in frame.columns if c.startswith("w_"))):
        if column in frame.columns and not pd.api.types.is_numeric_dtype(frame[column]):
            values = pd.to_numeric(frame[column], errors="coerce")
            bad = values.isna() & frame[column].notna()
            if bad.any():
                row = int(bad.to_numpy().argmax())
                raise DataError(f"{path}: row {row + 2}: {column} {frame[column].iloc[row]!r} is not a number")
            frame[column] = values
    for column in dates:
        parsed = pd.to_datetime(frame[column], format="%Y-%m-%d", errors="coerce")
        bad = parsed.isna() & frame[column].notna()
        if bad.any():
            row = int(bad.to_numpy().argmax())
            raise DataError(f"{path}: row {row + 2}: {column} {frame[column].iloc[row]!r} is not a date YYYY-MM-DD")
        if parse_dates:
            frame[column] = parsed
    return frame


def _check_episodes(episodes: pd.DataFrame, days: pd.DatetimeIndex, path: Path) -> None:
    for row, ep in enumerate(episodes.itertuples(), 2):
        if not CYCLE.fullmatch(str(ep.cycle)):
            raise DataError(f"{path}: row {row}: cycle {ep.cycle!r} is not the year (or date) of a first cut")
        start, end = pd.Timestamp(ep.window_start), pd.Timestamp(ep.window_end)
        if pd.isna(start) or pd.isna(end) or not (start <= end and start <= days[-1] and end >= days[0]):
            raise DataError(f"{path}: row {row}: window {ep.window_start}..{ep.window_end} is not inside the run")


def _check_config(config: dict, path: Path) -> None:
    for section, body in config.items():
        if not isinstance(body, dict):
            raise DataError(f"{path}: {section!r} is not a [section]")
    size = config.get("hedge", {}).get("contract_size", CONTRACT_SIZE)
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise DataError(f"{path}: hedge.contract_size must be a whole number of shares, got {size!r}")


def _check_metrics(m, path: Path) -> None:
    """The fields the report shows: numbers where it computes, dates where it compares, text anywhere."""
    def fail(key: str, problem: str):
        raise DataError(f"{path}: {key} {problem}" if key else f"{path}: {problem}")

    def number(value, key: str, whole: bool = False) -> None:
        if value is None and not whole:
            return
        if isinstance(value, bool) or not isinstance(value, int if whole else (int, float)):
            fail(key, f"must be a {'whole number' if whole else 'number'}, got {value!r}")

    if not isinstance(m, dict):
        fail("", "must hold a JSON object")
    for section in ("run", "hedge", *(k for k, _ in SIDES)):
        if section in m or section in REQUIRED_SECTIONS:
            if not isinstance(m.get(section), dict):
                fail(section, "must be an object")
    for side in (k for k, _ in SIDES if k in m):
        for key in (*SIDE_NUMBERS, *SIDE_DAYS):
            if key in m[side]:
                number(m[side][key], f"{side}.{key}", whole=key in SIDE_DAYS)
            elif key != "annual_turnover":
                fail(f"{side}.{key}", "is missing")
    for key in HEDGE_NUMBERS:
        if key in m["hedge"]:
            number(m["hedge"][key], f"hedge.{key}", whole=key == "option_trades")
    number(m.get("rejected_orders", 0), "rejected_orders", whole=True)
    shares = m.get("regime_share", {})
    if not isinstance(shares, dict):
        fail("regime_share", "must be an object")
    for regime, share in shares.items():
        number(share, f"regime_share.{regime}")
    run = m["run"]
    for key in ("start", "end"):
        iso_date(run.get(key), f"{path}: run.{key}")
    for key in ("proxies", "notes"):
        if not isinstance(run.get(key, []), list) or not all(isinstance(v, str) for v in run.get(key, [])):
            fail(f"run.{key}", "must be a list of texts")
    if not isinstance(run.get("oracle", False), bool):
        fail("run.oracle", f"must be true or false, got {run['oracle']!r}")


def render(run_dir: Path, source: DataSource) -> Path:
    """Write the report files into `run_dir` (replacing earlier ones) and return the path of report.html."""
    run_dir = Path(run_dir)
    saved = load_run(run_dir)
    remove_stale_temporaries(run_dir)
    scratch = run_dir / f".report-{os.getpid()}"
    shutil.rmtree(scratch, ignore_errors=True)
    try:
        with writing(scratch / "plots"):
            (scratch / "plots").mkdir(parents=True)
        iwm = source.prices("IWM")
        claims = check_claims(iwm["adj_close"], iwm["close"])
        with writing(scratch / "claims.csv"):
            claims.to_csv(scratch / "claims.csv", index=False, float_format="%.10g")
        try:
            table = attribution(saved.equity, saved.trades, saved.contract_size)
        except DataError as exc:  # the saved files contradict each other
            raise DataError(f"{run_dir}: {exc}") from None
        with writing(scratch / "attribution.csv"):
            _attribution_csv(table).to_csv(scratch / "attribution.csv", index=False, float_format="%.10g")
        _draw(saved, scratch / "plots")
        page = _page(saved, claims, table, iwm.index[-1], scratch / "plots", run_dir / "plots" / "regimes.png")
        with writing(scratch / "report.html"):
            (scratch / "report.html").write_text(page, encoding="utf-8")
        own_folder(run_dir / "plots")
        for name in REPORT_FILES:
            with writing(run_dir / name):
                os.replace(scratch / name, run_dir / name)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return run_dir / "report.html"


def _attribution_csv(table: pd.DataFrame) -> pd.DataFrame:
    total = pd.DataFrame([{"component": "total (final - initial value)", "pnl_usd": table.attrs["total_pnl"],
                           "share_of_total": 1.0,
                           "includes": "final value - initial value; the lines above add up to it"}])
    return pd.concat([table, total], ignore_index=True)


def _draw(saved: SavedRun, folder: Path) -> None:
    eq, oracle = saved.equity, saved.oracle
    cuts = list(saved.episodes["first_cut"]) if len(saved.episodes) else []
    with writing(folder / "equity.png"):
        plots.plot_equity(eq, cuts, folder / "equity.png", oracle)
    with writing(folder / "underwater.png"):
        plots.plot_underwater(eq, folder / "underwater.png", oracle, first_cuts=cuts)
    with writing(folder / "holdings.png"):
        plots.plot_holdings(eq, folder / "holdings.png", oracle)
    with writing(folder / "cycles.png"):
        plots.plot_cycles(eq, saved.episodes, folder / "cycles.png", oracle)
    with writing(folder / "hedge.png"):
        plots.plot_hedge(eq, saved.trades, folder / "hedge.png", oracle, saved.contract_size, first_cuts=cuts)


# ---- the page -------------------------------------------------------------------------------

CSS = """
body{font-family:-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;margin:0 auto;max-width:1600px;padding:0 18px 40px;color:#1b1b1b;line-height:1.4}
h1{font-size:1.55em;margin:18px 0 4px}h2{font-size:1.2em;margin:30px 0 8px;border-bottom:2px solid #1f3b73;padding-bottom:3px}
.sub{color:#555;margin:0 0 12px}
.oracle{background:#b00000;color:#fff;font-weight:700;font-size:1.25em;padding:14px 18px;margin:14px 0;border-radius:4px;text-align:center}
.warnings{background:#fff6e0;border-left:5px solid #e08a00;padding:8px 14px;margin:12px 0}
.warnings ul{margin:4px 0 4px 18px;padding:0}
.pair{display:flex;flex-wrap:wrap;gap:18px;align-items:flex-start}
.pair figure{flex:3 1 720px;margin:0}.pair .numbers{flex:1 1 360px;min-width:320px}
figure img{width:100%;height:auto;border:1px solid #ddd}
figcaption{font-size:.85em;color:#555;margin-top:3px}
table{border-collapse:collapse;font-size:.86em;margin:0 0 12px}
th,td{border:1px solid #d5d5d5;padding:3px 7px;vertical-align:top}
th{background:#eef1f6;text-align:left}td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
tr.total td{font-weight:700;background:#f6f6f6}
.neg{color:#a40000}.pos{color:#116611}
.verdict-holds{color:#116611;font-weight:700}.verdict-overstated,.verdict-understated{color:#a40000;font-weight:700}
pre{background:#f6f6f6;border:1px solid #ddd;padding:10px;font-size:.8em;overflow-x:auto;max-height:520px}
.note{font-size:.85em;color:#444}
"""


def _page(saved: SavedRun, claims: pd.DataFrame, table: pd.DataFrame, iwm_last: pd.Timestamp,
          plot_dir: Path, regimes_png: Path) -> str:
    m, run = saved.metrics, saved.metrics["run"]
    title = f"fedcut run report, {run['start']} to {run['end']} (config {run.get('config_hash', '')})"
    if saved.oracle:
        title = "ORACLE - " + title
    parts = [f"<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{_e(title)}</title>\n"
             f"<style>{CSS}</style>\n</head>\n<body>"]
    if saved.oracle:
        parts.append(f'<div class="oracle">ORACLE - {_e(run.get("label") or "ORACLE MODE: future information")}. '
                     "These results use information no investor had at the time; they measure what foresight "
                     "is worth, not what the strategy could have earned.</div>")
    if run.get("backfilled_indices"):
        parts.append(f'<div class="oracle">{_e(run.get("backfilled_label"))}. The stress indices before '
                     "those dates are full-sample reconstructions nobody could see at the time: these results "
                     "are not what the rules could have done.</div>")
    parts.append(f"<h1>{_e(title)}</h1>")
    parts.append('<p class="sub">The fedcut strategy against buy-and-hold IWM (total return) and SPY, '
                 "each starting with the same cash. Pictures first, their numbers beside them.</p>")
    parts.append(_warnings(saved, table, iwm_last))
    shown = saved.episodes.iloc[-MAX_CYCLES_SHOWN:]  # bounded whatever the data; episodes.csv has them all
    hedge_by_cycle = _hedge_by_cycle(saved, shown)
    more = (f" The {len(shown)} most recent of {len(saved.episodes)} cycles; every cycle is in episodes.csv."
            if len(shown) < len(saved.episodes) else "")

    parts.append("<h2>Strategy against buy-and-hold</h2>")
    parts.append(_pair(_figure(plot_dir / "equity.png", "Value in USD, log scale; background = regime called "
                                                      "that day; dashed lines = first cut of each easing cycle."),
                       _headline_table(m)))
    parts.append("<h2>Drawdowns</h2>")
    parts.append(_pair(_figure(plot_dir / "underwater.png", "Fall from the running high, %."), _drawdown_table(m)))
    parts.append("<h2>Easing cycles</h2>")
    parts.append(_pair(_figure(plot_dir / "cycles.png", "Each cycle's window (6 months before the first cut to "
                                                       "24 after, clipped to the data), rebased to 100 at the cut."
                                                       + more),
                       _cycles_table(shown, hedge_by_cycle)))
    parts.append("<h2>Holdings and where the P&amp;L came from</h2>")
    parts.append(_pair(_figure(plot_dir / "holdings.png", "Share of strategy value per holding, cash and puts "
                                                         "at their marked value."),
                       _attribution_table(table) + _regime_share_table(m)))
    parts.append("<h2>Put hedge</h2>")
    parts.append(_pair(_figure(plot_dir / "hedge.png", "Cumulative P&L of the puts: marked value of the puts "
                                                      "held plus every premium, sale and settlement, after "
                                                      "spread and commission."),
                       _hedge_table(m, table, hedge_by_cycle)))
    if regimes_png.is_file():
        parts.append("<h2>Regime signal</h2>")
        parts.append(_pair(_figure(regimes_png, "IWM total return with the regime called each day (from the run's "
                                                "plots/regimes.png)."), ""))
    parts.append("<h2>The seed's claims, measured on IWM's data</h2>")
    parts.append(_claims_table(claims))
    parts.append("<h2>Data provenance</h2>")
    parts.append(_provenance(saved, iwm_last))
    parts.append("<h2>Resolved configuration (config.toml)</h2>")
    parts.append(f"<pre>{_e(saved.config_text)}</pre>")
    parts.append("</body>\n</html>\n")
    return "\n".join(parts)


def _warnings(saved: SavedRun, table: pd.DataFrame, iwm_last: pd.Timestamp) -> str:
    m, run = saved.metrics, saved.metrics["run"]
    items = []
    if saved.oracle:
        items.append("<b>ORACLE mode</b>: regimes use the actual cut calendar (future information).")
    if run.get("backfilled_indices"):
        items.append("<b>Backfilled indices</b>: " + _e(run.get("backfilled_label")) + ".")
    for proxy in run.get("proxies", []):
        items.append(f"Proxy used: {_e(proxy)} (the proxy's prices stand in before the instrument existed).")
    for note in run.get("notes", []):
        items.append(_e(note))
    configured_end = str(saved.config.get("run", {}).get("end", "") or "")
    end = pd.Timestamp(run["end"])
    if configured_end:
        items.append(f"The run ends at run.end = {_e(configured_end)}, set in the configuration.")
    elif iwm_last > end:
        items.append(f"Data ends early: the run stops on {_e(run['end'])} because {_e(run['end_set_by'])} ends "
                     f"there, while IWM has prices to {iwm_last.date()}.")
    elif run.get("end_set_by") not in (None, "IWM"):
        items.append(f"The run's end ({_e(run['end'])}) is set by {_e(run['end_set_by'])}, the series that ends first.")
    for row in saved.episodes.itertuples():
        if str(getattr(row, "coverage", "full")) != "full":
            items.append(f"The {_e(row.cycle)} cycle is only partly covered: {_e(row.coverage)}.")
    if m.get("rejected_orders"):
        items.append(f"{_e(m['rejected_orders'])} orders were rejected by the broker (not enough cash); see trades.csv.")
    total = table.attrs["total_pnl"]
    residual = table.attrs["residual_usd"]
    if total and abs(residual / total) > RESIDUAL_TOLERANCE:
        items.append(f"The P&amp;L attribution misses the total by {_usd(residual)}: strategy value is not "
                     "cash + positions + puts in equity.csv.")
    if not items:
        return ""
    return '<div class="warnings"><b>Warnings</b><ul>' + "".join(f"<li>{i}</li>" for i in items) + "</ul></div>"


def _headline_table(m: dict) -> str:
    rows = [
        ("final value", lambda s: _usd(s["final_value"])),
        ("total return", lambda s: _pct(s["total_return"], True)),
        ("CAGR", lambda s: _pct(s["cagr"], True)),
        ("volatility (annualised)", lambda s: _pct(s["volatility"])),
        ("Sharpe (over T-bills)", lambda s: _ratio(s["sharpe"])),
        ("Sortino (over T-bills)", lambda s: _ratio(s["sortino"])),
        ("Calmar (CAGR / max DD)", lambda s: _ratio(s["calmar"])),
        ("max drawdown", lambda s: _pct(s["max_drawdown"], True)),
        ("max drawdown peak → trough", lambda s: f"{s['max_drawdown_peak']} → {s['max_drawdown_trough']}"),
        ("recovered", lambda s: s["max_drawdown_recovery"] or "not recovered"),
        ("ulcer index (%)", lambda s: _ratio(s["ulcer_index"], 1)),
        ("worst month", lambda s: f"{_pct(s['worst_month'], True)} ({s['worst_month_period']})"),
        ("worst year", lambda s: f"{_pct(s['worst_year'], True)} ({s['worst_year_period']})"),
        ("annual turnover (one-way)", lambda s: _pct(s.get("annual_turnover"))),
    ]
    sides = [(k, label) for k, label in SIDES if k in m]
    head = "<tr><th></th>" + "".join(f"<th>{_e(label)}</th>" for _, label in sides) + "</tr>"
    body = "".join("<tr><th>" + _e(name) + "</th>" + "".join(_cell(fn(m[k])) for k, _ in sides) + "</tr>"
                   for name, fn in rows)
    return f'<table>{head}{body}</table><p class="note">Period {_e(m[sides[0][0]]["start"])} to ' \
           f'{_e(m[sides[0][0]]["end"])}. Ulcer index in percentage points (root mean square drawdown).</p>'


def _drawdown_table(m: dict) -> str:
    rows = [("max drawdown", lambda s: _pct(s["max_drawdown"], True)),
            ("peak", lambda s: s["max_drawdown_peak"]),
            ("trough", lambda s: s["max_drawdown_trough"]),
            ("recovered", lambda s: s["max_drawdown_recovery"] or "not recovered"),
            ("days under water (peak to recovery)", lambda s: f"{s['max_drawdown_days']:,}"),
            ("longest spell under water, days", lambda s: f"{s['longest_drawdown_days']:,}"),
            ("ulcer index (%)", lambda s: _ratio(s["ulcer_index"], 1))]
    sides = [(k, label) for k, label in SIDES if k in m]
    head = "<tr><th></th>" + "".join(f"<th>{_e(label)}</th>" for _, label in sides) + "</tr>"
    body = "".join("<tr><th>" + _e(name) + "</th>" + "".join(_cell(fn(m[k])) for k, _ in sides) + "</tr>"
                   for name, fn in rows)
    return f"<table>{head}{body}</table>"


def _hedge_by_cycle(saved: SavedRun, episodes: pd.DataFrame) -> dict[str, float]:
    """The puts' P&L (after spread and commission) inside each of `episodes`' windows, from trades and marks."""
    daily = daily_attribution(saved.equity, saved.trades, saved.contract_size)
    pnl = daily[PUTS] + daily[OPTION_COMMISSIONS]
    return {str(ep.cycle): float(pnl[ep.window_start:ep.window_end].sum()) for ep in episodes.itertuples()}


def _cycles_table(episodes: pd.DataFrame, hedge: dict[str, float]) -> str:
    if episodes.empty:
        return "<p>No easing cycle falls inside the data.</p>"
    rows = [("first cut", lambda e: e["first_cut"]),
            ("window", lambda e: f"{e['window_start']} to {e['window_end']}"),
            ("coverage", lambda e: e.get("coverage", "")),
            ("max drawdown: strategy", lambda e: _pct(e["strategy_max_drawdown"], True)),
            ("max drawdown: IWM", lambda e: _pct(e["benchmark_max_drawdown"], True)),
            ("strategy peak → trough", lambda e: f"{e['strategy_peak']} → {e['strategy_trough']}"),
            ("IWM peak → trough", lambda e: f"{e['benchmark_peak']} → {e['benchmark_trough']}"),
            ("window return: strategy", lambda e: _pct(e["strategy_return"], True)),
            ("window return: IWM", lambda e: _pct(e["benchmark_return"], True))]
    for months in (6, 12, 24):
        rows.append((f"{months} months after the cut: strategy", lambda e, k=months: _pct(e.get(f"strategy_return_{k}m"), True)))
        rows.append((f"{months} months after the cut: IWM", lambda e, k=months: _pct(e.get(f"benchmark_return_{k}m"), True)))
    rows += [("put hedge P&L in window", lambda e: _usd(hedge.get(str(e["cycle"])))),
             ("regimes (share of days)", lambda e: e.get("regime_mix", "")),
             ("average holdings", lambda e: e.get("holdings_mix", ""))]
    eps = [row for _, row in episodes.iterrows()]
    head = "<tr><th>cycle</th>" + "".join(f"<th>{_e(e['cycle'])}</th>" for e in eps) + "</tr>"
    body = "".join("<tr><th>" + _e(name) + "</th>" + "".join(_cell(fn(e)) for e in eps) + "</tr>"
                   for name, fn in rows)
    return f'<table>{head}{body}</table><p class="note">Drawdowns are measured inside each window; returns ' \
           "after the cut run from the close on the cut day; n/a = the data does not reach that far.</p>"


def _attribution_table(table: pd.DataFrame) -> str:
    body = "".join(f"<tr><td>{_e(r.component)}</td>{_cell(_usd(r.pnl_usd))}{_cell(_pct(r.share_of_total, True))}"
                   f"<td class=\"note\">{_e(r.includes)}</td></tr>" for r in table.itertuples())
    a = table.attrs
    body += (f'<tr class="total"><td>total P&amp;L</td>{_cell(_usd(a["total_pnl"]))}{_cell("100.0%")}'
             f'<td class="note">final {_usd(a["final_value"])} - initial {_usd(a["initial_value"])}</td></tr>')
    return ("<table><tr><th>P&amp;L component</th><th>USD</th><th>share of total</th><th>what it holds</th></tr>"
            f"{body}</table><p class=\"note\">ETF lines are valued at fill prices, so the slippage paid on ETF "
            "fills is inside them; the puts line includes the option bid-ask spread; costs are commissions "
            "only.</p>")


def _regime_share_table(m: dict) -> str:
    shares = m.get("regime_share") or {}
    if not shares:
        return ""
    body = "".join(f"<tr><td>{_e(k)}</td>{_cell(_pct(v))}</tr>"
                   for k, v in sorted(shares.items(), key=lambda kv: (-kv[1], kv[0])))
    return f"<table><tr><th>regime called</th><th>share of days</th></tr>{body}</table>"


def _hedge_table(m: dict, table: pd.DataFrame, by_cycle: dict[str, float]) -> str:
    h = m.get("hedge", {})
    puts = float(table.loc[table["component"] == PUTS, "pnl_usd"].sum())
    rows = [("option trades", f"{h.get('option_trades', 0):,}"),
            ("premium paid (incl. commission)", _usd(h.get("premium_paid"))),
            ("sales and settlements received (after commission)", _usd(h.get("proceeds_and_settlements"))),
            ("net option cash", _usd(h.get("net_cash"))),
            ("option commissions", _usd(h.get("commission_included"))),
            ("puts P&L before commission (attribution)", _usd(puts))]
    rows += [(f"hedge P&L in the {c} cycle window", _usd(v)) for c, v in by_cycle.items()]
    body = "".join(f"<tr><th>{_e(k)}</th>{_cell(v)}</tr>" for k, v in rows)
    return f"<table>{body}</table>"


def _claims_table(claims: pd.DataFrame) -> str:
    head = ("<tr><th>claim</th><th>claimed</th><th>measured (peak to trough, total return)</th><th>verdict</th>"
            "<th>peak</th><th>trough</th><th>calendar-year return</th><th>dates used</th><th>note</th></tr>")
    body = "".join(
        f"<tr><td>{_e(r.claim)}</td>{_cell(_pct(r.claimed, True))}{_cell(_pct(r.measured, True))}"
        f'<td class="verdict-{_e(r.verdict)}">{_e(r.verdict)}</td><td>{_e(_text(r.peak))}</td>'
        f"<td>{_e(_text(r.trough))}</td>{_cell(_pct(r.calendar_year_return, True))}"
        f"<td>{_e(_text(r.dates_used))}</td><td class=\"note\">{_e(_text(r.note))}</td></tr>"
        for r in claims.itertuples())
    return (f"<table>{head}{body}</table><p class=\"note\">Measured on IWM's adjusted close (total return) from "
            "the data directory; a claim holds within 5 percentage points.</p>")


def _provenance(saved: SavedRun, iwm_last: pd.Timestamp) -> str:
    run = saved.metrics["run"]
    rows = [("first day", run["start"]), ("last day", run["end"]),
            ("end set by", f"{run.get('end_set_by', '')} (the required series that ends first)"),
            ("IWM prices in the data directory end", str(iwm_last.date())),
            ("oracle mode", "yes - ORACLE" if saved.oracle else "no"),
            ("configuration hash", run.get("config_hash", "")),
            ("proxies", "; ".join(run.get("proxies", [])) or "none"),
            ("notes", "; ".join(run.get("notes", [])) or "none")]
    body = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in rows)
    return f"<table>{body}</table>"


def _pair(figure: str, numbers: str) -> str:
    side = f'<div class="numbers">{numbers}</div>' if numbers else ""
    return f'<div class="pair">{figure}{side}</div>'


def _figure(png: Path, caption: str) -> str:
    data = base64.b64encode(Path(png).read_bytes()).decode("ascii")
    return (f'<figure><img alt="{_e(Path(png).stem)}" src="data:image/png;base64,{data}">'
            f"<figcaption>{_e(caption)}</figcaption></figure>")


def _cell(text: str) -> str:
    """A table cell: numbers right-aligned on one line, text wrapped; negative values in red."""
    text = "" if text is None else str(text)
    classes = ["n"] if NUMBER.match(text) else []
    if text.startswith("-") and len(text) > 1:
        classes.append("neg")
    return f'<td class="{" ".join(classes)}">{_e(text)}</td>' if classes else f"<td>{_e(text)}</td>"


def _e(x) -> str:
    return html.escape("" if x is None else str(x))


def _missing(x) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def _text(x) -> str:
    return "" if _missing(x) else str(x)


def _pct(x, signed: bool = False) -> str:
    """0.071 -> '7.1%' ('+7.1%' when signed); None/NaN -> 'n/a'."""
    if _missing(x):
        return "n/a"
    return f"{float(x):+.1%}" if signed else f"{float(x):.1%}"


def _ratio(x, digits: int = 2) -> str:
    return "n/a" if _missing(x) else f"{float(x):.{digits}f}"


def _usd(x) -> str:
    """-423026.07 -> '-$423,026'."""
    if _missing(x):
        return "n/a"
    return f"{'-' if float(x) < 0 else ''}${abs(float(x)):,.0f}"
