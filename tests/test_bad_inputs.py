"""The bad-input matrix, through the command line: each case a test.

Every bad file or setting must end the run with a non-zero exit and exactly one line on stderr,
`error: <file or key>: <problem>`, no traceback, no results folder (not even a `.partial-`
one), and nothing in the cache or in an earlier run's folder touched. The data directory and
the cache are chosen as a user would: `FEDCUT_DATA_DIR` and `FEDCUT_CACHE_DIR` (offline).
The matrix with the messages a user sees is in docs/bad_inputs.md.
"""

from __future__ import annotations

import os
import shutil
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import fedcut.run.backtest
import fedcut.run.folder
import fedcut.run.inputs
from fedcut.cli import main
from fedcut.core.errors import DataError
from fedcut.core.params import resolve
from fedcut.data.catalog import FRENCH_FACTORS, FRENCH_SIZE, ROMER_FILE
from fedcut.data.readers import DataWarning

pytestmark = pytest.mark.slow  # whole runs and commands: not in the edit-test loop

SHORT = ["--start", "2019-01-02", "--end", "2020-12-31"]
LONG = ["--history", "long", "--start", "1970-01-02", "--end", "1971-12-31"]
FUTURE = (pd.Timestamp.today().normalize() + pd.Timedelta(days=45)).date().isoformat()


# --- building bad data directories ------------------------------------------------------------


def _lines(data: Path, rel: str) -> list[str]:
    return (data / rel).resolve().read_text().splitlines(keepends=True)


def _rewrite(data: Path, rel: str, edit: Callable[[list[str]], list[str]]) -> None:
    """Replace the symlink `data/rel` by an edited copy of the real file."""
    lines = _lines(data, rel)
    (data / rel).unlink()
    (data / rel).write_text("".join(edit(lines)))


def _at(lines: list[str], day: str) -> int:
    return next(i for i, line in enumerate(lines) if line.startswith(day))


def _set_field(line: str, col: int, value: str) -> str:
    parts = line.rstrip("\n").split(",")
    parts[col] = value
    return ",".join(parts) + "\n"


def remove(rel):
    return lambda data: (data / rel).unlink()


def empty(rel):
    return lambda data: _rewrite(data, rel, lambda lines: [])


def header(rel, new):
    return lambda data: _rewrite(data, rel, lambda lines: [new + "\n"] + lines[1:])


def set_field(rel, day, col, value, rows=1):
    def edit(lines):
        i = _at(lines, day)
        return lines[:i] + [_set_field(line, col, value) for line in lines[i : i + rows]] + lines[i + rows :]

    return lambda data: _rewrite(data, rel, edit)


def blank_rows(rel, day, rows):
    """Rows whose every price field is empty: a hole, not a holiday."""

    def edit(lines):
        i = _at(lines, day)
        width = lines[0].count(",")
        return lines[:i] + [line[:10] + "," * width + "\n" for line in lines[i : i + rows]] + lines[i + rows :]

    return lambda data: _rewrite(data, rel, edit)


def duplicate(rel, day):
    return lambda data: _rewrite(
        data, rel, lambda lines: (lambda i: lines[: i + 1] + [lines[i]] + lines[i + 1 :])(_at(lines, day))
    )


def swap(rel, day):
    return lambda data: _rewrite(
        data, rel, lambda lines: (lambda i: lines[:i] + [lines[i + 1], lines[i]] + lines[i + 2 :])(_at(lines, day))
    )


def append_future(rel):
    return lambda data: _rewrite(data, rel, lambda lines: lines + [FUTURE + lines[-1][10:]])


def ends_before(rel, day):
    return lambda data: _rewrite(data, rel, lambda lines: lines[: _at(lines, day)])


def starts_at(rel, day):
    return lambda data: _rewrite(data, rel, lambda lines: lines[:1] + lines[_at(lines, day) :])


def config_file(text):
    def make(data):
        (data.parent / "bad.toml").write_text(text)

    return make


def copy_of(rel, other):
    """`rel` holding another file's content (a file saved under the wrong name)."""

    def make(data):
        text = (data / other).resolve().read_text()
        (data / rel).unlink()
        (data / rel).write_text(text)

    return make


def scale_rows(rel, factor, first=None, last=None):
    """Every price field of the rows dated `first`..`last` (inclusive; None = open end) times `factor`."""

    def edit(lines):
        priced = [i for i, c in enumerate(lines[0].rstrip("\n").split(",")) if c not in ("Date", "Volume")]
        out = lines[:1]
        for line in lines[1:]:
            day = line[:10]
            if (first is None or day >= first) and (last is None or day <= last):
                parts = line.rstrip("\n").split(",")
                for col in priced:
                    parts[col] = repr(float(parts[col]) * factor)
                line = ",".join(parts) + "\n"
            out.append(line)
        return out

    return lambda data: _rewrite(data, rel, edit)


def drop_rows(rel, *days):
    return lambda data: _rewrite(data, rel, lambda lines: [line for line in lines if line[:10] not in days])


def replace_path(rel, make_path):
    """`rel` replaced by something that is not a readable file (a folder, a broken link, a link loop)."""

    def make(data):
        (data / rel).unlink()
        make_path(data / rel)

    return make


def target_shift(rel, shift, *spans):
    """The fed funds target file moved by `shift` percentage points on each (first, last) span of days."""

    def edit(lines):
        out = lines[:1]
        for line in lines[1:]:
            day, value = line.rstrip("\n").split(",")
            if any(first <= day <= last for first, last in spans):
                value = repr(float(value) + shift)
            out.append(f"{day},{value}\n")
        return out

    return lambda data: _rewrite(data, rel, edit)


