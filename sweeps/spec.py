"""Sweep specifications: which parameters to vary, how to judge them, and how to validate.

A spec is a TOML file (see examples/sweep.toml):

    [sweep]       name, objective, max_cagr_shortfall, seed, samples, config, top
    [base]        fixed parameter values for every configuration
    [grid]        parameter = [values ...]           every combination
    [random]      parameter = {low = a, high = b}    seeded uniform draws (whole numbers for
                  parameter = {choices = [...]}      whole-number parameters), `samples` per
                                                     grid point
    [constraints] rules = ["hedge.roll_days < hedge.tenor_days - 30", ...]
    [validation]  train_end, walk_forward = {train_years, test_years, min_test_years},
                  select_cycles = [...], test_cycles = [...]
    [search]      method = "bayesian", trials, batch, seed: a search over [grid] and [random]
                  instead of every point (`sweeps.search`)

Everything is checked against the parameter registry before anything runs: a mistake is one
`ConfigError` naming the file, the table and the key.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fedcut.core.config import load_toml, read_toml
from fedcut.core.errors import ConfigError
from fedcut.core.params import PARAMS, Param, iso_date, resolve
from fedcut.sweeps.points import Points, digest, holds, registry_for
from fedcut.sweeps.points import expand as expand_points

# what each objective is; {benchmarks}: the sweep's buy-and-hold benchmark's (`selection.yardstick`)
OBJECTIVES = {
    "calmar": "CAGR / |max drawdown| (higher is better)",
    "sharpe": "Sharpe ratio over T-bills",
    "cagr": "compound annual growth",
    "max_drawdown": "max drawdown (closer to 0 is better)",
    "worst_cycle_drawdown": "the deepest drawdown of the easing-cycle windows in the sample",
    "excess_cagr": "CAGR minus {benchmarks} CAGR",
    "drawdown_gain": "max drawdown minus {benchmarks} (positive = shallower)",
}
SWEEP_KEYS = {"name", "objective", "max_cagr_shortfall", "seed", "samples", "config", "top"}
VALIDATION_KEYS = {
    "train_end",
    "walk_forward",
    "select_cycles",
    "test_cycles",
    "leave_one_cycle_out",
    "pbo_blocks",
    "audit_share",
}
PBO_BLOCKS = 16  # CSCV time blocks: C(16, 8) = 12,870 in/out-of-sample splits of 1.6 years each (Bailey et al. 2015)
AUDIT_SHARE = 0.01  # of the configurations, re-run in backtrader after the sweep (seeded)
WALK_FORWARD_KEYS = {"train_years", "test_years", "min_test_years"}
TABLES = {"sweep", "base", "grid", "random", "constraints", "validation", "search"}
_PARAM_KEYS = {p.key for p in PARAMS}
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")  # a sweep name is part of a folder name
# The parent's peak grows by about 3 kB a configuration (its hash, the tables' columns, the outputs):
# 0.6 GB at 100,000; a million is hours of work on two cores and belongs on a cluster (docs/speed.md)
MAX_CONFIGURATIONS = 1_000_000


@dataclass(frozen=True)
class WalkForward:
    train_years: float  # in-sample window length
    test_years: float  # the out-of-sample window that follows; windows step by this much
    min_test_years: float  # a last, shorter test window is kept if at least this long


@dataclass(frozen=True)
class Validation:
    """How in-sample and out-of-sample are cut: by date, by rolling windows, by easing cycle."""

    train_end: str = ""  # last in-sample day; empty = no date split (all in-sample)
    walk_forward: WalkForward | None = None
    select_cycles: tuple[str, ...] = ()  # easing cycles (year of first cut) to select on
    test_cycles: tuple[str, ...] = ()  # and to test on
    leave_one_cycle_out: bool = False  # choose on every cycle but one, judge on that one, for each cycle
    pbo_blocks: int = PBO_BLOCKS  # time blocks of the Probability of Backtest Overfitting
    audit_share: float = AUDIT_SHARE  # share of configurations re-run in backtrader after the sweep

    def as_dict(self) -> dict:
        wf = self.walk_forward
        return {
            "train_end": self.train_end,
            "walk_forward": None if wf is None else [wf.train_years, wf.test_years, wf.min_test_years],
            "select_cycles": list(self.select_cycles),
            "test_cycles": list(self.test_cycles),
            "leave_one_cycle_out": self.leave_one_cycle_out,
            "pbo_blocks": self.pbo_blocks,
            "audit_share": self.audit_share,
        }


@dataclass(frozen=True)
class Spec:
    path: str
    name: str
    objective: str
    max_cagr_shortfall: float | None  # CAGR may trail buy-and-hold by at most this (fraction/year)
    seed: int
    samples: int
    base: dict[str, Any]
    grid: dict[str, tuple]
    random: dict[str, dict]
    rules: tuple[str, ...]
    validation: Validation
    top: int
    points: Points = field(repr=False, default=None)  # type: ignore[assignment]  # set by `expand`
    excluded: int = 0  # combinations dropped by the constraint rules
    duplicates: int = 0  # random draws that repeated an earlier configuration
    search: Any = None  # `sweeps.search.Search`: the points are the search's trials, made as it runs

    @property
    def swept(self) -> tuple[str, ...]:
        return tuple(self.grid) + tuple(self.random)

    def digest(self) -> str:
        """Identifies what the sweep computes: its configurations, objective and validation
        (`sweeps.points.digest`: the hash of every configuration's hash, fed block by block; a search's
        trials are not known before it runs, so its settings stand in for them)."""
        return digest(self) if self.search is None else digest(self, self.search.identity(self))


def load_spec(path: Path | str, train_end: str | None = None, top: int | None = None) -> Spec:
    """Read, check and expand a spec file; `train_end` and `top` override its values."""
    path = Path(path)
    doc = load_toml(path, "sweep spec")
    where = str(path)
    _only(doc, TABLES, where, "table")
    head = _table(doc, "sweep", where)
    _only(head, SWEEP_KEYS, f"{where}: [sweep]", "key")
    base: dict[str, Any] = {}
    if "config" in head:
        config_file = (path.parent / _text(head["config"], f"{where}: [sweep] config")).resolve()
        base.update(read_toml(config_file))
    fixed = _params(_table(doc, "base", where), f"{where}: [base]")
    base.update(fixed)
    registry = registry_for(base, where)
    grid = {
        k: _values(k, v, f"{where}: [grid]", registry)
        for k, v in _params(_table(doc, "grid", where), f"{where}: [grid]").items()
    }
    random = {
        k: _distribution(k, v, f"{where}: [random]", registry)
        for k, v in _params(_table(doc, "random", where), f"{where}: [random]", leaf=_is_distribution).items()
    }
    for key in grid.keys() & random.keys():
        raise ConfigError(f"{where}: {key} is in both [grid] and [random]")
    for key in grid.keys() | random.keys():
        if key.startswith("run.") and key != "run.strategy":
            raise ConfigError(f"{where}: {key} sets the history, not the strategy: put it in [base]")
        if key in fixed:
            raise ConfigError(f"{where}: {key} is both fixed in [base] and swept")
    if not grid and not random:
        raise ConfigError(f"{where}: nothing to sweep: [grid] and [random] are empty")
    samples = head.get("samples", 0)
    if isinstance(samples, bool) or not isinstance(samples, int) or samples < 0:
        raise ConfigError(f"{where}: [sweep] samples must be a whole number >= 0, got {samples!r}")
    if random and samples < 1 and "search" not in doc:
        raise ConfigError(f"{where}: [random] needs [sweep] samples >= 1 (draws per grid point)")
    objective = head.get("objective", "calmar")
    if objective not in OBJECTIVES:
        raise ConfigError(f"{where}: [sweep] objective must be one of {', '.join(OBJECTIVES)}; got {objective!r}")
    shortfall = head.get("max_cagr_shortfall")
    if shortfall is not None and (
        isinstance(shortfall, bool) or not isinstance(shortfall, (int, float)) or not 0 <= shortfall <= 1
    ):
        raise ConfigError(f"{where}: [sweep] max_cagr_shortfall must be a fraction/year in [0, 1], got {shortfall!r}")
    seed = head.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ConfigError(f"{where}: [sweep] seed must be a whole number >= 0, got {seed!r}")
    top = head.get("top", 0) if top is None else top
    if isinstance(top, bool) or not isinstance(top, int) or top < 0:
        raise ConfigError(f"{where}: [sweep] top must be a whole number >= 0, got {top!r}")
    rules = _rules(
        _table(doc, "constraints", where), f"{where}: [constraints]", {key: p.default for key, p in registry.items()}
    )
    validation = _validation(_table(doc, "validation", where), f"{where}: [validation]", train_end)
    try:
        resolve(base, where=f"{where}: [base]")
    except ConfigError as exc:
        raise ConfigError(str(exc)) from None
    search = None
    if "search" in doc:
        from fedcut.sweeps.search import search_settings  # built on this module

        search = search_settings(_table(doc, "search", where), where, head, grid, random, registry, validation)
    else:
        _check_size(grid, samples if random else 1, where)
    spec = Spec(
        str(path),
        _name(head, path, where),
        objective,
        None if shortfall is None else float(shortfall),
        seed,
        samples,
        base,
        grid,
        random,
        rules,
        validation,
        top,
        search=search,
    )
    return expand(spec) if search is None else spec  # a search makes its points as it runs


def expand(spec: Spec) -> Spec:
    """The spec with its configurations (`sweeps.points.Points`, generated when read), in a fixed order:
    grid points (first key slowest), `samples` seeded random draws per grid point; rule-breaking
    points dropped, repeats dropped."""
    points, excluded, duplicates = expand_points(spec)
    return dataclasses.replace(spec, points=points, excluded=excluded, duplicates=duplicates)


# --- checking the tables -------------------------------------------------------------------------


def _only(table: dict, allowed: set[str], where: str, what: str) -> None:
    for key in table:
        if key not in allowed:
            raise ConfigError(f"{where}: unknown {what} {key!r} (expected one of {', '.join(sorted(allowed))})")


def _table(doc: dict, name: str, where: str) -> dict:
    body = doc.get(name, {})
    if not isinstance(body, dict):
        raise ConfigError(f"{where}: {name} must be a [{name}] table")
    return body


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{where}: must be non-empty text, got {value!r}")
    return value


def _name(head: dict, path: Path, where: str) -> str:
    """The sweep's name, which becomes part of a folder name: a slug, never a path. Without one the
    spec file's name is used, its other characters replaced by '-'."""
    if "name" not in head:
        return re.sub(r"[^A-Za-z0-9._-]+", "-", path.stem).strip("-._")[:64] or "sweep"
    name = head["name"]
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise ConfigError(
            f"{where}: [sweep] name must be 1-64 letters, digits, '.', '_' or '-', starting "
            f"with a letter or digit (it names the sweep's folder), got {name!r}"
        )
    return name


