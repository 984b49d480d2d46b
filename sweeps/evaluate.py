"""Sweep configurations, evaluated in a worker a block at a time: run them, keep metrics per sample.

The samples (`Segment`s: the whole run, in-sample, out-of-sample, each walk-forward window and
each easing cycle) are cut once by the parent from the data's trading days, so every worker
measures the same spans. A block's configurations are grouped by what they share: the data and
regime settings (one signal frame each, computed once per worker, without the reason text), then
their targets are built and executed together by the sweep's engine (`execution.engines`), and the
sample metrics are computed for all of them at once. A worker returns small JSON-able dicts and
each configuration's daily returns (float32), never frames. Data and signals are cached per worker
process by `fedcut.run.inputs`, the buy-and-hold benchmark's figures here.
"""

from __future__ import annotations

import functools
import math
import os
import resource
import sys
import time
import zlib
from dataclasses import dataclass

import numpy as np
import pandas as pd

from fedcut.analyzers import performance
from fedcut.analyzers.kernels import sample_metrics
from fedcut.core.errors import ConfigError
from fedcut.core.params import PARAMS, Config, resolve
from fedcut.execution.engine import tape_for
from fedcut.execution.engines import ARRAY, Engine
from fedcut.run.backtest import run_cycles, strategy_plan
from fedcut.run.inputs import prepare, signals
from fedcut.strategies.targets import holdings_for, target_block
from fedcut.sweeps.spec import Validation
from fedcut.sweeps.store import stored_json

# Configurations evaluated together: their targets (CHUNK x days x tickers, 26 MB) stay within
# the processor's cache, where 256 at once (the runner's blocks) were 15% slower a configuration.
CHUNK = 64
BENCHMARK_CACHE = 512  # buy-and-hold figures kept per worker (about 10 kB each: 5 MB, whatever the sweep)


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
    engine: Engine = ARRAY
    # The figures of each sample (in the stored order: by name) the parent reads from an outcome's result
    # (the rest goes to the store as JSON only): what it unpickles shrinks threefold. None: all of it.
    kept: tuple[tuple[str, tuple[str, ...]], ...] | None = None
    # The spec's [base]: a configuration sent as its swept values alone (to a Dask cluster, whose
    # scheduler keeps about what each task was sent) is resolved over it in the worker, as `sweeps.points` does.
    base: dict | None = None


def plan_for(
    base: Config, validation: Validation, data_dir: str | None, offline: bool | None, engine: Engine = ARRAY
) -> Plan:
    """Cut the samples from the data the base configuration runs on (checks the dates fit)."""
    prepared = prepare(base, data_dir, offline)
    days = prepared.market.days
    first, last = days[0], days[-1]
    segments = [Segment("full", _iso(first), _iso(last))]
    if validation.train_end:
        end = pd.Timestamp(validation.train_end)
        if not first < end < last:
            raise ConfigError(
                f"validation train_end {validation.train_end} must fall inside the data ({_iso(first)} .. {_iso(last)})"
            )
        segments += [
            Segment("is", _iso(first), _iso(days[days <= end][-1])),
            Segment("oos", _iso(days[days > end][0]), _iso(last)),
        ]
    if validation.walk_forward is not None:
        windows = walk_forward_windows(days, validation.walk_forward)
        if not windows:
            raise ConfigError(
                f"validation walk_forward: {validation.walk_forward.train_years:g} + "
                f"{validation.walk_forward.test_years:g} years do not fit in the data "
                f"({_iso(first)} .. {_iso(last)})"
            )
        for k, (train, test) in enumerate(windows, 1):
            segments += [Segment(f"wf{k}_is", *train), Segment(f"wf{k}_oos", *test)]
    windows = run_cycles(prepared, base)
    known = {w.cycle for w in windows}
    for cycle in validation.select_cycles + validation.test_cycles:
        if cycle not in known:
            raise ConfigError(f"validation: cycle {cycle} is not in the data (cycles: {', '.join(sorted(known))})")
    segments += [
        Segment(f"cycle_{w.cycle}", _iso(days[days >= w.start][0]), _iso(days[days <= w.end][-1])) for w in windows
    ]
    return Plan(tuple(segments), data_dir, offline, engine)


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