def noisy_fred(seed=19):
    """Issue 19's folder: every FRED value after 2015-06-30 times a seeded random factor in [0.3, 3]."""

    def make(data):
        rng = np.random.default_rng(seed)
        for path in sorted((data / "macro").glob("*.csv")):
            raw = pd.read_csv(path.resolve(), dtype=str, keep_default_na=False)
            text = raw.iloc[:, 1].str.strip()
            rows = np.flatnonzero(((pd.to_datetime(raw.iloc[:, 0]) > "2015-06-30") & ~text.isin(["", "."])).to_numpy())
            factors = rng.uniform(0.3, 3.0, len(rows))
            raw.iloc[rows, 1] = [repr(float(v)) for v in text.iloc[rows].astype(float).to_numpy() * factors]
            path.unlink()
            raw.to_csv(path, index=False)

    return make


def copy_column(rel, source_column, column):
    """A CSV whose `column` holds `source_column`'s values (the wrong series under the right name)."""

    def edit(lines):
        names = lines[0].rstrip("\n").split(",")
        src, dst = names.index(source_column), names.index(column)
        out = lines[:1]
        for line in lines[1:]:
            parts = line.rstrip("\n").split(",")
            parts[dst] = parts[src]
            out.append(",".join(parts) + "\n")
        return out

    return lambda data: _rewrite(data, rel, edit)


@dataclass(frozen=True)
class Case:
    id: str
    example: str  # what is wrong, in words (docs/bad_inputs.md)
    setup: Callable[[Path], None] | None = None
    args: list[str] = field(default_factory=lambda: list(SHORT))
    expect: tuple[str, ...] = ()  # fragments of the one error line; "{data}" is the data directory
    names: str = ""  # the file or key the line must name