def _check_size(grid: dict[str, tuple], draws: int, where: str) -> None:
    """Refuse, before expanding it, a spec with more configurations than a sweep may have."""
    if draws > MAX_CONFIGURATIONS:
        raise ConfigError(
            f"{where}: [sweep] samples = {draws} is more than the {MAX_CONFIGURATIONS:,} "
            "configurations a sweep may have"
        )
    sizes = [len(values) for values in grid.values()]
    total = math.prod(sizes) * draws
    if total > MAX_CONFIGURATIONS:
        factors = " x ".join([f"{n:,}" for n in sizes] + ([f"{draws:,} samples"] if draws > 1 else []))
        raise ConfigError(
            f"{where}: {factors} = {total:,} configurations, more than the {MAX_CONFIGURATIONS:,} "
            "a sweep may have; split it into several specs or sample it with [random]"
        )


def _is_distribution(value: Any) -> bool:
    return isinstance(value, dict) and bool(value) and set(value) <= {"low", "high", "choices"}


def _params(table: dict, where: str, leaf=lambda v: not isinstance(v, dict)) -> dict[str, Any]:
    """Flatten `hedge.moneyness = ...` (nested tables) or `"hedge.moneyness" = ...` to known keys."""
    out: dict[str, Any] = {}

    def walk(prefix: str, body: dict) -> None:
        for name, value in body.items():
            key = f"{prefix}.{name}" if prefix else name
            known = key in _PARAM_KEYS or key.startswith("user.")  # user code's: checked against its declarations
            if known and (leaf(value) or not isinstance(value, dict)):
                out[key] = value
            elif (
                isinstance(value, dict)
                and not leaf(value)
                and (key == "user" or any(k.startswith(key + ".") for k in _PARAM_KEYS))
            ):
                walk(key, value)
            else:
                raise ConfigError(f"{where}: unknown parameter {key!r}")

    walk("", table)
    return out


