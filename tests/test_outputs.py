"""The output stage's parts: the hedge per year, the parameters a run changed, and the pictures'
colours and sizes."""

from __future__ import annotations

import importlib.util
import io
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_report import hand_example

from fedcut.analyzers.attribution import hedge_by_year
from fedcut.cli import main
from fedcut.core.config import changed_parameters, flatten
from fedcut.core.params import resolve
from fedcut.plots.kit import (
    DPI,
    REGIME_COLOURS,
    SPARE_REGIME_COLOURS,
    WIDTH,
    png_bytes,
    png_encoded,
    regime_colour,
    regime_order,
)
from fedcut.plots.run import HOLDING_COLOURS, SPARE_COLOURS, holding_colours, underwater_figure
from fedcut.signals.regime import REGIMES

ROOT = Path(__file__).resolve().parents[1]


def test_hedge_by_year_by_hand():
    """The hand example's put: bought on day 2 for 0.50 x 100 + 0.65 commission, marked at 40 that
    close, sold on day 3 for 0.80 x 100 - 0.65. Amounts are divided by the previous close's value."""
    equity, trades = hand_example()
    years = hedge_by_year(equity, trades)
    value = equity["strategy"].to_numpy()
    assert list(years.index) == [2020]
    assert years.loc[2020, "premium_usd"] == pytest.approx(50.65)
    assert years.loc[2020, "premium_bp"] == pytest.approx(1e4 * 50.65 / value[0])
    day2, day3 = 40.0 - 50.0 - 0.65, -40.0 + 80.0 - 0.65  # marks + cash flows after commission
    assert years.loc[2020, "pnl_usd"] == pytest.approx(day2 + day3)
    assert years.loc[2020, "pnl_bp"] == pytest.approx(1e4 * (day2 / value[0] + day3 / value[1]))
    span = (pd.Timestamp(equity["date"].iloc[-1]) - pd.Timestamp(equity["date"].iloc[0])).days / 365.25
    assert years.attrs["pnl_bp_per_year"] == pytest.approx(years.loc[2020, "pnl_bp"] / span)
    assert years.attrs["days_held"] == pytest.approx(0.25)  # one of four closes holds the put
    assert years.attrs["mean_share_held"] == pytest.approx(40.0 / value[1])


def test_changed_parameters_list_what_differs_from_the_defaults():
    cfg = resolve({"hedge.moneyness": 0.85, "run.start": "2007-01-03", "strategy.defensives": ["XLP", "TLT"]})
    changed = changed_parameters(cfg.flat())
    assert [(k, v, d) for k, v, d, _ in changed] == [
        ("run.start", "2007-01-03", ""),
        ("strategy.defensives", ("XLP", "TLT"), ("XLP", "XLU", "IEF")),
        ("hedge.moneyness", 0.85, 0.9),
    ]
    assert changed_parameters(resolve().flat()) == []
    # a saved config.toml read back: lists for tuples, an unknown key listed, not hidden
    saved = flatten({"strategy": {"defensives": ["XLP", "XLU", "IEF"]}, "old": {"knob": 1}, "run": {"oracle": True}})
    assert changed_parameters(saved) == [
        ("run.oracle", True, False, "flag"),
        ("old.knob", 1, None, "unknown parameter"),
    ]


def test_regime_and_holding_colours_are_distinct_and_cover_new_names():
    assert HOLDING_COLOURS["cash"] != REGIME_COLOURS["neutral"]  # cash and neutral are not one grey
    assert not set(HOLDING_COLOURS.values()) & set(REGIME_COLOURS.values())
    assert regime_order(["neutral", "new_state", "crisis"]) == ["crisis", "neutral", "new_state"]
    assert regime_colour("new_state") in SPARE_REGIME_COLOURS and regime_colour("new_state") == regime_colour(
        "new_state"
    )
    assert [regime_colour(r) for r in REGIMES if r in REGIME_COLOURS] == [
        REGIME_COLOURS[r] for r in REGIMES if r in REGIME_COLOURS
    ]
    assert holding_colours(["IWM", "XLI", "NEW1", "NEW2"]) == [
        HOLDING_COLOURS["IWM"],
        HOLDING_COLOURS["XLI"],
        *SPARE_COLOURS[:2],
    ]


