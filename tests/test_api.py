"""The Python API (`fedcut.backtest` -> `Result`, `fedcut.sweep`), the console command's shape
(subcommands, -q/-v through logging, --version, help whose examples parse) and
examples/notebook.py run as a script.
"""

from __future__ import annotations

import importlib.metadata
import json
import logging
import math
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

import fedcut
from fedcut import cli, streams
from fedcut.api import resolve_config
from fedcut.cli import main
from fedcut.core.config import load
from fedcut.core.errors import ConfigError
from fedcut.core.params import PARAMS, resolve

pytestmark = pytest.mark.slow  # whole runs and commands: not in the edit-test loop

ROOT = Path(__file__).resolve().parents[1]
SHORT = {"start": "2019-01-01", "end": "2020-12-31"}
RUN_FILES = (
    "config.toml",
    "metrics.json",
    "equity.csv",
    "trades.csv",
    "signals.csv",
    "episodes.csv",
    "claims.csv",
    "attribution.csv",
    "report.html",
)
PICTURES = ("equity", "underwater", "rolling", "holdings", "cycles", "hedge", "regimes")


@pytest.fixture(scope="module")
def result(shared_data):
    return fedcut.backtest(data_dir=shared_data, **SHORT)


@pytest.fixture(scope="module")
def saved(result, tmp_path_factory):
    return result.save(tmp_path_factory.mktemp("api") / "run")


# --- the API ------------------------------------------------------------------------------------


def test_saved_result_is_the_command_lines_run_folder_with_or_without_run(saved, shared_data, tmp_path, capsys):
    """`Result.save` writes what `fedcut run` writes, and `fedcut run ...` is `fedcut ...`."""
    common = ["--start", SHORT["start"], "--end", SHORT["end"], "--data-dir", str(shared_data), "--offline"]
    assert main(["run", *common, "--out", str(tmp_path / "run")]) == 0
    assert main([*common, "--out", str(tmp_path / "default")]) == 0
    assert f"run folder: {tmp_path / 'run'}" in capsys.readouterr().out
    for folder in (tmp_path / "run", tmp_path / "default"):
        for name in RUN_FILES + tuple(f"plots/{p}.png" for p in PICTURES):
            assert (folder / name).read_bytes() == (saved / name).read_bytes(), (folder, name)


def test_frames_metrics_and_returns_describe_the_run(result, saved):
    equity = pd.read_csv(saved / "equity.csv", parse_dates=["date"], index_col="date")
    assert result.metrics == json.loads((saved / "metrics.json").read_text())
    assert list(result.equity.columns) == list(equity.columns)
    np.testing.assert_allclose(result.equity["strategy"], equity["strategy"], rtol=1e-9)
    assert len(result.trades) == len(pd.read_csv(saved / "trades.csv"))
    assert list(result.episodes["cycle"].astype(str)) == ["2019"]
    assert result.signals.index.equals(result.equity.index)
    returns = result.returns
    assert isinstance(returns.index, pd.DatetimeIndex) and returns.index.equals(equity.index[1:])
    assert not returns.isna().any()
    # compounded, the daily returns give back final over initial value (what quantstats assumes)
    value = result.equity["strategy"]
    assert math.isclose(float((1 + returns).prod()), value.iloc[-1] / value.iloc[0], rel_tol=1e-12)
    assert math.isclose(
        (1 + returns.loc["2020-03-02":"2020-03-31"]).prod(),
        value.loc["2020-03-31"] / value.loc["2020-02-28"],
        rel_tol=1e-12,
    )
    assert repr(result).startswith(f"<fedcut.Result 2019-01-02..2020-12-31 config {result.config.digest()}: ")


def test_baselines_come_from_the_run_when_it_has_them():
    table = pd.DataFrame({"strategy": ["fedcut", "buy_and_hold"], "cagr": [0.07, 0.08]})
    wired = fedcut.Result(SimpleNamespace(baselines=table)).baselines
    assert wired.equals(table) and wired is not table
    assert fedcut.Result(SimpleNamespace(baselines=None)).baselines is None
    assert fedcut.Result(SimpleNamespace()).baselines is None


def test_frames_are_copies_so_changing_one_changes_no_later_backtest(result, shared_data):
    signals, equity = result.signals, result.equity
    signals["regime"] = "crisis"
    equity["strategy"] = 0.0
    assert (result.signals["regime"] != "crisis").any() and (result.equity["strategy"] > 0).all()
    again = fedcut.backtest(data_dir=shared_data, **SHORT)  # reuses the process's cached signals
    assert again.metrics == result.metrics
    assert again.signals["regime"].equals(result.signals["regime"])


