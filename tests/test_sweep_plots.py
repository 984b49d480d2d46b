"""The sweep's pictures and page: exact cell means, binning, the files written and an escaped offline page."""

from __future__ import annotations

import itertools
import re

import numpy as np
import pandas as pd
import pytest

from fedcut.plots.sweep import (
    MAX_LEVELS,
    MAX_PAIRS,
    MAX_WIDTH,
    cell_counts,
    cell_means,
    growth,
    heatmap_figure,
    heatmaps,
    levels,
    sensitivity,
    sensitivity_figure,
)
from fedcut.report.sweep_page import render_html

pytestmark = pytest.mark.slow  # whole runs and commands: not in the edit-test loop

PNG = b"\x89PNG\r\n\x1a\n"


def grid_summary(oos: bool = True) -> pd.DataFrame:
    """a in {1, 2, 3} x b in {x, y} x c in {10, 20}, objective = 10a + [b == y] + c/10, without (3, y).

    So the mean over c is 10a + [b == y] + 1.5. Two failed rows carry values that must not count:
    one in a cell that ran (1, x) and one in the cell that never ran (3, y).
    """
    rows = [
        dict(a=a, b=b, c=c, status="ok", error="", objective_is=10 * a + (b == "y") + c / 10)
        for a, b, c in itertools.product([1, 2, 3], ["x", "y"], [10, 20])
        if (a, b) != (3, "y")
    ]
    rows += [
        dict(a=1, b="x", c=10, status="failed", error="boom", objective_is=999.0),
        dict(a=3, b="y", c=20, status="failed", error="boom", objective_is=999.0),
    ]
    frame = pd.DataFrame(rows)
    frame["objective_oos"] = frame["objective_is"] / 2 if oos else np.nan
    frame.insert(0, "rank", range(1, len(frame) + 1))
    frame.insert(1, "config_hash", [f"{k:08x}" for k in range(len(frame))])
    return frame


def random_summary(n: int = 40, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "status": "ok",
            "error": "",
            "hedge.moneyness": rng.uniform(0.8, 1.0, n),
            "strategy.accumulate_days": rng.integers(10, 61, n),
            "hedge.enabled": rng.random(n) < 0.5,
            "strategy.recession_action": rng.choice(["hold", "defensive", "cash"], n),
        }
    )
    frame["objective_is"] = rng.uniform(0.1, 0.6, n)
    frame["objective_oos"] = rng.uniform(0.0, 0.5, n)
    return frame


def test_cell_means_are_exact_and_ignore_failed_rows():
    means = cell_means(grid_summary(), "a", "b", "objective_is")
    assert means.index.name == "a" and means.columns.name == "b"
    assert list(means.index) == ["1", "2", "3"] and list(means.columns) == ["x", "y"]
    expected = [[11.5, 12.5], [21.5, 22.5], [31.5, np.nan]]
    np.testing.assert_allclose(means.to_numpy(), expected)
    np.testing.assert_allclose(
        cell_means(grid_summary(), "b", "c", "objective_oos").to_numpy(),
        [[(11 + 21 + 31) / 6, (12 + 22 + 32) / 6], [(12 + 22) / 4, (13 + 23) / 4]],
    )


def test_numeric_levels_keep_up_to_max_levels_values_and_label_them_evenly():
    labels, order = levels(pd.Series([0.9, 0.85, 0.95, 0.9]))
    assert order == ["0.85", "0.90", "0.95"] and list(labels) == ["0.90", "0.85", "0.95", "0.90"]
    assert levels(pd.Series([1.0, 0.75, 0.5]))[1] == ["0.50", "0.75", "1.00"]  # never rounded to 0.8
    assert levels(pd.Series([1 / 3, 2 / 3]))[1] == ["0.333333", "0.666667"]
    assert levels(pd.Series(range(MAX_LEVELS)))[1] == [str(k) for k in range(MAX_LEVELS)]
    assert len(levels(pd.Series(range(MAX_LEVELS + 1)))[1]) < MAX_LEVELS + 1  # binned


