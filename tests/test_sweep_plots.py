"""The sweep's pictures and page: exact cell means, binning, the files written and an escaped offline page."""

from __future__ import annotations

import itertools
import re

import numpy as np
import pandas as pd
import pytest

from fedcut.plots.heatmap import (
    HATCH_INCHES,
    MAX_PAIRS,
    cell_counts,
    cell_means,
    hatch_lines,
    heatmap_cells,
    heatmap_figure,
    heatmaps,
    telling_pairs,
)
from fedcut.plots.sweep import (
    MAX_LEVELS,
    MAX_WIDTH,
    counts_note,
    growth,
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


@pytest.mark.parametrize("n_params, n_files", [(1, 0), (2, 1), (3, 3), (4, MAX_PAIRS), (5, MAX_PAIRS)])
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
        for a, b in telling_pairs(summary, params)[:MAX_PAIRS]
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
    assert [t.get_text() for t in panels[0].texts] == ["11.5", "12.5", "21.5", "22.5", "31.5", "none"]
    # Sharpe 0.3 a (a = 1, 2, 3) against 0.3: inside the noise where |0.3 a - 0.3| < z * sqrt((1 + (0.3 a)^2 / 2) / 40)
    z = normal.ppf(0.975)
    inside = [abs(0.3 * a - 0.3) < z * np.sqrt((1 + (0.3 * a) ** 2 / 2) / years) for a in (1, 2, 3)]
    washed = [path for c in panels[0].collections if c.get_gid() == "inside the noise" for path in c.get_paths()]
    hatched_rows = sorted(int(round(path.vertices[:, 1].min() + 0.5)) for path in washed)
    assert hatched_rows == [0, 0, 1, 1]  # both columns of each row inside the noise
    assert sorted(set(hatched_rows)) == [k for k, yes in enumerate(inside) if yes] and inside == [True, True, False]
    lines = np.concatenate([c.get_segments() for c in panels[0].collections if c.get_gid() != "inside the noise"])
    assert lines[:, :, 1].min() == pytest.approx(-0.5) and lines[:, :, 1].max() == pytest.approx(1.5)  # rows 0 and 1
    assert len(panels[1].collections) == 0  # no noise given for out-of-sample
    # what a cell held beyond its mean is in sweep.html's table: n, the difference and the noise
    cells = heatmap_cells(summary, "a", "b", {"objective_is": 20.0, "objective_oos": 1.0}, noise)
    assert cells["n"].tolist() == [2, 2, 2, 2, 2, 0]
    assert cells[["a", "b"]].to_numpy().tolist() == [[str(a), b] for a in (1, 2, 3) for b in "xy"]
    np.testing.assert_allclose(cells["in-sample minus buy-and-hold IWM"], [-8.5, -7.5, 1.5, 2.5, 11.5, np.nan])
    np.testing.assert_allclose(cells["out-of-sample mean"], [5.75, 6.25, 10.75, 11.25, 15.75, np.nan])
    assert cells["in-sample inside the noise"].tolist() == [True, True, True, True, False, False]
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
    assert [len(mean_lines(ax)) for ax in fig.axes] == [2] * 4  # in-sample and out-of-sample means
    assert [len(ax.lines) - 2 for ax in fig.axes] == [2] * 4  # and each sample's configurations, as dots
    assert len(mean_lines(sensitivity_figure(summary.assign(objective_oos=np.nan), params[:1], "Calmar").axes[0])) == 1
    first = sensitivity(summary, params, tmp_path / "a.png", "Calmar")
    second = sensitivity(summary, params, tmp_path / "b.png", "Calmar")
    assert first.read_bytes().startswith(PNG) and first.read_bytes() == second.read_bytes()


def mean_lines(ax) -> list:
    return [line for line in ax.lines if line.get_linestyle() == "-"]


def test_sensitivity_means_match_the_levels():
    fig = sensitivity_figure(grid_summary(), ["a"], "Calmar")
    line = mean_lines(fig.axes[0])[0]
    np.testing.assert_allclose(line.get_ydata(), [12.0, 22.0, 31.5])  # a=3 only has b=x
    dots = [line for line in fig.axes[0].lines if line.get_linestyle() == "None"][0]
    assert sorted(dots.get_ydata()) == sorted(grid_summary().query("status == 'ok'")["objective_is"])


def test_sensitivity_draws_at_most_dots_max_dots_but_means_every_configuration(monkeypatch):
    """Past DOTS_MAX configurations a panel's dots are every k-th by rank (a million dots are a blot
    that takes seconds); the mean per value still uses all of them, and the legend says so."""
    import fedcut.plots.sweep as sweep

    monkeypatch.setattr(sweep, "DOTS_MAX", 4)
    summary = grid_summary()  # 10 configurations ran, in rank order: the first, every third, the last
    ok = summary.query("status == 'ok'")
    fig = sensitivity_figure(summary, ["a"], "Calmar")
    dots = [line for line in fig.axes[0].lines if line.get_linestyle() == "None"][0]
    assert list(dots.get_ydata()) == list(ok["objective_is"].iloc[[0, 3, 6, 9]])
    np.testing.assert_allclose(mean_lines(fig.axes[0])[0].get_ydata(), [12.0, 22.0, 31.5])
    assert "one configuration (4 of 10, evenly spaced by rank)" in [t.get_text() for t in fig.legends[0].get_texts()]


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


def test_hatch_lines_rise_at_45_degrees_a_hatch_step_apart_inside_each_cell():
    """In inches (a cell 0.8 wide, 0.4 high) every line has slope 1, starts and ends on the cell's edges and
    the lines are HATCH_INCHES apart measured along x; cell (2, 3) is the unit square centred on (3, 2)."""
    width, height = 0.8, 0.4
    one = hatch_lines([(0, 0)], (width, height))
    inches = (one + 0.5) * (width, height)
    rise = np.diff(inches, axis=1)[:, 0]
    np.testing.assert_allclose(rise[:, 1], rise[:, 0])  # 45 degrees
    assert (
        (inches >= -1e-12).all()
        and (inches[..., 0] <= width + 1e-12).all()
        and (inches[..., 1] <= height + 1e-12).all()
    )
    offsets = np.sort(inches[:, 0, 0] - inches[:, 0, 1])
    np.testing.assert_allclose(np.diff(offsets), HATCH_INCHES)
    assert len(one) == int(np.ceil((width + height) / HATCH_INCHES - 0.5))
    np.testing.assert_allclose(hatch_lines([(2, 3)], (width, height)), one + (3, 2))


def adjusted_r2(y: np.ndarray, groups: list) -> float:
    """Adjusted R² of a least-squares fit of y on one dummy per group (the cells), by numpy's lstsq."""
    names = sorted(set(groups))
    x = np.array([[g == name for name in names] for g in groups], dtype=float)
    fitted = x @ np.linalg.lstsq(x, y, rcond=None)[0]
    r2 = 1 - ((y - fitted) ** 2).sum() / ((y - y.mean()) ** 2).sum()
    return 1 - (1 - r2) * (len(y) - 1) / (len(y) - len(names))


def test_the_pairs_drawn_are_those_whose_cells_explain_most_of_the_in_sample_objective():
    """p and q interact (their product drives the objective), r and s are noise, and the out-of-sample
    objective follows r and s only: the in-sample one alone decides, by the adjusted R² of the pair's cells,
    recomputed here as a regression on cell dummies."""
    rng = np.random.default_rng(5)
    n = 240
    frame = pd.DataFrame({k: rng.integers(0, 3, n) for k in "pqrs"}).assign(status="ok")
    frame["objective_is"] = frame["p"] * frame["q"] + rng.normal(0, 0.5, n)
    frame["objective_oos"] = 10 * frame["r"] * frame["s"]
    order = telling_pairs(frame, list("pqrs"))
    scores = {
        (a, b): adjusted_r2(frame["objective_is"].to_numpy(), list(zip(frame[a], frame[b])))
        for a, b in itertools.combinations("pqrs", 2)
    }
    assert order == sorted(scores, key=lambda pair: -scores[pair]) and order[0] == ("p", "q")
    assert scores[order[-1]] < 0.05  # a pair of noise explains nothing beyond chance
    one_each = frame.drop_duplicates(["p", "q"]).head(9)  # one configuration per cell of (p, q): no score
    assert telling_pairs(one_each, ["p", "q", "r"])[-1] == ("p", "q")
    assert telling_pairs(frame.assign(status="failed"), list("pqrs")) == []


def test_the_title_names_up_to_two_binned_parameters_and_counts_more():
    """Bins per parameter follow the rows (about ROWS_PER_BIN each, 2 to MAX_LEVELS): 18 rows of distinct
    values make 3 bins, 60 rows 8; a parameter with few values is not binned and not mentioned."""
    rng = np.random.default_rng(2)
    frame = pd.DataFrame({"x": rng.uniform(size=60), "y": rng.uniform(size=60), "z": np.arange(60) % 3}).assign(
        status="ok"
    )
    frame.loc[18:, "status"] = "failed"
    few = frame.iloc[:18]
    orders = {key: levels(few[key])[1] for key in "xyz"}
    assert [len(orders[k]) for k in "xyz"] == [3, 3, 3]
    assert counts_note(frame, ["x", "z"], orders) == "18 configurations; 42 failed, left out; x in 3 quantile bins"
    assert counts_note(frame, ["x", "y", "z"], orders).endswith("x in 3 quantile bins; y in 3 quantile bins")
    whole = frame.assign(status="ok", w=rng.uniform(size=60))
    orders = {key: levels(whole[key])[1] for key in "xyzw"}
    orders["w"] = orders["w"][:5]  # as if w had fewer bins
    assert counts_note(whole, list("xyzw"), orders) == (
        "60 configurations; 3 parameters with more values in 5-8 quantile bins each"
    )


def test_the_heap_is_frozen_only_while_the_pictures_are_drawn_and_a_callers_freeze_is_kept():
    import gc

    from fedcut.plots.kit import frozen_heap

    assert gc.get_freeze_count() == 0
    kept = [object()]
    with frozen_heap():
        assert gc.get_freeze_count() > 0  # what existed on entry is left alone
        garbage = []
        garbage.append(garbage)  # a cycle made inside is still collected
        del garbage
        assert gc.collect() >= 1
    assert gc.get_freeze_count() == 0 and kept
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        with frozen_heap():
            pass
        assert gc.get_freeze_count() == frozen  # the caller's freeze is not undone
    finally:
        gc.unfreeze()
