"""The run report: one self-contained HTML page (plus its CSVs and PNGs) from a saved run folder.

`render(run_dir, source)` reads only the files a run wrote (metrics.json, equity.csv,
trades.csv, episodes.csv, config.toml, cash_rate.csv, plots/regimes.png), IWM's price file for
the claims and USREC (NBER's recession months, a label known only later) to say what each easing
cycle turned out to be, so a saved run can be re-reported at any time. It writes, and
overwrites, only the files in `REPORT_FILES`; everything is built in a scratch folder first and
moved into place at the end, so a failed render leaves the previous report intact. The page
opens with the answer (`<section id="verdict">`: each easing cycle, the verdict against the
baselines, the price of foresight, the parameters changed), then the tear sheet and the
pictures. It embeds its images as base64 data URIs, uses inline CSS and links to nothing, so it
opens offline; it carries no timestamp, so the same run renders to the same bytes.
"""
from __future__ import annotations

import json
import math
import os
import re
import shutil
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from fedcut.analyzers import tearsheet

from fedcut.plots import run as plots
from fedcut.analyzers.attribution import (
    CONTRACT_SIZE, OPTION_COMMISSIONS, PUTS, WEIGHT_PREFIX, attribution, daily_attribution, hedge_by_year,
)
from fedcut.analyzers.bootstrap import verdict_word
from fedcut.analyzers.claims import check_claims
from fedcut.analyzers.episodes import RUNUP_MONTHS, recession_label
from fedcut.core.config import changed_parameters, flatten
from fedcut.data.sources import DataSource
from fedcut.core.errors import DataError
from fedcut.core.files import Helper, Output, own_folder, remove_stale_temporaries, write_all, writing
from fedcut.core.params import iso_date
from fedcut.plots.kit import MAX_CYCLES_SHOWN, preload
from fedcut.report.html import (
    CSS, bp, cell, count, difference, escape, figure, heat, judged, missing, pct, pp, ratio, setting, signed,
    text_or_blank, usd,
)
from fedcut.strategies.baselines import LABELS

PLOTS = ("equity", "underwater", "rolling", "holdings", "cycles", "hedge")
REPORT_FILES = ("report.html", "claims.csv", "attribution.csv", "tearsheet.csv", *(f"plots/{p}.png" for p in PLOTS))
RUN_FILES = ("metrics.json", "equity.csv", "trades.csv", "episodes.csv", "config.toml")
CASH_RATE = "cash_rate.csv"  # the risk-free rate; a run folder of an earlier version has none
RUNUP_NUMBERS = tuple(f"{side}_return_before_{RUNUP_MONTHS}m" for side in ("strategy", "benchmark"))
RESIDUAL_TOLERANCE = 1e-6  # attribution that misses the total P&L by more than this share is flagged
# the curves the tables compare; the page names the strategy by the run's own rules (`SavedRun.label`)
SIDES = (("strategy", LABELS["fedcut"]), ("benchmark", "buy-and-hold IWM"), ("spy", "buy-and-hold SPY"))
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
    cash_rate: pd.Series | None = None  # annual, continuous, per day of equity; None in an older folder

    @property
    def oracle(self) -> bool:
        return bool(self.metrics["run"].get("oracle", False))

    @property
    def label(self) -> str:
        """The run's own strategy, as the pages name it."""
        own = str(self.metrics["run"].get("strategy", "fedcut"))
        return LABELS.get(own, own)

    @property
    def risk_free(self) -> pd.Series | float:
        return self.cash_rate if self.cash_rate is not None else 0.0

    @property
    def contract_size(self) -> int:
        return int(self.config.get("hedge", {}).get("contract_size", CONTRACT_SIZE))


def load_run(run_dir: Path) -> SavedRun:
    """Read a run folder back, checking what the report reads: a missing, malformed or damaged
    file is one DataError naming it and the problem, never a traceback. A folder someone sent
    may hold anything: text is only ever shown escaped, and the report reads and writes no file
    through a symbolic link (which could point anywhere, e.g. at a key to be embedded)."""
    run_dir = Path(run_dir)
    for name in (*RUN_FILES, CASH_RATE, "plots", "plots/regimes.png"):
        if (run_dir / name).is_symlink():
            raise DataError(f"{run_dir / name}: a symbolic link; the report reads and writes only the run "
                            "folder's own files")
    absent = [name for name in RUN_FILES if not (run_dir / name).is_file()]
    if absent:
        raise DataError(f"{run_dir}: not a complete run folder (no {absent[0]})")
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
        episodes = _table(run_dir / "episodes.csv", EPISODES_READ, dates=EPISODES_DATES,
                          numbers=EPISODES_NUMBERS + RUNUP_NUMBERS, text=("cycle",), parse_dates=False)
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
    return SavedRun(run_dir, metrics, equity, trades, episodes, text, config, _cash_rate(run_dir / CASH_RATE, equity.index))


