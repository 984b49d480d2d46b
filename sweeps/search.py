"""A Bayesian search over a sweep spec: optuna's TPE sampler asks for configurations from the spec's
[grid] and [random] tables instead of every point being run.

The search asks for its trials in fixed-size batches (`[search] batch`, not the number of workers),
runs each batch through the sweep's own workers, pool and store (so resume, the audit and the tables
work as for any sweep) and tells the sampler each trial's in-sample objective in trial order. The
sampler is seeded, so the same spec asks for the same trials whatever the workers: byte for byte the
same store. A trial is a distinct configuration: one the sampler asks for again is told its stored
value and not counted again, so `trials` configurations are stored and the Deflated Sharpe Ratio and
the Probability of Backtest Overfitting count every one of them (searching harder raises the bar
the chosen configuration must clear). A resumed search asks again from the start and takes what the
store holds instead of running it.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from fedcut.core.errors import ConfigError
from fedcut.core.params import Param, is_whole_number, params_for, resolve
from fedcut.sweeps.points import Point, Trials, point_at, rule_values
from fedcut.sweeps.report import samples
from fedcut.sweeps.selection import objective
from fedcut.sweeps.spec import Spec, Validation

METHODS = {"bayesian": "optuna's Tree-structured Parzen Estimator (TPESampler), seeded"}
SEARCH_KEYS = {"method", "trials", "batch", "seed"}
BATCH = 32  # trials asked for at once: enough to keep several workers busy, few enough to learn between batches
MAX_BATCH = 1024  # more at once and the sampler learns nothing between batches: a random sweep
MAX_ASKS_PER_TRIAL = 20  # the search stops when the sampler keeps asking for configurations it has (or rules exclude)
SEED_LIMIT = 2**32  # optuna seeds numpy's generator, which takes seeds below this

log = logging.getLogger(__name__)

# optuna's TPE sampler looks at every trial told before it asks for the next (about 4 s of CPU for 500
# here, growing faster than the trials): past this many, random draws cover a space better for the cost.
MAX_TRIALS = 10_000


@dataclass(frozen=True)
class Search:
    """A spec's [search] table, checked."""

    method: str
    trials: int  # distinct configurations to run (a repeat the sampler asks for is not one more)
    batch: int  # trials asked for before any of them is told: the unit of parallel work
    seed: int  # the sampler's

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)

    def identity(self, spec: Spec) -> dict:
        """What identifies the configurations this search will run (the spec's digest), before it runs:
        the search, the space, the rules, the base and the sampler's version (another may ask otherwise)."""
        import optuna

        return {
            "search": self.as_dict(),
            "sampler": f"optuna {optuna.__version__}",
            "base": resolve(spec.base, where=f"{spec.path}: [base]").digest(),
            "grid": {k: list(v) for k, v in spec.grid.items()},
            "random": {
                k: {n: list(v) if isinstance(v, tuple) else v for n, v in d.items()} for k, d in spec.random.items()
            },
            "rules": list(spec.rules),
        }


def search_settings(
    table: dict,
    path: str,
    head: dict,
    grid: dict[str, tuple],
    random: dict[str, dict],
    registry: dict[str, Param],
    validation: Validation,
) -> Search:
    """The [search] table of the spec at `path`, checked against its [sweep] table (`head`), its space and its
    validation; one line naming the file and the key for each mistake."""
    where = f"{path}: [search]"
    for key in table:
        if key not in SEARCH_KEYS:
            raise ConfigError(f"{where}: unknown key {key!r} (expected one of {', '.join(sorted(SEARCH_KEYS))})")
    method = table.get("method", "bayesian")
    if method not in METHODS:
        raise ConfigError(f"{where}: method must be one of {', '.join(METHODS)}, got {method!r}")
    if "trials" not in table:
        raise ConfigError(f"{where}: trials is missing: how many configurations to run (2 to {MAX_TRIALS:,})")
    trials = _whole(table["trials"], "trials", 2, MAX_TRIALS, where)
    batch = _whole(table.get("batch", BATCH), "batch", 1, MAX_BATCH, where)
    seed = _whole(table.get("seed", head.get("seed", 0)), "seed", 0, SEED_LIMIT - 1, where)
    if "samples" in head:
        raise ConfigError(
            f"{path}: [sweep] samples draws random points per grid point; a [search] asks for trials instead: remove it"
        )
    _check_validation(validation, path)
    size = space_size(grid, random, registry)
    if trials > size:
        raise ConfigError(
            f"{where}: trials = {trials:,} is more than the {size:,} configurations [grid] and [random] hold; "
            "sweep them all instead (without [search])"
        )
    try:
        import optuna  # noqa: F401
    except ImportError:
        raise ConfigError(
            f'{where}: method = "{method}" needs optuna, which is not installed: pip install -e ".[search]"'
        ) from None
    return Search(method, trials, batch, seed)


def _check_validation(validation: Validation, path: str) -> None:
    """Refuse the tests a search would judge on the data that chose its configurations. The search is told the
    objective over the whole span it ranks on (start..train_end), so a walk-forward test window, a test cycle
    or a held-out cycle inside that span would judge configurations the search picked with it in view; the
    out-of-sample span after train_end stays clean."""
    used = [
        key
        for key, on in (
            ("walk_forward", validation.walk_forward is not None),
            ("select_cycles/test_cycles", bool(validation.select_cycles)),
            ("leave_one_cycle_out", validation.leave_one_cycle_out),
        )
        if on
    ]
    if used:
        raise ConfigError(
            f"{path}: [validation] {used[0]} cannot go with a [search]: the search chooses its configurations on "
            "the span it ranks on, so tests inside that span would judge them on the data that chose them; judge "
            "it out of sample with train_end, or sweep [grid] and [random] without [search]"
        )


