"""Sweep outputs from the store: ranked summary, in-sample vs out-of-sample, walk-forward,
selection on some easing cycles and test on others, plots, `sweep.html`, top runs.

Ranking uses in-sample numbers only; every out-of-sample number sits beside them so a
configuration that only fits its sample shows as a drop, not as a winner.
"""
from __future__ import annotations

import json
import logging
import math
from pathlib import Path

import numpy as np
import pandas as pd

from fedcut.analyzers.performance import DAYS_PER_YEAR
from fedcut.core.files import own_folder, write_whole, writing
from fedcut.execution.engines import ARRAY, Engine, engine_named
from fedcut.plots.kit import save_png
from fedcut.plots.sweep import (
    REFERENCE,
    TOP_CURVES,
    growth,
    heatmaps,
    overfitting_figure,
    sensitivity,
    top_equity_figure,
)
from fedcut.report.sweep_facts import overfitting_facts
from fedcut.report.sweep_page import render_html
from fedcut.sweeps.selection import benchmark_objective, selection_report
from fedcut.sweeps.spec import OBJECTIVES, Spec
from fedcut.sweeps.store import Store
from fedcut.sweeps.tables import (
    DRAWDOWN_OBJECTIVES,
    Results,
    cycle_table,
    loco_table,
    samples,
    summary_frame,
    value_text,
    walk_forward_table,
)

OVERFITTING = "overfitting.json"
TOP_ROWS = 10  # configurations listed in sweep.html's in-sample vs out-of-sample table

log = logging.getLogger(__name__)


def baseline_segments(spec: Spec, data_dir: str | None, offline: bool | None, segments) -> dict[str, dict]:
    """Each baseline's figures over the sweep's samples (the base configuration's data and costs),
    so a held-out cycle can show the best simple rule beside the chosen configuration."""
    from fedcut.analyzers.performance import daily_risk_free
    from fedcut.core.params import resolve
    from fedcut.run.backtest import baseline_curves, benchmark
    from fedcut.run.inputs import prepare, signals
    from fedcut.sweeps.evaluate import segment_block

    base = resolve(spec.base)
    prepared = prepare(base, data_dir, offline)
    sig = signals(prepared, base, reasons=False)
    curves = baseline_curves(prepared, base, sig, base.run.strategy, ARRAY, benchmark(prepared, base, "IWM"),
                             benchmark(prepared, base, "SPY"))
    days = prepared.market.days
    rf = daily_risk_free(prepared.broker_inputs["cash_rate"], days).to_numpy()
    names = list(curves)
    figures = segment_block(np.stack([curves[n][0].to_numpy() for n in names]), days, rf, segments)
    return dict(zip(names, figures))


def overfitting_report(spec: Spec, summary: pd.DataFrame, store: Store, results: Results, data_dir,
                       offline) -> dict | None:
    """overfitting.json: how many configurations were tried, the in-sample choice's Sharpe and its
    Deflated Sharpe Ratio among them (over the in-sample span) against zero and against buy-and-hold
    IWM's Sharpe over the same span (as stored with the choice's figures), the Probability of
    Backtest Overfitting over the whole history (CSCV with `validation.pbo_blocks` blocks), and
    where the default ranks among the variants (`sweeps.selection`). The daily returns are read from
    the store a chunk of configurations at a time (`analyzers.overfitting.Curves`), never all at once."""
    from fedcut.analyzers.overfitting import (
        CHUNK_CONFIGURATIONS,
        Curves,
        backtest_overfitting,
        deflated_sharpe_ratio,
        trial_sharpe_ratios,
    )
    from fedcut.analyzers.performance import daily_risk_free
    from fedcut.core.params import resolve
    from fedcut.run.inputs import prepare
    from fedcut.sweeps.evaluate import curves_of

    ok = summary[summary["status"] == "ok"]
    stored = store.with_returns()
    hashes = [h for h in ok["config_hash"] if h in stored]
    if len(hashes) < 2:
        return None
    prepared = prepare(resolve(spec.base), data_dir, offline)
    days = prepared.market.days
    curves = Curves(len(days) - 1, len(hashes),
                    lambda: (curves_of(blobs) for blobs in store.returns_of(hashes, CHUNK_CONFIGURATIONS)))
    rf = daily_risk_free(prepared.broker_inputs["cash_rate"], days).to_numpy()
    is_name, _ = samples(spec)
    first = results.first_ok()["result"]["segments"][is_name]
    inside = slice(*days[1:].slice_locs(pd.Timestamp(first["start"]), pd.Timestamp(first["end"])))
    sharpes = trial_sharpe_ratios(curves, rf, inside)
    chosen = 0  # summary order: rank 1 first
    pbo = backtest_overfitting(curves, rf, spec.validation.pbo_blocks)
    mine = curves_of(next(store.returns_of([hashes[chosen]], 1)))[0, inside]
    selected = results.result_of(hashes[chosen])["segments"][is_name]
    return {"n_trials": len(hashes), "selected": hashes[chosen],
            "selected_on": f"{spec.objective}, {first['start']}..{first['end']}",
            "selected_sharpe_in_sample": float(sharpes[chosen]),
            "deflated_sharpe": deflated_sharpe_ratio(mine, sharpes, rf[inside]).to_dict(),
            "deflated_sharpe_vs_buy_and_hold": None if selected["bh_sharpe"] is None else deflated_sharpe_ratio(
                mine, sharpes, rf[inside], benchmark_sharpe=selected["bh_sharpe"]).to_dict(),
            "pbo": pbo.to_dict(), "selection": selection_report(spec, summary, results.result_of), "_pbo": pbo}