def test_strings_and_bools_are_sorted_categories():
    assert levels(pd.Series(["hold", "cash", "defensive", "cash"]))[1] == ["cash", "defensive", "hold"]
    assert levels(pd.Series([True, False, True]))[1] == ["False", "True"]
    assert levels(pd.Series([True, False], dtype=object))[1] == ["False", "True"]


@pytest.mark.parametrize("n", [12, 40, 500])
def test_continuous_values_fall_in_at_most_max_levels_ordered_bins_that_cover_every_row(n):
    values = pd.Series(np.random.default_rng(n).uniform(-0.8, 0.2, n))
    labels, order = levels(values)
    assert 2 <= len(order) <= MAX_LEVELS and labels.notna().all() and set(labels) == set(order)
    decimals = {len(x.split(".")[1]) for name in order for x in name.split("–")}
    assert len(decimals) == 1
    step = 10.0 ** -decimals.pop()
    assert step <= (values.max() - values.min()) / 100 < 10 * step  # labels resolve a hundredth of the spread
    bounds = [tuple(float(x) for x in name.split("–")) for name in order]
    for value, name in zip(values, labels):
        lo, hi = bounds[order.index(name)]
        assert lo - step / 2 <= value <= hi + step / 2  # the range named holds the value, up to rounding
    assert [lo for lo, _ in bounds] == sorted(lo for lo, _ in bounds)
    assert bounds[0][0] == pytest.approx(values.min(), abs=step / 2)
    assert bounds[-1][1] == pytest.approx(values.max(), abs=step / 2)


def test_cell_means_bin_a_sampled_parameter_and_average_every_ok_row():
    summary = random_summary()
    summary.loc[0, "status"] = "failed"
    means = cell_means(summary, "strategy.accumulate_days", "hedge.enabled", "objective_is")
    assert len(means.index) <= MAX_LEVELS and list(means.columns) == ["False", "True"]
    ok = summary[summary["status"] == "ok"]
    labels, _ = levels(ok["strategy.accumulate_days"])
    counts = ok.groupby([labels, ok["hedge.enabled"].map(str)])["objective_is"].count().unstack()
    weighted = np.nansum(means.to_numpy() * counts.reindex_like(means).fillna(0).to_numpy())
    assert weighted == pytest.approx(ok["objective_is"].sum())


@pytest.mark.parametrize("n_params, n_files", [(1, 0), (2, 1), (3, 3), (4, 6), (5, MAX_PAIRS)])
def test_heatmaps_write_one_file_per_pair_up_to_max_pairs(tmp_path, n_params, n_files):
    params = [
        "hedge.moneyness",
        "strategy.accumulate_days",
        "hedge.enabled",
        "strategy.recession_action",
        "extra.knob",
    ][:n_params]
    summary = random_summary().assign(**{"extra.knob": 1.0})
    paths = heatmaps(summary, params, tmp_path, "Calmar")
    expected = [
        f"heatmap_{a.replace('.', '_')}__{b.replace('.', '_')}.png"
        for a, b in list(itertools.combinations(params, 2))[:MAX_PAIRS]
    ]
    assert [p.name for p in paths] == expected and len(paths) == n_files
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(expected)
    assert all(p.read_bytes().startswith(PNG) for p in paths)


def test_heatmaps_draw_nothing_when_every_configuration_failed(tmp_path):
    assert heatmaps(grid_summary().assign(status="failed"), ["a", "b"], tmp_path, "Calmar") == []
    assert list(tmp_path.iterdir()) == []


