"""What the small-cap benchmark of a run is, and its name: every output names it from here.

Buy-and-hold of IWM's slot is IWM itself only where the run starts on or after IWM's first day. The
extended history holds the Russell 2000 price index plus a dividend accrual before it; the long
history a chain of stand-ins (`catalog.LONG_CHAINS`). Calling that "buy-and-hold IWM" would name a
fund that did not exist for figures it never had, so such a run names it "buy-and-hold small caps"
and states the splice once (`Benchmark.splice`) where its pictures and pages explain their curves.
The name depends only on `run.history` and the run's first and last day, which metrics.json's `run`
section holds, so a saved run is re-reported with the same words (`of_run`).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from fedcut.data.catalog import HISTORY_START, INSTRUMENTS, LONG_CHAINS, STAND_INS

TICKER = "IWM"  # the instrument whose slot the benchmark buys and holds
# What each series standing in for IWM is, in words (the long history's stand-ins say it in the catalog).
ABOUT = {"RUT": "Russell 2000 price index plus a dividend accrual (data.rut_dividend_yield)"}


@dataclass(frozen=True)
class Benchmark:
    """The benchmark's short name ("IWM", "small caps"), for table headers and sentences, and the
    splice: empty when the series is IWM throughout, else which series it is over which days."""

    short: str
    splice: str = ""

    @property
    def label(self) -> str:
        """Its name as a curve: "buy-and-hold IWM", "buy-and-hold small caps"."""
        return f"buy-and-hold {self.short}"

    @property
    def spliced(self) -> bool:
        return bool(self.splice)


def possessive(name: str) -> str:
    """ "buy-and-hold IWM's", "buy-and-hold small caps'"."""
    return name + ("'" if name.endswith("s") else "'s")


IWM = Benchmark(TICKER)  # the default history's benchmark, and the generic name where no run is known
SMALL_CAPS = "small caps"


def _links(history: str) -> tuple[str, ...]:
    """The series that hold IWM's slot before IWM in `history`, oldest first."""
    if history == "long":
        return LONG_CHAINS[TICKER]
    proxy = INSTRUMENTS[TICKER].proxy
    return (proxy,) if history == "extended" and proxy else ()


def _first(name: str) -> pd.Timestamp:
    return pd.Timestamp(STAND_INS[name].first_date if name in STAND_INS else INSTRUMENTS[name].first_date)


def benchmark_of(history: str, start=None, end=None) -> Benchmark:
    """The benchmark of a run of `history` from `start` to `end` (its first and last day; None: the
    history's first day, and no end)."""
    start = pd.Timestamp(start or HISTORY_START.get(history, INSTRUMENTS[TICKER].first_date))
    end = pd.Timestamp.max if end is None else pd.Timestamp(end)
    chain = [*_links(history), TICKER]
    firsts = [_first(name) for name in chain]
    used = [k for k in range(len(chain)) if firsts[k] <= end and (k + 1 == len(chain) or firsts[k + 1] > start)]
    if [chain[k] for k in used] == [TICKER]:
        return IWM
    parts = []
    for k in used:
        name = chain[k]
        about = TICKER if name == TICKER else STAND_INS[name].about if name in STAND_INS else ABOUT[name]
        parts.append(f"{about} from {max(firsts[k], start).date()}")
    return Benchmark(SMALL_CAPS, f"{SMALL_CAPS}: " + ", then ".join(parts))


def of_run(run: dict | None) -> Benchmark:
    """The benchmark of a run from metrics.json's `run` section (`history`, `start`, `end`); IWM for
    figures that name no run."""
    if not run or "start" not in run:
        return IWM
    return benchmark_of(run.get("history", "iwm"), run["start"], run["end"])
