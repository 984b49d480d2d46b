"""The Bayesian search ([search] in a sweep spec): deterministic whatever the workers, its trials the
ones optuna asks for when told the stored objectives in trial order, a resumed search the same as an
uninterrupted one, every trial counted in the Deflated Sharpe Ratio (recomputed here from the stored
Sharpe ratios with the paper's formula and scipy) and in the PBO, and a bad [search] one line.

The searches run a short history (2000-2009: the 2001 and 2007 cycles), 24 trials in batches of 8.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import stats
from test_safety import canonical, refused, sweep

from fedcut.cli import main
from fedcut.core.errors import ConfigError
from fedcut.sweeps import runner
from fedcut.sweeps.runner import STORE, run_sweep
from fedcut.sweeps.spec import load_spec
from fedcut.sweeps.store import Store

SLOW = pytest.mark.slow  # whole searches: not in the edit-test loop (the spec's checks are)

TRIALS, BATCH, TRAIN_END = 24, 8, "2004-12-31"
SPEC = f"""
[sweep]
name = "search"
objective = "calmar"
seed = 11
{{head}}

[base]
"run.end" = "2009-12-31"

[grid]
"strategy.recession_equity" = [0.4, 0.6, 0.8]

[random]
"hedge.moneyness" = {{{{ low = 0.80, high = 0.95 }}}}
"strategy.accumulate_days" = {{{{ low = 5, high = 80 }}}}

[validation]
train_end = "{TRAIN_END}"
audit_share = 0
{{validation}}

[search]
{{search}}
"""
GOOD = 'method = "bayesian"\ntrials = 24\nbatch = 8\nseed = 7'


def spec_file(folder: Path, search: str = GOOD, head: str = "", validation: str = "") -> Path:
    path = folder / "search.toml"
    path.write_text(SPEC.format(head=head, search=search, validation=validation))
    return path


def search(spec: Path, out: Path, shared_data: Path, **options) -> Path:
    return run_sweep(load_spec(spec), out, data_dir=str(shared_data), offline=True, progress=False, **options)


def stored(out: Path) -> tuple[list[dict], dict[str, bytes]]:
    """The store's rows (spec order) and packed daily returns."""
    store = Store(out / STORE)
    try:
        return store.rows(), store.returns()
    finally:
        store.close()


def risk_free(shared_data: Path):
    """The trading days of the searches' history and each day's T-bill return, as the sweep computes them."""
    from fedcut.analyzers.performance import daily_risk_free
    from fedcut.core.params import resolve
    from fedcut.run.inputs import prepare

    prepared = prepare(resolve({"run.end": "2009-12-31"}), str(shared_data), True)
    days = prepared.market.days
    return days, daily_risk_free(prepared.broker_inputs["cash_rate"], days).to_numpy()


@pytest.fixture(scope="module")
def searched(shared_data, tmp_path_factory):
    folder = tmp_path_factory.mktemp("search")
    spec = spec_file(folder)
    return spec, search(spec, folder / "serial", shared_data, workers=1)


@SLOW
def test_one_and_two_workers_store_and_write_the_same_bytes(searched, shared_data, tmp_path):
    spec, serial = searched
    parallel = search(spec, tmp_path / "parallel", shared_data, workers=2)
    assert len(canonical(serial)) == TRIALS and canonical(parallel) == canonical(serial)
    for name in ("summary.csv", "overfitting.json", "spec.toml"):
        assert (parallel / name).read_bytes() == (serial / name).read_bytes(), name


@SLOW
def test_a_dask_cluster_stores_what_one_worker_stores(searched, shared_data, tmp_path):
    distributed = pytest.importorskip("distributed")
    spec, serial = searched
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
    ) as cluster:
        out = search(spec, tmp_path / "dask", shared_data, executor="dask", scheduler=cluster.scheduler_address)
    assert canonical(out) == canonical(serial)
    assert (out / "overfitting.json").read_bytes() == (serial / "overfitting.json").read_bytes()


