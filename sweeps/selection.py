"""Honest about selection: where the shipped default ranks among a sweep's variants, and what the
median variant earns against the buy-and-hold benchmark (overfitting.json's `selection`; `yardstick`
names it: IWM, or small caps where stand-ins hold IWM's place).

The default was chosen with history in view; a sweep of the variants it could have been shows
whether it is typical of them or their luckiest draw. Everything is measured over the whole
run (the `full` sample), whatever the spec ranks on, and from the stored figures of
`summary.csv`, so it can be redone by hand. The default is the registry's defaults on the
sweep's own span (`[base]`'s `run.start`, `run.end`, `run.history`); a sweep whose
configurations do not include it says why instead of ranking something else.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from fedcut.analyzers.selection import place_among
from fedcut.core.params import PARAMS, Config, resolve
from fedcut.data.benchmark import Benchmark, benchmark_of
from fedcut.plots.sweep import ok_rows

SPAN_KEYS = ("run.start", "run.end", "run.history")  # what a sweep's default may set: where it runs, not how
SHOWN = ("sharpe", "cagr", "max_drawdown")  # what the median variant is shown by, beside the objective


def objective(segment: dict | None, name: str) -> float:
    """A stored segment's figure `name` (NaN where it is missing or undefined)."""
    value = None if segment is None else segment.get(name)
    return math.nan if value is None else float(value)


def benchmark_objective(segment: dict | None, name: str) -> float:
    """The buy-and-hold benchmark's value of the same objective (0 for objectives measured against it)."""
    if name in ("excess_cagr", "drawdown_gain"):
        return 0.0
    if name == "worst_cycle_drawdown":
        name = "max_drawdown"
    return objective(segment, "bh_" + name)


def default_config(spec) -> Config:
    """The shipped defaults over the sweep's span."""
    return resolve({k: v for k, v in spec.base.items() if k in SPAN_KEYS}, where=f"{spec.path}: [base]")


def yardstick(spec, span: dict | None = None) -> Benchmark:
    """What the sweep's buy-and-hold benchmark is, and its name (`data.benchmark`), over `span` (a stored
    segment, or overfitting.json's `selection`: `start` and `end`), else over `[base]`'s span."""
    run = default_config(spec).run
    span = span or {}
    return benchmark_of(run.history, span.get("start") or run.start or None, span.get("end") or run.end or None)


def selection_report(spec, summary: pd.DataFrame, result_of) -> dict | None:
    """The default's place and the median variant, against the buy-and-hold benchmark, over the whole run;
    None when no configuration ran. JSON-able (a missing figure is None). `result_of(config_hash)`
    gives a stored configuration's result."""
    default = default_config(spec)
    family = ok_rows(summary)
    note = ""
    if "run.strategy" in spec.swept:
        own = default.run.strategy
        note = f"the configurations with run.strategy = {own} (the baselines swept beside them are left out)"
        family = family[family["run.strategy"] == own]
    if not len(family):
        return None
    metrics = tuple(dict.fromkeys((*SHOWN, spec.objective)))
    own_hash = default.digest()
    reference = result_of(own_hash if own_hash in set(family["config_hash"]) else family["config_hash"].iloc[0])
    full = reference["segments"]["full"]
    bench = {m: _clean(benchmark_objective(full, m)) for m in metrics}
    columns = {m: family[f"full_{m}"].to_numpy(dtype=float) for m in metrics}
    out = {
        "sample": "full",
        "start": full["start"],
        "end": full["end"],
        "objective": spec.objective,
        "family": len(family),
        "family_note": note,
        "median_variant": {
            m: _clean(float(np.nanmedian(v))) if np.isfinite(v).any() else None for m, v in columns.items()
        },
        "buy_and_hold": bench,
        "variants_above_buy_and_hold": {
            m: int(np.count_nonzero(v > bench[m])) if bench[m] is not None else None for m, v in columns.items()
        },
        "default": {"config_hash": own_hash},
    }
    hashes = list(family["config_hash"])
    if own_hash in hashes:
        k = hashes.index(own_hash)
        out["default"].update(
            {
                "in_family": True,
                "why_not": "",
                **{m: _clean(float(v[k])) for m, v in columns.items()},
                "place": {m: place_among(columns[m], k).to_dict() for m in dict.fromkeys((spec.objective, "sharpe"))},
            }
        )
    else:
        out["default"].update({"in_family": False, "why_not": why_default_missing(spec, summary, own_hash)})
    return out


def why_default_missing(spec, summary: pd.DataFrame, own_hash: str) -> str:
    """Why the default is not among the ranked configurations, from the spec (or its failure)."""
    failed = summary[(summary["config_hash"] == own_hash) & (summary["status"] != "ok")]
    if len(failed):
        return f"it failed: {failed['error'].iloc[0]}"
    defaults = {p.key: _plain(p.default) for p in PARAMS}
    moved = [k for k, v in spec.base.items() if k not in SPAN_KEYS and _plain(v) != defaults[k]]
    if moved:
        return "the spec's [base] moves " + ", ".join(f"{k} from its default {_text(defaults[k])}" for k in moved)
    absent = [k for k, values in spec.grid.items() if defaults[k] not in {_plain(v) for v in values}]
    reasons = [f"{k} (default {_text(defaults[k])}) is not in the grid" for k in absent]
    reasons += [f"{k} is drawn at random" for k in spec.random]
    return "; ".join(reasons) or "the spec's [constraints] rules exclude it"


def _plain(value):
    return tuple(value) if isinstance(value, list) else value


def _text(value) -> str:
    return (
        "+".join(map(str, value))
        if isinstance(value, tuple)
        else f"{value:g}"
        if isinstance(value, float)
        else str(value)
    )


def _clean(x: float) -> float | None:
    return x if math.isfinite(x) else None
