"""Sweep outputs from the store: ranked summary, in-sample vs out-of-sample, walk-forward,
selection on some easing cycles and test on others, plots, `sweep.html`, top runs.

Ranking uses in-sample numbers only; every out-of-sample number sits beside them so a
configuration that only fits its sample shows as a drop, not as a winner.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd

from fedcut.analyzers.performance import DAYS_PER_YEAR
from fedcut.core.files import own_folder, write_whole, writing
from fedcut.data.benchmark import possessive
from fedcut.execution.engines import ARRAY, engine_named
from fedcut.plots.heatmap import MAX_PAIRS, heatmap_cells, heatmaps, telling_pairs
from fedcut.plots.kit import frozen_heap, save_png
from fedcut.plots.sweep import (
    TOP_CURVES,
    growth,
    ok_rows,
    overfitting_figure,
    sensitivity,
    top_equity_figure,
)
from fedcut.report.sweep_page import render_html
from fedcut.sweeps.page_text import page_facts, page_tables
from fedcut.sweeps.selection import benchmark_objective, selection_report, yardstick
from fedcut.sweeps.spec import OBJECTIVES, Spec
from fedcut.sweeps.store import Store
from fedcut.sweeps.tables import (
    Results,
    csv_writer,
    cycle_table,
    loco_table,
    samples,
    summary_frame,
    walk_forward_table,
)

OVERFITTING = "overfitting.json"
CELLS_TABLE = "Heatmap cells"

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
    curves = baseline_curves(
        prepared,
        base,
        sig,
        base.run.strategy,
        ARRAY,
        benchmark(prepared, base, "IWM"),
        benchmark(prepared, base, "SPY"),
    )
    days = prepared.market.days
    rf = daily_risk_free(prepared.broker_inputs["cash_rate"], days).to_numpy()
    names = list(curves)
    figures = segment_block(np.stack([curves[n][0].to_numpy() for n in names]), days, rf, segments)
    return dict(zip(names, figures))


def overfitting_report(
    spec: Spec, summary: pd.DataFrame, store: Store, results: Results, data_dir, offline
) -> dict | None:
    """overfitting.json: how many configurations were tried, the in-sample choice's Sharpe and its
    Deflated Sharpe Ratio among them (over the in-sample span) against zero and against the buy-and-hold
    benchmark's Sharpe over the same span (as stored with the choice's figures), the Probability of
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

    ok = ok_rows(summary)["config_hash"]
    if store.returns_count() == len(ok):  # every one's returns stored (the set of a million is 0.1 GB)
        hashes = list(ok)
    else:
        stored = store.with_returns()
        hashes = [h for h in ok if h in stored]
    if len(hashes) < 2:
        return None
    prepared = prepare(resolve(spec.base), data_dir, offline)
    days = prepared.market.days
    curves = Curves(
        len(days) - 1,
        len(hashes),
        lambda: (curves_of(blobs) for blobs in store.returns_of(hashes, CHUNK_CONFIGURATIONS)),
    )
    rf = daily_risk_free(prepared.broker_inputs["cash_rate"], days).to_numpy()
    is_name, _ = samples(spec)
    first = results.first_ok()["result"]["segments"][is_name]
    inside = slice(*days[1:].slice_locs(pd.Timestamp(first["start"]), pd.Timestamp(first["end"])))
    sharpes = trial_sharpe_ratios(curves, rf, inside)
    chosen = 0  # summary order: rank 1 first
    pbo = backtest_overfitting(curves, rf, spec.validation.pbo_blocks)
    mine = curves_of(next(store.returns_of([hashes[chosen]], 1)))[0, inside]
    selected = results.result_of(hashes[chosen])["segments"][is_name]
    return {
        "n_trials": len(hashes),
        "selected": hashes[chosen],
        "selected_on": f"{spec.objective}, {first['start']}..{first['end']}",
        "selected_sharpe_in_sample": float(sharpes[chosen]),
        "deflated_sharpe": deflated_sharpe_ratio(mine, sharpes, rf[inside]).to_dict(),
        "deflated_sharpe_vs_buy_and_hold": None
        if selected["bh_sharpe"] is None
        else deflated_sharpe_ratio(mine, sharpes, rf[inside], benchmark_sharpe=selected["bh_sharpe"]).to_dict(),
        "pbo": pbo.to_dict(),
        "selection": selection_report(spec, summary, results.result_of),
        "_pbo": pbo,
    }


def read_overfitting(out: Path) -> dict | None:
    """A finished sweep folder's overfitting.json (None when it has none: fewer than two configurations ran)."""
    path = Path(out) / OVERFITTING
    return json.loads(path.read_text()) if path.is_file() else None