def _cash_rate(path: Path, days: pd.DatetimeIndex) -> pd.Series | None:
    """cash_rate.csv on the equity curve's days (None when the folder has no such file)."""
    if not path.is_file():
        return None
    table = _table(path, ("date", "cash_rate"), dates=("date",), numbers=("cash_rate",))
    rate = table.set_index("date")["cash_rate"]
    if not rate.index.is_monotonic_increasing or rate.index.has_duplicates:
        raise DataError(f"{path}: dates are not in increasing order")
    rate = rate.reindex(days)
    if rate.isna().any() or (rate.abs() > 1.0).any():
        bad = rate.index[(rate.isna() | (rate.abs() > 1.0)).to_numpy()][0]
        raise DataError(f"{path}: no rate (an annual fraction) for {bad.date()}, a day of equity.csv")
    return rate


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

    def section(value, key: str) -> dict:
        if not isinstance(value, dict):
            fail(key, "must be an object")
        return value

    def interval(value, key: str) -> None:
        if value is None:  # no interval: a run too short to resample
            return
        if not (isinstance(value, list) and len(value) == 2):
            fail(key, f"must be a [low, high] pair or null, got {value!r}")
        for k, bound in enumerate(value):
            number(bound, f"{key}[{k}]")

    for name, figures in section(m.get("baselines", {}), "baselines").items():
        for key in ("cagr", "volatility", "sharpe", "max_drawdown", "calmar", "time_in_iwm"):
            number(section(figures, f"baselines.{name}").get(key), f"baselines.{name}.{key}")
    if "verdict" in m:
        v = section(m["verdict"], "verdict")
        number(v.get("n_easing_cycles"), "verdict.n_easing_cycles", whole=True)
        for name, entry in section(v.get("against"), "verdict.against").items():
            entry = section(entry, f"verdict.against.{name}")
            for key in ("sharpe_diff", "cagr_diff", "p_better"):
                number(entry.get(key), f"verdict.against.{name}.{key}")
            for key in ("sharpe_diff_ci", "cagr_diff_ci"):
                interval(entry.get(key), f"verdict.against.{name}.{key}")
    if "foresight" in m:
        f = section(m["foresight"], "foresight")
        number(f.get("cagr_gain"), "foresight.cagr_gain")
        number(f.get("oracle_lead_days"), "foresight.oracle_lead_days", whole=True)
        for side in ("real_time", "oracle"):
            figures = section(f.get(side), f"foresight.{side}")
            for key in ("cagr", "sharpe", "max_drawdown"):
                number(figures.get(key), f"foresight.{side}.{key}")
            for cycle, c in section(figures.get("cycles", {}), f"foresight.{side}.cycles").items():
                for key in ("max_drawdown", "return"):
                    number(section(c, f"foresight.{side}.cycles.{cycle}").get(key),
                           f"foresight.{side}.cycles.{cycle}.{key}")


def render(run_dir: Path, source: DataSource, helper: Helper | None = None,
           meanwhile: Callable[[], object] | None = None) -> Path:
    """Write the report files into `run_dir` (replacing earlier ones) and return the path of report.html.

    The pictures are drawn by a helper process (two, sharing them: `files.write_all`) while this
    one computes the tables and calls `meanwhile` (the caller's other work, e.g. a new run's
    signals.csv). `helper` is one started earlier with files of its own for `run_dir` (a new run's
    regime picture, `fedcut.run.backtest.run_ahead`); without it one is started here.
    """
    run_dir = Path(run_dir)
    saved = load_run(run_dir)
    remove_stale_temporaries(run_dir)
    scratch = run_dir / f".report-{os.getpid()}"
    shutil.rmtree(scratch, ignore_errors=True)
    try:
        with helper or Helper(_preloaded) as drawer:  # on a failure, waits for it before the scratch is removed
            with writing(scratch / "plots"):
                (scratch / "plots").mkdir(parents=True)
            drawer.go(run_dir, draw_pictures, run_dir, scratch / "plots")
            if meanwhile is not None:
                meanwhile()
            found = _findings(saved, source, run_dir)
            drawer.join()
        for name, frame in (("claims.csv", found.claims), ("attribution.csv", _attribution_csv(found.attribution)),
                            ("tearsheet.csv", found.statistics.reset_index())):
            with writing(scratch / name):
                frame.to_csv(scratch / name, index=False, float_format="%.10g")
        page = _page(saved, found, scratch / "plots", run_dir / "plots" / "regimes.png")
        with writing(scratch / "report.html"):
            (scratch / "report.html").write_text(page, encoding="utf-8")
        own_folder(run_dir / "plots")
        for name in REPORT_FILES:
            with writing(run_dir / name):
                os.replace(scratch / name, run_dir / name)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return run_dir / "report.html"


def _preloaded() -> dict[str, bytes]:
    """The helper's work ahead for a saved run: only the import of matplotlib."""
    preload()
    return {}


def draw_pictures(run_dir: Path, folder: Path) -> None:
    """Draw the report's pictures of the run saved in `run_dir` into `folder`, in two processes."""
    write_all(_drawings(load_run(run_dir), folder))


# Rough seconds of work per picture on an idle machine: they only share the pictures out evenly.
DRAWING_COSTS = {"equity": 0.22, "underwater": 0.28, "rolling": 0.21, "holdings": 0.18, "cycles": 0.32, "hedge": 0.23}


def _drawings(saved: SavedRun, folder: Path) -> list[Output]:
    eq, oracle, label = saved.equity, saved.oracle, saved.label
    cuts = list(saved.episodes["first_cut"]) if len(saved.episodes) else []
    draw = {
        "equity": lambda p: plots.plot_equity(eq, cuts, p, oracle, label=label),
        "underwater": lambda p: plots.plot_underwater(eq, p, oracle, first_cuts=cuts, label=label),
        "rolling": lambda p: plots.plot_rolling(eq, p, saved.risk_free, oracle, label=label),
        "holdings": lambda p: plots.plot_holdings(eq, p, oracle, label=label),
        "cycles": lambda p: plots.plot_cycles(eq, saved.episodes, p, oracle, label=label),
        "hedge": lambda p: plots.plot_hedge(eq, saved.trades, p, oracle, saved.contract_size, first_cuts=cuts),
    }
    return [Output(folder / f"{name}.png", DRAWING_COSTS[name], lambda n=name: draw[n](folder / f"{n}.png"))
            for name in PLOTS]


@dataclass(frozen=True)
class Findings:
    """What the page shows besides the pictures, computed from the saved run (and IWM and USREC)."""

    claims: pd.DataFrame
    attribution: pd.DataFrame
    statistics: pd.DataFrame  # tearsheet.csv: one row per statistic, a column per curve
    outcomes: dict[str, str]  # cycle -> what it turned out to be
    iwm_last: pd.Timestamp


