"""Lazy expansion of a sweep spec: every configuration generated on demand is the one a full
expansion, computed here independently (itertools.product, one random stream, the rules, the
repeats), puts at the same position, and the spec's digest is the hash of that expansion's text."""

from __future__ import annotations

import hashlib
import itertools
import json
from pathlib import Path

import numpy as np
import pytest

from fedcut.core.errors import ConfigError
from fedcut.core.params import resolve
from fedcut.sweeps import points as points_mod
from fedcut.sweeps.spec import load_spec

GRID = """
[sweep]
name = "lazy-grid"
objective = "sharpe"

[base]
"run.end" = "2009-12-31"

[grid]
"hedge.moneyness" = [0.8, 0.85, 0.9]
"strategy.recession_equity" = [0.2, 0.4, 0.6, 0.8]
"hedge.tenor_days" = [30, 63, 91]
"hedge.roll_days" = [21, 45]

[constraints]
rules = ["strategy.recession_equity < 0.8 or hedge.moneyness > 0.8"]

[validation]
train_end = "2004-12-31"
"""

RANDOM = """
[sweep]
name = "lazy-random"
objective = "calmar"
seed = 5
samples = 40

[grid]
"hedge.sizing" = ["ratio", "budget"]

[random]
"strategy.accumulate_days" = { low = 5, high = 9 }
"hedge.moneyness" = { choices = [0.8, 0.9] }
"execution.slippage_bps" = { low = 0.0, high = 0.000002 }
"strategy.capitulation_in_recession" = { choices = ["buy", "hedge", "wait"] }

[constraints]
rules = ["strategy.accumulate_days > 6 or hedge.moneyness > 0.85"]
"""


def full_expansion(spec) -> tuple[list[tuple[dict, str, str]], int, int]:
    """(swept, hash, error) of every kept configuration, excluded and repeated counts: the whole
    candidate list at once, one generator for every draw, as the spec's documentation defines it."""
    rng = np.random.default_rng(spec.seed)
    draws = max(spec.samples, 1) if spec.random else 1
    registry = points_mod.registry_for(spec.base, spec.path)
    fixed = {k: p.default for k, p in registry.items()} | spec.base
    kept, seen, excluded, repeated = [], set(), 0, 0
    for combo in itertools.product(*spec.grid.values()):
        for _ in range(draws):
            swept = dict(zip(spec.grid, combo))
            for key, dist in spec.random.items():
                if "choices" in dist:
                    swept[key] = dist["choices"][int(rng.integers(len(dist["choices"])))]
                elif isinstance(registry[key].default, int):
                    swept[key] = int(rng.integers(dist["low"], dist["high"] + 1))
                else:
                    swept[key] = round(float(rng.uniform(dist["low"], dist["high"])), 6)
            if not all(points_mod.holds(rule, {**fixed, **swept}) for rule in spec.rules):
                excluded += 1
                continue
            try:
                config_hash, error = resolve({**spec.base, **swept}, where="sweep point").digest(), ""
            except ConfigError as exc:
                blob = json.dumps(swept, sort_keys=True, default=str).encode()
                config_hash, error = "invalid-" + hashlib.sha256(blob).hexdigest()[:12], str(exc)
            if config_hash in seen:
                repeated += 1
                continue
            seen.add(config_hash)
            kept.append((swept, config_hash, error))
    return kept, excluded, repeated


@pytest.mark.parametrize("text", [GRID, RANDOM], ids=["grid", "random"])
def test_the_lazy_configurations_are_the_full_expansions(tmp_path: Path, monkeypatch, text):
    monkeypatch.setattr(points_mod, "CANDIDATE_BLOCK", 7)  # many blocks, each restarted from its saved state
    path = tmp_path / "spec.toml"
    path.write_text(text)
    spec = load_spec(path)
    expected, excluded, repeated = full_expansion(spec)
    assert (len(spec.points), spec.excluded, spec.duplicates) == (len(expected), excluded, repeated)
    assert excluded > 0 and (repeated > 0 or not spec.random)  # the rules and the repeats were exercised
    assert any(error for _, _, error in expected) == (not spec.random)  # roll_days 45 >= tenor_days 30
    got = [(p.position, p.swept, p.config_hash, p.error) for p in spec.points]
    assert got == [(k, *e) for k, e in enumerate(expected)]
    # the regenerated configuration itself, not only its recorded hash, is the expansion's
    assert [p.config.digest() for p in spec.points if p.config] == [h for _, h, error in expected if not error]
    for k in (0, 1, 6, 7, 8, len(expected) // 2, len(expected) - 1, -1):  # one at a time, anywhere
        point = spec.points[k]
        assert (point.swept, point.config_hash) == expected[k][:2]
    sparse = np.array([2, 3, 15, 16, 17, len(expected) - 2])
    assert [(p.position, p.swept) for p in spec.points.at(sparse)] == [(int(k), expected[k][0]) for k in sparse]
    assert [p.swept for p in spec.points[5:12]] == [e[0] for e in expected[5:12]]
    blob = json.dumps(
        {
            "points": [h for _, h, _ in expected],
            "objective": spec.objective,
            "shortfall": spec.max_cagr_shortfall,
            "validation": spec.validation.as_dict(),
        },
        sort_keys=True,
    ).encode()
    assert spec.digest() == hashlib.sha256(blob).hexdigest()[:12]
    assert list(spec.points.positions_of([expected[9][1], expected[3][1]])) == [3, 9]
