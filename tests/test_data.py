"""Data layer: readers and their validation, sources, as-of view, proxies, cut calendar, CLI."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from fedcut.cli import main
from fedcut.core.errors import DataError
from fedcut.core.params import defaults
from fedcut.data import asof, fetch, readers
from fedcut.data.cuts import easing_cycles, rate_changes, target_series
from fedcut.data.market import build_market
from fedcut.data.sources import DataSource

DATA = defaults().data
GOOD_OHLC = (
    "Date,Open,High,Low,Close,Adj Close,Volume\n2020-01-02,10,11,9,10.5,10.0,100\n2020-01-03,10.5,11,10,10.8,10.3,100\n"
)


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


# --- readers ---------------------------------------------------------------------------------


def test_reads_all_three_yahoo_shapes(tmp_path):
    ohlc = readers.read_price_csv(write(tmp_path, "A.csv", GOOD_OHLC))
    assert list(ohlc.columns) == ["open", "high", "low", "close", "adj_close", "volume"]
    assert ohlc.loc["2020-01-03", "adj_close"] == 10.3
    adj = readers.read_price_csv(write(tmp_path, "B.csv", "Date,Adj Close\n2020-01-02,5\n2020-01-03,6\n"))
    assert adj["adj_close"].tolist() == [5.0, 6.0]
    idx = readers.read_price_csv(write(tmp_path, "C.csv", "Date,Close\n2020-01-02,1.5\n"))
    assert isinstance(idx.index, pd.DatetimeIndex) and idx["close"].iloc[0] == 1.5


@pytest.mark.parametrize(
    "text, problem",
    [
        ("", "empty file"),
        ("Date,Open,High,Low,Close,Adj Close,Volume\n", "no data rows"),
        ("Date,Price\n2020-01-02,1\n", "unexpected columns"),
        ("Date,Adj Close\n2020-01-02,abc\n", "'abc' is not a number"),
        ("Date,Adj Close\n2020-01-02,1\n2020-01-02,2\n", "duplicate date 2020-01-02"),
        ("Date,Adj Close\n2020-01-03,1\n2020-01-02,2\n", "not sorted"),
        ("Date,Adj Close\n2020-01-02,1\n2999-01-02,2\n", "in the future"),
        ("Date,Adj Close\n2020-01-02,1\n2020-01-03,-2\n", "non-positive price on 2020-01-03"),
        ("Date,Adj Close\n02/01/2020,1\n", "is not YYYY-MM-DD"),
        (
            "Date,Open,High,Low,Close,Adj Close,Volume\n2020-01-02,10,11,9,,10,100\n2020-01-03,10,11,9,10,10,100\n",
            "missing price on 2020-01-02",
        ),
        ("Date,Open,High,Low,Close,Adj Close,Volume\n2020-01-02,10,9,8,10,10,100\n", "OHLC inconsistent on 2020-01-02"),
    ],
)
def test_bad_price_files_are_refused_with_file_and_problem(tmp_path, text, problem):
    path = write(tmp_path, "BAD.csv", text)
    with pytest.raises(DataError) as err:
        readers.read_price_csv(path)
    assert str(path) in str(err.value) and problem in str(err.value)


def test_missing_file_names_the_path(tmp_path):
    with pytest.raises(DataError, match="NOPE.csv: file not found"):
        readers.read_price_csv(tmp_path / "NOPE.csv")


def test_long_gap_is_a_warning_not_an_error(tmp_path):
    path = write(tmp_path, "G.csv", "Date,Adj Close\n2020-01-02,1\n2020-01-20,1.1\n")
    with pytest.warns(readers.DataWarning, match="18-day gap before 2020-01-20"):
        assert len(readers.read_price_csv(path)) == 2


def test_fred_missing_markers_and_absent_rows(tmp_path):
    path = write(tmp_path, "X.csv", "DATE,X\n2020-01-01,1.5\n2020-01-02,.\n2020-01-03,\n2020-01-06,2.0\n")
    s = readers.read_fred_csv(path)
    assert s.name == "X" and s.to_dict() == {pd.Timestamp("2020-01-01"): 1.5, pd.Timestamp("2020-01-06"): 2.0}


def _numbers_both_ways(path, missing):
    """The file's value columns read by the C parser's fast path and cell by cell (the text path),
    each as floats or as the DataError it raised."""
    out = []
    for numbers in (missing, None):
        try:
            raw = readers._read_text_csv(path, numbers=numbers)
            dates = raw.iloc[:, 0].to_numpy()
            frame = readers._to_numeric(raw.iloc[:, 1:], path, pd.to_datetime(dates, errors="coerce"), missing)
            out.append({c: frame[c].to_numpy() for c in frame})
        except DataError as exc:
            out.append(str(exc))
    return out


def test_fast_numbers_are_the_cell_by_cell_numbers_bit_for_bit(shared_data):
    """Every real file: the fast path reads it (no file falls back) and gives the same bits."""
    files = [(f, ()) for f in sorted((shared_data / "prices").glob("*.csv"))]
    files += [(f, (".",)) for f in sorted((shared_data / "macro").glob("*.csv"))]
    assert len(files) > 40
    for path, missing in files:
        assert readers._read_numbers(path.read_text(), missing) is not None, path
        fast, text = _numbers_both_ways(path, missing)
        assert fast.keys() == text.keys(), path
        for col in fast:
            assert np.array_equal(fast[col].view(np.int64), text[col].view(np.int64)), (path, col)


@pytest.mark.parametrize(
    "cell", ["nan", "NaN", " ", " . ", "N/A", "1.5e", "0x10", "1_000", "inf", "1e400", " 2.5 ", "+3", ".", "", '"4.5"']
)
def test_fast_numbers_agree_with_the_text_path_on_odd_cells(tmp_path, cell):
    """A cell the C parser might read otherwise than the text path: the same value or the same error."""
    for missing in ((), (".",)):
        path = write(tmp_path, "X.csv", f"DATE,X\n2020-01-01,1.5\n2020-01-02,{cell}\n2020-01-03,2\n")
        fast, text = _numbers_both_ways(path, missing)
        if isinstance(text, str):
            assert fast == text
        else:
            assert np.array_equal(fast["X"], text["X"], equal_nan=True)


@pytest.mark.parametrize(
    "text",
    [
        "DATE,X,Y\n2020-01-01,1,2\n2020-01-02,3\n2020-01-03,4,5\n",
        "DATE,X,Y\n2020-01-01,1,2\n\n2020-01-02,,\n",
        'DATE,X,Y\n2020-01-01,"1,5",2\n2020-01-02,,3\n',
    ],
)
def test_short_rows_blank_lines_and_quoted_commas_are_read_as_the_text_path_reads_them(tmp_path, text):
    """A short row's absent cells are empty on both paths; a quoted comma is refused on both."""
    path = write(tmp_path, "X.csv", text)
    fast, slow = _numbers_both_ways(path, ())
    if isinstance(slow, str):
        assert fast == slow
    else:
        assert fast.keys() == slow.keys()
        assert all(np.array_equal(fast[c], slow[c], equal_nan=True) for c in fast)