def read_overfitting(out: Path) -> dict | None:
    """A finished sweep folder's overfitting.json (None when it has none: fewer than two configurations ran)."""
    path = Path(out) / OVERFITTING
    return json.loads(path.read_text()) if path.is_file() else None


def write_outputs(spec: Spec, out: Path, store: Store, data_dir: str | None, offline: bool | None,
                  results: Results | None = None) -> pd.DataFrame:
    """summary.csv, walk_forward.csv, cycles.csv, loco.csv, overfitting.json, plots/, sweep.html
    and the requested top runs (from `results`, the store's, when the caller has them)."""
    results = Results(spec, store).fill() if results is None else results
    first = results.first_ok()
    summary = summary_frame(spec, results)
    write_whole(out / "summary.csv", summary.to_csv(index=False, float_format="%.10g"))
    plots = own_folder(out / "plots")
    label = spec.objective
    reference = _reference(spec, first)
    show_sensitivity = bool(spec.swept) and (summary["status"] == "ok").any()
    top_curves = _top_curves(spec, summary, store, data_dir, offline)
    with writing(plots):  # a write failure names its picture
        drawn = heatmaps(summary, list(spec.swept), plots, label, reference, _empty_reasons(spec, summary),
                         _noise(spec, first))
        if show_sensitivity:
            sensitivity(summary, list(spec.swept), plots / "sensitivity.png", label, reference)
        if top_curves is not None:
            _top_equity(top_curves, plots / "top_equity.png", label)
    wf, cycles = walk_forward_table(spec, results), cycle_table(spec, results)
    loco = pd.DataFrame()
    if spec.validation.leave_one_cycle_out and first is not None:
        loco = loco_table(spec, results, baseline_segments(spec, data_dir, offline, _segments(first)))
    for name, table in (("walk_forward.csv", wf), ("cycles.csv", cycles), ("loco.csv", loco)):
        if len(table):
            write_whole(out / name, table.to_csv(index=False, float_format="%.10g"))
    overfit = overfitting_report(spec, summary, store, results, data_dir, offline)
    if overfit is not None and spec.search is not None:
        from fedcut.sweeps.search import search_record  # it builds on this module
        overfit["search"] = search_record(spec, overfit)
    if overfit is not None:
        write_whole(out / OVERFITTING, json.dumps({k: v for k, v in overfit.items() if k != "_pbo"},
                                                  indent=2, sort_keys=True, allow_nan=False) + "\n")
    figures = [(p, f"Mean {spec.objective} ({OBJECTIVES[spec.objective]}) over the other parameters, "
                   "in-sample beside out-of-sample, each panel on its own colour scale (compare colours within "
                   f"a panel, numbers across); n = configurations in the cell; the line on each scale is "
                   f"{REFERENCE}'s {spec.objective} in that sample.") for p in drawn]
    if show_sensitivity:
        figures.append((plots / "sensitivity.png",
                        "Each parameter's effect: every configuration (dots), the mean per value (line) and "
                        f"{REFERENCE}'s {spec.objective} in each sample (dashed)."))
    if top_curves is not None:
        figures.append((plots / "top_equity.png",
                        f"Growth of 100 for the {TOP_CURVES} best configurations by in-sample {spec.objective} "
                        f"(from their stored daily returns) against {REFERENCE} through the same execution."))
    if overfit is not None:
        with writing(plots / "overfitting.png"):
            figures.append((overfitting_figure(overfit["_pbo"], plots / "overfitting.png", overfit["deflated_sharpe"],
                                               overfit["deflated_sharpe_vs_buy_and_hold"]),
                            "Probability of Backtest Overfitting (CSCV): for each of the in/out-of-sample splits, "
                            "where the in-sample best ranked out of sample (left: logit, at or below 0 = worse than "
                            "the median), and its Sharpe in and out of sample (right); the Deflated Sharpe Ratios of "
                            "the in-sample choice, against zero and against buy-and-hold IWM, in the title."))
    top_runs = _top_runs(spec, summary, out, data_dir, offline)
    render_html(out / "sweep.html", f"fedcut sweep: {spec.name}",
                _facts(spec, first, summary, wf, cycles, top_runs, overfit, store.audits(),
                       engine_named(store.meta().get("engine"), str(store.path))),
                _tables(spec, summary, wf, cycles, loco, store.audits()), figures)
    return summary