def _findings(saved: SavedRun, source: DataSource, run_dir: Path) -> Findings:
    iwm = source.prices("IWM")
    claims = check_claims(iwm["adj_close"], iwm["close"])
    try:
        table = attribution(saved.equity, saved.trades, saved.contract_size)
    except DataError as exc:  # the saved files contradict each other
        raise DataError(f"{run_dir}: {exc}") from None
    eq = saved.equity
    curves = {k: eq[k] for k, _ in SIDES if k in eq}
    held = (np.arange(len(eq)) >= 1).astype(float)  # buy-and-hold is bought at the second day's open
    exposure = {k: pd.Series(held, index=eq.index) for k in curves}
    exposure["strategy"] = eq.filter(regex=f"^{WEIGHT_PREFIX}").clip(lower=0.0).sum(axis=1)
    statistics = tearsheet.statistics_table(curves, eq["benchmark"], exposure, saved.risk_free)
    return Findings(claims, table, statistics, _outcomes(saved, source), iwm.index[-1])


def _outcomes(saved: SavedRun, source: DataSource) -> dict[str, str]:
    """Each cycle's recession label (USREC) and the regime the rules called most in its window."""
    try:
        usrec = source.macro("USREC")
    except DataError as exc:
        usrec, unknown = None, f"recession dates unknown ({exc})"
    out = {}
    for ep in saved.episodes.itertuples():
        recession = recession_label(usrec, pd.Timestamp(ep.window_start), pd.Timestamp(ep.window_end)) \
            if usrec is not None else unknown
        mix = str(getattr(ep, "regime_mix", "") or "")
        called = f"; rules called mostly {mix.split(', ')[0]}" if mix and mix != "nan" else ""
        out[str(ep.cycle)] = recession + called
    return out


def _attribution_csv(table: pd.DataFrame) -> pd.DataFrame:
    total = pd.DataFrame([{"component": "total (final - initial value)", "pnl_usd": table.attrs["total_pnl"],
                           "share_of_total": 1.0,
                           "includes": "final value - initial value; the lines above add up to it"}])
    return pd.concat([table, total], ignore_index=True)


# ---- the page -------------------------------------------------------------------------------

def _page(saved: SavedRun, found: Findings, plot_dir: Path, regimes_png: Path) -> str:
    m, run = saved.metrics, saved.metrics["run"]
    title = f"fedcut run report: {saved.label}, {run['start']} to {run['end']} (config {run.get('config_hash', '')})"
    if saved.oracle:
        title = "ORACLE - " + title
    parts = [f"<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
             "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
             f"<title>{escape(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>"]
    if saved.oracle:
        parts.append(f'<div class="oracle">{escape(run.get("label") or "ORACLE MODE: future information")}. '
                     "These results use information no investor had at the time; they measure what foresight "
                     "is worth, not what the strategy could have earned.</div>")
    if run.get("backfilled_indices"):
        parts.append(f'<div class="oracle">{escape(run.get("backfilled_label"))}. The stress indices before '
                     "those dates are full-sample reconstructions nobody could see at the time: these results "
                     "are not what the rules could have done.</div>")
    parts.append(f"<h1>{escape(title)}</h1>")
    parts.append(f'<p class="sub">{escape(saved.label)} against buy-and-hold IWM (total return), SPY and the simple '
                 "rules it has to beat, each starting with the same cash and trading through the same execution. "
                 "The answer first; the tear sheet and the pictures below it.</p>")
    shown = saved.episodes.iloc[-MAX_CYCLES_SHOWN:]  # bounded whatever the data; episodes.csv has them all
    more = (f" The {len(shown)} most recent of {len(saved.episodes)} cycles; every cycle is in episodes.csv."
            if len(shown) < len(saved.episodes) else "")
    parts.append(_verdict_section(saved, found, shown, more))
    parts.append(_warnings(saved, found))
    parts.append('<section id="performance"><h2>Strategy against buy-and-hold</h2>')
    parts.append(_embedded(plot_dir / "equity.png", "Value in USD, log scale; background = regime called that day; "
                                                  "dashed lines = first cut of each easing cycle."))
    parts.append(_headline_table(saved) + "</section>")
    parts.append('<section id="drawdowns"><h2>Drawdowns</h2>')
    parts.append(_embedded(plot_dir / "underwater.png", "Fall from the running high, %, on one scale for the three."))
    parts.append(f'<section id="top-drawdowns"><h3>The {tearsheet.TOP_DRAWDOWNS} deepest drawdowns</h3>'
                 f"{_top_drawdowns(saved)}</section></section>")
    parts.append(_monthly_section(saved))
    parts.append('<section id="rolling"><h2>Rolling one-year Sharpe, volatility and beta</h2>')
    parts.append(_embedded(plot_dir / "rolling.png", f"Each day, the statistic over the {tearsheet.ROLLING_DAYS} "
                                                   "trading days ending that day: Sharpe over the T-bill rate, "
                                                   "annualised volatility, beta of daily excess returns to IWM's."))
    parts.append("</section>")
    parts.append(_statistics_section(saved, found.statistics))
    parts.append('<section id="cycles"><h2>Easing cycles in detail</h2>')
    parts.append(_embedded(plot_dir / "cycles.png", f"Each cycle's window ({_window_words(saved)}), rebased to 100 "
                                                  f"at the cut.{more}"))
    parts.append(_cycles_table(shown) + "</section>")
    parts.append('<section id="holdings"><h2>Holdings and where the P&amp;L came from</h2>')
    parts.append(_embedded(plot_dir / "holdings.png", "Share of strategy value per holding, cash and puts at their "
                                                    "marked value."))
    parts.append(f'<div class="row"><div>{_attribution_table(found.attribution)}</div>'
                 f"<div>{_regime_share_table(m)}</div></div></section>")
    parts.append('<section id="hedge"><h2>Put hedge</h2>')
    parts.append(_embedded(plot_dir / "hedge.png", "Top: the puts' marked value in % of portfolio value. Bottom: per "
                                                 "calendar year, the premium paid and the hedge's P&L (change in "
                                                 "marks plus premium, sales and settlements, after spread and "
                                                 "commission), each day's amount in bp of the previous close's value, "
                                                 "summed."))
    parts.append(_hedge_tables(saved, found.attribution, _hedge_by_cycle(saved, shown)) + "</section>")
    if regimes_png.is_file():
        parts.append('<section id="regimes"><h2>Regime signal</h2>')
        parts.append(_embedded(regimes_png, "IWM total return with the regime called each day (the run's "
                                          "plots/regimes.png).") + "</section>")
    parts.append('<section id="claims"><h2>The seed\'s claims, measured on IWM\'s data</h2>')
    parts.append(_claims_table(found.claims) + "</section>")
    parts.append('<section id="provenance"><h2>Data provenance</h2>')
    parts.append(_provenance(saved, found.iwm_last) + "</section>")
    parts.append('<section id="configuration"><h2>Resolved configuration (config.toml)</h2>')
    parts.append(f"<pre>{escape(saved.config_text)}</pre></section>")
    parts.append("</body>\n</html>\n")
    return "\n".join(parts)


