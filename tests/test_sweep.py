"""Sweeps: spec checking, seeded expansion, the store, parallel == serial, kill and resume,
failures recorded, Dask, and the validation tables recomputed from independent arithmetic.

The real-data sweeps run a short history (2000-2009: the 2001 and 2007 cycles) so that each
configuration takes a fraction of a second.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fedcut.cli import main
from fedcut.core.errors import ConfigError
from fedcut.run.backtest import run
from fedcut.sweeps.runner import STORE, run_sweep
from fedcut.sweeps.spec import load_spec
from fedcut.sweeps.store import Store

pytestmark = pytest.mark.slow  # whole runs and commands: not in the edit-test loop

ROOT = Path(__file__).resolve().parents[1]

SMALL = """
[sweep]
name = "small"
objective = "calmar"
seed = 11
{extra}

[base]
"run.end" = "2009-12-31"

[grid]
"hedge.moneyness" = [0.85, 0.95]
"strategy.recession_equity" = [0.4, 0.8]
{grid}

[validation]
train_end = "2004-12-31"
walk_forward = {{ train_years = 3, test_years = 3 }}
select_cycles = ["2001"]
test_cycles = ["2007"]
"""

# 2 x 2 grid x 12 random draws = 48 configurations, each with its own regime setting (so its own
# signals and its own block, tens of milliseconds each): long enough to interrupt part-way
LONGER = SMALL.format(
    extra="samples = 12",
    grid='\n[random]\n"strategy.accumulate_days" = { low = 5, high = 80 }'
    '\n"regime.vix_crisis" = { low = 30.0, high = 50.0 }',
)


def write_spec(tmp_path: Path, text: str, name: str = "spec.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.fixture(scope="module")
def small_spec(tmp_path_factory):
    return write_spec(tmp_path_factory.mktemp("spec"), SMALL.format(extra="", grid=""))


@pytest.fixture(scope="module")
def serial(small_spec, shared_data, tmp_path_factory):
    out = tmp_path_factory.mktemp("sweeps") / "serial"
    run_sweep(load_spec(small_spec), out, workers=1, data_dir=str(shared_data), offline=True, progress=False)
    return out


def canonical(folder: Path) -> list[tuple]:
    store = Store(folder / STORE)
    try:
        return store.canonical()
    finally:
        store.close()


# --- the spec ------------------------------------------------------------------------------------


def test_grid_expands_to_every_combination_first_key_slowest(small_spec):
    spec = load_spec(small_spec)
    assert [tuple(p.swept.values()) for p in spec.points] == [(0.85, 0.4), (0.85, 0.8), (0.95, 0.4), (0.95, 0.8)]
    assert all(p.config.get("run.end") == "2009-12-31" for p in spec.points)
    assert len({p.config_hash for p in spec.points}) == 4


def test_random_draws_are_seeded_and_within_bounds(tmp_path):
    a = load_spec(write_spec(tmp_path, LONGER, "a.toml"))
    b = load_spec(write_spec(tmp_path, LONGER, "b.toml"))
    c = load_spec(write_spec(tmp_path, LONGER.replace("seed = 11", "seed = 12"), "c.toml"))
    draws = [p.swept["strategy.accumulate_days"] for p in a.points]
    assert draws == [p.swept["strategy.accumulate_days"] for p in b.points]
    assert draws != [p.swept["strategy.accumulate_days"] for p in c.points]
    assert all(isinstance(d, int) and 5 <= d <= 80 for d in draws)
    crisis = [p.swept["regime.vix_crisis"] for p in a.points]
    assert all(isinstance(v, float) and 30.0 <= v <= 50.0 for v in crisis) and len(set(crisis)) == len(crisis)
    assert len(a.points) + a.duplicates == 2 * 2 * 12 and a.digest() == b.digest() != c.digest()


def test_constraints_drop_combinations_and_bad_pairs_are_recorded_not_fatal(tmp_path):
    text = SMALL.format(extra="", grid='"hedge.tenor_days" = [30, 91]\n"hedge.roll_days" = [20, 45]\n')
    text += '\n[constraints]\nrules = ["strategy.recession_equity * 100 >= hedge.roll_days or hedge.moneyness < 0.9"]\n'
    spec = load_spec(write_spec(tmp_path, text))
    kept = [p.swept for p in spec.points]
    assert spec.excluded == sum(1 for p in _all_combos() if not (p[1] * 100 >= p[3] or p[0] < 0.9))
    assert len(kept) + spec.excluded == 16
    invalid = [p for p in spec.points if p.config is None]  # roll_days 45 >= tenor_days 30
    assert invalid and all("hedge.roll_days must be below hedge.tenor_days" in p.error for p in invalid)
    assert all(p.swept["hedge.roll_days"] >= p.swept["hedge.tenor_days"] for p in invalid)


def _all_combos():
    return [(m, e, t, r) for m in (0.85, 0.95) for e in (0.4, 0.8) for t in (30, 91) for r in (20, 45)]


@pytest.mark.parametrize(
    "text, message",
    [
        (
            SMALL.format(extra="", grid="").replace(
                '"strategy.recession_equity" = [0.4, 0.8]', '"strategy.recession_equity" = []'
            ),
            "[grid]: strategy.recession_equity has an empty list of values",
        ),
        ('[sweep]\nname = "x"\n[grid]\n', "nothing to sweep: [grid] and [random] are empty"),
        (SMALL.format(extra="", grid='"hedge.monyness" = [0.9]'), "[grid]: unknown parameter 'hedge.monyness'"),
        (SMALL.format(extra="", grid='"hedge.tenor_days" = [91, "long"]'), "hedge.tenor_days must be a whole number"),
        (SMALL.format(extra="", grid='"hedge.vol_cap" = [9.0]'), "hedge.vol_cap = 9.0 is above its maximum"),
        (SMALL.format(extra="", grid='"run.start" = ["2001-01-02"]'), "run.start sets the history, not the strategy"),
        (
            SMALL.format(extra='objective = "profit"', grid="").replace('objective = "calmar"\n', ""),
            "objective must be one of",
        ),
        (
            SMALL.format(extra="", grid="") + "\n[constraints]\nrules = [\"__import__('os').system('true')\"]\n",
            "only parameter keys, numbers",
        ),
        (
            SMALL.format(extra="", grid="") + '\n[constraints]\nrules = ["hedge.moneyness < hedge.nothing"]\n',
            "unknown parameter 'hedge.nothing'",
        ),
        (
            SMALL.format(extra="", grid="").replace('test_cycles = ["2007"]', 'test_cycles = ["2001"]'),
            "a cycle cannot be both selected on and tested on",
        ),
        (SMALL.format(extra="", grid="").replace("[base]", "[bse]"), "unknown table 'bse'"),
    ],
)
def test_bad_specs_are_one_line_errors_naming_the_key(tmp_path, capsys, shared_data, text, message):
    spec = write_spec(tmp_path, text)
    with pytest.raises(ConfigError, match=None) as err:
        load_spec(spec)
    assert message in str(err.value) and str(spec) in str(err.value)
    out = tmp_path / "out"
    code = main(["sweep", "--spec", str(spec), "--out", str(out), "--data-dir", str(shared_data), "--offline"])
    captured = capsys.readouterr()
    assert code == 2 and not out.exists()
    assert captured.err.count("\n") == 1 and message in captured.err and "Traceback" not in captured.err


def test_dates_outside_the_data_are_refused_before_anything_is_written(small_spec, shared_data, tmp_path, capsys):
    out = tmp_path / "out"
    code = main(
        [
            "sweep",
            "--spec",
            str(small_spec),
            "--out",
            str(out),
            "--train-end",
            "2015-01-02",
            "--data-dir",
            str(shared_data),
            "--offline",
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and "train_end 2015-01-02 must fall inside the data (2000-05-26 .. 2009-12-31)" in err
    assert not out.exists()


# --- running -----------------------------------------------------------------------------------


def test_store_has_one_row_per_configuration_with_metrics_per_segment(serial, small_spec):
    spec = load_spec(small_spec)
    store = Store(serial / STORE)
    rows = store.rows()
    store.close()
    assert [r["config_hash"] for r in rows] == [p.config_hash for p in spec.points]
    segments = set(rows[0]["result"]["segments"])
    assert {"full", "is", "oos", "wf1_is", "wf1_oos", "cycle_2001", "cycle_2007"} <= segments
    assert rows[0]["result"]["segments"]["is"]["end"] == "2004-12-31"
    assert rows[0]["result"]["segments"]["oos"]["start"] == "2005-01-03"
    assert all(r["status"] == "ok" for r in rows)


def test_summary_objective_is_calmar_of_the_in_sample_equity_by_hand(serial, small_spec, shared_data):
    summary = pd.read_csv(serial / "summary.csv")
    spec = load_spec(small_spec)
    best = summary.iloc[0]
    assert best["rank"] == 1 and best["objective_is"] == summary["objective_is"].max()
    cfg = next(p.config for p in spec.points if p.config_hash == best["config_hash"])
    eq = run(cfg, str(shared_data), True).equity["strategy"]
    for sample, piece in (("is", eq.loc[:"2004-12-31"]), ("oos", eq.loc["2005-01-01":])):
        years = (piece.index[-1] - piece.index[0]).days / 365.25
        growth = (piece.iloc[-1] / piece.iloc[0]) ** (1 / years) - 1
        depth = min(v / max(piece.iloc[: i + 1]) - 1 for i, v in enumerate(piece))
        assert best[f"{sample}_cagr"] == pytest.approx(growth, rel=1e-9)
        assert best[f"{sample}_max_drawdown"] == pytest.approx(depth, rel=1e-9)
        assert best[f"objective_{sample}"] == pytest.approx(growth / abs(depth), rel=1e-9)


def test_walk_forward_selects_the_best_train_objective_of_each_window(serial):
    wf = pd.read_csv(serial / "walk_forward.csv")
    store = Store(serial / STORE)
    rows = store.rows()
    store.close()
    assert len(wf) >= 2
    for w in wf.itertuples():
        scores = {r["config_hash"]: r["result"]["segments"][f"wf{w.window}_is"]["calmar"] for r in rows}
        assert w.selected == max(scores, key=lambda h: (scores[h], h == w.selected))
        chosen = next(r for r in rows if r["config_hash"] == w.selected)["result"]["segments"][f"wf{w.window}_oos"]
        assert w.test_return == pytest.approx(chosen["total_return"])
        assert w.test.split("..")[0] > w.train.split("..")[1]  # tested only after its training span


def test_cycle_selection_is_judged_on_the_other_cycles(serial):
    cycles = pd.read_csv(serial / "cycles.csv", dtype={"cycle": str})
    summary = pd.read_csv(serial / "summary.csv")
    assert list(cycles["cycle"]) == ["2001", "2007"] and list(cycles["role"]) == ["select", "test"]
    best = summary.loc[summary["objective_select_cycles"].idxmax(), "config_hash"]
    assert (cycles["selected"] == best).all()
    row = summary.set_index("config_hash").loc[best]
    assert cycles.iloc[1]["max_drawdown"] == pytest.approx(row["cycle_2007_max_drawdown"])


def test_outputs_heatmaps_sensitivity_and_page(serial):
    plots = sorted(p.name for p in (serial / "plots").iterdir())
    assert plots == [
        "heatmap_hedge_moneyness__strategy_recession_equity.png",
        "overfitting.png",
        "sensitivity.png",
        "top_equity.png",
    ]
    page = (serial / "sweep.html").read_text()
    assert "Top 4 by in-sample calmar" in page and "Walk-forward" in page and "out-of-sample" in page
    assert 'src="data:image/png;base64,' in page
    store = Store(serial / STORE)
    try:
        n = len(store.audits())
    finally:
        store.close()
    assert f"<td>{n} configuration{'' if n == 1 else 's'} (" in page


def test_parallel_and_serial_sweeps_store_the_same_results(serial, small_spec, shared_data, tmp_path):
    out = tmp_path / "parallel"
    run_sweep(load_spec(small_spec), out, workers=2, data_dir=str(shared_data), offline=True, progress=False)
    assert canonical(out) == canonical(serial)
    assert (out / "summary.csv").read_bytes() == (serial / "summary.csv").read_bytes()
    # run in the workers, not here (how the four blocks fall between the two depends on which
    # worker finishes warming up first)
    workers = {row["worker"] for row in Store(out / STORE).timings()}
    assert 1 <= len(workers) <= 2 and os.getpid() not in workers


def test_results_kept_from_the_workers_are_what_the_store_gives_back(serial, small_spec, shared_data):
    """The parent fills the tables' columns from the workers' outcomes instead of decoding what it
    stored (`sweeps.tables.Results`): they must be what the store gives back, column for column, or a
    resumed sweep's outputs would differ from an uninterrupted one's."""
    from fedcut.core.params import resolve
    from fedcut.sweeps.evaluate import plan_for, task
    from fedcut.sweeps.tables import Results, kept_figures, summary_frame

    spec = load_spec(small_spec)
    plan = plan_for(resolve(spec.base), spec.validation, str(shared_data), True)
    points = {p.position: p for p in spec.points}
    store = Store(serial / STORE)
    try:
        kept, read = Results(spec, store), Results(spec, store).fill()
        for o in task([(p.position, p.config, p.error) for p in spec.points], plan):
            kept.add(o["position"], o["status"], o["error"], points[o["position"]].swept, o["result"])
        stored = store.rows()
    finally:
        store.close()
    assert (kept.status == read.status).all() and kept.segments == read.segments and kept.segments
    assert np.array_equal(kept.figure("is", "calmar"), read.figure("is", "calmar"))
    assert [r["result"]["segments"]["is"]["calmar"] for r in stored] == list(read.figure("is", "calmar"))
    pd.testing.assert_frame_equal(summary_frame(spec, kept), summary_frame(spec, read))
    assert pd.read_csv(serial / "summary.csv")["config_hash"].tolist() == list(summary_frame(spec, read)["config_hash"])
    # as a sweep sends them: each outcome's result holds only the kept figures, its stored JSON all of them
    lean = replace(plan, kept=tuple((n, kept_figures(spec, n)) for n in sorted(s.name for s in plan.segments)))
    trimmed, by_hash = Results(spec, None), {r["config_hash"]: r for r in stored}
    for o in task([(p.position, p.config, p.error) for p in spec.points], lean):
        point = points[o["position"]]
        assert json.loads(o["result_json"]) == by_hash[point.config_hash]["result"]
        assert {n: tuple(seg) for n, seg in o["result"]["segments"].items()} == {
            n: ("start", "end", *figures) for n, figures in lean.kept
        }
        trimmed.add(o["position"], o["status"], o["error"], point.swept, o["result"])
    trimmed.hashes = read.hashes
    pd.testing.assert_frame_equal(summary_frame(spec, trimmed), summary_frame(spec, read))
    # as a Dask cluster gets them: swept values alone, resolved over [base] in the worker, the same bytes
    based = replace(lean, base=dict(spec.base))
    lean_items = [(p.position, p.swept, p.error) for p in spec.points]
    for sent, whole in zip(task(lean_items, based), task([(p.position, p.config, p.error) for p in spec.points], lean)):
        assert {k: v for k, v in sent.items() if k not in ("seconds", "peak_rss_mib")} == {
            k: v for k, v in whole.items() if k not in ("seconds", "peak_rss_mib")
        }


def test_a_failing_configuration_is_stored_with_its_error_and_the_sweep_finishes(
    small_spec, shared_data, tmp_path, monkeypatch
):
    import fedcut.sweeps.evaluate as evaluate_mod

    spec = load_spec(small_spec)
    bad = spec.points[2].config_hash
    real = evaluate_mod.evaluate_block

    def flaky(configs, plan):  # a block holding the bad configuration fails; alone, so does it
        if any(c.digest() == bad for c in configs):
            raise RuntimeError("engine blew up\non two lines")
        return real(configs, plan)

    monkeypatch.setattr(evaluate_mod, "evaluate_block", flaky)
    out = run_sweep(spec, tmp_path / "out", data_dir=str(shared_data), offline=True, progress=False)
    summary = pd.read_csv(out / "summary.csv")
    failed = summary[summary["status"] == "failed"]
    assert list(failed["config_hash"]) == [bad]
    assert failed["error"].iloc[0] == "RuntimeError: engine blew up on two lines"
    assert summary.iloc[-1]["config_hash"] == bad and pd.isna(summary.iloc[-1]["rank"])
    assert list(summary["rank"].dropna()) == [1, 2, 3]
    assert "Failed configurations" in (out / "sweep.html").read_text()


def test_a_sweep_in_backtrader_stores_what_the_array_engine_stored_and_needs_no_audit(
    serial, small_spec, shared_data, tmp_path
):
    """`--engine backtrader` runs every configuration in the reference engine: the same stored
    figures and summary as the array engine's sweep, and its page says there was nothing to audit."""
    out = tmp_path / "reference"
    code = main(
        [
            "sweep",
            "--spec",
            str(small_spec),
            "--out",
            str(out),
            "--engine",
            "backtrader",
            "--data-dir",
            str(shared_data),
            "--offline",
            "--no-progress",
        ]
    )
    assert code == 0
    assert canonical(out) == canonical(serial)
    assert (out / "summary.csv").read_bytes() == (serial / "summary.csv").read_bytes()
    store = Store(out / STORE)
    assert store.audits() == [] and store.meta()["engine"] == "backtrader"
    assert "nothing to audit" in (out / "sweep.html").read_text()
    assert Store(serial / STORE).audits()  # the array engine's sweep was audited