def test_the_underwater_figure_has_spy_and_every_figure_fits_the_page():
    days = pd.bdate_range("2019-01-01", periods=400)
    curve = pd.Series(100 * np.exp(np.cumsum(np.random.default_rng(3).normal(0, 0.01, 400))), index=days)
    equity = pd.DataFrame({"strategy": curve, "benchmark": curve * 1.01, "spy": curve**0.5, "regime": "neutral"})
    fig = underwater_figure(equity)
    assert [
        t.get_text() for ax in fig.axes for t in ax.texts if "buy-and-hold" in t.get_text() or "fedcut" in t.get_text()
    ] == ["fedcut regime strategy", "buy-and-hold IWM", "buy-and-hold SPY"]
    assert round(fig.get_figwidth() * fig.get_dpi()) == round(WIDTH * DPI) == 1240


def test_the_png_writer_keeps_every_pixel_and_the_resolution():
    """Read back by PIL, the file holds exactly the image's RGB (the row differences wrap around
    modulo 256, as PNG's Up filter does) and its dots per inch; a figure's PNG is its canvas."""
    from PIL import Image

    rng = np.random.default_rng(5)
    rgba = rng.integers(0, 256, (37, 53, 4), dtype=np.uint8)
    for up in (True, False):  # rows filtered Up, or stored as they are
        image = Image.open(io.BytesIO(png_encoded(rgba, 100, up)))
        assert image.mode == "RGB" and image.size == (53, 37)
        assert image.info["dpi"] == pytest.approx((100, 100), abs=1e-3)
        np.testing.assert_array_equal(np.asarray(image), rgba[..., :3])
    days = pd.bdate_range("2019-01-01", periods=300)
    curve = pd.Series(np.linspace(100, 130, 300), index=days)
    fig = underwater_figure(pd.DataFrame({"strategy": curve, "benchmark": curve[::-1].to_numpy(), "regime": "neutral"}))
    drawn = np.asarray(Image.open(io.BytesIO(png_bytes(fig))))
    np.testing.assert_array_equal(drawn, np.asarray(fig.canvas.buffer_rgba())[..., :3])
    assert drawn.shape == (round(fig.get_figheight() * DPI), round(WIDTH * DPI), 3)


def test_the_console_summary_shows_each_cycles_run_up_return_and_drawdown_and_the_changes(
    shared_data, tmp_path, capsys
):
    out = tmp_path / "run"
    assert (
        main(
            [
                "--start",
                "2019-01-02",
                "--end",
                "2020-12-31",
                "--set",
                "hedge.moneyness=0.85",
                "--data-dir",
                str(shared_data),
                "--offline",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    lines = capsys.readouterr().out.splitlines()
    assert lines[1] == (
        'parameters changed: run.start = 2019-01-02 (default ""); run.end = 2020-12-31 (default ""); '
        "hedge.moneyness = 0.85 (default 0.9)"
    )
    assert "  warning: the 2019 cycle is only partly covered: data ends 2020-12-31 (window to 2021-07-31)" in lines
    m = json.loads((out / "metrics.json").read_text())
    equity = pd.read_csv(out / "equity.csv", parse_dates=["date"], index_col="date")["benchmark"]
    runup = equity[:"2019-07-31"].iloc[-1] / equity[:"2019-04-30"].iloc[-1] - 1
    c = m["cycles"]["2019"]
    row = next(line for line in lines if line.startswith("2019 (partial)")).split()
    best = m["baselines"][m["cycle_verdict"]["best_baseline"]]["cycles"]["2019"]
    assert row[2:9] == [
        f"{x:+.1%}"
        for x in (
            runup,
            c["strategy_return"],
            c["benchmark_return"],
            best["return"],
            c["strategy_max_drawdown"],
            c["benchmark_max_drawdown"],
            best["max_drawdown"],
        )
    ]
    assert row[9] == c["window"]


def test_every_picture_in_docs_is_drawn_by_make_figures_and_shown_on_a_page():
    """The README and the site's pages show only pictures docs/make_figures.py redraws, and each of them somewhere."""
    make_figures = _module(ROOT / "docs" / "make_figures.py")
    assert make_figures.stale() == []  # a PNG nothing redraws would go stale
    shown = set()
    for page in [ROOT / "README.md", *(ROOT / "docs").rglob("*.md")]:
        for target in re.findall(r"!\[[^]]*\]\(([^)]+\.png)\)", page.read_text()):
            picture = (page.parent / target).resolve()
            assert picture.parent == ROOT / "docs" and picture.is_file(), (page, target)
            shown.add(picture.name)
    assert shown == set(make_figures.FIGURES)


def _module(path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
