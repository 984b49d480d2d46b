"""Where a series comes from: the data directory, then the download cache, then a download.

The data directory (`--data-dir`, else `FEDCUT_DATA_DIR`) holds yfinance/FRED CSVs in
`prices/<TICKER>.csv` and `macro/<SERIES_ID>.csv` (or flat in the folder), and the FOMC
calendar in `calendar/FOMC.csv`. The cache, in the user's cache directory
(`platformdirs.user_cache_dir("fedcut")`, e.g. `~/.cache/fedcut` on Linux; `FEDCUT_CACHE_DIR`
moves it, e.g. for tests or CI), holds downloads in the same format; it is never inside the
installed package. Downloads happen only when online (not with `--offline` /
`FEDCUT_OFFLINE=1`), only for a series found nowhere (a path that exists but is a folder or a
broken link is an error, never a reason to download), and never for the calendar, which has no
download source.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from platformdirs import user_cache_dir

from fedcut.core.errors import ConfigError, DataError
from fedcut.core.params import param
from fedcut.data import readers
from fedcut.data.catalog import CBOE_SERIES, MACRO, ROMER_FILE
from fedcut.data.cuts import check_calendar, check_policy_series

log = logging.getLogger(__name__)
FIX_HINT = "set FEDCUT_DATA_DIR or --data-dir to a folder of yfinance/FRED CSVs (e.g. ../shared/data), or run `fedcut data fetch` online"


def default_data_dir() -> Path | None:
    env = os.environ.get("FEDCUT_DATA_DIR")
    return Path(env) if env else None


def default_cache_dir() -> Path:
    """`FEDCUT_CACHE_DIR`, else the platform's per-user cache folder for fedcut."""
    env = os.environ.get("FEDCUT_CACHE_DIR")
    return Path(env) if env else Path(user_cache_dir("fedcut", appauthor=False))


OFFLINE_VALUES = {
    "1": True,
    "true": True,
    "yes": True,
    "on": True,
    "": False,
    "0": False,
    "false": False,
    "no": False,
    "off": False,
}


def offline_from_env() -> bool:
    """FEDCUT_OFFLINE as a flag; a value it cannot mean is an error, never silently "online"."""
    text = os.environ.get("FEDCUT_OFFLINE", "")
    try:
        return OFFLINE_VALUES[text.strip().lower()]
    except KeyError:
        raise ConfigError(
            f"FEDCUT_OFFLINE={text!r}: expected 1, true, yes or on (no downloads), "
            "or 0, false, no, off or empty (downloads allowed)"
        ) from None