# ---- the answer ------------------------------------------------------------------------------

def _verdict_section(saved: SavedRun, found: Findings, shown: pd.DataFrame, more: str) -> str:
    m = saved.metrics
    parts = ['<section id="verdict"><h2>The answer</h2>', f'<p class="answer">{_answer(saved, shown)}</p>']
    parts.append(f"<h3>Each easing cycle: buying before the cut, holding through it</h3>{_answer_table(shown, found)}")
    parts.append(f'<p class="note">Window: {_window_words(saved)}. Drawdown avoided = strategy max drawdown - '
                 "IWM's (positive: shallower); return given up = IWM's window return - the strategy's (positive: "
                 "it earned less). The recession column uses NBER's dates (USREC), known months or years later: a "
                 f"label for judging the cycle, never an input to the rules.{escape(more)}</p>")
    if m.get("baselines") or m.get("verdict"):
        parts.append(f"<h3>Against the baselines</h3>{_baselines_table(saved)}")
        v = m.get("verdict")
        if v:
            parts.append(f'<p class="note">Differences are {escape(saved.label)} minus the baseline, with 95% intervals '
                         f"from a paired stationary block bootstrap of daily returns (mean block {escape(v.get('mean_block_days'))} "
                         f"days, {escape(v.get('resamples'))} resamples, seed {escape(v.get('seed'))}); P(higher) is the share "
                         "of resamples in which the strategy's Sharpe is the higher. Better or worse only when the "
                         "whole Sharpe interval is on one side of zero.</p>")
    side = [_foresight_table(m.get("foresight")), _changed_table(saved)]
    parts.append('<div class="row">' + "".join(f"<div>{t}</div>" for t in side if t) + "</div>")
    parts.append("</section>")
    return "\n".join(parts)


def _answer(saved: SavedRun, shown: pd.DataFrame) -> str:
    """The bottom line in a few sentences, every number from the run's files."""
    m = saved.metrics
    s, b = m["strategy"], m["benchmark"]
    text = (f"From {escape(m['run']['start'])} to {escape(m['run']['end'])}, {escape(saved.label)} compounded at "
            f"{pct(s['cagr'], True)} a year with a worst drawdown of {pct(s['max_drawdown'], True)}; buy-and-hold "
            f"IWM at {pct(b['cagr'], True)} with {pct(b['max_drawdown'], True)}.")
    rows = [ep for _, ep in shown.iterrows() if not (missing(ep.get("strategy_max_drawdown"))
                                                     or missing(ep.get("benchmark_max_drawdown")))]
    if rows:
        shallower = sum(ep["strategy_max_drawdown"] > ep["benchmark_max_drawdown"] for ep in rows)
        higher = sum(ep["strategy_return"] > ep["benchmark_return"] for ep in rows)
        text += (f" In the {count(len(rows), 'easing cycle')} shown, its drawdown was shallower than IWM's in "
                 f"{shallower} and its window return higher in {higher}.")
    v = m.get("verdict")
    if v and v.get("against"):
        entries = list(v["against"].values())
        words = [verdict_word(entry) for entry in entries]
        tally = ", ".join(f"{words.count(w)} {w}" for w in ("better", "worse", "not distinguishable") if words.count(w))
        if tally:
            text += f" Its Sharpe ratio against the {count(len(words), 'baseline')}: {tally} (95% intervals)."
        undefined = [e for e, w in zip(entries, words) if w == "undefined"]
        if undefined:
            text += (f" Against {len(undefined)} of the {count(len(words), 'baseline')} it "
                     f"{escape(undefined[0]['sentence'])}.")
        text += f" The evidence rests on {count(v['n_easing_cycles'], 'easing cycle')}: a small sample."
    return text