def test_real_files_load_with_known_facts(source):
    iwm = source.prices("IWM")
    assert iwm.index[0] == pd.Timestamp("2000-05-26")
    assert iwm.loc["2020-03-23", "close"] == pytest.approx(99.90, abs=0.01)
    assert source.macro("UNRATE").loc["2020-04-01"] == 14.8
    assert source.macro("CPIAUCSL").index.is_unique  # the real October 2025 gap is simply absent
    assert pd.Timestamp("2025-10-01") not in source.macro("CPIAUCSL").index


# --- sources and downloads -----------------------------------------------------------------


def test_offline_with_nothing_found_says_which_series_and_the_fix(tmp_path):
    src = DataSource(data_dir=tmp_path, cache_dir=tmp_path / "cache", offline=True)
    with pytest.raises(DataError) as err:
        src.prices("IWM")
    msg = str(err.value)
    assert "series IWM not found" in msg and "FEDCUT_DATA_DIR" in msg and "\n" not in msg


def test_cache_is_read_after_the_data_directory(tmp_path):
    (tmp_path / "cache" / "prices").mkdir(parents=True)
    write(tmp_path / "cache" / "prices", "VO.csv", "Date,Adj Close\n2020-01-02,7\n")
    src = DataSource(data_dir=None, cache_dir=tmp_path / "cache", offline=True)
    assert src.prices("VO")["adj_close"].iloc[0] == 7.0
    assert src.origin["VO"].endswith("cache/prices/VO.csv")


