"""report.html and sweep.html in a real browser: nothing overflows the window at 1280 or 1920 px.

Needs Chromium on PATH (`apt-get install chromium` on Debian); CI reaches only the Python package
index, so there the test skips and says why, and `python docs/check_pages.py PAGE.html` is the
documented way to run the same check by hand.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("check_pages", ROOT / "docs" / "check_pages.py")
check_pages = importlib.util.module_from_spec(spec)
spec.loader.exec_module(check_pages)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        check_pages.browser() is None,
        reason="no Chromium on PATH (apt-get install chromium): run "
        "`python docs/check_pages.py report.html sweep.html` where one is installed",
    ),
]

SWEEP = """
[sweep]
name = "pages"
objective = "calmar"
seed = 7
samples = 2

[grid]
"hedge.moneyness" = [0.85, 0.95]
"strategy.recession_equity" = [0.4, 0.8]

[random]
"strategy.accumulate_days" = { low = 10, high = 60 }

[validation]
train_end = "2012-12-31"
leave_one_cycle_out = true
"""


@pytest.fixture(scope="module")
def pages(shared_data, tmp_path_factory):
    from fedcut.core.params import resolve
    from fedcut.run.backtest import run
    from fedcut.run.folder import write_run
    from fedcut.sweeps.runner import run_sweep
    from fedcut.sweeps.spec import load_spec

    folder = tmp_path_factory.mktemp("pages")
    report = write_run(run(resolve(), shared_data, True), folder / "run") / "report.html"
    (folder / "sweep.toml").write_text(SWEEP)
    sweep = (
        run_sweep(
            load_spec(folder / "sweep.toml"), folder / "sweep", data_dir=str(shared_data), offline=True, progress=False
        )
        / "sweep.html"
    )
    return report, sweep


def test_the_report_and_the_sweep_page_fit_1280_and_1920_px(pages):
    assert check_pages.check(list(pages), widths=(1280, 1920)) == []


def test_the_check_sees_a_table_wider_than_the_window_and_pictures_shrunk_below_10_px_text(tmp_path):
    cells = "".join(f"<td>{'wide' * 20}</td>" for _ in range(12))
    page = tmp_path / "wide.html"
    page.write_text(
        f"<!DOCTYPE html><html><body><table><tr>{cells}</tr></table>"
        f'<img style="width:600px" src="{_png_uri(1240)}"></body></html>'
    )
    found = check_pages.check([page], widths=(1280,))
    assert any("table" in p and "the window is 1280" in p for p in found)
    assert any("scrolls sideways" in p for p in found)
    assert any("shown at 48% of its size" in p for p in found)


def _png_uri(width: int) -> str:
    """A white PNG `width` x 10 px as a data URI."""
    import base64
    import io

    from matplotlib.figure import Figure

    fig = Figure(figsize=(width / 100, 0.1), dpi=100)
    png = io.BytesIO()
    fig.savefig(png, format="png")
    return "data:image/png;base64," + base64.b64encode(png.getvalue()).decode("ascii")