def _answer_table(shown: pd.DataFrame, found: Findings) -> str:
    if shown.empty:
        return "<p>No easing cycle's first cut falls inside the run.</p>"
    head = ("<thead><tr><th rowspan=\"2\">cycle</th><th rowspan=\"2\">first cut</th>"
            f"<th rowspan=\"2\">IWM in the {RUNUP_MONTHS} months before the cut</th><th rowspan=\"2\">window</th>"
            "<th colspan=\"2\">return in window</th><th colspan=\"2\">max drawdown in window</th>"
            "<th rowspan=\"2\">drawdown avoided</th><th rowspan=\"2\">return given up</th>"
            "<th rowspan=\"2\">what the cycle turned out to be</th></tr>"
            "<tr><th>strategy</th><th>IWM</th><th>strategy</th><th>IWM</th></tr></thead>")
    body = []
    for _, ep in shown.iterrows():
        partial = str(ep.get("coverage", "full"))
        flag = "" if partial in ("full", "nan", "") else f'<br><span class="flag">partial: {escape(partial)}</span>'
        avoided = difference(ep["strategy_max_drawdown"], ep["benchmark_max_drawdown"])
        given_up = difference(ep["benchmark_return"], ep["strategy_return"])
        body.append(f"<tr><th>{escape(ep['cycle'])}</th><td class=\"d\">{escape(ep['first_cut'])}</td>"
                    f"{cell(pct(ep.get(f'benchmark_return_before_{RUNUP_MONTHS}m'), True))}"
                    f"<td><span class=\"d\">{escape(ep['window_start'])} to</span> <span class=\"d\">"
                    f"{escape(ep['window_end'])}</span>{flag}</td>"
                    f"{cell(pct(ep['strategy_return'], True))}{cell(pct(ep['benchmark_return'], True))}"
                    f"{cell(pct(ep['strategy_max_drawdown'], True))}{cell(pct(ep['benchmark_max_drawdown'], True))}"
                    f"{judged(avoided, good_if_positive=True)}{judged(given_up, good_if_positive=False)}"
                    f"<td>{escape(found.outcomes.get(str(ep['cycle']), ''))}</td></tr>")
    return f'<table class="full">{head}<tbody>{"".join(body)}</tbody></table>'


def _baselines_table(saved: SavedRun) -> str:
    m = saved.metrics
    against = (m.get("verdict") or {}).get("against", {})
    own = {**m["strategy"], "time_in_iwm": _time_in_iwm(saved.equity)}
    rows = [(saved.label, own, None)] + [(LABELS.get(n, n), f, against.get(n)) for n, f in m.get("baselines", {}).items()]
    head = ("<thead><tr><th rowspan=\"2\"></th><th rowspan=\"2\">CAGR</th><th rowspan=\"2\">volatility</th>"
            "<th rowspan=\"2\">Sharpe</th><th rowspan=\"2\">max drawdown</th><th rowspan=\"2\">Calmar</th>"
            "<th rowspan=\"2\">time in IWM</th><th colspan=\"2\">Sharpe difference</th><th colspan=\"2\">CAGR "
            "difference</th><th rowspan=\"2\">P(strategy's Sharpe higher)</th><th rowspan=\"2\">verdict</th></tr>"
            "<tr><th>diff.</th><th>95% interval</th><th>diff.</th><th>95% interval</th></tr></thead>")
    body = []
    for label, f, v in rows:
        cells = (f"{cell(pct(f.get('cagr'), True))}{cell(pct(f.get('volatility')))}{cell(ratio(f.get('sharpe')))}"
                 f"{cell(pct(f.get('max_drawdown'), True))}{cell(ratio(f.get('calmar')))}"
                 f"{cell(pct(f.get('time_in_iwm')))}")
        if v is None:
            cells += '<td colspan="6" class="note">this run</td>'
        else:
            cells += (f"{cell(signed(v['sharpe_diff']))}{_interval(v['sharpe_diff_ci'], signed)}"
                      f"{cell(pp(v['cagr_diff']))}{_interval(v['cagr_diff_ci'], pp)}"
                      f"{cell(pct(v['p_better']))}<td>{escape(_verdict_text(v))}</td>")
        own_row = ' class="own"' if v is None else ""
        body.append(f"<tr{own_row}><th>{escape(label)}</th>{cells}</tr>")
    return f'<table class="full">{head}<tbody>{"".join(body)}</tbody></table>'


def _verdict_text(comparison: dict) -> str:
    """The verdict's word, or the sentence saying why there is none."""
    word = verdict_word(comparison)
    return comparison.get("sentence", word) if word == "undefined" else word


def _interval(bounds, fmt) -> str:
    return cell("n/a") if bounds is None else f'<td class="n">{escape(fmt(bounds[0]))} to {escape(fmt(bounds[1]))}</td>'


def _foresight_table(f: dict | None) -> str:
    if not f:
        return ""
    rt, orc = f["real_time"], f["oracle"]
    rows = [("CAGR", pct(rt["cagr"], True), pct(orc["cagr"], True), pp(f.get("cagr_gain"))),
            ("Sharpe", ratio(rt["sharpe"]), ratio(orc["sharpe"]), signed(difference(orc["sharpe"], rt["sharpe"]))),
            ("max drawdown", pct(rt["max_drawdown"], True), pct(orc["max_drawdown"], True),
             pp(difference(orc["max_drawdown"], rt["max_drawdown"])))]
    for cycle in list(rt.get("cycles", {}))[-MAX_CYCLES_SHOWN:]:
        a, b = rt["cycles"][cycle], orc.get("cycles", {}).get(cycle, {})
        rows.append((f"{cycle}: max drawdown", pct(a.get("max_drawdown"), True), pct(b.get("max_drawdown"), True),
                     pp(difference(b.get("max_drawdown"), a.get("max_drawdown")))))
        rows.append((f"{cycle}: return", pct(a.get("return"), True), pct(b.get("return"), True),
                     pp(difference(b.get("return"), a.get("return")))))
    body = "".join(f"<tr><th>{escape(k)}</th>{cell(a)}{cell(b)}{cell(c)}</tr>" for k, a, b, c in rows)
    return (f"<h3>The price of foresight</h3><table><thead><tr><th></th><th>real time (market pricing)</th>"
            f"<th>oracle: every cut known {escape(f.get('oracle_lead_days'))} days ahead</th><th>oracle - real time</th>"
            f"</tr></thead><tbody>{body}</tbody></table><p class=\"note\">The regime strategy run twice in this run, "
            "once expecting cuts as markets priced them and once from the actual calendar.</p>")


