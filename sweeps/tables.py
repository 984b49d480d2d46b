"""A sweep's results as columns, and the tables computed from them: the ranked summary, walk-forward,
selection on some easing cycles, leave one cycle out.

`Results` holds, per configuration (by its position in the spec), its status, the figures of each
sample the tables rank and filter on (`kept_figures`; float64: the stored values, a missing one NaN),
its trade counts and swept values (a number column for numbers): about 0.7 kB a configuration over
17 samples, instead of its decoded JSON (about 20 kB). A table reads the full stored figures only of
the configurations it shows (`Store.row`). Ranking uses in-sample numbers only; ties go to the
smaller configuration hash, as everywhere in a sweep's outputs.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import BinaryIO

import numpy as np
import pandas as pd

from fedcut.sweeps.selection import objective
from fedcut.sweeps.spec import Spec
from fedcut.sweeps.store import Store

SAMPLE_METRICS = ("cagr", "max_drawdown", "calmar", "sharpe", "excess_cagr", "drawdown_gain", "worst_cycle_drawdown")
FIGURES = (*SAMPLE_METRICS, "total_return", "bh_cagr")  # per sample: what the tables rank and filter on
TRADES = ("etf_trades", "option_trades", "premium_paid", "rejected_orders")
DRAWDOWN_OBJECTIVES = ("max_drawdown", "worst_cycle_drawdown")  # over several cycles: the worst, not the mean
MISSING, OK, FAILED = 0, 1, 2
READ_CHUNK = 4096  # stored rows decoded at once when the results are read back from a store
CSV_FLOATS = "%.10g"  # a sweep table's numbers: ten significant digits, enough to tell any two apart
CSV_ROWS = 65_536  # rows of a table turned into text at once: a million rows never whole in memory


def kept_figures(spec: Spec, segment: str) -> tuple[str, ...]:
    """The figures of sample `segment` that the tables read for every configuration: all of FIGURES for
    the whole, in- and out-of-sample spans; the objective and the CAGR rule's two for a walk-forward
    window; drawdown, return and the objective for an easing cycle."""
    cycle_metric = "max_drawdown" if spec.objective in DRAWDOWN_OBJECTIVES else spec.objective
    if segment.startswith("wf"):
        wanted: tuple[str, ...] = (spec.objective, "cagr", "bh_cagr")
    elif segment.startswith("cycle_"):
        wanted = ("max_drawdown", "total_return", cycle_metric)
    else:
        wanted = FIGURES
    return tuple(dict.fromkeys(wanted))


class Results:
    """Every configuration's status, sample figures, trade counts and swept values, by position."""

    def __init__(self, spec: Spec, store: Store):
        n = len(spec.points)
        self.spec, self.store = spec, store
        self.hashes = spec.points.hashes.astype("U")  # sorts as Python sorts the text
        self.status = np.zeros(n, dtype=np.int8)
        self.errors: dict[int, str] = {}
        self.near_boundary = np.zeros(n, dtype=np.int64)
        self.trades = np.full((len(TRADES), n), np.nan)
        self.swept: dict[str, np.ndarray] = {}  # key -> values by position (`_swept_column`)
        self.segments: dict[str, tuple[str, str]] = {}  # name -> (start, end), in the stored order
        self._kept: dict[tuple[str, str], int] = {}  # (segment, figure) -> row of _figures
        self._figures = np.empty((0, n))  # kept (segment, figure) x configuration
        self._released = False

    def add(self, position: int, status: str, error: str, swept: dict, result: dict | None) -> None:
        self.status[position] = OK if status == "ok" else FAILED
        for key in self.spec.swept:
            _set_swept(self.swept, key, position, swept.get(key), len(self.status))
        if status != "ok":
            self.errors[position] = error
            return
        segments = result["segments"]
        if not self.segments:
            self.segments = {name: (seg["start"], seg["end"]) for name, seg in segments.items()}
            pairs = [(name, f) for name in segments for f in kept_figures(self.spec, name)]
            self._kept = {pair: row for row, pair in enumerate(pairs)}
            self._figures = np.full((len(pairs), len(self.status)), np.nan)
        values = [segments[name].get(f) for name, f in self._kept]
        self._figures[:, position] = np.array(values, dtype=float)  # None -> NaN
        self.near_boundary[position] = result.get("near_boundary", 0)
        self.trades[:, position] = [result["trades"][k] for k in TRADES]

    def fill(self) -> Results:
        """Add every stored configuration not added yet (those of an earlier, resumed run), decoding a
        chunk of stored rows at a time."""
        if (self.status != MISSING).all():
            return self
        for row in self.store.iter_rows(READ_CHUNK):
            if self.status[row["position"]] == MISSING:
                self.add(row["position"], row["status"], row["error"], row["swept"], row["result"])
        return self

    @property
    def ok(self) -> np.ndarray:
        return self.status == OK

    def figure(self, segment: str | None, name: str) -> np.ndarray:
        """Figure `name` of sample `segment` for every configuration (NaN where missing or failed)."""
        if segment is None or segment not in self.segments:
            return np.full(len(self.status), np.nan)
        if self._released:
            raise KeyError(f"figure {name} of sample {segment}: the figures were released (release_figures)")
        if (segment, name) not in self._kept:
            raise KeyError(f"figure {name} of sample {segment} is not kept for every configuration (kept_figures)")
        return self._figures[self._kept[segment, name]]

    def swept_column(self, key: str) -> np.ndarray:
        """Swept parameter `key`'s values by position, as one column of the summary: numbers as
        numbers, a list (e.g. strategy.defensives) as its text "XLP+XLU", None where nothing was added."""
        column = self.swept.get(key)
        if column is None:
            column = np.full(len(self.status), None, dtype=object)
        if column.dtype == object or (self.status == MISSING).any():
            values = column.astype(object)
            values[self.status == MISSING] = None
            text = [value_text(v) if isinstance(v, (list, tuple)) else v for v in values]
            return pd.Series(text, dtype=object).infer_objects().to_numpy()
        return column

    def release_figures(self) -> None:
        """Free the per-configuration figures once every table is built (about 0.5 kB a configuration:
        half a gigabyte at a million); a figure asked for afterwards is an error, not a NaN."""
        self._figures, self._kept = np.empty((0, len(self.status))), {}
        self._released = True

    def first_ok(self) -> dict | None:
        """The stored row of the first configuration (in spec order) that ran."""
        ok = np.flatnonzero(self.ok)
        return self.store.row(self.hashes[ok[0]]) if len(ok) else None

    def result_of(self, config_hash: str) -> dict:
        return self.store.row(config_hash)["result"]