def sample_figures(
    values: np.ndarray, days: pd.DatetimeIndex, rf_daily: np.ndarray, segments: tuple[Segment, ...]
) -> np.ndarray:
    """`METRICS` (curves x segments x 5, NaN where undefined) of every row of `values` (K curves on
    `days`), as `analyzers.performance` defines them: CAGR over calendar years, max drawdown,
    Calmar, Sharpe over the T-bill return of each day (`rf_daily`, aligned with `values[:, 1:]`).
    The loops over days are compiled (`analyzers.kernels.sample_metrics`, numpy's bits)."""
    spans = np.array(
        [(days.get_loc(pd.Timestamp(seg.start)), days.get_loc(pd.Timestamp(seg.end))) for seg in segments],
        dtype=np.int64,
    ).reshape(-1, 2)
    compiled = np.empty((3, len(segments), len(values)))
    sample_metrics(
        np.ascontiguousarray(values, dtype=float),
        np.ascontiguousarray(rf_daily, dtype=float),
        spans[:, 0].copy(),
        spans[:, 1].copy(),
        performance.ZERO_VOLATILITY,
        math.sqrt(performance.TRADING_DAYS_PER_YEAR),
        compiled,
    )
    out = np.empty((len(values), len(segments), len(METRICS)))
    for j, (a, b) in enumerate(spans):
        ratio = compiled[0, j]  # a contiguous row, raised to a scalar power as numpy does it for one
        years = (days[b] - days[a]).days / performance.DAYS_PER_YEAR
        out[:, j, 0] = ratio - 1.0
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            out[:, j, 1] = ratio ** (1.0 / years) - 1.0 if years > 0 else np.nan
    depth = out[:, :, 2] = compiled[1].T
    with np.errstate(invalid="ignore", divide="ignore"):
        out[:, :, 3] = np.where(depth < 0, out[:, :, 1] / np.abs(depth), np.nan)
    out[:, :, 4] = compiled[2].T
    return out


SPAN = ("start", "end")  # a sample's dates, in every result the parent keeps
METRICS = ("total_return", "cagr", "max_drawdown", "calmar", "sharpe")  # per segment, as `sample_figures` gives them
UNDEFINED_AS_NONE = ("cagr", "calmar", "sharpe")  # stored as None when not finite; the others as computed


def segment_block(
    values: np.ndarray, days: pd.DatetimeIndex, rf_daily: np.ndarray, segments: tuple[Segment, ...]
) -> list[dict[str, dict]]:
    """`sample_figures` as a dict per curve: segment name -> its start, end and `METRICS`."""
    figures = _stored(sample_figures(values, days, rf_daily, segments), METRICS).tolist()
    return [
        {seg.name: {"start": seg.start, "end": seg.end, **dict(zip(METRICS, row))} for seg, row in zip(segments, rows)}
        for rows in figures
    ]


def _stored(table: np.ndarray, keys: tuple[str, ...]) -> np.ndarray:
    """`table` (..., keys) as Python floats (an object array), the non-finite `UNDEFINED_AS_NONE`
    figures (and `bh_` ones) as None."""
    out = table.astype(object)
    for i, key in enumerate(keys):
        if key.removeprefix("bh_") in UNDEFINED_AS_NONE:
            out[..., i][~np.isfinite(table[..., i])] = None
    return out


# A stored segment's keys, in the order the store's sorted JSON gives them back (`task`'s outcomes
# are kept by the parent as they are, so every dict of a result is built in sorted key order).
SEGMENT_KEYS = tuple(
    sorted(
        (
            "start",
            "end",
            *METRICS,
            *("bh_" + m for m in METRICS),
            "excess_cagr",
            "drawdown_gain",
            "worst_cycle_drawdown",
        )
    )
)


