"""The run folder: every file a run writes, written and read back by the same definitions.

`write(folder, data)` writes a run's `RunData`; `read(folder)` reads a folder back into an equal
`RunData`, checking what it reads: a missing, malformed or damaged file is one DataError naming
it, never a traceback. A folder someone sent may hold anything, so text read from it is only ever
shown escaped, and no file is read through a symbolic link (which could point anywhere, e.g. at a
key to be embedded in a page). Numbers are written with `SIGNIFICANT_DIGITS` digits and dates as
YYYY-MM-DD; `stored` brings a computed run to exactly what its files will hold, so whatever is
made from it in memory (the report) is what a later `read` of the folder makes again.

The report writes its own files into the folder (`REPORT_FILES`, `fedcut.report.page`); they are
outputs, never read back. What the report reads besides the run (IWM's prices for the claims, NBER's
recession months for each cycle's outcome) is stored in the folder too (`iwm.csv`, `usrec.csv`), so
`fedcut report` re-renders a folder moved to a machine without the data directory.
"""

from __future__ import annotations

import json
import math
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from fedcut.analyzers.attribution import CONTRACT_SIZE, WEIGHT_PREFIX
from fedcut.analyzers.episodes import RUNUP_MONTHS
from fedcut.analyzers.verdict import HEADLINE
from fedcut.core.errors import DataError
from fedcut.core.files import writing
from fedcut.core.params import iso_date
from fedcut.data.benchmark import Benchmark, of_run
from fedcut.strategies.baselines import label_of

SIGNIFICANT_DIGITS = 10  # every number in a CSV file; metrics.json keeps each float exactly
FLOAT_FORMAT = f"%.{SIGNIFICANT_DIGITS}g"
DATE_FORMAT = "%Y-%m-%d"
CONFIG, METRICS, PLOTS = "config.toml", "metrics.json", "plots"
CURVES = ("strategy", "benchmark", "spy")  # equity.csv's portfolio values, each a section of metrics.json
PICTURES = ("equity", "underwater", "rolling", "holdings", "cycles", "hedge", "regimes")  # plots/<name>.png
REPORT_TABLES = ("claims.csv", "attribution.csv", "tearsheet.csv")
REPORT_FILES = ("report.html", *REPORT_TABLES, *(f"{PLOTS}/{p}.png" for p in PICTURES))
CYCLE = re.compile(r"\d{4}(-\d{2}-\d{2})?")  # a cycle is named by its first cut's year, or date when two share a year
TICKER = re.compile(r"[A-Za-z0-9.^-]{1,15}")  # plain text in a picture's legend (no $...$ maths)


@dataclass(frozen=True)
class Table:
    """One CSV file: the columns a reader needs (`required`), and which hold dates YYYY-MM-DD, numbers
    (also every column starting with one of `number_prefixes`) and text. A dated `index` column becomes
    the frame's index; `dates` are parsed, or only checked when not `parse_dates` (episodes.csv keeps
    its dates as text). `only_required`: the reader keeps the required columns and ignores the rest."""

    name: str
    required: tuple[str, ...]
    dates: tuple[str, ...] = ()
    numbers: tuple[str, ...] = ()
    text: tuple[str, ...] = ()
    number_prefixes: tuple[str, ...] = ()
    index: str | None = None
    parse_dates: bool = True
    only_required: bool = False