def _reference(spec: Spec, first: dict | None) -> dict[str, float]:
    """Buy-and-hold IWM's objective in each sample column of summary.csv (`benchmark_objective`),
    from the first configuration that ran (`first`, its stored row)."""
    if first is None:
        return {}
    segments = first["result"]["segments"]
    is_name, oos_name = samples(spec)
    out = {"objective_is": benchmark_objective(segments.get(is_name), spec.objective)}
    if oos_name:
        out["objective_oos"] = benchmark_objective(segments.get(oos_name), spec.objective)
    return out


def _noise(spec: Spec, first: dict | None) -> dict[str, dict]:
    """What `plots.sweep.noise_cells` needs per sample column: buy-and-hold's Sharpe and the sample's years."""
    if first is None:
        return {}
    segments, out = first["result"]["segments"], {}
    for column, name in zip(("objective_is", "objective_oos"), samples(spec)):
        seg = segments.get(name) if name else None
        if seg is None or seg.get("bh_sharpe") is None:
            continue
        years = (pd.Timestamp(seg["end"]) - pd.Timestamp(seg["start"])).days / DAYS_PER_YEAR
        out[column] = {"sharpe_column": f"{name}_sharpe", "benchmark_sharpe": seg["bh_sharpe"],
                       "years": years}
    return out


def _empty_reasons(spec: Spec, summary: pd.DataFrame):
    """Why a cell of a heatmap of parameters a and b can hold no configuration, from what the sweep did."""
    failed = int((summary["status"] != "ok").sum())

    def reason(a: str, b: str) -> str:
        reasons = [f"{spec.excluded} configurations excluded by the spec's rules"] if spec.excluded else []
        if failed:
            reasons.append(f"{failed} failed")
        if spec.search is not None:  # a search visits the cells it chooses, grid or random
            reasons.append("or the search asked for no configuration there")
        elif a in spec.random or b in spec.random:
            reasons.append(f"or no random draw of {' and '.join(k for k in (a, b) if k in spec.random)} fell there")
        return "; ".join(reasons) or "not in the grid"
    return reason


def _top_curves(spec: Spec, summary: pd.DataFrame, store: Store, data_dir, offline):
    """What `_top_equity` draws: the base configuration and its prepared data, the TOP_CURVES best
    in-sample configurations' growth (those over the base configuration's days) and the train_end
    split; None if none ran."""
    from fedcut.core.params import resolve
    from fedcut.run.inputs import prepare
    from fedcut.sweeps.evaluate import unpack_returns

    base = resolve(spec.base)
    prepared = prepare(base, data_dir, offline)
    days = prepared.market.days
    curves, stored = [], store.with_returns()
    for row in summary[summary["status"] == "ok"].itertuples():
        returns = unpack_returns(next(store.returns_of([row.config_hash], 1))[0]) if row.config_hash in stored else None
        if returns is None or len(returns) != len(days) - 1:
            continue
        curves.append((f"rank {int(row.rank)}: {row.config_hash} ({spec.objective} {row.objective_is:.3g} in, "
                       f"{row.objective_oos:.3g} out)", growth(returns)))
        if len(curves) == TOP_CURVES:
            break
    if not curves:
        return None
    split = pd.Timestamp(spec.validation.train_end) if spec.validation.train_end else None
    return base, prepared, curves, split


def _top_equity(top_curves, path: Path, label: str) -> Path:
    """top_equity.png: the best curves against buy-and-hold IWM's through the base configuration's execution."""
    from fedcut.run.backtest import benchmark

    base, prepared, curves, split = top_curves
    bench = benchmark(prepared, base, "IWM").to_numpy()
    return save_png(top_equity_figure(prepared.market.days, curves, 100.0 * bench / bench[0], split, label), path)


