"""Sweep outputs from the store: ranked summary, in-sample vs out-of-sample, walk-forward,
selection on some easing cycles and test on others, plots, `sweep.html`, top runs.

Ranking uses in-sample numbers only; every out-of-sample number sits beside them so a
configuration that only fits its sample shows as a drop, not as a winner.
"""
from __future__ import annotations

import logging
import math
from pathlib import Path

import numpy as np
import pandas as pd

from fedcut.sweeps.html import render_html
from fedcut.sweeps.plots import heatmaps, sensitivity
from fedcut.sweeps.spec import OBJECTIVES, Spec
from fedcut.sweeps.store import Store

SAMPLE_METRICS = ("cagr", "max_drawdown", "calmar", "sharpe", "excess_cagr", "drawdown_gain", "worst_cycle_drawdown")
DRAWDOWN_OBJECTIVES = ("max_drawdown", "worst_cycle_drawdown")  # over several cycles: the worst, not the mean
TOP_ROWS = 10  # configurations listed in sweep.html's in-sample vs out-of-sample table

log = logging.getLogger(__name__)


def samples(spec: Spec) -> tuple[str, str | None]:
    """The segment ranked on (in-sample) and the one held out (None without a date split)."""
    return ("is", "oos") if spec.validation.train_end else ("full", None)


def objective(segment: dict | None, name: str) -> float:
    value = None if segment is None else segment.get(name)
    return math.nan if value is None else float(value)


def benchmark_objective(segment: dict | None, name: str) -> float:
    """Buy-and-hold IWM's value of the same objective (0 for objectives measured against it)."""
    if name in ("excess_cagr", "drawdown_gain"):
        return 0.0
    if name == "worst_cycle_drawdown":
        name = "max_drawdown"
    return objective(segment, "bh_" + name)


def cycles_objective(result: dict, cycles: tuple[str, ...], name: str) -> float:
    """Objective over a set of easing cycles: the worst drawdown, or the mean of anything else."""
    values = [objective(result["segments"].get(f"cycle_{c}"), "max_drawdown" if name in DRAWDOWN_OBJECTIVES else name)
              for c in cycles]
    if not values or any(math.isnan(v) for v in values):
        return math.nan
    return min(values) if name in DRAWDOWN_OBJECTIVES else float(np.mean(values))


def meets_constraint(segment: dict | None, shortfall: float | None) -> bool:
    """CAGR within `shortfall` of buy-and-hold's over the same span (always true without one)."""
    if shortfall is None:
        return True
    if segment is None or segment.get("cagr") is None or segment.get("bh_cagr") is None:
        return False
    return segment["cagr"] >= segment["bh_cagr"] - shortfall


def summary_frame(spec: Spec, rows: list[dict]) -> pd.DataFrame:
    """One row per configuration, ranked by the in-sample objective (rule-meeting first)."""
    is_name, oos_name = samples(spec)
    records = []
    for row in rows:
        res = row["result"]
        seg = (lambda name: None if res is None else res["segments"].get(name))
        rec = {"config_hash": row["config_hash"], "status": row["status"], "error": row["error"]}
        # a list value (e.g. strategy.defensives) becomes one category, "XLP+XLU"
        rec.update({key: _value(v) if isinstance(v := row["swept"].get(key), list) else v for key in spec.swept})
        rec["objective_is"] = objective(seg(is_name), spec.objective)
        rec["objective_oos"] = objective(seg(oos_name), spec.objective) if oos_name else math.nan
        rec["meets_constraint"] = row["status"] == "ok" and meets_constraint(seg(is_name), spec.max_cagr_shortfall)
        for sample, name in (("is", is_name), ("oos", oos_name), ("full", "full")):
            for metric in SAMPLE_METRICS:
                rec[f"{sample}_{metric}"] = objective(seg(name), metric) if name else math.nan
        if spec.validation.select_cycles:
            rec["objective_select_cycles"] = (cycles_objective(res, spec.validation.select_cycles, spec.objective)
                                              if res else math.nan)
            rec["objective_test_cycles"] = (cycles_objective(res, spec.validation.test_cycles, spec.objective)
                                            if res else math.nan)
        for name, segment in ((res or {}).get("segments") or {}).items():
            if name.startswith("cycle_"):
                rec[f"{name}_max_drawdown"] = objective(segment, "max_drawdown")
                rec[f"{name}_total_return"] = objective(segment, "total_return")
        if res:
            rec.update(res["trades"])
        records.append(rec)
    frame = pd.DataFrame(records)
    order = frame.assign(_failed=frame["status"] != "ok", _unmet=~frame["meets_constraint"],
                         _score=-frame["objective_is"].fillna(-np.inf))
    order = order.sort_values(["_failed", "_unmet", "_score", "config_hash"], kind="stable")
    frame = frame.loc[order.index].reset_index(drop=True)
    rank = pd.Series(pd.NA, index=frame.index, dtype="Int64")
    ok = frame["status"] == "ok"
    rank[ok] = np.arange(1, int(ok.sum()) + 1)
    frame.insert(0, "rank", rank)
    return frame