def _changed_table(saved: SavedRun) -> str:
    changed = changed_parameters(flatten(saved.config))
    if not changed:
        return "<h3>Parameters changed</h3><p>None: every parameter at its default (config/default.toml).</p>"
    body = "".join(f"<tr><th>{escape(key)}</th><td>{escape(setting(value))}</td><td>{escape(setting(default))}</td>"
                   f"<td>{escape(unit)}</td></tr>" for key, value, default, unit in changed)
    return (f"<h3>Parameters changed ({len(changed)})</h3><table><thead><tr><th>parameter</th><th>this run</th>"
            f"<th>default</th><th>unit</th></tr></thead><tbody>{body}</tbody></table>")


def _warnings(saved: SavedRun, found: Findings) -> str:
    m, run = saved.metrics, saved.metrics["run"]
    items = []
    if saved.oracle:
        items.append("<b>ORACLE mode</b>: regimes use the actual cut calendar (future information).")
    if run.get("backfilled_indices"):
        items.append("<b>Backfilled indices</b>: " + escape(run.get("backfilled_label")) + ".")
    for proxy in run.get("proxies", []):
        items.append(f"Proxy used: {escape(proxy)} (the proxy's prices stand in before the instrument existed).")
    for note in run.get("notes", []):
        items.append(escape(note))
    configured_end = str(saved.config.get("run", {}).get("end", "") or "")
    end = pd.Timestamp(run["end"])
    if configured_end:
        items.append(f"The run ends at run.end = {escape(configured_end)}, set in the configuration.")
    elif found.iwm_last > end:
        items.append(f"Data ends early: the run stops on {escape(run['end'])} because {escape(run['end_set_by'])} ends "
                     f"there, while IWM has prices to {found.iwm_last.date()}.")
    elif run.get("end_set_by") not in (None, "IWM"):
        items.append(f"The run's end ({escape(run['end'])}) is set by {escape(run['end_set_by'])}, the series that ends first.")
    for row in saved.episodes.itertuples():
        if str(getattr(row, "coverage", "full")) != "full":
            items.append(f"The {escape(row.cycle)} cycle is only partly covered: {escape(row.coverage)}.")
    rejected = m.get("rejected_orders", 0)
    if rejected:
        items.append(f"{count(rejected, 'order')} {'was' if rejected == 1 else 'were'} rejected by the broker "
                     "(not enough cash); see trades.csv.")
    if saved.cash_rate is None:
        items.append(f"No {CASH_RATE} (a run folder of an earlier version): alpha, beta and the rolling Sharpe "
                     "are measured over a zero risk-free rate.")
    table = found.attribution
    total, residual = table.attrs["total_pnl"], table.attrs["residual_usd"]
    if total and abs(residual / total) > RESIDUAL_TOLERANCE:
        items.append(f"The P&amp;L attribution misses the total by {usd(residual)}: strategy value is not "
                     "cash + positions + puts in equity.csv.")
    if not items:
        return ""
    return ('<div class="warnings" id="warnings"><b>Warnings</b><ul>' + "".join(f"<li>{i}</li>" for i in items)
            + "</ul></div>")


# ---- the tear sheet --------------------------------------------------------------------------

def _headline_table(saved: SavedRun) -> str:
    """What the baselines table does not show, for the strategy, IWM and SPY."""
    m = saved.metrics
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
    sides = _sides(saved)
    head = "<thead><tr><th></th>" + "".join(f"<th>{escape(label)}</th>" for _, label in sides) + "</tr></thead>"
    body = "".join("<tr><th>" + escape(name) + "</th>" + "".join(cell(fn(m[k])) for k, _ in sides) + "</tr>"
                   for name, fn in rows)
    return (f"<table>{head}<tbody>{body}</tbody></table><p class=\"note\">CAGR, volatility, Sharpe, max drawdown "
            "and Calmar are in the baselines table above. Ulcer index: root mean square drawdown.</p>")


def _top_drawdowns(saved: SavedRun) -> str:
    tables = []
    for key, label in _sides(saved):
        rows = "".join(f"<tr>{cell(pct(d.depth, True))}<td>{d.peak.date()}</td><td>{d.trough.date()}</td>"
                       f"<td>{d.recovery.date() if d.recovery is not None else 'not recovered'}</td>"
                       f"{cell(f'{d.days_under_water:,}')}</tr>"
                       for d in tearsheet.top_drawdowns(saved.equity[key])) \
            or '<tr><td colspan="5">no fall below a running high</td></tr>'
        tables.append(f"<div><table><caption>{escape(label)}</caption><thead><tr><th>depth</th><th>peak</th>"
                      f"<th>trough</th><th>recovered</th><th>days</th></tr></thead><tbody>{rows}</tbody></table></div>")
    return (f'<div class="row">{"".join(tables)}</div><p class="note">Separate spells below the running high, '
            "deepest first; days are calendar days from the peak to the recovery (or to the end of the run).</p>")


def _monthly_section(saved: SavedRun) -> str:
    eq = saved.equity
    months = tearsheet.monthly_returns(eq["strategy"])
    years = tearsheet.yearly_returns({k: eq[k] for k, _ in _sides(saved)})
    labels = dict(_sides(saved))
    head = (f'<thead><tr><th rowspan="2">year</th><th colspan="12">{escape(saved.label)}, month by month</th>'
            f'<th colspan="{len(years.columns)}">calendar year</th><th rowspan="2">strategy - IWM, year</th></tr><tr>'
            + "".join(f"<th>{m}</th>" for m in tearsheet.MONTHS)
            + "".join(f"<th>{escape(labels[k])}</th>" for k in years.columns) + "</tr></thead>")
    body = []
    for year, row in months.iterrows():
        cells = "".join(heat(row[m], MONTH_SCALE) for m in tearsheet.MONTHS)
        cells += "".join(heat(years.loc[year, k], YEAR_SCALE) for k in years.columns)
        cells += cell(pp(years.loc[year, "strategy"] - years.loc[year, "benchmark"]))
        body.append(f"<tr><th>{year}</th>{cells}</tr>")
    return (f'<section id="monthly-returns"><h2>Monthly and yearly returns</h2><table class="full">{head}<tbody>'
            f"{''.join(body)}</tbody></table><p class=\"note\">Months of {escape(saved.label)}; each month and year runs "
            "from the previous one's last close (the first from the run's first day, so the first and last are "
            f"partial); empty: outside the run. Colour: green gains, red losses, full at ±{MONTH_SCALE:.0%} a month "
            f"and ±{YEAR_SCALE:.0%} a year.</p></section>")