def test_heatmap_panels_share_one_scale_centred_on_buy_and_hold_and_hatch_the_noise():
    """The out-of-sample objective is half the in-sample one. Both panels show the difference from buy-and-hold
    in their sample on one symmetric scale (the largest absolute difference, 31.5 - 20 = 11.5), and a cell whose
    mean Sharpe is within 1.96 Lo standard errors of buy-and-hold's is hatched: recomputed here with scipy's
    normal quantile."""
    from scipy.stats import norm as normal

    summary = grid_summary().assign(is_sharpe=lambda f: f["a"] * 0.3, oos_sharpe=0.4)
    years = 40.0
    noise = {"objective_is": {"sharpe_column": "is_sharpe", "benchmark_sharpe": 0.3, "years": years}}
    fig = heatmap_figure(
        summary,
        "a",
        "b",
        "Calmar",
        reference={"objective_is": 20.0, "objective_oos": 1.0},
        empty_reason="2 configurations excluded by the spec's rules",
        noise=noise,
    )
    panels = [ax for ax in fig.axes if ax.images]
    assert [ax.get_title() for ax in panels] == ["in-sample: buy-and-hold IWM 20", "out-of-sample: buy-and-hold IWM 1"]
    assert panels[0].images[0].get_clim() == panels[1].images[0].get_clim() == (-14.75, 14.75)  # 15.75 - 1
    np.testing.assert_allclose(
        panels[0].images[0].get_array().filled(np.nan), [[-8.5, -7.5], [1.5, 2.5], [11.5, np.nan]]
    )
    assert [t.get_text() for t in panels[0].texts] == [
        "11.5\n-8.5\nn=2",
        "12.5\n-7.5\nn=2",
        "21.5\n+1.5\nn=2",
        "22.5\n+2.5\nn=2",
        "31.5\n+12\nn=2",
        "none",
    ]
    # Sharpe 0.3 a (a = 1, 2, 3) against 0.3: inside the noise where |0.3 a - 0.3| < z * sqrt((1 + (0.3 a)^2 / 2) / 40)
    z = normal.ppf(0.975)
    inside = [abs(0.3 * a - 0.3) < z * np.sqrt((1 + (0.3 * a) ** 2 / 2) / years) for a in (1, 2, 3)]
    hatched = [path for c in panels[0].collections if c.get_hatch() for path in c.get_paths()]
    hatched_rows = sorted(int(round(path.vertices[:, 1].min() + 0.5)) for path in hatched)
    assert hatched_rows == [0, 0, 1, 1]  # both columns of each row inside the noise
    assert sorted(set(hatched_rows)) == [k for k, yes in enumerate(inside) if yes] and inside == [True, True, False]
    assert not [c for c in panels[1].collections if c.get_hatch()]  # no noise given for out-of-sample
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend[0].startswith("hatched: inside the sampling noise") and legend[1].startswith("none: no configuration")
    assert cell_counts(grid_summary(), "a", "b").to_numpy().tolist() == [[2, 2], [2, 2], [2, 0]]


def test_the_console_table_lists_the_best_in_and_out_of_sample():
    from fedcut.report.sweep_facts import top_table

    summary = grid_summary()
    lines = top_table(summary, ["a", "b"], "calmar", rows=3, hindsight=2)
    ok = summary[summary["status"] == "ok"]
    assert lines[0].startswith("best 3 of 10 configurations in sample")
    first = ok.sort_values("rank").iloc[0]
    oos_place = int((ok["objective_oos"] > first["objective_oos"]).sum()) + 1
    assert lines[2].split()[:3] == [str(first["rank"]), str(oos_place), f"a={first['a']},"]
    best_oos = ok.loc[ok["objective_oos"].idxmax()]
    assert "after the fact" in lines[5] and lines[6].split()[:2] == [str(best_oos["rank"]), "1"]


def test_heatmap_has_one_panel_without_out_of_sample(tmp_path):
    fig = heatmap_figure(grid_summary(oos=False), "a", "b", "Calmar")
    assert [ax.get_title() for ax in fig.axes if ax.get_title()] == ["in-sample"]
    both = heatmaps(grid_summary(), ["a", "b"], tmp_path / "both", "Calmar")[0]
    one = heatmaps(grid_summary(oos=False), ["a", "b"], tmp_path / "one", "Calmar")[0]
    assert _png_width(one) < _png_width(both)


