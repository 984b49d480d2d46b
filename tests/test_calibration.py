"""`fedcut calibrate`: the defaults are the fit, the check's errors are what they say, bad quotes files
are one line naming the file and the line."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fedcut import calibrate
from fedcut.cli import main
from fedcut.core.params import defaults
from fedcut.data.sources import DataSource
from fedcut.hedging import calibration as cal

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
QUOTES = DATA / "options" / "SPY_puts_2010_2019.csv"


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    import os

    return DataSource(data_dir=Path(os.environ.get("FEDCUT_DATA_DIR", DATA)), offline=True)


def test_the_registry_defaults_are_the_fit_on_the_shared_quotes(source):
    result, _ = calibrate.calibrate(source.data_dir / calibrate.QUOTES_FILE, source, defaults().hedge)
    hedge = defaults().hedge
    for name, digits in cal.DIGITS.items():
        assert round(result["surface_unrounded"][name], digits) == getattr(hedge, name), name


def test_the_fit_recovers_a_known_surface_exactly():
    rng = np.random.default_rng(3)
    n = 400
    q = pd.DataFrame(
        {
            "quote_date": pd.date_range("2012-01-02", periods=n, freq="D"),
            "dte": rng.choice([21, 45], n).astype(float),
            "moneyness": rng.uniform(0.75, 1.0, n),
            "vix": rng.uniform(10, 40, n),
            "mid": rng.uniform(0.05, 3, n),
        }
    )
    q["skew"] = rng.uniform(105, 165, n)
    centre = round(q["skew"].mean(), 1)
    q["iv"] = (
        0.8 * q["vix"] / 100 + (1.1 + 0.6 * (q["skew"] - centre) / 100) * (1 - q["moneyness"]) * (30 / q["dte"]) ** 0.4
    )
    half = 0.005 + (0.004 + 0.0002 * q["vix"]) * q["mid"]
    q["bid"], q["ask"] = q["mid"] - half, q["mid"] + half
    surface, _ = cal.fit(q)
    assert surface.skew_term_exponent == pytest.approx(0.4)
    assert (surface.atm_vix_ratio, surface.skew_slope) == (pytest.approx(0.8), pytest.approx(1.1))
    assert (surface.skew_index_slope, surface.skew_index_centre) == (pytest.approx(0.6), centre)
    plain, _ = cal.fit(q, use_skew=False)  # without the SKEW term the skew is about its average
    assert plain.skew_index_slope == 0.0 and plain.skew_slope == pytest.approx(1.1, abs=0.05)
    assert (surface.half_spread_dollars, surface.half_spread_base, surface.half_spread_per_vix) == (
        pytest.approx(0.005),
        pytest.approx(0.004),
        pytest.approx(0.0002),
    )


def test_check_json_errors_are_the_quotes_own(source, capsys):
    assert main(["calibrate", "--check", str(QUOTES), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    raw = pd.read_csv(QUOTES, na_values=["", "."])
    vix = source.macro("VIXCLS").reindex(pd.DatetimeIndex(raw["quote_date"]), method="ffill").to_numpy()
    skew = pd.read_csv(DATA / "cboe" / "SKEW.csv", index_col=0, parse_dates=True)["SKEW"]
    skew = skew.reindex(pd.DatetimeIndex(raw["quote_date"]), method="ffill").to_numpy()
    h = defaults().hedge
    slope = h.skew_slope + h.skew_index_slope * (skew - h.skew_index_centre) / 100
    model = (
        h.atm_vix_ratio * vix / 100
        + slope * np.maximum(1 - raw["strike"] / raw["spot"], 0) * (30 / raw["dte"]) ** h.skew_term_exponent
    )
    err = (100 * (model - raw["iv"])).abs().dropna()
    assert len(err) == out["quotes_with_iv"] == 10893 - 18
    assert out["median_abs_iv_error"] == pytest.approx(np.median(err))
    assert out["p90_abs_iv_error"] == pytest.approx(np.quantile(err, 0.9))
    assert sum(b["quotes"] for b in out["buckets"]) == out["quotes"] == 10893


def test_calibrate_writes_its_folder_and_never_overwrites(tmp_path, capsys):
    out = tmp_path / "cal"
    assert main(["calibrate", "--out", str(out)]) == 0
    written = json.loads((out / "calibration.json").read_text())
    assert written["split"] == cal.SPLIT and written["fit"]["last"] < cal.SPLIT <= written["test"]["first"]
    assert (out / "calibration.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    capsys.readouterr()
    assert main(["calibrate", "--out", str(out)]) == 2
    assert "already exists" in capsys.readouterr().err


HEADER = "quote_date,snapshot,cycle_month,expiry,dte,strike,otm_pct,bid,ask,mid,iv,spot"
GOOD = [
    "2016-01-04,entry,2016-01,2016-02-19,46,180.0,10.0,0.5,0.6,0.55,0.25,200.0",
    "2016-01-05,entry,2016-01,2016-02-19,45,190.0,5.0,1.0,1.1,1.05,0.2,200.0",
]


@pytest.mark.parametrize(
    "case,lines,message",
    [
        (
            "missing column",
            [HEADER.replace(",bid", "")] + [g.replace(",0.5,0.6", ",0.6").replace(",1.0,1.1", ",1.1") for g in GOOD],
            "missing column bid",
        ),
        ("negative bid", [HEADER, GOOD[0], GOOD[1].replace(",1.0,1.1,", ",-0.1,1.1,")], "line 3: bid -0.1 is negative"),
        ("zero strike", [HEADER, GOOD[0].replace(",180.0,", ",0,"), GOOD[1]], "line 2: strike 0 must be positive"),
        (
            "dates out of order",
            [HEADER, GOOD[1], GOOD[0]],
            "line 3: dates out of order: 2016-01-04 comes after 2016-01-05",
        ),
    ],
)
def test_a_bad_quotes_file_is_one_line_naming_the_file_and_the_line(tmp_path, capsys, case, lines, message):
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join(lines) + "\n")
    assert main(["calibrate", "--check", str(bad), "--json"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"error: {bad}: ") and message in err