def _values(key: str, values: Any, where: str, registry: dict[str, Param]) -> tuple:
    if not isinstance(values, list):
        raise ConfigError(f"{where}: {key} must be a list of values, got {values!r}")
    if not values:
        raise ConfigError(f"{where}: {key} has an empty list of values")
    if key not in registry:
        raise ConfigError(
            f"{where}: unknown parameter {key!r}"
            + (": no user rule named in [base] declares it" if key.startswith("user.") else "")
        )
    checked = tuple(registry[key].check(v, where) for v in values)
    if len(set(map(repr, checked))) < len(checked):
        raise ConfigError(f"{where}: {key} lists a value twice")
    return checked


def _distribution(key: str, dist: Any, where: str, registry: dict[str, Param]) -> dict:
    if key not in registry:
        raise ConfigError(f"{where}: unknown parameter {key!r}")
    p = registry[key]
    if not _is_distribution(dist):
        raise ConfigError(f"{where}: {key} must be {{low = a, high = b}} or {{choices = [...]}}, got {dist!r}")
    if "choices" in dist:
        if set(dist) != {"choices"}:
            raise ConfigError(f"{where}: {key} takes either choices or low/high, not both")
        return {"choices": _values(key, dist["choices"], where, registry)}
    if set(dist) != {"low", "high"}:
        raise ConfigError(f"{where}: {key} needs both low and high")
    if not isinstance(p.default, (int, float)) or isinstance(p.default, bool):
        raise ConfigError(f"{where}: {key} is not numeric: use choices = [...]")
    lo, hi = p.check(dist["low"], where), p.check(dist["high"], where)
    if lo >= hi:
        raise ConfigError(f"{where}: {key} low {lo} must be below high {hi}")
    return {"low": lo, "high": hi}