CASES = [
    Case(
        "missing-price-file",
        "prices/VIX.csv absent (offline, not in the cache)",
        remove("prices/VIX.csv"),
        expect=("series VIX not found ({data}; cache {cache})", "downloads are off (offline)", "FEDCUT_DATA_DIR"),
        names="VIX",
    ),
    Case(
        "missing-macro-file",
        "macro/DGS2.csv absent",
        remove("macro/DGS2.csv"),
        expect=("series DGS2 not found", "downloads are off"),
        names="DGS2",
    ),
    Case(
        "empty-file",
        "prices/IWM.csv has 0 bytes",
        empty("prices/IWM.csv"),
        expect=("{data}/prices/IWM.csv: empty file",),
        names="IWM.csv",
    ),
    Case(
        "header-only",
        "prices/IWM.csv holds its header and no rows",
        lambda data: _rewrite(data, "prices/IWM.csv", lambda lines: lines[:1]),
        expect=("{data}/prices/IWM.csv: header only, no data rows",),
        names="IWM.csv",
    ),
    Case(
        "wrong-columns-price",
        "`Adj Close` renamed `AdjClose` in prices/IWM.csv",
        header("prices/IWM.csv", "Date,Open,High,Low,Close,AdjClose,Volume"),
        expect=("{data}/prices/IWM.csv: unexpected columns Date,Open,High,Low,Close,AdjClose,Volume; expected one of",),
        names="IWM.csv",
    ),
    Case(
        "wrong-columns-macro",
        "macro/DGS2.csv with three columns",
        header("macro/DGS2.csv", "DATE,VALUE,X"),
        expect=("{data}/macro/DGS2.csv: unexpected columns DATE,VALUE,X; expected DATE,<SERIES_ID>",),
        names="DGS2.csv",
    ),
    Case(
        "non-numeric-price",
        "VIX close `n/a` on 2019-03-01",
        set_field("prices/VIX.csv", "2019-03-01", 4, "n/a"),
        expect=("{data}/prices/VIX.csv: 2019-03-01: close value 'n/a' is not a number",),
        names="VIX.csv",
    ),
    Case(
        "non-numeric-macro",
        "DTB3 `2.4%` on 2019-03-01",
        set_field("macro/DTB3.csv", "2019-03-01", 1, "2.4%"),
        expect=("{data}/macro/DTB3.csv: 2019-03-01: DTB3 value '2.4%' is not a number",),
        names="DTB3.csv",
    ),
    Case(
        "duplicate-date",
        "2019-06-03 twice in prices/IWM.csv",
        duplicate("prices/IWM.csv", "2019-06-03"),
        expect=("{data}/prices/IWM.csv: duplicate date 2019-06-03",),
        names="IWM.csv",
    ),
    Case(
        "unsorted-dates",
        "2019-06-03 and 2019-06-04 swapped in macro/DTB3.csv",
        swap("macro/DTB3.csv", "2019-06-03"),
        expect=("{data}/macro/DTB3.csv: dates not sorted: 2019-06-03 comes after 2019-06-04",),
        names="DTB3.csv",
    ),
    Case(
        "future-date",
        "a row dated after today appended to prices/IWM.csv",
        append_future("prices/IWM.csv"),
        expect=("{data}/prices/IWM.csv: row ", f": date {FUTURE} is in the future"),
        names="IWM.csv",
    ),
    Case(
        "non-positive-price",
        "every price of IWM on 2019-06-03 set to 0",
        lambda data: _rewrite(
            data,
            "prices/IWM.csv",
            lambda lines: (lambda i: lines[:i] + ["2019-06-03,0,0,0,0,0,100\n"] + lines[i + 1 :])(
                _at(lines, "2019-06-03")
            ),
        ),
        expect=("{data}/prices/IWM.csv: non-positive price on 2019-06-03",),
        names="IWM.csv",
    ),
    Case(
        "negative-price",
        "XLU adjusted close -1 on 2019-06-03",
        set_field("prices/XLU.csv", "2019-06-03", 1, "-1"),
        expect=("{data}/prices/XLU.csv: non-positive price on 2019-06-03",),
        names="XLU.csv",
    ),
    Case(
        "nan-hole-field",
        "IWM Close empty for five days from 2019-06-03",
        set_field("prices/IWM.csv", "2019-06-03", 4, "", rows=5),
        expect=("{data}/prices/IWM.csv: missing price on 2019-06-03 inside the series",),
        names="IWM.csv",
    ),
    Case(
        "nan-hole-rows",
        "VO rows 2019-06-03..07 with no price at all",
        blank_rows("prices/VO.csv", "2019-06-03", 5),
        expect=("{data}/prices/VO.csv: missing price on 2019-06-03 inside the series (5 rows without prices)",),
        names="VO.csv",
    ),
    Case(
        "nan-hole-rows-ohlc",
        "IWM rows 2019-06-03..04 with every field empty",
        blank_rows("prices/IWM.csv", "2019-06-03", 2),
        expect=("{data}/prices/IWM.csv: missing price on 2019-06-03 inside the series (2 rows without prices)",),
        names="IWM.csv",
    ),
    Case(
        "price-ends-early",
        "prices/IWM.csv cut after 2020-06-30, --end 2020-12-31",
        ends_before("prices/IWM.csv", "2020-07-01"),
        expect=("{data}/prices/IWM.csv: IWM ends 2020-06-30, before the requested end 2020-12-31",),
        names="IWM.csv",
    ),
    Case(
        "macro-ends-early",
        "macro/DTB3.csv cut after 2020-06-30, --end 2020-12-31",
        ends_before("macro/DTB3.csv", "2020-07-01"),
        expect=(
            "{data}/macro/DTB3.csv: DTB3's last observation is 2020-06-30 (current for 10 days, to 2020-07-10), "
            "before the requested end 2020-12-31",
        ),
        names="DTB3.csv",
    ),
    Case(
        "end-beyond-data",
        "--end 2030-01-02 (the data ends 2025-09-26)",
        None,
        ["--start", "2019-01-02", "--end", "2030-01-02"],
        expect=("{data}/prices/IWM.csv: IWM ends 2025-09-26, before the requested end 2030-01-02",),
        names="IWM.csv",
    ),
    Case(
        "start-before-iwm",
        "--start 1996-01-02 without --history",
        None,
        ["--start", "1996-01-02", "--end", "1997-12-31"],
        expect=(
            "IWM: starts 2000-05-26, after the requested start 1996-01-02; use run.history extended or long "
            "(--history)",
        ),
        names="IWM",
    ),
    Case(
        "iwm-starts-late",
        "prices/IWM.csv truncated to start 2019-06-03",
        starts_at("prices/IWM.csv", "2019-06-03"),
        expect=("IWM: starts 2019-06-03, after the requested start 2019-01-02",),
        names="IWM",
    ),
    Case(
        "vix-starts-late",
        "prices/VIX.csv truncated to start 2019-06-03",
        starts_at("prices/VIX.csv", "2019-06-03"),
        expect=(
            "{data}/prices/VIX.csv: VIX starts 2019-06-03, after the run's first day 2019-01-02; VIX has no proxy",
        ),
        names="VIX.csv",
    ),
    Case(
        "spy-starts-late",
        "prices/SPY.csv truncated to start 2019-06-03 (GSPC must not stand in for days SPY traded)",
        starts_at("prices/SPY.csv", "2019-06-03"),
        expect=(
            "{data}/prices/SPY.csv: SPY starts 2019-06-03, but SPY traded from 1993-01-29 (data/catalog.py): the "
            "file is cut short and no proxy may stand in for days SPY traded; fetch it again (fedcut data fetch SPY)",
        ),
        names="SPY.csv",
    ),
    Case(
        "rut-starts-late",
        "--extended --start 1996-01-02 with prices/RUT.csv truncated to start 1997-01-02",
        starts_at("prices/RUT.csv", "1997-01-02"),
        ["--extended", "--start", "1996-01-02", "--end", "1997-12-31"],
        expect=("{data}/prices/RUT.csv: RUT starts 1997-01-02, after the requested start 1996-01-02",),
        names="RUT.csv",
    ),
    Case(
        "dtb3-starts-late",
        "macro/DTB3.csv truncated to start 2019-06-03",
        starts_at("macro/DTB3.csv", "2019-06-03"),
        expect=(
            "{data}/macro/DTB3.csv: DTB3 starts 2019-06-03, but its history begins 1954-01-04 (data/catalog.py) "
            "and the run reads it from 2019-01-02: the file is cut short",
        ),
        names="DTB3.csv",
    ),
    Case(
        "macro-starts-late",
        "macro/DGS2.csv truncated to start 2019-06-03",
        starts_at("macro/DGS2.csv", "2019-06-03"),
        expect=(
            "{data}/macro/DGS2.csv: DGS2 starts 2019-06-03, but its history begins 1976-06-01",
            "the file is cut short; fetch it again (fedcut data fetch DGS2)",
        ),
        names="DGS2.csv",
    ),
    Case(
        "macro-hole",
        "macro/DTB3.csv without any row of 2008, --start 2007-01-02 --end 2009-12-31",
        lambda data: _rewrite(data, "macro/DTB3.csv", lambda lines: [x for x in lines if not x.startswith("2008-")]),
        ["--start", "2007-01-02", "--end", "2009-12-31"],
        expect=(
            "{data}/macro/DTB3.csv: no DTB3 observation from 2007-12-31 to 2009-01-02 (368 days), inside the span "
            "the run reads it: a hole longer than 14 days",
        ),
        names="DTB3.csv",
    ),
    Case(
        "weekly-hole",
        "macro/ICSA.csv without the four weeks of June 2019",
        drop_rows("macro/ICSA.csv", "2019-06-01", "2019-06-08", "2019-06-15", "2019-06-22", "2019-06-29"),
        expect=("{data}/macro/ICSA.csv: no ICSA observation from 2019-05-25 to 2019-07-06 (42 days)",),
        names="ICSA.csv",
    ),
    Case(
        "kre-starts-late",
        "prices/KRE.csv truncated to start 2019-06-03 (KBE must not stand in for days KRE traded)",
        starts_at("prices/KRE.csv", "2019-06-03"),
        expect=(
            "{data}/prices/KRE.csv: KRE starts 2019-06-03, but KRE traded from 2006-06-22 (data/catalog.py): the "
            "file is cut short and the bank-stress gauge may not read another ETF",
        ),
        names="KRE.csv",
    ),
    Case(
        "kre-ends-early",
        "prices/KRE.csv cut after 2020-06-30, --end 2020-12-31",
        ends_before("prices/KRE.csv", "2020-07-01"),
        expect=("{data}/prices/KRE.csv: KRE ends 2020-06-30, before the requested end 2020-12-31",),
        names="KRE.csv",
    ),
    Case(
        "kre-one-row",
        "prices/KRE.csv holding only the row of 2020-03-02",
        lambda data: _rewrite(data, "prices/KRE.csv", lambda lines: lines[:1] + [lines[_at(lines, "2020-03-02")]]),
        expect=("{data}/prices/KRE.csv: KRE ends 2020-03-02, before the requested end 2020-12-31",),
        names="KRE.csv",
    ),
    Case(
        "kre-holed",
        "prices/KRE.csv without six scattered trading days of March 2020",
        drop_rows("prices/KRE.csv", "2020-03-03", "2020-03-05", "2020-03-09", "2020-03-11", "2020-03-13", "2020-03-17"),
        expect=(
            "{data}/prices/KRE.csv: no row for 6 trading days of the run (2020-03-03, 2020-03-05",
            "at most 5 missing days are allowed",
        ),
        names="KRE.csv",
    ),
    Case(
        "unknown-key-set",
        "--set nope.x=1",
        None,
        SHORT + ["--set", "nope.x=1"],
        expect=("config: unknown key 'nope.x'",),
        names="nope.x",
    ),
    Case(
        "unknown-key-file",
        "--config bad.toml with [nope] x = 1",
        config_file("[nope]\nx = 1\n"),
        SHORT + ["--config", "{tmp}/bad.toml"],
        expect=("{tmp}/bad.toml: unknown key 'nope.x'",),
        names="nope.x",
    ),
    Case(
        "unknown-key-in-section",
        "--config bad.toml with [hedge] moneyness_x = 0.9",
        config_file("[hedge]\nmoneyness_x = 0.9\n"),
        SHORT + ["--config", "{tmp}/bad.toml"],
        expect=("{tmp}/bad.toml: unknown key 'hedge.moneyness_x'",),
        names="hedge.moneyness_x",
    ),
    Case(
        "wrong-type-set",
        "--set hedge.moneyness=abc",
        None,
        SHORT + ["--set", "hedge.moneyness=abc"],
        expect=("config: hedge.moneyness must be a number (strike / spot), got 'abc'",),
        names="hedge.moneyness",
    ),
    Case(
        "wrong-type-file",
        '--config bad.toml with `[run] oracle = "yes"`',
        config_file('[run]\noracle = "yes"\n'),
        SHORT + ["--config", "{tmp}/bad.toml"],
        expect=("{tmp}/bad.toml: run.oracle must be true or false, got 'yes'",),
        names="run.oracle",
    ),
    Case(
        "renamed-key-file",
        "--config bad.toml with the old `[run] extended = true`",
        config_file("[run]\nextended = true\n"),
        SHORT + ["--config", "{tmp}/bad.toml"],
        expect=(
            '{tmp}/bad.toml: run.extended was replaced by run.history (write history = "extended" under [run], '
            "or --history extended)",
        ),
        names="run.history",
    ),
    Case(
        "history-and-extended",
        "--extended --history long",
        None,
        SHORT + ["--extended", "--history", "long"],
        expect=("--extended and --history long: choose one history",),
        names="--history",
    ),
    Case(
        "out-of-range",
        "--set hedge.moneyness=7",
        None,
        SHORT + ["--set", "hedge.moneyness=7"],
        expect=("config: hedge.moneyness = 7.0 is above its maximum 1.2 (strike / spot)",),
        names="hedge.moneyness",
    ),
    Case(
        "out-of-range-int",
        "--set regime.min_dwell_days=-1",
        None,
        SHORT + ["--set", "regime.min_dwell_days=-1"],
        expect=("config: regime.min_dwell_days = -1 is below its minimum 0",),
        names="regime.min_dwell_days",
    ),
    Case(
        "start-after-end",
        "--start 2020-01-02 --end 2019-01-02",
        None,
        ["--start", "2020-01-02", "--end", "2019-01-02"],
        expect=("config: run.start 2020-01-02 is after run.end 2019-01-02",),
        names="run.start",
    ),
    Case(
        "impossible-date",
        "--start 2019-02-30",
        None,
        ["--start", "2019-02-30", "--end", "2019-12-31"],
        expect=("config: run.start must be a date YYYY-MM-DD, got '2019-02-30'",),
        names="run.start",
    ),
    Case(
        "set-without-value",
        "--set hedge.moneyness",
        None,
        SHORT + ["--set", "hedge.moneyness"],
        expect=("--set 'hedge.moneyness': expected key=value",),
        names="hedge.moneyness",
    ),
    Case(
        "config-not-toml",
        "--config bad.toml that is not TOML",
        config_file("[hedge\nmoneyness = \n"),
        SHORT + ["--config", "{tmp}/bad.toml"],
        expect=("{tmp}/bad.toml: not valid TOML",),
        names="bad.toml",
    ),
    Case(
        "config-missing",
        "--config nowhere.toml",
        None,
        SHORT + ["--config", "{tmp}/nowhere.toml"],
        expect=("{tmp}/nowhere.toml: config file not found",),
        names="nowhere.toml",
    ),
    # --- valid-looking but wrong data (issue 17 items 4, 5, 6, 17; issue 19) ---
    Case(
        "fred-header-other-series",
        "macro/DGS2.csv holding DGS10 (header DATE,DGS10)",
        copy_of("macro/DGS2.csv", "macro/DGS10.csv"),
        expect=("{data}/macro/DGS2.csv: the header names series DGS10, not DGS2 as the file name says",),
        names="DGS2.csv",
    ),
    Case(
        "price-spike",
        "IWM's prices on 2019-06-03 times 1.4, back the next day",
        scale_rows("prices/IWM.csv", 1.4, "2019-06-03", "2019-06-03"),
        expect=("{data}/prices/IWM.csv: 2019-06-03: close ", " is a one-day spike (", "the day before", "a bad price"),
        names="IWM.csv",
    ),
    Case(
        "price-spike-1000x",
        "IWM's prices on 2019-06-03 times 1000",
        scale_rows("prices/IWM.csv", 1000.0, "2019-06-03", "2019-06-03"),
        expect=("{data}/prices/IWM.csv: 2019-06-03: close ", " is a one-day spike"),
        names="IWM.csv",
    ),
    Case(
        "unadjusted-split-2-1",
        "IWM's prices before 2019-06-03 doubled (a 2:1 split not adjusted for)",
        scale_rows("prices/IWM.csv", 2.0, last="2019-05-31"),
        expect=(
            "{data}/prices/IWM.csv: 2019-06-03: close moved -49.8% in one day (291.72 to 146.37)",
            "an unadjusted split or a bad price",
        ),
        names="IWM.csv",
    ),
    Case(
        "unadjusted-split-3-2",
        "IWM's prices before 2019-06-03 times 1.5 (a 3:2 split not adjusted for)",
        scale_rows("prices/IWM.csv", 1.5, last="2019-05-31"),
        expect=(
            "{data}/prices/IWM.csv: 2019-06-03: IWM close moved -33.",
            "while its index RUT moved",
            "{data}/prices/RUT.csv",
            "an unadjusted split or a bad price",
        ),
        names="IWM.csv",
    ),
    Case(
        "vix-too-high",
        "VIX close 1e6 on 2019-06-03",
        set_field("prices/VIX.csv", "2019-06-03", 4, "1e6"),
        expect=("{data}/prices/VIX.csv: 2019-06-03: close value 1e+06 is outside the plausible range 5 to 200",),
        names="VIX.csv",
    ),
    Case(
        "vix-too-low",
        "VIX close 1e-9 on 2019-06-03",
        set_field("prices/VIX.csv", "2019-06-03", 4, "1e-9"),
        expect=("{data}/prices/VIX.csv: 2019-06-03: close value 1e-09 is outside the plausible range 5 to 200",),
        names="VIX.csv",
    ),
    Case(
        "price-1e308",
        "every IWM price on 2019-06-03 is 1e308",
        lambda data: _rewrite(
            data,
            "prices/IWM.csv",
            lambda lines: (lambda i: lines[:i] + ["2019-06-03,1e308,1e308,1e308,1e308,1e308,100\n"] + lines[i + 1 :])(
                _at(lines, "2019-06-03")
            ),
        ),
        expect=("{data}/prices/IWM.csv: 2019-06-03: open value 1e+308 is outside the plausible range",),
        names="IWM.csv",
    ),
    Case(
        "tbill-negative",
        "DTB3 -50 on 2019-03-01",
        set_field("macro/DTB3.csv", "2019-03-01", 1, "-50"),
        expect=("{data}/macro/DTB3.csv: 2019-03-01: DTB3 value -50 is outside the plausible range -5 to 30",),
        names="DTB3.csv",
    ),
    Case(
        "tbill-500",
        "DTB3 500 on 2019-03-01",
        set_field("macro/DTB3.csv", "2019-03-01", 1, "500"),
        expect=("{data}/macro/DTB3.csv: 2019-03-01: DTB3 value 500 is outside the plausible range -5 to 30",),
        names="DTB3.csv",
    ),
    Case(
        "missing-days",
        "VO has no rows for six scattered trading days of June 2019",
        drop_rows("prices/VO.csv", "2019-06-03", "2019-06-05", "2019-06-07", "2019-06-11", "2019-06-13", "2019-06-17"),
        expect=(
            "{data}/prices/VO.csv: no row for 6 trading days of the run (2019-06-03, 2019-06-05, 2019-06-07, "
            "2019-06-11, 2019-06-13, ...): the file does not follow the run's trading calendar "
            "(at most 5 missing days are allowed)",
        ),
        names="VO.csv",
    ),
    Case(
        "symlink-loop",
        "prices/IWM.csv is a symbolic link to itself",
        replace_path("prices/IWM.csv", lambda p: p.symlink_to(p.name)),
        expect=("{data}/prices/IWM.csv: a symbolic link loop",),
        names="IWM.csv",
    ),
    Case(
        "broken-link",
        "prices/IWM.csv links to a file that does not exist",
        replace_path("prices/IWM.csv", lambda p: p.symlink_to(p.parent / "gone.csv")),
        expect=("{data}/prices/IWM.csv: a broken symbolic link (to ", "gone.csv, which does not exist)"),
        names="IWM.csv",
    ),
    Case(
        "folder-named-csv",
        "prices/IWM.csv is a folder",
        replace_path("prices/IWM.csv", lambda p: p.mkdir()),
        expect=("{data}/prices/IWM.csv: a folder, not a CSV file",),
        names="IWM.csv",
    ),
    Case(
        "fomc-missing",
        "calendar/FOMC.csv absent",
        remove("calendar/FOMC.csv"),
        expect=("calendar/FOMC.csv not found ({data}; cache {cache}); it is not downloaded",),
        names="FOMC.csv",
    ),
    Case(
        "fomc-wrong-columns",
        "calendar/FOMC.csv with the header date,type",
        header("calendar/FOMC.csv", "date,type"),
        expect=("{data}/calendar/FOMC.csv: unexpected columns date,type; expected date,kind",),
        names="FOMC.csv",
    ),
    Case(
        "fomc-bad-kind",
        "a FOMC.csv row of kind `emergency`",
        set_field("calendar/FOMC.csv", "2019-07-31", 1, "emergency"),
        expect=("{data}/calendar/FOMC.csv: 2019-07-31: kind 'emergency' is not scheduled or unscheduled",),
        names="FOMC.csv",
    ),
    Case(
        "fomc-future-call",
        "an unscheduled call dated after today in FOMC.csv",
        lambda data: _rewrite(
            data, "calendar/FOMC.csv", lambda lines: lines[:1] + sorted(lines[1:] + [f"{FUTURE},unscheduled\n"])
        ),
        expect=(f"{{data}}/calendar/FOMC.csv: {FUTURE}: an unscheduled call in the future",),
        names="FOMC.csv",
    ),
    Case(
        "target-off-calendar",
        "DFEDTARU 0.25 higher on 2019-06-03 only (up and back down off the calendar)",
        target_shift("macro/DFEDTARU.csv", 0.25, ("2019-06-03", "2019-06-03")),
        expect=(
            "{data}/macro/DFEDTARU.csv: the target changes on 2 days that no FOMC decision explains (2019-06-03, "
            "2019-06-04; calendar {data}/calendar/FOMC.csv",
            "a decision missing from the calendar, or not a policy-rate series",
        ),
        names="DFEDTARU.csv",
    ),
    Case(
        "fomc-scheduled-missing",
        "the scheduled meeting of 2019-07-31 deleted from calendar/FOMC.csv",
        drop_rows("calendar/FOMC.csv", "2019-07-31"),
        expect=("{data}/calendar/FOMC.csv: 2019 has 7 scheduled meetings, 8 expected",),
        names="FOMC.csv",
    ),
    Case(
        "fomc-call-missing",
        "the unscheduled call of 2020-03-15 deleted from calendar/FOMC.csv",
        drop_rows("calendar/FOMC.csv", "2020-03-15"),
        expect=("{data}/macro/DFEDTARU.csv: the target changes on 1 day that no FOMC decision explains (2020-03-16;",),
        names="DFEDTARU.csv",
    ),
    Case(
        "target-jump",
        "DFEDTARU 2 pp higher from 2019-08-01 to 2019-09-18 (moves on FOMC days only)",
        target_shift("macro/DFEDTARU.csv", 2.0, ("2019-08-01", "2019-09-18")),
        expect=(
            "{data}/macro/DFEDTARU.csv: 2019-08-01: the target moves from 2.5 to 4.25, more than "
            "data.max_target_change = 1.5 pp in one day",
        ),
        names="DFEDTARU.csv",
    ),
    # --- the long history's files (issue 25): missing, malformed, cut short, or a splice that fails ---
    Case(
        "long-french-missing",
        "french/size_deciles_vw_daily.csv absent, --history long",
        remove(FRENCH_SIZE),
        LONG,
        expect=(f"{FRENCH_SIZE} not found ({{data}}; cache {{cache}}); it is not downloaded",),
        names=FRENCH_SIZE,
    ),
    Case(
        "long-romer-missing",
        "policy/romer_romer_fomc_1969_1996.csv absent, --history long",
        remove(ROMER_FILE),
        LONG,
        expect=(f"{ROMER_FILE} not found", "the long history needs it"),
        names=ROMER_FILE,
    ),
    Case(
        "long-russell-missing",
        "macro/RU2000TR.csv absent, --history long",
        remove("macro/RU2000TR.csv"),
        LONG,
        expect=("series RU2000TR not found", "downloads are off"),
        names="RU2000TR",
    ),
    Case(
        "long-vxo-missing",
        "macro/VXOCLS.csv absent, a run from 2001 (VXO is the volatility gauge before 2003-09-22)",
        remove("macro/VXOCLS.csv"),
        ["--start", "2001-01-02", "--end", "2002-12-31"],
        expect=("series VXOCLS not found", "downloads are off"),
        names="VXOCLS",
    ),
    Case(
        "skew-missing",
        "cboe/SKEW.csv absent (the puts' skew reads it every day)",
        remove("cboe/SKEW.csv"),
        ["--start", "2019-01-02", "--end", "2020-12-31"],
        expect=("cboe/SKEW.csv not found ({data}; cache {cache}); it is not downloaded",),
        names="SKEW",
    ),
    Case(
        "skew-text",
        "a SKEW close `n/a` on 2020-03-02",
        set_field("cboe/SKEW.csv", "2020-03-02", 1, "n/a"),
        ["--start", "2019-01-02", "--end", "2020-12-31"],
        expect=("{data}/cboe/SKEW.csv: 2020-03-02: SKEW value 'n/a' is not a number",),
        names="SKEW.csv",
    ),
    Case(
        "long-monthly-missing",
        "macro/GS1.csv absent, --history long",
        remove("macro/GS1.csv"),
        LONG,
        expect=("series GS1 not found", "downloads are off"),
        names="GS1",
    ),
    Case(
        "long-french-header",
        "the French size file's first column named `date`",
        header(
            FRENCH_SIZE,
            "date,Lo 30,Med 40,Hi 30,Lo 20,Qnt 2,Qnt 3,Qnt 4,Hi 20,Lo 10,Dec 2,Dec 3,Dec 4,Dec 5,Dec 6,Dec 7,"
            "Dec 8,Dec 9,Hi 10",
        ),
        LONG,
        expect=(f"{{data}}/{FRENCH_SIZE}: unexpected columns date,Lo 30,", "expected Date,<portfolio>,..."),
        names=FRENCH_SIZE,
    ),
    Case(
        "long-french-column",
        "the French size file without its `Qnt 2` column (renamed `Qnt2`)",
        header(
            FRENCH_SIZE,
            "Date,Lo 30,Med 40,Hi 30,Lo 20,Qnt2,Qnt 3,Qnt 4,Hi 20,Lo 10,Dec 2,Dec 3,Dec 4,Dec 5,Dec 6,Dec 7,"
            "Dec 8,Dec 9,Hi 10",
        ),
        LONG,
        expect=(f"{{data}}/{FRENCH_SIZE}: no column 'Qnt 2'",),
        names=FRENCH_SIZE,
    ),
    Case(
        "long-french-text",
        "a French return `n/a` on 1970-03-02",
        set_field(FRENCH_SIZE, "1970-03-02", 5, "n/a"),
        LONG,
        expect=(f"{{data}}/{FRENCH_SIZE}: 1970-03-02: Qnt 2 value 'n/a' is not a number",),
        names=FRENCH_SIZE,
    ),
    Case(
        "long-french-hole",
        "a French return left empty on 1970-03-02",
        set_field(FRENCH_SIZE, "1970-03-02", 5, ""),
        LONG,
        expect=(f"{{data}}/{FRENCH_SIZE}: 1970-03-02: no return in column 'Qnt 2'",),
        names=FRENCH_SIZE,
    ),
    Case(
        "long-french-missing-marker",
        "French's missing marker -99.99 as the market's return on 1970-03-02",
        set_field(FRENCH_FACTORS, "1970-03-02", 1, "-99.99"),
        LONG,
        expect=(
            f"{{data}}/{FRENCH_FACTORS}: 1970-03-02: Mkt-RF value -99.99 is outside the plausible range -50 to 100",
        ),
        names=FRENCH_FACTORS,
    ),
    Case(
        "long-french-cut-short",
        "the French size file starting 1960-01-04",
        starts_at(FRENCH_SIZE, "1960-01-04"),
        LONG,
        expect=(
            f"{{data}}/{FRENCH_SIZE}: Qnt 2 starts 1960-01-04, but its history begins 1926-07-01",
            "the file is cut short",
        ),
        names=FRENCH_SIZE,
    ),
    Case(
        "long-romer-columns",
        "the Romer and Romer file with the header date,change,level",
        header(ROMER_FILE, "date,change,level"),
        LONG,
        expect=(f"{{data}}/{ROMER_FILE}: unexpected columns date,change,level; expected date,DTARG,OLDTARG",),
        names=ROMER_FILE,
    ),
    Case(
        "long-russell-text",
        "RU2000TR `x` on 1990-03-01",
        set_field("macro/RU2000TR.csv", "1990-03-01", 1, "x"),
        LONG,
        expect=("{data}/macro/RU2000TR.csv: 1990-03-01: RU2000TR value 'x' is not a number",),
        names="RU2000TR.csv",
    ),
    Case(
        "long-splice-fails",
        "the French `Qnt 2` column holding micro caps (`Lo 10`): its splice into RU2000TR fails its overlap check",
        copy_column(FRENCH_SIZE, "Lo 10", "Qnt 2"),
        LONG,
        expect=(
            f"{{data}}/{FRENCH_SIZE} (Qnt 2) against {{data}}/macro/RU2000TR.csv (RU2000TR), the splice of IWM: "
            "Qnt 2 into RU2000TR over 1978-12-29..2019-01-10: daily correlation 0.913, tracking error 8.1% a "
            "year, 2007-09 drawdowns -66.4% and -58.9%",
            "drawdowns at most 5 points apart (data/catalog.py "
            "SPLICE_LIMITS): not the same market (correlation, tracking error, drawdown)",
        ),
        names=FRENCH_SIZE,
    ),
    Case(
        "noisy-fred-folder",
        "every FRED value after 2015-06-30 times a seeded random factor in [0.3, 3] (issue 19)",
        noisy_fred(),
        expect=(
            "{data}/macro/DFEDTARU.csv: the target changes on ",
            " days that no FOMC decision explains (2015-07-01, 2015-07-02, 2015-07-03, ...",
        ),
        names="DFEDTARU.csv",
    ),
]