def _segments(first: dict):
    from fedcut.sweeps.evaluate import Segment

    return [Segment(name, seg["start"], seg["end"]) for name, seg in first["result"]["segments"].items()]


def _top_runs(spec: Spec, summary: pd.DataFrame, out: Path, data_dir, offline) -> list[Path]:
    """Full runs (with report) of the `spec.top` best configurations; kept if already written."""
    from fedcut.run.backtest import run
    from fedcut.run.folder import write_run
    folders = []
    for row in summary[summary["status"] == "ok"].head(spec.top).itertuples():
        folder = own_folder(out / "top") / f"rank-{int(row.rank):02d}-{row.config_hash}"
        folders.append(folder)
        if folder.exists():
            continue
        log.info("full run of rank %d (%s) -> %s", int(row.rank), row.config_hash, folder)
        config = spec.points[spec.points.positions_of([row.config_hash])[0]].config
        write_run(run(config, data_dir, offline), folder)
    return folders


def _facts(spec: Spec, first_row: dict | None, summary: pd.DataFrame, wf: pd.DataFrame, cycles: pd.DataFrame,
           top_runs, overfit: dict | None, audits: list[dict], engine: Engine) -> list:
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
        first = first_row["result"]["segments"]
        facts.append(("buy-and-hold IWM", f"{spec.objective} {benchmark_objective(first[is_name], spec.objective):.3g} "
                                          f"in-sample, {benchmark_objective(first[oos_name], spec.objective):.3g} "
                                          "out-of-sample: the yardstick for both columns"))
        if len(ok) > 2:
            rho = _spearman(ok["objective_is"], ok["objective_oos"])
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
    if overfit is not None:
        facts += overfitting_facts(overfit)
    if engine.reference:
        facts.append(("engine", f"{engine.name}, the reference engine, for every configuration (nothing to audit)"))
    elif not audits and len(ok):
        facts.append(("audit: re-run in backtrader", "none: the spec asks for no top configurations and an "
                      "audit_share of 0, so no result of the array engine was checked in backtrader"))
    if audits:
        bad = [a for a in audits if not a["identical"]]
        facts.append(("audit: re-run in backtrader",
                      f"{len(audits)} configuration{'' if len(audits) == 1 else 's'} "
                      f"({', '.join(sorted({a['reason'] for a in audits}))}): "
                      + (f"{len(bad)} DIFFER - the array engine's results are not trustworthy" if bad
                         else "all identical to the last bit")))
    if top_runs:
        facts.append(("full runs", ", ".join(str(Path("top") / p.name) for p in top_runs)))
    return facts


def _tables(spec: Spec, summary: pd.DataFrame, wf: pd.DataFrame, cycles: pd.DataFrame, loco: pd.DataFrame,
            audits: list[dict]) -> list:
    ok = summary[summary["status"] == "ok"].head(TOP_ROWS)
    top = pd.DataFrame({"rank": ok["rank"].astype(str), "config": ok["config_hash"],
                        **{k: ok[k].map(value_text) for k in spec.swept},
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
    if len(loco):
        tables.append(("Leave one easing cycle out", pd.DataFrame({
            "held-out cycle": loco["held_out_cycle"], "chosen on the other cycles": loco["chosen_config_hash"],
            "params": loco["chosen_params"], "its rank on the held-out cycle": loco["chosen_rank_on_held_out"],
            "return": loco["strategy_return"].map(_pct), "max DD": loco["strategy_max_drawdown"].map(_pct),
            "B&H return": loco["benchmark_return"].map(_pct), "B&H max DD": loco["benchmark_max_drawdown"].map(_pct),
            "best baseline": loco["best_baseline"], "its return": loco["best_baseline_return"].map(_pct),
            "its max DD": loco["best_baseline_max_drawdown"].map(_pct)}),
            f"For each cycle, the configuration with the best {spec.objective} over all the other cycles, judged on "
            "the held-out one; the best simple baseline on that cycle is picked with hindsight, so it is a hard bar."))
    differing = [a for a in audits if not a["identical"]]
    if differing:
        tables.append(("Audit: configurations where backtrader differs", pd.DataFrame(differing),
                       "A difference is a failure of the array engine, not a footnote: do not use these results."))
    failed = summary[summary["status"] != "ok"]
    if len(failed):
        tables.append(("Failed configurations", pd.DataFrame({
            "config": failed["config_hash"], **{k: failed[k].map(value_text) for k in spec.swept},
            "error": failed["error"]}), "Stored with their error; the sweep went on."))
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