def write_outputs(
    spec: Spec, out: Path, store: Store, data_dir: str | None, offline: bool | None, results: Results | None = None
) -> pd.DataFrame:
    """summary.csv, walk_forward.csv, cycles.csv, loco.csv, overfitting.json, plots/, sweep.html
    and the requested top runs (from `results`, the store's, when the caller has them)."""
    results = Results(spec, store).fill() if results is None else results
    first = results.first_ok()
    summary = summary_frame(spec, results)
    write_whole(out / "summary.csv", csv_writer(summary))
    wf, cycles = walk_forward_table(spec, results), cycle_table(spec, results)
    loco = pd.DataFrame()
    if spec.validation.leave_one_cycle_out and first is not None:
        loco = loco_table(spec, results, baseline_segments(spec, data_dir, offline, _segments(first)))
    for name, table in (("walk_forward.csv", wf), ("cycles.csv", cycles), ("loco.csv", loco)):
        if len(table):
            write_whole(out / name, csv_writer(table))
    results.release_figures()  # every table is built: the pictures and statistics below have the room
    plots = own_folder(out / "plots")
    label = spec.objective
    reference = _reference(spec, first)
    bench = yardstick(spec, first["result"]["segments"]["full"] if first else None).label
    show_sensitivity = bool(spec.swept) and (summary["status"] == "ok").any()
    top_curves = _top_curves(spec, summary, store, data_dir, offline)
    pairs = telling_pairs(summary, list(spec.swept))[:MAX_PAIRS]
    noise = _noise(spec, first)
    with writing(plots), frozen_heap():  # a write failure names its picture
        drawn = heatmaps(
            summary, list(spec.swept), plots, label, reference, _empty_reasons(spec, summary), noise, pairs, bench
        )
        for stale in set(plots.glob("heatmap_*.png")) - set(drawn):  # pairs an earlier pass chose (a resumed sweep)
            stale.unlink()
        if show_sensitivity:
            sensitivity(summary, list(spec.swept), plots / "sensitivity.png", label, reference, bench)
        if top_curves is not None:
            _top_equity(top_curves, plots / "top_equity.png", label, bench)
    overfit = overfitting_report(spec, summary, store, results, data_dir, offline)
    if overfit is not None and spec.search is not None:
        from fedcut.sweeps.search import search_record  # it builds on this module

        overfit["search"] = search_record(spec, overfit)
    if overfit is not None:
        write_whole(
            out / OVERFITTING,
            json.dumps({k: v for k, v in overfit.items() if k != "_pbo"}, indent=2, sort_keys=True, allow_nan=False)
            + "\n",
        )
    figures = [
        (
            p,
            f"Mean {spec.objective} ({OBJECTIVES[spec.objective].format(benchmarks=possessive(bench))}) over the "
            "other parameters, in-sample beside (or above) out-of-sample, on one colour scale centred on "
            f"{possessive(bench)} {spec.objective} in each panel's sample (green better, red worse). Drawn for "
            f"at most {MAX_PAIRS} pairs of parameters, those whose cells explain most of the in-sample "
            f"{spec.objective}'s variance beyond chance (adjusted R²); every cell's n and difference from "
            f'{bench} are in the tables "{CELLS_TABLE}" above.',
        )
        for p in drawn
    ]
    if show_sensitivity:
        figures.append(
            (
                plots / "sensitivity.png",
                "Each parameter's effect: every configuration (dots), the mean per value (line) and "
                f"{possessive(bench)} {spec.objective} in each sample (dashed).",
            )
        )
    if top_curves is not None:
        figures.append(
            (
                plots / "top_equity.png",
                f"Growth of 100 for the {TOP_CURVES} best configurations by in-sample {spec.objective} "
                f"(from their stored daily returns) against {bench} through the same execution.",
            )
        )
    if overfit is not None:
        with writing(plots / "overfitting.png"), frozen_heap():
            figures.append(
                (
                    overfitting_figure(
                        overfit["_pbo"],
                        plots / "overfitting.png",
                        overfit["deflated_sharpe"],
                        overfit["deflated_sharpe_vs_buy_and_hold"],
                        bench,
                    ),
                    "Probability of Backtest Overfitting (CSCV): for each of the in/out-of-sample splits, "
                    "where the in-sample best ranked out of sample (left: logit, at or below 0 = worse than "
                    "the median), and its Sharpe in and out of sample (right); the Deflated Sharpe Ratios of "
                    f"the in-sample choice, against zero and against {bench}, in the title.",
                )
            )
    top_runs = _top_runs(spec, summary, out, data_dir, offline)
    render_html(
        out / "sweep.html",
        f"fedcut sweep: {spec.name}",
        page_facts(
            spec,
            first,
            summary,
            wf,
            cycles,
            top_runs,
            overfit,
            store.audits(),
            engine_named(store.meta().get("engine"), str(store.path)),
        ),
        page_tables(spec, summary, wf, cycles, loco, store.audits())
        + _cells_tables(summary, pairs, reference, noise, bench),
        figures,
    )
    return summary