def samples(spec: Spec) -> tuple[str, str | None]:
    """The segment ranked on (in-sample) and the one held out (None without a date split)."""
    return ("is", "oos") if spec.validation.train_end else ("full", None)


def meets_constraint(segment: dict | None, shortfall: float | None) -> bool:
    """CAGR within `shortfall` of buy-and-hold's over the same span (always true without one)."""
    if shortfall is None:
        return True
    if segment is None or segment.get("cagr") is None or segment.get("bh_cagr") is None:
        return False
    return segment["cagr"] >= segment["bh_cagr"] - shortfall


def meets(results: Results, segment: str | None, shortfall: float | None) -> np.ndarray:
    """`meets_constraint` for every configuration (false where the figures are missing)."""
    if shortfall is None:
        return np.ones(len(results.status), dtype=bool)
    with np.errstate(invalid="ignore"):
        return results.figure(segment, "cagr") >= results.figure(segment, "bh_cagr") - shortfall


def cycles_objective(results: Results, cycles: tuple[str, ...], name: str) -> np.ndarray:
    """Objective over a set of easing cycles for every configuration: the worst drawdown, or the mean
    of anything else (NaN where a cycle's figure is missing). The mean of each configuration's own
    row, as numpy takes the mean of one list of values, to the last bit."""
    metric = "max_drawdown" if name in DRAWDOWN_OBJECTIVES else name
    if not cycles:
        return np.full(len(results.status), np.nan)
    values = np.ascontiguousarray(np.stack([results.figure(f"cycle_{c}", metric) for c in cycles]).T)
    out = values.min(axis=1) if name in DRAWDOWN_OBJECTIVES else values.mean(axis=1)
    out[np.isnan(values).any(axis=1)] = np.nan
    return out


