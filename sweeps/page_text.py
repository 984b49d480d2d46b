"""A sweep page's words: its facts and its tables, from the ranked summary and the validation tables.

The numbers are `sweeps.tables`' and `sweeps.selection`'s; `report.sweep_page` lays them out.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from fedcut.data.benchmark import possessive
from fedcut.execution.engines import Engine
from fedcut.plots.sweep import ok_rows
from fedcut.report.sweep_facts import overfitting_facts
from fedcut.sweeps.selection import benchmark_objective, yardstick
from fedcut.sweeps.spec import OBJECTIVES, Spec
from fedcut.sweeps.tables import DRAWDOWN_OBJECTIVES, samples, value_text

TOP_ROWS = 10  # configurations listed in sweep.html's in-sample vs out-of-sample table


def page_facts(
    spec: Spec,
    first_row: dict | None,
    summary: pd.DataFrame,
    wf: pd.DataFrame,
    cycles: pd.DataFrame,
    top_runs,
    overfit: dict | None,
    audits: list[dict],
    engine: Engine,
) -> list:
    """sweep.html's facts, (label, text) in reading order: what ran, how it was ranked, the best
    in-sample choice out of sample, the validations, the overfitting statistics and the audit."""
    ok = ok_rows(summary)
    is_name, oos_name = samples(spec)
    bench = yardstick(spec, first_row["result"]["segments"]["full"] if first_row else None)
    facts = [
        ("spec", spec.path),
        ("objective", f"{spec.objective}: {OBJECTIVES[spec.objective].format(benchmarks=possessive(bench.label))}"),
        *([("benchmark", f"{bench.label}, spliced: {bench.splice}")] if bench.spliced else []),
        (
            "configurations",
            f"{len(summary):,} ({len(ok):,} ok, {len(summary) - len(ok):,} failed); "
            f"{spec.excluded:,} excluded by rules, {spec.duplicates:,} repeated draws dropped",
        ),
        ("swept", ", ".join(spec.swept)),
        (
            "ranked on",
            "in-sample, to " + spec.validation.train_end
            if oos_name
            else "the whole run (no train_end: there is no out-of-sample column)",
        ),
    ]
    if spec.max_cagr_shortfall is not None:
        facts.append(
            (
                "rule",
                f"CAGR within {spec.max_cagr_shortfall:.1%}/yr of {bench.label} in-sample "
                f"({int(ok['meets_constraint'].sum()):,} of {len(ok):,} meet it; they rank first)",
            )
        )
    if len(ok) and oos_name:
        best = ok.iloc[0]
        facts.append(
            (
                "best in-sample, out of sample",
                f"{best['config_hash']}: {spec.objective} {best['objective_is']:.3g} in-sample, "
                f"{best['objective_oos']:.3g} out-of-sample (change {best['objective_oos'] - best['objective_is']:+.3g}); "
                f"out-of-sample rank {_oos_rank(ok, best['config_hash']):,} of {len(ok):,}",
            )
        )
        first = first_row["result"]["segments"]
        facts.append(
            (
                bench.label,
                f"{spec.objective} {benchmark_objective(first[is_name], spec.objective):.3g} "
                f"in-sample, {benchmark_objective(first[oos_name], spec.objective):.3g} "
                "out-of-sample: the yardstick for both columns",
            )
        )
        if len(ok) > 2:
            rho = _spearman(ok["objective_is"], ok["objective_oos"])
            facts.append(
                (
                    "in-sample vs out-of-sample rank correlation",
                    f"{rho:.2f} (Spearman; near 0 or below = the in-sample ranking does not carry over)",
                )
            )
    if len(wf):
        chained = float(np.prod(1 + wf["test_return"]) - 1)
        bh = float(np.prod(1 + wf["bh_test_return"]) - 1)
        facts.append(
            (
                "walk-forward, chained test windows",
                f"{chained:+.1%} for the selected configurations vs {bh:+.1%} {bench.label} "
                f"over {wf['test'].iloc[0][:10]}..{wf['test'].iloc[-1][-10:]}",
            )
        )
    if len(cycles):
        sel = cycles[cycles["role"] == "select"]["objective"]
        test = cycles[cycles["role"] == "test"]["objective"]
        facts.append(
            (
                "selected on cycles " + ", ".join(spec.validation.select_cycles),
                f"{cycles['selected'].iloc[0]}: {spec.objective} {_agg(sel, spec.objective):.3g} on the selection "
                f"cycles, {_agg(test, spec.objective):.3g} on " + ", ".join(spec.validation.test_cycles),
            )
        )
    if overfit is not None:
        facts += overfitting_facts(overfit, bench)
    if engine.reference:
        facts.append(("engine", f"{engine.name}, the reference engine, for every configuration (nothing to audit)"))
    elif not audits and len(ok):
        facts.append(
            (
                "audit: re-run in backtrader",
                "none: the spec asks for no top configurations and an "
                "audit_share of 0, so no result of the array engine was checked in backtrader",
            )
        )
    if audits:
        bad = [a for a in audits if not a["identical"]]
        facts.append(
            (
                "audit: re-run in backtrader",
                f"{len(audits)} configuration{'' if len(audits) == 1 else 's'} "
                f"({', '.join(sorted({a['reason'] for a in audits}))}): "
                + (
                    f"{len(bad)} DIFFER - the array engine's results are not trustworthy"
                    if bad
                    else "all identical to the last bit"
                ),
            )
        )
    if top_runs:
        facts.append(("full runs", ", ".join(str(Path("top") / p.name) for p in top_runs)))
    return facts


def page_tables(
    spec: Spec, summary: pd.DataFrame, wf: pd.DataFrame, cycles: pd.DataFrame, loco: pd.DataFrame, audits: list[dict]
) -> list:
    """sweep.html's tables, (title, frame, note): the top in-sample, walk-forward, the cycle tests,
    the audit's differences and the failed configurations."""
    ok = ok_rows(summary).head(TOP_ROWS)
    top = pd.DataFrame(
        {
            "rank": ok["rank"].astype(str),
            "config": ok["config_hash"],
            **{k: ok[k].map(value_text) for k in spec.swept},
            "objective in-sample": ok["objective_is"].map(_num),
            "objective out-of-sample": ok["objective_oos"].map(_num),
            "change": (ok["objective_oos"] - ok["objective_is"]).map(_num),
            "CAGR in / out": [f"{_pct(a)} / {_pct(b)}" for a, b in zip(ok["is_cagr"], ok["oos_cagr"])],
            "max DD in / out": [
                f"{_pct(a)} / {_pct(b)}" for a, b in zip(ok["is_max_drawdown"], ok["oos_max_drawdown"])
            ],
            "meets rule": ok["meets_constraint"].map({True: "yes", False: "no"}),
        }
    )
    tables = [
        (
            f"Top {len(top)} by in-sample {spec.objective}",
            top,
            "Ranked on in-sample numbers only; the out-of-sample columns were not used to choose.",
        )
    ]
    if len(wf):
        tables.append(
            (
                "Walk-forward",
                pd.DataFrame(
                    {
                        "window": wf["window"].astype(str),
                        "train span": wf["train"],
                        "test span": wf["test"],
                        "selected": wf["selected"],
                        "params": wf["params"],
                        "train": wf["train_objective"].map(_num),
                        "test": wf["test_objective"].map(_num),
                        "test rank": wf["test_rank"],
                        "return": wf["test_return"].map(_pct),
                        "max DD": wf["test_max_drawdown"].map(_pct),
                        "B&H return": wf["bh_test_return"].map(_pct),
                        "B&H max DD": wf["bh_test_max_drawdown"].map(_pct),
                    }
                ),
                f"Each window selects the best {spec.objective} on its train span and is judged on the test span that follows.",
            )
        )
    if len(cycles):
        tables.append(
            (
                "Select on some easing cycles, test on the others",
                pd.DataFrame(
                    {
                        "cycle": cycles["cycle"],
                        "role": cycles["role"],
                        "window": cycles["window"],
                        spec.objective: cycles["objective"].map(_num),
                        "rank": cycles["rank"],
                        "return": cycles["return"].map(_pct),
                        "max DD": cycles["max_drawdown"].map(_pct),
                        "B&H return": cycles["bh_return"].map(_pct),
                        "B&H max DD": cycles["bh_max_drawdown"].map(_pct),
                    }
                ),
                f"Configuration {cycles['selected'].iloc[0]} ({cycles['params'].iloc[0]}) was chosen on the 'select' cycles only.",
            )
        )
    if len(loco):
        tables.append(
            (
                "Leave one easing cycle out",
                pd.DataFrame(
                    {
                        "held-out cycle": loco["held_out_cycle"],
                        "chosen on the other cycles": loco["chosen_config_hash"],
                        "params": loco["chosen_params"],
                        "its rank on the held-out cycle": loco["chosen_rank_on_held_out"],
                        "return": loco["strategy_return"].map(_pct),
                        "max DD": loco["strategy_max_drawdown"].map(_pct),
                        "B&H return": loco["benchmark_return"].map(_pct),
                        "B&H max DD": loco["benchmark_max_drawdown"].map(_pct),
                        "best baseline": loco["best_baseline"],
                        "its return": loco["best_baseline_return"].map(_pct),
                        "its max DD": loco["best_baseline_max_drawdown"].map(_pct),
                    }
                ),
                f"For each cycle, the configuration with the best {spec.objective} over all the other cycles, judged on "
                "the held-out one; the best simple baseline on that cycle is picked with hindsight, so it is a hard bar.",
            )
        )
    differing = [a for a in audits if not a["identical"]]
    if differing:
        tables.append(
            (
                "Audit: configurations where backtrader differs",
                pd.DataFrame(differing),
                "A difference is a failure of the array engine, not a footnote: do not use these results.",
            )
        )
    failed = summary[summary["status"] != "ok"]
    if len(failed):
        tables.append(
            (
                "Failed configurations",
                pd.DataFrame(
                    {
                        "config": failed["config_hash"],
                        **{k: failed[k].map(value_text) for k in spec.swept},
                        "error": failed["error"],
                    }
                ),
                "Stored with their error; the sweep went on.",
            )
        )
    return tables


def _spearman(a: pd.Series, b: pd.Series) -> float:
    """Spearman's rank correlation over the pairs with both values: Pearson's of the average ranks,
    as pandas' `corr(method="spearman")` but without importing scipy (a second of a sweep's outputs)."""
    both = a.notna() & b.notna()
    return a[both].rank().corr(b[both].rank())


def _oos_rank(ok: pd.DataFrame, config_hash: str) -> int:
    order = ok.sort_values(["objective_oos", "config_hash"], ascending=[False, True])
    return 1 + list(order["config_hash"]).index(config_hash)


def _agg(values: pd.Series, name: str) -> float:
    return float(values.min() if name in DRAWDOWN_OBJECTIVES else values.mean())


def _num(x) -> str:
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.3g}"


def _pct(x) -> str:
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.1%}"