STATISTIC_NAMES = {"information_ratio": "information ratio", "tracking_error": "tracking error",
                   "time_in_market": "time in market", "hit_rate": "hit rate", "excess_kurtosis": "excess kurtosis",
                   "var_5": "daily VaR 5%", "cvar_5": "daily CVaR 5%"}
MONTH_SCALE, YEAR_SCALE = 0.08, 0.35  # the returns at which a heat-map cell is at its full colour


def _statistics_section(saved: SavedRun, stats: pd.DataFrame) -> str:
    formats = {"alpha": lambda x: pct(x, True), "beta": ratio, "information_ratio": signed,
               "tracking_error": pct, "time_in_market": pct, "hit_rate": pct, "skew": signed,
               "excess_kurtosis": ratio, "var_5": lambda x: pct(x, True, 2), "cvar_5": lambda x: pct(x, True, 2)}
    sides = [(k, label) for k, label in _sides(saved) if k in stats.columns]
    head = ("<thead><tr><th>statistic</th>" + "".join(f"<th>{escape(label)}</th>" for _, label in sides)
            + "<th>definition</th></tr></thead>")
    body = "".join(f"<tr><th>{escape(STATISTIC_NAMES.get(name, name))}</th>"
                   + "".join(cell(formats[name](stats.loc[name, k])) for k, _ in sides)
                   + f'<td class="note">{escape(tearsheet.STATISTICS[name])}</td></tr>' for name in stats.index)
    rf = "the T-bill rate the broker pays (cash_rate.csv)" if saved.cash_rate is not None else "a zero rate"
    return (f'<section id="statistics"><h2>Tear-sheet statistics against IWM</h2><table>{head}<tbody>{body}'
            f"</tbody></table><p class=\"note\">From daily simple returns; excess returns over {rf}. Also in "
            "tearsheet.csv. Definitions and where they differ from quantstats: analyzers/tearsheet.py.</p></section>")


# ---- details -----------------------------------------------------------------------------------

def _hedge_by_cycle(saved: SavedRun, episodes: pd.DataFrame) -> dict[str, tuple[float, float]]:
    """The puts' P&L (after spread and commission) inside each of `episodes`' windows: USD, and as a
    fraction of the strategy's value on the window's first day."""
    daily = daily_attribution(saved.equity, saved.trades, saved.contract_size)
    pnl = daily[PUTS] + daily[OPTION_COMMISSIONS]
    value = saved.equity["strategy"]
    out = {}
    for ep in episodes.itertuples():
        dollars = float(pnl[ep.window_start:ep.window_end].sum())
        out[str(ep.cycle)] = (dollars, dollars / float(value[ep.window_start:].iloc[0]))
    return out


def _cycles_table(episodes: pd.DataFrame) -> str:
    if episodes.empty:
        return "<p>No easing cycle falls inside the data.</p>"
    horizons = (6, 12, 24)
    head = ("<thead><tr><th rowspan=\"2\">cycle</th><th colspan=\"2\">peak → trough in window</th>"
            + "".join(f"<th colspan=\"2\">{k} months after the cut</th>" for k in horizons)
            + "<th rowspan=\"2\">regimes called (share of days)</th>"
            "<th rowspan=\"2\">average holdings</th></tr><tr><th>strategy</th><th>IWM</th>"
            + "<th>strategy</th><th>IWM</th>" * len(horizons) + "</tr></thead>")
    body = []
    for _, e in episodes.iterrows():
        cells = "".join(f'<td class="d">{escape(e[f"{side}_peak"])} →<br>{escape(e[f"{side}_trough"])}</td>'
                        for side in ("strategy", "benchmark"))
        for k in horizons:
            cells += cell(pct(e.get(f"strategy_return_{k}m"), True)) + cell(pct(e.get(f"benchmark_return_{k}m"), True))
        cells += f"<td>{escape(text_or_blank(e.get('regime_mix')))}</td><td>{escape(text_or_blank(e.get('holdings_mix')))}</td>"
        body.append(f"<tr><th>{escape(e['cycle'])}</th>{cells}</tr>")
    return (f'<table class="full">{head}<tbody>{"".join(body)}</tbody></table><p class="note">Drawdowns are '
            "measured inside each window; returns after the cut run from the close on the cut day; n/a = the data "
            "does not reach that far. Each cycle's return and drawdown in the window are in the answer above, its "
            "hedge P&amp;L in the put hedge section.</p>")


def _attribution_table(table: pd.DataFrame) -> str:
    body = "".join(f"<tr><td>{escape(r.component)}</td>{cell(usd(r.pnl_usd))}{cell(pct(r.share_of_total, True))}"
                   f"<td class=\"note\">{escape(r.includes)}</td></tr>" for r in table.itertuples())
    a = table.attrs
    body += (f'<tr class="total"><td>total P&amp;L</td>{cell(usd(a["total_pnl"]))}{cell("100.0%")}'
             f'<td class="note">final {usd(a["final_value"])} - initial {usd(a["initial_value"])}</td></tr>')
    return ("<table><thead><tr><th>P&amp;L component</th><th>USD</th><th>share of total</th><th>what it holds</th>"
            f"</tr></thead><tbody>{body}</tbody></table><p class=\"note\">ETF lines are valued at fill prices, so the "
            "slippage paid on ETF fills is inside them; the puts line includes the option bid-ask spread; costs are "
            "commissions only.</p>")