def test_fred_refresh_merges_and_never_shortens_history(tmp_path):
    cache = tmp_path / "cache"
    (cache / "macro").mkdir(parents=True)
    write(cache / "macro", "BAMLH0A0HYM2.csv", "DATE,BAMLH0A0HYM2\n1996-12-31,3.13\n1997-01-02,3.06\n2023-01-03,4.0\n")
    served = b"observation_date,BAMLH0A0HYM2\n2023-01-03,4.1\n2023-01-04,4.2\n"
    with pytest.warns(readers.DataWarning, match="keeping the cached history"):
        path = fetch.refresh("macro", "BAMLH0A0HYM2", cache, get=lambda url: served)
    merged = readers.read_fred_csv(path)
    assert merged.index[0] == pd.Timestamp("1996-12-31")  # the long history survives
    assert merged.loc["2023-01-03"] == 4.1 and merged.loc["2023-01-04"] == 4.2  # revisions and new rows land


def test_empty_or_failed_downloads_are_errors_and_leave_the_cache_alone(tmp_path):
    cache = tmp_path / "cache"
    with pytest.raises(DataError, match="no rows"):
        fetch.refresh("prices", "IWM", cache, download_prices_fn=lambda s: pd.DataFrame())

    def offline(url):
        raise OSError("no network")

    with pytest.raises(DataError, match="FRED download of DGS2 failed"):
        fetch.refresh("macro", "DGS2", cache, get=offline)
    assert not cache.exists() or not any(cache.rglob("*.csv"))


def test_a_fetch_with_no_network_stops_after_its_first_failures_in_one_line(tmp_path, monkeypatch):
    """No network: each download fails ("possibly delisted" from yfinance); the fetch stops after
    STOP_AFTER_FAILURES with one error naming them, instead of one FAILED line per series. One
    failure among successes is still reported and the fetch goes on."""
    from fedcut import datacli

    calls = []

    def unreachable(kind, name, cache_dir):
        calls.append(name)
        raise DataError(f"yfinance returned no rows for {name} (possibly delisted)")

    monkeypatch.setattr(datacli.fetch, "refresh", unreachable)
    source = DataSource(data_dir=None, cache_dir=tmp_path / "cache", offline=False)
    printed = []
    with pytest.raises(DataError) as err:
        datacli.fetch_all(source, None, out=printed.append)
    assert len(calls) == datacli.STOP_AFTER_FAILURES and printed == []
    assert str(err.value).startswith(f"data fetch: the first {datacli.STOP_AFTER_FAILURES} downloads failed")
    assert "\n" not in str(err.value) and all(name in str(err.value) for name in calls)

    def one_bad(kind, name, cache_dir):
        if name == "SPY":
            raise DataError("yfinance returned no rows for SPY")
        return tmp_path / f"{name}.csv"

    monkeypatch.setattr(datacli.fetch, "refresh", one_bad)
    printed.clear()
    assert datacli.fetch_all(source, ["SPY", "IWM", "VO", "DGS2"], out=printed.append) == 1
    assert printed[0] == "SPY: FAILED yfinance returned no rows for SPY" and len(printed) == 4


def test_price_download_is_written_in_the_file_format(tmp_path):
    idx = pd.DatetimeIndex(["2020-01-02", "2020-01-03"], name="Date")
    frame = pd.DataFrame(
        {
            "Open": [1.0, 1.2],
            "High": [1.5, 1.5],
            "Low": [0.5, 1.0],
            "Close": [1.2, 1.3],
            "Adj Close": [1.1, 1.2],
            "Volume": [10, 20],
        },
        index=idx,
    )
    path = fetch.refresh("prices", "XLP", tmp_path, download_prices_fn=lambda s: frame)
    assert path.read_text().splitlines()[0] == "Date,Open,High,Low,Close,Adj Close,Volume"
    assert readers.read_price_csv(path)["adj_close"].tolist() == [1.1, 1.2]


# --- point in time ---------------------------------------------------------------------------


