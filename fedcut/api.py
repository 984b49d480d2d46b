"""The Python API, for notebooks: `fedcut.backtest(...)` returns a `Result`, `fedcut.sweep(...)` a table.

Overrides are named as on the command line: `start`, `end`, `history`, `oracle` and `strategy` (the
`run.*` parameters, like `--start` ...), and any parameter by its dotted key in `params`
(`params={"hedge.moneyness": 0.85}`, like `--set`). Anything else is refused with one
`ConfigError` line, as an unknown key in a config file is.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from numbers import Real
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from fedcut.analyzers.bootstrap import verdict_word
from fedcut.analyzers.performance import daily_risk_free
from fedcut.core import config as config_file
from fedcut.core.errors import ConfigError, FedcutError
from fedcut.core.files import free_name, replacing
from fedcut.core.params import PARAMS, Config, is_flag, is_whole_number
from fedcut.core.user_code import register as register_user_code
from fedcut.data.benchmark import of_run
from fedcut.execution.engines import ARRAY, engine_named
from fedcut.report import pictures
from fedcut.report.answer import summary_html
from fedcut.run.backtest import RunResult, run
from fedcut.run.folder import run_data, write_run

if TYPE_CHECKING:
    from matplotlib.figure import Figure

RUN_OPTIONS = {p.name: p.key for p in PARAMS if p.section == "run"}  # start, end, history, oracle, strategy
WHERE = "fedcut.backtest"


def backtest(
    config: str | Path | Config | None = None,
    *,
    data_dir: str | Path | None = None,
    offline: bool | None = None,
    params: Mapping[str, Any] | None = None,
    engine: str = ARRAY.name,
    **overrides: Any,
) -> Result:
    """Run one backtest in memory (nothing is written) and return its `Result`.

    `config`: a TOML config file (as `--config`) or a `Config` (e.g. another result's `.config`);
    default: every parameter's default. Over it: `start=`/`end=` ("YYYY-MM-DD"), `history=`
    ("iwm", "extended" or "long"), `oracle=`, `strategy=` (a built-in name, your own rule as
    "package.module:function" or the function itself: docs "Your own rules"; None leaves a value as it is), then
    `params` (dotted keys). `data_dir` and `offline` as `--data-dir` and `--offline` (default:
    FEDCUT_DATA_DIR, FEDCUT_OFFLINE), `engine` as `--engine` (a name of
    `fedcut.execution.engines.ENGINES`; every engine gives the same numbers).
    """
    cfg = resolve_config(config, params, overrides)
    return Result(
        run(cfg, str(data_dir) if data_dir else None, offline_flag(offline, WHERE), engine=engine_named(engine, WHERE))
    )


def offline_flag(offline: Any, where: str) -> bool | None:
    """`offline` as given, if it is True, False or None: a text such as "false" would count as true."""
    if offline is not None and not is_flag(offline):
        raise ConfigError(
            f"{where}: offline must be True, False or None (None: FEDCUT_OFFLINE decides), got {offline!r}"
        )
    return None if offline is None else bool(offline)


def resolve_config(
    config: str | Path | Config | None, params: Mapping[str, Any] | None, overrides: dict[str, Any]
) -> Config:
    """The configuration `backtest` runs: `config`, then the run options, then `params`, all checked."""
    unknown = sorted(set(overrides) - set(RUN_OPTIONS))
    if unknown:
        raise ConfigError(
            f"{WHERE}: unknown option {unknown[0]!r}; use {', '.join(RUN_OPTIONS)}, "
            "or params={'section.name': value} for any parameter"
        )
    if params is not None and not isinstance(params, Mapping):
        raise ConfigError(f"{WHERE}: params must be a dict of 'section.name': value, got {type(params).__name__}")
    if config is None or isinstance(config, (str, Path)):
        base = config_file.load(config)
    elif isinstance(config, Config):
        base = config
    else:
        raise ConfigError(f"{WHERE}: config must be a TOML file path or a Config, got {type(config).__name__}")
    if callable(overrides.get("strategy")):  # your own rule, handed over as the function itself
        overrides = {**overrides, "strategy": register_user_code(overrides["strategy"], WHERE)}
    values = {RUN_OPTIONS[name]: value for name, value in overrides.items() if value is not None}
    values.update(params or {})
    return base.with_overrides(values, where=WHERE) if values else base


@dataclass(frozen=True, repr=False)
class Result:
    """One backtest in memory: what its run folder would hold, as frames, a dict and figures.

    Every frame is a fresh copy on each access, so changing it changes nothing here (nor in the
    caches later backtests in this process share).
    """

    run: RunResult

    @property
    def config(self) -> Config:
        """The fully resolved configuration (pass it to `fedcut.backtest` to run it again)."""
        return self.run.config

    @property
    def metrics(self) -> dict:
        """metrics.json as a dict: `strategy`, `benchmark` (the buy-and-hold benchmark), `spy`, `cycles`,
        `hedge`, `run` ... A fresh copy on each access: editing it changes neither this result nor what
        `.save` writes."""
        return copy.deepcopy(self.run.metrics)

    @property
    def equity(self) -> pd.DataFrame:
        """equity.csv: one row per trading day (DatetimeIndex `date`), values in USD, weights as fractions."""
        return self.run.equity.copy()

    @property
    def trades(self) -> pd.DataFrame:
        """trades.csv: one row per ETF fill or option event."""
        return self.run.trades.copy()

    @property
    def signals(self) -> pd.DataFrame:
        """signals.csv: the regime called each day, its reason and every indicator (DatetimeIndex)."""
        return self.run.signals.copy()

    @property
    def episodes(self) -> pd.DataFrame:
        """episodes.csv: one row per easing cycle whose first cut falls in the run."""
        return self.run.episodes.copy()

    @property
    def baselines(self) -> pd.DataFrame | None:
        """The per-baseline table of a run that computes baselines (`metrics["baselines"]`); None otherwise."""
        table = getattr(self.run, "baselines", None)
        return None if table is None else table.copy()

    @property
    def returns(self) -> pd.Series:
        """The strategy's daily simple returns (DatetimeIndex, from the second day), as quantstats and
        empyrical take them. Pass `risk_free` with them: every Sharpe fedcut prints is over the T-bill
        rate, and quantstats' default risk-free rate is zero."""
        value = self.run.equity["strategy"]
        return (value / value.shift(1) - 1.0).iloc[1:].rename("fedcut")

    @property
    def risk_free(self) -> pd.Series:
        """The risk-free return of each day of `returns` (the T-bill rate idle cash earns over that day's
        calendar days): `quantstats.stats.sharpe(result.returns, rf=result.risk_free)` is fedcut's Sharpe."""
        return daily_risk_free(self.run.prepared.broker_inputs["cash_rate"], self.run.equity.index).rename("risk_free")

    @property
    def stats(self) -> pd.Series:
        """The run's key figures in one Series (as backtesting.py's `stats`): strategy, the buy-and-hold
        benchmark (IWM, or small caps where stand-ins hold its place; the keys say IWM) and the verdict
        against it; fractions as fractions, days as whole numbers."""
        return run_stats(self.run.metrics)

    def save(self, path: str | Path, overwrite: bool = False) -> Path:
        """Write the run folder (files, plots, report.html) to `path` and return where it went. A taken
        `path` is left alone and the run goes to the first free `path-2`, `path-3`, ...; with
        `overwrite=True` a run folder fedcut wrote at `path` is replaced (anything else there is refused),
        so re-running a notebook cell never fails and never writes over what fedcut did not make."""
        return write_run(self.run, Path(path), unique=not overwrite, replace=overwrite)

    def _repr_html_(self) -> str:
        """The answer, as Jupyter shows the result: the bottom line and the table against every baseline."""
        return summary_html(run_data(self.run, with_inputs=False))

    def plot_equity(self) -> Figure:
        """Strategy, the buy-and-hold benchmark and SPY (log scale) over the regime bands: plots/equity.png."""
        return self._figure("equity")

    def plot_underwater(self) -> Figure:
        """Each curve's fall from its running high: plots/underwater.png."""
        return self._figure("underwater")

    def plot_rolling(self) -> Figure:
        """Rolling one-year Sharpe, volatility and beta to IWM: plots/rolling.png."""
        return self._figure("rolling")

    def plot_holdings(self) -> Figure:
        """The share of value in each holding, cash and puts, day by day: plots/holdings.png."""
        return self._figure("holdings")

    def plot_cycles(self) -> Figure:
        """Each easing cycle, rebased to 100 at its first cut: plots/cycles.png."""
        return self._figure("cycles")

    def plot_hedge(self) -> Figure:
        """The puts in % of portfolio value and, per year, premium and hedge P&L in bp: plots/hedge.png."""
        return self._figure("hedge")

    def plot_regimes(self) -> Figure:
        """The regime called each day over IWM's total return: plots/regimes.png."""
        return self._figure("regimes")

    def _figure(self, name: str) -> Figure:
        """The report's picture `name`, drawn from what the run folder would hold."""
        return pictures.figure(name, run_data(self.run))

    def __repr__(self) -> str:
        m = self.run.metrics
        run_info = m["run"]
        label = " ORACLE (future information)" if run_info["oracle"] else ""
        return (
            f"<fedcut.Result{label} {run_info['start']}..{run_info['end']} config {run_info['config_hash']}: "
            f"strategy CAGR {m['strategy']['cagr']:.1%}, max drawdown {m['strategy']['max_drawdown']:.1%}; "
            f"{of_run(run_info).label} {m['benchmark']['cagr']:.1%}, {m['benchmark']['max_drawdown']:.1%}>"
        )


def run_stats(m: dict) -> pd.Series:
    """metrics.json's key figures as one Series, labelled for reading (the `Result.stats` view)."""
    s, b, run_info = m["strategy"], m["benchmark"], m["run"]
    against = (m.get("verdict") or {}).get("against", {}).get("buy_and_hold") or {}
    low, high = against.get("sharpe_diff_ci") or (None, None)
    tally = m.get("cycle_verdict") or {}
    rows = {
        "Start": run_info["start"],
        "End": run_info["end"],
        "Strategy": run_info.get("strategy", "fedcut"),
        "Equity Final [$]": s["final_value"],
        "Return [%]": 100 * s["total_return"],
        "CAGR [%]": 100 * s["cagr"],
        "Volatility (Ann.) [%]": 100 * s["volatility"],
        "Sharpe Ratio": s["sharpe"],
        "Sortino Ratio": s["sortino"],
        "Calmar Ratio": s["calmar"],
        "Max. Drawdown [%]": 100 * s["max_drawdown"],
        "Max. Drawdown Peak": s.get("max_drawdown_peak"),
        "Max. Drawdown Trough": s.get("max_drawdown_trough"),
        "Max. Drawdown Duration [days]": s["max_drawdown_days"],
        "Longest Drawdown Duration [days]": s["longest_drawdown_days"],
        "Worst Month [%]": 100 * s["worst_month"],
        "Worst Year [%]": 100 * s["worst_year"],
        "ETF Trades": m.get("etf_trades"),
        "Option Trades": m.get("hedge", {}).get("option_trades"),
        "Buy & Hold IWM Return [%]": 100 * b["total_return"],
        "Buy & Hold IWM CAGR [%]": 100 * b["cagr"],
        "Buy & Hold IWM Sharpe Ratio": b["sharpe"],
        "Buy & Hold IWM Max. Drawdown [%]": 100 * b["max_drawdown"],
        "Sharpe Difference vs IWM": against.get("sharpe_diff"),
        "Sharpe Difference 95% CI Low": low,
        "Sharpe Difference 95% CI High": high,
        "Verdict vs IWM": verdict_word(against) if against else None,
        "Easing Cycles": (m.get("verdict") or {}).get("n_easing_cycles"),
        "Cycles With Shallower Drawdown": (tally.get("shallower_drawdown") or {}).get("k"),
        "Complete Cycles": tally.get("n"),
    }
    return pd.Series(rows, dtype=object, name=run_info.get("strategy", "fedcut"))


def sweep(
    spec_path: str | Path,
    *,
    out: str | Path | None = None,
    workers: int = 1,
    resume: bool = False,
    train_end: str | None = None,
    top: int | None = None,
    executor: str = "local",
    scheduler: str | None = None,
    data_dir: str | Path | None = None,
    offline: bool | None = None,
    progress: bool = True,
    engine: str = ARRAY.name,
    worker_wait: float | None = None,
    overwrite: bool = False,
) -> pd.DataFrame:
    """Run a sweep spec as `fedcut sweep` does and return its ranked summary (summary.csv).

    `out` defaults to results/sweep-<name>-<spec digest> under the current directory. A taken `out`
    is left alone and the sweep goes to the first free `out-2`, `out-3`, ...; with `overwrite=True`
    a sweep folder fedcut wrote there (it holds sweep.sqlite) is replaced once the new sweep is
    complete (anything else there is refused); with `resume=True` the sweep continues in it. The
    other options are the command's (`--workers`, `--resume`, ...); `progress` shows a progress bar
    (a widget in Jupyter). The table's `attrs["folder"]` is where it went, `attrs["overfitting"]`
    holds overfitting.json as a dict (the Deflated Sharpe Ratios against zero and against
    buy-and-hold IWM, the Probability of Backtest Overfitting, where the default ranks and the
    median variant), or None when fewer than two configurations ran.
    """
    from fedcut.sweeps.runner import STORE, default_folder, run_sweep
    from fedcut.sweeps.spec import load_spec

    chosen = engine_named(engine, "fedcut.sweep")  # before the spec is read: the option is this function's
    if not is_whole_number(workers):
        raise ConfigError(f"fedcut.sweep: workers must be a whole number of worker processes, got {workers!r}")
    if worker_wait is not None and (is_flag(worker_wait) or not isinstance(worker_wait, Real)):
        raise ConfigError(f"fedcut.sweep: worker_wait must be a number of seconds, got {worker_wait!r}")
    offline = offline_flag(offline, "fedcut.sweep")
    spec = load_spec(spec_path, train_end=train_end, top=top)
    target = Path(out) if out else default_folder(spec)
    taken = not resume and (target.exists() or target.is_symlink())
    if taken and overwrite and not is_sweep_folder(target, STORE):
        raise FedcutError(f"{target}: not a sweep folder fedcut wrote (no {STORE}); overwrite replaces only those")
    options = dict(
        workers=int(workers),
        resume=resume,
        executor=executor,
        scheduler=scheduler,
        data_dir=str(data_dir) if data_dir else None,
        offline=offline,
        progress=progress,
        engine=chosen,
        **({} if worker_wait is None else {"worker_wait": worker_wait}),
    )
    if taken and overwrite:
        folder = replacing(target, lambda fresh: run_sweep(spec, fresh, **options))
    else:
        folder = run_sweep(spec, free_name(target) if taken else target, **options)
    from fedcut.sweeps.report import read_overfitting

    summary = pd.read_csv(folder / "summary.csv")
    summary.attrs["folder"] = folder
    summary.attrs["overfitting"] = read_overfitting(folder)
    return summary


def is_sweep_folder(folder: Path, store: str) -> bool:
    """Whether `folder` is a real folder (not a link) holding a sweep store: what `overwrite` may replace."""
    return (
        folder.is_dir() and not folder.is_symlink() and (folder / store).is_file() and not (folder / store).is_symlink()
    )