def _reference(spec: Spec, first: dict | None) -> dict[str, float]:
    """The buy-and-hold benchmark's objective in each sample column of summary.csv (`benchmark_objective`),
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
    """What `plots.heatmap.noise_cells` needs per sample column: buy-and-hold's Sharpe and the sample's years."""
    if first is None:
        return {}
    segments, out = first["result"]["segments"], {}
    for column, name in zip(("objective_is", "objective_oos"), samples(spec)):
        seg = segments.get(name) if name else None
        if seg is None or seg.get("bh_sharpe") is None:
            continue
        years = (pd.Timestamp(seg["end"]) - pd.Timestamp(seg["start"])).days / DAYS_PER_YEAR
        out[column] = {"sharpe_column": f"{name}_sharpe", "benchmark_sharpe": seg["bh_sharpe"], "years": years}
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
    for row in ok_rows(summary).itertuples():
        returns = unpack_returns(next(store.returns_of([row.config_hash], 1))[0]) if row.config_hash in stored else None
        if returns is None or len(returns) != len(days) - 1:
            continue
        curves.append(
            (
                f"rank {int(row.rank)}: {row.config_hash} ({spec.objective} {row.objective_is:.3g} in, "
                f"{row.objective_oos:.3g} out)",
                growth(returns),
            )
        )
        if len(curves) == TOP_CURVES:
            break
    if not curves:
        return None
    split = pd.Timestamp(spec.validation.train_end) if spec.validation.train_end else None
    return base, prepared, curves, split


def _top_equity(top_curves, path: Path, label: str, bench: str) -> Path:
    """top_equity.png: the best curves against the buy-and-hold benchmark's (named `bench`) through the
    base configuration's execution."""
    from fedcut.run.backtest import benchmark

    base, prepared, curves, split = top_curves
    held = benchmark(prepared, base, "IWM").to_numpy()
    figure = top_equity_figure(prepared.market.days, curves, 100.0 * held / held[0], split, label, bench)
    return save_png(figure, path, up=False)


def _segments(first: dict):
    from fedcut.sweeps.evaluate import Segment

    return [Segment(name, seg["start"], seg["end"]) for name, seg in first["result"]["segments"].items()]


def _top_runs(spec: Spec, summary: pd.DataFrame, out: Path, data_dir, offline) -> list[Path]:
    """Full runs (with report) of the `spec.top` best configurations; kept if already written."""
    from fedcut.run.backtest import run
    from fedcut.run.folder import write_run

    folders = []
    for row in ok_rows(summary).head(spec.top).itertuples():
        folder = own_folder(out / "top") / f"rank-{int(row.rank):02d}-{row.config_hash}"
        folders.append(folder)
        if folder.exists():
            continue
        log.info("full run of rank %d (%s) -> %s", int(row.rank), row.config_hash, folder)
        config = spec.points[spec.points.positions_of([row.config_hash])[0]].config
        write_run(run(config, data_dir, offline), folder)
    return folders


def _cells_tables(summary: pd.DataFrame, pairs: list, reference: dict, noise: dict | None, bench: str) -> list:
    """sweep.html's table of every cell of each heatmap (`plots.heatmap.heatmap_cells`): what a
    picture's cell holds beyond the mean it prints."""
    tables = []
    for a, b in pairs:
        cells = heatmap_cells(summary, a, b, reference, noise, bench)
        for column in cells.columns[3:]:
            if column.endswith("inside the noise"):
                cells[column] = cells[column].map({True: "yes", False: ""})
            else:
                shown = "{:+.3g}" if "minus" in column else "{:.3g}"
                cells[column] = ["" if pd.isna(v) else shown.format(v) for v in cells[column]]
        tables.append(
            (
                f"{CELLS_TABLE}: {a} and {b}",
                cells,
                f"Each cell of the heatmap of {a} and {b} (below), row by row from its bottom left: its "
                f"configurations (n), its mean in each sample and the difference from {possessive(bench)}, and whether "
                "its mean Sharpe is inside the sampling noise (hatched in the picture).",
            )
        )
    return tables