def _rules(table: dict, where: str, defaults: dict[str, Any]) -> tuple[str, ...]:
    _only(table, {"rules"}, where, "key")
    rules = table.get("rules", [])
    if not isinstance(rules, list) or not all(isinstance(r, str) for r in rules):
        raise ConfigError(f"{where}: rules must be a list of text expressions")
    for rule in rules:
        try:
            ok = holds(rule, defaults)
        except ConfigError as exc:
            raise ConfigError(f"{where}: {exc}") from None
        if not isinstance(ok, bool):
            raise ConfigError(f"{where}: rule {rule!r} is not a comparison")
    return tuple(rules)


def _validation(table: dict, where: str, train_end: str | None) -> Validation:
    _only(table, VALIDATION_KEYS, where, "key")
    end = table.get("train_end", "") if train_end is None else train_end
    if isinstance(end, dt.date):
        end = end.isoformat()
    if end != "":
        iso_date(end, f"{where}: train_end")
    wf = None
    if "walk_forward" in table:
        body = table["walk_forward"]
        if not isinstance(body, dict):
            raise ConfigError(f"{where}: walk_forward must be {{train_years = .., test_years = ..}}")
        _only(body, WALK_FORWARD_KEYS, f"{where} walk_forward", "key")
        years = {}
        for key, default in (("train_years", None), ("test_years", None), ("min_test_years", 1.0)):
            value = body.get(key, default)
            if value is None or isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 50:
                raise ConfigError(f"{where}: walk_forward {key} must be a number of years in (0, 50], got {value!r}")
            if key != "min_test_years" and round(value * 12) < 1:  # windows are cut in whole months
                raise ConfigError(
                    f"{where}: walk_forward {key} = {value!r} is less than half a month; "
                    "windows are whole months, so it would be empty"
                )
            years[key] = float(value)
        wf = WalkForward(**years)
    cycles = {}
    for key in ("select_cycles", "test_cycles"):
        value = table.get(key, [])
        if not isinstance(value, list) or not all(isinstance(c, str) and c.isdigit() and len(c) == 4 for c in value):
            raise ConfigError(f'{where}: {key} must be a list of cycle years as text, e.g. ["2001", "2007"]')
        cycles[key] = tuple(value)
    if bool(cycles["select_cycles"]) != bool(cycles["test_cycles"]):
        raise ConfigError(f"{where}: select_cycles and test_cycles go together")
    if set(cycles["select_cycles"]) & set(cycles["test_cycles"]):
        raise ConfigError(f"{where}: a cycle cannot be both selected on and tested on")
    loco = table.get("leave_one_cycle_out", False)
    if not isinstance(loco, bool):
        raise ConfigError(f"{where}: leave_one_cycle_out must be true or false, got {loco!r}")
    blocks = table.get("pbo_blocks", PBO_BLOCKS)
    if isinstance(blocks, bool) or not isinstance(blocks, int) or blocks < 2 or blocks > 24 or blocks % 2:
        raise ConfigError(f"{where}: pbo_blocks must be an even whole number from 2 to 24, got {blocks!r}")
    share = table.get("audit_share", AUDIT_SHARE)
    if isinstance(share, bool) or not isinstance(share, (int, float)) or not 0 <= share <= 1:
        raise ConfigError(f"{where}: audit_share must be a fraction in [0, 1], got {share!r}")
    return Validation(end, wf, cycles["select_cycles"], cycles["test_cycles"], loco, blocks, float(share))