# --- the environment a user runs in -------------------------------------------------------------


@dataclass
class Env:
    tmp: Path
    data: Path
    cache: Path
    results: Path
    out: Path


def snapshot(root: Path) -> dict[str, tuple]:
    """Every file under `root`: its bytes and mtime (a symlink: where it points)."""
    out = {}
    for p in sorted(root.rglob("*")):
        if p.is_symlink():
            out[str(p.relative_to(root))] = ("->", os.readlink(p))
        elif p.is_file():
            out[str(p.relative_to(root))] = (p.read_bytes(), p.stat().st_mtime_ns)
    return out


@pytest.fixture(autouse=True)
def fresh_prepare_cache():
    """Each case starts cold, as a user's command would (`fedcut.run.backtest.prepare` caches per process)."""
    clear = getattr(getattr(fedcut.run.inputs, "_prepare_cached", None), "cache_clear", lambda: None)
    clear()
    yield
    clear()


@pytest.fixture
def env(tmp_path, shared_data, monkeypatch) -> Env:
    data = tmp_path / "data"
    for kind in ("prices", "macro", "calendar", "french", "policy", "cboe"):
        (data / kind).mkdir(parents=True)
        for f in (shared_data / kind).glob("*.csv"):
            (data / kind / f.name).symlink_to(f)
    cache = tmp_path / "cache"  # a cache with files the runs here never need (so none stands in)
    (cache / "prices").mkdir(parents=True)
    (cache / "macro").mkdir()
    shutil.copy(shared_data / "prices" / "GLD.csv", cache / "prices" / "GLD.csv")
    shutil.copy(shared_data / "macro" / "TB3MS.csv", cache / "macro" / "TB3MS.csv")
    (cache / "NOTES.txt").write_text("downloaded by hand\n")
    results = tmp_path / "results"
    earlier = results / "run-earlier"
    (earlier / "plots").mkdir(parents=True)
    (earlier / "config.toml").write_text("[hedge]\nmoneyness = 0.85\n")
    (earlier / "metrics.json").write_text('{"strategy": {"cagr": 0.07}}\n')
    (earlier / "equity.csv").write_text("date,strategy\n2019-01-02,1000000\n")
    (earlier / "plots" / "equity.png").write_bytes(b"\x89PNG fake")
    monkeypatch.setenv("FEDCUT_DATA_DIR", str(data))
    monkeypatch.setenv("FEDCUT_CACHE_DIR", str(cache))
    monkeypatch.setenv("FEDCUT_OFFLINE", "1")
    monkeypatch.chdir(tmp_path)  # a run without --out would write ./results/...: here, never the project's
    return Env(tmp_path, data, cache, results, results / "run")


