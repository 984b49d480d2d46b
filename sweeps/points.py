"""A sweep's configurations, generated lazily: never all of them in memory at once.

`expand` walks the spec's candidates once, in their fixed order (grid points first key slowest,
`samples` seeded random draws per grid point), drops those that break a `[constraints]` rule and
repeats of an earlier configuration, and keeps per configuration only its candidate number and its
hash (about 28 bytes), plus the random generator's state at the start of every CANDIDATE_BLOCK
candidates. `Points` then gives any configuration, or a run of them, again from those: a grid point
is its candidate number in mixed radix (the last key fastest), and the random draws are the same
stream as a full expansion's, restarted from the saved state of their block. So the draws are
those a sweep has always made, and the spec's digest (`Spec.digest`) is the same text hashed a
configuration at a time.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import json
import math
import operator
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from fedcut.core.errors import ConfigError
from fedcut.core.params import Config, Param, params_for, resolve

CANDIDATE_BLOCK = 1024  # candidates between saved generator states: a run of points re-draws at most this many
HASH_WIDTH = 20  # characters of a stored configuration hash: 12 hex digits, or "invalid-" and 12


@dataclass(frozen=True)
class Point:
    """One configuration of the sweep: its swept values and the resolved config (or why not)."""

    position: int
    swept: dict[str, Any]
    config: Config | None
    error: str = ""

    @functools.cached_property
    def config_hash(self) -> str:  # kept: a sweep asks for it several times per configuration
        if self.config is not None:
            return self.config.digest()
        blob = json.dumps(self.swept, sort_keys=True, default=str).encode()
        return "invalid-" + hashlib.sha256(blob).hexdigest()[:12]


class Points:
    """The kept configurations of a spec as a read-only sequence: `len`, `points[i]`, `points[a:b]`
    (a list) and iteration, each generated when asked for (iteration a block of candidates at a time)."""

    def __init__(self, spec, candidates: np.ndarray, hashes: np.ndarray, states: list[dict]):
        self._spec = spec
        self.candidates = candidates  # each kept configuration's candidate number, increasing
        self.hashes = hashes  # each kept configuration's hash, as bytes (numpy "S20")
        self._states = states  # the generator's state at candidate k * CANDIDATE_BLOCK

    def __len__(self) -> int:
        return len(self.candidates)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return list(self.at(np.arange(len(self))[index]))
        if not -len(self) <= index < len(self):
            raise IndexError(f"configuration {index} of {len(self)}")
        return next(self.at(np.array([index % len(self)])))

    def __iter__(self) -> Iterator[Point]:
        return self.at(np.arange(len(self)))

    def hash_at(self, position: int) -> str:
        return self.hashes[position].decode()

    def positions_of(self, config_hashes) -> np.ndarray:
        """The positions, in order, of the configurations with these hashes (those of this spec)."""
        wanted = np.array([h.encode() for h in config_hashes], dtype=f"S{HASH_WIDTH}")
        return np.flatnonzero(np.isin(self.hashes, wanted))

    def at(self, positions: np.ndarray) -> Iterator[Point]:
        """The points at `positions` (increasing), re-drawn a block of candidates at a time."""
        spec, k = self._spec, 0
        candidates = self.candidates[positions]  # increasing, as the positions are
        while k < len(positions):
            block = int(candidates[k]) // CANDIDATE_BLOCK
            end = int(np.searchsorted(candidates, (block + 1) * CANDIDATE_BLOCK))
            wanted = dict(zip(candidates[k:end].tolist(), positions[k:end].tolist()))
            rng = np.random.default_rng(spec.seed)
            if self._states[block] is not None:
                rng.bit_generator.state = self._states[block]
            for candidate, swept in _candidates(spec, block, rng):
                if candidate in wanted:
                    point = _point(spec, wanted[candidate], swept)
                    # its hash as `expand` computed it from the same values: hashing again would cost
                    # a third of the generation (the `cached_property` reads the instance's dict)
                    point.__dict__["config_hash"] = self.hash_at(point.position)
                    yield point
            k = end


class Trials(Points):
    """A search's configurations as it made them (`sweeps.search`): the same sequence as `Points`, held
    as a list, a trial's position its place in it."""

    def __init__(self, points: list[Point]):
        self._points = list(points)
        self.hashes = np.array([p.config_hash.encode() for p in self._points], dtype=f"S{HASH_WIDTH}")

    def __len__(self) -> int:
        return len(self._points)

    def at(self, positions: np.ndarray) -> Iterator[Point]:
        return (self._points[int(i)] for i in positions)