def walk_forward_table(spec: Spec, rows: list[dict]) -> pd.DataFrame:
    """For each window: the best configuration on its train span, and how it did on the test span."""
    ok = [r for r in rows if r["status"] == "ok"]
    if spec.validation.walk_forward is None or not ok:
        return pd.DataFrame()
    k, out = 1, []
    while f"wf{k}_is" in ok[0]["result"]["segments"]:
        train, test = f"wf{k}_is", f"wf{k}_oos"
        scored = sorted(ok, key=lambda r: (not meets_constraint(r["result"]["segments"][train], spec.max_cagr_shortfall),
                                           -_finite(objective(r["result"]["segments"][train], spec.objective)),
                                           r["config_hash"]))
        best = scored[0]
        test_scores = sorted((-_finite(objective(r["result"]["segments"][test], spec.objective)), r["config_hash"])
                             for r in ok)
        test_rank = 1 + [h for _, h in test_scores].index(best["config_hash"])
        tr, te = best["result"]["segments"][train], best["result"]["segments"][test]
        out.append({"window": k, "train": f"{tr['start']}..{tr['end']}", "test": f"{te['start']}..{te['end']}",
                    "selected": best["config_hash"], "params": _params_text(best["swept"]),
                    "train_objective": objective(tr, spec.objective), "test_objective": objective(te, spec.objective),
                    "test_rank": f"{test_rank} of {len(ok)}",
                    "test_return": te["total_return"], "test_max_drawdown": te["max_drawdown"],
                    "bh_test_return": te["bh_total_return"], "bh_test_max_drawdown": te["bh_max_drawdown"]})
        k += 1
    return pd.DataFrame(out)


def cycle_table(spec: Spec, rows: list[dict]) -> pd.DataFrame:
    """The configuration best over the selection cycles, cycle by cycle, against buy-and-hold."""
    v = spec.validation
    ok = [r for r in rows if r["status"] == "ok"]
    if not v.select_cycles or not ok:
        return pd.DataFrame()
    best = sorted(ok, key=lambda r: (-_finite(cycles_objective(r["result"], v.select_cycles, spec.objective)),
                                     r["config_hash"]))[0]
    out = []
    for role, cycles in (("select", v.select_cycles), ("test", v.test_cycles)):
        for cycle in cycles:
            name = f"cycle_{cycle}"
            seg = best["result"]["segments"][name]
            scores = sorted((-_finite(cycles_objective(r["result"], (cycle,), spec.objective)), r["config_hash"])
                            for r in ok)
            out.append({"cycle": cycle, "role": role, "selected": best["config_hash"],
                        "params": _params_text(best["swept"]), "window": f"{seg['start']}..{seg['end']}",
                        "objective": cycles_objective(best["result"], (cycle,), spec.objective),
                        "rank": f"{1 + [h for _, h in scores].index(best['config_hash'])} of {len(ok)}",
                        "return": seg["total_return"], "max_drawdown": seg["max_drawdown"],
                        "bh_return": seg["bh_total_return"], "bh_max_drawdown": seg["bh_max_drawdown"]})
    return pd.DataFrame(out)