def test_every_picture_is_the_one_in_the_run_folder(result, saved):
    """A notebook's figure is the picture the report embeds, drawn from the same numbers (the run's,
    at the files' precision): encoded as the report encodes it, the same bytes."""
    from fedcut.plots.kit import png_bytes

    for name in PICTURES:
        figure = getattr(result, f"plot_{name}")()
        assert round(figure.get_figwidth() * figure.dpi) == 1240, name
        assert png_bytes(figure) == (saved / "plots" / f"{name}.png").read_bytes(), name


def test_options_reach_the_run_and_oracle_says_so(shared_data):
    oracle = fedcut.backtest(data_dir=shared_data, oracle=True, params={"hedge.moneyness": 0.85}, **SHORT)
    assert oracle.config.hedge.moneyness == 0.85 and oracle.config.run.oracle
    assert oracle.metrics["run"]["oracle"] and oracle.metrics["run"]["start"] == "2019-01-02"
    assert oracle.plot_equity().axes[0].get_title().startswith("ORACLE")
    assert "ORACLE" in repr(oracle)


def test_overrides_stack_as_on_the_command_line(tmp_path):
    """config file, then start/end/history/oracle, then params: the Config `--config`, `--start`
    and `--set` build."""
    path = tmp_path / "my.toml"
    path.write_text('[hedge]\nmoneyness = 0.8\ntenor_days = 120\n[run]\nstart = "2005-01-03"\n')
    api = resolve_config(path, {"hedge.moneyness": 0.85}, {"start": "2019-01-02", "oracle": True, "end": None})
    cli_cfg = load(path, ["hedge.moneyness=0.85"], {"run.start": "2019-01-02", "run.oracle": True})
    assert api == cli_cfg
    assert (api.hedge.moneyness, api.hedge.tenor_days, api.run.start, api.run.end) == (0.85, 120, "2019-01-02", "")
    assert resolve_config(api, None, {"history": "long"}) == cli_cfg.with_overrides({"run.history": "long"})
    assert resolve_config(None, None, {}) == resolve()


RUN_NAMES = ", ".join(p.name for p in PARAMS if p.section == "run")  # start, end, history, oracle, strategy


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (
            {"foo": 1},
            f"fedcut.backtest: unknown option 'foo'; use {RUN_NAMES}, "
            "or params={'section.name': value} for any parameter",
        ),
        ({"params": {"hedge.nope": 1}}, "fedcut.backtest: unknown key 'hedge.nope'"),
        (
            {"params": [("hedge.moneyness", 0.85)]},
            "fedcut.backtest: params must be a dict of 'section.name': value, got list",
        ),
        (
            {"params": {"hedge.moneyness": "0.85"}},
            "fedcut.backtest: hedge.moneyness must be a number (strike / spot), got '0.85'",
        ),
        (
            {"config": {"hedge.moneyness": 0.85}},
            "fedcut.backtest: config must be a TOML file path or a Config, got dict",
        ),
        ({"start": "2019-02-30"}, "fedcut.backtest: run.start must be a date YYYY-MM-DD, got '2019-02-30'"),
        ({"config": "nowhere.toml"}, "nowhere.toml: config file not found"),
        ({"engine": "numba"}, "fedcut.backtest: engine must be one of fast, backtrader, got 'numba'"),
    ],
)
def test_bad_options_are_one_line_config_errors(kwargs, message):
    with pytest.raises(ConfigError) as caught:
        fedcut.backtest(**kwargs)
    assert str(caught.value) == message
    documented = (ROOT / "docs" / "bad_inputs.md").read_text()
    assert f"`{message}`" in documented


def test_sweep_refuses_an_unknown_engine_before_reading_the_spec(tmp_path):
    message = "fedcut.sweep: engine must be one of fast, backtrader, got 'numba'"
    with pytest.raises(ConfigError) as caught:
        fedcut.sweep(tmp_path / "absent.toml", engine="numba")  # the engine is told first, not the missing file
    assert str(caught.value) == message and f"`{message}`" in (ROOT / "docs" / "bad_inputs.md").read_text()