def summary_frame(spec: Spec, results: Results) -> pd.DataFrame:
    """One row per configuration, ranked by the in-sample objective (rule-meeting first)."""
    is_name, oos_name = samples(spec)
    ok = results.ok
    columns: dict[str, np.ndarray] = {
        "config_hash": results.hashes.astype(object),
        "status": np.array(["failed", "ok"], dtype=object)[ok.astype(np.intp)],  # two strings, shared
        "error": np.array([results.errors.get(k, "") for k in range(len(ok))], dtype=object),
    }
    for key in spec.swept:
        columns[key] = results.swept_column(key)
    columns["objective_is"] = results.figure(is_name, spec.objective)
    columns["objective_oos"] = results.figure(oos_name, spec.objective)
    columns["meets_constraint"] = ok & meets(results, is_name, spec.max_cagr_shortfall)
    for sample, name in (("is", is_name), ("oos", oos_name), ("full", "full")):
        for metric in SAMPLE_METRICS:
            columns[f"{sample}_{metric}"] = results.figure(name, metric)
    if spec.validation.select_cycles:
        columns["objective_select_cycles"] = cycles_objective(results, spec.validation.select_cycles, spec.objective)
        columns["objective_test_cycles"] = cycles_objective(results, spec.validation.test_cycles, spec.objective)
    if ok.any():
        for name in results.segments:
            if name.startswith("cycle_"):
                columns[f"{name}_max_drawdown"] = results.figure(name, "max_drawdown")
                columns[f"{name}_total_return"] = results.figure(name, "total_return")
        for k, key in enumerate(TRADES):
            counts = results.trades[k]
            columns[key] = counts if not ok.all() or key == "premium_paid" else counts.astype(np.int64)
    # failed last, then those breaking the CAGR rule, then the objective (missing lowest), then the hash
    score = -np.where(np.isnan(columns["objective_is"]), -np.inf, columns["objective_is"])
    order = np.lexsort((results.hashes, score, ~columns["meets_constraint"], ~ok))
    rank = pd.array(np.arange(1, len(ok) + 1), dtype="Int64")
    rank[int(ok.sum()) :] = pd.NA
    # each column put in rank order once, and not copied again into one block: a million rows are
    # held once (plus the column being ordered), where sorting a whole frame held it four times
    return pd.DataFrame({"rank": rank, **{key: values[order] for key, values in columns.items()}}, copy=False)


def best_of(results: Results, score: np.ndarray, first: np.ndarray | None = None) -> int:
    """The position of the best configuration that ran: highest `score` (NaN lowest), `first` (if
    given) before the rest, then the smaller hash."""
    ok = np.flatnonzero(results.ok)
    keys = [results.hashes[ok], -_finite(score[ok])] + ([] if first is None else [~first[ok]])
    return int(ok[np.lexsort(keys)[0]])


def rank_of(results: Results, score: np.ndarray, position: int) -> str:
    """Where `position` ranks among the configurations that ran by `score` (NaN last, ties by hash)."""
    ok = results.ok
    key, mine = -_finite(score[ok]), -_finite(score[position : position + 1])[0]
    hashes = results.hashes[ok]
    better = np.count_nonzero(key < mine) + np.count_nonzero((key == mine) & (hashes < results.hashes[position]))
    return f"{1 + better} of {int(ok.sum())}"


def walk_forward_table(spec: Spec, results: Results) -> pd.DataFrame:
    """For each window: the best configuration on its train span, and how it did on the test span."""
    if spec.validation.walk_forward is None or not results.ok.any():
        return pd.DataFrame()
    k, out = 1, []
    while f"wf{k}_is" in results.segments:
        train, test = f"wf{k}_is", f"wf{k}_oos"
        best = best_of(results, results.figure(train, spec.objective), meets(results, train, spec.max_cagr_shortfall))
        row = results.store.row(results.hashes[best])
        tr, te = row["result"]["segments"][train], row["result"]["segments"][test]
        out.append(
            {
                "window": k,
                "train": f"{tr['start']}..{tr['end']}",
                "test": f"{te['start']}..{te['end']}",
                "selected": row["config_hash"],
                "params": _params_text(row["swept"]),
                "train_objective": objective(tr, spec.objective),
                "test_objective": objective(te, spec.objective),
                "test_rank": rank_of(results, results.figure(test, spec.objective), best),
                "test_return": te["total_return"],
                "test_max_drawdown": te["max_drawdown"],
                "bh_test_return": te["bh_total_return"],
                "bh_test_max_drawdown": te["bh_max_drawdown"],
            }
        )
        k += 1
    return pd.DataFrame(out)


def cycle_table(spec: Spec, results: Results) -> pd.DataFrame:
    """The configuration best over the selection cycles, cycle by cycle, against buy-and-hold."""
    v = spec.validation
    if not v.select_cycles or not results.ok.any():
        return pd.DataFrame()
    best = best_of(results, cycles_objective(results, v.select_cycles, spec.objective))
    row = results.store.row(results.hashes[best])
    out = []
    for role, cycles in (("select", v.select_cycles), ("test", v.test_cycles)):
        for cycle in cycles:
            seg = row["result"]["segments"][f"cycle_{cycle}"]
            scores = cycles_objective(results, (cycle,), spec.objective)
            out.append(
                {
                    "cycle": cycle,
                    "role": role,
                    "selected": row["config_hash"],
                    "params": _params_text(row["swept"]),
                    "window": f"{seg['start']}..{seg['end']}",
                    "objective": float(scores[best]),
                    "rank": rank_of(results, scores, best),
                    "return": seg["total_return"],
                    "max_drawdown": seg["max_drawdown"],
                    "bh_return": seg["bh_total_return"],
                    "bh_max_drawdown": seg["bh_max_drawdown"],
                }
            )
    return pd.DataFrame(out)


