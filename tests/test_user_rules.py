"""Your own rules: the plug-in path gives the built-in rule's bytes, and a bad rule is refused with one line.

The credit rule of examples/user_rules.py restates `strategies.baselines.credit_alarm` through the user
contract; its run must write the same equity, trades, signals and cycles as `--strategy credit_rule`.
A rule that raises, levers up, returns NaN or negative weights, or reads the future (a full-sample
mean, tomorrow's close) is refused before anything is written, naming the function.
"""

from __future__ import annotations

import hashlib
import importlib
import textwrap
from pathlib import Path

import pandas as pd
import pytest

import fedcut
from fedcut.cli import main
from fedcut.core.errors import ConfigError
from fedcut.core.params import resolve
from fedcut.run.backtest import run, strategy_plan
from fedcut.run.folder import write_run
from fedcut.run.inputs import prepare, signals
from fedcut.sweeps.runner import run_sweep
from fedcut.sweeps.spec import load_spec

pytestmark = pytest.mark.slow  # whole runs and commands: not in the edit-test loop

ROOT = Path(__file__).resolve().parents[1]
REF = "examples.user_rules:credit_rule"
SPAN = {"run.start": "2006-01-03", "run.end": "2012-12-31"}
SAME_FILES = ("equity.csv", "trades.csv", "signals.csv", "episodes.csv", "cash_rate.csv", "tearsheet.csv")


@pytest.fixture()
def at_root(monkeypatch):
    monkeypatch.chdir(ROOT)


def test_the_plug_in_credit_rule_writes_the_built_in_rules_bytes(at_root, tmp_path, capsys):
    """The default span: there the best baseline (episodes.csv's `best` columns) is the regime strategy in
    both runs; over a span where the built-in credit rule is the best, the user's run names it (it is
    one of the user's baselines) and the other run cannot."""
    assert main(["-q", "run", "--strategy", REF, "--out", str(tmp_path / "user")]) == 0
    write_run(run(resolve({"run.strategy": "credit_rule"})), tmp_path / "built_in")
    for name in SAME_FILES:
        assert (tmp_path / "user" / name).read_bytes() == (tmp_path / "built_in" / name).read_bytes(), name
    table = pd.read_csv(tmp_path / "user" / "baselines.csv", index_col=0)
    # the user's run also measures itself against the built-in credit rule: the same figures
    numbers = table.select_dtypes("number")
    assert numbers.loc[REF].equals(numbers.loc["credit_rule"])
    config = (tmp_path / "user" / "config.toml").read_text()
    assert f'strategy = "{REF}"' in config and "[user]" in config and "level = 7.0" in config


def test_the_api_takes_the_function_or_its_name_and_hashes_its_source(at_root):
    from examples.user_rules import credit_rule

    by_name = fedcut.backtest(strategy=REF, start=SPAN["run.start"], end=SPAN["run.end"])
    by_object = fedcut.backtest(strategy=credit_rule, start=SPAN["run.start"], end=SPAN["run.end"])
    built_in = fedcut.backtest(strategy="credit_rule", start=SPAN["run.start"], end=SPAN["run.end"])
    pd.testing.assert_frame_equal(by_name.equity, by_object.equity)
    pd.testing.assert_series_equal(by_name.equity["strategy"], built_in.equity["strategy"])
    source = hashlib.sha256((ROOT / "examples" / "user_rules.py").read_bytes()).hexdigest()[:12]
    assert by_name.metrics["run"]["user_code"] == {REF: source}
    assert by_name.config.digest() != built_in.config.digest()


def test_a_user_baseline_joins_the_table_and_the_verdict(at_root):
    result = fedcut.backtest(
        start=SPAN["run.start"], end=SPAN["run.end"], params={"user.baselines": ["examples.user_rules:sell_in_may"]}
    )
    name = "examples.user_rules:sell_in_may"
    assert name in result.metrics["baselines"]
    assert name in result.metrics["verdict"]["against"]
    # recomputed: IWM from November to April, cash otherwise, so no IWM held on any July day
    plan = strategy_plan(name, result.run.prepared, result.config, result.run.signals)[1]
    days = result.run.prepared.market.days
    assert (plan[days.month == 7, 0] == 0).all() and (plan[days.month == 1, 0] == 1).all()


RULES = {
    "raises": ("raise KeyError('HY')", "raised KeyError"),
    "levered": ("w = pd.DataFrame({'w_IWM': 1.0, 'w_VO': 0.2}, index=inputs.days)", "add to 1.2"),
    "negative": ("w = pd.DataFrame({'w_IWM': -0.5}, index=inputs.days)", "must be numbers >= 0"),
    "nan": ("w = pd.DataFrame({'w_IWM': np.nan}, index=inputs.days)", "must be numbers >= 0"),
    "mean": (
        "c = inputs.close['IWM']\n    w = pd.DataFrame({'w_IWM': (c > c.mean()) * 1.0}, index=inputs.days)",
        "looks ahead",
    ),
    "tomorrow": (
        "c = inputs.close['IWM']\n    w = pd.DataFrame({'w_IWM': (c.shift(-1) > c) * 1.0}, index=inputs.days)",
        "looks ahead",
    ),
    "late_macro": (
        "u = inputs.raw['UNRATE'].reindex(inputs.days, method='ffill')\n"
        "    w = pd.DataFrame({'w_IWM': (u < 6) * 1.0}, index=inputs.days)",
        "looks ahead",
    ),
    "not_a_frame": ("w = [1.0]", "not a DataFrame"),
}