EQUITY = Table(
    "equity.csv",
    ("date", "strategy", "benchmark", "regime", "cash", "option_value"),
    dates=("date",),
    numbers=(*CURVES, "cash", "option_value", "option_delta"),
    number_prefixes=(WEIGHT_PREFIX,),
    index="date",
)
TRADES = Table(
    "trades.csv",
    ("date", "instrument", "action", "quantity", "price", "value", "commission", "strike"),
    dates=("date",),
    numbers=("quantity", "price", "value", "commission", "strike"),
)
EPISODES = Table(
    "episodes.csv",
    (
        "cycle",
        "first_cut",
        "window_start",
        "window_end",
        "strategy_max_drawdown",
        "benchmark_max_drawdown",
        "strategy_peak",
        "strategy_trough",
        "benchmark_peak",
        "benchmark_trough",
        "strategy_return",
        "benchmark_return",
    ),
    dates=("first_cut", "window_start", "window_end"),
    text=("cycle",),
    parse_dates=False,
    numbers=(
        "strategy_max_drawdown",
        "benchmark_max_drawdown",
        "strategy_return",
        "benchmark_return",
        *(f"{side}_return_{k}m" for side in CURVES[:2] for k in (6, 12, 24)),
        *(f"{side}_return_before_{RUNUP_MONTHS}m" for side in CURVES[:2]),
    ),
    number_prefixes=(WEIGHT_PREFIX,),
)
CASH_RATE = Table("cash_rate.csv", ("date", "cash_rate"), dates=("date",), numbers=("cash_rate",), index="date")
# signals.csv holds every indicator (the signals layer's columns); the report draws these.
SIGNALS = Table(
    "signals.csv",
    ("date", "regime", "capitulated", "iwm"),
    dates=("date",),
    numbers=("iwm",),
    index="date",
    only_required=True,
)
# The report's own inputs, copied from the data directory when the run is written (see the module's doc).
IWM_PRICES = Table(
    "iwm.csv", ("date", "adj_close", "close"), dates=("date",), numbers=("adj_close", "close"), index="date"
)
RECESSIONS = Table("usrec.csv", ("date", "USREC"), dates=("date",), numbers=("USREC",), index="date")
BASELINES = Table(
    "baselines.csv",
    ("name", "label", "role"),
    text=("name", "label", "role"),
    numbers=(*HEADLINE, "time_in_iwm"),
    number_prefixes=("cycle_",),
)
OPTIONAL = (CASH_RATE, BASELINES, IWM_PRICES, RECESSIONS)  # a run folder of an earlier version lacks these

# What metrics.json must hold for the report: numbers where it computes, dates where it compares.
REQUIRED_SECTIONS = ("run", "hedge", "strategy", "benchmark")
CURVE_NUMBERS = (
    "final_value",
    "total_return",
    "cagr",
    "volatility",
    "sharpe",
    "sortino",
    "calmar",
    "max_drawdown",
    "ulcer_index",
    "worst_month",
    "worst_year",
    "annual_turnover",
)
CURVE_DAYS = ("max_drawdown_days", "longest_drawdown_days")
HEDGE_NUMBERS = ("option_trades", "premium_paid", "proceeds_and_settlements", "net_cash", "commission_included")


@dataclass(frozen=True)
class RunData:
    """A run folder's files in memory: what `write` writes and `read` returns."""

    config_text: str  # config.toml
    config: dict  # config.toml, parsed
    metrics: dict  # metrics.json
    equity: pd.DataFrame  # equity.csv, dated index
    trades: pd.DataFrame
    episodes: pd.DataFrame  # no columns when no easing cycle falls inside the run
    signals: pd.DataFrame  # signals.csv, dated index (`read` keeps SIGNALS.required)
    cash_rate: pd.Series | None = None  # annual, continuous, per day of equity; None in an older folder
    baselines: pd.DataFrame | None = None
    iwm: pd.DataFrame | None = None  # iwm.csv: IWM's adj_close and close; None in an older folder
    usrec: pd.Series | None = None  # usrec.csv: NBER's recession months; None in an older folder or without USREC

    @property
    def oracle(self) -> bool:
        return bool(self.metrics["run"].get("oracle", False))

    @property
    def label(self) -> str:
        """The run's own strategy, as the pages name it."""
        return label_of(str(self.metrics["run"].get("strategy", "fedcut")), self.benchmark)

    @property
    def benchmark(self) -> Benchmark:
        """What the run's buy-and-hold benchmark is, and its name (`data.benchmark`)."""
        return of_run(self.metrics["run"])

    @property
    def risk_free(self) -> pd.Series | float:
        return self.cash_rate if self.cash_rate is not None else 0.0

    @property
    def contract_size(self) -> int:
        return int(self.config.get("hedge", {}).get("contract_size", CONTRACT_SIZE))

    @property
    def first_cuts(self) -> list[str]:
        """The first cut of each easing cycle the run holds."""
        return list(self.episodes["first_cut"]) if len(self.episodes) else []


