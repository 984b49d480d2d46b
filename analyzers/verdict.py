"""What the strategy is up against, and how sure the difference is.

`baseline_figures` summarises any equity curve the way `baselines.csv` and `metrics.json`
report every baseline; `verdict` compares the strategy's daily returns with each baseline's in
a paired block bootstrap (`analyzers.bootstrap`); `foresight` puts the oracle run beside the
real-time one. All are pure functions of equity curves.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from fedcut.analyzers import performance
from fedcut.analyzers.bootstrap import paired_bootstrap, verdict_sentence
from fedcut.analyzers.cycle_verdict import min_track_record, track_record_words
from fedcut.analyzers.episodes import Window

HEADLINE = ("cagr", "total_return", "volatility", "sharpe", "sortino", "max_drawdown", "calmar")


def cycle_figures(equity: pd.Series, windows: list[Window]) -> dict[str, dict]:
    """Max drawdown and return of `equity` inside each easing cycle's window."""
    out = {}
    for w in windows:
        inside = equity[w.start : w.end]
        if len(inside) < 2:
            continue
        out[w.cycle] = {
            "max_drawdown": performance.max_drawdown(inside).depth,
            "return": float(inside.iloc[-1] / inside.iloc[0] - 1.0),
        }
    return out


def baseline_figures(equity: pd.Series, iwm_held: pd.Series, rf: pd.Series, windows: list[Window]) -> dict:
    """CAGR, volatility, Sharpe, Sortino, max drawdown, Calmar, time in IWM and each cycle's
    drawdown and return of one curve (JSON-able)."""
    summary = performance.summary(equity, rf)
    out = {k: summary[k] for k in HEADLINE}
    out["time_in_iwm"] = float(np.asarray(iwm_held, dtype=bool).mean())
    out["cycles"] = cycle_figures(equity, windows)
    return out


def baselines_frame(
    strategy_name: str, strategy: dict, baselines: dict[str, dict], labels: dict[str, str]
) -> pd.DataFrame:
    """`baselines.csv`: the run's own strategy first, then one row per baseline."""
    rows = []
    for name, figures, role in [(strategy_name, strategy, "strategy")] + [
        (n, f, "baseline") for n, f in baselines.items()
    ]:
        row = {"name": name, "label": labels.get(name, name), "role": role}
        row.update({k: figures[k] for k in (*HEADLINE, "time_in_iwm")})
        for cycle, c in figures["cycles"].items():
            row[f"cycle_{cycle}_max_drawdown"] = c["max_drawdown"]
            row[f"cycle_{cycle}_return"] = c["return"]
        rows.append(row)
    return pd.DataFrame(rows)


def verdict(
    strategy: pd.Series,
    baselines: dict[str, pd.Series],
    cash_rate: pd.Series,
    n_cycles: int,
    labels: dict[str, str],
    params,
) -> dict:
    """The strategy against each baseline: Sharpe and CAGR differences with 95% intervals from a
    paired stationary block bootstrap of daily returns, `p_better`, the minimum track record length
    at which the Sharpe difference would be distinguishable (`cycle_verdict.min_track_record`), and
    one sentence each.

    `params` is the `verdict` config section (mean block, resamples, seed). `n_easing_cycles` says
    how many easing cycles the evidence rests on.
    """
    days = strategy.index
    if len(days) <= params.mean_block_days:  # shorter than one bootstrap block: nothing to resample
        sentence = f"cannot be compared: {len(days)} days are too few for a bootstrap of daily returns"
        return {
            "n_easing_cycles": n_cycles,
            "mean_block_days": params.mean_block_days,
            "resamples": params.resamples,
            "seed": params.seed,
            "against": {
                name: {
                    "sharpe_diff": None,
                    "sharpe_diff_ci": None,
                    "p_better": None,
                    "cagr_diff": None,
                    "cagr_diff_ci": None,
                    "sentence": sentence,
                    "min_track_record": min_track_record(None, None, 0.0, n_cycles),
                }
                for name in baselines
            },
        }
    returns = strategy.pct_change().iloc[1:].to_numpy()
    others = {name: curve.reindex(days).pct_change().iloc[1:].to_numpy() for name, curve in baselines.items()}
    rf = performance.daily_risk_free(cash_rate, days).to_numpy()
    span = float((days[-1] - days[0]).days)
    against = paired_bootstrap(
        returns, others, rf, span, mean_block=params.mean_block_days, n_resamples=params.resamples, seed=params.seed
    )
    for name, entry in against.items():
        entry["min_track_record"] = min_track_record(
            entry["sharpe_diff"], entry["sharpe_diff_se"], span / performance.DAYS_PER_YEAR, n_cycles
        )
        entry["sentence"] = (
            f"{verdict_sentence(labels.get(name, name), entry)}; {track_record_words(entry['min_track_record'])}"
        )
    return {
        "n_easing_cycles": n_cycles,
        "mean_block_days": params.mean_block_days,
        "resamples": params.resamples,
        "seed": params.seed,
        "against": against,
    }


def foresight(real_time: pd.Series, oracle: pd.Series, rf: pd.Series, windows: list[Window]) -> dict:
    """What knowing the cut calendar 90 days ahead adds: the oracle run beside the real-time one."""
    out = {}
    for name, curve in (("real_time", real_time), ("oracle", oracle)):
        s = performance.summary(curve, rf)
        out[name] = {
            "cagr": s["cagr"],
            "sharpe": s["sharpe"],
            "max_drawdown": s["max_drawdown"],
            "cycles": cycle_figures(curve, windows),
        }
    a, b = out["oracle"]["cagr"], out["real_time"]["cagr"]
    out["cagr_gain"] = None if a is None or b is None else a - b
    return out
