"""Readers for the Yahoo and FRED CSV shapes and the FOMC calendar, returning validated pandas objects.

A bad file never loads partially: every check runs on the whole file first, and the first
problem found raises `DataError` with the file, the row or date, and the problem. Beyond the
format, values must be plausible (`data/plausible.py`: ranges, spikes, jumps) and a FRED
file must hold the series its name says.
"""

from __future__ import annotations

import errno
import io
import os
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from fedcut.core.errors import DataError
from fedcut.data.catalog import (
    FRENCH_RETURN,
    INSTRUMENTS,
    MACRO,
    MARKET_FRED,
    MAX_MOVE,
    RATE_RANGE,
    ROMER_COLUMNS,
    SPIKE_MOVE,
    YIELD_FILES,
    Instrument,
    Plausible,
)
from fedcut.data.plausible import check_moves, check_range

PRICE_COLUMNS = {
    "Open": "open",
    "High": "high",
    "Low": "low",
    "Close": "close",
    "Adj Close": "adj_close",
    "Volume": "volume",
}
# The three Yahoo shapes found in the wild (Volume optional on index files).
PRICE_SHAPES = (
    ("Date", "Open", "High", "Low", "Close", "Adj Close", "Volume"),
    ("Date", "Open", "High", "Low", "Close", "Volume"),
    ("Date", "Adj Close"),
    ("Date", "Close"),
    ("Date", "Close", "Volume"),
)
MAX_GAP_DAYS = 7  # a gap longer than a week in a daily price file is warned about
# Real closures longer than that: the 1933 bank holiday (the S&P 500 index, 1933-03-03..03-15).
KNOWN_CLOSURES = (pd.Timestamp("1933-03-15"),)
FOMC_KINDS = ("scheduled", "unscheduled")


class DataWarning(UserWarning):
    """Something in a file is unusual but not wrong (a long gap)."""


def read_price_csv(path: Path | str, today: pd.Timestamp | None = None) -> pd.DataFrame:
    """A Yahoo daily price file as a frame indexed by date with lower-case columns.

    Accepts `Date,Open,High,Low,Close,Adj Close,Volume`, `Date,Open,High,Low,Close,Volume`,
    `Date,Adj Close`, `Date,Close[,Volume]`. Rows whose price fields are all empty are dropped
    before the first and after the last priced row (a day not yet closed); inside the series
    they are a hole, and an error like a row with some fields empty (a download with rows
    without prices is refused as partial, `data.fetch`, so a hole is never a holiday).
    """
    path = Path(path)
    raw = _read_text_csv(path, numbers=())
    header = tuple(raw.columns)
    if header not in PRICE_SHAPES:
        raise DataError(
            f"{path}: unexpected columns {','.join(header)}; expected one of "
            + " | ".join(",".join(s) for s in PRICE_SHAPES)
        )
    dates = _parse_dates(raw["Date"], path, today)
    values = raw.drop(columns="Date").rename(columns=PRICE_COLUMNS)
    numeric = _to_numeric(values, path, dates)
    price_cols = [c for c in numeric.columns if c != "volume"]
    empty = numeric[price_cols].isna().all(axis=1).to_numpy()
    priced = np.flatnonzero(~empty)
    inside = empty.copy()
    if len(priced):
        inside[: priced[0]] = False
        inside[priced[-1] + 1 :] = False
    if inside.any():
        i = np.flatnonzero(inside)
        run = f" ({len(i)} rows without prices)" if len(i) > 1 else ""
        raise DataError(f"{path}: missing price on {pd.Timestamp(dates[i[0]]).date()} inside the series{run}")
    numeric, dates = numeric[~empty], dates[~empty]
    _check_dates(dates, path)
    frame = numeric.set_axis(pd.DatetimeIndex(dates, name="date"))
    holes = frame[price_cols].isna().any(axis=1)
    if holes.any():
        at = frame.index[holes.to_numpy()][0].date()
        raise DataError(f"{path}: missing price on {at} inside the series")
    name = series_name(path)
    if name.upper() in YIELD_FILES:  # yields in %: zero or negative is possible, moves are not returns
        for col in price_cols:
            check_range(frame[col], RATE_RANGE, path, col)
    else:
        bad = (frame[price_cols] <= 0).any(axis=1)
        if bad.any():
            at = frame.index[bad.to_numpy()][0].date()
            raise DataError(f"{path}: non-positive price on {at}")
        inst = INSTRUMENTS.get(name.upper(), Instrument(name, "", ""))
        for col in price_cols:
            check_range(frame[col], inst.valid, path, col)
        for col in (c for c in ("close", "adj_close") if c in frame):
            check_moves(frame[col], inst.spike_move, inst.max_move, path, col)
    if {"open", "high", "low", "close"} <= set(frame.columns):
        tol = 1e-6 * frame["close"].abs()
        off = (frame["high"] + tol < frame[["open", "close", "low"]].max(axis=1)) | (
            frame["low"] - tol > frame[["open", "close", "high"]].min(axis=1)
        )
        if off.any():
            at = frame.index[off.to_numpy()][0].date()
            raise DataError(f"{path}: OHLC inconsistent on {at} (high below or low above open/close)")
    if len(frame) == 0:
        raise DataError(f"{path}: no data rows")
    gaps = frame.index.to_series().diff().dt.days
    gaps[gaps.index.isin(KNOWN_CLOSURES)] = 0
    if (gaps > MAX_GAP_DAYS).any():
        at = gaps.idxmax()
        warnings.warn(f"{path}: {int(gaps.max())}-day gap before {at.date()}", DataWarning, stacklevel=2)
    return frame