def with_benchmark(mine: np.ndarray, bench: np.ndarray, segments: tuple[Segment, ...]) -> list[dict[str, dict]]:
    """Per curve, each segment's figures (`sample_figures`: curves x segments x metrics) beside
    buy-and-hold IWM's (`bh_`), the differences and the deepest easing-cycle drawdown inside the
    segment; segments and keys in sorted order. A difference with an undefined side is None."""
    col = {key: i for i, key in enumerate(SEGMENT_KEYS)}
    table = np.full((*mine.shape[:2], len(SEGMENT_KEYS)), np.nan)
    for i, key in enumerate(METRICS):
        table[..., col[key]] = mine[..., i]
        table[..., col["bh_" + key]] = bench[..., i]
    cagr, bh_cagr = mine[..., METRICS.index("cagr")], bench[..., METRICS.index("cagr")]
    depth, bh_depth = mine[..., METRICS.index("max_drawdown")], bench[..., METRICS.index("max_drawdown")]
    defined = np.isfinite(cagr) & np.isfinite(bh_cagr)
    table[..., col["excess_cagr"]] = cagr - bh_cagr
    table[..., col["drawdown_gain"]] = depth - bh_depth
    cycles = [j for j, s in enumerate(segments) if s.name.startswith("cycle_")]
    no_cycle = np.zeros(len(segments), dtype=bool)
    for j, seg in enumerate(segments):
        inside = [c for c in cycles if seg.start <= segments[c].start and segments[c].end <= seg.end]
        if not inside:
            no_cycle[j] = True
            continue
        worst = depth[:, inside[0]]
        for c in inside[1:]:  # Python's min over the cycles in order: a NaN first stays, a later one is skipped
            worst = np.where(depth[:, c] < worst, depth[:, c], worst)
        table[:, j, col["worst_cycle_drawdown"]] = worst
    out = _stored(table, SEGMENT_KEYS)
    out[..., col["excess_cagr"]][~defined] = None
    out[:, no_cycle, col["worst_cycle_drawdown"]] = None
    for j, seg in enumerate(segments):
        out[:, j, col["start"]], out[:, j, col["end"]] = seg.start, seg.end
    order = sorted(range(len(segments)), key=lambda j: segments[j].name)
    names = [segments[j].name for j in order]
    return [{name: dict(zip(SEGMENT_KEYS, row)) for name, row in zip(names, rows)} for rows in out[:, order].tolist()]


def pack_returns(values: np.ndarray) -> bytes:
    """A curve's daily returns as float32 in a zlib stream (26 kB for 25 years): enough for the
    overfitting statistics, small enough for 10,000 configurations in one store. Stored, not
    compressed (level 0): daily returns' float32 bits shrink by 8% at 0.6 ms a configuration,
    a sixth of a sweep's cost; the stream format reads stores of either kind."""
    returns = (values[1:] / values[:-1] - 1.0).astype("<f4")
    return zlib.compress(returns.tobytes(), 0)


def unpack_returns(blob: bytes) -> np.ndarray:
    return np.frombuffer(zlib.decompress(blob), dtype="<f4").astype(float)


def curves_of(blobs: list[bytes]) -> np.ndarray:
    """Packed curves as one curves x days float32 array (each row `unpack_returns` of its blob, as
    stored, before its cast to float64): a chunk of what `analyzers.overfitting.Curves` reads."""
    rows = [np.frombuffer(zlib.decompress(blob), dtype="<f4") for blob in blobs]
    return np.stack(rows) if rows else np.empty((0, 0), dtype=np.float32)


