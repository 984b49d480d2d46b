# %% [markdown]
# # fedcut from Python
#
# Open this file as a notebook (VS Code, or Jupyter with jupytext, read its `# %%` cells) or run
# it as a script from the repository root:
#
#     FEDCUT_DATA_DIR=../shared/data python examples/notebook.py
#
# It writes only under `results/` in the current directory.

# %%
from pathlib import Path

import fedcut

print("fedcut", fedcut.__version__)

# %% [markdown]
# ## One backtest
#
# 2007-2012: the 2007 easing cycle and the 2008 crash, with puts 15% out of the money instead of
# 10%. `start`, `end`, `history` ("iwm", "extended" or "long"), `oracle` and `strategy` are named
# options; every other parameter goes in `params` by its dotted key (`config/default.toml` lists
# them all). Nothing is written yet.

# %%
result = fedcut.backtest(start="2007-01-01", end="2012-12-31", params={"hedge.moneyness": 0.85})
print(result)

strategy, iwm = result.metrics["strategy"], result.metrics["benchmark"]
print(f"strategy CAGR {strategy['cagr']:.4%}, max drawdown {strategy['max_drawdown']:.4%}")
print(f"buy-and-hold IWM CAGR {iwm['cagr']:.4%}, max drawdown {iwm['max_drawdown']:.4%}")

# %% [markdown]
# The frames behind the run folder's CSV files: `equity`, `trades`, `signals`, `episodes`.

# %%
print(result.episodes[["cycle", "first_cut", "strategy_max_drawdown", "benchmark_max_drawdown"]].to_string(index=False))
print(result.signals["regime"].value_counts().to_string())
print(result.trades.groupby("action").size().to_string())

# %% [markdown]
# `result.stats` is the run's key figures in one Series; in a notebook, `result` itself shows the
# answer table (the strategy against every baseline, with the verdict).

# %%
print(result.stats.to_string())

# %% [markdown]
# `result.returns` is the strategy's daily returns, the Series that quantstats and empyrical take,
# and `result.risk_free` the T-bill return of each of those days. Pass both: fedcut's Sharpe is over
# the T-bill rate, quantstats' default rate is zero
# (`quantstats.stats.sharpe(result.returns, rf=result.risk_free)` is fedcut's Sharpe).
# Compounded, the returns give back the final value over the initial one.

# %%
growth = (1 + result.returns).prod()
print(f"{len(result.returns)} daily returns, compounded growth {growth:.6f}")
excess = result.returns - result.risk_free
print(f"Sharpe over T-bills {excess.mean() / excess.std() * 252**0.5:.2f}")

# %% [markdown]
# ## Pictures
#
# Each `plot_*` method returns the report's picture as a matplotlib Figure: a notebook shows it
# (make it the cell's last line); here it is saved.

# %%
Path("results").mkdir(exist_ok=True)
result.plot_cycles().savefig("results/notebook-cycles.png")
result.plot_equity().savefig("results/notebook-equity.png")

# %% [markdown]
# ## What foresight is worth
#
# The same configuration (`result.config`) with the actual cut calendar instead of market pricing.

# %%
oracle = fedcut.backtest(result.config, oracle=True)
print(
    f"ORACLE (future information): strategy CAGR {oracle.metrics['strategy']['cagr']:.4%}, "
    f"max drawdown {oracle.metrics['strategy']['max_drawdown']:.4%}"
)

# %% [markdown]
# ## The run folder
#
# `save` writes what `fedcut run` writes: config.toml, metrics.json, the CSV files, the plots and
# report.html. `overwrite=True` replaces the run folder fedcut wrote there before (and refuses
# anything else); without it a taken name gets the next free one (`-2`, `-3`, ...).

# %%
run_dir = result.save(Path("results") / f"notebook-run-{result.config.digest()}", overwrite=True)
print(f"run folder: {run_dir}")

# %% [markdown]
# ## A sweep
#
# `fedcut.sweep` runs a spec as `fedcut sweep` does and returns the ranked summary table: ranked
# in-sample (2000-2004), judged out of sample (2005-2009), with a progress bar. Run again, it
# replaces the sweep it wrote (`overwrite=True`; `resume=True` would continue one instead).

# %%
summary = fedcut.sweep("examples/notebook_sweep.toml", out=Path("results") / "notebook-sweep", overwrite=True)
print(
    summary[["rank", "hedge.moneyness", "strategy.recession_equity", "objective_is", "objective_oos"]].to_string(
        index=False
    )
)