@SLOW
def test_the_trials_are_what_optuna_asks_when_told_the_stored_objectives_in_order(searched):
    """Replay the search with optuna directly: batches of 8 asked, then told in trial order the in-sample
    calmar the store holds; every configuration asked for must be the stored one at that position."""
    import optuna

    spec, out = searched
    rows, _ = stored(out)
    assert [r["position"] for r in rows] == list(range(TRIALS)) and all(r["status"] == "ok" for r in rows)
    calmar = {}
    for r in rows:  # recomputed from the stored in-sample CAGR and drawdown, not read from the search
        seg = r["result"]["segments"]["is"]
        assert seg["end"] == TRAIN_END
        calmar[r["position"]] = seg["cagr"] / abs(seg["max_drawdown"])
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=7))
    grid = [0.4, 0.6, 0.8]
    for first in range(0, TRIALS, BATCH):
        trials = [study.ask() for _ in range(BATCH)]
        for k, trial in enumerate(trials):
            asked = {
                "strategy.recession_equity": grid[trial.suggest_categorical("strategy.recession_equity", [0, 1, 2])],
                "hedge.moneyness": round(trial.suggest_float("hedge.moneyness", 0.80, 0.95), 6),
                "strategy.accumulate_days": trial.suggest_int("strategy.accumulate_days", 5, 80),
            }
            assert rows[first + k]["swept"] == asked, first + k
        for k, trial in enumerate(trials):
            study.tell(trial, calmar[first + k])
    # the sampler learnt: the last batch's in-sample calmar beats the first's (random draws) on average
    assert np.mean([calmar[p] for p in range(TRIALS - BATCH, TRIALS)]) > np.mean([calmar[p] for p in range(BATCH)])


@SLOW
def test_an_interrupted_search_resumes_to_the_same_store(searched, shared_data, tmp_path, monkeypatch):
    spec, serial = searched
    calls, task = [], runner.task

    def interrupted(block, plan):  # Ctrl-C while the third block runs: two are stored
        calls.append(len(block))
        if len(calls) == 3:
            raise KeyboardInterrupt
        return task(block, plan)

    out = tmp_path / "resumed"
    monkeypatch.setattr(runner, "task", interrupted)
    with pytest.raises(KeyboardInterrupt):
        search(spec, out, shared_data, workers=1)
    partial = len(canonical(out))
    assert 0 < partial < TRIALS
    monkeypatch.setattr(runner, "task", task)
    search(spec, out, shared_data, workers=1, resume=True)
    assert canonical(out) == canonical(serial)
    assert (out / "overfitting.json").read_bytes() == (serial / "overfitting.json").read_bytes()


def _in_sample_excess(packed: bytes, shared_data: Path) -> np.ndarray:
    from fedcut.sweeps.evaluate import unpack_returns

    returns = unpack_returns(packed)
    days, rf = risk_free(shared_data)
    inside = days[1:] <= TRAIN_END  # each return dated by the day it ends
    return returns[inside] - rf[inside]


def deflated_sharpe(excess: np.ndarray, trial_sharpes: np.ndarray, n_trials: int) -> float:
    """Bailey & Lopez de Prado (2014), eqs. for SR_0 and DSR, per-day Sharpe ratios, scipy's normal."""
    sr = excess.mean() / excess.std(ddof=1)
    skew, kurt = stats.skew(excess), stats.kurtosis(excess, fisher=False)
    variance = np.var(trial_sharpes, ddof=1) / 252
    sr0 = math.sqrt(variance) * (
        (1 - np.euler_gamma) * stats.norm.ppf(1 - 1 / n_trials)
        + np.euler_gamma * stats.norm.ppf(1 - 1 / (n_trials * math.e))
    )
    return float(
        stats.norm.cdf((sr - sr0) * math.sqrt(len(excess) - 1) / math.sqrt(1 - skew * sr + (kurt - 1) / 4 * sr**2))
    )


@SLOW
def test_the_deflated_sharpe_counts_every_trial_recomputed_from_the_stored_sharpes(searched, shared_data):
    spec, out = searched
    report = json.loads((out / "overfitting.json").read_text())
    rows, packed = stored(out)
    sharpes = np.array([r["result"]["segments"]["is"]["sharpe"] for r in rows])  # every trial's, as stored
    assert report["n_trials"] == report["deflated_sharpe"]["n_trials"] == len(sharpes) == TRIALS
    search = report["search"]
    assert search["trials"] == search["deflated_sharpe_trials"] == search["pbo_trials"] == TRIALS
    assert search["asked"] == TRIALS + search["repeats"] + search["excluded"]
    excess = _in_sample_excess(packed[report["selected"]], shared_data)
    expected = deflated_sharpe(excess, sharpes, TRIALS)
    assert report["deflated_sharpe"]["dsr"] == pytest.approx(expected, abs=1e-4)
    # counting one batch instead of every trial gives another answer: the test tells them apart
    assert abs(deflated_sharpe(excess, sharpes, BATCH) - expected) > 1e-3


@SLOW
def test_pbo_runs_over_every_trials_returns(searched, shared_data):
    from fedcut.analyzers.overfitting import backtest_overfitting
    from fedcut.sweeps.evaluate import unpack_returns

    _, out = searched
    report = json.loads((out / "overfitting.json").read_text())
    _, packed = stored(out)
    assert len(packed) == TRIALS
    _, rf = risk_free(shared_data)
    matrix = np.column_stack([unpack_returns(packed[h]) for h in sorted(packed)])
    assert backtest_overfitting(matrix, rf, 16).pbo == report["pbo"]["pbo"]