def _whole(value: Any, key: str, low: int, high: int, where: str) -> int:
    if not is_whole_number(value) or not low <= value <= high:
        raise ConfigError(f"{where}: {key} must be a whole number from {low:,} to {high:,}, got {value!r}")
    return int(value)


def space_size(grid: dict[str, tuple], random: dict[str, dict], registry: dict[str, Param]) -> float:
    """How many configurations the tables hold (infinite with a continuous parameter)."""
    size = math.prod(len(v) for v in grid.values())
    for key, dist in random.items():
        if "choices" in dist:
            size *= len(dist["choices"])
        elif _whole_param(registry[key]):
            size *= dist["high"] - dist["low"] + 1
        else:
            return math.inf
    return size


def _whole_param(p: Param) -> bool:
    return is_whole_number(p.default)


class Searcher:
    """One run of a search: asks the sampler, yields the blocks of outcomes the sweep stores, tells it back.

    `stored` are the store's rows (a resumed search takes their results instead of running them again);
    `points` and `by_position` grow as the search makes its trials."""

    def __init__(self, spec: Spec, stored: list[dict]):
        self.spec, self.registry = spec, params_for(spec.base, f"{spec.path}: [base]")
        self.results = {r["config_hash"]: r["result"] for r in stored}  # None where the configuration failed
        self.points: list[Point] = []
        self.by_position: dict[int, Point] = {}
        self.excluded = self.repeats = 0

    def outcomes(
        self, execute: Callable[[list[Point]], Iterator[tuple[list[Point], list[dict]]]]
    ) -> Iterator[tuple[list[Point], list[dict]]]:
        """Run the search: each batch's new configurations through `execute` (the sweep's workers), each
        finished block yielded to be stored, then every trial of the batch told in trial order."""
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)  # no line per trial
        search = self.spec.search
        study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=search.seed))
        fixed, seen, asked = rule_values(self.spec), set(), 0
        while len(self.points) < search.trials:
            if asked >= MAX_ASKS_PER_TRIAL * search.trials:
                log.warning(
                    "search: stopped after %d trials asked for; %d distinct configurations ran of the %d asked for "
                    "(the sampler repeats itself or the [constraints] rules exclude what it asks)",
                    asked,
                    len(self.points),
                    search.trials,
                )
                break
            batch = [study.ask() for _ in range(min(search.batch, search.trials - len(self.points)))]
            asked += len(batch)
            told, todo = [], []
            for trial in batch:
                point = point_at(self.spec, len(self.points), self._swept(trial), fixed)
                if point is None:
                    self.excluded += 1
                elif point.config_hash in seen:
                    self.repeats += 1
                else:
                    seen.add(point.config_hash)
                    self.points.append(point)
                    self.by_position[point.position] = point
                    if point.config_hash not in self.results:
                        todo.append(point)
                told.append((trial, None if point is None else point.config_hash))
            for block, done in execute(todo) if todo else ():
                for outcome in done:
                    self.results[self.by_position[outcome["position"]].config_hash] = outcome["result"]
                yield block, done
            for trial, config_hash in told:
                value = self._value(config_hash)
                if value is None:
                    study.tell(trial, state=optuna.trial.TrialState.FAIL)
                else:
                    study.tell(trial, value)

    def searched(self) -> Spec:
        """The spec with the search's trials as its points (after `outcomes` has run)."""
        return dataclasses.replace(
            self.spec, points=Trials(self.points), excluded=self.excluded, duplicates=self.repeats
        )

    def _swept(self, trial) -> dict[str, Any]:
        """The trial's values, [grid] then [random] in the spec's order: a list of values is asked for by its
        index (a category), a range by its bounds, a number rounded as random draws are."""
        swept = {}
        for key, values in self.spec.grid.items():
            swept[key] = values[trial.suggest_categorical(key, list(range(len(values))))]
        for key, dist in self.spec.random.items():
            if "choices" in dist:
                swept[key] = dist["choices"][trial.suggest_categorical(key, list(range(len(dist["choices"]))))]
            elif _whole_param(self.registry[key]):
                swept[key] = trial.suggest_int(key, dist["low"], dist["high"])
            else:  # 6 decimals, as the random kind's draws: a value that reads and hashes the same everywhere
                swept[key] = round(trial.suggest_float(key, dist["low"], dist["high"]), 6)
        return swept

    def _value(self, config_hash: str | None) -> float | None:
        """The in-sample objective the sweep ranks on (None: excluded, failed or undefined)."""
        result = None if config_hash is None else self.results.get(config_hash)
        if result is None:
            return None
        value = objective(result["segments"].get(samples(self.spec)[0]), self.spec.objective)
        return value if math.isfinite(value) else None


def search_record(spec: Spec, overfit: dict) -> dict:
    """overfitting.json's `search`: how the configurations were found, and that the statistics count them all."""
    import optuna

    search = spec.search
    return {
        **search.as_dict(),
        "sampler": f"optuna {optuna.__version__} TPESampler",
        "target_trials": search.trials,
        "trials": len(spec.points),
        "asked": len(spec.points) + spec.excluded + spec.duplicates,
        "repeats": spec.duplicates,
        "excluded": spec.excluded,
        "deflated_sharpe_trials": overfit["deflated_sharpe"]["n_trials"],
        "pbo_trials": overfit["n_trials"],
    }
