"""Configuration: the registry, config/default.toml, files and --set overrides, refused with the key named."""

from __future__ import annotations

import pytest

from fedcut.core import config
from fedcut.core.defaults_file import DEFAULT_TOML, render
from fedcut.core.errors import ConfigError
from fedcut.core.params import PARAMS, defaults


def test_default_toml_is_in_sync_with_the_registry():
    assert DEFAULT_TOML.read_text() == render(), "regenerate with `python -m fedcut.core.defaults_file`"


def test_every_parameter_has_unit_and_why_and_a_valid_default():
    for p in PARAMS:
        assert p.unit and len(p.why) > 15, p.key
        assert p.check(p.default) == p.default


def test_default_file_round_trips_to_the_defaults():
    assert config.load(DEFAULT_TOML).digest() == defaults().digest()


def test_file_then_set_overrides(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text("[hedge]\nmoneyness = 0.85\ntenor_days = 60\n")
    cfg = config.load(path, ["hedge.tenor_days=120", "strategy.defensives=['XLP', 'SHY']"])
    assert cfg.hedge.moneyness == 0.85 and cfg.hedge.tenor_days == 120
    assert cfg.strategy.defensives == ("XLP", "SHY")
    assert cfg.digest() != defaults().digest()


@pytest.mark.parametrize(
    "sets, message",
    [
        (["nope.key=1"], "unknown key 'nope.key'"),
        (["hedge.moneyness=abc"], "hedge.moneyness must be a number"),
        (["hedge.moneyness=7"], "hedge.moneyness = 7.0 is above its maximum"),
        (["hedge.tenor_days=2.5"], "hedge.tenor_days must be a whole number"),
        (["run.start=2010-01-01", "run.end=2009-01-01"], "run.start 2010-01-01 is after run.end 2009-01-01"),
        (["run.start=2010-13-01"], "run.start must be a date"),
        (["strategy.recession_action=sell_everything"], "strategy.recession_action must be one of"),
        (["strategy.neutral_iwm=0.9"], "exceeds 1"),
        (["hedge.roll_days=100"], "hedge.roll_days must be below hedge.tenor_days"),
        (["novalue"], "expected key=value"),
    ],
)
def test_bad_settings_are_refused_naming_the_key(sets, message):
    with pytest.raises(ConfigError, match=message):
        config.load(None, sets)


def test_bad_files(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        config.load(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[hedge\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        config.load(bad)
    flat = tmp_path / "flat.toml"
    flat.write_text("moneyness = 0.9\n")
    with pytest.raises(ConfigError, match="must be inside a \\[section\\]"):
        config.load(flat)


def test_a_vix_floor_at_or_above_the_ceiling_is_one_line():
    from fedcut.core.errors import ConfigError
    from fedcut.core.params import resolve

    with pytest.raises(ConfigError, match=r"hedge\.buy_vix_floor 25 must be below hedge\.buy_vix_ceiling 25"):
        resolve({"hedge.buy_vix_floor": 25.0, "hedge.buy_vix_ceiling": 25.0})
    assert resolve({"hedge.buy_vix_floor": 25.0}).hedge.buy_vix_ceiling == 0.0  # no ceiling: any floor stands