@SLOW
def test_the_page_and_the_console_say_how_the_configurations_were_searched(searched, shared_data, tmp_path, capsys):
    spec, out = searched
    page = (out / "sweep.html").read_text()
    line = f"DSR and PBO over all {TRIALS}"
    assert "searched" in page and line in page and f"{TRIALS} trials" in page
    assert "not a fair sample of the space, so the median variant flatters the space" in page
    code = main([str(a) for a in sweep(spec, tmp_path / "cli", shared_data)])
    printed = capsys.readouterr().out
    assert code == 0 and f"searched: {TRIALS} trials, Bayesian" in printed and line in printed


@pytest.mark.parametrize(
    "search, head, validation, message",
    [
        ('method = "grid"\ntrials = 24', "", "", "[search]: method must be one of bayesian, got 'grid'"),
        ('method = "bayesian"', "", "", "[search]: trials is missing"),
        ("trials = 1", "", "", "[search]: trials must be a whole number from 2 to 10,000, got 1"),
        ("trials = 10001", "", "", "[search]: trials must be a whole number from 2 to 10,000, got 10001"),
        ('trials = "many"', "", "", "[search]: trials must be a whole number from 2 to 10,000, got 'many'"),
        ("trials = 24\nbatch = 0", "", "", "[search]: batch must be a whole number from 1 to 1,024, got 0"),
        ("trials = 24\nbatch = true", "", "", "[search]: batch must be a whole number from 1 to 1,024, got True"),
        ("trials = 24\nseed = -1", "", "", "[search]: seed must be a whole number from 0 to 4,294,967,295, got -1"),
        ("trials = 24\nsampler = 'tpe'", "", "", "[search]: unknown key 'sampler'"),
        ("trials = 24", "samples = 4", "", "[sweep] samples draws random points per grid point"),
        ("trials = 24\n[search.more]\nx = 1", "", "", "[search]: unknown key 'more'"),
        (
            "trials = 24",
            "",
            "walk_forward = { train_years = 3, test_years = 3 }",
            "[validation] walk_forward cannot go with a [search]",
        ),
        (
            "trials = 24",
            "",
            'select_cycles = ["2001"]\ntest_cycles = ["2007"]',
            "[validation] select_cycles/test_cycles cannot go with a [search]",
        ),
        ("trials = 24", "", "leave_one_cycle_out = true", "[validation] leave_one_cycle_out cannot go with a [search]"),
    ],
)
def test_bad_search_values_are_one_line_errors_naming_the_file_and_key(
    tmp_path, capsys, shared_data, search, head, validation, message
):
    spec = spec_file(tmp_path, search, head, validation)
    with pytest.raises(ConfigError) as err:
        load_spec(spec)
    assert message in str(err.value) and str(spec) in str(err.value)
    out = tmp_path / "out"
    assert message in refused(sweep(spec, out, shared_data), capsys) and not out.exists()


def test_more_trials_than_the_space_holds_is_refused(tmp_path):
    text = (
        SPEC.format(head="", search="trials = 40", validation="")
        .replace('"hedge.moneyness" = { low = 0.80, high = 0.95 }', '"hedge.moneyness" = { choices = [0.85, 0.9] }')
        .replace(
            '"strategy.accumulate_days" = { low = 5, high = 80 }', '"strategy.accumulate_days" = { low = 5, high = 10 }'
        )
    )
    spec = tmp_path / "small.toml"
    spec.write_text(text)
    with pytest.raises(
        ConfigError, match=r"trials = 40 is more than the 36 configurations \[grid\] and \[random\] hold"
    ):
        load_spec(spec)  # 3 x 2 x 6 = 36


def test_without_optuna_a_search_is_one_line_saying_how_to_install_it(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "optuna", None)  # import optuna then raises ImportError
    spec = spec_file(tmp_path)
    with pytest.raises(ConfigError) as err:
        load_spec(spec)
    message = str(err.value)
    assert message.startswith(f"{spec}: [search]:") and 'pip install -e ".[search]"' in message and "\n" not in message


def test_the_example_search_reads_as_documented():
    from fedcut.sweeps.search import Search

    spec = load_spec(Path(__file__).resolve().parents[1] / "examples" / "search.toml")
    assert spec.search == Search("bayesian", 500, 32, 7) and spec.points is None
    assert spec.swept == (
        "strategy.recession_equity",
        "hedge.moneyness",
        "strategy.accumulate_days",
        "regime.hy_widening",
    )