def candidate_count(spec) -> int:
    return math.prod(len(values) for values in spec.grid.values()) * (max(spec.samples, 1) if spec.random else 1)


def grid_point(spec, index: int) -> dict[str, Any]:
    """The `index`-th combination of the grid, first key slowest (mixed radix, last key fastest)."""
    out = {}
    for key in reversed(spec.grid):
        values = spec.grid[key]
        index, digit = divmod(index, len(values))
        out[key] = values[digit]
    return {key: out[key] for key in spec.grid}


def _candidates(spec, block: int, rng: np.random.Generator) -> Iterator[tuple[int, dict[str, Any]]]:
    """(candidate number, swept values) of the candidates of one block, the random values drawn from `rng`."""
    draws = max(spec.samples, 1) if spec.random else 1
    registry = registry_for(spec.base, spec.path)
    for candidate in range(block * CANDIDATE_BLOCK, min((block + 1) * CANDIDATE_BLOCK, candidate_count(spec))):
        swept = grid_point(spec, candidate // draws)
        for key, dist in spec.random.items():
            swept[key] = draw(registry[key], dist, rng)
        yield candidate, swept


def _point(spec, position: int, swept: dict[str, Any]) -> Point:
    try:
        config, error = resolve({**spec.base, **swept}, where="sweep point"), ""
    except ConfigError as exc:
        config, error = None, str(exc)
    return Point(position, swept, config, error)


def expand(spec) -> tuple[Points, int, int]:
    """The kept configurations of `spec` (`Points`), how many broke a rule and how many repeated an
    earlier one: one pass over the candidates, holding a hash per configuration, not the configuration."""
    fixed = rule_values(spec)
    rng = np.random.default_rng(spec.seed)
    candidates, hashes, states, seen = [], [], [], set()
    excluded = duplicates = 0
    total = candidate_count(spec)
    for block in range(math.ceil(total / CANDIDATE_BLOCK)):
        states.append(rng.bit_generator.state if spec.random else None)
        for candidate, swept in _candidates(spec, block, rng):
            point = point_at(spec, len(candidates), swept, fixed)
            if point is None:
                excluded += 1
                continue
            config_hash = point.config_hash
            if config_hash in seen:
                duplicates += 1
                continue
            seen.add(config_hash)
            candidates.append(candidate)
            hashes.append(config_hash)
    if not candidates:
        raise ConfigError(f"{spec.path}: every configuration breaks a [constraints] rule")
    kept = np.array(candidates, dtype=np.int64)
    return Points(spec, kept, np.array(hashes, dtype=f"S{HASH_WIDTH}"), states), excluded, duplicates


def rule_values(spec) -> dict[str, Any]:
    """What the [constraints] rules see for the parameters a point does not set: [base], else the defaults."""
    return {key: p.default for key, p in registry_for(spec.base, spec.path).items()} | spec.base


def point_at(spec, position: int, swept: dict[str, Any], fixed: dict[str, Any]) -> Point | None:
    """The configuration `swept` sets over [base] (failed with the reason when its values contradict each
    other), or None when it breaks a [constraints] rule; `fixed` is `rule_values(spec)`."""
    try:
        kept = all(holds(rule, {**fixed, **swept}) for rule in spec.rules)
    except ConfigError as exc:  # e.g. a division by a swept value that is 0 here
        raise ConfigError(f"{spec.path}: [constraints]: {exc}, at the point {swept}") from None
    return _point(spec, position, swept) if kept else None


def registry_for(base: dict[str, Any], where: str) -> dict[str, Param]:
    """The parameters a point may set: the registry's and those of the user code [base] names."""
    try:
        return params_for(base, f"{where}: [base]")
    except ConfigError as exc:
        raise ConfigError(str(exc)) from None


def draw(p: Param, dist: dict, rng: np.random.Generator) -> Any:
    if "choices" in dist:
        return dist["choices"][int(rng.integers(len(dist["choices"])))]
    lo, hi = dist["low"], dist["high"]
    if isinstance(p.default, int):
        return int(rng.integers(lo, hi + 1))
    return round(float(rng.uniform(lo, hi)), 6)  # 6 decimals: a readable value that hashes the same everywhere


def digest(spec, identity: dict | None = None) -> str:
    """The spec's digest: sha256 of the JSON text of its configurations' hashes, objective and
    validation, fed a configuration at a time (the same text, and digest, as one `json.dumps`). A
    search's configurations are made as it runs: its `identity` (the search, the space, the rules,
    the base) stands in for their hashes."""
    if identity is not None:
        blob = json.dumps(
            {
                "points": identity,
                "objective": spec.objective,
                "shortfall": spec.max_cagr_shortfall,
                "validation": spec.validation.as_dict(),
            },
            sort_keys=True,
        )
        return hashlib.sha256(blob.encode()).hexdigest()[:12]
    h = hashlib.sha256()
    h.update(b'{"objective": ' + json.dumps(spec.objective).encode() + b', "points": [')
    hashes = spec.points.hashes
    for first in range(0, len(hashes), 65536):
        chunk = hashes[first : first + 65536]
        h.update((", " if first else "").encode() + b", ".join(b'"' + x + b'"' for x in chunk))
    tail = json.dumps({"shortfall": spec.max_cagr_shortfall, "validation": spec.validation.as_dict()}, sort_keys=True)
    h.update(b"], " + tail[1:].encode())
    return h.hexdigest()[:12]


_COMPARE = {
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
}
_ARITH = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv}
MAX_RULE_CHARS = 500  # a rule is one comparison of a few parameters, never a program