def read_fred_csv(path: Path | str, today: pd.Timestamp | None = None) -> pd.Series:
    """A FRED `DATE,<ID>` file as a float Series named by the series id; missing values
    (`.`, empty, or an absent row) are simply not observations and are dropped."""
    path = Path(path)
    raw = _read_text_csv(path, numbers=(".",))
    if len(raw.columns) != 2 or raw.columns[0].upper() not in ("DATE", "OBSERVATION_DATE"):
        raise DataError(f"{path}: unexpected columns {','.join(raw.columns)}; expected DATE,<SERIES_ID>")
    series_id = raw.columns[1]
    if series_id.upper() != series_name(path).upper():
        raise DataError(
            f"{path}: the header names series {series_id}, not {series_name(path)} as the file name "
            f"says (expected DATE,{series_name(path)}): a file saved under the wrong name"
        )
    dates = _parse_dates(raw.iloc[:, 0], path, today)
    values = _to_numeric(raw.iloc[:, [1]], path, dates, missing=(".",))[series_id]
    _check_dates(dates, path)
    out = pd.Series(values.to_numpy(), index=pd.DatetimeIndex(dates, name="date"), name=series_id).dropna()
    if out.empty:
        raise DataError(f"{path}: no observations")
    meta = MACRO.get(series_id.upper())
    if meta is not None and meta.valid is not None:
        check_range(out, meta.valid, path, series_id)
    if series_id.upper() in MARKET_FRED:
        valid, is_price = MARKET_FRED[series_id.upper()]
        check_range(out, valid, path, series_id)
        if is_price:
            check_moves(out, SPIKE_MOVE, MAX_MOVE, path, series_id)
    return out


def read_french_csv(path: Path | str, today: pd.Timestamp | None = None) -> pd.DataFrame:
    """A Ken French daily file (`Date,<portfolio or factor>,...`, returns in percent) as floats indexed
    by date. Every cell must be a number within `FRENCH_RETURN`: an empty cell is a hole, refused."""
    path = Path(path)
    raw = _read_text_csv(path, numbers=())
    if raw.columns[0] != "Date" or len(raw.columns) < 2:
        raise DataError(
            f"{path}: unexpected columns {','.join(raw.columns)}; expected Date,<portfolio>,... "
            "(a Ken French daily file, returns in percent)"
        )
    dates = _parse_dates(raw["Date"], path, today)
    values = _to_numeric(raw.drop(columns="Date"), path, dates)
    _check_dates(dates, path)
    frame = values.set_axis(pd.DatetimeIndex(dates, name="date"))
    holes = frame.isna().any(axis=1).to_numpy()
    if holes.any():
        day = frame.index[holes][0]
        raise DataError(f"{path}: {day.date()}: no return in column {frame.columns[frame.loc[day].isna()][0]!r}")
    for col in frame.columns:
        check_range(frame[col], FRENCH_RETURN, path, col)
    return frame


