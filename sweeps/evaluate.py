"""One sweep configuration, evaluated in a worker: run it, keep only metrics per sample.

The samples (`Segment`s: the whole run, in-sample, out-of-sample, each walk-forward window and
each easing cycle) are cut once by the parent from the data's trading days, so every worker
measures the same spans. A worker returns a small JSON-able dict, never frames or strategies.
Data, signals and the buy-and-hold benchmark are cached per worker process by `fedcut.run`.
"""
from __future__ import annotations

import math
import os
import resource
import sys
import time
from dataclasses import dataclass

import pandas as pd

from fedcut.analyzers import performance
from fedcut.analyzers.episodes import cycle_windows
from fedcut.errors import ConfigError
from fedcut.params import Config
from fedcut.run import prepare, run
from fedcut.sweeps.spec import Validation

@dataclass(frozen=True)
class Segment:
    name: str  # "full", "is", "oos", "wf1_is", "wf1_oos", ..., "cycle_2001", ...
    start: str  # ISO dates, inclusive
    end: str


@dataclass(frozen=True)
class Plan:
    """What every worker needs besides the configuration."""

    segments: tuple[Segment, ...]
    data_dir: str | None
    offline: bool | None


def plan_for(base: Config, validation: Validation, data_dir: str | None, offline: bool | None) -> Plan:
    """Cut the samples from the data the base configuration runs on (checks the dates fit)."""
    prepared = prepare(base, data_dir, offline)
    days = prepared.market.days
    first, last = days[0], days[-1]
    segments = [Segment("full", _iso(first), _iso(last))]
    if validation.train_end:
        end = pd.Timestamp(validation.train_end)
        if not first < end < last:
            raise ConfigError(f"validation train_end {validation.train_end} must fall inside the data "
                              f"({_iso(first)} .. {_iso(last)})")
        segments += [Segment("is", _iso(first), _iso(days[days <= end][-1])),
                     Segment("oos", _iso(days[days > end][0]), _iso(last))]
    if validation.walk_forward is not None:
        windows = walk_forward_windows(days, validation.walk_forward)
        if not windows:
            raise ConfigError(f"validation walk_forward: {validation.walk_forward.train_years:g} + "
                              f"{validation.walk_forward.test_years:g} years do not fit in the data "
                              f"({_iso(first)} .. {_iso(last)})")
        for k, (train, test) in enumerate(windows, 1):
            segments += [Segment(f"wf{k}_is", *train), Segment(f"wf{k}_oos", *test)]
    cuts = [d for d in prepared.first_cuts if d >= first]
    windows = cycle_windows(cuts, base.analysis.cycle_months_before, base.analysis.cycle_months_after,
                            data_end=last, data_start=first)
    known = {w.cycle for w in windows}
    for cycle in validation.select_cycles + validation.test_cycles:
        if cycle not in known:
            raise ConfigError(f"validation: cycle {cycle} is not in the data (cycles: {', '.join(sorted(known))})")
    segments += [Segment(f"cycle_{w.cycle}", _iso(days[days >= w.start][0]), _iso(days[days <= w.end][-1]))
                 for w in windows]
    return Plan(tuple(segments), data_dir, offline)


def walk_forward_windows(days: pd.DatetimeIndex, wf) -> list[tuple[tuple[str, str], tuple[str, str]]]:
    """Rolling (train, test) spans: train `train_years`, then test `test_years`, stepping by the
    test length; a last test window shorter than `min_test_years` is dropped."""
    out, start, last = [], days[0], days[-1]
    while True:
        split = start + _years(wf.train_years)
        test_end = min(split + _years(wf.test_years), last)
        if split >= last or (test_end - split).days < wf.min_test_years * 365.25:
            return out
        train = days[(days >= start) & (days < split)]
        test = days[(days >= split) & (days <= test_end)]
        out.append(((_iso(train[0]), _iso(train[-1])), (_iso(test[0]), _iso(test[-1]))))
        start = start + _years(wf.test_years)


def _years(years: float) -> pd.DateOffset:
    months = round(years * 12)
    return pd.DateOffset(months=months)


def segment_metrics(strategy: pd.Series, benchmark: pd.Series, rf: pd.Series, segment: Segment,
                    cycles: list[Segment]) -> dict:
    """Return, risk and their ratio over one span, for the strategy and buy-and-hold IWM."""
    s, b = strategy.loc[segment.start:segment.end], benchmark.loc[segment.start:segment.end]
    out = {"start": segment.start, "end": segment.end}
    for prefix, curve in (("", s), ("bh_", b)):
        growth = performance.cagr(curve)
        dd = performance.max_drawdown(curve).depth
        out[prefix + "total_return"] = float(curve.iloc[-1] / curve.iloc[0] - 1.0)
        out[prefix + "cagr"] = growth
        out[prefix + "max_drawdown"] = dd
        out[prefix + "calmar"] = growth / abs(dd) if growth is not None and dd < 0 else None
        out[prefix + "sharpe"] = performance.sharpe_ratio(curve, rf)
    out["excess_cagr"] = _minus(out["cagr"], out["bh_cagr"])
    out["drawdown_gain"] = out["max_drawdown"] - out["bh_max_drawdown"]
    inside = [c for c in cycles if segment.start <= c.start and c.end <= segment.end]
    depths = [performance.max_drawdown(strategy.loc[c.start:c.end]).depth for c in inside]
    out["worst_cycle_drawdown"] = min(depths) if depths else None
    return {k: _clean(v) for k, v in out.items()}


def evaluate(config: Config, plan: Plan) -> dict:
    """Run one configuration and measure every segment of the plan."""
    result = run(config, plan.data_dir, plan.offline)
    eq = result.equity
    rf = result.prepared.broker_inputs["cash_rate"]
    cycles = [s for s in plan.segments if s.name.startswith("cycle_")]
    m = result.metrics
    return {"segments": {s.name: segment_metrics(eq["strategy"], eq["benchmark"], rf, s, cycles)
                         for s in plan.segments},
            "trades": {"etf_trades": m["etf_trades"], "option_trades": m["hedge"]["option_trades"],
                       "rejected_orders": m["rejected_orders"], "premium_paid": m["hedge"]["premium_paid"]},
            "regime_share": m["regime_share"]}


def task(position: int, config: Config | None, error: str, plan: Plan) -> dict:
    """The unit of work sent to a worker: never raises, so one bad configuration cannot stop a sweep."""
    started = time.perf_counter()
    outcome = {"position": position, "status": "failed", "error": error, "result": None}
    if config is not None:
        try:
            outcome.update(status="ok", error="", result=evaluate(config, plan))
        except Exception as exc:  # recorded with the configuration; the sweep goes on
            outcome.update(status="failed", error=f"{type(exc).__name__}: {' '.join(str(exc).split())}"[:500])
    outcome["seconds"] = time.perf_counter() - started
    outcome["peak_rss_mib"] = _peak_rss_mib()
    outcome["worker"] = os.getpid()
    return outcome


def _peak_rss_mib() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024  # bytes on macOS, KiB on Linux


def _minus(a, b):
    return None if a is None or b is None else a - b


def _clean(x):
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def _iso(day: pd.Timestamp) -> str:
    return day.strftime("%Y-%m-%d")