@functools.lru_cache(maxsize=64)
def _parsed(rule: str) -> ast.Expression:
    if len(rule) > MAX_RULE_CHARS:
        raise ConfigError(f"rule {rule!r}: longer than {MAX_RULE_CHARS} characters")
    try:
        return ast.parse(rule, mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        raise ConfigError(f"rule {rule!r} is not an expression") from None


def holds(rule: str, values: dict[str, Any]) -> bool:
    """Evaluate a rule such as `hedge.roll_days < hedge.tenor_days - 30` (numbers, parameter keys,
    + - * / on numbers, comparisons, and/or/not); anything else is refused rather than executed.

    The rule's length bounds every number it can build, and arithmetic takes numbers only, so no
    rule can allocate much (`"x" * 10**12` is refused before it is evaluated)."""
    tree = _parsed(rule)

    def number(node):
        value = ev(node)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"rule {rule!r}: + - * / take numbers, got {value!r}")
        return value

    def ev(node):
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float, str)):
            return node.value
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            key = f"{node.value.id}.{node.attr}"
            if key not in values:
                raise ConfigError(f"rule {rule!r}: unknown parameter {key!r}")
            return values[key]
        if isinstance(node, ast.BinOp) and type(node.op) in _ARITH:
            return _ARITH[type(node.op)](number(node.left), number(node.right))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.Not)):
            return -number(node.operand) if isinstance(node.op, ast.USub) else not ev(node.operand)
        if isinstance(node, ast.BoolOp):
            results = [ev(v) for v in node.values]
            return all(results) if isinstance(node.op, ast.And) else any(results)
        if isinstance(node, ast.Compare) and all(type(op) in _COMPARE for op in node.ops):
            left, out = ev(node.left), True
            for op, right_node in zip(node.ops, node.comparators):
                right = ev(right_node)
                out = out and _COMPARE[type(op)](left, right)
                left = right
            return out
        raise ConfigError(
            f"rule {rule!r}: only parameter keys, numbers, + - * /, comparisons and and/or/not are allowed"
        )

    try:
        return ev(tree)
    except (TypeError, ArithmeticError) as exc:  # ZeroDivisionError, OverflowError
        raise ConfigError(f"rule {rule!r}: {exc}") from None
    except (RecursionError, MemoryError):
        raise ConfigError(f"rule {rule!r}: nested too deeply to evaluate") from None