def _module(folder: Path, name: str, body: str) -> str:
    (folder / f"{name}.py").write_text(
        f"import numpy as np\nimport pandas as pd\n\n\ndef decide(inputs, params):\n    {body}\n    return w\n"
    )
    return f"{name}:decide"


@pytest.mark.parametrize("kind", sorted(RULES))
def test_a_bad_rule_is_refused_with_one_line_naming_it(kind, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    ref = _module(tmp_path, f"rule_{kind}", RULES[kind][0])
    assert main(["run", "--strategy", ref, "--start", SPAN["run.start"], "--end", SPAN["run.end"], "--out", "out"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"error: user rule {ref}") and RULES[kind][1] in err[0], err
    assert not (tmp_path / "out").exists()


def test_the_jobs_report_read_at_its_release_is_accepted(tmp_path, monkeypatch):
    """The same rule as `late_macro`, reading UNRATE through `inputs.known` (its publication lag): no look-ahead."""
    monkeypatch.chdir(tmp_path)
    ref = _module(
        tmp_path,
        "rule_on_time",
        "u = inputs.known({'UNRATE': inputs.raw['UNRATE']})['UNRATE']\n"
        "    w = pd.DataFrame({'w_IWM': (u < 6) * 1.0}, index=inputs.days)",
    )
    cfg = resolve({**SPAN, "run.strategy": ref})
    prepared = prepare(cfg, None, True)
    weights = strategy_plan(ref, prepared, cfg, signals(prepared, cfg))[1]
    assert weights[:, 0].min() == 0 and weights[:, 0].max() == 1  # both decisions taken over 2006-2012


def test_an_edited_rule_gets_a_new_hash_and_runs_its_new_code(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    ref = _module(tmp_path, "rule_edited", "w = pd.DataFrame({'w_IWM': 0.5}, index=inputs.days)")
    cfg = resolve({**SPAN, "run.strategy": ref})
    prepared = prepare(cfg, None, True)
    sig = signals(prepared, cfg)
    before = cfg.digest(), strategy_plan(ref, prepared, cfg, sig)[1]
    _module(tmp_path, "rule_edited", "w = pd.DataFrame({'w_IWM': 0.25}, index=inputs.days)")
    importlib.invalidate_caches()
    after = cfg.digest(), strategy_plan(ref, prepared, cfg, sig)[1]
    assert before[0] != after[0]
    assert before[1][:, 0].max() == 0.5 and after[1][:, 0].max() == 0.25


def test_a_rules_own_parameters_are_checked_and_change_its_decisions(at_root):
    with pytest.raises(ConfigError, match=r"user.level = 30.0 is above its maximum 25.0"):
        resolve({"run.strategy": REF, "user.level": 30.0})
    with pytest.raises(ConfigError, match=r"unknown key 'user.nope'"):
        resolve({"run.strategy": REF, "user.nope": 1})
    with pytest.raises(ConfigError, match=r"unknown key 'user.level'"):
        resolve({"user.level": 6.0})  # no user rule named: nothing declares it
    cfg = resolve({**SPAN, "run.strategy": REF})
    prepared = prepare(cfg, None, True)
    sig = signals(prepared, cfg)
    default = strategy_plan(REF, prepared, cfg, sig)[1][:, 0]
    lower = strategy_plan(REF, prepared, cfg.with_overrides({"user.level": 5.0}), sig)[1][:, 0]
    # recomputed: days the HY OAS known that day stands between 5% and 7% are out only with the lower level
    hy = pd.Series(prepared.raw["BAMLH0A0HYM2"]).dropna()
    known = hy.reindex(prepared.market.days, method="ffill").shift(1)  # FRED's daily series: the next day
    between = ((known > 5.0) & (known <= 7.0)).to_numpy()
    assert (lower <= default).all() and (default[between] - lower[between]).sum() > 0


def test_a_sweep_of_the_rules_parameters_imports_it_in_its_workers(at_root, tmp_path):
    spec_file = tmp_path / "spec.toml"
    spec_file.write_text(
        textwrap.dedent(f"""\
        [sweep]
        name = "user"
        objective = "sharpe"
        [base]
        "run.strategy" = "{REF}"
        "run.start" = "{SPAN["run.start"]}"
        "run.end" = "{SPAN["run.end"]}"
        [grid]
        "user.level" = [6.0, 7.0]
        [validation]
        train_end = "2009-12-31"
        """)
    )
    out = run_sweep(load_spec(spec_file), tmp_path / "sweep", workers=2, progress=False, force_workers=True)
    summary = pd.read_csv(out / "summary.csv")
    assert (summary["status"] == "ok").all(), summary["error"].tolist()
    one = summary.set_index("user.level").loc[7.0]
    single = fedcut.backtest(strategy=REF, start=SPAN["run.start"], end=SPAN["run.end"])
    assert one["full_cagr"] == pytest.approx(single.metrics["strategy"]["cagr"], abs=1e-6)
