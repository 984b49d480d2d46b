"""The two engines as objects: `ARRAY`, the compiled kernel (the default), and `BACKTRADER`, the reference.

Both read a `Tape` (`execution.engine.tape_for`: what execution sees each day) and resolved
configurations, and return the same shapes with the same numbers (tests/test_engine.py). Callers
hold an engine, never its name: `engine_named` turns a user's name into one and is the only
place a name is checked. Each engine imports its machinery when first used (numba's compiler
and backtrader each take over half a second to load), so the command line lists the names
without loading either. The engine says how a run is executed, not what it computes, so it is
an option (`--engine`), not a parameter of the registry.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Protocol

import numpy as np

from fedcut.core.errors import ConfigError, FedcutError

if TYPE_CHECKING:
    from fedcut.execution.engine import Execution, Tape


class Engine(Protocol):
    name: ClassVar[str]  # what the user types (`--engine`) and a sweep's store records
    reference: ClassVar[bool]  # the engine the other is checked against: a sweep in it has nothing to audit

    def execute(
        self, tape: Tape, configs: list, targets: np.ndarray, hedge_ratio: np.ndarray, record: bool = False
    ) -> Execution:
        """Follow each configuration's daily targets (K, days, tickers) and hedge ratios (K, days)."""

    def buy_and_hold(self, tape: Tape, configs: list) -> np.ndarray:
        """Value (K, days) of buying the tape's first ticker at the second day's open and holding it."""


@dataclass(frozen=True)
class ArrayEngine:
    """The written rules compiled (`execution.kernel`): a configuration over 25 years in well under a
    millisecond; what `record` asks for (fills, events, holdings) costs a little more."""

    name: ClassVar[str] = "fast"
    reference: ClassVar[bool] = False

    def execute(self, tape, configs, targets, hedge_ratio, record=False):
        from fedcut.execution.engine import execute, settings_for

        return execute(tape, targets, hedge_ratio, settings_for(configs), record)

    def buy_and_hold(self, tape, configs):
        from fedcut.execution.engine import buy_and_hold, settings_for

        return buy_and_hold(tape, 0, settings_for(configs))


@dataclass(frozen=True)
class BacktraderEngine:
    """backtrader with the hedged broker (`execution.reference`), one configuration at a time and
    seconds each; it records everything whatever `record` says."""

    name: ClassVar[str] = "backtrader"
    reference: ClassVar[bool] = True

    def execute(self, tape, configs, targets, hedge_ratio, record=False):
        from fedcut.execution.engine import Execution
        from fedcut.execution.reference import run_cerebro

        runs = []
        for k, cfg in enumerate(configs):
            rows, fills, broker = run_cerebro(
                tape,
                cfg,
                "fedcut",
                targets=targets[k],
                hedge_ratio=hedge_ratio[k],
                band=cfg.execution.rebalance_band,
                cash_buffer=cfg.execution.cash_buffer,
                hedge=cfg.hedge,
            )
            events = list(broker.option_events)
            runs.append((rows, fills, events, _counts(rows, fills, events, broker, cfg)))  # the broker can go
        column = lambda name: np.stack([rows[name].to_numpy() for rows, *_ in runs])  # noqa: E731
        return Execution(
            column("value"),
            column("cash"),
            column("option_value"),
            column("option_delta"),
            np.stack([rows.iloc[:, 4:].to_numpy() for rows, *_ in runs]),
            [run[1] for run in runs],
            [run[2] for run in runs],
            {name: np.array([run[3][name] for run in runs], dtype=float) for name in runs[0][3]},
        )

    def buy_and_hold(self, tape, configs):
        from fedcut.execution.reference import run_cerebro

        values = []
        for cfg in configs:
            ex = cfg.execution
            rows, fills, _ = run_cerebro(
                tape,
                cfg,
                "buy_and_hold",
                cash_buffer=ex.cash_buffer,
                slippage=ex.slippage_bps / 1e4,
                commission=ex.commission_bps / 1e4,
            )
            refused = [f for f in fills if f["action"] == "rejected"]
            if refused:
                raise FedcutError(
                    f"buy-and-hold {tape.tickers[0]}: the broker refused its order on "
                    f"{refused[0]['date']}; the benchmark would be all cash"
                )
            values.append(rows["value"].to_numpy())
        return np.stack(values)


def _counts(rows, fills: list, events: list, broker, cfg) -> dict:
    """The array engine's counters (`Execution.counts`) of one backtrader run."""
    cash = rows["cash"]
    return {
        "etf_trades": sum(f["action"] != "rejected" for f in fills),
        "rejected_orders": sum(f["action"] == "rejected" for f in fills),
        "option_trades": len(events),
        "premium_paid": -sum(e.cash for e in events if e.cash < 0 and e.action != "expire"),
        "interest_earned": broker.interest_earned,
        "interest_paid": broker.interest_paid,
        "negative_cash_days": (cash < 0).sum(),
        "lowest_cash": min(cash.min(), cfg.execution.initial_cash),
        "near_boundary": 0,
    }  # backtrader rounds contracts with CPython's own `round`


ARRAY, BACKTRADER = ArrayEngine(), BacktraderEngine()
ENGINES: dict[str, Engine] = {engine.name: engine for engine in (ARRAY, BACKTRADER)}


def engine_named(name, where: str) -> Engine:
    """The engine a user named; `where` says where the name came from (`--engine`, `fedcut.backtest`, ...)."""
    try:
        return ENGINES[name]
    except (KeyError, TypeError):
        raise ConfigError(f"{where}: engine must be one of {', '.join(ENGINES)}, got {name!r}") from None