def evaluate_block(configs: list[Config], plan: Plan) -> list[dict]:
    """Run configurations that share their data, regime and holdings settings; per configuration
    the sample metrics, trade counts, regime shares and packed daily returns."""
    base = configs[0]
    prepared = prepare(base, plan.data_dir, plan.offline)
    sig = signals(prepared, base, reasons=False)
    days = prepared.market.days
    own = base.run.strategy
    if own == "fedcut":
        tickers = holdings_for(base.strategy)
        available = _available(prepared, tickers)
        weights, ratios = target_block(
            sig, available, [c.strategy for c in configs], [c.hedge for c in configs], tickers
        )
    else:
        plans = [strategy_plan(own, prepared, c, sig) for c in configs]
        tickers = plans[0][0]
        weights, ratios = np.stack([p[1] for p in plans]), np.stack([p[2] for p in plans])
    done = plan.engine.execute(_tape(prepared, tickers), configs, weights, ratios)
    values, counts = done.value, done.counts
    rf = _risk_free(prepared)
    mine = sample_figures(values, days, rf, plan.segments)
    regime_share = _regime_share(prepared, group_key(base), sig)
    segments = with_benchmark(mine, _benchmark_segments(prepared, configs, rf, plan), plan.segments)
    results = []
    for k in range(len(configs)):
        trades = {
            "etf_trades": int(counts["etf_trades"][k]),
            "option_trades": int(counts["option_trades"][k]),
            "premium_paid": float(counts["premium_paid"][k]),
            "rejected_orders": int(counts["rejected_orders"][k]),
        }
        results.append(
            {
                "near_boundary": int(counts["near_boundary"][k]),
                "regime_share": regime_share,
                "returns": pack_returns(values[k]),
                "segments": segments[k],
                "trades": trades,
            }
        )  # keys in sorted order, as everywhere in a result
    return results


@functools.lru_cache(maxsize=8)
def _tape(prepared, tickers: tuple[str, ...]):
    """The tape of `tickers` over the prepared data (`execution.engine.tape_for`), built once per
    worker: no configuration changes it, and a sweep of regime settings would build it 1,000 times."""
    return tape_for(prepared.market, prepared.broker_inputs, tickers)


@functools.lru_cache(maxsize=8)
def _available(prepared, tickers: tuple[str, ...]) -> np.ndarray:
    """Which of `tickers` has a price each day (days x tickers), once per worker."""
    return prepared.market.close[list(tickers)].notna().to_numpy()


@functools.lru_cache(maxsize=8)
def _risk_free(prepared) -> np.ndarray:
    """Each day's T-bill return (`analyzers.performance.daily_risk_free`) over the data, once per worker."""
    return performance.daily_risk_free(prepared.broker_inputs["cash_rate"], prepared.market.days).to_numpy()


_SHARES: dict[tuple, dict[str, float]] = {}  # per worker: (prepared, group) -> regime shares


def _regime_share(prepared, group: tuple, sig: pd.DataFrame) -> dict[str, float]:
    """The share of days in each regime of the signals `sig` of a block's `group` (`group_key`: the
    data and regime settings, all the signals depend on), computed once per worker and group."""
    key = (prepared, group)
    if key not in _SHARES:
        if len(_SHARES) >= BENCHMARK_CACHE:
            _SHARES.clear()
        shares = sig["regime"].value_counts(normalize=True).sort_index()
        _SHARES[key] = {k: float(v) for k, v in shares.items()}
    return _SHARES[key]


_BENCHMARK: dict[tuple, np.ndarray] = {}  # per worker: (prepared, segments, execution) -> figures


def _benchmark_segments(prepared, configs: list[Config], rf: np.ndarray, plan: Plan) -> np.ndarray:
    """Buy-and-hold IWM's `sample_figures` (configurations x segments x metrics), computed once per
    distinct execution setting (the only settings it depends on) per worker, the new ones in one block."""
    keys = [(prepared, plan.segments, plan.engine, tuple(sorted(c.execution.as_dict().items()))) for c in configs]
    missing = {key: k for k, key in reversed(list(enumerate(keys))) if key not in _BENCHMARK}
    computed = {}
    if missing:
        distinct = [configs[k] for k in missing.values()]
        values = plan.engine.buy_and_hold(_tape(prepared, ("IWM",)), distinct)
        computed = dict(zip(missing, sample_figures(values, prepared.market.days, rf, plan.segments)))
    out = np.stack([computed[key] if key in computed else _BENCHMARK[key] for key in keys])
    if len(_BENCHMARK) + len(computed) > BENCHMARK_CACHE:
        _BENCHMARK.clear()
    _BENCHMARK.update(computed)
    return out


# What configurations must share to be run in one block: data, history, regime and holdings.
_GROUP_KEYS = frozenset(
    {
        "run.start",
        "run.end",
        "run.history",
        "run.oracle",
        "run.strategy",
        "strategy.cyclicals",
        "strategy.defensives",
        "hedge.div_yield_window_days",
        "hedge.small_cap_ratio_window",
    }
    | {p.key for p in PARAMS if p.key.startswith(("data.", "regime."))}
)