def test_cpi_for_a_month_is_invisible_before_its_release_day():
    p = defaults().data
    cpi = pd.Series([100.0, 101.0], index=pd.DatetimeIndex(["2019-05-01", "2019-06-01"]), name="CPIAUCSL")
    days = pd.bdate_range("2019-07-01", "2019-07-31")
    view = asof.asof_frame({"CPIAUCSL": cpi}, days, p)
    release = pd.Timestamp(f"2019-07-{p.cpi_release_day:02d}")
    assert (view.loc[view.index < release, "CPIAUCSL"] == 100.0).all()
    assert (view.loc[view.index >= release, "CPIAUCSL"] == 101.0).all()
    first_day = view.index[view.index >= release][0]
    assert view.loc[first_day, "CPIAUCSL_obs"] == pd.Timestamp("2019-06-01")


def test_jobs_report_known_on_the_first_friday_on_or_after_the_min_day():
    p = defaults().data
    dates = pd.DatetimeIndex(["2019-12-01", "2020-01-01"])
    known = asof.known_dates(dates, "jobs", p)
    assert list(known) == [pd.Timestamp("2020-01-10"), pd.Timestamp("2020-02-07")]
    assert all(k.day_of_week == 4 for k in known)


def test_weekly_and_daily_lags():
    p = defaults().data
    assert asof.known_dates(pd.DatetimeIndex(["2020-03-21"]), "weekly_claims", p)[0] == pd.Timestamp("2020-03-26")
    assert asof.known_dates(pd.DatetimeIndex(["2020-03-20"]), "weekly_nfci", p)[0] == pd.Timestamp("2020-03-25")
    assert asof.known_dates(pd.DatetimeIndex(["2020-03-20"]), "market_daily", p)[0] == pd.Timestamp("2020-03-23")
    with pytest.raises(DataError, match="never a signal"):
        asof.known_dates(pd.DatetimeIndex(["2020-03-01"]), "label", p)


def test_asof_view_up_to_d_ignores_everything_published_after_d(source):
    p = defaults().data
    series = {s: source.macro(s) for s in ("CPIAUCSL", "ICSA", "BAMLH0A0HYM2", "UNRATE")}
    days = source.prices("IWM").index
    base = asof.asof_frame(series, days, p)
    cutoff = pd.Timestamp("2008-09-15")
    rng = np.random.default_rng(0)
    perturbed = {}
    for sid, s in series.items():
        known = asof.known_dates(s.index, asof.MACRO[sid].lag_rule, p)
        late = known > cutoff
        s = s.copy()
        s[late] = s[late].to_numpy() * rng.uniform(0.1, 10, late.sum())
        perturbed[sid] = s
    after = asof.asof_frame(perturbed, days, p)
    pd.testing.assert_frame_equal(base.loc[:cutoff], after.loc[:cutoff])
    assert not base.loc[cutoff:].equals(after.loc[cutoff:])


def test_missing_indicator_is_nan_not_zero(source):
    view = asof.asof_frame(
        {"BAMLH0A0HYM2": source.macro("BAMLH0A0HYM2")}, pd.bdate_range("1996-12-02", "1997-01-10"), defaults().data
    )
    assert view.loc[:"1996-12-31", "BAMLH0A0HYM2"].isna().all()
    assert view.loc["1997-01-02", "BAMLH0A0HYM2"] == 3.13


# --- market and proxies ----------------------------------------------------------------------


def test_extended_history_chains_rut_into_iwm_by_returns(source):
    m = build_market(source, ("VO",), "", "2001-12-31", "extended", DATA)
    assert m.days[0] == pd.Timestamp("1990-01-02")
    iwm_ret = m.close["IWM"].pct_change()
    own = source.prices("IWM")["adj_close"].pct_change()
    after = m.days[(m.days > pd.Timestamp("2000-05-26"))]
    np.testing.assert_allclose(iwm_ret[after], own.reindex(after), rtol=1e-12)
    rut = source.prices("RUT")["close"]
    before = m.days[(m.days > m.days[0]) & (m.days < pd.Timestamp("2000-05-26"))]
    rut_ret = rut.pct_change().reindex(before)
    assert ((iwm_ret[before] - rut_ret) > 0).all()  # dividend accrual only adds
    assert (iwm_ret[before] - rut_ret).max() < 0.001
    span = next(s for s in m.proxies if s.ticker == "IWM")
    assert (span.proxy, span.end) == ("RUT", pd.Timestamp("2000-05-25"))