def test_sensitivity_draws_one_panel_per_parameter_and_writes_the_same_png_twice(tmp_path):
    params = ["hedge.moneyness", "strategy.accumulate_days", "hedge.enabled", "strategy.recession_action"]
    summary = random_summary()
    fig = sensitivity_figure(summary, params, "Calmar")
    assert [ax.get_xlabel() for ax in fig.axes if ax.get_visible()] == params
    assert [len(ax.lines) for ax in fig.axes] == [2] * 4  # in-sample and out-of-sample means
    assert len(sensitivity_figure(summary.assign(objective_oos=np.nan), params[:1], "Calmar").axes[0].lines) == 1
    first = sensitivity(summary, params, tmp_path / "a.png", "Calmar")
    second = sensitivity(summary, params, tmp_path / "b.png", "Calmar")
    assert first.read_bytes().startswith(PNG) and first.read_bytes() == second.read_bytes()


def test_sensitivity_means_match_the_levels():
    fig = sensitivity_figure(grid_summary(), ["a"], "Calmar")
    line = fig.axes[0].lines[0]
    np.testing.assert_allclose(line.get_ydata(), [12.0, 22.0, 31.5])  # a=3 only has b=x


def test_render_html_escapes_embeds_and_replaces_atomically(tmp_path):
    pngs = heatmaps(grid_summary(), ["a", "b", "c"], tmp_path / "plots", "Calmar")
    table = pd.DataFrame(
        {
            "config_hash": ["abc", "<script>alert(1)</script>"],
            "objective_is": [0.41234, -0.2],
            "total_return": ["+12.0%", "-3.5%"],
        }
    )
    page = tmp_path / "site" / "sweep.html"
    page.parent.mkdir()
    page.write_text("old page")
    out = render_html(
        page,
        "Sweep <b>demo</b>",
        [("configurations", 2), ("seed", "7 & 8")],
        [("Top configurations", table, "ranked <in-sample>")],
        [(p, f"pair {k}") for k, p in enumerate(pngs)],
    )
    text = out.read_text()
    assert out == page and list(page.parent.iterdir()) == [page]
    assert "<script" not in text and "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "Sweep &lt;b&gt;demo&lt;/b&gt;" in text and "7 &amp; 8" in text and "ranked &lt;in-sample&gt;" in text
    sources = re.findall(r'src="([^"]*)"', text)
    assert len(sources) == len(pngs) == 3 and all(s.startswith("data:image/png;base64,") for s in sources)
    assert not re.search(r'(src|href)="(?!data:)', text) and "<link" not in text
    assert '<td class="n">0.4123</td>' in text and '<td class="n neg">-3.5%</td>' in text


def test_render_html_leaves_the_old_page_when_it_fails(tmp_path):
    page = tmp_path / "sweep.html"
    page.write_text("old page")
    with pytest.raises(FileNotFoundError):
        render_html(page, "t", [], [], [(tmp_path / "missing.png", "gone")])
    assert page.read_text() == "old page" and list(tmp_path.iterdir()) == [page]


def _png_width(path) -> int:
    return int.from_bytes(path.read_bytes()[16:20], "big")


def test_sensitivity_draws_buy_and_hold_in_each_sample():
    fig = sensitivity_figure(
        grid_summary(), ["a", "b"], "Calmar", reference={"objective_is": 20.0, "objective_oos": 3.0}
    )
    for ax in fig.axes[:2]:
        assert [list(line.get_ydata()) for line in ax.lines if line.get_linestyle() == "--"] == [
            [20.0, 20.0],
            [3.0, 3.0],
        ]
    assert "buy-and-hold IWM, out-of-sample" in [t.get_text() for t in fig.legends[0].get_texts()]


def test_growth_compounds_daily_returns_from_100():
    assert growth(np.array([0.1, -0.5, 0.0])).tolist() == pytest.approx([100.0, 110.0, 55.0, 55.0])


def test_wide_heatmaps_stack_their_panels_to_fit_the_page():
    summary = random_summary(200)
    fig = heatmap_figure(summary, "strategy.accumulate_days", "hedge.moneyness", "Calmar")  # 8 x 8 bins
    fig.canvas.draw()
    top, bottom = [ax for ax in fig.axes if ax.images]
    assert fig.get_figwidth() <= MAX_WIDTH
    assert (top.get_title(), bottom.get_title()) == ("in-sample", "out-of-sample")
    assert top.get_position().y0 > bottom.get_position().y1
