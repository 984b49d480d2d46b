"""Where a default ranks among variants: places with ties as ranges, recomputed with pandas' ranks."""

import numpy as np
import pandas as pd
import pytest

from fedcut.analyzers.selection import place_among


def test_a_tied_value_has_a_range_of_places_and_a_missing_one_ranks_last():
    values = [0.5, 0.7, 0.5, np.nan, 0.5, 0.2, np.nan]
    place = place_among(values, 0)
    assert (place.best, place.worst, place.of, place.tied) == (2, 4, 7, 2)
    assert place_among(values, 1).to_dict() == {"best": 1, "worst": 1, "of": 7, "tied": 0}
    assert (place_among(values, 3).best, place_among(values, 3).worst) == (6, 7)


@pytest.mark.parametrize("seed", range(5))
def test_places_are_pandas_min_and_max_ranks_in_descending_order(seed):
    rng = np.random.default_rng(seed)
    values = rng.integers(0, 8, 40).astype(float)  # many exact ties
    series = pd.Series(values)
    low, high = series.rank(ascending=False, method="min"), series.rank(ascending=False, method="max")
    for k in range(len(values)):
        place = place_among(values, k)
        assert (place.best, place.worst) == (int(low[k]), int(high[k]))


def test_a_position_outside_the_values_is_refused():
    with pytest.raises(ValueError, match="position 3 is outside"):
        place_among([1.0, 2.0], 3)


def test_the_long_example_sweeps_the_same_768_variants_as_the_1990_one_and_holds_the_default():
    from pathlib import Path

    from fedcut.sweeps.selection import default_config
    from fedcut.sweeps.spec import load_spec

    root = Path(__file__).resolve().parents[1] / "examples"
    long, extended = load_spec(root / "rules_loco_long.toml"), load_spec(root / "rules_loco.toml")
    assert long.base == {"run.history": "long"} and extended.base == {"run.history": "extended"}
    assert [p.swept for p in long.points] == [p.swept for p in extended.points] and len(long.points) == 768
    assert long.validation.leave_one_cycle_out and long.top == 1
    for spec in (long, extended):
        own = default_config(spec)
        assert own.run.history == spec.base["run.history"]
        assert sum(p.config_hash == own.digest() for p in spec.points) == 1