# The intended rate and its change at a meeting, in %: 3% to 18.75% and -3.875 to +3 pp in the file.
ROMER_CHANGE = Plausible(-10.0, 10.0, "a change of the intended fed funds rate at one meeting, in pp")


def read_romer_csv(path: Path | str, today: pd.Timestamp | None = None) -> pd.DataFrame:
    """Romer and Romer's meetings (`date,DTARG,OLDTARG`): the change of the intended rate decided at
    each FOMC meeting and the intended rate before it, in %."""
    path = Path(path)
    raw = _read_text_csv(path, numbers=())
    if tuple(raw.columns) != ROMER_COLUMNS:
        raise DataError(f"{path}: unexpected columns {','.join(raw.columns)}; expected {','.join(ROMER_COLUMNS)}")
    dates = _parse_dates(raw["date"], path, today)
    values = _to_numeric(raw[list(ROMER_COLUMNS[1:])], path, dates)
    _check_dates(dates, path)
    frame = values.set_axis(pd.DatetimeIndex(dates, name="date"))
    if frame.isna().any(axis=None):
        day = frame.index[frame.isna().any(axis=1).to_numpy()][0]
        raise DataError(f"{path}: {day.date()}: a meeting without its intended rate or change")
    check_range(frame["DTARG"], ROMER_CHANGE, path, "DTARG")
    check_range(frame["OLDTARG"], RATE_RANGE, path, "OLDTARG")
    return frame


def read_fomc_csv(path: Path | str, today: pd.Timestamp | None = None) -> pd.DataFrame:
    """The FOMC calendar (`date,kind`): one row per decision day, `kind` scheduled or unscheduled.

    Validated like every other file. Scheduled meetings are published a year or more ahead, so
    they may lie in the future; an unscheduled call in the future cannot be known and is refused.
    """
    path = Path(path)
    raw = _read_text_csv(path)
    if tuple(raw.columns) != ("date", "kind"):
        raise DataError(f"{path}: unexpected columns {','.join(raw.columns)}; expected date,kind")
    dates = _parse_dates(raw["date"], path, today, future_ok=True)
    kind = raw["kind"].str.strip()
    bad = ~kind.isin(FOMC_KINDS)
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataError(
            f"{path}: {pd.Timestamp(dates[i]).date()}: kind {kind.iloc[i]!r} is not scheduled or unscheduled"
        )
    _check_dates(dates, path)
    limit = (today or pd.Timestamp.today()).normalize()
    ahead = (dates > limit) & (kind == "unscheduled").to_numpy()
    if ahead.any():
        raise DataError(f"{path}: {pd.Timestamp(dates[ahead][0]).date()}: an unscheduled call in the future")
    return pd.DataFrame({"kind": kind.to_numpy()}, index=pd.DatetimeIndex(dates, name="date"))


def series_name(path: Path) -> str:
    """The ticker or series id a file holds by its name: `DGS2.csv`, `DGS2.csv.part` and `^VIX.csv` hold DGS2 and VIX."""
    return path.name.split(".")[0].lstrip("^")


def file_problem(path: Path) -> str | None:
    """Why `path` cannot be read as a file (absent, a folder, a broken link or a link loop), or None."""
    if path.is_file():
        return None
    if path.is_symlink():
        try:
            os.stat(path)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                return "a symbolic link loop (the link never reaches a file)"
            return f"a broken symbolic link (to {os.readlink(path)}, which does not exist)"
    if path.is_dir():
        return "a folder, not a CSV file"
    if path.exists():
        return "not a regular file"
    return "file not found"


def _read_text_csv(path: Path, numbers: tuple[str, ...] | None = None) -> pd.DataFrame:
    """The file's cells as text; with `numbers` (the missing-value markers), every column but the
    first as floats straight from pandas' C parser when each of its cells is a plain number, empty or
    a marker, else as text for `_to_numeric` to read cell by cell and name the first bad one."""
    problem = file_problem(path)
    if problem:
        raise DataError(f"{path}: {problem}")
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: cannot read ({exc.__class__.__name__})") from None
    if not text.strip():
        raise DataError(f"{path}: empty file")
    raw = _read_numbers(text, numbers) if numbers is not None else None
    try:
        if raw is None:
            raw = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, ValueError) as exc:
        raise DataError(f"{path}: not a CSV file ({str(exc).splitlines()[0]})") from None
    raw.columns = [str(c).strip() for c in raw.columns]
    if len(raw) == 0:
        raise DataError(f"{path}: header only, no data rows")
    return raw