def group_key(config: Config) -> tuple:
    """The values of `_GROUP_KEYS`, read from the flat values: the parent keys every configuration
    of a sweep, and building each one's sections would cost a second per 10,000."""
    return tuple(item for item in config.values if item[0] in _GROUP_KEYS)


def warm_up(base: Config, data_dir: str | None, offline: bool | None, engine: Engine = ARRAY) -> None:
    """Fill a new worker's caches: the data, the base configuration's signals and, unless the engine
    is the reference (seconds a configuration, whatever is warm), its compiled code (the base
    configuration evaluated over the whole history). Never raises: a failure here is met again,
    and recorded, by the first configuration it concerns."""
    try:
        prepared = prepare(base, data_dir, offline)
        signals(prepared, base, reasons=False)
        if not engine.reference:
            days = prepared.market.days
            evaluate_block([base], Plan((Segment("full", _iso(days[0]), _iso(days[-1])),), data_dir, offline, engine))
    except Exception:  # noqa: BLE001 - see above
        pass


def task(items: list[tuple[int, Config | dict | None, str]], plan: Plan) -> list[dict]:
    """The unit of work sent to a worker: a block of (position, config, error) that never raises,
    so one bad configuration cannot stop a sweep; each outcome carries its own status. A config given
    as its swept values is resolved over `plan.base` first (the configuration the parent resolved)."""
    outcomes = []
    groups: dict[tuple, list] = {}
    for position, config, error in items:
        if isinstance(config, dict):
            config = resolve({**(plan.base or {}), **config}, where="sweep point")
        if config is None:
            outcomes.append(_outcome(position, "failed", error, None, 0.0))
        else:
            groups.setdefault(group_key(config), []).append((position, config))
    chunks = [members[k : k + CHUNK] for members in groups.values() for k in range(0, len(members), CHUNK)]
    for members in chunks:
        started = time.perf_counter()
        try:
            results = evaluate_block([c for _, c in members], plan)
        except Exception:  # isolate the configuration that fails: evaluate one by one
            results = None
        seconds = (time.perf_counter() - started) / len(members)
        for k, (position, config) in enumerate(members):
            if results is not None:
                outcomes.append(_outcome(position, "ok", "", results[k], seconds, config, plan.kept))
                continue
            started = time.perf_counter()
            try:
                outcomes.append(
                    _outcome(
                        position,
                        "ok",
                        "",
                        evaluate_block([config], plan)[0],
                        time.perf_counter() - started,
                        config,
                        plan.kept,
                    )
                )
            except Exception as exc:  # recorded with the configuration; the sweep goes on
                message = f"{type(exc).__name__}: {' '.join(str(exc).split())}"[:500]
                outcomes.append(_outcome(position, "failed", message, None, time.perf_counter() - started, config))
    return outcomes


def _outcome(
    position: int,
    status: str,
    error: str,
    result: dict | None,
    seconds: float,
    config: Config | None = None,
    kept: tuple[tuple[str, tuple[str, ...]], ...] | None = None,
) -> dict:
    """One configuration's outcome, with its configuration and result already in the store's JSON
    (`sweeps.store.stored_json`): encoded here, in parallel, not once per configuration by the parent;
    the result itself only with the `kept` figures of each sample when the plan names them."""
    returns = result.pop("returns") if result else None
    text = None if result is None else stored_json(result)
    if result is not None and kept is not None:
        segments = result["segments"]
        result = {
            **result,
            "segments": {name: {f: segments[name][f] for f in SPAN + figures} for name, figures in kept},
        }
    return {
        "position": position,
        "status": status,
        "error": error,
        "result": result,
        "returns": returns,
        "result_json": text,
        "config_json": stored_json({} if config is None else config.flat()),
        "seconds": seconds,
        "peak_rss_mib": _peak_rss_mib(),
        "worker": os.getpid(),
    }


def _peak_rss_mib() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024  # bytes on macOS, KiB on Linux


def _iso(day: pd.Timestamp) -> str:
    return day.strftime("%Y-%m-%d")