def loco_table(spec: Spec, results: Results, baselines: dict[str, dict]) -> pd.DataFrame:
    """Leave one easing cycle out: for each cycle, the configuration best over all the other cycles
    (`cycles_objective`), judged on the held-out one beside buy-and-hold and the best baseline there."""
    if not results.ok.any():
        return pd.DataFrame()
    cycles = sorted(name.removeprefix("cycle_") for name in results.segments if name.startswith("cycle_"))
    out = []
    for held in cycles:
        others = tuple(c for c in cycles if c != held)
        if not others:
            continue
        best = best_of(results, cycles_objective(results, others, spec.objective))
        row = results.store.row(results.hashes[best])
        name = f"cycle_{held}"
        seg = row["result"]["segments"][name]
        top = (
            max(baselines, key=lambda b: (_finite_one(objective(baselines[b].get(name), _plain(spec.objective))), b))
            if baselines
            else None
        )
        out.append(
            {
                "held_out_cycle": held,
                "chosen_config_hash": row["config_hash"],
                "chosen_params": _params_text(row["swept"]),
                "chosen_rank_on_held_out": rank_of(results, cycles_objective(results, (held,), spec.objective), best),
                "strategy_max_drawdown": seg["max_drawdown"],
                "strategy_return": seg["total_return"],
                "benchmark_max_drawdown": seg["bh_max_drawdown"],
                "benchmark_return": seg["bh_total_return"],
                "best_baseline": top,
                "best_baseline_max_drawdown": baselines[top][name]["max_drawdown"] if top else math.nan,
                "best_baseline_return": baselines[top][name]["total_return"] if top else math.nan,
            }
        )
    return pd.DataFrame(out)


def _plain(name: str) -> str:
    """The objective a baseline can be ranked on over one cycle (its own figures, no benchmark)."""
    return {"worst_cycle_drawdown": "max_drawdown", "excess_cagr": "cagr", "drawdown_gain": "max_drawdown"}.get(
        name, name
    )


def _finite(x: np.ndarray) -> np.ndarray:
    return np.where(np.isnan(x), -np.inf, x)


def _finite_one(x: float) -> float:
    return -math.inf if x is None or math.isnan(x) else x


def _params_text(swept: dict) -> str:
    return ", ".join(f"{k}={value_text(v)}" for k, v in swept.items())


def csv_writer(frame: pd.DataFrame) -> Callable[[BinaryIO], None]:
    """`frame` as a sweep table's CSV (floats in CSV_FLOATS), CSV_ROWS rows turned into text at a time
    (`core.files.write_whole` takes it): the same bytes as the whole frame's `to_csv`."""

    def write(stream: BinaryIO) -> None:
        for first in range(0, max(len(frame), 1), CSV_ROWS):
            part = frame.iloc[first : first + CSV_ROWS]
            stream.write(part.to_csv(index=False, header=first == 0, float_format=CSV_FLOATS).encode())

    return write


def _set_swept(columns: dict[str, np.ndarray], key: str, position: int, value, n: int) -> None:
    """Record a swept value in its column: float64 while every value is a float, int64 while every one
    is an int, else Python objects (what the values were, the numbers converted back exactly), so a
    million configurations' numbers take 8 bytes each."""
    column = columns.get(key)
    kind = type(value)
    if column is None:
        dtype = {float: np.float64, int: np.int64}.get(kind, object)
        column = columns[key] = np.full(n, np.nan) if dtype is np.float64 else np.zeros(n, dtype=dtype)
        if dtype is object:
            column[:] = None
    elif column.dtype != object and kind is not {np.dtype(np.float64): float, np.dtype(np.int64): int}[column.dtype]:
        column = columns[key] = column.astype(object)
    column[position] = value


def value_text(v) -> str:
    """A swept value as the tables print it: a float in %g, a list joined by '+'."""
    if isinstance(v, float):
        return f"{v:g}"
    if isinstance(v, (list, tuple)):
        return "+".join(map(str, v))
    return str(v)