def _fill(text: str, env: Env) -> str:
    return text.replace("{data}", str(env.data)).replace("{cache}", str(env.cache)).replace("{tmp}", str(env.tmp))


def run_cli(env: Env, args: list[str], capsys) -> tuple[int, str, str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        code = main([_fill(a, env) for a in args] + ["--out", str(env.out)])
    out, err = capsys.readouterr()
    # a user would see a warning as extra stderr lines: none may come with the error
    assert not [w for w in caught if issubclass(w.category, DataWarning)], [str(w.message) for w in caught]
    return code, out, err


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_one_line_and_leaves_nothing_behind(case, env, capsys):
    if case.setup is not None:
        case.setup(env.data)
    before = {"cache": snapshot(env.cache), "results": snapshot(env.results), "data": snapshot(env.data)}

    code, out, err = run_cli(env, case.args, capsys)

    assert code == 2, (code, err)
    assert "Traceback" not in out + err
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1 and err.endswith("\n"), err
    line = lines[0]
    assert line.startswith("error: ")
    assert case.names in line, line
    for fragment in case.expect:
        assert _fill(fragment, env) in line, line
    # no results folder, no half-written one, nothing else in results/
    assert not env.out.exists()
    assert sorted(p.name for p in env.results.iterdir()) == ["run-earlier"]
    assert not list(env.tmp.rglob(".run.partial*"))
    assert not (env.tmp / "results" / "run").exists() and not (env.tmp / "data" / "cache").exists()
    # the cache, the earlier run and the data directory are byte for byte and mtime for mtime the same
    assert snapshot(env.cache) == before["cache"]
    assert snapshot(env.results) == before["results"]
    assert snapshot(env.data) == before["data"]


def test_every_case_of_the_issue_is_in_the_matrix():
    """missing, empty, wrong columns, non-numeric, duplicate/unsorted/future dates, non-positive,
    NaN holes, ends early, starts late without proxy, unknown key, wrong type, out of range,
    start after end: each at least once (a sweep spec with an empty grid belongs to sweeps/)."""
    ids = {c.id for c in CASES}
    for needed in (
        "missing-price-file",
        "empty-file",
        "wrong-columns-price",
        "non-numeric-price",
        "duplicate-date",
        "unsorted-dates",
        "future-date",
        "non-positive-price",
        "nan-hole-field",
        "price-ends-early",
        "start-before-iwm",
        "iwm-starts-late",
        "unknown-key-set",
        "unknown-key-file",
        "wrong-type-set",
        "out-of-range",
        "start-after-end",
    ):
        assert needed in ids
    assert len(ids) == len(CASES)
    documented = (Path(__file__).resolve().parents[1] / "docs" / "bad_inputs.md").read_text()
    for case in CASES:
        assert f"`{case.id}`" in documented, case.id


def test_a_late_instrument_without_proxy_is_declared_not_refused(env, shared_data):
    """XLP starting after the run's first day is not a bad file: it has no proxy, so its weight is
    held in cash until its first day, and the run says so (by design; docs/data.md, "Proxies, declared")."""
    starts_at("prices/XLP.csv", "2019-06-03")(env.data)
    cfg = resolve({"run.start": "2019-01-02", "run.end": "2020-12-31"})
    res = fedcut.run.backtest.run(cfg, data_dir=str(env.data), offline=True)
    assert (
        "XLP: no data before 2019-06-03 and no proxy; its weight is held in cash before then"
        in res.metrics["run"]["notes"]
    )
    assert res.equity.loc[:"2019-05-31", "w_XLP"].eq(0).all()
    xlp = res.trades[res.trades["instrument"] == "XLP"]
    assert xlp.empty or xlp["date"].min() >= pd.Timestamp("2019-06-03")


# --- one process, several data directories; a ticker with no price in the run ------------------


def test_changing_fedcut_data_dir_in_one_process_reads_the_new_directory(env, shared_data, monkeypatch):
    cfg = resolve({"run.start": "2019-01-02", "run.end": "2020-12-31"})
    monkeypatch.setenv("FEDCUT_DATA_DIR", str(shared_data))
    fedcut.run.backtest.run(cfg)  # fine on the real data
    empty("macro/DGS2.csv")(env.data)
    monkeypatch.setenv("FEDCUT_DATA_DIR", str(env.data))
    with pytest.raises(DataError, match="DGS2.csv: empty file"):
        fedcut.run.backtest.run(cfg)


def test_an_extended_run_that_ends_before_2000_runs(env, capsys):
    code, out, err = run_cli(env, ["--history", "extended", "--end", "1999-12-31"], capsys)
    assert code == 0 and "Traceback" not in err
    assert (env.out / "equity.csv").is_file()