def _read_numbers(text: str, missing: tuple[str, ...]) -> pd.DataFrame | None:
    """The first column as text and the others as floats, or None when any cell of theirs is
    neither a number nor empty (a short row's absent cells are empty, as on the text path) nor one
    of `missing`: then `_to_numeric` reads the text cell by cell and names the first bad cell. The
    C parser refuses every other cell and reads the same bits as `pd.to_numeric` (tests/test_data.py)."""
    try:
        names = list(pd.read_csv(io.StringIO(text), dtype=str, nrows=0).columns)
        if len(names) < 2 or len(set(names)) != len(names):
            return None
        return pd.read_csv(
            io.StringIO(text),
            dtype={names[0]: str} | {n: "float64" for n in names[1:]},
            na_values={n: ["", *missing] for n in names[1:]},
            keep_default_na=False,
        )
    except (pd.errors.ParserError, ValueError, TypeError):
        return None


def _parse_dates(col: pd.Series, path: Path, today: pd.Timestamp | None, future_ok: bool = False) -> np.ndarray:
    parsed = pd.to_datetime(col, format="%Y-%m-%d", errors="coerce")
    retry = parsed.isna()
    if retry.any():  # only a date padded with spaces needs stripping (stripping every row is slow)
        parsed[retry] = pd.to_datetime(col[retry].str.strip(), format="%Y-%m-%d", errors="coerce")
    if parsed.isna().any():
        i = int(np.flatnonzero(parsed.isna().to_numpy())[0])
        raise DataError(f"{path}: row {i + 2}: date {col.iloc[i]!r} is not YYYY-MM-DD")
    limit = (today or pd.Timestamp.today()).normalize()
    if not future_ok and (parsed > limit).any():
        i = int(np.flatnonzero((parsed > limit).to_numpy())[0])
        raise DataError(f"{path}: row {i + 2}: date {col.iloc[i]} is in the future")
    return parsed.to_numpy()


def _check_dates(dates: np.ndarray, path: Path) -> None:
    d = pd.DatetimeIndex(dates)
    dup = d.duplicated()
    if dup.any():
        raise DataError(f"{path}: duplicate date {d[dup][0].date()}")
    if not d.is_monotonic_increasing:
        i = int(np.flatnonzero(np.diff(d.asi8) < 0)[0])
        raise DataError(f"{path}: dates not sorted: {d[i + 1].date()} comes after {d[i].date()}")


def _to_numeric(values: pd.DataFrame, path: Path, dates: np.ndarray, missing: tuple[str, ...] = ()) -> pd.DataFrame:
    """Each column as floats; an empty field (or one of the `missing` markers, spaces around it
    ignored) is NaN, anything else that is no number an error naming the date and the value."""
    out = {}
    for col in values.columns:
        if values[col].dtype == np.float64:  # read by `_read_numbers`: only infinity is left to refuse
            num = values[col]
        else:
            num = _text_to_numbers(values[col], col, path, dates, missing)
        if np.isinf(num.to_numpy()).any():
            i = int(np.flatnonzero(np.isinf(num.to_numpy()))[0])
            raise DataError(f"{path}: {pd.Timestamp(dates[i]).date()}: {col} value is infinite")
        out[col] = num
    return pd.DataFrame(out, index=values.index)


def _text_to_numbers(cells: pd.Series, col: str, path: Path, dates: np.ndarray, missing: tuple[str, ...]) -> pd.Series:
    """One column of text as floats, cell by cell; the first cell that is no number an error."""
    raw = cells.astype(str)
    num = pd.to_numeric(raw, errors="coerce")  # reads numbers padded with spaces as they are
    unread = num.isna()
    text = raw[unread].str.strip()  # only what did not read: empty, a missing marker, or not a number
    bad = (text != "") & ~text.isin(missing)
    if bad.any():
        i = int(np.flatnonzero(unread.to_numpy())[np.flatnonzero(bad.to_numpy())[0]])
        raise DataError(f"{path}: {pd.Timestamp(dates[i]).date()}: {col} value {text[bad].iloc[0]!r} is not a number")
    return num.astype(float)
