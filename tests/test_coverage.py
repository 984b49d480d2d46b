"""Every series a run reads covers the days it needs it, or the run says so (or refuses): macro
holes and late starts, the bank gauge's ETFs short or holed, the FOMC calendar complete. The
refusals are cases of tests/test_bad_inputs.py; these are the damaged inputs a run survives, each
named in its notes, and the checks on the real files."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from fedcut.core.errors import DataError
from fedcut.core.params import resolve
from fedcut.data.catalog import GAP_LIMIT_DAYS, GAP_NOTE_DAYS, MACRO
from fedcut.data.coverage import macro_notes
from fedcut.data.cuts import check_calendar
from fedcut.data.sources import DataSource
from fedcut.run.backtest import run
from fedcut.run.inputs import clear_caches


def _linked(shared: Path, folder: Path, edits: dict[str, callable]) -> Path:
    """The real data as links, the files in `edits` replaced by edited copies (a list of lines in, out)."""
    for kind in ("prices", "macro", "calendar", "cboe"):
        (folder / kind).mkdir(parents=True)
        for f in (shared / kind).glob("*.csv"):
            (folder / kind / f.name).symlink_to(f)
    for rel, edit in edits.items():
        lines = (shared / rel).read_text().splitlines(keepends=True)
        (folder / rel).unlink()
        (folder / rel).write_text("".join(lines[:1] + edit(lines[1:])))
    return folder


def _without(*days: str):
    return lambda rows: [r for r in rows if r[:10] not in days]


@pytest.fixture(autouse=True)
def cold():
    clear_caches()
    yield
    clear_caches()


def test_the_real_files_have_no_hole_late_start_or_missing_meeting(source):
    days = pd.bdate_range("1990-01-02", "2025-09-26")
    assert macro_notes(source, tuple(MACRO), days) == []
    check_calendar(source.fomc(), "FOMC.csv")  # raises if a year lacks a scheduled meeting


def test_a_gap_is_noted_past_the_longest_real_one_and_refused_past_the_limit(tmp_path, shared_data):
    """A daily series: 13 days without a row is named with its dates; a monthly one: one missing
    month is named, two are refused (the limits of data/catalog.py)."""
    assert GAP_NOTE_DAYS["D"] < 13 <= GAP_LIMIT_DAYS["D"] and GAP_NOTE_DAYS["M"] < 61 <= GAP_LIMIT_DAYS["M"] < 92
    hole = [str(d.date()) for d in pd.bdate_range("2019-06-03", "2019-06-12")]
    data = _linked(
        shared_data, tmp_path / "a", {"macro/DGS2.csv": _without(*hole), "macro/UNRATE.csv": _without("2019-04-01")}
    )
    source = DataSource(data_dir=data, cache_dir=tmp_path / "cache", offline=True)
    notes = macro_notes(source, ("DGS2", "UNRATE"), pd.bdate_range("2019-01-02", "2020-12-31"))
    assert notes == [
        f"warning: {data}/macro/DGS2.csv: no DGS2 observation from 2019-05-31 to 2019-06-13 (13 days): "
        "the value before is carried",
        f"warning: {data}/macro/UNRATE.csv: no UNRATE observation from 2019-03-01 to 2019-05-01 (61 days): "
        "the value before is carried",
    ]
    data = _linked(shared_data, tmp_path / "b", {"macro/UNRATE.csv": _without("2019-04-01", "2019-05-01")})
    source = DataSource(data_dir=data, cache_dir=tmp_path / "cache", offline=True)
    with pytest.raises(DataError, match=r"no UNRATE observation from 2019-03-01 to 2019-06-01 \(92 days\)"):
        macro_notes(source, ("UNRATE",), pd.bdate_range("2019-01-02", "2020-12-31"))
    assert macro_notes(source, ("UNRATE",), pd.bdate_range("2020-01-02", "2020-12-31")) == []  # outside the span


def test_a_short_macro_hole_reaches_the_runs_notes_and_todays_call(tmp_path, shared_data):
    from fedcut.now import todays_call

    hole = [str(d.date()) for d in pd.bdate_range("2019-06-03", "2019-06-12")]
    data = _linked(shared_data, tmp_path / "d", {"macro/DGS2.csv": _without(*hole)})
    note = f"warning: {data}/macro/DGS2.csv: no DGS2 observation from 2019-05-31 to 2019-06-13 (13 days)"
    result = run(resolve({"run.start": "2019-01-02", "run.end": "2020-12-31"}), str(data), True)
    assert any(n.startswith(note) for n in result.metrics["run"]["notes"])
    call = todays_call(resolve({"run.start": "2019-01-02"}), "2020-06-01", data, True)
    assert any(w.startswith(note) for w in call.warnings)


def test_a_three_day_kre_hole_is_named_and_march_2023_stays_a_crisis(tmp_path, shared_data):
    """Before: KBE read those days silently, and the bank run's crisis vanished."""
    cfg = resolve({"run.start": "2022-01-03", "run.end": "2023-12-29"})
    base = run(cfg, str(shared_data), True)
    data = _linked(shared_data, tmp_path / "k", {"prices/KRE.csv": _without("2023-03-14", "2023-03-15", "2023-03-16")})
    clear_caches()
    holed = run(cfg, str(data), True)
    assert (
        f"warning: {data}/prices/KRE.csv has no row for 3 trading days of the run (2023-03-14, 2023-03-15, "
        "2023-03-16): the price of the day before is carried over"
    ) in holed.metrics["run"]["notes"]
    march = slice("2023-03-10", "2023-03-31")
    assert (base.signals.loc[march, "regime"] == "crisis").any()
    assert holed.signals.loc[march, "bank_source"].eq("KRE").all()
    assert holed.signals.loc["2023-03-20":"2023-03-31", "regime"].equals(
        base.signals.loc["2023-03-20":"2023-03-31", "regime"]
    )


