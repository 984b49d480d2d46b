"""The regime's inputs by era in the long history: each fallback's default is refitted here from the
data on its overlap with the modern gauge (so a default cannot drift from what it claims), each
switches on the day its successor's first observation was known, reads only what was published by
each day, and the easing-cycle chronology finds the cycles since 1957."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pandas.tseries.offsets import BDay

from fedcut.core.params import defaults, resolve
from fedcut.run.backtest import run

DATA = defaults().data
PERCENT_35 = 35.0  # the VIX level whose days the modelled volatility is matched on (capitulation, VIX rule)


def _fred(shared, name: str) -> pd.Series:
    return (
        pd.read_csv(shared / "macro" / f"{name}.csv", index_col=0, parse_dates=True, na_values=["."])
        .iloc[:, 0]
        .dropna()
    )


@pytest.fixture(scope="module")
def calendar(shared_data) -> pd.DatetimeIndex:
    """The long history's trading days, from the files: the French days before IWM's, then IWM's."""
    french = pd.read_csv(shared_data / "french" / "size_deciles_vw_daily.csv", index_col=0, parse_dates=True).index
    iwm = pd.read_csv(shared_data / "prices" / "IWM.csv", index_col=0, parse_dates=True).index
    return french[french < iwm[0]].union(iwm)


def _asof(series: pd.Series, known: pd.DatetimeIndex, days: pd.DatetimeIndex) -> pd.Series:
    """Each day's latest value known by then, by hand."""
    by_known = pd.Series(series.to_numpy(), index=known).groupby(level=0).last()
    return by_known.reindex(by_known.index.union(days)).ffill().reindex(days)


def _daily(series, days):  # FRED posts a day's market series the next business day
    return _asof(series, series.index + BDay(DATA.daily_market_lag_days), days)


def _monthly(series, days):  # a monthly average is known once its month is over
    return _asof(series, series.index + pd.offsets.MonthEnd(0) + BDay(DATA.monthly_average_lag_days), days)


def _matched(modern: pd.Series, level: float, fallback: pd.Series, at_or_above: bool) -> float:
    """The fallback's level flagging as many overlap days as `modern` against `level` does."""
    both = pd.concat([modern, fallback], axis=1).dropna()
    share = (both.iloc[:, 0] >= level).mean() if at_or_above else (both.iloc[:, 0] <= level).mean()
    return float(np.quantile(both.iloc[:, 1], 1 - share if at_or_above else share))


# --- every matched default, refitted from the data ---------------------------------------------------


def test_the_realised_volatility_multiplier_gives_as_many_days_at_35_as_vix(shared_data):
    factors = pd.read_csv(shared_data / "french" / "ff3_factors_daily_202505.csv", index_col=0, parse_dates=True)
    vix = pd.read_csv(shared_data / "prices" / "VIX.csv", index_col=0, parse_dates=True)["Close"]
    returns = np.log1p((factors["Mkt-RF"] + factors["RF"]) / 100)
    realised = returns.rolling(DATA.realised_vol_days).std() * np.sqrt(252) * 100
    both = pd.concat([vix, realised], axis=1, join="inner").dropna().loc["1990-01-02":"2025-12-31"]
    share = (both.iloc[:, 0] >= PERCENT_35).mean()
    multiplier = PERCENT_35 / np.quantile(both.iloc[:, 1], 1 - share)
    assert round(multiplier, 3) == DATA.realised_vol_multiplier
    assert round(share, 3) == 0.040  # the share the parameter's reason states
    modelled = both.iloc[:, 1] * DATA.realised_vol_multiplier
    assert abs((modelled >= PERCENT_35).mean() - share) < 0.001


def test_romer_and_romer_decisions_reached_fred_two_days_after_the_meeting(source):
    """The median delay, 1982-10..1994-01, from a meeting that changed the intended rate to FRED's
    next target change in the same direction before the next meeting."""
    romer, target = source.romer(), source.macro("DFEDTAR")
    moves = target.diff()
    moves = moves[moves.fillna(0) != 0]
    meetings = list(romer.index)
    delays = []
    for day, row in romer[(romer.index >= target.index[0]) & (romer.index < "1994-02-04")].iterrows():
        if row["DTARG"] == 0:
            continue
        nxt = meetings[meetings.index(day) + 1]
        same = moves[(moves.index >= day) & (moves.index < nxt) & (np.sign(moves) == np.sign(row["DTARG"]))]
        if len(same):
            delays.append((same.index[0] - day).days)
    assert len(delays) == 35
    assert np.median(delays) == DATA.romer_lag_days