def test_sweep_returns_the_ranked_summary_in_results_under_the_current_directory(shared_data, tmp_path, monkeypatch):
    spec = tmp_path / "spec.toml"
    spec.write_text(
        '[sweep]\nname = "tiny"\n[base]\n"run.end" = "2003-12-31"\n'
        '[grid]\n"hedge.moneyness" = [0.85, 0.95]\n[validation]\ntrain_end = "2001-12-31"\n'
    )
    monkeypatch.chdir(tmp_path)
    summary = fedcut.sweep("spec.toml", data_dir=shared_data)
    folders = list((tmp_path / "results").iterdir())
    assert len(folders) == 1 and folders[0].name.startswith("sweep-tiny-")
    assert summary.equals(pd.read_csv(folders[0] / "summary.csv"))
    assert list(summary["rank"]) == [1, 2] and sorted(summary["hedge.moneyness"]) == [0.85, 0.95]
    assert summary["objective_is"].is_monotonic_decreasing  # ranked on in-sample numbers only
    overfit = json.loads((folders[0] / "overfitting.json").read_text())
    assert summary.attrs["overfitting"] == overfit and overfit["selection"]["family"] == 2
    assert "hedge.moneyness (default 0.9) is not in the grid" == overfit["selection"]["default"]["why_not"]