def test_proxy_spans_and_no_backfill_without_proxy(source):
    m = build_market(source, ("VO", "OUSM", "IEF"), "", "", "iwm", DATA)
    spans = {s.ticker: s for s in m.proxies}
    assert spans["VO"].proxy == "MDY" and spans["VO"].end == pd.Timestamp("2004-01-29")
    assert spans["OUSM"].proxy == "IJR" and spans["OUSM"].end == pd.Timestamp("2016-12-29")
    assert m.close["IEF"].first_valid_index() == pd.Timestamp("2002-07-30")
    vo = m.close["VO"].pct_change()
    own = source.prices("VO")["adj_close"].pct_change()
    np.testing.assert_allclose(vo.loc["2004-02-02":"2004-12-31"], own.loc["2004-02-02":"2004-12-31"], rtol=1e-12)
    assert m.end_set_by == "IWM" and m.days[-1] == pd.Timestamp("2025-09-26")


def test_requested_range_outside_the_data_is_refused(source):
    with pytest.raises(DataError, match="IWM: starts 2000-05-26, after the requested start 1999-01-04"):
        build_market(source, (), "1999-01-04", "", "iwm", DATA)
    with pytest.raises(DataError, match="before the requested end 2030-01-02"):
        build_market(source, (), "", "2030-01-02", "iwm", DATA)
    with pytest.raises(DataError, match="run.start 1950-01-03: before 1954-07-02, the long history's first day"):
        build_market(source, (), "1950-01-03", "", "long", DATA)


# --- rate-cut calendar -----------------------------------------------------------------------


def test_cut_calendar_finds_every_easing_cycle_from_the_data(source):
    target = target_series(source.macro("DFEDTAR"), source.macro("DFEDTARU"))
    changes = rate_changes(target)
    cycles = easing_cycles(changes)
    recent = cycles[cycles["decision"] >= "1990-01-01"]
    assert [d.date().isoformat() for d in recent["decision"]] == [
        "1995-07-06",
        "1998-09-29",
        "2001-01-03",
        "2007-09-18",
        "2019-07-31",
        "2024-09-18",
    ]
    assert recent["change_bp"].tolist() == [-25, -25, -50, -50, -25, -50]
    sunday = changes[changes["effective"] == "2020-03-16"].iloc[0]
    assert sunday["decision"] == pd.Timestamp("2020-03-15") and sunday["change_bp"] == -100


# --- CLI -------------------------------------------------------------------------------------


def test_data_status_lists_every_series_and_exits_zero(shared_data, capsys):
    assert main(["data", "status", "--data-dir", str(shared_data), "--offline"]) == 0
    out = capsys.readouterr().out
    for name in ("IWM", "VIX", "BAMLH0A0HYM2", "SAHMREALTIME", "proxy  OUSM <- IJR"):
        assert name in out
    fomc = next(line for line in out.splitlines() if line.startswith("FOMC "))
    assert fomc.split()[1:4] == ["1987-02-11", "2026-12-09", "412"] and fomc.endswith("calendar/FOMC.csv")


def test_data_status_names_a_broken_file_and_exits_nonzero(shared_data, tmp_path, capsys):
    for kind in ("prices", "macro", "calendar", "cboe"):
        (tmp_path / kind).mkdir()
        for f in (shared_data / kind).glob("*.csv"):
            (tmp_path / kind / f.name).symlink_to(f)
    (tmp_path / "prices" / "VIX.csv").unlink()
    (tmp_path / "prices" / "VIX.csv").write_text("Date,Close\n2020-01-02,abc\n")
    assert main(["data", "status", "--data-dir", str(tmp_path), "--offline"]) != 0
    out = capsys.readouterr().out
    assert "VIX.csv: 2020-01-02: close value 'abc' is not a number" in out


def test_missing_data_dir_is_one_line_error(tmp_path, capsys):
    assert main(["data", "status", "--data-dir", str(tmp_path / "nope"), "--offline"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: data directory") and err.count("\n") == 1


def test_warnings_are_not_raised_by_the_real_files(source):
    with warnings.catch_warnings():
        warnings.simplefilter("error", readers.DataWarning)
        for t in ("IWM", "VO", "OUSM", "SPY", "XLP", "XLU", "IEF", "VIX", "RUT"):
            source.prices(t)