def test_the_cut_pricing_fallbacks_are_matched_on_their_overlaps(shared_data, calendar):
    dff = _daily(_fred(shared_data, "DFF"), calendar)
    two = _daily(_fred(shared_data, "DGS2"), calendar) - dff
    gs1 = _monthly(_fred(shared_data, "GS1"), calendar) - dff
    current = calendar <= pd.Timestamp("2023-12-31")  # GS1's last month, November 2023, is current until then
    gs1_gap = -_matched(two[current], -resolve().regime.two_year_gap, gs1[current], at_or_above=False)
    assert round(gs1_gap, 2) == DATA.gs1_gap
    bill = _daily(_fred(shared_data, "DGS3MO"), calendar) - dff
    dtb3 = _daily(_fred(shared_data, "DTB3"), calendar) - dff
    dtb3_gap = -_matched(bill, -resolve().regime.bill_gap, dtb3.where(bill.notna()), at_or_above=False)
    assert round(dtb3_gap, 2) == DATA.dtb3_gap


def test_the_monthly_credit_fallbacks_are_matched_on_their_overlap(shared_data, calendar):
    regime = resolve().regime
    window = regime.credit_window_days
    daily, monthly = _fred(shared_data, "BAA10Y"), _fred(shared_data, "BAA10YM")
    widening = _daily(daily - daily.rolling(window, min_periods=window // 2).min(), calendar)
    months = round(window / 21)
    widening_m = _monthly(monthly - monthly.rolling(months, min_periods=1).min(), calendar)
    current = calendar <= pd.Timestamp("2023-12-31")
    assert (
        round(_matched(widening[current], regime.baa_widening, widening_m[current], True), 2)
        == DATA.baa_monthly_widening
    )
    level, level_m = _daily(daily, calendar)[current], _monthly(monthly, calendar)[current]
    assert round(_matched(level, regime.baa_damage, level_m, True), 2) == DATA.baa_monthly_damage


# --- the long run: each fallback on its days, from what was published ----------------------------------


@pytest.fixture(scope="module")
def long_run(shared_data):
    return run(resolve({"run.history": "long"}), data_dir=str(shared_data), offline=True)


def _first_day(days: pd.DatetimeIndex, published: pd.Timestamp) -> pd.Timestamp:
    return days[days >= published][0]


def test_each_fallback_hands_over_the_day_its_successor_was_first_known(long_run, shared_data):
    sig, days = long_run.signals, long_run.signals.index
    first = {
        name: _fred(shared_data, name).index[0]
        for name in ("DGS2", "DGS3MO", "BAA10Y", "BAMLH0A0HYM2", "DGS10", "SAHMREALTIME")
    }
    next_day = {name: d + BDay(1) for name, d in first.items()}
    jobs = first["SAHMREALTIME"] + pd.offsets.MonthBegin(1) + pd.Timedelta(days=DATA.jobs_release_min_day - 1)
    jobs += pd.Timedelta(days=(4 - jobs.day_of_week) % 7)  # the first Friday on or after the 5th
    expected = {
        ("two_year_source", "2-year yield"): next_day["DGS2"],
        ("bill_source", "3-month yield"): next_day["DGS3MO"],
        ("credit_source", "BAA-10y"): next_day["BAA10Y"],
        ("credit_source", "HY OAS"): next_day["BAMLH0A0HYM2"],
        ("real_yield_source", "DGS10 - CPI y/y"): next_day["DGS10"],
        ("sahm_source", "Sahm rule (real time)"): jobs,
    }
    for (column, label), published in expected.items():
        switch = _first_day(days, published)
        assert sig[column][sig[column] == label].index[0] == switch, (column, label)
        assert sig.loc[days[days.get_loc(switch) - 1], column] != label  # the day before: still the fallback
    assert str(expected["two_year_source", "2-year yield"].date()) == "1976-06-02"
    gauge = long_run.prepared.market.vix_source
    assert gauge[gauge == "VXO"].index[0] == pd.Timestamp("1986-01-02")
    assert gauge[gauge == "VIX"].index[0] == pd.Timestamp("2003-09-22")
    assert (gauge[days < pd.Timestamp("1986-01-02")] == "realised vol").all()


def test_fallback_values_are_what_was_published_by_each_day(long_run, shared_data, calendar):
    """On days of each fallback era the rules read the series recomputed here from the files with
    their release lags: GS1 and DTB3 against fed funds, the monthly Baa spread, the discount-era puts."""
    sig = long_run.signals
    dff = _daily(_fred(shared_data, "DFF"), calendar)
    gs1 = _monthly(_fred(shared_data, "GS1"), calendar)
    dtb3 = _daily(_fred(shared_data, "DTB3"), calendar)
    baa = _monthly(_fred(shared_data, "BAA10YM"), calendar)
    for day in ("1958-03-03", "1970-03-02", "1974-09-13", "1976-06-01"):
        assert sig.loc[day, "two_year_gap"] == pytest.approx(gs1[day] - dff[day], abs=1e-12), day
        assert sig.loc[day, "bill_gap"] == pytest.approx(dtb3[day] - dff[day], abs=1e-12), day
        assert sig.loc[day, "credit_spread"] == baa[day], day
    # 1970-03-02: February's GS1 average is known that Monday (the month ended on a Saturday)
    assert gs1["1970-03-02"] == _fred(shared_data, "GS1")["1970-02-01"]
    assert gs1["1970-02-27"] == _fred(shared_data, "GS1")["1970-01-01"]


def test_puts_before_1986_are_priced_from_the_modelled_volatility(long_run, shared_data):
    factors = pd.read_csv(shared_data / "french" / "ff3_factors_daily_202505.csv", index_col=0, parse_dates=True)
    returns = np.log1p((factors["Mkt-RF"] + factors["RF"]) / 100)
    window = returns.loc[:"1970-05-26"].iloc[-DATA.realised_vol_days :]
    by_hand = window.std() * np.sqrt(252) * 100 * DATA.realised_vol_multiplier
    inputs = long_run.prepared.broker_inputs
    assert inputs.loc["1970-05-26", "vix"] == pytest.approx(by_hand, rel=1e-12)
    assert (inputs.loc[:"1985-12-31", "div_yield"] == 0).all()  # the spot is a total-return level there
    puts = long_run.trades[long_run.trades["strike"].notna() & (long_run.trades["date"] < "1986-01-01")]
    assert len(puts) > 20
    assert any("modelled" in note for note in long_run.metrics["run"]["notes"])


def test_a_romer_decision_is_known_two_days_after_its_meeting(long_run, source):
    """The 1974-07-16 cut (the first of its cycle) enters the regime on 1974-07-18, not before."""
    sig = long_run.signals
    meeting = pd.Timestamp("1974-07-16")
    assert source.romer().loc[meeting, "DTARG"] < 0
    known = meeting + pd.Timedelta(days=DATA.romer_lag_days)
    assert sig.loc[: known - pd.Timedelta(days=1), "last_change_bp"].iloc[-1] > 0  # the hike before
    assert sig.loc[known, "last_change_bp"] < 0 and sig.loc[known, "cycle_first_cut"] == meeting


def test_a_discount_rate_change_is_known_after_its_month(long_run, source):
    """November 1957's cut of the discount rate is read once November's average is published."""
    sig = long_run.signals
    month = pd.Timestamp("1957-11-01")
    rate = source.macro("MDISCRT")
    assert rate[month] < rate[pd.Timestamp("1957-10-01")]
    known = month + pd.offsets.MonthEnd(0) + BDay(DATA.monthly_average_lag_days)
    assert sig.loc[: known - pd.Timedelta(days=1), "cycle_state"].iloc[-1] != "easing"
    assert sig.loc[known:, "cycle_state"].iloc[0] == "easing"


def test_the_long_history_counts_the_easing_cycles_since_1957(long_run):
    """The chronology's rule on the best record of each era (the discount rate before 1969, Romer and
    Romer to 1982, the target since): the conventional cycles are there, at least 13 in all, and
    from 1989 on exactly the modern histories' seven."""
    cuts = [str(d.date()) for d in long_run.prepared.first_cuts]
    assert long_run.metrics["run"]["start"] == "1954-07-02"
    assert long_run.metrics["verdict"]["n_easing_cycles"] >= 13
    assert len(long_run.episodes) == long_run.metrics["verdict"]["n_easing_cycles"]
    for month in (
        "1957-11",
        "1960-06",
        "1970-",
        "1971-",
        "1974-",
        "1980-",
        "1981-",
        "1982-",
        "1984-",
        "1987-",
        "1989-",
    ):
        assert any(c.startswith(month) for c in cuts), month
    assert cuts[cuts.index("1989-06-06") :] == [
        "1989-06-06",
        "1995-07-06",
        "1998-09-29",
        "2001-01-03",
        "2007-09-18",
        "2019-07-31",
        "2024-09-18",
    ]


# --- the baselines on the long history ------------------------------------------------------------------


def test_the_credit_rules_monthly_thresholds_are_matched_on_their_overlap(shared_data, calendar):
    """baseline.baa_monthly_*: BAA10YM's 3-month rise and level flag as many days of 1986-2023 as the
    daily BAA-10y rule does."""
    b = resolve().baseline
    window = b.credit_window_days
    daily, monthly = _fred(shared_data, "BAA10Y"), _fred(shared_data, "BAA10YM")
    current = calendar <= pd.Timestamp("2023-12-31")
    change = _daily((daily - daily.shift(window)).dropna(), calendar)[current]
    change_m = _monthly((monthly - monthly.shift(round(window / 21))).dropna(), calendar)[current]

    def above(modern, level, fallback):  # the rule flags a value strictly above its threshold
        both = pd.concat([modern, fallback], axis=1).dropna()
        return float(np.quantile(both.iloc[:, 1], 1 - (both.iloc[:, 0] > level).mean()))

    assert round(above(change, b.baa_widening_pp, change_m), 2) == b.baa_monthly_widening_pp
    level, level_m = _daily(daily, calendar)[current], _monthly(monthly, calendar)[current]
    assert round(above(level, b.baa_level, level_m), 2) == b.baa_monthly_level


def _credit_by_hand(shared, days: pd.DatetimeIndex, b) -> pd.Series:
    """The credit rule's alarm recomputed from the files: HY OAS once known, the daily BAA-10y before,
    the monthly BAA10YM before that, each read at its publication lag."""
    window = b.credit_window_days
    hy, baa, baa_m = _fred(shared, "BAMLH0A0HYM2"), _fred(shared, "BAA10Y"), _fred(shared, "BAA10YM")
    hy_out = (_daily((hy - hy.shift(window)).dropna(), days) > b.credit_widening_pp) | (
        _daily(hy, days) > b.credit_level
    )
    baa_out = (_daily((baa - baa.shift(window)).dropna(), days) > b.baa_widening_pp) | (_daily(baa, days) > b.baa_level)
    m_out = (_monthly((baa_m - baa_m.shift(3)).dropna(), days) > b.baa_monthly_widening_pp) | (
        _monthly(baa_m, days) > b.baa_monthly_level
    )
    return hy_out.where(_daily(hy, days).notna(), baa_out.where(_daily(baa, days).notna(), m_out))


def test_the_credit_rule_reads_the_monthly_baa_spread_before_1986_and_switches_the_day_the_daily_is_known(
    long_run, shared_data
):
    from fedcut.strategies.baselines import credit_alarm

    cfg, days = long_run.config, long_run.prepared.market.days
    alarm = pd.Series(credit_alarm(long_run.prepared.raw, days, cfg.data, cfg.baseline), index=days)
    expected = _credit_by_hand(shared_data, days, cfg.baseline).astype(bool)
    assert (alarm == expected).all(), alarm[alarm != expected].index[:5]
    switch = _first_day(days, _fred(shared_data, "BAA10Y").index[0] + BDay(1))
    assert switch == pd.Timestamp("1986-01-03")
    before = days < switch
    assert alarm[before].mean() > 0.05  # the rule steps out before 1986: it is not buy-and-hold there
    # the day before the switch reads December 1985's monthly average (known from 1986-01-02), not the daily
    monthly_only = _credit_by_hand(shared_data, days[before], cfg.baseline)
    assert (alarm[before] == monthly_only).all()


def test_the_credit_rule_before_1986_uses_nothing_published_later(long_run):
    """Perturb BAA10YM after a day: every decision up to that day is unchanged."""
    from fedcut.strategies.baselines import credit_alarm

    cfg, days = long_run.config, long_run.prepared.market.days
    raw = dict(long_run.prepared.raw)
    cut = pd.Timestamp("1975-06-30")
    base = credit_alarm(raw, days, cfg.data, cfg.baseline)
    raw["BAA10YM"] = raw["BAA10YM"].where(raw["BAA10YM"].index <= cut, raw["BAA10YM"] * 3 + 1)
    moved = credit_alarm(raw, days, cfg.data, cfg.baseline)
    known = days <= cut + pd.offsets.MonthEnd(0)  # June's average is known only in July
    assert (base[known] == moved[known]).all()
    assert (
        base[(days > cut + pd.offsets.MonthEnd(1)) & (days < pd.Timestamp("1986-01-03"))]
        != moved[(days > cut + pd.offsets.MonthEnd(1)) & (days < pd.Timestamp("1986-01-03"))]
    ).any()


def test_the_volatility_rule_reads_the_eras_gauge(long_run):
    """The VIX rule reads the same gauge as the regime: realised volatility before 1986, VXO to
    2003-09-19, VIX after; its days out are the gauge's days above baseline.vix_exit."""
    from fedcut.strategies.baselines import plan

    p, cfg = long_run.prepared, long_run.config
    m = p.market
    weights = plan("vix_rule", p.tickers, m.days, m.close["IWM"], m.vix, p.raw, cfg.data, cfg.strategy, cfg.baseline)
    out = weights[:, 0] == 0.0
    assert (out == (m.vix > cfg.baseline.vix_exit).to_numpy()).all()
    assert out[m.days < pd.Timestamp("1986-01-02")].any()  # the modelled gauge reaches 35 before 1986 (1962, 1970, ...)


def test_every_cycle_is_in_episodes_metrics_and_the_count(long_run):
    episodes, m = long_run.episodes, long_run.metrics
    assert len(episodes) == 26 and list(m["cycles"]) == list(episodes["cycle"])
    tally = m["cycle_verdict"]
    partial = list(episodes.loc[~episodes["complete"], "cycle"])
    assert tally["excluded"] == partial == ["2024"] and tally["n"] == 25
    complete = episodes[episodes["complete"]]
    assert tally["shallower_drawdown"]["k"] == int(
        (complete["strategy_max_drawdown"] > complete["benchmark_max_drawdown"]).sum()
    )
    assert tally["higher_return"]["k"] == int((complete["strategy_return"] > complete["benchmark_return"]).sum())
    best = m["cycle_verdict"]["best_baseline"]
    others = {n: f["sharpe"] for n, f in m["baselines"].items() if n != "buy_and_hold"}
    assert best == max(others, key=others.get)
    for ep in episodes.itertuples():
        assert ep.best_baseline_return == m["baselines"][best]["cycles"][ep.cycle]["return"]


def test_buy_and_hold_small_caps_is_an_independent_compounding_of_the_spliced_files(long_run, shared_data):
    """French Qnt 2's daily returns to 1978-12-29 (the Russell index's first day, on which it takes
    over at Qnt 2's level), the Russell 2000 total-return index's own returns to 2000-05-26, IWM's
    adjusted close's after: compounded here from the files, equal to the level buy-and-hold holds to
    1e-9; buy-and-hold's value is whole shares of that level plus its T-bill cash."""
    days = long_run.prepared.market.days
    french = pd.read_csv(shared_data / "french" / "size_deciles_vw_daily.csv", index_col=0, parse_dates=True)
    russell = _fred(shared_data, "RU2000TR")
    iwm = pd.read_csv(shared_data / "prices" / "IWM.csv", index_col=0, parse_dates=True)["Adj Close"]
    r_first, i_first = russell.index[0], iwm.index[0]
    growth = pd.Series(np.nan, index=days)
    early = days[days <= r_first]
    growth[early] = 1 + french.loc[early, "Qnt 2"].to_numpy() / 100.0
    mid = days[(days > r_first) & (days <= i_first)]
    growth[mid] = (russell.reindex(days[(days >= r_first) & (days <= i_first)]).pct_change().dropna() + 1).to_numpy()
    late = days[days > i_first]
    growth[late] = (iwm.reindex(days[days >= i_first]).pct_change().dropna() + 1).to_numpy()
    level = np.cumprod(growth.to_numpy()[1:])
    held = long_run.prepared.market.close["IWM"].to_numpy()
    assert np.allclose(held[1:] / held[0], level, rtol=1e-9, atol=0)
    bh = long_run.equity["benchmark"].to_numpy()
    shares = round((bh[-1] - bh[-2]) / (held[-1] - held[-2]))  # the cash's day of interest is a rounding error here
    cash = bh[1:] - shares * held[1:]
    assert (cash >= 0).all() and (cash / bh[1:] < 0.02).all()  # the buffer and the whole share, earning T-bills
    # cash only earns interest (below 20% a year, over at most 5 calendar days): the rest is the level's moves
    assert (np.abs(np.diff(cash)) <= cash[:-1] * 0.20 * 5 / 365).all()


def test_the_hedges_line_and_its_modelled_volatility(long_run):
    h = long_run.metrics["hedge"]
    assert h["volatility_modelled_to"] == "1985-12-31"
    without = h["without_puts"]
    assert set(without) == {"cagr", "sharpe", "max_drawdown", "cycles"}
    assert list(without["cycles"]) == list(long_run.metrics["cycles"])