def write_outputs(spec: Spec, out: Path, store: Store, data_dir: str | None, offline: bool | None) -> pd.DataFrame:
    """summary.csv, walk_forward.csv, cycles.csv, plots/, sweep.html and the requested top runs."""
    rows = store.rows()
    summary = summary_frame(spec, rows)
    summary.to_csv(out / "summary.csv", index=False, float_format="%.10g")
    wf, cycles = walk_forward_table(spec, rows), cycle_table(spec, rows)
    for name, table in (("walk_forward.csv", wf), ("cycles.csv", cycles)):
        if len(table):
            table.to_csv(out / name, index=False, float_format="%.10g")
    plots = out / "plots"
    plots.mkdir(exist_ok=True)
    label = spec.objective
    figures = [(p, f"Mean {spec.objective} ({OBJECTIVES[spec.objective]}) over the other parameters: "
                   "in-sample beside out-of-sample, on one colour scale.")
               for p in heatmaps(summary, list(spec.swept), plots, label)]
    if spec.swept and (summary["status"] == "ok").any():
        figures.append((sensitivity(summary, list(spec.swept), plots / "sensitivity.png", label),
                        "Each parameter's effect: every configuration (dots) and the mean per value (line)."))
    top_runs = _top_runs(spec, summary, out, data_dir, offline)
    render_html(out / "sweep.html", f"fedcut sweep: {spec.name}", _facts(spec, rows, summary, wf, cycles, top_runs),
                _tables(spec, summary, wf, cycles), figures)
    return summary


def _top_runs(spec: Spec, summary: pd.DataFrame, out: Path, data_dir, offline) -> list[Path]:
    """Full runs (with report) of the `spec.top` best configurations; kept if already written."""
    from fedcut.run import run, write_run
    configs = {p.config_hash: p.config for p in spec.points}
    folders = []
    for row in summary[summary["status"] == "ok"].head(spec.top).itertuples():
        folder = out / "top" / f"rank-{int(row.rank):02d}-{row.config_hash}"
        folders.append(folder)
        if folder.exists():
            continue
        log.info("full run of rank %d (%s) -> %s", int(row.rank), row.config_hash, folder)
        write_run(run(configs[row.config_hash], data_dir, offline), folder)
    return folders


def _facts(spec: Spec, rows: list[dict], summary: pd.DataFrame, wf: pd.DataFrame, cycles: pd.DataFrame,
           top_runs) -> list:
    ok = summary[summary["status"] == "ok"]
    is_name, oos_name = samples(spec)
    facts = [("spec", spec.path), ("objective", f"{spec.objective}: {OBJECTIVES[spec.objective]}"),
             ("configurations", f"{len(summary)} ({len(ok)} ok, {len(summary) - len(ok)} failed); "
                                f"{spec.excluded} excluded by rules, {spec.duplicates} repeated draws dropped"),
             ("swept", ", ".join(spec.swept)),
             ("ranked on", "in-sample, to " + spec.validation.train_end if oos_name else
              "the whole run (no train_end: there is no out-of-sample column)")]
    if spec.max_cagr_shortfall is not None:
        facts.append(("rule", f"CAGR within {spec.max_cagr_shortfall:.1%}/yr of buy-and-hold IWM in-sample "
                              f"({int(ok['meets_constraint'].sum())} of {len(ok)} meet it; they rank first)"))
    if len(ok) and oos_name:
        best = ok.iloc[0]
        facts.append(("best in-sample, out of sample",
                      f"{best['config_hash']}: {spec.objective} {best['objective_is']:.3g} in-sample, "
                      f"{best['objective_oos']:.3g} out-of-sample (change {best['objective_oos'] - best['objective_is']:+.3g}); "
                      f"out-of-sample rank {_oos_rank(ok, best['config_hash'])} of {len(ok)}"))
        first = next(r for r in rows if r["status"] == "ok")["result"]["segments"]
        facts.append(("buy-and-hold IWM", f"{spec.objective} {benchmark_objective(first[is_name], spec.objective):.3g} "
                                          f"in-sample, {benchmark_objective(first[oos_name], spec.objective):.3g} "
                                          "out-of-sample: the yardstick for both columns"))
        if len(ok) > 2:
            rho = ok["objective_is"].corr(ok["objective_oos"], method="spearman")
            facts.append(("in-sample vs out-of-sample rank correlation",
                          f"{rho:.2f} (Spearman; near 0 or below = the in-sample ranking does not carry over)"))
    if len(wf):
        chained = float(np.prod(1 + wf["test_return"]) - 1)
        bh = float(np.prod(1 + wf["bh_test_return"]) - 1)
        facts.append(("walk-forward, chained test windows",
                      f"{chained:+.1%} for the selected configurations vs {bh:+.1%} buy-and-hold IWM "
                      f"over {wf['test'].iloc[0][:10]}..{wf['test'].iloc[-1][-10:]}"))
    if len(cycles):
        sel = cycles[cycles["role"] == "select"]["objective"]
        test = cycles[cycles["role"] == "test"]["objective"]
        facts.append(("selected on cycles " + ", ".join(spec.validation.select_cycles),
                      f"{cycles['selected'].iloc[0]}: {spec.objective} {_agg(sel, spec.objective):.3g} on the selection "
                      f"cycles, {_agg(test, spec.objective):.3g} on " + ", ".join(spec.validation.test_cycles)))
    if top_runs:
        facts.append(("full runs", ", ".join(str(Path("top") / p.name) for p in top_runs)))
    return facts