def stored(
    config_text: str,
    metrics: dict,
    equity: pd.DataFrame,
    trades: pd.DataFrame,
    episodes: pd.DataFrame,
    signals: pd.DataFrame,
    cash_rate: pd.Series | None = None,
    baselines: pd.DataFrame | None = None,
    iwm: pd.DataFrame | None = None,
    usrec: pd.Series | None = None,
) -> RunData:
    """A computed run as its folder will hold it: every float in a CSV file at the files' precision
    (`stored_numbers`), metrics.json as JSON reads it back (keys sorted, lists for tuples)."""

    def frame(table: pd.DataFrame | None) -> pd.DataFrame | None:
        if table is None:
            return None
        floats = [c for c in table.columns if table[c].dtype == np.float64]
        return table.assign(**{c: stored_numbers(table[c].to_numpy()) for c in floats}) if floats else table

    rate = (
        None
        if cash_rate is None
        else pd.Series(stored_numbers(cash_rate.to_numpy()), index=cash_rate.index, name=CASH_RATE.required[1])
    )
    recessions = (
        None
        if usrec is None
        else pd.Series(stored_numbers(usrec.to_numpy()), index=usrec.index, name=RECESSIONS.required[1])
    )
    prices = None if iwm is None else frame(iwm[list(IWM_PRICES.required[1:])].astype(float))
    return RunData(
        config_text,
        _config(config_text, Path(CONFIG)),
        json.loads(_json(metrics)),
        frame(equity),
        frame(trades),
        frame(episodes),
        frame(signals),
        rate,
        frame(baselines),
        prices,
        recessions,
    )


def stored_numbers(values: np.ndarray) -> np.ndarray:
    """Floats as the files hold them: each the double nearest its FLOAT_FORMAT text, which is what
    reading the file gives back (NaN, infinities and zeros as they are).

    x * 10**k, rounded to a whole number, is the text's digits when 10**k is exact (|k| <= 22) and x
    is not within rounding error of a tie between two texts; the few others are formatted one by one.
    """
    x = np.asarray(values, dtype=float)
    with np.errstate(all="ignore"):
        a = np.abs(x)
        k = SIGNIFICANT_DIGITS - 1 - np.floor(np.log10(a))  # brings a to [10**(digits-1), 10**digits)
        scale = 10.0 ** np.abs(k)
        scaled = np.where(k >= 0, a * scale, a / scale)
        digits = np.rint(scaled)
        rounded = np.copysign(np.where(k >= 0, digits / scale, digits * scale), x)
        fast = (
            (np.abs(k) <= 22)
            & (scaled >= 10.0 ** (SIGNIFICANT_DIGITS - 1))
            & (scaled < 10.0**SIGNIFICANT_DIGITS)
            & (np.abs(scaled - np.floor(scaled) - 0.5) > 1e-5)
        )
    out = np.where(fast, rounded, x)
    for i in np.flatnonzero(~fast & np.isfinite(x) & (x != 0)):
        out[i] = float(FLOAT_FORMAT % x[i])
    return out


# ---- writing ---------------------------------------------------------------------------------


def write(folder: Path, data: RunData) -> None:
    """Every file of `data` into `folder` (which exists), each write failure naming its file."""
    folder = Path(folder)
    with writing(folder / CONFIG):
        (folder / CONFIG).write_text(data.config_text)
    with writing(folder / METRICS):
        (folder / METRICS).write_text(_json(data.metrics))
    for table, frame in (
        (EQUITY, data.equity),
        (TRADES, data.trades),
        (EPISODES, data.episodes),
        (SIGNALS, data.signals),
        (CASH_RATE, data.cash_rate),
        (BASELINES, data.baselines),
        (IWM_PRICES, data.iwm),
        (RECESSIONS, data.usrec),
    ):
        if frame is not None:
            _write_table(folder / table.name, table, frame)


def _json(metrics: dict) -> str:
    return json.dumps(metrics, indent=2, sort_keys=True, allow_nan=False) + "\n"


def _write_table(path: Path, table: Table, frame: pd.DataFrame | pd.Series) -> None:
    """`frame` as the CSV file of `table`: its index a column, dates YYYY-MM-DD, numbers FLOAT_FORMAT."""
    if table.index:
        frame = frame.rename_axis(table.index).reset_index()
    if table.parse_dates and len(frame):  # dates as text first: to_csv's date_format takes three times as long
        frame = frame.assign(**{column: frame[column].dt.strftime(DATE_FORMAT) for column in table.dates})
    with writing(path):  # date_format: signals.csv's other dates
        frame.to_csv(path, index=False, float_format=FLOAT_FORMAT, date_format=DATE_FORMAT)


# ---- reading ---------------------------------------------------------------------------------


