"""A sweep's results as columns, and the tables computed from them: the ranked summary, walk-forward,
selection on some easing cycles, leave one cycle out.

`Results` holds, per configuration (by its position in the spec), its status, the few figures of
each sample the tables rank on (float64: the stored values, a missing one NaN), its trade counts and
swept values: about 2 kB a configuration over 17 samples, instead of its decoded JSON (about 20 kB).
A table reads the full stored figures only of the configurations it shows (`Store.row`). Ranking uses in-sample
numbers only; ties go to the smaller configuration hash, as everywhere in a sweep's outputs.
"""

from __future__ import annotations

import math

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
        self.swept = {key: np.empty(n, dtype=object) for key in spec.swept}
        self.segments: dict[str, tuple[str, str]] = {}  # name -> (start, end), in the stored order
        self._figures = np.empty((0, len(FIGURES), n))  # segment x figure x configuration

    def add(self, position: int, status: str, error: str, swept: dict, result: dict | None) -> None:
        self.status[position] = OK if status == "ok" else FAILED
        for key, column in self.swept.items():
            column[position] = swept.get(key)
        if status != "ok":
            self.errors[position] = error
            return
        segments = result["segments"]
        if not self.segments:
            self.segments = {name: (seg["start"], seg["end"]) for name, seg in segments.items()}
            self._figures = np.full((len(segments), len(FIGURES), len(self.status)), np.nan)
        values = [[seg.get(f) for f in FIGURES] for seg in segments.values()]
        self._figures[:, :, position] = np.array(values, dtype=float)  # None -> NaN
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
        return self._figures[list(self.segments).index(segment), FIGURES.index(name)]

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
    columns: dict[str, object] = {
        "config_hash": results.hashes.astype(object),
        "status": np.where(ok, "ok", "failed").astype(object),
        "error": np.array([results.errors.get(k, "") for k in range(len(ok))], dtype=object),
    }
    for key, values in results.swept.items():  # a list value (e.g. strategy.defensives) becomes "XLP+XLU"
        column = pd.Series([value_text(v) if isinstance(v, (list, tuple)) else v for v in values]).infer_objects()
        columns[key] = column.to_numpy()
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
    frame = pd.DataFrame(columns)
    order = frame.assign(
        _failed=frame["status"] != "ok",
        _unmet=~frame["meets_constraint"],
        _score=-frame["objective_is"].fillna(-np.inf),
    )
    order = order.sort_values(["_failed", "_unmet", "_score", "config_hash"], kind="stable")
    frame = frame.loc[order.index].reset_index(drop=True)
    rank = pd.Series(pd.NA, index=frame.index, dtype="Int64")
    ok_rows = frame["status"] == "ok"
    rank[ok_rows] = np.arange(1, int(ok_rows.sum()) + 1)
    frame.insert(0, "rank", rank)
    return frame


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


def value_text(v) -> str:
    """A swept value as the tables print it: a float in %g, a list joined by '+'."""
    if isinstance(v, float):
        return f"{v:g}"
    if isinstance(v, (list, tuple)):
        return "+".join(map(str, v))
    return str(v)