@dataclass
class DataSource:
    """Reads each series once per process from the first place that has it."""

    data_dir: Path | None = field(default_factory=default_data_dir)
    cache_dir: Path = field(default_factory=default_cache_dir)
    offline: bool = field(default_factory=offline_from_env)
    # the policy-rate check's largest daily move (data.max_target_change)
    max_target_change: float = param("data.max_target_change").default
    _prices: dict = field(default_factory=dict, repr=False)
    _macro: dict = field(default_factory=dict, repr=False)
    _fomc: pd.DataFrame | None = field(default=None, repr=False)
    _tables: dict = field(default_factory=dict, repr=False)  # the long history's files, by relative path
    origin: dict = field(default_factory=dict, repr=False)  # series -> file it was read from

    def __post_init__(self):
        if self.data_dir is not None:
            self.data_dir = Path(self.data_dir)
            if not self.data_dir.is_dir():
                raise DataError(f"data directory {self.data_dir} does not exist (FEDCUT_DATA_DIR / --data-dir)")

    def price_path(self, ticker: str) -> Path | None:
        return self._find("prices", ticker)

    def macro_path(self, series_id: str) -> Path | None:
        if series_id in CBOE_SERIES:
            return self._find("cboe", series_id) or self._find("macro", series_id)
        return self._find("macro", series_id)

    def prices(self, ticker: str) -> pd.DataFrame:
        if ticker not in self._prices:
            path = self.price_path(ticker) or self._download("prices", ticker)
            self._prices[ticker] = readers.read_price_csv(path)
            self.origin[ticker] = str(path)
            log.debug("%s: read %s", ticker, path)
        return self._prices[ticker]

    def macro(self, series_id: str) -> pd.Series:
        """A FRED series; a policy rate (the fed funds target) is checked against the FOMC calendar."""
        if series_id not in self._macro:
            path = self.macro_path(series_id)
            if path is None and series_id in CBOE_SERIES:
                where = f"{self.data_dir}" if self.data_dir else "no data directory"
                raise DataError(
                    f"cboe/{series_id}.csv not found ({where}; cache {self.cache_dir}); it is not downloaded: "
                    f"put Cboe's {series_id} history (Date,{series_id}) in the data directory's cboe/ folder, "
                    "as in ../shared/data (the puts' surface reads it)"
                )
            path = path or self._download("macro", series_id)
            series = readers.read_fred_csv(path)
            meta = MACRO.get(series_id)
            if meta is not None and meta.lag_rule == "policy":
                check_policy_series(series, self.fomc(), path, self.origin["FOMC"], self.max_target_change)
            self._macro[series_id] = series
            self.origin[series_id] = str(path)
            log.debug("%s: read %s", series_id, path)
        return self._macro[series_id]

    def fomc(self) -> pd.DataFrame:
        """The FOMC calendar (`calendar/FOMC.csv`): decision days with `kind` scheduled or unscheduled."""
        if self._fomc is None:
            path = self._find("calendar", "FOMC")
            if path is None:
                where = f"{self.data_dir}" if self.data_dir else "no data directory"
                raise DataError(
                    f"calendar/FOMC.csv not found ({where}; cache {self.cache_dir}); it is not "
                    "downloaded: put the FOMC calendar (date,kind) in the data directory's calendar/ "
                    "folder, as in ../shared/data"
                )
            fomc = readers.read_fomc_csv(path)
            check_calendar(fomc, path)
            self._fomc = fomc
            self.origin["FOMC"] = str(path)
        return self._fomc

    def french(self, rel: str) -> pd.DataFrame:
        """A Ken French daily file (`data.catalog.FRENCH_SIZE`, `FRENCH_FACTORS`): returns in percent."""
        return self._table(rel, readers.read_french_csv)

    def romer(self) -> pd.DataFrame:
        """Romer and Romer's record of the intended rate at each FOMC meeting, 1969-1996."""
        return self._table(ROMER_FILE, readers.read_romer_csv)

    def _table(self, rel: str, reader) -> pd.DataFrame:
        """A file of the long history (`folder/name.csv` under the data directory): never downloaded."""
        if rel not in self._tables:
            kind, name = rel.split("/")
            path = self._find(kind, Path(name).stem)
            if path is None:
                where = f"{self.data_dir}" if self.data_dir else "no data directory"
                raise DataError(
                    f"{rel} not found ({where}; cache {self.cache_dir}); it is not downloaded: put it in "
                    f"the data directory's {kind}/ folder, as in ../shared/data (the long history needs it)"
                )
            self._tables[rel] = reader(path)
            self.origin[rel] = str(path)
            log.debug("%s: read %s", rel, path)
        return self._tables[rel]

    def _find(self, kind: str, name: str) -> Path | None:
        """The first place holding `name`; a place that exists but is no readable file is an error."""
        places = []
        if self.data_dir is not None:
            places += [self.data_dir / kind / f"{name}.csv", self.data_dir / f"{name}.csv"]
        places.append(self.cache_dir / kind / f"{name}.csv")
        for place in places:
            if place.is_file():
                return place
            if place.exists() or place.is_symlink():
                raise DataError(f"{place}: {readers.file_problem(place)}")
            if place.parent.is_symlink() and not place.parent.exists():  # the folder itself is a dead link
                raise DataError(f"{place.parent}: {readers.file_problem(place.parent)}")
        return None

    def _download(self, kind: str, name: str) -> Path:
        where = f"{self.data_dir}" if self.data_dir else "no data directory"
        if self.offline:
            raise DataError(
                f"series {name} not found ({where}; cache {self.cache_dir}) and downloads are off (offline): {FIX_HINT}"
            )
        from fedcut.data import fetch

        log.debug("%s: downloading into the cache, %s", name, self.cache_dir)
        try:
            return fetch.refresh(kind, name, self.cache_dir)
        except DataError as exc:
            raise DataError(
                f"series {name} not found ({where}; cache {self.cache_dir}) and the download failed: {exc}; {FIX_HINT}"
            ) from None