def read(folder: Path) -> RunData:
    """Read the run folder back, checking every file it reads (see the module's doc)."""
    folder = Path(folder)
    required = (METRICS, EQUITY.name, TRADES.name, EPISODES.name, CONFIG, SIGNALS.name)
    for name in (*required, *(t.name for t in OPTIONAL), PLOTS):
        if (folder / name).is_symlink():
            raise DataError(
                f"{folder / name}: a symbolic link; the report reads and writes only the run folder's own files"
            )
    missing = [name for name in required if not (folder / name).is_file()]
    if missing:
        raise DataError(f"{folder}: not a complete run folder (no {missing[0]})")
    if (folder / PLOTS).exists() and not (folder / PLOTS).is_dir():
        raise DataError(f"{folder / PLOTS}: not a folder")
    equity = _equity(folder / EQUITY.name)
    trades = _table(folder / TRADES.name, TRADES)
    if (folder / EPISODES.name).read_bytes().strip():
        episodes = _table(folder / EPISODES.name, EPISODES)
        _check_episodes(episodes, equity.index, folder / EPISODES.name)
    else:  # no easing cycle falls inside the run
        episodes = pd.DataFrame()
    config_text = _text_file(folder / CONFIG)
    config = _config(config_text, folder / CONFIG)
    try:
        metrics = json.loads(_text_file(folder / METRICS))
    except ValueError as exc:
        raise DataError(f"{folder / METRICS}: not valid JSON ({exc})") from None
    except RecursionError:
        raise DataError(f"{folder / METRICS}: nested too deeply to be a run's metrics") from None
    _check_metrics(metrics, folder / METRICS)
    signals = _table(folder / SIGNALS.name, SIGNALS)
    _check_dates(signals.index, folder / SIGNALS.name)
    if signals["capitulated"].dtype != bool:
        raise DataError(f"{folder / SIGNALS.name}: capitulated must be True or False on every row")
    cash_rate = _cash_rate(folder / CASH_RATE.name, equity.index) if (folder / CASH_RATE.name).is_file() else None
    baselines = _table(folder / BASELINES.name, BASELINES) if (folder / BASELINES.name).is_file() else None
    iwm = _dated(folder / IWM_PRICES.name, IWM_PRICES)
    usrec = _dated(folder / RECESSIONS.name, RECESSIONS)
    return RunData(
        config_text,
        config,
        metrics,
        equity,
        trades,
        episodes,
        signals,
        cash_rate,
        baselines,
        iwm,
        None if usrec is None else usrec["USREC"],
    )


def _dated(path: Path, table: Table) -> pd.DataFrame | None:
    """An optional dated table of the report's inputs, its dates checked; None when the folder has none."""
    if not path.is_file():
        return None
    frame = _table(path, table)
    _check_dates(frame.index, path)
    return frame


def _equity(path: Path) -> pd.DataFrame:
    equity = _table(path, EQUITY)
    if len(equity) < 2:
        raise DataError(f"{path}: needs two or more rows with dates in increasing order")
    _check_dates(equity.index, path)
    for column in equity.columns:
        if column.startswith(WEIGHT_PREFIX) and not TICKER.fullmatch(column.removeprefix(WEIGHT_PREFIX)):
            raise DataError(f"{path}: column {column!r} does not name a ticker")
    for column in CURVES:  # portfolio values, drawn on a log scale
        if column in equity:
            bad = ~((equity[column] > 0) & (equity[column] < math.inf))
            if bad.any():
                row = int(bad.to_numpy().argmax())
                raise DataError(
                    f"{path}: row {row + 2}: {column} {equity[column].iloc[row]} is not a positive portfolio value"
                )
    return equity


def _check_dates(days: pd.DatetimeIndex, path: Path) -> None:
    if not days.is_monotonic_increasing or days.has_duplicates:
        raise DataError(f"{path}: needs two or more rows with dates in increasing order")


def _cash_rate(path: Path, days: pd.DatetimeIndex) -> pd.Series:
    """cash_rate.csv on the equity curve's days."""
    rate = _table(path, CASH_RATE)["cash_rate"]
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


