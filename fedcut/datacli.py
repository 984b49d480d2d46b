"""`fedcut data status|fetch`: what the data layer sees, and refreshing the cache."""

from __future__ import annotations

import warnings
from pathlib import Path

from fedcut.core.errors import ConfigError, DataError
from fedcut.core.params import HISTORIES, defaults
from fedcut.data import fetch
from fedcut.data.catalog import FRENCH_FACTORS, FRENCH_SIZE, INSTRUMENTS, MACRO, MARKET_FRED, REGIME_SERIES, ROMER_FILE
from fedcut.data.market import build_market
from fedcut.data.readers import MAX_GAP_DAYS, DataWarning
from fedcut.data.sources import DataSource
from fedcut.strategies.targets import holdings_for

REQUIRED_PRICES = ("IWM", "VIX", "SPY")
# A fetch whose first downloads all fail stops: with no network each of the ~40 series would print
# its own "FAILED ... possibly delisted" line (yfinance cannot tell an unreachable server from a
# delisted ticker); three in a row, none fetched, is past a one-off outage of a single series.
STOP_AFTER_FAILURES = 3
HISTORY_LABELS = {
    "iwm": "the default, from IWM's first day",
    "extended": "from 1990, IWM proxied by the Russell 2000",
    "long": "from 1954: Ken French's portfolios, the Russell 2000 total return, each input's fallback",
}


def status(source: DataSource, out=print) -> int:
    """Print one line per series (the long history's files too), then each history's span, proxies
    and notes; return 1 if a required series is missing or invalid, or a history cannot be built."""
    failed = []
    out(f"{'series':<13} {'first':<10} {'last':<10} {'rows':>6} {'gaps>7d':>7}  file")
    readers = (
        [(name, source.prices, name) for name in INSTRUMENTS]
        + [(name, source.macro, name) for name in MACRO]
        + [(name, source.macro, name) for name in MARKET_FRED]
        + [(Path(rel).stem, source.french, rel) for rel in (FRENCH_SIZE, FRENCH_FACTORS)]
        + [("romer", lambda _: source.romer(), ROMER_FILE)]
    )
    for name, read, key in readers:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DataWarning)
                data = read(key)
        except DataError as exc:
            required = name in REQUIRED_PRICES or name in REGIME_SERIES
            out(f"{name:<13} {'ERROR' if required else 'missing':<10} {exc}")
            if required:
                failed.append(name)
            continue
        gaps = int((data.index.to_series().diff().dt.days > MAX_GAP_DAYS).sum()) if name in INSTRUMENTS else ""
        out(
            f"{name[:13]:<13} {data.index[0].date()!s:<10} {data.index[-1].date()!s:<10} {len(data):>6} {gaps!s:>7}  "
            f"{source.origin[key]}"
        )
    try:
        fomc = source.fomc()
        out(
            f"{'FOMC':<13} {fomc.index[0].date()!s:<10} {fomc.index[-1].date()!s:<10} {len(fomc):>6} {'':>7}  {source.origin['FOMC']}"
        )
    except DataError as exc:
        out(f"{'FOMC':<13} {'ERROR':<10} {exc}")
        failed.append("FOMC")
    if not failed:
        cfg = defaults()
        for history in HISTORIES:
            try:
                market = build_market(
                    source, holdings_for(cfg.strategy) + ("SPY",), "", "", history, cfg.data, REGIME_SERIES
                )
            except DataError as exc:
                out(f"{history} history: ERROR {exc}")
                failed.append(f"the {history} history")
                continue
            out(
                f"\n{history} history ({HISTORY_LABELS[history]}): {market.days[0].date()} .. "
                f"{market.days[-1].date()} (end set by {market.end_set_by})"
            )
            for span in market.proxies:
                out(f"  proxy  {span.describe()}")
            for note in market.notes:
                out(f"  note   {note}")
    if failed:
        out(f"\nrequired series missing or invalid: {', '.join(failed)}")
        return 1
    return 0


def fetch_all(source: DataSource, names: list[str] | None, out=print) -> int:
    """Download and merge each series into the cache; returns 1 if any failed. Offline
    (`--offline`, FEDCUT_OFFLINE) it refuses: a fetch is a download."""
    if source.offline:
        raise ConfigError(
            "data fetch: downloads are off (--offline or FEDCUT_OFFLINE); run it without them to refresh the cache"
        )
    todo = names or (list(INSTRUMENTS) + [m for m in MACRO])
    failed: list[str] = []
    held: list[str] = []  # failures before any success, printed once one download works
    for k, name in enumerate(todo):
        kind = "prices" if name in INSTRUMENTS else "macro"
        try:
            path = fetch.refresh(kind, name, source.cache_dir)
        except DataError as exc:
            failed.append(f"{name}: {exc}")
            held.append(f"{name}: FAILED {exc}")
            if len(failed) == k + 1 == STOP_AFTER_FAILURES and len(todo) > STOP_AFTER_FAILURES:
                raise DataError(
                    f"data fetch: the first {k + 1} downloads failed and none succeeded "
                    f"({'; '.join(failed)}): the network or the sources are unreachable; stopped, "
                    f"the cache is unchanged"
                ) from None
            if len(failed) < k + 1:  # something was fetched: a failure is this series' own
                out(held.pop())
            continue
        for line in held:
            out(line)
        held.clear()
        out(f"{name}: cached {path}")
    for line in held:
        out(line)
    return 1 if failed else 0