def test_import_fedcut_is_light_and_knows_its_version(tmp_path):
    code = (
        "import sys, fedcut; print(fedcut.__version__); "
        "print(sorted(m for m in ('pandas', 'numpy', 'matplotlib', 'backtrader', 'fedcut.run.backtest') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True).stdout
    assert out.splitlines() == [importlib.metadata.version("fedcut"), "[]"]
    assert {"backtest", "sweep", "Result"} <= set(dir(fedcut))
    with pytest.raises(AttributeError):
        _ = fedcut.no_such_thing


# --- the command ----------------------------------------------------------------------------------


def test_version(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["--version"])
    assert stop.value.code == 0
    assert capsys.readouterr().out == f"fedcut {importlib.metadata.version('fedcut')}\n"


def test_help_lists_every_command_and_its_examples_parse(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["--help"])
    assert stop.value.code == 0
    text = capsys.readouterr().out
    for name, command in cli.COMMANDS.items():
        assert f"  {name:<8}{command.summary}" in text
    examples = [line for lines in cli.EXAMPLES.values() for line in lines]
    assert set(cli.EXAMPLES) == set(cli.COMMANDS)
    for example in examples:
        assert f"  {example}\n" in text
        words = shlex.split(example)
        assert words[0] == "fedcut"
        _, command, args = cli._split(words[1:])
        getattr(cli, f"_{command}_parser")().parse_args(args)  # a usage error would exit


@pytest.mark.parametrize(
    "argv, expected",
    [
        (["--start", "2019-01-02", "-q"], (True, False, "run", ["--start", "2019-01-02"])),
        (["-v", "sweep", "--spec", "s.toml"], (False, True, "sweep", ["--spec", "s.toml"])),
        (["data", "fetch", "-q", "IWM"], (True, False, "data", ["fetch", "IWM"])),
        (
            ["--set", "regime.iwm_damage_drawdown=-0.3"],
            (False, False, "run", ["--set", "regime.iwm_damage_drawdown=-0.3"]),
        ),
        ([], (False, False, "run", [])),
    ],
)
def test_quiet_and_verbose_anywhere_and_run_by_default(argv, expected):
    verbosity, command, args = cli._split(argv)
    assert (verbosity.quiet, verbosity.verbose, command, args) == expected


def test_quiet_and_verbose_together_are_a_usage_error():
    with pytest.raises(SystemExit) as stop:
        main(["-q", "-v"])
    assert stop.value.code == 2


@pytest.mark.parametrize(
    "flags, shown",
    [
        ([], ["note", "warning: careful"]),
        (["-q"], ["warning: careful"]),
        (["-v"], ["debug: detail", "note", "warning: careful"]),
    ],
)
def test_log_levels(flags, shown, capsys):
    verbosity, _, _ = cli._split(flags)
    streams.log_to_stderr(verbosity.quiet, verbosity.verbose)
    log = logging.getLogger("fedcut.sweeps.report")
    log.debug("detail")
    log.info("note")
    log.warning("careful")
    assert capsys.readouterr().err.splitlines() == shown


def test_progress_bars_only_on_a_terminal_and_never_with_quiet(capsys, monkeypatch):
    streams.log_to_stderr(quiet=False, verbose=False)
    assert not streams.progress_bars()  # tests capture stderr: no terminal
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    assert streams.progress_bars()
    streams.log_to_stderr(quiet=True, verbose=False)
    assert not streams.progress_bars()


def test_verbose_run_says_where_it_wrote(shared_data, tmp_path, capsys):
    out = tmp_path / "run"
    assert (
        main(
            [
                "-v",
                "run",
                "--start",
                "2019-01-01",
                "--end",
                "2020-12-31",
                "--data-dir",
                str(shared_data),
                "--offline",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    assert f"debug: wrote {out}" in capsys.readouterr().err.splitlines()


def test_verbose_data_status_names_each_file_read(shared_data, capsys):
    assert main(["data", "status", "--data-dir", str(shared_data), "--offline", "--verbose"]) == 0
    err = capsys.readouterr().err.splitlines()
    assert f"debug: IWM: read {shared_data / 'prices' / 'IWM.csv'}" in err
    assert f"debug: DGS2: read {shared_data / 'macro' / 'DGS2.csv'}" in err
    assert main(["-q", "data", "status", "--data-dir", str(shared_data), "--offline"]) == 0
    assert capsys.readouterr().err == ""


# --- examples/notebook.py ---------------------------------------------------------------------------


def test_notebook_example_runs_as_a_script(shared_data, tmp_path):
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    env = {**os.environ, "FEDCUT_DATA_DIR": str(shared_data), "FEDCUT_OFFLINE": "1", "MPLBACKEND": "Agg"}
    done = subprocess.run(
        [sys.executable, "examples/notebook.py"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    run_dir = next((tmp_path / "results").glob("notebook-run-*"))
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["run"]["start"] == "2007-01-03" and metrics["run"]["end"] == "2012-12-31"
    assert (
        f"strategy CAGR {metrics['strategy']['cagr']:.4%}, max drawdown {metrics['strategy']['max_drawdown']:.4%}"
        in out
    )
    equity = pd.read_csv(run_dir / "equity.csv")
    growth = equity["strategy"].iloc[-1] / equity["strategy"].iloc[0]
    assert f"{len(equity) - 1} daily returns, compounded growth {growth:.6f}" in out
    assert "ORACLE (future information): strategy CAGR" in out
    assert (tmp_path / "results" / "notebook-cycles.png").stat().st_size > 10_000
    summary = pd.read_csv(tmp_path / "results" / "notebook-sweep" / "summary.csv")
    assert len(summary) == 4 and (summary["status"] == "ok").all()


# --- notebooks: re-running a cell, the rich display, stats, quantstats' Sharpe -------------------------


def test_save_twice_takes_a_fresh_name_and_overwrite_replaces_only_a_run_folder(result, saved, tmp_path):
    first = result.save(tmp_path / "run")
    assert first == tmp_path / "run"
    assert result.save(tmp_path / "run") == tmp_path / "run-2"  # the cell run again: no error, a new name
    (first / "metrics.json").write_text((first / "metrics.json").read_text().replace('"cagr"', '"CAGR"'))
    assert result.save(tmp_path / "run", overwrite=True) == first  # replaced: what fedcut writes, again
    for name in RUN_FILES:
        assert (first / name).read_bytes() == (saved / name).read_bytes(), name
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run", "run-2"]  # nothing set aside is left
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "metrics.json").write_text("{}")
    (mine / "config.toml").write_text("# my notes\n")
    for target in (mine, tmp_path / "file.txt"):
        target.touch() if target.suffix else None
        with pytest.raises(fedcut.core.errors.FedcutError, match="not a run folder fedcut wrote"):
            result.save(target, overwrite=True)
    assert (mine / "config.toml").read_text() == "# my notes\n"


def test_stats_view_holds_the_metrics_it_names(result):
    stats, m = result.stats, result.metrics
    s, b = m["strategy"], m["benchmark"]
    v = m["verdict"]["against"]["buy_and_hold"]
    assert stats["CAGR [%]"] == pytest.approx(100 * s["cagr"])
    assert stats["Max. Drawdown [%]"] == pytest.approx(100 * s["max_drawdown"])
    assert stats["Sharpe Ratio"] == s["sharpe"] and stats["Buy & Hold IWM Sharpe Ratio"] == b["sharpe"]
    assert (stats["Sharpe Difference 95% CI Low"], stats["Sharpe Difference 95% CI High"]) == tuple(v["sharpe_diff_ci"])
    growth = result.equity["strategy"].iloc[-1] / result.equity["strategy"].iloc[0]
    assert stats["Return [%]"] == pytest.approx(100 * (growth - 1), rel=1e-9)
    assert (stats["Start"], stats["End"]) == (m["run"]["start"], m["run"]["end"])


def test_a_notebook_shows_the_answer_table(result):
    from fedcut.strategies.baselines import LABELS

    page = result._repr_html_()
    assert page.startswith('<div class="fedcut-result">') and "<table" in page
    for name in result.metrics["baselines"]:
        assert f"<th>{LABELS.get(name, name)}</th>" in page
    assert f"{result.metrics['strategy']['cagr']:+.1%}" in page


def test_quantstats_sharpe_with_the_documented_risk_free_series_is_fedcuts(result):
    """quantstats' formula, mean(excess) / std(excess) * sqrt(252) with excess = returns - rf, on
    `result.returns` and `result.risk_free`; rf recomputed here from the T-bill rate the broker paid."""
    rate = result.run.prepared.broker_inputs["cash_rate"].reindex(result.equity.index)
    days = np.diff(result.equity.index.to_numpy()).astype("timedelta64[D]").astype(float)
    rf = np.exp(rate.to_numpy()[:-1] * days / 365.0) - 1.0
    np.testing.assert_allclose(result.risk_free.to_numpy(), rf, rtol=1e-9)
    assert result.risk_free.index.equals(result.returns.index)
    excess = result.returns - result.risk_free
    sharpe = excess.mean() / excess.std(ddof=1) * math.sqrt(252)
    assert sharpe == pytest.approx(result.metrics["strategy"]["sharpe"], rel=1e-12)
    plain = result.returns.mean() / result.returns.std(ddof=1) * math.sqrt(252)  # quantstats' default rf=0
    assert abs(plain - sharpe) > 0.01


def test_the_readme_notebook_cell_runs_twice_in_one_process(shared_data, tmp_path, monkeypatch):
    """The README's Python block, executed twice as a notebook kernel would: no error, the same folders."""
    block = (ROOT / "README.md").read_text().split("```python\n", 1)[1].split("```", 1)[0]
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("FEDCUT_DATA_DIR", str(shared_data))
    for _ in range(2):
        namespace: dict = {}
        exec(compile(block, "README.md", "exec"), namespace)
        assert (tmp_path / "results" / "my-run" / "report.html").is_file()
        assert namespace["summary"].attrs["folder"] == Path("results/my-sweep")
    assert sorted(p.name for p in (tmp_path / "results").iterdir()) == ["my-run", "my-sweep"]
    saved = json.loads((tmp_path / "results" / "my-run" / "metrics.json").read_text())
    assert saved["strategy"]["max_drawdown"] == namespace["result"].metrics["strategy"]["max_drawdown"]


def test_sweep_twice_takes_a_fresh_name_and_overwrite_replaces_only_a_sweep(shared_data, tmp_path, monkeypatch):
    spec = tmp_path / "spec.toml"
    spec.write_text(
        '[sweep]\nname = "tiny"\n[base]\n"run.end" = "2001-12-31"\n'
        '[grid]\n"hedge.moneyness" = [0.85, 0.95]\n[validation]\ntrain_end = "2000-12-31"\n'
    )
    monkeypatch.chdir(tmp_path)
    first = fedcut.sweep("spec.toml", out="s", data_dir=shared_data, progress=False)
    again = fedcut.sweep("spec.toml", out="s", data_dir=shared_data, progress=False)
    assert (first.attrs["folder"], again.attrs["folder"]) == (Path("s"), Path("s-2"))
    (tmp_path / "s" / "note.txt").write_text("from the first sweep")
    replaced = fedcut.sweep("spec.toml", out="s", data_dir=shared_data, overwrite=True, progress=False)
    assert replaced.attrs["folder"] == Path("s") and not (tmp_path / "s" / "note.txt").exists()
    assert replaced.equals(first) and sorted(p.name for p in tmp_path.iterdir()) == ["s", "s-2", "spec.toml"]
    (tmp_path / "other").mkdir()
    with pytest.raises(fedcut.core.errors.FedcutError, match="other: not a sweep folder fedcut wrote"):
        fedcut.sweep("spec.toml", out="other", data_dir=shared_data, overwrite=True)
