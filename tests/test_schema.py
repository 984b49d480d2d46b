"""The run folder's schema: `read` gives back what `write` wrote, and a run in memory holds what its files hold."""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pytest

from fedcut.core.params import resolve
from fedcut.report.schema import FLOAT_FORMAT, SIGNALS, read, stored_numbers, write
from fedcut.run.backtest import run
from fedcut.run.folder import run_data

TIES = [0.5, 1.5, 2.5, 1234567890.5, 9999999999.5, 99999999995.0, 0.12345678905, 1.0000000005, 2.0000000015]
EXTREMES = [0.0, -0.0, 5e-324, 1e-300, 1e-13, 1e22, 1e23, 1.7976931348623157e308, -3.25e-7]


def test_stored_numbers_are_the_doubles_their_text_reads_back():
    """Each float becomes the double nearest its 10-digit text (Python's, correctly rounded): ties,
    powers of ten and numbers too large or small for the fast path included; pandas reads the text
    of the stored numbers back to the same doubles."""
    rng = np.random.default_rng(26)
    values = np.concatenate(
        [
            rng.normal(0, 1, 20_000),
            rng.lognormal(12, 4, 20_000),
            np.exp(rng.uniform(-690, 690, 20_000)) * rng.choice([-1.0, 1.0], 20_000),
            rng.integers(-(10**15), 10**15, 5_000).astype(float),
            10.0 ** np.arange(-30, 31),
            TIES,
            EXTREMES,
            [np.nan, np.inf, -np.inf],
        ]
    )
    got = stored_numbers(values)
    expected = np.array([float(f"{v:.10g}") for v in values])
    np.testing.assert_array_equal(got, expected)
    assert (np.signbit(got) == np.signbit(expected)).all()
    assert not np.array_equal(got[:20_000], values[:20_000])  # it did round
    text = pd.Series(got).to_csv(index=False, float_format=FLOAT_FORMAT)
    back = pd.read_csv(io.StringIO(text)).iloc[:, 0].to_numpy()
    np.testing.assert_array_equal(back, got)


@pytest.fixture(
    scope="module", params=[{}, {"run.start": "2004-01-02", "run.end": "2006-12-29"}], ids=["default", "no-cycle"]
)
def computed(request, shared_data):
    return run(resolve(request.param), shared_data, True)


def test_write_then_read_gives_the_run_back(computed, tmp_path):
    """Every frame equal value for value and type for type, the metrics and the configuration too."""
    data = run_data(computed)
    write(tmp_path, data)
    back = read(tmp_path)
    assert back.metrics == data.metrics == json.loads(json.dumps(computed.metrics))
    assert back.config_text == data.config_text and back.config == data.config
    for name in ("equity", "trades", "episodes", "baselines"):
        pd.testing.assert_frame_equal(getattr(back, name), getattr(data, name), check_exact=True, obj=name)
    pd.testing.assert_series_equal(back.cash_rate, data.cash_rate, check_exact=True, check_freq=False)
    shown = list(SIGNALS.required[1:])  # the signals the report draws; signals.csv holds every indicator
    pd.testing.assert_frame_equal(back.signals, data.signals[shown], check_exact=True)
    assert len(data.signals.columns) > 20 and (tmp_path / "signals.csv").read_text().startswith(
        "date," + ",".join(computed.signals.columns) + "\n"
    )


def test_a_run_in_memory_differs_from_its_files_only_below_ten_digits(computed):
    """`run_data` rounds the computed frames to the files' precision and changes nothing else."""
    data = run_data(computed)
    for name in ("equity", "trades"):
        mine, theirs = getattr(data, name), getattr(computed, name)
        assert list(mine.columns) == list(theirs.columns) and mine.index.equals(theirs.index)
        floats = theirs.select_dtypes("float64").columns
        pd.testing.assert_frame_equal(mine[floats], theirs[floats], rtol=1e-9)
        pd.testing.assert_frame_equal(mine.drop(columns=floats), theirs.drop(columns=floats))
    assert (data.equity["strategy"] != computed.equity["strategy"]).any()