def _tables(spec: Spec, summary: pd.DataFrame, wf: pd.DataFrame, cycles: pd.DataFrame) -> list:
    ok = summary[summary["status"] == "ok"].head(TOP_ROWS)
    top = pd.DataFrame({"rank": ok["rank"].astype(str), "config": ok["config_hash"],
                        **{k: ok[k].map(_value) for k in spec.swept},
                        "objective in-sample": ok["objective_is"].map(_num),
                        "objective out-of-sample": ok["objective_oos"].map(_num),
                        "change": (ok["objective_oos"] - ok["objective_is"]).map(_num),
                        "CAGR in / out": [f"{_pct(a)} / {_pct(b)}" for a, b in zip(ok["is_cagr"], ok["oos_cagr"])],
                        "max DD in / out": [f"{_pct(a)} / {_pct(b)}" for a, b in
                                            zip(ok["is_max_drawdown"], ok["oos_max_drawdown"])],
                        "meets rule": ok["meets_constraint"].map({True: "yes", False: "no"})})
    tables = [(f"Top {len(top)} by in-sample {spec.objective}", top,
               "Ranked on in-sample numbers only; the out-of-sample columns were not used to choose.")]
    if len(wf):
        tables.append(("Walk-forward", pd.DataFrame({
            "window": wf["window"].astype(str), "train span": wf["train"], "test span": wf["test"],
            "selected": wf["selected"], "params": wf["params"],
            "train": wf["train_objective"].map(_num), "test": wf["test_objective"].map(_num),
            "test rank": wf["test_rank"], "return": wf["test_return"].map(_pct),
            "max DD": wf["test_max_drawdown"].map(_pct), "B&H return": wf["bh_test_return"].map(_pct),
            "B&H max DD": wf["bh_test_max_drawdown"].map(_pct)}),
            f"Each window selects the best {spec.objective} on its train span and is judged on the test span that follows."))
    if len(cycles):
        tables.append(("Select on some easing cycles, test on the others", pd.DataFrame({
            "cycle": cycles["cycle"], "role": cycles["role"], "window": cycles["window"],
            spec.objective: cycles["objective"].map(_num), "rank": cycles["rank"],
            "return": cycles["return"].map(_pct), "max DD": cycles["max_drawdown"].map(_pct),
            "B&H return": cycles["bh_return"].map(_pct), "B&H max DD": cycles["bh_max_drawdown"].map(_pct)}),
            f"Configuration {cycles['selected'].iloc[0]} ({cycles['params'].iloc[0]}) was chosen on the 'select' cycles only."))
    failed = summary[summary["status"] != "ok"]
    if len(failed):
        tables.append(("Failed configurations", pd.DataFrame({
            "config": failed["config_hash"], **{k: failed[k].map(_value) for k in spec.swept},
            "error": failed["error"]}), "Stored with their error; the sweep went on."))
    return tables


def _oos_rank(ok: pd.DataFrame, config_hash: str) -> int:
    order = ok.sort_values(["objective_oos", "config_hash"], ascending=[False, True])
    return 1 + list(order["config_hash"]).index(config_hash)


def _agg(values: pd.Series, name: str) -> float:
    return float(values.min() if name in DRAWDOWN_OBJECTIVES else values.mean())


def _finite(x: float) -> float:
    return -math.inf if x is None or math.isnan(x) else x


def _params_text(swept: dict) -> str:
    return ", ".join(f"{k}={_value(v)}" for k, v in swept.items())


def _value(v) -> str:
    if isinstance(v, float):
        return f"{v:g}"
    if isinstance(v, (list, tuple)):
        return "+".join(map(str, v))
    return str(v)


def _num(x) -> str:
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.3g}"


def _pct(x) -> str:
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.1%}"