def _table(path: Path, table: Table) -> pd.DataFrame:
    """The CSV file of `table`, its dates, numbers and text checked and typed (see `Table`)."""
    try:
        frame = pd.read_csv(
            path,
            dtype=dict.fromkeys(table.text, str),
            usecols=(lambda c: c in table.required) if table.only_required else None,
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, ValueError) as exc:
        raise DataError(f"{path}: not a readable CSV table ({' '.join(str(exc).split())})") from None
    absent = [c for c in table.required if c not in frame.columns]
    if absent:
        raise DataError(f"{path}: no {absent[0]!r} column")
    for column in (*table.numbers, *(c for c in frame.columns if c.startswith(table.number_prefixes))):
        if column in frame.columns and not pd.api.types.is_numeric_dtype(frame[column]):
            values = pd.to_numeric(frame[column], errors="coerce")
            bad = values.isna() & frame[column].notna()
            if bad.any():
                row = int(bad.to_numpy().argmax())
                raise DataError(f"{path}: row {row + 2}: {column} {frame[column].iloc[row]!r} is not a number")
            frame[column] = values
    for column in table.dates:
        parsed = pd.to_datetime(frame[column], format=DATE_FORMAT, errors="coerce")
        bad = parsed.isna() & frame[column].notna()
        if bad.any():
            row = int(bad.to_numpy().argmax())
            raise DataError(f"{path}: row {row + 2}: {column} {frame[column].iloc[row]!r} is not a date YYYY-MM-DD")
        if table.parse_dates:
            frame[column] = parsed
    return frame.set_index(table.index) if table.index else frame


def _check_episodes(episodes: pd.DataFrame, days: pd.DatetimeIndex, path: Path) -> None:
    for row, ep in enumerate(episodes.itertuples(), 2):
        if not CYCLE.fullmatch(str(ep.cycle)):
            raise DataError(f"{path}: row {row}: cycle {ep.cycle!r} is not the year (or date) of a first cut")
        start, end = pd.Timestamp(ep.window_start), pd.Timestamp(ep.window_end)
        if pd.isna(start) or pd.isna(end) or not (start <= end and start <= days[-1] and end >= days[0]):
            raise DataError(f"{path}: row {row}: window {ep.window_start}..{ep.window_end} is not inside the run")


def _config(text: str, path: Path) -> dict:
    try:
        config = tomllib.loads(text)
    except ValueError as exc:  # TOMLDecodeError, or an integer of more than 4300 digits
        raise DataError(f"{path}: not valid TOML ({exc})") from None
    for section, body in config.items():
        if not isinstance(body, dict):
            raise DataError(f"{path}: {section!r} is not a [section]")
    size = config.get("hedge", {}).get("contract_size", CONTRACT_SIZE)
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise DataError(f"{path}: hedge.contract_size must be a whole number of shares, got {size!r}")
    return config


def _check_metrics(m, path: Path) -> None:
    """The fields the report shows: numbers where it computes, dates where it compares, text anywhere."""

    def fail(key: str, problem: str):
        raise DataError(f"{path}: {key} {problem}" if key else f"{path}: {problem}")

    def number(value, key: str, whole: bool = False) -> None:
        if value is None and not whole:
            return
        if isinstance(value, bool) or not isinstance(value, int if whole else (int, float)):
            fail(key, f"must be a {'whole number' if whole else 'number'}, got {value!r}")

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

    if not isinstance(m, dict):
        fail("", "must hold a JSON object")
    for name in ("run", "hedge", *CURVES):
        if name in m or name in REQUIRED_SECTIONS:
            section(m.get(name), name)
    for curve in (k for k in CURVES if k in m):
        for key in (*CURVE_NUMBERS, *CURVE_DAYS):
            if key in m[curve]:
                number(m[curve][key], f"{curve}.{key}", whole=key in CURVE_DAYS)
            elif key != "annual_turnover":
                fail(f"{curve}.{key}", "is missing")
    for key in HEDGE_NUMBERS:
        if key in m["hedge"]:
            number(m["hedge"][key], f"hedge.{key}", whole=key == "option_trades")
    number(m.get("rejected_orders", 0), "rejected_orders", whole=True)
    for regime, share in section(m.get("regime_share", {}), "regime_share").items():
        number(share, f"regime_share.{regime}")
    run = m["run"]
    for key in ("start", "end"):
        iso_date(run.get(key), f"{path}: run.{key}")
    for key in ("proxies", "notes"):
        if not isinstance(run.get(key, []), list) or not all(isinstance(v, str) for v in run.get(key, [])):
            fail(f"run.{key}", "must be a list of texts")
    if not isinstance(run.get("oracle", False), bool):
        fail("run.oracle", f"must be true or false, got {run['oracle']!r}")
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
                    number(
                        section(c, f"foresight.{side}.cycles.{cycle}").get(key),
                        f"foresight.{side}.cycles.{cycle}.{key}",
                    )