def _regime_share_table(m: dict) -> str:
    shares = m.get("regime_share") or {}
    if not shares:
        return ""
    body = "".join(f"<tr><td>{escape(k)}</td>{cell(pct(v))}</tr>"
                   for k, v in sorted(shares.items(), key=lambda kv: (-kv[1], kv[0])))
    return f"<table><thead><tr><th>regime called</th><th>share of days</th></tr></thead><tbody>{body}</tbody></table>"


def _hedge_tables(saved: SavedRun, table: pd.DataFrame, by_cycle: dict[str, tuple[float, float]]) -> str:
    h = saved.metrics.get("hedge", {})
    years = hedge_by_year(saved.equity, saved.trades, saved.contract_size)
    a = years.attrs
    puts = float(table.loc[table["component"] == PUTS, "pnl_usd"].sum())
    rows = [("option trades", f"{h.get('option_trades', 0):,}", ""),
            ("premium paid (incl. spread and commission)", usd(h.get("premium_paid")),
             bp(a["premium_bp_per_year"], signed=False)),
            ("sales and settlements received (after commission)", usd(h.get("proceeds_and_settlements")), ""),
            ("net option cash", usd(h.get("net_cash")), ""),
            ("option commissions", usd(h.get("commission_included")), ""),
            ("hedge P&L after spread and commission (incl. puts still held)", usd(float(years["pnl_usd"].sum())),
             bp(a["pnl_bp_per_year"])),
            ("puts P&L before commission (attribution)", usd(puts), ""),
            ("days with puts held", pct(a["days_held"]), ""),
            ("marked value of the puts on those days, mean", pct(a["mean_share_held"], digits=2) + " of value"
             if a["mean_share_held"] is not None else "n/a", "")]
    summary = "".join(f"<tr><th>{escape(k)}</th>{cell(v)}{cell(w)}</tr>" for k, v, w in rows)
    cycles = "".join(f"<tr><th>{escape(c)}</th>{cell(usd(dollars))}{cell(pct(share, True, 2))}</tr>"
                     for c, (dollars, share) in by_cycle.items())
    cycle_table = (f"<div><table><thead><tr><th>cycle</th><th>hedge P&amp;L in window</th><th>in % of value at the "
                   f"window's start</th></tr></thead><tbody>{cycles}</tbody></table></div>") if cycles else ""
    return (f'<div class="row"><div><table><thead><tr><th>the puts over the run</th><th>USD</th><th>bp of value a '
            f"year</th></tr></thead><tbody>{summary}</tbody></table></div>{cycle_table}</div><p class=\"note\">bp a year: each "
            "day's amount in basis points of the previous close's portfolio value, summed over the run and divided "
            "by its length in years.</p>")


def _claims_table(claims: pd.DataFrame) -> str:
    head = ("<thead><tr><th>claim</th><th>claimed</th><th>measured (peak to trough, total return)</th><th>verdict</th>"
            "<th>peak</th><th>trough</th><th>calendar-year return</th><th>dates used</th><th>note</th></tr></thead>")
    body = "".join(
        f"<tr><td>{escape(r.claim)}</td>{cell(pct(r.claimed, True))}{cell(pct(r.measured, True))}"
        f'<td class="verdict-{escape(r.verdict)}">{escape(r.verdict)}</td><td class="d">{escape(text_or_blank(r.peak))}</td>'
        f'<td class="d">{escape(text_or_blank(r.trough))}</td>{cell(pct(r.calendar_year_return, True))}'
        f"<td>{escape(text_or_blank(r.dates_used))}</td><td class=\"note\">{escape(text_or_blank(r.note))}</td></tr>"
        for r in claims.itertuples())
    return (f"<table>{head}<tbody>{body}</tbody></table><p class=\"note\">Measured on IWM's adjusted close (total "
            "return) from the data directory; a claim holds within 5 percentage points.</p>")


def _provenance(saved: SavedRun, iwm_last: pd.Timestamp) -> str:
    run = saved.metrics["run"]
    rows = [("strategy", f"{saved.label} ({run.get('strategy', 'fedcut')})"),
            ("first day", run["start"]), ("last day", run["end"]),
            ("end set by", f"{run.get('end_set_by', '')} (the required series that ends first)"),
            ("IWM prices in the data directory end", str(iwm_last.date())),
            ("oracle mode", "yes - ORACLE" if saved.oracle else "no"),
            ("configuration hash", run.get("config_hash", "")),
            ("proxies", "; ".join(run.get("proxies", [])) or "none"),
            ("notes", "; ".join(run.get("notes", [])) or "none")]
    body = "".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in rows)
    return f"<table>{body}</table>"


def _sides(saved: SavedRun) -> list[tuple[str, str]]:
    """(equity column, label) of the strategy, IWM and SPY, as far as the run has them."""
    labels = {"strategy": saved.label, **dict(SIDES[1:])}
    return [(k, labels[k]) for k, _ in SIDES if k in saved.metrics and k in saved.equity.columns]


def _time_in_iwm(equity: pd.DataFrame) -> float:
    return float((equity[f"{WEIGHT_PREFIX}IWM"] > 0).mean()) if f"{WEIGHT_PREFIX}IWM" in equity else 0.0


def _window_words(saved: SavedRun) -> str:
    analysis = saved.config.get("analysis", {})
    before, after = analysis.get("cycle_months_before", "?"), analysis.get("cycle_months_after", "?")
    return f"{escape(before)} months before the first cut to {escape(after)} after, clipped to the data"


def _embedded(png: Path, caption: str) -> str:
    return figure(png.stem, png.read_bytes(), caption)
