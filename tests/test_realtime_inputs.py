"""Only series that existed by day D: the stress indices published years later are missing before then.

STLFSI (January 2010) and NFCI (May 2011) are full-sample models whose early history is a
reconstruction. A default run must not read them before they were first published: their
values before those days are perturbed here, and nothing before the days moves. With
`data.allow_backfilled_indices` the reconstruction is used, the same perturbation moves the
run, and the run says so everywhere.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fedcut.core.params import resolve
from fedcut.data.catalog import BACKFILLED, BACKFILLED_LABEL
from fedcut.run.backtest import run

pytestmark = pytest.mark.slow  # whole runs and commands: not in the edit-test loop

ROOT = Path(__file__).resolve().parents[1]
SPAN = {"run.start": "2006-01-03", "run.end": "2012-06-29"}


def _perturbed(shared: Path, folder: Path) -> Path:
    """A data folder whose STLFSI4 and NFCI values before their first publication scream crisis."""
    (folder / "macro").mkdir(parents=True)
    for kind in ("prices", "calendar", "cboe"):
        if (shared / kind).exists():
            (folder / kind).symlink_to(shared / kind)
    for f in (shared / "macro").glob("*.csv"):
        target = folder / "macro" / f.name
        if f.stem in BACKFILLED:
            frame = pd.read_csv(f, dtype=str, keep_default_na=False)
            dates = pd.to_datetime(frame.iloc[:, 0])
            values = pd.to_numeric(frame.iloc[:, 1], errors="coerce")
            early = dates < pd.Timestamp(BACKFILLED[f.stem])
            frame.iloc[:, 1] = np.where(early & values.notna(), (values * 3 + 5).map("{:.4f}".format), frame.iloc[:, 1])
            frame.to_csv(target, index=False)
        else:
            target.symlink_to(f)
    return folder


@pytest.fixture(scope="module")
def folders(shared_data, tmp_path_factory):
    return shared_data, _perturbed(shared_data, tmp_path_factory.mktemp("backfilled"))


def test_a_default_run_reads_no_stress_index_before_it_was_published(folders):
    real, perturbed = folders
    cfg = resolve(SPAN)
    a, b = run(cfg, str(real), True), run(cfg, str(perturbed), True)
    first = min(pd.Timestamp(d) for d in BACKFILLED.values())
    before = a.signals.index < first
    pd.testing.assert_frame_equal(a.signals[before], b.signals[before])
    pd.testing.assert_frame_equal(a.equity[a.equity.index < first], b.equity[b.equity.index < first])
    for sid, column in (("STLFSI4", "stlfsi"), ("NFCI", "nfci")):
        day = pd.Timestamp(BACKFILLED[sid])
        assert a.signals.loc[a.signals.index < day, column].isna().all()
        assert a.signals.loc[a.signals.index >= day, column].notna().all()


def test_the_backfilled_mode_reads_them_and_the_perturbation_moves_it(folders):
    real, perturbed = folders
    cfg = resolve({**SPAN, "data.allow_backfilled_indices": True})
    a, b = run(cfg, str(real), True), run(cfg, str(perturbed), True)
    early = a.signals.index < pd.Timestamp("2010-01-01")
    assert a.signals.loc[early, "stlfsi"].notna().all()
    assert (b.signals.loc[early, "regime"] == "crisis").mean() > (a.signals.loc[early, "regime"] == "crisis").mean()
    assert not a.equity["strategy"][early].equals(b.equity["strategy"][early])


def test_the_backfilled_mode_is_labelled_everywhere(shared_data, tmp_path):
    out = tmp_path / "run"
    cmd = [
        sys.executable,
        str(ROOT / "run_backtest.py"),
        "--start",
        "2007-01-03",
        "--end",
        "2009-12-31",
        "--set",
        "data.allow_backfilled_indices=true",
        "--data-dir",
        str(shared_data),
        "--out",
        str(out),
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert BACKFILLED_LABEL in done.stdout
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["run"]["backfilled_indices"] is True and metrics["run"]["backfilled_label"] == BACKFILLED_LABEL
    assert (out / "config.toml").read_text().startswith(f"# {BACKFILLED_LABEL}")
    page = (out / "report.html").read_text()
    assert page.count("BACKFILLED INDICES") >= 2  # banner and warnings


def test_a_discontinued_series_is_missing_after_it_stopped_not_carried_forward():
    """The TED spread ended 2022-01-21. Its last value must not be read as every later day's: a
    last value of 1.0 (between calm 0.75 and crisis 1.5) would otherwise keep any crisis from
    ever ending. Before the stop the value is read as published (a business day later)."""
    from fedcut.data.asof import asof_frame
    from fedcut.data.catalog import MACRO

    stop = pd.Timestamp(MACRO["TEDRATE"].discontinued)
    obs = pd.bdate_range("2022-01-03", stop - pd.Timedelta(days=1))
    ted = pd.Series(1.0, index=obs, name="TEDRATE")
    days = pd.bdate_range("2022-01-10", "2022-02-28")
    view = asof_frame({"TEDRATE": ted}, days, resolve().data)
    before, after = view.loc[days < stop, "TEDRATE"], view.loc[days >= stop, "TEDRATE"]
    assert len(before) and (before == 1.0).all()
    assert len(after) and after.isna().all()
    assert (view.loc[days >= stop, "TEDRATE_obs"] == obs[-1]).all()  # the last observation is still named


def test_a_missing_bank_etf_file_is_said_not_silently_replaced(shared_data, tmp_path):
    """Without KRE.csv and KBE.csv the bank-stress gauge can only read XLF, a different reading of
    March 2023: the run says so in its notes (and `metrics.json`), naming the missing files."""
    from fedcut.core.params import resolve
    from fedcut.run.backtest import run

    for kind in ("prices", "macro", "calendar", "cboe"):
        (tmp_path / kind).mkdir()
        for f in (shared_data / kind).glob("*.csv"):
            if f.stem not in ("KRE", "KBE"):
                (tmp_path / kind / f.name).symlink_to(f)
    cfg = resolve({"run.start": "2022-06-01", "run.end": "2023-06-30"})
    notes = run(cfg, data_dir=str(tmp_path), offline=True).metrics["run"]["notes"]
    said = [n for n in notes if "bank-stress gauge" in n]
    assert said == ["warning: bank-stress gauge: no price file for KRE, KBE; it reads XLF instead"]
    full = run(cfg, data_dir=str(shared_data), offline=True).metrics["run"]["notes"]
    assert not any("bank-stress gauge" in n for n in full)