def test_an_existing_folder_is_not_overwritten_and_another_spec_cannot_resume_it(
    serial, small_spec, shared_data, tmp_path, capsys
):
    before = {p: p.read_bytes() for p in serial.rglob("*") if p.is_file()}
    code = main(["sweep", "--spec", str(small_spec), "--out", str(serial), "--data-dir", str(shared_data), "--offline"])
    assert code == 2 and "already exists; add --resume" in capsys.readouterr().err
    other = write_spec(tmp_path, SMALL.format(extra="", grid="").replace("0.95", "0.9"))
    code = main(
        [
            "sweep",
            "--spec",
            str(other),
            "--out",
            str(serial),
            "--resume",
            "--data-dir",
            str(shared_data),
            "--offline",
            "--no-progress",
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and "made by a different sweep spec" in err and err.count("\n") == 1
    elsewhere = tmp_path / "data"  # the same files, through another folder
    elsewhere.mkdir()
    for part in shared_data.iterdir():
        (elsewhere / part.name).symlink_to(part)
    code = main(
        [
            "sweep",
            "--spec",
            str(small_spec),
            "--out",
            str(serial),
            "--resume",
            "--data-dir",
            str(elsewhere),
            "--offline",
            "--no-progress",
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and f"made with the data in {shared_data}, this sweep reads {elsewhere}" in err
    code = main(
        [
            "sweep",
            "--spec",
            str(small_spec),
            "--out",
            str(serial),
            "--resume",
            "--engine",
            "backtrader",
            "--data-dir",
            str(shared_data),
            "--offline",
            "--no-progress",
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and "made with --engine fast, this sweep asks for --engine backtrader" in err
    assert {p: p.read_bytes() for p in serial.rglob("*") if p.is_file()} == before


def _start(spec: Path, out: Path, shared_data: Path) -> subprocess.Popen:
    env = dict(os.environ, FEDCUT_DATA_DIR=str(shared_data), FEDCUT_OFFLINE="1", MPLBACKEND="Agg")
    return subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "run_backtest.py"),
            "sweep",
            "--spec",
            str(spec),
            "--out",
            str(out),
            "--workers",
            "2",
            "--no-progress",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        # as from a terminal: a job started in the background by a script ignores Ctrl-C
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


def _wait_for_rows(out: Path, proc: subprocess.Popen, at_least: int, timeout: float = 120.0) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        if (out / STORE).exists():
            try:
                with sqlite3.connect(out / STORE) as db:
                    count = db.execute("SELECT COUNT(*) FROM results").fetchone()[0]
            except sqlite3.OperationalError:  # schema not created yet
                count = 0
            if count >= at_least:
                return count
        time.sleep(0.02)
    raise AssertionError(f"sweep stored fewer than {at_least} configurations (exit {proc.poll()})")


@pytest.fixture(scope="module")
def longer_reference(tmp_path_factory, shared_data):
    folder = tmp_path_factory.mktemp("longer")
    spec = write_spec(folder, LONGER)
    out = folder / "reference"
    run_sweep(load_spec(spec), out, workers=1, data_dir=str(shared_data), offline=True, progress=False)
    return spec, out


@pytest.mark.parametrize("how", ["kill", "interrupt", "terminate"])
def test_killed_or_interrupted_sweep_resumes_to_the_same_store(longer_reference, shared_data, tmp_path, capsys, how):
    spec, reference = longer_reference
    total = len(load_spec(spec).points)
    out = tmp_path / "sweep"
    proc = _start(spec, out, shared_data)
    stored = _wait_for_rows(out, proc, 2)
    if how == "terminate":  # a plain `kill PID` of the sweep process
        os.kill(proc.pid, signal.SIGTERM)
    else:  # SIGKILL, or Ctrl-C, which the terminal sends to the whole process group
        os.killpg(proc.pid, signal.SIGKILL if how == "kill" else signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    if how != "kill":
        assert proc.returncode == 130 and "Traceback" not in err
        assert "continue with --resume" in err and err.strip().count("\n") == 0
    with sqlite3.connect(out / STORE) as db:
        kept = db.execute("SELECT COUNT(*) FROM results").fetchone()[0]
    assert stored <= kept < total and not (out / "summary.csv").exists()
    code = main(
        [
            "sweep",
            "--spec",
            str(spec),
            "--out",
            str(out),
            "--resume",
            "--data-dir",
            str(shared_data),
            "--offline",
            "--no-progress",
        ]
    )
    assert code == 0, capsys.readouterr().err
    assert canonical(out) == canonical(reference)  # every configuration once, same numbers
    assert (out / "summary.csv").read_bytes() == (reference / "summary.csv").read_bytes()


def test_progress_bar_shows_done_total_and_rate(small_spec, shared_data, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)  # someone watching a terminal
    code = main(
        ["sweep", "--spec", str(small_spec), "--out", str(tmp_path / "o"), "--data-dir", str(shared_data), "--offline"]
    )
    err = capsys.readouterr().err
    assert code == 0 and "4/4" in err and ("config/s" in err or "s/config" in err)


def test_dask_executor_on_a_local_cluster_gives_the_local_results(serial, small_spec, shared_data, tmp_path):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
    ) as cluster:
        out = run_sweep(
            load_spec(small_spec),
            tmp_path / "dask",
            executor="dask",
            scheduler=cluster.scheduler_address,
            data_dir=str(shared_data),
            offline=True,
            progress=False,
        )
    assert canonical(out) == canonical(serial)


def test_dask_without_a_scheduler_is_a_one_line_error(small_spec, shared_data, tmp_path, capsys):
    code = main(
        [
            "sweep",
            "--spec",
            str(small_spec),
            "--out",
            str(tmp_path / "o"),
            "--executor",
            "dask",
            "--data-dir",
            str(shared_data),
            "--offline",
        ]
    )
    assert code == 2 and "--executor dask needs --scheduler" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_top_runs_are_full_run_folders_of_the_best(small_spec, shared_data, tmp_path):
    out = run_sweep(
        load_spec(small_spec, top=1), tmp_path / "top", data_dir=str(shared_data), offline=True, progress=False
    )
    summary = pd.read_csv(out / "summary.csv")
    folder = out / "top" / f"rank-01-{summary.iloc[0]['config_hash']}"
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["run"]["config_hash"] == summary.iloc[0]["config_hash"]
    assert (folder / "report.html").is_file()
    assert math.isclose(metrics["strategy"]["cagr"], summary.iloc[0]["full_cagr"], rel_tol=1e-9)  # csv keeps 10 digits


def test_choice_and_list_parameters_sweep_as_categories(tmp_path, shared_data):
    text = """
[sweep]
name = "categories"
[base]
"run.end" = "2003-12-31"
[grid]
"strategy.defensives" = [["XLP", "XLU"], ["IEF"]]
"strategy.recession_action" = ["hedge", "quality"]
[validation]
train_end = "2001-12-31"
"""
    out = run_sweep(
        load_spec(write_spec(tmp_path, text)), tmp_path / "out", data_dir=str(shared_data), offline=True, progress=False
    )
    summary = pd.read_csv(out / "summary.csv")
    assert sorted(set(summary["strategy.defensives"])) == ["IEF", "XLP+XLU"]
    assert sorted(set(summary["strategy.recession_action"])) == ["hedge", "quality"]
    assert (out / "plots" / "heatmap_strategy_defensives__strategy_recession_action.png").is_file()


# --- the truth about a sweep: leave-one-cycle-out, overfitting, the backtrader audit ----------------

LOCO = """
[sweep]
name = "loco"
objective = "calmar"
seed = 5
top = 1

[base]
"run.end" = "2021-12-31"

[grid]
"run.strategy" = ["fedcut", "credit_rule"]
"strategy.recession_equity" = [0.3, 0.9]
"baseline.credit_level" = [6.0, 8.0]

[validation]
train_end = "2010-12-31"
leave_one_cycle_out = true
audit_share = 0.2
"""


@pytest.fixture(scope="module")
def loco(shared_data, tmp_path_factory):
    folder = tmp_path_factory.mktemp("loco")
    spec = write_spec(folder, LOCO)
    out = run_sweep(load_spec(spec), folder / "out", workers=1, data_dir=str(shared_data), offline=True, progress=False)
    return spec, out


def test_leave_one_cycle_out_chooses_on_the_other_cycles_and_judges_on_the_held_out_one(loco):
    _, out = loco
    table = pd.read_csv(out / "loco.csv", dtype={"held_out_cycle": str})
    assert list(table.columns[:3]) == ["held_out_cycle", "chosen_config_hash", "chosen_params"]
    assert list(table["held_out_cycle"]) == ["2001", "2007", "2019"]
    rows = [r for r in Store(out / STORE).rows() if r["status"] == "ok"]
    for held in table.itertuples():
        others = [c for c in ("2001", "2007", "2019") if c != held.held_out_cycle]
        score = {
            r["config_hash"]: sum(r["result"]["segments"][f"cycle_{c}"]["calmar"] for c in others) / 2 for r in rows
        }
        best = max(sorted(score), key=lambda h: score[h])
        assert held.chosen_config_hash == best
        seg = next(r for r in rows if r["config_hash"] == best)["result"]["segments"][f"cycle_{held.held_out_cycle}"]
        assert held.strategy_return == pytest.approx(seg["total_return"])
        assert held.benchmark_max_drawdown == pytest.approx(seg["bh_max_drawdown"])
        assert held.best_baseline in (
            "buy_and_hold",
            "spy",
            "sixty_forty",
            "static_mix",
            "credit_rule",
            "trend_200d",
            "vix_rule",
            "fedcut",
        )


def test_a_baseline_swept_by_its_own_parameter_changes_its_results(loco):
    _, out = loco
    summary = pd.read_csv(out / "summary.csv")
    credit = summary[summary["run.strategy"] == "credit_rule"]
    assert credit.groupby("baseline.credit_level")["full_cagr"].first().nunique() == 2
    fedcut = summary[summary["run.strategy"] == "fedcut"]
    assert fedcut.groupby("strategy.recession_equity")["full_cagr"].first().nunique() == 2


def test_overfitting_json_rests_on_the_stored_daily_returns(loco, shared_data):
    from fedcut.analyzers.overfitting import backtest_overfitting
    from fedcut.analyzers.performance import daily_risk_free
    from fedcut.sweeps.evaluate import unpack_returns

    spec, out = loco
    report = json.loads((out / "overfitting.json").read_text())
    store = Store(out / STORE)
    packed = store.returns()
    assert report["n_trials"] == len(packed) == 8
    summary = pd.read_csv(out / "summary.csv")
    assert report["selected"] == summary.loc[summary["rank"] == 1, "config_hash"].item()
    assert 0.0 <= report["pbo"]["pbo"] <= 1.0 and 0.0 <= report["deflated_sharpe"]["dsr"] <= 1.0
    # each stored curve compounds back to the run's own figures (float32 returns: 1e-5)
    chosen = run(load_spec(spec).points[0].config.with_overrides({}), str(shared_data), True)
    for blob in packed.values():
        returns = unpack_returns(blob)
        assert len(returns) == len(chosen.equity) - 1 and len(blob) < 4 * len(returns) + 100  # float32
    matrix = pd.DataFrame({h: unpack_returns(b) for h, b in packed.items()})[list(summary["config_hash"])]
    rf = daily_risk_free(chosen.prepared.broker_inputs["cash_rate"], chosen.equity.index).to_numpy()
    assert backtest_overfitting(matrix.to_numpy(), rf, 16).pbo == report["pbo"]["pbo"]


def test_the_audit_reruns_chosen_configurations_in_backtrader_and_fails_on_a_difference(
    loco, shared_data, monkeypatch, capsys
):
    spec, out = loco
    audits = Store(out / STORE).audits()
    reasons = {a["reason"] for a in audits}
    assert "top" in reasons and "sample" in reasons and all(a["identical"] for a in audits)
    assert "all identical to the last bit" in (out / "sweep.html").read_text()
    # A planted difference in the stored results must fail the sweep, loudly.
    import fedcut.sweeps.runner as runner_mod

    real = runner_mod._first_difference
    monkeypatch.setattr(runner_mod, "_first_difference", lambda a, b, path="": "segments.full.cagr: 0.1 vs 0.2")
    again = out.parent / "again"
    code = main(
        [
            "sweep",
            "--spec",
            str(spec),
            "--out",
            str(again),
            "--data-dir",
            str(shared_data),
            "--offline",
            "--no-progress",
        ]
    )
    monkeypatch.setattr(runner_mod, "_first_difference", real)
    assert code == 2 and "differs from the array engine" in capsys.readouterr().err
    assert "DIFFER" in (again / "sweep.html").read_text()


def test_summary_csv_written_in_pieces_is_the_whole_tables_bytes(serial, small_spec, monkeypatch):
    """summary.csv is turned into text a few rows at a time (a million rows are never one string): the
    bytes must be the whole frame's `to_csv`, header once, and a table without rows is its header."""
    import fedcut.sweeps.tables as tables

    spec = load_spec(small_spec)
    store = Store(serial / STORE)
    try:
        summary = tables.summary_frame(spec, tables.Results(spec, store).fill())
    finally:
        store.close()
    whole = summary.to_csv(index=False, float_format="%.10g").encode()
    monkeypatch.setattr(tables, "CSV_ROWS", 3)  # 4 configurations: a piece of 3 and a piece of 1
    pieces = io.BytesIO()
    tables.csv_writer(summary)(pieces)
    assert pieces.getvalue() == whole == (serial / "summary.csv").read_bytes()
    assert whole.count(b"config_hash") == 1 and len(summary) == 4

    def key(row):  # the ranking rule, restated: ran, meets the CAGR rule, objective (missing last), hash
        score = row.objective_is if row.objective_is == row.objective_is else -math.inf
        return (row.status != "ok", not row.meets_constraint, -score, row.config_hash)

    assert [r.config_hash for r in sorted(summary.itertuples(), key=key)] == summary["config_hash"].tolist()
    assert summary["rank"].tolist() == [k + 1 if s == "ok" else pd.NA for k, s in enumerate(summary["status"])]
    empty = io.BytesIO()
    tables.csv_writer(summary.iloc[:0])(empty)
    assert empty.getvalue() == summary.iloc[:0].to_csv(index=False).encode() == whole.split(b"\n")[0] + b"\n"


def test_swept_values_are_held_as_numbers_and_summarised_as_before(tmp_path):
    """Swept numbers are held in number columns (8 bytes each, not a Python object); the summary's
    column must still be what the values as a list would give pandas: floats, ints, a mix (floats),
    lists as "XLP+XLU", a configuration never added as missing."""
    from fedcut.sweeps.tables import Results, value_text

    spec = load_spec(write_spec(tmp_path, SMALL.format(extra="", grid="")))
    values = {
        "hedge.moneyness": [0.85, 0.95, 0.9, None],
        "strategy.recession_equity": [1, 2, 3, 4],
    }
    mixed = [1, 0.5, 2, 3]
    lists = [["XLP", "XLU"], ["XLV"], ["XLP"], ["XLU", "XLV"]]
    results = Results(spec, store=None)
    spec_swept = list(spec.swept)
    assert spec_swept == list(values)
    for position in range(3):  # position 3 is never added
        swept = {key: column[position] for key, column in values.items()}
        results.add(position, "failed", "x", swept, None)
    assert results.swept["hedge.moneyness"].dtype == np.float64
    assert results.swept["strategy.recession_equity"].dtype == np.int64
    for key, column in values.items():
        expected = pd.Series(column[:3] + [None]).infer_objects().to_numpy()
        got = results.swept_column(key)
        assert got.dtype == expected.dtype and pd.Series(got).equals(pd.Series(expected))
    results.add(3, "failed", "x", dict(zip(spec_swept, [0.8, 5])), None)
    assert results.swept_column("strategy.recession_equity").tolist() == [1, 2, 3, 5]
    assert results.swept_column("strategy.recession_equity").dtype == np.int64
    for position, (m, listed) in enumerate(zip(mixed, lists)):  # an int after floats, lists: Python objects
        results.add(position, "failed", "x", dict(zip(spec_swept, [m, listed])), None)
    assert results.swept_column("hedge.moneyness").tolist() == [1.0, 0.5, 2.0, 3.0]
    assert results.swept_column("hedge.moneyness").dtype == np.float64
    assert results.swept_column("strategy.recession_equity").tolist() == [value_text(v) for v in lists]


def test_only_the_figures_the_tables_read_are_kept_per_configuration(serial, small_spec):
    """Per configuration the parent keeps every figure of the whole, in- and out-of-sample spans but
    only the objective and the CAGR rule's figures of a walk-forward window and drawdown, return and
    objective of a cycle; asking for another is a programming error, not a silent NaN."""
    from fedcut.sweeps.tables import FIGURES, Results, kept_figures

    spec = load_spec(small_spec)
    store = Store(serial / STORE)
    try:
        results = Results(spec, store).fill()
        rows = {r["position"]: r["result"]["segments"] for r in store.rows()}
    finally:
        store.close()
    assert kept_figures(spec, "is") == FIGURES
    assert kept_figures(spec, "wf1_oos") == ("calmar", "cagr", "bh_cagr")
    assert kept_figures(spec, "cycle_2001") == ("max_drawdown", "total_return", "calmar")
    for name in results.segments:
        for figure in kept_figures(spec, name):
            stored = [rows[k][name][figure] for k in range(len(rows))]
            np.testing.assert_array_equal(results.figure(name, figure), np.array(stored, dtype=float))
    with pytest.raises(KeyError, match="sharpe of sample cycle_2001"):
        results.figure("cycle_2001", "sharpe")
    assert np.isnan(results.figure("no_such_sample", "sharpe")).all()
    results.release_figures()  # once the tables are built (write_outputs): freed, and never read as NaN
    with pytest.raises(KeyError, match="released"):
        results.figure("is", "calmar")


def test_every_configuration_near_a_rounding_boundary_is_audited(tmp_path):
    """A configuration whose contract count came within 1e-9 of a whole number (where the compiled
    kernel's rounding may differ from CPython's) is re-run in backtrader, with no top configurations
    asked for and no sample drawn."""
    from fedcut.sweeps.runner import audit_choice
    from fedcut.sweeps.tables import Results

    spec = load_spec(write_spec(tmp_path, SMALL.format(extra="", grid="") + "audit_share = 0.0\n"))
    results = Results(spec, store=None)
    trades = {"etf_trades": 1, "option_trades": 0, "premium_paid": 0.0, "rejected_orders": 0}
    segment = {"start": "2000-01-03", "end": "2009-12-31", "calmar": 0.5}
    for position, near in ((0, 0), (1, 2), (3, 0)):
        results.add(position, "ok", "", {}, {"near_boundary": near, "segments": {"full": segment}, "trades": trades})
    results.add(2, "failed", "boom", {}, None)
    assert audit_choice(spec, results) == {spec.points.hash_at(1): "boundary"}


# --- honest about selection: the default's place, the median variant, the DSR against buy-and-hold -----

DEFAULTS = SMALL.replace("[0.85, 0.95]", "[0.90, 0.95]").replace("[0.4, 0.8]", "[0.6, 0.8]")  # holds the defaults


@pytest.fixture(scope="module")
def with_default(shared_data, tmp_path_factory):
    folder = tmp_path_factory.mktemp("defaults")
    spec = write_spec(folder, DEFAULTS.format(extra="", grid=""))
    out = folder / "out"
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        code = main(
            [
                "sweep",
                "--spec",
                str(spec),
                "--out",
                str(out),
                "--no-progress",
                "--data-dir",
                str(shared_data),
                "--offline",
            ]
        )
    assert code == 0
    return out, printed.getvalue()


def test_the_defaults_place_and_the_median_variant_are_recomputed_from_the_summary(with_default, shared_data):
    from fedcut.core.params import resolve

    out, printed = with_default
    sel = json.loads((out / "overfitting.json").read_text())["selection"]
    summary = pd.read_csv(out / "summary.csv")
    own = summary[(summary["hedge.moneyness"] == 0.9) & (summary["strategy.recession_equity"] == 0.6)]
    assert sel["default"]["config_hash"] == own["config_hash"].item() == resolve({"run.end": "2009-12-31"}).digest()
    assert sel["default"]["in_family"] and sel["family"] == 4
    for metric in ("calmar", "sharpe"):
        ranks = [summary[f"full_{metric}"].rank(ascending=False, method=m)[own.index[0]] for m in ("min", "max")]
        assert [sel["default"]["place"][metric][k] for k in ("best", "worst")] == ranks
        assert sel["default"][metric] == pytest.approx(own[f"full_{metric}"].item())
    assert sel["median_variant"]["sharpe"] == pytest.approx(summary["full_sharpe"].median())
    assert sel["median_variant"]["max_drawdown"] == pytest.approx(summary["full_max_drawdown"].median())
    # buy-and-hold IWM's figures are those of the backtest of the default, computed there independently
    reference = run(resolve({"run.end": "2009-12-31"}), str(shared_data), True).metrics["benchmark"]
    for metric in ("sharpe", "cagr", "max_drawdown"):
        assert sel["buy_and_hold"][metric] == pytest.approx(reference[metric], abs=1e-9)
        assert sel["variants_above_buy_and_hold"][metric] == int((summary[f"full_{metric}"] > reference[metric]).sum())
    place = sel["default"]["place"]["calmar"]
    assert f"the shipped default among the variants: ranks {place['best']}" in printed


def test_the_deflated_sharpe_against_buy_and_hold_is_the_paper_with_its_sharpe_as_the_bar(with_default):
    from test_overfitting import scipy_deflated_sharpe

    from fedcut.analyzers.overfitting import trial_sharpe_ratios
    from fedcut.analyzers.performance import daily_risk_free
    from fedcut.core.params import resolve
    from fedcut.run.inputs import prepare
    from fedcut.sweeps.evaluate import unpack_returns

    out, printed = with_default
    report = json.loads((out / "overfitting.json").read_text())
    rows = {r["config_hash"]: r for r in Store(out / STORE).rows()}
    chosen = rows[report["selected"]]["result"]["segments"]["is"]
    prepared = prepare(resolve({"run.end": "2009-12-31"}), None, True)
    days = prepared.market.days
    rf = daily_risk_free(prepared.broker_inputs["cash_rate"], days).to_numpy()
    inside = (days[1:] >= chosen["start"]) & (days[1:] <= chosen["end"])
    matrix = np.column_stack([unpack_returns(b) for b in Store(out / STORE).returns().values()])
    trials = trial_sharpe_ratios(matrix[inside], rf[inside])
    mine = unpack_returns(Store(out / STORE).returns()[report["selected"]])[inside]
    against = report["deflated_sharpe_vs_buy_and_hold"]
    assert against["benchmark_sharpe"] == chosen["bh_sharpe"] and report["deflated_sharpe"]["benchmark_sharpe"] == 0
    for key, bench in (("deflated_sharpe", 0.0), ("deflated_sharpe_vs_buy_and_hold", chosen["bh_sharpe"])):
        expected, _ = scipy_deflated_sharpe(mine, rf[inside], trials, bench)
        assert report[key]["dsr"] == pytest.approx(expected, rel=1e-9)
    assert f"against buy-and-hold IWM: {against['dsr']:.2f}" in printed


def test_a_sweep_without_the_default_says_why_and_one_with_baselines_ranks_the_rules_only(serial, loco):
    sel = json.loads((serial / "overfitting.json").read_text())["selection"]
    assert not sel["default"]["in_family"] and "place" not in sel["default"]
    assert sel["default"]["why_not"] == (
        "hedge.moneyness (default 0.9) is not in the grid; strategy.recession_equity (default 0.6) is not in the grid"
    )
    summary = pd.read_csv(serial / "summary.csv")
    assert sel["median_variant"]["cagr"] == pytest.approx(summary["full_cagr"].median())
    sel = json.loads((loco[1] / "overfitting.json").read_text())["selection"]
    assert sel["family"] == 4 and "run.strategy = fedcut" in sel["family_note"]


def test_rank_correlation_is_spearmans_over_the_pairs_with_both_values():
    """sweep.html's in-sample vs out-of-sample rank correlation, without scipy, equals scipy's
    Spearman over the complete pairs (ties averaged)."""
    import numpy as np
    from scipy.stats import spearmanr

    from fedcut.sweeps.page_text import _spearman

    rng = np.random.default_rng(5)
    a = pd.Series(np.round(rng.normal(size=300), 1))  # rounding makes ties
    b = pd.Series(a + rng.normal(size=300))
    a[[3, 40]], b[[7, 40]] = np.nan, np.nan
    both = a.notna() & b.notna()
    assert _spearman(a, b) == pytest.approx(spearmanr(a[both], b[both]).statistic, abs=1e-12)
    assert _spearman(a, -a) == pytest.approx(-1.0)
