"""Downloads into the project's cache: yfinance for prices, FRED's public CSV for macro.

A refresh merges new observations into the history the cache holds and never replaces a
longer history with a shorter download (FRED now serves only three years of the HY OAS).
An empty or partial download is a failure, not data. Files are written to a temporary name,
re-read through the validating readers, then renamed into place.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import urllib.request
import warnings
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from fedcut.core.errors import DataError
from fedcut.data import readers
from fedcut.data.catalog import INSTRUMENTS

FRED_URL = "https://fred.stlouisfed.org/graph/fredgraph.csv?id={series_id}"
YAHOO_COLUMNS = ["Open", "High", "Low", "Close", "Adj Close", "Volume"]
HTTP_TIMEOUT_S = 30
REASON_CHARS = 200  # yfinance's failure reason is cut to this length in the one-line error


def http_get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=HTTP_TIMEOUT_S) as response:  # noqa: S310 (fixed https URL)
        return response.read()


def yahoo_download(symbol: str) -> pd.DataFrame:
    import yfinance as yf

    return yf.download(symbol, period="max", auto_adjust=False, multi_level_index=False, progress=False, actions=False)


class _Reasons(logging.Handler):
    """Keeps the messages yfinance logs about a failure, so they join the one-line error instead of
    being printed before it."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.WARNING:
            self.messages += [line.strip() for line in record.getMessage().splitlines() if line.strip()]


@contextlib.contextmanager
def _quiet_yfinance():
    """Silence what yfinance and pandas print during a download (log lines, deprecation warnings):
    a failure is then reported once, as the DataError, with yfinance's last reason in it."""
    logger = logging.getLogger("yfinance")
    reasons = _Reasons()
    saved = logger.handlers[:], logger.propagate
    logger.handlers, logger.propagate = [reasons], False
    try:
        with warnings.catch_warnings(record=True):  # recorded, never shown: yfinance's own filters cannot print
            warnings.simplefilter("ignore")
            yield reasons
    finally:
        logger.handlers, logger.propagate = saved


def _reason(reasons: _Reasons) -> str:
    return f": {reasons.messages[-1][:REASON_CHARS]}" if reasons.messages else ""


def download_prices(ticker: str, download: Callable[[str], pd.DataFrame] = yahoo_download) -> pd.DataFrame:
    """Yahoo daily history in the file format's columns; raises DataError if empty or partial."""
    inst = INSTRUMENTS.get(ticker)
    symbol = inst.yahoo if inst and inst.yahoo else ticker
    with _quiet_yfinance() as reasons:
        try:
            frame = download(symbol)
        except Exception as exc:  # yfinance raises many kinds; all mean "no data"
            raise DataError(
                f"yfinance download of {symbol} failed ({exc.__class__.__name__}){_reason(reasons)}"
            ) from None
    if frame is None or len(frame) == 0:
        raise DataError(f"yfinance returned no rows for {symbol}{_reason(reasons)}")
    if isinstance(frame.columns, pd.MultiIndex):
        frame = frame.droplevel(1, axis=1) if frame.columns.nlevels > 1 else frame
    cols = [c for c in YAHOO_COLUMNS if c in frame.columns]
    if "Close" not in cols:
        raise DataError(f"yfinance frame for {symbol} has no Close column")
    frame = frame[cols]
    if frame[[c for c in cols if c != "Volume"]].isna().all(axis=1).any():
        raise DataError(f"yfinance frame for {symbol} is partial (rows without prices)")
    frame.index = pd.DatetimeIndex(frame.index).tz_localize(None).normalize()
    frame.index.name = "Date"
    return frame


def download_macro(series_id: str, get: Callable[[str], bytes] = http_get) -> pd.DataFrame:
    """FRED's CSV for one series as a `DATE,<ID>` frame of text values."""
    try:
        body = get(FRED_URL.format(series_id=series_id))
    except Exception as exc:
        raise DataError(f"FRED download of {series_id} failed ({exc.__class__.__name__})") from None
    try:
        frame = pd.read_csv(io.BytesIO(body), dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, ValueError):
        raise DataError(f"FRED answer for {series_id} is not a CSV") from None
    if len(frame.columns) != 2 or frame.columns[1] != series_id or len(frame) == 0:
        raise DataError(f"FRED answer for {series_id} has no {series_id} column or no rows")
    frame.columns = ["DATE", series_id]
    return frame.set_index("DATE")


def merge_history(cached: pd.DataFrame | None, fresh: pd.DataFrame, name: str) -> pd.DataFrame:
    """Fresh values win on dates both hold; dates only the cache holds are kept."""
    if cached is None:
        return fresh.sort_index()
    if fresh.index.min() > cached.index.min() or len(fresh) < len(cached):
        warnings.warn(
            f"{name}: download covers {fresh.index.min()}..{fresh.index.max()} ({len(fresh)} rows), "
            f"less than the cache's {cached.index.min()}..{cached.index.max()} ({len(cached)} rows); "
            "keeping the cached history and adding the new observations",
            readers.DataWarning,
            stacklevel=2,
        )
    return fresh.combine_first(cached).sort_index()


def refresh(
    kind: str,
    name: str,
    cache_dir: Path,
    download_prices_fn: Callable[[str], pd.DataFrame] | None = None,
    get: Callable[[str], bytes] | None = None,
) -> Path:
    """Download `name` and merge it into `cache_dir/<kind>/<name>.csv`; returns the path."""
    target = Path(cache_dir) / kind / f"{name}.csv"
    if kind == "prices":
        fresh = download_prices(name, download_prices_fn or yahoo_download)
        fresh.index = fresh.index.strftime("%Y-%m-%d")
        cached = pd.read_csv(target, index_col=0, dtype=str, keep_default_na=False) if target.is_file() else None
        if cached is not None:
            fresh = fresh.astype(str)
            fresh = fresh[[c for c in cached.columns if c in fresh.columns]]
    elif kind == "macro":
        fresh = download_macro(name, get or http_get)
        cached = pd.read_csv(target, index_col=0, dtype=str, keep_default_na=False) if target.is_file() else None
    else:
        raise DataError(f"unknown data kind {kind!r}")
    merged = merge_history(cached, fresh, name)
    merged.index.name = "Date" if kind == "prices" else "DATE"
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".csv.part")
    merged.to_csv(tmp)
    try:
        (readers.read_price_csv if kind == "prices" else readers.read_fred_csv)(tmp)
    except DataError as exc:
        tmp.unlink(missing_ok=True)
        raise DataError(f"download of {name} did not validate: {exc}") from None
    os.replace(tmp, target)
    return target
