"""The fast path of regime signals (`signals.memo`, the per-data caches of `run.inputs`) gives the
frame a fresh computation gives, to the bit, whatever regime setting follows whatever other."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fedcut.core.params import PARAMS, Section, resolve
from fedcut.run import inputs
from fedcut.signals.indicators import labelled_changes
from fedcut.signals.memo import Memo
from fedcut.signals.regime import regime_frame

REGIME = [p for p in PARAMS if p.section == "regime"]


def fresh(prepared, cfg, reasons=False):
    """The signal frame computed from the prepared data alone: no cached view, rate changes or group."""
    m = prepared.market
    return regime_frame(
        prepared.raw,
        m.close["IWM"],
        m.vix,
        cfg.data,
        cfg.regime,
        cfg.run.oracle,
        reasons,
        fomc=prepared.fomc,
        bank=prepared.bank,
        changes=labelled_changes(prepared.policy, prepared.fomc),
    )


def draw(p, rng):
    """A value of regime parameter `p` in its range, of its type, other than its default."""
    if isinstance(p.default, bool):
        return not p.default
    if p.choices:
        return next(c for c in p.choices if c != p.default)
    if isinstance(p.default, int):
        return int(rng.integers(p.lo, p.hi + 1))
    return float(rng.uniform(p.lo, p.hi))


def random_settings(n, seed):
    """`n` settings, each moving three to six regime parameters (windows, flags and dwell included)."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        picked = rng.choice(len(REGIME), size=int(rng.integers(3, 7)), replace=False)
        out.append({REGIME[i].key: draw(REGIME[i], rng) for i in picked})
    return out


def served_and_fresh(history, settings, vary=True):
    """Each setting's frame through `run.inputs.signals`, one after another in one process, and
    fresh (`vary`: some with the oracle, some with the reasons)."""
    inputs.clear_caches()
    base = {"run.history": history}
    prepared = inputs.prepare(resolve(base))
    expected = {}
    for i, setting in enumerate(settings):
        oracle, reasons = vary and i % 5 == 4, vary and i % 3 == 0
        cfg = resolve({**base, **setting, "run.oracle": oracle})
        key = (tuple(sorted(setting.items())), oracle, reasons)
        if key not in expected:  # a setting met again (the default) is computed fresh once
            expected[key] = fresh(prepared, cfg, reasons)
        yield setting, inputs.signals(prepared, cfg, reasons), expected[key]


@pytest.mark.parametrize("history,count", [("iwm", 14), ("long", 6)])
def test_random_settings_give_the_fresh_frame_to_the_bit(history, count):
    # Settings that share most values with the one before (the memo's hits) and some that do not.
    settings = []
    for s in random_settings(count // 2, seed=11 if history == "iwm" else 12):
        settings += [s, {**s, "regime.vix_crisis": 30.0 + len(settings), "regime.sahm_warning": 0.45}]
    settings += [{"regime.credit_window_days": 42, "regime.intermeeting_late": False, "regime.min_dwell_days": 1}]
    for setting, served, expected in served_and_fresh(history, settings):
        pd.testing.assert_frame_equal(served, expected, check_exact=True, obj=str(setting))


def test_every_regime_parameter_changed_alone_is_never_served_stale():
    """From the default setting, each regime parameter moved alone and back: each frame is fresh's."""
    rng = np.random.default_rng(5)
    settings = [{}]
    for p in REGIME:
        settings += [{p.key: draw(p, rng)}, {}]
    frames = list(served_and_fresh("iwm", settings, vary=False))
    changed = 0
    for setting, served, expected in frames:
        pd.testing.assert_frame_equal(served, expected, check_exact=True, obj=str(setting))
        changed += not served.equals(frames[0][1])
    assert changed >= len(REGIME) // 2  # the settings do move the frame (else this checks little)


def test_the_memo_reuses_a_result_only_for_the_same_inputs_and_the_values_it_read():
    calls = []

    def group(x, regime):
        calls.append(1)
        return x * (regime.a if regime.flag else regime.b)

    memo, x = Memo(size=8), np.arange(3.0)
    sec = dict(a=2.0, b=3.0, flag=True, unread=1)
    assert memo(group, x, Section("regime", sec)).tolist() == [0.0, 2.0, 4.0]
    assert memo(group, x, Section("regime", {**sec, "unread": 2, "b": 9.0})).tolist() == [0.0, 2.0, 4.0]
    assert len(calls) == 1  # b was not read on that branch, nor `unread`: served
    assert memo(group, x, Section("regime", {**sec, "a": 5.0})).tolist() == [0.0, 5.0, 10.0]
    assert memo(group, x, Section("regime", {**sec, "flag": False})).tolist() == [0.0, 3.0, 6.0]
    assert memo(group, x, Section("regime", {**sec, "flag": False, "b": 4.0})).tolist() == [0.0, 4.0, 8.0]
    assert memo(group, x.copy(), Section("regime", sec)).tolist() == [0.0, 2.0, 4.0]  # an equal copy: computed
    assert memo(group, x, Section("regime", {**sec, "a": 2})).tolist() == [0, 2, 4]  # 2 is not 2.0: computed
    assert len(calls) == 6
    assert memo(group, x, Section("regime", sec)).tolist() == [0.0, 2.0, 4.0]
    assert len(calls) == 6 and (memo.hits, memo.misses) == (2, 6)


def test_a_group_reading_a_whole_section_is_refused():
    with pytest.raises(TypeError, match="as_dict"):
        Memo()(lambda regime: regime.as_dict(), Section("regime", {"a": 1}))