def test_a_kre_file_that_ends_early_ends_the_run_and_says_so(tmp_path, shared_data):
    data = _linked(
        shared_data, tmp_path / "e", {"prices/KRE.csv": lambda rows: [r for r in rows if r[:10] <= "2022-06-30"]}
    )
    result = run(resolve({"run.start": "2021-01-04"}), str(data), True)
    assert result.metrics["run"]["end"] == "2022-06-30" and result.metrics["run"]["end_set_by"] == "KRE"
    assert result.signals["bank_source"].eq("KRE").all()


def test_a_calendar_with_an_added_or_a_lost_meeting_is_refused_naming_the_year(source):
    fomc = source.fomc()
    extra = pd.concat(
        [fomc, pd.DataFrame({"kind": ["scheduled"]}, index=pd.DatetimeIndex(["2005-07-01"]))]
    ).sort_index()
    with pytest.raises(DataError, match="2005 has 9 scheduled meetings, 8 expected"):
        check_calendar(extra, "FOMC.csv")
    lost = fomc.drop(pd.Timestamp("2020-01-29"))
    with pytest.raises(DataError, match="2020 has 6 scheduled meetings, 7 expected"):
        check_calendar(lost, "FOMC.csv")
    check_calendar(fomc[fomc.index < "2026-06-01"], "FOMC.csv")  # a year not yet complete is not counted


def test_todays_call_says_which_lagging_file_set_its_day_and_names_a_missing_bank_etf(tmp_path, shared_data):
    """A VIX file ending before IWM's moves the call back: the call says so and names the file; a
    missing KRE (the gauge reads KBE) is a warning of the call, not only a note of a run."""
    from fedcut.now import todays_call

    data = _linked(
        shared_data, tmp_path / "v", {"prices/VIX.csv": lambda rows: [r for r in rows if r[:10] <= "2025-09-19"]}
    )
    (data / "prices" / "KRE.csv").unlink()
    call = todays_call(resolve({"run.start": "2024-01-02"}), None, data, True)
    assert call.as_of == pd.Timestamp("2025-09-19") and call.end_set_by == "VIX"
    assert (
        f"the call is for 2025-09-19, the last day {data}/prices/VIX.csv covers, though IWM's prices go on to "
        "2025-09-26: refresh VIX for a later call"
    ) in call.warnings
    assert "warning: bank-stress gauge: no price file for KRE; it reads KBE, XLF instead" in call.warnings


def test_a_weekend_just_after_the_data_is_the_last_trading_days_call_and_a_weekday_is_refused(shared_data):
    from fedcut.core.errors import ConfigError
    from fedcut.now import todays_call

    cfg = resolve({"run.start": "2024-01-02"})
    saturday = todays_call(cfg, "2025-09-27", shared_data, True)  # the data ends Friday 2025-09-26
    assert saturday.as_of == pd.Timestamp("2025-09-26") and saturday.requested == pd.Timestamp("2025-09-27")
    with pytest.raises(ConfigError, match="--as-of 2025-09-29: after the last day the data covers, 2025-09-26"):
        todays_call(cfg, "2025-09-29", shared_data, True)
